//! Prints the calibration table of the reference workload for S and L: the bytes of each
//! idealised floor, next to WORKLOAD.md's figures for S.
//!
//! `cargo run -p kenesh-workload --release --example print [-- SEED]`

use kenesh_workload::{Bytes, DEFAULT_SEED, Size, Workload};

fn row(name: &str, b: Bytes, reference: &str) {
    let line = format!(
        "  {name:<28} {:>9} + {:>9} = {:>9}   {reference}",
        b.up,
        b.down,
        b.total()
    );
    println!("{}", line.trim_end());
}

fn main() {
    let seed = std::env::args()
        .nth(1)
        .map(|s| s.parse::<u64>().expect("the seed is a u64"))
        .unwrap_or(DEFAULT_SEED);
    for size in [Size::S, Size::L] {
        let w = Workload::new(size, seed);
        let s = size == Size::S;
        let reference = |t: &'static str| if s { t } else { "" };
        let i = w.initial_floors();
        println!(
            "{size:?}: {} records, kiosk {} edits, server {} edits, seed {seed:#x}",
            i.records,
            size.kiosk_edits(),
            size.server_edits()
        );
        println!(
            "initial (bytes down){}",
            reference("                                WORKLOAD.md (S)")
        );
        println!(
            "  {:<28} {:>9}   {}",
            "whole records, postcard",
            i.postcard,
            reference("1,679,721")
        );
        println!("  {:<28} {:>9}", "whole records, JSON", i.json);
        println!(
            "  {:<28} {:>9}   {}  (ratio {:.2}x{})",
            "whole records, postcard+zstd3",
            i.zstd,
            reference("577,166"),
            i.zstd_ratio(),
            reference(", WORKLOAD.md 2.91x")
        );
        for (name, f) in [
            ("incremental", w.incremental_floors()),
            ("conflicting", w.conflicting_floors()),
        ] {
            let inc = name == "incremental";
            let r = |t: &'static str| if s && inc { t } else { "" };
            println!("{name} (bytes up + down)");
            row("field floor", f.field, r("3,798 + 18,473 = 22,271"));
            row(
                "whole records, postcard",
                f.postcard,
                r("17,104 + 83,386 = 100,490"),
            );
            row("whole records, JSON", f.json, "");
            row(
                "whole records, postcard+zstd3",
                f.zstd,
                r("7,243 + 31,145 = 38,388"),
            );
        }
        println!();
    }
}
