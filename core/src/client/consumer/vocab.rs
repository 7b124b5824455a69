//! The consumer's words: what the application tells it, what it reports back, its timers and
//! what it records in the trace.

use crate::client::network;
use crate::config::AutoOffsetReset;
use crate::ids::TopicPartition;
use crate::node::Vocabulary;
use crate::protocol::{ErrorCode, Message};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;

/// The consumer's named deadlines.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Timer {
    /// `retry.backoff.ms` has passed; try again.
    RetryBackoff,
    /// Time to heartbeat to the group coordinator.
    Heartbeat,
    /// Time to commit positions (`auto.commit.interval.ms`).
    AutoCommit,
    /// `max.poll.interval.ms` has passed since the stalled poll loop last polled.
    PollTimeout,
    /// The application's stall is over; it polls again.
    StallEnd,
    /// A request's `request.timeout.ms`.
    Network(network::Timer),
}

impl From<network::Timer> for Timer {
    fn from(t: network::Timer) -> Self {
        Timer::Network(t)
    }
}

/// What the application tells its consumer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// `assign()` every partition of `topic` and start polling.
    Assign {
        /// The topic.
        topic: String,
    },
    /// `subscribe()` to `topic` as a member of its `group.id`.
    Subscribe {
        /// The topic.
        topic: String,
    },
    /// The application spends `duration_ms` processing what `poll()` returned and does not
    /// call `poll()` meanwhile (slow processing, a long pause in the poll loop). The
    /// heartbeat thread runs on.
    StallPoll {
        /// How long the poll loop stalls.
        duration_ms: u64,
    },
    /// `close()`: commit (with auto-commit), leave the group, stop.
    Close,
    /// `seekToBeginning(assignment())`: read every partition it owns again from its log start
    /// offset; its next commit moves the group back there ("fix mistakes by rereading").
    SeekToBeginning,
    /// `commitAsync(offsets)`: commit these positions (the next offset to read, per
    /// partition) — what an application that stores its results first commits once they are
    /// safe, e.g. a sink connector after its flush. Partitions it no longer owns are left out.
    Commit {
        /// (partition, next offset to read).
        offsets: Vec<(TopicPartition, i64)>,
    },
}

/// A record as `poll()` returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolledRecord {
    /// Its offset.
    pub offset: i64,
    /// Its key, as text.
    pub key: Option<String>,
    /// Its value, as text (with a registry-framed value, the payload after the framing).
    pub value: String,
    /// With `ValueDeserializer::RegistryFramed`, the schema id the value's framing names;
    /// none if the value is not framed (or is a tombstone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_id: Option<crate::registry::SchemaId>,
}

/// Why a member gave partitions up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationReason {
    /// Eager protocol: everything is revoked before rejoining.
    BeforeRejoining,
    /// Cooperative protocol (KIP-429): only what moves to another member.
    MovesToAnotherMember,
    /// The membership is gone: lost, not revoked, and nothing committed for them.
    Lost,
    /// `close()`.
    Closed,
    /// Another consumer runs with this one's `group.instance.id`.
    FencedInstanceId,
}

impl fmt::Display for RevocationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RevocationReason::BeforeRejoining => "revoked before rejoining",
            RevocationReason::MovesToAnotherMember => {
                "revoked: it moves to another member (cooperative)"
            }
            RevocationReason::Lost => {
                "lost: the member is no longer in the group, nothing committed"
            }
            RevocationReason::Closed => "revoked on close()",
            RevocationReason::FencedInstanceId => {
                "FENCED_INSTANCE_ID: another consumer runs with its group.instance.id"
            }
        })
    }
}

/// Why a member left its group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "why", rename_all = "snake_case")]
pub enum LeaveReason {
    /// The heartbeat thread saw no `poll()` for `max.poll.interval.ms` (KIP-62).
    PollTimeout {
        /// The setting.
        max_poll_interval_ms: u64,
    },
    /// The application called `close()`.
    Closed,
    /// Another consumer runs with this one's `group.instance.id`.
    FencedInstanceId,
}

impl fmt::Display for LeaveReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LeaveReason::PollTimeout {
                max_poll_interval_ms,
            } => write!(
                f,
                "poll timeout: no poll() for max.poll.interval.ms = {max_poll_interval_ms} ms"
            ),
            LeaveReason::Closed => f.write_str("the application closed the consumer"),
            LeaveReason::FencedInstanceId => {
                f.write_str("FENCED_INSTANCE_ID: another consumer runs with its group.instance.id")
            }
        }
    }
}

/// Why a consumer's position was (re)set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "why", rename_all = "snake_case")]
pub enum ResetReason {
    /// No valid position: `auto.offset.reset` chose one.
    AutoOffsetReset {
        /// The setting.
        auto_offset_reset: AutoOffsetReset,
    },
    /// `OFFSET_OUT_OF_RANGE` with `auto.offset.reset=none`: the partition is stuck.
    OutOfRangeWithoutReset,
    /// The group's committed offset, for a newly assigned partition.
    CommittedOffset,
    /// The application called `seekToBeginning()`: the log start offset.
    SeekToBeginning,
    /// KIP-320: the new leader's log ends below the position: it was truncated.
    TruncationDetected {
        /// The position that went past the new leader's log.
        position: i64,
    },
    /// KIP-320 truncation detected with `auto.offset.reset=none`: the partition is stuck.
    TruncationDetectedWithoutReset {
        /// The position that went past the new leader's log.
        position: i64,
    },
}

impl fmt::Display for ResetReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResetReason::AutoOffsetReset { auto_offset_reset } => write!(
                f,
                "auto.offset.reset={}",
                format!("{auto_offset_reset:?}").to_lowercase()
            ),
            ResetReason::OutOfRangeWithoutReset => {
                f.write_str("OFFSET_OUT_OF_RANGE with auto.offset.reset=none")
            }
            ResetReason::CommittedOffset => f.write_str("committed offset of the group"),
            ResetReason::SeekToBeginning => f.write_str("the application's seekToBeginning()"),
            ResetReason::TruncationDetected { position } => write!(
                f,
                "log truncation detected: position {position} is past the new leader's log (KIP-320)"
            ),
            ResetReason::TruncationDetectedWithoutReset { position } => write!(
                f,
                "log truncation detected below position {position} (KIP-320); auto.offset.reset=none"
            ),
        }
    }
}

/// What a consumer reports to its application.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    /// Records returned by `poll()`.
    Polled {
        /// The partition.
        partition: TopicPartition,
        /// The records, in offset order.
        records: Vec<PolledRecord>,
        /// The high watermark the leader reported with them.
        high_watermark: i64,
    },
    /// The group gave this member its partitions for a generation.
    Assigned {
        /// The group.
        group: String,
        /// The member id.
        member_id: String,
        /// The generation.
        generation: i32,
        /// Its partitions.
        partitions: Vec<TopicPartition>,
    },
    /// Partitions given up: before a rebalance (eager protocol: all of them), lost with the
    /// membership, or on `close()`.
    Revoked {
        /// The member id.
        member_id: String,
        /// The generation they were assigned in.
        generation: i32,
        /// The partitions.
        partitions: Vec<TopicPartition>,
        /// Why.
        reason: RevocationReason,
    },
    /// The member left its group (`LeaveGroup`).
    LeftGroup {
        /// The member id it had.
        member_id: String,
        /// The generation it had.
        generation: i32,
        /// Why.
        reason: LeaveReason,
    },
    /// An offset commit was refused (e.g. `ILLEGAL_GENERATION` for a zombie).
    CommitFailed {
        /// The member id.
        member_id: String,
        /// Why.
        error: ErrorCode,
    },
    /// A fetched batch failed its CRC check (`check.crcs=true`); nothing from it was returned.
    CorruptBatch {
        /// The partition.
        partition: TopicPartition,
        /// The batch's base offset.
        base_offset: i64,
        /// What was wrong.
        detail: String,
    },
    /// The position was reset.
    PositionReset {
        /// The partition.
        partition: TopicPartition,
        /// The new position (-1: none, the partition is stuck).
        offset: i64,
        /// Why.
        reason: ResetReason,
    },
}

/// What a consumer records in the trace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The application stalled in its poll loop (no `poll()` for a while).
    PollStalled {
        /// For how long.
        duration_ms: u64,
    },
    /// The application called `close()`.
    Closed,
    /// The application subscribed: the consumer is a member of `group` from now on.
    Subscribed {
        /// Its `group.id`.
        group: String,
    },
    /// `assign()`: the consumer reads these partitions (all of its topic's).
    PartitionsAssigned {
        /// The partitions.
        partitions: Vec<TopicPartition>,
    },
    /// The member joined a generation (its SyncGroup is on its way).
    Joined {
        /// Its member id.
        member_id: String,
        /// The generation.
        generation: i32,
    },
    /// The member forgot its membership (fenced, or unknown to the coordinator): it rejoins
    /// with an empty member id.
    MembershipReset,
    /// As the group's leader, the member assigned `topic` knowing `assigned_with`
    /// partitions (-1: the topic was unknown to it), and its metadata now says `now`: it
    /// rejoins so that the group is assigned again (Kafka's assignment snapshot).
    AssignmentMetadataChanged {
        /// The subscribed topic.
        topic: String,
        /// The partition count the assignment was computed with (-1: unknown).
        assigned_with: i32,
        /// The partition count the metadata says now.
        now: i32,
    },
    /// The application called `seekToBeginning()`: these partitions forget their positions
    /// and are looked up again at their log start.
    SeekedToBeginning {
        /// The partitions.
        partitions: Vec<TopicPartition>,
    },
    /// A partition's position is no longer valid (`OFFSET_OUT_OF_RANGE`): it is looked up
    /// again as `auto.offset.reset` says.
    PositionInvalid {
        /// The partition.
        partition: TopicPartition,
    },
    /// A request got no answer within `request.timeout.ms`.
    RequestTimedOut {
        /// The request's correlation id.
        correlation_id: i32,
        /// Its Kafka name.
        request: Cow<'static, str>,
    },
}

/// The words a consumer speaks.
#[derive(Debug)]
pub enum Vocab {}

impl Vocabulary for Vocab {
    type Msg = Message;
    type Timer = Timer;
    type Event = Event;
    type Reply = Reply;
    type Command = Command;
}
