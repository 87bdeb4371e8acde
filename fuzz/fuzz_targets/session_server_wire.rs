#![no_main]
//! Raw bytes to a server session, in pieces: no panic; an error closes it; only the device's
//! validly signed commits change the server.
#[path = "../checks.rs"]
#[allow(dead_code, unused_imports)]
mod checks;
libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::session_server_wire(data));
