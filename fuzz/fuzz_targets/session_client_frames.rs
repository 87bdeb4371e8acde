#![no_main]
//! Arbitrary protocol frames (Welcome, Chunks raw or zstd, Acks, …) from a server through a
//! real Noise channel to a client session: no panic, bounded memory, refused input changes
//! nothing.
#[path = "../checks.rs"]
#[allow(dead_code, unused_imports)]
mod checks;
libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::session_client_frames(data));
