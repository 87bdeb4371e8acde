//! A device's replica as the sync sessions see it: its own signed commits, what it received
//! from the server, the cursor, and the merged state.

use std::collections::BTreeMap;

use kenesh_merge::{Applied, Checkpoint, Hlc, HlcClock, Op, OpBuilder, State};
use kenesh_model::{PersonId, Tier};
use serde::{Deserialize, Serialize};

use crate::SyncError;
use crate::commit::SignedCommit;
use crate::identity::{PublicKeys, Secret};
use crate::keys::{KeyError, KeyId, KeyStore, MemKeys, PayloadKey};
use crate::server::OpenError;
use crate::snapshot::SnapshotError;
use crate::store::{Store, StoreError};

#[derive(Serialize, Deserialize)]
enum Rec {
    /// A commit this device made.
    /// (Byte strings as bytes, not sequences: the same encoding, read at once instead of
    /// byte by byte; a replay reads every one.)
    Own {
        #[serde(with = "serde_bytes")]
        frame: Vec<u8>,
    },
    /// A chunk received from the server: the cursor after it and its commits.
    Received {
        #[serde(with = "serde_bytes")]
        cursor: Vec<u8>,
        frames: Vec<serde_bytes::ByteBuf>,
    },
    /// The server acknowledged our seqs up to here (in an epoch).
    Acked { epoch: u64, seq: u64 },
    /// An initial snapshot begins (a previous partial one is dropped).
    SnapshotStart(SnapshotInfo),
    /// The cursor the server gave for the snapshot (where its ops end).
    SnapshotBase {
        #[serde(with = "serde_bytes")]
        cursor: Vec<u8>,
    },
    /// One decompressed piece of it.
    SnapshotPart {
        #[serde(with = "serde_bytes")]
        raw: Vec<u8>,
    },
    /// All pieces are held: load it.
    SnapshotDone,
    /// The server's receipt for our seqs up to its `seq` in its `epoch`.
    Receipt(kenesh_proto::Receipt),
}

/// What a device keeps beside its merged state in a checkpoint (the rest of what a replay
/// of its log up to the checkpoint would give it; the purge point and the shredded count
/// start again as a replay starts them).
#[derive(Serialize, Deserialize)]
struct Kept {
    format: u8,
    /// Own commits: first seq, last seq, store position.
    own: Vec<(u64, u64, u64)>,
    acked: (u64, u64),
    receipts: Vec<kenesh_proto::Receipt>,
    #[serde(with = "serde_bytes")]
    cursor: Option<Vec<u8>>,
    last_hlc: Hlc,
    stats: (u64, u64),
    key_seqs: Vec<(KeptKey, (u64, u64))>,
}

/// A key id as a checkpoint keeps it: person, tier, origin.
type KeptKey = (PersonId, Tier, u32);

const KEPT_FORMAT: u8 = 1;

impl Kept {
    /// What a device wrote: its own commits contiguous from seq 1, each at a later record
    /// than the one before and none after the checkpoint's last; no more receipts than a
    /// device keeps.
    fn check(&self, position: u64) -> Result<(), &'static str> {
        let (mut next_seq, mut last_position) = (1u64, 0u64);
        for &(first, last, at) in &self.own {
            if first != next_seq || last < first {
                return Err("own commits out of order");
            }
            if at <= last_position || at > position {
                return Err("own commits at records out of order");
            }
            // The last seq of all is never an own seq (as a replay of the log refuses it).
            next_seq = last.checked_add(1).ok_or("own seqs at their end")?;
            last_position = at;
        }
        if self.receipts.len() > MAX_RECEIPTS {
            return Err("more receipts than a device keeps");
        }
        Ok(())
    }
}

/// Why a record read back was not applied.
enum Replay {
    /// A snapshot's pieces do not make the snapshot announced (the device drops it).
    Snapshot(SnapshotError),
    /// An own commit that does not parse or whose seqs do not follow the ones before it.
    Own,
}

impl From<SnapshotError> for Replay {
    fn from(e: SnapshotError) -> Replay {
        Replay::Snapshot(e)
    }
}

/// The number of ops from which a device on a store that keeps checkpoints starts writing
/// them (and, once it has one, it goes on). Below it, a replay of the whole log opens the
/// replica within the open target (442,025 ops replay in 1.1–1.4 s on the 2-core reference
/// machine, so 40,000 in about 100 ms) and the log alone is the smaller file: a checkpoint's pages hold each op again, row by row,
/// where the log holds a snapshot in columns (the workload's S kiosk: 988 KB of record pages
/// against a 475 KB snapshot).
pub const CHECKPOINT_OPS: usize = 40_000;

/// The most receipts a device keeps (the latest of each of the last epochs); an older one
/// is dropped. It is shown only to a server restored from a backup older than it.
pub const MAX_RECEIPTS: usize = 8;

/// What a snapshot's header announced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SnapshotInfo {
    pub(crate) epoch: u64,
    pub(crate) position: u64,
    pub(crate) ops: u32,
    pub(crate) chunks: u32,
    pub(crate) raw_bytes: u64,
    pub(crate) state_hash: [u8; 32],
    /// Whether the stream is zstd-compressed (the session agreed on zstd).
    pub(crate) zstd: bool,
}

/// A snapshot arriving.
#[derive(Clone, Debug, Default)]
pub(crate) struct Partial {
    pub(crate) info: Option<SnapshotInfo>,
    pub(crate) base: Option<Vec<u8>>,
    pub(crate) parts: Vec<Vec<u8>>,
}

/// Counts a device keeps of what it received.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReceiveStats {
    /// Ops received from the server.
    pub ops: u64,
    /// Of those, ops it already held (re-sent).
    pub duplicates: u64,
}

/// One own commit: its seqs and its store position.
#[derive(Clone, Copy, Debug)]
struct OwnAt {
    first_seq: u64,
    last_seq: u64,
    position: u64,
}

/// A device's replica.
pub struct Device<S: Store> {
    pub(crate) store: S,
    pub(crate) secret: Secret,
    pub(crate) id: u32,
    pub(crate) server: PublicKeys,
    pub(crate) max_frame: usize,
    /// Where its own commits are in the store, in seq order: their frames are read back
    /// from there when sent, not kept in memory.
    own: Vec<OwnAt>,
    pub(crate) acked: (u64, u64),
    /// The server's receipts: the latest of each epoch, by epoch (at most [`MAX_RECEIPTS`]).
    receipts: Vec<kenesh_proto::Receipt>,
    pub(crate) cursor: Option<Vec<u8>>,
    pub(crate) partial: Partial,
    state: State,
    last_hlc: Hlc,
    stats: ReceiveStats,
    /// Payload keys, apart from the op store.
    keys: Box<dyn KeyStore>,
    /// Own keys with the first and the last own seq sealed with each: the key is sent with
    /// the flight holding the first, and a public kiosk may purge it once the last is
    /// confirmed.
    key_seqs: BTreeMap<KeyId, (u64, u64)>,
    /// How many erased persons' keys were shredded (the state's erased count then).
    shredded: usize,
    /// The own seq the server had acknowledged as durable when the current session began:
    /// acknowledged in an earlier session, so a public kiosk may purge up to it.
    purge_point: u64,
    /// The last record the last durable checkpoint covers (a store that keeps them).
    checkpoint_at: u64,
    /// The ops from which checkpoints are written ([`CHECKPOINT_OPS`]).
    checkpoint_from: usize,
}

impl<S: Store> core::fmt::Debug for Device<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Device")
            .field("id", &self.id)
            .field("own_seq", &self.own_seq())
            .field("acked", &self.acked)
            .finish()
    }
}

fn encode(rec: &Rec) -> Vec<u8> {
    postcard::to_allocvec(rec).unwrap_or_default()
}

impl<S: Store> Device<S> {
    /// Opens a device replica on its store, replaying it. `server` holds the server's public
    /// keys as given at enrolment.
    ///
    /// # Errors
    /// When the store fails or a record is corrupt.
    pub fn open(
        store: S,
        secret: Secret,
        id: u32,
        server: PublicKeys,
    ) -> Result<Device<S>, OpenError> {
        let mut d = Device {
            store,
            secret,
            id,
            server,
            max_frame: kenesh_proto::DEFAULT_MAX_FRAME,
            own: Vec::new(),
            acked: (0, 0),
            receipts: Vec::new(),
            cursor: None,
            partial: Partial::default(),
            state: State::new(),
            last_hlc: Hlc(0),
            stats: ReceiveStats::default(),
            keys: Box::new(MemKeys::new()),
            key_seqs: BTreeMap::new(),
            shredded: 0,
            purge_point: 0,
            checkpoint_at: 0,
            checkpoint_from: CHECKPOINT_OPS,
        };
        let mut from = 1;
        // A store that keeps pages: the state is paged, opened from the last checkpoint,
        // and only the records after it are replayed.
        if let Some(source) = d.store.pages() {
            match d.store.checkpoint()? {
                Some(saved) => {
                    let bad = |reason: String| OpenError::Checkpoint {
                        position: saved.position,
                        reason,
                    };
                    d.state =
                        State::open_paged(&saved.state, source).map_err(|e| bad(e.to_string()))?;
                    let (kept, rest): (Kept, _) = postcard::take_from_bytes(&saved.device)
                        .map_err(|e| bad(format!("the device's part: {e}")))?;
                    if !rest.is_empty() {
                        return Err(bad("the device's part: trailing bytes".into()));
                    }
                    if kept.format != KEPT_FORMAT {
                        return Err(bad(format!("unknown device format {}", kept.format)));
                    }
                    kept.check(saved.position)
                        .map_err(|what| bad(format!("the device's part: {what}")))?;
                    d.restore(kept);
                    d.checkpoint_at = saved.position;
                    from = saved.position + 1;
                }
                None => d.state = State::paged(source),
            }
        }
        loop {
            let batch = d.store.read(from, 1024)?;
            if batch.is_empty() {
                break;
            }
            for (position, bytes) in batch {
                let rec: Rec =
                    postcard::from_bytes(&bytes).map_err(|_| OpenError::Corrupt { position })?;
                if !d.apply(position, rec) {
                    return Err(OpenError::Corrupt { position });
                }
                from = position + 1;
            }
        }
        if let Some(e) = d.state.failure() {
            return Err(OpenError::Checkpoint {
                position: d.checkpoint_at,
                reason: e.to_string(),
            });
        }
        Ok(d)
    }

    /// Takes back what a checkpoint kept.
    fn restore(&mut self, k: Kept) {
        self.own = k
            .own
            .into_iter()
            .map(|(first_seq, last_seq, position)| OwnAt {
                first_seq,
                last_seq,
                position,
            })
            .collect();
        self.acked = k.acked;
        self.receipts = k.receipts;
        self.cursor = k.cursor;
        self.last_hlc = k.last_hlc;
        self.stats = ReceiveStats {
            ops: k.stats.0,
            duplicates: k.stats.1,
        };
        self.key_seqs = k
            .key_seqs
            .into_iter()
            .map(|((person, tier, origin), seqs)| {
                (
                    KeyId {
                        person,
                        tier,
                        origin,
                    },
                    seqs,
                )
            })
            .collect();
    }

    /// What a checkpoint keeps of the device beside its state.
    fn kept(&self) -> Kept {
        Kept {
            format: KEPT_FORMAT,
            own: self
                .own
                .iter()
                .map(|o| (o.first_seq, o.last_seq, o.position))
                .collect(),
            acked: self.acked,
            receipts: self.receipts.clone(),
            cursor: self.cursor.clone(),
            last_hlc: self.last_hlc,
            stats: (self.stats.ops, self.stats.duplicates),
            key_seqs: self
                .key_seqs
                .iter()
                .map(|(id, seqs)| ((id.person, id.tier, id.origin), *seqs))
                .collect(),
        }
    }

    /// Stages a checkpoint of the state and of what the device keeps beside it, when the
    /// store keeps them and records were staged since the last: the next sync makes it
    /// durable with them. Not while a snapshot is arriving (its pieces are in the log, and
    /// a replay from before it takes them up again).
    fn stage_checkpoint(&mut self) -> Result<Option<Checkpoint>, StoreError> {
        if !self.state.is_paged() {
            return Ok(None);
        }
        if let Some(e) = self.state.failure() {
            return Err(StoreError::Io(format!("the merged state: {e}")));
        }
        if self.partial.info.is_some() || self.store.staged() == self.checkpoint_at {
            return Ok(None);
        }
        if self.checkpoint_at == 0 && self.state.len() < self.checkpoint_from {
            return Ok(None);
        }
        let cp = self
            .state
            .checkpoint()
            .map_err(|e| StoreError::Io(format!("the merged state: {e}")))?;
        let kept = postcard::to_allocvec(&self.kept())
            .map_err(|e| StoreError::Io(format!("the device's part: {e}")))?;
        self.store.stage_checkpoint(&cp, kept)?;
        Ok(Some(cp))
    }

    /// Applies a record read back; `false` (and nothing applied) when it is an own commit
    /// that does not parse or whose seqs do not follow the own commits before it: the log
    /// is corrupt.
    fn apply(&mut self, position: u64, rec: Rec) -> bool {
        !matches!(self.try_apply(position, rec), Err(Replay::Own))
    }

    fn try_apply(&mut self, position: u64, rec: Rec) -> Result<(), Replay> {
        let limits = kenesh_proto::Limits::new(kenesh_proto::HARD_MAX_FRAME);
        match rec {
            Rec::Own { frame } => {
                // The ops as the parse checked them: each commit is decoded once.
                let (c, ops) = SignedCommit::parse(&frame, &limits).map_err(|_| Replay::Own)?;
                // Seqs follow on (the last of all is never reached: no commit could follow
                // it). The origin is not checked here: a store copied to a device enrolled
                // under another number opens, and the server refuses its commits as foreign.
                if self.own_seq().checked_add(1) != Some(c.first_seq()) || c.last_seq() == u64::MAX
                {
                    return Err(Replay::Own);
                }
                for op in ops {
                    self.last_hlc = self.last_hlc.max(op.envelope().hlc);
                    self.note_keys(&op);
                    self.state.apply(op);
                }
                self.own.push(OwnAt {
                    first_seq: c.first_seq(),
                    last_seq: c.last_seq(),
                    position,
                });
            }
            Rec::Received { cursor, frames } => {
                let ops = frames
                    .iter()
                    .filter_map(|f| SignedCommit::parse(f, &limits).ok())
                    .flat_map(|(_, ops)| ops)
                    .collect();
                self.take_received(cursor, ops);
            }
            Rec::Acked { epoch, seq } => self.acked = (epoch, seq),
            Rec::Receipt(r) => self.keep_receipt(r),
            Rec::SnapshotStart(info) => {
                // The server starts this device over: the old cursor no longer applies.
                self.cursor = None;
                self.partial = Partial {
                    info: Some(info),
                    base: None,
                    parts: Vec::new(),
                };
            }
            Rec::SnapshotBase { cursor } => self.partial.base = Some(cursor),
            Rec::SnapshotPart { raw } => self.partial.parts.push(raw),
            Rec::SnapshotDone => {
                let info = self
                    .partial
                    .info
                    .clone()
                    .ok_or(SnapshotError::Inconsistent("header"))?;
                let ops = Self::unpack(&self.partial.parts, &info).map_err(Replay::Snapshot)?;
                self.load(ops);
            }
        }
        Ok(())
    }

    fn unpack(parts: &[Vec<u8>], info: &SnapshotInfo) -> Result<Vec<Op>, SnapshotError> {
        let stream = parts.concat();
        let raw = if info.zstd {
            crate::snapshot::decompress_stream(&stream, info.raw_bytes)?
        } else if stream.len() as u64 == info.raw_bytes {
            stream
        } else {
            return Err(SnapshotError::Inconsistent("raw bytes"));
        };
        crate::snapshot::decode(&raw, info.ops, &info.state_hash)
    }

    /// Bulk-loads a snapshot's ops; the snapshot's cursor becomes the device's.
    fn load(&mut self, ops: Vec<Op>) {
        let partial = core::mem::take(&mut self.partial);
        for op in ops {
            self.stats.ops += 1;
            self.last_hlc = self.last_hlc.max(op.envelope().hlc);
            if self.state.apply(op) == Applied::Duplicate {
                self.stats.duplicates += 1;
            }
        }
        if let Some(base) = partial.base {
            self.cursor = Some(base);
        }
    }

    fn stage(&mut self, rec: Rec) -> Result<(), SyncError> {
        let position = self.store.stage(&encode(&rec))?;
        self.try_apply(position, rec).map_err(|e| match e {
            Replay::Snapshot(e) => SyncError::Snapshot(e),
            Replay::Own => SyncError::Commit(crate::commit::CommitError::Misplaced { index: 0 }),
        })
    }

    /// Keeps a receipt: the latest of its epoch, the epochs in order, the oldest dropped
    /// past [`MAX_RECEIPTS`].
    fn keep_receipt(&mut self, r: kenesh_proto::Receipt) {
        match self.receipts.binary_search_by_key(&r.epoch, |x| x.epoch) {
            Ok(k) if self.receipts[k].seq < r.seq => self.receipts[k] = r,
            Ok(_) => {}
            Err(k) => {
                self.receipts.insert(k, r);
                if self.receipts.len() > MAX_RECEIPTS {
                    self.receipts.remove(0);
                }
            }
        }
    }

    /// Stages a receipt the server sent, unless one of its epoch covers it; returns
    /// whether it was new (the session then syncs).
    pub(crate) fn take_receipt(&mut self, r: kenesh_proto::Receipt) -> Result<bool, SyncError> {
        let known = self
            .receipts
            .iter()
            .any(|x| x.epoch == r.epoch && x.seq >= r.seq);
        if known {
            return Ok(false);
        }
        self.stage(Rec::Receipt(r))?;
        Ok(true)
    }

    /// The receipts this device holds: the latest of each of the last [`MAX_RECEIPTS`]
    /// epochs, by epoch.
    #[must_use]
    pub fn receipts(&self) -> &[kenesh_proto::Receipt] {
        &self.receipts
    }

    /// Where a session's first flight starts: after the acknowledged seq, and after every
    /// seq an earlier epoch's receipt covers. A server restored from an older backup must see
    /// those receipts (after its Welcome) before it judges the ops they cover: sent in the
    /// first flight, they would be judged first. Above what the server holds, they leave a
    /// gap it skips, and the Welcome says where to resume.
    pub(crate) fn first_flight_after(&self) -> u64 {
        let (epoch, seq) = self.acked;
        self.receipts
            .iter()
            .filter(|r| r.epoch < epoch)
            .map(|r| r.seq)
            .fold(seq, u64::max)
            .min(self.own_seq())
    }

    /// The receipts to show a server in `epoch` that holds our seqs up to `stored_seq`:
    /// those of earlier epochs that held more.
    pub(crate) fn receipts_to_show(
        &self,
        epoch: u64,
        stored_seq: u64,
    ) -> Vec<kenesh_proto::Receipt> {
        self.receipts
            .iter()
            .filter(|r| r.epoch < epoch && r.seq > stored_seq)
            .copied()
            .collect()
    }

    /// The cursor to present in Hello: where the server left this device, or the snapshot
    /// it is part way through.
    pub(crate) fn hello_cursor(&self) -> Option<Vec<u8>> {
        if let (Some(base), false) = (&self.partial.base, self.partial.parts.is_empty())
            && let Some(mut c) = crate::Cursor::from_bytes(base)
        {
            c.snapshot = self.partial.parts.len() as u32;
            return Some(c.to_bytes());
        }
        self.cursor.clone()
    }

    pub(crate) fn snapshot_start(&mut self, info: SnapshotInfo) -> Result<(), SyncError> {
        if self.partial.info.as_ref() == Some(&info) {
            return Ok(());
        }
        self.stage(Rec::SnapshotStart(info))
    }

    pub(crate) fn snapshot_base(&mut self, cursor: Vec<u8>) -> Result<(), SyncError> {
        if self.partial.info.is_some() && self.partial.base.as_ref() != Some(&cursor) {
            self.stage(Rec::SnapshotBase { cursor })?;
        }
        Ok(())
    }

    /// Stores a piece; loads the snapshot when it is the last. Returns whether it was.
    pub(crate) fn snapshot_part(&mut self, raw: Vec<u8>) -> Result<bool, SyncError> {
        let Some(info) = self.partial.info.clone() else {
            return Err(SyncError::Unexpected("a snapshot chunk without its header"));
        };
        if self.partial.parts.len() as u32 >= info.chunks {
            return Err(SyncError::Unexpected("more snapshot chunks than announced"));
        }
        self.stage(Rec::SnapshotPart { raw })?;
        if self.partial.parts.len() as u32 == info.chunks {
            // Checked before the record that loads it is written.
            let ops = Self::unpack(&self.partial.parts, &info)?;
            self.store.stage(&encode(&Rec::SnapshotDone))?;
            self.load(ops);
            return Ok(true);
        }
        Ok(false)
    }

    /// An op builder that continues this device's seqs and clock.
    #[must_use]
    pub fn builder(&self) -> OpBuilder {
        let next = self.own_seq().saturating_add(1);
        let mut b = OpBuilder::resume(self.id, next, self.last_hlc);
        b.salt(self.salt_for(next));
        b
    }

    /// The salt of the commit starting at `first_seq` (see [`Secret::salt_for`]).
    #[must_use]
    pub fn salt_for(&self, first_seq: u64) -> [u8; 16] {
        self.secret.salt_for(first_seq)
    }

    /// Signs `ops` (made by [`Device::builder`]) as one commit, stages it and applies it.
    /// Call [`Device::sync`] to make it durable.
    ///
    /// # Errors
    /// When the ops are not this device's next ops, or the store fails.
    pub fn commit(&mut self, ops: &[Op]) -> Result<SignedCommit, SyncError> {
        let first = ops.first().map(|o| o.id());
        // The last seq of all is never used: a replay refuses it, no commit could follow.
        let at_end = ops.last().is_some_and(|o| o.id().seq == u64::MAX);
        if at_end
            || first.is_some_and(|id| {
                id.origin.0 != self.id || Some(id.seq) != self.own_seq().checked_add(1)
            })
        {
            return Err(SyncError::Commit(crate::commit::CommitError::Misplaced {
                index: 0,
            }));
        }
        let commit = SignedCommit::sign(&self.secret, ops, self.max_frame)?;
        let position = self.store.stage(&encode(&Rec::Own {
            frame: commit.frame().to_vec(),
        }))?;
        for op in ops {
            self.last_hlc = self.last_hlc.max(op.envelope().hlc);
            self.note_keys(op);
            self.state.apply(op.clone());
        }
        self.own.push(OwnAt {
            first_seq: commit.first_seq(),
            last_seq: commit.last_seq(),
            position,
        });
        Ok(commit)
    }

    /// Remembers the first and the last own seq sealed with each own key.
    fn note_keys(&mut self, op: &Op) {
        let e = op.envelope();
        if e.origin.0 != self.id || op.payload().is_none() {
            return;
        }
        for id in crate::keys::op_key_ids(op) {
            let seqs = self.key_seqs.entry(id).or_insert((e.seq, e.seq));
            seqs.1 = seqs.1.max(e.seq);
        }
    }

    /// Puts the payload keys in `keys` (a file that destroys what it removes), apart from
    /// the op store; keys of persons already erased here are shredded at once.
    ///
    /// # Errors
    /// When the key store fails.
    pub fn with_keys(mut self, keys: Box<dyn KeyStore>) -> Result<Device<S>, StoreError> {
        self.keys = keys;
        self.shredded = 0;
        self.shred_erased()?;
        self.keys.sync()?;
        Ok(self)
    }

    /// The payload keys.
    #[must_use]
    pub fn keys(&self) -> &dyn KeyStore {
        self.keys.as_ref()
    }

    /// Destroys the keys of persons erased since the last time (idempotent).
    fn shred_erased(&mut self) -> Result<(), StoreError> {
        crate::keys::shred_erased(self.keys.as_mut(), &self.state, &mut self.shredded)
    }

    /// Seals `op`'s personal and sensitive values (made by [`Device::builder`]) with this
    /// device's keys of the persons it names, making a key with `fresh_key` (32 bytes from a
    /// cryptographic random source) for each it does not hold yet. Seal every op before
    /// [`Device::commit`]: an op that names persons at tier personal or sensitive is
    /// otherwise stored and sent in the clear.
    ///
    /// # Errors
    /// [`KeyError::Erased`] for a person erased here; [`KeyError::Purged`] for a person
    /// whose key this device purged; the key store failing.
    pub fn seal(
        &mut self,
        op: Op,
        fresh_key: &mut dyn FnMut() -> [u8; crate::keys::KEY_LEN],
    ) -> Result<Op, SyncError> {
        let sealed_before = |id: &KeyId| self.key_seqs.contains_key(id);
        crate::keys::seal_own(
            self.keys.as_mut(),
            &self.state,
            self.id,
            op,
            fresh_key,
            &sealed_before,
        )
    }

    /// Opens a value read from the merged state: `op` wrote it (see
    /// [`crate::keys::open_field`]), `field` is its field. Values that are not sealed come
    /// back as they are.
    ///
    /// # Errors
    /// [`KeyError::Missing`] when its key is not held here (withheld, purged or shredded).
    pub fn open_value(
        &self,
        op: kenesh_merge::OpId,
        field: u16,
        value: &[u8],
    ) -> Result<Vec<u8>, KeyError> {
        let Some(held) = self.state.op(op) else {
            return Err(KeyError::Malformed);
        };
        let keys = &self.keys;
        crate::keys::open_field(held.envelope(), field, value, &mut |id| keys.get(id))
    }

    /// The own keys the server needs for own seqs in `(from, upto]`.
    pub(crate) fn keys_for(&self, from: u64, upto: u64) -> Vec<(KeyId, PayloadKey)> {
        self.key_seqs
            .iter()
            .filter(|(_, (first, _))| *first > from && *first <= upto)
            .filter_map(|(id, _)| Some((*id, self.keys.get(id)?)))
            .collect()
    }

    /// Keeps keys the server sent (not for persons erased here). Durable at the next sync.
    pub(crate) fn take_keys(&mut self, keys: Vec<(KeyId, PayloadKey)>) -> Result<(), StoreError> {
        for (id, key) in keys {
            if !self.state.is_erased(id.person) {
                self.keys.put(id, &key)?;
            }
        }
        Ok(())
    }

    /// A session begins: what the server acknowledged before it was reported in an earlier
    /// session, and becomes purgeable.
    pub(crate) fn session_started(&mut self) {
        self.purge_point = self.acked.1;
    }

    /// Own keys a public kiosk may destroy now: every op sealed with them was acknowledged
    /// as durable by the server in an **earlier** session than the current or last one
    /// (never on the first acknowledgement), so the server holds the payloads and the keys.
    #[must_use]
    pub fn purgeable_keys(&self) -> Vec<KeyId> {
        // A key also used after the purge point stays until those ops are confirmed.
        self.key_seqs
            .iter()
            .filter(|(id, (_, last))| *last <= self.purge_point && self.keys.get(id).is_some())
            .map(|(id, _)| *id)
            .collect()
    }

    /// Public-kiosk mode: destroys the keys of [`Device::purgeable_keys`], so the personal
    /// payloads this kiosk took can no longer be read here (the server and the peers allowed
    /// to read them keep theirs). Durable at the next sync. Returns how many.
    ///
    /// # Errors
    /// When the key store fails.
    pub fn purge(&mut self) -> Result<usize, StoreError> {
        let ids = self.purgeable_keys();
        for id in &ids {
            self.keys.remove(id)?;
        }
        self.keys.sync()?;
        Ok(ids.len())
    }

    /// Stores a chunk's commits with the cursor after them, and applies their ops (decoded
    /// once, by the session that checked them).
    pub(crate) fn receive_chunk(
        &mut self,
        cursor: Vec<u8>,
        frames: Vec<Vec<u8>>,
        ops: Vec<Op>,
    ) -> Result<(), StoreError> {
        let rec = Rec::Received {
            cursor: cursor.clone(),
            frames: frames.into_iter().map(serde_bytes::ByteBuf::from).collect(),
        };
        self.store.stage(&encode(&rec))?;
        self.take_received(cursor, ops);
        Ok(())
    }

    fn take_received(&mut self, cursor: Vec<u8>, ops: Vec<Op>) {
        // Commits served without finishing a snapshot: the server moved this device on, so
        // a snapshot left part-way is stale.
        if self.partial.info.is_some() {
            self.partial = Partial::default();
        }
        for op in ops {
            self.stats.ops += 1;
            self.last_hlc = self.last_hlc.max(op.envelope().hlc);
            if self.state.apply(op) == Applied::Duplicate {
                self.stats.duplicates += 1;
            }
        }
        self.cursor = Some(cursor);
    }

    pub(crate) fn set_acked(&mut self, epoch: u64, seq: u64) -> Result<(), StoreError> {
        if self.acked != (epoch, seq) {
            let rec = Rec::Acked { epoch, seq };
            self.store.stage(&encode(&rec))?;
            let _ = self.apply(0, rec);
        }
        Ok(())
    }

    /// Writes checkpoints from `ops` ops on ([`CHECKPOINT_OPS`] by default; 0: at every
    /// sync), on a store that keeps them.
    pub fn checkpoint_from(&mut self, ops: usize) {
        self.checkpoint_from = ops;
    }

    /// Makes staged records durable.
    ///
    /// # Errors
    /// When the store fails.
    pub fn sync(&mut self) -> Result<u64, StoreError> {
        // Keys first: no durable op is sealed with a key that is not durable, and an erasure
        // destroys its keys in the same sync that makes it durable.
        self.shred_erased()?;
        self.keys.sync()?;
        let at = self.store.staged();
        let cp = self.stage_checkpoint()?;
        let mark = self.store.sync()?;
        if let Some(cp) = cp
            && self.state.checkpointed(cp)
        {
            self.checkpoint_at = at;
        }
        Ok(mark)
    }

    /// The device number.
    #[must_use]
    pub fn id(&self) -> u32 {
        self.id
    }
    /// The highest seq it made.
    #[must_use]
    pub fn own_seq(&self) -> u64 {
        self.own.last().map_or(0, |c| c.last_seq)
    }
    /// The highest own seq the server acknowledged as durable.
    #[must_use]
    pub fn acked_seq(&self) -> u64 {
        self.acked.1
    }
    /// How many of its commits the server has not acknowledged.
    #[must_use]
    pub fn unacked_count(&self) -> usize {
        let acked = self.acked.1;
        self.own.len() - self.own.partition_point(|c| c.last_seq <= acked)
    }
    /// Its commits the server has not acknowledged, read back from the store.
    ///
    /// # Errors
    /// When the store fails or no longer holds one of them as written.
    pub fn unacked(&self) -> Result<Vec<SignedCommit>, StoreError> {
        self.own_after(self.acked.1, usize::MAX)
    }
    /// Its commits holding seqs above `from`, in order, read back from the store, up to
    /// `max_bytes` of frames with a 4-byte length prefix each (at least one commit).
    pub(crate) fn own_after(
        &self,
        from: u64,
        max_bytes: usize,
    ) -> Result<Vec<SignedCommit>, StoreError> {
        let limits = kenesh_proto::Limits::new(kenesh_proto::HARD_MAX_FRAME);
        let first = self.own.partition_point(|c| c.last_seq <= from);
        let wanted = &self.own[first..];
        let mut out: Vec<SignedCommit> = Vec::new();
        let mut bytes = 0;
        let mut i = 0;
        'runs: while i < wanted.len() {
            // A run of commits at consecutive store positions (made one after another) is
            // read in one call, so a segment is not decompressed once per commit.
            let mut run = 1;
            while i + run < wanted.len()
                && run < 256
                && wanted[i + run].position == wanted[i].position + run as u64
            {
                run += 1;
            }
            let records = self.store.read(wanted[i].position, run)?;
            for (k, at) in wanted[i..i + run].iter().enumerate() {
                let commit = records
                    .get(k)
                    .filter(|(p, _)| *p == at.position)
                    .and_then(|(_, bytes)| match postcard::from_bytes::<Rec>(bytes) {
                        Ok(Rec::Own { frame }) => SignedCommit::parse(&frame, &limits).ok(),
                        _ => None,
                    })
                    .filter(|(c, _)| c.first_seq() == at.first_seq)
                    .ok_or_else(|| {
                        StoreError::Io(format!(
                            "own commit at position {} is missing or damaged",
                            at.position
                        ))
                    })?
                    .0;
                bytes += commit.frame().len() + 4;
                if !out.is_empty() && bytes > max_bytes {
                    break 'runs;
                }
                out.push(commit);
            }
            i += run;
        }
        Ok(out)
    }
    /// The merged state.
    #[must_use]
    pub fn state(&self) -> &State {
        &self.state
    }
    /// What it received.
    #[must_use]
    pub fn stats(&self) -> ReceiveStats {
        self.stats
    }
    /// Every commit received from the server, as received (for audits, and for tests that
    /// check what a peer was sent op by op).
    ///
    /// # Errors
    /// When the store fails.
    pub fn received_commits(&self) -> Result<Vec<SignedCommit>, StoreError> {
        let limits = kenesh_proto::Limits::new(kenesh_proto::HARD_MAX_FRAME);
        let mut out = Vec::new();
        let mut from = 1;
        loop {
            let batch = self.store.read(from, 1024)?;
            let Some(last) = batch.last() else { break };
            from = last.0 + 1;
            for (_, bytes) in batch {
                if let Ok(Rec::Received { frames, .. }) = postcard::from_bytes(&bytes) {
                    out.extend(
                        frames
                            .iter()
                            .filter_map(|f| SignedCommit::from_frame(f, &limits).ok()),
                    );
                }
            }
        }
        Ok(out)
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &S {
        &self.store
    }
    /// Lets the store tidy itself while the device is idle ([`Store::tidy`]: a redb store
    /// seals its tail and compacts its file): the records, the state and what is durable
    /// stay as they are.
    ///
    /// # Errors
    /// When the store fails.
    pub fn tidy(&mut self) -> Result<(), StoreError> {
        self.store.tidy()
    }
    /// The store, to take it back (a simulated crash).
    #[must_use]
    pub fn into_store(self) -> S {
        self.store
    }
    /// The device's public keys (to enrol it).
    #[must_use]
    pub fn public(&self) -> PublicKeys {
        self.secret.public()
    }
    /// The clock the device's builder continues from.
    #[must_use]
    pub fn clock(&self) -> HlcClock {
        HlcClock::resume(self.last_hlc, kenesh_merge::DEFAULT_DRIFT_BOUND_MS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(own: Vec<(u64, u64, u64)>, receipts: usize) -> Kept {
        Kept {
            format: KEPT_FORMAT,
            own,
            acked: (0, 0),
            receipts: vec![
                kenesh_proto::Receipt {
                    epoch: 1,
                    seq: 1,
                    tag: [0; kenesh_proto::RECEIPT_TAG_LEN],
                };
                receipts
            ],
            cursor: None,
            last_hlc: Hlc(0),
            stats: (0, 0),
            key_seqs: Vec::new(),
        }
    }

    /// A checkpoint's device part holds what a device writes, or it is refused: own
    /// commits contiguous from seq 1 at later and later records up to the checkpoint's,
    /// no seq at the end of the numbers, no more receipts than a device keeps.
    #[test]
    fn a_kept_part_is_checked() {
        assert_eq!(
            kept(vec![(1, 2, 3), (3, 3, 5)], MAX_RECEIPTS).check(5),
            Ok(())
        );
        assert_eq!(kept(Vec::new(), 0).check(0), Ok(()));
        for (what, k, position) in [
            ("not from 1", kept(vec![(2, 2, 1)], 0), 5),
            ("a gap", kept(vec![(1, 1, 1), (3, 3, 2)], 0), 5),
            ("backwards", kept(vec![(1, 1, 1), (1, 1, 2)], 0), 5),
            ("last before first", kept(vec![(1, 0, 1)], 0), 5),
            ("records backwards", kept(vec![(1, 1, 2), (2, 2, 2)], 0), 5),
            ("past the checkpoint", kept(vec![(1, 1, 6)], 0), 5),
            ("at record 0", kept(vec![(1, 1, 0)], 0), 5),
            ("the end of the seqs", kept(vec![(1, u64::MAX, 1)], 0), 5),
            ("receipts", kept(Vec::new(), MAX_RECEIPTS + 1), 5),
        ] {
            assert!(k.check(position).is_err(), "{what}");
        }
    }
}
