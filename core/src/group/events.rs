//! What a group coordinator records in the trace: generations, members leaving, offsets
//! appended, committed and loaded.

use crate::ids::TopicPartition;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a member is no longer in its group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemovalReason {
    /// It sent `LeaveGroup`.
    LeftTheGroup,
    /// No heartbeat for `session.timeout.ms`.
    SessionTimeout,
}

impl fmt::Display for RemovalReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RemovalReason::LeftTheGroup => "left the group",
            RemovalReason::SessionTimeout => "session.timeout.ms expired",
        })
    }
}

/// Where a group stands (Kafka's `GroupState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum GroupState {
    /// No members.
    Empty,
    /// Waiting for members to (re)join.
    PreparingRebalance,
    /// Joined; waiting for the leader's assignment (and for it to be stored).
    CompletingRebalance,
    /// Assigned; members heartbeat.
    Stable,
}

impl fmt::Display for GroupState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
        })
    }
}

/// A group coordinator's trace events.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A group came into being, Empty (on its first join, or read back from
    /// `__consumer_offsets` by a new coordinator).
    Created {
        /// The group.
        group: String,
    },
    /// A new coordinator read a group back from its record in `__consumer_offsets`: the
    /// group carries on in the same generation, with the same members and assignment.
    GroupLoaded {
        /// The group.
        group: String,
        /// The generation it continues in.
        generation: i32,
        /// The assignor of that generation.
        protocol: String,
        /// The leader's member id.
        leader: String,
        /// Each member with its assignment, by member id.
        members: Vec<(String, Vec<TopicPartition>)>,
    },
    /// A group moved to another state.
    StateChanged {
        /// The group.
        group: String,
        /// Its new state.
        state: GroupState,
    },
    /// A member joined (or rejoined) and waits for the rebalance to complete.
    MemberJoined {
        /// The group.
        group: String,
        /// The member id.
        member: String,
    },
    /// A group started a new generation.
    GenerationStarted {
        /// The group.
        group: String,
        /// The generation.
        generation: i32,
        /// Its members.
        members: Vec<String>,
        /// The member that computes the assignment.
        leader: String,
        /// The assignor the members agreed on (`range`, `cooperative-sticky`, …): whether
        /// this rebalance is eager or cooperative.
        protocol: String,
    },
    /// The leader's assignment for a generation arrived; it is handed out once the group's
    /// record is committed in `__consumer_offsets`.
    AssignmentReceived {
        /// The group.
        group: String,
        /// The generation.
        generation: i32,
        /// Each member's partitions.
        assignment: Vec<(String, Vec<TopicPartition>)>,
    },
    /// A static member restarted and took its old place under a new member id (KIP-345).
    StaticMemberReplaced {
        /// The group.
        group: String,
        /// Its `group.instance.id`.
        instance: String,
        /// The member id it had.
        old: String,
        /// The member id it has now.
        new: String,
        /// Whether the group kept its generation (no rebalance).
        kept_generation: bool,
    },
    /// A member left a group or was removed from it.
    MemberRemoved {
        /// The group.
        group: String,
        /// The member.
        member: String,
        /// Why.
        reason: RemovalReason,
    },
    /// A coordinator validated an `OffsetCommit` (member and generation, as Kafka does on
    /// arrival) and appended it to the group's `__consumer_offsets` partition. The offsets
    /// are not committed yet: that waits for the high watermark ([`Event::OffsetsCommitted`]).
    OffsetCommitAppended {
        /// The group.
        group: String,
        /// The committing member's id (empty for a consumer outside any generation).
        member: String,
        /// The generation the member committed in (-1 outside any generation).
        generation: i32,
        /// The offsets, per partition.
        offsets: Vec<(TopicPartition, i64)>,
    },
    /// An appended offset commit reached the high watermark: the coordinator now serves these
    /// offsets to `OffsetFetch`.
    OffsetsCommitted {
        /// The group.
        group: String,
        /// The offsets, per partition.
        offsets: Vec<(TopicPartition, i64)>,
    },
    /// A broker that became a group's coordinator loaded the group's committed offsets from
    /// its copy of the `__consumer_offsets` partition (only groups with offsets are reported).
    OffsetsLoaded {
        /// The group.
        group: String,
        /// The offsets found, per partition (the last record of each wins).
        offsets: Vec<(TopicPartition, i64)>,
    },
    /// A broker stopped coordinating the groups of a `__consumer_offsets` partition it no
    /// longer leads, and forgot them.
    GroupsUnloaded {
        /// The `__consumer_offsets` partition.
        partition: i32,
        /// The groups it coordinated there.
        groups: Vec<String>,
    },
}

impl Event {
    /// The group the event is about, if it is about one.
    pub fn group(&self) -> Option<&str> {
        match self {
            Event::Created { group }
            | Event::GroupLoaded { group, .. }
            | Event::StateChanged { group, .. }
            | Event::MemberJoined { group, .. }
            | Event::GenerationStarted { group, .. }
            | Event::AssignmentReceived { group, .. }
            | Event::StaticMemberReplaced { group, .. }
            | Event::MemberRemoved { group, .. }
            | Event::OffsetCommitAppended { group, .. }
            | Event::OffsetsCommitted { group, .. }
            | Event::OffsetsLoaded { group, .. } => Some(group),
            Event::GroupsUnloaded { .. } => None,
        }
    }
}
