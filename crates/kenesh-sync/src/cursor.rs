//! The server cursor a device holds: opaque to the device, checked by the server.

use kenesh_proto::MAX_CURSOR;
use serde::{Deserialize, Serialize};

/// Where a peer stands in the server's log: the server's epoch (new after a restore from
/// backup), the log position served up to, and the digest of the grants it was served under.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The server's epoch.
    pub epoch: u64,
    /// How many entries of the server's serving log are covered (offered or skipped).
    pub position: u64,
    /// [`crate::Grants::digest`] of the grants it was served under.
    pub grants: [u8; 8],
    /// Non-zero while an initial snapshot is arriving: the chunks of the snapshot made at
    /// `position` the device holds (it holds nothing before `position` otherwise).
    pub snapshot: u32,
}

impl Cursor {
    /// The cursor's bytes (at most [`MAX_CURSOR`]).
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        postcard::to_allocvec(self).unwrap_or_default()
    }

    /// A cursor from its bytes; `None` when they are not one (the server then serves from
    /// the start).
    #[must_use]
    pub fn from_bytes(bytes: &[u8]) -> Option<Cursor> {
        if bytes.len() > MAX_CURSOR {
            return None;
        }
        match postcard::take_from_bytes::<Cursor>(bytes) {
            Ok((c, [])) => Some(c),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_garbage() {
        let c = Cursor {
            epoch: u64::MAX,
            position: 12345,
            grants: [7; 8],
            snapshot: 3,
        };
        let b = c.to_bytes();
        assert!(b.len() <= MAX_CURSOR);
        assert_eq!(Cursor::from_bytes(&b), Some(c));
        assert_eq!(Cursor::from_bytes(&b[..b.len() - 1]), None);
        assert_eq!(Cursor::from_bytes(&[b.as_slice(), &[0]].concat()), None);
        assert_eq!(Cursor::from_bytes(&[0xff; 65]), None);
    }
}
