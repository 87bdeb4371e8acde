#![no_main]
//! Every entity decoder: any bytes give a value or an error; values round-trip.
#[path = "../checks.rs"]
#[allow(dead_code, unused_imports)]
mod checks;
libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::model_decode(data));
