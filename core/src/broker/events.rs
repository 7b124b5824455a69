//! What a broker records in the trace about its logs and its replicas.
//!
//! Two scopes: [`LogEvent`] is the log on disk — recovery after a crash and fsyncs, the
//! write-ahead-log story a DBA knows — and [`ReplicaEvent`] is replication — appends, the
//! high watermark, roles, truncations and the ISR. Together they say everything a reader
//! needs to redraw each replica's log (which offsets it holds, in which leader epoch, up to
//! where it is committed and durable) without looking inside the broker.

use crate::ids::TopicPartition;
pub use crate::log::AppendedBatch;
use crate::log::RecoveryReport;
use crate::log::cleaner::LogCleaned;
use crate::log::retention::SegmentsDeleted;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A replica's role for one partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplicaRole {
    /// No leader, or this broker is not (yet) told what to do.
    Offline,
    /// Leading: accepts produce, tracks followers.
    Leader,
    /// Following the leader, fetching from it.
    Follower,
}

impl fmt::Display for ReplicaRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReplicaRole::Offline => "offline",
            ReplicaRole::Leader => "leader",
            ReplicaRole::Follower => "follower",
        })
    }
}

/// Why a replica cut its log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TruncationCause {
    /// Before KIP-101: a new follower cut its log to its own high watermark.
    HighWatermarkOnBecomingFollower,
    /// The leader named the epoch where the follower's log stops agreeing with its own
    /// (KIP-101, KIP-279, KIP-595's diverging epoch).
    DivergingEpoch,
    /// The leader's log ends below the follower's (`OFFSET_OUT_OF_RANGE`, pre-KIP-101 Kafka's
    /// only check).
    LeaderLogEndsBelow,
    /// The follower's log ends below the leader's log start offset (retention deleted what it
    /// would fetch next): it starts afresh, empty, at the leader's log start.
    BelowLeaderLogStart,
}

impl fmt::Display for TruncationCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TruncationCause::HighWatermarkOnBecomingFollower => {
                "pre-KIP-101: truncate to the high watermark on becoming follower"
            }
            TruncationCause::DivergingEpoch => {
                "diverging epoch: the leader's log differs from here on"
            }
            TruncationCause::BelowLeaderLogStart => {
                "its log ends below the leader's log start offset: it starts afresh there"
            }
            TruncationCause::LeaderLogEndsBelow => {
                "OFFSET_OUT_OF_RANGE: the leader's log ends below ours"
            }
        })
    }
}

/// What started an fsync of a partition's log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FlushTrigger {
    /// `log.flush.interval.messages` appended messages since the last flush.
    #[serde(rename = "log.flush.interval.messages")]
    Messages,
    /// `log.flush.interval.ms` passed since the last flush (checked by the flush scheduler).
    #[serde(rename = "log.flush.interval.ms")]
    Interval,
    /// The broker is shutting down: every log is flushed before it stops.
    #[serde(rename = "shutdown")]
    Shutdown,
}

impl fmt::Display for FlushTrigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FlushTrigger::Messages => "log.flush.interval.messages",
            FlushTrigger::Interval => "log.flush.interval.ms",
            FlushTrigger::Shutdown => "the shutdown",
        })
    }
}

/// The log on disk: recovery and fsync.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum LogEvent {
    /// A broker recovered a partition's log from its disk at start-up.
    Recovered {
        /// The partition.
        partition: TopicPartition,
        /// What recovery found and did (boxed: it is large, and rare).
        report: Box<RecoveryReport>,
        /// The log start offset after recovery.
        log_start_offset: i64,
        /// Every leader epoch the recovered log holds and where it starts, oldest first.
        epochs: Vec<(i32, i64)>,
        /// The high watermark read back from `replication-offset-checkpoint` (capped at the
        /// log end).
        high_watermark: i64,
    },
    /// A flush (fsync) of a partition's log started.
    FlushStarted {
        /// The partition.
        partition: TopicPartition,
        /// Everything below this offset will be durable.
        up_to: i64,
        /// Which setting triggered it.
        trigger: FlushTrigger,
    },
    /// A flush completed: everything below `recovery_point` is on durable storage.
    Flushed {
        /// The partition.
        partition: TopicPartition,
        /// The recovery point.
        recovery_point: i64,
    },
    /// The log cleaner compacted this replica's log (`cleanup.policy=compact`).
    Cleaned {
        /// The partition.
        partition: TopicPartition,
        /// What the pass did.
        cleaned: LogCleaned,
    },
    /// Retention deleted whole segments and moved the log start offset.
    SegmentsDeleted {
        /// The partition.
        partition: TopicPartition,
        /// Which segments, why, and the new log start offset.
        deleted: SegmentsDeleted,
    },
}

/// Replication: what a replica holds and knows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ReplicaEvent {
    /// A broker started hosting a partition with an empty log (nothing of it on its disk).
    ReplicaCreated {
        /// The partition.
        partition: TopicPartition,
    },
    /// A replica appended record batches to its log (in the page cache): a leader from a
    /// producer (or the group coordinator), a follower copying its leader.
    LogAppended {
        /// The partition.
        partition: TopicPartition,
        /// The batches, in offset order.
        batches: Vec<AppendedBatch>,
        /// The new log end offset.
        log_end_offset: i64,
    },
    /// The high watermark moved.
    HighWatermarkUpdated {
        /// The partition.
        partition: TopicPartition,
        /// The new value.
        high_watermark: i64,
    },
    /// A replica's view of its partition after a role change: role, epochs, LEO, HW, ISR.
    ReplicaState {
        /// The partition.
        partition: TopicPartition,
        /// Its role.
        role: ReplicaRole,
        /// The leader epoch.
        leader_epoch: i32,
        /// The partition epoch (bumped on every leader or ISR change).
        partition_epoch: i32,
        /// The leader's broker id, or -1.
        leader: i32,
        /// The replica's log end offset.
        log_end_offset: i64,
        /// The replica's high watermark.
        high_watermark: i64,
        /// The replicas, preferred leader first.
        replicas: Vec<i32>,
        /// The ISR as this replica knows it.
        isr: Vec<i32>,
    },
    /// The replica's leader-epoch cache changed: a new leader noted where its epoch starts
    /// (before its first append, so that followers asking where an older epoch ended get the
    /// right answer), a follower copied batches of a new epoch, or a truncation dropped
    /// epochs. Each offset from one start to the next belongs to that epoch.
    LeaderEpochsChanged {
        /// The partition.
        partition: TopicPartition,
        /// Every epoch and where it starts, oldest first.
        epochs: Vec<(i32, i64)>,
    },
    /// A replica cut its log.
    ReplicaTruncated {
        /// The partition.
        partition: TopicPartition,
        /// The log end offset before.
        from: i64,
        /// The log end offset after.
        to: i64,
        /// The log start offset after (a cut below it starts the log afresh there).
        log_start_offset: i64,
        /// The high watermark after (it never exceeds the log end).
        high_watermark: i64,
        /// Why.
        cause: TruncationCause,
    },
    /// A leader recognised a retried batch of an idempotent producer and answered with the
    /// original offsets instead of writing it twice (KIP-98).
    DuplicateBatchIgnored {
        /// The partition.
        partition: TopicPartition,
        /// The producer id.
        producer_id: i64,
        /// The batch's first sequence number.
        base_sequence: i32,
        /// Where the original batch went.
        base_offset: i64,
    },
    /// The partition epoch moved, the ISR and the leader staying as they were.
    PartitionEpochBumped {
        /// The partition.
        partition: TopicPartition,
        /// The new partition epoch.
        partition_epoch: i32,
    },
    /// The ISR lost members.
    IsrShrunk {
        /// The partition.
        partition: TopicPartition,
        /// The new ISR.
        isr: Vec<i32>,
        /// The new partition epoch.
        partition_epoch: i32,
    },
    /// The ISR gained members.
    IsrExpanded {
        /// The partition.
        partition: TopicPartition,
        /// The new ISR.
        isr: Vec<i32>,
        /// The new partition epoch.
        partition_epoch: i32,
    },
}

impl ReplicaEvent {
    /// The partition the event is about.
    pub fn partition(&self) -> &TopicPartition {
        match self {
            ReplicaEvent::ReplicaCreated { partition }
            | ReplicaEvent::LogAppended { partition, .. }
            | ReplicaEvent::HighWatermarkUpdated { partition, .. }
            | ReplicaEvent::ReplicaState { partition, .. }
            | ReplicaEvent::LeaderEpochsChanged { partition, .. }
            | ReplicaEvent::ReplicaTruncated { partition, .. }
            | ReplicaEvent::DuplicateBatchIgnored { partition, .. }
            | ReplicaEvent::PartitionEpochBumped { partition, .. }
            | ReplicaEvent::IsrShrunk { partition, .. }
            | ReplicaEvent::IsrExpanded { partition, .. } => partition,
        }
    }
}

impl LogEvent {
    /// The partition the event is about.
    pub fn partition(&self) -> &TopicPartition {
        match self {
            LogEvent::Recovered { partition, .. }
            | LogEvent::FlushStarted { partition, .. }
            | LogEvent::Flushed { partition, .. }
            | LogEvent::SegmentsDeleted { partition, .. }
            | LogEvent::Cleaned { partition, .. } => partition,
        }
    }
}
