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
