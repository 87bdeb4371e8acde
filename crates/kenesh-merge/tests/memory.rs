//! Memory per record: the heap bytes a `State` holds for 10,000 created Issue records with
//! five fields each, counted by a global allocator, divided by 10,000; and the same after
//! 100,000 register sets spread over them (what the apply bench leaves behind).
//!
//! `cargo test -p kenesh-merge --test memory -- --nocapture` prints the figures. One test in
//! this binary, so no other test allocates while it counts.
#![allow(unsafe_code)] // the counting allocator forwards to the system allocator

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};

use kenesh_merge::{Applied, OpBuilder, OpId, State, encode};
use kenesh_model::schema::EntityKind;
use kenesh_model::{Id, IssueStatus, Workflow};

/// Counts the bytes live on the heap.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded unchanged to `System`, which upholds the contract; the
// counter is only arithmetic on the sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, forwarded.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as isize, Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, forwarded.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as isize, Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size() as isize, Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract, forwarded.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_add(new_size as isize - layout.size() as isize, Relaxed);
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const RECORDS: usize = 10_000;
const TITLE: u16 = 1;
const DESCRIPTION: u16 = 2;
const CATEGORY: u16 = 3;
const TERRITORY: u16 = 4;
const STATUS: u16 = 9;

fn record_id(i: usize) -> Id {
    Id::from_u128(0x1000_0000 + i as u128)
}

/// A state of `RECORDS` created issues (title, description, category, territory, status),
/// and the create op ids.
fn created() -> (State, Vec<OpId>) {
    let mut desk = OpBuilder::new(1);
    let mut state = State::new();
    let mut ids = Vec::with_capacity(RECORDS);
    for i in 0..RECORDS {
        let create = desk
            .create(
                EntityKind::Issue,
                record_id(i),
                vec![
                    (TITLE, encode(&format!("Street lights out, street no. {i}"))),
                    (
                        DESCRIPTION,
                        encode(&format!(
                            "Three lamps on street no. {i} have been out since the storm; \
                             the school path is dark after six."
                        )),
                    ),
                    (CATEGORY, encode(&((i % 12) as u8))),
                    (TERRITORY, encode(&(41_702_000_000_000u64 + i as u64))),
                    (STATUS, vec![IssueStatus::Submitted.code()]),
                ],
            )
            .expect("create");
        ids.push(create.id());
        assert_eq!(state.apply(create), Applied::Applied);
    }
    (state, ids)
}

#[test]
fn memory_per_record() {
    let before = LIVE.load(Relaxed);
    let (mut state, creates) = created();
    let ids_bytes = (creates.capacity() * size_of::<OpId>()) as isize;
    let with_creates = LIVE.load(Relaxed) - before - ids_bytes;
    let per_record = with_creates as f64 / RECORDS as f64;
    let encoded = postcard::to_allocvec(&state).unwrap().len() as f64 / RECORDS as f64;
    println!(
        "{RECORDS} Issue records, 5 fields each: {per_record:.0} heap bytes per record \
         ({encoded:.0} bytes per record postcard-encoded)"
    );
    // The counter counts (the records' text alone is over 100 bytes each), and a record
    // stays within a few KiB.
    assert!(per_record > 150.0, "{per_record}");
    assert!(per_record < 4096.0, "{per_record}");

    // Ten register sets per record, each superseding the previous write of its field.
    let mut editor = OpBuilder::new(2);
    let mut last: Vec<[OpId; 2]> = creates.iter().map(|c| [*c, *c]).collect();
    let at_start = LIVE.load(Relaxed);
    for n in 0..RECORDS * 10 {
        let i = n % RECORDS;
        let which = (n / RECORDS) % 2;
        let (field, value) = if which == 0 {
            (
                TITLE,
                encode(&format!("Street lights, street no. {i}, edit {n}")),
            )
        } else {
            (CATEGORY, encode(&((n % 12) as u8)))
        };
        let op = editor
            .set(
                EntityKind::Issue,
                record_id(i),
                field,
                value,
                &[last[i][which]],
            )
            .expect("set");
        last[i][which] = op.id();
        assert_eq!(state.apply(op), Applied::Applied);
    }
    let per_set = (LIVE.load(Relaxed) - at_start) as f64 / (RECORDS * 10) as f64;
    let per_record_after = (LIVE.load(Relaxed) - before - ids_bytes) as f64 / RECORDS as f64;
    println!(
        "after 10 register sets per record: {per_record_after:.0} heap bytes per record \
         ({per_set:.0} bytes per set op held)"
    );
    assert!(per_set > 50.0 && per_set < 2048.0, "{per_set}");
    drop(state);
}
