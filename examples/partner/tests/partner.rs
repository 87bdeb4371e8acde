//! End to end over real TCP on 127.0.0.1: a `kenesh_net::NetServer` over redb, two kiosk
//! replicas that file issues offline and change one issue's status concurrently, converge;
//! the partner registers, syncs with the library's own code path, and exports. And
//! `inspect` on captured frames.
#![allow(missing_docs)]

use std::collections::BTreeSet;
use std::path::Path;

use kenesh::{Options, Replica};
use kenesh_model::text::LocalizedText;
use kenesh_model::{
    Channel, DeviceId, Id, Issue, IssueCategory, IssueStatus, Moderation, MunicipalityId, PersonId,
    Purpose, RecordMeta, Reporter, Scope, Stamp, Tier, Timestamp, Visibility,
};
use kenesh_net::{NetConfig, NetServer};
use kenesh_partner::{InspectError, OPEN311_REQUEST_FIELDS, OPEN311_SERVICE_FIELDS};
use kenesh_proto::{Ack, ErrorCode, ErrorMessage, Message, Welcome};
use kenesh_store::RedbStore;
use kenesh_sync::{Access, Grants, PublicKeys, Secret, Server, ServerConfig};
use serde_json::Value;

const NOW: u64 = 1_780_000_000_000;

fn home() -> MunicipalityId {
    MunicipalityId(Id::from_u128(417))
}

fn kiosk_grants(scope: Scope) -> Grants {
    Grants::none()
        .up_to(scope, Tier::Personal, Access::Read)
        .up_to(scope, Tier::Sensitive, Access::Write)
}

fn issue(id: u128, device: u32, at: u64, title: &str, category: IssueCategory) -> Issue {
    let stamp = Stamp {
        at: Timestamp(at),
        device: DeviceId(device),
        by: None,
    };
    Issue {
        meta: RecordMeta::new(
            Id::from_u128(id),
            Scope::Municipality(home()),
            Tier::Public,
            stamp,
        ),
        title: LocalizedText::ky(title),
        description: LocalizedText::ky(format!("{title}: \"сүрөттөмө\", with a comma")),
        category,
        territory: "41705410000010".parse().unwrap(),
        location: None,
        place: Some("Манас көчөсү, мектептин жанында".to_owned()),
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
    }
}

fn kiosk(dir: &Path, id: u32, server: PublicKeys) -> Replica {
    let mut seed = [0u8; 32];
    seed[0] = u8::try_from(id).unwrap();
    Replica::open(
        dir,
        Secret::from_bytes([u8::try_from(id).unwrap(); 32]),
        id,
        server,
        Options::seeded(seed),
    )
    .unwrap()
}

fn sync(r: &mut Replica, addr: std::net::SocketAddr) {
    kenesh_partner::sync_replica(r, &addr.to_string()).unwrap();
}

#[test]
fn devices_converge_and_the_partner_exports_their_issues() {
    let tmp = tempfile::tempdir().unwrap();
    let scope = Scope::Municipality(home());
    let mut server = Server::open(
        RedbStore::open(tmp.path().join("server.redb")).unwrap(),
        Secret::from_bytes([0xee; 32]),
        ServerConfig::default(),
    )
    .unwrap();
    let server_keys = server.public();

    // Two kiosks on the municipality.
    let mut a = kiosk(&tmp.path().join("a"), 11, server_keys);
    let mut b = kiosk(&tmp.path().join("b"), 12, server_keys);
    server.enrol(11, a.public(), kiosk_grants(scope)).unwrap();
    server.enrol(12, b.public(), kiosk_grants(scope)).unwrap();

    // The partner registers (its key from the OS, file 0600); the operator enrols it with
    // read access to the municipality's personal tier.
    let partner_dir = tmp.path().join("partner");
    let partner_keys = kenesh_partner::register(&partner_dir).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(partner_dir.join(kenesh_partner::SECRET_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(matches!(
        kenesh_partner::register(&partner_dir),
        Err(kenesh_partner::Error::KeyExists(_))
    ));
    server
        .enrol(
            30,
            partner_keys,
            Grants::none().up_to(scope, Tier::Personal, Access::Read),
        )
        .unwrap();
    // A third party: served a person's personal payloads only where their consent covers
    // participation.
    server
        .set_purposes(30, Some(vec![Purpose::Participation]))
        .unwrap();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let running = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        NetServer::new(server, NetConfig::default())
            .with_seed(7)
            .spawn(listener)
            .unwrap()
    });
    let addr = running.local_addr();

    // Offline: each kiosk files and publishes issues.
    let mut ids = Vec::new();
    for (n, (title, category)) in [
        ("Көпүрө бузулду", IssueCategory::Roads),
        ("Суу жок", IssueCategory::Water),
    ]
    .into_iter()
    .enumerate()
    {
        let at = NOW + n as u64 * 10;
        let i = issue(100 + n as u128, 11, at, title, category);
        a.at(at).create(&i).unwrap();
        a.at(at + 1)
            .set_status::<Issue, _>(i.meta.id, IssueStatus::Published)
            .unwrap();
        ids.push(i.meta.id);
    }
    let i = issue(
        200,
        12,
        NOW + 5,
        "Көчө чырактары күйбөйт",
        IssueCategory::Lighting,
    );
    b.at(NOW + 5).create(&i).unwrap();
    b.at(NOW + 6)
        .set_status::<Issue, _>(i.meta.id, IssueStatus::Published)
        .unwrap();
    ids.push(i.meta.id);
    // Filed by a named resident who gave no consent: the partner may not read who.
    let mut named = issue(201, 12, NOW + 7, "Таштанды төгүлдү", IssueCategory::Waste);
    named.reported_by = Reporter::Person(PersonId(Id::from_u128(9_001)));
    b.at(NOW + 7).create(&named).unwrap();
    b.at(NOW + 8)
        .set_status::<Issue, _>(named.meta.id, IssueStatus::Published)
        .unwrap();
    ids.push(named.meta.id);

    // Both learn of each other's issues.
    sync(&mut a, addr);
    sync(&mut b, addr);
    sync(&mut a, addr);
    assert_eq!(a.issues(Some(home()), None).len(), 4);
    assert_eq!(b.issues(Some(home()), None).len(), 4);

    // Offline again: both change the status of the same issue, differently.
    let contested = ids[0];
    a.at(NOW + 1_000)
        .set_status::<Issue, _>(contested, IssueStatus::Acknowledged)
        .unwrap();
    b.at(NOW + 1_001)
        .set_status::<Issue, _>(contested, IssueStatus::Resolved)
        .unwrap();
    assert_ne!(a.state_hashes(), b.state_hashes());
    sync(&mut a, addr);
    sync(&mut b, addr);
    sync(&mut a, addr);
    assert_eq!(a.state_hashes(), b.state_hashes(), "the kiosks converge");
    let status_a = a.get::<Issue>(contested).unwrap().status;
    let status_b = b.get::<Issue>(contested).unwrap().status;
    assert_eq!(status_a, status_b);

    // The partner syncs through the library (config remembered for the exports).
    let report = kenesh_partner::sync_dir(
        &partner_dir,
        &addr.to_string(),
        30,
        &kenesh_partner::public_hex(&server_keys),
    )
    .unwrap();
    assert!(report.ops_held > 0);
    let partner = kenesh_partner::open_replica(&partner_dir).unwrap();
    assert_eq!(
        partner.state_hashes().get(&(scope, Tier::Public)),
        a.state_hashes().get(&(scope, Tier::Public)),
        "the partner holds the same public state"
    );

    // CSV: a header and one row per issue.
    let csv_text = kenesh_partner::issues_csv(&partner).unwrap();
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(header, kenesh_partner::ISSUE_COLUMNS);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 4, "{csv_text}");
    let id_col = header.iter().position(|h| h == "id").unwrap();
    let status_col = header.iter().position(|h| h == "status").unwrap();
    let got: BTreeSet<String> = rows.iter().map(|r| r[id_col].to_owned()).collect();
    let want: BTreeSet<String> = ids.iter().map(ToString::to_string).collect();
    assert_eq!(got, want);
    let contested_row = rows
        .iter()
        .find(|r| r[id_col] == contested.to_string())
        .unwrap();
    assert_eq!(&contested_row[status_col], status_a.to_string());
    // Quotes and commas survive the quoting.
    let desc_col = header.iter().position(|h| h == "description").unwrap();
    let water = rows
        .iter()
        .find(|r| r[id_col] == ids[1].to_string())
        .unwrap();
    assert_eq!(&water[desc_col], "Суу жок: \"сүрөттөмө\", with a comma");

    // JSON parses, with the titles readable.
    let json: Value =
        serde_json::from_str(&kenesh_partner::issues_json(&partner).unwrap()).unwrap();
    let arr = json.as_array().unwrap();
    assert_eq!(arr.len(), 4);
    assert!(arr.iter().any(|i| i["title"] == "Суу жок"));
    // Consent: the resident's name is withheld from the partner and exported empty, while
    // the issue's public fields are there; the anonymous ones read as such.
    let withheld = arr
        .iter()
        .find(|i| i["id"] == named.meta.id.to_string())
        .unwrap();
    assert_eq!(withheld["reported_by"], Value::Null, "{withheld}");
    assert_eq!(withheld["title"], "Таштанды төгүлдү");
    assert_eq!(
        arr.iter()
            .filter(|i| i["reported_by"] == "anonymous")
            .count(),
        3
    );
    // The kiosks (the programme's own devices) read who filed it.
    assert_eq!(
        a.get::<Issue>(named.meta.id).unwrap().reported_by,
        named.reported_by
    );
    let rb_col = header.iter().position(|h| h == "reported_by").unwrap();
    let named_row = rows
        .iter()
        .find(|r| r[id_col] == named.meta.id.to_string())
        .unwrap();
    assert_eq!(&named_row[rb_col], "");
    // (The facade's whole-record query leaves that issue out; the export lists it.)
    assert_eq!(partner.issues(Some(home()), None).len(), 3);

    // Open311 GeoReport v2.
    let services = kenesh_partner::open311_services();
    let services: Value = serde_json::from_str(&services.to_string()).unwrap();
    let services = services.as_array().unwrap();
    assert!(!services.is_empty());
    let want_fields: BTreeSet<&str> = OPEN311_SERVICE_FIELDS.iter().copied().collect();
    assert_eq!(
        want_fields,
        BTreeSet::from([
            "service_code",
            "service_name",
            "description",
            "metadata",
            "type",
            "keywords",
            "group"
        ])
    );
    for s in services {
        let keys: BTreeSet<&str> = s.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, want_fields);
        assert_eq!(s["metadata"], false);
        assert_eq!(s["type"], "realtime");
    }
    let codes: BTreeSet<&str> = services
        .iter()
        .map(|s| s["service_code"].as_str().unwrap())
        .collect();
    assert_eq!(codes.len(), services.len(), "one service per category");

    let requests = kenesh_partner::open311_requests(&partner);
    let requests: Value = serde_json::from_str(&requests.to_string()).unwrap();
    let requests = requests.as_array().unwrap();
    assert_eq!(requests.len(), 4);
    let want_fields: BTreeSet<&str> = OPEN311_REQUEST_FIELDS.iter().copied().collect();
    assert_eq!(
        want_fields,
        BTreeSet::from([
            "service_request_id",
            "status",
            "status_notes",
            "service_name",
            "service_code",
            "description",
            "agency_responsible",
            "service_notice",
            "requested_datetime",
            "updated_datetime",
            "expected_datetime",
            "address",
            "address_id",
            "zipcode",
            "lat",
            "long",
            "media_url",
        ])
    );
    for r in requests {
        let keys: BTreeSet<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, want_fields);
        let status = r["status"].as_str().unwrap();
        assert!(status == "open" || status == "closed", "{status}");
        assert!(codes.contains(r["service_code"].as_str().unwrap()));
        assert!(r["requested_datetime"].as_str().unwrap().ends_with('Z'));
    }
    let contested_request = requests
        .iter()
        .find(|r| r["service_request_id"] == contested.to_string())
        .unwrap();
    assert_eq!(contested_request["status"], status_a.open311());
    // Its last change is the concurrent status change, after its filing.
    assert!(
        contested_request["updated_datetime"].as_str().unwrap()
            > contested_request["requested_datetime"].as_str().unwrap(),
        "{contested_request}"
    );

    // The published indicator report and the other exports run on the partner's replica.
    let report = kenesh_partner::indicators(&partner, 2026);
    let csv_text = kenesh_partner::indicators_csv(&report).unwrap();
    assert!(csv_text.starts_with("year,code,key,unit,dimension,cell,value"));
    let _: Value =
        serde_json::from_str(&kenesh_partner::indicators_json(&report).unwrap()).unwrap();
    let cases: Value =
        serde_json::from_str(&kenesh_partner::cases_json(&partner, scope).unwrap()).unwrap();
    assert_eq!(cases, Value::Array(vec![]));

    rt.block_on(running.shutdown()).unwrap();
}

fn framed(messages: &[Message<'_>]) -> (Vec<u8>, Vec<usize>) {
    let mut out = Vec::new();
    let mut offsets = Vec::new();
    for m in messages {
        let mut buf = vec![0u8; 1024];
        let n = m.encode(&mut buf).unwrap();
        offsets.push(out.len());
        out.extend_from_slice(&u32::try_from(n).unwrap().to_le_bytes());
        out.extend_from_slice(&buf[..n]);
    }
    (out, offsets)
}

#[test]
fn inspect_decodes_frames_and_names_the_offset_of_bad_input() {
    let (stream, offsets) = framed(&[
        Message::Welcome(Welcome {
            version: 1,
            caps: kenesh_proto::Caps::ZSTD,
            server_time_ms: NOW,
            stored_seq: 5,
            epoch: 2,
        }),
        Message::Ack(Ack {
            durable_seq: 7,
            cursor: Some(&[0xab, 0xcd]),
            chunk: None,
        }),
        Message::Error(ErrorMessage {
            code: ErrorCode::FORBIDDEN,
            detail: "not yours",
        }),
        Message::Bye,
    ]);
    let lines = kenesh_partner::inspect_lines(&stream).unwrap();
    let values: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(values.len(), 4);
    assert_eq!(values[0]["type"], "welcome");
    assert_eq!(values[0]["server_time_ms"], NOW);
    assert_eq!(values[0]["stored_seq"], 5);
    assert_eq!(values[1]["type"], "ack");
    assert_eq!(values[1]["cursor"], "abcd");
    assert_eq!(values[1]["offset"], offsets[1]);
    assert_eq!(values[2]["type"], "error");
    assert_eq!(values[2]["detail"], "not yours");
    assert_eq!(values[3]["type"], "bye");
    // PROTOCOL §3.1's example: a Bye frame is `01 00 00 00 08`.
    assert_eq!(&stream[offsets[3]..], &[1, 0, 0, 0, 8]);

    // Cut inside the last frame's body…
    let last = offsets[2];
    let cut = &stream[..offsets[3] - 2];
    let err = kenesh_partner::inspect(cut).unwrap_err();
    assert!(
        matches!(err, InspectError::TruncatedFrame { offset, .. } if offset == last),
        "{err:?}"
    );
    assert!(err.to_string().contains(&format!("offset {last}")), "{err}");
    // …inside a length prefix…
    let err = kenesh_partner::inspect(&stream[..offsets[3] + 2]).unwrap_err();
    assert_eq!(
        err,
        InspectError::TruncatedPrefix {
            offset: offsets[3],
            left: 2
        }
    );
    // …and an unknown message type.
    let mut bad = stream[..offsets[1]].to_vec();
    bad.extend_from_slice(&[1, 0, 0, 0, 0xfe]);
    let err = kenesh_partner::inspect(&bad).unwrap_err();
    assert!(
        matches!(err, InspectError::Decode { offset, .. } if offset == offsets[1]),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with(&format!("offset {}", offsets[1]))
    );
}

#[test]
fn server_keys_round_trip_and_bad_ones_are_refused() {
    let keys = Secret::from_bytes([3; 32]).public();
    let text = kenesh_partner::public_hex(&keys);
    assert_eq!(text.len(), 128);
    assert_eq!(kenesh_partner::parse_public_hex(&text).unwrap(), keys);
    assert!(kenesh_partner::parse_public_hex("abcd").is_err());
    assert!(kenesh_partner::parse_public_hex(&"zz".repeat(64)).is_err());
    assert_eq!(kenesh_partner::iso8601(0), "1970-01-01T00:00:00Z");
    assert_eq!(
        kenesh_partner::iso8601(1_780_000_000_000),
        "2026-05-28T20:26:40Z"
    );
}

#[test]
fn an_empty_replica_exports_a_header_and_empty_documents() {
    let server = Secret::from_bytes([0xee; 32]).public();
    let r = Replica::in_memory(
        Secret::from_bytes([1; 32]),
        1,
        server,
        Options::seeded([1; 32]),
    )
    .unwrap();
    let csv_text = kenesh_partner::issues_csv(&r).unwrap();
    assert_eq!(csv_text.trim_end(), kenesh_partner::ISSUE_COLUMNS.join(","));
    assert_eq!(kenesh_partner::issues_json(&r).unwrap().trim(), "[]");
    assert_eq!(kenesh_partner::open311_requests(&r), Value::Array(vec![]));
}
