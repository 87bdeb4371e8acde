#![no_main]
//! Length-prefixed framing: FrameReader fed in pieces agrees with split_prefixed.
#[path = "../checks.rs"]
#[allow(dead_code, unused_imports)]
mod checks;
libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::proto_stream(data));
