//! A simulated disk for redb: an in-memory file that knows which writes were flushed.
//!
//! [`SimFile`] is a [`redb::StorageBackend`]. Every `write` and `set_len` lands in the
//! "page cache" (what redb reads back) and is recorded as pending; `sync_data` makes
//! everything pending durable. [`SimFile::power_loss`] returns the bytes on the platter
//! after a power loss now: the durable image, plus the pending operations a caller chooses
//! to keep, the last kept write torn to a prefix. [`SimFile::die_after`] makes the
//! simulated machine stop after a number of operations (every later one fails), so a crash
//! can be placed between any two of redb's writes.

use std::io;
use std::sync::{Arc, Mutex, MutexGuard};

/// One operation not yet flushed.
#[derive(Clone, Debug)]
enum Pending {
    Write { offset: u64, data: Vec<u8> },
    SetLen(u64),
}

#[derive(Debug, Default)]
struct Disk {
    /// What redb sees (the page cache over the platter).
    cache: Vec<u8>,
    /// The platter as of the last flush.
    platter: Vec<u8>,
    /// Operations since the last flush, in order.
    pending: Vec<Pending>,
    /// Operations left before the machine dies (`None`: it does not).
    budget: Option<u64>,
    /// Operations done (writes, set_len, flushes).
    ops: u64,
    flushes: u64,
}

/// A simulated in-memory disk for redb; clones share the same disk (keep one to inspect it
/// while redb owns another).
#[derive(Clone, Debug, Default)]
pub struct SimFile(Arc<Mutex<Disk>>);

fn apply(image: &mut Vec<u8>, op: &Pending, tear: Option<usize>) {
    match op {
        Pending::SetLen(len) => image.resize(*len as usize, 0),
        Pending::Write { offset, data } => {
            let data = &data[..tear.unwrap_or(data.len()).min(data.len())];
            let end = *offset as usize + data.len();
            if image.len() < end {
                image.resize(end, 0);
            }
            image[*offset as usize..end].copy_from_slice(data);
        }
    }
}

fn dead() -> io::Error {
    io::Error::other("simulated power loss: the machine is off")
}

impl SimFile {
    /// An empty disk.
    #[must_use]
    pub fn new() -> SimFile {
        SimFile::default()
    }

    /// A disk holding `image`, all of it durable (a machine booting after a power loss).
    #[must_use]
    pub fn from_image(image: Vec<u8>) -> SimFile {
        SimFile(Arc::new(Mutex::new(Disk {
            cache: image.clone(),
            platter: image,
            ..Disk::default()
        })))
    }

    fn disk(&self) -> MutexGuard<'_, Disk> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The machine dies after `ops` more operations (writes, length changes, flushes): every
    /// later one fails with an I/O error and changes nothing.
    pub fn die_after(&self, ops: u64) {
        self.disk().budget = Some(ops);
    }

    /// Operations done so far (writes, length changes, flushes).
    #[must_use]
    pub fn ops(&self) -> u64 {
        self.disk().ops
    }

    /// Flushes done so far.
    #[must_use]
    pub fn flushes(&self) -> u64 {
        self.disk().flushes
    }

    /// Operations done since the last flush (lost on a power loss).
    #[must_use]
    pub fn pending(&self) -> usize {
        self.disk().pending.len()
    }

    /// The bytes on the platter after a power loss now: the durable image, then the pending
    /// operations for which `keep(index)` says true, in order, the last kept write cut to
    /// `tear` bytes (a torn write). `keep = |_| false` is the strict model: everything not
    /// flushed is gone.
    #[must_use]
    pub fn power_loss(&self, keep: impl Fn(usize) -> bool, tear: usize) -> Vec<u8> {
        let d = self.disk();
        let mut image = d.platter.clone();
        let kept: Vec<&Pending> = d
            .pending
            .iter()
            .enumerate()
            .filter(|(i, _)| keep(*i))
            .map(|(_, p)| p)
            .collect();
        let last_write = kept
            .iter()
            .rposition(|p| matches!(p, Pending::Write { .. }));
        for (i, op) in kept.iter().enumerate() {
            apply(&mut image, op, (Some(i) == last_write).then_some(tear));
        }
        image
    }

    /// The size in bytes of pending write `index`, if it is a write.
    #[must_use]
    pub fn pending_write_len(&self, index: usize) -> Option<usize> {
        match self.disk().pending.get(index) {
            Some(Pending::Write { data, .. }) => Some(data.len()),
            _ => None,
        }
    }

    /// Everything as written, flushed or not (what a clean shutdown leaves).
    #[must_use]
    pub fn image(&self) -> Vec<u8> {
        self.disk().cache.clone()
    }

    fn step(d: &mut Disk) -> io::Result<()> {
        if let Some(b) = d.budget.as_mut() {
            if *b == 0 {
                return Err(dead());
            }
            *b -= 1;
        }
        d.ops += 1;
        Ok(())
    }
}

impl redb::StorageBackend for SimFile {
    fn len(&self) -> io::Result<u64> {
        Ok(self.disk().cache.len() as u64)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        let d = self.disk();
        let start = offset as usize;
        let src = d
            .cache
            .get(start..start + out.len())
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "read past the end"))?;
        out.copy_from_slice(src);
        Ok(())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        let mut d = self.disk();
        SimFile::step(&mut d)?;
        let op = Pending::SetLen(len);
        apply(&mut d.cache, &op, None);
        d.pending.push(op);
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        let mut d = self.disk();
        SimFile::step(&mut d)?;
        d.platter = d.cache.clone();
        d.pending.clear();
        d.flushes += 1;
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        let mut d = self.disk();
        SimFile::step(&mut d)?;
        let op = Pending::Write {
            offset,
            data: data.to_vec(),
        };
        apply(&mut d.cache, &op, None);
        d.pending.push(op);
        Ok(())
    }
}
