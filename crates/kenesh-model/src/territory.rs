//! Territories over time: versions of SOATE units with validity dates, and the links a reform
//! leaves between them.
//!
//! Territories change: 453 village communities (ayil aymaks) were merged into 235 in 2024,
//! and in December 2025 the pilot-reform decrees were revoked. A [`Territory`] is therefore
//! one *version* of a unit, valid from `valid_from` (inclusive) to `valid_to` (exclusive),
//! with `predecessors` and `successors` naming the units it came from and went into, and
//! the normative `act` that made the change. A record keeps the [`SoateCode`] that was valid
//! when it was made; [`TerritoryRegistry::successors_on`] says what that code became.
//!
//! Territories are reference data, keyed by `(code, valid_from)`, loaded from the
//! classifier (for instance [`TerritoryRegistry::from_csv`] on `data/territories.csv`): they
//! are not made on devices, have no owner scope, are all public and are never tombstoned (a
//! unit that ends gets a `valid_to`). So, unlike the entities, they carry no
//! [`RecordMeta`](crate::RecordMeta).
//!
//! A municipality's own codes over time are [`TerritorySpans`].
//!
//! ```
//! use kenesh_model::{Date, SoateCode, Territory, TerritoryRegistry};
//!
//! let csv = "soate,level,parent,name_ky,name_ru\n\
//!            41708000000000,oblast,417,Чүй облусу,Чуйская область\n\
//!            41708203000000,rayon,41708000000000,Аламүдүн району,Аламудунский район\n";
//! let mut registry = TerritoryRegistry::from_csv(csv)?;
//! let reform = Date::new(2024, 7, 1)?;
//! let old: SoateCode = "41708203803000".parse()?;
//! let new: SoateCode = "41708203870000".parse()?;
//! registry.insert(
//!     Territory::new(old, "Эски айыл аймагы", "Прежний айылный аймак")
//!         .valid_between(None, Some(reform))
//!         .with_successors(vec![new]),
//! )?;
//! registry.insert(
//!     Territory::new(new, "Бириккен айыл аймагы", "Объединённый айылный аймак")
//!         .valid_between(Some(reform), None)
//!         .with_predecessors(vec![old]),
//! )?;
//! let rayon = "41708203000000".parse()?;
//! assert_eq!(registry.successors_on(old, Date::new(2025, 1, 1)?), vec![new]);
//! assert_eq!(registry.children(rayon, Date::new(2024, 1, 1)?).count(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use alloc::{collections::BTreeSet, string::String, vec::Vec};
use core::fmt;

use serde::{Deserialize, Serialize};

use crate::{Date, SoateCode, SoateError, SoateLevel};

/// Longest name (in characters) a [`Territory`] may carry, in any language.
pub const TERRITORY_MAX_NAME_CHARS: usize = 200;

/// Longest citation (in characters) of the normative act that changed a [`Territory`].
pub const TERRITORY_MAX_ACT_CHARS: usize = 500;

/// One version of an administrative-territorial unit.
///
/// `level` and `parent` always agree with the code ([`SoateCode::level`],
/// [`SoateCode::parent`]); [`Territory::new`] fills them in and [`Territory::validate`]
/// checks them.
///
/// ```
/// use kenesh_model::{Date, SoateLevel, Territory};
///
/// let batken = Territory::new("41705410000010".parse()?, "Баткен шаары", "г. Баткен")
///     .with_name_latin("Batken");
/// assert_eq!(batken.level, SoateLevel::RegionalCity);
/// assert_eq!(batken.parent, Some("41705000000000".parse()?));
/// assert!(batken.validate().is_ok());
/// assert!(batken.is_valid_on(Date::new(2024, 1, 1)?));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Territory {
    /// The unit's SOATE code.
    pub code: SoateCode,
    /// Its level, as the code says.
    pub level: SoateLevel,
    /// Name in Kyrgyz.
    pub name_ky: String,
    /// Name in Russian.
    pub name_ru: String,
    /// Name in Latin letters, if one is known.
    pub name_latin: Option<String>,
    /// The unit it belongs to, as the code says; `None` for oblasts and cities of republican
    /// significance (the country).
    pub parent: Option<SoateCode>,
    /// First day this version is valid; `None` if it has been since before kenesh's records.
    pub valid_from: Option<Date>,
    /// First day this version is no longer valid (exclusive); `None` while it is in force.
    pub valid_to: Option<Date>,
    /// The units this version was made from (e.g. the aymaks merged into it).
    pub predecessors: Vec<SoateCode>,
    /// The units this version went into when it ended (e.g. the merged aymak).
    pub successors: Vec<SoateCode>,
    /// The normative act that made this version (or ended it), cited as published.
    pub act: Option<String>,
}

/// A text field of a [`Territory`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TerritoryField {
    /// [`Territory::name_ky`].
    NameKy,
    /// [`Territory::name_ru`].
    NameRu,
    /// [`Territory::name_latin`].
    NameLatin,
    /// [`Territory::act`].
    Act,
}

impl TerritoryField {
    /// The field's name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            TerritoryField::NameKy => "name_ky",
            TerritoryField::NameRu => "name_ru",
            TerritoryField::NameLatin => "name_latin",
            TerritoryField::Act => "act",
        }
    }

    /// The most characters the field may hold.
    #[must_use]
    pub fn max_chars(self) -> usize {
        match self {
            TerritoryField::Act => TERRITORY_MAX_ACT_CHARS,
            _ => TERRITORY_MAX_NAME_CHARS,
        }
    }
}

impl fmt::Display for TerritoryField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What is wrong with a text field of a [`Territory`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TerritoryTextProblem {
    /// Empty, or only white space.
    Empty,
    /// Longer than the field allows.
    TooLong {
        /// Characters found.
        chars: usize,
        /// Characters allowed ([`TerritoryField::max_chars`]).
        max: usize,
    },
    /// Begins or ends with white space.
    SurroundingWhitespace,
    /// Holds a control character (a line break, a tab, …).
    ControlCharacter,
}

impl fmt::Display for TerritoryTextProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TerritoryTextProblem::Empty => f.write_str("is empty"),
            TerritoryTextProblem::TooLong { chars, max } => {
                write!(f, "has {chars} characters, more than {max}")
            }
            TerritoryTextProblem::SurroundingWhitespace => {
                f.write_str("begins or ends with white space")
            }
            TerritoryTextProblem::ControlCharacter => f.write_str("holds a control character"),
        }
    }
}

/// Shows an optional validity bound: the date, or the given word for "open".
struct Bound<'a>(&'a Option<Date>, &'static str);

impl fmt::Display for Bound<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(d) => fmt::Display::fmt(d, f),
            None => f.write_str(self.1),
        }
    }
}

/// Shows an optional parent: the code, or `417` for the country (as the CSV writes it).
struct Parent<'a>(&'a Option<SoateCode>);

impl fmt::Display for Parent<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(c) => fmt::Display::fmt(c, f),
            None => f.write_str("417 (the country)"),
        }
    }
}

/// Why a [`Territory`] is invalid, or cannot join a [`TerritoryRegistry`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[non_exhaustive]
pub enum TerritoryError {
    /// `level` is not the code's level.
    #[error("{code}: level {level} does not match the code, which is a {expected}")]
    LevelMismatch {
        /// The territory's code.
        code: SoateCode,
        /// The level given.
        level: SoateLevel,
        /// The code's level.
        expected: SoateLevel,
    },
    /// `parent` is not the code's parent.
    #[error("{code}: parent {} does not match the code, whose parent is {}", Parent(.parent), Parent(.expected))]
    ParentMismatch {
        /// The territory's code.
        code: SoateCode,
        /// The parent given.
        parent: Option<SoateCode>,
        /// The code's parent.
        expected: Option<SoateCode>,
    },
    /// A text field is empty, too long, or badly formed.
    #[error("{code}: {field} {problem}")]
    Text {
        /// The territory's code.
        code: SoateCode,
        /// The field.
        field: TerritoryField,
        /// What is wrong with it.
        problem: TerritoryTextProblem,
    },
    /// `valid_to` is not after `valid_from`.
    #[error("{code}: valid_to {to} is not after valid_from {from}")]
    EmptyValidity {
        /// The territory's code.
        code: SoateCode,
        /// `valid_from`.
        from: Date,
        /// `valid_to`.
        to: Date,
    },
    /// The validity overlaps that of another version of the same code already held.
    #[error(
        "{code}: validity overlaps the version valid from {} to {}",
        Bound(.existing_from, "the start"),
        Bound(.existing_to, "now")
    )]
    Overlap {
        /// The territory's code.
        code: SoateCode,
        /// `valid_from` of the version already held.
        existing_from: Option<Date>,
        /// `valid_to` of the version already held.
        existing_to: Option<Date>,
    },
}

fn check_text(code: SoateCode, field: TerritoryField, text: &str) -> Result<(), TerritoryError> {
    let problem = if text.trim().is_empty() {
        Some(TerritoryTextProblem::Empty)
    } else if text.trim() != text {
        Some(TerritoryTextProblem::SurroundingWhitespace)
    } else if text.chars().any(char::is_control) {
        Some(TerritoryTextProblem::ControlCharacter)
    } else {
        let chars = text.chars().count();
        let max = field.max_chars();
        (chars > max).then_some(TerritoryTextProblem::TooLong { chars, max })
    };
    match problem {
        None => Ok(()),
        Some(problem) => Err(TerritoryError::Text {
            code,
            field,
            problem,
        }),
    }
}

/// Whether `[a_from, a_to)` and `[b_from, b_to)` share a day; `None` is open-ended.
fn overlaps(
    a_from: Option<Date>,
    a_to: Option<Date>,
    b_from: Option<Date>,
    b_to: Option<Date>,
) -> bool {
    let starts_before_end = |from: Option<Date>, to: Option<Date>| match (from, to) {
        (Some(f), Some(t)) => f < t,
        _ => true,
    };
    starts_before_end(a_from, b_to) && starts_before_end(b_from, a_to)
}

impl Territory {
    /// A territory valid at all times, with `level` and `parent` taken from the code and no
    /// Latin name, links or act.
    #[must_use]
    pub fn new(
        code: SoateCode,
        name_ky: impl Into<String>,
        name_ru: impl Into<String>,
    ) -> Territory {
        Territory {
            code,
            level: code.level(),
            name_ky: name_ky.into(),
            name_ru: name_ru.into(),
            name_latin: None,
            parent: code.parent(),
            valid_from: None,
            valid_to: None,
            predecessors: Vec::new(),
            successors: Vec::new(),
            act: None,
        }
    }

    /// Sets the validity: from `from` (inclusive) to `to` (exclusive); `None` is open.
    #[must_use]
    pub fn valid_between(mut self, from: Option<Date>, to: Option<Date>) -> Territory {
        self.valid_from = from;
        self.valid_to = to;
        self
    }

    /// Sets the Latin name.
    #[must_use]
    pub fn with_name_latin(mut self, name: impl Into<String>) -> Territory {
        self.name_latin = Some(name.into());
        self
    }

    /// Sets the predecessors.
    #[must_use]
    pub fn with_predecessors(mut self, codes: Vec<SoateCode>) -> Territory {
        self.predecessors = codes;
        self
    }

    /// Sets the successors.
    #[must_use]
    pub fn with_successors(mut self, codes: Vec<SoateCode>) -> Territory {
        self.successors = codes;
        self
    }

    /// Sets the normative act.
    #[must_use]
    pub fn with_act(mut self, act: impl Into<String>) -> Territory {
        self.act = Some(act.into());
        self
    }

    /// Whether this version is in force on `date`.
    ///
    /// ```
    /// use kenesh_model::{Date, Territory};
    /// let t = Territory::new("41705214000000".parse()?, "Баткен району", "Баткенский район")
    ///     .valid_between(Some(Date::new(2024, 7, 1)?), Some(Date::new(2025, 12, 15)?));
    /// assert!(!t.is_valid_on(Date::new(2024, 6, 30)?));
    /// assert!(t.is_valid_on(Date::new(2024, 7, 1)?));
    /// assert!(t.is_valid_on(Date::new(2025, 12, 14)?));
    /// assert!(!t.is_valid_on(Date::new(2025, 12, 15)?));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn is_valid_on(&self, date: Date) -> bool {
        self.valid_from.is_none_or(|from| from <= date) && self.valid_to.is_none_or(|to| date < to)
    }

    /// Checks every field: level and parent agree with the code, names and act are
    /// non-empty, trimmed, free of control characters and within their limits, and the
    /// validity is not empty.
    ///
    /// ```
    /// use kenesh_model::{Territory, TerritoryError, TerritoryField, TerritoryTextProblem};
    /// let t = Territory::new("41705214000000".parse()?, "", "Баткенский район");
    /// assert!(matches!(
    ///     t.validate(),
    ///     Err(TerritoryError::Text { field: TerritoryField::NameKy, problem: TerritoryTextProblem::Empty, .. })
    /// ));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn validate(&self) -> Result<(), TerritoryError> {
        let code = self.code;
        if self.level != code.level() {
            return Err(TerritoryError::LevelMismatch {
                code,
                level: self.level,
                expected: code.level(),
            });
        }
        if self.parent != code.parent() {
            return Err(TerritoryError::ParentMismatch {
                code,
                parent: self.parent,
                expected: code.parent(),
            });
        }
        check_text(code, TerritoryField::NameKy, &self.name_ky)?;
        check_text(code, TerritoryField::NameRu, &self.name_ru)?;
        if let Some(latin) = &self.name_latin {
            check_text(code, TerritoryField::NameLatin, latin)?;
        }
        if let Some(act) = &self.act {
            check_text(code, TerritoryField::Act, act)?;
        }
        if let (Some(from), Some(to)) = (self.valid_from, self.valid_to)
            && to <= from
        {
            return Err(TerritoryError::EmptyValidity { code, from, to });
        }
        Ok(())
    }
}

/// All versions of all territories kenesh knows, kept sorted by `(code, valid_from)`; the
/// versions of one code never overlap.
///
/// Serialised as the list of versions; deserialising inserts them one by one, so the same
/// checks apply.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<Territory>", into = "Vec<Territory>")]
pub struct TerritoryRegistry {
    versions: Vec<Territory>,
}

/// A column of the territory CSV format (`soate,level,parent,name_ky,name_ru`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TerritoryCsvColumn {
    /// `soate`: the unit's code.
    Soate,
    /// `level`: [`SoateLevel::as_str`].
    Level,
    /// `parent`: the parent's code, or `417` for the country.
    Parent,
    /// `name_ky`: name in Kyrgyz.
    NameKy,
    /// `name_ru`: name in Russian.
    NameRu,
}

impl TerritoryCsvColumn {
    /// The columns in file order.
    pub const ALL: [TerritoryCsvColumn; 5] = [
        TerritoryCsvColumn::Soate,
        TerritoryCsvColumn::Level,
        TerritoryCsvColumn::Parent,
        TerritoryCsvColumn::NameKy,
        TerritoryCsvColumn::NameRu,
    ];

    /// The column's header.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            TerritoryCsvColumn::Soate => "soate",
            TerritoryCsvColumn::Level => "level",
            TerritoryCsvColumn::Parent => "parent",
            TerritoryCsvColumn::NameKy => "name_ky",
            TerritoryCsvColumn::NameRu => "name_ru",
        }
    }
}

impl fmt::Display for TerritoryCsvColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What is wrong with a line of a territory CSV file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[non_exhaustive]
pub enum TerritoryCsvErrorKind {
    /// The first line is not `soate,level,parent,name_ky,name_ru`.
    #[error("the header must be soate,level,parent,name_ky,name_ru")]
    Header,
    /// A line has the wrong number of fields.
    #[error("{found} fields, expected {expected}")]
    FieldCount {
        /// Fields found.
        found: usize,
        /// Fields expected (5).
        expected: usize,
    },
    /// A quoted field is not closed, or a quote stands inside an unquoted field.
    #[error("malformed quotes")]
    Quote,
    /// The `soate` or `parent` field is not a SOATE code.
    #[error(transparent)]
    Code(SoateError),
    /// The `level` field names no level.
    #[error(
        "unknown level; expected oblast, republican_city, city_district, rayon, regional_city, ayil_aymak, district_city, town or village"
    )]
    UnknownLevel,
    /// The `level` field is not the code's level.
    #[error("level {found} does not match the code, which is a {expected}")]
    LevelMismatch {
        /// The level in the file.
        found: SoateLevel,
        /// The code's level.
        expected: SoateLevel,
    },
    /// The `parent` field is not the code's parent.
    #[error("parent {} does not match the code, whose parent is {}", Parent(.found), Parent(.expected))]
    ParentMismatch {
        /// The parent in the file.
        found: Option<SoateCode>,
        /// The code's parent.
        expected: Option<SoateCode>,
    },
    /// The parent is neither in the file nor already in the registry.
    #[error("parent {0} is not in the file or the registry")]
    UnknownParent(SoateCode),
    /// The row makes an invalid territory (a name) or repeats a code.
    #[error(transparent)]
    Territory(TerritoryError),
}

/// An error in a territory CSV file, naming the line (1-based, the header is line 1) and,
/// where it lies in one, the column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("line {line}{}: {kind}", ColumnSuffix(.column))]
pub struct TerritoryCsvError {
    /// 1-based line number.
    pub line: usize,
    /// The column at fault, if the fault lies in one.
    pub column: Option<TerritoryCsvColumn>,
    /// What is wrong.
    pub kind: TerritoryCsvErrorKind,
}

struct ColumnSuffix<'a>(&'a Option<TerritoryCsvColumn>);

impl fmt::Display for ColumnSuffix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(c) => write!(f, ", column {c}"),
            None => Ok(()),
        }
    }
}

/// Splits one CSV line into fields: comma-separated, RFC 4180 quoting (`"a, b"`, `""` for a
/// quote) within the line. On error, gives the 0-based index of the field at fault.
fn split_fields(line: &str) -> Result<Vec<String>, usize> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let index = fields.len();
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    None => return Err(index),
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                }
            }
            fields.push(field);
            match chars.next() {
                None => return Ok(fields),
                Some(',') => {}
                Some(_) => return Err(index),
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Ok(fields);
                    }
                    Some(',') => break,
                    Some('"') => return Err(index),
                    Some(c) => field.push(c),
                }
            }
            fields.push(field);
        }
    }
}

/// One data row of the CSV, checked.
fn parse_row(line: usize, text: &str) -> Result<Territory, TerritoryCsvError> {
    let err = |column: Option<TerritoryCsvColumn>, kind| TerritoryCsvError { line, column, kind };
    let fields = split_fields(text).map_err(|i| {
        err(
            TerritoryCsvColumn::ALL.get(i).copied(),
            TerritoryCsvErrorKind::Quote,
        )
    })?;
    let [soate, level, parent, name_ky, name_ru] =
        <[String; 5]>::try_from(fields).map_err(|fields| {
            err(
                None,
                TerritoryCsvErrorKind::FieldCount {
                    found: fields.len(),
                    expected: 5,
                },
            )
        })?;
    let code: SoateCode = soate.parse().map_err(|e| {
        err(
            Some(TerritoryCsvColumn::Soate),
            TerritoryCsvErrorKind::Code(e),
        )
    })?;
    let level: SoateLevel = level.parse().map_err(|_| {
        err(
            Some(TerritoryCsvColumn::Level),
            TerritoryCsvErrorKind::UnknownLevel,
        )
    })?;
    if level != code.level() {
        return Err(err(
            Some(TerritoryCsvColumn::Level),
            TerritoryCsvErrorKind::LevelMismatch {
                found: level,
                expected: code.level(),
            },
        ));
    }
    let parent = match parent.as_str() {
        "417" => None,
        p => Some(p.parse::<SoateCode>().map_err(|e| {
            err(
                Some(TerritoryCsvColumn::Parent),
                TerritoryCsvErrorKind::Code(e),
            )
        })?),
    };
    if parent != code.parent() {
        return Err(err(
            Some(TerritoryCsvColumn::Parent),
            TerritoryCsvErrorKind::ParentMismatch {
                found: parent,
                expected: code.parent(),
            },
        ));
    }
    for (column, field, value) in [
        (TerritoryCsvColumn::NameKy, TerritoryField::NameKy, &name_ky),
        (TerritoryCsvColumn::NameRu, TerritoryField::NameRu, &name_ru),
    ] {
        check_text(code, field, value)
            .map_err(|e| err(Some(column), TerritoryCsvErrorKind::Territory(e)))?;
    }
    Ok(Territory::new(code, name_ky, name_ru))
}

impl TerritoryRegistry {
    /// An empty registry.
    #[must_use]
    pub fn new() -> TerritoryRegistry {
        TerritoryRegistry::default()
    }

    /// A registry of the territories in a CSV file of the reference format (see
    /// [`load_csv`](Self::load_csv)).
    ///
    /// ```
    /// use kenesh_model::{TerritoryCsvColumn, TerritoryRegistry};
    ///
    /// let csv = "soate,level,parent,name_ky,name_ru\n\
    ///            41705000000000,oblast,417,Баткен облусу,Баткенская область\n\
    ///            41705410000010,regional_city,41705000000000,Баткен шаары,г. Баткен\n";
    /// let registry = TerritoryRegistry::from_csv(csv)?;
    /// assert_eq!(registry.len(), 2);
    ///
    /// let bad = "soate,level,parent,name_ky,name_ru\n\
    ///            41705000000000,oblast,417,Баткен облусу,Баткенская область\n\
    ///            41705410000010,rayon,41705000000000,Баткен шаары,г. Баткен\n";
    /// let e = TerritoryRegistry::from_csv(bad).unwrap_err();
    /// assert_eq!((e.line, e.column), (3, Some(TerritoryCsvColumn::Level)));
    /// assert_eq!(
    ///     e.to_string(),
    ///     "line 3, column level: level rayon does not match the code, which is a regional_city"
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_csv(csv: &str) -> Result<TerritoryRegistry, TerritoryCsvError> {
        let mut registry = TerritoryRegistry::new();
        registry.load_csv(csv)?;
        Ok(registry)
    }

    /// Adds the territories of a CSV file, all or none; returns how many rows it added.
    ///
    /// The format is that of `data/territories.csv`: UTF-8 (a leading byte-order mark is
    /// skipped), LF or CRLF line ends, the header `soate,level,parent,name_ky,name_ru`, then
    /// one unit per line; fields may be quoted as in RFC 4180 but may not span lines; blank
    /// lines are skipped. Every field is checked: `soate` is a [`SoateCode`], `level` its
    /// [`SoateLevel`], `parent` its [`parent`](SoateCode::parent) (`417` for the country)
    /// and present in the file or the registry, the names as [`Territory::validate`] does.
    /// Rows are valid at all times (the format has no dates) and a code may appear once.
    pub fn load_csv(&mut self, csv: &str) -> Result<usize, TerritoryCsvError> {
        let csv = csv.strip_prefix('\u{feff}').unwrap_or(csv);
        let mut lines = csv
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .enumerate()
            .map(|(i, l)| (i + 1, l));
        let header_error = |column| TerritoryCsvError {
            line: 1,
            column,
            kind: TerritoryCsvErrorKind::Header,
        };
        let header = lines.next().map(|(_, l)| l).unwrap_or_default();
        let header = split_fields(header).map_err(|_| header_error(None))?;
        if header.len() != TerritoryCsvColumn::ALL.len() {
            return Err(header_error(None));
        }
        if let Some(column) = TerritoryCsvColumn::ALL
            .into_iter()
            .zip(&header)
            .find(|(c, h)| c.as_str() != h.as_str())
        {
            return Err(header_error(Some(column.0)));
        }

        let mut next = self.clone();
        let mut parents = Vec::new();
        for (line, text) in lines {
            if text.trim().is_empty() {
                continue;
            }
            let territory = parse_row(line, text)?;
            parents.push((line, territory.parent));
            next.insert(territory).map_err(|e| TerritoryCsvError {
                line,
                column: Some(TerritoryCsvColumn::Soate),
                kind: TerritoryCsvErrorKind::Territory(e),
            })?;
        }
        for (line, parent) in &parents {
            if let Some(p) = parent
                && next.versions(*p).is_empty()
            {
                return Err(TerritoryCsvError {
                    line: *line,
                    column: Some(TerritoryCsvColumn::Parent),
                    kind: TerritoryCsvErrorKind::UnknownParent(*p),
                });
            }
        }
        *self = next;
        Ok(parents.len())
    }

    /// Adds a version, after [`Territory::validate`] and a check that its validity does not
    /// overlap another version of the same code.
    ///
    /// ```
    /// use kenesh_model::{Date, Territory, TerritoryError, TerritoryRegistry};
    ///
    /// let code = "41705214000000".parse()?;
    /// let reform = Date::new(2024, 7, 1)?;
    /// let mut registry = TerritoryRegistry::new();
    /// registry.insert(Territory::new(code, "Баткен району", "Баткенский район")
    ///     .valid_between(None, Some(reform)))?;
    /// registry.insert(Territory::new(code, "Баткен району", "Баткенский район")
    ///     .valid_between(Some(reform), None))?;
    /// let again = registry.insert(Territory::new(code, "Баткен", "Баткен")
    ///     .valid_between(Some(Date::new(2025, 1, 1)?), None));
    /// assert!(matches!(again, Err(TerritoryError::Overlap { .. })));
    /// assert_eq!(registry.versions(code).len(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn insert(&mut self, territory: Territory) -> Result<(), TerritoryError> {
        territory.validate()?;
        let range = self.range(territory.code);
        if let Some(existing) = self.versions[range.clone()].iter().find(|v| {
            overlaps(
                v.valid_from,
                v.valid_to,
                territory.valid_from,
                territory.valid_to,
            )
        }) {
            return Err(TerritoryError::Overlap {
                code: territory.code,
                existing_from: existing.valid_from,
                existing_to: existing.valid_to,
            });
        }
        let at = range.start
            + self.versions[range].partition_point(|v| v.valid_from < territory.valid_from);
        self.versions.insert(at, territory);
        Ok(())
    }

    fn range(&self, code: SoateCode) -> core::ops::Range<usize> {
        let start = self.versions.partition_point(|v| v.code < code);
        let end = start + self.versions[start..].partition_point(|v| v.code == code);
        start..end
    }

    /// Number of versions held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.versions.len()
    }

    /// Whether no version is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.versions.is_empty()
    }

    /// All versions, sorted by code, then by `valid_from`.
    pub fn iter(&self) -> core::slice::Iter<'_, Territory> {
        self.versions.iter()
    }

    /// The versions of one code, oldest first (empty if the code is unknown).
    #[must_use]
    pub fn versions(&self, code: SoateCode) -> &[Territory] {
        &self.versions[self.range(code)]
    }

    /// The version of `code` in force `on` that day.
    #[must_use]
    pub fn get(&self, code: SoateCode, on: Date) -> Option<&Territory> {
        self.versions(code).iter().find(|v| v.is_valid_on(on))
    }

    /// The units in force `on` that day whose parent is `code`, in code order.
    pub fn children(&self, code: SoateCode, on: Date) -> impl Iterator<Item = &Territory> + '_ {
        self.versions
            .iter()
            .filter(move |v| v.parent == Some(code) && v.is_valid_on(on))
    }

    /// The oblasts and cities of republican significance in force `on` that day.
    pub fn top_level(&self, on: Date) -> impl Iterator<Item = &Territory> + '_ {
        self.versions
            .iter()
            .filter(move |v| v.parent.is_none() && v.is_valid_on(on))
    }

    /// What `code` had become by `date`: `[code]` if it is in force then; otherwise the
    /// codes in force then that its last version before `date` led to, following
    /// `successors` transitively (an aymak merged in 2024 → the merged aymak; a merger
    /// revoked in 2025 → the aymaks restored). Sorted, without repeats; empty if the code is
    /// unknown, not yet valid on `date`, or its line ended without successors in force.
    ///
    /// Each version is followed at most once, so cycles of links end.
    ///
    /// ```
    /// use kenesh_model::{Date, Territory, TerritoryRegistry};
    /// let (a, m) = ("41708203803000".parse()?, "41708203870000".parse()?);
    /// let reform = Date::new(2024, 7, 1)?;
    /// let mut registry = TerritoryRegistry::new();
    /// registry.insert(Territory::new(a, "А", "А").valid_between(None, Some(reform)).with_successors(vec![m]))?;
    /// registry.insert(Territory::new(m, "М", "М").valid_between(Some(reform), None).with_predecessors(vec![a]))?;
    /// assert_eq!(registry.successors_on(a, Date::new(2024, 6, 30)?), vec![a]);
    /// assert_eq!(registry.successors_on(a, Date::new(2024, 7, 1)?), vec![m]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn successors_on(&self, code: SoateCode, date: Date) -> Vec<SoateCode> {
        self.follow(code, date, true)
    }

    /// What `code` came from, as of `date`: the mirror of
    /// [`successors_on`](Self::successors_on) for a date before the code's first version
    /// from then on, following `predecessors` back to the codes in force on `date`.
    ///
    /// ```
    /// use kenesh_model::{Date, Territory, TerritoryRegistry};
    /// let (a, m) = ("41708203803000".parse()?, "41708203870000".parse()?);
    /// let reform = Date::new(2024, 7, 1)?;
    /// let mut registry = TerritoryRegistry::new();
    /// registry.insert(Territory::new(a, "А", "А").valid_between(None, Some(reform)).with_successors(vec![m]))?;
    /// registry.insert(Territory::new(m, "М", "М").valid_between(Some(reform), None).with_predecessors(vec![a]))?;
    /// assert_eq!(registry.predecessors_on(m, Date::new(2023, 1, 1)?), vec![a]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn predecessors_on(&self, code: SoateCode, date: Date) -> Vec<SoateCode> {
        self.follow(code, date, false)
    }

    fn follow(&self, code: SoateCode, date: Date, forward: bool) -> Vec<SoateCode> {
        let mut found = BTreeSet::new();
        let mut followed: BTreeSet<(SoateCode, Option<Date>)> = BTreeSet::new();
        let mut stack = alloc::vec![code];
        while let Some(c) = stack.pop() {
            if self.get(c, date).is_some() {
                found.insert(c);
                continue;
            }
            let versions = self.versions(c);
            let next = if forward {
                // The latest version that had ended by `date`.
                versions
                    .iter()
                    .rev()
                    .find(|v| v.valid_to.is_some_and(|to| to <= date))
            } else {
                // The earliest version that had not yet begun on `date`.
                versions
                    .iter()
                    .find(|v| v.valid_from.is_some_and(|from| from > date))
            };
            if let Some(v) = next
                && followed.insert((v.code, v.valid_from))
            {
                stack.extend(if forward {
                    &v.successors
                } else {
                    &v.predecessors
                });
            }
        }
        found.into_iter().collect()
    }
}

impl TryFrom<Vec<Territory>> for TerritoryRegistry {
    type Error = TerritoryError;
    fn try_from(versions: Vec<Territory>) -> Result<Self, Self::Error> {
        let mut registry = TerritoryRegistry::new();
        for v in versions {
            registry.insert(v)?;
        }
        Ok(registry)
    }
}

impl From<TerritoryRegistry> for Vec<Territory> {
    fn from(registry: TerritoryRegistry) -> Vec<Territory> {
        registry.versions
    }
}

impl<'a> IntoIterator for &'a TerritoryRegistry {
    type Item = &'a Territory;
    type IntoIter = core::slice::Iter<'a, Territory>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// A period during which a municipality (or anything else) covered one SOATE code: from
/// `from` (inclusive) to `to` (exclusive; `None` while it lasts).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TerritorySpan {
    /// The code covered.
    pub code: SoateCode,
    /// First day covered.
    pub from: Date,
    /// First day no longer covered; `None` while it lasts.
    pub to: Option<Date>,
}

impl TerritorySpan {
    /// Whether the span covers `date`.
    #[must_use]
    pub fn contains(&self, date: Date) -> bool {
        self.from <= date && self.to.is_none_or(|to| date < to)
    }
}

/// Why [`TerritorySpans`] are invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[non_exhaustive]
pub enum TerritorySpanError {
    /// More spans than [`MAX_TERRITORY_SPANS`].
    #[error("a municipality has at most {max} territory spans")]
    TooMany {
        /// The limit.
        max: usize,
    },
    /// `to` is not after `from`.
    #[error("{code}: span ends on {to}, not after it begins on {from}")]
    Empty {
        /// The span's code.
        code: SoateCode,
        /// Its `from`.
        from: Date,
        /// Its `to`.
        to: Date,
    },
    /// Two spans of the same code overlap.
    #[error("{code}: the span from {second} overlaps the span from {first}")]
    Overlap {
        /// The code.
        code: SoateCode,
        /// `from` of the earlier span.
        first: Date,
        /// `from` of the later span.
        second: Date,
    },
}

/// Most spans one [`TerritorySpans`] holds (a municipality's codes over its whole history);
/// it bounds the work of checking spans that arrive from the network.
pub const MAX_TERRITORY_SPANS: usize = 64;

/// The codes a municipality covered over time: [`TerritorySpan`]s, sorted by code and start,
/// where spans of the same code never overlap (different codes may: a city hall can cover a
/// city and its villages at once).
///
/// ```
/// use kenesh_model::{Date, SoateCode, TerritorySpan, TerritorySpans};
///
/// let aymak: SoateCode = "41708203803000".parse()?;
/// let merged: SoateCode = "41708203870000".parse()?;
/// let (reform, revoked) = (Date::new(2024, 7, 1)?, Date::new(2025, 12, 15)?);
/// let spans = TerritorySpans::new(vec![
///     TerritorySpan { code: aymak, from: Date::new(2021, 1, 1)?, to: Some(reform) },
///     TerritorySpan { code: merged, from: reform, to: Some(revoked) },
///     TerritorySpan { code: aymak, from: revoked, to: None },
/// ])?;
/// assert_eq!(spans.codes_on(Date::new(2025, 1, 1)?), vec![merged]);
/// assert_eq!(spans.codes_on(Date::new(2026, 1, 1)?), vec![aymak]);
/// assert!(spans.codes_on(Date::new(2020, 1, 1)?).is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "Vec<TerritorySpan>", into = "Vec<TerritorySpan>")]
pub struct TerritorySpans(Vec<TerritorySpan>);

impl TerritorySpans {
    /// Spans, checked: none empty, none overlapping another of the same code.
    pub fn new(spans: Vec<TerritorySpan>) -> Result<TerritorySpans, TerritorySpanError> {
        let mut out = TerritorySpans::default();
        for s in spans {
            out.push(s)?;
        }
        Ok(out)
    }

    /// Adds a span, checked as in [`new`](Self::new).
    pub fn push(&mut self, span: TerritorySpan) -> Result<(), TerritorySpanError> {
        if self.0.len() >= MAX_TERRITORY_SPANS {
            return Err(TerritorySpanError::TooMany {
                max: MAX_TERRITORY_SPANS,
            });
        }
        if let Some(to) = span.to
            && to <= span.from
        {
            return Err(TerritorySpanError::Empty {
                code: span.code,
                from: span.from,
                to,
            });
        }
        if let Some(other) = self
            .0
            .iter()
            .find(|o| o.code == span.code && overlaps(Some(o.from), o.to, Some(span.from), span.to))
        {
            let (first, second) = if other.from <= span.from {
                (other.from, span.from)
            } else {
                (span.from, other.from)
            };
            return Err(TerritorySpanError::Overlap {
                code: span.code,
                first,
                second,
            });
        }
        let at = self
            .0
            .partition_point(|o| (o.code, o.from) < (span.code, span.from));
        self.0.insert(at, span);
        Ok(())
    }

    /// The spans, sorted by code, then start.
    #[must_use]
    pub fn as_slice(&self) -> &[TerritorySpan] {
        &self.0
    }

    /// Number of spans.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no spans.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The codes covered on `date`, sorted (each once: spans of a code never overlap).
    #[must_use]
    pub fn codes_on(&self, date: Date) -> Vec<SoateCode> {
        self.0
            .iter()
            .filter(|s| s.contains(date))
            .map(|s| s.code)
            .collect()
    }
}

impl TryFrom<Vec<TerritorySpan>> for TerritorySpans {
    type Error = TerritorySpanError;
    fn try_from(spans: Vec<TerritorySpan>) -> Result<Self, Self::Error> {
        TerritorySpans::new(spans)
    }
}

impl From<TerritorySpans> for Vec<TerritorySpan> {
    fn from(spans: TerritorySpans) -> Vec<TerritorySpan> {
        spans.0
    }
}

impl fmt::Display for TerritorySpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} from {} to {}",
            self.code,
            self.from,
            Bound(&self.to, "now")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::{format, string::ToString, vec};
    use proptest::prelude::*;

    impl Arbitrary for TerritorySpans {
        type Parameters = ();
        type Strategy = BoxedStrategy<TerritorySpans>;
        fn arbitrary_with((): ()) -> Self::Strategy {
            proptest::collection::vec(
                (
                    any::<SoateCode>(),
                    any::<Date>(),
                    proptest::option::of(1i64..5_000),
                ),
                1..4,
            )
            .prop_filter_map("spans of one code overlap", |v| {
                let spans = v
                    .into_iter()
                    .map(|(code, from, len)| TerritorySpan {
                        code,
                        from,
                        to: len.map(|l| Date::from_days(from.days() + l)),
                    })
                    .collect();
                TerritorySpans::new(spans).ok()
            })
            .boxed()
        }
    }

    const CSV: &str = include_str!("../../../data/territories.csv");

    fn d(y: i16, m: u8, day: u8) -> Date {
        Date::new(y, m, day).unwrap()
    }

    fn c(s: &str) -> SoateCode {
        s.parse().unwrap()
    }

    #[test]
    fn the_reference_file_loads() {
        let registry = TerritoryRegistry::from_csv(CSV).unwrap();
        assert_eq!(registry.len(), 65);
        let count = |level| registry.iter().filter(|t| t.level == level).count();
        assert_eq!(count(SoateLevel::Oblast), 7);
        assert_eq!(count(SoateLevel::RepublicanCity), 2);
        assert_eq!(count(SoateLevel::CityDistrict), 4);
        assert_eq!(count(SoateLevel::Rayon), 40);
        assert_eq!(count(SoateLevel::RegionalCity), 12);
        let today = d(2026, 1, 15);
        assert_eq!(registry.top_level(today).count(), 9);
        // Batken oblast: 3 rayons and 3 cities of regional significance.
        let batken: Vec<_> = registry
            .children(c("41705000000000"), today)
            .map(|t| t.code.to_string())
            .collect();
        assert_eq!(
            batken,
            [
                "41705214000000",
                "41705236000000",
                "41705258000000",
                "41705410000010",
                "41705420000010",
                "41705430000010"
            ]
        );
        assert_eq!(registry.children(c("41711000000000"), today).count(), 4);
        assert_eq!(registry.children(c("41721000000000"), today).count(), 0);
        let bishkek = registry.get(c("41711000000000"), today).unwrap();
        assert_eq!(bishkek.name_ky, "Бишкек шаары");
        assert_eq!(bishkek.name_ru, "г. Бишкек");
        assert_eq!(bishkek.name_latin, None);
        for t in &registry {
            assert!(t.validate().is_ok());
            assert!(t.is_valid_on(d(1900, 1, 1)) && t.is_valid_on(d(2999, 12, 31)));
            assert_eq!(registry.successors_on(t.code, today), vec![t.code]);
        }
        // CRLF line ends and a byte-order mark load the same.
        let crlf = format!("\u{feff}{}", CSV.replace('\n', "\r\n"));
        assert_eq!(TerritoryRegistry::from_csv(&crlf).unwrap(), registry);
        // Loading the file again into the registry repeats every code.
        let mut again = registry.clone();
        let e = again.load_csv(CSV).unwrap_err();
        assert_eq!((e.line, e.column), (2, Some(TerritoryCsvColumn::Soate)));
        assert!(matches!(
            e.kind,
            TerritoryCsvErrorKind::Territory(TerritoryError::Overlap { .. })
        ));
        assert_eq!(again, registry, "a failed load changes nothing");
    }

    /// Three aymaks of Alamüdün rayon merged into one on 2024-07-01; the merger revoked on
    /// 2025-12-15 (a test date) restores them.
    fn merger() -> (TerritoryRegistry, [SoateCode; 3], SoateCode) {
        let mut registry = TerritoryRegistry::from_csv(CSV).unwrap();
        let (reform, revoked) = (d(2024, 7, 1), d(2025, 12, 15));
        let aymaks = [
            c("41708203803000"),
            c("41708203805000"),
            c("41708203807000"),
        ];
        let merged = c("41708203870000");
        for (i, a) in aymaks.into_iter().enumerate() {
            let name = format!("Айыл аймагы {i}");
            registry
                .insert(
                    Territory::new(a, name.clone(), name.clone())
                        .valid_between(None, Some(reform))
                        .with_successors(vec![merged]),
                )
                .unwrap();
            registry
                .insert(
                    Territory::new(a, name.clone(), name)
                        .valid_between(Some(revoked), None)
                        .with_predecessors(vec![merged])
                        .with_act("Указ об отмене пилотной реформы (тест)"),
                )
                .unwrap();
        }
        registry
            .insert(
                Territory::new(merged, "Бириккен айыл аймагы", "Объединённый айылный аймак")
                    .with_name_latin("Birikken ayil aymagy")
                    .valid_between(Some(reform), Some(revoked))
                    .with_predecessors(aymaks.to_vec())
                    .with_successors(aymaks.to_vec())
                    .with_act("Пилоттук реформа жөнүндө жарлык (тест)"),
            )
            .unwrap();
        (registry, aymaks, merged)
    }

    #[test]
    fn a_merger_and_its_revocation() {
        let (registry, aymaks, merged) = merger();
        let rayon = c("41708203000000");
        let (before, between, after) = (d(2024, 6, 30), d(2025, 1, 1), d(2026, 1, 1));
        let codes = |it: &mut dyn Iterator<Item = &Territory>| -> Vec<SoateCode> {
            it.map(|t| t.code).collect()
        };

        assert_eq!(codes(&mut registry.children(rayon, before)), aymaks);
        assert_eq!(codes(&mut registry.children(rayon, between)), [merged]);
        assert_eq!(codes(&mut registry.children(rayon, after)), aymaks);

        for a in aymaks {
            assert_eq!(
                registry.get(a, before).unwrap().valid_to,
                Some(d(2024, 7, 1))
            );
            assert_eq!(registry.get(a, between), None);
            assert_eq!(
                registry.get(a, after).unwrap().valid_from,
                Some(d(2025, 12, 15))
            );
            assert_eq!(registry.successors_on(a, before), [a]);
            assert_eq!(registry.successors_on(a, between), [merged]);
            assert_eq!(registry.successors_on(a, after), [a]);
            assert_eq!(registry.predecessors_on(a, between), [merged].to_vec());
            assert_eq!(registry.versions(a).len(), 2);
        }
        assert_eq!(registry.get(merged, before), None);
        assert_eq!(
            registry.get(merged, between).unwrap().level,
            SoateLevel::AyilAymak
        );
        assert_eq!(registry.get(merged, after), None);
        assert_eq!(
            registry.successors_on(merged, before),
            Vec::<SoateCode>::new()
        );
        assert_eq!(registry.successors_on(merged, between), [merged]);
        assert_eq!(registry.successors_on(merged, after), aymaks);
        assert_eq!(registry.predecessors_on(merged, before), aymaks);
        // The last day before the revocation and the day of it.
        assert_eq!(registry.successors_on(aymaks[0], d(2025, 12, 14)), [merged]);
        assert_eq!(
            registry.successors_on(aymaks[0], d(2025, 12, 15)),
            [aymaks[0]]
        );
        // Unknown codes lead nowhere.
        assert!(
            registry
                .successors_on(c("41708203899000"), after)
                .is_empty()
        );

        // The registry survives postcard and JSON.
        let bytes = postcard::to_allocvec(&registry).unwrap();
        assert_eq!(
            postcard::from_bytes::<TerritoryRegistry>(&bytes).unwrap(),
            registry
        );
        let json = serde_json::to_string(&registry).unwrap();
        assert_eq!(
            serde_json::from_str::<TerritoryRegistry>(&json).unwrap(),
            registry
        );
    }

    #[test]
    fn successors_follow_several_steps_and_survive_cycles() {
        let mut registry = TerritoryRegistry::new();
        let (a, b, x) = (
            c("41702205805000"),
            c("41702205807000"),
            c("41702205812000"),
        );
        let (t1, t2, t3) = (d(2022, 1, 1), d(2023, 1, 1), d(2024, 1, 1));
        // a → b → x, each step a year.
        registry
            .insert(
                Territory::new(a, "a", "a")
                    .valid_between(None, Some(t1))
                    .with_successors(vec![b]),
            )
            .unwrap();
        registry
            .insert(
                Territory::new(b, "b", "b")
                    .valid_between(Some(t1), Some(t2))
                    .with_successors(vec![x, b]),
            )
            .unwrap();
        registry
            .insert(
                Territory::new(x, "x", "x")
                    .valid_between(Some(t2), Some(t3))
                    .with_successors(vec![a]),
            )
            .unwrap();
        assert_eq!(registry.successors_on(a, d(2022, 6, 1)), [b]);
        assert_eq!(registry.successors_on(a, d(2023, 6, 1)), [x]);
        // After 2024 the links loop back to `a`, whose only version ended long before:
        // nothing is in force, and the walk ends.
        assert!(registry.successors_on(a, d(2024, 6, 1)).is_empty());
        assert!(registry.successors_on(x, d(2030, 1, 1)).is_empty());
        assert_eq!(
            registry.predecessors_on(x, d(2021, 1, 1)),
            Vec::<SoateCode>::new()
        );
    }

    #[test]
    fn insert_checks_the_version() {
        let (mut registry, aymaks, merged) = merger();
        let before = registry.clone();
        let e = registry
            .insert(Territory::new(aymaks[0], "a", "a").valid_between(Some(d(2026, 6, 1)), None))
            .unwrap_err();
        assert_eq!(
            e,
            TerritoryError::Overlap {
                code: aymaks[0],
                existing_from: Some(d(2025, 12, 15)),
                existing_to: None
            }
        );
        assert_eq!(
            e.to_string(),
            "41708203803000: validity overlaps the version valid from 2025-12-15 to now"
        );
        let e = registry
            .insert(Territory::new(merged, "m", "m").valid_between(None, Some(d(2024, 7, 2))))
            .unwrap_err();
        assert!(matches!(
            e,
            TerritoryError::Overlap {
                existing_from: Some(_),
                ..
            }
        ));
        assert_eq!(
            registry.insert(
                Territory::new(merged, "m", "m")
                    .valid_between(Some(d(2027, 1, 1)), Some(d(2027, 1, 1)))
            ),
            Err(TerritoryError::EmptyValidity {
                code: merged,
                from: d(2027, 1, 1),
                to: d(2027, 1, 1)
            })
        );
        // Touching spans are fine: [.., 2024-07-01) and [2024-07-01, ..).
        let mut t = Territory::new(merged, "m", "m")
            .valid_between(Some(d(2020, 1, 1)), Some(d(2024, 7, 1)));
        assert_eq!(registry.insert(t.clone()), Ok(()));
        registry = before.clone();

        t.level = SoateLevel::Village;
        assert!(matches!(
            registry.insert(t.clone()),
            Err(TerritoryError::LevelMismatch {
                expected: SoateLevel::AyilAymak,
                ..
            })
        ));
        t.level = SoateLevel::AyilAymak;
        t.parent = Some(c("41708000000000"));
        assert!(matches!(
            registry.insert(t.clone()),
            Err(TerritoryError::ParentMismatch { .. })
        ));
        t.parent = merged.parent();
        for (name, problem) in [
            ("   ", TerritoryTextProblem::Empty),
            (" Ак-Суу", TerritoryTextProblem::SurroundingWhitespace),
            ("Ак\nСуу", TerritoryTextProblem::ControlCharacter),
        ] {
            t.name_ru = name.into();
            assert_eq!(
                registry.insert(t.clone()),
                Err(TerritoryError::Text {
                    code: merged,
                    field: TerritoryField::NameRu,
                    problem
                })
            );
        }
        t.name_ru = "m".into();
        t.act = Some("я".repeat(TERRITORY_MAX_ACT_CHARS + 1));
        assert_eq!(
            registry.insert(t.clone()),
            Err(TerritoryError::Text {
                code: merged,
                field: TerritoryField::Act,
                problem: TerritoryTextProblem::TooLong {
                    chars: 501,
                    max: 500
                }
            })
        );
        t.act = None;
        t.name_latin = Some(String::new());
        assert!(matches!(
            registry.insert(t),
            Err(TerritoryError::Text {
                field: TerritoryField::NameLatin,
                ..
            })
        ));
        assert_eq!(registry, before, "failed inserts change nothing");

        // A serialised list with overlapping versions does not deserialise.
        let mut list: Vec<Territory> = registry.into();
        list.push(list[0].clone());
        let json = serde_json::to_string(&list).unwrap();
        assert!(serde_json::from_str::<TerritoryRegistry>(&json).is_err());
    }

    const HEADER: &str = "soate,level,parent,name_ky,name_ru\n";
    const OBLAST: &str = "41705000000000,oblast,417,Баткен облусу,Баткенская область\n";

    fn csv_error(body: &str) -> TerritoryCsvError {
        TerritoryRegistry::from_csv(&format!("{HEADER}{OBLAST}{body}")).unwrap_err()
    }

    #[test]
    fn bad_csv_lines_are_named() {
        use TerritoryCsvColumn as Col;
        use TerritoryCsvErrorKind as K;

        let e = TerritoryRegistry::from_csv("soate,level,parent,name_ru,name_ky\n").unwrap_err();
        assert_eq!(
            (e.line, e.column, e.kind.clone()),
            (1, Some(Col::NameKy), K::Header)
        );
        let e = TerritoryRegistry::from_csv("").unwrap_err();
        assert_eq!((e.line, e.column, e.kind.clone()), (1, None, K::Header));
        let e = TerritoryRegistry::from_csv("soate,level,parent,name_ky\n").unwrap_err();
        assert_eq!((e.line, e.column, e.kind.clone()), (1, None, K::Header));

        let e = csv_error("41705214000000,rayon,41705000000000,Баткен району\n");
        assert_eq!(
            (e.line, e.column, e.kind.clone()),
            (
                3,
                None,
                K::FieldCount {
                    found: 4,
                    expected: 5
                }
            )
        );
        let e =
            csv_error("\n\n4170521400000,rayon,41705000000000,Баткен району,Баткенский район\n");
        assert_eq!(
            (e.line, e.column, e.kind.clone()),
            (
                5,
                Some(Col::Soate),
                K::Code(SoateError::Length { found: 13 })
            )
        );
        assert_eq!(
            e.to_string(),
            "line 5, column soate: a SOATE code is 14 digits, found 13"
        );
        let e = csv_error("41705214000000,район,41705000000000,Баткен району,Баткенский район\n");
        assert_eq!(
            (e.line, e.column, e.kind.clone()),
            (3, Some(Col::Level), K::UnknownLevel)
        );
        let e = csv_error("41705214000000,rayon,41705000000001,Баткен району,Баткенский район\n");
        assert_eq!(e.column, Some(Col::Parent));
        assert!(matches!(e.kind, K::Code(_)));
        let e = csv_error("41705214000000,rayon,417,Баткен району,Баткенский район\n");
        assert_eq!(
            (e.line, e.column, e.kind.clone()),
            (
                3,
                Some(Col::Parent),
                K::ParentMismatch {
                    found: None,
                    expected: Some(c("41705000000000"))
                }
            )
        );
        assert_eq!(
            e.to_string(),
            "line 3, column parent: parent 417 (the country) does not match the code, \
             whose parent is 41705000000000"
        );
        let e = csv_error("41705214000000,rayon,41705000000000,,Баткенский район\n");
        assert_eq!(e.column, Some(Col::NameKy));
        assert!(matches!(
            e.kind,
            K::Territory(TerritoryError::Text {
                problem: TerritoryTextProblem::Empty,
                ..
            })
        ));
        let e = csv_error("41705214000000,rayon,41705000000000,Баткен району,\"Баткенский\n");
        assert_eq!(
            (e.line, e.column, e.kind.clone()),
            (3, Some(Col::NameRu), K::Quote)
        );
        let e =
            csv_error("41705214000000,rayon,41705000000000,Баткен \"району\",Баткенский район\n");
        assert_eq!(
            (e.line, e.column, e.kind.clone()),
            (3, Some(Col::NameKy), K::Quote)
        );
        let e = csv_error(&format!(
            "41706207000000,rayon,41706000000000,Алай району,Алайский район\n{OBLAST}"
        ));
        assert_eq!(e.line, 4);
        assert_eq!(e.column, Some(Col::Soate));
        assert!(matches!(
            e.kind,
            K::Territory(TerritoryError::Overlap { .. })
        ));
        // The parent must be in the file (checked after the whole file is read).
        let e = csv_error("41706207000000,rayon,41706000000000,Алай району,Алайский район\n");
        assert_eq!(
            (e.line, e.column, e.kind.clone()),
            (3, Some(Col::Parent), K::UnknownParent(c("41706000000000")))
        );
        // Errors travel (kiosk → server log) as data too.
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(serde_json::from_str::<TerritoryCsvError>(&json).unwrap(), e);
        let ok = format!(
            "{HEADER}41705214000000,rayon,41705000000000,Баткен району,Баткенский район\n{OBLAST}"
        );
        assert_eq!(TerritoryRegistry::from_csv(&ok).unwrap().len(), 2);
    }

    #[test]
    fn quoted_fields() {
        let csv = format!(
            "{HEADER}{OBLAST}\"41705214000000\",rayon,41705000000000,\"Баткен, \"\"району\"\"\",\"\"\"Баткенский\"\" район\"\n"
        );
        let registry = TerritoryRegistry::from_csv(&csv).unwrap();
        let rayon = registry.get(c("41705214000000"), d(2024, 1, 1)).unwrap();
        assert_eq!(rayon.name_ky, "Баткен, \"району\"");
        assert_eq!(rayon.name_ru, "\"Баткенский\" район");
    }

    #[test]
    fn spans_reject_overlap_and_empty() {
        let a = c("41708203803000");
        let span = |from, to| TerritorySpan { code: a, from, to };
        let mut spans =
            TerritorySpans::new(vec![span(d(2021, 1, 1), Some(d(2024, 7, 1)))]).unwrap();
        assert_eq!(
            spans.push(span(d(2024, 6, 1), None)),
            Err(TerritorySpanError::Overlap {
                code: a,
                first: d(2021, 1, 1),
                second: d(2024, 6, 1)
            })
        );
        assert_eq!(
            spans.push(span(d(2020, 1, 1), None)),
            Err(TerritorySpanError::Overlap {
                code: a,
                first: d(2020, 1, 1),
                second: d(2021, 1, 1)
            })
        );
        assert_eq!(
            spans.push(span(d(2025, 1, 1), Some(d(2024, 1, 1)))),
            Err(TerritorySpanError::Empty {
                code: a,
                from: d(2025, 1, 1),
                to: d(2024, 1, 1)
            })
        );
        spans.push(span(d(2024, 7, 1), None)).unwrap();
        assert_eq!(spans.len(), 2);
        // Another code may overlap.
        spans
            .push(TerritorySpan {
                code: c("41708203805000"),
                from: d(2021, 1, 1),
                to: None,
            })
            .unwrap();
        assert_eq!(spans.codes_on(d(2023, 1, 1)), [a, c("41708203805000")]);
        let json = serde_json::to_string(&spans).unwrap();
        assert_eq!(
            serde_json::from_str::<TerritorySpans>(&json).unwrap(),
            spans
        );
        let bytes = postcard::to_allocvec(&spans).unwrap();
        assert_eq!(
            postcard::from_bytes::<TerritorySpans>(&bytes).unwrap(),
            spans
        );
        let mut list: Vec<TerritorySpan> = spans.into();
        list.push(span(d(2030, 1, 1), None));
        let json = serde_json::to_string(&list).unwrap();
        assert!(serde_json::from_str::<TerritorySpans>(&json).is_err());
        assert_eq!(
            span(d(2024, 7, 1), None).to_string(),
            "41708203803000 from 2024-07-01 to now"
        );
    }

    /// Days from 2000-01-01 to about 2040.
    fn date() -> impl Strategy<Value = Date> {
        (10_957i64..25_567).prop_map(Date::from_days)
    }

    fn bounds() -> impl Strategy<Value = (Option<Date>, Option<Date>)> {
        (prop::option::of(date()), prop::option::of(date()))
    }

    proptest! {
        #![proptest_config(crate::test_support::config())]

        #[test]
        fn versions_of_a_code_never_overlap(spans in prop::collection::vec(bounds(), 0..8), on in date()) {
            let code = c("41708203803000");
            let mut registry = TerritoryRegistry::new();
            let mut accepted: Vec<(Option<Date>, Option<Date>)> = Vec::new();
            for (from, to) in spans {
                let t = Territory::new(code, "a", "a").valid_between(from, to);
                let empty = matches!((from, to), (Some(f), Some(t)) if t <= f);
                let clash = accepted.iter().any(|&(f, t)| overlaps(f, t, from, to));
                match registry.insert(t) {
                    Ok(()) => {
                        prop_assert!(!empty && !clash);
                        accepted.push((from, to));
                    }
                    Err(TerritoryError::EmptyValidity { .. }) => prop_assert!(empty),
                    Err(TerritoryError::Overlap { .. }) => prop_assert!(clash && !empty),
                    Err(e) => prop_assert!(false, "unexpected {e}"),
                }
            }
            prop_assert_eq!(registry.len(), accepted.len());
            let valid: Vec<_> = registry.versions(code).iter().filter(|v| v.is_valid_on(on)).collect();
            prop_assert!(valid.len() <= 1);
            prop_assert_eq!(registry.get(code, on), valid.first().copied());
            // Sorted by start.
            let starts: Vec<_> = registry.iter().map(|v| v.valid_from).collect();
            prop_assert!(starts.windows(2).all(|w| w[0] < w[1]));
            // Following links never loops, whatever they say.
            prop_assert!(registry.successors_on(code, on).len() <= 1);
        }

        #[test]
        fn spans_codes_on_matches_a_brute_force_count(
            spans in prop::collection::vec((0usize..3, date(), prop::option::of(date())), 0..10),
            on in date(),
        ) {
            let codes = [c("41708203803000"), c("41708203805000"), c("41708203807000")];
            let mut set = TerritorySpans::default();
            let mut accepted = Vec::new();
            for (i, from, to) in spans {
                let s = TerritorySpan { code: codes[i], from, to };
                let empty = to.is_some_and(|t| t <= from);
                let clash = accepted.iter().any(|o: &TerritorySpan| {
                    o.code == s.code && overlaps(Some(o.from), o.to, Some(from), to)
                });
                prop_assert_eq!(set.push(s).is_ok(), !empty && !clash);
                if !empty && !clash {
                    accepted.push(s);
                }
            }
            let mut expected: Vec<_> = accepted.iter().filter(|s| s.contains(on)).map(|s| s.code).collect();
            expected.sort();
            prop_assert_eq!(set.codes_on(on), expected);
            prop_assert_eq!(TerritorySpans::new(accepted).unwrap(), set);
        }

        #[test]
        fn successors_walks_end_on_any_links(
            links in prop::collection::vec((0usize..4, bounds(), prop::collection::vec(0usize..4, 0..4)), 0..10),
            start in 0usize..4,
            on in date(),
        ) {
            let codes = [c("41708203803000"), c("41708203805000"), c("41708203807000"), c("41708203809000")];
            let mut registry = TerritoryRegistry::new();
            for (i, (from, to), succ) in links {
                let t = Territory::new(codes[i], "a", "a")
                    .valid_between(from, to)
                    .with_successors(succ.iter().map(|&j| codes[j]).collect())
                    .with_predecessors(succ.iter().map(|&j| codes[j]).collect());
                let _ = registry.insert(t);
            }
            for out in [registry.successors_on(codes[start], on), registry.predecessors_on(codes[start], on)] {
                prop_assert!(out.windows(2).all(|w| w[0] < w[1]));
                for code in out {
                    prop_assert!(registry.get(code, on).is_some());
                }
            }
        }

        #[test]
        fn any_text_as_csv_never_panics(body in "[0-9a-z_,\"\\r\\n а-я]{0,200}") {
            let _ = TerritoryRegistry::from_csv(&body);
            let _ = TerritoryRegistry::from_csv(&format!("{HEADER}{body}"));
        }

        #[test]
        fn quoted_names_round_trip(name in "[^\\r\\n\\p{Cc}]{1,40}") {
            prop_assume!(name.trim() == name && !name.is_empty());
            let quoted = format!("\"{}\"", name.replace('"', "\"\""));
            let csv = format!("{HEADER}41705000000000,oblast,417,{quoted},{quoted}\n");
            let registry = TerritoryRegistry::from_csv(&csv).unwrap();
            let t = registry.iter().next().unwrap();
            prop_assert_eq!(&t.name_ky, &name);
            prop_assert_eq!(&t.name_ru, &name);
        }
    }
}
