//! Every typed operation round-trips through a replica and a query; bad input is refused
//! with a typed error naming the field, and changes nothing.

mod common;

use common::*;
use kenesh::{AnyRecord, WriteError};
use kenesh_merge::Action;
use kenesh_model::schema::EntityKind;
use kenesh_model::text::{Locale, LocalizedText};
use kenesh_model::*;

fn pid(n: u128) -> PersonId {
    PersonId(Id::from_u128(n))
}

/// The field a validation error names (its display is `entity.field: …`).
fn field_of(e: &WriteError) -> String {
    match e {
        WriteError::Invalid(v) => v
            .to_string()
            .split(':')
            .next()
            .unwrap_or_default()
            .to_string(),
        WriteError::Transition { kind, field, .. } => format!("{kind}.{field}"),
        other => panic!("not a field error: {other:?}"),
    }
}

#[test]
fn every_entity_round_trips() {
    let mut r = replica(1);
    let p = person(10);
    let i = issue(20);
    let g = group(30);
    let m = membership(31, 30, 10);
    let rec = recommendation(40, 10);
    let e = event(50);
    let a = attendance(51, 50, 10);
    let q = request(60, 10, "Жер үлүшү боюнча талаш");
    let c = case(61, 60);
    let s = stage(62, 61);
    let k = consent(70, 10);
    let mut w = r.at(NOW);
    w.add_person(&p).unwrap();
    w.create_issue(&i).unwrap();
    w.form_group(&g).unwrap();
    w.add_member(&m).unwrap();
    w.draft_recommendation(&rec).unwrap();
    w.plan_event(&e).unwrap();
    w.record_attendance(&a).unwrap();
    w.take_request(&q).unwrap();
    w.open_case(&c).unwrap();
    w.add_stage(&s).unwrap();
    w.record_consent(&k).unwrap();
    assert_same!(r.get::<Person>(p.meta.id).unwrap(), p);
    assert_same!(r.get::<Issue>(i.meta.id).unwrap(), i);
    assert_same!(r.get::<InitiativeGroup>(g.meta.id).unwrap(), g);
    assert_same!(r.get::<Membership>(m.meta.id).unwrap(), m);
    assert_same!(r.get::<Recommendation>(rec.meta.id).unwrap(), rec);
    assert_same!(r.get::<Event>(e.meta.id).unwrap(), e);
    assert_same!(r.get::<Attendance>(a.meta.id).unwrap(), a);
    assert_same!(r.get::<LegalAidRequest>(q.meta.id).unwrap(), q);
    assert_same!(r.get::<LegalCase>(c.meta.id).unwrap(), c);
    assert_same!(r.get::<CaseStage>(s.meta.id).unwrap(), s);
    assert_same!(r.get::<Consent>(k.meta.id).unwrap(), k);
    // Meta comes from the ops: the device that made the create, at the time passed in.
    let got = r.get::<Issue>(i.meta.id).unwrap();
    assert_eq!(got.meta.created.device, DeviceId(1));
    assert_eq!(got.meta.created.at, Timestamp(NOW));
}

#[test]
fn ops_name_their_persons_and_personal_values_are_sealed() {
    let mut r = replica(1);
    let mut w = r.at(NOW);
    w.add_person(&person(10)).unwrap();
    let mut reported = issue(20);
    reported.reported_by = Reporter::Person(pid(10));
    w.create_issue(&reported).unwrap();
    w.support_issue(IssueId(Id::from_u128(20)), pid(10))
        .unwrap();
    w.take_request(&request(60, 10, "canary-facts")).unwrap();
    w.open_case(&case(61, 60)).unwrap();
    let state = r.state();
    for op in state.ops() {
        let e = op.envelope();
        let kind = EntityKind::from_code(e.kind).unwrap();
        match (kind, e.action) {
            // The person record, the support, the request and the case (through its
            // request) all name person 10.
            (EntityKind::Person | EntityKind::LegalAidRequest | EntityKind::LegalCase, _)
            | (EntityKind::Issue, Action::ADD) => {
                assert_eq!(e.persons, vec![pid(10)], "{kind} {:?}", e.action);
            }
            // The reporter is personal: its own op, naming them, sealed.
            (EntityKind::Issue, Action::SET) => {
                assert_eq!((e.field, e.tier), (7, Tier::Personal));
                assert_eq!(e.persons, vec![pid(10)]);
                let bytes = &op.payload().unwrap().bytes;
                assert_eq!(bytes[0], kenesh_sync::keys::SEAL_VERSION);
                assert_eq!(
                    bytes.len(),
                    postcard::to_allocvec(&reported.reported_by).unwrap().len()
                        + kenesh_sync::keys::SEALED_OVERHEAD
                );
            }
            // The issue itself names nobody.
            (EntityKind::Issue, _) => assert!(e.persons.is_empty()),
            _ => unreachable!(),
        }
        // No personal or sensitive value travels in the clear: a sealed value starts with
        // the seal version byte and is not the postcard value.
        if e.tier != Tier::Public && e.action != Action::TRANSITION {
            let bytes = &op.payload().unwrap().bytes;
            assert!(
                !bytes.windows(12).any(|w| w == b"canary-facts"),
                "{kind} payload in the clear"
            );
        }
    }
    // And it reads back opened.
    let q = r.get::<LegalAidRequest>(Id::from_u128(60)).unwrap();
    assert_eq!(q.facts, "canary-facts");
    assert_eq!(
        r.get::<Issue>(Id::from_u128(20)).unwrap().reported_by,
        Reporter::Person(pid(10))
    );
}

#[test]
fn issue_lifecycle_edit_support_comment_status() {
    let mut r = replica(1);
    let id = IssueId(Id::from_u128(20));
    let mut w = r.at(NOW);
    w.add_person(&person(10)).unwrap();
    w.add_person(&person(11)).unwrap();
    w.create_issue(&issue(20)).unwrap();
    let mut edited = r.get::<Issue>(id.0).unwrap();
    edited.title = LocalizedText::ky("Көпүрө кайра бузулду");
    edited.category = IssueCategory::Water;
    let mut w = r.at(NOW + 1);
    w.edit_issue(&edited).unwrap();
    w.support_issue(id, pid(10)).unwrap();
    w.support_issue(id, pid(11)).unwrap();
    let seq = r.device().own_seq();
    r.at(NOW + 2).support_issue(id, pid(10)).unwrap();
    assert_eq!(r.device().own_seq(), seq, "supporting twice makes no op");
    let comment = Comment {
        at: Timestamp(NOW + 3),
        by: Some(pid(11)),
        text: "Мен да колдойм".into(),
    };
    let mut w = r.at(NOW + 3);
    w.comment(id, comment.clone()).unwrap();
    w.set_status::<Issue, _>(id.0, IssueStatus::Published)
        .unwrap();
    w.set_status::<Issue, _>(id.0, IssueStatus::InProgress)
        .unwrap();

    let got = r.get::<Issue>(id.0).unwrap();
    assert_eq!(got.title, edited.title);
    assert_eq!(got.category, IssueCategory::Water);
    assert_eq!(got.supporters, [pid(10), pid(11)].into());
    // A withdrawn support: removed, and the removal carries no value in the clear.
    r.at(NOW + 2).withdraw_support(id, pid(11)).unwrap();
    assert_eq!(r.get::<Issue>(id.0).unwrap().supporters, [pid(10)].into());
    let remove = r
        .state()
        .ops()
        .find(|o| o.envelope().action == Action::REMOVE)
        .unwrap();
    assert!(remove.payload().unwrap().bytes.is_empty());
    r.at(NOW + 2).support_issue(id, pid(11)).unwrap();
    let got = r.get::<Issue>(id.0).unwrap();
    assert_eq!(got.supporters, [pid(10), pid(11)].into(), "supports again");
    assert_eq!(got.comments, vec![comment]);
    assert_eq!(got.status, IssueStatus::InProgress);
    assert_eq!(
        r.issues(Some(muni()), Some(IssueStatus::InProgress)).len(),
        1
    );
    assert!(
        r.issues(Some(muni()), Some(IssueStatus::Published))
            .is_empty()
    );
    assert!(
        r.issues(Some(MunicipalityId(Id::from_u128(9))), None)
            .is_empty()
    );
    // Resolve, then reopen (its own act): back to in progress.
    let mut w = r.at(NOW + 4);
    w.set_status::<Issue, _>(id.0, IssueStatus::Resolved)
        .unwrap();
    w.reopen::<Issue, IssueStatus>(id.0).unwrap();
    assert_eq!(
        r.get::<Issue>(id.0).unwrap().status,
        IssueStatus::InProgress
    );
    assert!(r.review().flags.is_empty(), "{:?}", r.review().flags);
    // Tombstoned: out of queries.
    r.at(NOW + 5).tombstone::<Issue>(id.0).unwrap();
    assert!(r.issues(Some(muni()), None).is_empty());
}

#[test]
fn groups_members_recommendations() {
    let mut r = replica(1);
    let mut w = r.at(NOW);
    w.add_person(&person(10)).unwrap();
    w.add_person(&person(11)).unwrap();
    w.form_group(&group(30)).unwrap();
    w.add_member(&membership(31, 30, 10)).unwrap();
    let mut second = membership(32, 30, 11);
    second.role = MemberRole::Secretary;
    w.add_member(&second).unwrap();
    w.set_status::<InitiativeGroup, _>(Id::from_u128(30), GroupStatus::Active)
        .unwrap();
    w.draft_recommendation(&recommendation(40, 10)).unwrap();
    w.set_status::<Recommendation, _>(Id::from_u128(40), RecommendationStage::Consultation)
        .unwrap();
    let members = r.group_members(GroupId(Id::from_u128(30)));
    assert_eq!(members.len(), 2);
    assert_eq!(
        members
            .iter()
            .map(|m| (m.member, m.role))
            .collect::<Vec<_>>(),
        vec![
            (Member::Person(pid(10)), MemberRole::Chair),
            (Member::Person(pid(11)), MemberRole::Secretary)
        ]
    );
    assert_eq!(
        r.get::<InitiativeGroup>(Id::from_u128(30)).unwrap().status,
        GroupStatus::Active
    );
    assert_eq!(
        r.get::<Recommendation>(Id::from_u128(40)).unwrap().stage,
        RecommendationStage::Consultation
    );
}

#[test]
fn events_attendance_and_indicator_report() {
    let mut r = replica(1);
    let mut w = r.at(NOW);
    for p in 10..16 {
        w.add_person(&person(p)).unwrap();
    }
    w.plan_event(&event(50)).unwrap();
    w.set_status::<Event, _>(Id::from_u128(50), EventStatus::Held)
        .unwrap();
    for (i, p) in (10..16).enumerate() {
        w.record_attendance(&attendance(100 + i as u128, 50, p))
            .unwrap();
    }
    let rows = r.attendance(EventId(Id::from_u128(50)));
    assert_eq!(rows.len(), 6);
    assert!(rows.iter().all(|a| a.completed));
    let year = Timestamp(NOW).bishkek_date().fiscal_year();
    let report = r.indicator_report(year, &indicators::IndicatorConfig::default());
    let trained = report
        .indicators()
        .iter()
        .find(|i| i.key == "trained_rights_justice")
        .unwrap();
    assert_eq!(trained.total, 6, "six people completed the training");
}

#[test]
fn legal_aid_request_case_stages() {
    let mut r = replica(1);
    let mut w = r.at(NOW);
    w.add_person(&person(10)).unwrap();
    w.take_request(&request(60, 10, "Жер үлүшү")).unwrap();
    w.set_status::<LegalAidRequest, _>(Id::from_u128(60), RequestStatus::Screening)
        .unwrap();
    w.open_case(&case(61, 60)).unwrap();
    w.progress_case(Id::from_u128(61), CaseStatus::AdvocateAssigned)
        .unwrap();
    w.progress_case(Id::from_u128(61), CaseStatus::InStages)
        .unwrap();
    let hearing = Hearing {
        on: day(),
        court: "Баткен районунун соту".into(),
        note: "Биринчи угуу".into(),
    };
    w.add_hearing(Id::from_u128(61), hearing.clone()).unwrap();
    w.add_stage(&stage(62, 61)).unwrap();
    let closure = Closure {
        category: ClosureCategory::Won,
        on: day(),
        outcome: "Жер кайтарылды".into(),
    };
    w.close_case(Id::from_u128(61), closure.clone()).unwrap();
    let cases = r.cases_by_owner(centre_scope());
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].status, CaseStatus::Closed);
    assert_eq!(cases[0].hearings, vec![hearing]);
    assert_eq!(cases[0].closure, Some(closure));
    assert!(r.cases_by_owner(scope()).is_empty());
    assert_eq!(
        r.get::<LegalAidRequest>(Id::from_u128(60)).unwrap().status,
        RequestStatus::Screening
    );
}

#[test]
fn consent_recorded_and_withdrawn() {
    let mut r = replica(1);
    let mut w = r.at(NOW);
    w.add_person(&person(10)).unwrap();
    w.record_consent(&consent(70, 10)).unwrap();
    w.withdraw_consent(Id::from_u128(70), Timestamp(NOW + 60_000))
        .unwrap();
    let c = r.get::<Consent>(Id::from_u128(70)).unwrap();
    assert_eq!(c.withdrawn_at, Some(Timestamp(NOW + 60_000)));
}

#[test]
fn subject_access_returns_their_data_and_not_others() {
    let mut r = replica(1);
    let mut w = r.at(NOW);
    w.add_person(&person(10)).unwrap();
    w.add_person(&person(11)).unwrap();
    w.record_consent(&consent(70, 10)).unwrap();
    w.plan_event(&event(50)).unwrap();
    w.record_attendance(&attendance(51, 50, 10)).unwrap();
    w.create_issue(&issue(20)).unwrap();
    let mine = Comment {
        at: Timestamp(NOW),
        by: Some(pid(10)),
        text: "менин пикирим".into(),
    };
    let theirs = Comment {
        at: Timestamp(NOW),
        by: Some(pid(11)),
        text: "башка адамдын пикири".into(),
    };
    w.comment(IssueId(Id::from_u128(20)), mine.clone()).unwrap();
    w.comment(IssueId(Id::from_u128(20)), theirs).unwrap();
    // Person 10's legal aid, coordinated by person 11.
    w.take_request(&request(60, 10, "факттар")).unwrap();
    let mut c = case(61, 60);
    c.coordinator = Some(pid(11));
    w.open_case(&c).unwrap();
    let sar = r.subject_access(pid(10));
    assert!(!sar.erased);
    let kinds: Vec<EntityKind> = sar.records.iter().map(AnyRecord::kind).collect();
    assert_eq!(
        kinds,
        vec![
            EntityKind::Person,
            EntityKind::Consent,
            EntityKind::Attendance,
            EntityKind::LegalAidRequest,
            EntityKind::LegalCase
        ]
    );
    assert_eq!(sar.mentions.len(), 1, "{:?}", sar.mentions);
    assert_eq!(sar.mentions[0].field, "comments");
    let got: Comment = postcard::from_bytes(&sar.mentions[0].value).unwrap();
    assert_eq!(got, mine);
    // The coordinator gets their own record, their comment and the fact that they
    // coordinate the case: not the client's case.
    let staff = r.subject_access(pid(11));
    let kinds: Vec<EntityKind> = staff.records.iter().map(AnyRecord::kind).collect();
    assert_eq!(kinds, vec![EntityKind::Person]);
    let fields: Vec<(EntityKind, &str)> =
        staff.mentions.iter().map(|m| (m.kind, m.field)).collect();
    assert_eq!(
        fields,
        vec![
            (EntityKind::Issue, "comments"),
            (EntityKind::LegalCase, "coordinator")
        ]
    );
}

#[test]
fn erasure_makes_values_absent_and_refuses_new_writes() {
    let mut r = replica(1);
    let mut w = r.at(NOW);
    w.add_person(&person(10)).unwrap();
    w.add_person(&person(11)).unwrap();
    w.create_issue(&issue(20)).unwrap();
    w.support_issue(IssueId(Id::from_u128(20)), pid(10))
        .unwrap();
    w.support_issue(IssueId(Id::from_u128(20)), pid(11))
        .unwrap();
    w.take_request(&request(60, 10, "Үй-бүлөлүк зомбулук"))
        .unwrap();
    w.erase_person(pid(10)).unwrap();
    assert!(r.get::<Person>(Id::from_u128(10)).is_none());
    assert!(r.get::<LegalAidRequest>(Id::from_u128(60)).is_none());
    assert!(r.get::<Person>(Id::from_u128(11)).is_some());
    let i = r.get::<Issue>(Id::from_u128(20)).unwrap();
    assert_eq!(
        i.supporters,
        [pid(11)].into(),
        "the erased support reads as absent"
    );
    let sar = r.subject_access(pid(10));
    assert!(sar.erased);
    assert!(sar.records.is_empty() && sar.mentions.is_empty());
    let before = r.state_hashes();
    let err = r
        .at(NOW + 1)
        .support_issue(IssueId(Id::from_u128(20)), pid(10))
        .unwrap_err();
    assert!(matches!(err, WriteError::ErasedPerson(p) if p == pid(10)));
    let err = r.at(NOW + 1).erase_person(pid(10)).unwrap_err();
    assert!(matches!(err, WriteError::ErasedPerson(_)));
    assert_eq!(r.state_hashes(), before);
}

/// Runs a write that must fail; checks nothing changed and returns the error.
fn refused(
    r: &mut kenesh::Replica<kenesh_sync::MemStore>,
    f: impl FnOnce(&mut kenesh::Writer<'_, kenesh_sync::MemStore>) -> Result<(), WriteError>,
) -> WriteError {
    let (hashes, seq) = (r.state_hashes(), r.device().own_seq());
    let err = f(&mut r.at(NOW + 10)).expect_err("must be refused");
    assert_eq!(
        r.state_hashes(),
        hashes,
        "a refused write changed the state"
    );
    assert_eq!(r.device().own_seq(), seq, "a refused write made ops");
    err
}

#[test]
fn bad_input_is_refused_with_the_field_and_changes_nothing() {
    let mut r = replica(1);
    let mut w = r.at(NOW);
    w.add_person(&person(10)).unwrap();
    w.create_issue(&issue(20)).unwrap();
    w.record_consent(&consent(70, 10)).unwrap();
    w.take_request(&request(60, 10, "факттар")).unwrap();
    w.open_case(&case(61, 60)).unwrap();

    let mut empty = issue(21);
    empty.title = LocalizedText::ky("");
    let e = refused(&mut r, |w| w.create_issue(&empty));
    assert_eq!(field_of(&e), "issue.title");

    let mut long = r.get::<Issue>(Id::from_u128(20)).unwrap();
    long.description = LocalizedText::ky("ж".repeat(5_001));
    let e = refused(&mut r, |w| w.edit_issue(&long));
    assert!(matches!(
        e,
        WriteError::Invalid(ValidationError::TooLong {
            field: "description",
            max: 5_000,
            ..
        })
    ));

    let e = refused(&mut r, |w| {
        w.comment(
            IssueId(Id::from_u128(20)),
            Comment {
                at: Timestamp(NOW),
                by: Some(pid(10)),
                text: "x".repeat(2_001),
            },
        )
    });
    assert_eq!(field_of(&e), "issue.comments");

    let mut no_purpose = consent(71, 10);
    no_purpose.purposes.clear();
    let e = refused(&mut r, |w| w.record_consent(&no_purpose));
    assert_eq!(field_of(&e), "consent.purposes");

    let e = refused(&mut r, |w| {
        w.withdraw_consent(Id::from_u128(70), Timestamp(NOW - 1))
    });
    assert_eq!(field_of(&e), "consent.withdrawn_at");

    let mut young = person(12);
    young.birth_year = Some(1800);
    let e = refused(&mut r, |w| w.add_person(&young));
    assert_eq!(field_of(&e), "person.birth_year");

    // A step the workflow forbids, named by the workflow field.
    let e = refused(&mut r, |w| {
        w.set_status::<Issue, _>(Id::from_u128(20), IssueStatus::Resolved)
    });
    assert_eq!(field_of(&e), "issue.status");
    let e = refused(&mut r, |w| {
        w.reopen::<Issue, IssueStatus>(Id::from_u128(20))
    });
    assert_eq!(field_of(&e), "issue.status");
    // A step the workflow allows but the record's rules do not (a closed case has a
    // closure).
    let e = refused(&mut r, |w| {
        w.progress_case(Id::from_u128(61), CaseStatus::Closed)
    });
    assert_eq!(field_of(&e), "legal_case.closure");

    // Unknown records, duplicates.
    let e = refused(&mut r, |w| w.record_attendance(&attendance(51, 999, 10)));
    assert!(matches!(
        e,
        WriteError::UnknownRecord {
            kind: EntityKind::Event,
            ..
        }
    ));
    let e = refused(&mut r, |w| w.open_case(&case(62, 999)));
    assert!(matches!(
        e,
        WriteError::UnknownRecord {
            kind: EntityKind::LegalAidRequest,
            ..
        }
    ));
    let e = refused(&mut r, |w| {
        w.support_issue(IssueId(Id::from_u128(999)), pid(10))
    });
    assert!(matches!(
        e,
        WriteError::UnknownRecord {
            kind: EntityKind::Issue,
            ..
        }
    ));
    let e = refused(&mut r, |w| w.create_issue(&issue(20)));
    assert!(matches!(e, WriteError::AlreadyExists { .. }));
    let e = refused(&mut r, |w| w.erase_person(pid(999)));
    assert!(matches!(
        e,
        WriteError::UnknownRecord {
            kind: EntityKind::Person,
            ..
        }
    ));
    // A legal case below the sensitive tier.
    let mut low = case(63, 60);
    low.meta.tier = Tier::Personal;
    let e = refused(&mut r, |w| w.open_case(&low));
    assert!(matches!(
        e,
        WriteError::Invalid(ValidationError::TierTooLow { .. })
    ));
}

#[test]
fn large_values_split_into_frames_or_are_refused_by_field() {
    let mut r = replica(1);
    r.at(NOW).add_person(&person(10)).unwrap();
    // Each value fits a frame, the record together does not: the create leaves its largest
    // value to an op of its own, the ops go in as many commits as the frames need.
    let mut big = recommendation(40, 10);
    big.body = LocalizedText::ky("ж".repeat(7_000));
    big.official_response = Some(OfficialResponse {
        received_on: day(),
        reference: "№ 12-3/456".into(),
        outcome: ResponseOutcome::UnderConsideration,
        summary: LocalizedText::ky("ө".repeat(2_000)).with(Locale::Ru, "ы".repeat(2_000)),
    });
    let commits = r.device().unacked_count();
    r.at(NOW).draft_recommendation(&big).unwrap();
    assert!(
        r.device().unacked_count() >= commits + 2,
        "split into commits"
    );
    assert_same!(r.get::<Recommendation>(Id::from_u128(40)).unwrap(), big);

    // One value too large for any frame, though the model allows it: refused by field,
    // before any op.
    let mut huge = recommendation(41, 10);
    huge.body = LocalizedText::ky("ж".repeat(50_000));
    assert!(huge.validate().is_ok(), "within the model's limit");
    let e = refused(&mut r, |w| w.draft_recommendation(&huge));
    assert!(
        matches!(
            e,
            WriteError::ValueTooLarge {
                kind: EntityKind::Recommendation,
                field: "body",
                ..
            }
        ),
        "{e:?}"
    );
}
