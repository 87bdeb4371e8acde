#![no_main]
//! Raw bytes to a client session after its real start, in pieces: no panic; after an error
//! later input is refused and changes nothing; the device's store replays to its replica.
#[path = "../checks.rs"]
#[allow(dead_code, unused_imports)]
mod checks;
libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::session_client_wire(data));
