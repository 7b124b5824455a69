//! The group coordinator: consumer groups and their committed offsets, on the broker that
//! leads the group's partition of `__consumer_offsets` (see [`super::records`]).
//!
//! Members find it (`FindCoordinator`), join (`JoinGroup`): the coordinator waits for every
//! member to rejoin (or `group.initial.rebalance.delay.ms` for a new group), starts a new
//! *generation* and names a leader, which computes the assignment and sends it back
//! (`SyncGroup`); the coordinator stores the generation in `__consumer_offsets` and hands the
//! assignments out once that record is committed; members then heartbeat within
//! `session.timeout.ms`. Committed offsets are records of the same partition, answered once
//! replicated below the high watermark.
//!
//! The coordinator never touches the log itself: what it wants written it returns as an
//! [`Append`], which the broker appends and holds until the high watermark passes it, then
//! reports back with [`Coordinator::on_written`] — Kafka's `GroupMetadataManager` calling
//! `ReplicaManager.appendRecords` with a callback.
//!
//! The group itself is stored when the leader's assignment of a generation arrives (Kafka's
//! `GroupMetadataValue`, [`records::GroupMetadataValue`]): after a failover the new
//! coordinator takes it over Stable, and its members carry on in the same generation.
//! Simplified: Kafka also stores a group when it becomes Empty; here the record of its last
//! generation stays, and members a new coordinator loads but that have left expire after
//! their session timeout.

use super::events::{Event, GroupState, RemovalReason};
use super::records::{self, commit_batch, group_batch, partition_for_group};
use super::state::{Group, Member};
use crate::ids::{NodeId, TopicPartition};
use crate::log::Log;
use crate::node::{Never, Vocabulary};
use crate::protocol::{
    ErrorCode, HeartbeatRequest, HeartbeatResponse, JoinGroupRequest, JoinGroupResponse,
    LeaveGroupRequest, LeaveGroupResponse, Message, OffsetCommitRequest, OffsetCommitResponse,
    OffsetFetchRequest, OffsetFetchResponse, Subscription, SyncGroupRequest, SyncGroupResponse,
};
use crate::time::{Duration, Instant};
use std::collections::{BTreeMap, BTreeSet};

/// `group.initial.rebalance.delay.ms`: a new group waits this long for more members.
pub const INITIAL_REBALANCE_DELAY_MS: u64 = 3000;

/// How often the coordinator expires sessions and completes joins.
pub const TICK_MS: u64 = 100;

/// The coordinator's one timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Timer {
    /// Time to expire sessions and complete joins (every [`TICK_MS`]).
    Tick,
}

/// The words a group coordinator speaks.
#[derive(Debug)]
pub enum Vocab {}

impl Vocabulary for Vocab {
    type Msg = Message;
    type Timer = Timer;
    type Event = Event;
    type Reply = Never;
    type Command = Never;
}

type Out<'a> = dyn crate::node::Out<Vocab> + 'a;

/// A write the coordinator waits on, and what to do once it is committed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupWrite {
    /// A generation's record: the members get their assignments once it is committed.
    Generation {
        /// The group.
        group: String,
        /// The generation.
        generation: i32,
    },
    /// An `OffsetCommit`: answered once committed.
    Commit {
        /// The committing member's address.
        to: NodeId,
        /// The request.
        request: OffsetCommitRequest,
    },
}

impl GroupWrite {
    /// The group written for.
    pub fn group(&self) -> &str {
        match self {
            GroupWrite::Generation { group, .. } => group,
            GroupWrite::Commit { request, .. } => &request.group_id,
        }
    }
}

/// Records the coordinator wants appended to the group's `__consumer_offsets` partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Append {
    /// The record batch, v2 format.
    pub batch: Vec<u8>,
    /// What waits for it.
    pub write: GroupWrite,
}

/// Every group this broker coordinates, and the committed offsets it has loaded.
#[derive(Debug, Default)]
pub struct Coordinator {
    groups: BTreeMap<String, Group>,
    /// (group, partition) → committed offset.
    offsets: BTreeMap<(String, TopicPartition), i64>,
    /// `__consumer_offsets` partitions whose log was loaded.
    loaded: BTreeSet<i32>,
    next_member: u64,
}

fn join_error(r: &JoinGroupRequest, error: ErrorCode) -> Message {
    Message::JoinGroupResponse(JoinGroupResponse {
        correlation_id: r.correlation_id,
        error,
        generation_id: -1,
        protocol: String::new(),
        leader: String::new(),
        member_id: r.member_id.clone(),
        members: Vec::new(),
    })
}

impl Coordinator {
    /// Whether the offsets of `__consumer_offsets-partition` are loaded.
    pub fn is_loaded(&self, partition: i32) -> bool {
        self.loaded.contains(&partition)
    }

    /// Load the groups and committed offsets of one `__consumer_offsets` partition from its
    /// log (see [`records::read_stored`]): each group as its record stored it, members and
    /// all, and each group's offsets. Every group and offset loaded is reported.
    pub fn load(&mut self, partition: i32, log: &Log, now: Instant, out: &mut Out) {
        let stored = records::read_stored(log);
        for (name, metadata) in stored.groups {
            if self
                .groups
                .get(&name)
                .is_some_and(|g| g.generation >= metadata.generation)
            {
                continue;
            }
            Self::group_entry(&mut self.groups, &name, now, out);
            let group = Group::from_metadata(&name, &metadata, now);
            out.trace(Event::GroupLoaded {
                group: name.clone(),
                generation: group.generation,
                protocol: group.protocol.clone(),
                leader: group.leader.clone(),
                members: group
                    .members
                    .iter()
                    .map(|(id, m)| (id.clone(), m.assignment.clone()))
                    .collect(),
            });
            // Traced as a move from Empty, where the group was just created.
            let mut group = group;
            let state = std::mem::replace(&mut group.state, GroupState::Empty);
            group.set_state(state, out);
            self.groups.insert(name, group);
        }
        let mut by_group: BTreeMap<String, Vec<(TopicPartition, i64)>> = BTreeMap::new();
        for ((group, tp), offset) in stored.offsets {
            by_group
                .entry(group.clone())
                .or_default()
                .push((tp.clone(), offset));
            self.offsets.insert((group, tp), offset);
        }
        for (group, offsets) in by_group {
            out.trace(Event::OffsetsLoaded { group, offsets });
        }
        self.loaded.insert(partition);
    }

    /// Forget the groups and offsets of a `__consumer_offsets` partition this broker no longer
    /// leads; members waiting on a join or a sync learn `NOT_COORDINATOR`.
    pub fn unload(&mut self, partition: i32, partitions: i32, out: &mut Out) {
        if !self.loaded.remove(&partition) {
            return;
        }
        let here = |g: &str| partition_for_group(g, partitions) == partition;
        let mut unloaded = Vec::new();
        for (name, g) in &mut self.groups {
            if !here(name) {
                continue;
            }
            unloaded.push(name.clone());
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
                    out.send(to, Message::JoinGroupResponse(response));
                }
                if let Some((to, correlation_id)) = m.pending_sync.take() {
                    let response = SyncGroupResponse {
                        correlation_id,
                        error: ErrorCode::NotCoordinator,
                        assignment: Vec::new(),
                    };
                    out.send(to, Message::SyncGroupResponse(response));
                }
            }
        }
        self.groups.retain(|g, _| !here(g));
        self.offsets.retain(|(g, _), _| !here(g));
        out.trace(Event::GroupsUnloaded {
            partition,
            groups: unloaded,
        });
    }

    /// May `member` of `group` commit in `generation`? (`None`: yes.)
    fn check_commit(&self, group: &str, member: &str, generation: i32) -> Option<ErrorCode> {
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

    /// `OffsetCommit`: validated on arrival, as Kafka does; what is accepted must be appended
    /// (then [`Coordinator::on_appended`], and once committed [`Coordinator::on_written`]).
    pub fn on_offset_commit(
        &mut self,
        now: Instant,
        from: NodeId,
        r: OffsetCommitRequest,
        out: &mut Out,
    ) -> Option<Append> {
        if let Some(error) = self.check_commit(&r.group_id, &r.member_id, r.generation_id) {
            out.send(
                from,
                Message::OffsetCommitResponse(OffsetCommitResponse::all(&r, error)),
            );
            return None;
        }
        Some(Append {
            batch: commit_batch(&r.group_id, &r.offsets, now),
            write: GroupWrite::Commit {
                to: from,
                request: r,
            },
        })
    }

    /// An [`Append`] is in the log, waiting for the high watermark.
    pub fn on_appended(&mut self, write: &GroupWrite, out: &mut Out) {
        if let GroupWrite::Commit { request: r, .. } = write {
            // Traced here because this is where Kafka judges a commit: checkers compare it
            // with the generations the group went through.
            out.trace(Event::OffsetCommitAppended {
                group: r.group_id.clone(),
                member: r.member_id.clone(),
                generation: r.generation_id,
                offsets: r.offsets.clone(),
            });
        }
    }

    /// A write was committed (`ErrorCode::None`) or could not be (`NOT_COORDINATOR`: the
    /// append failed, or this broker stopped leading the partition).
    pub fn on_written(&mut self, now: Instant, write: GroupWrite, error: ErrorCode, out: &mut Out) {
        match write {
            GroupWrite::Generation { group, generation } => {
                self.on_generation_stored(now, &group, generation, error, out)
            }
            GroupWrite::Commit { to, request } => {
                if error == ErrorCode::None {
                    for (tp, o) in &request.offsets {
                        self.offsets
                            .insert((request.group_id.clone(), tp.clone()), *o);
                    }
                    out.trace(Event::OffsetsCommitted {
                        group: request.group_id.clone(),
                        offsets: request.offsets.clone(),
                    });
                }
                let response = OffsetCommitResponse::all(&request, error);
                out.send(to, Message::OffsetCommitResponse(response));
            }
        }
    }

    /// `OffsetFetch`.
    pub fn on_offset_fetch(&self, from: NodeId, r: &OffsetFetchRequest, out: &mut Out) {
        let offsets = r
            .partitions
            .iter()
            .map(|tp| {
                let key = (r.group_id.clone(), tp.clone());
                (tp.clone(), self.offsets.get(&key).copied().unwrap_or(-1))
            })
            .collect();
        let response = OffsetFetchResponse {
            correlation_id: r.correlation_id,
            error: ErrorCode::None,
            offsets,
        };
        out.send(from, Message::OffsetFetchResponse(response));
    }

    /// `JoinGroup`: the member waits for the rebalance to complete ([`Coordinator::tick`]).
    pub fn on_join(
        &mut self,
        now: Instant,
        from: NodeId,
        r: JoinGroupRequest,
        broker_id: i32,
        out: &mut Out,
    ) {
        let group = Self::group_entry(&mut self.groups, &r.group_id, now, out);
        let rejoined_static = match Self::rejoin_static(
            group,
            &mut self.next_member,
            now,
            from,
            &r,
            broker_id,
            out,
        ) {
            StaticRejoin::Answered => return,
            StaticRejoin::Rebalance(id) => Some(id),
            StaticRejoin::NotStatic => None,
        };
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
            out.send(from, join_error(&r, ErrorCode::UnknownMemberId));
            return;
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
        out.trace(Event::MemberJoined {
            group: r.group_id.clone(),
            member: member_id,
        });
        match group.state {
            GroupState::Empty => {
                group.set_state(GroupState::PreparingRebalance, out);
                group.join_deadline = now + Duration::from_millis(INITIAL_REBALANCE_DELAY_MS);
                group.from_empty = true;
            }
            GroupState::Stable | GroupState::CompletingRebalance => {
                group.set_state(GroupState::PreparingRebalance, out);
                group.join_deadline = now + rebalance_timeout;
                group.fail_pending_syncs(ErrorCode::RebalanceInProgress, out);
            }
            GroupState::PreparingRebalance => {}
        }
    }

    /// The group called `name`, created Empty if it does not exist yet.
    fn group_entry<'g>(
        groups: &'g mut BTreeMap<String, Group>,
        name: &str,
        now: Instant,
        out: &mut Out,
    ) -> &'g mut Group {
        groups.entry(name.to_string()).or_insert_with(|| {
            out.trace(Event::Created {
                group: name.to_string(),
            });
            Group::empty(name, now)
        })
    }

    /// A join carrying a `group.instance.id` (KIP-345) that the group already knows.
    fn rejoin_static(
        group: &mut Group,
        next_member: &mut u64,
        now: Instant,
        from: NodeId,
        r: &JoinGroupRequest,
        broker_id: i32,
        out: &mut Out,
    ) -> StaticRejoin {
        let Some(instance) = &r.group_instance_id else {
            return StaticRejoin::NotStatic;
        };
        let known = group
            .members
            .iter()
            .find(|(_, m)| m.group_instance_id.as_deref() == Some(instance.as_str()))
            .map(|(id, _)| id.clone());
        match known {
            // Someone else holds this instance id: the caller is a zombie of it.
            Some(old) if !r.member_id.is_empty() && r.member_id != old => {
                out.send(from, join_error(r, ErrorCode::FencedInstanceId));
                StaticRejoin::Answered
            }
            // The static member restarted: it takes its old place under a new member id,
            // keeping its assignment; a stable group does not rebalance.
            Some(old) if r.member_id.is_empty() => {
                *next_member += 1;
                let new = format!("{instance}-{broker_id}-{next_member}");
                let mut m = group.members.remove(&old).expect("found above");
                m.pending_join = None;
                m.pending_sync = None;
                m.last_heartbeat = now;
                group.members.insert(new.clone(), m);
                if group.leader == old {
                    group.leader = new.clone();
                }
                let stable = group.state == GroupState::Stable;
                out.trace(Event::StaticMemberReplaced {
                    group: r.group_id.clone(),
                    instance: instance.clone(),
                    old,
                    new: new.clone(),
                    kept_generation: stable,
                });
                if !stable {
                    return StaticRejoin::Rebalance(new);
                }
                let response = JoinGroupResponse {
                    correlation_id: r.correlation_id,
                    error: ErrorCode::None,
                    generation_id: group.generation,
                    protocol: group.protocol.clone(),
                    leader: group.leader.clone(),
                    member_id: new,
                    members: Vec::new(),
                };
                out.send(from, Message::JoinGroupResponse(response));
                StaticRejoin::Answered
            }
            _ => StaticRejoin::NotStatic,
        }
    }

    /// `SyncGroup`: the leader's assignment is stored before anyone gets theirs, so this
    /// returns the generation's record to append when the leader's assignment arrives.
    pub fn on_sync(
        &mut self,
        now: Instant,
        from: NodeId,
        r: SyncGroupRequest,
        out: &mut Out,
    ) -> Option<Append> {
        let reply = |error, out: &mut Out| {
            let response = SyncGroupResponse {
                correlation_id: r.correlation_id,
                error,
                assignment: Vec::new(),
            };
            out.send(from, Message::SyncGroupResponse(response));
        };
        let Some(group) = self.groups.get_mut(&r.group_id) else {
            reply(ErrorCode::UnknownMemberId, out);
            return None;
        };
        if !group.members.contains_key(&r.member_id) {
            reply(ErrorCode::UnknownMemberId, out);
            return None;
        }
        if r.generation_id != group.generation {
            reply(ErrorCode::IllegalGeneration, out);
            return None;
        }
        match group.state {
            GroupState::PreparingRebalance | GroupState::Empty => {
                reply(ErrorCode::RebalanceInProgress, out);
                None
            }
            GroupState::Stable => {
                let assignment = group.members[&r.member_id].assignment.clone();
                let response = SyncGroupResponse {
                    correlation_id: r.correlation_id,
                    error: ErrorCode::None,
                    assignment,
                };
                out.send(from, Message::SyncGroupResponse(response));
                None
            }
            GroupState::CompletingRebalance => {
                if let Some(m) = group.members.get_mut(&r.member_id) {
                    m.pending_sync = Some((from, r.correlation_id));
                }
                if r.member_id != group.leader || group.assigned {
                    return None; // everyone waits until the leader's assignment is stored
                }
                for (member, assignment) in &r.assignments {
                    if let Some(m) = group.members.get_mut(member) {
                        m.assignment = assignment.clone();
                    }
                }
                group.assigned = true;
                out.trace(Event::AssignmentReceived {
                    group: r.group_id.clone(),
                    generation: group.generation,
                    assignment: r.assignments.clone(),
                });
                Some(Append {
                    batch: group_batch(&r.group_id, &group.metadata(), now),
                    write: GroupWrite::Generation {
                        group: r.group_id.clone(),
                        generation: group.generation,
                    },
                })
            }
        }
    }

    /// The group record of `generation` was committed (`ErrorCode::None`) or could not be:
    /// hand out the assignments, or send the members back to rejoin.
    fn on_generation_stored(
        &mut self,
        now: Instant,
        group: &str,
        generation: i32,
        error: ErrorCode,
        out: &mut Out,
    ) {
        let Some(g) = self.groups.get_mut(group) else {
            return;
        };
        if g.state != GroupState::CompletingRebalance || g.generation != generation || !g.assigned {
            return; // a later rebalance already superseded it
        }
        if error != ErrorCode::None {
            g.fail_pending_syncs(error, out);
            g.prepare_rebalance(now, out);
            return;
        }
        g.set_state(GroupState::Stable, out);
        for m in g.members.values_mut() {
            if let Some((to, correlation_id)) = m.pending_sync.take() {
                let response = SyncGroupResponse {
                    correlation_id,
                    error: ErrorCode::None,
                    assignment: m.assignment.clone(),
                };
                out.send(to, Message::SyncGroupResponse(response));
            }
        }
    }

    /// `Heartbeat`.
    pub fn on_heartbeat(
        &mut self,
        now: Instant,
        from: NodeId,
        r: &HeartbeatRequest,
        out: &mut Out,
    ) {
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
        let response = HeartbeatResponse {
            correlation_id: r.correlation_id,
            error,
        };
        out.send(from, Message::HeartbeatResponse(response));
    }

    /// `LeaveGroup`: the member is out, the others must rejoin.
    pub fn on_leave(&mut self, now: Instant, from: NodeId, r: &LeaveGroupRequest, out: &mut Out) {
        let group = self
            .groups
            .get_mut(&r.group_id)
            .filter(|g| g.members.contains_key(&r.member_id));
        let error = match group {
            Some(g) => {
                g.members.remove(&r.member_id);
                g.prepare_rebalance(now, out);
                out.trace(Event::MemberRemoved {
                    group: r.group_id.clone(),
                    member: r.member_id.clone(),
                    reason: RemovalReason::LeftTheGroup,
                });
                ErrorCode::None
            }
            None => ErrorCode::UnknownMemberId,
        };
        let response = LeaveGroupResponse {
            correlation_id: r.correlation_id,
            error: ErrorCode::None,
            members: vec![(r.member_id.clone(), error)],
        };
        out.send(from, Message::LeaveGroupResponse(response));
    }

    /// The periodic tick: expire sessions, then complete the joins whose time has come.
    pub fn tick(&mut self, now: Instant, out: &mut Out) {
        for g in self.groups.values_mut() {
            Self::expire_sessions(g, now, out);
            if g.state == GroupState::PreparingRebalance && g.join_complete(now) {
                Self::complete_join(g, now, out);
            }
        }
    }

    /// Members silent for longer than their `session.timeout.ms` are out.
    fn expire_sessions(g: &mut Group, now: Instant, out: &mut Out) {
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
            out.trace(Event::MemberRemoved {
                group: g.name.clone(),
                member: id,
                reason: RemovalReason::SessionTimeout,
            });
            g.prepare_rebalance(now, out);
        }
    }

    /// The join phase is over: start the next generation with the members that rejoined and
    /// answer their JoinGroups (the leader's with every member's subscription).
    fn complete_join(g: &mut Group, now: Instant, out: &mut Out) {
        // Members that did not rejoin in time are out.
        g.members.retain(|_, m| m.pending_join.is_some());
        if g.members.is_empty() {
            g.set_state(GroupState::Empty, out);
            return;
        }
        g.generation += 1;
        g.from_empty = false;
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
        g.set_state(GroupState::CompletingRebalance, out);
        out.trace(Event::GenerationStarted {
            group: g.name.clone(),
            generation: g.generation,
            members: g.members.keys().cloned().collect(),
            leader: g.leader.clone(),
            protocol: g.protocol.clone(),
        });
        let subscriptions: Vec<(String, Subscription)> = g
            .members
            .iter()
            .map(|(id, m)| (id.clone(), m.subscription.clone()))
            .collect();
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
            out.send(to, Message::JoinGroupResponse(response));
        }
    }

    /// What the coordinator lets the world see of each group.
    /// (A group known only by committed offsets shows as Empty in generation 0.)
    pub fn views(&self) -> Vec<crate::view::GroupView> {
        let names: BTreeSet<&String> = self
            .groups
            .keys()
            .chain(self.offsets.keys().map(|(g, _)| g))
            .collect();
        names
            .into_iter()
            .map(|name| {
                let g = self.groups.get(name);
                crate::view::GroupView {
                    group: name.clone(),
                    state: g.map_or(GroupState::Empty, |g| g.state),
                    generation: g.map_or(0, |g| g.generation),
                    leader: g.map(|g| g.leader.clone()).unwrap_or_default(),
                    protocol: g.map(|g| g.protocol.clone()).unwrap_or_default(),
                    members: g
                        .iter()
                        .flat_map(|g| g.members.iter())
                        .map(|(id, m)| (id.clone(), m.assignment.clone()))
                        .collect(),
                    committed: self
                        .offsets
                        .iter()
                        .filter(|((group, _), _)| group == name)
                        .map(|((_, tp), o)| (tp.clone(), *o))
                        .collect(),
                }
            })
            .collect()
    }

    /// Whether any group needs the coordinator's periodic tick.
    pub fn has_groups(&self) -> bool {
        !self.groups.is_empty()
    }
}

/// How a static member's join was handled.
enum StaticRejoin {
    /// Not a known static member: an ordinary join.
    NotStatic,
    /// Answered already (fenced, or back in a stable group without a rebalance).
    Answered,
    /// Back under this new member id, in a group that must rebalance anyway.
    Rebalance(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::LogConfig;
    use crate::node::{Outbox, Output};

    /// Reference: Kafka's `GroupMetadataManager.loadGroupsAndOffsets` / `loadGroup` and
    /// `GroupCoordinator.onElection`: a new coordinator takes each group over from its record
    /// — generation, protocol, leader, members and assignment, Stable — and reports the last
    /// committed offset of each partition; a member of that generation heartbeats on without
    /// rejoining (before, only the generation was stored and it got UNKNOWN_MEMBER_ID).
    #[test]
    fn load_takes_each_group_over_with_its_members_and_offsets() {
        let mut log = Log::new("__consumer_offsets-0", LogConfig::default());
        let (a, b) = (
            TopicPartition::new("orders", 0),
            TopicPartition::new("orders", 1),
        );
        let mut ops = Vec::new();
        for batch in [
            commit_batch("billing", &[(a.clone(), 10), (b.clone(), 5)], Instant::ZERO),
            group_batch("billing", &records::sample(3, true), Instant::ZERO),
            commit_batch("billing", &[(a.clone(), 42)], Instant::ZERO),
            group_batch("audit", &records::sample(1, false), Instant::ZERO),
        ] {
            log.append_as_leader(&batch, 0, &mut ops).unwrap();
        }
        let mut c = Coordinator::default();
        let mut out: Outbox<Vocab> = Outbox::new();
        c.load(0, &log, Instant::from_millis(9_000), &mut out);
        let traced: Vec<&Event> = out
            .items()
            .iter()
            .filter_map(|o| match o {
                Output::Trace(e) => Some(e),
                _ => None,
            })
            .collect();
        assert_eq!(
            traced,
            vec![
                &Event::Created {
                    group: "audit".into()
                },
                &Event::GroupLoaded {
                    group: "audit".into(),
                    generation: 1,
                    protocol: "range".into(),
                    leader: String::new(),
                    members: vec![],
                },
                &Event::Created {
                    group: "billing".into()
                },
                &Event::GroupLoaded {
                    group: "billing".into(),
                    generation: 3,
                    protocol: "range".into(),
                    leader: "c1-1".into(),
                    members: vec![("c1-1".into(), vec![a.clone()])],
                },
                &Event::StateChanged {
                    group: "billing".into(),
                    state: GroupState::Stable,
                },
                &Event::OffsetsLoaded {
                    group: "billing".into(),
                    offsets: vec![(a.clone(), 42), (b, 5)],
                },
            ]
        );
        assert!(c.is_loaded(0));
        assert_eq!(c.offsets.get(&("billing".to_string(), a)), Some(&42));
        let mut out: Outbox<Vocab> = Outbox::new();
        let heartbeat = HeartbeatRequest {
            correlation_id: 1,
            group_id: "billing".into(),
            generation_id: 3,
            member_id: "c1-1".into(),
        };
        c.on_heartbeat(Instant::from_millis(9_100), NodeId(5), &heartbeat, &mut out);
        let answered = out.items().iter().any(|o| {
            matches!(o, Output::Send { msg: Message::HeartbeatResponse(r), .. } if r.error == ErrorCode::None)
        });
        assert!(answered, "{:?}", out.items());
    }
}
