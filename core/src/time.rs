//! Simulated time.
//!
//! Nothing in the simulation reads a wall clock: the simulator hands every node the current
//! [`Instant`] with each input. Both types count whole microseconds, which is finer than any
//! Kafka timeout (milliseconds) and coarse enough that a `u64` never overflows in practice
//! (584,000 years).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// A point in simulated time, in microseconds since the start of the run.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Instant(u64);

/// A span of simulated time, in microseconds.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Duration(u64);

impl Instant {
    /// The start of every run.
    pub const ZERO: Instant = Instant(0);
    /// Later than any event a run will ever schedule; used for "never" deadlines.
    pub const MAX: Instant = Instant(u64::MAX);

    /// The instant `us` microseconds after the start of the run.
    pub const fn from_micros(us: u64) -> Self {
        Instant(us)
    }
    /// The instant `ms` milliseconds after the start of the run.
    pub const fn from_millis(ms: u64) -> Self {
        Instant(ms.saturating_mul(1000))
    }
    /// Microseconds since the start of the run.
    pub const fn as_micros(self) -> u64 {
        self.0
    }
    /// Whole milliseconds since the start of the run (Kafka timestamps are milliseconds).
    pub const fn as_millis(self) -> u64 {
        self.0 / 1000
    }
    /// The time elapsed since `earlier`, or zero if `earlier` is in the future.
    pub fn saturating_since(self, earlier: Instant) -> Duration {
        Duration(self.0.saturating_sub(earlier.0))
    }
}

impl Duration {
    /// No time at all.
    pub const ZERO: Duration = Duration(0);
    /// Longer than any run; Kafka's `Long.MAX_VALUE` timeouts map here.
    pub const MAX: Duration = Duration(u64::MAX);

    /// A duration of `us` microseconds.
    pub const fn from_micros(us: u64) -> Self {
        Duration(us)
    }
    /// A duration of `ms` milliseconds (saturating, so Kafka's "never" values stay "never").
    pub const fn from_millis(ms: u64) -> Self {
        Duration(ms.saturating_mul(1000))
    }
    /// A duration of `s` seconds.
    pub const fn from_secs(s: u64) -> Self {
        Duration(s.saturating_mul(1_000_000))
    }
    /// The length in microseconds.
    pub const fn as_micros(self) -> u64 {
        self.0
    }
    /// The length in whole milliseconds.
    pub const fn as_millis(self) -> u64 {
        self.0 / 1000
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(d.0))
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        self.0 = self.0.saturating_add(d.0);
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_since(earlier)
    }
}

impl Add for Duration {
    type Output = Duration;
    fn add(self, other: Duration) -> Duration {
        Duration(self.0.saturating_add(other.0))
    }
}

/// Prints as seconds with millisecond precision, the way the narrated timeline shows time.
impl std::str::FromStr for Instant {
    type Err = String;

    /// A moment of a run as a person writes it: `6s`, `6.2s`, `6200ms` or `250us`.
    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let help = || {
            format!(
                "`{text}` is not a time of the run: write it with a unit, e.g. 6s, 6.2s or 6200ms"
            )
        };
        let (number, per_unit) = if let Some(n) = text.strip_suffix("ms") {
            (n, 1_000u64)
        } else if let Some(n) = text.strip_suffix("us") {
            (n, 1)
        } else if let Some(n) = text.strip_suffix('s') {
            (n, 1_000_000)
        } else {
            return Err(help());
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let (whole, fraction) = match number.split_once('.') {
            Some((whole, fraction)) if digits(fraction) => (whole, fraction),
            Some(_) => return Err(help()),
            None => (number, ""),
        };
        if !digits(whole) {
            return Err(help());
        }
        let whole: u64 = whole.parse().map_err(|_| help())?;
        let mut micros = whole.checked_mul(per_unit).ok_or_else(help)?;
        // Fractional digits finer than a microsecond are dropped.
        let mut scale = per_unit;
        for digit in fraction.bytes() {
            scale /= 10;
            micros = micros.saturating_add(u64::from(digit - b'0') * scale);
        }
        Ok(Instant(micros))
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}s", self.0 / 1_000_000, (self.0 / 1000) % 1000)
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_multiple_of(1000) {
            write!(f, "{}ms", self.0 / 1000)
        } else {
            write!(f, "{}us", self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_instead_of_wrapping() {
        assert_eq!(Instant::MAX + Duration::from_millis(1), Instant::MAX);
        assert_eq!(Duration::from_millis(u64::MAX), Duration::MAX);
        assert_eq!(
            Instant::from_millis(1) - Instant::from_millis(5),
            Duration::ZERO
        );
    }

    #[test]
    fn moments_parse_as_people_write_them() {
        let at = |s: &str| s.parse::<Instant>();
        assert_eq!(at("6s"), Ok(Instant::from_millis(6000)));
        assert_eq!(at("6.2s"), Ok(Instant::from_millis(6200)));
        assert_eq!(at("6200ms"), Ok(Instant::from_millis(6200)));
        assert_eq!(at(" 0.0005s "), Ok(Instant::from_micros(500)));
        assert_eq!(at("250us"), Ok(Instant::from_micros(250)));
        for bad in ["6", "s", "6.s", "-1s", "6 s", "1e3ms", "six s"] {
            assert!(at(bad).is_err(), "{bad} is refused");
        }
        // What the timeline prints reads back as the same moment.
        assert_eq!(
            at(&Instant::from_millis(2345).to_string()),
            Ok(Instant::from_millis(2345))
        );
    }

    #[test]
    fn displays_like_the_timeline() {
        assert_eq!(Instant::from_micros(2_345_678).to_string(), "2.345s");
        assert_eq!(Duration::from_millis(30).to_string(), "30ms");
        assert_eq!(Duration::from_micros(1500).to_string(), "1500us");
    }
}
