#![no_main]
//! Every text parser of the model: SOATE codes, ids, PINs, phones, the territory CSV, keys.
#[path = "../checks.rs"]
#[allow(dead_code, unused_imports)]
mod checks;
libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::text_parse(data));
