//! Sealed segments: a run of consecutive records compressed together with zstd.
//!
//! A segment's bytes are
//!
//! ```text
//! codec (1 byte: 1 = zstd) · count (u32 LE) · raw length (u32 LE) · zstd frame of the raw bytes
//! raw = count × record length (u32 LE) · the records' bytes, in order
//! ```
//!
//! Decoding checks the declared sizes against [`MAX_SEGMENT_RAW`] before allocating, and the
//! raw bytes against the declared count and lengths; a damaged segment is an
//! error (a `StoreError::Io` from the store), never a panic or an allocation past the limit.

use kenesh_sync::MAX_RECORD;

/// A segment is sealed when the raw bytes of its records (each with its 4-byte length)
/// reach this: 128 KiB.
pub const SEGMENT_TARGET: usize = 128 * 1024;

/// The largest raw size a segment may declare: a segment holds less than
/// [`SEGMENT_TARGET`] bytes plus its last record (at most [`MAX_RECORD`]).
pub const MAX_SEGMENT_RAW: usize = SEGMENT_TARGET + MAX_RECORD + 4;

/// The zstd level segments are compressed at.
pub const ZSTD_LEVEL: i32 = 3;

const CODEC_ZSTD: u8 = 1;
const HEADER: usize = 9;

/// A segment that does not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Corrupt(pub(crate) &'static str);

/// Packs `records` (at least one) into a segment's bytes.
pub(crate) fn seal<'a>(
    records: impl Iterator<Item = &'a [u8]> + Clone,
) -> Result<Vec<u8>, std::io::Error> {
    let count = records.clone().count();
    let raw_len: usize = records.clone().map(|r| 4 + r.len()).sum();
    let mut raw = Vec::with_capacity(raw_len);
    for r in records.clone() {
        raw.extend_from_slice(&(r.len() as u32).to_le_bytes());
    }
    for r in records {
        raw.extend_from_slice(r);
    }
    let z = zstd::bulk::compress(&raw, ZSTD_LEVEL)?;
    let mut out = Vec::with_capacity(HEADER + z.len());
    out.push(CODEC_ZSTD);
    out.extend_from_slice(&(count as u32).to_le_bytes());
    out.extend_from_slice(&(raw_len as u32).to_le_bytes());
    out.extend_from_slice(&z);
    Ok(out)
}

/// The record count a segment's header declares (checked against the limits).
pub(crate) fn count(bytes: &[u8]) -> Result<u64, Corrupt> {
    Ok(header(bytes)?.0 as u64)
}

fn header(bytes: &[u8]) -> Result<(usize, usize), Corrupt> {
    let h = bytes.get(..HEADER).ok_or(Corrupt("short header"))?;
    if h[0] != CODEC_ZSTD {
        return Err(Corrupt("unknown codec"));
    }
    let count = u32::from_le_bytes([h[1], h[2], h[3], h[4]]) as usize;
    let raw_len = u32::from_le_bytes([h[5], h[6], h[7], h[8]]) as usize;
    if raw_len > MAX_SEGMENT_RAW {
        return Err(Corrupt("declared size over the limit"));
    }
    if count == 0 || count.saturating_mul(4) > raw_len {
        return Err(Corrupt("declared count"));
    }
    Ok((count, raw_len))
}

/// A decompressed segment: its records, borrowed from the raw bytes.
#[derive(Debug)]
pub(crate) struct Unpacked {
    raw: Vec<u8>,
    count: usize,
}

impl Unpacked {
    /// Decompresses a segment's bytes and checks the record table.
    pub(crate) fn new(bytes: &[u8]) -> Result<Unpacked, Corrupt> {
        let (count, raw_len) = header(bytes)?;
        // The decompressed size is bounded by the declared size (checked above): zstd
        // refuses to write past the capacity given.
        let raw =
            zstd::bulk::decompress(&bytes[HEADER..], raw_len).map_err(|_| Corrupt("zstd frame"))?;
        if raw.len() != raw_len {
            return Err(Corrupt("raw size"));
        }
        let mut total = count * 4;
        for i in 0..count {
            total = total
                .checked_add(len_at(&raw, i))
                .ok_or(Corrupt("record lengths"))?;
        }
        if total != raw_len {
            return Err(Corrupt("record lengths"));
        }
        Ok(Unpacked { raw, count })
    }

    /// How many records it holds.
    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// Its records in order, from the `skip`th.
    pub(crate) fn records(&self, skip: usize) -> impl Iterator<Item = &[u8]> {
        let mut at = self.count * 4;
        (0..self.count).filter_map(move |i| {
            let len = len_at(&self.raw, i);
            let r = &self.raw[at..at + len];
            at += len;
            (i >= skip).then_some(r)
        })
    }
}

fn len_at(raw: &[u8], i: usize) -> usize {
    let b = &raw[i * 4..i * 4 + 4];
    u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let records: Vec<Vec<u8>> = vec![b"one".to_vec(), Vec::new(), vec![7; 5000]];
        let s = seal(records.iter().map(Vec::as_slice)).unwrap();
        assert_eq!(count(&s).unwrap(), 3);
        let u = Unpacked::new(&s).unwrap();
        assert_eq!(u.len(), 3);
        let got: Vec<&[u8]> = u.records(0).collect();
        assert_eq!(got, vec![&b"one"[..], &[][..], &[7; 5000][..]]);
        let got: Vec<&[u8]> = u.records(2).collect();
        assert_eq!(got, vec![&[7; 5000][..]]);
    }

    #[test]
    fn damage_is_an_error() {
        let records: Vec<Vec<u8>> = (0..50u8).map(|i| vec![i; i as usize * 3]).collect();
        let s = seal(records.iter().map(Vec::as_slice)).unwrap();
        // Every truncation and every single-byte change either fails or decodes to records
        // whose lengths add up (never a panic).
        for cut in 0..s.len() {
            assert!(Unpacked::new(&s[..cut]).is_err());
        }
        for i in 0..s.len() {
            for x in [1u8, 0x80, 0xff] {
                let mut d = s.clone();
                d[i] ^= x;
                if let Ok(u) = Unpacked::new(&d) {
                    assert_eq!(u.records(0).count(), u.len());
                }
            }
        }
        // A declared size over the limit is refused before anything is allocated.
        let mut big = s.clone();
        big[5..9].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            Unpacked::new(&big).unwrap_err(),
            Corrupt("declared size over the limit")
        );
        let mut none = s;
        none[1..5].copy_from_slice(&0u32.to_le_bytes());
        assert!(Unpacked::new(&none).is_err());
    }
}
