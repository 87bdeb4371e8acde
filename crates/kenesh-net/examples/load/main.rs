//! The load test of issue 10: many kiosks reconnecting at once to one server, each with
//! commits pending both ways, over links shaped to 2G speed; all must converge.
//!
//! ```text
//! cargo run --release -p kenesh-net --example load -- --kiosks 1000
//! ```
//!
//! Flags (defaults in brackets): `--kiosks N` [1000], `--municipalities N` [20],
//! `--history N` issues per municipality the kiosks already hold [20], `--staff N` issues
//! per municipality made on the server while they were offline [5], `--commits N` issues
//! each kiosk made offline [3], `--seed N` [1], `--kbit N` bandwidth each way per link
//! [50], `--latency-ms N` one way [300], `--store redb|memory` [redb, in a temporary
//! directory], `--server child|in-process` [child: the server runs in a child process of
//! this program, so its memory and CPU figures are its own], `--max-connections N` [twice
//! the kiosks, at least the default 1024].
//!
//! The server runs in this process (its engine on its own thread, its connections on the
//! same two-worker runtime as the kiosks' clients), so memory figures cover both; see
//! RELIABILITY.md. Exits non-zero if any kiosk failed or anything diverged.
//!
//! Server limits raised from `NetConfig::default()` (the library's defaults are unchanged):
//! `max_connections` to twice the kiosks (the default 1024 would admit 1000 at once but
//! leave no room for a kiosk reconnecting while its previous connection is being torn
//! down), and the channel into the engine grows with it. Nothing else: the handshake
//! deadline, idle and session timeouts and the per-device cap stay at their 2G defaults,
//! and the kiosks use `ClientConfig::default()` (6 attempts, backoff 1 s to 2 min).

mod scenario;
mod shaper;

use std::time::Duration;

use kenesh_net::NetStats;
use kenesh_net::{ClientConfig, NetConfig};
use scenario::{Control, InProcess, Mem, Params, Report, Round, Verified};
use shaper::Link;

type Result<T> = scenario::Result<T>;

fn usage() -> &'static str {
    "usage: load [--kiosks N] [--municipalities N] [--history N] [--staff N] [--commits N] \
     [--seed N] [--kbit N] [--latency-ms N] [--store redb|memory] [--server child|in-process] [--max-connections N]"
}

struct Args {
    params: Params,
    redb: bool,
    in_process: bool,
}

/// Parses the flags after the first `skip` arguments.
fn parse(skip: usize) -> Result<Args> {
    let mut kiosks = 1_000u32;
    let mut municipalities = 20u32;
    let mut history = 20usize;
    let mut staff = 5usize;
    let mut commits = 3usize;
    let mut seed = 1u64;
    let mut kbit = 50u64;
    let mut latency_ms = 300u64;
    let mut redb = true;
    let mut in_process = false;
    let mut max_connections = None;
    let mut args = std::env::args().skip(1 + skip);
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            println!("{}", usage());
            std::process::exit(0);
        }
        let value = args
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{}", usage()))?;
        let bad = |e: std::num::ParseIntError| format!("{flag} {value}: {e}");
        match flag.as_str() {
            "--kiosks" => kiosks = value.parse().map_err(bad)?,
            "--municipalities" => municipalities = value.parse().map_err(bad)?,
            "--history" => history = value.parse().map_err(bad)?,
            "--staff" => staff = value.parse().map_err(bad)?,
            "--commits" => commits = value.parse().map_err(bad)?,
            "--seed" => seed = value.parse().map_err(bad)?,
            "--max-connections" => max_connections = Some(value.parse().map_err(bad)?),
            "--kbit" => kbit = value.parse().map_err(bad)?,
            "--latency-ms" => latency_ms = value.parse().map_err(bad)?,
            "--store" => {
                redb = match value.as_str() {
                    "redb" => true,
                    "memory" => false,
                    _ => return Err(format!("--store {value}: redb or memory").into()),
                }
            }
            "--server" => {
                in_process = match value.as_str() {
                    "child" => false,
                    "in-process" => true,
                    _ => return Err(format!("--server {value}: child or in-process").into()),
                }
            }
            _ => return Err(format!("unknown flag {flag}\n{}", usage()).into()),
        }
    }
    if kiosks == 0 || municipalities == 0 || kbit == 0 {
        return Err("--kiosks, --municipalities and --kbit must be at least 1".into());
    }
    let defaults = NetConfig::default();
    let net = NetConfig {
        max_connections: max_connections
            .unwrap_or_else(|| defaults.max_connections.max(kiosks as usize * 2)),
        ..defaults
    };
    Ok(Args {
        in_process,
        params: Params {
            kiosks,
            municipalities,
            history,
            staff_edits: staff,
            kiosk_commits: commits,
            seed,
            link: Link::symmetric(kbit, Duration::from_millis(latency_ms)),
            net,
            client: ClientConfig::default(),
        },
        redb,
    })
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1e3)
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("n/a".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
}

fn print_round(name: &str, r: &Round, kiosks: u32) {
    let s = &r.stats;
    println!("{name}:");
    println!(
        "  sync time  p50 {}  p90 {}  p99 {}  max {}  (wall {})",
        ms(r.quantile(0.50)),
        ms(r.quantile(0.90)),
        ms(r.quantile(0.99)),
        ms(r.quantile(1.0)),
        ms(r.wall)
    );
    println!(
        "  completed {}/{kiosks}, failed {}, retries {} ({} kiosks retried)",
        r.times.len() - r.failures.len(),
        r.failures.len(),
        r.retries,
        r.retried_kiosks
    );
    for (id, e) in r.failures.iter().take(5) {
        println!("  kiosk {id} failed: {e}");
    }
    println!(
        "  bytes over the shaped links: up {} ({} per kiosk), down {} ({} per kiosk)",
        r.bytes_up,
        r.bytes_up / u64::from(kiosks),
        r.bytes_down,
        r.bytes_down / u64::from(kiosks)
    );
    println!(
        "  server: accepted {}, refused at the cap {}, per-device refusals {}, sessions completed {}, failed {}, \
         handshake/idle/session timeouts {}/{}/{}",
        s.accepted,
        s.refused_cap,
        s.refused_device,
        s.completed,
        s.failed,
        s.handshake_timeouts,
        s.idle_timeouts,
        s.session_timeouts
    );
    println!(
        "  server: {} flights staged {} records, {} engine disk syncs",
        s.flights_staged, s.records_staged, s.syncs
    );
    let mem = |who: &str, m: &Mem| {
        println!(
            "  {who}: RSS before {}, peak {} {}; CPU {}",
            mib(m.rss_before_kib),
            mib(m.peak_kib),
            if m.peak_is_rounds {
                "(during the round)"
            } else {
                "(since the process started)"
            },
            m.cpu_ms
                .map_or("n/a".into(), |c| format!("{:.2} s", c as f64 / 1e3))
        );
    };
    match &r.client_mem {
        Some(c) => {
            mem("server process", &r.server_mem);
            mem("kiosks' process", c);
        }
        None => mem("process (server and kiosks)", &r.server_mem),
    }
}

fn print(report: &Report, params: &Params, redb: bool) {
    let p = params;
    println!(
        "load: {} kiosks over {} municipalities; each held {} issues of its municipality, made {} \
         offline; staff made {} per municipality on the server",
        p.kiosks, p.municipalities, p.history, p.kiosk_commits, p.staff_edits
    );
    println!(
        "links: {} B/s up, {} B/s down, {} one way; server max_connections {}",
        p.link.up_bytes_per_sec,
        p.link.down_bytes_per_sec,
        ms(p.link.latency),
        p.net.max_connections
    );
    println!(
        "server: {} store, {}",
        if redb {
            "redb (temporary directory)"
        } else {
            "memory"
        },
        if report.server_in_process {
            "in this process"
        } else {
            "in a child process"
        }
    );
    println!(
        "setup (kiosks + unshaped first syncs): {}",
        ms(report.setup)
    );
    print_round("storm (all reconnect at once)", &report.storm, p.kiosks);
    print_round(
        "settle (all again: neighbours' storm commits)",
        &report.settle,
        p.kiosks,
    );
    if report.settle_rounds > 1 {
        println!(
            "settle rounds until quiet: {} (a kiosk that gave up in the storm uploaded later)",
            report.settle_rounds
        );
    }
    let syncs = report.storm.stats.syncs;
    println!(
        "disk syncs per commit (storm): {syncs} engine syncs / {} commits = {:.4}",
        report.storm_commits,
        syncs as f64 / report.storm_commits.max(1) as f64
    );
    if let Some(f) = report.file_syncs {
        println!("redb file syncs over the whole run (setup, both rounds, shutdown): {f}");
    }
    println!("server ops at the end: {}", report.server_ops);
    if report.divergences.is_empty() {
        println!(
            "converged: every kiosk's state hashes equal the server's for its municipality; every kiosk \
             commit durable on the server and acknowledged"
        );
    } else {
        println!("NOT CONVERGED: {} problems", report.divergences.len());
        for d in report.divergences.iter().take(20) {
            println!("  {d}");
        }
    }
}

/// The server half, run as a child process (`--server-child` before the same flags): serves
/// on a loopback port it prints (`PORT n`), and answers one-line commands on stdin
/// (`stats`, `staff`, `mem`, `reset`, `verify`, `stop`) on stdout, so that its memory is
/// its own.
async fn serve_child(params: Params, redb: bool) -> Result<()> {
    if redb {
        let dir = tempfile::tempdir()?;
        let store = kenesh_store::RedbStore::open(dir.path().join("server.redb"))?;
        let server = InProcess::start(store, &params, |s| Some(s.syncs())).await?;
        answer(server).await
    } else {
        let server = InProcess::start(kenesh_sync::MemStore::new(), &params, |_| None).await?;
        answer(server).await
    }
}

async fn answer<C: Control>(mut server: C) -> Result<()> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines().map_while(std::result::Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    println!("PORT {}", server.addr().port());
    let opt = |v: Option<u64>| v.unwrap_or(u64::MAX);
    while let Some(line) = rx.recv().await {
        match line.trim() {
            "stats" => {
                let s = server.stats().await?;
                println!(
                    "STATS {} {} {} {} {} {} {} {} {} {} {} {} {} {}",
                    s.accepted,
                    s.refused_cap,
                    s.active,
                    s.peak_active,
                    s.refused_device,
                    s.oversized,
                    s.handshake_timeouts,
                    s.idle_timeouts,
                    s.session_timeouts,
                    s.failed,
                    s.completed,
                    s.syncs,
                    s.flights_staged,
                    s.records_staged
                );
            }
            "staff" => {
                server.staff().await?;
                println!("OK");
            }
            "mem" => {
                let (rss, hwm, cpu) = server.memory().await?;
                println!("MEM {} {} {}", opt(rss), opt(hwm), opt(cpu));
            }
            "reset" => println!("RESET {}", u8::from(server.reset_peak().await?)),
            "verify" => {
                let v = server.verify().await?;
                let mut out = format!("VERIFY {} {}", v.ops, v.hashes.len());
                for [a, b] in &v.hashes {
                    out.push(' ');
                    out.extend(a.iter().chain(b).map(|x| format!("{x:02x}")));
                }
                out.push_str(&format!(" {}", v.durable.len()));
                for d in &v.durable {
                    out.push_str(&format!(" {d}"));
                }
                println!("{out}");
            }
            "stop" => {
                let syncs = server.finish().await?;
                println!("STOPPED {}", opt(syncs));
                return Ok(());
            }
            other => return Err(format!("unknown command {other:?}").into()),
        }
    }
    Ok(())
}

/// The parent's view of a server running as a child process.
struct Child {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: std::io::BufReader<std::process::ChildStdout>,
    addr: std::net::SocketAddr,
}

impl Child {
    fn spawn() -> Result<Child> {
        use std::io::BufRead;
        use std::process::{Command, Stdio};
        let mut child = Command::new(std::env::current_exe()?)
            .arg("--server-child")
            .args(std::env::args().skip(1))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let mut stdout = std::io::BufReader::new(child.stdout.take().ok_or("no stdout")?);
        let mut line = String::new();
        stdout.read_line(&mut line)?;
        let port: u16 = line
            .strip_prefix("PORT ")
            .ok_or_else(|| format!("the server child said {line:?}"))?
            .trim()
            .parse()?;
        Ok(Child {
            child,
            stdin,
            stdout,
            addr: std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        })
    }

    /// Sends a command, returns the answer's words after `expect`.
    fn ask(&mut self, command: &str, expect: &str) -> Result<Vec<String>> {
        use std::io::{BufRead, Write};
        tokio::task::block_in_place(|| {
            writeln!(self.stdin, "{command}")?;
            self.stdin.flush()?;
            let mut line = String::new();
            self.stdout.read_line(&mut line)?;
            let mut words = line.split_whitespace().map(str::to_owned);
            if words.next().as_deref() != Some(expect) {
                return Err(format!("the server child answered {command:?} with {line:?}").into());
            }
            Ok(words.collect())
        })
    }
}

fn nums(words: &[String]) -> Result<Vec<u64>> {
    Ok(words
        .iter()
        .map(|w| w.parse())
        .collect::<std::result::Result<_, _>>()?)
}

fn known(v: u64) -> Option<u64> {
    (v != u64::MAX).then_some(v)
}

impl Control for Child {
    fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }
    async fn stats(&mut self) -> Result<NetStats> {
        let n = nums(&self.ask("stats", "STATS")?)?;
        let [
            accepted,
            refused_cap,
            active,
            peak_active,
            refused_device,
            oversized,
            handshake_timeouts,
            idle_timeouts,
            session_timeouts,
            failed,
            completed,
            syncs,
            flights_staged,
            records_staged,
        ] = n[..]
        else {
            return Err("a short STATS line".into());
        };
        Ok(NetStats {
            accepted,
            refused_cap,
            active,
            peak_active,
            refused_device,
            oversized,
            handshake_timeouts,
            idle_timeouts,
            session_timeouts,
            failed,
            completed,
            syncs,
            flights_staged,
            records_staged,
        })
    }
    async fn staff(&mut self) -> Result<()> {
        self.ask("staff", "OK")?;
        Ok(())
    }
    async fn memory(&mut self) -> Result<(Option<u64>, Option<u64>, Option<u64>)> {
        let n = nums(&self.ask("mem", "MEM")?)?;
        match n[..] {
            [rss, hwm, cpu] => Ok((known(rss), known(hwm), known(cpu))),
            _ => Err("a bad MEM line".into()),
        }
    }
    async fn reset_peak(&mut self) -> Result<bool> {
        Ok(self.ask("reset", "RESET")?.first().map(String::as_str) == Some("1"))
    }
    async fn verify(&mut self) -> Result<Verified> {
        let words = self.ask("verify", "VERIFY")?;
        let bad = || -> Box<dyn std::error::Error + Send + Sync> { "a bad VERIFY line".into() };
        let mut w = words.iter();
        let mut next = || w.next().ok_or_else(bad);
        let ops: usize = next()?.parse()?;
        let n: usize = next()?.parse()?;
        let mut hashes = Vec::with_capacity(n);
        for _ in 0..n {
            let hex = next()?.as_bytes();
            if hex.len() != 128 {
                return Err(bad());
            }
            let mut h = [[0u8; 32]; 2];
            for (i, pair) in hex.chunks(2).enumerate() {
                let byte = u8::from_str_radix(std::str::from_utf8(pair)?, 16)?;
                h[i / 32][i % 32] = byte;
            }
            hashes.push(h);
        }
        let n: usize = next()?.parse()?;
        let mut durable = Vec::with_capacity(n);
        for _ in 0..n {
            durable.push(next()?.parse()?);
        }
        Ok(Verified {
            hashes,
            durable,
            ops,
        })
    }
    async fn finish(mut self) -> Result<Option<u64>> {
        let n = nums(&self.ask("stop", "STOPPED")?)?;
        let status = tokio::task::block_in_place(|| self.child.wait())?;
        if !status.success() {
            return Err(format!("the server child exited with {status}").into());
        }
        Ok(n.first().copied().and_then(known))
    }
    fn in_process(&self) -> bool {
        false
    }
}

async fn main_() -> Result<bool> {
    let child = std::env::args().nth(1).as_deref() == Some("--server-child");
    let Args {
        params,
        redb,
        in_process,
    } = parse(usize::from(child))?;
    if child {
        serve_child(params, redb).await?;
        return Ok(true);
    }
    let report = if in_process {
        if redb {
            let dir = tempfile::tempdir()?;
            let store = kenesh_store::RedbStore::open(dir.path().join("server.redb"))?;
            let server = InProcess::start(store, &params, |s| Some(s.syncs())).await?;
            scenario::run(server, &params).await?
        } else {
            let server = InProcess::start(kenesh_sync::MemStore::new(), &params, |_| None).await?;
            scenario::run(server, &params).await?
        }
    } else {
        scenario::run(Child::spawn()?, &params).await?
    };
    print(&report, &params, redb);
    Ok(report.divergences.is_empty())
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> std::process::ExitCode {
    match main_().await {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::FAILURE,
        Err(e) => {
            eprintln!("load: {e}");
            std::process::ExitCode::from(2)
        }
    }
}
