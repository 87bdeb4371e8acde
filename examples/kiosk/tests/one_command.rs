//! The README's run command on a fresh data directory: with no server configured, the kiosk
//! starts a local sync server itself, enrols itself there, and its page soon shows a
//! completed sync.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn get(addr: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn with_no_server_configured_the_kiosk_starts_one_and_syncs_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kenesh-kiosk"))
        .args([
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut started_server = false;
    let mut addr = None;
    for line in lines.by_ref().take(10) {
        let line = line.unwrap();
        started_server |= line.starts_with("no server configured: started a local sync server on");
        if let Some(a) = line
            .strip_prefix("open http://")
            .and_then(|l| l.strip_suffix("/ in the kiosk's browser"))
        {
            addr = Some(a.to_owned());
            break;
        }
    }
    let addr = addr.expect("the address to open is printed");
    assert!(started_server, "no local server was started");
    assert!(dir.path().join("local-server").join("server.redb").exists());
    // The page shows a completed sync (Kyrgyz first) within a few seconds.
    let started = Instant::now();
    let mut synced = false;
    while started.elapsed() < Duration::from_secs(60) {
        let page = get(&addr, "/ky");
        if page.contains("Акыркы шайкештештирүү:") {
            synced = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(synced, "the page never showed a completed sync");
}
