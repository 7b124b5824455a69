//! When a broker calls fsync, and what waits for it.
//!
//! Kafka's flush policy is two settings, both "never" by default:
//! - `log.flush.interval.messages`: after this many appended messages the append itself
//!   flushes the log, synchronously — so the produce response leaves only after the fsync.
//!   With `1`, every acknowledged record is durable on the leader before the producer hears
//!   of it: the database-style guarantee, paid for with an fsync per produce.
//! - `log.flush.interval.ms`: a background flusher, waking every
//!   `log.flush.scheduler.interval.ms`, flushes logs whose last flush is older than this.
//!   Nothing waits for it.
//!
//! The responses that must wait for an fsync sit in the broker's `Flush` purgatory
//! ([`crate::purgatory`]) until every disk sync of the flush has completed — the same idea as
//! etcd's `msgsAfterAppend`: what may be acknowledged after a write is visible in the data
//! structure, and in the trace. [`Flushes`] keeps the flushes in flight, so the broker can say
//! which syncs a response waits for.

use crate::disk::DiskToken;
use crate::ids::TopicPartition;
use crate::purgatory::Condition;
use std::collections::{BTreeMap, BTreeSet};

/// A flush in progress: which syncs are outstanding, and how far it makes the log durable.
#[derive(Debug)]
pub struct FlushInFlight {
    /// The partition being flushed.
    pub partition: TopicPartition,
    /// Everything below this offset is durable once every sync has completed.
    pub up_to: i64,
    /// Disk syncs not yet completed, and the file each one syncs.
    pub outstanding: BTreeMap<DiskToken, String>,
}

/// The flushes in progress.
#[derive(Debug, Default)]
pub struct Flushes {
    next_flush: u64,
    flushes: BTreeMap<u64, FlushInFlight>,
}

impl Flushes {
    /// Register a flush; returns its id.
    pub fn start(&mut self, flush: FlushInFlight) -> u64 {
        let id = self.next_flush;
        self.next_flush += 1;
        self.flushes.insert(id, flush);
        id
    }

    /// What a response that must follow the flushes `ids` waits for: the syncs of those still
    /// in flight (none once they have all completed).
    pub fn pending_syncs(&self, ids: &BTreeSet<u64>) -> Vec<Condition> {
        ids.iter()
            .filter_map(|id| self.flushes.get(id))
            .flat_map(|f| &f.outstanding)
            .map(|(token, file)| Condition::Fsync {
                file: file.clone(),
                token: token.0,
            })
            .collect()
    }

    /// Whether no flush is in flight.
    pub fn is_idle(&self) -> bool {
        self.flushes.is_empty()
    }

    /// Whether the sync `token` of a flush is still in flight.
    pub fn is_syncing(&self, token: DiskToken) -> bool {
        self.flushes
            .values()
            .any(|f| f.outstanding.contains_key(&token))
    }

    /// A disk sync completed. Returns the flushes it finished.
    pub fn complete(&mut self, token: DiskToken) -> Vec<FlushInFlight> {
        let mut finished_ids = Vec::new();
        for (id, flush) in &mut self.flushes {
            if flush.outstanding.remove(&token).is_some() && flush.outstanding.is_empty() {
                finished_ids.push(*id);
            }
        }
        finished_ids
            .iter()
            .filter_map(|id| self.flushes.remove(id))
            .collect()
    }

    /// Whether a flush of `partition` is in progress.
    pub fn is_flushing(&self, partition: &TopicPartition) -> bool {
        self.flushes.values().any(|f| &f.partition == partition)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flush(tokens: &[u64]) -> FlushInFlight {
        FlushInFlight {
            partition: TopicPartition::new("t", 0),
            up_to: 10,
            outstanding: tokens
                .iter()
                .map(|t| (DiskToken(*t), format!("t-0/file-{t}")))
                .collect(),
        }
    }

    #[test]
    fn a_flush_finishes_with_its_last_sync() {
        let mut f = Flushes::default();
        let id = f.start(flush(&[1, 2]));
        assert_eq!(
            f.pending_syncs(&[id].into()),
            vec![
                Condition::Fsync {
                    file: "t-0/file-1".into(),
                    token: 1
                },
                Condition::Fsync {
                    file: "t-0/file-2".into(),
                    token: 2
                },
            ]
        );
        assert!(
            f.complete(DiskToken(1)).is_empty(),
            "one of two syncs is not a flush"
        );
        assert!(!f.is_syncing(DiskToken(1)) && f.is_syncing(DiskToken(2)));
        assert!(f.is_flushing(&TopicPartition::new("t", 0)));
        let done = f.complete(DiskToken(2));
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].up_to, 10);
        assert!(!f.is_flushing(&TopicPartition::new("t", 0)));
    }

    #[test]
    fn a_finished_flush_is_nothing_to_wait_for() {
        let mut f = Flushes::default();
        assert!(f.pending_syncs(&BTreeSet::new()).is_empty());
        let id = f.start(flush(&[3]));
        f.complete(DiskToken(3));
        assert!(f.pending_syncs(&[id].into()).is_empty());
    }
}
