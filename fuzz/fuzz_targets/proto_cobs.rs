#![no_main]
//! COBS framing: read_cobs never panics; write_cobs then read_cobs round-trips.
#[path = "../checks.rs"]
#[allow(dead_code, unused_imports)]
mod checks;
libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::proto_cobs(data));
