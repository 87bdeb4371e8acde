//! The kiosk's own small files in the data directory: its identity and the receipt counter.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use kenesh_sync::Secret;
use rand::TryRngCore;

use crate::StartError;

/// 32 bytes from the operating system's generator.
pub(crate) fn random_bytes() -> [u8; 32] {
    let mut b = [0u8; 32];
    if rand::rngs::OsRng.try_fill_bytes(&mut b).is_err() {
        // Never seen on Linux; the time keeps two sessions' seeds apart at least.
        b[..8].copy_from_slice(&crate::now_ms().to_le_bytes());
    }
    b
}

/// Writes `bytes` to `path` durably: a temporary file synced, renamed over, the directory
/// synced.
fn write_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent()
        && let Ok(d) = File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

/// The device's secret: read from `path`, or made and written there on the first start.
pub(crate) fn load_identity(path: &Path) -> Result<Secret, StartError> {
    let err = |source| StartError::File {
        path: path.to_path_buf(),
        source,
    };
    match File::open(path) {
        Ok(mut f) => {
            let mut b = [0u8; 32];
            f.read_exact(&mut b).map_err(err)?;
            Ok(Secret::from_bytes(b))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let b = random_bytes();
            write_durably(path, &b).map_err(err)?;
            Ok(Secret::from_bytes(b))
        }
        Err(e) => Err(err(e)),
    }
}

/// The receipt counter: the last number given, kept durably in its own file, so receipts
/// stay unique across restarts and power losses (a number is written before it is shown).
#[derive(Debug)]
pub(crate) struct Counter {
    path: PathBuf,
    last: u32,
}

impl Counter {
    pub(crate) fn open(path: PathBuf) -> Result<Counter, StartError> {
        let last = match std::fs::read_to_string(&path) {
            Ok(s) => s.trim().parse().map_err(|_| StartError::File {
                path: path.clone(),
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "the receipt counter is not a number",
                ),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(source) => return Err(StartError::File { path, source }),
        };
        Ok(Counter { path, last })
    }

    /// The next number, on disk before it is returned.
    pub(crate) fn next(&mut self) -> std::io::Result<u32> {
        let n = self
            .last
            .checked_add(1)
            .ok_or_else(|| std::io::Error::other("the receipt counter is exhausted"))?;
        write_durably(&self.path, n.to_string().as_bytes())?;
        self.last = n;
        Ok(n)
    }
}
