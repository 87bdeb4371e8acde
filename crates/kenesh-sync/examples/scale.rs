//! The scale curve of WORKLOAD.md: the same S edits (kiosk 20, server 100) synced
//! incrementally over replicas holding 2,000, 20,000 and 200,000 records. The cost must grow
//! with the changes, not the records. Prints bytes, messages and the wall time of the
//! incremental session (both sides, crypto included), after an initial sync by snapshot.
//!
//! `cargo run --release -p kenesh-sync --example scale [records…]`

#[path = "../tests/common/workload.rs"]
#[allow(dead_code, unreachable_pub)]
mod workload;

use std::time::Instant;

use kenesh_sync::ServerConfig;
use kenesh_workload::{CREATION_SPAN_MS, DEFAULT_SEED, EPOCH_MS, Workload};
use workload::*;

fn main() {
    let sizes: Vec<usize> = {
        let args: Vec<usize> = std::env::args()
            .skip(1)
            .filter_map(|a| a.parse().ok())
            .collect();
        if args.is_empty() {
            vec![2_000, 20_000, 200_000]
        } else {
            args
        }
    };
    println!("records | incremental up + down bytes | messages | round trips | session wall");
    for records in sizes {
        let w = Workload::scale(records, DEFAULT_SEED);
        // The snapshot is made at a fast level: this measures the incremental sync.
        let config = ServerConfig {
            snapshot_zstd_level: 3,
            ..ServerConfig::default()
        };
        let (mut s, mut d, mut t) = world(&w.initial, config);
        sync(&mut d, &mut s, 1, EPOCH_MS + CREATION_SPAN_MS);
        let mut kt = t.clone();
        edit_kiosk(&mut d, &mut kt, &w.incremental.kiosk);
        edit_server(&mut s, &mut t, &w.incremental.server);
        let now = w
            .incremental
            .server
            .last()
            .map_or(0, |e| e.at)
            .max(w.incremental.kiosk.last().map_or(0, |e| e.at));
        // The best of three fresh runs would need three worlds; one run, after a warm-up of
        // the same code paths by the initial sync.
        let started = Instant::now();
        let inc = sync(&mut d, &mut s, 2, now);
        let wall = started.elapsed();
        assert_eq!(d.state().state_hashes(), s.state().state_hashes());
        println!(
            "{records:>7} | {:>6} + {:>6} = {:>6} | {:>3} | {} | {wall:.2?}",
            inc.up,
            inc.down,
            inc.up + inc.down,
            inc.messages_up + inc.messages_down,
            inc.round_trips
        );
    }
}
