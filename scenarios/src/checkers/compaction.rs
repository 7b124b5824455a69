//! What log compaction promises, judged from the trace.
//!
//! - `latest-value`: a compacted topic holds the latest value of every live key. On every
//!   replica up at the end, each record its log cleaner removed must be superseded: a later
//!   record of the same key is still in that replica's log, or a later tombstone deleted the
//!   key (and may itself be gone, past `delete.retention.ms`). Retention and truncation are
//!   accounted for: what they took is not the cleaner's doing.
//!
//! The other checkers of the log (`poll-skip`, `offsets-dense`, `lost-write`, `unseen`,
//! `NoCommittedRecordLost`, `LogMatching`) excuse offsets some replica's cleaner removed
//! ([`History::compacted_away`](super::history::History::compacted_away)): a gap there is
//! the cleaner's, by design.

use crate::logs::{Logs, ReplicaLog};
use kafkasim_core::ids::TopicPartition;
use std::collections::{BTreeMap, BTreeSet};

/// One replica of a compacted partition at the end: its log and what its cleaner removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompactedReplica {
    /// The broker.
    pub node: String,
    /// The partition.
    pub partition: TopicPartition,
    /// Its log at the end.
    pub log: ReplicaLog,
    /// The records its cleaner removed (and no truncation took back).
    pub removed: ReplicaLog,
}

/// Every up replica whose cleaner removed something, and every offset any cleaner removed.
pub fn compactions(
    logs: &Logs,
) -> (
    Vec<CompactedReplica>,
    BTreeMap<TopicPartition, BTreeSet<i64>>,
) {
    let mut replicas = Vec::new();
    let mut offsets: BTreeMap<TopicPartition, BTreeSet<i64>> = BTreeMap::new();
    for (node, partitions) in logs.all() {
        for tp in partitions.keys() {
            if let Some(removed) = logs.removed(node, tp) {
                offsets
                    .entry(tp.clone())
                    .or_default()
                    .extend(removed.keys());
            }
        }
    }
    for (node, partitions) in logs.final_logs() {
        for (tp, log) in partitions {
            let Some(removed) = logs.removed(&node, &tp).filter(|r| !r.is_empty()) else {
                continue;
            };
            replicas.push(CompactedReplica {
                node: node.clone(),
                partition: tp,
                removed: removed.clone(),
                log,
            });
        }
    }
    (replicas, offsets)
}

/// `latest-value`.
pub fn latest_value(h: &super::history::History) -> Vec<String> {
    let mut findings = Vec::new();
    for r in &h.compacted {
        let start = h.retained_from(&r.node, &r.partition);
        for (offset, gone) in r.removed.range(start..) {
            if gone.tombstone || r.log.contains_key(offset) {
                continue;
            }
            let later = |log: &ReplicaLog, tombstones_only: bool| {
                log.range(offset + 1..)
                    .any(|(_, x)| x.key == gone.key && (!tombstones_only || x.tombstone))
            };
            if !later(&r.log, false) && !later(&r.removed, true) {
                findings.push(format!(
                    "{}'s cleaner removed key {} at {}@{offset} ({}), and nothing later of that key is left: its latest value is lost",
                    r.node,
                    gone.key.as_deref().unwrap_or("null"),
                    r.partition,
                    gone.value
                ));
            }
        }
    }
    findings
}
