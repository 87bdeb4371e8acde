//! A device's paged state in the store's file: its pages and its last checkpoint.
//!
//! Table `pages`: (`u64` page number, `u32` piece) → the piece's bytes. A page is stored as
//! codec (1 byte: 1 = zstd) · raw length (`u32` LE) · the zstd frame of the page's bytes,
//! cut into pieces of [`PIECE`] bytes as segments are (a value over a redb page would be
//! rounded up to a power of two pages). Table `checkpoint`: `state` → the merged state's
//! meta, `device` → what the device keeps beside it; `meta`'s `checkpoint` is the last
//! record it covers. All three change in the transaction that makes the records the
//! checkpoint covers durable.

use std::sync::{Arc, RwLock};

use kenesh_merge::{PageError, PageSource};
use kenesh_sync::StoreError;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};

use crate::{PIECE, io};

pub(crate) const PAGES: TableDefinition<'_, (u64, u32), &[u8]> = TableDefinition::new("pages");
pub(crate) const CHECKPOINT: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("checkpoint");
pub(crate) const CHECKPOINT_STATE: &str = "state";
pub(crate) const CHECKPOINT_DEVICE: &str = "device";

/// The largest raw size a page may declare (a page holds one record at least, and the
/// largest record the schema allows, a set of 100,000 supporters, is far below this).
pub const MAX_PAGE_RAW: usize = 256 * 1024 * 1024;

const CODEC_ZSTD: u8 = 1;
const HEADER: usize = 5;

/// A page's bytes as the file holds them.
pub(crate) fn pack(raw: &[u8]) -> Result<Vec<u8>, StoreError> {
    let z = zstd::bulk::compress(raw, crate::segment::ZSTD_LEVEL).map_err(io)?;
    let mut out = Vec::with_capacity(HEADER + z.len());
    out.push(CODEC_ZSTD);
    out.extend_from_slice(&(raw.len() as u32).to_le_bytes());
    out.extend_from_slice(&z);
    Ok(out)
}

/// A page's bytes again; the declared size is checked before anything is allocated.
fn unpack(page: u64, bytes: &[u8]) -> Result<Vec<u8>, PageError> {
    let damaged = || PageError::Damaged(page);
    if bytes.len() < HEADER || bytes[0] != CODEC_ZSTD {
        return Err(damaged());
    }
    let raw = u32::from_le_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]) as usize;
    if raw > MAX_PAGE_RAW {
        return Err(damaged());
    }
    let out = zstd::bulk::decompress(&bytes[HEADER..], raw).map_err(|_| damaged())?;
    if out.len() != raw {
        return Err(damaged());
    }
    Ok(out)
}

/// Writes a packed page as pieces.
pub(crate) fn put(w: &WriteTransaction, page: u64, packed: &[u8]) -> Result<(), StoreError> {
    let mut t = w.open_table(PAGES).map_err(io)?;
    for (i, piece) in packed.chunks(PIECE).enumerate() {
        t.insert((page, i as u32), piece).map_err(io)?;
    }
    Ok(())
}

/// Removes a page's pieces.
pub(crate) fn remove(w: &WriteTransaction, page: u64) -> Result<(), StoreError> {
    let mut t = w.open_table(PAGES).map_err(io)?;
    let pieces: Vec<u32> = t
        .range((page, 0)..=(page, u32::MAX))
        .map_err(io)?
        .map(|e| e.map(|(k, _)| k.value().1))
        .collect::<Result<_, _>>()
        .map_err(io)?;
    for i in pieces {
        t.remove((page, i)).map_err(io)?;
    }
    Ok(())
}

/// Reads pages from the store's database (what a device's paged state reads through).
pub(crate) struct Pages {
    pub(crate) db: Arc<RwLock<Database>>,
}

impl PageSource for Pages {
    fn read(&self, page: u64) -> Result<Vec<u8>, PageError> {
        let failed = |e: &dyn std::fmt::Display| PageError::Read {
            page,
            reason: e.to_string(),
        };
        let r = self
            .db
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .begin_read()
            .map_err(|e| failed(&e))?;
        let t = match r.open_table(PAGES) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Err(PageError::Missing(page)),
            Err(e) => return Err(failed(&e)),
        };
        let limit = HEADER + zstd::zstd_safe::compress_bound(MAX_PAGE_RAW);
        let mut packed = Vec::new();
        let mut n = 0u32;
        for entry in t
            .range((page, 0)..=(page, u32::MAX))
            .map_err(|e| failed(&e))?
        {
            let (k, v) = entry.map_err(|e| failed(&e))?;
            if k.value().1 != n || packed.len() + v.value().len() > limit {
                return Err(PageError::Damaged(page));
            }
            n += 1;
            packed.extend_from_slice(v.value());
        }
        if n == 0 {
            return Err(PageError::Missing(page));
        }
        unpack(page, &packed)
    }
}
