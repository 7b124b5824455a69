//! Replication of the metadata log: the follower's Fetch loop, and the leader's answers.
//!
//! A follower asks from its log end offset, naming the epoch of its last entry; the leader
//! answers with records, or with the *diverging epoch* where the follower's log stops agreeing
//! with its own (KIP-595), or holds the request up to `fetch_max_wait_ms` when there is
//! nothing new. Each voter's fetch offset is its acknowledgement: the leader's high watermark
//! is the largest offset a majority has, once it covers the current epoch.

use super::{Out, Quorum, Role, Timer};
use crate::client::network;
use crate::ids::NodeId;
use crate::protocol::{ErrorCode, Message, QuorumFetchRequest, QuorumFetchResponse};
use crate::quorum::{Event, HeldFetch};
use crate::replication::committed::{self, UNKNOWN_OFFSET};
use crate::replication::epoch_end::{self, EpochEndOffset, FetchCheck};
use crate::replication::{high_watermark, truncation};
use crate::time::{Duration, Instant};

impl Quorum {
    /// The connection to `peer` broke.
    pub fn on_disconnected(&mut self, now: Instant, peer: NodeId, out: &mut Out) {
        if !self
            .network
            .on_disconnected(peer, &mut out.scoped())
            .is_empty()
        {
            out.set_timer(Timer::FetchRetry, now + Duration::from_millis(100));
        }
    }

    /// Send a Fetch to the leader if we follow one and none is in flight.
    pub(super) fn maybe_fetch(&mut self, now: Instant, out: &mut Out) {
        if self.network.any(|_| true) || self.syncing() {
            return;
        }
        let to = match self.role {
            Role::Follower { leader } => self.config.voters.get(&leader).copied(),
            Role::Unattached if !self.voter => {
                // Observers find the leader by asking any voter.
                let voters: Vec<NodeId> = self.config.voters.values().copied().collect();
                if voters.is_empty() {
                    None
                } else {
                    self.next_voter += 1;
                    Some(voters[self.next_voter % voters.len()])
                }
            }
            _ => None,
        };
        let Some(to) = to else { return };
        let request = QuorumFetchRequest {
            correlation_id: self.network.next_correlation_id(),
            replica_id: self.config.node_id,
            current_leader_epoch: self.epoch(),
            fetch_offset: self.log.log_end_offset(),
            last_fetched_epoch: self.log.epoch_cache().latest_epoch().unwrap_or(0),
            max_wait_ms: self.config.fetch_max_wait_ms,
        };
        let timeout = self.config.fetch_max_wait_ms + self.config.fetch_timeout_ms;
        let timeout = Duration::from_millis(timeout);
        let request = Message::QuorumFetchRequest(request);
        self.network
            .send_message(now, to, request, (), timeout, &mut out.scoped());
    }

    /// The metadata Fetch got no answer in time: ask again.
    pub(super) fn on_request_timeout(
        &mut self,
        now: Instant,
        timer: network::Timer,
        out: &mut Out,
    ) {
        if self.network.on_timer(timer).is_some() {
            self.maybe_fetch(now, out);
        }
    }

    pub(super) fn fetch_error(
        &self,
        request: &QuorumFetchRequest,
        error: ErrorCode,
    ) -> QuorumFetchResponse {
        QuorumFetchResponse {
            correlation_id: request.correlation_id,
            error,
            leader_epoch: self.epoch(),
            leader_id: self.leader_id().unwrap_or(-1),
            high_watermark: self.high_watermark,
            diverging_epoch: None,
            records: Vec::new(),
        }
    }

    pub(super) fn on_fetch_request(
        &mut self,
        now: Instant,
        from: NodeId,
        r: QuorumFetchRequest,
        out: &mut Out,
    ) {
        if !self.is_leader() {
            let error = ErrorCode::NotLeaderOrFollower;
            out.send(
                from,
                Message::QuorumFetchResponse(self.fetch_error(&r, error)),
            );
            return;
        }
        if r.current_leader_epoch > self.epoch() {
            let error = ErrorCode::UnknownLeaderEpoch;
            out.send(
                from,
                Message::QuorumFetchResponse(self.fetch_error(&r, error)),
            );
            return;
        }
        if r.current_leader_epoch < self.epoch() {
            // The fetcher's log may still be fine, but it must learn the new epoch first.
            let error = ErrorCode::FencedLeaderEpoch;
            out.send(
                from,
                Message::QuorumFetchResponse(self.fetch_error(&r, error)),
            );
            return;
        }
        // Does the fetcher's log agree with ours at its end? (KIP-595's diverging epoch.)
        let check = epoch_end::check_kraft_fetch(
            self.log.epoch_cache(),
            self.log.log_start_offset(),
            self.log.log_end_offset(),
            r.fetch_offset,
            r.last_fetched_epoch,
        );
        if let FetchCheck::Diverging(d) = check {
            let mut response = self.fetch_error(&r, ErrorCode::None);
            response.diverging_epoch = Some((d.epoch, d.end_offset));
            out.send(from, Message::QuorumFetchResponse(response));
            return;
        }
        if r.fetch_offset > self.log.log_end_offset() {
            let error = ErrorCode::OffsetOutOfRange;
            out.send(
                from,
                Message::QuorumFetchResponse(self.fetch_error(&r, error)),
            );
            return;
        }
        if self.config.voters.contains_key(&r.replica_id)
            && let Role::Leader {
                fetched,
                last_fetch,
                ..
            } = &mut self.role
        {
            let entry = fetched.entry(r.replica_id).or_insert(0);
            *entry = (*entry).max(r.fetch_offset);
            last_fetch.insert(r.replica_id, now);
        }
        self.advance_high_watermark(out);
        // Hold a fetch with nothing new — unless the fetcher has not yet heard the current high
        // watermark, which is news too.
        let hw_known = self
            .hw_sent
            .get(&r.replica_id)
            .is_some_and(|hw| *hw >= self.high_watermark);
        if r.fetch_offset == self.log.log_end_offset() && r.max_wait_ms > 0 && hw_known {
            let id = self.next_held;
            self.next_held += 1;
            out.set_timer(
                Timer::HeldFetchExpiry(id),
                now + Duration::from_millis(r.max_wait_ms),
            );
            self.held_fetches.insert(id, HeldFetch { from, request: r });
            return;
        }
        let response = self.read_for(&r);
        out.send(from, Message::QuorumFetchResponse(response));
    }

    pub(super) fn read_for(&mut self, r: &QuorumFetchRequest) -> QuorumFetchResponse {
        self.hw_sent.insert(r.replica_id, self.high_watermark);
        let records = self
            .log
            .read(r.fetch_offset, self.config.fetch_max_bytes)
            .unwrap_or_default();
        QuorumFetchResponse {
            records,
            ..self.fetch_error(r, ErrorCode::None)
        }
    }

    /// A held fetch reached its `max_wait_ms`.
    pub(super) fn on_fetch_expiry(&mut self, id: u64, out: &mut Out) {
        if let Some(held) = self.held_fetches.remove(&id) {
            let response = self.read_for(&held.request);
            out.send(held.from, Message::QuorumFetchResponse(response));
        }
    }

    pub(super) fn answer_held_fetches(&mut self, out: &mut Out) {
        for (id, held) in std::mem::take(&mut self.held_fetches) {
            out.cancel_timer(Timer::HeldFetchExpiry(id));
            let response = self.read_for(&held.request);
            out.send(held.from, Message::QuorumFetchResponse(response));
        }
    }

    /// The leader's high watermark: the largest offset a majority of voters has on disk, once
    /// it covers an entry of the current epoch (Raft's rule against committing old entries by
    /// counting replicas) — [`high_watermark::raft_high_watermark`], never backwards.
    pub(super) fn advance_high_watermark(&mut self, out: &mut Out) {
        let Role::Leader {
            fetched,
            epoch_start,
            ..
        } = &self.role
        else {
            return;
        };
        // The leader counts with what it has fsynced; a voter not heard from in this epoch
        // with UNKNOWN_OFFSET.
        let ends: Vec<i64> = self
            .config
            .voters
            .keys()
            .map(|id| {
                if *id == self.config.node_id {
                    self.durable_end
                } else {
                    fetched.get(id).copied().unwrap_or(UNKNOWN_OFFSET)
                }
            })
            .collect();
        let Some(candidate) = high_watermark::raft_high_watermark(&ends, *epoch_start) else {
            return;
        };
        if committed::high_watermark_advances(self.high_watermark, candidate) {
            // The invariants of a leader's own high watermark: forward only, and past the
            // start of its epoch (Raft §5.4.2).
            debug_assert!(candidate > self.high_watermark && candidate > *epoch_start);
            self.high_watermark = candidate;
            out.trace(Event::HighWatermark {
                high_watermark: candidate,
            });
            self.answer_held_fetches(out);
        }
    }

    pub(super) fn on_fetch_response(
        &mut self,
        now: Instant,
        r: QuorumFetchResponse,
        out: &mut Out,
    ) {
        if self
            .network
            .complete(r.correlation_id, &mut out.scoped())
            .is_none()
        {
            return;
        }
        if r.leader_epoch < self.epoch() {
            // Kafka's `maybeHandleCommonResponse`: we have moved on to a newer epoch, so the
            // answer is no longer relevant (following it would take the epoch back). A fetch
            // the old one held back may be due now.
            self.maybe_fetch(now, out);
            return;
        }
        if r.leader_epoch > self.epoch() || (r.leader_id >= 0 && self.leader_id().is_none()) {
            if r.leader_id >= 0 {
                self.become_follower(now, r.leader_epoch, r.leader_id, out);
            } else if r.leader_epoch > self.epoch() {
                self.become_unattached(now, r.leader_epoch, out);
            }
        }
        match r.error {
            ErrorCode::None => {}
            _ => {
                if !self.voter && r.leader_id < 0 && self.role != Role::Unattached {
                    self.role = Role::Unattached;
                    self.trace_role(out);
                }
                out.set_timer(Timer::FetchRetry, now + Duration::from_millis(100));
                return;
            }
        }
        // A successful fetch from the leader: it is alive.
        self.arm_election_timer(now, out);
        if let Some((epoch, end)) = r.diverging_epoch {
            // Kafka's `truncateToEndOffset`: cut to where *our* copy of that epoch ends (never
            // past the leader's end for it), not merely to the leader's end — a follower whose
            // own epoch ended earlier would otherwise keep a record the leader never had.
            let target = truncation::kraft_truncation_offset(
                EpochEndOffset::new(epoch, end),
                self.log.epoch_cache(),
                self.log.log_end_offset(),
            );
            let new_end = self.log.truncate_to(target, out);
            out.trace(Event::Truncated {
                to_offset: new_end,
                diverging_epoch: epoch,
            });
            self.applied = self.applied.min(new_end);
            self.durable_end = self.durable_end.min(new_end);
            self.maybe_fetch(now, out);
            return;
        }
        if !r.records.is_empty() && self.log.append_as_follower(&r.records, out).is_ok() {
            out.trace(Event::LogAppended {
                log_end_offset: self.log.log_end_offset(),
            });
            self.sync_log(out);
        }
        // Only forward: a high watermark is a promise already made to the brokers.
        let hw = r.high_watermark.min(self.log.log_end_offset());
        if hw > self.high_watermark {
            self.high_watermark = hw;
            out.trace(Event::HighWatermark { high_watermark: hw });
        }
        self.maybe_fetch(now, out);
    }
}
