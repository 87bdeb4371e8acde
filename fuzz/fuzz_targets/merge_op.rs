#![no_main]
//! Op envelopes from arbitrary bytes: kept byte-identical; applying never panics, converges.
#[path = "../checks.rs"]
#[allow(dead_code, unused_imports)]
mod checks;
libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::merge_op(data));
