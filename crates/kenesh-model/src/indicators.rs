//! The indicators the programme reports, computed reproducibly from the records.
//!
//! [`compute`] counts the six indicator families of DOMAIN.md for a [`FiscalYear`]
//! (October–September, dates in Asia/Bishkek) into a [`RawReport`] for people allowed to
//! see small numbers; [`RawReport::publish`] makes the [`Report`] anyone may see: every
//! count of people under the threshold (at least 5) is suppressed, *with complementary
//! suppression*, so that no hidden cell can be recomputed from the published cells and the
//! total. Reports are per fiscal year on purpose: a report over two years beside a report
//! over one would let a reader subtract one from the other.
//!
//! Rules:
//! - People are counted once: duplicates merged into one another (`merged_into`, even in
//!   cycles) resolve to one canonical person ([`Canonical`]); a person counts once per
//!   indicator per fiscal year. Tombstoned records are not counted.
//! - Each breakdown is a partition of the total: every counted person falls in exactly one
//!   cell (`unknown` where the data is missing). Where a person could fall in several cells
//!   (legal aid of two kinds), the rule that picks one is documented on the indicator.
//! - Suppression: in a people count, a total in `1..threshold` hides the total and every cell.
//!   Otherwise cells in `1..threshold` are hidden; a breakdown with exactly one hidden cell
//!   hides one more, the smallest non-zero cell; and a breakdown that hides anything also
//!   hides its zero cells, so a reader cannot tell that a hidden cell is at least 1. Every
//!   breakdown then hides none or at least two cells whose sum is at least 1, each of which
//!   could be anything from 0 to that sum. Breakdowns of nested populations (the sex of group
//!   leaders, who are also members) are hidden together. Territory is one level (rayon,
//!   city district or city of regional significance): an oblast level beside it would let a
//!   reader subtract rayons from their oblast.
//! - Estimates (campaign reach, citizens benefiting) are flagged and never added to counts.
//!
//! ```
//! use kenesh_model::indicators::{compute, IndicatorConfig, Records};
//! use kenesh_model::FiscalYear;
//!
//! let records = Records::default();
//! let report = compute(&records, FiscalYear(2024), &IndicatorConfig::default()).publish();
//! assert_eq!(report.indicators.len(), 19);
//! let json = serde_json::to_string(&report)?;
//! assert!(json.contains("trained_rights_justice"));
//! # Ok::<(), serde_json::Error>(())
//! ```

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use crate::text::{Locale, LocalizedText};
use crate::{
    AidType, Attendance, AttendanceRole, Campaign, CaseStage, Date, Event, EventKind, EventStatus,
    FiscalYear, GroupStatus, InitiativeGroup, Issue, IssueStatus, LegalAidRequest, LegalCase,
    Member, Membership, Period, Person, PersonId, Recommendation, RecommendationStage,
    ReferralStatus, RequestStatus, ResponseOutcome, SoateCode, SoateLevel, Subject, Timestamp,
};

/// Cells of people counts below this are suppressed.
pub const DEFAULT_THRESHOLD: u64 = 5;

/// The records an indicator report is computed from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Records {
    /// People.
    pub persons: Vec<Person>,
    /// Events.
    pub events: Vec<Event>,
    /// Attendance rows.
    pub attendance: Vec<Attendance>,
    /// Legal-aid requests.
    pub requests: Vec<LegalAidRequest>,
    /// Legal cases.
    pub cases: Vec<LegalCase>,
    /// Case stages (not counted yet; carried for completeness of exports).
    pub stages: Vec<CaseStage>,
    /// Initiative groups.
    pub groups: Vec<InitiativeGroup>,
    /// Group memberships.
    pub memberships: Vec<Membership>,
    /// Local issues.
    pub issues: Vec<Issue>,
    /// Policy recommendations.
    pub recommendations: Vec<Recommendation>,
    /// Information campaigns.
    pub campaigns: Vec<Campaign>,
}

/// A target for one indicator in one fiscal year.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// The indicator's code.
    pub indicator: String,
    /// The fiscal year.
    pub year: FiscalYear,
    /// The value aimed for.
    pub value: u64,
}

/// Reporting configuration: targets and the suppression threshold. Targets are
/// configuration, never constants (public reports count 15–19 groups against a target of
/// 25–30).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndicatorConfig {
    /// Counts of people below this are suppressed. Never less than [`DEFAULT_THRESHOLD`]:
    /// a configuration may raise it, not lower it.
    pub threshold: u64,
    /// Targets.
    pub targets: Vec<Target>,
}

impl Default for IndicatorConfig {
    fn default() -> Self {
        IndicatorConfig {
            threshold: DEFAULT_THRESHOLD,
            targets: Vec::new(),
        }
    }
}

/// A dimension a count is broken down by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// female / male / unknown.
    Sex,
    /// 0-17, 18-29, 30-44, 45-59, 60+, unknown (age in the calendar year the fiscal year
    /// ends).
    AgeBand,
    /// yes / no / unknown by the Washington Group cut-off.
    Disability,
    /// Oblast or republican city of residence (SOATE code). Kept for old reports; no
    /// indicator breaks down by it (see the module docs).
    Oblast,
    /// Rayon, city district or city of regional significance of residence (SOATE code).
    Rayon,
    /// Consultation or qualified representation.
    AidType,
    /// Area of law.
    LegalArea,
    /// Intake channel.
    Channel,
    /// Sector a group member represents.
    Sector,
    /// Issue category.
    Category,
    /// Why an issue was closed unresolved.
    CloseReason,
    /// Policy direction code.
    Direction,
}

impl Dimension {
    /// The dimension's name for people, Kyrgyz first.
    #[must_use]
    pub fn label(self, locale: Locale) -> &'static str {
        let [ky, ru, en] = match self {
            Dimension::Sex => ["жынысы", "пол", "sex"],
            Dimension::AgeBand => ["жаш курагы", "возраст", "age band"],
            Dimension::Disability => ["мүмкүнчүлүгү чектелгендик", "инвалидность", "disability"],
            Dimension::Oblast => ["облус", "область", "oblast"],
            Dimension::Rayon => ["район", "район", "rayon"],
            Dimension::AidType => ["жардамдын түрү", "вид помощи", "aid type"],
            Dimension::LegalArea => ["укук тармагы", "отрасль права", "legal area"],
            Dimension::Channel => ["кайрылуу жолу", "канал обращения", "channel"],
            Dimension::Sector => ["сектор", "сектор", "sector"],
            Dimension::Category => ["категория", "категория", "category"],
            Dimension::CloseReason => ["жабылуу себеби", "причина закрытия", "close reason"],
            Dimension::Direction => ["багыт", "направление", "direction"],
        };
        pick(locale, ky, ru, en)
    }
}

fn pick(locale: Locale, ky: &'static str, ru: &'static str, en: &'static str) -> &'static str {
    match locale {
        Locale::Ky => ky,
        Locale::Ru => ru,
        Locale::En => en,
    }
}

/// Cell codes of the fixed vocabularies with their names: code, ky, ru, en.
const CELL_LABELS: &[[&str; 4]] = &[
    ["unknown", "белгисиз", "неизвестно", "unknown"],
    ["female", "аялдар", "женщины", "women"],
    ["male", "эркектер", "мужчины", "men"],
    ["organisation", "уюмдар", "организации", "organisations"],
    [
        "yes",
        "мүмкүнчүлүгү чектелген",
        "с инвалидностью",
        "with a disability",
    ],
    [
        "no",
        "мүмкүнчүлүгү чектелбеген",
        "без инвалидности",
        "without a disability",
    ],
    [
        "consultation",
        "консультация",
        "консультация",
        "consultation",
    ],
    [
        "qualified_representation",
        "квалификациялуу өкүлчүлүк",
        "квалифицированное представительство",
        "qualified representation",
    ],
    ["family", "үй-бүлө", "семейное право", "family"],
    ["property", "мүлк", "имущество", "property"],
    ["labour", "эмгек", "трудовое право", "labour"],
    ["land", "жер", "земля", "land"],
    ["housing", "турак жай", "жильё", "housing"],
    [
        "social_benefits",
        "пенсия жана жөлөк пул",
        "пенсии и пособия",
        "pensions and benefits",
    ],
    ["inheritance", "мурас", "наследство", "inheritance"],
    ["documents", "документтер", "документы", "documents"],
    ["criminal", "кылмыш иштери", "уголовные дела", "criminal"],
    [
        "administrative",
        "административдик",
        "административное",
        "administrative",
    ],
    ["other", "башка", "другое", "other"],
    ["centre", "борбор", "центр", "centre"],
    ["kiosk", "киоск", "киоск", "kiosk"],
    [
        "hotline",
        "114 ишеним телефону",
        "горячая линия 114",
        "hotline 114",
    ],
    ["outreach", "көчмө кабыл алуу", "выездной приём", "outreach"],
    ["referral", "жолдомо", "направление", "referral"],
    ["citizen", "жарандар", "граждане", "citizens"],
    [
        "business",
        "жеке сектор",
        "частный сектор",
        "private sector",
    ],
    [
        "state_body",
        "мамлекеттик органдар",
        "государственные органы",
        "state bodies",
    ],
    ["ayil_okmotu", "айыл өкмөтү", "айыл окмоту", "ayil okmotu"],
    ["ngo", "бейөкмөт уюмдар", "НКО", "NGOs"],
    ["roads", "жолдор", "дороги", "roads"],
    ["water", "суу", "вода", "water"],
    ["waste", "таштанды", "мусор", "waste"],
    ["education", "билим берүү", "образование", "education"],
    ["lighting", "көчө жарыгы", "освещение", "lighting"],
    ["jobs", "жумуш орундары", "рабочие места", "jobs"],
    ["safety", "коопсуздук", "безопасность", "safety"],
    ["health", "саламаттык", "здоровье", "health"],
    [
        "social",
        "социалдык колдоо",
        "социальная поддержка",
        "social support",
    ],
    [
        "culture",
        "маданият жана спорт",
        "культура и спорт",
        "culture and sport",
    ],
    [
        "accessibility",
        "жеткиликтүүлүк",
        "доступность",
        "accessibility",
    ],
    [
        "unable",
        "чечүүгө мүмкүн эмес",
        "невозможно решить",
        "unable to solve",
    ],
    [
        "not_responsible",
        "ыйгарым укугунда эмес",
        "не в компетенции",
        "not responsible",
    ],
    ["duplicate_of", "кайталанган", "дубликат", "duplicate"],
    [
        "referred_to",
        "башка органга жөнөтүлгөн",
        "передано другому органу",
        "referred",
    ],
];

/// The name of a cell code of a fixed vocabulary (`female`, `land`, `ngo`, …) in `locale`;
/// `None` for codes that are data (SOATE codes, direction numbers, age bands).
#[must_use]
pub fn cell_label(code: &str, locale: Locale) -> Option<&'static str> {
    CELL_LABELS
        .iter()
        .find(|r| r[0] == code)
        .map(|[_, ky, ru, en]| pick(locale, ky, ru, en))
}

/// A published count: a value, or hidden.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cell {
    /// The count.
    Value(u64),
    /// Hidden: below the threshold, or hidden so another hidden cell cannot be recomputed.
    Suppressed,
}

impl Cell {
    /// The value, if published.
    #[must_use]
    pub fn value(self) -> Option<u64> {
        match self {
            Cell::Value(v) => Some(v),
            Cell::Suppressed => None,
        }
    }
}

/// What an indicator's numbers count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Unique people (suppressed under the threshold).
    People,
    /// Records about people's legal matters, such as referrals (suppressed like people).
    SensitiveRecords,
    /// Records (groups, issues, recommendations, events, referrals).
    Records,
    /// Money, in tyiyn (1/100 KGS).
    Tyiyn,
    /// An estimate of people (reach, beneficiaries), never a count.
    EstimatedPeople,
}

impl Unit {
    /// Whether counts in this unit are suppressed under the threshold.
    #[must_use]
    pub fn is_suppressed(self) -> bool {
        matches!(self, Unit::People | Unit::SensitiveRecords)
    }
}

/// One breakdown of a count.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breakdown<C> {
    /// By what.
    pub dimension: Dimension,
    /// Cell label → count (labels are stable codes: `female`, `18-29`, `41705000000000`).
    pub cells: BTreeMap<String, C>,
}

/// One indicator's numbers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Indicator<C> {
    /// Stable code (`1`, `2`, `2r`, `3a`, …).
    pub code: String,
    /// Stable key (`trained_rights_justice`, …).
    pub key: String,
    /// Its name, Kyrgyz first.
    pub name: LocalizedText,
    /// What it counts.
    pub unit: Unit,
    /// The total.
    pub total: C,
    /// The breakdowns; each partitions the total.
    pub breakdowns: Vec<Breakdown<C>>,
    /// The target for the period's fiscal year, if configured.
    pub target: Option<u64>,
}

/// An unsuppressed report, for people allowed to see small numbers. Only [`compute`] makes
/// one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RawReport {
    year: FiscalYear,
    threshold: u64,
    indicators: Vec<Indicator<u64>>,
}

/// A published report: people counts under the threshold are suppressed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The fiscal year counted.
    pub year: FiscalYear,
    /// Its dates.
    pub period: Period,
    /// The threshold applied.
    pub threshold: u64,
    /// The indicators.
    pub indicators: Vec<Indicator<Cell>>,
}

/// Resolves people merged into one another to one canonical person.
///
/// Following `merged_into` from any person ends at a person merged into nobody, at an id
/// with no record (which is then canonical), or in a cycle, whose smallest id is canonical —
/// the same answer from wherever the chain is entered.
#[derive(Clone, Debug, Default)]
pub struct Canonical {
    map: BTreeMap<PersonId, PersonId>,
    facts: BTreeMap<PersonId, Facts>,
}

/// What the indicators need to know of a canonical person.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Facts {
    sex: Option<crate::Sex>,
    birth_year: Option<u16>,
    disability: Option<bool>,
    residence: Option<SoateCode>,
}

impl Canonical {
    /// Resolves every person in `persons`.
    #[must_use]
    pub fn new(persons: &[Person]) -> Canonical {
        let next: BTreeMap<PersonId, PersonId> = persons
            .iter()
            .filter_map(|p| p.merged_into.map(|m| (PersonId(p.meta.id), m)))
            .collect();
        let mut map = BTreeMap::new();
        for p in persons {
            let start = PersonId(p.meta.id);
            if map.contains_key(&start) {
                continue;
            }
            // Walk the chain, remembering the order of first visits.
            let mut path: Vec<PersonId> = Vec::new();
            let mut seen: BTreeMap<PersonId, usize> = BTreeMap::new();
            let mut cur = start;
            let root = loop {
                if let Some(&known) = map.get(&cur) {
                    break known;
                }
                if let Some(&i) = seen.get(&cur) {
                    // A cycle: path[i..] is it; its smallest id is canonical.
                    break *path[i..].iter().min().unwrap_or(&cur);
                }
                seen.insert(cur, path.len());
                path.push(cur);
                match next.get(&cur) {
                    Some(&n) => cur = n,
                    None => break cur,
                }
            };
            for id in path {
                map.insert(id, root);
            }
        }
        // Facts: the canonical record's, each missing one from the group's smallest id that
        // has it.
        let mut by_id: Vec<&Person> = persons.iter().collect();
        by_id.sort_by_key(|p| p.meta.id);
        let mut facts: BTreeMap<PersonId, Facts> = BTreeMap::new();
        let mut canon_first: Vec<&Person> = Vec::with_capacity(by_id.len());
        canon_first.extend(
            by_id
                .iter()
                .filter(|p| map.get(&PersonId(p.meta.id)) == Some(&PersonId(p.meta.id))),
        );
        canon_first.extend(
            by_id
                .iter()
                .filter(|p| map.get(&PersonId(p.meta.id)) != Some(&PersonId(p.meta.id))),
        );
        for p in canon_first {
            let root = map
                .get(&PersonId(p.meta.id))
                .copied()
                .unwrap_or(PersonId(p.meta.id));
            let f = facts.entry(root).or_default();
            f.sex = f.sex.or(p.sex);
            f.birth_year = f.birth_year.or(p.birth_year);
            f.disability = f.disability.or(p.disability.has_disability());
            f.residence = f.residence.or(p.residence);
        }
        Canonical { map, facts }
    }

    /// The canonical person for `id` (itself if unknown or not merged).
    #[must_use]
    pub fn resolve(&self, id: PersonId) -> PersonId {
        self.map.get(&id).copied().unwrap_or(id)
    }

    fn facts(&self, id: PersonId) -> Facts {
        self.facts.get(&id).copied().unwrap_or_default()
    }
}

fn age_band(birth_year: Option<u16>, year: i16) -> &'static str {
    let Some(age) = birth_year.and_then(|b| u16::try_from(year).ok()?.checked_sub(b)) else {
        return "unknown";
    };
    match age {
        0..=17 => "0-17",
        18..=29 => "18-29",
        30..=44 => "30-44",
        45..=59 => "45-59",
        _ => "60+",
    }
}

fn rayon_of(code: SoateCode) -> Option<SoateCode> {
    let mut cur = Some(code);
    for _ in 0..6 {
        let c = cur?;
        match c.level() {
            SoateLevel::Rayon | SoateLevel::RegionalCity | SoateLevel::CityDistrict => {
                return Some(c);
            }
            SoateLevel::Oblast | SoateLevel::RepublicanCity => return None,
            _ => cur = c.parent(),
        }
    }
    None
}

fn code_label(code: Option<SoateCode>) -> String {
    code.map_or_else(|| String::from("unknown"), |c| c.to_string())
}

/// Builds the people dimensions of one counted person.
fn person_cells(c: &Canonical, id: PersonId, year: i16) -> [(Dimension, String); 4] {
    let f = c.facts(id);
    [
        (
            Dimension::Sex,
            String::from(match f.sex {
                Some(crate::Sex::Female) => "female",
                Some(crate::Sex::Male) => "male",
                None => "unknown",
            }),
        ),
        (
            Dimension::AgeBand,
            String::from(age_band(f.birth_year, year)),
        ),
        (
            Dimension::Disability,
            String::from(match f.disability {
                Some(true) => "yes",
                Some(false) => "no",
                None => "unknown",
            }),
        ),
        (Dimension::Rayon, code_label(f.residence.and_then(rayon_of))),
    ]
}

/// Accumulates one indicator: a total and a partition per dimension.
struct Tally {
    total: u64,
    cells: BTreeMap<Dimension, BTreeMap<String, u64>>,
}

impl Tally {
    fn new(dims: &[Dimension]) -> Tally {
        Tally {
            total: 0,
            cells: dims.iter().map(|d| (*d, BTreeMap::new())).collect(),
        }
    }

    fn add(&mut self, amount: u64, labels: impl IntoIterator<Item = (Dimension, String)>) {
        self.total = self.total.saturating_add(amount);
        for (d, l) in labels {
            if let Some(m) = self.cells.get_mut(&d) {
                let v = m.entry(l).or_insert(0);
                *v = v.saturating_add(amount);
            }
        }
    }

    fn finish(self, code: &str, key: &str, unit: Unit, name: LocalizedText) -> Indicator<u64> {
        Indicator {
            code: String::from(code),
            key: String::from(key),
            name,
            unit,
            total: self.total,
            breakdowns: self
                .cells
                .into_iter()
                .map(|(dimension, cells)| Breakdown { dimension, cells })
                .collect(),
            target: None,
        }
    }
}

const PEOPLE_DIMS: [Dimension; 4] = [
    Dimension::Sex,
    Dimension::AgeBand,
    Dimension::Disability,
    Dimension::Rayon,
];

fn name(ky: &str, ru: &str, en: &str) -> LocalizedText {
    LocalizedText::ky(ky)
        .with(crate::text::Locale::Ru, ru)
        .with(crate::text::Locale::En, en)
}

/// Extra cell labels of one counted act.
type Labels = Vec<(Dimension, String)>;

/// Counts unique people in the fiscal year: `acts` yields (person, date, extra labels) for
/// every qualifying act; the first act of a person in the year (by date, then labels)
/// decides their extra labels.
fn people_tally<I>(c: &Canonical, year: FiscalYear, dims: &[Dimension], acts: I) -> Tally
where
    I: IntoIterator<Item = (PersonId, Date, Labels)>,
{
    let period = year.period();
    let mut first: BTreeMap<PersonId, (Date, Labels)> = BTreeMap::new();
    for (person, date, extra) in acts {
        if !period.contains(date) {
            continue;
        }
        let key = c.resolve(person);
        match first.get(&key) {
            Some((d, e)) if (*d, e) <= (date, &extra) => {}
            _ => {
                first.insert(key, (date, extra));
            }
        }
    }
    let mut t = Tally::new(dims);
    for (person, (_, extra)) in first {
        t.add(1, person_cells(c, person, year.0).into_iter().chain(extra));
    }
    t
}

fn held(status: EventStatus) -> bool {
    !matches!(status, EventStatus::Planned | EventStatus::Cancelled)
}

fn snake<T: core::fmt::Debug>(v: &T) -> String {
    let dbg = alloc::format!("{v:?}");
    let mut out = String::with_capacity(dbg.len() + 4);
    for (i, ch) in dbg.chars().take_while(|c| c.is_alphanumeric()).enumerate() {
        if ch.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.extend(ch.to_lowercase());
    }
    out
}

/// Computes every indicator for fiscal year `year` from `records`.
#[must_use]
pub fn compute(records: &Records, year: FiscalYear, config: &IndicatorConfig) -> RawReport {
    let year = FiscalYear(year.0.clamp(1901, 2999));
    let period = year.period();
    let c = Canonical::new(&records.persons);
    let events: BTreeMap<crate::EventId, &Event> = records
        .events
        .iter()
        .filter(|e| !e.meta.tombstone)
        .map(|e| (crate::EventId(e.meta.id), e))
        .collect();
    let attendance = || records.attendance.iter().filter(|a| !a.meta.tombstone);
    let in_period = |t: Timestamp| period.contains_instant(t);
    let mut out = Vec::new();

    // 1. Unique people who completed a training on rights and justice.
    let acts = attendance().filter_map(|a| {
        let e = events.get(&a.event)?;
        (a.completed
            && a.role == AttendanceRole::Participant
            && e.kind == EventKind::Training
            && e.subject == Subject::RightsAndJustice
            && held(e.status))
        .then(|| (a.person, e.ends_on, Vec::new()))
    });
    out.push(people_tally(&c, year, &PEOPLE_DIMS, acts).finish(
        "1",
        "trained_rights_justice",
        Unit::People,
        name(
            "Укуктары жана сот тутуму боюнча окутуудан өткөн адамдар",
            "Лица, прошедшие обучение по правам и судебной системе",
            "People who completed a training on rights and the justice system",
        ),
    ));

    // 2. Unique people who received legal aid: a consultation given, or a case opened
    // (qualified representation). A person with both counts under representation; the area
    // and channel are those of their first aid in the year.
    let requests: BTreeMap<crate::RequestId, &LegalAidRequest> = records
        .requests
        .iter()
        .filter(|r| !r.meta.tombstone)
        .map(|r| (crate::RequestId(r.meta.id), r))
        .collect();
    let aid_dims = [
        Dimension::Sex,
        Dimension::AgeBand,
        Dimension::Disability,
        Dimension::Rayon,
        Dimension::AidType,
        Dimension::LegalArea,
        Dimension::Channel,
    ];
    let mut aid: Vec<(PersonId, Date, AidType, &LegalAidRequest)> = Vec::new();
    for r in requests.values() {
        if let Some(d) = r.consulted_on {
            aid.push((
                r.receiver.unwrap_or(r.applicant),
                d,
                AidType::Consultation,
                r,
            ));
        }
    }
    for k in records.cases.iter().filter(|k| !k.meta.tombstone) {
        if let Some(r) = requests.get(&k.request) {
            let d = k.meta.created.at.bishkek_date();
            aid.push((
                r.receiver.unwrap_or(r.applicant),
                d,
                AidType::QualifiedRepresentation,
                r,
            ));
        }
    }
    // Representation outranks consultation: each person gets their highest aid type.
    let mut best: BTreeMap<PersonId, AidType> = BTreeMap::new();
    for (p, d, t, _) in &aid {
        if period.contains(*d) {
            let e = best.entry(c.resolve(*p)).or_insert(*t);
            *e = (*e).max(*t);
        }
    }
    let acts = aid.iter().filter_map(|(p, d, _, r)| {
        let t = best.get(&c.resolve(*p))?;
        Some((
            *p,
            *d,
            alloc::vec![
                (Dimension::AidType, snake(t)),
                (Dimension::LegalArea, snake(&r.legal_area)),
                (Dimension::Channel, snake(&r.channel)),
            ],
        ))
    });
    out.push(people_tally(&c, year, &aid_dims, acts).finish(
        "2",
        "legal_aid_received",
        Unit::People,
        name(
            "Акысыз юридикалык жардам алган адамдар",
            "Лица, получившие бесплатную юридическую помощь",
            "People who received free legal aid",
        ),
    ));

    // 2r. Referrals sent in the year (cases' referral log, rejected requests' referrals).
    let mut t = Tally::new(&[]);
    for k in records.cases.iter().filter(|k| !k.meta.tombstone) {
        for r in &k.referrals {
            if r.status == ReferralStatus::Sent && period.contains(r.on) {
                t.add(1, []);
            }
        }
    }
    for r in requests.values() {
        if r.status == RequestStatus::Rejected
            && r.rejection
                .as_ref()
                .is_some_and(|j| j.referred_to.is_some() && period.contains(j.on))
        {
            t.add(1, []);
        }
    }
    out.push(t.finish(
        "2r",
        "legal_aid_referrals",
        Unit::SensitiveRecords,
        name(
            "Юридикалык жардам боюнча жолдомолор",
            "Направления по юридической помощи",
            "Legal aid referrals",
        ),
    ));

    // 3a. Groups formed in the year; 3b. groups active, as recorded.
    let groups = || records.groups.iter().filter(|g| !g.meta.tombstone);
    let mut formed = Tally::new(&[]);
    let mut active = Tally::new(&[]);
    for g in groups() {
        if period.contains(g.formed_on) {
            formed.add(1, []);
        }
        if g.formed_on < period.end
            && matches!(
                g.status,
                GroupStatus::Active | GroupStatus::PlanAgreed | GroupStatus::Implementing
            )
        {
            active.add(1, []);
        }
    }
    out.push(formed.finish(
        "3a",
        "groups_formed",
        Unit::Records,
        name(
            "Түзүлгөн демилгелүү топтор",
            "Созданные инициативные группы",
            "Initiative groups formed",
        ),
    ));
    out.push(active.finish(
        "3b",
        "groups_active",
        Unit::Records,
        name(
            "Иштеп жаткан демилгелүү топтор",
            "Действующие инициативные группы",
            "Initiative groups active",
        ),
    ));

    // 3c. People who were members during the year, by sector and sex; 3d. the leaders among
    // them, by sex; 3e. member organisations, by sector. A member's sector is that of their
    // latest membership (by joining date, then id); a leader is one who held a leading role.
    let mut members: BTreeMap<Member, (Date, crate::Id, crate::Sector, bool)> = BTreeMap::new();
    for m in records.memberships.iter().filter(|m| !m.meta.tombstone) {
        let overlaps = m.joined < period.end && m.left.is_none_or(|l| l > period.start);
        if !overlaps {
            continue;
        }
        let who = match m.member {
            Member::Person(p) => Member::Person(c.resolve(p)),
            o @ Member::Organisation(_) => o,
        };
        let e = members
            .entry(who)
            .or_insert((m.joined, m.meta.id, m.sector, false));
        if (m.joined, m.meta.id) > (e.0, e.1) {
            (e.0, e.1, e.2) = (m.joined, m.meta.id, m.sector);
        }
        e.3 |= m.role.is_leader();
    }
    let mut people = Tally::new(&[Dimension::Sector, Dimension::Sex]);
    let mut leaders = Tally::new(&[Dimension::Sex]);
    let mut orgs = Tally::new(&[Dimension::Sector]);
    for (m, (_, _, sector, leader)) in &members {
        match m {
            Member::Person(p) => {
                let sex = person_cells(&c, *p, year.0)[0].1.clone();
                people.add(
                    1,
                    [
                        (Dimension::Sector, snake(sector)),
                        (Dimension::Sex, sex.clone()),
                    ],
                );
                if *leader {
                    leaders.add(1, [(Dimension::Sex, sex)]);
                }
            }
            Member::Organisation(_) => orgs.add(1, [(Dimension::Sector, snake(sector))]),
        }
    }
    out.push(people.finish(
        "3c",
        "group_members",
        Unit::People,
        name(
            "Демилгелүү топтордун мүчөлөрү",
            "Члены инициативных групп",
            "Initiative group members",
        ),
    ));
    out.push(leaders.finish(
        "3d",
        "group_leaders",
        Unit::People,
        name(
            "Демилгелүү топтордун лидерлери",
            "Лидеры инициативных групп",
            "Initiative group leaders",
        ),
    ));
    out.push(orgs.finish(
        "3e",
        "group_member_organisations",
        Unit::Records,
        name(
            "Демилгелүү топтордогу уюмдар",
            "Организации в инициативных группах",
            "Organisations in initiative groups",
        ),
    ));

    // 4. Issues raised, resolved, closed unresolved; co-financing; citizens benefiting. An
    // issue is resolved or closed on the date of the public update that announced it (or of
    // its last change, where no update did).
    let status_date = |i: &Issue, s: IssueStatus| {
        i.updates
            .iter()
            .filter(|u| u.status == Some(s))
            .map(|u| u.at)
            .max()
            .unwrap_or(i.meta.updated.at)
    };
    let mut raised = Tally::new(&[Dimension::Category]);
    let mut resolved = Tally::new(&[Dimension::Category]);
    let mut closed = Tally::new(&[Dimension::CloseReason]);
    let mut benefit = Tally::new(&[]);
    for i in records.issues.iter().filter(|i| !i.meta.tombstone) {
        if in_period(i.meta.created.at) && i.status != IssueStatus::Draft {
            raised.add(1, [(Dimension::Category, snake(&i.category))]);
        }
        if i.status == IssueStatus::Resolved && in_period(status_date(i, IssueStatus::Resolved)) {
            resolved.add(1, [(Dimension::Category, snake(&i.category))]);
            benefit.add(u64::from(i.beneficiaries_estimate.unwrap_or(0)), []);
        }
        if i.status == IssueStatus::ClosedUnresolved
            && in_period(status_date(i, IssueStatus::ClosedUnresolved))
        {
            let reason = i
                .close_reason
                .as_ref()
                .map_or_else(|| String::from("unknown"), snake);
            closed.add(1, [(Dimension::CloseReason, reason)]);
        }
    }
    let mut cofin = Tally::new(&[]);
    for g in groups() {
        cofin.add(g.co_financing_in(&period).0, []);
    }
    out.push(raised.finish(
        "4a",
        "issues_raised",
        Unit::Records,
        name(
            "Көтөрүлгөн жергиликтүү маселелер",
            "Поднятые местные проблемы",
            "Local issues raised",
        ),
    ));
    out.push(resolved.finish(
        "4b",
        "issues_resolved",
        Unit::Records,
        name(
            "Чечилген жергиликтүү маселелер",
            "Решённые местные проблемы",
            "Local issues resolved",
        ),
    ));
    out.push(closed.finish(
        "4c",
        "issues_closed_unresolved",
        Unit::Records,
        name(
            "Чечилбей жабылган маселелер",
            "Закрытые без решения проблемы",
            "Local issues closed unresolved",
        ),
    ));
    out.push(cofin.finish(
        "4d",
        "co_financing",
        Unit::Tyiyn,
        name(
            "Тартылган биргелешип каржылоо",
            "Привлечённое софинансирование",
            "Co-financing mobilised",
        ),
    ));
    out.push(benefit.finish(
        "4e",
        "citizens_benefiting",
        Unit::EstimatedPeople,
        name(
            "Пайда көргөн жарандар (болжол менен)",
            "Граждане, получившие пользу (оценка)",
            "Citizens benefiting (estimate)",
        ),
    ));

    // 5. Recommendations drafted, submitted, adopted (fully or partly), by direction.
    let dir = |r: &Recommendation| [(Dimension::Direction, alloc::format!("{}", r.direction.0))];
    let mut drafted = Tally::new(&[Dimension::Direction]);
    let mut submitted = Tally::new(&[Dimension::Direction]);
    let mut adopted = Tally::new(&[Dimension::Direction]);
    for r in records.recommendations.iter().filter(|r| !r.meta.tombstone) {
        if in_period(r.meta.created.at) {
            drafted.add(1, dir(r));
        }
        if r.submitted_on.is_some_and(|d| period.contains(d)) {
            submitted.add(1, dir(r));
        }
        let adopted_now = matches!(
            r.stage,
            RecommendationStage::Adopted | RecommendationStage::PartiallyAdopted
        );
        let response_in = r.official_response.as_ref().is_some_and(|o| {
            matches!(
                o.outcome,
                ResponseOutcome::Adopted | ResponseOutcome::PartiallyAdopted
            ) && period.contains(o.received_on)
        });
        if adopted_now && response_in {
            adopted.add(1, dir(r));
        }
    }
    out.push(drafted.finish(
        "5a",
        "recommendations_drafted",
        Unit::Records,
        name(
            "Даярдалган сунуштар",
            "Разработанные рекомендации",
            "Recommendations drafted",
        ),
    ));
    out.push(submitted.finish(
        "5b",
        "recommendations_submitted",
        Unit::Records,
        name(
            "Берилген сунуштар",
            "Поданные рекомендации",
            "Recommendations submitted",
        ),
    ));
    out.push(adopted.finish(
        "5c",
        "recommendations_adopted",
        Unit::Records,
        name(
            "Толук же жарым-жартылай кабыл алынган сунуштар",
            "Полностью или частично принятые рекомендации",
            "Recommendations adopted fully or partly",
        ),
    ));

    // 6. National conferences held and their participants; campaign reach (estimated).
    let mut conferences = Tally::new(&[]);
    let mut conf_events = BTreeSet::new();
    for e in events.values() {
        if e.kind == EventKind::NationalConference && held(e.status) && period.contains(e.ends_on) {
            conferences.add(1, []);
            conf_events.insert(crate::EventId(e.meta.id));
        }
    }
    let acts = attendance().filter_map(|a| {
        let e = events.get(&a.event)?;
        (conf_events.contains(&a.event) && a.role == AttendanceRole::Participant)
            .then(|| (a.person, e.ends_on, Vec::new()))
    });
    let participants = people_tally(&c, year, &PEOPLE_DIMS, acts);
    let mut reach = Tally::new(&[]);
    for k in records.campaigns.iter().filter(|k| !k.meta.tombstone) {
        let overlaps = k.starts_on < period.end && k.ends_on.is_none_or(|e| e >= period.start);
        if overlaps {
            reach.add(k.estimated_reach.unwrap_or(0), []);
        }
    }
    out.push(conferences.finish(
        "6a",
        "national_conferences",
        Unit::Records,
        name(
            "Өткөрүлгөн улуттук конференциялар",
            "Проведённые национальные конференции",
            "National conferences held",
        ),
    ));
    out.push(participants.finish(
        "6b",
        "conference_participants",
        Unit::People,
        name(
            "Улуттук конференциялардын катышуучулары",
            "Участники национальных конференций",
            "National conference participants",
        ),
    ));
    out.push(reach.finish(
        "6c",
        "campaign_reach",
        Unit::EstimatedPeople,
        name(
            "Маалыматтык кампаниялардын камтуусу (болжол менен)",
            "Охват информационных кампаний (оценка)",
            "Information campaign reach (estimate)",
        ),
    ));

    for ind in &mut out {
        ind.target = config
            .targets
            .iter()
            .find(|t| t.indicator == ind.code && t.year == year)
            .map(|t| t.value);
    }
    RawReport {
        year,
        threshold: config.threshold.max(DEFAULT_THRESHOLD),
        indicators: out,
    }
}

/// Breakdowns of nested populations, hidden together: (indicator, dimension) pairs.
const LINKED: [[(&str, Dimension); 2]; 1] = [[("3c", Dimension::Sex), ("3d", Dimension::Sex)]];

/// Suppresses one people count: the total and its breakdowns.
fn suppress(ind: &Indicator<u64>, k: u64) -> (Cell, Vec<Breakdown<Cell>>) {
    let small = |v: u64| v > 0 && v < k;
    if small(ind.total) {
        let breakdowns = ind
            .breakdowns
            .iter()
            .map(|b| Breakdown {
                dimension: b.dimension,
                cells: b
                    .cells
                    .keys()
                    .map(|l| (l.clone(), Cell::Suppressed))
                    .collect(),
            })
            .collect();
        return (Cell::Suppressed, breakdowns);
    }
    let breakdowns = ind
        .breakdowns
        .iter()
        .map(|b| {
            let mut hidden: BTreeSet<&String> = b
                .cells
                .iter()
                .filter(|(_, v)| small(**v))
                .map(|(l, _)| l)
                .collect();
            if hidden.len() == 1 {
                // Complementary: the smallest non-zero published cell (ties: first label).
                let extra = b
                    .cells
                    .iter()
                    .filter(|(l, v)| **v > 0 && !hidden.contains(l))
                    .min_by_key(|(_, v)| **v)
                    .map(|(l, _)| l);
                if let Some(l) = extra {
                    hidden.insert(l);
                }
            }
            if !hidden.is_empty() {
                // Zeros go too: a published zero beside hidden cells tells that each hidden
                // cell is at least 1.
                hidden.extend(b.cells.iter().filter(|(_, v)| **v == 0).map(|(l, _)| l));
            }
            Breakdown {
                dimension: b.dimension,
                cells: b
                    .cells
                    .iter()
                    .map(|(l, v)| {
                        (
                            l.clone(),
                            if hidden.contains(l) {
                                Cell::Suppressed
                            } else {
                                Cell::Value(*v)
                            },
                        )
                    })
                    .collect(),
            }
        })
        .collect();
    (Cell::Value(ind.total), breakdowns)
}

impl RawReport {
    /// The report anyone may see: people counts under the threshold suppressed, with
    /// complementary suppression; linked breakdowns hidden together.
    #[must_use]
    pub fn publish(&self) -> Report {
        let k = self.threshold.max(DEFAULT_THRESHOLD);
        let mut indicators: Vec<Indicator<Cell>> = self
            .indicators
            .iter()
            .map(|ind| {
                let (total, breakdowns) = if ind.unit.is_suppressed() {
                    suppress(ind, k)
                } else {
                    (
                        Cell::Value(ind.total),
                        ind.breakdowns
                            .iter()
                            .map(|b| Breakdown {
                                dimension: b.dimension,
                                cells: b
                                    .cells
                                    .iter()
                                    .map(|(l, v)| (l.clone(), Cell::Value(*v)))
                                    .collect(),
                            })
                            .collect(),
                    )
                };
                Indicator {
                    code: ind.code.clone(),
                    key: ind.key.clone(),
                    name: ind.name.clone(),
                    unit: ind.unit,
                    total,
                    breakdowns,
                    target: ind.target,
                }
            })
            .collect();
        for linked in LINKED {
            let any_hidden = linked.iter().any(|(code, dim)| {
                indicators
                    .iter()
                    .filter(|i| i.code == *code)
                    .flat_map(|i| &i.breakdowns)
                    .any(|b| {
                        b.dimension == *dim && b.cells.values().any(|c| *c == Cell::Suppressed)
                    })
            });
            if any_hidden {
                for (code, dim) in linked {
                    for b in indicators
                        .iter_mut()
                        .filter(|i| i.code == code)
                        .flat_map(|i| &mut i.breakdowns)
                        .filter(|b| b.dimension == dim)
                    {
                        b.cells.values_mut().for_each(|c| *c = Cell::Suppressed);
                    }
                }
            }
        }
        Report {
            year: self.year,
            period: self.year.period(),
            threshold: k,
            indicators,
        }
    }

    /// The fiscal year counted.
    #[must_use]
    pub fn year(&self) -> FiscalYear {
        self.year
    }

    /// The threshold [`RawReport::publish`] applies.
    #[must_use]
    pub fn threshold(&self) -> u64 {
        self.threshold
    }

    /// The indicators, unsuppressed.
    #[must_use]
    pub fn indicators(&self) -> &[Indicator<u64>] {
        &self.indicators
    }

    /// The indicator with this code.
    #[must_use]
    pub fn get(&self, code: &str) -> Option<&Indicator<u64>> {
        self.indicators.iter().find(|i| i.code == code)
    }
}

impl Report {
    /// The indicator with this code.
    #[must_use]
    pub fn get(&self, code: &str) -> Option<&Indicator<Cell>> {
        self.indicators.iter().find(|i| i.code == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::{Locale, LocalizedText};
    use crate::{
        DeviceId, Difficulty, EventId, Evidence, Id, IntakeChannel, IntakePoint, LegalArea,
        MemberRole, MunicipalityId, OrganisationId, RecordMeta, RequestId, Scope, Sector, Sex,
        Stamp, Tier, Urgency, WashingtonGroup,
    };
    use alloc::vec;
    use proptest::prelude::*;

    const FY: FiscalYear = FiscalYear(2024);

    fn meta(id: u128, tier: Tier, at: Timestamp) -> RecordMeta {
        let stamp = Stamp {
            at,
            device: DeviceId(1),
            by: None,
        };
        RecordMeta::new(
            Id::from_u128(id),
            Scope::Municipality(MunicipalityId(Id::from_u128(1))),
            tier,
            stamp,
        )
    }

    fn date(y: i16, m: u8, d: u8) -> Date {
        Date::new(y, m, d).unwrap()
    }

    const RESIDENCES: [&str; 4] = [
        "41705214000000",
        "41705236000000",
        "41708222000000",
        "41711201000000",
    ];

    fn person(i: u128, merged: Option<u128>, sex: Option<Sex>, born: Option<u16>) -> Person {
        Person {
            meta: meta(1_000 + i, Tier::Personal, Timestamp(0)),
            name: crate::PersonName {
                family: "Жапаров".into(),
                given: "Айбек".into(),
                patronymic: None,
                latin: None,
            },
            sex,
            birth_year: born,
            disability: WashingtonGroup::default(),
            residence: RESIDENCES[(i % 5) as usize % 4]
                .parse()
                .ok()
                .filter(|_| i % 5 != 4),
            languages: [Locale::Ky].into(),
            pin: None,
            phone: None,
            dedup_keys: BTreeSet::new(),
            merged_into: merged.map(|m| PersonId(Id::from_u128(1_000 + m))),
        }
    }

    fn event(i: u128, kind: EventKind, ends_on: Date, status: EventStatus) -> Event {
        Event {
            meta: meta(2_000 + i, Tier::Public, Timestamp(0)),
            kind,
            subject: Subject::RightsAndJustice,
            topic: LocalizedText::ky("Жарандардын укуктары"),
            starts_on: ends_on,
            ends_on,
            sessions: 1,
            territory: "41705214000000".parse().unwrap(),
            organisers: BTreeSet::new(),
            language: Locale::Ky,
            capacity: None,
            status,
            campaign: None,
        }
    }

    fn training(i: u128, ends_on: Date, status: EventStatus) -> Event {
        event(i, EventKind::Training, ends_on, status)
    }

    fn attended(i: u128, event: u128, person: u128, completed: bool) -> Attendance {
        Attendance {
            meta: meta(3_000 + i, Tier::Personal, Timestamp(0)),
            event: EventId(Id::from_u128(2_000 + event)),
            person: PersonId(Id::from_u128(1_000 + person)),
            role: AttendanceRole::Participant,
            sessions_attended: 1,
            completed,
            pre_score: None,
            post_score: None,
            evidence: Evidence::StaffEntry,
        }
    }

    fn request(i: u128, person: u128, consulted_on: Option<Date>) -> LegalAidRequest {
        LegalAidRequest {
            meta: meta(4_000 + i, Tier::Sensitive, Timestamp(0)),
            applicant: PersonId(Id::from_u128(1_000 + person)),
            receiver: None,
            channel: if i.is_multiple_of(2) {
                IntakeChannel::Kiosk
            } else {
                IntakeChannel::Centre
            },
            taken_at: IntakePoint::Office(OrganisationId(Id::from_u128(9))),
            language: Locale::Ky,
            legal_area: [LegalArea::Family, LegalArea::Land, LegalArea::Labour][(i % 3) as usize],
            facts: "талаш".into(),
            urgency: Urgency::Normal,
            other_parties: BTreeSet::new(),
            eligibility: None,
            status: RequestStatus::ConsultationGiven,
            consulted_on,
            rejection: None,
        }
    }

    fn membership(i: u128, person: u128, role: MemberRole, joined: Date) -> Membership {
        Membership {
            meta: meta(5_000 + i, Tier::Personal, Timestamp(0)),
            group: crate::GroupId(Id::from_u128(77)),
            member: Member::Person(PersonId(Id::from_u128(1_000 + person))),
            sector: [Sector::Citizen, Sector::Business, Sector::Ngo][(i % 3) as usize],
            role,
            joined,
            left: None,
        }
    }

    /// The canonical person by brute force: walk the chain, then take the smallest id of the
    /// cycle the walk ended in, or its end.
    fn naive_canonical(persons: &[Person], id: PersonId) -> PersonId {
        let next = |p: PersonId| {
            persons
                .iter()
                .find(|q| q.meta.id == p.0)
                .and_then(|q| q.merged_into)
        };
        let mut walk = vec![id];
        let mut cur = id;
        while let Some(n) = next(cur) {
            if let Some(pos) = walk.iter().position(|w| *w == n) {
                return *walk[pos..].iter().min().unwrap();
            }
            walk.push(n);
            cur = n;
        }
        cur
    }

    #[test]
    fn a_person_at_three_trainings_counts_once() {
        let records = Records {
            persons: vec![person(1, None, Some(Sex::Female), Some(1990))],
            events: (0..3)
                .map(|i| training(i, date(2024, 3, 1 + i as u8), EventStatus::Held))
                .collect(),
            attendance: (0..3).map(|i| attended(i, i, 1, true)).collect(),
            ..Records::default()
        };
        let raw = compute(&records, FY, &IndicatorConfig::default());
        assert_eq!(raw.get("1").unwrap().total, 1);
        // The next fiscal year counts them again, once.
        let mut r2 = records.clone();
        r2.events
            .push(training(9, date(2025, 3, 1), EventStatus::Verified));
        r2.attendance.push(attended(9, 9, 1, true));
        assert_eq!(
            compute(&r2, FiscalYear(2025), &IndicatorConfig::default())
                .get("1")
                .unwrap()
                .total,
            1
        );
        // Not completed, tombstoned, or in another year: not counted.
        let mut r3 = records.clone();
        r3.attendance = vec![attended(0, 0, 1, false)];
        assert_eq!(
            compute(&r3, FY, &IndicatorConfig::default())
                .get("1")
                .unwrap()
                .total,
            0
        );
        let mut r4 = records;
        r4.attendance
            .iter_mut()
            .for_each(|a| a.meta.tombstone = true);
        assert_eq!(
            compute(&r4, FY, &IndicatorConfig::default())
                .get("1")
                .unwrap()
                .total,
            0
        );
        assert_eq!(
            compute(&r2, FiscalYear(2023), &IndicatorConfig::default())
                .get("1")
                .unwrap()
                .total,
            0
        );
    }

    #[test]
    fn merged_people_in_a_cycle_count_once() {
        // 1 → 2 → 3 → 1, and 4 → 2: all one person.
        let persons = vec![
            person(1, Some(2), None, None),
            person(2, Some(3), Some(Sex::Male), None),
            person(3, Some(1), None, Some(1980)),
            person(4, Some(2), None, None),
        ];
        let c = Canonical::new(&persons);
        let roots: BTreeSet<PersonId> = persons
            .iter()
            .map(|p| c.resolve(PersonId(p.meta.id)))
            .collect();
        assert_eq!(roots.len(), 1);
        assert_eq!(roots.first(), Some(&PersonId(Id::from_u128(1_001))));
        let f = c.facts(PersonId(Id::from_u128(1_001)));
        assert_eq!((f.sex, f.birth_year), (Some(Sex::Male), Some(1980)));
    }

    fn people_indicator(total: u64, dim: Dimension, cells: &[(&str, u64)]) -> Indicator<u64> {
        Indicator {
            code: "x".into(),
            key: "x".into(),
            name: LocalizedText::ky("x"),
            unit: Unit::People,
            total,
            breakdowns: vec![Breakdown {
                dimension: dim,
                cells: cells.iter().map(|(l, v)| (String::from(*l), *v)).collect(),
            }],
            target: None,
        }
    }

    #[test]
    fn small_cells_are_hidden_with_a_complement_and_the_zeros() {
        let ind = people_indicator(
            20,
            Dimension::Sex,
            &[("female", 3), ("male", 17), ("unknown", 0)],
        );
        let (total, b) = suppress(&ind, 5);
        assert_eq!(total, Cell::Value(20));
        let cells = &b[0].cells;
        assert_eq!(cells["female"], Cell::Suppressed);
        assert_eq!(cells["male"], Cell::Suppressed, "the complement");
        assert_eq!(
            cells["unknown"],
            Cell::Suppressed,
            "a zero beside hidden cells"
        );
        // No suppression needed: zeros stay.
        let ind = people_indicator(
            20,
            Dimension::Sex,
            &[("female", 5), ("male", 15), ("unknown", 0)],
        );
        assert_eq!(suppress(&ind, 5).1[0].cells["unknown"], Cell::Value(0));
        // The reviewer's case: 1, 18, 1 — the two ones are not recoverable.
        let ind = people_indicator(
            20,
            Dimension::Sex,
            &[("female", 1), ("male", 18), ("unknown", 1)],
        );
        let (_, b) = suppress(&ind, 5);
        assert!(!derivable(Cell::Value(20), &b[0].cells));
    }

    #[test]
    fn members_and_leaders_sex_is_hidden_together() {
        // 3c: 6 women, 1 man (hidden with its complement); 3d: the 6 women lead.
        let mut records = Records::default();
        for i in 0..7u128 {
            let sex = if i < 6 { Sex::Female } else { Sex::Male };
            records.persons.push(person(i, None, Some(sex), Some(1990)));
            let role = if i < 6 {
                MemberRole::Chair
            } else {
                MemberRole::Member
            };
            records
                .memberships
                .push(membership(i, i, role, date(2024, 1, 1)));
        }
        let report = compute(&records, FY, &IndicatorConfig::default()).publish();
        for code in ["3c", "3d"] {
            let sex = report
                .get(code)
                .unwrap()
                .breakdowns
                .iter()
                .find(|b| b.dimension == Dimension::Sex)
                .unwrap();
            assert!(
                sex.cells.values().all(|c| *c == Cell::Suppressed),
                "{code}: {:?}",
                sex.cells
            );
        }
    }

    /// Whether any hidden cell of a breakdown is determined by the published cells and the
    /// total. A reader knows counts are whole numbers ≥ 0; if the breakdown publishes a zero
    /// beside hidden cells, they also learn the hidden cells are ≥ 1 (zeros would have been
    /// hidden). With `h` hidden cells summing to `rest`, each lies in `[lo, rest − (h−1)·lo]`:
    /// determined when that range is one value. A hidden total must hide every cell.
    fn derivable(total: Cell, cells: &BTreeMap<String, Cell>) -> bool {
        let hidden = cells.values().filter(|c| c.value().is_none()).count() as u64;
        let Cell::Value(total) = total else {
            return hidden != cells.len() as u64;
        };
        if hidden == 0 {
            return false;
        }
        let published: u64 = cells.values().filter_map(|c| c.value()).sum();
        let rest = total - published;
        let lo = u64::from(cells.values().any(|c| *c == Cell::Value(0)));
        let hi = rest.saturating_sub((hidden - 1) * lo);
        lo >= hi
    }

    fn check_published(raw: &RawReport) -> Result<(), TestCaseError> {
        let report = raw.publish();
        let k = report.threshold;
        prop_assert!(k >= DEFAULT_THRESHOLD);
        for (r, p) in raw.indicators().iter().zip(&report.indicators) {
            if !p.unit.is_suppressed() {
                prop_assert_eq!(p.total, Cell::Value(r.total));
                continue;
            }
            for c in
                core::iter::once(&p.total).chain(p.breakdowns.iter().flat_map(|b| b.cells.values()))
            {
                if let Cell::Value(v) = c {
                    prop_assert!(*v == 0 || *v >= k, "published small cell {v} in {}", p.code);
                }
            }
            for (rb, pb) in r.breakdowns.iter().zip(&p.breakdowns) {
                // Each breakdown partitions the total.
                prop_assert_eq!(
                    rb.cells.values().sum::<u64>(),
                    r.total,
                    "{} {:?}",
                    r.code,
                    rb.dimension
                );
                prop_assert!(
                    !derivable(p.total, &pb.cells),
                    "{} {:?}: a hidden cell is derivable: {:?}",
                    p.code,
                    pb.dimension,
                    pb.cells
                );
                for (l, c) in &pb.cells {
                    if let Cell::Value(v) = c {
                        prop_assert_eq!(Some(v), rb.cells.get(l));
                    }
                }
            }
        }
        Ok(())
    }

    #[derive(Clone, Debug)]
    struct PersonSpec {
        merged: Option<u128>,
        sex: Option<Sex>,
        born: Option<u16>,
        walking: Option<Difficulty>,
    }

    fn records_strategy() -> impl Strategy<Value = Records> {
        let difficulty = proptest::option::of(prop_oneof![
            Just(Difficulty::None),
            Just(Difficulty::Some),
            Just(Difficulty::ALot)
        ]);
        let persons = proptest::collection::vec(
            (
                proptest::option::of(0u128..60),
                proptest::option::of(prop_oneof![Just(Sex::Female), Just(Sex::Male)]),
                proptest::option::of(1940u16..2010),
                difficulty,
            )
                .prop_map(|(merged, sex, born, walking)| PersonSpec {
                    merged,
                    sex,
                    born,
                    walking,
                }),
            1..60,
        );
        let kinds = prop_oneof![
            Just(EventKind::Training),
            Just(EventKind::NationalConference),
            Just(EventKind::PublicHearing)
        ];
        let statuses = prop_oneof![
            Just(EventStatus::Planned),
            Just(EventStatus::Held),
            Just(EventStatus::Verified),
            Just(EventStatus::Cancelled)
        ];
        let events = proptest::collection::vec((0i64..800, kinds, statuses, any::<bool>()), 1..8);
        let attendance = proptest::collection::vec(
            (
                0u128..8,
                0u128..60,
                any::<bool>(),
                any::<bool>(),
                any::<bool>(),
            ),
            0..150,
        );
        let requests = proptest::collection::vec(
            (0u128..60, proptest::option::of(0i64..800), any::<bool>()),
            0..40,
        );
        let members = proptest::collection::vec((0u128..60, any::<bool>()), 0..40);
        (persons, events, attendance, requests, members).prop_map(|(ps, es, atts, reqs, mems)| {
            let n = ps.len() as u128;
            let persons: Vec<Person> = ps
                .into_iter()
                .enumerate()
                .map(|(i, p)| {
                    let mut x = person(i as u128, p.merged.map(|m| m % n), p.sex, p.born);
                    x.disability.walking = p.walking;
                    x
                })
                .collect();
            let ne = es.len() as u128;
            let events = es
                .into_iter()
                .enumerate()
                .map(|(i, (d, kind, status, tomb))| {
                    let mut e = event(
                        i as u128,
                        kind,
                        Date::from_days(date(2023, 6, 1).days() + d),
                        status,
                    );
                    e.meta.tombstone = tomb && i % 3 == 0;
                    e
                })
                .collect();
            let attendance = atts
                .into_iter()
                .enumerate()
                .map(|(i, (e, p, c, trainer, tomb))| {
                    let mut a = attended(i as u128, e % ne, p % n, c);
                    if trainer && i % 4 == 0 {
                        a.role = AttendanceRole::Trainer;
                    }
                    a.meta.tombstone = tomb && i % 7 == 0;
                    a
                })
                .collect();
            let requests = reqs
                .into_iter()
                .enumerate()
                .map(|(i, (p, d, tomb))| {
                    let mut r = request(
                        i as u128,
                        p % n,
                        d.map(|d| Date::from_days(date(2023, 6, 1).days() + d)),
                    );
                    r.meta.tombstone = tomb && i % 5 == 0;
                    r
                })
                .collect();
            let memberships = mems
                .into_iter()
                .enumerate()
                .map(|(i, (p, lead))| {
                    membership(
                        i as u128,
                        p % n,
                        if lead {
                            MemberRole::Chair
                        } else {
                            MemberRole::Member
                        },
                        date(2024, 1, 1),
                    )
                })
                .collect();
            Records {
                persons,
                events,
                attendance,
                requests,
                memberships,
                ..Records::default()
            }
        })
    }

    proptest! {
        #![proptest_config(crate::test_support::config())]

        /// Indicators 1, 2, 3c, 3d and 6b equal brute-force counts of canonical people, and
        /// indicator 1's sex cells equal a brute-force count by the canonical record's sex.
        #[test]
        fn people_counts_match_naive_counts(records in records_strategy()) {
            let raw = compute(&records, FY, &IndicatorConfig::default());
            let period = FY.period();
            let live_event = |id: EventId| records.events.iter().find(|e| EventId(e.meta.id) == id && !e.meta.tombstone);
            let is_held = |e: &Event| matches!(e.status, EventStatus::Held | EventStatus::Verified);
            let mut trained = BTreeSet::new();
            let mut conference = BTreeSet::new();
            for a in records.attendance.iter().filter(|a| !a.meta.tombstone && a.role == AttendanceRole::Participant) {
                let Some(e) = live_event(a.event) else { continue };
                if !is_held(e) || !period.contains(e.ends_on) { continue; }
                let who = naive_canonical(&records.persons, a.person);
                if a.completed && e.kind == EventKind::Training { trained.insert(who); }
                if e.kind == EventKind::NationalConference { conference.insert(who); }
            }
            prop_assert_eq!(raw.get("1").unwrap().total, trained.len() as u64);
            prop_assert_eq!(raw.get("6b").unwrap().total, conference.len() as u64);
            let female = trained.iter().filter(|p| {
                // The canonical record's sex if it has one, else the smallest id's in its group.
                let mut group: Vec<&Person> = records.persons.iter().filter(|q| naive_canonical(&records.persons, PersonId(q.meta.id)) == **p).collect();
                group.sort_by_key(|q| (q.meta.id != p.0, q.meta.id));
                group.iter().find_map(|q| q.sex) == Some(Sex::Female)
            }).count() as u64;
            let sex = &raw.get("1").unwrap().breakdowns.iter().find(|b| b.dimension == Dimension::Sex).unwrap().cells;
            prop_assert_eq!(sex.get("female").copied().unwrap_or(0), female);

            let aided: BTreeSet<PersonId> = records.requests.iter()
                .filter(|r| !r.meta.tombstone && r.consulted_on.is_some_and(|d| period.contains(d)))
                .map(|r| naive_canonical(&records.persons, r.applicant))
                .collect();
            prop_assert_eq!(raw.get("2").unwrap().total, aided.len() as u64);

            let members: BTreeSet<PersonId> = records.memberships.iter().filter_map(|m| match m.member {
                Member::Person(p) => Some(naive_canonical(&records.persons, p)),
                Member::Organisation(_) => None,
            }).collect();
            let leaders: BTreeSet<PersonId> = records.memberships.iter().filter(|m| m.role.is_leader()).filter_map(|m| match m.member {
                Member::Person(p) => Some(naive_canonical(&records.persons, p)),
                Member::Organisation(_) => None,
            }).collect();
            prop_assert_eq!(raw.get("3c").unwrap().total, members.len() as u64);
            prop_assert_eq!(raw.get("3d").unwrap().total, leaders.len() as u64);
            check_published(&raw)?;
        }

        /// Whatever the cells, publishing never leaves a hidden cell derivable or a small
        /// cell visible.
        #[test]
        fn suppression_is_complementary(cells in proptest::collection::vec(0u64..30, 1..8), k in 0u64..12) {
            let total = cells.iter().sum();
            let labels: Vec<String> = (0..cells.len()).map(|i| alloc::format!("c{i}")).collect();
            let pairs: Vec<(&str, u64)> = labels.iter().map(String::as_str).zip(cells.iter().copied()).collect();
            let raw = RawReport { year: FY, threshold: k, indicators: vec![people_indicator(total, Dimension::AgeBand, &pairs)] };
            check_published(&raw)?;
        }
    }

    #[test]
    fn every_vocabulary_code_has_a_label_in_three_languages() {
        use crate::{AidType, CloseReason, IssueCategory, Party};
        let mut codes: Vec<String> = vec![
            "unknown".into(),
            "female".into(),
            "male".into(),
            "yes".into(),
            "no".into(),
        ];
        codes.extend(
            [AidType::Consultation, AidType::QualifiedRepresentation]
                .iter()
                .map(snake),
        );
        codes.extend(
            [
                LegalArea::Family,
                LegalArea::Property,
                LegalArea::Labour,
                LegalArea::Land,
                LegalArea::Housing,
                LegalArea::SocialBenefits,
                LegalArea::Inheritance,
                LegalArea::Documents,
                LegalArea::Criminal,
                LegalArea::Administrative,
                LegalArea::Other,
            ]
            .iter()
            .map(snake),
        );
        codes.extend(
            [
                IntakeChannel::Centre,
                IntakeChannel::Kiosk,
                IntakeChannel::Hotline,
                IntakeChannel::Outreach,
                IntakeChannel::Referral,
            ]
            .iter()
            .map(snake),
        );
        codes.extend(
            [
                Sector::Citizen,
                Sector::Business,
                Sector::StateBody,
                Sector::AyilOkmotu,
                Sector::Ngo,
            ]
            .iter()
            .map(snake),
        );
        codes.extend(
            [
                IssueCategory::Roads,
                IssueCategory::Water,
                IssueCategory::Waste,
                IssueCategory::Education,
                IssueCategory::Lighting,
                IssueCategory::Jobs,
                IssueCategory::Safety,
                IssueCategory::Health,
                IssueCategory::Land,
                IssueCategory::Social,
                IssueCategory::Culture,
                IssueCategory::Accessibility,
                IssueCategory::Other,
            ]
            .iter()
            .map(snake),
        );
        let other = Party::Municipality(crate::MunicipalityId(Id::NIL));
        codes.extend(
            [
                CloseReason::Unable,
                CloseReason::NotResponsible,
                CloseReason::DuplicateOf(crate::IssueId(Id::NIL)),
                CloseReason::ReferredTo(other),
            ]
            .iter()
            .map(snake),
        );
        for code in codes {
            for l in Locale::ALL {
                let label = cell_label(&code, l);
                assert!(
                    label.is_some_and(|s| !s.is_empty()),
                    "{code} has no {l} label"
                );
            }
        }
        for d in [Dimension::Sex, Dimension::Rayon, Dimension::Direction] {
            assert!(Locale::ALL.iter().all(|l| !d.label(*l).is_empty()));
        }
    }

    #[test]
    fn report_serialises_and_threshold_cannot_be_lowered() {
        let config = IndicatorConfig {
            threshold: 1,
            targets: vec![Target {
                indicator: "3a".into(),
                year: FY,
                value: 25,
            }],
        };
        let raw = compute(&Records::default(), FY, &config);
        assert_eq!(raw.get("3a").unwrap().target, Some(25));
        assert_eq!(raw.threshold(), DEFAULT_THRESHOLD);
        let report = raw.publish();
        assert_eq!(report.threshold, DEFAULT_THRESHOLD);
        let json = serde_json::to_string(&report).unwrap();
        let back: Report = serde_json::from_str(&json).unwrap();
        assert_eq!(back, report);
        let bytes = postcard::to_allocvec(&report).unwrap();
        let back: Report = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, report);
        assert_eq!(
            report
                .get("1")
                .unwrap()
                .name
                .get(Locale::Ky)
                .unwrap()
                .chars()
                .next(),
            Some('У')
        );
        let _ = RequestId(Id::NIL);
    }
}
