//! A link cut at every byte offset of a multi-chunk exchange: every run converges, nothing
//! is applied twice, nothing acknowledged is lost or re-sent, and the bytes stay within the
//! uncut exchange + one chunk + one handshake.

mod common;

use common::*;
use kenesh_model::Tier;
use kenesh_sync::{MemStore, Secret, Server, ServerConfig};

const MAX_FRAME: usize = 2048;

fn world() -> (Server<MemStore>, kenesh_sync::Device<MemStore>) {
    static WORLD: std::sync::OnceLock<(MemStore, MemStore)> = std::sync::OnceLock::new();
    let (s, d) = WORLD.get_or_init(|| {
        let (s, d) = build();
        (s.into_store(), d.into_store())
    });
    let s = Server::open(s.clone(), Secret::from_bytes([0xee; 32]), config()).unwrap();
    let d =
        kenesh_sync::Device::open(d.clone(), Secret::from_bytes([10; 32]), 10, s.public()).unwrap();
    (s, d)
}

fn config() -> ServerConfig {
    ServerConfig {
        max_frame: MAX_FRAME,
        window: 2,
        ..ServerConfig::default()
    }
}

fn build() -> (Server<MemStore>, kenesh_sync::Device<MemStore>) {
    let scope = muni(1);
    let mut s = Server::open(MemStore::new(), Secret::from_bytes([0xee; 32]), config()).unwrap();
    server_issues(&mut s, scope, 60, 1_000);
    let mut d = device(&mut s, 10, kiosk_grants(scope));
    make_issues(&mut d, scope, 6, 100);
    (s, d)
}

fn hashes_equal(d: &kenesh_sync::Device<MemStore>, s: &Server<MemStore>) -> bool {
    [Tier::Public, Tier::Personal, Tier::Sensitive]
        .into_iter()
        .all(|t| d.state().state_hash(muni(1), t) == s.state().state_hash(muni(1), t))
}

#[test]
fn a_link_cut_at_every_byte_resumes_without_loss_or_repeat() {
    let (mut s, mut d) = world();
    let (outcome, total) = sync(&mut d, &mut s, 1, None);
    let Outcome::Done { server, .. } = outcome else {
        panic!("{outcome:?}")
    };
    assert!(
        server.messages_sent >= 4,
        "the exchange must span several chunks: {server:?}"
    );
    assert!(hashes_equal(&d, &s));
    let received = d.stats().ops;
    assert_eq!(received, 60);

    // The cost of a handshake with nothing to move.
    let (_, empty) = sync(&mut d, &mut s, 2, None);

    let mut worst = 0i64;
    for cut in 0..total {
        let (mut s, mut d) = world();
        let (first, before) = sync(&mut d, &mut s, 1, Some(cut));
        assert!(matches!(first, Outcome::Cut), "cut {cut}: {first:?}");
        let acked_before = d.acked_seq();
        let (second, after) = sync(&mut d, &mut s, 3, None);
        assert!(
            matches!(second, Outcome::Done { .. }),
            "cut {cut}: {second:?}"
        );
        assert!(hashes_equal(&d, &s), "cut {cut}: state hashes differ");
        assert_eq!(
            d.stats().duplicates,
            0,
            "cut {cut}: an op was received twice"
        );
        assert_eq!(d.stats().ops, received, "cut {cut}");
        assert_eq!(s.state().len(), 66, "cut {cut}");
        assert!(
            d.acked_seq() >= acked_before && d.acked_seq() == 6,
            "cut {cut}"
        );
        let extra = (before + after) as i64 - total as i64;
        worst = worst.max(extra);
        assert!(
            before + after <= total + MAX_FRAME as u64 + empty,
            "cut {cut}: {before} + {after} bytes against {total} uncut (+{MAX_FRAME} + {empty})"
        );
    }
    println!(
        "uncut exchange {total} bytes; {total} cut points; worst extra {worst} bytes \
         (allowed: one chunk {MAX_FRAME} + one handshake {empty})"
    );
}
