//! A seeded, realistic municipality for demos and tests: people with Kyrgyz names, trainings
//! on rights, a national conference, legal-aid requests and cases, initiative groups, local
//! issues and recommendations, all made through the model's types and validated.
//!
//! ```
//! let records = kenesh_report::demo_records(7, 120, kenesh_model::FiscalYear(2024));
//! assert!(records.persons.len() >= 120);
//! ```

use std::collections::BTreeSet;

use kenesh_model::indicators::Records;
use kenesh_model::text::{Locale, LocalizedText};
use kenesh_model::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const FAMILY: [&str; 16] = [
    "Жапаров",
    "Үсөнбаев",
    "Токтогулов",
    "Мамасалиев",
    "Асанов",
    "Осмонов",
    "Исаков",
    "Садыров",
    "Кыргызбаев",
    "Өмүрбеков",
    "Абдыкадыров",
    "Бекболотов",
    "Сатыбалдиев",
    "Турдубаев",
    "Эшматов",
    "Жумабеков",
];
const GIVEN_F: [&str; 10] = [
    "Айжан",
    "Гүлнара",
    "Нургүл",
    "Айгерим",
    "Жылдыз",
    "Чолпон",
    "Бермет",
    "Асель",
    "Динара",
    "Айпери",
];
const GIVEN_M: [&str; 10] = [
    "Айбек",
    "Нурлан",
    "Бакыт",
    "Эркин",
    "Чыңгыз",
    "Марат",
    "Талант",
    "Азамат",
    "Улан",
    "Бекжан",
];

/// The next id; the demo's times are within 2000–2100, far from the year 10889 where ids
/// run out.
fn next_id(ids: &mut IdGen, now_ms: u64) -> Id {
    ids.next(now_ms)
        .expect("demo times are far below the last id time")
}

/// The demo municipality's id (an ayil okmotu in Batken rayon).
pub const MUNICIPALITY: MunicipalityId =
    MunicipalityId(Id::from_u128(0x0194_0000_0000_7000_8000_0000_0000_0001));

/// An ayil aymak code under Batken rayon, as the data README suggests for demos.
pub const AYMAK: &str = "41705214801000";

/// Builds the records of one municipality for fiscal year `fy`: `people` residents and what
/// they did, all deterministic in `seed`. Every record passes `validate`.
///
/// # Panics
/// Only if the model rejects a record this function built — a bug in the demo.
#[must_use]
pub fn demo_records(seed: u64, people: usize, fy: FiscalYear) -> Records {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let period = fy.period();
    let start_ms = Timestamp::bishkek_midnight(period.start).0;
    let span_days = period.end.days() - period.start.days();
    let device = DeviceId(1);
    let mut ids = IdGen::new(0x00_00a1_b2c3_d4e5);
    let scope = Scope::Municipality(MUNICIPALITY);
    let aymak: SoateCode = AYMAK.parse().expect("demo code parses");
    let day = |rng: &mut ChaCha8Rng| {
        Date::from_days(period.start.days() + rng.random_range(0..span_days))
    };
    let stamp_on = |d: Date| Stamp {
        at: Timestamp(Timestamp::bishkek_midnight(d).0 + 10 * 3_600_000),
        device,
        by: None,
    };
    let mut r = Records::default();

    // People (a few recorded twice and merged, as de-duplication finds them).
    for i in 0..people {
        let female = rng.random_bool(0.52);
        let family = FAMILY[rng.random_range(0..FAMILY.len())];
        let family = if female {
            format!("{family}а")
        } else {
            family.to_string()
        };
        let given = if female {
            GIVEN_F[rng.random_range(0..10)]
        } else {
            GIVEN_M[rng.random_range(0..10)]
        };
        let id = next_id(&mut ids, start_ms + i as u64);
        let mut wg = WashingtonGroup::default();
        if rng.random_bool(0.9) {
            let d = if rng.random_bool(0.08) {
                Difficulty::ALot
            } else {
                Difficulty::None
            };
            wg = WashingtonGroup {
                seeing: Some(Difficulty::None),
                hearing: Some(Difficulty::None),
                walking: Some(d),
                cognition: Some(Difficulty::None),
                self_care: Some(Difficulty::None),
                communication: Some(Difficulty::None),
            };
        }
        let residence = if rng.random_bool(0.85) {
            Some(aymak)
        } else {
            "41705236000000".parse().ok()
        };
        let mut keys = BTreeSet::new();
        keys.insert(text::dedup_key(&family));
        r.persons.push(Person {
            meta: RecordMeta::new(
                id,
                scope,
                Tier::Personal,
                Stamp {
                    at: Timestamp(start_ms),
                    device,
                    by: None,
                },
            ),
            name: PersonName {
                family,
                given: given.to_string(),
                patronymic: None,
                latin: None,
            },
            sex: Some(if female { Sex::Female } else { Sex::Male }),
            birth_year: rng.random_bool(0.95).then(|| rng.random_range(1950..2006)),
            disability: wg,
            residence,
            languages: [Locale::Ky, Locale::Ru]
                .into_iter()
                .take(rng.random_range(1..3))
                .collect(),
            pin: None,
            phone: None,
            dedup_keys: keys,
            merged_into: None,
        });
    }
    let n = r.persons.len();
    for _ in 0..n / 40 {
        let (a, b) = (rng.random_range(0..n), rng.random_range(0..n));
        if a != b && r.persons[b].merged_into.is_none() {
            r.persons[a].merged_into = Some(PersonId(r.persons[b].meta.id));
        }
    }
    let person =
        |rng: &mut ChaCha8Rng, r: &Records| PersonId(r.persons[rng.random_range(0..n)].meta.id);

    // Trainings on rights and justice, and one national conference.
    let topics = [
        "Жарандардын укуктары",
        "Акысыз юридикалык жардам",
        "Жер укугу",
        "Үй-бүлө укугу",
    ];
    for i in 0..8 {
        let on = day(&mut rng);
        let conference = i == 7;
        r.events.push(Event {
            meta: RecordMeta::new(
                next_id(&mut ids, start_ms + 10_000 + i),
                scope,
                Tier::Public,
                stamp_on(on),
            ),
            kind: if conference {
                EventKind::NationalConference
            } else {
                EventKind::Training
            },
            subject: Subject::RightsAndJustice,
            topic: LocalizedText::ky(topics[i as usize % topics.len()])
                .with(Locale::Ru, "Права граждан"),
            starts_on: on,
            ends_on: on,
            sessions: 2,
            territory: aymak,
            organisers: [Party::Municipality(MUNICIPALITY)].into(),
            language: Locale::Ky,
            capacity: Some(40),
            status: if conference || rng.random_bool(0.9) {
                EventStatus::Verified
            } else {
                EventStatus::Cancelled
            },
            campaign: None,
        });
    }
    for e in 0..r.events.len() {
        let event = EventId(r.events[e].meta.id);
        let on = r.events[e].ends_on;
        for _ in 0..rng.random_range(10..35) {
            let completed = rng.random_bool(0.85);
            r.attendance.push(Attendance {
                meta: RecordMeta::new(
                    next_id(&mut ids, start_ms + 20_000),
                    scope,
                    Tier::Personal,
                    stamp_on(on),
                ),
                event,
                person: person(&mut rng, &r),
                role: AttendanceRole::Participant,
                sessions_attended: if completed { 2 } else { 1 },
                completed,
                pre_score: Some(rng.random_range(20..70)),
                post_score: Some(rng.random_range(50..100)),
                evidence: Evidence::KioskCheckIn(device),
            });
        }
    }

    // Legal aid: requests, some consulted, some accepted with a case.
    let areas = [
        LegalArea::Family,
        LegalArea::Property,
        LegalArea::Labour,
        LegalArea::Land,
        LegalArea::SocialBenefits,
    ];
    let centre = OrganisationId(Id::from_u128(0x0194_0000_0000_7000_8000_0000_0000_0002));
    for _ in 0..people / 4 {
        let on = day(&mut rng);
        let accepted = rng.random_bool(0.25);
        let id = next_id(&mut ids, Timestamp::bishkek_midnight(on).0);
        let req = LegalAidRequest {
            meta: RecordMeta::new(
                id,
                Scope::Organisation(centre),
                Tier::Sensitive,
                stamp_on(on),
            ),
            applicant: person(&mut rng, &r),
            receiver: None,
            channel: if rng.random_bool(0.4) {
                IntakeChannel::Kiosk
            } else {
                IntakeChannel::Centre
            },
            taken_at: IntakePoint::Office(centre),
            language: Locale::Ky,
            legal_area: areas[rng.random_range(0..areas.len())],
            facts: "Жер үлүшү боюнча талаш".to_string(),
            urgency: Urgency::Normal,
            other_parties: BTreeSet::new(),
            eligibility: None,
            status: if accepted {
                RequestStatus::Accepted
            } else {
                RequestStatus::ConsultationGiven
            },
            consulted_on: (!accepted).then_some(on),
            rejection: None,
        };
        if accepted {
            r.cases.push(LegalCase {
                meta: RecordMeta::new(
                    next_id(&mut ids, Timestamp::bishkek_midnight(on).0),
                    Scope::Organisation(centre),
                    Tier::Sensitive,
                    stamp_on(on),
                ),
                request: RequestId(id),
                coordinator: None,
                advocate: None,
                status: CaseStatus::InStages,
                hearings: Vec::new(),
                closure: None,
                referrals: if rng.random_bool(0.3) {
                    vec![Referral {
                        to: Party::Organisation(centre),
                        on,
                        status: ReferralStatus::Sent,
                    }]
                } else {
                    Vec::new()
                },
            });
        }
        r.requests.push(req);
    }

    // Initiative groups with members.
    let sectors = [
        Sector::Citizen,
        Sector::Citizen,
        Sector::Business,
        Sector::AyilOkmotu,
        Sector::Ngo,
    ];
    for g in 0..3 {
        let formed = day(&mut rng);
        let gid = next_id(&mut ids, Timestamp::bishkek_midnight(formed).0);
        r.groups.push(InitiativeGroup {
            meta: RecordMeta::new(gid, scope, Tier::Public, stamp_on(formed)),
            municipality: MUNICIPALITY,
            name: LocalizedText::ky(["Таза суу", "Жаштар демилгеси", "Коопсуз жол"][g]),
            focus_issues: BTreeSet::new(),
            status: GroupStatus::Active,
            agreement: None,
            action_plan: None,
            co_financing: vec![CoFinancing {
                from: Contributor::Community,
                amount: Kgs::som(rng.random_range(5_000..50_000)),
                in_kind: None,
                on: formed,
            }],
            formed_on: formed,
        });
        for m in 0..rng.random_range(8..16) {
            r.memberships.push(Membership {
                meta: RecordMeta::new(
                    next_id(&mut ids, Timestamp::bishkek_midnight(formed).0),
                    scope,
                    Tier::Personal,
                    stamp_on(formed),
                ),
                group: GroupId(gid),
                member: Member::Person(person(&mut rng, &r)),
                sector: sectors[rng.random_range(0..sectors.len())],
                role: if m == 0 {
                    MemberRole::Chair
                } else if m == 1 {
                    MemberRole::Secretary
                } else {
                    MemberRole::Member
                },
                joined: formed,
                left: None,
            });
        }
    }

    // Local issues.
    let titles = [
        "Көпүрө бузулган",
        "Суу түтүгү жарылган",
        "Таштанды чыгарылбайт",
        "Мектептин чатыры агат",
        "Көчө жарыгы жок",
    ];
    let cats = [
        IssueCategory::Roads,
        IssueCategory::Water,
        IssueCategory::Waste,
        IssueCategory::Education,
        IssueCategory::Lighting,
    ];
    for i in 0..people / 5 {
        let on = day(&mut rng);
        let k = rng.random_range(0..titles.len());
        let resolved = rng.random_bool(0.3);
        let mut supporters = BTreeSet::new();
        for _ in 0..rng.random_range(0..12) {
            supporters.insert(person(&mut rng, &r));
        }
        r.issues.push(Issue {
            meta: RecordMeta::new(
                next_id(&mut ids, Timestamp::bishkek_midnight(on).0),
                scope,
                Tier::Public,
                stamp_on(on),
            ),
            title: LocalizedText::ky(titles[k]),
            description: LocalizedText::ky(
                "Айыл өкмөтүнө кайрылабыз, маселени чечип берүүңүздү суранабыз.",
            ),
            category: cats[k],
            territory: aymak,
            location: None,
            place: None,
            reported_by: Reporter::Anonymous,
            channel: Channel::Kiosk,
            status: if resolved {
                IssueStatus::Resolved
            } else {
                IssueStatus::Published
            },
            close_reason: None,
            responsible: Some(Party::Municipality(MUNICIPALITY)),
            group: None,
            duplicate_of: None,
            supporters,
            paper_supports: Vec::new(),
            updates: Vec::new(),
            comments: Vec::new(),
            visibility: Visibility::Public,
            moderation: Moderation::Approved,
            receipt: Some(Receipt {
                device,
                number: i as u32 + 1,
            }),
            beneficiaries_estimate: resolved.then(|| rng.random_range(50..2_000)),
        });
    }

    // Policy recommendations and an information campaign.
    let directions = [
        "Мүмкүнчүлүгү чектелген адамдар үчүн жумуш орундары",
        "Жергиликтүү бюджетке катышуу",
        "Акысыз юридикалык жардамдын жеткиликтүүлүгү",
    ];
    for (i, title) in directions.iter().enumerate() {
        let drafted = day(&mut rng);
        let submitted =
            Date::from_days(drafted.days() + 30).min(Date::from_days(period.end.days() - 1));
        let adopted = i == 0;
        r.recommendations.push(Recommendation {
            meta: RecordMeta::new(
                next_id(&mut ids, Timestamp::bishkek_midnight(drafted).0),
                scope,
                Tier::Public,
                stamp_on(drafted),
            ),
            direction: Direction(i as u16 + 1),
            title: LocalizedText::ky(*title),
            body: LocalizedText::ky("Сунуштун тексти"),
            co_authors: BTreeSet::new(),
            versions: Vec::new(),
            target_body: None,
            stage: if adopted {
                RecommendationStage::PartiallyAdopted
            } else {
                RecommendationStage::Submitted
            },
            submitted_on: Some(submitted),
            official_response: adopted.then(|| OfficialResponse {
                received_on: submitted,
                reference: "№ 12-345".to_string(),
                outcome: ResponseOutcome::PartiallyAdopted,
                summary: LocalizedText::ky("Жарым-жартылай кабыл алынды"),
            }),
            linked_acts: BTreeSet::new(),
        });
    }
    let start = day(&mut rng);
    r.campaigns.push(Campaign {
        meta: RecordMeta::new(
            next_id(&mut ids, Timestamp::bishkek_midnight(start).0),
            scope,
            Tier::Public,
            stamp_on(start),
        ),
        name: LocalizedText::ky("Укугуңду бил").with(Locale::Ru, "Знай свои права"),
        channels: [
            CampaignChannel::Radio,
            CampaignChannel::SocialMedia,
            CampaignChannel::Meetings,
        ]
        .into(),
        starts_on: start,
        ends_on: None,
        estimated_reach: Some(rng.random_range(5_000..20_000)),
    });

    for rec in &r.recommendations {
        rec.validate().expect("demo recommendation valid");
    }
    for rec in &r.campaigns {
        rec.validate().expect("demo campaign valid");
    }
    for rec in &r.persons {
        rec.validate().expect("demo person valid");
    }
    for rec in &r.events {
        rec.validate().expect("demo event valid");
    }
    for rec in &r.attendance {
        rec.validate().expect("demo attendance valid");
    }
    for rec in &r.requests {
        rec.validate().expect("demo request valid");
    }
    for rec in &r.cases {
        rec.validate().expect("demo case valid");
    }
    for rec in &r.groups {
        rec.validate().expect("demo group valid");
    }
    for rec in &r.memberships {
        rec.validate().expect("demo membership valid");
    }
    for rec in &r.issues {
        rec.validate().expect("demo issue valid");
    }
    r
}
