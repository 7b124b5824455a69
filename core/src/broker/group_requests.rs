//! The broker's side of the group protocol: routing requests to the group [`Coordinator`]
//! when this broker leads the group's `__consumer_offsets` partition, and writing what the
//! coordinator stores to that partition (answered once replicated below the high watermark:
//! the writes wait in the broker's `GroupWrite` purgatory, [`crate::purgatory`]).
//!
//! [`Coordinator`]: crate::group::Coordinator

use super::{Broker, Out, Timer};
use crate::group::records::{OFFSETS_TOPIC, partition_for_group};
use crate::group::{self, Append, GroupWrite};
use crate::ids::{NodeId, TopicPartition};
use crate::protocol::{
    ErrorCode, FindCoordinatorRequest, FindCoordinatorResponse, HeartbeatResponse,
    JoinGroupResponse, LeaveGroupResponse, Message, OffsetCommitResponse, OffsetFetchResponse,
    SyncGroupResponse,
};
use crate::purgatory::{Condition, Hold, Outcome};
use crate::time::{Duration, Instant};

/// A coordinator's write in `__consumer_offsets`, waiting for the high watermark.
#[derive(Debug)]
pub(super) struct PendingWrite {
    partition: TopicPartition,
    needed_high_watermark: i64,
    write: GroupWrite,
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
    /// partition's groups and committed offsets on first use.
    fn coordinates(&mut self, now: Instant, group: &str, out: &mut Out) -> bool {
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
            self.groups
                .load(tp.partition, p.log(), now, &mut out.scoped());
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

    /// Route a group request to the coordinator, or refuse it with `NOT_COORDINATOR`.
    pub(super) fn on_group_request(
        &mut self,
        now: Instant,
        from: NodeId,
        msg: Message,
        out: &mut Out,
    ) {
        let group = match &msg {
            Message::JoinGroupRequest(r) => r.group_id.clone(),
            Message::SyncGroupRequest(r) => r.group_id.clone(),
            Message::HeartbeatRequest(r) => r.group_id.clone(),
            Message::LeaveGroupRequest(r) => r.group_id.clone(),
            Message::OffsetCommitRequest(r) => r.group_id.clone(),
            Message::OffsetFetchRequest(r) => r.group_id.clone(),
            _ => return,
        };
        if !self.coordinates(now, &group, out) {
            return refuse_group_request(from, &msg, out);
        }
        let node_id = self.config.node_id;
        let coordinator = &mut self.groups;
        let append = match msg {
            Message::JoinGroupRequest(r) => {
                coordinator.on_join(now, from, r, node_id, &mut out.scoped());
                None
            }
            Message::SyncGroupRequest(r) => coordinator.on_sync(now, from, r, &mut out.scoped()),
            Message::HeartbeatRequest(r) => {
                coordinator.on_heartbeat(now, from, &r, &mut out.scoped());
                None
            }
            Message::LeaveGroupRequest(r) => {
                coordinator.on_leave(now, from, &r, &mut out.scoped());
                None
            }
            Message::OffsetFetchRequest(r) => {
                coordinator.on_offset_fetch(from, &r, &mut out.scoped());
                None
            }
            Message::OffsetCommitRequest(r) => {
                coordinator.on_offset_commit(now, from, r, &mut out.scoped())
            }
            _ => None,
        };
        if let Some(append) = append {
            self.append_group_write(now, append, out);
        }
        self.complete_group_writes(now, out);
        out.set_timer(
            group::Timer::Tick,
            now + Duration::from_millis(group::coordinator::TICK_MS),
        );
    }

    /// Append what the coordinator stores to its group's partition; it waits there for the
    /// high watermark.
    fn append_group_write(&mut self, now: Instant, append: Append, out: &mut Out) {
        let Append { batch, write } = append;
        let appended = self.offsets_partition(write.group()).and_then(|tp| {
            let p = self.partitions.get_mut(&tp)?;
            let info = p.append_as_leader(&batch, out).ok()?;
            Some((tp, info.last_offset + 1))
        });
        match appended {
            Some((partition, needed_high_watermark)) => {
                self.groups.on_appended(&write, &mut out.scoped());
                // A generation's record answers the members' SyncGroup; a commit, the
                // committer's OffsetCommit.
                let (what, to) = match &write {
                    GroupWrite::Generation { .. } => ("SyncGroupResponse", None),
                    GroupWrite::Commit { to, .. } => ("OffsetCommitResponse", Some(*to)),
                };
                let hold = Hold {
                    what,
                    to,
                    until: vec![Condition::HighWatermark {
                        partition: partition.clone(),
                        offset: needed_high_watermark,
                    }],
                    expires_at: None,
                };
                let pending = PendingWrite {
                    partition,
                    needed_high_watermark,
                    write,
                };
                self.group_writes.hold(pending, hold, out);
            }
            None => {
                let error = ErrorCode::NotCoordinator;
                self.groups.on_written(now, write, error, &mut out.scoped());
            }
        }
    }

    /// Report the coordinator's writes that are now replicated (or can no longer be): the
    /// generations first, then the offset commits, each in the order they were written.
    pub(super) fn complete_group_writes(&mut self, now: Instant, out: &mut Out) {
        let generations_first = |w: &GroupWrite| match w {
            GroupWrite::Generation { .. } => 0,
            GroupWrite::Commit { .. } => 1,
        };
        let mut decided: Vec<(u64, u8, ErrorCode)> = self
            .group_writes
            .iter()
            .filter_map(|(id, w)| {
                let (leads, hw) = self
                    .partitions
                    .get(&w.op.partition)
                    .map_or((false, -1), |p| (p.is_leader(), p.high_watermark()));
                let error = if !leads {
                    ErrorCode::NotCoordinator
                } else if hw >= w.op.needed_high_watermark {
                    ErrorCode::None
                } else {
                    return None;
                };
                Some((id, generations_first(&w.op.write), error))
            })
            .collect();
        decided.sort_by_key(|(id, kind, _)| (*kind, *id));
        for (id, _, error) in decided {
            // Committed, or answered NOT_COORDINATOR: either way the answer leaves now.
            if let Some(w) = self.group_writes.take(id, Outcome::Completed, out) {
                self.groups
                    .on_written(now, w.op.write, error, &mut out.scoped());
            }
        }
    }

    pub(super) fn on_group_tick(&mut self, now: Instant, out: &mut Out) {
        self.groups.tick(now, &mut out.scoped());
        self.complete_group_writes(now, out);
        if self.groups.has_groups() {
            out.set_timer(
                Timer::Group(group::Timer::Tick),
                now + Duration::from_millis(group::coordinator::TICK_MS),
            );
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
                self.groups.unload(p, count, &mut out.scoped());
            }
        }
    }
}

/// A group request to a broker that does not coordinate the group: `NOT_COORDINATOR`, in
/// the response type of the request.
fn refuse_group_request(from: NodeId, msg: &Message, out: &mut Out) {
    let error = ErrorCode::NotCoordinator;
    let response = match msg {
        Message::OffsetFetchRequest(r) => Message::OffsetFetchResponse(OffsetFetchResponse {
            correlation_id: r.correlation_id,
            error,
            offsets: Vec::new(),
        }),
        Message::JoinGroupRequest(r) => Message::JoinGroupResponse(JoinGroupResponse {
            correlation_id: r.correlation_id,
            error,
            generation_id: -1,
            protocol: String::new(),
            leader: String::new(),
            member_id: r.member_id.clone(),
            members: Vec::new(),
        }),
        Message::SyncGroupRequest(r) => Message::SyncGroupResponse(SyncGroupResponse {
            correlation_id: r.correlation_id,
            error,
            assignment: Vec::new(),
        }),
        Message::OffsetCommitRequest(r) => {
            Message::OffsetCommitResponse(OffsetCommitResponse::all(r, error))
        }
        Message::LeaveGroupRequest(r) => Message::LeaveGroupResponse(LeaveGroupResponse {
            correlation_id: r.correlation_id,
            error,
            members: Vec::new(),
        }),
        other => Message::HeartbeatResponse(HeartbeatResponse {
            correlation_id: other.correlation_id(),
            error,
        }),
    };
    out.send(from, response);
}
