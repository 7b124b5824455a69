//! The broker's side of the group protocol: routing requests to the [`Coordinator`] when this
//! broker leads the group's `__consumer_offsets` partition, and writing committed offsets to
//! that partition (answered once they are replicated below the high watermark).

use super::groups::{GroupChange, OFFSETS_TOPIC, commit_batch, partition_for_group};
use super::{Broker, Out};
use crate::actor::{Event, Timer};
use crate::ids::{NodeId, TopicPartition};
use crate::protocol::{
    ErrorCode, FindCoordinatorRequest, FindCoordinatorResponse, HeartbeatResponse, Message,
    OffsetCommitRequest, OffsetFetchResponse,
};
use crate::time::{Duration, Instant};

/// How often the coordinator expires sessions and completes joins.
const GROUP_TICK_MS: u64 = 100;

/// An `OffsetCommit` written to the log, waiting for the high watermark.
#[derive(Debug)]
pub(super) struct PendingCommit {
    partition: TopicPartition,
    needed_high_watermark: i64,
    to: NodeId,
    correlation_id: i32,
    group: String,
    offsets: Vec<(TopicPartition, i64)>,
}

/// A group's new generation written to the log, waiting for the high watermark before its
/// members are given their assignments.
#[derive(Debug)]
pub(super) struct PendingGroupWrite {
    partition: TopicPartition,
    needed_high_watermark: i64,
    group: String,
    generation: i32,
}

impl Broker {
    /// The `__consumer_offsets` partition of `group`, if the topic exists.
    fn offsets_partition(&self, group: &str) -> Option<TopicPartition> {
        let count = *self.image.topics.get(OFFSETS_TOPIC)?;
        Some(TopicPartition::new(
            OFFSETS_TOPIC,
            partition_for_group(group, count),
        ))
    }

    /// Whether this broker coordinates `group` (leads its offsets partition); loads the
    /// partition's committed offsets on first use.
    fn coordinates(&mut self, group: &str) -> bool {
        let Some(tp) = self.offsets_partition(group) else {
            return false;
        };
        let Some(p) = self.partitions.get(&tp) else {
            return false;
        };
        if !p.is_leader() {
            return false;
        }
        if !self.groups.is_loaded(tp.partition) {
            self.groups.load(tp.partition, p.log());
        }
        true
    }

    pub(super) fn on_find_coordinator(
        &self,
        from: NodeId,
        r: FindCoordinatorRequest,
        out: &mut Out,
    ) {
        let leader = self
            .offsets_partition(&r.key)
            .and_then(|tp| self.image.partitions.get(&tp))
            .map(|p| p.leader)
            .filter(|l| *l >= 0)
            .and_then(|l| self.image.address(l).map(|a| (l, a)));
        let response = match leader {
            Some((node_id, address)) => FindCoordinatorResponse {
                correlation_id: r.correlation_id,
                error: ErrorCode::None,
                node_id,
                address,
            },
            None => FindCoordinatorResponse {
                correlation_id: r.correlation_id,
                error: ErrorCode::CoordinatorNotAvailable,
                node_id: -1,
                address: NodeId(0),
            },
        };
        out.send(from, Message::FindCoordinatorResponse(response));
    }

    /// Route a group request; returns false if it is not one.
    pub(super) fn on_group_request(
        &mut self,
        now: Instant,
        from: NodeId,
        msg: Message,
        out: &mut Out,
    ) -> bool {
        let group = match &msg {
            Message::JoinGroupRequest(r) => r.group_id.clone(),
            Message::SyncGroupRequest(r) => r.group_id.clone(),
            Message::HeartbeatRequest(r) => r.group_id.clone(),
            Message::LeaveGroupRequest(r) => r.group_id.clone(),
            Message::OffsetCommitRequest(r) => r.group_id.clone(),
            Message::OffsetFetchRequest(r) => r.group_id.clone(),
            _ => return false,
        };
        if !self.coordinates(&group) {
            self.refuse_group_request(from, &msg, out);
            return true;
        }
        let replies = match msg {
            Message::JoinGroupRequest(r) => self.groups.on_join(now, from, r, self.config.node_id),
            Message::SyncGroupRequest(r) => self.groups.on_sync(from, r),
            Message::HeartbeatRequest(r) => vec![(
                from,
                Message::HeartbeatResponse(self.groups.on_heartbeat(now, &r)),
            )],
            Message::LeaveGroupRequest(r) => self.groups.on_leave(now, from, &r),
            Message::OffsetFetchRequest(r) => vec![(
                from,
                Message::OffsetFetchResponse(self.groups.on_offset_fetch(&r)),
            )],
            Message::OffsetCommitRequest(r) => {
                self.on_offset_commit(now, from, r, out);
                Vec::new()
            }
            _ => Vec::new(),
        };
        for (to, message) in replies {
            out.send(to, message);
        }
        self.report_group_changes(now, out);
        out.set_timer(Timer::GroupTick, now + Duration::from_millis(GROUP_TICK_MS));
        true
    }

    fn refuse_group_request(&self, from: NodeId, msg: &Message, out: &mut Out) {
        let error = ErrorCode::NotCoordinator;
        let response = match msg {
            Message::OffsetFetchRequest(r) => Message::OffsetFetchResponse(OffsetFetchResponse {
                correlation_id: r.correlation_id,
                error,
                offsets: Vec::new(),
            }),
            Message::JoinGroupRequest(r) => {
                Message::JoinGroupResponse(crate::protocol::JoinGroupResponse {
                    correlation_id: r.correlation_id,
                    error,
                    generation_id: -1,
                    protocol: String::new(),
                    leader: String::new(),
                    member_id: r.member_id.clone(),
                    members: Vec::new(),
                })
            }
            Message::SyncGroupRequest(r) => {
                Message::SyncGroupResponse(crate::protocol::SyncGroupResponse {
                    correlation_id: r.correlation_id,
                    error,
                    assignment: Vec::new(),
                })
            }
            other => Message::HeartbeatResponse(HeartbeatResponse {
                correlation_id: other.correlation_id(),
                error,
            }),
        };
        out.send(from, response);
    }

    fn on_offset_commit(
        &mut self,
        now: Instant,
        from: NodeId,
        r: OffsetCommitRequest,
        out: &mut Out,
    ) {
        let refuse = |error| {
            Message::HeartbeatResponse(HeartbeatResponse {
                correlation_id: r.correlation_id,
                error,
            })
        };
        if let Some(error) = self
            .groups
            .check_commit(&r.group_id, &r.member_id, r.generation_id)
        {
            out.send(from, refuse(error));
            return;
        }
        let Some(tp) = self.offsets_partition(&r.group_id) else {
            return;
        };
        let batch = commit_batch(&r.group_id, &r.offsets, now);
        let appended = self
            .partitions
            .get_mut(&tp)
            .map(|p| p.append_as_leader(&batch, out));
        match appended {
            Some(Ok(info)) => {
                // Traced here because this is where Kafka judges a commit: checkers compare
                // it with the generations the group went through.
                out.trace(Event::OffsetCommitAppended {
                    group: r.group_id.clone(),
                    member: r.member_id.clone(),
                    generation: r.generation_id,
                    offsets: r.offsets.clone(),
                });
                self.pending_commits.push(PendingCommit {
                    partition: tp,
                    needed_high_watermark: info.last_offset + 1,
                    to: from,
                    correlation_id: r.correlation_id,
                    group: r.group_id,
                    offsets: r.offsets,
                })
            }
            _ => out.send(from, refuse(ErrorCode::NotCoordinator)),
        }
        self.complete_pending_commits(now, out);
    }

    /// Answer commits and group writes that are now replicated (or can no longer be).
    pub(super) fn complete_pending_commits(&mut self, now: Instant, out: &mut Out) {
        let mut waiting = Vec::new();
        for w in std::mem::take(&mut self.pending_group_writes) {
            let (leads, hw) = self
                .partitions
                .get(&w.partition)
                .map_or((false, -1), |p| (p.is_leader(), p.high_watermark()));
            let error = if !leads {
                ErrorCode::NotCoordinator
            } else if hw >= w.needed_high_watermark {
                ErrorCode::None
            } else {
                waiting.push(w);
                continue;
            };
            for (to, message) in self.groups.stored(now, &w.group, w.generation, error) {
                out.send(to, message);
            }
        }
        self.pending_group_writes = waiting;
        let mut still = Vec::new();
        for c in std::mem::take(&mut self.pending_commits) {
            let (leads, hw) = self
                .partitions
                .get(&c.partition)
                .map_or((false, -1), |p| (p.is_leader(), p.high_watermark()));
            let error = if !leads {
                ErrorCode::NotCoordinator
            } else if hw >= c.needed_high_watermark {
                self.groups.committed(&c.group, &c.offsets);
                out.trace(Event::OffsetsCommitted {
                    group: c.group.clone(),
                    offsets: c.offsets.clone(),
                });
                ErrorCode::None
            } else {
                still.push(c);
                continue;
            };
            out.send(
                c.to,
                Message::HeartbeatResponse(HeartbeatResponse {
                    correlation_id: c.correlation_id,
                    error,
                }),
            );
        }
        self.pending_commits = still;
    }

    pub(super) fn on_group_tick(&mut self, now: Instant, out: &mut Out) {
        for (to, message) in self.groups.tick(now) {
            out.send(to, message);
        }
        self.report_group_changes(now, out);
        if self.groups.has_groups() {
            out.set_timer(Timer::GroupTick, now + Duration::from_millis(GROUP_TICK_MS));
        }
    }

    fn report_group_changes(&mut self, now: Instant, out: &mut Out) {
        for change in std::mem::take(&mut self.groups.changes) {
            match change {
                GroupChange::Store { group, generation } => {
                    self.store_group(now, group, generation, out)
                }
                GroupChange::Generation {
                    group,
                    generation,
                    members,
                } => out.trace(Event::GroupGenerationStarted {
                    group,
                    generation,
                    members,
                }),
                GroupChange::StaticMemberReplaced {
                    group,
                    instance,
                    old,
                    new,
                    kept_generation,
                } => out.trace(Event::GroupStaticMemberReplaced {
                    group,
                    instance,
                    old,
                    new,
                    kept_generation,
                }),
                GroupChange::OffsetsLoaded { group, offsets } => {
                    out.trace(Event::GroupOffsetsLoaded { group, offsets })
                }
                GroupChange::MemberRemoved {
                    group,
                    member,
                    reason,
                } => out.trace(Event::GroupMemberRemoved {
                    group,
                    member,
                    reason,
                }),
            }
        }
        self.complete_pending_commits(now, out);
    }

    /// Write `group`'s `generation` to its offsets partition; the members get their
    /// assignments once it is committed (Kafka's `storeGroup` on the leader's SyncGroup).
    fn store_group(&mut self, now: Instant, group: String, generation: i32, out: &mut Out) {
        let appended = self.offsets_partition(&group).and_then(|tp| {
            let p = self.partitions.get_mut(&tp)?;
            let batch = super::groups::generation_batch(&group, generation, now);
            let info = p.append_as_leader(&batch, out).ok()?;
            Some((tp, info.last_offset + 1))
        });
        match appended {
            Some((partition, needed_high_watermark)) => {
                self.pending_group_writes.push(PendingGroupWrite {
                    partition,
                    needed_high_watermark,
                    group,
                    generation,
                })
            }
            None => {
                let error = ErrorCode::NotCoordinator;
                for (to, message) in self.groups.stored(now, &group, generation, error) {
                    out.send(to, message);
                }
            }
        }
    }

    /// Drop coordinator state of `__consumer_offsets` partitions this broker stopped leading.
    pub(super) fn unload_lost_groups(&mut self, out: &mut Out) {
        let Some(count) = self.image.topics.get(OFFSETS_TOPIC).copied() else {
            return;
        };
        for p in 0..count {
            let tp = TopicPartition::new(OFFSETS_TOPIC, p);
            if self.partitions.get(&tp).is_none_or(|x| !x.is_leader()) {
                for (to, message) in self.groups.unload(p, count) {
                    out.send(to, message);
                }
            }
        }
    }
}
