//! A run's history, as checkers see it: what clients sent, what was acknowledged, what was
//! polled, and what the brokers' logs and disks say — extracted once from the trace.

use kafkasim_core::actor::{Event, Reply};
use kafkasim_core::broker::{LogEvent, ReplicaEvent, ReplicaRole};
use kafkasim_core::client::consumer::{self, PolledRecord};
use kafkasim_core::client::producer;
use kafkasim_core::group;
use kafkasim_core::ids::TopicPartition;
use kafkasim_core::time::Instant;
use kafkasim_sim::trace::{CrashKind, TraceKind};

use crate::logs::Logs;
use crate::trace::{Header, Line};
use crate::view::{Reducer, WorldView};
use kafkasim_core::actor::Command;
use kafkasim_core::config::Acks;
use kafkasim_core::view::NodeView;
use std::collections::BTreeMap;
use std::collections::BTreeSet;

/// A record the scenario asked a producer to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    /// The producer's node name.
    pub producer: String,
    /// The value (unique per run).
    pub value: String,
    /// When `send()` was called.
    pub time: Instant,
}

/// A record acknowledged with an offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acked {
    /// The record id.
    pub record_id: u64,
    /// Where it was written.
    pub partition: TopicPartition,
    /// At which offset.
    pub offset: i64,
    /// When the acknowledgement arrived.
    pub time: Instant,
}

/// One `poll()` result for one partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Poll {
    /// The consumer's node name.
    pub consumer: String,
    /// When.
    pub time: Instant,
    /// The partition.
    pub partition: TopicPartition,
    /// The records.
    pub records: Vec<PolledRecord>,
    /// The high watermark the leader reported with them.
    pub high_watermark: i64,
}

/// A consumer's assignment in a group generation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    /// The group.
    pub group: String,
    /// The consumer node.
    pub consumer: String,
    /// Its member id.
    pub member_id: String,
    /// The generation.
    pub generation: i32,
    /// When it was received.
    pub time: Instant,
    /// The partitions.
    pub partitions: Vec<TopicPartition>,
}

/// A consumer gave partitions up: revoked before a rebalance, lost with its membership, or
/// on `close()`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revocation {
    /// The consumer node.
    pub consumer: String,
    /// Its member id.
    pub member_id: String,
    /// The generation they were owned in.
    pub generation: i32,
    /// When.
    pub time: Instant,
    /// The partitions.
    pub partitions: Vec<TopicPartition>,
    /// Why, in Kafka's terms.
    pub reason: String,
}

/// A replica became leader: when, who, of what, in which epoch, with how long a log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Election {
    /// When.
    pub time: Instant,
    /// The broker node's name.
    pub node: String,
    /// The partition.
    pub partition: TopicPartition,
    /// The leader epoch.
    pub leader_epoch: i32,
    /// The new leader's log end offset.
    pub log_end_offset: i64,
    /// The highest high watermark any replica of the partition had reported before.
    pub committed_before: i64,
}

/// A crash of a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Crash {
    /// The node.
    pub node: String,
    /// When.
    pub time: Instant,
    /// Process crash or power loss.
    pub how: CrashKind,
    /// Each partition's recovery point (fsynced offset) at the moment of the crash.
    pub recovery_points: BTreeMap<TopicPartition, i64>,
    /// What its log held at that moment, per partition: offset → value.
    pub held: BTreeMap<TopicPartition, BTreeMap<i64, String>>,
}

/// A consumer group started a generation (`GroupGenerationStarted`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenerationStarted {
    /// When.
    pub time: Instant,
    /// The coordinator broker's node name.
    pub node: String,
    /// The group.
    pub group: String,
    /// The generation.
    pub generation: i32,
    /// Its members' ids.
    pub members: Vec<String>,
}

/// A member left a group or was removed from it (`GroupMemberRemoved`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberRemoved {
    /// When.
    pub time: Instant,
    /// The coordinator broker's node name.
    pub node: String,
    /// The group.
    pub group: String,
    /// The member id.
    pub member: String,
    /// Why, in the coordinator's words.
    pub reason: String,
    /// The member id that took its place: a static member back after a restart (KIP-345).
    pub replaced_by: Option<String>,
}

/// An offset commit a coordinator validated and appended to `__consumer_offsets`
/// (`OffsetCommitAppended`): the moment Kafka decides whether the committer is fenced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitAppended {
    /// When.
    pub time: Instant,
    /// The coordinator broker's node name.
    pub node: String,
    /// The group.
    pub group: String,
    /// The committing member's id.
    pub member: String,
    /// The generation it committed in (negative: outside any generation).
    pub generation: i32,
    /// The offsets, per partition.
    pub offsets: Vec<(TopicPartition, i64)>,
}

/// How a coordinator came to hold a group's committed offsets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommittedKind {
    /// A commit it appended reached the high watermark (`OffsetsCommitted`).
    Committed,
    /// It became the coordinator and read them from its log (`GroupOffsetsLoaded`).
    Loaded,
}

/// Committed offsets a coordinator now serves to `OffsetFetch`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommittedOffsets {
    /// When.
    pub time: Instant,
    /// The coordinator broker's node name.
    pub node: String,
    /// The group.
    pub group: String,
    /// The offsets, per partition.
    pub offsets: Vec<(TopicPartition, i64)>,
    /// Committed or loaded.
    pub kind: CommittedKind,
}

/// One step of a group's life, in trace order: each indexes its own list of [`History`].
/// Group checkers need the order across lists (was this generation current when that commit
/// was appended? was there a reset between these two committed values?), and time alone
/// cannot break ties between events of the same instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupStep {
    /// `generations[i]`.
    Generation(usize),
    /// `members_removed[i]`.
    MemberRemoved(usize),
    /// `commits_appended[i]`.
    CommitAppended(usize),
    /// `committed_offsets[i]`.
    Committed(usize),
    /// `resets[i]`: a consumer's position was reset (by `auto.offset.reset`, after a
    /// truncation, or to the group's committed offset).
    Reset(usize),
}

/// One step of a consumer's life, in trace order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsumerStep {
    /// `polls[i]`.
    Poll(usize),
    /// `resets[i]`.
    Reset(usize),
}

/// Everything checkers look at.
#[derive(Clone, Debug, Default)]
pub struct History {
    /// Sends by record id.
    pub sent: BTreeMap<u64, Sent>,
    /// Acknowledgements with offsets, in arrival order.
    pub acked: Vec<Acked>,
    /// Records that failed for good.
    pub failed: BTreeMap<u64, String>,
    /// Polls, in order.
    pub polls: Vec<Poll>,
    /// Position resets, per consumer and partition (time, new offset).
    pub resets: Vec<(String, TopicPartition, Instant, i64)>,
    /// Corrupt batches served to consumers: (consumer, partition, base offset, detail).
    pub corrupt: Vec<(String, TopicPartition, i64, String)>,
    /// Crashes, in order.
    pub crashes: Vec<Crash>,
    /// Every leader election, in order.
    pub elections: Vec<Election>,
    /// Group assignments received by consumers, in order.
    pub assignments: Vec<Assignment>,
    /// Refused offset commits: (consumer, member id, error).
    pub commit_failures: Vec<(String, String, String)>,
    /// Partitions consumers gave up (revoked, lost or closed), in order.
    pub revocations: Vec<Revocation>,
    /// Members that left their group (`LeaveGroup`): (consumer, member id, reason).
    pub departures: Vec<(String, String, String)>,
    /// Polls and resets interleaved in trace order: `Poll(i)` indexes `polls`, `Reset(i)`
    /// indexes `resets`.
    pub consumer_order: Vec<ConsumerStep>,
    /// Generations started by group coordinators, in order.
    pub generations: Vec<GenerationStarted>,
    /// Members that left or were removed from groups, in order.
    pub members_removed: Vec<MemberRemoved>,
    /// Offset commits appended by coordinators, in order.
    pub commits_appended: Vec<CommitAppended>,
    /// Offsets committed or loaded by coordinators, in order.
    pub committed_offsets: Vec<CommittedOffsets>,
    /// Generations, removals, commits and resets interleaved in trace order.
    pub group_order: Vec<GroupStep>,
    /// Each broker's final log, per partition: offset → value.
    pub final_logs: BTreeMap<String, BTreeMap<TopicPartition, BTreeMap<i64, String>>>,
    /// The leader epoch of each record in each broker's final log.
    pub final_epochs: BTreeMap<String, BTreeMap<TopicPartition, BTreeMap<i64, i32>>>,
    /// Each broker's high watermark per partition at the end.
    pub final_high_watermarks: BTreeMap<String, BTreeMap<TopicPartition, i64>>,
    /// Each partition's leader at the end (broker node name), if it has one.
    pub final_leaders: BTreeMap<TopicPartition, String>,
    /// Records sent by producers with `acks=all` (the ones replication promises to keep).
    pub acks_all: std::collections::BTreeSet<u64>,
    /// Each database's commits, rollbacks and final tables.
    pub databases: BTreeMap<String, super::database::DatabaseHistory>,
    /// Each warehouse table a sink connector keeps, with what its tasks read.
    pub warehouses: super::pipeline::Warehouses,
    /// Every deletion of segments by retention, with the replica's high watermark then.
    pub deletions: Vec<super::retention::Deletion>,
    /// Each up replica whose log cleaner removed records, with its log at the end.
    pub compacted: Vec<super::compaction::CompactedReplica>,
    /// Every offset some replica's log cleaner removed, per partition.
    pub compacted_offsets: BTreeMap<TopicPartition, BTreeSet<i64>>,
    /// Indices into `resets` of the positions taken from the group's committed offset (the
    /// others came from `auto.offset.reset` or a detected truncation).
    pub committed_resets: std::collections::BTreeSet<usize>,
    /// What the schema registries gave and the framed events named.
    pub schemas: super::schemas::SchemaHistory,
    /// The stream-processing stages, traced back to their sources.
    pub stages: Vec<super::stages::StageFacts>,
}

impl History {
    /// The history of a run, from its trace alone: what the producers were told to send,
    /// what came back, what consumers polled, what the coordinators did, and — replaying the
    /// replicas' logs and the last snapshot — what every broker holds at the end.
    pub fn from_trace(header: &Header, lines: &[Line]) -> Self {
        let mut history = History::default();
        for line in lines {
            if let TraceKind::Command {
                command:
                    Command::Producer(producer::Command::Send {
                        record_id, value, ..
                    }),
            } = &line.kind
            {
                let sent = Sent {
                    producer: line.node.to_string(),
                    value: value.clone().unwrap_or_default(),
                    time: line.time,
                };
                history.sent.insert(*record_id, sent);
            }
        }
        history.absorb_trace(lines);
        let logs = Logs::replay(lines);
        history.absorb_final_logs(&logs);
        history.absorb_held_at_crash(&logs);
        (history.compacted, history.compacted_offsets) = super::compaction::compactions(&logs);
        let end = Reducer::new(header, lines).at_end();
        if let Some(end) = &end {
            history.absorb_final_view(end);
        }
        history.databases = super::database::histories(header, lines, end.as_ref());
        history.warehouses = super::pipeline::warehouses(header, lines, end.as_ref());
        history.deletions = super::retention::deletions(lines);
        history.schemas = super::schemas::history(header, lines);
        history.stages = super::stages::stages(header);
        let acks_all: BTreeSet<&str> = header
            .producers()
            .filter(|(_, acks)| *acks == Acks::All)
            .map(|(name, _)| name)
            .collect();
        history.acks_all = history
            .sent
            .iter()
            .filter(|(_, s)| acks_all.contains(s.producer.as_str()))
            .map(|(id, _)| *id)
            .collect();
        history
    }

    fn absorb_held_at_crash(&mut self, logs: &Logs) {
        debug_assert_eq!(
            self.crashes.len(),
            logs.at_crashes().len(),
            "one entry per crash"
        );
        for (crash, held) in self.crashes.iter_mut().zip(logs.at_crashes()) {
            crash.held = held
                .iter()
                .map(|(tp, log)| {
                    let values = log.iter().map(|(o, r)| (*o, r.value.clone())).collect();
                    (tp.clone(), values)
                })
                .collect();
        }
    }

    fn absorb_final_logs(&mut self, logs: &Logs) {
        for (node, partitions) in logs.final_logs() {
            for (tp, log) in partitions {
                let values = log.iter().map(|(o, r)| (*o, r.value.clone())).collect();
                let epochs = log.iter().map(|(o, r)| (*o, r.leader_epoch)).collect();
                self.final_logs
                    .entry(node.clone())
                    .or_default()
                    .insert(tp.clone(), values);
                self.final_epochs
                    .entry(node.clone())
                    .or_default()
                    .insert(tp, epochs);
            }
        }
    }

    /// Each up broker's high watermarks, and each partition's leader, at the end.
    fn absorb_final_view(&mut self, end: &WorldView) {
        for node in &end.nodes {
            let Some(NodeView::Broker(broker)) = &node.view else {
                continue;
            };
            for r in &broker.replicas {
                self.final_high_watermarks
                    .entry(node.node.to_string())
                    .or_default()
                    .insert(r.partition.clone(), r.high_watermark);
                if r.role == ReplicaRole::Leader {
                    self.final_leaders
                        .insert(r.partition.clone(), node.node.to_string());
                }
            }
        }
    }

    /// Fill in acks, polls, failures, resets, corrupt reads, crashes and the groups' steps
    /// from the trace.
    pub fn absorb_trace(&mut self, events: &[Line]) {
        let mut recovery_points: BTreeMap<String, BTreeMap<TopicPartition, i64>> = BTreeMap::new();
        let mut committed: BTreeMap<TopicPartition, i64> = BTreeMap::new();
        for e in events {
            match &e.kind {
                TraceKind::Reply { reply } => self.absorb_reply(&e.node, e.time, reply),
                TraceKind::Node {
                    event:
                        Event::Log(LogEvent::Flushed {
                            partition,
                            recovery_point,
                        }),
                } => {
                    recovery_points
                        .entry(e.node.to_string())
                        .or_default()
                        .insert(partition.clone(), *recovery_point);
                }
                TraceKind::Node {
                    event:
                        Event::Log(LogEvent::Recovered {
                            partition, report, ..
                        }),
                } => {
                    // After a restart, the recovered log is the new durable starting point
                    // only as far as it was synced before; keep the lower of the two.
                    let points = recovery_points.entry(e.node.to_string()).or_default();
                    let point = points.entry(partition.clone()).or_insert(0);
                    *point = (*point).min(report.log_end_offset);
                }
                TraceKind::Node {
                    event:
                        Event::Replica(ReplicaEvent::HighWatermarkUpdated {
                            partition,
                            high_watermark,
                        }),
                } => {
                    let c = committed.entry(partition.clone()).or_insert(0);
                    *c = (*c).max(*high_watermark);
                }
                TraceKind::Node {
                    event:
                        Event::Replica(ReplicaEvent::ReplicaState {
                            partition,
                            role: ReplicaRole::Leader,
                            leader_epoch,
                            log_end_offset,
                            ..
                        }),
                } => self.elections.push(Election {
                    time: e.time,
                    node: e.node.to_string(),
                    partition: partition.clone(),
                    leader_epoch: *leader_epoch,
                    log_end_offset: *log_end_offset,
                    committed_before: committed.get(partition).copied().unwrap_or(0),
                }),
                TraceKind::Node {
                    event: Event::Group(event),
                } => self.absorb_group_event(&e.node, e.time, event),
                TraceKind::Crashed { how } => self.crashes.push(Crash {
                    node: e.node.to_string(),
                    time: e.time,
                    how: *how,
                    recovery_points: recovery_points.get(&*e.node).cloned().unwrap_or_default(),
                    held: BTreeMap::new(), // filled in from the replayed logs
                }),
                _ => {}
            }
        }
    }

    fn absorb_reply(&mut self, node: &str, time: Instant, reply: &Reply) {
        match reply {
            Reply::Producer(reply) => self.absorb_producer_reply(time, reply),
            Reply::Consumer(reply) => self.absorb_consumer_reply(node, time, reply),
            // Read by the database checkers' own history.
            Reply::Database(_) => {}
        }
    }

    fn absorb_producer_reply(&mut self, time: Instant, reply: &producer::Reply) {
        match reply {
            producer::Reply::Acked {
                record_id,
                partition,
                offset: Some(offset),
            } => self.acked.push(Acked {
                record_id: *record_id,
                partition: partition.clone(),
                offset: *offset,
                time,
            }),
            producer::Reply::Acked { offset: None, .. } => {}
            producer::Reply::Failed {
                record_id,
                error,
                cause,
                ..
            } => {
                let text = match cause {
                    Some(c) if c != error => format!("{error} after {c}"),
                    _ => error.to_string(),
                };
                self.failed.insert(*record_id, text);
            }
        }
    }

    fn absorb_consumer_reply(&mut self, node: &str, time: Instant, reply: &consumer::Reply) {
        use consumer::Reply as R;
        match reply {
            R::Polled {
                partition,
                records,
                high_watermark,
            } => {
                self.consumer_order
                    .push(ConsumerStep::Poll(self.polls.len()));
                self.polls.push(Poll {
                    consumer: node.to_string(),
                    time,
                    partition: partition.clone(),
                    records: records.clone(),
                    high_watermark: *high_watermark,
                });
            }
            R::Assigned {
                group,
                member_id,
                generation,
                partitions,
            } => self.assignments.push(Assignment {
                group: group.clone(),
                consumer: node.to_string(),
                member_id: member_id.clone(),
                generation: *generation,
                time,
                partitions: partitions.clone(),
            }),
            R::Revoked {
                member_id,
                generation,
                partitions,
                reason,
            } => self.revocations.push(Revocation {
                consumer: node.to_string(),
                member_id: member_id.clone(),
                generation: *generation,
                time,
                partitions: partitions.clone(),
                reason: reason.to_string(),
            }),
            R::LeftGroup {
                member_id, reason, ..
            } => self
                .departures
                .push((node.to_string(), member_id.clone(), reason.to_string())),
            R::CommitFailed { member_id, error } => {
                self.commit_failures
                    .push((node.to_string(), member_id.clone(), error.to_string()))
            }
            R::CorruptBatch {
                partition,
                base_offset,
                detail,
            } => self.corrupt.push((
                node.to_string(),
                partition.clone(),
                *base_offset,
                detail.clone(),
            )),
            R::PositionReset {
                partition,
                offset,
                reason,
            } => {
                if *reason == consumer::ResetReason::CommittedOffset {
                    self.committed_resets.insert(self.resets.len());
                }
                self.push_reset(node, partition.clone(), time, *offset)
            }
        }
    }

    /// Record a group coordinator's event (other events are not for group checkers).
    fn absorb_group_event(&mut self, node: &str, time: Instant, event: &group::Event) {
        let node = node.to_string();
        match event {
            group::Event::GenerationStarted {
                group,
                generation,
                members,
                ..
            } => self.push_generation(GenerationStarted {
                time,
                node,
                group: group.clone(),
                generation: *generation,
                members: members.clone(),
            }),
            group::Event::MemberRemoved {
                group,
                member,
                reason,
            } => self.push_member_removed(MemberRemoved {
                time,
                node,
                group: group.clone(),
                member: member.clone(),
                reason: reason.to_string(),
                replaced_by: None,
            }),
            group::Event::StaticMemberReplaced {
                group,
                instance,
                old,
                new,
                ..
            } => self.push_member_removed(MemberRemoved {
                time,
                node,
                group: group.clone(),
                member: old.clone(),
                reason: format!("replaced by {new}, back with group.instance.id {instance}"),
                replaced_by: Some(new.clone()),
            }),
            group::Event::OffsetCommitAppended {
                group,
                member,
                generation,
                offsets,
            } => self.push_commit_appended(CommitAppended {
                time,
                node,
                group: group.clone(),
                member: member.clone(),
                generation: *generation,
                offsets: offsets.clone(),
            }),
            group::Event::OffsetsCommitted { group, offsets } => {
                self.push_committed(CommittedOffsets {
                    time,
                    node,
                    group: group.clone(),
                    offsets: offsets.clone(),
                    kind: CommittedKind::Committed,
                })
            }
            group::Event::OffsetsLoaded { group, offsets } => {
                self.push_committed(CommittedOffsets {
                    time,
                    node,
                    group: group.clone(),
                    offsets: offsets.clone(),
                    kind: CommittedKind::Loaded,
                })
            }
            _ => {}
        }
    }

    /// Record a consumer's position reset, in consumer and group order.
    pub fn push_reset(
        &mut self,
        consumer: &str,
        partition: TopicPartition,
        time: Instant,
        offset: i64,
    ) {
        self.consumer_order
            .push(ConsumerStep::Reset(self.resets.len()));
        self.group_order.push(GroupStep::Reset(self.resets.len()));
        self.resets
            .push((consumer.to_string(), partition, time, offset));
    }

    /// Record a generation started, in group order.
    pub fn push_generation(&mut self, g: GenerationStarted) {
        self.group_order
            .push(GroupStep::Generation(self.generations.len()));
        self.generations.push(g);
    }

    /// Record a member removed from a group, in group order.
    pub fn push_member_removed(&mut self, m: MemberRemoved) {
        self.group_order
            .push(GroupStep::MemberRemoved(self.members_removed.len()));
        self.members_removed.push(m);
    }

    /// Record an appended offset commit, in group order.
    pub fn push_commit_appended(&mut self, c: CommitAppended) {
        self.group_order
            .push(GroupStep::CommitAppended(self.commits_appended.len()));
        self.commits_appended.push(c);
    }

    /// Record committed or loaded offsets, in group order.
    pub fn push_committed(&mut self, c: CommittedOffsets) {
        self.group_order
            .push(GroupStep::Committed(self.committed_offsets.len()));
        self.committed_offsets.push(c);
    }

    /// The value a record id was sent with.
    pub fn value_of(&self, record_id: u64) -> Option<&str> {
        self.sent.get(&record_id).map(|s| s.value.as_str())
    }

    /// Where retention left `node`'s log of `tp` starting (0 if it deleted nothing): the
    /// records below were committed (retention deletes only below the high watermark) and
    /// expired, not lost.
    pub fn retained_from(&self, node: &str, tp: &TopicPartition) -> i64 {
        self.deletions
            .iter()
            .filter(|d| d.node == node && d.partition == *tp)
            .map(|d| d.log_start_offset)
            .max()
            .unwrap_or(0)
    }
}

impl History {
    /// Whether some replica's log cleaner removed `tp`@`offset`: a record superseded by a
    /// later one of its key, or an expired tombstone. Not seeing it is no loss.
    pub fn compacted_away(&self, tp: &TopicPartition, offset: i64) -> bool {
        self.compacted_offsets
            .get(tp)
            .is_some_and(|o| o.contains(&offset))
    }

    /// Whether every offset strictly between `from` and `to` was compacted away.
    pub fn compacted_between(&self, tp: &TopicPartition, from: i64, to: i64) -> bool {
        (from + 1..to).all(|o| self.compacted_away(tp, o))
    }

    /// Walk every consumer's polls in order, forgetting the previous offset of a partition
    /// when its position was reset; `visit(poll, record, previous offset)` sees each record.
    pub fn walk_polls(&self, mut visit: impl FnMut(&Poll, &PolledRecord, Option<i64>)) {
        let mut last: BTreeMap<(&str, &TopicPartition), i64> = BTreeMap::new();
        for step in &self.consumer_order {
            match *step {
                ConsumerStep::Reset(i) => {
                    let (consumer, tp, _, _) = &self.resets[i];
                    last.remove(&(consumer.as_str(), tp));
                }
                ConsumerStep::Poll(i) => {
                    let poll = &self.polls[i];
                    for record in &poll.records {
                        let key = (poll.consumer.as_str(), &poll.partition);
                        visit(poll, record, last.get(&key).copied());
                        last.insert(key, record.offset);
                    }
                }
            }
        }
    }
}
