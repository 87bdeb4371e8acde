#![no_main]
//! A server opened on a log of arbitrary records: a replica or a typed error, never a
//! panic; what opened takes a commit and opens again alike.
#[path = "../checks.rs"]
#[allow(dead_code, unused_imports)]
mod checks;
libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::server_open_check(data));
