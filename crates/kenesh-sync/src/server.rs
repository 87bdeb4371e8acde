//! The server's replica: the devices it knows, the commits it holds, what it judged, and the
//! serving log that cursors index.

use std::collections::{BTreeMap, BTreeSet};

use kenesh_merge::{Action, FixedClock, Hlc, HlcClock, Op, OpId, State};
use kenesh_model::schema::{self, EntityKind};
use kenesh_model::{Id, PersonId, Purpose, Scope, Tier};
use serde::{Deserialize, Serialize};

use crate::commit::SignedCommit;
use crate::cursor::Cursor;
use crate::grants::Grants;
use crate::identity::{PublicKeys, Secret};
use crate::keys::{KeyId, KeyStore, MemKeys, PayloadKey};
use crate::store::{Store, StoreError};

/// Why the server refused an op it received (kept for audit, not applied, not forwarded).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Refusal {
    /// The writer has no write grant for the op's scope and tier.
    OutsideGrants,
    /// The op names another scope than the record's create.
    ScopeMismatch,
    /// The op declares a lower tier than its record and field have.
    TierTooLow,
    /// The device was revoked before this seq.
    Revoked,
}

/// What the server decided for one op of a commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    /// Applied and served.
    Accepted,
    /// Held until its record's create arrives.
    Held,
    /// Already held (a commit re-sent).
    Duplicate,
    /// Refused.
    Refused(Refusal),
}

/// Something a person should look at.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Alarm {
    /// The same (origin, seq) arrived with different content: a cloned kiosk image or a
    /// restored device backup. The second version was not applied.
    Equivocation {
        /// The op.
        op: OpId,
    },
    /// A commit's signature did not verify.
    BadSignature {
        /// The device that sent it.
        device: u32,
    },
    /// A device sent a commit made by another device (a replay).
    ForeignCommit {
        /// The device that sent it.
        device: u32,
        /// The commit's origin.
        origin: u32,
    },
    /// An op's timestamp was more than the drift bound ahead of the server's clock: accepted,
    /// the server's clock not moved; the device's clock needs a look.
    ClockAhead {
        /// The device.
        device: u32,
        /// The timestamp.
        hlc: Hlc,
    },
    /// An op was refused.
    Refused {
        /// The op.
        op: OpId,
        /// Why.
        why: Refusal,
    },
}

/// Why a commit was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// The sender is not the commit's origin.
    #[error("device {device} sent a commit made by device {origin}")]
    ForeignCommit {
        /// The sender.
        device: u32,
        /// The origin.
        origin: u32,
    },
    /// The signature did not verify.
    #[error("the commit's signature does not verify")]
    BadSignature,
    /// Seqs would skip: the server expects `expected` next.
    #[error("seq gap: the server expects seq {expected} next")]
    SeqGap {
        /// The next seq the server expects.
        expected: u64,
    },
    /// An op already held arrived with other content.
    #[error("op {0:?} arrived again with other content (cloned device?)")]
    Equivocation(OpId),
    /// The device is unknown.
    #[error("device {0} is not enrolled")]
    UnknownDevice(u32),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Server settings.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The epoch of a new server log (a restore from backup starts a new one).
    pub epoch: u64,
    /// The server's own device number, for the ops it makes itself.
    pub device: u32,
    /// The largest frame sent. Frames are accepted up to the larger of this and
    /// [`kenesh_proto::DEFAULT_MAX_FRAME`]: version 1 does not negotiate the max frame, so a
    /// device sends frames up to the default (PROTOCOL.md §10.10).
    pub max_frame: usize,
    /// Chunks sent ahead of the peer's acknowledgements.
    pub window: u32,
    /// zstd level for chunks, where both sides speak zstd.
    pub zstd_level: i32,
    /// zstd level for snapshots (made once per grants and cached, so a slow level pays).
    pub snapshot_zstd_level: i32,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            epoch: 1,
            device: 1,
            max_frame: kenesh_proto::DEFAULT_MAX_FRAME,
            window: 8,
            zstd_level: 3,
            snapshot_zstd_level: SNAPSHOT_ZSTD_LEVEL,
        }
    }
}

/// What the server knows of a device.
#[derive(Clone, Debug)]
pub struct DeviceInfo {
    /// Its public keys.
    pub keys: PublicKeys,
    /// Its grants now.
    pub grants: Grants,
    /// Every grant set it held, by digest (to backfill what a change adds).
    pub(crate) history: BTreeMap<[u8; 8], Grants>,
    /// The grants its ops are judged under, by seq: an entry applies to the seqs above its
    /// `after` up to the next entry's. Ascending; the last entry is [`DeviceInfo::grants`].
    pub(crate) timeline: Vec<Judging>,
    /// The [`Receipt`](kenesh_proto::Receipt)s of lost epochs it showed that raised a
    /// boundary: epoch → the highest seq that epoch held of it.
    pub receipts: BTreeMap<u64, u64>,
    /// Seqs from here on are refused.
    pub revoked_from: Option<u64>,
    /// The highest seq whose receipt of the current epoch it showed back, having kept it
    /// durably: its ops up to here are served to others ([`Server::take_receipt`]).
    pub confirmed: u64,
    /// The highest seq held (staged), contiguous from 1.
    pub seq: u64,
    /// (log position, last seq) of each commit record, to find the durable seq.
    marks: Vec<(u64, u64)>,
    /// For a third-party recipient (a partner organisation): the purposes its use of the
    /// data falls under. It receives a person's personal and sensitive payloads (and their
    /// keys) only where the person's consent covers one of them. `None` for the
    /// programme's own devices.
    pub purposes: Option<Vec<Purpose>>,
}

/// One entry of a device's grant timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Judging {
    /// The highest seq judged under the entry before.
    pub(crate) after: u64,
    /// The grants of the seqs above it.
    pub(crate) grants: Grants,
    /// The server epoch the change was made in.
    pub(crate) epoch: u64,
}

impl DeviceInfo {
    /// The grants an op of this device with `seq` is judged under: those in force when the
    /// server received it (the grants of the change whose boundary is below it).
    #[must_use]
    pub fn grants_for(&self, seq: u64) -> &Grants {
        self.timeline
            .iter()
            .rev()
            .find(|j| j.after < seq)
            .map_or(&crate::grants::NO_GRANTS, |j| &j.grants)
    }

    /// The boundary of the last grant change: seqs above it are judged under
    /// [`DeviceInfo::grants`].
    #[must_use]
    pub fn last_boundary(&self) -> u64 {
        self.timeline.last().map_or(0, |j| j.after)
    }

    /// Whether a receipt of `epoch` for `seq` raises a boundary: a change made in a later
    /// epoch (after that epoch was lost) whose boundary lies below `seq`. The first entry
    /// (the enrolment: no op of the device comes before it) is never raised, whatever epoch
    /// it was recorded in (a restore enrols anew a device the backup did not know).
    fn raised_by(&self, epoch: u64, seq: u64) -> bool {
        self.timeline
            .iter()
            .skip(1)
            .any(|j| j.epoch > epoch && j.after < seq)
    }

    /// Raises to `seq` the boundary of every change made after `epoch` (the enrolment
    /// aside): the ops up to `seq` were held in `epoch`, before those changes were made, so
    /// they are judged under the grants `epoch` judged them by.
    fn raise(&mut self, epoch: u64, seq: u64) {
        for j in self.timeline.iter_mut().skip(1) {
            if j.epoch > epoch && j.after < seq {
                j.after = seq;
            }
        }
        let held = self.receipts.entry(epoch).or_insert(0);
        *held = (*held).max(seq);
    }

    /// Where a change made now takes effect: above every seq the server holds, and never
    /// below an earlier change's boundary (one re-applied after a restore may lie above what
    /// the restored server holds).
    fn next_boundary(&self) -> u64 {
        self.last_boundary().max(self.seq)
    }

    fn change_grants(&mut self, after: u64, grants: Grants, epoch: u64) {
        let after = after.max(self.last_boundary());
        let entries = self.timeline.len();
        match self.timeline.last_mut() {
            // A change at the same boundary in the same epoch supersedes the last (it judged
            // no seq). One of another epoch does not: a receipt may raise one and not the
            // other.
            // The enrolment (the first entry) is never merged into: it never moves.
            Some(j) if j.after == after && j.epoch == epoch && entries > 1 => {
                j.grants = grants.clone();
            }
            _ => self.timeline.push(Judging {
                after,
                grants: grants.clone(),
                epoch,
            }),
        }
        self.history.insert(grants.digest(), grants.clone());
        self.grants = grants;
    }
}

/// A change of a device's grants, as the server recorded it: the grants judge the device's
/// ops with seqs above `after_seq` (those the server had not received when the change was
/// made). Returned by [`Server::set_grants`] for the operator to keep apart from the store's
/// backups (as the key file is): after [`Server::restore`], the changes made since the backup
/// are re-applied with [`Server::reapply_grants`], so an op the lost epoch accepted and its
/// origin re-sends is judged as it was then, and every replica that received it converges.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantChange {
    /// The device.
    pub device: u32,
    /// The highest seq judged under the grants before.
    pub after_seq: u64,
    /// Its grants from then on.
    pub grants: Grants,
    /// The server epoch the change was made in (a change re-applied after a restore keeps
    /// the epoch it was made in).
    pub epoch: u64,
}

/// Why the server did not take a [`Receipt`](kenesh_proto::Receipt).
#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    /// Its tag is not this server's for this device, epoch and seq.
    #[error("a receipt this server did not issue")]
    Forged,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Serialize, Deserialize)]
enum Rec {
    Enrol {
        device: u32,
        keys: PublicKeys,
        grants: Grants,
    },
    SetGrants {
        device: u32,
        grants: Grants,
    },
    Revoke {
        device: u32,
        from_seq: u64,
    },
    Epoch {
        epoch: u64,
    },
    Commit {
        /// As bytes (the encoding of a sequence of bytes, read at once).
        #[serde(with = "serde_bytes")]
        frame: Vec<u8>,
        verdicts: Vec<Verdict>,
    },
    Release {
        accepted: Vec<OpId>,
        refused: Vec<(OpId, Refusal)>,
    },
    /// A device becomes a third-party recipient for these purposes (or stops being one).
    Purposes {
        device: u32,
        purposes: Option<Vec<Purpose>>,
    },
    /// A grant change with the seq it takes effect after (`SetGrants` took effect after the
    /// seq held when it was applied; a store written before this record keeps meaning that).
    Grants(GrantChange),
    /// A device showed a receipt of a lost epoch that raised boundaries
    /// ([`DeviceInfo::receipts`]).
    Receipt {
        device: u32,
        epoch: u64,
        seq: u64,
    },
    /// From here on, an accepted op is served to others only once its origin has shown
    /// back the receipt covering it (a store written before this record served at once).
    Gated,
    /// A device showed back the current epoch's receipt for `seq`, kept durably: its
    /// accepted ops up to `seq` join the serving log here.
    Confirmed {
        device: u32,
        seq: u64,
    },
}

/// One entry of the serving log: an accepted op, at the store position that made it
/// accepted.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Served {
    pub(crate) position: u64,
    pub(crate) op: OpId,
}

/// A scope's snapshot made for one set of grants, cached until the log moves on.
#[derive(Debug)]
pub(crate) struct CachedSnapshot {
    pub(crate) epoch: u64,
    /// The serving-log length it covers.
    pub(crate) position: usize,
    /// The first scope it covers, as (kind byte, id).
    pub(crate) scope: (u8, [u8; 16]),
    /// The highest tier whose payloads it carries in that scope.
    pub(crate) tier: u8,
    pub(crate) records: u32,
    pub(crate) ops: u32,
    pub(crate) hash: [u8; 32],
    /// The columns, and the same as one zstd stream.
    pub(crate) raw: Vec<u8>,
    pub(crate) zstd: Vec<u8>,
    /// The keys its payloads are sealed with (sent beside it to peers taking keys).
    pub(crate) key_ids: Vec<crate::keys::KeyId>,
}

impl CachedSnapshot {
    /// The stream sent: compressed where the peer speaks zstd.
    pub(crate) fn stream(&self, zstd: bool) -> &[u8] {
        if zstd { &self.zstd } else { &self.raw }
    }
}

/// The consent record's fields the server reads (kenesh-model's `CONSENT_SCHEMA`).
const CONSENT_PERSON: u16 = 1;
const CONSENT_PURPOSES: u16 = 2;
const CONSENT_WITHDRAWN_AT: u16 = 5;

/// Who a third-party recipient may receive personal data of: the purposes of its use, and
/// what each person's consents cover when its session began.
#[derive(Clone, Debug)]
pub(crate) struct ConsentFilter {
    purposes: Vec<Purpose>,
    covered: BTreeMap<PersonId, Vec<Purpose>>,
}

impl ConsentFilter {
    /// Whether an op's payload may go to the recipient: public ones, and ones whose every
    /// named person consented to one of its purposes.
    pub(crate) fn allows(&self, op: &Op) -> bool {
        let e = op.envelope();
        if e.tier == Tier::Public || e.persons.is_empty() {
            return true;
        }
        e.persons.iter().all(|p| {
            self.covered
                .get(p)
                .is_some_and(|c| c.iter().any(|x| self.purposes.contains(x)))
        })
    }
}

/// The default zstd level of snapshots: made once and served to every new kiosk of the scope,
/// so worth a slow level.
pub const SNAPSHOT_ZSTD_LEVEL: i32 = 19;

/// The server's replica.
pub struct Server<S: Store> {
    pub(crate) store: S,
    pub(crate) secret: Secret,
    pub(crate) config: ServerConfig,
    pub(crate) devices: BTreeMap<u32, DeviceInfo>,
    by_noise: BTreeMap<[u8; 32], u32>,
    /// (epoch, serving-log length when it began).
    epochs: Vec<(u64, u64)>,
    commits: BTreeMap<u64, SignedCommit>,
    /// Each commit's salt, by position.
    salts: BTreeMap<u64, [u8; 16]>,
    /// Where each op's bytes are: (commit position, index).
    where_op: BTreeMap<OpId, (u64, u32)>,
    digests: BTreeMap<OpId, [u8; 32]>,
    pub(crate) served: Vec<Served>,
    /// Whether accepted ops wait for their origin's confirmation before they are served
    /// (`Rec::Gated`).
    gated: bool,
    /// Accepted ops not served yet: their origin has not confirmed holding a receipt that
    /// covers them.
    unconfirmed: BTreeSet<OpId>,
    /// The scope of each created record.
    records: BTreeMap<(u16, Id), Scope>,
    held: BTreeMap<(u16, Id), Vec<OpId>>,
    state: State,
    clock: HlcClock,
    alarms: Vec<Alarm>,
    snapshots: BTreeMap<[u8; 8], std::sync::Arc<CachedSnapshot>>,
    /// Payload keys, apart from the op store.
    keys: Box<dyn KeyStore>,
    /// The state's erased count when keys were last shredded.
    shredded: usize,
}

impl<S: Store> core::fmt::Debug for Server<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Server")
            .field("epoch", &self.epoch())
            .field("devices", &self.devices.len())
            .field("ops", &self.where_op.len())
            .field("served", &self.served.len())
            .finish()
    }
}

/// Why a server could not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A record in the log does not decode.
    #[error("log record {position} is corrupt")]
    Corrupt {
        /// Its position.
        position: u64,
    },
    /// The last checkpoint does not open (a device on a store that keeps them).
    #[error("the checkpoint covering records up to {position} does not open: {reason}")]
    Checkpoint {
        /// The last record it covers.
        position: u64,
        /// Why.
        reason: String,
    },
}

fn encode(rec: &Rec) -> Vec<u8> {
    postcard::to_allocvec(rec).unwrap_or_default()
}

fn expected_tier(kind: u16, field: u16) -> Option<Tier> {
    let k = EntityKind::from_code(kind)?;
    let e = schema::entity(k);
    let field_tier = e.field(field).map_or(Tier::Public, |f| f.tier);
    Some(e.default_tier.max(field_tier))
}

impl<S: Store> Server<S> {
    /// Opens the server's replica on a store, replaying what it holds (a new store gets the
    /// configured epoch).
    ///
    /// # Errors
    /// When the store fails or holds a record this build cannot read.
    pub fn open(store: S, secret: Secret, config: ServerConfig) -> Result<Server<S>, OpenError> {
        let mut s = Server {
            store,
            secret,
            config,
            devices: BTreeMap::new(),
            by_noise: BTreeMap::new(),
            epochs: Vec::new(),
            commits: BTreeMap::new(),
            salts: BTreeMap::new(),
            where_op: BTreeMap::new(),
            digests: BTreeMap::new(),
            served: Vec::new(),
            gated: false,
            unconfirmed: BTreeSet::new(),
            records: BTreeMap::new(),
            held: BTreeMap::new(),
            state: State::new(),
            clock: HlcClock::new(),
            alarms: Vec::new(),
            snapshots: BTreeMap::new(),
            keys: Box::new(MemKeys::new()),
            shredded: 0,
        };
        let mut from = 1;
        loop {
            let batch = s.store.read(from, 1024)?;
            if batch.is_empty() {
                break;
            }
            for (position, bytes) in batch {
                let rec: Rec =
                    postcard::from_bytes(&bytes).map_err(|_| OpenError::Corrupt { position })?;
                s.apply(position, rec);
                from = position + 1;
            }
        }
        if s.epochs.is_empty() {
            let epoch = s.config.epoch;
            s.record(Rec::Epoch { epoch })?;
            let (device, keys) = (s.config.device, s.secret.public());
            s.record(Rec::Enrol {
                device,
                keys,
                grants: Grants::none(),
            })?;
        }
        if !s.gated {
            // A new store, or one written before serving waited for confirmations: from here
            // on it does.
            s.record(Rec::Gated)?;
        }
        if s.store.staged() > s.store.durable() {
            s.store.sync()?;
        }
        Ok(s)
    }

    /// Restores the server from a backup of its store: opens it and starts a new epoch, so
    /// cursors handed out after the backup are recognised and served from the fork.
    ///
    /// # Errors
    /// As [`Server::open`].
    pub fn restore(
        store: S,
        secret: Secret,
        config: ServerConfig,
        epoch: u64,
    ) -> Result<Server<S>, OpenError> {
        let mut s = Server::open(store, secret, config)?;
        s.record(Rec::Epoch { epoch })?;
        s.sync()?;
        Ok(s)
    }

    fn record(&mut self, rec: Rec) -> Result<u64, StoreError> {
        let position = self.store.stage(&encode(&rec))?;
        self.apply(position, rec);
        Ok(position)
    }

    /// Where a grant change for `device` made now takes effect (0 for a device not enrolled).
    fn next_boundary(&self, device: u32) -> u64 {
        self.devices
            .get(&device)
            .map_or(0, DeviceInfo::next_boundary)
    }

    /// Enrols a device with its public keys and grants (or re-keys and re-grants one: the
    /// grants then take effect as with [`Server::set_grants`]). Returns the grants as a
    /// change with its boundary, for the operator's log.
    ///
    /// # Errors
    /// When the store fails.
    pub fn enrol(
        &mut self,
        device: u32,
        keys: PublicKeys,
        grants: Grants,
    ) -> Result<GrantChange, StoreError> {
        let after_seq = self.next_boundary(device);
        self.record(Rec::Enrol {
            device,
            keys,
            grants: grants.clone(),
        })?;
        self.sync()?;
        Ok(GrantChange {
            device,
            after_seq,
            grants,
            epoch: self.epoch(),
        })
    }

    /// Changes a device's grants; its next session backfills what the change adds. The ops
    /// the server holds from it were judged under the grants before, and stay so; its ops
    /// received from now on are judged under these. Returns the change as recorded, for the
    /// operator's log of changes kept apart from backups ([`GrantChange`]).
    ///
    /// # Errors
    /// When the store fails.
    pub fn set_grants(&mut self, device: u32, grants: Grants) -> Result<GrantChange, StoreError> {
        let after_seq = self.next_boundary(device);
        let change = GrantChange {
            device,
            after_seq,
            grants,
            epoch: self.epoch(),
        };
        self.record(Rec::Grants(change.clone()))?;
        self.sync()?;
        Ok(change)
    }

    /// Re-applies a change recorded by [`Server::set_grants`] before a restore from backup
    /// lost it, with its boundary: the device's ops up to `after_seq` are judged under the
    /// grants before it, as the lost epoch judged them, whenever they arrive again. Apply the
    /// changes in the order they were made; a change whose boundary lies below the device's
    /// last one is already held or superseded, and is skipped, so the whole log of changes
    /// may be re-applied (so is one for a device the server does not know). Returns whether
    /// it was applied.
    ///
    /// # Errors
    /// When the store fails.
    pub fn reapply_grants(&mut self, change: &GrantChange) -> Result<bool, StoreError> {
        match self.devices.get(&change.device) {
            // Not the last change it holds (re-applying it would change nothing). An earlier
            // one that is held again at the last boundary is applied again: the changes
            // after it in the log follow, so the grants end as the log leaves them.
            Some(d)
                if change.after_seq >= d.last_boundary()
                    && d.timeline.last().is_none_or(|j| {
                        (j.after, j.epoch, &j.grants)
                            != (change.after_seq, change.epoch, &change.grants)
                    }) => {}
            _ => return Ok(false),
        }
        self.record(Rec::Grants(change.clone()))?;
        self.sync()?;
        Ok(true)
    }

    /// The receipt for `device` holding its ops up to `seq` in the current epoch
    /// (PROTOCOL.md §5.12): a MAC with a key derived from the server's secret over the
    /// device, the epoch and the seq.
    #[must_use]
    pub fn receipt(&self, device: u32, seq: u64) -> kenesh_proto::Receipt {
        let epoch = self.epoch();
        kenesh_proto::Receipt {
            epoch,
            seq,
            tag: self.secret.receipt_tag(device, epoch, seq),
        }
    }

    /// Takes a receipt `device` shows (PROTOCOL.md §5.12, §10.5). Returns whether it changed
    /// anything (the change is then recorded, staged).
    ///
    /// - One of the **current** epoch is the device's confirmation that it keeps the receipt
    ///   durably: its accepted ops up to the receipt's seq join the serving log. Until then
    ///   they are served to no one, so every op another replica receives is covered by a
    ///   receipt its origin holds, and survives a restore from an older backup (below).
    /// - One of an **earlier** epoch, for more than a later epoch held (a restore from an
    ///   older backup lost the rest): the ops up to its seq were held before any grant change
    ///   made since, so every such change's boundary is raised to it. The device's re-sent
    ///   ops are judged as the lost epoch judged them, and every replica that received them
    ///   there converges.
    ///
    /// A receipt that moves nothing changes nothing.
    ///
    /// # Errors
    /// [`ReceiptError::Forged`] when the tag is not this server's for it (nothing changes);
    /// the store's error.
    pub fn take_receipt(
        &mut self,
        device: u32,
        receipt: &kenesh_proto::Receipt,
    ) -> Result<bool, ReceiptError> {
        let tag = self.secret.receipt_tag(device, receipt.epoch, receipt.seq);
        // Compared without an early exit.
        if tag
            .iter()
            .zip(receipt.tag.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            != 0
        {
            return Err(ReceiptError::Forged);
        }
        let Some(d) = self.devices.get(&device) else {
            return Ok(false);
        };
        let rec = if receipt.epoch == self.epoch() {
            // Issued in this epoch for what it held (no more than it holds now).
            let seq = receipt.seq.min(d.seq);
            (seq > d.confirmed).then_some(Rec::Confirmed { device, seq })
        } else {
            (receipt.epoch < self.epoch() && d.raised_by(receipt.epoch, receipt.seq)).then_some(
                Rec::Receipt {
                    device,
                    epoch: receipt.epoch,
                    seq: receipt.seq,
                },
            )
        };
        let Some(rec) = rec else { return Ok(false) };
        self.record(rec)?;
        Ok(true)
    }

    /// Serves `device`'s accepted ops up to the seq it holds at once, without waiting for
    /// its confirmation: for a peer that does not take receipts (`Caps::RECEIPTS`), which
    /// can show none back. (Such a device's ops keep the limit receipts close: RELIABILITY.md.)
    pub(crate) fn serve_unconfirmed(&mut self, device: u32) -> Result<(), StoreError> {
        let Some(d) = self.devices.get(&device) else {
            return Ok(());
        };
        if self.gated && d.seq > d.confirmed {
            let seq = d.seq;
            self.record(Rec::Confirmed { device, seq })?;
        }
        Ok(())
    }

    /// Makes a device a third-party recipient whose use falls under `purposes` (`None`: one
    /// of the programme's own devices again). From its next session on, it is served a
    /// person's personal and sensitive payloads, and their keys, only where the person's
    /// consent (not withdrawn) covers one of those purposes; the envelopes still go.
    ///
    /// # Errors
    /// When the store fails.
    pub fn set_purposes(
        &mut self,
        device: u32,
        purposes: Option<Vec<Purpose>>,
    ) -> Result<(), StoreError> {
        self.record(Rec::Purposes { device, purposes })?;
        self.sync()?;
        Ok(())
    }

    /// The consent filter for a recipient: `None` for the programme's own devices.
    pub(crate) fn consent_filter(&self, device: u32) -> Option<ConsentFilter> {
        let purposes = self.devices.get(&device)?.purposes.clone()?;
        Some(ConsentFilter {
            purposes,
            covered: self.consents(),
        })
    }

    /// What each person's consents cover now: the purposes of their consents not
    /// withdrawn. Consent records are sealed: the server opens them with the keys it holds
    /// (a consent it cannot open covers nothing).
    fn consents(&self) -> BTreeMap<PersonId, Vec<Purpose>> {
        use kenesh_merge::FieldValue;
        let open = |op: OpId, field: u16, v: &[u8]| -> Option<Vec<u8>> {
            let e = self.state.envelope(op)?;
            crate::keys::open_field(&e, field, v, &mut |id| self.keys.get(id)).ok()
        };
        let register = |id: Id, field: u16| -> Option<Vec<u8>> {
            match self.state.field(EntityKind::Consent, id, field)? {
                FieldValue::Register {
                    value: Some(v), op, ..
                } => open(op, field, &v),
                _ => None,
            }
        };
        let mut out: BTreeMap<PersonId, Vec<Purpose>> = BTreeMap::new();
        for r in self.state.records(EntityKind::Consent) {
            if r.tombstoned {
                continue;
            }
            let Some(person) = register(r.id, CONSENT_PERSON)
                .and_then(|b| postcard::from_bytes::<PersonId>(&b).ok())
            else {
                continue;
            };
            let withdrawn = register(r.id, CONSENT_WITHDRAWN_AT)
                .and_then(|b| postcard::from_bytes::<Option<kenesh_model::Timestamp>>(&b).ok())
                .is_none_or(|w| w.is_some());
            if withdrawn {
                continue;
            }
            let covers = out.entry(person).or_default();
            for (v, ops) in self
                .state
                .set_adds(EntityKind::Consent, r.id, CONSENT_PURPOSES)
            {
                let purpose = ops
                    .first()
                    .and_then(|op| open(*op, CONSENT_PURPOSES, &v))
                    .and_then(|b| postcard::from_bytes::<Purpose>(&b).ok());
                if let Some(p) = purpose
                    && !covers.contains(&p)
                {
                    covers.push(p);
                }
            }
        }
        out
    }

    /// Revokes a device from `from_seq` on: later ops are refused, and it is served nothing.
    ///
    /// # Errors
    /// When the store fails.
    pub fn revoke(&mut self, device: u32, from_seq: u64) -> Result<(), StoreError> {
        self.record(Rec::Revoke { device, from_seq })?;
        self.sync()?;
        Ok(())
    }

    /// Commits ops the server made itself (its own device number; not judged). Staged:
    /// call [`Server::sync`] to make them durable.
    ///
    /// # Errors
    /// When the ops do not form a commit or the store fails.
    pub fn commit_local(
        &mut self,
        ops: &[Op],
        now_ms: u64,
    ) -> Result<SignedCommit, crate::SyncError> {
        let commit = SignedCommit::sign(&self.secret, ops, self.config.max_frame)?;
        self.ingest(self.config.device, &commit, now_ms)?;
        Ok(commit)
    }

    /// The next seq for the server's own ops, and the newest timestamp it made or saw (to
    /// resume its op builder).
    #[must_use]
    pub fn next_local(&self) -> (u64, Hlc) {
        let seq = self.devices.get(&self.config.device).map_or(0, |d| d.seq);
        (seq + 1, self.clock.last())
    }

    /// An op builder for the server's own ops: its device number, next seq, clock and salt.
    #[must_use]
    pub fn builder(&self) -> kenesh_merge::OpBuilder {
        let (seq, hlc) = self.next_local();
        let mut b = kenesh_merge::OpBuilder::resume(self.config.device, seq, hlc);
        b.salt(self.secret.salt_for(seq));
        b
    }

    /// Makes staged records durable (one disk sync for every session waiting).
    ///
    /// # Errors
    /// When the store fails.
    pub fn sync(&mut self) -> Result<u64, StoreError> {
        // Keys first: an erasure destroys its keys in the sync that makes it durable, and a
        // commit is never acknowledged before the keys that came with it are durable.
        self.shred_erased()?;
        self.keys.sync()?;
        self.store.sync()
    }

    /// Puts the payload keys in `keys` (a file that destroys what it removes), apart from
    /// the op store; keys of persons already erased are shredded at once.
    ///
    /// # Errors
    /// When the key store fails.
    pub fn with_keys(mut self, keys: Box<dyn KeyStore>) -> Result<Server<S>, StoreError> {
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

    fn shred_erased(&mut self) -> Result<(), StoreError> {
        crate::keys::shred_erased(self.keys.as_mut(), &self.state, &mut self.shredded)
    }

    /// Keeps the keys `device` sent: its own (origin = the device), not of erased persons;
    /// the first key of an id stays. Durable at the next sync.
    ///
    /// # Errors
    /// [`IngestError::ForeignCommit`] for a key of another origin (nothing kept); the key
    /// store failing.
    pub(crate) fn take_keys(
        &mut self,
        device: u32,
        keys: Vec<(KeyId, PayloadKey)>,
    ) -> Result<(), IngestError> {
        if let Some((id, _)) = keys.iter().find(|(id, _)| id.origin != device) {
            self.alarms.push(Alarm::ForeignCommit {
                device,
                origin: id.origin,
            });
            return Err(IngestError::ForeignCommit {
                device,
                origin: id.origin,
            });
        }
        for (id, key) in keys {
            if !self.state.is_erased(id.person) {
                self.keys.put(id, &key)?;
            }
        }
        Ok(())
    }

    /// The keys held among `ids` (not shredded), for a peer that may read their payloads.
    pub(crate) fn keys_of(&self, ids: &[KeyId]) -> Vec<(KeyId, PayloadKey)> {
        ids.iter()
            .filter_map(|id| Some((*id, self.keys.get(id)?)))
            .collect()
    }

    /// Seals the server's own op (see [`crate::Device::seal`]) before
    /// [`Server::commit_local`].
    ///
    /// # Errors
    /// [`crate::KeyError::Erased`] for an erased person; the key store failing.
    pub fn seal(
        &mut self,
        op: Op,
        fresh_key: &mut dyn FnMut() -> [u8; crate::keys::KEY_LEN],
    ) -> Result<Op, crate::SyncError> {
        // The server never purges: no id was sealed with and then lost.
        crate::keys::seal_own(
            self.keys.as_mut(),
            &self.state,
            self.config.device,
            op,
            fresh_key,
            &|_| false,
        )
    }

    /// The current epoch.
    #[must_use]
    pub fn epoch(&self) -> u64 {
        self.epochs.last().map_or(0, |e| e.0)
    }

    /// The server's public keys (its Noise key is what devices are given at enrolment).
    #[must_use]
    pub fn public(&self) -> PublicKeys {
        self.secret.public()
    }

    /// The merged state.
    #[must_use]
    pub fn state(&self) -> &State {
        &self.state
    }

    /// What needs a person's look.
    #[must_use]
    pub fn alarms(&self) -> &[Alarm] {
        &self.alarms
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The store, mutably (to inject faults in tests).
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// The store, to take it back (a simulated crash).
    #[must_use]
    pub fn into_store(self) -> S {
        self.store
    }

    /// A device's record.
    #[must_use]
    pub fn device(&self, device: u32) -> Option<&DeviceInfo> {
        self.devices.get(&device)
    }

    /// Accepted ops not served to anyone yet: their origin has not shown back a receipt
    /// covering them (a device that never syncs again, or was revoked first, leaves its
    /// ops here).
    #[must_use]
    pub fn unconfirmed(&self) -> usize {
        self.unconfirmed.len()
    }

    /// Ops held until their record's create arrives.
    #[must_use]
    pub fn held(&self) -> usize {
        self.held.values().map(Vec::len).sum()
    }

    pub(crate) fn device_by_noise(&self, key: &[u8; 32]) -> Option<u32> {
        self.by_noise.get(key).copied()
    }

    /// The highest seq of `device` held durably.
    #[must_use]
    pub fn durable_seq(&self, device: u32) -> u64 {
        let durable = self.store.durable();
        self.devices.get(&device).map_or(0, |d| {
            d.marks
                .iter()
                .take_while(|(p, _)| *p <= durable)
                .map(|(_, s)| *s)
                .max()
                .unwrap_or(0)
        })
    }

    /// How far the serving log is durable (cursors never step past it).
    pub(crate) fn durable_served(&self) -> usize {
        let durable = self.store.durable();
        self.served.partition_point(|s| s.position <= durable)
    }

    pub(crate) fn op(&self, id: OpId) -> Option<Op> {
        let (position, index) = *self.where_op.get(&id)?;
        self.commits
            .get(&position)?
            .ops()
            .into_iter()
            .nth(index as usize)
    }

    pub(crate) fn salt_of(&self, id: OpId) -> Option<[u8; 16]> {
        let (position, _) = *self.where_op.get(&id)?;
        self.salts.get(&position).copied()
    }

    /// An accepted op as the merged state holds it: payloads erased since are gone, so
    /// they are never served again.
    pub(crate) fn served_op(&self, id: OpId) -> Option<Op> {
        self.state.op(id)
    }

    pub(crate) fn commit_position(&self, id: OpId) -> Option<u64> {
        self.where_op.get(&id).map(|w| w.0)
    }

    /// The snapshot for `device`'s grants: the cached one while the log has not moved on much
    /// since, else a new one. `None` when it would hold nothing.
    pub(crate) fn snapshot_for(&mut self, device: u32) -> Option<std::sync::Arc<CachedSnapshot>> {
        let grants = self.devices.get(&device)?.grants.clone();
        let digest = grants.digest();
        let end = self.durable_served();
        if let Some(c) = self.snapshots.get(&digest)
            && c.epoch == self.epoch()
            && end - c.position <= (c.ops as usize / 4).max(1_000)
        {
            return Some(c.clone());
        }
        let mut ops = Vec::new();
        let mut key_ids = std::collections::BTreeSet::new();
        for served in &self.served[..end] {
            let Some(op) = self.served_op(served.op) else {
                continue;
            };
            let Some(with_payload) = crate::session::offer(&op, u32::MAX, &grants) else {
                continue;
            };
            let op = if with_payload {
                key_ids.extend(crate::keys::op_key_ids(&op));
                op
            } else {
                op.withheld()
            };
            let salt = self.salt_of(served.op).unwrap_or_default();
            ops.push((op, salt));
        }
        if ops.is_empty() {
            return None;
        }
        let raw = crate::snapshot::encode(&ops);
        let zstd = crate::snapshot::compress_stream(&raw, self.config.snapshot_zstd_level);
        let first = ops[0].0.envelope().scope;
        let scope_bytes = postcard::to_allocvec(&first).unwrap_or_default();
        let mut scope_id = [0u8; 16];
        if let Some(id) = scope_bytes.get(1..17) {
            scope_id.copy_from_slice(id);
        }
        let tier = [Tier::Sensitive, Tier::Personal, Tier::Public]
            .into_iter()
            .find(|t| grants.may_read(first, *t))
            .map_or(0, |t| t as u8);
        let snap = std::sync::Arc::new(CachedSnapshot {
            epoch: self.epoch(),
            position: end,
            scope: (scope_bytes.first().copied().unwrap_or(0), scope_id),
            tier,
            records: ops
                .iter()
                .filter(|(o, _)| o.envelope().action == Action::CREATE)
                .count() as u32,
            ops: ops.len() as u32,
            hash: crate::snapshot::ops_hash(ops.iter().map(|(o, _)| o)),
            raw,
            zstd,
            key_ids: key_ids.into_iter().collect(),
        });
        self.snapshots.insert(digest, snap.clone());
        Some(snap)
    }

    /// Where serving starts for a cursor: the cursor's position in its epoch, or the fork
    /// where a later epoch left it; from the start for an unknown epoch or no cursor.
    pub(crate) fn resume_point(&self, cursor: Option<&Cursor>) -> usize {
        let Some(c) = cursor else { return 0 };
        let Some(k) = self.epochs.iter().position(|e| e.0 == c.epoch) else {
            return 0;
        };
        let fork = self.epochs[k + 1..]
            .iter()
            .map(|e| e.1)
            .min()
            .unwrap_or(u64::MAX);
        (c.position.min(fork) as usize).min(self.served.len())
    }

    fn judge(&self, op: &Op, grants: &Grants, overlay: &BTreeMap<(u16, Id), Scope>) -> Verdict {
        let e = op.envelope();
        if let Some(min) = expected_tier(e.kind, e.field)
            && e.tier < min
        {
            return Verdict::Refused(Refusal::TierTooLow);
        }
        if e.action != Action::CREATE {
            let key = (e.kind, e.entity);
            match self.records.get(&key).or_else(|| overlay.get(&key)) {
                None => return Verdict::Held,
                Some(scope) if *scope != e.scope => {
                    return Verdict::Refused(Refusal::ScopeMismatch);
                }
                Some(_) => {}
            }
        }
        if grants.may_write(e.scope, e.tier) {
            Verdict::Accepted
        } else {
            Verdict::Refused(Refusal::OutsideGrants)
        }
    }

    /// Takes a commit from `device` (its origin), judging each op against its grants.
    /// Returns the verdicts, or nothing staged when the commit is refused whole. The
    /// accepted ops are served to other replicas once the device has shown back the
    /// receipt that covers them ([`Server::take_receipt`]).
    ///
    /// # Errors
    /// See [`IngestError`]; nothing is staged or applied then.
    pub fn ingest(
        &mut self,
        device: u32,
        commit: &SignedCommit,
        now_ms: u64,
    ) -> Result<Vec<Verdict>, IngestError> {
        self.ingest_parsed(device, commit, commit.ops(), now_ms)
    }

    /// [`Server::ingest`] with the commit's ops already decoded (by [`SignedCommit::parse`]).
    pub(crate) fn ingest_parsed(
        &mut self,
        device: u32,
        commit: &SignedCommit,
        ops: Vec<Op>,
        now_ms: u64,
    ) -> Result<Vec<Verdict>, IngestError> {
        let info = self
            .devices
            .get(&device)
            .ok_or(IngestError::UnknownDevice(device))?;
        if commit.origin() != device {
            self.alarms.push(Alarm::ForeignCommit {
                device,
                origin: commit.origin(),
            });
            return Err(IngestError::ForeignCommit {
                device,
                origin: commit.origin(),
            });
        }
        if !commit.verify(&info.keys) {
            self.alarms.push(Alarm::BadSignature { device });
            return Err(IngestError::BadSignature);
        }
        if commit.first_seq() > info.seq + 1 {
            return Err(IngestError::SeqGap {
                expected: info.seq + 1,
            });
        }
        for op in ops.iter().filter(|o| o.id().seq <= info.seq) {
            if self.digests.get(&op.id()) != Some(&op.digest()) {
                self.alarms.push(Alarm::Equivocation { op: op.id() });
                return Err(IngestError::Equivocation(op.id()));
            }
        }
        if commit.last_seq() <= info.seq {
            return Ok(vec![Verdict::Duplicate; ops.len()]);
        }
        let (seq, revoked) = (info.seq, info.revoked_from);
        let mut overlay = BTreeMap::new();
        let verdicts: Vec<Verdict> = ops
            .iter()
            .map(|op| {
                let e = op.envelope();
                let v = if e.seq <= seq {
                    Verdict::Duplicate
                } else if revoked.is_some_and(|r| e.seq >= r) {
                    Verdict::Refused(Refusal::Revoked)
                } else if device == self.config.device {
                    Verdict::Accepted
                } else {
                    self.judge(op, info.grants_for(e.seq), &overlay)
                };
                if v == Verdict::Accepted && e.action == Action::CREATE {
                    overlay.entry((e.kind, e.entity)).or_insert(e.scope);
                }
                v
            })
            .collect();
        let position = self.store.stage(&encode(&Rec::Commit {
            frame: commit.frame().to_vec(),
            verdicts: verdicts.clone(),
        }))?;
        for op in &ops {
            let seen = self.clock.observe(op.envelope().hlc, &FixedClock(now_ms));
            if seen.beyond_drift {
                self.alarms.push(Alarm::ClockAhead {
                    device,
                    hlc: op.envelope().hlc,
                });
            }
        }
        let created: Vec<(u16, Id)> = ops
            .iter()
            .zip(&verdicts)
            .filter(|(op, v)| **v == Verdict::Accepted && op.envelope().action == Action::CREATE)
            .map(|(op, _)| (op.envelope().kind, op.envelope().entity))
            .collect();
        self.apply_commit(position, commit.clone(), ops, &verdicts);
        // Held ops whose create came in this commit are judged now.
        let mut accepted = Vec::new();
        let mut refused = Vec::new();
        for key in created {
            let Some(waiting) = self.held.get(&key) else {
                continue;
            };
            for id in waiting.clone() {
                let Some(held) = self.op(id) else { continue };
                let Some(writer) = self.devices.get(&id.origin.0) else {
                    continue;
                };
                if writer.revoked_from.is_some_and(|r| id.seq >= r) {
                    refused.push((id, Refusal::Revoked));
                    continue;
                }
                // Judged under the grants in force when it was received.
                let writer = writer.grants_for(id.seq).clone();
                match self.judge(&held, &writer, &BTreeMap::new()) {
                    Verdict::Accepted => accepted.push(id),
                    Verdict::Refused(why) => refused.push((id, why)),
                    _ => {}
                }
            }
        }
        if !accepted.is_empty() || !refused.is_empty() {
            self.record(Rec::Release { accepted, refused })?;
        }
        Ok(verdicts)
    }

    /// Applies a log record to the in-memory replica (when written, and when replayed).
    fn apply(&mut self, position: u64, rec: Rec) {
        // The epoch a record was written in (a change's own epoch where it carries one).
        let epoch = self.epoch();
        match rec {
            Rec::Enrol {
                device,
                keys,
                grants,
            } => {
                self.by_noise.insert(keys.noise, device);
                let d = self.devices.entry(device).or_insert_with(|| DeviceInfo {
                    keys,
                    grants: grants.clone(),
                    history: BTreeMap::new(),
                    timeline: Vec::new(),
                    receipts: BTreeMap::new(),
                    revoked_from: None,
                    confirmed: 0,
                    seq: 0,
                    marks: Vec::new(),
                    purposes: None,
                });
                d.keys = keys;
                let after = d.next_boundary();
                d.change_grants(after, grants, epoch);
            }
            Rec::SetGrants { device, grants } => {
                if let Some(d) = self.devices.get_mut(&device) {
                    let after = d.next_boundary();
                    d.change_grants(after, grants, epoch);
                }
            }
            Rec::Gated => self.gated = true,
            Rec::Confirmed { device, seq } => {
                if let Some(d) = self.devices.get_mut(&device) {
                    d.confirmed = d.confirmed.max(seq);
                }
                let now: Vec<OpId> = self
                    .unconfirmed
                    .range(OpId::new(device, 0)..=OpId::new(device, seq))
                    .copied()
                    .collect();
                for id in now {
                    self.unconfirmed.remove(&id);
                    self.served.push(Served { position, op: id });
                }
            }
            Rec::Grants(GrantChange {
                device,
                after_seq,
                grants,
                epoch,
            }) => {
                if let Some(d) = self.devices.get_mut(&device) {
                    d.change_grants(after_seq, grants, epoch);
                }
            }
            Rec::Receipt { device, epoch, seq } => {
                if let Some(d) = self.devices.get_mut(&device) {
                    d.raise(epoch, seq);
                }
            }
            Rec::Revoke { device, from_seq } => {
                if let Some(d) = self.devices.get_mut(&device) {
                    d.revoked_from = Some(from_seq);
                }
            }
            Rec::Purposes { device, purposes } => {
                if let Some(d) = self.devices.get_mut(&device) {
                    d.purposes = purposes;
                }
            }
            Rec::Epoch { epoch } => self.epochs.push((epoch, self.served.len() as u64)),
            Rec::Commit { frame, verdicts } => {
                let limits = kenesh_proto::Limits::new(kenesh_proto::HARD_MAX_FRAME);
                if let Ok((commit, ops)) = SignedCommit::parse(&frame, &limits) {
                    self.apply_commit(position, commit, ops, &verdicts);
                }
            }
            Rec::Release { accepted, refused } => {
                for id in &accepted {
                    if let Some(op) = self.op(*id) {
                        let key = (op.envelope().kind, op.envelope().entity);
                        self.unhold(key, *id);
                        self.serve(position, *id);
                        self.state.apply(op);
                    }
                }
                for (id, why) in refused {
                    if let Some(op) = self.op(id) {
                        self.unhold((op.envelope().kind, op.envelope().entity), id);
                    }
                    self.alarms.push(Alarm::Refused { op: id, why });
                }
            }
        }
    }

    /// Applies a commit record with its verdicts (when written, and when replayed).
    fn apply_commit(
        &mut self,
        position: u64,
        commit: SignedCommit,
        ops: Vec<Op>,
        verdicts: &[Verdict],
    ) {
        let origin = commit.origin();
        for (i, (op, v)) in ops.into_iter().zip(verdicts).enumerate() {
            let id = op.id();
            if *v == Verdict::Duplicate {
                continue;
            }
            self.where_op.insert(id, (position, i as u32));
            self.digests.insert(id, op.digest());
            let e = op.envelope();
            match v {
                Verdict::Accepted => {
                    if e.action == Action::CREATE {
                        self.records.entry((e.kind, e.entity)).or_insert(e.scope);
                    }
                    self.serve(position, id);
                    self.state.apply(op);
                }
                Verdict::Held => self.held.entry((e.kind, e.entity)).or_default().push(id),
                Verdict::Refused(why) => self.alarms.push(Alarm::Refused { op: id, why: *why }),
                Verdict::Duplicate => {}
            }
        }
        if let Some(d) = self.devices.get_mut(&origin) {
            d.seq = d.seq.max(commit.last_seq());
            d.marks.push((position, commit.last_seq()));
        }
        self.salts.insert(position, commit.salt());
        self.commits.insert(position, commit);
    }

    /// Puts an accepted op in the serving log, or aside until its origin confirms holding
    /// a receipt that covers it (the server's own ops, and those of a store written before
    /// gating, go at once).
    fn serve(&mut self, position: u64, id: OpId) {
        let confirmed = !self.gated
            || id.origin.0 == self.config.device
            || self
                .devices
                .get(&id.origin.0)
                .is_some_and(|d| d.confirmed >= id.seq);
        if confirmed {
            self.served.push(Served { position, op: id });
        } else {
            self.unconfirmed.insert(id);
        }
    }

    fn unhold(&mut self, key: (u16, Id), id: OpId) {
        if let Some(v) = self.held.get_mut(&key) {
            v.retain(|x| *x != id);
            if v.is_empty() {
                self.held.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grants::Access;
    use crate::{Device, MemStore};
    use kenesh_model::MunicipalityId;

    fn open(store: MemStore) -> Server<MemStore> {
        Server::open(
            store,
            Secret::from_bytes([0xee; 32]),
            ServerConfig::default(),
        )
        .unwrap()
    }

    /// A server with kiosk 10's commit of one issue ingested (accepted, durable, not
    /// confirmed).
    fn with_one_op() -> (Server<MemStore>, OpId) {
        let scope = Scope::Municipality(MunicipalityId(Id::from_u128(1)));
        let mut s = open(MemStore::new());
        let secret = Secret::from_bytes([10; 32]);
        let grants = Grants::none().up_to(scope, Tier::Public, Access::Write);
        s.enrol(10, secret.public(), grants).unwrap();
        let mut d = Device::open(MemStore::new(), secret, 10, s.public()).unwrap();
        let mut b = d.builder();
        b.scope(scope).at(1_780_000_000_000);
        let op = b
            .create(
                EntityKind::Issue,
                Id::from_u128(7),
                vec![(1, b"a".to_vec())],
            )
            .unwrap();
        let id = op.id();
        d.commit(&[op]).unwrap();
        let commit = d.unacked().unwrap().remove(0);
        assert_eq!(
            s.ingest(10, &commit, 1_780_000_000_000).unwrap(),
            vec![Verdict::Accepted]
        );
        s.sync().unwrap();
        (s, id)
    }

    fn served(s: &Server<MemStore>, id: OpId) -> bool {
        s.served.iter().any(|x| x.op == id)
    }

    #[test]
    fn an_accepted_op_is_served_once_its_origin_shows_the_receipt_back() {
        let (mut s, id) = with_one_op();
        assert!(!served(&s, id) && s.unconfirmed.contains(&id));
        // A receipt for less than it holds serves nothing of it.
        assert!(!s.take_receipt(10, &s.receipt(10, 0)).unwrap());
        assert!(!served(&s, id));
        assert!(s.take_receipt(10, &s.receipt(10, 1)).unwrap());
        assert!(served(&s, id) && s.unconfirmed.is_empty());
        assert_eq!(s.device(10).unwrap().confirmed, 1);
        // Recorded: a reopened server serves it too; shown again, nothing is recorded.
        s.sync().unwrap();
        let staged = s.store().staged();
        assert!(!s.take_receipt(10, &s.receipt(10, 1)).unwrap());
        assert_eq!(s.store().staged(), staged);
        let reopened = open(s.store().backup());
        assert!(served(&reopened, id));
    }

    #[test]
    fn a_store_written_before_gating_keeps_serving_what_it_served_and_gates_from_then_on() {
        let (s, id) = with_one_op();
        // The same records without `Gated`: a store as an earlier build wrote it.
        let mut old = MemStore::new();
        for (_, bytes) in s.store().read(1, 1_000).unwrap() {
            if !matches!(postcard::from_bytes::<Rec>(&bytes), Ok(Rec::Gated)) {
                old.stage(&bytes).unwrap();
            }
        }
        old.sync().unwrap();
        let records = old.durable();
        let reopened = open(old);
        assert!(served(&reopened, id), "served at once, as that build did");
        assert!(reopened.gated);
        let last = reopened.store().read(records + 1, 10).unwrap();
        assert_eq!(last.len(), 1);
        assert!(matches!(
            postcard::from_bytes::<Rec>(&last[0].1),
            Ok(Rec::Gated)
        ));
        assert_eq!(reopened.store().durable(), records + 1);
    }
}
