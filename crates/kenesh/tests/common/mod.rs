//! Fixtures: a replica in memory, a server, and one valid record of each entity.
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeSet;

use kenesh::{Options, Replica};
use kenesh_model::text::{Locale, LocalizedText};
use kenesh_model::*;
use kenesh_sync::{Access, Grants, MemStore, Secret, Server, ServerConfig};

pub const NOW: u64 = 1_780_000_000_000;
pub const SERVER_SECRET: [u8; 32] = [0xee; 32];

pub fn muni() -> MunicipalityId {
    MunicipalityId(Id::from_u128(0x1000))
}

pub fn scope() -> Scope {
    Scope::Municipality(muni())
}

pub fn centre() -> OrganisationId {
    OrganisationId(Id::from_u128(0x2000))
}

pub fn centre_scope() -> Scope {
    Scope::Organisation(centre())
}

pub fn stamp() -> Stamp {
    Stamp {
        at: Timestamp(NOW),
        device: DeviceId(1),
        by: None,
    }
}

pub fn meta(id: u128, scope: Scope, tier: Tier) -> RecordMeta {
    RecordMeta::new(Id::from_u128(id), scope, tier, stamp())
}

pub fn aymak() -> SoateCode {
    "41705410000010".parse().unwrap()
}

pub fn day() -> Date {
    Timestamp(NOW).bishkek_date()
}

/// A replica in memory as device `id`, seeded.
pub fn replica(id: u32) -> Replica<MemStore> {
    Replica::in_memory(
        Secret::from_bytes([id as u8; 32]),
        id,
        Secret::from_bytes(SERVER_SECRET).public(),
        Options::seeded([id as u8; 32]),
    )
    .unwrap()
}

pub fn server() -> Server<MemStore> {
    Server::open(
        MemStore::new(),
        Secret::from_bytes(SERVER_SECRET),
        ServerConfig::default(),
    )
    .unwrap()
}

/// Read and write everything in the test scopes.
pub fn staff_grants() -> Grants {
    Grants::none()
        .up_to(scope(), Tier::Sensitive, Access::Read)
        .up_to(scope(), Tier::Sensitive, Access::Write)
        .up_to(centre_scope(), Tier::Sensitive, Access::Read)
        .up_to(centre_scope(), Tier::Sensitive, Access::Write)
}

pub fn person(id: u128) -> Person {
    Person {
        meta: meta(id, scope(), Tier::Personal),
        name: PersonName {
            family: "Жапарова".into(),
            given: "Айгүл".into(),
            patronymic: None,
            latin: Some("Japarova Aigul".into()),
        },
        sex: Some(Sex::Female),
        birth_year: Some(1990),
        disability: WashingtonGroup::default(),
        residence: Some(aymak()),
        languages: [Locale::Ky, Locale::Ru].into(),
        pin: None,
        phone: None,
        dedup_keys: BTreeSet::new(),
        merged_into: None,
    }
}

pub fn issue(id: u128) -> Issue {
    Issue {
        meta: meta(id, scope(), Tier::Public),
        title: LocalizedText::ky("Көпүрө бузулган"),
        description: LocalizedText::ky("Суу көпүрөнү алып кетти").with(Locale::Ru, "Мост смыло"),
        category: IssueCategory::Roads,
        territory: aymak(),
        location: Some(GeoPoint {
            lat_e7: 400_000_000,
            lon_e7: 720_000_000,
        }),
        place: Some("Борбордук көчө".into()),
        reported_by: Reporter::Anonymous,
        channel: Channel::Kiosk,
        status: IssueStatus::Submitted,
        close_reason: None,
        responsible: Some(Party::Municipality(muni())),
        group: None,
        duplicate_of: None,
        supporters: BTreeSet::new(),
        paper_supports: Vec::new(),
        updates: Vec::new(),
        comments: Vec::new(),
        visibility: Visibility::Public,
        moderation: Moderation::Pending,
        receipt: None,
        beneficiaries_estimate: Some(300),
    }
}

pub fn group(id: u128) -> InitiativeGroup {
    InitiativeGroup {
        meta: meta(id, scope(), Tier::Public),
        municipality: muni(),
        name: LocalizedText::ky("Таза суу"),
        focus_issues: BTreeSet::new(),
        status: GroupStatus::Forming,
        agreement: None,
        action_plan: None,
        co_financing: vec![CoFinancing {
            from: Contributor::Community,
            amount: Kgs::som(10_000),
            in_kind: None,
            on: day(),
        }],
        formed_on: day(),
    }
}

pub fn membership(id: u128, group: u128, member: u128) -> Membership {
    Membership {
        meta: meta(id, scope(), Tier::Personal),
        group: GroupId(Id::from_u128(group)),
        member: Member::Person(PersonId(Id::from_u128(member))),
        sector: Sector::Citizen,
        role: MemberRole::Chair,
        joined: day(),
        left: None,
    }
}

pub fn recommendation(id: u128, author: u128) -> Recommendation {
    Recommendation {
        meta: meta(id, scope(), Tier::Public),
        direction: Direction(1),
        title: LocalizedText::ky("Мүмкүнчүлүгү чектелген адамдарды жумуш менен камсыздоо"),
        body: LocalizedText::ky("Сунуштун тексти"),
        co_authors: [Author::Person(PersonId(Id::from_u128(author)))].into(),
        versions: Vec::new(),
        target_body: None,
        stage: RecommendationStage::Draft,
        submitted_on: None,
        official_response: None,
        linked_acts: BTreeSet::new(),
    }
}

pub fn event(id: u128) -> Event {
    Event {
        meta: meta(id, scope(), Tier::Public),
        kind: EventKind::Training,
        subject: Subject::RightsAndJustice,
        topic: LocalizedText::ky("Жарандардын укуктары"),
        starts_on: day(),
        ends_on: day(),
        sessions: 2,
        territory: aymak(),
        organisers: [Party::Municipality(muni())].into(),
        language: Locale::Ky,
        capacity: Some(40),
        status: EventStatus::Planned,
        campaign: None,
    }
}

pub fn attendance(id: u128, event: u128, person: u128) -> Attendance {
    Attendance {
        meta: meta(id, scope(), Tier::Personal),
        event: EventId(Id::from_u128(event)),
        person: PersonId(Id::from_u128(person)),
        role: AttendanceRole::Participant,
        sessions_attended: 2,
        completed: true,
        pre_score: Some(40),
        post_score: Some(80),
        evidence: Evidence::StaffEntry,
    }
}

pub fn request(id: u128, applicant: u128, facts: &str) -> LegalAidRequest {
    LegalAidRequest {
        meta: meta(id, centre_scope(), Tier::Sensitive),
        applicant: PersonId(Id::from_u128(applicant)),
        receiver: None,
        channel: IntakeChannel::Kiosk,
        taken_at: IntakePoint::Office(centre()),
        language: Locale::Ky,
        legal_area: LegalArea::Land,
        facts: facts.into(),
        urgency: Urgency::Normal,
        other_parties: BTreeSet::new(),
        eligibility: None,
        status: RequestStatus::Received,
        consulted_on: None,
        rejection: None,
    }
}

pub fn case(id: u128, request: u128) -> LegalCase {
    LegalCase {
        meta: meta(id, centre_scope(), Tier::Sensitive),
        request: RequestId(Id::from_u128(request)),
        coordinator: None,
        advocate: None,
        status: CaseStatus::Opened,
        hearings: Vec::new(),
        closure: None,
        referrals: Vec::new(),
    }
}

pub fn stage(id: u128, case: u128) -> CaseStage {
    CaseStage {
        meta: meta(id, centre_scope(), Tier::Sensitive),
        case: CaseId(Id::from_u128(case)),
        kind: StageKind::FirstInstance,
        started_on: day(),
        completed_on: None,
        evidence: ["Сот чечими".to_string()].into(),
        paid: None,
    }
}

pub fn consent(id: u128, person: u128) -> Consent {
    Consent {
        meta: meta(id, scope(), Tier::Personal),
        person: PersonId(Id::from_u128(person)),
        purposes: [Purpose::Participation, Purpose::LegalAid].into(),
        method: ConsentMethod::Kiosk,
        given_at: Timestamp(NOW),
        withdrawn_at: None,
        transfers: Vec::new(),
    }
}

/// Asserts a record read back equals the one written: id, scope and tier kept, the rest
/// of its meta rebuilt from its ops (provenance is the op's), every field equal.
#[macro_export]
macro_rules! assert_same {
    ($got:expr, $want:expr) => {{
        let mut got = $got;
        let want = &$want;
        assert_eq!(got.meta.id, want.meta.id);
        assert_eq!(got.meta.scope, want.meta.scope);
        assert_eq!(got.meta.tier, want.meta.tier);
        got.meta = want.meta;
        assert_eq!(&got, want);
    }};
}
