#![no_main]
//! Arbitrary protocol frames from a device through a real Noise channel to a server session:
//! the server holds exactly the validly signed commits it took, and its log replays.
#[path = "../checks.rs"]
#[allow(dead_code, unused_imports)]
mod checks;
libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::session_server_frames(data));
