#![no_main]
//! A paged state opened from a checkpoint's meta and pages out of arbitrary bytes (the pages
//! sealed by the harness, so they reach the page parser): never panics, reads repeat, and
//! what it accepted checkpoints and opens again alike.
#[path = "../checks.rs"]
#[allow(dead_code, unused_imports)]
mod checks;
libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::merge_pages(data));
