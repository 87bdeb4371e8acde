#![no_main]
//! zstd chunks: decompress keeps to the declared size and the limit; round trips.
#[path = "../checks.rs"]
#[allow(dead_code, unused_imports)]
mod checks;
libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::proto_chunk_zstd(data));
