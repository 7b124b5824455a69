//! Every replica's log as the trace tells it: which record is at which offset, in which
//! leader epoch.
//!
//! A replica's log grows by [`ReplicaEvent::LogAppended`] (a leader's append, a follower's
//! copy) and shrinks by [`ReplicaEvent::ReplicaTruncated`]; a crash and restart keeps what
//! recovery found ([`LogEvent::Recovered`] says where the recovered log ends), and a partition
//! whose files did not survive starts empty; the log cleaner removes what [`LogEvent::Cleaned`]
//! names and rewrites batches under new CRCs, which later copies of them carry. Replaying those events gives, at the end of a
//! run, the same logs as reading the brokers' disks — which is what the replication and
//! durability checkers judge, now from a saved trace alone.

use crate::trace::{Kind, Line};
use kafkasim_core::actor::Event;
use kafkasim_core::broker::{LogEvent, ReplicaEvent};
use kafkasim_core::ids::TopicPartition;
use kafkasim_core::log::AppendedBatch;
use kafkasim_core::log::cleaner::LogCleaned;
use kafkasim_sim::trace::Name;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// One record in a replica's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedRecord {
    /// The epoch of the leader that appended it.
    pub leader_epoch: i32,
    /// Its value, as text (empty for a tombstone).
    pub value: String,
    /// Its key, as text (`None`: a null key).
    pub key: Option<String>,
    /// Whether its value is null: a tombstone, which deletes its key from a compacted topic.
    pub tombstone: bool,
}

/// A record's content, as its batch holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Content {
    value: String,
    key: Option<String>,
    tombstone: bool,
}

/// A batch's records by offset.
type BatchContent = Arc<BTreeMap<i64, Content>>;

/// One replica's log: offset → record.
pub type ReplicaLog = BTreeMap<i64, LoggedRecord>;

/// Each up broker's logs, per partition.
pub type FinalLogs = BTreeMap<String, BTreeMap<TopicPartition, ReplicaLog>>;

/// Every replica's log, replayed from the trace.
#[derive(Clone, Debug, Default)]
pub struct Logs {
    logs: BTreeMap<Name, BTreeMap<TopicPartition, ReplicaLog>>,
    /// What a restarting node had before its crash, until recovery says what survived.
    before_restart: BTreeMap<Name, BTreeMap<TopicPartition, ReplicaLog>>,
    down: BTreeSet<Name>,
    /// Each batch's records as its leader appended them, or as a cleaner rewrote them, by
    /// (base offset, epoch, CRC): what a follower's copy of the batch holds.
    originals: BTreeMap<(i64, i32, u32), BatchContent>,
    /// What each crashed node's log held as it went down, one entry per crash in trace order.
    at_crashes: Vec<BTreeMap<TopicPartition, ReplicaLog>>,
    /// The records each node's log cleaner removed, per partition, while they still matter:
    /// a truncation takes back those at or above its point (the log there is rewritten).
    removed: BTreeMap<Name, BTreeMap<TopicPartition, ReplicaLog>>,
}

impl Logs {
    /// Replay every line of a trace.
    pub fn replay(lines: &[Line]) -> Self {
        let mut logs = Logs::default();
        for line in lines {
            logs.apply(line);
        }
        logs
    }

    /// Take one line into account.
    pub fn apply(&mut self, line: &Line) {
        let node = &line.node;
        match &line.kind {
            Kind::Node {
                event: Event::Replica(e),
            } => self.replica_event(node, e),
            Kind::Node {
                event:
                    Event::Log(LogEvent::Recovered {
                        partition,
                        report,
                        log_start_offset,
                        ..
                    }),
            } => {
                let mut log = self
                    .before_restart
                    .get_mut(node)
                    .and_then(|logs| logs.remove(partition))
                    .unwrap_or_default();
                log.retain(|o, _| *o >= *log_start_offset && *o < report.log_end_offset);
                self.log_mut(node, partition).clone_from(&log);
            }
            Kind::Node {
                event: Event::Log(LogEvent::Cleaned { partition, cleaned }),
            } => self.cleaned(node, partition, cleaned),
            Kind::Node {
                event: Event::Log(LogEvent::SegmentsDeleted { partition, deleted }),
            } => {
                let start = deleted.log_start_offset;
                self.log_mut(node, partition).retain(|o, _| *o >= start);
            }
            Kind::Crashed { .. } => {
                let held = self.logs.get(node).cloned().unwrap_or_default();
                self.at_crashes.push(held);
                self.down.insert(node.clone());
            }
            Kind::Stopped => {
                self.down.insert(node.clone());
            }
            Kind::Restarted { .. } => {
                self.down.remove(node);
                // A restarted broker has only what recovery finds on its disk.
                let before = self.logs.remove(node).unwrap_or_default();
                self.before_restart.insert(node.clone(), before);
            }
            _ => {}
        }
    }

    /// The cleaner removed records from `node`'s log and rewrote batches: each rewritten
    /// batch now holds what is left of it, under its new CRC.
    fn cleaned(&mut self, node: &Name, tp: &TopicPartition, cleaned: &LogCleaned) {
        let log = self.log_mut(node, tp);
        let mut gone = ReplicaLog::new();
        for (first, last) in &cleaned.removed {
            let doomed: Vec<i64> = log.range(first..=last).map(|(o, _)| *o).collect();
            for o in doomed {
                gone.extend(log.remove_entry(&o));
            }
        }
        let log = self.log_mut(node, tp);
        let mut rewritten = Vec::new();
        for b in &cleaned.rewritten {
            let records: BTreeMap<i64, Content> = log
                .range(b.base_offset..=b.last_offset)
                .map(|(o, r)| (*o, content(r)))
                .collect();
            rewritten.push(((b.base_offset, b.leader_epoch, b.crc), Arc::new(records)));
        }
        self.originals.extend(rewritten);
        self.removed
            .entry(node.clone())
            .or_default()
            .entry(tp.clone())
            .or_default()
            .extend(gone);
    }

    /// The records `node`'s cleaner removed from its log of `tp` (and no truncation took back).
    pub fn removed(&self, node: &str, tp: &TopicPartition) -> Option<&ReplicaLog> {
        self.removed.get(node).and_then(|logs| logs.get(tp))
    }

    fn log_mut(&mut self, node: &Name, tp: &TopicPartition) -> &mut ReplicaLog {
        self.logs
            .entry(node.clone())
            .or_default()
            .entry(tp.clone())
            .or_default()
    }

    fn replica_event(&mut self, node: &Name, event: &ReplicaEvent) {
        match event {
            ReplicaEvent::LogAppended {
                partition, batches, ..
            } => {
                for b in batches {
                    let key = (b.base_offset, b.leader_epoch, b.crc);
                    if !b.values.is_empty() {
                        self.originals.insert(key, Arc::new(original_content(b)));
                    }
                    let content = self.originals.get(&key).cloned();
                    let log = self.log_mut(node, partition);
                    match content {
                        Some(records) => {
                            for (offset, c) in records.iter() {
                                log.insert(*offset, logged(b.leader_epoch, c.clone()));
                            }
                        }
                        // A copy of a batch no leader appended in this trace: say so, and
                        // let the checkers see it differ.
                        None => {
                            for offset in b.base_offset..=b.last_offset {
                                let c = Content {
                                    value: format!("<unknown batch crc {}>", b.crc),
                                    key: None,
                                    tombstone: false,
                                };
                                log.insert(offset, logged(b.leader_epoch, c));
                            }
                        }
                    }
                }
            }
            ReplicaEvent::ReplicaTruncated {
                partition,
                to,
                log_start_offset,
                ..
            } => {
                let log = self.log_mut(node, partition);
                log.split_off(to);
                log.retain(|o, _| o >= log_start_offset);
                if let Some(gone) = self
                    .removed
                    .get_mut(node)
                    .and_then(|l| l.get_mut(partition))
                {
                    gone.split_off(to);
                    gone.retain(|o, _| o >= log_start_offset);
                }
            }
            _ => {}
        }
    }

    /// The logs `node` holds now (while it is up, or as it left them when it went down).
    pub fn node(&self, node: &str) -> Option<&BTreeMap<TopicPartition, ReplicaLog>> {
        self.logs.get(node)
    }

    /// Every node's logs now, up or not.
    pub fn all(&self) -> impl Iterator<Item = (&str, &BTreeMap<TopicPartition, ReplicaLog>)> {
        self.logs.iter().map(|(n, l)| (&**n, l))
    }

    /// What each crashed node's log held as it went down: one entry per crash line, in
    /// trace order.
    pub fn at_crashes(&self) -> &[BTreeMap<TopicPartition, ReplicaLog>] {
        &self.at_crashes
    }

    /// The logs of every broker that is up, per partition.
    pub fn final_logs(&self) -> FinalLogs {
        self.logs
            .iter()
            .filter(|(node, _)| !self.down.contains(*node))
            .map(|(node, logs)| (node.to_string(), logs.clone()))
            .collect()
    }
}

/// The records of a batch as its leader's append tells them, by offset.
fn original_content(b: &AppendedBatch) -> BTreeMap<i64, Content> {
    b.values
        .iter()
        .enumerate()
        .map(|(i, value)| {
            let content = Content {
                value: value.clone(),
                key: b.keys.get(i).cloned().flatten(),
                tombstone: b.tombstones.contains(&(i as u32)),
            };
            (b.base_offset + i as i64, content)
        })
        .collect()
}

fn logged(leader_epoch: i32, c: Content) -> LoggedRecord {
    LoggedRecord {
        leader_epoch,
        value: c.value,
        key: c.key,
        tombstone: c.tombstone,
    }
}

fn content(r: &LoggedRecord) -> Content {
    Content {
        value: r.value.clone(),
        key: r.key.clone(),
        tombstone: r.tombstone,
    }
}
