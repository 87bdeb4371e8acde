//! Record and device identifiers.
//!
//! Every record id is 128 bits, made on the device that creates the record, without a
//! network and without randomness: the layout is that of a UUIDv7 (RFC 9562), so ids sort by
//! creation time, with the device's 48-bit discriminator in place of the random bits.
//!
//! ```text
//!  0                   1                   2                   3
//!  +-------------------------------+-------+-----------------------+
//!  |        unix_ts_ms (48)        | ver=7 | counter high (12)     |
//!  +---+---------------------------+-------+-----------------------+
//!  |var| counter low (14)          |     device (48)               |
//!  +---+---------------------------+-------------------------------+
//! ```

use core::fmt;

use serde::{Deserialize, Serialize};

/// A 128-bit record id, time-ordered, made on a device.
///
/// Encoded as 16 raw bytes by postcard; shown as a hyphenated UUID.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Id(pub [u8; 16]);

impl Id {
    /// The nil id (all zeros), never made by an [`IdGen`].
    pub const NIL: Id = Id([0; 16]);

    /// The creation time in Unix milliseconds that the id carries.
    #[must_use]
    pub fn timestamp_ms(&self) -> u64 {
        let mut b = [0u8; 8];
        b[2..].copy_from_slice(&self.0[..6]);
        u64::from_be_bytes(b)
    }

    /// The id as a `u128`, big-endian.
    #[must_use]
    pub fn as_u128(&self) -> u128 {
        u128::from_be_bytes(self.0)
    }

    /// An id from a `u128`, big-endian (for tests and fixtures).
    #[must_use]
    pub const fn from_u128(v: u128) -> Id {
        Id(v.to_be_bytes())
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({self})")
    }
}

/// Error parsing an [`Id`] from text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdParseError {
    /// Not 32 hex digits (hyphens allowed in the UUID positions).
    #[error("an id is 32 hexadecimal digits, optionally hyphenated as a UUID")]
    Malformed,
}

impl core::str::FromStr for Id {
    type Err = IdParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = [0u8; 16];
        let mut n = 0usize;
        let mut hi: Option<u8> = None;
        for (i, c) in s.bytes().enumerate() {
            if c == b'-' {
                if !matches!(i, 8 | 13 | 18 | 23) || s.len() != 36 {
                    return Err(IdParseError::Malformed);
                }
                continue;
            }
            let v = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                b'A'..=b'F' => c - b'A' + 10,
                _ => return Err(IdParseError::Malformed),
            };
            match hi.take() {
                None => hi = Some(v),
                Some(h) => {
                    if n >= 16 {
                        return Err(IdParseError::Malformed);
                    }
                    out[n] = (h << 4) | v;
                    n += 1;
                }
            }
        }
        if n != 16 || hi.is_some() {
            return Err(IdParseError::Malformed);
        }
        Ok(Id(out))
    }
}

/// A device (kiosk, server, partner client) as numbered by the server at enrolment.
///
/// Small on purpose: it is carried in every op envelope as a postcard varint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct DeviceId(pub u32);

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "device-{}", self.0)
    }
}

/// Makes time-ordered, unique [`Id`]s on one device, with no randomness and no clock of
/// its own: the caller passes the time.
///
/// Ids from one generator are strictly increasing even if the clock steps back; ids from two
/// generators with different device discriminators never collide.
///
/// ```
/// use kenesh_model::IdGen;
/// let mut ids = IdGen::new(0x0000_a1b2_c3d4_e5f6);
/// let a = ids.next(1_700_000_000_000)?;
/// let b = ids.next(1_699_999_999_000)?; // the clock stepped back
/// assert!(b > a);
/// assert_eq!(a.timestamp_ms(), 1_700_000_000_000);
/// # Ok::<(), kenesh_model::IdExhausted>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawIdGen")]
pub struct IdGen {
    device: [u8; 6],
    last_ms: u64,
    counter: u32,
}

/// An [`IdGen`] as decoded, before it is checked.
#[derive(Deserialize)]
struct RawIdGen {
    device: [u8; 6],
    last_ms: u64,
    counter: u32,
}

impl TryFrom<RawIdGen> for IdGen {
    type Error = IdExhausted;
    fn try_from(r: RawIdGen) -> Result<IdGen, IdExhausted> {
        if r.last_ms > MAX_MS || r.counter >= (1 << COUNTER_BITS) {
            return Err(IdExhausted);
        }
        Ok(IdGen {
            device: r.device,
            last_ms: r.last_ms,
            counter: r.counter,
        })
    }
}

/// Every id up to the year 10889 has been made: only a clock that said so could get here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no ids left: the clock passed the largest time an id can carry")]
pub struct IdExhausted;

const COUNTER_BITS: u32 = 26;
const MAX_MS: u64 = (1 << 48) - 1;

impl IdGen {
    /// A generator for the device whose 48-bit discriminator is the low 48 bits of `device`
    /// (for example the first bytes of a hash of the device's public key).
    #[must_use]
    pub fn new(device: u64) -> IdGen {
        let b = device.to_be_bytes();
        let mut d = [0u8; 6];
        d.copy_from_slice(&b[2..]);
        IdGen {
            device: d,
            last_ms: 0,
            counter: 0,
        }
    }

    /// Resumes a generator from the last id it made (after a restart), so it never repeats.
    #[must_use]
    pub fn resume(device: u64, last: Id) -> IdGen {
        let mut g = IdGen::new(device);
        g.last_ms = last.timestamp_ms();
        let b = last.0;
        let hi = (u32::from(b[6] & 0x0f) << 8) | u32::from(b[7]);
        let lo = (u32::from(b[8] & 0x3f) << 8) | u32::from(b[9]);
        g.counter = (hi << 14) | lo;
        g
    }

    /// The next id at `now_ms` (Unix milliseconds, from the caller's clock).
    ///
    /// # Errors
    /// [`IdExhausted`] only once a clock beyond the year 10889 has used up the last
    /// millisecond's 67 million ids.
    pub fn next(&mut self, now_ms: u64) -> Result<Id, IdExhausted> {
        let now = now_ms.min(MAX_MS);
        if now > self.last_ms {
            self.last_ms = now;
            self.counter = 0;
        } else if self.counter + 1 < (1 << COUNTER_BITS) {
            self.counter += 1;
        } else if self.last_ms < MAX_MS {
            self.last_ms += 1;
            self.counter = 0;
        } else {
            return Err(IdExhausted);
        }
        let mut b = [0u8; 16];
        b[..6].copy_from_slice(&self.last_ms.to_be_bytes()[2..]);
        let hi = self.counter >> 14;
        let lo = self.counter & 0x3fff;
        b[6] = 0x70 | ((hi >> 8) as u8 & 0x0f);
        b[7] = hi as u8;
        b[8] = 0x80 | ((lo >> 8) as u8 & 0x3f);
        b[9] = lo as u8;
        b[10..].copy_from_slice(&self.device);
        Ok(Id(b))
    }
}

/// Declares a typed id: a newtype over [`Id`] naming what the id points at.
macro_rules! typed_id {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(test, derive(proptest_derive::Arbitrary))]
        pub struct $name(pub Id);

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl From<Id> for $name {
            fn from(id: Id) -> Self {
                $name(id)
            }
        }
    };
}

typed_id!(/// A [`crate::Person`].
    PersonId);
typed_id!(/// A [`crate::Municipality`].
    MunicipalityId);
typed_id!(/// An [`crate::Organisation`].
    OrganisationId);
typed_id!(/// A [`crate::Consent`] record.
    ConsentId);
typed_id!(/// An [`crate::InitiativeGroup`].
    GroupId);
typed_id!(/// A [`crate::Membership`] in an initiative group.
    MembershipId);
typed_id!(/// An [`crate::Issue`].
    IssueId);
typed_id!(/// A [`crate::Recommendation`].
    RecommendationId);
typed_id!(/// An [`crate::Event`].
    EventId);
typed_id!(/// An [`crate::Attendance`] row.
    AttendanceId);
typed_id!(/// A [`crate::Campaign`].
    CampaignId);
typed_id!(/// A [`crate::LegalAidRequest`].
    RequestId);
typed_id!(/// A [`crate::LegalCase`].
    CaseId);
typed_id!(/// A [`crate::CaseStage`] of a legal case.
    StageId);
typed_id!(/// A [`crate::Territory`] record.
    TerritoryId);

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn display_parse_round_trip() {
        let mut g = IdGen::new(42);
        let id = g.next(1_732_000_000_000).unwrap();
        let s = id.to_string();
        assert_eq!(s.len(), 36);
        assert_eq!(s.parse::<Id>().unwrap(), id);
        assert_eq!(s.replace('-', "").parse::<Id>().unwrap(), id);
        assert_eq!("zz".parse::<Id>(), Err(IdParseError::Malformed));
        assert_eq!("0123".parse::<Id>(), Err(IdParseError::Malformed));
        // the version nibble is 7 and the variant bits are 10
        assert_eq!(s.as_bytes()[14], b'7');
        assert!(matches!(s.as_bytes()[19], b'8' | b'9' | b'a' | b'b'));
    }

    #[test]
    fn monotonic_and_resumable() {
        let mut g = IdGen::new(7);
        let mut prev = Id::NIL;
        for t in [5u64, 5, 5, 4, 3, 10, 10, 2] {
            let id = g.next(t).unwrap();
            assert!(id > prev, "{id} <= {prev}");
            prev = id;
        }
        let mut r = IdGen::resume(7, prev);
        assert!(r.next(1).unwrap() > prev);
    }

    #[test]
    fn exhaustion_is_an_error_and_bad_state_does_not_decode() {
        let mut g = IdGen::new(1);
        let last = g.next(u64::MAX).unwrap();
        let mut r = IdGen::resume(
            1,
            Id({
                let mut b = last.0;
                b[6] = 0x7f;
                b[7] = 0xff;
                b[8] = 0xbf;
                b[9] = 0xff;
                b
            }),
        );
        assert_eq!(r.next(u64::MAX), Err(IdExhausted));
        let bad = postcard::to_allocvec(&(([0u8; 6]), 5u64, u32::MAX)).unwrap();
        assert!(postcard::from_bytes::<IdGen>(&bad).is_err());
        let good = postcard::to_allocvec(&g).unwrap();
        assert_eq!(postcard::from_bytes::<IdGen>(&good).unwrap(), g);
    }

    #[test]
    fn devices_never_collide() {
        let mut a = IdGen::new(1);
        let mut b = IdGen::new(2);
        assert_ne!(a.next(100).unwrap(), b.next(100).unwrap());
    }
}
