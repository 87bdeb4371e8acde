//! The calibration of WORKLOAD.md: before any ratio means something, the peers' bytes on
//! this workload must land within ±10% of the figures measured when the workload was
//! specified, and whole records must compress about 2.9× with zstd 3 (realistic entropy).

use kenesh_workload::{Floors, InitialFloors, Model, Workload, floors};

use super::yrs_peer::Encoding;
use super::{Run, automerge_peer, yrs_peer};

/// The tolerance on every figure.
pub const TOLERANCE: f64 = 0.10;

/// One figure against WORKLOAD.md's table.
#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    /// What is measured.
    pub name: &'static str,
    /// This run.
    pub measured: f64,
    /// WORKLOAD.md.
    pub reference: f64,
}

impl Check {
    /// `measured / reference - 1`.
    pub fn deviation(&self) -> f64 {
        self.measured / self.reference - 1.0
    }

    /// Within ±[`TOLERANCE`].
    pub fn ok(&self) -> bool {
        self.deviation().abs() <= TOLERANCE
    }
}

/// The S runs the calibration needs (one each; bytes are deterministic).
pub struct Measured {
    /// Automerge, initial then incremental.
    pub automerge: Run,
    /// Yrs with v2 updates.
    pub yrs_v2: Run,
    /// The initial floors (whole records).
    pub initial: InitialFloors,
    /// The incremental floors.
    pub incremental: Floors,
}

impl Measured {
    /// Runs the peers on `w` (S) once.
    pub fn of(w: &Workload) -> Self {
        let records = &w.initial;
        let postcard = floors::postcard(records);
        let zstd = floors::zstd3(&postcard);
        Measured {
            automerge: automerge_peer::run(records, &w.incremental),
            yrs_v2: yrs_peer::run(records, &w.incremental, Encoding::V2),
            initial: InitialFloors {
                records: records.len(),
                postcard: postcard.len(),
                json: 0,
                zstd: zstd.len(),
            },
            incremental: Floors::of(&Model::new(records), &w.incremental),
        }
    }

    /// Every figure against WORKLOAD.md's table (S, default seed).
    pub fn checks(&self) -> Vec<Check> {
        let c = |name, measured: usize, reference: f64| Check {
            name,
            measured: measured as f64,
            reference,
        };
        let (a, y) = (&self.automerge, &self.yrs_v2);
        vec![
            c("Yrs v2 initial, bytes down", y.initial.down, 2_140_358.0),
            c(
                "Automerge initial, bytes down (sync)",
                a.initial.down,
                626_770.0,
            ),
            c("Yrs v2 incremental, bytes up", y.edits.up, 4_869.0),
            c("Yrs v2 incremental, bytes down", y.edits.down, 22_824.0),
            c("Automerge incremental, bytes up", a.edits.up, 7_040.0),
            c("Automerge incremental, bytes down", a.edits.down, 31_881.0),
            c(
                "Automerge incremental, round trips (every flight, ⌈flights / 2⌉)",
                a.edits.flights.div_ceil(2),
                2.0,
            ),
            c(
                "Yrs v2 incremental, round trips (every flight, ⌈flights / 2⌉)",
                y.edits.flights.div_ceil(2),
                1.0,
            ),
            c(
                "whole records, postcard",
                self.initial.postcard,
                1_679_721.0,
            ),
            c(
                "whole records, postcard + zstd 3",
                self.initial.zstd,
                577_166.0,
            ),
            Check {
                name: "whole records, zstd 3 ratio",
                measured: self.initial.zstd_ratio(),
                reference: 2.9,
            },
            c("field floor, up", self.incremental.field.up, 3_798.0),
            c("field floor, down", self.incremental.field.down, 18_473.0),
        ]
    }
}
