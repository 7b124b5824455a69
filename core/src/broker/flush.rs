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
//! The responses that must wait for an fsync sit in [`FlushWaiters`] until every disk token of
//! the flush has completed — the same idea as etcd's `msgsAfterAppend`: what may be
//! acknowledged after a write is visible in the data structure.

use crate::disk::DiskToken;
use crate::ids::NodeId;
use crate::ids::TopicPartition;
use crate::protocol::Message;
use std::collections::{BTreeMap, BTreeSet};

/// A flush in progress: which tokens are outstanding, and how far it makes the log durable.
#[derive(Debug)]
pub struct FlushInFlight {
    /// The partition being flushed.
    pub partition: TopicPartition,
    /// Everything below this offset is durable once every token has completed.
    pub up_to: i64,
    /// Disk syncs not yet completed.
    pub outstanding: BTreeSet<DiskToken>,
}

/// A response held until some flushes complete.
#[derive(Debug)]
struct HeldResponse {
    to: NodeId,
    message: Message,
    waiting_for: BTreeSet<u64>,
}

/// Flushes in progress and the responses waiting on them.
#[derive(Debug, Default)]
pub struct FlushWaiters {
    next_flush: u64,
    flushes: BTreeMap<u64, FlushInFlight>,
    held: Vec<HeldResponse>,
}

impl FlushWaiters {
    /// Register a flush; returns its id.
    pub fn start(&mut self, flush: FlushInFlight) -> u64 {
        let id = self.next_flush;
        self.next_flush += 1;
        self.flushes.insert(id, flush);
        id
    }

    /// Hold `message` for `to` until the flushes `waiting_for` complete (sent at once if none).
    pub fn hold(
        &mut self,
        to: NodeId,
        message: Message,
        waiting_for: BTreeSet<u64>,
    ) -> Option<(NodeId, Message)> {
        let waiting_for: BTreeSet<u64> = waiting_for
            .into_iter()
            .filter(|id| self.flushes.contains_key(id))
            .collect();
        if waiting_for.is_empty() {
            return Some((to, message));
        }
        self.held.push(HeldResponse {
            to,
            message,
            waiting_for,
        });
        None
    }

    /// A disk token completed. Returns the flushes it finished and the responses now free.
    pub fn complete(&mut self, token: DiskToken) -> (Vec<FlushInFlight>, Vec<(NodeId, Message)>) {
        let mut finished_ids = Vec::new();
        for (id, flush) in &mut self.flushes {
            if flush.outstanding.remove(&token) && flush.outstanding.is_empty() {
                finished_ids.push(*id);
            }
        }
        let mut finished = Vec::new();
        for id in &finished_ids {
            if let Some(flush) = self.flushes.remove(id) {
                finished.push(flush);
            }
        }
        let mut released = Vec::new();
        let mut still_held = Vec::new();
        for mut held in self.held.drain(..) {
            for id in &finished_ids {
                held.waiting_for.remove(id);
            }
            if held.waiting_for.is_empty() {
                released.push((held.to, held.message));
            } else {
                still_held.push(held);
            }
        }
        self.held = still_held;
        (finished, released)
    }

    /// Whether a flush of `partition` is in progress.
    pub fn is_flushing(&self, partition: &TopicPartition) -> bool {
        self.flushes.values().any(|f| &f.partition == partition)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ProduceResponse;

    fn response(id: i32) -> Message {
        Message::ProduceResponse(ProduceResponse {
            correlation_id: id,
            partitions: Vec::new(),
        })
    }

    fn flush(tokens: &[u64]) -> FlushInFlight {
        FlushInFlight {
            partition: TopicPartition::new("t", 0),
            up_to: 10,
            outstanding: tokens.iter().map(|t| DiskToken(*t)).collect(),
        }
    }

    #[test]
    fn a_response_waits_for_every_token_of_its_flush() {
        let mut w = FlushWaiters::default();
        let id = w.start(flush(&[1, 2]));
        assert!(w.hold(NodeId(9), response(5), [id].into()).is_none());
        let (done, released) = w.complete(DiskToken(1));
        assert!(
            done.is_empty() && released.is_empty(),
            "one of two syncs is not a flush"
        );
        let (done, released) = w.complete(DiskToken(2));
        assert_eq!(done.len(), 1);
        assert_eq!(released.len(), 1);
        assert_eq!(released[0].1.correlation_id(), 5);
        assert!(!w.is_flushing(&TopicPartition::new("t", 0)));
    }

    #[test]
    fn nothing_to_wait_for_means_send_now() {
        let mut w = FlushWaiters::default();
        assert!(w.hold(NodeId(1), response(1), BTreeSet::new()).is_some());
        // A flush that already completed is nothing to wait for either.
        let id = w.start(flush(&[3]));
        w.complete(DiskToken(3));
        assert!(w.hold(NodeId(1), response(2), [id].into()).is_some());
    }

    #[test]
    fn responses_are_released_in_the_order_they_were_held() {
        let mut w = FlushWaiters::default();
        let id = w.start(flush(&[7]));
        assert!(w.hold(NodeId(1), response(1), [id].into()).is_none());
        assert!(w.hold(NodeId(1), response(2), [id].into()).is_none());
        let (_, released) = w.complete(DiskToken(7));
        let ids: Vec<i32> = released.iter().map(|(_, m)| m.correlation_id()).collect();
        assert_eq!(ids, vec![1, 2]);
    }
}
