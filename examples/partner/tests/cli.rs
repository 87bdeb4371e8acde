//! The binary itself: register, sync over TCP, export, inspect, and its errors.
#![allow(missing_docs)]

use std::collections::BTreeSet;
use std::process::{Command, Output};

use kenesh::{Options, Replica};
use kenesh_model::text::LocalizedText;
use kenesh_model::{
    Channel, DeviceId, Id, Issue, IssueCategory, IssueStatus, Moderation, MunicipalityId,
    RecordMeta, Reporter, Scope, Stamp, Tier, Timestamp, Visibility,
};
use kenesh_net::{NetConfig, NetServer};
use kenesh_proto::Message;
use kenesh_store::RedbStore;
use kenesh_sync::{Access, Grants, Secret, Server, ServerConfig};
use serde_json::Value;

const NOW: u64 = 1_780_000_000_000;

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kenesh-partner"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn register_sync_and_export_through_the_binary() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("partner");
    let dir_s = dir.to_str().unwrap();

    // Exports before any sync say what to do.
    let o = run(&["export", "--dir", dir_s, "issues", "--format", "csv"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("run `kenesh-partner"));

    let out = stdout(&run(&["register", "--dir", dir_s]));
    let public = out
        .lines()
        .find_map(|l| l.strip_prefix("public:"))
        .unwrap()
        .trim()
        .to_owned();
    let partner_keys = kenesh_partner::parse_public_hex(&public).unwrap();
    let again = run(&["register", "--dir", dir_s]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    let muni = MunicipalityId(Id::from_u128(417));
    let scope = Scope::Municipality(muni);
    let mut server = Server::open(
        RedbStore::open(tmp.path().join("server.redb")).unwrap(),
        Secret::from_bytes([0xee; 32]),
        ServerConfig::default(),
    )
    .unwrap();
    let server_keys = server.public();
    let mut kiosk = Replica::open(
        tmp.path().join("kiosk"),
        Secret::from_bytes([11; 32]),
        11,
        server_keys,
        Options::seeded([11; 32]),
    )
    .unwrap();
    server
        .enrol(
            11,
            kiosk.public(),
            Grants::none()
                .up_to(scope, Tier::Personal, Access::Read)
                .up_to(scope, Tier::Sensitive, Access::Write),
        )
        .unwrap();
    server
        .enrol(
            30,
            partner_keys,
            Grants::none().up_to(scope, Tier::Personal, Access::Read),
        )
        .unwrap();
    for (n, category) in [IssueCategory::Roads, IssueCategory::Health]
        .into_iter()
        .enumerate()
    {
        let at = NOW + n as u64 * 10;
        let stamp = Stamp {
            at: Timestamp(at),
            device: DeviceId(11),
            by: None,
        };
        let issue = Issue {
            meta: RecordMeta::new(Id::from_u128(500 + n as u128), scope, Tier::Public, stamp),
            title: LocalizedText::ky(format!("Маселе {n}")),
            description: LocalizedText::ky("Сүрөттөмө"),
            category,
            territory: "41705410000010".parse().unwrap(),
            location: None,
            place: None,
            reported_by: Reporter::Anonymous,
            channel: Channel::Kiosk,
            status: IssueStatus::Submitted,
            close_reason: None,
            responsible: None,
            group: None,
            duplicate_of: None,
            supporters: BTreeSet::default(),
            paper_supports: vec![],
            updates: vec![],
            comments: vec![],
            visibility: Visibility::Public,
            moderation: Moderation::Pending,
            receipt: None,
            beneficiaries_estimate: None,
        };
        kiosk.at(at).create(&issue).unwrap();
        kiosk
            .at(at + 1)
            .set_status::<Issue, _>(issue.meta.id, IssueStatus::Published)
            .unwrap();
    }

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let running = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        NetServer::new(server, NetConfig::default())
            .with_seed(9)
            .spawn(listener)
            .unwrap()
    });
    let addr = running.local_addr().to_string();
    kenesh_partner::sync_replica(&mut kiosk, &addr).unwrap();

    let key = kenesh_partner::public_hex(&server_keys);
    let o = run(&[
        "sync",
        "--dir",
        dir_s,
        "--server",
        &addr,
        "--device",
        "30",
        "--server-key",
        &key,
    ]);
    stdout(&o);

    let csv_text = stdout(&run(&[
        "export", "--dir", dir_s, "issues", "--format", "csv",
    ]));
    assert_eq!(csv_text.lines().count(), 3, "{csv_text}");
    assert!(csv_text.starts_with("id,owner,title"));
    let requests: Value = serde_json::from_str(&stdout(&run(&[
        "export",
        "--dir",
        dir_s,
        "issues",
        "--format",
        "open311-requests",
    ])))
    .unwrap();
    assert_eq!(requests.as_array().unwrap().len(), 2);
    assert!(requests[0]["status"] == "open");
    let services: Value = serde_json::from_str(&stdout(&run(&[
        "export",
        "--dir",
        dir_s,
        "issues",
        "--format",
        "open311-services",
    ])))
    .unwrap();
    assert!(services.as_array().unwrap().len() >= 2);
    let report = stdout(&run(&[
        "export",
        "--dir",
        dir_s,
        "indicators",
        "--year",
        "2026",
        "--format",
        "csv",
    ]));
    assert!(report.starts_with("year,code,key"));
    let subject: Value = serde_json::from_str(&stdout(&run(&[
        "export",
        "--dir",
        dir_s,
        "subject",
        "--person",
        "00000000000000000000000000002329",
    ])))
    .unwrap();
    assert_eq!(subject["records"], Value::Array(vec![]));
    let bad = run(&["export", "--dir", dir_s, "subject", "--person", "nope"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not an id"));

    rt.block_on(running.shutdown()).unwrap();
}

#[test]
fn inspect_prints_json_lines_and_names_the_offset_of_a_cut() {
    let tmp = tempfile::tempdir().unwrap();
    let mut stream = Vec::new();
    for m in [Message::Bye, Message::Bye] {
        let mut buf = [0u8; 16];
        let n = m.encode(&mut buf).unwrap();
        stream.extend_from_slice(&u32::try_from(n).unwrap().to_le_bytes());
        stream.extend_from_slice(&buf[..n]);
    }
    let good = tmp.path().join("good.bin");
    std::fs::write(&good, &stream).unwrap();
    let out = stdout(&run(&["inspect", good.to_str().unwrap()]));
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["type"], "bye");
    assert_eq!(lines[1]["offset"], 5);

    let cut = tmp.path().join("cut.bin");
    std::fs::write(&cut, &stream[..7]).unwrap();
    let o = run(&["inspect", cut.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("offset 5"), "{err}");
}
