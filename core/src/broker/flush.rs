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
use crate::ids::TopicPartition;
use crate::protocol::Message;
use crate::ids::NodeId;
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
    pub fn hold(&mut self, to: NodeId, message: Message, waiting_for: BTreeSet<u64>) -> Option<(NodeId, Message)> {
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
