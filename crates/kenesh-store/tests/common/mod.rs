//! The session harness of kenesh-sync's tests (one copy, included), and the backends.
#![allow(dead_code, unreachable_pub)]

#[path = "../../../kenesh-sync/tests/common/mod.rs"]
mod sync_harness;

pub use sync_harness::*;

pub mod backends;
