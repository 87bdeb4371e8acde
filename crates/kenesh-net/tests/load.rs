//! The load scenario of `examples/load` in small: 50 kiosks of 5 municipalities reconnect at
//! once over shaped links with commits pending both ways. Asserts convergence and that
//! group commit works (fewer disk syncs than commits), not timings.

#[allow(dead_code)]
#[path = "../examples/load/scenario.rs"]
mod scenario;
#[allow(dead_code)]
#[path = "../examples/load/shaper.rs"]
mod shaper;

use std::time::Duration;

use kenesh_net::{ClientConfig, NetConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_kiosks_reconnecting_at_once_over_shaped_links_converge() {
    let params = scenario::Params {
        kiosks: 50,
        municipalities: 5,
        history: 10,
        staff_edits: 3,
        kiosk_commits: 3,
        seed: 10,
        // 2G-like bandwidth, a shorter latency so the test stays quick.
        link: shaper::Link::symmetric(50, Duration::from_millis(30)),
        net: NetConfig::default(),
        client: ClientConfig {
            idle_timeout: Duration::from_secs(10),
            attempt_timeout: Duration::from_secs(30),
            max_attempts: 20,
            backoff_base: Duration::from_millis(20),
            backoff_max: Duration::from_millis(500),
            ..ClientConfig::default()
        },
    };
    let dir = tempfile::tempdir().unwrap();
    let store = kenesh_store::RedbStore::open(dir.path().join("server.redb")).unwrap();
    let server = scenario::InProcess::start(store, &params, |s| Some(s.syncs()))
        .await
        .unwrap();
    let report = scenario::run(server, &params).await.unwrap();
    let storm = &report.storm;
    eprintln!(
        "50 kiosks: storm p50 {:?} max {:?}, {} retries, {} B up / {} B down, {} engine syncs \
         for {} commits; settle max {:?}; {} redb syncs in all",
        storm.quantile(0.5),
        storm.quantile(1.0),
        storm.retries,
        storm.bytes_up,
        storm.bytes_down,
        storm.stats.syncs,
        report.storm_commits,
        report.settle.quantile(1.0),
        report.file_syncs.unwrap_or(0)
    );
    assert!(report.divergences.is_empty(), "{:#?}", report.divergences);
    assert_eq!(storm.times.len(), 50);
    assert_eq!(storm.stats.completed, 50, "{:?}", storm.stats);
    // One record per commit, and one per kiosk confirming its receipt (its ops are served to
    // the others from then on).
    assert_eq!(
        storm.stats.records_staged,
        report.storm_commits + 50,
        "{:?}",
        storm.stats
    );
    assert_eq!(report.storm_commits, 150);
    // Group commit: the 150 commits (50 flights) shared fewer disk syncs than flights.
    assert!(storm.stats.syncs >= 1, "{:?}", storm.stats);
    assert!(
        storm.stats.syncs < storm.stats.flights_staged,
        "{:?}",
        storm.stats
    );
    // Pending down was real: every kiosk received the staff's issues in the storm, and its
    // neighbours' by the settle round (each served once its origin confirmed its receipt,
    // at the end of its own storm session).
    assert!(
        storm.bytes_down + report.settle.bytes_down > storm.bytes_up,
        "{storm:?} {:?}",
        report.settle
    );
    assert_eq!(report.server_ops, 5 * (10 + 3) + 50 * 3);
    // The settle round uploads nothing new.
    assert_eq!(report.settle.stats.records_staged, 0);
    assert!(report.file_syncs.is_some_and(|n| n >= storm.stats.syncs));
}

/// The shaper itself: bytes arrive at the link's rate, one latency late.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shaped_link_paces_and_delays_bytes() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        s.write_all(&[7u8; 5_000]).await.unwrap();
        s.shutdown().await.unwrap();
        // Hold the socket until the client is done.
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest).await;
    });
    // 40 kbit/s = 5,000 B/s: 5,000 bytes take 1 s, plus 100 ms of latency.
    let link = shaper::Link::symmetric(40, Duration::from_millis(100));
    let meter = std::sync::Arc::new(shaper::Meter::default());
    let t = std::time::Instant::now();
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut shaped = shaper::shape(stream, link, meter.clone());
    let mut got = Vec::new();
    shaped.read_to_end(&mut got).await.unwrap();
    let took = t.elapsed();
    assert_eq!(got.len(), 5_000);
    assert!(took >= Duration::from_millis(1_050), "{took:?}");
    assert!(took < Duration::from_millis(1_800), "{took:?}");
    assert_eq!(meter.down.load(std::sync::atomic::Ordering::Relaxed), 5_000);
}

/// A server that closes at once (as at its connection cap), with the client's bytes unread
/// (a reset): the client's shaped stream ends promptly instead of waiting for its idle
/// timeout. (The first version of the shaper hung here: a kiosk refused at the cap waited
/// 60 s before retrying.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_ends_the_shaped_stream() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (s, _) = listener.accept().await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        drop(s);
    });
    let link = shaper::Link::symmetric(50, Duration::from_millis(20));
    let meter = std::sync::Arc::new(shaper::Meter::default());
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut shaped = shaper::shape(stream, link, meter);
    shaped.write_all(&[1u8; 200]).await.unwrap();
    let mut buf = [0u8; 16];
    let r = tokio::time::timeout(Duration::from_secs(3), shaped.read(&mut buf)).await;
    assert!(matches!(r, Ok(Ok(0)) | Ok(Err(_))), "{r:?}");
}
