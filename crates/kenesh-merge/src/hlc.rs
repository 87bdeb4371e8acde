//! Hybrid logical clocks, driven by an injected clock.
//!
//! An [`Hlc`] is 48 bits of Unix milliseconds and a 16-bit counter, packed in a `u64` so it
//! orders as a number. Causality comes from `supersedes`; the HLC only breaks ties between
//! concurrent writes. An op is never refused for its timestamp: a remote timestamp more than
//! the drift bound ahead of the local clock is *reported* ([`Observation::beyond_drift`]) and
//! does not advance the local clock, so one kiosk whose clock says 2099 cannot drag every
//! replica's clock there.

use core::fmt;

use serde::{Deserialize, Serialize};

/// A source of physical time in Unix milliseconds. The core never reads a system clock:
/// the embedding program passes one in.
pub trait Clock {
    /// Milliseconds since the Unix epoch, UTC.
    fn now_ms(&self) -> u64;
}

/// A clock that always says the same time (tests, simulations, replays).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixedClock(pub u64);

impl Clock for FixedClock {
    fn now_ms(&self) -> u64 {
        self.0
    }
}

/// A hybrid logical clock timestamp: `millis << 16 | counter`.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Hlc(pub u64);

/// Largest representable milliseconds (48 bits: the year 10889).
pub const MAX_MILLIS: u64 = (1 << 48) - 1;

impl Hlc {
    /// A timestamp from its parts (milliseconds clamped to 48 bits).
    #[must_use]
    pub const fn new(millis: u64, counter: u16) -> Hlc {
        let m = if millis > MAX_MILLIS {
            MAX_MILLIS
        } else {
            millis
        };
        Hlc((m << 16) | counter as u64)
    }
    /// The physical part, Unix milliseconds.
    #[must_use]
    pub const fn millis(self) -> u64 {
        self.0 >> 16
    }
    /// The logical counter.
    #[must_use]
    pub const fn counter(self) -> u16 {
        (self.0 & 0xffff) as u16
    }
}

impl fmt::Debug for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hlc({}.{})", self.millis(), self.counter())
    }
}

/// The default drift bound: 24 hours.
pub const DEFAULT_DRIFT_BOUND_MS: u64 = 24 * 3_600_000;

/// What observing a remote timestamp did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Observation {
    /// The local clock moved forward.
    pub advanced: bool,
    /// The remote timestamp was more than the drift bound ahead of local physical time: it
    /// did not advance the clock, and the device that made it should be flagged.
    pub beyond_drift: bool,
}

/// A device's hybrid logical clock.
///
/// ```
/// use kenesh_merge::{FixedClock, HlcClock, Hlc};
/// let mut c = HlcClock::new();
/// let a = c.tick(&FixedClock(1_000));
/// let b = c.tick(&FixedClock(900)); // the wall clock stepped back
/// assert!(b > a);
/// // A remote clock in 2099 is reported, not followed.
/// let far = Hlc::new(4_070_908_800_000, 0);
/// let seen = c.observe(far, &FixedClock(1_000));
/// assert!(seen.beyond_drift && !seen.advanced);
/// assert!(c.tick(&FixedClock(1_000)) < far);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HlcClock {
    last: Hlc,
    drift_bound_ms: u64,
}

impl Default for HlcClock {
    fn default() -> Self {
        HlcClock::new()
    }
}

impl HlcClock {
    /// A clock with the default drift bound (24 h).
    #[must_use]
    pub const fn new() -> HlcClock {
        HlcClock {
            last: Hlc(0),
            drift_bound_ms: DEFAULT_DRIFT_BOUND_MS,
        }
    }

    /// A clock with another drift bound.
    #[must_use]
    pub const fn with_drift_bound(drift_bound_ms: u64) -> HlcClock {
        HlcClock {
            last: Hlc(0),
            drift_bound_ms,
        }
    }

    /// Resumes a clock after a restart from the last timestamp it issued or observed.
    #[must_use]
    pub const fn resume(last: Hlc, drift_bound_ms: u64) -> HlcClock {
        HlcClock {
            last,
            drift_bound_ms,
        }
    }

    /// The last timestamp issued or observed.
    #[must_use]
    pub const fn last(&self) -> Hlc {
        self.last
    }

    /// A timestamp for a local event: after everything issued or observed, and at least the
    /// physical time.
    pub fn tick(&mut self, clock: &impl Clock) -> Hlc {
        let phys = clock.now_ms().min(MAX_MILLIS);
        self.last = if phys > self.last.millis() {
            Hlc::new(phys, 0)
        } else if self.last.counter() == u16::MAX {
            // Counter exhausted: borrow the next millisecond.
            Hlc::new(self.last.millis() + 1, 0)
        } else {
            Hlc(self.last.0 + 1)
        };
        self.last
    }

    /// Observes a timestamp made elsewhere. It advances the clock unless it is more than the
    /// drift bound ahead of local physical time; it is never refused.
    pub fn observe(&mut self, remote: Hlc, clock: &impl Clock) -> Observation {
        let phys = clock.now_ms();
        if remote.millis() > phys.saturating_add(self.drift_bound_ms) {
            return Observation {
                advanced: false,
                beyond_drift: true,
            };
        }
        let advanced = remote > self.last;
        if advanced {
            self.last = remote;
        }
        Observation {
            advanced,
            beyond_drift: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(crate::test_support::config())]
        /// Ticks strictly increase whatever the wall clock and remote timestamps do, and no
        /// remote beyond the drift bound is ever followed.
        #[test]
        fn monotone_and_bounded(events in proptest::collection::vec((any::<bool>(), 0u64..1u64 << 49, 0u64..1u64 << 49), 1..200)) {
            let mut c = HlcClock::with_drift_bound(1_000);
            let mut prev = Hlc(0);
            for (local, wall, remote) in events {
                let clock = FixedClock(wall);
                if local {
                    let t = c.tick(&clock);
                    prop_assert!(t > prev);
                    prev = t;
                } else {
                    let r = Hlc(remote);
                    let o = c.observe(r, &clock);
                    prop_assert_eq!(o.beyond_drift, r.millis() > wall.saturating_add(1_000));
                    if o.beyond_drift { prop_assert_eq!(c.last(), prev, "a remote beyond the drift bound moves nothing"); }
                    prop_assert!(c.last() >= prev);
                    prev = c.last();
                }
            }
        }
    }

    #[test]
    fn counter_overflow_borrows_a_millisecond() {
        let mut c = HlcClock::resume(Hlc::new(10, u16::MAX), DEFAULT_DRIFT_BOUND_MS);
        assert_eq!(c.tick(&FixedClock(5)), Hlc::new(11, 0));
    }

    #[test]
    fn a_clock_reset_to_1970_still_moves_forward() {
        let mut c = HlcClock::new();
        let a = c.tick(&FixedClock(1_732_000_000_000));
        let b = c.tick(&FixedClock(0));
        assert!(b > a);
        assert_eq!(b.millis(), a.millis());
    }
}
