//! The application's side of the consumer: a poll loop that can stall, and `close()`.
//!
//! Kafka's consumer has two threads of life. The application's loop calls `poll()`: records
//! are returned, positions advance, auto-commits and rebalances happen there. A background
//! heartbeat thread keeps the membership alive (KIP-62). When the loop stalls — a batch that
//! takes too long to process — heartbeats go on, but once `max.poll.interval.ms` passes
//! without a `poll()` the heartbeat thread sends `LeaveGroup`: the group rebalances and others
//! take the partitions over from the last committed offset. The stalled application is now a
//! *zombie*: when it comes back, its commit cannot go through and its partitions are lost.

use super::group::Phase;
use super::{Consumer, Event, LeaveReason, Out, Reply, Request, RevocationReason, Timer};
use crate::protocol::{ErrorCode, LeaveGroupRequest, Message};
use crate::time::{Duration, Instant};

impl Consumer {
    /// The application stops calling `poll()` for `duration_ms`.
    pub(super) fn stall(&mut self, now: Instant, duration_ms: u64, out: &mut Out) {
        out.trace(Event::PollStalled { duration_ms });
        let until = now + Duration::from_millis(duration_ms);
        self.stalled_until = Some(until);
        out.set_timer(Timer::StallEnd, until);
        if self.group.is_some() {
            out.set_timer(
                Timer::PollTimeout,
                now + Duration::from_millis(self.config.max_poll_interval_ms),
            );
        }
    }

    /// Whether the application is away from its poll loop.
    pub(super) fn is_stalled(&self) -> bool {
        self.stalled_until.is_some()
    }

    /// The heartbeat thread notices the poll loop has been away too long.
    pub(super) fn on_poll_timeout(&mut self, now: Instant, out: &mut Out) {
        if !self.is_stalled() {
            return;
        }
        let reason = LeaveReason::PollTimeout {
            max_poll_interval_ms: self.config.max_poll_interval_ms,
        };
        if let Some(identity) = self.leave_group(now, reason, out) {
            self.lost_membership = Some(identity);
        }
    }

    /// The heartbeat thread learnt the member was fenced while the loop is stalled: the
    /// membership is gone, the partitions are lost once the application polls again.
    pub(super) fn fenced_while_stalled(&mut self, out: &mut Out) {
        if let Some(g) = self.group.as_mut() {
            if self.lost_membership.is_none() && !g.member_id.is_empty() {
                self.lost_membership = Some((g.member_id.clone(), g.generation));
            }
            g.member_id.clear();
            g.generation = -1;
            g.phase = Phase::Unjoined;
            out.trace(Event::MembershipReset);
        }
    }

    /// The application is back in its poll loop.
    pub(super) fn on_stall_end(&mut self, out: &mut Out) {
        self.stalled_until = None;
        out.cancel_timer(Timer::PollTimeout);
        let Some((member_id, generation)) = self.lost_membership.take() else {
            return;
        };
        // The auto-commit of what the stalled batch consumed cannot be sent: the member is in
        // no generation any more (Kafka's CommitFailedException). Its partitions are lost,
        // not revoked: nothing is committed for them, and their new owners restart from the
        // last committed offset.
        if self.config.enable_auto_commit && !self.assignment.is_empty() {
            out.reply(Reply::CommitFailed {
                member_id: member_id.clone(),
                error: ErrorCode::UnknownMemberId,
            });
        }
        self.give_up_partitions(member_id, generation, RevocationReason::Lost, out);
    }

    /// `close()`: commit (with auto-commit), give the partitions up, leave the group (a static
    /// member stays, KIP-345), and stop.
    pub(super) fn close(&mut self, now: Instant, out: &mut Out) {
        if self.config.enable_auto_commit
            && self
                .group
                .as_ref()
                .is_some_and(|g| g.phase == Phase::Stable)
        {
            self.commit(now, out);
        }
        if let Some(g) = &self.group {
            let (member_id, generation) = (g.member_id.clone(), g.generation);
            self.give_up_partitions(member_id, generation, RevocationReason::Closed, out);
            if self.config.group_instance_id.is_none() {
                self.leave_group(now, LeaveReason::Closed, out);
            }
        }
        out.trace(Event::Closed);
        self.closed = true;
    }

    /// Another member joined with this one's `group.instance.id`: this consumer is fenced
    /// for good and stops (Kafka's `FencedInstanceIdException`).
    pub(super) fn fenced_instance(&mut self, out: &mut Out) {
        if let Some(g) = &self.group {
            let (member_id, generation) = (g.member_id.clone(), g.generation);
            let reason = RevocationReason::FencedInstanceId;
            self.give_up_partitions(member_id.clone(), generation, reason, out);
            out.reply(Reply::LeftGroup {
                member_id,
                generation,
                reason: LeaveReason::FencedInstanceId,
            });
        }
        self.closed = true;
    }

    /// Send `LeaveGroup` and forget the membership; returns the identity it had.
    fn leave_group(
        &mut self,
        now: Instant,
        reason: LeaveReason,
        out: &mut Out,
    ) -> Option<(String, i32)> {
        let g = self.group.as_mut()?;
        if g.member_id.is_empty() {
            return None;
        }
        let identity = (std::mem::take(&mut g.member_id), g.generation);
        g.generation = -1;
        g.phase = Phase::Unjoined;
        let (coordinator, group_id) = (g.coordinator, g.group_id.clone());
        out.reply(Reply::LeftGroup {
            member_id: identity.0.clone(),
            generation: identity.1,
            reason,
        });
        // A static member never sends LeaveGroup (KIP-345): only its session timeout, or a
        // new member with its group.instance.id, removes it.
        if let Some(coordinator) = coordinator.filter(|_| self.config.group_instance_id.is_none()) {
            let correlation_id = self.next_correlation_id();
            let message = Message::LeaveGroupRequest(LeaveGroupRequest {
                correlation_id,
                group_id,
                member_id: identity.0.clone(),
            });
            self.request(now, coordinator, Request::Leave, message, out);
        }
        Some(identity)
    }
}
