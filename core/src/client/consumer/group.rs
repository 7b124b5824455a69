//! A consumer as a member of a group (`subscribe`): find the coordinator, join, let the
//! leader assign, sync, heartbeat, commit, and rejoin on every rebalance.
//!
//! This is the *eager* protocol: before rejoining, a member gives up (revokes) every partition
//! it holds and commits its positions, so no partition is ever owned by two members — and
//! nothing is consumed while the group rebalances. The partitions of a new generation start
//! from the group's committed offsets (`OffsetFetch`), or from `auto.offset.reset` if none.

use super::{Consumer, Event, Out, Reply, Request, RevocationReason, Timer};
use crate::group::assignor::{self, Member};
use crate::ids::{NodeId, TopicPartition};
use crate::protocol::{
    ErrorCode, FindCoordinatorRequest, FindCoordinatorResponse, HeartbeatRequest,
    HeartbeatResponse, JoinGroupRequest, JoinGroupResponse, Message, OffsetCommitRequest,
    OffsetCommitResponse, OffsetFetchRequest, OffsetFetchResponse, Subscription, SyncGroupRequest,
    SyncGroupResponse,
};
use crate::time::{Duration, Instant};
use std::collections::BTreeMap;

/// Where the member stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    /// Needs to (re)join.
    Unjoined,
    /// JoinGroup sent.
    Joining,
    /// SyncGroup sent.
    Syncing,
    /// Assigned: fetching and heartbeating.
    Stable,
}

/// The member's state.
#[derive(Debug)]
pub(super) struct Membership {
    pub(super) group_id: String,
    pub(super) coordinator: Option<NodeId>,
    pub(super) member_id: String,
    pub(super) generation: i32,
    pub(super) phase: Phase,
    /// Partitions whose committed offset is being fetched.
    pub(super) awaiting_committed: Vec<TopicPartition>,
    /// What an eager member owned before revoking it all: it tells the sticky assignor what
    /// to keep (Kafka's StickyAssignor sends it as user data).
    pub(super) last_owned: Vec<TopicPartition>,
    /// As the leader of the current generation: the partition count of every subscribed
    /// topic the assignment was computed with (absent: unknown to the leader then). Kafka's
    /// `assignmentSnapshot`: a leader whose metadata later differs rejoins.
    pub(super) assigned_with: Option<BTreeMap<String, i32>>,
}

impl Membership {
    pub(super) fn new(group_id: String) -> Self {
        Membership {
            group_id,
            coordinator: None,
            member_id: String::new(),
            generation: -1,
            phase: Phase::Unjoined,
            awaiting_committed: Vec::new(),
            last_owned: Vec::new(),
            assigned_with: None,
        }
    }
}

impl Consumer {
    /// Drive the group protocol; returns whether the member may fetch.
    pub(super) fn drive_group(&mut self, now: Instant, topic: &str, out: &mut Out) -> bool {
        let Some(group) = &self.group else {
            return true;
        };
        let (phase, coordinator) = (group.phase, group.coordinator);
        if coordinator.is_none() {
            if !self.busy(|k| matches!(k, Request::FindCoordinator))
                && !self.config.bootstrap_servers.is_empty()
            {
                let servers = &self.config.bootstrap_servers;
                let node = servers[self.next_bootstrap % servers.len()];
                self.next_bootstrap += 1;
                let key = group.group_id.clone();
                let correlation_id = self.next_correlation_id();
                let message = Message::FindCoordinatorRequest(FindCoordinatorRequest {
                    correlation_id,
                    key,
                });
                self.request(now, node, Request::FindCoordinator, message, out);
            }
            // Like Kafka's poll(), a member that lost its coordinator goes on fetching what it
            // was assigned: if the group has moved on meanwhile, it is a zombie until it
            // learns so, and only its commits are refused.
            return phase == Phase::Stable;
        }
        let coordinator = coordinator.expect("checked above");
        match phase {
            Phase::Unjoined => {
                let group = self.group.as_mut().expect("group mode");
                group.phase = Phase::Joining;
                let correlation_id = self.next_correlation_id();
                let group = self.group.as_ref().expect("group mode");
                let message = Message::JoinGroupRequest(JoinGroupRequest {
                    correlation_id,
                    group_id: group.group_id.clone(),
                    member_id: group.member_id.clone(),
                    group_instance_id: self.config.group_instance_id.clone(),
                    session_timeout_ms: self.config.session_timeout_ms,
                    rebalance_timeout_ms: self.config.max_poll_interval_ms,
                    protocol: self.config.partition_assignment_strategy.clone(),
                    subscription: Subscription {
                        topics: vec![topic.to_string()],
                        owned: if self.assignment.is_empty() {
                            group.last_owned.clone()
                        } else {
                            self.assignment.clone()
                        },
                    },
                });
                // A join may wait for the whole rebalance: give it the rebalance timeout.
                let timeout = self.config.max_poll_interval_ms + 5000;
                self.request_with_timeout(now, coordinator, Request::Join, message, timeout, out);
                false
            }
            // KIP-429: a cooperative member goes on consuming what it owns while the group
            // rebalances; an eager one has given everything up.
            Phase::Joining | Phase::Syncing => self.is_cooperative(),
            Phase::Stable => {
                self.rejoin_if_assignment_metadata_changed(now, out);
                if self
                    .group
                    .as_ref()
                    .is_some_and(|g| g.phase != Phase::Stable)
                {
                    return self.drive_group(now, topic, out); // the join goes out now
                }
                self.fetch_committed(now, coordinator, out);
                true
            }
        }
    }

    /// Ask the coordinator for the committed offsets of the partitions assigned without
    /// them, unless it is being asked already. Until it answers they have no position: they
    /// are neither fetched nor reset by `auto.offset.reset` (Kafka's
    /// `refreshCommittedOffsetsIfNeeded` comes before `resetPositionsIfNeeded`), so a lost
    /// answer is asked again of whichever coordinator the member finds next.
    fn fetch_committed(&mut self, now: Instant, coordinator: NodeId, out: &mut Out) {
        let Some(g) = &self.group else { return };
        if g.awaiting_committed.is_empty() || self.busy(|k| matches!(k, Request::OffsetFetch)) {
            return;
        }
        let (group_id, partitions) = (g.group_id.clone(), g.awaiting_committed.clone());
        let correlation_id = self.next_correlation_id();
        let message = Message::OffsetFetchRequest(OffsetFetchRequest {
            correlation_id,
            group_id,
            partitions,
        });
        self.request(now, coordinator, Request::OffsetFetch, message, out);
    }

    /// Kafka's `rejoinNeededOrPending` after a metadata update: a leader whose assignment
    /// was computed with other partition counts than its metadata now shows (a topic it
    /// did not know yet, or one that grew) rejoins, so that the new partitions are
    /// assigned. A topic absent from the metadata now (dropped after an error) proves
    /// nothing and is not compared.
    pub(super) fn rejoin_if_assignment_metadata_changed(&mut self, now: Instant, out: &mut Out) {
        let Some(g) = &self.group else { return };
        let (Phase::Stable, Some(snapshot)) = (g.phase, &g.assigned_with) else {
            return;
        };
        let changed = self.topic.iter().find_map(|topic| {
            let current = self.view.partition_count(topic)?;
            let assigned_with = snapshot.get(topic).copied().unwrap_or(-1);
            (assigned_with != current).then(|| (topic.clone(), assigned_with, current))
        });
        let Some((topic, assigned_with, current)) = changed else {
            return;
        };
        out.trace(Event::AssignmentMetadataChanged {
            topic,
            assigned_with,
            now: current,
        });
        if !self.is_cooperative() {
            self.revoke_all(now, out);
        }
        if let Some(g) = self.group.as_mut() {
            g.assigned_with = None;
            g.phase = Phase::Unjoined;
        }
    }

    /// Whether `tp` waits for its committed offset (and so has no position yet).
    pub(super) fn awaits_committed(&self, tp: &TopicPartition) -> bool {
        self.group
            .as_ref()
            .is_some_and(|g| g.awaiting_committed.contains(tp))
    }

    fn lose_coordinator(&mut self) {
        if let Some(g) = self.group.as_mut() {
            g.coordinator = None;
            if matches!(g.phase, Phase::Joining | Phase::Syncing) {
                g.phase = Phase::Unjoined;
            }
        }
    }

    pub(super) fn on_find_coordinator(
        &mut self,
        now: Instant,
        r: FindCoordinatorResponse,
        out: &mut Out,
    ) {
        if r.error == ErrorCode::None {
            if let Some(g) = self.group.as_mut() {
                g.coordinator = Some(r.address);
            }
        } else {
            self.retry_later(now, out);
        }
    }

    fn retry_later(&mut self, now: Instant, out: &mut Out) {
        self.backoff_until = now + Duration::from_millis(self.config.retry_backoff_ms);
        out.set_timer(Timer::RetryBackoff, self.backoff_until);
    }

    /// Give up every partition (eager protocol), committing positions first.
    pub(super) fn revoke_all(&mut self, now: Instant, out: &mut Out) {
        if self.assignment.is_empty() {
            return;
        }
        if self.config.enable_auto_commit {
            self.commit(now, out);
        }
        let (member_id, generation) = self
            .group
            .as_ref()
            .map_or((String::new(), -1), |g| (g.member_id.clone(), g.generation));
        if let Some(g) = self.group.as_mut() {
            g.last_owned = self.assignment.clone();
        }
        let reason = RevocationReason::BeforeRejoining;
        self.give_up_partitions(member_id, generation, reason, out);
    }

    /// Drop every partition and its fetch state, reporting them given up by the member
    /// `member_id` of `generation`, for `reason`.
    pub(super) fn give_up_partitions(
        &mut self,
        member_id: String,
        generation: i32,
        reason: RevocationReason,
        out: &mut Out,
    ) {
        if self.assignment.is_empty() {
            return;
        }
        out.reply(Reply::Revoked {
            member_id,
            generation,
            partitions: std::mem::take(&mut self.assignment),
            reason,
        });
        self.positions.clear();
        self.seek_to_start.clear();
        if let Some(g) = self.group.as_mut() {
            g.awaiting_committed.clear();
        }
        self.last_epoch.clear();
        self.validated_epoch.clear();
        self.stuck.clear();
        // Fetches of the revoked partitions are void.
        self.network
            .abandon(|r| !matches!(r.kind, Request::Fetch(_)), &mut out.scoped());
    }

    /// Rejoin from scratch (after the coordinator forgot us or a generation was fenced).
    fn reset_membership(&mut self, now: Instant, out: &mut Out) {
        if self
            .group
            .as_ref()
            .is_some_and(|g| g.phase == Phase::Joining)
        {
            return; // a join is already on its way
        }
        self.revoke_all(now, out);
        if let Some(g) = self.group.as_mut() {
            g.member_id.clear();
            g.generation = -1;
            g.phase = Phase::Unjoined;
            out.trace(Event::MembershipReset);
        }
    }

    pub(super) fn on_join(&mut self, now: Instant, r: JoinGroupResponse, out: &mut Out) {
        match r.error {
            ErrorCode::None => {}
            ErrorCode::UnknownMemberId | ErrorCode::IllegalGeneration => {
                // This response ends the join: leave Joining so the reset is not taken for
                // a join still on its way, and rejoin with an empty member id.
                if let Some(g) = self.group.as_mut() {
                    g.phase = Phase::Unjoined;
                }
                return self.reset_membership(now, out);
            }
            ErrorCode::NotCoordinator | ErrorCode::CoordinatorNotAvailable => {
                self.lose_coordinator();
                return self.retry_later(now, out);
            }
            // Another process runs with our group.instance.id: Kafka's consumer fails with
            // FencedInstanceIdException, and this one stops.
            ErrorCode::FencedInstanceId => return self.fenced_instance(out),
            _ => {
                if let Some(g) = self.group.as_mut() {
                    g.phase = Phase::Unjoined;
                }
                return self.retry_later(now, out);
            }
        }
        let Some(coordinator) = self.group.as_ref().and_then(|g| g.coordinator) else {
            return;
        };
        let (assignments, assigned_with) = if r.leader == r.member_id {
            let counts = self.partition_counts(&r);
            (self.assign(&r, &counts), Some(counts))
        } else {
            (Vec::new(), None)
        };
        let Some(g) = self.group.as_mut() else { return };
        g.assigned_with = assigned_with;
        g.member_id = r.member_id.clone();
        g.generation = r.generation_id;
        g.phase = Phase::Syncing;
        out.trace(Event::Joined {
            member_id: r.member_id.clone(),
            generation: r.generation_id,
        });
        let correlation_id = self.next_correlation_id();
        let message = Message::SyncGroupRequest(SyncGroupRequest {
            correlation_id,
            group_id: self
                .group
                .as_ref()
                .map(|g| g.group_id.clone())
                .unwrap_or_default(),
            generation_id: r.generation_id,
            member_id: r.member_id,
            assignments,
        });
        self.request(now, coordinator, Request::Sync, message, out);
        // A joined member heartbeats while it waits for its assignment, so that a leader
        // that never syncs is expired and the others are sent back to rejoin.
        out.set_timer(
            Timer::Heartbeat,
            now + Duration::from_millis(self.config.heartbeat_interval_ms),
        );
    }

    /// Whether this member follows KIP-429's incremental protocol.
    pub(super) fn is_cooperative(&self) -> bool {
        self.config.partition_assignment_strategy == "cooperative-sticky"
    }

    /// KIP-429: give up only `partitions` (they move to another member), committing their
    /// positions first; the rest keeps being consumed.
    fn revoke_cooperatively(&mut self, now: Instant, partitions: &[TopicPartition], out: &mut Out) {
        if self.config.enable_auto_commit {
            self.commit(now, out);
        }
        let (member_id, generation) = self
            .group
            .as_ref()
            .map_or((String::new(), -1), |g| (g.member_id.clone(), g.generation));
        out.reply(Reply::Revoked {
            member_id,
            generation,
            partitions: partitions.to_vec(),
            reason: RevocationReason::MovesToAnotherMember,
        });
        self.assignment.retain(|tp| !partitions.contains(tp));
        if let Some(g) = self.group.as_mut() {
            g.awaiting_committed.retain(|tp| !partitions.contains(tp));
        }
        for tp in partitions {
            self.positions.remove(tp);
            self.seek_to_start.remove(tp);
            self.last_epoch.remove(tp);
            self.validated_epoch.remove(tp);
            self.stuck.remove(tp);
        }
    }

    /// The partition count of every topic some member subscribes to, as far as this
    /// member's metadata knows.
    fn partition_counts(&self, r: &JoinGroupResponse) -> BTreeMap<String, i32> {
        r.members
            .iter()
            .flat_map(|(_, s)| s.topics.iter())
            .chain(self.topic.iter())
            .filter_map(|t| self.view.partition_count(t).map(|n| (t.clone(), n)))
            .collect()
    }

    /// As the group's leader: compute every member's partitions with the agreed assignor,
    /// from the topics' `partitions` counts.
    fn assign(
        &self,
        r: &JoinGroupResponse,
        partitions: &BTreeMap<String, i32>,
    ) -> Vec<(String, Vec<TopicPartition>)> {
        let members: Vec<Member> = r
            .members
            .iter()
            .map(|(id, s)| Member {
                id: id.clone(),
                topics: s.topics.iter().cloned().collect(),
                owned: s.owned.clone(),
            })
            .collect();
        let assignment = match r.protocol.as_str() {
            "roundrobin" => assignor::round_robin(&members, partitions),
            "sticky" => assignor::sticky(&members, partitions),
            "cooperative-sticky" => {
                assignor::cooperative_first_round(&members, &assignor::sticky(&members, partitions))
            }
            _ => assignor::range(&members, partitions),
        };
        assignment.into_iter().collect()
    }

    pub(super) fn on_sync(&mut self, now: Instant, r: SyncGroupResponse, out: &mut Out) {
        match r.error {
            ErrorCode::None => {}
            ErrorCode::RebalanceInProgress => {
                if let Some(g) = self.group.as_mut() {
                    g.phase = Phase::Unjoined;
                }
                return;
            }
            ErrorCode::UnknownMemberId | ErrorCode::IllegalGeneration => {
                return self.reset_membership(now, out);
            }
            _ => {
                self.lose_coordinator();
                return self.retry_later(now, out);
            }
        }
        // KIP-429: keep what stays ours (and its position); revoke only what moves away.
        let revoked: Vec<TopicPartition> = self
            .assignment
            .iter()
            .filter(|tp| !r.assignment.contains(tp))
            .cloned()
            .collect();
        if !revoked.is_empty() {
            self.revoke_cooperatively(now, &revoked, out);
        }
        let added: Vec<TopicPartition> = r
            .assignment
            .iter()
            .filter(|tp| !self.assignment.contains(tp))
            .cloned()
            .collect();
        let Some(g) = self.group.as_mut() else { return };
        // Having given partitions up, rejoin at once so that they can be handed out (the
        // second round); otherwise the group is stable.
        g.phase = if revoked.is_empty() {
            Phase::Stable
        } else {
            Phase::Unjoined
        };
        g.awaiting_committed = added;
        let (member_id, generation, group_id) =
            (g.member_id.clone(), g.generation, g.group_id.clone());
        self.assignment = r.assignment.clone();
        out.reply(Reply::Assigned {
            group: group_id.clone(),
            member_id,
            generation,
            partitions: r.assignment.clone(),
        });
        if let Some(coordinator) = self.group.as_ref().and_then(|g| g.coordinator) {
            self.fetch_committed(now, coordinator, out);
        }
        out.set_timer(
            Timer::Heartbeat,
            now + Duration::from_millis(self.config.heartbeat_interval_ms),
        );
        if self.config.enable_auto_commit {
            out.set_timer(
                Timer::AutoCommit,
                now + Duration::from_millis(self.config.auto_commit_interval_ms),
            );
        }
    }

    pub(super) fn on_offset_fetch(&mut self, now: Instant, r: OffsetFetchResponse, out: &mut Out) {
        if r.error != ErrorCode::None {
            self.lose_coordinator();
            return self.retry_later(now, out);
        }
        for (tp, offset) in r.offsets {
            // Only a partition still waiting takes the answer: one assigned again since
            // the request left may already have moved on.
            let waiting = self.awaits_committed(&tp);
            if let Some(g) = self.group.as_mut() {
                g.awaiting_committed.retain(|p| *p != tp);
            }
            if waiting && offset >= 0 && self.assignment.contains(&tp) {
                self.positions.insert(tp.clone(), offset);
                out.reply(Reply::PositionReset {
                    partition: tp,
                    offset,
                    reason: super::ResetReason::CommittedOffset,
                });
            }
        }
        // Partitions without a committed offset fall back to auto.offset.reset.
    }

    pub(super) fn on_group_heartbeat_timer(&mut self, now: Instant, out: &mut Out) {
        let Some(g) = &self.group else { return };
        if !matches!(g.phase, Phase::Syncing | Phase::Stable) {
            return;
        }
        if let Some(coordinator) = g.coordinator {
            let (group_id, generation_id, member_id) =
                (g.group_id.clone(), g.generation, g.member_id.clone());
            let correlation_id = self.next_correlation_id();
            let message = Message::HeartbeatRequest(HeartbeatRequest {
                correlation_id,
                group_id,
                generation_id,
                member_id,
            });
            self.request(now, coordinator, Request::Heartbeat, message, out);
        }
        out.set_timer(
            Timer::Heartbeat,
            now + Duration::from_millis(self.config.heartbeat_interval_ms),
        );
    }

    /// An `OffsetCommit`'s answer: a refused commit is reported; membership is the
    /// heartbeat's business.
    pub(super) fn on_commit_response(
        &mut self,
        _kind: Request,
        r: OffsetCommitResponse,
        out: &mut Out,
    ) {
        let Some(error) = r.error() else {
            return;
        };
        let member_id = self
            .group
            .as_ref()
            .map(|g| g.member_id.clone())
            .unwrap_or_default();
        out.reply(Reply::CommitFailed { member_id, error });
    }

    /// A heartbeat's answer.
    pub(super) fn on_heartbeat_response(
        &mut self,
        now: Instant,
        r: HeartbeatResponse,
        out: &mut Out,
    ) {
        if self.is_stalled() {
            // The heartbeat thread: a rebalance waits for the application's next poll();
            // a fenced membership is gone, its partitions lost when the application is back.
            if matches!(
                r.error,
                ErrorCode::UnknownMemberId | ErrorCode::IllegalGeneration
            ) {
                self.fenced_while_stalled(out);
            }
            return;
        }
        match r.error {
            ErrorCode::None => {}
            // Eager: give everything up (committing first) and rejoin. Cooperative (KIP-429):
            // rejoin keeping everything; the new assignment says what to give up.
            ErrorCode::RebalanceInProgress
                if self
                    .group
                    .as_ref()
                    .is_some_and(|g| g.phase == Phase::Stable) =>
            {
                if !self.is_cooperative() {
                    self.revoke_all(now, out);
                }
                if let Some(g) = self.group.as_mut() {
                    g.phase = Phase::Unjoined;
                }
            }
            ErrorCode::RebalanceInProgress => {}
            ErrorCode::UnknownMemberId | ErrorCode::IllegalGeneration => {
                self.reset_membership(now, out)
            }
            ErrorCode::NotCoordinator | ErrorCode::CoordinatorNotAvailable => {
                self.lose_coordinator()
            }
            _ => {}
        }
    }

    /// `commitSync()`: commit the current positions; the poll loop waits for the answer.
    pub(super) fn commit_sync(&mut self, now: Instant, out: &mut Out) {
        self.send_commit(now, Request::SyncCommit, out);
    }

    /// Commit the current positions of the assigned partitions (auto-commit, `commitAsync()`,
    /// and before giving partitions up).
    pub(super) fn commit(&mut self, now: Instant, out: &mut Out) {
        self.send_commit(now, Request::Commit, out);
    }

    fn send_commit(&mut self, now: Instant, kind: Request, out: &mut Out) {
        let offsets: Vec<(TopicPartition, i64)> = self
            .assignment
            .iter()
            .filter_map(|tp| self.positions.get(tp).map(|o| (tp.clone(), *o)))
            .collect();
        self.commit_offsets(now, offsets, kind, out);
    }

    /// Commit `offsets` of the partitions this member owns.
    pub(super) fn commit_offsets(
        &mut self,
        now: Instant,
        mut offsets: Vec<(TopicPartition, i64)>,
        kind: Request,
        out: &mut Out,
    ) {
        let Some(g) = &self.group else { return };
        let Some(coordinator) = g.coordinator else {
            return;
        };
        offsets.retain(|(tp, _)| self.assignment.contains(tp));
        if offsets.is_empty() {
            return;
        }
        let (group_id, generation_id, member_id) =
            (g.group_id.clone(), g.generation, g.member_id.clone());
        let correlation_id = self.next_correlation_id();
        let message = Message::OffsetCommitRequest(OffsetCommitRequest {
            correlation_id,
            group_id,
            generation_id,
            member_id,
            offsets,
        });
        self.request(now, coordinator, kind, message, out);
    }

    pub(super) fn on_auto_commit_timer(&mut self, now: Instant, out: &mut Out) {
        if self
            .group
            .as_ref()
            .is_some_and(|g| g.phase == Phase::Stable)
        {
            // Kafka auto-commits inside poll(): a stalled loop commits nothing.
            if !self.is_stalled() {
                self.commit(now, out);
            }
            out.set_timer(
                Timer::AutoCommit,
                now + Duration::from_millis(self.config.auto_commit_interval_ms),
            );
        }
    }

    /// A group request failed on the network: find the coordinator again.
    pub(super) fn on_group_request_lost(&mut self) {
        self.lose_coordinator();
    }
}
