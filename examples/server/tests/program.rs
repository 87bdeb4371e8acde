//! The real `kenesh-server` program: clear errors for a bad configuration, an address in
//! use and a data directory it cannot write; and a server killed (SIGKILL) in the middle of a
//! multi-chunk sync, restarted, and the sync resumed with nothing lost or duplicated.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use kenesh_model::schema::EntityKind;
use kenesh_model::{Id, MunicipalityId, Scope};
use kenesh_proto::Caps;
use kenesh_sync::{ClientSession, Device, MAX_NOISE_MESSAGE, MemStore, PublicKeys, Secret};

const BIN: &str = env!("CARGO_BIN_EXE_kenesh-server");
const NOW: u64 = 1_780_000_000_000;

fn run(args: &[&str], lang: &str) -> (bool, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .env("KENESH_LANG", lang)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write_config(dir: &Path, body: &str) -> String {
    let path = dir.join("server.toml");
    std::fs::write(&path, body).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn a_bad_configuration_names_its_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = write_config(
        dir.path(),
        &format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = {:?}\nlisten_backlog = 5\n",
            data.to_str().unwrap()
        ),
    );
    let (ok, _, err) = run(&["keys", "--config", &config], "en");
    assert!(!ok);
    assert!(err.starts_with("The configuration is wrong"), "{err}");
    assert!(
        err.contains("line 3") && err.contains("listen_backlog"),
        "{err}"
    );
    // Kyrgyz by default, Russian on request.
    let (_, _, err) = run(&["keys", "--config", &config], "");
    assert!(err.starts_with("Конфигурация туура эмес"), "{err}");
    let (_, _, err) = run(&["keys", "--config", &config], "ru");
    assert!(err.starts_with("Ошибка в конфигурации"), "{err}");

    let config = write_config(
        dir.path(),
        &format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = {:?}\n[[device]]\nid = 10\npublic_keys = \"abc\"\n",
            data.to_str().unwrap()
        ),
    );
    let (ok, _, err) = run(&["keys", "--config", &config], "en");
    assert!(
        !ok && err.contains("device 10: public_keys must be 128 hex digits"),
        "{err}"
    );
    let keys = Secret::from_bytes([10; 32]).public().to_hex();
    let config = write_config(
        dir.path(),
        &format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = {:?}\n[[device]]\nid = 10\npublic_keys = \"{keys}\"\ngrants = [{{ municipality = \"1\", tier = \"secret\", access = \"read\" }}]\n",
            data.to_str().unwrap()
        ),
    );
    let (ok, _, err) = run(&["keys", "--config", &config], "en");
    assert!(
        !ok && err.contains("device 10, grant 1: tier \"secret\""),
        "{err}"
    );
    let (ok, _, err) = run(&["keys", "--config", "/nonexistent/kenesh.toml"], "en");
    assert!(
        !ok && err.contains("cannot read the configuration"),
        "{err}"
    );
}

#[test]
fn an_address_in_use_and_an_unwritable_data_directory_are_said_plainly() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "listen = \"{addr}\"\ndata_dir = {:?}\n",
            dir.path().join("data").to_str().unwrap()
        ),
    );
    let (ok, _, err) = run(&["serve", "--config", &config], "en");
    assert!(!ok);
    assert!(
        err.contains(&format!("the address {addr} is in use")),
        "{err}"
    );

    // A data directory under a regular file cannot be made, root or not.
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = {:?}\n",
            file.join("data").to_str().unwrap()
        ),
    );
    let (ok, _, err) = run(&["keys", "--config", &config], "en");
    assert!(!ok);
    assert!(
        err.starts_with("The data directory cannot be used"),
        "{err}"
    );
    assert!(err.contains("cannot write the data directory"), "{err}");
}

fn muni() -> Scope {
    Scope::Municipality(MunicipalityId(Id::from_u128(1)))
}

/// Starts `serve`; returns the child and the address it listens on.
fn start(config: &str) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["serve", "--config", config])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("kenesh-server listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (child, addr)
}

/// A socket that kills the server once `after` bytes have come in.
struct Killing<'a> {
    stream: TcpStream,
    received: usize,
    after: usize,
    server: &'a mut Child,
    killed: bool,
}

impl Read for Killing<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if !self.killed && self.received >= self.after {
            self.server.kill()?;
            self.server.wait()?;
            self.killed = true;
        }
        let n = self.stream.read(buf)?;
        self.received += n;
        Ok(n)
    }
}

/// One blocking session over `stream`. Returns whether it completed.
fn sync<S: Read>(d: &mut Device<MemStore>, w: &mut TcpStream, r: &mut S, seed: u8) -> bool {
    let Ok(mut c) = ClientSession::new(d, Caps::ZSTD, [seed; 32]) else {
        return false;
    };
    if c.start(d).is_err() {
        return false;
    }
    loop {
        let out = c.take_output();
        if !out.is_empty() && w.write_all(&out).is_err() {
            return false;
        }
        if c.is_done() {
            // As the reference clients do: wait for the server to close, which it does once
            // what came with the Bye (the receipt shown back) is durable.
            let mut sink = [0u8; 64];
            while matches!(r.read(&mut sink), Ok(n) if n > 0) {}
            return true;
        }
        let mut len = [0u8; 4];
        if r.read_exact(&mut len).is_err() {
            return false;
        }
        let n = u32::from_le_bytes(len) as usize;
        if n > MAX_NOISE_MESSAGE {
            return false;
        }
        let mut msg = vec![0u8; 4 + n];
        msg[..4].copy_from_slice(&len);
        if r.read_exact(&mut msg[4..]).is_err() || c.receive(d, &msg).is_err() {
            return false;
        }
    }
}

fn connect(addr: &str) -> TcpStream {
    TcpStream::connect(addr).unwrap()
}

#[test]
fn a_server_killed_mid_transfer_restarts_and_the_sync_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (Secret::from_bytes([10; 32]), Secret::from_bytes([11; 32]));
    let grants = "grants = [{ municipality = \"1\", tier = \"personal\", access = \"read\" }, \
                  { municipality = \"1\", tier = \"personal\", access = \"write\" }]";
    let config = write_config(
        dir.path(),
        &format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = {:?}\n\
             [[device]]\nid = 10\npublic_keys = \"{}\"\n{grants}\n\
             [[device]]\nid = 11\npublic_keys = \"{}\"\n{grants}\n",
            dir.path().join("data").to_str().unwrap(),
            a.public().to_hex(),
            b.public().to_hex()
        ),
    );
    let (ok, keys, err) = run(&["keys", "--config", &config], "en");
    assert!(ok, "{err}");
    let server_keys = PublicKeys::from_hex(keys.trim()).expect("the keys it printed");

    // Device 10 files 1,500 issues of pseudo-random words (so compression does not make
    // the transfer one chunk), and uploads them.
    let mut up = Device::open(MemStore::new(), a, 10, server_keys).unwrap();
    const SYL: [&str; 16] = [
        "ка", "ра", "көл", "бак", "суу", "жол", "тоо", "ай", "ыл", "өк", "мө", "түр", "ба", "шы",
        "нар", "кен",
    ];
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    for i in 0..1_500u32 {
        let mut bld = up.builder();
        bld.scope(muni()).at(NOW + u64::from(i));
        let mut title = format!("#{i}");
        for _ in 0..24 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            if rng.is_multiple_of(3) {
                title.push(' ');
            }
            title.push_str(SYL[(rng >> 40) as usize % SYL.len()]);
        }
        let op = bld
            .create(
                EntityKind::Issue,
                Id::from_u128(1_000 + u128::from(i)),
                vec![(1, title.into_bytes()), (9, vec![1])],
            )
            .unwrap();
        up.commit(&[op]).unwrap();
    }
    let (mut server, addr) = start(&config);
    let mut done = false;
    for attempt in 0..20 {
        let mut s = connect(&addr);
        let mut r = s.try_clone().unwrap();
        if sync(&mut up, &mut s, &mut r, attempt) && up.acked_seq() == up.own_seq() {
            done = true;
            break;
        }
    }
    assert!(done, "device 10 could not upload");

    // Device 11 downloads them in many chunks; the server is killed part-way.
    let mut down = Device::open(MemStore::new(), b, 11, server_keys).unwrap();
    let mut s = connect(&addr);
    let mut reader = Killing {
        stream: s.try_clone().unwrap(),
        received: 0,
        after: 30_000,
        server: &mut server,
        killed: false,
    };
    assert!(
        !sync(&mut down, &mut s, &mut reader, 50),
        "the sync outlived its server"
    );
    assert!(reader.killed);
    let reader_bytes = reader.received;
    let held_before = down.state().len();
    assert!(held_before > 0, "nothing was stored before the kill");
    assert!(
        held_before < up.state().len(),
        "the kill came after the whole transfer"
    );

    // Restarted on the same data directory: the sync resumes and completes.
    let (mut server, addr) = start(&config);
    let mut s = connect(&addr);
    let mut r = s.try_clone().unwrap();
    assert!(
        sync(&mut down, &mut s, &mut r, 51),
        "the resumed sync did not complete"
    );
    assert_eq!(
        down.state().len(),
        up.state().len(),
        "ops lost or duplicated"
    );
    assert_eq!(
        down.state().state_hashes(),
        up.state().state_hashes(),
        "the replicas differ"
    );
    // It resumed: far fewer ops came again than the whole.
    assert!(
        down.stats().duplicates < held_before as u64,
        "{} of {held_before} ops came twice",
        down.stats().duplicates
    );
    println!(
        "killed after {} bytes with {held_before} of {} ops stored; resumed: {} ops came twice",
        reader_bytes,
        up.state().len(),
        down.stats().duplicates
    );
    server.kill().unwrap();
    server.wait().unwrap();
}

/// Files issue `n` on `d` (one op, one commit).
fn file_issue(d: &mut Device<MemStore>, n: u128) {
    let mut bld = d.builder();
    bld.scope(muni()).at(NOW + n as u64);
    let op = bld
        .create(
            EntityKind::Issue,
            Id::from_u128(n),
            vec![(1, format!("маселе {n}").into_bytes()), (9, vec![1])],
        )
        .unwrap();
    d.commit(&[op]).unwrap();
}

/// Syncs until a session completes and the server has acknowledged every own commit.
fn sync_fully(d: &mut Device<MemStore>, addr: &str) {
    for attempt in 0..20 {
        let mut s = connect(addr);
        s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        let mut r = s.try_clone().unwrap();
        if sync(d, &mut s, &mut r, attempt) && d.acked_seq() == d.own_seq() {
            return;
        }
    }
    panic!("device {} could not sync", d.state().len());
}

fn stop(mut server: Child) {
    server.kill().unwrap();
    server.wait().unwrap();
}

/// The operator's restore from backup: a kiosk loses its write grant after the backup, then
/// the server is restored from it. The kiosk re-sends what the restore lost; what it sent
/// while it could write is judged as it was then (the grant change is re-applied from the
/// admin log with its boundary), so the replica that received it then converges with the
/// server; what it writes afterwards is refused.
#[test]
fn a_restore_reapplies_grant_changes_with_their_boundaries() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (a, b) = (Secret::from_bytes([10; 32]), Secret::from_bytes([11; 32]));
    let (a_hex, b_hex) = (a.public().to_hex(), b.public().to_hex());
    let read = "{ municipality = \"1\", tier = \"personal\", access = \"read\" }";
    let write = "{ municipality = \"1\", tier = \"personal\", access = \"write\" }";
    let config_for = |grants_of_10: &str| {
        write_config(
            dir.path(),
            &format!(
                "listen = \"127.0.0.1:0\"\ndata_dir = {:?}\n\
                 [[device]]\nid = 10\npublic_keys = \"{}\"\ngrants = [{grants_of_10}]\n\
                 [[device]]\nid = 11\npublic_keys = \"{}\"\ngrants = [{read}]\n",
                data.to_str().unwrap(),
                a_hex,
                b_hex
            ),
        )
    };
    let config = config_for(&format!("{read}, {write}"));
    let (ok, keys, err) = run(&["keys", "--config", &config], "en");
    assert!(ok, "{err}");
    let server_keys = PublicKeys::from_hex(keys.trim()).expect("the keys it printed");
    let mut kiosk = Device::open(MemStore::new(), a, 10, server_keys).unwrap();
    let mut other = Device::open(MemStore::new(), b, 11, server_keys).unwrap();

    // Issue 1 reaches the server; the server is stopped and its store backed up.
    file_issue(&mut kiosk, 1);
    let (server, addr) = start(&config);
    sync_fully(&mut kiosk, &addr);
    stop(server);
    let backup = dir.path().join("backup.redb");
    std::fs::copy(data.join("server.redb"), &backup).unwrap();

    // Issues 2 and 3 reach the server and the other device.
    file_issue(&mut kiosk, 2);
    file_issue(&mut kiosk, 3);
    let (server, addr) = start(&config);
    sync_fully(&mut kiosk, &addr);
    sync_fully(&mut other, &addr);
    stop(server);
    assert_eq!(other.state().len(), 3);

    // The kiosk loses its write grant (applied when the server starts, and logged).
    let config = config_for(read);
    let (server, _) = start(&config);
    // Not while the server runs.
    let restore = [
        "restore",
        "--config",
        &config,
        "--from",
        backup.to_str().unwrap(),
    ];
    let (ok, _, err) = run(&restore, "en");
    assert!(!ok && err.contains("stop the server"), "{err}");
    stop(server);
    let changes = kenesh_server::DataDir(data.clone())
        .admin_changes()
        .unwrap();
    let grants: Vec<_> = changes
        .iter()
        .filter_map(|c| match c {
            kenesh_server::AdminChange::Grants(g) => Some((g.device, g.after_seq)),
            _ => None,
        })
        .collect();
    assert_eq!(grants, [(10, 3)]);
    assert_eq!(
        changes.len(),
        3,
        "two enrolments and the change: {changes:?}"
    );

    // The store is restored from the backup.
    let (ok, out, err) = run(&restore, "en");
    assert!(ok, "{err}");
    assert!(out.contains("3 admin changes re-applied"), "{out}");
    let kept = std::fs::read_dir(&data)
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            name.to_string_lossy().starts_with("server.redb.replaced-")
        })
        .count();
    assert_eq!(kept, 1, "the replaced store is kept");

    // The kiosk files issue 4 and re-sends 2–4; the other device syncs.
    file_issue(&mut kiosk, 4);
    let (server, addr) = start(&config);
    sync_fully(&mut kiosk, &addr);
    sync_fully(&mut other, &addr);
    stop(server);
    let server = kenesh_server::DataDir(data.clone())
        .open_server(&[])
        .unwrap();
    let held = |n: u128| {
        server
            .state()
            .record(EntityKind::Issue, Id::from_u128(n))
            .is_some()
    };
    assert!(
        held(1) && held(2) && held(3),
        "what the lost epoch accepted"
    );
    assert!(!held(4), "written after the grant was lost");
    assert_eq!(other.state().len(), 3);
    for tier in [kenesh_model::Tier::Public, kenesh_model::Tier::Personal] {
        assert_eq!(
            other.state().state_hash(muni(), tier),
            server.state().state_hash(muni(), tier)
        );
    }
}

/// The admin log: a last entry torn by a crash is left out, and cut off before the next
/// append; damage before the last entry is an error, not a wrong change.
#[test]
fn the_admin_log_survives_a_torn_append_and_refuses_damage() {
    use kenesh_server::{AdminChange, DataDir};
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::prepare(dir.path()).unwrap();
    let revoke = |device| AdminChange::Revoke {
        device,
        from_seq: 7,
    };
    data.log_change(&revoke(1)).unwrap();
    data.log_change(&revoke(2)).unwrap();
    let path = dir.path().join("admin.log");
    let good = std::fs::read(&path).unwrap();
    // Every torn third entry: a prefix of it after the two.
    data.log_change(&revoke(3)).unwrap();
    let full = std::fs::read(&path).unwrap();
    for cut in good.len()..full.len() {
        std::fs::write(&path, &full[..cut]).unwrap();
        assert_eq!(
            data.admin_changes().unwrap(),
            [revoke(1), revoke(2)],
            "cut at {cut}"
        );
    }
    // The next append replaces the torn tail.
    data.log_change(&revoke(4)).unwrap();
    assert_eq!(
        data.admin_changes().unwrap(),
        [revoke(1), revoke(2), revoke(4)]
    );
    // A flipped byte in the first entry is damage, reported with its place.
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[9] ^= 0x40;
    std::fs::write(&path, &bytes).unwrap();
    let err = data.admin_changes().unwrap_err().to_string();
    assert!(err.contains("damaged at byte 0"), "{err}");
    assert!(
        data.log_change(&revoke(5)).is_err(),
        "nothing appended after damage"
    );
}
