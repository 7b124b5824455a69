//! The consumer group protocol (KIP-62 era "classic" protocol): finding the coordinator,
//! joining, synchronising the assignment, heartbeating, leaving, and committed offsets.

use super::ErrorCode;
use crate::ids::{NodeId, TopicPartition};

/// `FindCoordinatorRequest`: which broker coordinates group `key`?
#[derive(Clone, Debug)]
pub struct FindCoordinatorRequest {
    /// Matches the response to the request.
    pub correlation_id: i32,
    /// The group id.
    pub key: String,
}

/// `FindCoordinatorResponse`.
#[derive(Clone, Debug)]
pub struct FindCoordinatorResponse {
    /// Echoes the request's.
    pub correlation_id: i32,
    /// `NONE` or `COORDINATOR_NOT_AVAILABLE`.
    pub error: ErrorCode,
    /// The coordinator's `node.id`.
    pub node_id: i32,
    /// Where to reach it.
    pub address: NodeId,
}

/// What a member tells the group when it joins: its subscription and what it owns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscription {
    /// Topics subscribed to.
    pub topics: Vec<String>,
    /// Partitions currently owned (used by the sticky assignors).
    pub owned: Vec<TopicPartition>,
}

/// `JoinGroupRequest`.
#[derive(Clone, Debug)]
pub struct JoinGroupRequest {
    /// Matches the response to the request.
    pub correlation_id: i32,
    /// The group id.
    pub group_id: String,
    /// The member id, empty on a first join.
    pub member_id: String,
    /// `group.instance.id`: a static member's stable identity (KIP-345).
    pub group_instance_id: Option<String>,
    /// `session.timeout.ms`.
    pub session_timeout_ms: u64,
    /// `max.poll.interval.ms`, used as the rebalance timeout.
    pub rebalance_timeout_ms: u64,
    /// The assignor the member wants (`partition.assignment.strategy`).
    pub protocol: String,
    /// Its subscription.
    pub subscription: Subscription,
}

/// `JoinGroupResponse`.
#[derive(Clone, Debug)]
pub struct JoinGroupResponse {
    /// Echoes the request's.
    pub correlation_id: i32,
    /// `NONE`, `UNKNOWN_MEMBER_ID`, `NOT_COORDINATOR`...
    pub error: ErrorCode,
    /// The new generation.
    pub generation_id: i32,
    /// The chosen assignor.
    pub protocol: String,
    /// The leader's member id.
    pub leader: String,
    /// This member's id.
    pub member_id: String,
    /// For the leader only: every member and its subscription.
    pub members: Vec<(String, Subscription)>,
}

/// `SyncGroupRequest`.
#[derive(Clone, Debug)]
pub struct SyncGroupRequest {
    /// Matches the response to the request.
    pub correlation_id: i32,
    /// The group id.
    pub group_id: String,
    /// The generation.
    pub generation_id: i32,
    /// The member id.
    pub member_id: String,
    /// From the leader: every member's assignment. Empty from the others.
    pub assignments: Vec<(String, Vec<TopicPartition>)>,
}

/// `SyncGroupResponse`.
#[derive(Clone, Debug)]
pub struct SyncGroupResponse {
    /// Echoes the request's.
    pub correlation_id: i32,
    /// `NONE`, `REBALANCE_IN_PROGRESS`, `ILLEGAL_GENERATION`, `UNKNOWN_MEMBER_ID`...
    pub error: ErrorCode,
    /// This member's partitions.
    pub assignment: Vec<TopicPartition>,
}

/// `HeartbeatRequest`.
#[derive(Clone, Debug)]
pub struct HeartbeatRequest {
    /// Matches the response to the request.
    pub correlation_id: i32,
    /// The group id.
    pub group_id: String,
    /// The generation.
    pub generation_id: i32,
    /// The member id.
    pub member_id: String,
}

/// `HeartbeatResponse`.
#[derive(Clone, Debug)]
pub struct HeartbeatResponse {
    /// Echoes the request's.
    pub correlation_id: i32,
    /// `NONE`, `REBALANCE_IN_PROGRESS`, `ILLEGAL_GENERATION`, `UNKNOWN_MEMBER_ID`...
    pub error: ErrorCode,
}

/// `LeaveGroupRequest`.
#[derive(Clone, Debug)]
pub struct LeaveGroupRequest {
    /// Matches the response to the request.
    pub correlation_id: i32,
    /// The group id.
    pub group_id: String,
    /// The member id.
    pub member_id: String,
}

/// `OffsetCommitRequest`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetCommitRequest {
    /// Matches the response to the request.
    pub correlation_id: i32,
    /// The group id.
    pub group_id: String,
    /// The generation (-1 for a consumer outside any generation).
    pub generation_id: i32,
    /// The member id ("" likewise).
    pub member_id: String,
    /// The positions to commit.
    pub offsets: Vec<(TopicPartition, i64)>,
}

/// `LeaveGroupResponse`.
#[derive(Clone, Debug)]
pub struct LeaveGroupResponse {
    /// Echoes the request's.
    pub correlation_id: i32,
    /// `NONE`, `NOT_COORDINATOR`...: whether the request was handled at all.
    pub error: ErrorCode,
    /// Each leaving member and its own outcome (`UNKNOWN_MEMBER_ID` for a member the group
    /// does not know), as the v3+ response reports them.
    pub members: Vec<(String, ErrorCode)>,
}

/// `OffsetCommitResponse`: one outcome per partition, as Kafka answers it (a group-level
/// refusal such as `ILLEGAL_GENERATION` is given for every partition).
#[derive(Clone, Debug)]
pub struct OffsetCommitResponse {
    /// Echoes the request's.
    pub correlation_id: i32,
    /// Each partition of the request and its error.
    pub partitions: Vec<(TopicPartition, ErrorCode)>,
}

impl OffsetCommitResponse {
    /// The same `error` for every partition of `request`.
    pub fn all(request: &OffsetCommitRequest, error: ErrorCode) -> Self {
        OffsetCommitResponse {
            correlation_id: request.correlation_id,
            partitions: request
                .offsets
                .iter()
                .map(|(tp, _)| (tp.clone(), error))
                .collect(),
        }
    }

    /// The first error, if any partition failed.
    pub fn error(&self) -> Option<ErrorCode> {
        self.partitions
            .iter()
            .map(|(_, e)| *e)
            .find(|e| *e != ErrorCode::None)
    }
}

/// `OffsetFetchRequest`.
#[derive(Clone, Debug)]
pub struct OffsetFetchRequest {
    /// Matches the response to the request.
    pub correlation_id: i32,
    /// The group id.
    pub group_id: String,
    /// The partitions asked about.
    pub partitions: Vec<TopicPartition>,
}

/// `OffsetFetchResponse`.
#[derive(Clone, Debug)]
pub struct OffsetFetchResponse {
    /// Echoes the request's.
    pub correlation_id: i32,
    /// `NONE`, `NOT_COORDINATOR`, `COORDINATOR_LOAD_IN_PROGRESS`...
    pub error: ErrorCode,
    /// Committed offsets (-1: none committed).
    pub offsets: Vec<(TopicPartition, i64)>,
}
