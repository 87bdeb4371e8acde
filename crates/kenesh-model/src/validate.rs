//! Validation: every edit is checked against the schema's limits before it becomes an op.

use crate::schema::{EntityKind, EntitySchema, entity};
use crate::text::{Locale, LocalizedText};
use crate::{RecordMeta, Tier};

/// Why a record or an edit is not valid. Every variant names the entity kind and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// A required text or list is empty.
    #[error("{entity}.{field}: must not be empty")]
    Empty {
        /// Entity kind name.
        entity: &'static str,
        /// Field name.
        field: &'static str,
    },
    /// A text is longer than the field's limit.
    #[error("{entity}.{field}: {len} characters{}, the limit is {max}", locale_suffix(*.locale))]
    TooLong {
        /// Entity kind name.
        entity: &'static str,
        /// Field name.
        field: &'static str,
        /// The language whose text is too long, for localised text.
        locale: Option<Locale>,
        /// Length in characters.
        len: usize,
        /// The limit.
        max: u32,
    },
    /// A set or log has more entries than the field's limit.
    #[error("{entity}.{field}: {count} entries, the limit is {max}")]
    TooMany {
        /// Entity kind name.
        entity: &'static str,
        /// Field name.
        field: &'static str,
        /// Entries given.
        count: usize,
        /// The limit.
        max: u32,
    },
    /// A number is outside its range.
    #[error("{entity}.{field}: {value} is outside {min}..={max}")]
    OutOfRange {
        /// Entity kind name.
        entity: &'static str,
        /// Field name.
        field: &'static str,
        /// The value given.
        value: i64,
        /// Least allowed.
        min: i64,
        /// Greatest allowed.
        max: i64,
    },
    /// A text holds a control character.
    #[error("{entity}.{field}: control character U+{code:04X} is not allowed")]
    ControlCharacter {
        /// Entity kind name.
        entity: &'static str,
        /// Field name.
        field: &'static str,
        /// The character's code point.
        code: u32,
    },
    /// Two fields contradict each other (an end before a start, a person who is their own
    /// receiver, …).
    #[error("{entity}.{field}: {reason}")]
    Inconsistent {
        /// Entity kind name.
        entity: &'static str,
        /// Field name.
        field: &'static str,
        /// What is wrong, in English (the kiosk maps the variant to localised text).
        reason: &'static str,
    },
    /// The record's tier is below the least its kind allows.
    #[error("{entity}: tier {tier} is below the least allowed for this kind, {min}")]
    TierTooLow {
        /// Entity kind name.
        entity: &'static str,
        /// The tier given.
        tier: Tier,
        /// The least allowed.
        min: Tier,
    },
}

fn locale_suffix(locale: Option<Locale>) -> &'static str {
    match locale {
        Some(Locale::Ky) => " in ky-KG",
        Some(Locale::Ru) => " in ru-KG",
        Some(Locale::En) => " in en",
        None => "",
    }
}

/// Checks values against one entity kind's declared limits.
pub(crate) struct Check(&'static EntitySchema);

impl Check {
    pub(crate) fn new(kind: EntityKind) -> Check {
        Check(entity(kind))
    }

    pub(crate) fn meta(&self, meta: &RecordMeta) -> Result<(), ValidationError> {
        if meta.tier < self.0.min_tier {
            return Err(ValidationError::TierTooLow {
                entity: self.0.name,
                tier: meta.tier,
                min: self.0.min_tier,
            });
        }
        Ok(())
    }

    fn field_name(&self, field: &str) -> &'static str {
        let found = self.0.field_by_name(field);
        debug_assert!(
            found.is_some(),
            "validation names an undeclared field {}.{field}",
            self.0.name
        );
        found.map_or("?", |f| f.name)
    }

    fn chars(&self, field: &str, locale: Option<Locale>, s: &str) -> Result<(), ValidationError> {
        let max = self.0.chars_limit(field);
        let mut len = 0usize;
        for c in s.chars() {
            len += 1;
            if c.is_control() && c != '\n' && c != '\t' {
                return Err(ValidationError::ControlCharacter {
                    entity: self.0.name,
                    field: self.field_name(field),
                    code: u32::from(c),
                });
            }
        }
        if len > max as usize {
            return Err(ValidationError::TooLong {
                entity: self.0.name,
                field: self.field_name(field),
                locale,
                len,
                max,
            });
        }
        Ok(())
    }

    /// A required plain text: not blank, within the limit, no control characters.
    pub(crate) fn text(&self, field: &str, s: &str) -> Result<(), ValidationError> {
        if s.trim().is_empty() {
            return Err(self.empty(field));
        }
        self.chars(field, None, s)
    }

    /// An optional plain text: if present, as [`Check::text`].
    pub(crate) fn opt_text(&self, field: &str, s: Option<&str>) -> Result<(), ValidationError> {
        s.map_or(Ok(()), |s| self.text(field, s))
    }

    /// Localised text: at least one language non-blank, each within the limit.
    pub(crate) fn localized(&self, field: &str, t: &LocalizedText) -> Result<(), ValidationError> {
        let mut any = false;
        for locale in Locale::ALL {
            if let Some(s) = t.get(locale) {
                any |= !s.trim().is_empty();
                self.chars(field, Some(locale), s)?;
            }
        }
        if any { Ok(()) } else { Err(self.empty(field)) }
    }

    /// A set or log within its entry limit.
    pub(crate) fn entries(&self, field: &str, count: usize) -> Result<(), ValidationError> {
        let max = self.0.entries_limit(field);
        if count > max as usize {
            return Err(ValidationError::TooMany {
                entity: self.0.name,
                field: self.field_name(field),
                count,
                max,
            });
        }
        Ok(())
    }

    /// A number within `min..=max`.
    pub(crate) fn range(
        &self,
        field: &str,
        value: i64,
        min: i64,
        max: i64,
    ) -> Result<(), ValidationError> {
        if value < min || value > max {
            return Err(ValidationError::OutOfRange {
                entity: self.0.name,
                field: self.field_name(field),
                value,
                min,
                max,
            });
        }
        Ok(())
    }

    /// Fails with [`ValidationError::Inconsistent`] unless `ok`.
    pub(crate) fn ensure(
        &self,
        ok: bool,
        field: &str,
        reason: &'static str,
    ) -> Result<(), ValidationError> {
        if ok {
            Ok(())
        } else {
            Err(ValidationError::Inconsistent {
                entity: self.0.name,
                field: self.field_name(field),
                reason,
            })
        }
    }

    pub(crate) fn empty(&self, field: &str) -> ValidationError {
        ValidationError::Empty {
            entity: self.0.name,
            field: self.field_name(field),
        }
    }
}
