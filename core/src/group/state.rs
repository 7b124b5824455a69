//! One consumer group as its coordinator keeps it: state, generation, members, and the moves
//! between states (Kafka's `GroupMetadata` and the transitions of `GroupCoordinator`).
//!
//! ```text
//!   Empty ──join──► PreparingRebalance ──all joined / deadline──► CompletingRebalance
//!     ▲                    ▲   ▲                                        │
//!     └── last member out ─┘   └──── a member joins, leaves, expires ───┤
//!                                                                       ▼
//!                                          Stable ◄── leader's assignment stored
//! ```

use super::coordinator::Vocab;
use super::events::{Event, GroupState};
use super::records::{GroupMetadataValue, MemberMetadata};
use crate::ids::{NodeId, TopicPartition};
use crate::protocol::{ErrorCode, Message, Subscription, SyncGroupResponse};
use crate::time::{Duration, Instant};
use std::collections::BTreeMap;

type Out<'a> = dyn crate::node::Out<Vocab> + 'a;

/// One member of a group.
#[derive(Debug)]
pub(super) struct Member {
    /// `group.instance.id` of a static member (KIP-345).
    pub(super) group_instance_id: Option<String>,
    pub(super) subscription: Subscription,
    pub(super) protocol: String,
    pub(super) session_timeout: Duration,
    pub(super) rebalance_timeout: Duration,
    pub(super) last_heartbeat: Instant,
    /// A JoinGroup waiting for the rebalance to complete: (member's address, correlation id).
    pub(super) pending_join: Option<(NodeId, i32)>,
    /// A SyncGroup waiting for the assignment to be stored.
    pub(super) pending_sync: Option<(NodeId, i32)>,
    pub(super) assignment: Vec<TopicPartition>,
}

/// One consumer group.
#[derive(Debug)]
pub(super) struct Group {
    pub(super) name: String,
    pub(super) state: GroupState,
    pub(super) generation: i32,
    pub(super) protocol: String,
    pub(super) leader: String,
    pub(super) members: BTreeMap<String, Member>,
    pub(super) join_deadline: Instant,
    /// The leader's assignment for the current generation has arrived.
    pub(super) assigned: bool,
    /// The rebalance under way started from an empty group (so it waits the initial delay).
    pub(super) from_empty: bool,
}

impl Group {
    /// The group as its record in `__consumer_offsets` stores it.
    pub(super) fn metadata(&self) -> GroupMetadataValue {
        GroupMetadataValue {
            protocol_type: "consumer".to_string(),
            generation: self.generation,
            protocol: self.protocol.clone(),
            leader: self.leader.clone(),
            members: self
                .members
                .iter()
                .map(|(id, m)| MemberMetadata {
                    member_id: id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    session_timeout_ms: m.session_timeout.as_millis(),
                    rebalance_timeout_ms: m.rebalance_timeout.as_millis(),
                    subscription: m.subscription.topics.clone(),
                    assignment: m.assignment.clone(),
                })
                .collect(),
        }
    }

    /// The group a new coordinator takes over from its record (Kafka's
    /// `GroupMetadataManager.loadGroup`): Stable with its members, or Empty without; each
    /// member's session starts afresh at `now`, as Kafka schedules every loaded member's
    /// heartbeat expiration on load.
    pub(super) fn from_metadata(name: &str, stored: &GroupMetadataValue, now: Instant) -> Self {
        let members: BTreeMap<String, Member> = stored
            .members
            .iter()
            .map(|m| {
                let member = Member {
                    group_instance_id: m.group_instance_id.clone(),
                    subscription: Subscription {
                        topics: m.subscription.clone(),
                        owned: m.assignment.clone(),
                    },
                    protocol: stored.protocol.clone(),
                    session_timeout: Duration::from_millis(m.session_timeout_ms),
                    rebalance_timeout: Duration::from_millis(m.rebalance_timeout_ms),
                    last_heartbeat: now,
                    pending_join: None,
                    pending_sync: None,
                    assignment: m.assignment.clone(),
                };
                (m.member_id.clone(), member)
            })
            .collect();
        Group {
            name: name.to_string(),
            state: if members.is_empty() {
                GroupState::Empty
            } else {
                GroupState::Stable
            },
            generation: stored.generation,
            protocol: stored.protocol.clone(),
            leader: stored.leader.clone(),
            members,
            join_deadline: now,
            assigned: true,
            from_empty: false,
        }
    }

    pub(super) fn empty(name: &str, now: Instant) -> Self {
        Group {
            name: name.to_string(),
            state: GroupState::Empty,
            generation: 0,
            protocol: String::new(),
            leader: String::new(),
            members: BTreeMap::new(),
            join_deadline: now,
            assigned: false,
            from_empty: false,
        }
    }

    /// Move to `state`, saying so in the trace.
    pub(super) fn set_state(&mut self, state: GroupState, out: &mut Out) {
        if self.state != state {
            self.state = state;
            out.trace(Event::StateChanged {
                group: self.name.clone(),
                state,
            });
        }
    }

    /// Members waiting for the assignment of a generation that will not complete must rejoin
    /// (Kafka answers their SyncGroup with `error`, `REBALANCE_IN_PROGRESS` as a rule).
    pub(super) fn fail_pending_syncs(&mut self, error: ErrorCode, out: &mut Out) {
        for m in self.members.values_mut() {
            if let Some((to, correlation_id)) = m.pending_sync.take() {
                let response = SyncGroupResponse {
                    correlation_id,
                    error,
                    assignment: Vec::new(),
                };
                out.send(to, Message::SyncGroupResponse(response));
            }
        }
    }

    /// The membership changed (or a generation could not be stored): every member must
    /// rejoin, or the group is empty.
    pub(super) fn prepare_rebalance(&mut self, now: Instant, out: &mut Out) {
        self.fail_pending_syncs(ErrorCode::RebalanceInProgress, out);
        if self.members.is_empty() {
            self.set_state(GroupState::Empty, out);
        } else if self.state != GroupState::PreparingRebalance {
            self.set_state(GroupState::PreparingRebalance, out);
            let timeout = self
                .members
                .values()
                .map(|m| m.rebalance_timeout)
                .max()
                .unwrap_or(Duration::ZERO);
            self.join_deadline = now + timeout;
        }
    }

    /// Whether the join phase is over: every member rejoined (a new group waits out the
    /// initial delay anyway), or the rebalance deadline passed.
    pub(super) fn join_complete(&self, now: Instant) -> bool {
        let all_joined = self.members.values().all(|m| m.pending_join.is_some());
        now >= self.join_deadline || (all_joined && !self.from_empty)
    }
}
