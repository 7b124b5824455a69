//! The group coordinator: consumer groups and their committed offsets, on the broker that
//! leads the group's partition of `__consumer_offsets`.
//!
//! A group lives on one broker: the leader of partition
//! `abs(hashCode(group.id)) % offsets.topic.num.partitions` of the internal topic
//! `__consumer_offsets`. Members find it (`FindCoordinator`), join (`JoinGroup`): the
//! coordinator waits for every member to rejoin (or `group.initial.rebalance.delay.ms` for a
//! new group), starts a new *generation* and names a leader, which computes the assignment
//! and sends it back (`SyncGroup`); members then heartbeat within `session.timeout.ms`.
//! Committed offsets are records appended to the group's `__consumer_offsets` partition —
//! replicated like any other — and a broker that becomes the partition's leader loads them
//! from the log, which is how offsets survive a coordinator failover. So is each group's
//! generation; the member list is kept in memory only (Kafka stores it too): after a failover
//! members learn `UNKNOWN_MEMBER_ID` and rejoin, in the next generation.

use crate::ids::{NodeId, TopicPartition};
use crate::log::Log;
use crate::log::batch::{Record, RecordBatch};
use crate::protocol::{
    ErrorCode, HeartbeatRequest, HeartbeatResponse, JoinGroupRequest, JoinGroupResponse,
    LeaveGroupRequest, Message, OffsetFetchRequest, OffsetFetchResponse, Subscription,
    SyncGroupRequest, SyncGroupResponse,
};
use crate::time::{Duration, Instant};
use std::collections::BTreeMap;

/// The internal topic of committed offsets.
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";
/// `group.initial.rebalance.delay.ms`: a new group waits this long for more members.
pub const INITIAL_REBALANCE_DELAY_MS: u64 = 3000;

/// Java's `String.hashCode`, which Kafka uses to place groups.
fn java_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// The `__consumer_offsets` partition of `group` (Kafka's `Utils.abs(hashCode) % n`).
pub fn partition_for_group(group: &str, partitions: i32) -> i32 {
    let h = java_hash(group);
    let abs = if h == i32::MIN { 0 } else { h.abs() };
    abs % partitions.max(1)
}

/// Where a group stands (Kafka's `GroupState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupState {
    /// No members.
    Empty,
    /// Waiting for members to (re)join.
    PreparingRebalance,
    /// Joined; waiting for the leader's assignment.
    CompletingRebalance,
    /// Assigned; members heartbeat.
    Stable,
}

#[derive(Debug)]
struct Member {
    /// `group.instance.id` of a static member (KIP-345).
    group_instance_id: Option<String>,
    subscription: Subscription,
    protocol: String,
    session_timeout: Duration,
    rebalance_timeout: Duration,
    last_heartbeat: Instant,
    pending_join: Option<(NodeId, i32)>,
    pending_sync: Option<(NodeId, i32)>,
    assignment: Vec<TopicPartition>,
}

/// One consumer group.
#[derive(Debug)]
struct Group {
    state: GroupState,
    generation: i32,
    protocol: String,
    leader: String,
    members: BTreeMap<String, Member>,
    join_deadline: Instant,
    assigned: bool,
    /// The rebalance under way started from an empty group (so it waits the initial delay).
    from_empty: bool,
}

impl Group {
    fn empty(now: Instant) -> Self {
        Group {
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
}

/// What the coordinator did that the broker must know about (trace events).
#[derive(Debug, PartialEq, Eq)]
pub enum GroupChange {
    /// A generation started.
    Generation {
        /// The group.
        group: String,
        /// Its number.
        generation: i32,
        /// The members.
        members: Vec<String>,
    },
    /// The leader's assignment for a generation arrived: store the group in its offsets
    /// partition and call [`Coordinator::stored`] once that record is committed. Only then
    /// are the assignments handed out, so that a coordinator elected after a failover never
    /// reuses a generation whose members were told what they own.
    Store {
        /// The group.
        group: String,
        /// The generation to store.
        generation: i32,
    },
    /// A static member came back under a new member id and took its old place (KIP-345).
    StaticMemberReplaced {
        /// The group.
        group: String,
        /// Its `group.instance.id`.
        instance: String,
        /// The member id it had.
        old: String,
        /// The member id it has now.
        new: String,
        /// Whether the group stayed as it was (no rebalance).
        kept_generation: bool,
    },
    /// A `__consumer_offsets` partition was loaded and held committed offsets of `group`:
    /// what the new coordinator will serve, which checkers compare with what was committed
    /// before.
    OffsetsLoaded {
        /// The group.
        group: String,
        /// The offsets found, per partition.
        offsets: Vec<(TopicPartition, i64)>,
    },
    /// A member was removed (left, or its session expired).
    MemberRemoved {
        /// The group.
        group: String,
        /// The member.
        member: String,
        /// Why.
        reason: &'static str,
    },
}

/// Every group this broker coordinates, and the committed offsets it has loaded.
#[derive(Debug, Default)]
pub struct Coordinator {
    groups: BTreeMap<String, Group>,
    /// (group, partition) → committed offset.
    offsets: BTreeMap<(String, TopicPartition), i64>,
    /// `__consumer_offsets` partitions whose log was loaded.
    loaded: std::collections::BTreeSet<i32>,
    next_member: u64,
    /// Changes to report in the trace.
    pub changes: Vec<GroupChange>,
}

/// The record key of a committed offset.
fn offset_key(group: &str, tp: &TopicPartition) -> Vec<u8> {
    format!("offset\u{0}{group}\u{0}{}\u{0}{}", tp.topic, tp.partition).into_bytes()
}

/// The record key of a group's metadata (here: its generation).
fn group_key(group: &str) -> Vec<u8> {
    format!("group\u{0}{group}").into_bytes()
}

/// The record batch storing `group`'s new generation, so that a coordinator elected after a
/// failover continues the numbering (Kafka stores the whole group metadata this way).
pub fn generation_batch(group: &str, generation: i32, now: Instant) -> Vec<u8> {
    RecordBatch::from_records(vec![Record {
        timestamp: now.as_millis() as i64,
        key: Some(group_key(group)),
        value: Some(generation.to_string().into_bytes()),
        headers: Vec::new(),
    }])
    .encode()
}

fn parse_offset_key(key: &[u8]) -> Option<(String, TopicPartition)> {
    let text = std::str::from_utf8(key).ok()?;
    let mut parts = text.split('\u{0}');
    if parts.next()? != "offset" {
        return None;
    }
    let group = parts.next()?.to_string();
    let topic = parts.next()?;
    let partition = parts.next()?.parse().ok()?;
    Some((group, TopicPartition::new(topic, partition)))
}

/// The record batch committing `offsets` for `group`.
pub fn commit_batch(group: &str, offsets: &[(TopicPartition, i64)], now: Instant) -> Vec<u8> {
    RecordBatch::from_records(
        offsets
            .iter()
            .map(|(tp, o)| Record {
                timestamp: now.as_millis() as i64,
                key: Some(offset_key(group, tp)),
                value: Some(o.to_string().into_bytes()),
                headers: Vec::new(),
            })
            .collect(),
    )
    .encode()
}

impl Coordinator {
    /// Whether the offsets of `__consumer_offsets-partition` are loaded.
    pub fn is_loaded(&self, partition: i32) -> bool {
        self.loaded.contains(&partition)
    }

    /// Load the committed offsets of one `__consumer_offsets` partition from its log (the
    /// last record per key wins, as compaction keeps). Like Kafka, the new coordinator reads
    /// to the log end, not the high watermark: it leads the partition, so its whole log will
    /// be committed, and its high watermark may still lag the old leader's — reading less
    /// could miss the latest generation and hand out its number twice. Each group with offsets
    /// is reported as a [`GroupChange::OffsetsLoaded`].
    pub fn load(&mut self, partition: i32, log: &Log) {
        let bytes = log
            .read(log.log_start_offset(), usize::MAX)
            .unwrap_or_default();
        // What this partition holds, apart from offsets loaded from other partitions.
        let mut found: BTreeMap<(String, TopicPartition), i64> = BTreeMap::new();
        let mut rest = bytes.as_slice();
        while let Ok((batch, used)) = RecordBatch::decode(rest) {
            for r in &batch.records {
                let (Some(key), Some(value)) = (&r.key, &r.value) else {
                    continue;
                };
                if let Some(group) = key.strip_prefix(b"group\0".as_slice())
                    && let Ok(generation) = String::from_utf8_lossy(value).parse::<i32>()
                {
                    let name = String::from_utf8_lossy(group).into_owned();
                    let g = self
                        .groups
                        .entry(name)
                        .or_insert_with(|| Group::empty(Instant::ZERO));
                    g.generation = g.generation.max(generation);
                    continue;
                }
                if let (Some(k), Some(offset)) = (
                    parse_offset_key(key),
                    std::str::from_utf8(value).ok().and_then(|v| v.parse().ok()),
                ) {
                    found.insert(k, offset);
                }
            }
            rest = &rest[used..];
        }
        let mut by_group: BTreeMap<String, Vec<(TopicPartition, i64)>> = BTreeMap::new();
        for ((group, tp), offset) in found {
            by_group
                .entry(group.clone())
                .or_default()
                .push((tp.clone(), offset));
            self.offsets.insert((group, tp), offset);
        }
        for (group, offsets) in by_group {
            self.changes
                .push(GroupChange::OffsetsLoaded { group, offsets });
        }
        self.loaded.insert(partition);
    }

    /// Forget the groups and offsets of a `__consumer_offsets` partition this broker no longer
    /// leads; members waiting on a join or a sync learn `NOT_COORDINATOR`.
    pub fn unload(&mut self, partition: i32, partitions: i32) -> Vec<(NodeId, Message)> {
        let mut out = Vec::new();
        if self.loaded.remove(&partition) {
            for (name, g) in &mut self.groups {
                if partition_for_group(name, partitions) != partition {
                    continue;
                }
                for m in g.members.values_mut() {
                    if let Some((to, correlation_id)) = m.pending_join.take() {
                        let response = JoinGroupResponse {
                            correlation_id,
                            error: ErrorCode::NotCoordinator,
                            generation_id: -1,
                            protocol: String::new(),
                            leader: String::new(),
                            member_id: String::new(),
                            members: Vec::new(),
                        };
                        out.push((to, Message::JoinGroupResponse(response)));
                    }
                    if let Some((to, correlation_id)) = m.pending_sync.take() {
                        let response = SyncGroupResponse {
                            correlation_id,
                            error: ErrorCode::NotCoordinator,
                            assignment: Vec::new(),
                        };
                        out.push((to, Message::SyncGroupResponse(response)));
                    }
                }
            }
            self.groups
                .retain(|g, _| partition_for_group(g, partitions) != partition);
            self.offsets
                .retain(|(g, _), _| partition_for_group(g, partitions) != partition);
        }
        out
    }

    /// A committed offset was made durable (replicated below the high watermark).
    pub fn committed(&mut self, group: &str, offsets: &[(TopicPartition, i64)]) {
        for (tp, o) in offsets {
            self.offsets.insert((group.to_string(), tp.clone()), *o);
        }
    }

    /// May `member` of `group` commit in `generation`? (`None`: yes.)
    pub fn check_commit(&self, group: &str, member: &str, generation: i32) -> Option<ErrorCode> {
        match self.groups.get(group) {
            Some(g) if !g.members.is_empty() => {
                if !g.members.contains_key(member) {
                    Some(ErrorCode::UnknownMemberId)
                } else if g.generation != generation {
                    Some(ErrorCode::IllegalGeneration)
                } else if g.state == GroupState::CompletingRebalance {
                    // Members of the current generation may commit while it is being replaced
                    // (eager consumers commit before rejoining), not while the next one forms.
                    Some(ErrorCode::RebalanceInProgress)
                } else {
                    None
                }
            }
            // A group with no members accepts commits from consumers outside any generation.
            _ if generation < 0 => None,
            _ => Some(ErrorCode::IllegalGeneration),
        }
    }

    /// `OffsetFetch`.
    pub fn on_offset_fetch(&self, r: &OffsetFetchRequest) -> OffsetFetchResponse {
        OffsetFetchResponse {
            correlation_id: r.correlation_id,
            error: ErrorCode::None,
            offsets: r
                .partitions
                .iter()
                .map(|tp| {
                    (
                        tp.clone(),
                        self.offsets
                            .get(&(r.group_id.clone(), tp.clone()))
                            .copied()
                            .unwrap_or(-1),
                    )
                })
                .collect(),
        }
    }

    /// `JoinGroup`: returns the responses to send now (possibly to other members too).
    pub fn on_join(
        &mut self,
        now: Instant,
        from: NodeId,
        r: JoinGroupRequest,
        broker_id: i32,
    ) -> Vec<(NodeId, Message)> {
        let group = self
            .groups
            .entry(r.group_id.clone())
            .or_insert_with(|| Group::empty(now));
        let mut rejoined_static = None;
        if let Some(instance) = &r.group_instance_id {
            let known = group
                .members
                .iter()
                .find(|(_, m)| m.group_instance_id.as_deref() == Some(instance.as_str()))
                .map(|(id, _)| id.clone());
            match known {
                // Someone else holds this instance id: the caller is a zombie of it.
                Some(old) if !r.member_id.is_empty() && r.member_id != old => {
                    let response = JoinGroupResponse {
                        correlation_id: r.correlation_id,
                        error: ErrorCode::FencedInstanceId,
                        generation_id: -1,
                        protocol: String::new(),
                        leader: String::new(),
                        member_id: r.member_id.clone(),
                        members: Vec::new(),
                    };
                    return vec![(from, Message::JoinGroupResponse(response))];
                }
                // The static member restarted: it takes its old place under a new member id,
                // keeping its assignment; a stable group does not rebalance.
                Some(old) if r.member_id.is_empty() => {
                    self.next_member += 1;
                    let new = format!("{instance}-{broker_id}-{}", self.next_member);
                    let mut m = group.members.remove(&old).expect("found above");
                    m.pending_join = None;
                    m.pending_sync = None;
                    m.last_heartbeat = now;
                    group.members.insert(new.clone(), m);
                    if group.leader == old {
                        group.leader = new.clone();
                    }
                    let stable = group.state == GroupState::Stable;
                    self.changes.push(GroupChange::StaticMemberReplaced {
                        group: r.group_id.clone(),
                        instance: instance.clone(),
                        old,
                        new: new.clone(),
                        kept_generation: stable,
                    });
                    if stable {
                        let response = JoinGroupResponse {
                            correlation_id: r.correlation_id,
                            error: ErrorCode::None,
                            generation_id: group.generation,
                            protocol: group.protocol.clone(),
                            leader: group.leader.clone(),
                            member_id: new,
                            members: Vec::new(),
                        };
                        return vec![(from, Message::JoinGroupResponse(response))];
                    }
                    rejoined_static = Some(new);
                }
                _ => {}
            }
        }
        let member_id = if let Some(id) = rejoined_static {
            id
        } else if r.member_id.is_empty() {
            self.next_member += 1;
            // Kafka prefixes a static member's id with its group.instance.id.
            let prefix = r.group_instance_id.as_deref().unwrap_or("member");
            format!("{prefix}-{broker_id}-{}", self.next_member)
        } else if group.members.contains_key(&r.member_id) {
            r.member_id.clone()
        } else {
            let response = JoinGroupResponse {
                correlation_id: r.correlation_id,
                error: ErrorCode::UnknownMemberId,
                generation_id: -1,
                protocol: String::new(),
                leader: String::new(),
                member_id: r.member_id.clone(),
                members: Vec::new(),
            };
            return vec![(from, Message::JoinGroupResponse(response))];
        };
        let rebalance_timeout = Duration::from_millis(r.rebalance_timeout_ms);
        let member = group
            .members
            .entry(member_id.clone())
            .or_insert_with(|| Member {
                group_instance_id: r.group_instance_id.clone(),
                subscription: r.subscription.clone(),
                protocol: r.protocol.clone(),
                session_timeout: Duration::from_millis(r.session_timeout_ms),
                rebalance_timeout,
                last_heartbeat: now,
                pending_join: None,
                pending_sync: None,
                assignment: Vec::new(),
            });
        member.subscription = r.subscription;
        member.protocol = r.protocol;
        member.last_heartbeat = now;
        member.pending_join = Some((from, r.correlation_id));
        match group.state {
            GroupState::Empty => {
                group.state = GroupState::PreparingRebalance;
                group.join_deadline = now + Duration::from_millis(INITIAL_REBALANCE_DELAY_MS);
                group.from_empty = true;
            }
            GroupState::Stable | GroupState::CompletingRebalance => {
                group.state = GroupState::PreparingRebalance;
                group.join_deadline = now + rebalance_timeout;
                let mut out = Vec::new();
                Self::fail_pending_syncs(group, &mut out);
                return out;
            }
            GroupState::PreparingRebalance => {}
        }
        Vec::new()
    }

    /// `SyncGroup`.
    pub fn on_sync(&mut self, from: NodeId, r: SyncGroupRequest) -> Vec<(NodeId, Message)> {
        let reply = |error| {
            let response = SyncGroupResponse {
                correlation_id: r.correlation_id,
                error,
                assignment: Vec::new(),
            };
            vec![(from, Message::SyncGroupResponse(response))]
        };
        let Some(group) = self.groups.get_mut(&r.group_id) else {
            return reply(ErrorCode::UnknownMemberId);
        };
        if !group.members.contains_key(&r.member_id) {
            return reply(ErrorCode::UnknownMemberId);
        }
        if r.generation_id != group.generation {
            return reply(ErrorCode::IllegalGeneration);
        }
        match group.state {
            GroupState::PreparingRebalance | GroupState::Empty => {
                reply(ErrorCode::RebalanceInProgress)
            }
            GroupState::Stable => {
                let assignment = group.members[&r.member_id].assignment.clone();
                vec![(
                    from,
                    Message::SyncGroupResponse(SyncGroupResponse {
                        correlation_id: r.correlation_id,
                        error: ErrorCode::None,
                        assignment,
                    }),
                )]
            }
            GroupState::CompletingRebalance => {
                if let Some(m) = group.members.get_mut(&r.member_id) {
                    m.pending_sync = Some((from, r.correlation_id));
                }
                if r.member_id == group.leader && !group.assigned {
                    for (member, assignment) in r.assignments {
                        if let Some(m) = group.members.get_mut(&member) {
                            m.assignment = assignment;
                        }
                    }
                    group.assigned = true;
                    self.changes.push(GroupChange::Store {
                        group: r.group_id.clone(),
                        generation: group.generation,
                    });
                }
                // Everyone waits until the leader's assignment is stored.
                Vec::new()
            }
        }
    }

    /// The group record of `generation` was committed (`ErrorCode::None`) or could not be:
    /// hand out the assignments, or send the members back to rejoin.
    pub fn stored(
        &mut self,
        now: Instant,
        group: &str,
        generation: i32,
        error: ErrorCode,
    ) -> Vec<(NodeId, Message)> {
        let mut out = Vec::new();
        let Some(g) = self.groups.get_mut(group) else {
            return out;
        };
        if g.state != GroupState::CompletingRebalance || g.generation != generation || !g.assigned {
            return out; // a later rebalance already superseded it
        }
        if error != ErrorCode::None {
            for m in g.members.values_mut() {
                if let Some((to, correlation_id)) = m.pending_sync.take() {
                    let response = SyncGroupResponse {
                        correlation_id,
                        error,
                        assignment: Vec::new(),
                    };
                    out.push((to, Message::SyncGroupResponse(response)));
                }
            }
            Self::prepare_rebalance(g, now, &mut out);
            return out;
        }
        g.state = GroupState::Stable;
        for m in g.members.values_mut() {
            if let Some((to, correlation_id)) = m.pending_sync.take() {
                let response = SyncGroupResponse {
                    correlation_id,
                    error: ErrorCode::None,
                    assignment: m.assignment.clone(),
                };
                out.push((to, Message::SyncGroupResponse(response)));
            }
        }
        out
    }

    /// `Heartbeat`.
    pub fn on_heartbeat(&mut self, now: Instant, r: &HeartbeatRequest) -> HeartbeatResponse {
        let error = match self.groups.get_mut(&r.group_id) {
            None => ErrorCode::UnknownMemberId,
            Some(g) => match g.members.get_mut(&r.member_id) {
                None => ErrorCode::UnknownMemberId,
                Some(m) => {
                    m.last_heartbeat = now;
                    if g.generation != r.generation_id {
                        ErrorCode::IllegalGeneration
                    } else if g.state == GroupState::PreparingRebalance {
                        ErrorCode::RebalanceInProgress
                    } else {
                        ErrorCode::None
                    }
                }
            },
        };
        HeartbeatResponse {
            correlation_id: r.correlation_id,
            error,
        }
    }

    /// `LeaveGroup`: the answer to `from`, and to members whose pending sync it fails.
    pub fn on_leave(
        &mut self,
        now: Instant,
        from: NodeId,
        r: &LeaveGroupRequest,
    ) -> Vec<(NodeId, Message)> {
        let mut out = Vec::new();
        let removed = self
            .groups
            .get_mut(&r.group_id)
            .is_some_and(|g| g.members.remove(&r.member_id).is_some());
        let error = if removed {
            if let Some(g) = self.groups.get_mut(&r.group_id) {
                Self::prepare_rebalance(g, now, &mut out);
            }
            self.changes.push(GroupChange::MemberRemoved {
                group: r.group_id.clone(),
                member: r.member_id.clone(),
                reason: "left the group",
            });
            ErrorCode::None
        } else {
            ErrorCode::UnknownMemberId
        };
        let response = HeartbeatResponse {
            correlation_id: r.correlation_id,
            error,
        };
        out.push((from, Message::HeartbeatResponse(response)));
        out
    }

    /// Members waiting for the assignment of a generation that will not complete must rejoin
    /// (Kafka answers their SyncGroup with `REBALANCE_IN_PROGRESS`).
    fn fail_pending_syncs(g: &mut Group, out: &mut Vec<(NodeId, Message)>) {
        for m in g.members.values_mut() {
            if let Some((to, correlation_id)) = m.pending_sync.take() {
                let response = SyncGroupResponse {
                    correlation_id,
                    error: ErrorCode::RebalanceInProgress,
                    assignment: Vec::new(),
                };
                out.push((to, Message::SyncGroupResponse(response)));
            }
        }
    }

    /// The membership changed (or a generation could not be stored): every member must
    /// rejoin, or the group is empty.
    fn prepare_rebalance(g: &mut Group, now: Instant, out: &mut Vec<(NodeId, Message)>) {
        Self::fail_pending_syncs(g, out);
        if g.members.is_empty() {
            g.state = GroupState::Empty;
        } else if g.state != GroupState::PreparingRebalance {
            g.state = GroupState::PreparingRebalance;
            let timeout = g
                .members
                .values()
                .map(|m| m.rebalance_timeout)
                .max()
                .unwrap_or(Duration::ZERO);
            g.join_deadline = now + timeout;
        }
    }

    /// Expire sessions and complete joins whose time has come; returns messages to send.
    pub fn tick(&mut self, now: Instant) -> Vec<(NodeId, Message)> {
        let mut out = Vec::new();
        for (name, g) in &mut self.groups {
            let expired: Vec<String> = g
                .members
                .iter()
                .filter(|(_, m)| {
                    m.pending_join.is_none()
                        && now.saturating_since(m.last_heartbeat) > m.session_timeout
                })
                .map(|(id, _)| id.clone())
                .collect();
            for id in expired {
                g.members.remove(&id);
                self.changes.push(GroupChange::MemberRemoved {
                    group: name.clone(),
                    member: id,
                    reason: "session.timeout.ms expired",
                });
                Self::prepare_rebalance(g, now, &mut out);
            }
            if g.state != GroupState::PreparingRebalance {
                continue;
            }
            let all_joined = g.members.values().all(|m| m.pending_join.is_some());
            let initial = g.from_empty;
            if !(now >= g.join_deadline || (all_joined && !initial)) {
                continue;
            }
            // Members that did not rejoin in time are out.
            g.members.retain(|_, m| m.pending_join.is_some());
            if g.members.is_empty() {
                g.state = GroupState::Empty;
                continue;
            }
            g.generation += 1;
            g.from_empty = false;
            g.state = GroupState::CompletingRebalance;
            g.assigned = false;
            if !g.members.contains_key(&g.leader) {
                g.leader = g.members.keys().next().cloned().unwrap_or_default();
            }
            g.protocol = g
                .members
                .values()
                .next()
                .map(|m| m.protocol.clone())
                .unwrap_or_default();
            let subscriptions: Vec<(String, Subscription)> = g
                .members
                .iter()
                .map(|(id, m)| (id.clone(), m.subscription.clone()))
                .collect();
            self.changes.push(GroupChange::Generation {
                group: name.clone(),
                generation: g.generation,
                members: g.members.keys().cloned().collect(),
            });
            for (id, m) in &mut g.members {
                // The session clock restarts when the join completes: a member now has
                // `session.timeout.ms` to sync and heartbeat.
                m.last_heartbeat = now;
                let Some((to, correlation_id)) = m.pending_join.take() else {
                    continue;
                };
                m.assignment.clear();
                let response = JoinGroupResponse {
                    correlation_id,
                    error: ErrorCode::None,
                    generation_id: g.generation,
                    protocol: g.protocol.clone(),
                    leader: g.leader.clone(),
                    member_id: id.clone(),
                    members: if *id == g.leader {
                        subscriptions.clone()
                    } else {
                        Vec::new()
                    },
                };
                out.push((to, Message::JoinGroupResponse(response)));
            }
        }
        out
    }

    /// Whether any group needs the coordinator's periodic tick.
    pub fn has_groups(&self) -> bool {
        !self.groups.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: Java's `"".hashCode() == 0`, `"a".hashCode() == 97`, and Kafka's placement.
    #[test]
    fn groups_are_placed_like_kafka() {
        assert_eq!(java_hash(""), 0);
        assert_eq!(java_hash("a"), 97);
        assert_eq!(java_hash("ab"), 97 * 31 + 98);
        assert_eq!(partition_for_group("a", 50), 97 % 50);
        assert!((0..50).contains(&partition_for_group("some-group-with-a-long-name-xyz", 50)));
    }

    /// A new coordinator reports, per group, the last committed offset of each partition
    /// in its log: what it will serve, and what checkers compare with earlier commits.
    #[test]
    fn load_reports_the_last_offset_of_each_group() {
        let mut log = Log::new("__consumer_offsets-0", crate::log::LogConfig::default());
        let (a, b) = (
            TopicPartition::new("orders", 0),
            TopicPartition::new("orders", 1),
        );
        let mut ops = Vec::new();
        for batch in [
            commit_batch("billing", &[(a.clone(), 10), (b.clone(), 5)], Instant::ZERO),
            generation_batch("billing", 3, Instant::ZERO),
            commit_batch("billing", &[(a.clone(), 42)], Instant::ZERO),
            generation_batch("audit", 1, Instant::ZERO),
        ] {
            log.append_as_leader(&batch, 0, &mut ops).unwrap();
        }
        let mut c = Coordinator::default();
        c.load(0, &log);
        // `audit` has a generation but no offsets: nothing to report for it.
        assert_eq!(
            c.changes,
            vec![GroupChange::OffsetsLoaded {
                group: "billing".into(),
                offsets: vec![(a.clone(), 42), (b, 5)],
            }]
        );
        assert!(c.is_loaded(0));
        assert_eq!(c.offsets.get(&("billing".to_string(), a)), Some(&42));
    }

    #[test]
    fn offset_keys_round_trip() {
        let tp = TopicPartition::new("orders", 3);
        assert_eq!(
            parse_offset_key(&offset_key("g", &tp)),
            Some(("g".to_string(), tp))
        );
        assert_eq!(parse_offset_key(b"other"), None);
    }
}
