//! The frame codec and the small messages run without an allocator: under a global
//! allocator that panics on any allocation while the code under test runs, encode and
//! decode Hello, Welcome, Ack, a small Commit and Bye, and reassemble frames from a stream.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use kenesh_proto::{
    Ack, Body, Caps, ChunkRef, Commit, CommitBuilder, Entry, FrameReader, Hello, Limits, Message,
    Welcome, read_cobs, write_cobs, write_prefixed,
};

std::thread_local! {
    static FORBID: Cell<bool> = const { Cell::new(false) };
}

/// Panics on any allocation made while [`FORBID`] is set on the allocating thread.
struct PanicOnAlloc;

unsafe impl GlobalAlloc for PanicOnAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if FORBID.try_with(|f| f.replace(false)).unwrap_or(false) {
            panic!("no-alloc code allocated {} bytes", layout.size());
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: PanicOnAlloc = PanicOnAlloc;

/// Runs `f` with allocation forbidden on this thread.
fn no_alloc<R>(f: impl FnOnce() -> R) -> R {
    FORBID.with(|x| x.set(true));
    let r = f();
    FORBID.with(|x| x.set(false));
    r
}

#[test]
fn the_allocator_does_catch_allocations() {
    let caught =
        std::panic::catch_unwind(|| no_alloc(|| std::hint::black_box(vec![1u8; 16]).len()));
    assert!(caught.is_err(), "the guard must panic when code allocates");
}

#[test]
fn small_messages_encode_and_decode_without_allocating() {
    let limits = Limits::default();
    no_alloc(|| {
        let cursor = [7u8; 24];
        let mut entries_buf = [0u8; 512];
        let mut b = CommitBuilder::new(&mut entries_buf);
        b.push(Entry {
            envelope: &[1, 2, 3, 4],
            body: Body::Payload(b"payload"),
        })
        .unwrap();
        b.push(Entry {
            envelope: &[5, 6],
            body: Body::Withheld([9; 32]),
        })
        .unwrap();
        let entries = b.finish();
        let messages = [
            Message::Hello(Hello {
                min_version: 1,
                max_version: 1,
                caps: Caps::NO_ALLOC,
                device: 3,
                own_seq: 99,
                cursor: Some(&cursor),
            }),
            Message::Welcome(Welcome {
                version: 1,
                caps: Caps::NO_ALLOC,
                server_time_ms: 1_764_000_000_000,
                stored_seq: 97,
                epoch: 2,
            }),
            Message::Ack(Ack {
                durable_seq: 99,
                cursor: Some(&cursor),
                chunk: Some(ChunkRef {
                    transfer: 1,
                    index: 4,
                }),
            }),
            Message::Commit(Commit {
                origin: 3,
                first_seq: 98,
                salt: [1; 16],
                signature: &[2; 64],
                entries,
            }),
            Message::Bye,
        ];
        let mut frame = [0u8; 1024];
        let mut wire = [0u8; 1100];
        let mut serial = [0u8; 1100];
        let mut back = [0u8; 1100];
        let mut reader: FrameReader<2048> = FrameReader::new(limits);
        for m in &messages {
            let n = m.encode(&mut frame).unwrap();
            assert_eq!(&Message::decode(&frame[..n], &limits).unwrap(), m);
            // Stream framing, fed in two pieces.
            let w = write_prefixed(&frame[..n], &mut wire).unwrap();
            reader.push(&wire[..w / 2]).unwrap();
            reader.push(&wire[w / 2..w]).unwrap();
            let got = reader.next_frame().unwrap().unwrap();
            assert_eq!(got, &frame[..n]);
            // Serial framing.
            let s = write_cobs(&frame[..n], &mut serial).unwrap();
            assert_eq!(serial[s - 1], 0);
            let decoded = read_cobs(&serial[..s - 1], &mut back, &limits).unwrap();
            assert_eq!(decoded, &frame[..n]);
            if let Message::Commit(c) = Message::decode(decoded, &limits).unwrap() {
                assert_eq!(c.entries.iter().count(), 2);
            }
        }
    });
}
