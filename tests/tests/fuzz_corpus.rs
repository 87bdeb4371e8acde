//! Replays the committed fuzz corpora (`fuzz/corpus/<target>/`) through the same checks the
//! fuzz targets run, so every `cargo test` re-checks past findings and seeds.

#[path = "../../fuzz/checks.rs"]
#[allow(dead_code, unreachable_pub)]
mod checks;

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut n = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let data = std::fs::read(&path).unwrap();
        if std::env::var_os("KENESH_FUZZ_TRACE").is_some() {
            eprintln!("{}", path.display());
        }
        check(&data);
        n += 1;
    }
    n
}

#[test]
fn model_decode_corpus() {
    assert!(
        replay("model_decode", checks::model_decode) >= 16,
        "a seed per decoder at least"
    );
}

#[test]
fn text_parse_corpus() {
    assert!(replay("text_parse", checks::text_parse) >= 10);
}

#[test]
fn proto_frame_corpus() {
    assert!(
        replay("proto_frame", checks::proto_frame) >= 16,
        "a seed per message type at least"
    );
}

#[test]
fn proto_stream_corpus() {
    assert!(replay("proto_stream", checks::proto_stream) >= 6);
}

#[test]
fn proto_cobs_corpus() {
    assert!(replay("proto_cobs", checks::proto_cobs) >= 6);
}

#[test]
fn proto_chunk_zstd_corpus() {
    assert!(replay("proto_chunk_zstd", checks::proto_chunk_zstd) >= 4);
}

#[test]
fn merge_op_corpus() {
    assert!(replay("merge_op", checks::merge_op) >= 6);
}

#[test]
fn merge_pages_corpus() {
    assert!(replay("merge_pages", checks::merge_pages) >= 5);
}

#[test]
fn device_open_corpus() {
    assert!(replay("device_open", checks::device_open_check) >= 5);
}

#[test]
fn server_open_corpus() {
    assert!(replay("server_open", checks::server_open_check) >= 3);
}

#[test]
fn session_server_wire_corpus() {
    assert!(replay("session_server_wire", checks::session_server_wire) >= 4);
}

#[test]
fn session_client_wire_corpus() {
    assert!(replay("session_client_wire", checks::session_client_wire) >= 4);
}

#[test]
fn session_server_frames_corpus() {
    assert!(replay("session_server_frames", checks::session_server_frames) >= 4);
}

#[test]
fn session_client_frames_corpus() {
    assert!(replay("session_client_frames", checks::session_client_frames) >= 4);
}

/// Writes the seed corpora from real values: `cargo test -p kenesh-tests --test fuzz_corpus
/// -- --ignored write_seed_corpus`. Seeds are committed; fuzzing adds to the local corpus.
#[test]
#[ignore = "regenerates the committed seed corpus"]
fn write_seed_corpus() {
    use kenesh_model::indicators::{IndicatorConfig, compute};
    use kenesh_model::text::{Locale, LocalizedText};
    use kenesh_model::*;
    use std::collections::BTreeSet;

    let fy = FiscalYear(2024);
    let r = kenesh_report::demo_records(5, 60, fy);
    let stamp = Stamp {
        at: Timestamp(1_700_000_000_000),
        device: DeviceId(3),
        by: None,
    };
    let mid = MunicipalityId(Id::from_u128(7));
    let meta = |tier| RecordMeta::new(Id::from_u128(99), Scope::Municipality(mid), tier, stamp);
    let day = Date::new(2024, 3, 8).unwrap();
    let municipality = Municipality {
        meta: meta(Tier::Public),
        kind: MunicipalityKind::AyilOkmotu,
        name: LocalizedText::ky("Кара-Бак айыл өкмөтү")
            .with(Locale::Ru, "Кара-Бакский айыл окмоту"),
        territories: TerritorySpans::new(vec![TerritorySpan {
            code: "41705214801000".parse().unwrap(),
            from: Date::new(2021, 1, 1).unwrap(),
            to: None,
        }])
        .unwrap(),
        kenesh: None,
        head: None,
        contacts: Contacts::default(),
        kiosks: [DeviceId(3)].into(),
    };
    let organisation = Organisation {
        meta: meta(Tier::Public),
        kind: OrganisationKind::LegalAidCentre,
        name: LocalizedText::ky("Акысыз юридикалык жардам борбору"),
        territory: "41705410000010".parse().ok(),
        contacts: Contacts {
            phone: Some("114".into()),
            email: None,
            address: None,
        },
    };
    let consent = Consent {
        meta: meta(Tier::Personal),
        person: PersonId(r.persons[0].meta.id),
        purposes: [Purpose::Participation, Purpose::LegalAid].into(),
        method: ConsentMethod::Kiosk,
        given_at: stamp.at,
        withdrawn_at: None,
        transfers: vec![],
    };
    let recommendation = Recommendation {
        meta: meta(Tier::Public),
        direction: Direction(1),
        title: LocalizedText::ky("Мүмкүнчүлүгү чектелген адамдар үчүн жумуш орундары"),
        body: LocalizedText::ky("Сунуш"),
        co_authors: BTreeSet::new(),
        versions: vec![],
        target_body: None,
        stage: RecommendationStage::Submitted,
        submitted_on: Some(day),
        official_response: None,
        linked_acts: BTreeSet::new(),
    };
    let campaign = Campaign {
        meta: meta(Tier::Public),
        name: LocalizedText::ky("Укугуңду бил"),
        channels: [CampaignChannel::Radio, CampaignChannel::SocialMedia].into(),
        starts_on: day,
        ends_on: None,
        estimated_reach: Some(12_000),
    };
    let stage = CaseStage {
        meta: meta(Tier::Sensitive),
        case: CaseId(r.cases[0].meta.id),
        kind: StageKind::FirstInstance,
        started_on: day,
        completed_on: Some(day),
        evidence: ["archive-17".to_string()].into(),
        paid: Some(Kgs::som(3_000)),
    };
    let report = compute(&r, fy, &IndicatorConfig::default()).publish();
    let enc = |x: &dyn erased::Enc| x.enc();
    mod erased {
        pub(crate) trait Enc {
            fn enc(&self) -> Vec<u8>;
        }
        impl<T: serde::Serialize> Enc for T {
            fn enc(&self) -> Vec<u8> {
                postcard::to_allocvec(self).unwrap()
            }
        }
    }
    let seeds: Vec<(u8, Vec<u8>)> = vec![
        (0, enc(&municipality)),
        (1, enc(&organisation)),
        (2, enc(&r.persons[0])),
        (3, enc(&consent)),
        (4, enc(&r.groups[0])),
        (5, enc(&r.memberships[0])),
        (6, enc(&r.issues[0])),
        (7, enc(&recommendation)),
        (8, enc(&r.events[0])),
        (9, enc(&r.attendance[0])),
        (10, enc(&campaign)),
        (11, enc(&r.requests[0])),
        (12, enc(&r.cases[0])),
        (13, enc(&stage)),
        (
            14,
            enc(&kenesh_model::indicators::Records {
                persons: r.persons[..3].to_vec(),
                ..Default::default()
            }),
        ),
        (15, enc(&report)),
    ];
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/model_decode");
    std::fs::create_dir_all(&dir).unwrap();
    for (tag, bytes) in seeds {
        let mut data = vec![tag];
        data.extend(bytes);
        checks::model_decode(&data);
        std::fs::write(dir.join(format!("seed-{tag:02}")), data).unwrap();
    }
    let texts = [
        "41705410000010",
        "41711201000000",
        "41708203870000",
        "4170541000001x",
        "0194f3a2-7c1d-7000-8000-00a1b2c3d4e5",
        "12505199000123",
        "0555 12 34 56",
        "+996 555 123 456",
        "ky-KG",
        "soate,level,parent,name_ky,name_ru\n41702000000000,oblast,417,Ысык-Көл облусу,Иссык-Кульская область\n",
        "Жапаров Садыр",
        "Үсөнбаев / Usonbaev",
        "o\u{308}mu\u{308}r",
    ];
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/text_parse");
    std::fs::create_dir_all(&dir).unwrap();
    for (i, t) in texts.iter().enumerate() {
        checks::text_parse(t.as_bytes());
        std::fs::write(dir.join(format!("seed-{i:02}")), t).unwrap();
    }
}

/// Real ops of one issue made on two devices: a create, edits, set adds and removes, log
/// appends, workflow steps, a reopen, a person's comment and its erasure, a tombstone.
fn seed_ops() -> Vec<kenesh_merge::Op> {
    use kenesh_merge::OpBuilder;
    use kenesh_model::schema::EntityKind;
    use kenesh_model::{Id, IssueStatus, PersonId, Workflow};
    const TITLE: u16 = 1;
    const STATUS: u16 = 9;
    const SUPPORTERS: u16 = 14;
    const COMMENTS: u16 = 17;
    let k = EntityKind::Issue;
    let issue = Id::from_u128(100);
    let (mut a, mut b) = (OpBuilder::new(1), OpBuilder::new(2));
    a.salt([7; 16]);
    b.salt([9; 16]);
    let create = a
        .create(
            k,
            issue,
            vec![
                (TITLE, "Көпүрө".as_bytes().to_vec()),
                (STATUS, vec![IssueStatus::Submitted.code()]),
            ],
        )
        .unwrap();
    let retitle = a
        .set(k, issue, TITLE, b"Bridge".to_vec(), &[create.id()])
        .unwrap();
    let concurrent = b
        .set(k, issue, TITLE, b"Footbridge".to_vec(), &[create.id()])
        .unwrap();
    let add = a.add(k, issue, SUPPORTERS, vec![3]).unwrap();
    let remove = b
        .remove(k, issue, SUPPORTERS, vec![3], &[add.id()])
        .unwrap();
    let comment = a.append(k, issue, COMMENTS, b"ok".to_vec()).unwrap();
    let publish = a.transition(k, issue, STATUS, 1, 2, &[]).unwrap();
    let close = b
        .transition(k, issue, STATUS, 2, 7, &[publish.id()])
        .unwrap();
    let reopen = a.reopen(k, issue, STATUS, close.id()).unwrap();
    let person = PersonId(Id::from_u128(5));
    b.persons(&[person]);
    let personal = b
        .append(k, issue, COMMENTS, b"phone 0555".to_vec())
        .unwrap();
    b.persons(&[]);
    let erase = b.erase(person).unwrap();
    let tombstone = a.tombstone(k, issue).unwrap();
    let unknown = a
        .raw(
            999,
            issue,
            3,
            kenesh_merge::Action(42),
            kenesh_model::Tier::Public,
            &[],
            vec![1, 2, 3],
        )
        .unwrap();
    vec![
        create, retitle, concurrent, add, remove, comment, publish, close, reopen, personal, erase,
        tombstone, unknown,
    ]
}

/// Writes the seed corpora of the protocol and merge targets from real encoded messages
/// and ops: `cargo test -p kenesh-tests --test fuzz_corpus -- --ignored
/// write_proto_seed_corpus`.
#[test]
#[ignore = "regenerates the committed seed corpus"]
fn write_proto_seed_corpus() {
    use kenesh_proto::compress::compress;
    use kenesh_proto::*;

    let ops = seed_ops();
    let enc = |m: &Message<'_>| m.to_vec().unwrap();
    let commit_frame = |ops: &[kenesh_merge::Op], withheld: bool, signature: &[u8]| {
        let mut buf = vec![0u8; 64 * 1024];
        let mut b = CommitBuilder::new(&mut buf);
        for op in ops {
            let body = match op.payload() {
                Some(p) if !withheld => Body::Payload(&p.bytes),
                _ => Body::Withheld(op.payload_hash()),
            };
            let envelope = op.envelope_bytes();
            b.push(Entry {
                envelope: &envelope,
                body,
            })
            .unwrap();
        }
        let entries = b.finish();
        enc(&Message::Commit(Commit {
            origin: 1,
            first_seq: ops[0].id().seq,
            salt: [7; 16],
            signature,
            entries,
        }))
    };
    let sig = [0x5a; 64];
    let batch = commit_frame(&ops[..6], false, &sig);
    let snapshot_data = b"column 0: 41705214801000 41705410000010 41711201000000".repeat(8);
    let zstd_data = compress(&batch, 3).unwrap();
    let mut frames: Vec<(&str, Vec<u8>)> = vec![
        (
            "hello",
            enc(&Message::Hello(Hello {
                min_version: 1,
                max_version: PROTOCOL_VERSION,
                caps: Caps::ZSTD.union(Caps::SNAPSHOT),
                device: 17,
                own_seq: 42,
                cursor: None,
            })),
        ),
        (
            "hello-cursor",
            enc(&Message::Hello(Hello {
                min_version: 1,
                max_version: 3,
                caps: Caps::COBS.union(Caps::NO_ALLOC),
                device: u32::MAX,
                own_seq: u64::MAX,
                cursor: Some(&[0xc5; MAX_CURSOR]),
            })),
        ),
        (
            "welcome",
            enc(&Message::Welcome(Welcome {
                version: 1,
                caps: Caps::ZSTD,
                server_time_ms: 1_700_000_000_000,
                stored_seq: 41,
                epoch: 3,
            })),
        ),
        (
            "refuse-version",
            enc(&Message::Refuse(Refuse {
                reason: RefuseReason::UnsupportedVersion { min: 2, max: 4 },
                server_time_ms: 1_700_000_000_000,
                stored_seq: 0,
            })),
        ),
        (
            "refuse-revoked",
            enc(&Message::Refuse(Refuse {
                reason: RefuseReason::Revoked { from_seq: 99 },
                server_time_ms: 1,
                stored_seq: 98,
            })),
        ),
        (
            "refuse-busy",
            enc(&Message::Refuse(Refuse {
                reason: RefuseReason::Busy,
                server_time_ms: 1,
                stored_seq: 0,
            })),
        ),
        ("commit", batch.clone()),
        ("commit-withheld", commit_frame(&ops[6..], true, &[])),
        ("commit-all", commit_frame(&ops, false, &sig)),
        (
            "chunk-commits-zstd",
            enc(&Message::Chunk(Chunk {
                transfer: 5,
                index: 0,
                last: false,
                kind: ChunkKind::Commits,
                compression: Compression::Zstd,
                raw_len: batch.len() as u32,
                data: &zstd_data,
            })),
        ),
        (
            "chunk-snapshot",
            enc(&Message::Chunk(Chunk {
                transfer: 6,
                index: 3,
                last: true,
                kind: ChunkKind::Snapshot,
                compression: Compression::None,
                raw_len: snapshot_data.len() as u32,
                data: &snapshot_data,
            })),
        ),
        (
            "ack",
            enc(&Message::Ack(Ack {
                durable_seq: 42,
                cursor: Some(b"cursor-0001"),
                chunk: Some(ChunkRef {
                    transfer: 5,
                    index: 0,
                }),
            })),
        ),
        (
            "ack-bare",
            enc(&Message::Ack(Ack {
                durable_seq: 0,
                cursor: None,
                chunk: None,
            })),
        ),
        (
            "snapshot-header",
            enc(&Message::SnapshotHeader(SnapshotHeader {
                scope_kind: 0,
                scope_id: [1; 16],
                tier: 1,
                epoch: 3,
                position: 1_000,
                records: 60,
                ops: 600,
                transfer: 6,
                chunks: 4,
                raw_bytes: 1 << 20,
                state_hash: [0xab; 32],
            })),
        ),
        (
            "error",
            enc(&Message::Error(ErrorMessage {
                code: ErrorCode::SEQ_GAP,
                detail: "seq 43 expected, 45 received — ката",
            })),
        ),
        ("bye", enc(&Message::Bye)),
    ];
    // Non-canonical varints: a padded `own_seq` in a Hello, and a padded envelope length
    // in a commit entry (carried byte-identical).
    let mut padded_hello = frames[0].1.clone();
    let seq_at = padded_hello.len() - 2; // own_seq 42, then the cursor's None
    padded_hello[seq_at] |= 0x80;
    padded_hello.insert(seq_at + 1, 0x00);
    frames.push(("hello-padded-varint", padded_hello));
    let mut buf = vec![0u8; 4096];
    let mut b = CommitBuilder::new(&mut buf);
    b.push(Entry {
        envelope: &[1, 2, 3],
        body: Body::Payload(b"x"),
    })
    .unwrap();
    let one = enc(&Message::Commit(Commit {
        origin: 7,
        first_seq: 1,
        salt: [0; 16],
        signature: &[],
        entries: b.finish(),
    }));
    let mut padded_commit = one.clone();
    let env_at = padded_commit.len() - 7; // [3, 1, 2, 3, 0, 1, b'x']
    assert_eq!(padded_commit[env_at..], [3, 1, 2, 3, 0, 1, b'x']);
    padded_commit[env_at] = 0x83;
    padded_commit.insert(env_at + 1, 0x00);
    frames.push(("commit-padded-varint", padded_commit));

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let write = |target: &str, name: &str, data: &[u8], check: fn(&[u8])| {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        check(data);
        std::fs::write(dir.join(format!("seed-{name}")), data).unwrap();
    };
    for (name, f) in &frames {
        // Padded varints may be refused (canonical-only decoding) or carried.
        assert!(
            name.contains("padded") || Message::decode(f, &Limits::default()).is_ok(),
            "{name} decodes"
        );
        write("proto_frame", name, f, checks::proto_frame);
    }

    // Streams: a cut count, cut points, then prefixed frames.
    let prefixed = |fs: &[&[u8]]| {
        let mut out = Vec::new();
        for f in fs {
            let mut w = vec![0u8; f.len() + LENGTH_PREFIX];
            write_prefixed(f, &mut w).unwrap();
            out.extend(w);
        }
        out
    };
    let hello = &frames[0].1[..];
    let streams: Vec<(&str, Vec<u8>)> = vec![
        ("one", [&[0u8][..], &prefixed(&[hello])].concat()),
        (
            "cut",
            [
                &[3u8, 2, 0, 9, 0, 40, 0][..],
                &prefixed(&[hello, &batch, &frames[16].1]),
            ]
            .concat(),
        ),
        (
            "session",
            [
                &[4u8, 1, 0, 5, 0, 200, 0, 0, 1][..],
                &prefixed(&frames.iter().map(|(_, f)| &f[..]).collect::<Vec<_>>()),
            ]
            .concat(),
        ),
        (
            "partial",
            [&[1u8, 3, 0][..], &prefixed(&[hello])[..8]].concat(),
        ),
        (
            "too-large",
            [
                &[1u8, 6, 0][..],
                &prefixed(&[hello]),
                &[0x01, 0x10, 0, 0, 8],
            ]
            .concat(),
        ),
        (
            "4gib",
            [&[2u8, 4, 0, 2, 0][..], &prefixed(&[&[8]]), &[0xff; 4]].concat(),
        ),
        (
            "max",
            [&[0u8][..], &prefixed(&[&vec![8u8; 4092], &[8]])].concat(),
        ),
    ];
    for (name, s) in &streams {
        write("proto_stream", name, s, checks::proto_stream);
    }

    // COBS: encodings of frames (without the delimiter), and frames to round-trip.
    let cobs = |f: &[u8]| {
        let mut w = vec![0u8; f.len() + f.len() / 254 + 2];
        let n = write_cobs(f, &mut w).unwrap();
        w.truncate(n - 1);
        w
    };
    let run254: Vec<u8> = (1..=254).collect();
    let cobs_seeds: Vec<(&str, Vec<u8>)> = vec![
        ("hello", cobs(hello)),
        ("commit", cobs(&batch)),
        ("bye", cobs(&[8])),
        ("zeros", cobs(&[0; 40])),
        ("run-254", cobs(&run254)),
        ("run-255", cobs(&[&run254[..], &[1]].concat())),
        ("raw-frame", frames[2].1.clone()),
        ("garbage", vec![5, 1, 2, 0, 3]),
    ];
    for (name, s) in &cobs_seeds {
        write("proto_cobs", name, s, checks::proto_cobs);
    }

    // zstd: a declared raw_len, then compressed data.
    let with_len = |raw: u32, data: &[u8]| [&raw.to_le_bytes()[..], data].concat();
    let zstd_seeds: Vec<(&str, Vec<u8>)> = vec![
        ("commits", with_len(batch.len() as u32, &zstd_data)),
        (
            "snapshot",
            with_len(
                snapshot_data.len() as u32,
                &compress(&snapshot_data, 3).unwrap(),
            ),
        ),
        ("short", with_len(batch.len() as u32 - 1, &zstd_data)),
        ("long", with_len(batch.len() as u32 + 1, &zstd_data)),
        ("over-limit", with_len(u32::MAX, &zstd_data)),
        ("empty", with_len(0, &compress(&[], 3).unwrap())),
    ];
    for (name, s) in &zstd_seeds {
        write("proto_chunk_zstd", name, s, checks::proto_chunk_zstd);
    }

    // Ops: each alone (with and without payload), and runs that interact.
    let rec = |ops: &[kenesh_merge::Op], with_payload: bool| {
        ops.iter()
            .flat_map(|op| checks::merge_op_record(op, with_payload))
            .collect::<Vec<u8>>()
    };
    let names = [
        "create",
        "set",
        "set-concurrent",
        "add",
        "remove",
        "append",
        "transition",
        "close",
        "reopen",
        "personal",
        "erase",
        "tombstone",
        "unknown",
    ];
    for (op, name) in ops.iter().zip(names) {
        write(
            "merge_op",
            name,
            &rec(std::slice::from_ref(op), true),
            checks::merge_op,
        );
    }
    write(
        "merge_op",
        "withheld",
        &rec(&ops[..2], false),
        checks::merge_op,
    );
    write("merge_op", "edits", &rec(&ops[..6], true), checks::merge_op);
    write(
        "merge_op",
        "workflow",
        &rec(&[&ops[..1], &ops[6..9]].concat(), true),
        checks::merge_op,
    );
    write(
        "merge_op",
        "erasure",
        &rec(&[&ops[..1], &ops[9..11]].concat(), true),
        checks::merge_op,
    );
    let mut spoiled = rec(&ops[..1], true);
    spoiled[0] |= 2;
    write("merge_op", "spoiled-hash", &spoiled, checks::merge_op);
}

/// Writes the seed corpus of `merge_pages` from real checkpoints of paged states holding
/// [`seed_ops`] and four more issues: `cargo test -p kenesh-tests --test fuzz_corpus --
/// --ignored write_pages_seed_corpus`.
#[test]
#[ignore = "regenerates the committed seed corpus"]
fn write_pages_seed_corpus() {
    use kenesh_merge::{OpBuilder, State};
    use kenesh_model::schema::EntityKind;
    use kenesh_model::{Id, IssueStatus, Workflow};
    use std::sync::Arc;

    let mut ops = seed_ops();
    let mut c = OpBuilder::new(3);
    c.salt([5; 16]);
    for n in 101..105u128 {
        let create = c
            .create(
                EntityKind::Issue,
                Id::from_u128(n),
                vec![
                    (1, format!("Маселе {n}").into_bytes()),
                    (9, vec![IssueStatus::Submitted.code()]),
                ],
            )
            .unwrap();
        let retitle = c
            .set(
                EntityKind::Issue,
                Id::from_u128(n),
                1,
                b"Road".to_vec(),
                &[create.id()],
            )
            .unwrap();
        ops.extend([create, retitle]);
    }
    let half = ops.len() / 2;

    // A paged state given `ops`, its pages of `target` bytes, checkpointed after each of
    // `cuts` ops counts; the store's pages and the last meta.
    let store = |target: usize, cuts: &[usize]| {
        let pages = Arc::new(checks::MemPages::default());
        let mut s = State::paged(pages.clone());
        s.set_page_target(target);
        let mut meta = Vec::new();
        let mut done = 0;
        for &cut in cuts {
            for op in &ops[done..cut] {
                let _ = s.apply(op.clone());
            }
            done = cut;
            let cp = s.checkpoint().unwrap();
            pages.write(&cp);
            meta = cp.meta().to_vec();
            assert!(s.checkpointed(cp));
        }
        (meta, pages.all())
    };

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/merge_pages");
    std::fs::create_dir_all(&root).unwrap();
    let write = |name: &str, data: &[u8]| {
        let expected = match name {
            "damaged" | "pages-missing" => "failed",
            _ => "reopened",
        };
        assert_eq!(checks::merge_pages_outcome(data), expected, "{name}");
        std::fs::write(root.join(format!("seed-{name}")), data).unwrap();
    };
    let all = ops.len();
    let (meta, pages) = store(1, &[all]);
    write(
        "page-per-record",
        &checks::merge_pages_input(0x01, &meta, &pages, &[], true),
    );
    write(
        "as-given",
        &checks::merge_pages_input(0x01, &meta, &pages, &[], false),
    );
    let mut damaged = pages.clone();
    damaged[0].1[3] ^= 1;
    write(
        "damaged",
        &checks::merge_pages_input(0x01, &meta, &damaged, &[], false),
    );
    let (meta, pages) = store(64 * 1024, &[all]);
    write(
        "one-page",
        &checks::merge_pages_input(0xf3, &meta, &pages, &[], true),
    );
    let (meta, pages) = store(300, &[half]);
    write(
        "then-ops",
        &checks::merge_pages_input(0x42, &meta, &pages, &ops[half..half + 8], true),
    );
    let (meta, pages) = store(300, &[half, all]);
    write(
        "two-checkpoints",
        &checks::merge_pages_input(0x20, &meta, &pages, &[], true),
    );
    let (meta, _) = store(1, &[all]);
    write(
        "pages-missing",
        &checks::merge_pages_input(0x00, &meta, &[], &ops[..2], true),
    );
}

/// A whole real sync between `device` and the fuzz world's `server` (fixed seeds).
fn sync_in_world<S: kenesh_sync::Store>(
    server: &mut kenesh_sync::Server<kenesh_sync::MemStore>,
    device: &mut kenesh_sync::Device<S>,
) {
    use checks::sessions::{CLIENT_SEED, NOW, SERVER_SEED};
    use kenesh_proto::Caps;
    use kenesh_sync::{ClientSession, ServerSession};
    let mut ss = ServerSession::new(server, SERVER_SEED).unwrap();
    let mut c = ClientSession::new(device, Caps::ZSTD, CLIENT_SEED).unwrap();
    c.start(device).unwrap();
    for _ in 0..100 {
        let up = c.take_output();
        if !up.is_empty() {
            ss.receive(server, &up, NOW).unwrap();
            server.sync().unwrap();
            ss.poll(server).unwrap();
        }
        if c.is_done() {
            break;
        }
        c.receive(device, &ss.take_output()).unwrap();
    }
    assert!(c.is_done(), "the real sync finishes");
}

/// Writes the seed corpus of `device_open` from real device disks (a log, a checkpoint and
/// the records after it, a real sync with the server, a torn tail, an own commit twice):
/// `cargo test -p kenesh-tests --test fuzz_corpus -- --ignored write_device_seed_corpus`.
#[test]
#[ignore = "regenerates the committed seed corpus"]
fn write_device_seed_corpus() {
    use checks::sessions::*;
    use kenesh_sync::{Device, SimDisk};

    let new_device = |checkpoints: bool| {
        let mut d = Device::open(
            SimDisk::new(),
            device_secret(),
            DEVICE,
            server_secret().public(),
        )
        .unwrap();
        if checkpoints {
            d.checkpoint_from(0);
        }
        for c in device_commits() {
            d.commit(&c.ops()).unwrap();
        }
        d.sync().unwrap();
        d
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/device_open");
    std::fs::create_dir_all(&root).unwrap();
    let write = |name: &str, data: &[u8], expected: &str| {
        assert_eq!(device_open(data), expected, "{name}");
        std::fs::write(root.join(format!("seed-{name}")), data).unwrap();
    };

    let log = new_device(false);
    write(
        "log",
        &device_open_input(1, log.store().image()),
        "reopened",
    );
    let mut torn = device_open_input(0, log.store().image());
    torn.extend([2, 5, 0, 9, 0, 0, 0, 1]);
    write("torn-tail", &torn, "reopened");
    // The last own commit twice: a corrupt log.
    let input = device_open_input(1, log.store().image());
    let mut at = 1;
    let mut last = 1;
    while at < input.len() {
        last = at;
        at += 3 + usize::from(u16::from_le_bytes([input[at + 1], input[at + 2]]));
    }
    let twice = [&input[..], &input[last..]].concat();
    write("own-commit-twice", &twice, "refused");

    let mut d = new_device(true);
    let mut b = d.builder();
    b.scope(home()).at(NOW);
    let op = issue(&mut b, 300, "Жол оңдолсун");
    d.commit(&[op]).unwrap();
    d.sync().unwrap();
    write(
        "checkpoint",
        &device_open_input(1, d.store().image()),
        "reopened",
    );

    // A real sync with the server: records received, acknowledged, a receipt.
    let mut server = server();
    sync_in_world(&mut server, &mut d);
    d.sync().unwrap();
    assert_eq!(d.acked_seq(), 3);
    write(
        "synced",
        &device_open_input(0, d.store().image()),
        "reopened",
    );
    write(
        "synced-then-commit",
        &device_open_input(3, d.store().image()),
        "reopened",
    );
}

/// Writes the seed corpus of `server_open` from real server logs (the fuzz world's server,
/// and the same after a real sync with the device): `cargo test -p kenesh-tests --test
/// fuzz_corpus -- --ignored write_server_seed_corpus`.
#[test]
#[ignore = "regenerates the committed seed corpus"]
fn write_server_seed_corpus() {
    use checks::sessions::*;

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/server_open");
    std::fs::create_dir_all(&root).unwrap();
    let write = |name: &str, data: &[u8]| {
        assert_eq!(server_open(data), "reopened", "{name}");
        std::fs::write(root.join(format!("seed-{name}")), data).unwrap();
    };
    let mut s = server();
    write("world", &server_open_input(0, s.store()));
    write("world-then-commit", &server_open_input(1, s.store()));
    sync_in_world(&mut s, &mut device());
    assert_eq!(s.device(DEVICE).unwrap().seq, 2);
    write("synced", &server_open_input(1, s.store()));
}

/// Found by `session_client_frames` (corpus file `regress-client-input-after-error`): a
/// client session went on taking messages after one failed, so what the server sent past
/// the fault still changed the device (here a Welcome after a malformed frame moved its
/// acknowledged seq). An error now ends the session: later input is refused with `Closed`.
#[test]
fn a_client_session_refuses_input_after_an_error() {
    use checks::sessions::*;
    use kenesh_proto::{Caps, DecodeError, Message, Welcome};
    use kenesh_sync::{ClientSession, ServerSession, SyncError};

    let mut server = server();
    let mut device = device();
    let mut ss = ServerSession::new(&server, SERVER_SEED).unwrap();
    let mut c = ClientSession::new(&device, Caps::ZSTD, CLIENT_SEED).unwrap();
    c.start(&mut device).unwrap();
    ss.receive(&mut server, &c.take_output(), NOW).unwrap();
    // The server's answer holds a frame of no known type; a Welcome follows.
    ss.send_raw(&[&[0xf3, 1, 2]]).unwrap();
    assert_eq!(
        c.receive(&mut device, &ss.take_output()),
        Err(SyncError::Decode(DecodeError::UnknownType(0xf3)))
    );
    let welcome = Message::Welcome(Welcome {
        version: 1,
        caps: Caps::ZSTD,
        server_time_ms: NOW,
        stored_seq: 2,
        epoch: 1,
    })
    .to_vec()
    .unwrap();
    ss.send_raw(&[&welcome]).unwrap();
    assert_eq!(
        c.receive(&mut device, &ss.take_output()),
        Err(SyncError::Closed)
    );
    assert_eq!(device.acked_seq(), 0, "nothing past the fault is applied");
    assert!(c.take_output().is_empty());
}

/// A real sync between the fuzz world's device and server (fixed seeds, so it replays
/// byte for byte): what the client wrote, and what the server wrote, turn by turn.
fn real_session_streams() -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    use checks::sessions::*;
    use kenesh_proto::Caps;
    use kenesh_sync::{ClientSession, ServerSession};

    let mut server = server();
    let mut device = device();
    let mut ss = ServerSession::new(&server, SERVER_SEED).unwrap();
    let mut c = ClientSession::new(&device, Caps::ZSTD, CLIENT_SEED).unwrap();
    c.start(&mut device).unwrap();
    let (mut up_all, mut down_all) = (Vec::new(), Vec::new());
    for _ in 0..100 {
        let up = c.take_output();
        if !up.is_empty() {
            ss.receive(&mut server, &up, NOW).unwrap();
            server.sync().unwrap();
            ss.poll(&mut server).unwrap();
            up_all.push(up);
        }
        if c.is_done() {
            break;
        }
        let down = ss.take_output();
        assert!(!down.is_empty(), "the server answers");
        c.receive(&mut device, &down).unwrap();
        down_all.push(down);
    }
    assert!(c.is_done() && ss.is_closed(), "the real sync finishes");
    assert_eq!(
        server.device(DEVICE).unwrap().seq,
        2,
        "the device's commits are taken"
    );
    assert_eq!(device.acked_seq(), 2);
    (up_all, down_all)
}

/// Writes the seed corpora of the session targets: real streams of a sync for the wire
/// targets, and inputs in the layout the frame targets read (see `checks::sessions`):
/// `cargo test -p kenesh-tests --test fuzz_corpus -- --ignored write_session_seed_corpus`.
#[test]
#[ignore = "regenerates the committed seed corpus"]
fn write_session_seed_corpus() {
    use checks::sessions::*;
    use kenesh_proto::Caps;
    use kenesh_sync::ClientSession;

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let write = |target: &str, name: &str, data: &[u8], check: fn(&[u8])| {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        check(data);
        std::fs::write(dir.join(format!("seed-{name}")), data).unwrap();
    };
    let (ups, downs) = real_session_streams();
    // A stream cut where the turns were (at most four cuts).
    let turns = |t: &[Vec<u8>]| {
        let mut cuts = Vec::new();
        let mut at = 0u16;
        for x in &t[..t.len() - 1] {
            at += x.len() as u16;
            cuts.extend(at.to_le_bytes());
        }
        assert!(t.len() <= 5);
        [&[t.len() as u8 - 1][..], &cuts, &t.concat()].concat()
    };
    let (up, down) = (ups.concat(), downs.concat());
    let first_len = 4 + u32::from_le_bytes(up[..4].try_into().unwrap()) as usize;
    let answer_len = 4 + u32::from_le_bytes(down[..4].try_into().unwrap()) as usize;
    let whole = |s: &[u8]| [&[0u8][..], s].concat();
    let flipped = |s: &[u8], at: usize| {
        let mut s = whole(s);
        s[1 + at] ^= 0x20;
        s
    };
    // A first flight from a device the server does not know.
    let stranger = {
        let mut d = kenesh_sync::Device::open(
            kenesh_sync::MemStore::new(),
            kenesh_sync::Secret::from_bytes([99; 32]),
            99,
            server().public(),
        )
        .unwrap();
        let mut c = ClientSession::new(&d, Caps::ZSTD, CLIENT_SEED).unwrap();
        c.start(&mut d).unwrap();
        c.take_output()
    };
    let cut3 = |s: &[u8], a: u16, b: u16, c: u16| {
        [
            &[3u8][..],
            &a.to_le_bytes(),
            &b.to_le_bytes(),
            &c.to_le_bytes(),
            s,
        ]
        .concat()
    };
    let server_wire: Vec<(&str, Vec<u8>)> = vec![
        ("session", turns(&ups)),
        ("one-read", whole(&up)),
        ("first-flight", whole(&up[..first_len])),
        ("cut", cut3(&up, 3, 90, first_len as u16 + 2)),
        (
            "first-flight-flipped",
            flipped(&up[..first_len], first_len - 3),
        ),
        ("stranger", whole(&stranger)),
        ("too-large", whole(&[0xff, 0xff, 0x01, 0x00, 1, 2, 3])),
        ("garbage", whole(&[40, 0, 0, 0, 7, 7, 7, 7])),
    ];
    for (name, s) in &server_wire {
        write("session_server_wire", name, s, checks::session_server_wire);
    }
    let client_wire: Vec<(&str, Vec<u8>)> = vec![
        ("session", turns(&downs)),
        ("answer", whole(&down[..answer_len])),
        ("cut", cut3(&down, 1, 50, answer_len as u16 + 5)),
        (
            "answer-flipped",
            flipped(&down[..answer_len], answer_len - 1),
        ),
        ("too-large", whole(&[0, 0, 1, 0])),
        ("garbage", whole(&[12, 0, 0, 0, 1, 2, 3])),
    ];
    for (name, s) in &client_wire {
        write("session_client_wire", name, s, checks::session_client_wire);
    }

    // The frame targets read: a flags byte; a commit plan (count; per commit an op count;
    // per op t, a time byte, an entity byte, [a superseded index], then for a create
    // (t & 0x38 == 0) a title, else kind, [..], field, action, payload); then messages of
    // frames (count; per frame a tag and its fields).
    let create = |title: &[u8]| [&[0u8, 0, 0, title.len() as u8][..], title].concat();
    // t = 0x08: a raw op; kind selector 0 (Issue), field 1, action SET (1), payload.
    let set_title = |entity: u8| vec![0x08, 0, entity, 0, 1, 1, 3, b'n', b'e', b'w'];
    let hello = [1u8, 0, 0, 1, 0]; // tag, sel, no cursor, caps ZSTD, own_seq 0
    let hello_cursor = [1u8, 0, 1, 1, 3, 0, 1, 0]; // a valid cursor: epoch 1, position 3
    let commit = |i: u8| [2u8, i << 2]; // the planned commit i, as it is
    let damaged = |i: u8| [2u8, (i << 2) | 2, 40, 0, 0x10];
    let ack = [4u8, 2, 0, 1, 1, 0]; // durable 0, no cursor, chunk (1, 0)
    let bye = [5u8];
    let plan1 = [&[1u8, 0][..], &create(b"Bridge")].concat();
    let plan2 = [&[2u8, 0][..], &set_title(1), &[0], &create(b"Bridge")].concat();
    let cat = |parts: &[&[u8]]| parts.concat();
    let server_frames: Vec<(&str, Vec<u8>)> = vec![
        (
            "signed-hello-commit-ack-bye",
            cat(&[&[1], &plan1, &[2], &hello, &commit(0), &[2], &ack, &bye]),
        ),
        (
            "stranger-signed",
            cat(&[&[0], &plan1, &[2], &hello, &commit(0), &[1], &bye]),
        ),
        (
            "signed-later",
            cat(&[
                &[1],
                &plan1,
                &[1],
                &hello_cursor,
                &[1],
                &commit(0),
                &[1],
                &ack,
            ]),
        ),
        (
            "held-then-created",
            cat(&[
                &[1],
                &plan2,
                &[1],
                &hello,
                &[1],
                &commit(0),
                &[2],
                &commit(1),
                &bye,
            ]),
        ),
        (
            "gap",
            cat(&[&[1], &plan2, &[2], &hello, &commit(1), &[1], &commit(1)]),
        ),
        (
            "damaged",
            cat(&[&[1], &plan1, &[2], &hello, &damaged(0), &[1], &commit(0)]),
        ),
        ("raw-first", cat(&[&[0], &[0], &[1], &[0, 3, 0, 9, 9, 9]])),
        (
            "unexpected",
            cat(&[&[0], &[0], &[1], &hello, &[1], &[7, 1, 3]]),
        ),
    ];
    for (name, s) in &server_frames {
        write(
            "session_server_frames",
            name,
            s,
            checks::session_server_frames,
        );
    }

    let welcome = [1u8, 0, 1, 0, 1]; // version 1, caps ZSTD, stored 0, epoch 1
    // Chunk: tag, sel, index, cursor (valid: epoch 1, position 5), one frame, commit 0.
    let chunk = |sel: u8, index: u8| vec![2u8, sel, index, 1, 1, 5, 0, 1, 0];
    let zeros = kenesh_proto::compress::compress(&[0u8; 128 * 1024], 3).unwrap();
    let bomb = cat(&[
        &[2, 8 | 16 | 32 | 192, 0, 0, 0],
        &(zeros.len() as u16).to_le_bytes(),
        &zeros,
        &(128u32 * 1024).to_le_bytes(),
    ]);
    let refuse = cat(&[&[6, 3, b'b', b'a', b'd', 1, 3], &[0; 8]]);
    let client_frames: Vec<(&str, Vec<u8>)> = vec![
        ("real-then-bye", cat(&[&[0], &[0], &[1], &bye])),
        (
            "welcome-chunk",
            cat(&[&[1], &plan1, &[2], &welcome, &chunk(2, 0), &[1], &bye]),
        ),
        (
            "welcome-chunk-zstd",
            cat(&[&[1], &plan1, &[2], &welcome, &chunk(2 | 16, 0), &[0]]),
        ),
        (
            "real-then-chunk",
            cat(&[&[0], &plan1, &[1], &chunk(0, 1), &[1], &[5, 0, 3, 0, 0]]),
        ),
        ("zstd-128k", cat(&[&[1], &[0], &[2], &welcome, &bomb])),
        ("refuse", cat(&[&[1], &[0], &[1], &refuse])),
        (
            "no-zstd-out-of-order",
            cat(&[&[2], &plan1, &[1], &chunk(16, 5)]),
        ),
    ];
    for (name, s) in &client_frames {
        write(
            "session_client_frames",
            name,
            s,
            checks::session_client_frames,
        );
    }
}
