//! A profiling harness for the apply bench's work, without criterion: builds the workload,
//! then applies the 100,000 register sets once to a clone of the state. Instruction counts
//! under callgrind are stable on a shared machine where wall clock is not:
//!
//! ```text
//! cargo build --release -p kenesh-merge --example apply_profile
//! valgrind --tool=callgrind --toggle-collect='*State*apply_all*' \
//!     target/release/examples/apply_profile
//! ```
//!
//! (instructions counted ÷ 100,000 = instructions per op).

use std::hint::black_box;

use kenesh_merge::{Op, State};

#[path = "../benches/workload/mod.rs"]
mod workload;

/// The measured part: every op applied, in order (a function of its own, so callgrind can
/// count it alone).
#[inline(never)]
fn apply_all(state: &mut State, ops: Vec<Op>) {
    for op in ops {
        black_box(state.apply(op));
    }
}

fn main() {
    let (base, ops) = workload::workload();
    let mut state = base.clone();
    apply_all(&mut state, ops);
    assert!(state.conflicts().is_empty());
    println!("{} ops held", state.len());
}
