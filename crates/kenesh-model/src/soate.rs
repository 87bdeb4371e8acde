//! SOATE (ААБОТ) codes: the statistical classifier of the administrative-territorial units
//! of the Kyrgyz Republic.
//!
//! A code is 14 decimal digits, `417 OO RRR AAA VVV`:
//!
//! | digits (0-based) | segment ([`SoateSegment`]) | what it codes | accessor |
//! |---|---|---|---|
//! | 0–2 | country | always `417` | [`SoateCode::country`] |
//! | 3–4 | oblast | oblast or city of republican significance | [`SoateCode::oblast_segment`] |
//! | 5–7 | rayon | rayon, city of regional significance, district of a republican city | [`SoateCode::rayon_segment`] |
//! | 8–10 | aymak | ayil aymak, town, city of district significance | [`SoateCode::aymak_segment`] |
//! | 11–13 | settlement | village, or the town or city itself | [`SoateCode::settlement_segment`] |
//!
//! The oblast segment is one of `02` Issyk-Kul, `03` Jalal-Abad, `04` Naryn, `05` Batken,
//! `06` Osh oblast, `07` Talas, `08` Chüy ([`SOATE_OBLAST_SEGMENTS`]), or `11` Bishkek, `21` Osh
//! city ([`SOATE_REPUBLICAN_CITY_SEGMENTS`]).
//!
//! # Levels
//!
//! A [`SoateCode`] is accepted only if its segments match one row of this table; its
//! [`SoateLevel`] and [`parent`](SoateCode::parent) follow from the row. `OO` is `02`–`08`
//! (an oblast) unless it says otherwise; `2xx` means `200`–`299`, and so on.
//!
//! | level ([`SoateLevel::as_str`]) | `OO` | `RRR` | `AAA` | `VVV` | parent | example |
//! |---|---|---|---|---|---|---|
//! | `oblast` | `02`–`08` | `000` | `000` | `000` | none (the country) | `41705000000000` Batken oblast |
//! | `republican_city` | `11`, `21` | `000` | `000` | `000` | none (the country) | `41711000000000` Bishkek |
//! | `city_district` | `11`, `21` | `2xx` | `000` | `000` | the republican city | `41711201000000` Lenin district |
//! | `rayon` | | `2xx`, `3xx` | `000` | `000` | the oblast | `41705214000000` Batken rayon |
//! | `regional_city` | | `4xx` | `000` | `010` | the oblast | `41705410000010` Batken city |
//! | `ayil_aymak` | | `2xx`, `3xx` | `8xx` | `000` | the rayon | `41708206803000` |
//! | `village` | | `2xx`, `3xx` | `8xx` | `001`–`999` | the ayil aymak | `41708203859030` |
//! | `town` | | `2xx`, `3xx` | `5xx` | `001`–`999` | the rayon | `41708213530020` |
//! | `district_city` | | `2xx`, `3xx` | `4xx`, `6xx` | `001`–`999` | the rayon | `41708206600010` Kant |
//!
//! Notes on the classifier's own habits, which these rules follow:
//!
//! - A city of regional significance is coded as the first settlement (`010`) of its `4xx`
//!   group, not as `4xx 000 000`: Batken city is `41705410000010`.
//! - Towns (urban-type settlements, шаар тибиндеги посёлок) and cities of district
//!   significance likewise are settlements of a `5xx` or `6xx` group under their rayon: Kant
//!   is `41708206600010`, a second city of the same group `…600020`. A few district cities
//!   carry a `4xx` group (Kök-Janggak, `41703220400010`), so `4xx` is read as `6xx`.
//! - An ayil aymak is `8xx 000`; the villages in it share its `8xx` and number their
//!   settlement segment.
//!
//! Everything else is rejected with a [`SoateError`]: in particular codes below a city of
//! regional significance or below a district of a republican city (settlements those cities
//! administer) are not modelled yet, and group headings such as `4xx 000 000` or a town
//! group without its settlement are not territories.
//!
//! ```
//! use kenesh_model::{SoateCode, SoateLevel};
//!
//! let village: SoateCode = "41708203859030".parse()?;
//! assert_eq!(village.level(), SoateLevel::Village);
//! let aymak = village.parent().unwrap();
//! assert_eq!(aymak.to_string(), "41708203859000");
//! assert_eq!(aymak.level(), SoateLevel::AyilAymak);
//! assert_eq!(aymak.parent().unwrap().level(), SoateLevel::Rayon);
//! assert_eq!(village.oblast().to_string(), "41708000000000");
//! assert!(village.is_within(village.oblast()));
//! # Ok::<(), kenesh_model::SoateError>(())
//! ```

use core::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// The country segment of every SOATE code: the Kyrgyz Republic's ISO 3166 numeric code.
pub const SOATE_COUNTRY: u16 = 417;

/// Oblast segments of the seven oblasts: `02` Issyk-Kul, `03` Jalal-Abad, `04` Naryn,
/// `05` Batken, `06` Osh oblast, `07` Talas, `08` Chüy.
pub const SOATE_OBLAST_SEGMENTS: [u8; 7] = [2, 3, 4, 5, 6, 7, 8];

/// Oblast segments of the two cities of republican significance: `11` Bishkek, `21` Osh.
pub const SOATE_REPUBLICAN_CITY_SEGMENTS: [u8; 2] = [11, 21];

const P3: u64 = 1_000;
const P6: u64 = 1_000_000;
const P9: u64 = 1_000_000_000;
const P11: u64 = 100_000_000_000;
const MAX_CODE: u64 = 99_999_999_999_999;

/// A 14-digit SOATE code, checked against the [level rules](self#levels).
///
/// Stored as its number: postcard writes it as a varint (7 bytes), JSON as a number, and
/// deserialising checks it like [`SoateCode::try_from`]. Ordered as its digits are, so every
/// unit sorts right after its parent and before its parent's next sibling.
///
/// ```
/// use kenesh_model::{SoateCode, SoateLevel};
///
/// let batken: SoateCode = "41705410000010".parse()?;
/// assert_eq!(batken.level(), SoateLevel::RegionalCity);
/// assert_eq!(batken.parent().unwrap().to_string(), "41705000000000");
/// assert_eq!(SoateCode::try_from(41_705_410_000_010)?, batken);
/// # Ok::<(), kenesh_model::SoateError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct SoateCode(u64);

/// One of the five segments of a SOATE code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SoateSegment {
    /// Digits 0–2, always `417`.
    Country,
    /// Digits 3–4: oblast or city of republican significance.
    Oblast,
    /// Digits 5–7: rayon, city of regional significance, or district of a republican city.
    Rayon,
    /// Digits 8–10: ayil aymak, or the group of a town or city of district significance.
    Aymak,
    /// Digits 11–13: settlement.
    Settlement,
}

impl SoateSegment {
    /// The 0-based positions of the segment's digits in the 14-digit code.
    ///
    /// ```
    /// use kenesh_model::SoateSegment;
    /// assert_eq!(SoateSegment::Rayon.digits(), 5..8);
    /// ```
    #[must_use]
    pub fn digits(self) -> core::ops::Range<usize> {
        match self {
            SoateSegment::Country => 0..3,
            SoateSegment::Oblast => 3..5,
            SoateSegment::Rayon => 5..8,
            SoateSegment::Aymak => 8..11,
            SoateSegment::Settlement => 11..14,
        }
    }

    /// The segment's name, as error messages show it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            SoateSegment::Country => "country",
            SoateSegment::Oblast => "oblast",
            SoateSegment::Rayon => "rayon",
            SoateSegment::Aymak => "aymak",
            SoateSegment::Settlement => "settlement",
        }
    }
}

impl fmt::Display for SoateSegment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a segment may hold where it stands; carried by [`SoateError::Segment`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SoateSegmentRule {
    /// `000`: nothing is coded at this level here.
    Zero,
    /// `001`–`999`: a town or city of district significance is named by its settlement.
    NonZero,
    /// `010`: the settlement segment of a city of regional significance.
    RegionalCity,
    /// `2xx`: a district of a city of republican significance.
    CityDistrict,
    /// `2xx`, `3xx` (rayon) or `4xx` (city of regional significance) in an oblast.
    RayonOrCity,
    /// `4xx`, `6xx` (city of district significance), `5xx` (town) or `8xx` (ayil aymak).
    AymakTownOrCity,
    /// `000`–`999`: a segment is three decimal digits.
    ThreeDigits,
}

impl fmt::Display for SoateSegmentRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SoateSegmentRule::Zero => "000",
            SoateSegmentRule::NonZero => "001..=999 (a town or city of district significance)",
            SoateSegmentRule::RegionalCity => "010 (a city of regional significance)",
            SoateSegmentRule::CityDistrict => "2xx (a district of a republican city)",
            SoateSegmentRule::RayonOrCity => {
                "2xx or 3xx (rayon) or 4xx (city of regional significance)"
            }
            SoateSegmentRule::AymakTownOrCity => {
                "4xx or 6xx (city of district significance), 5xx (town) or 8xx (ayil aymak)"
            }
            SoateSegmentRule::ThreeDigits => "000..=999",
        })
    }
}

/// Why a text or number is not a SOATE code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[non_exhaustive]
pub enum SoateError {
    /// Not 14 characters (bytes of text, or decimal digits of a number).
    #[error("a SOATE code is 14 digits, found {found}")]
    Length {
        /// The length found.
        found: usize,
    },
    /// A character that is not an ASCII digit.
    #[error("character at position {position} (0-based) of a SOATE code is not a digit 0-9")]
    NotDigit {
        /// 0-based byte position of the character.
        position: usize,
    },
    /// The country segment is not `417`.
    #[error("country segment {found:03} is not 417")]
    Country {
        /// The country segment found.
        found: u16,
    },
    /// The oblast segment names no oblast or city of republican significance.
    #[error("417{found:02} is not an oblast or a city of republican significance")]
    UnknownOblast {
        /// The oblast segment found.
        found: u8,
    },
    /// A segment holds a value not allowed where it stands.
    #[error("{segment} segment {found:03} is not allowed here: expected {expected}")]
    Segment {
        /// The segment.
        segment: SoateSegment,
        /// Its value.
        found: u16,
        /// What it may hold.
        expected: SoateSegmentRule,
    },
    /// A segment is set below a segment that is `000` (e.g. a settlement without an aymak).
    #[error("{segment} segment {found:03} is set, but the {missing} segment above it is 000")]
    Orphan {
        /// The segment that is set.
        segment: SoateSegment,
        /// Its value.
        found: u16,
        /// The segment above it that is missing.
        missing: SoateSegment,
    },
}

/// The kind of unit a [`SoateCode`] names; see the [level rules](self#levels).
///
/// Ordered from the top of the hierarchy down; postcard discriminants are pinned (variants
/// are only ever appended). The text form ([`as_str`](SoateLevel::as_str), [`Display`](fmt::Display),
/// [`FromStr`], JSON) is the spelling of `data/territories.csv`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SoateLevel {
    /// Oblast (облус / область).
    Oblast,
    /// City of republican significance: Bishkek, Osh.
    RepublicanCity,
    /// District of a city of republican significance (Bishkek's four districts).
    CityDistrict,
    /// Rayon (район).
    Rayon,
    /// City of regional (oblast) significance.
    RegionalCity,
    /// Ayil aymak (айыл аймагы): the village community an ayil okmotu runs.
    AyilAymak,
    /// City of district (rayon) significance.
    DistrictCity,
    /// Town: urban-type settlement (шаар тибиндеги посёлок / посёлок городского типа).
    Town,
    /// Village (айыл / село) in an ayil aymak.
    Village,
}

impl SoateLevel {
    /// All levels, top down.
    pub const ALL: [SoateLevel; 9] = [
        SoateLevel::Oblast,
        SoateLevel::RepublicanCity,
        SoateLevel::CityDistrict,
        SoateLevel::Rayon,
        SoateLevel::RegionalCity,
        SoateLevel::AyilAymak,
        SoateLevel::DistrictCity,
        SoateLevel::Town,
        SoateLevel::Village,
    ];

    /// The level's name as `data/territories.csv` spells it.
    ///
    /// ```
    /// use kenesh_model::SoateLevel;
    /// assert_eq!(SoateLevel::RegionalCity.as_str(), "regional_city");
    /// assert_eq!("ayil_aymak".parse(), Ok(SoateLevel::AyilAymak));
    /// ```
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            SoateLevel::Oblast => "oblast",
            SoateLevel::RepublicanCity => "republican_city",
            SoateLevel::CityDistrict => "city_district",
            SoateLevel::Rayon => "rayon",
            SoateLevel::RegionalCity => "regional_city",
            SoateLevel::AyilAymak => "ayil_aymak",
            SoateLevel::DistrictCity => "district_city",
            SoateLevel::Town => "town",
            SoateLevel::Village => "village",
        }
    }

    /// How many steps below the country: 1 for oblasts and republican cities, 2 for rayons,
    /// regional cities and city districts, 3 for ayil aymaks, towns and district cities, 4
    /// for villages.
    ///
    /// ```
    /// use kenesh_model::SoateLevel;
    /// assert_eq!(SoateLevel::Oblast.depth(), 1);
    /// assert_eq!(SoateLevel::Village.depth(), 4);
    /// ```
    #[must_use]
    pub fn depth(self) -> u8 {
        match self {
            SoateLevel::Oblast | SoateLevel::RepublicanCity => 1,
            SoateLevel::CityDistrict | SoateLevel::Rayon | SoateLevel::RegionalCity => 2,
            SoateLevel::AyilAymak | SoateLevel::DistrictCity | SoateLevel::Town => 3,
            SoateLevel::Village => 4,
        }
    }
}

impl fmt::Display for SoateLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Text that names no [`SoateLevel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[non_exhaustive]
pub enum SoateLevelError {
    /// Not one of the names [`SoateLevel::as_str`] gives.
    #[error(
        "unknown SOATE level; expected oblast, republican_city, city_district, rayon, \
         regional_city, ayil_aymak, district_city, town or village"
    )]
    Unknown,
}

impl FromStr for SoateLevel {
    type Err = SoateLevelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SoateLevel::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or(SoateLevelError::Unknown)
    }
}

/// Checks a number against the level rules.
fn check(v: u64) -> Result<SoateCode, SoateError> {
    if v > MAX_CODE {
        return Err(SoateError::Length {
            found: decimal_digits(v),
        });
    }
    let country = (v / P11) as u16;
    if country != SOATE_COUNTRY {
        return Err(SoateError::Country { found: country });
    }
    let oblast = ((v / P9) % 100) as u8;
    let (r, a, s) = (
        ((v / P6) % P3) as u16,
        ((v / P3) % P3) as u16,
        (v % P3) as u16,
    );
    let republican = if SOATE_OBLAST_SEGMENTS.contains(&oblast) {
        false
    } else if SOATE_REPUBLICAN_CITY_SEGMENTS.contains(&oblast) {
        true
    } else {
        return Err(SoateError::UnknownOblast { found: oblast });
    };
    let segment = |segment, found, expected| {
        Err(SoateError::Segment {
            segment,
            found,
            expected,
        })
    };
    let orphan = |segment, found, missing| {
        Err(SoateError::Orphan {
            segment,
            found,
            missing,
        })
    };
    if r == 0 {
        // An oblast or a republican city.
        if a != 0 {
            return orphan(SoateSegment::Aymak, a, SoateSegment::Rayon);
        }
        if s != 0 {
            return orphan(SoateSegment::Settlement, s, SoateSegment::Rayon);
        }
        return Ok(SoateCode(v));
    }
    if republican {
        if r / 100 != 2 {
            return segment(SoateSegment::Rayon, r, SoateSegmentRule::CityDistrict);
        }
        if a != 0 {
            return segment(SoateSegment::Aymak, a, SoateSegmentRule::Zero);
        }
        if s != 0 {
            return segment(SoateSegment::Settlement, s, SoateSegmentRule::Zero);
        }
        return Ok(SoateCode(v));
    }
    match r / 100 {
        2 | 3 => {}
        4 => {
            if a != 0 {
                return segment(SoateSegment::Aymak, a, SoateSegmentRule::Zero);
            }
            if s != 10 {
                return segment(SoateSegment::Settlement, s, SoateSegmentRule::RegionalCity);
            }
            return Ok(SoateCode(v));
        }
        _ => return segment(SoateSegment::Rayon, r, SoateSegmentRule::RayonOrCity),
    }
    if a == 0 {
        if s != 0 {
            return orphan(SoateSegment::Settlement, s, SoateSegment::Aymak);
        }
        return Ok(SoateCode(v));
    }
    match a / 100 {
        8 => Ok(SoateCode(v)),
        4..=6 if s == 0 => segment(SoateSegment::Settlement, s, SoateSegmentRule::NonZero),
        4..=6 => Ok(SoateCode(v)),
        _ => segment(SoateSegment::Aymak, a, SoateSegmentRule::AymakTownOrCity),
    }
}

fn decimal_digits(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 10 {
        v /= 10;
        n += 1;
    }
    n
}

impl SoateCode {
    /// A code from its segments below the country (which is always `417`), checked.
    ///
    /// ```
    /// use kenesh_model::{SoateCode, SoateLevel};
    /// let aymak = SoateCode::from_segments(8, 203, 870, 0)?;
    /// assert_eq!(aymak.to_string(), "41708203870000");
    /// assert_eq!(aymak.level(), SoateLevel::AyilAymak);
    /// assert!(SoateCode::from_segments(8, 203, 0, 20).is_err()); // settlement without aymak
    /// # Ok::<(), kenesh_model::SoateError>(())
    /// ```
    pub fn from_segments(
        oblast: u8,
        rayon: u16,
        aymak: u16,
        settlement: u16,
    ) -> Result<SoateCode, SoateError> {
        if oblast > 99 {
            return Err(SoateError::UnknownOblast { found: oblast });
        }
        for (segment, found) in [
            (SoateSegment::Rayon, rayon),
            (SoateSegment::Aymak, aymak),
            (SoateSegment::Settlement, settlement),
        ] {
            if found > 999 {
                return Err(SoateError::Segment {
                    segment,
                    found,
                    expected: SoateSegmentRule::ThreeDigits,
                });
            }
        }
        check(
            u64::from(SOATE_COUNTRY) * P11
                + u64::from(oblast) * P9
                + u64::from(rayon) * P6
                + u64::from(aymak) * P3
                + u64::from(settlement),
        )
    }

    /// The code as a number (its 14 digits without leading zeros; it never has any).
    #[must_use]
    pub const fn as_u64(self) -> u64 {
        self.0
    }

    /// The country segment, always [`SOATE_COUNTRY`] (`417`).
    #[must_use]
    pub const fn country(self) -> u16 {
        (self.0 / P11) as u16
    }

    /// The oblast segment (digits 3–4): an entry of [`SOATE_OBLAST_SEGMENTS`] or
    /// [`SOATE_REPUBLICAN_CITY_SEGMENTS`].
    #[must_use]
    pub const fn oblast_segment(self) -> u8 {
        ((self.0 / P9) % 100) as u8
    }

    /// The rayon segment (digits 5–7).
    #[must_use]
    pub const fn rayon_segment(self) -> u16 {
        ((self.0 / P6) % P3) as u16
    }

    /// The aymak segment (digits 8–10).
    #[must_use]
    pub const fn aymak_segment(self) -> u16 {
        ((self.0 / P3) % P3) as u16
    }

    /// The settlement segment (digits 11–13).
    #[must_use]
    pub const fn settlement_segment(self) -> u16 {
        (self.0 % P3) as u16
    }

    /// The kind of unit the code names.
    ///
    /// ```
    /// use kenesh_model::{SoateCode, SoateLevel};
    /// let lenin: SoateCode = "41711201000000".parse()?;
    /// assert_eq!(lenin.level(), SoateLevel::CityDistrict);
    /// # Ok::<(), kenesh_model::SoateError>(())
    /// ```
    #[must_use]
    pub fn level(self) -> SoateLevel {
        // The code passed `check`, so only the distinguishing segments need looking at.
        let (r, a, s) = (
            self.rayon_segment(),
            self.aymak_segment(),
            self.settlement_segment(),
        );
        let republican = SOATE_REPUBLICAN_CITY_SEGMENTS.contains(&self.oblast_segment());
        match (r, a) {
            (0, _) if republican => SoateLevel::RepublicanCity,
            (0, _) => SoateLevel::Oblast,
            _ if republican => SoateLevel::CityDistrict,
            (_, 0) if r / 100 == 4 => SoateLevel::RegionalCity,
            (_, 0) => SoateLevel::Rayon,
            _ => match a / 100 {
                8 if s == 0 => SoateLevel::AyilAymak,
                8 => SoateLevel::Village,
                5 => SoateLevel::Town,
                _ => SoateLevel::DistrictCity,
            },
        }
    }

    /// The unit this one belongs to; `None` for oblasts and cities of republican
    /// significance, whose parent is the country.
    ///
    /// ```
    /// use kenesh_model::SoateCode;
    /// let bishkek: SoateCode = "41711000000000".parse()?;
    /// let lenin: SoateCode = "41711201000000".parse()?;
    /// assert_eq!(lenin.parent(), Some(bishkek));
    /// assert_eq!(bishkek.parent(), None);
    /// # Ok::<(), kenesh_model::SoateError>(())
    /// ```
    #[must_use]
    pub fn parent(self) -> Option<SoateCode> {
        let v = self.0;
        match self.level() {
            SoateLevel::Oblast | SoateLevel::RepublicanCity => None,
            SoateLevel::CityDistrict | SoateLevel::Rayon | SoateLevel::RegionalCity => {
                Some(SoateCode(v - v % P9))
            }
            SoateLevel::AyilAymak | SoateLevel::DistrictCity | SoateLevel::Town => {
                Some(SoateCode(v - v % P6))
            }
            SoateLevel::Village => Some(SoateCode(v - v % P3)),
        }
    }

    /// The oblast or city of republican significance the unit lies in (itself at the top).
    ///
    /// ```
    /// use kenesh_model::SoateCode;
    /// let kant: SoateCode = "41708206600010".parse()?;
    /// assert_eq!(kant.oblast().to_string(), "41708000000000");
    /// # Ok::<(), kenesh_model::SoateError>(())
    /// ```
    #[must_use]
    pub const fn oblast(self) -> SoateCode {
        SoateCode(self.0 - self.0 % P9)
    }

    /// Whether this unit is `ancestor` or lies within it (follows [`parent`](Self::parent)).
    ///
    /// ```
    /// use kenesh_model::SoateCode;
    /// let batken_oblast: SoateCode = "41705000000000".parse()?;
    /// let batken_city: SoateCode = "41705410000010".parse()?;
    /// let osh_oblast: SoateCode = "41706000000000".parse()?;
    /// assert!(batken_city.is_within(batken_oblast));
    /// assert!(batken_city.is_within(batken_city));
    /// assert!(!batken_city.is_within(osh_oblast));
    /// assert!(!batken_oblast.is_within(batken_city));
    /// # Ok::<(), kenesh_model::SoateError>(())
    /// ```
    #[must_use]
    pub fn is_within(self, ancestor: SoateCode) -> bool {
        let mut unit = Some(self);
        while let Some(u) = unit {
            if u == ancestor {
                return true;
            }
            unit = u.parent();
        }
        false
    }
}

impl fmt::Display for SoateCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:014}", self.0)
    }
}

impl fmt::Debug for SoateCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SoateCode({self})")
    }
}

impl FromStr for SoateCode {
    type Err = SoateError;

    /// Exactly 14 ASCII digits (no spaces or separators), checked against the level rules.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = s.as_bytes();
        if bytes.len() != 14 {
            return Err(SoateError::Length { found: bytes.len() });
        }
        let mut v = 0u64;
        for (position, &b) in bytes.iter().enumerate() {
            if !b.is_ascii_digit() {
                return Err(SoateError::NotDigit { position });
            }
            v = v * 10 + u64::from(b - b'0');
        }
        check(v)
    }
}

impl TryFrom<u64> for SoateCode {
    type Error = SoateError;

    /// The number read as 14 digits (zero-padded), checked like [`FromStr`].
    fn try_from(v: u64) -> Result<Self, Self::Error> {
        check(v)
    }
}

impl From<SoateCode> for u64 {
    fn from(code: SoateCode) -> u64 {
        code.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::{
        format,
        string::{String, ToString},
        vec::Vec,
    };
    use proptest::prelude::*;

    const CSV: &str = include_str!("../../../data/territories.csv");

    fn rows() -> impl Iterator<Item = Vec<&'static str>> {
        CSV.lines().skip(1).map(|l| l.split(',').collect())
    }

    #[test]
    fn every_row_of_the_reference_file_parses_with_its_level_and_parent() {
        let mut n = 0;
        for row in rows() {
            let code: SoateCode = row[0].parse().unwrap_or_else(|e| panic!("{}: {e}", row[0]));
            assert_eq!(code.to_string(), row[0]);
            assert_eq!(code.level().as_str(), row[1], "{code}");
            assert_eq!(row[1].parse::<SoateLevel>(), Ok(code.level()));
            let parent = match row[2] {
                "417" => None,
                p => Some(p.parse::<SoateCode>().unwrap()),
            };
            assert_eq!(code.parent(), parent, "{code}");
            assert!(code.is_within(code.oblast()));
            n += 1;
        }
        assert_eq!(n, 65);
    }

    #[test]
    fn named_errors() {
        let e = |s: &str| s.parse::<SoateCode>().unwrap_err();
        assert_eq!(e("4170541000001"), SoateError::Length { found: 13 });
        assert_eq!(e(""), SoateError::Length { found: 0 });
        assert_eq!(e("417054100000١"), SoateError::NotDigit { position: 12 });
        assert_eq!(e("4170541000001١"), SoateError::Length { found: 15 });
        assert_eq!(e("41705 10000010"), SoateError::NotDigit { position: 5 });
        assert_eq!(e("+1705410000010"), SoateError::NotDigit { position: 0 });
        assert_eq!(e("41605410000010"), SoateError::Country { found: 416 });
        assert_eq!(e("41701000000000"), SoateError::UnknownOblast { found: 1 });
        assert_eq!(e("41709000000000"), SoateError::UnknownOblast { found: 9 });
        assert_eq!(e("41731000000000"), SoateError::UnknownOblast { found: 31 });
        assert_eq!(
            e("41705214000020"),
            SoateError::Orphan {
                segment: SoateSegment::Settlement,
                found: 20,
                missing: SoateSegment::Aymak
            }
        );
        assert_eq!(
            e("41705000803000"),
            SoateError::Orphan {
                segment: SoateSegment::Aymak,
                found: 803,
                missing: SoateSegment::Rayon
            }
        );
        assert_eq!(
            e("41705410000000"),
            SoateError::Segment {
                segment: SoateSegment::Settlement,
                found: 0,
                expected: SoateSegmentRule::RegionalCity
            }
        );
        assert_eq!(
            e("41705510000000"),
            SoateError::Segment {
                segment: SoateSegment::Rayon,
                found: 510,
                expected: SoateSegmentRule::RayonOrCity
            }
        );
        assert_eq!(
            e("41711401000000"),
            SoateError::Segment {
                segment: SoateSegment::Rayon,
                found: 401,
                expected: SoateSegmentRule::CityDistrict
            }
        );
        assert_eq!(
            e("41711201803000"),
            SoateError::Segment {
                segment: SoateSegment::Aymak,
                found: 803,
                expected: SoateSegmentRule::Zero
            }
        );
        assert_eq!(
            e("41708206600000"),
            SoateError::Segment {
                segment: SoateSegment::Settlement,
                found: 0,
                expected: SoateSegmentRule::NonZero
            }
        );
        assert_eq!(
            e("41708206700010"),
            SoateError::Segment {
                segment: SoateSegment::Aymak,
                found: 700,
                expected: SoateSegmentRule::AymakTownOrCity
            }
        );
        assert_eq!(
            SoateCode::try_from(417_054_100_000_100),
            Err(SoateError::Length { found: 15 })
        );
        assert_eq!(
            SoateCode::try_from(0),
            Err(SoateError::Country { found: 0 })
        );
        assert_eq!(
            SoateCode::from_segments(8, 1000, 0, 0),
            Err(SoateError::Segment {
                segment: SoateSegment::Rayon,
                found: 1000,
                expected: SoateSegmentRule::ThreeDigits
            })
        );
        assert_eq!(
            SoateCode::from_segments(200, 0, 0, 0),
            Err(SoateError::UnknownOblast { found: 200 })
        );
        // Messages name the segment and the rule.
        assert_eq!(
            e("41705214000020").to_string(),
            "settlement segment 020 is set, but the aymak segment above it is 000"
        );
    }

    #[test]
    fn levels_below_the_rayon() {
        let p = |s: &str| s.parse::<SoateCode>().unwrap();
        let village = p("41708203859030");
        assert_eq!(village.level(), SoateLevel::Village);
        assert_eq!(village.parent(), Some(p("41708203859000")));
        assert_eq!(p("41708203859000").level(), SoateLevel::AyilAymak);
        assert_eq!(p("41708203859000").parent(), Some(p("41708203000000")));
        assert_eq!(p("41708213530020").level(), SoateLevel::Town);
        assert_eq!(p("41708213530020").parent(), Some(p("41708213000000")));
        assert_eq!(p("41708206600010").level(), SoateLevel::DistrictCity);
        assert_eq!(p("41703220400010").level(), SoateLevel::DistrictCity);
        assert_eq!(p("41703220400010").parent(), Some(p("41703220000000")));
        assert!(village.is_within(p("41708000000000")));
        assert!(!village.is_within(p("41708206000000")));
        assert_eq!(
            format!("{village:?}"),
            "SoateCode(41708203859030)".to_string()
        );
        for l in SoateLevel::ALL {
            assert_eq!(l.to_string().parse::<SoateLevel>(), Ok(l));
        }
        assert_eq!(
            "Oblast".parse::<SoateLevel>(),
            Err(SoateLevelError::Unknown)
        );
    }

    #[test]
    fn serde_forms() {
        let c: SoateCode = "41705410000010".parse().unwrap();
        assert_eq!(serde_json::to_string(&c).unwrap(), "41705410000010");
        assert_eq!(
            serde_json::to_string(&SoateLevel::RegionalCity).unwrap(),
            "\"regional_city\""
        );
        assert!(serde_json::from_str::<SoateCode>("41705410000000").is_err());
        assert_eq!(postcard::to_allocvec(&c).unwrap().len(), 7);
        // A postcard varint that is not a valid code is refused.
        let bad = postcard::to_allocvec(&41_705_410_000_000u64).unwrap();
        assert!(postcard::from_bytes::<SoateCode>(&bad).is_err());
    }

    /// A valid code of `level`, drawn from the whole space the rules allow.
    fn code_of(level: SoateLevel) -> BoxedStrategy<SoateCode> {
        let oblast = prop::sample::select(SOATE_OBLAST_SEGMENTS.to_vec());
        let city = prop::sample::select(SOATE_REPUBLICAN_CITY_SEGMENTS.to_vec());
        let rayon = 200u16..400;
        let settlement = 1u16..1000;
        let s = match level {
            SoateLevel::Oblast => oblast.prop_map(|o| (o, 0, 0, 0)).boxed(),
            SoateLevel::RepublicanCity => city.prop_map(|o| (o, 0, 0, 0)).boxed(),
            SoateLevel::CityDistrict => (city, 200u16..300).prop_map(|(o, r)| (o, r, 0, 0)).boxed(),
            SoateLevel::Rayon => (oblast, rayon).prop_map(|(o, r)| (o, r, 0, 0)).boxed(),
            SoateLevel::RegionalCity => (oblast, 400u16..500)
                .prop_map(|(o, r)| (o, r, 0, 10))
                .boxed(),
            SoateLevel::AyilAymak => (oblast, rayon, 800u16..900)
                .prop_map(|(o, r, a)| (o, r, a, 0))
                .boxed(),
            SoateLevel::Village => (oblast, rayon, 800u16..900, settlement).boxed(),
            SoateLevel::Town => (oblast, rayon, 500u16..600, settlement).boxed(),
            SoateLevel::DistrictCity => (
                oblast,
                rayon,
                prop_oneof![400u16..500, 600u16..700],
                settlement,
            )
                .boxed(),
        };
        s.prop_map(|(o, r, a, v)| SoateCode::from_segments(o, r, a, v).unwrap())
            .boxed()
    }

    impl Arbitrary for SoateCode {
        type Parameters = ();
        type Strategy = BoxedStrategy<SoateCode>;
        fn arbitrary_with((): ()) -> Self::Strategy {
            any_code().prop_map(|(_, c)| c).boxed()
        }
    }

    fn any_code() -> impl Strategy<Value = (SoateLevel, SoateCode)> {
        prop::sample::select(SoateLevel::ALL.to_vec())
            .prop_flat_map(|l| code_of(l).prop_map(move |c| (l, c)))
    }

    fn with_segment(code: SoateCode, segment: SoateSegment, value: u64) -> String {
        let mut s = code.to_string();
        let r = segment.digits();
        let width = r.len();
        s.replace_range(r, &format!("{value:0width$}"));
        s
    }

    proptest! {
        #![proptest_config(crate::test_support::config())]

        #[test]
        fn valid_codes_round_trip((level, code) in any_code()) {
            prop_assert_eq!(code.level(), level);
            let text = code.to_string();
            prop_assert_eq!(text.len(), 14);
            prop_assert_eq!(text.parse::<SoateCode>(), Ok(code));
            prop_assert_eq!(SoateCode::try_from(code.as_u64()), Ok(code));
            let bytes = postcard::to_allocvec(&code).unwrap();
            prop_assert_eq!(postcard::from_bytes::<SoateCode>(&bytes).unwrap(), code);
            let json = serde_json::to_string(&code).unwrap();
            prop_assert_eq!(serde_json::from_str::<SoateCode>(&json).unwrap(), code);
            prop_assert_eq!(code.country(), SOATE_COUNTRY);
            // The parent is valid, one level up, and an ancestor; the chain ends at the oblast.
            match code.parent() {
                None => {
                    prop_assert_eq!(level.depth(), 1);
                    prop_assert_eq!(code.oblast(), code);
                }
                Some(p) => {
                    prop_assert_eq!(p.level().depth() + 1, level.depth());
                    prop_assert_eq!(SoateCode::try_from(p.as_u64()), Ok(p));
                    prop_assert!(code.is_within(p));
                    prop_assert!(!p.is_within(code));
                    prop_assert!(p < code);
                    prop_assert_eq!(p.oblast(), code.oblast());
                }
            }
            prop_assert!(code.is_within(code.oblast()));
        }

        #[test]
        fn text_and_number_agree(v in 0u64..100_000_000_000_000) {
            prop_assert_eq!(format!("{v:014}").parse::<SoateCode>(), SoateCode::try_from(v));
        }

        #[test]
        fn wrong_length_is_rejected((_, code) in any_code(), cut in 0usize..14, extra in "[0-9]{1,6}") {
            let text = code.to_string();
            prop_assert_eq!(
                text[..cut].parse::<SoateCode>(),
                Err(SoateError::Length { found: cut })
            );
            let longer = format!("{text}{extra}");
            prop_assert_eq!(
                longer.parse::<SoateCode>(),
                Err(SoateError::Length { found: longer.len() })
            );
        }

        #[test]
        fn a_non_digit_is_rejected_at_its_position(
            (_, code) in any_code(),
            position in 0usize..14,
            c in prop::char::range(' ', '~').prop_filter("not a digit", |c| !c.is_ascii_digit()),
        ) {
            let mut text = code.to_string();
            text.replace_range(position..=position, c.encode_utf8(&mut [0; 4]));
            prop_assert_eq!(text.parse::<SoateCode>(), Err(SoateError::NotDigit { position }));
        }

        #[test]
        fn a_wrong_country_is_rejected(
            (_, code) in any_code(),
            country in (0u64..1000).prop_filter("not 417", |c| *c != 417),
        ) {
            let text = with_segment(code, SoateSegment::Country, country);
            prop_assert_eq!(
                text.parse::<SoateCode>(),
                Err(SoateError::Country { found: country as u16 })
            );
        }

        #[test]
        fn an_unknown_oblast_is_rejected(
            (_, code) in any_code(),
            oblast in (0u8..100).prop_filter("unknown", |o| ![2, 3, 4, 5, 6, 7, 8, 11, 21].contains(o)),
        ) {
            let text = with_segment(code, SoateSegment::Oblast, u64::from(oblast));
            prop_assert_eq!(
                text.parse::<SoateCode>(),
                Err(SoateError::UnknownOblast { found: oblast })
            );
        }

        #[test]
        fn a_settlement_without_an_aymak_is_rejected(
            code in code_of(SoateLevel::Rayon),
            v in 1u64..1000,
        ) {
            let text = with_segment(code, SoateSegment::Settlement, v);
            prop_assert_eq!(
                text.parse::<SoateCode>(),
                Err(SoateError::Orphan {
                    segment: SoateSegment::Settlement,
                    found: v as u16,
                    missing: SoateSegment::Aymak,
                })
            );
        }

        #[test]
        fn segments_under_a_zero_rayon_are_rejected(
            code in prop_oneof![code_of(SoateLevel::Oblast), code_of(SoateLevel::RepublicanCity)],
            a in 0u64..1000,
            v in 0u64..1000,
        ) {
            prop_assume!(a != 0 || v != 0);
            let mut text = code.to_string();
            text.replace_range(8..14, &format!("{a:03}{v:03}"));
            let expected = if a != 0 {
                SoateError::Orphan { segment: SoateSegment::Aymak, found: a as u16, missing: SoateSegment::Rayon }
            } else {
                SoateError::Orphan { segment: SoateSegment::Settlement, found: v as u16, missing: SoateSegment::Rayon }
            };
            prop_assert_eq!(text.parse::<SoateCode>(), Err(expected));
        }

        #[test]
        fn an_unknown_rayon_or_aymak_series_is_rejected(
            code in prop_oneof![code_of(SoateLevel::Village), code_of(SoateLevel::Town), code_of(SoateLevel::DistrictCity)],
            r in prop_oneof![1u64..200, 500u64..1000],
            a in prop_oneof![1u64..400, 700u64..800, 900u64..1000],
        ) {
            let bad_rayon = with_segment(code, SoateSegment::Rayon, r);
            prop_assert_eq!(
                bad_rayon.parse::<SoateCode>(),
                Err(SoateError::Segment { segment: SoateSegment::Rayon, found: r as u16, expected: SoateSegmentRule::RayonOrCity })
            );
            let bad_aymak = with_segment(code, SoateSegment::Aymak, a);
            prop_assert_eq!(
                bad_aymak.parse::<SoateCode>(),
                Err(SoateError::Segment { segment: SoateSegment::Aymak, found: a as u16, expected: SoateSegmentRule::AymakTownOrCity })
            );
        }

        #[test]
        fn cities_carry_the_settlement_they_must(
            regional in code_of(SoateLevel::RegionalCity),
            v in (0u64..1000).prop_filter("not 010", |v| *v != 10),
            group in prop_oneof![code_of(SoateLevel::Town), code_of(SoateLevel::DistrictCity)],
            a in 1u64..1000,
            district in code_of(SoateLevel::CityDistrict),
        ) {
            prop_assert_eq!(
                with_segment(regional, SoateSegment::Settlement, v).parse::<SoateCode>(),
                Err(SoateError::Segment { segment: SoateSegment::Settlement, found: v as u16, expected: SoateSegmentRule::RegionalCity })
            );
            prop_assert_eq!(
                with_segment(regional, SoateSegment::Aymak, a).parse::<SoateCode>(),
                Err(SoateError::Segment { segment: SoateSegment::Aymak, found: a as u16, expected: SoateSegmentRule::Zero })
            );
            prop_assert_eq!(
                with_segment(group, SoateSegment::Settlement, 0).parse::<SoateCode>(),
                Err(SoateError::Segment { segment: SoateSegment::Settlement, found: 0, expected: SoateSegmentRule::NonZero })
            );
            prop_assert_eq!(
                with_segment(district, SoateSegment::Aymak, a).parse::<SoateCode>(),
                Err(SoateError::Segment { segment: SoateSegment::Aymak, found: a as u16, expected: SoateSegmentRule::Zero })
            );
        }

        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,20}") {
            let _ = s.parse::<SoateCode>();
            let _ = s.parse::<SoateLevel>();
        }

        #[test]
        fn arbitrary_numbers_never_panic_and_valid_ones_are_consistent(v in any::<u64>()) {
            if let Ok(c) = SoateCode::try_from(v) {
                prop_assert_eq!(c.as_u64(), v);
                prop_assert_eq!(c.to_string().parse::<SoateCode>(), Ok(c));
                let _ = c.parent();
            }
        }
    }
}
