//! One partition as one replica sees it: its log, its role, and — on the leader — what it
//! knows of the followers.
//!
//! The leader appends; followers fetch from it; the leader notes each follower's log end
//! offset (LEO, the offset of its next fetch) and moves the *high watermark* (HW) to the
//! smallest LEO in the in-sync replica set (ISR). Records below the HW are on every ISR
//! member: they are *committed*, consumers may read them, `acks=all` producers hear back. A
//! follower learns the HW one fetch late. A follower that has not been caught up for
//! `replica.lag.time.max.ms` leaves the ISR; one that catches up rejoins it. This is etcd's
//! `quorum.CommittedIndex` idea with the ISR instead of a fixed majority.
//!
//! Every rule here — the high watermark, whether a follower's log diverges, where it
//! truncates, when it is caught up and when it may rejoin — is one pure function of
//! [`crate::replication`]; this file keeps the state and says what happened in the trace.

use super::Out;
use super::events::{LogEvent, ReplicaEvent, ReplicaRole, TruncationCause};
use super::producer_state::{ProducerStates, SequenceCheck};
use crate::config::BrokerConfig;
use crate::config::CleanupPolicy;
use crate::disk::{DiskImage, DiskOp};
use crate::ids::TopicPartition;
use crate::log::batch::BatchHeader;
use crate::log::cleaner::CleanerRules;
use crate::log::epoch_cache::UNDEFINED_EPOCH_OFFSET;
use crate::log::retention::{RetentionRules, SegmentsDeleted};
use crate::log::{AppendInfo, Log, LogConfig, LogError, RecoveryStart};
use crate::metadata::PartitionState;
use crate::protocol::{BrokerState, ErrorCode};
use crate::replication::epoch_end::{self, EpochEndOffset, FetchCheck};
use crate::replication::isr_lag::{self, FollowerFetchState};
use crate::replication::{committed, high_watermark, isr_join, truncation};
use crate::time::{Duration, Instant};
use std::collections::BTreeMap;

/// A replica's role for this partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// No leader, or this broker is not (yet) told what to do.
    Offline,
    /// Leading: accepts produce, tracks followers.
    Leader {
        /// What the leader knows of each follower's fetches, by broker id.
        followers: BTreeMap<i32, FollowerFetchState>,
        /// The ISR asked for in an `AlterPartition` not answered yet.
        pending_isr: Option<Vec<i32>>,
    },
    /// Following `leader`.
    Follower {
        /// The leader's broker id.
        leader: i32,
    },
}

/// A partition hosted by a broker.
#[derive(Debug)]
pub struct Partition {
    tp: TopicPartition,
    log: Log,
    role: Role,
    /// The leader's broker id as this replica knows it (-1: none).
    leader: i32,
    leader_epoch: i32,
    partition_epoch: i32,
    replicas: Vec<i32>,
    isr: Vec<i32>,
    high_watermark: i64,
    /// Everything below this offset is known durable (Kafka's "recovery point").
    recovery_point: i64,
    /// The highest offset a started flush will make durable.
    flush_requested_up_to: i64,
    last_flush_time: Instant,
    /// Idempotent producers' recent batches (leader only; rebuilt from the log on election).
    producers: ProducerStates,
    /// `min.insync.replicas` for this partition's topic, as the metadata resolves it.
    min_insync_replicas: usize,
    /// The strict min-ISR rule (KIP-966): no high watermark advance below
    /// `min.insync.replicas`. Off before KIP-966 (`eligible.leader.replicas.version=0`).
    strict_min_isr: bool,
    /// The topic's retention rules.
    retention: RetentionRules,
    /// The topic's `cleanup.policy`.
    cleanup: CleanupPolicy,
    /// The topic's compaction settings (used when `cleanup` compacts).
    cleaner: CleanerRules,
}

/// Whether any record of the batches in `bytes` has no key.
fn has_keyless_record(bytes: &[u8]) -> bool {
    crate::log::batch::batches(bytes).any(|b| b.records.iter().any(|r| r.key.is_none()))
}

/// The partition's directory in the broker's data dir, as Kafka names it: `orders-0`.
pub fn log_dir(tp: &TopicPartition) -> String {
    tp.to_string()
}

fn log_config(config: &BrokerConfig) -> LogConfig {
    LogConfig {
        segment_bytes: config.log_segment_bytes,
        index_interval_bytes: config.log_index_interval_bytes,
        segment_ms: config.roll_ms(),
    }
}

/// A topic's log settings as the metadata resolves them over the broker's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TopicLogSettings {
    /// `segment.ms` and `segment.bytes` (over `log.roll.ms`, `log.segment.bytes`).
    pub log: LogConfig,
    /// `retention.ms` and `retention.bytes` (over `log.retention.ms`, `log.retention.bytes`).
    pub retention: RetentionRules,
    /// `cleanup.policy` (over `log.cleanup.policy`).
    pub cleanup: CleanupPolicy,
    /// `min.cleanable.dirty.ratio`, `delete.retention.ms`, `min.compaction.lag.ms` (over the
    /// broker's `log.cleaner.*` ones).
    pub cleaner: CleanerRules,
}

impl TopicLogSettings {
    /// The broker's own settings, before any topic override.
    pub fn of_broker(config: &BrokerConfig) -> Self {
        TopicLogSettings {
            log: log_config(config),
            retention: RetentionRules {
                retention_ms: config.retention_ms(),
                retention_bytes: config.log_retention_bytes,
            },
            cleanup: config.log_cleanup_policy,
            cleaner: CleanerRules {
                min_cleanable_dirty_ratio_ppm: config.log_cleaner_min_cleanable_ratio.0,
                delete_retention_ms: config.log_cleaner_delete_retention_ms,
                min_compaction_lag_ms: config.log_cleaner_min_compaction_lag_ms,
            },
        }
    }
}

impl Partition {
    /// Rebuild the partition from the disk image, recovering its log from `start`.
    /// `high_watermark` is the value from the broker's `replication-offset-checkpoint`, if any.
    pub fn recover(
        tp: TopicPartition,
        config: &BrokerConfig,
        disk: &DiskImage,
        high_watermark: i64,
        start: RecoveryStart,
        now: Instant,
        out: &mut Out,
    ) -> Self {
        let dir = log_dir(&tp);
        let prefix = format!("{dir}/");
        let has_files = disk.keys().any(|f| f.starts_with(&prefix));
        let (mut log, report, ops) = Log::recover(&dir, log_config(config), disk, start);
        out.disk_all(ops);
        // What the recovery point does not cover may sit in the page cache only (a killed
        // process's writes): the next flush syncs it.
        let recovery_point = match start {
            RecoveryStart::CleanShutdown => log.log_end_offset(),
            RecoveryStart::RecoveryPoint(point) => {
                log.mark_unflushed_from(point);
                point.clamp(0, log.log_end_offset())
            }
        };
        let high_watermark = high_watermark.min(log.log_end_offset());
        if has_files {
            out.trace(LogEvent::Recovered {
                partition: tp.clone(),
                report: Box::new(report),
                log_start_offset: log.log_start_offset(),
                epochs: log
                    .epoch_cache()
                    .entries()
                    .iter()
                    .map(|e| (e.epoch, e.start_offset))
                    .collect(),
                high_watermark,
            });
        } else {
            out.trace(ReplicaEvent::ReplicaCreated {
                partition: tp.clone(),
            });
        }
        let broker = TopicLogSettings::of_broker(config);
        Partition {
            tp,
            log,
            role: Role::Offline,
            leader: -1,
            leader_epoch: -1,
            partition_epoch: -1,
            replicas: Vec::new(),
            isr: Vec::new(),
            high_watermark,
            recovery_point,
            flush_requested_up_to: recovery_point,
            last_flush_time: now,
            producers: ProducerStates::default(),
            min_insync_replicas: config.min_insync_replicas,
            strict_min_isr: true,
            retention: broker.retention,
            cleanup: broker.cleanup,
            cleaner: broker.cleaner,
        }
    }

    /// Take the topic's segment and retention settings from the metadata.
    pub fn set_log_settings(&mut self, settings: TopicLogSettings) {
        self.log.set_config(settings.log);
        self.retention = settings.retention;
        self.cleanup = settings.cleanup;
        self.cleaner = settings.cleaner;
    }

    /// The retention check (`log.retention.check.interval.ms`): delete the segments the
    /// topic's rules let go, never at or above the high watermark, on a leader as on a
    /// follower. A compacted topic without `delete` in its policy keeps its old segments.
    pub fn delete_old_segments(&mut self, now: Instant, out: &mut Out) {
        if !self.cleanup.deletes() {
            return;
        }
        let now_ms = now.as_millis() as i64;
        let epochs_before = self.epochs();
        let (hw, rules) = (self.high_watermark, self.retention);
        let deleted = self.log.delete_old_segments(now_ms, hw, rules, out);
        self.trace_deletions(deleted, epochs_before, out);
    }

    /// One pass of the log cleaner over a compacted topic's log, on a leader as on a
    /// follower: each replica compacts its own log below its own high watermark.
    pub fn clean(&mut self, now: Instant, out: &mut Out) {
        if !self.cleanup.compacts() {
            return;
        }
        let now_ms = now.as_millis() as i64;
        let hw = self.high_watermark;
        if let Some(cleaned) = self.log.clean(now_ms, hw, self.cleaner, out) {
            debug_assert!(
                cleaned.cleaner_point <= hw,
                "{}: the cleaner never rewrites above the high watermark",
                self.tp
            );
            out.trace(LogEvent::Cleaned {
                partition: self.tp.clone(),
                cleaned,
            });
        }
    }

    /// A follower moves its log start offset up to the leader's, deleting what lies below.
    pub fn follow_log_start_offset(&mut self, leader_log_start_offset: i64, out: &mut Out) {
        let epochs_before = self.epochs();
        let deleted = self.log.maybe_increment_log_start_offset(
            leader_log_start_offset,
            self.high_watermark,
            out,
        );
        self.trace_deletions(deleted, epochs_before, out);
    }

    /// Trace each deletion, then the epochs if the log start moved past an epoch's start.
    fn trace_deletions(
        &mut self,
        deleted: impl IntoIterator<Item = SegmentsDeleted>,
        epochs_before: Vec<(i32, i64)>,
        out: &mut Out,
    ) {
        for deleted in deleted {
            debug_assert!(
                deleted.log_start_offset <= self.high_watermark,
                "{}: retention never deletes above the high watermark",
                self.tp
            );
            self.recovery_point = self.recovery_point.max(deleted.log_start_offset);
            out.trace(LogEvent::SegmentsDeleted {
                partition: self.tp.clone(),
                deleted,
            });
        }
        if self.epochs() != epochs_before {
            self.trace_epochs(out);
        }
    }

    /// A follower whose log ends below the leader's log start offset (retention deleted
    /// what it would fetch next) starts afresh, empty, at the leader's log start offset
    /// (Kafka's `truncateFullyAndStartAt` on an out-of-range fetch).
    pub fn start_at_leader_log_start(&mut self, leader_log_start_offset: i64, out: &mut Out) {
        debug_assert!(!self.is_leader(), "{}: a leader never truncates", self.tp);
        let from = self.log.log_end_offset();
        if leader_log_start_offset <= from {
            return;
        }
        let epochs_before = self.epochs();
        let to = self
            .log
            .truncate_fully_and_start_at(leader_log_start_offset, out);
        self.high_watermark = self.high_watermark.max(to);
        self.recovery_point = to;
        self.flush_requested_up_to = self.flush_requested_up_to.max(to);
        let cause = TruncationCause::BelowLeaderLogStart;
        self.trace_truncation(from, to, cause, epochs_before, out);
    }

    /// Say in the trace that the log was cut from `from` to `to`, and why; and the epochs,
    /// if the cut changed them.
    fn trace_truncation(
        &self,
        from: i64,
        to: i64,
        cause: TruncationCause,
        epochs_before: Vec<(i32, i64)>,
        out: &mut Out,
    ) {
        out.trace(ReplicaEvent::ReplicaTruncated {
            partition: self.tp.clone(),
            from,
            to,
            log_start_offset: self.log.log_start_offset(),
            high_watermark: self.high_watermark,
            cause,
        });
        if self.epochs() != epochs_before {
            self.trace_epochs(out);
        }
    }

    /// Take `min.insync.replicas` and whether the strict min-ISR rule holds from the
    /// metadata (the topic's setting or the cluster's; the `eligible.leader.replicas.version`
    /// feature).
    pub fn set_min_isr_rule(&mut self, min_insync_replicas: usize, strict: bool) {
        self.min_insync_replicas = min_insync_replicas;
        self.strict_min_isr = strict;
    }

    /// `min.insync.replicas` for this partition, capped at its replication factor (Kafka's
    /// `Partition.effectiveMinIsr`: a setting above the replica count asks for every replica,
    /// not the impossible).
    pub fn min_insync_replicas(&self) -> usize {
        self.min_insync_replicas.min(self.replicas.len().max(1))
    }

    /// The partition.
    pub fn topic_partition(&self) -> &TopicPartition {
        &self.tp
    }
    /// The log.
    pub fn log(&self) -> &Log {
        &self.log
    }
    /// This replica's role.
    pub fn role(&self) -> &Role {
        &self.role
    }
    /// Whether this replica leads.
    pub fn is_leader(&self) -> bool {
        matches!(self.role, Role::Leader { .. })
    }
    /// The current leader epoch as this replica knows it.
    pub fn leader_epoch(&self) -> i32 {
        self.leader_epoch
    }
    /// The partition epoch as this replica knows it.
    pub fn partition_epoch(&self) -> i32 {
        self.partition_epoch
    }
    /// The replicas.
    pub fn replicas(&self) -> &[i32] {
        &self.replicas
    }
    /// The in-sync replicas.
    pub fn isr(&self) -> &[i32] {
        &self.isr
    }
    /// The log start offset.
    pub fn log_start_offset(&self) -> i64 {
        self.log.log_start_offset()
    }
    /// The log end offset (LEO): the offset the next record will get.
    pub fn log_end_offset(&self) -> i64 {
        self.log.log_end_offset()
    }
    /// The high watermark: records below it are committed.
    pub fn high_watermark(&self) -> i64 {
        self.high_watermark
    }
    /// Everything below this offset is durable.
    pub fn recovery_point(&self) -> i64 {
        self.recovery_point
    }
    /// When the last flush started.
    pub fn last_flush_time(&self) -> Instant {
        self.last_flush_time
    }
    /// Messages appended since the last flush started.
    pub fn unflushed_messages(&self) -> u64 {
        (self.log.log_end_offset() - self.flush_requested_up_to).max(0) as u64
    }
    /// Whether anything was appended since the last flush started.
    pub fn has_unflushed(&self) -> bool {
        self.unflushed_messages() > 0
    }

    /// The role, by name.
    pub fn role_name(&self) -> ReplicaRole {
        match self.role {
            Role::Offline => ReplicaRole::Offline,
            Role::Leader { .. } => ReplicaRole::Leader,
            Role::Follower { .. } => ReplicaRole::Follower,
        }
    }

    /// The leader's broker id as this replica knows it, or -1.
    pub fn leader(&self) -> i32 {
        self.leader
    }

    /// What the replica lets the world see.
    pub fn view(&self) -> crate::view::ReplicaView {
        crate::view::ReplicaView {
            partition: self.tp.clone(),
            role: self.role_name(),
            leader: self.leader,
            leader_epoch: self.leader_epoch,
            partition_epoch: self.partition_epoch,
            replicas: self.replicas.clone(),
            isr: self.isr.clone(),
            log_start_offset: self.log.log_start_offset(),
            log_end_offset: self.log.log_end_offset(),
            high_watermark: self.high_watermark,
            epochs: self.epochs(),
        }
    }

    /// The invariants every replica keeps, checked (in debug builds, hence in every test)
    /// after each step of the broker: the log start offset ≤ the high watermark ≤ the log end
    /// offset; the ISR is a subset of the replicas; a leader is in its own ISR. (That a
    /// leader's high watermark never goes back is asserted where it could: only
    /// [`Self::maybe_advance_high_watermark`] moves it, and only forward; the paths that lower
    /// a high watermark — truncation, a follower's fetch — never run on a leader.)
    pub fn debug_check_invariants(&self) {
        let (start, hw, leo) = (
            self.log.log_start_offset(),
            self.high_watermark,
            self.log.log_end_offset(),
        );
        debug_assert!(
            start <= hw && hw <= leo,
            "{}: log start {start} <= high watermark {hw} <= log end {leo}",
            self.tp
        );
        debug_assert!(
            self.isr.iter().all(|b| self.replicas.contains(b)),
            "{}: ISR {:?} within the replicas {:?}",
            self.tp,
            self.isr,
            self.replicas
        );
        debug_assert!(
            !self.is_leader() || self.isr.contains(&self.leader),
            "{}: leader {} in its ISR {:?}",
            self.tp,
            self.leader,
            self.isr
        );
    }

    /// The leader-epoch cache, as the trace and the views show it.
    fn epochs(&self) -> Vec<(i32, i64)> {
        self.log
            .epoch_cache()
            .entries()
            .iter()
            .map(|e| (e.epoch, e.start_offset))
            .collect()
    }

    fn trace_epochs(&self, out: &mut Out) {
        out.trace(ReplicaEvent::LeaderEpochsChanged {
            partition: self.tp.clone(),
            epochs: self.epochs(),
        });
    }

    fn trace_state(&self, out: &mut Out) {
        out.trace(ReplicaEvent::ReplicaState {
            partition: self.tp.clone(),
            role: self.role_name(),
            leader_epoch: self.leader_epoch,
            partition_epoch: self.partition_epoch,
            leader: self.leader,
            log_end_offset: self.log.log_end_offset(),
            high_watermark: self.high_watermark,
            replicas: self.replicas.clone(),
            isr: self.isr.clone(),
        });
    }

    /// Lead in `leader_epoch`: note where the epoch starts, and track every other replica.
    pub fn become_leader(&mut self, now: Instant, state: &PartitionState, me: i32, out: &mut Out) {
        let (leader_epoch, partition_epoch, replicas, isr) = (
            state.leader_epoch,
            state.partition_epoch,
            &state.replicas,
            &state.isr,
        );
        if self.log.assign_epoch(leader_epoch, out) {
            self.trace_epochs(out);
        }
        self.leader = me;
        self.leader_epoch = leader_epoch;
        self.partition_epoch = partition_epoch;
        self.replicas = replicas.to_vec();
        self.isr = isr.to_vec();
        // Every follower starts afresh (Kafka's `resetReplicaState`): an ISR member gets a full
        // `replica.lag.time.max.ms` to prove itself; a leader that led before keeps what it
        // knew of the followers' offsets.
        let previous = match &self.role {
            Role::Leader { followers, .. } => Some(followers),
            _ => None,
        };
        let leo = self.log.log_end_offset();
        let followers = replicas
            .iter()
            .filter(|b| **b != me)
            .map(|b| {
                let known = previous
                    .and_then(|f| f.get(b))
                    .unwrap_or(&FollowerFetchState::UNKNOWN);
                let state =
                    isr_lag::on_become_leader(known, now, leo, previous.is_none(), isr.contains(b));
                (*b, state)
            })
            .collect();
        self.producers = ProducerStates::rebuild(&self.log);
        self.role = Role::Leader {
            followers,
            pending_isr: None,
        };
        // A leader alone in its ISR commits everything it has at once; with followers in the
        // ISR it waits to hear their log end offsets.
        self.maybe_advance_high_watermark(out);
        self.trace_state(out);
    }

    /// Follow `leader` in `leader_epoch`. Before KIP-101 a follower cut its log to its high
    /// watermark right here; since, it keeps everything and lets the leader say where its log
    /// diverges.
    pub fn become_follower(
        &mut self,
        state: &PartitionState,
        legacy_truncate_to_hw: bool,
        out: &mut Out,
    ) {
        let (leader, leader_epoch, partition_epoch, replicas, isr) = (
            state.leader,
            state.leader_epoch,
            state.partition_epoch,
            &state.replicas,
            &state.isr,
        );
        self.leader_epoch = leader_epoch;
        self.partition_epoch = partition_epoch;
        self.replicas = replicas.to_vec();
        self.isr = isr.to_vec();
        self.role = Role::Follower { leader };
        self.leader = leader;
        if legacy_truncate_to_hw {
            let cause = TruncationCause::HighWatermarkOnBecomingFollower;
            self.truncate(self.high_watermark, cause, out);
        }
        self.trace_state(out);
    }

    /// No leader, or not a replica any more.
    pub fn go_offline(&mut self, leader_epoch: i32, out: &mut Out) {
        if self.role != Role::Offline {
            self.role = Role::Offline;
            self.leader = -1;
            self.leader_epoch = leader_epoch;
            self.trace_state(out);
        }
    }

    /// The controller changed the ISR (without changing the leader).
    pub fn update_isr(&mut self, isr: &[i32], partition_epoch: i32, out: &mut Out) {
        if self.isr != isr || self.partition_epoch != partition_epoch {
            let (before, after) = (self.isr.len(), isr.len());
            let same_members = self.isr == isr;
            self.isr = isr.to_vec();
            self.partition_epoch = partition_epoch;
            if let Role::Leader { pending_isr, .. } = &mut self.role {
                *pending_isr = None;
            }
            let (partition, isr) = (self.tp.clone(), self.isr.clone());
            if same_members {
                out.trace(ReplicaEvent::PartitionEpochBumped {
                    partition,
                    partition_epoch,
                });
            } else if after < before {
                out.trace(ReplicaEvent::IsrShrunk {
                    partition,
                    isr,
                    partition_epoch,
                });
            } else {
                out.trace(ReplicaEvent::IsrExpanded {
                    partition,
                    isr,
                    partition_epoch,
                });
            }
            self.maybe_advance_high_watermark(out);
        }
    }

    /// Append a producer's batches as leader.
    pub fn append_as_leader(
        &mut self,
        records: &[u8],
        out: &mut Out,
    ) -> Result<AppendInfo, ErrorCode> {
        if !self.is_leader() {
            return Err(ErrorCode::NotLeaderOrFollower);
        }
        // An idempotent producer's batch is judged by its sequence numbers first (producers
        // send one batch per partition per request).
        let header = BatchHeader::parse(records).map_err(|_| ErrorCode::CorruptMessage)?;
        if self.cleanup.compacts() && has_keyless_record(records) {
            // Kafka's `LogValidator`: "Compacted topic cannot accept message without key".
            return Err(ErrorCode::InvalidRecord);
        }
        let idempotent = header.producer_id >= 0 && header.base_sequence >= 0;
        let last_seq = header.base_sequence.wrapping_add(header.last_offset_delta);
        if idempotent {
            match self.producers.check(
                header.producer_id,
                header.producer_epoch,
                header.base_sequence,
                last_seq,
            ) {
                SequenceCheck::Append => {}
                SequenceCheck::Duplicate {
                    first_offset,
                    last_offset,
                } => {
                    out.trace(ReplicaEvent::DuplicateBatchIgnored {
                        partition: self.tp.clone(),
                        producer_id: header.producer_id,
                        base_sequence: header.base_sequence,
                        base_offset: first_offset,
                    });
                    return Ok(AppendInfo {
                        first_offset,
                        last_offset,
                        records: header.record_count.max(0) as u64,
                        batches: Vec::new(),
                    });
                }
                SequenceCheck::Refuse(error) => return Err(error),
            }
        }
        let epochs_before = self.epochs();
        let result = self.log.append_as_leader(records, self.leader_epoch, out);
        if self.epochs() != epochs_before {
            self.trace_epochs(out);
        }
        let info = result.map_err(|e| match e {
            LogError::CorruptMessage(_) => ErrorCode::CorruptMessage,
            _ => ErrorCode::KafkaStorageError,
        })?;
        if idempotent {
            self.producers.record(
                header.producer_id,
                header.producer_epoch,
                header.base_sequence,
                last_seq,
                info.first_offset,
                info.last_offset,
            );
        }
        out.trace(ReplicaEvent::LogAppended {
            partition: self.tp.clone(),
            batches: info.batches.clone(),
            log_end_offset: self.log.log_end_offset(),
        });
        self.maybe_advance_high_watermark(out);
        Ok(info)
    }

    /// Append batches fetched from the leader; the follower's HW follows the leader's, one
    /// fetch late.
    pub fn append_as_follower(
        &mut self,
        records: &[u8],
        leader_high_watermark: i64,
        out: &mut Out,
    ) -> Result<(), ErrorCode> {
        if !records.is_empty() {
            let epochs_before = self.epochs();
            let result = self.log.append_as_follower(records, out);
            let info = result.map_err(|_| ErrorCode::CorruptMessage)?;
            out.trace(ReplicaEvent::LogAppended {
                partition: self.tp.clone(),
                batches: info.batches,
                log_end_offset: self.log.log_end_offset(),
            });
            if self.epochs() != epochs_before {
                self.trace_epochs(out);
            }
        }
        debug_assert!(!self.is_leader(), "{}: a leader copies no one", self.tp);
        let hw = leader_high_watermark.min(self.log.log_end_offset());
        if hw != self.high_watermark {
            self.high_watermark = hw;
            out.trace(ReplicaEvent::HighWatermarkUpdated {
                partition: self.tp.clone(),
                high_watermark: hw,
            });
        }
        Ok(())
    }

    /// Truncate a follower's log after the leader named a divergence at `(epoch, end)`: where
    /// to is the kernel's answer ([`truncation::follower_truncation`], Kafka's
    /// `getOffsetTruncationState`: the smaller of the leader's end for that epoch and our own,
    /// KIP-279) or — before KIP-279 — the leader's answer alone
    /// ([`truncation::legacy_follower_truncation`]; an undefined answer sends us back to our
    /// high watermark, as Kafka 0.11–1.1 did).
    pub fn truncate_diverging(&mut self, epoch: i32, end: i64, legacy: bool, out: &mut Out) {
        let leo = self.log.log_end_offset();
        let target = if legacy {
            truncation::legacy_follower_truncation(end, leo, self.high_watermark)
        } else {
            let leader = EpochEndOffset::new(epoch, end);
            truncation::follower_truncation(
                leader,
                self.log.epoch_cache(),
                leo,
                self.high_watermark,
            )
            .offset
        };
        self.truncate(target, TruncationCause::DivergingEpoch, out);
    }

    /// The leader's log ends below ours: cut back to `end`.
    pub fn truncate_out_of_range(&mut self, end: i64, out: &mut Out) {
        self.truncate(end, TruncationCause::LeaderLogEndsBelow, out);
    }

    /// Cut the log to `target` (a batch boundary at or below it) if it is shorter than the
    /// log, and say why in the trace.
    fn truncate(&mut self, target: i64, cause: TruncationCause, out: &mut Out) {
        // A leader's log is the reference: it never truncates, so its high watermark never
        // goes back.
        debug_assert!(!self.is_leader(), "{}: a leader never truncates", self.tp);
        let from = self.log.log_end_offset();
        if target < from {
            let epochs_before = self.epochs();
            let to = self.log.truncate_to(target, out);
            self.high_watermark = self.high_watermark.min(to);
            self.trace_truncation(from, to, cause, epochs_before, out);
        }
    }

    /// Read whole batches from `fetch_offset`, at most `max_bytes` (but at least one batch),
    /// stopping below `limit` (the HW for consumers, the LEO for followers).
    pub fn read(
        &self,
        fetch_offset: i64,
        max_bytes: usize,
        limit: i64,
    ) -> Result<Vec<u8>, ErrorCode> {
        if fetch_offset > self.log.log_end_offset() || fetch_offset < self.log_start_offset() {
            return Err(ErrorCode::OffsetOutOfRange);
        }
        if fetch_offset >= limit {
            return Ok(Vec::new());
        }
        let mut bytes = self
            .log
            .read(fetch_offset, max_bytes)
            .map_err(|e| match e {
                LogError::OffsetOutOfRange { .. } => ErrorCode::OffsetOutOfRange,
                _ => ErrorCode::KafkaStorageError,
            })?;
        let mut keep = 0;
        while let Ok(h) = BatchHeader::parse(&bytes[keep..]) {
            if h.last_offset() >= limit {
                break;
            }
            keep += h.size;
        }
        bytes.truncate(keep);
        Ok(bytes)
    }

    /// The leader's check of a follower's fetch at `fetch_offset` whose log ends in
    /// `last_fetched_epoch` (-1: the fetch names no epoch, as before KIP-101): consistent (serve
    /// records), diverging (answer with the epoch and end offset to truncate to), or
    /// OFFSET_OUT_OF_RANGE when the leader cannot place the fetch — Kafka's
    /// `Partition.readRecords`, here [`epoch_end::check_fetch`].
    ///
    /// Before KIP-279 (`legacy`) the answer was only an offset, the start of the first epoch
    /// above the asked one ([`epoch_end::legacy_epoch_end_offset`]); an undefined one is
    /// passed on as undefined and the follower falls back to its high watermark.
    pub fn check_follower_fetch(
        &self,
        last_fetched_epoch: i32,
        fetch_offset: i64,
        legacy: bool,
    ) -> FetchCheck {
        let cache = self.log.epoch_cache();
        let leo = self.log.log_end_offset();
        let last_fetched_epoch = (last_fetched_epoch >= 0).then_some(last_fetched_epoch);
        if !legacy {
            let start = self.log.log_start_offset();
            return epoch_end::check_fetch(cache, start, leo, fetch_offset, last_fetched_epoch);
        }
        let Some(epoch) = last_fetched_epoch else {
            return FetchCheck::Consistent;
        };
        match epoch_end::legacy_epoch_end_offset(cache, epoch, leo) {
            UNDEFINED_EPOCH_OFFSET => FetchCheck::Diverging(EpochEndOffset::UNDEFINED),
            end if end < fetch_offset => FetchCheck::Diverging(EpochEndOffset::new(epoch, end)),
            _ => FetchCheck::Consistent,
        }
    }

    /// The offset where the leader's current epoch starts in its log (Kafka's
    /// `leaderEpochStartOffsetOpt`).
    fn epoch_start_offset(&self) -> i64 {
        self.log
            .epoch_cache()
            .entries()
            .iter()
            .find(|e| e.epoch == self.leader_epoch)
            .map_or(0, |e| e.start_offset)
    }

    /// A follower fetched at `fetch_offset`: note its progress, and the broker epoch of the
    /// process that fetched. Returns the ISR to ask for if the follower caught up and should
    /// rejoin — only if it `may_join` (Kafka's `Partition.isReplicaIsrEligible`: not fenced,
    /// not in controlled shutdown, as the leader's metadata says).
    pub fn on_follower_fetch(
        &mut self,
        now: Instant,
        follower: BrokerState,
        fetch_offset: i64,
        may_join: bool,
        out: &mut Out,
    ) -> Option<Vec<i32>> {
        let BrokerState {
            broker_id: replica,
            broker_epoch,
        } = follower;
        let leo = self.log.log_end_offset();
        let hw = self.high_watermark;
        let epoch_start = self.epoch_start_offset();
        let Role::Leader {
            followers,
            pending_isr,
        } = &mut self.role
        else {
            return None;
        };
        let f = followers.get_mut(&replica)?;
        *f = isr_lag::after_follower_fetch(f, fetch_offset, now, leo);
        f.broker_epoch = broker_epoch;
        // One ISR change at a time; the join rule itself is Kafka's `isFollowerInSync`.
        let expand = may_join
            && !self.isr.contains(&replica)
            && pending_isr.is_none()
            && isr_join::may_join_isr(fetch_offset, hw, Some(epoch_start));
        let request = expand.then(|| {
            let mut isr = self.isr.clone();
            isr.push(replica);
            isr.sort_unstable();
            *pending_isr = Some(isr.clone());
            isr
        });
        self.maybe_advance_high_watermark(out);
        request
    }

    /// Followers in the ISR that are no longer caught up ([`isr_lag::out_of_sync_replicas`],
    /// Kafka's `getOutOfSyncReplicas`): the ISR without them, if any must go (never the leader
    /// itself, and not while another `AlterPartition` is in flight).
    pub fn isr_to_shrink(&mut self, now: Instant, lag_max: Duration) -> Option<Vec<i32>> {
        let leo = self.log.log_end_offset();
        let Role::Leader {
            followers,
            pending_isr,
        } = &mut self.role
        else {
            return None;
        };
        if pending_isr.is_some() {
            return None;
        }
        let lagging =
            isr_lag::out_of_sync_replicas(self.leader, &self.isr, followers, leo, now, lag_max);
        if lagging.is_empty() {
            return None;
        }
        let isr: Vec<i32> = self
            .isr
            .iter()
            .copied()
            .filter(|b| !lagging.contains(b))
            .collect();
        *pending_isr = Some(isr.clone());
        Some(isr)
    }

    /// `isr` with each member's broker epoch, as an `AlterPartition` names them (KIP-903):
    /// this broker's own, and each follower's from its last fetch (-1 if it never fetched).
    pub fn isr_with_epochs(&self, isr: &[i32], own_epoch: i64) -> Vec<BrokerState> {
        let followers = match &self.role {
            Role::Leader { followers, .. } => Some(followers),
            _ => None,
        };
        isr.iter()
            .map(|&broker_id| BrokerState {
                broker_id,
                broker_epoch: if broker_id == self.leader {
                    own_epoch
                } else {
                    followers
                        .and_then(|f| f.get(&broker_id))
                        .map_or(-1, |f| f.broker_epoch)
                },
            })
            .collect()
    }

    /// The `AlterPartition` failed or was answered: stop waiting for it.
    pub fn clear_pending_isr(&mut self) {
        if let Role::Leader { pending_isr, .. } = &mut self.role {
            *pending_isr = None;
        }
    }

    /// Move the HW to the smallest LEO over the ISR and any replica being added or removed
    /// (Kafka's "maximal ISR", [`high_watermark::maximal_isr`]), never backwards
    /// ([`committed::high_watermark_advances`]). Returns whether it moved.
    ///
    /// With the strict min-ISR rule (KIP-966) it does not move while the committed ISR is
    /// smaller than `min.insync.replicas` ([`high_watermark::is_under_min_isr`]): a record is
    /// committed only once that many replicas have it, which is what lets a replica dropped
    /// from the ISR meanwhile stay eligible to lead. Kafka 3.7+ also waits for a caught-up
    /// follower outside the ISR ([`high_watermark::counts_toward_high_watermark`]); this
    /// broker does not yet (a named simplification, see [`crate::replication`]).
    pub fn maybe_advance_high_watermark(&mut self, out: &mut Out) -> bool {
        let Role::Leader {
            followers,
            pending_isr,
        } = &self.role
        else {
            return false;
        };
        if self.strict_min_isr
            && high_watermark::is_under_min_isr(
                self.isr.len(),
                self.min_insync_replicas,
                self.replicas.len(),
            )
        {
            return false;
        }
        let leo = self.log.log_end_offset();
        let members = high_watermark::maximal_isr(&self.isr, pending_isr.as_deref());
        // The leader counts with its own log end; a follower not heard from yet with
        // UNKNOWN_OFFSET, which holds the high watermark where it is.
        let follower_ends: Vec<i64> = members
            .iter()
            .filter_map(|b| followers.get(b).map(|f| f.log_end_offset))
            .collect();
        let candidate = high_watermark::isr_high_watermark(leo, &follower_ends);
        if committed::high_watermark_advances(self.high_watermark, candidate) {
            debug_assert!(
                candidate <= leo,
                "{}: HW {candidate} past LEO {leo}",
                self.tp
            );
            self.high_watermark = candidate;
            out.trace(ReplicaEvent::HighWatermarkUpdated {
                partition: self.tp.clone(),
                high_watermark: candidate,
            });
            return true;
        }
        false
    }

    /// Begin an fsync of every file with unsynced writes: returns the offset it will make
    /// durable and the disk operations (empty if there is nothing to sync).
    pub fn start_flush(&mut self, next_token: &mut u64, now: Instant) -> (i64, Vec<DiskOp>) {
        let up_to = self.log.log_end_offset();
        let ops = self.log.flush_ops(next_token);
        if !ops.is_empty() {
            self.flush_requested_up_to = up_to;
            self.last_flush_time = now;
        }
        (up_to, ops)
    }

    /// A flush up to `up_to` completed.
    pub fn flushed(&mut self, up_to: i64) {
        self.recovery_point = self.recovery_point.max(up_to);
    }

    /// For tests and the visualizer: what the leader knows of each follower.
    pub fn followers(&self) -> Option<&BTreeMap<i32, FollowerFetchState>> {
        match &self.role {
            Role::Leader { followers, .. } => Some(followers),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
