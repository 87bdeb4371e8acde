#![no_main]
//! Every message decoder: whatever decodes re-encodes and is carried byte-identical.
#[path = "../checks.rs"]
#[allow(dead_code, unused_imports)]
mod checks;
libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::proto_frame(data));
