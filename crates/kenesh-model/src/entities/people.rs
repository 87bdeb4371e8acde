//! People and their consent.

use alloc::collections::BTreeSet;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use serde::{Deserialize, Serialize};

use super::Record;
use crate::schema::{EntityKind, EntitySchema, LOG, REG, SET, f};
use crate::text::{DedupKey, Locale};
use crate::validate::{Check, ValidationError};
use crate::{Date, OrganisationId, PersonId, RecordMeta, SoateCode, Tier, Timestamp};

/// Sex as recorded for disaggregation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum Sex {
    /// Female.
    Female,
    /// Male.
    Male,
}

/// An answer to one of the Washington Group short-set questions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum Difficulty {
    /// No difficulty.
    None,
    /// Some difficulty.
    Some,
    /// A lot of difficulty.
    ALot,
    /// Cannot do at all.
    CannotDoAtAll,
}

/// Functioning by the Washington Group short set: six questions, never a diagnosis.
///
/// A person counts as having a disability when any answer is "a lot of difficulty" or
/// "cannot do at all" (the Group's recommended cut-off).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct WashingtonGroup {
    /// Seeing, even if wearing glasses.
    pub seeing: Option<Difficulty>,
    /// Hearing, even if using a hearing aid.
    pub hearing: Option<Difficulty>,
    /// Walking or climbing steps.
    pub walking: Option<Difficulty>,
    /// Remembering or concentrating.
    pub cognition: Option<Difficulty>,
    /// Self-care (washing all over or dressing).
    pub self_care: Option<Difficulty>,
    /// Communicating in the usual language.
    pub communication: Option<Difficulty>,
}

impl WashingtonGroup {
    fn answers(&self) -> [Option<Difficulty>; 6] {
        [
            self.seeing,
            self.hearing,
            self.walking,
            self.cognition,
            self.self_care,
            self.communication,
        ]
    }

    /// `Some(true)` at the cut-off, `Some(false)` when every question was answered below it,
    /// `None` when unanswered questions leave it open.
    #[must_use]
    pub fn has_disability(&self) -> Option<bool> {
        let a = self.answers();
        if a.iter().flatten().any(|d| *d >= Difficulty::ALot) {
            Some(true)
        } else if a.iter().all(Option::is_some) {
            Some(false)
        } else {
            None
        }
    }
}

/// A Kyrgyz personal identification number (ПИН / ИНН): 14 digits, the first the sex
/// (1 female, 2 male), then the birth date as DDMMYYYY, then a 5-digit serial.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "[u8; 14]")]
pub struct Pin([u8; 14]);

impl TryFrom<[u8; 14]> for Pin {
    type Error = PinError;
    fn try_from(b: [u8; 14]) -> Result<Pin, PinError> {
        core::str::from_utf8(&b)
            .map_err(|_| PinError::Length)?
            .parse()
    }
}

/// A PIN that is not well formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PinError {
    /// Not 14 ASCII digits.
    #[error("a PIN is 14 digits")]
    Length,
    /// First digit not 1 or 2.
    #[error("a PIN starts with 1 (female) or 2 (male)")]
    SexDigit,
    /// Digits 2–9 are not a real date.
    #[error("digits 2 to 9 of a PIN are the birth date DDMMYYYY")]
    BirthDate,
}

impl core::str::FromStr for Pin {
    type Err = PinError;
    fn from_str(s: &str) -> Result<Pin, PinError> {
        let b = s.as_bytes();
        if b.len() != 14 || !b.iter().all(u8::is_ascii_digit) {
            return Err(PinError::Length);
        }
        if !matches!(b[0], b'1' | b'2') {
            return Err(PinError::SexDigit);
        }
        let n = |r: core::ops::Range<usize>| {
            b[r].iter().fold(0u32, |a, d| a * 10 + u32::from(d - b'0'))
        };
        let (d, m, y) = (n(1..3), n(3..5), n(5..9));
        let ok = u8::try_from(d)
            .ok()
            .zip(u8::try_from(m).ok())
            .zip(i16::try_from(y).ok());
        match ok {
            Some(((d, m), y)) if Date::new(y, m, d).is_ok() => {}
            _ => return Err(PinError::BirthDate),
        }
        let mut out = [0u8; 14];
        out.copy_from_slice(b);
        Ok(Pin(out))
    }
}

impl Pin {
    /// The sex the PIN encodes.
    #[must_use]
    pub fn sex(&self) -> Sex {
        if self.0[0] == b'1' {
            Sex::Female
        } else {
            Sex::Male
        }
    }
}

impl fmt::Display for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &d in &self.0 {
            write!(f, "{}", char::from(d))?;
        }
        Ok(())
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print a PIN into logs.
        f.write_str("Pin(**************)")
    }
}

/// A phone number in E.164 form, normalised from how people write Kyrgyz numbers
/// (`0555 12 34 56`, `+996 555 123 456`, `996555123456`).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String")]
pub struct Phone(String);

impl TryFrom<String> for Phone {
    type Error = PhoneError;
    fn try_from(s: String) -> Result<Phone, PhoneError> {
        s.parse()
    }
}

#[cfg(test)]
mod arbitrary {
    use super::{Phone, Pin};
    use proptest::prelude::*;

    impl Arbitrary for Pin {
        type Parameters = ();
        type Strategy = BoxedStrategy<Pin>;
        fn arbitrary_with((): ()) -> Self::Strategy {
            (1u8..=2, any::<crate::Date>(), 0u32..100_000)
                .prop_filter_map("PIN", |(s, d, n)| {
                    alloc::format!("{s}{:02}{:02}{:04}{n:05}", d.day(), d.month(), d.year())
                        .parse()
                        .ok()
                })
                .boxed()
        }
    }

    impl Arbitrary for Phone {
        type Parameters = ();
        type Strategy = BoxedStrategy<Phone>;
        fn arbitrary_with((): ()) -> Self::Strategy {
            (500_000_000u32..1_000_000_000)
                .prop_filter_map("phone", |n| alloc::format!("+996{n}").parse().ok())
                .boxed()
        }
    }
}

/// A phone number that cannot be normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PhoneError {
    /// A character other than digits, spaces, `+`, `-`, `(`, `)`.
    #[error("a phone number holds only digits, spaces, +, - and brackets")]
    Character,
    /// Not a Kyrgyz number of 9 national digits, nor an international one of 8–15 digits.
    #[error("a phone number has 9 digits after +996 (or 8 to 15 digits in all abroad)")]
    Length,
}

impl core::str::FromStr for Phone {
    type Err = PhoneError;
    fn from_str(s: &str) -> Result<Phone, PhoneError> {
        let mut digits = String::new();
        let mut plus = false;
        for (i, c) in s.trim().chars().enumerate() {
            match c {
                '0'..='9' if digits.len() < 16 => digits.push(c),
                '0'..='9' => return Err(PhoneError::Length),
                '+' if i == 0 => plus = true,
                ' ' | '-' | '(' | ')' => {}
                _ => return Err(PhoneError::Character),
            }
        }
        let national = if let Some(rest) = digits.strip_prefix("996") {
            Some(rest)
        } else if !plus {
            digits.strip_prefix('0')
        } else {
            None
        };
        let e164 = match national {
            Some(n) if n.len() == 9 => alloc::format!("+996{n}"),
            Some(_) => return Err(PhoneError::Length),
            None if plus && (8..=15).contains(&digits.len()) => alloc::format!("+{digits}"),
            None => return Err(PhoneError::Length),
        };
        Ok(Phone(e164))
    }
}

impl Phone {
    /// The number in E.164 form, `+996…`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only the last two digits, as on receipts.
        let tail = self.0.get(self.0.len().saturating_sub(2)..).unwrap_or("");
        write!(f, "Phone(…{tail})")
    }
}

/// A person's name as written in documents.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct PersonName {
    /// Family name (фамилия), in Cyrillic.
    pub family: String,
    /// Given name (аты), in Cyrillic.
    pub given: String,
    /// Patronymic (атасынын аты), if used.
    pub patronymic: Option<String>,
    /// The Latin spelling the person uses (passport), if known.
    pub latin: Option<String>,
}

/// A person: participant, member, applicant, staff, advocate.
///
/// Personal tier; the disability answers are sensitive. Identifying values (PIN, phone)
/// are encrypted with the person's own key by the store and the sync layer, as every
/// personal payload is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Person {
    /// Id, scope, tier, provenance.
    pub meta: RecordMeta,
    /// Their name.
    pub name: PersonName,
    /// Sex, if given.
    pub sex: Option<Sex>,
    /// Birth year, if given.
    pub birth_year: Option<u16>,
    /// Washington Group functioning answers (sensitive).
    pub disability: WashingtonGroup,
    /// Where they live.
    pub residence: Option<SoateCode>,
    /// Languages they speak.
    pub languages: BTreeSet<Locale>,
    /// Personal identification number, if given.
    pub pin: Option<Pin>,
    /// Phone, if given.
    pub phone: Option<Phone>,
    /// De-duplication keys of their name spellings (salted before they leave the device).
    pub dedup_keys: BTreeSet<DedupKey>,
    /// Merged into another record of the same person after de-duplication.
    pub merged_into: Option<PersonId>,
}

/// Schema of [`Person`].
pub static PERSON_SCHEMA: EntitySchema = EntitySchema {
    code: 3,
    name: "person",
    default_tier: Tier::Personal,
    min_tier: Tier::Personal,
    fields: &[
        f(1, "name", REG, Tier::Personal).flagged().chars(100),
        f(2, "sex", REG, Tier::Personal).flagged(),
        f(3, "birth_year", REG, Tier::Personal).flagged(),
        f(4, "disability", REG, Tier::Sensitive).flagged(),
        f(5, "residence", REG, Tier::Personal),
        f(6, "languages", SET, Tier::Personal).entries(3),
        f(7, "pin", REG, Tier::Personal).flagged(),
        f(8, "phone", REG, Tier::Personal),
        f(9, "dedup_keys", SET, Tier::Personal).entries(16),
        f(10, "merged_into", REG, Tier::Personal).person().flagged(),
    ],
};

impl Record for Person {
    const KIND: EntityKind = EntityKind::Person;
    fn meta(&self) -> &RecordMeta {
        &self.meta
    }
    fn validate(&self) -> Result<(), ValidationError> {
        let c = Check::new(Self::KIND);
        c.meta(&self.meta)?;
        c.text("name", &self.name.given)?;
        c.text("name", &self.name.family)?;
        c.opt_text("name", self.name.patronymic.as_deref())?;
        c.opt_text("name", self.name.latin.as_deref())?;
        if let Some(y) = self.birth_year {
            c.range("birth_year", i64::from(y), 1900, 2100)?;
        }
        c.entries("languages", self.languages.len())?;
        c.entries("dedup_keys", self.dedup_keys.len())?;
        c.ensure(
            self.merged_into != Some(PersonId(self.meta.id)),
            "merged_into",
            "a person cannot be merged into themselves",
        )?;
        if let (Some(pin), Some(sex)) = (self.pin, self.sex) {
            c.ensure(
                pin.sex() == sex,
                "pin",
                "the PIN's first digit disagrees with the sex",
            )?;
        }
        Ok(())
    }
}

/// What a person consents to their data being used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum Purpose {
    /// Taking part in groups, issues, events.
    Participation,
    /// Keeping records of trainings attended.
    TrainingRecords,
    /// Receiving legal aid.
    LegalAid,
    /// Being contacted.
    Contact,
}

/// How consent was obtained (Regulation No. 759, 2017).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum ConsentMethod {
    /// A signed paper form.
    Paper,
    /// Given by the person at a kiosk.
    Kiosk,
    /// Given with the help of a staff member, who is recorded.
    AssistedByStaff(PersonId),
}

/// A notice of a transfer of the person's data to a third party.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Transfer {
    /// Who receives the data.
    pub recipient: OrganisationId,
    /// For what.
    pub purpose: Purpose,
    /// Whether the recipient is abroad (a donor in the US is one).
    pub abroad: bool,
    /// When the person was notified.
    pub notified_at: Timestamp,
}

/// A person's consent: purposes, how and when given, when withdrawn, transfers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Consent {
    /// Id, scope, tier, provenance.
    pub meta: RecordMeta,
    /// Whose consent.
    pub person: PersonId,
    /// What it covers.
    pub purposes: BTreeSet<Purpose>,
    /// How it was obtained.
    pub method: ConsentMethod,
    /// When it was given.
    pub given_at: Timestamp,
    /// When it was withdrawn, if it was.
    pub withdrawn_at: Option<Timestamp>,
    /// Transfers to third parties the person was notified of (and consented to).
    pub transfers: Vec<Transfer>,
}

/// Schema of [`Consent`].
pub static CONSENT_SCHEMA: EntitySchema = EntitySchema {
    code: 4,
    name: "consent",
    default_tier: Tier::Personal,
    min_tier: Tier::Personal,
    fields: &[
        f(1, "person", REG, Tier::Personal).person(),
        f(2, "purposes", SET, Tier::Personal).entries(8),
        f(3, "method", REG, Tier::Personal).person(),
        f(4, "given_at", REG, Tier::Personal),
        f(5, "withdrawn_at", REG, Tier::Personal),
        f(6, "transfers", LOG, Tier::Personal).entries(64),
    ],
};

impl Consent {
    /// Whether the consent covers `purpose` at `at`: given before, not withdrawn by then.
    #[must_use]
    pub fn covers(&self, purpose: Purpose, at: Timestamp) -> bool {
        self.purposes.contains(&purpose)
            && self.given_at <= at
            && self.withdrawn_at.is_none_or(|w| at < w)
    }

    /// Whether the person's data may go to `recipient` for `purpose` at `at`: the consent
    /// covers the purpose and the person was notified of that transfer.
    #[must_use]
    pub fn allows_transfer(
        &self,
        recipient: OrganisationId,
        purpose: Purpose,
        at: Timestamp,
    ) -> bool {
        self.covers(purpose, at)
            && self
                .transfers
                .iter()
                .any(|t| t.recipient == recipient && t.purpose == purpose && t.notified_at <= at)
    }
}

impl Record for Consent {
    const KIND: EntityKind = EntityKind::Consent;
    fn meta(&self) -> &RecordMeta {
        &self.meta
    }
    fn validate(&self) -> Result<(), ValidationError> {
        let c = Check::new(Self::KIND);
        c.meta(&self.meta)?;
        c.ensure(
            !self.purposes.is_empty(),
            "purposes",
            "consent names at least one purpose",
        )?;
        c.entries("purposes", self.purposes.len())?;
        c.entries("transfers", self.transfers.len())?;
        c.ensure(
            self.withdrawn_at.is_none_or(|w| w >= self.given_at),
            "withdrawn_at",
            "consent is withdrawn after it is given",
        )?;
        c.ensure(
            self.transfers
                .iter()
                .all(|t| self.purposes.contains(&t.purpose)),
            "transfers",
            "a transfer's purpose must be one the person consented to",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_and_phones() {
        let p: Pin = "12505199000123".parse().unwrap();
        assert_eq!(p.sex(), Sex::Female);
        assert_eq!(alloc::format!("{p:?}"), "Pin(**************)");
        assert_eq!("32505199000123".parse::<Pin>(), Err(PinError::SexDigit));
        assert_eq!("13213199000123".parse::<Pin>(), Err(PinError::BirthDate));
        assert_eq!("1250519900012".parse::<Pin>(), Err(PinError::Length));
        assert_eq!("1250519900012x".parse::<Pin>(), Err(PinError::Length));
        for s in [
            "0555 12 34 56",
            "+996 555 123 456",
            "996555123456",
            "(0555) 123-456",
        ] {
            assert_eq!(s.parse::<Phone>().unwrap().as_str(), "+996555123456", "{s}");
        }
        assert_eq!(
            "+7 701 123 45 67".parse::<Phone>().unwrap().as_str(),
            "+77011234567"
        );
        assert_eq!("0555 12 34".parse::<Phone>(), Err(PhoneError::Length));
        assert_eq!("call me".parse::<Phone>(), Err(PhoneError::Character));
        assert_eq!("1".repeat(40).parse::<Phone>(), Err(PhoneError::Length));
    }

    #[test]
    fn washington_group_cut_off() {
        let mut wg = WashingtonGroup::default();
        assert_eq!(wg.has_disability(), None);
        wg.walking = Some(Difficulty::ALot);
        assert_eq!(wg.has_disability(), Some(true));
        let none = Some(Difficulty::Some);
        let all = WashingtonGroup {
            seeing: none,
            hearing: none,
            walking: none,
            cognition: none,
            self_care: none,
            communication: none,
        };
        assert_eq!(all.has_disability(), Some(false));
    }
}
