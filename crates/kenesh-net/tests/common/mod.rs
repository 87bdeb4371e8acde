//! A small world for transport tests: a server, enrolled devices, short limits.
#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use kenesh_merge::Op;
use kenesh_model::schema::EntityKind;
use kenesh_model::{Id, MunicipalityId, Scope, Tier};
use kenesh_net::{ClientConfig, NetConfig, NetServer, Running};
use kenesh_sync::{
    Access, ClientSession, Device, Grants, MemStore, Secret, Server, ServerConfig, Store,
    StoreError,
};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub const NOW: u64 = 1_780_000_000_000;

pub fn muni(n: u128) -> Scope {
    Scope::Municipality(MunicipalityId(Id::from_u128(n)))
}

pub fn home() -> Scope {
    muni(417)
}

pub fn kiosk_grants(scope: Scope) -> Grants {
    Grants::none()
        .up_to(scope, Tier::Personal, Access::Read)
        .up_to(scope, Tier::Sensitive, Access::Write)
}

pub fn server_on<S: Store>(store: S) -> Server<S> {
    Server::open(
        store,
        Secret::from_bytes([0xee; 32]),
        ServerConfig::default(),
    )
    .unwrap()
}

/// Enrols device `id` (its secret from `id`) and opens it on a memory store.
pub fn device<T: Store>(server: &mut Server<T>, id: u32) -> Device<MemStore> {
    let secret = Secret::from_bytes(secret_bytes(id));
    server
        .enrol(id, secret.public(), kiosk_grants(home()))
        .unwrap();
    Device::open(MemStore::new(), secret, id, server.public()).unwrap()
}

/// Another copy of an enrolled device's identity (a cloned kiosk image).
pub fn clone_of<T: Store>(server: &Server<T>, id: u32) -> Device<MemStore> {
    Device::open(
        MemStore::new(),
        Secret::from_bytes(secret_bytes(id)),
        id,
        server.public(),
    )
    .unwrap()
}

fn secret_bytes(id: u32) -> [u8; 32] {
    let mut b = [0u8; 32];
    b[..4].copy_from_slice(&id.to_le_bytes());
    b[31] = 0x5a;
    b
}

/// `n` issues on a device, one commit each.
pub fn make_issues<S: Store>(d: &mut Device<S>, n: usize, first_id: u128) {
    for i in 0..n {
        let mut b = d.builder();
        b.scope(home()).at(NOW + i as u64);
        let id = Id::from_u128(first_id + i as u128);
        let title = format!("Көпүрө бузулду #{first_id}-{i}: айыл өкмөтүнө кайрылуу").into_bytes();
        let op = b
            .create(EntityKind::Issue, id, vec![(1, title), (9, vec![1])])
            .unwrap();
        d.commit(&[op]).unwrap();
    }
}

/// `n` issues made by the server itself.
pub fn server_issues<S: Store>(s: &mut Server<S>, n: usize, first_id: u128) {
    for i in 0..n {
        let mut b = s.builder();
        b.scope(home()).at(NOW);
        let id = Id::from_u128(first_id + i as u128);
        let title = format!("Мектептин чатыры #{i}").into_bytes();
        let op: Op = b
            .create(EntityKind::Issue, id, vec![(1, title), (9, vec![1])])
            .unwrap();
        s.commit_local(&[op], NOW).unwrap();
    }
    s.sync().unwrap();
}

/// The hashes a kiosk shares with the server: its scope's public and personal tiers.
pub fn hashes(state: &kenesh_merge::State) -> [[u8; 32]; 2] {
    [
        state.state_hash(home(), Tier::Public),
        state.state_hash(home(), Tier::Personal),
    ]
}

/// Short limits, so the suite runs in seconds.
pub fn test_config() -> NetConfig {
    NetConfig {
        handshake_deadline: Duration::from_millis(400),
        idle_timeout: Duration::from_secs(3),
        session_timeout: Duration::from_secs(20),
        shutdown_grace: Duration::from_secs(5),
        accept_backoff: Duration::from_millis(10),
        ..NetConfig::default()
    }
}

pub fn client_config() -> ClientConfig {
    ClientConfig {
        connect_timeout: Duration::from_secs(2),
        idle_timeout: Duration::from_secs(3),
        attempt_timeout: Duration::from_secs(10),
        max_attempts: 40,
        backoff_base: Duration::from_millis(10),
        backoff_max: Duration::from_millis(150),
        ..ClientConfig::default()
    }
}

pub fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

pub async fn start<S: Store + Send + 'static>(server: Server<S>, config: NetConfig) -> Running<S> {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    NetServer::new(server, config)
        .with_seed(7)
        .spawn(listener)
        .unwrap()
}

/// Whether the server closes `stream` (EOF or reset) within `within`, after reading what
/// it sent.
pub async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

/// Reads one length-prefixed message (with its prefix).
pub async fn read_message(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).await?;
    let mut m = vec![0u8; 4 + u32::from_le_bytes(len) as usize];
    m[..4].copy_from_slice(&len);
    stream.read_exact(&mut m[4..]).await?;
    Ok(m)
}

/// Drives a started session over `stream` to its end.
pub async fn drive<S: Store>(
    stream: &mut TcpStream,
    session: &mut ClientSession,
    device: &mut Device<S>,
) {
    loop {
        let out = session.take_output();
        if !out.is_empty() {
            stream.write_all(&out).await.unwrap();
        }
        if session.is_done() {
            return;
        }
        let m = read_message(stream).await.unwrap();
        session.receive(device, &m).unwrap();
    }
}

/// A store whose sync takes a while, as a disk's fsync does (so concurrent sessions pile
/// up behind it and group commit shows).
pub struct SlowStore {
    pub inner: MemStore,
    pub delay: Duration,
}

impl Store for SlowStore {
    fn stage(&mut self, record: &[u8]) -> Result<u64, StoreError> {
        self.inner.stage(record)
    }
    fn sync(&mut self) -> Result<u64, StoreError> {
        if self.inner.staged() > self.inner.durable() {
            std::thread::sleep(self.delay);
        }
        self.inner.sync()
    }
    fn durable(&self) -> u64 {
        self.inner.durable()
    }
    fn staged(&self) -> u64 {
        self.inner.staged()
    }
    fn read(&self, from: u64, max: usize) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        self.inner.read(from, max)
    }
}

/// The server's counters once `until` holds (connections are counted as they close, just
/// after the peer sees the close), or after 3 s.
pub async fn stats_when<S: Store + Send + 'static>(
    running: &Running<S>,
    until: impl Fn(&kenesh_net::NetStats) -> bool,
) -> kenesh_net::NetStats {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    loop {
        let s = running.stats();
        if until(&s) || tokio::time::Instant::now() >= deadline {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The counters once no connection is open.
pub async fn settled<S: Store + Send + 'static>(running: &Running<S>) -> kenesh_net::NetStats {
    stats_when(running, |s| s.active == 0).await
}

/// `n` issues made by the server, with titles of random letters (so that zstd does not fold
/// them into one small chunk).
pub fn server_issues_random<S: Store>(s: &mut Server<S>, n: usize, first_id: u128) {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15 ^ first_id as u64;
    for i in 0..n {
        let mut b = s.builder();
        b.scope(home()).at(NOW);
        let id = Id::from_u128(first_id + i as u128);
        let title: String = (0..120)
            .map(|_| {
                x = x
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                char::from(b'a' + ((x >> 33) % 26) as u8)
            })
            .collect();
        let op: Op = b
            .create(
                EntityKind::Issue,
                id,
                vec![(1, title.into_bytes()), (9, vec![1])],
            )
            .unwrap();
        s.commit_local(&[op], NOW).unwrap();
    }
    s.sync().unwrap();
}

/// A TCP proxy to `server` that cuts its first connection once `cut` bytes have gone down
/// to the client (a 2G link dropping mid-transfer); later connections pass whole.
pub async fn cutting_proxy(server: std::net::SocketAddr, cut: usize) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut first = true;
        while let Ok((client, _)) = listener.accept().await {
            let Ok(upstream) = TcpStream::connect(server).await else {
                continue;
            };
            let cut = first.then_some(cut);
            first = false;
            tokio::spawn(async move {
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = upstream.into_split();
                let up = tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut cr, &mut sw).await;
                });
                let mut passed = 0;
                let mut buf = [0u8; 4096];
                loop {
                    let n = match sr.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    let n = match cut {
                        Some(c) if passed + n >= c => {
                            let _ = cw.write_all(&buf[..c - passed]).await;
                            break;
                        }
                        _ => n,
                    };
                    passed += n;
                    if cw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
                up.abort();
            });
        }
    });
    addr
}
