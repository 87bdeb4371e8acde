//! The partner's sync retries a link that fails and stops at once on a fault that would
//! only repeat, over real TCP on 127.0.0.1.
#![allow(missing_docs)]

use std::io::Write;
use std::net::TcpListener;
use std::time::Duration;

use kenesh::{Options, Replica};
use kenesh_model::{Id, MunicipalityId, Scope, Tier};
use kenesh_net::{NetConfig, NetServer};
use kenesh_partner::{Error, Retry};
use kenesh_sync::{Access, Grants, MemStore, Secret, Server, ServerConfig};

const PARTNER: u32 = 30;

fn quick() -> Retry {
    Retry {
        attempts: 5,
        base: Duration::from_millis(50),
        max: Duration::from_millis(200),
    }
}

fn partner(dir: &std::path::Path, server: kenesh_sync::PublicKeys) -> Replica {
    Replica::open(
        dir,
        Secret::from_bytes([PARTNER as u8; 32]),
        PARTNER,
        server,
        Options::seeded([3; 32]),
    )
    .unwrap()
}

#[test]
fn a_connection_dropped_before_the_handshake_is_retried_and_the_sync_completes() {
    let tmp = tempfile::tempdir().unwrap();
    let mut server = Server::open(
        MemStore::new(),
        Secret::from_bytes([0xee; 32]),
        ServerConfig::default(),
    )
    .unwrap();
    let scope = Scope::Municipality(MunicipalityId(Id::from_u128(7)));
    server
        .enrol(
            PARTNER,
            Secret::from_bytes([PARTNER as u8; 32]).public(),
            Grants::none().up_to(scope, Tier::Public, Access::Read),
        )
        .unwrap();
    let keys = server.public();
    let mut replica = partner(&tmp.path().join("partner"), keys);

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    // The first connection is accepted and dropped at once (a link that dies); then the
    // real server takes over the same listening socket.
    let serving = std::thread::spawn(move || {
        let (first, _) = listener.accept().unwrap();
        drop(first);
        listener.set_nonblocking(true).unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let running = rt.block_on(async {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            NetServer::new(server, NetConfig::default())
                .with_seed(5)
                .spawn(listener)
                .unwrap()
        });
        (rt, running)
    });

    let mut retries = Vec::new();
    let report = kenesh_partner::sync_replica_with(&mut replica, &addr, &quick(), &mut |n, e| {
        retries.push((n, e.to_string()));
    })
    .unwrap();
    assert!(!retries.is_empty(), "the dropped connection was retried");
    assert!(retries.len() < 5);
    assert!(report.stats.bytes_received > 0);
    let (rt, running) = serving.join().unwrap();
    // The server counts the session when its side has closed: wait for it.
    let until = std::time::Instant::now() + Duration::from_secs(5);
    while running.stats().completed == 0 && std::time::Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(running.stats().completed, 1, "one session completed");
    rt.block_on(running.shutdown()).unwrap();
}

#[test]
fn a_peer_that_is_not_a_sync_server_is_not_retried() {
    let tmp = tempfile::tempdir().unwrap();
    let keys = Secret::from_bytes([0xee; 32]).public();
    let mut replica = partner(&tmp.path().join("partner"), keys);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let web = std::thread::spawn(move || {
        let mut accepted = 0;
        listener.set_nonblocking(true).unwrap();
        let until = std::time::Instant::now() + Duration::from_secs(3);
        while std::time::Instant::now() < until {
            if let Ok((mut c, _)) = listener.accept() {
                accepted += 1;
                let _ = c.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        accepted
    });
    let mut retries = 0;
    let err = kenesh_partner::sync_replica_with(&mut replica, &addr, &quick(), &mut |_, _| {
        retries += 1;
    })
    .unwrap_err();
    assert!(
        matches!(err, Error::Sync(kenesh::SyncError::TooLarge(_))),
        "{err}"
    );
    assert_eq!(retries, 0);
    assert_eq!(web.join().unwrap(), 1, "one connection, no retry");
}

#[test]
fn the_retry_ceiling_doubles_up_to_the_cap() {
    let r = Retry::default();
    assert_eq!(r.ceiling(1), Duration::from_secs(1));
    assert_eq!(r.ceiling(2), Duration::from_secs(2));
    assert_eq!(r.ceiling(5), Duration::from_secs(16));
    assert_eq!(r.ceiling(6), Duration::from_secs(30));
    assert_eq!(r.ceiling(40), Duration::from_secs(30));
}
