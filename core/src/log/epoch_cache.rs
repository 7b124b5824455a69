//! The leader-epoch cache (KIP-101): which leader epoch started at which offset.
//!
//! Every time a new leader is elected, the partition's *leader epoch* goes up, and the new
//! leader notes "epoch N starts at offset X" before appending. A follower that restarts asks the
//! leader "where does my last epoch end?" (`OffsetForLeaderEpoch`) and truncates to that, rather
//! than to its high watermark — which is what lost acknowledged writes before KIP-101.
//! The cache is persisted as Kafka's `leader-epoch-checkpoint` text file:
//!
//! ```text
//! 0            <- format version
//! 2            <- number of entries
//! 0 0          <- epoch start_offset
//! 1 57
//! ```

use serde::Serialize;

/// Kafka's "no epoch" (`UNDEFINED_EPOCH`).
pub const UNDEFINED_EPOCH: i32 = -1;
/// Kafka's "no offset" (`UNDEFINED_EPOCH_OFFSET`).
pub const UNDEFINED_EPOCH_OFFSET: i64 = -1;
/// Name of the checkpoint file inside a partition's directory.
pub const CHECKPOINT_FILE: &str = "leader-epoch-checkpoint";

/// One entry: epoch `epoch` begins at `start_offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct EpochEntry {
    /// The leader epoch.
    pub epoch: i32,
    /// The first offset written in that epoch.
    pub start_offset: i64,
}

/// The cache: entries in increasing epoch and offset order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct EpochCache {
    entries: Vec<EpochEntry>,
}

impl EpochCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The entries, oldest first.
    pub fn entries(&self) -> &[EpochEntry] {
        &self.entries
    }

    /// The latest epoch, if any.
    pub fn latest_epoch(&self) -> Option<i32> {
        self.entries.last().map(|e| e.epoch)
    }

    /// Note that `epoch` starts at `start_offset`. Returns whether the cache changed.
    ///
    /// An epoch not above the latest one is ignored, as in KIP-101's original cache (Kafka
    /// 0.11–1.x). Later Kafka versions (`isUpdateNeeded` in `LeaderEpochFileCache`) also accept
    /// a *lower* epoch by first dropping the entries that conflict with it; here every caller
    /// truncates the cache together with the log, so a lower epoch never needs to win. An
    /// entry starting at or before an existing entry's offset replaces those entries (they
    /// were truncated away). A negative epoch — a batch no leader stamped — is ignored, where
    /// Kafka would reject it.
    pub fn assign(&mut self, epoch: i32, start_offset: i64) -> bool {
        if epoch < 0 {
            return false;
        }
        if let Some(latest) = self.entries.last()
            && epoch <= latest.epoch
        {
            return false;
        }
        self.entries.retain(|e| e.start_offset < start_offset);
        self.entries.push(EpochEntry {
            epoch,
            start_offset,
        });
        true
    }

    /// The answer to `OffsetForLeaderEpoch(requested)` given this replica's log end offset:
    /// the largest epoch ≤ `requested` and the offset where the next higher epoch starts (or
    /// the log end offset when `requested` is the latest epoch). KIP-279 made the epoch part of
    /// the answer so a follower can tell when the leader never saw its epoch.
    pub fn end_offset_for(&self, requested: i32, log_end_offset: i64) -> (i32, i64) {
        if requested == UNDEFINED_EPOCH || self.entries.is_empty() {
            return (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET);
        }
        if Some(requested) == self.latest_epoch() {
            return (requested, log_end_offset);
        }
        let Some(higher) = self.entries.iter().find(|e| e.epoch > requested) else {
            return (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET);
        };
        match self.entries.iter().rev().find(|e| e.epoch <= requested) {
            Some(floor) => (floor.epoch, higher.start_offset),
            None => (requested, higher.start_offset),
        }
    }

    /// Drop entries starting at or after `end_offset` (the log was truncated there).
    /// Returns whether the cache changed.
    pub fn truncate_from_end(&mut self, end_offset: i64) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| e.start_offset < end_offset);
        before != self.entries.len()
    }

    /// Forget what lies before `start_offset` (the log start moved): the entry covering it now
    /// starts there. Returns whether the cache changed.
    pub fn truncate_from_start(&mut self, start_offset: i64) -> bool {
        let covering = self
            .entries
            .iter()
            .rposition(|e| e.start_offset <= start_offset);
        match covering {
            Some(i) if i > 0 || self.entries[0].start_offset != start_offset => {
                self.entries.drain(..i);
                self.entries[0].start_offset = start_offset;
                true
            }
            _ => false,
        }
    }

    /// The checkpoint file's content.
    pub fn encode(&self) -> Vec<u8> {
        let mut text = format!("0\n{}\n", self.entries.len());
        for e in &self.entries {
            text.push_str(&format!("{} {}\n", e.epoch, e.start_offset));
        }
        text.into_bytes()
    }

    /// Parse a checkpoint file. A damaged file is an error message, never a panic.
    pub fn parse(bytes: &[u8]) -> Result<EpochCache, String> {
        let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8".to_string())?;
        let mut lines = text.lines();
        match lines.next() {
            Some("0") => {}
            other => return Err(format!("unsupported version line {other:?}")),
        }
        let count: usize = lines
            .next()
            .and_then(|l| l.trim().parse().ok())
            .ok_or("missing or bad entry count")?;
        let mut cache = EpochCache::new();
        for i in 0..count {
            let line = lines
                .next()
                .ok_or(format!("expected {count} entries, found {i}"))?;
            let mut parts = line.split_whitespace();
            let (Some(epoch), Some(offset), None) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(format!("bad entry line {line:?}"));
            };
            let epoch: i32 = epoch
                .parse()
                .map_err(|_| format!("bad epoch in {line:?}"))?;
            let start_offset: i64 = offset
                .parse()
                .map_err(|_| format!("bad offset in {line:?}"))?;
            if !cache.assign(epoch, start_offset) {
                return Err(format!("epoch negative or out of order at {line:?}"));
            }
        }
        Ok(cache)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(entries: &[(i32, i64)]) -> EpochCache {
        let mut c = EpochCache::new();
        for (e, o) in entries {
            assert!(c.assign(*e, *o));
        }
        c
    }

    /// Reference: KIP-279 and Kafka's `LeaderEpochFileCacheTest` (endOffsetFor cases).
    #[test]
    fn end_offset_for_table() {
        let c = cache(&[(0, 0), (2, 10), (5, 20)]);
        let leo = 25;
        let table = [
            (5, (5, 25)), // the latest epoch ends at the log end offset
            (2, (2, 20)), // a known epoch ends where the next one starts
            (3, (2, 20)), // unknown epoch between known ones: largest epoch below it (KIP-279)
            (4, (2, 20)),
            (0, (0, 10)),
            (6, (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET)), // newer than anything known
            (UNDEFINED_EPOCH, (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET)),
        ];
        for (requested, expected) in table {
            assert_eq!(
                c.end_offset_for(requested, leo),
                expected,
                "requested epoch {requested}"
            );
        }
        let later_start = cache(&[(3, 10)]);
        assert_eq!(
            later_start.end_offset_for(1, 15),
            (1, 10),
            "older than the first entry"
        );
    }

    #[test]
    fn assign_ignores_stale_epochs() {
        let mut c = cache(&[(1, 0)]);
        assert!(!c.assign(1, 5));
        assert!(!c.assign(0, 5));
        assert!(c.assign(2, 5));
        assert_eq!(c.latest_epoch(), Some(2));
        assert!(!c.assign(UNDEFINED_EPOCH, 7), "a batch no leader stamped");
    }

    #[test]
    fn truncation_from_both_ends() {
        let mut c = cache(&[(0, 0), (1, 10), (2, 20)]);
        assert!(c.truncate_from_end(20));
        assert_eq!(c.latest_epoch(), Some(1));
        assert!(!c.truncate_from_end(30));
        assert!(c.truncate_from_start(15));
        assert_eq!(
            c.entries(),
            &[EpochEntry {
                epoch: 1,
                start_offset: 15
            }]
        );
    }

    #[test]
    fn checkpoint_round_trips_and_rejects_damage() {
        let c = cache(&[(0, 0), (3, 57)]);
        assert_eq!(c.encode(), b"0\n2\n0 0\n3 57\n");
        assert_eq!(EpochCache::parse(&c.encode()), Ok(c));
        for bad in [
            &b""[..],
            b"1\n0\n",
            b"0\n2\n0 0\n",
            b"0\n1\n0 x\n",
            b"0\n2\n3 0\n1 5\n",
            &[0xff, 0xfe],
        ] {
            assert!(
                EpochCache::parse(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
