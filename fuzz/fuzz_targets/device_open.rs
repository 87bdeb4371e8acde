#![no_main]
//! A device opened on a simulated disk out of arbitrary bytes (entries and pages sealed by
//! the harness, so they reach the device's log, checkpoint and page decoders): a replica or
//! a typed error, never a panic; what opened commits, checkpoints and opens again alike.
#[path = "../checks.rs"]
#[allow(dead_code, unused_imports)]
mod checks;
libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::device_open_check(data));
