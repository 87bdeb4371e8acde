//! The backends the contract suite runs on, each with a way to reopen it.

use kenesh_store::RedbStore;
use kenesh_sync::{MemStore, SimDisk, Store, StoreError};

/// A store the contract suite can make and reopen.
pub trait Backend: Store + Sized {
    /// A new, empty store.
    fn fresh() -> Self;
    /// The store as it is found after closing and opening it again.
    fn reopen(self) -> Self;
}

impl Backend for MemStore {
    fn fresh() -> Self {
        MemStore::new()
    }
    fn reopen(self) -> Self {
        self.clone()
    }
}

impl Backend for SimDisk {
    fn fresh() -> Self {
        SimDisk::new()
    }
    fn reopen(self) -> Self {
        SimDisk::open(self.image())
    }
}

/// A redb store in a temporary directory removed when it is dropped.
#[derive(Debug)]
pub struct TempRedb {
    store: Option<RedbStore>,
    dir: tempfile::TempDir,
}

impl TempRedb {
    pub fn store(&self) -> &RedbStore {
        self.store.as_ref().unwrap()
    }
    fn s(&mut self) -> &mut RedbStore {
        self.store.as_mut().unwrap()
    }
}

impl Backend for TempRedb {
    fn fresh() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::open(dir.path().join("kenesh.redb")).unwrap();
        TempRedb {
            store: Some(store),
            dir,
        }
    }
    fn reopen(mut self) -> Self {
        drop(self.store.take());
        self.store = Some(RedbStore::open(self.dir.path().join("kenesh.redb")).unwrap());
        self
    }
}

impl Store for TempRedb {
    fn stage(&mut self, record: &[u8]) -> Result<u64, StoreError> {
        self.s().stage(record)
    }
    fn sync(&mut self) -> Result<u64, StoreError> {
        self.s().sync()
    }
    fn durable(&self) -> u64 {
        self.store().durable()
    }
    fn staged(&self) -> u64 {
        self.store().staged()
    }
    fn read(&self, from: u64, max: usize) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        self.store().read(from, max)
    }
    fn tidy(&mut self) -> Result<(), StoreError> {
        self.s().tidy()
    }
    fn pages(&self) -> Option<std::sync::Arc<dyn kenesh_merge::PageSource>> {
        self.store().pages()
    }
    fn checkpoint(&self) -> Result<Option<kenesh_sync::Saved>, StoreError> {
        self.store().checkpoint()
    }
    fn stage_checkpoint(
        &mut self,
        cp: &kenesh_merge::Checkpoint,
        device: Vec<u8>,
    ) -> Result<(), StoreError> {
        self.s().stage_checkpoint(cp, device)
    }
}
