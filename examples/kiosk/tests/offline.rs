//! Offline, then online: the kiosk works with no server, and once a server comes up on the
//! configured address its commits reach the server.

mod common;

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use common::*;
use kenesh_kiosk::{Kiosk, SyncFailure, router};
use kenesh_model::schema::EntityKind;
use kenesh_model::{Issue, LegalAidRequest};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kiosk_works_offline_and_its_commits_reach_the_server_later() {
    // An address where no one listens yet.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.server = Some(format!("127.0.0.1:{port}"));
    c.server_key = Some(server_key_hex());
    c.sync_interval_secs = 1;
    c.public_mode = true;
    let kiosk = Kiosk::open(c.clone()).unwrap();
    let app = router(kiosk.clone());

    // Offline: a sync fails cleanly, and the kiosk keeps taking issues and requests.
    assert!(matches!(kiosk.sync_once(), Err(SyncFailure::Connect(..))));
    let r = post(
        &app,
        "/ky/issues",
        &[
            ("title", "Суу жок"),
            ("description", "Үч күндөн бери ичүүчү суу келбей жатат"),
            ("category", "category-water"),
        ],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = post(
        &app,
        "/ru/legal",
        &[
            ("family", "Осмонов"),
            ("given", "Нурлан"),
            ("area", "area-labour"),
            ("facts", "Айлыгымды үч ай бербей жатышат"),
            ("urgency", "urgency-normal"),
            ("consent", "yes"),
        ],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let waiting = kiosk.commits_waiting();
    assert!(waiting >= 2, "{waiting} commits wait");
    let r = get(&app, "/ky", None).await;
    assert!(r.body.contains("Байланыш жок"), "{}", r.body);
    assert!(
        r.body
            .contains(&format!("Жөнөтүлө элек жазуулар: {waiting}"))
    );
    let state = kiosk.sync_state();
    assert!(state.failures >= 1 && state.last_ok_ms.is_none());
    assert_eq!(state.last_error_key, Some("sync-error-connect"));

    // The background sync is running (and backing off) while the server is down.
    let handle = kiosk.spawn_sync().expect("a server is configured");
    std::thread::sleep(Duration::from_millis(300));

    // The server comes up on the configured address.
    let server = Arc::new(Mutex::new(server()));
    server
        .lock()
        .unwrap()
        .enrol(c.device_id, kiosk.public(), kiosk_grants(&c))
        .unwrap();
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    spawn_server(Arc::clone(&server), listener);

    let issue = kiosk.replica().all::<Issue>().pop().unwrap();
    let request = kiosk.replica().all::<LegalAidRequest>().pop().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let arrived = {
            let s = server.lock().unwrap();
            s.state().record(EntityKind::Issue, issue.meta.id).is_some()
                && s.state()
                    .record(EntityKind::LegalAidRequest, request.meta.id)
                    .is_some()
        };
        if arrived && kiosk.commits_waiting() == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the commits did not reach the server: {:?}",
            kiosk.sync_state()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let server_hash = server
        .lock()
        .unwrap()
        .state()
        .state_hash(muni_scope(&c), kenesh_model::Tier::Public);
    assert_eq!(
        server_hash,
        kiosk
            .replica()
            .state()
            .state_hash(muni_scope(&c), kenesh_model::Tier::Public),
        "the server holds what the kiosk holds"
    );
    assert!(kiosk.sync_state().last_ok_ms.is_some());
    let r = get(&app, "/ru", None).await;
    assert!(r.body.contains("Последняя синхронизация"), "{}", r.body);
    assert!(r.body.contains("Записей ждут отправки: 0"));

    // Public-kiosk mode: after a later sync the kiosk can no longer read the applicant's
    // sealed request (the server keeps it).
    let deadline = Instant::now() + Duration::from_secs(30);
    while kiosk.sync_state().purged_keys == 0 {
        assert!(Instant::now() < deadline, "{:?}", kiosk.sync_state());
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        kiosk
            .replica()
            .get::<LegalAidRequest>(request.meta.id)
            .is_none()
    );
    // The first successful background sync tidied the op store (tail sealed, file
    // compacted); the kiosk still holds what it took.
    assert!(kiosk.sync_state().last_tidy_ms.is_some());
    assert!(kiosk.replica().get::<Issue>(issue.meta.id).is_some());
    kiosk.stop();
    handle.join().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_wait_for_a_sync_then_say_the_kiosk_is_busy() {
    // A "server" that accepts and says nothing until told to hang up.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.server = Some(addr.to_string());
    c.server_key = Some(server_key_hex());
    let kiosk = Kiosk::open(c).unwrap();
    let app = router(kiosk.clone());
    let syncing = {
        let kiosk = kiosk.clone();
        std::thread::spawn(move || kiosk.sync_once())
    };
    let (silent, _) = listener.accept().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !kiosk.is_syncing() {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    }
    let started = Instant::now();
    let r = get(&app, "/ru/issues", None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        r.body.contains("Киоск сейчас синхронизирует данные"),
        "{}",
        r.body
    );
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "it waited first"
    );
    // The server hangs up: the sync fails cleanly and the pages serve again.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "and not much longer"
    );
    drop(silent);
    assert!(syncing.join().unwrap().is_err());
    assert!(!kiosk.is_syncing());
    assert_eq!(get(&app, "/ru/issues", None).await.status, StatusCode::OK);
    assert_eq!(kiosk.sync_state().last_error_key, Some("sync-error-link"));
}

/// The first sync after a start does not wait for a quiet screen: a page opened at once and
/// polled (as the one-command test and a curious visitor do) must not put it off. Later
/// syncs still wait for quiet.
#[test]
fn the_first_sync_after_a_start_does_not_wait_for_a_quiet_screen() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    c.server = Some(listener.local_addr().unwrap().to_string());
    c.server_key = Some(server_key_hex());
    // A sync every minute: a later sync would wait for 30 s without a request.
    c.sync_interval_secs = 60;
    let kiosk = Kiosk::open(c.clone()).unwrap();
    let server = Arc::new(Mutex::new(server()));
    server
        .lock()
        .unwrap()
        .enrol(c.device_id, kiosk.public(), kiosk_grants(&c))
        .unwrap();
    spawn_server(Arc::clone(&server), listener);

    // Someone is at the screen before the background sync starts, and stays there.
    kiosk.touched();
    let handle = kiosk.spawn_sync().expect("a server is configured");
    let deadline = Instant::now() + Duration::from_secs(20);
    while kiosk.sync_state().last_ok_ms.is_none() {
        assert!(
            Instant::now() < deadline,
            "the first sync waited for a quiet screen: {:?}",
            kiosk.sync_state()
        );
        kiosk.touched();
        std::thread::sleep(Duration::from_millis(100));
    }
    kiosk.stop();
    handle.join().unwrap();
}
