//! Elections: the timers that start them, candidacy, votes, and winning.
//!
//! Raft's rule for a vote: a voter grants at most one vote per epoch, only to a candidate
//! whose log is at least as up to date as its own (higher last epoch, or the same epoch and
//! at least as long), and only once the vote is on disk.

use super::{Out, Quorum, Role, Timer};
use crate::ids::NodeId;
use crate::metadata::MetadataRecord;
use crate::protocol::{BeginQuorumEpochRequest, ErrorCode, Message, VoteRequest, VoteResponse};
use crate::quorum::Event;
use crate::quorum::state::ElectionState;
use crate::replication::majority;
use crate::time::{Duration, Instant};
use std::collections::BTreeMap;

impl Quorum {
    pub(super) fn trace_role(&self, out: &mut Out) {
        out.trace(Event::StateChanged {
            epoch: self.epoch(),
            role: self.role.name(),
            leader: self.leader_id().unwrap_or(-1),
        });
    }

    /// Move to `epoch` (higher than ours) with no leader and no vote.
    pub(super) fn become_unattached(&mut self, now: Instant, epoch: i32, out: &mut Out) {
        self.election = ElectionState {
            leader_epoch: epoch,
            voted_id: -1,
            leader_id: -1,
        };
        self.role = Role::Unattached;
        self.persist_election(out);
        self.held_fetches.clear();
        self.trace_role(out);
        self.arm_election_timer(now, out);
    }

    pub(super) fn become_follower(&mut self, now: Instant, epoch: i32, leader: i32, out: &mut Out) {
        let changed = self.epoch() != epoch || self.leader_id() != Some(leader);
        self.election = ElectionState {
            leader_epoch: epoch,
            voted_id: if epoch == self.epoch() {
                self.election.voted_id
            } else {
                -1
            },
            leader_id: leader,
        };
        self.role = Role::Follower { leader };
        self.held_fetches.clear();
        if changed {
            self.persist_election(out);
            self.trace_role(out);
        }
        self.arm_election_timer(now, out);
        self.maybe_fetch(now, out);
    }

    pub(super) fn become_candidate(&mut self, now: Instant, out: &mut Out) {
        let epoch = self.epoch() + 1;
        self.election = ElectionState {
            leader_epoch: epoch,
            voted_id: self.config.node_id,
            leader_id: -1,
        };
        self.role = Role::Candidate {
            granted: [self.config.node_id].into(),
        };
        self.persist_election(out);
        self.trace_role(out);
        self.arm_election_timer(now, out);
        let (last_offset_epoch, last_offset) = self.last_entry();
        let request = VoteRequest {
            candidate_epoch: epoch,
            candidate_id: self.config.node_id,
            last_offset_epoch,
            last_offset,
        };
        self.send_to_other_voters(Message::VoteRequest(request), out);
        self.maybe_win(now, out);
    }

    pub(super) fn maybe_win(&mut self, now: Instant, out: &mut Out) {
        let Role::Candidate { granted } = &self.role else {
            return;
        };
        if !majority::election_won(self.config.voters.len(), granted.len()) {
            return;
        }
        let epoch_start = self.log.log_end_offset();
        self.role = Role::Leader {
            fetched: BTreeMap::new(),
            last_fetch: BTreeMap::new(),
            epoch_start,
        };
        self.election.leader_id = self.config.node_id;
        self.persist_election(out);
        self.trace_role(out);
        self.arm_election_timer(now, out);
        let announce = BeginQuorumEpochRequest {
            leader_epoch: self.epoch(),
            leader_id: self.config.node_id,
        };
        self.send_to_other_voters(Message::BeginQuorumEpochRequest(announce), out);
        let voters: Vec<i32> = self.config.voters.keys().copied().collect();
        self.propose(
            now,
            &[MetadataRecord::LeaderChangeMessage {
                leader_id: self.config.node_id,
                voters,
            }],
            out,
        );
    }

    /// The epoch and offset of our last entry, as Raft compares logs.
    pub(super) fn last_entry(&self) -> (i32, i64) {
        (
            self.log.epoch_cache().latest_epoch().unwrap_or(0),
            self.log.log_end_offset(),
        )
    }

    /// Arm the one deadline that fits the role, and cancel the others: an observer waits a
    /// fetch timeout for its leader; a leader checks its quorum every 1.5 fetch timeouts; a
    /// follower stands for election after a randomised fetch timeout without its leader; a
    /// voter without a leader after a randomised election timeout.
    pub(super) fn arm_election_timer(&mut self, now: Instant, out: &mut Out) {
        let ms = Duration::from_millis;
        let (timer, at) = if !self.voter {
            (
                Timer::ObserverTimeout,
                now + ms(self.config.fetch_timeout_ms),
            )
        } else if self.is_leader() {
            // Check-quorum: a leader that stops hearing from a majority resigns.
            (
                Timer::CheckQuorum,
                now + ms(self.config.fetch_timeout_ms * 3 / 2),
            )
        } else {
            let (timer, base) = match self.role {
                Role::Follower { .. } => (Timer::FetchTimeout, self.config.fetch_timeout_ms),
                _ => (Timer::ElectionTimeout, self.config.election_timeout_ms),
            };
            let jitter = self.prng.below(self.config.election_timeout_ms + 1);
            (timer, now + ms(base + jitter))
        };
        for other in [
            Timer::ObserverTimeout,
            Timer::CheckQuorum,
            Timer::FetchTimeout,
            Timer::ElectionTimeout,
        ] {
            if other != timer {
                out.cancel_timer(other);
            }
        }
        out.set_timer(timer, at);
    }

    /// The election (or fetch) timeout fired.
    pub fn on_election_timeout(&mut self, now: Instant, out: &mut Out) {
        if !self.voter {
            // An observer that lost its leader tries the next voter.
            if self.role != Role::Unattached {
                self.role = Role::Unattached;
                self.trace_role(out);
            }
            self.network.abandon(|_| false, &mut out.scoped());
            self.arm_election_timer(now, out);
            self.maybe_fetch(now, out);
            return;
        }
        if let Role::Leader { last_fetch, .. } = &self.role {
            let window = Duration::from_millis(self.config.fetch_timeout_ms * 3 / 2);
            let heard = 1 + last_fetch
                .values()
                .filter(|t| now.saturating_since(**t) < window)
                .count();
            // Check-quorum counts like an election: a majority of voters, itself included.
            if majority::election_won(self.config.voters.len(), heard) {
                self.arm_election_timer(now, out);
            } else {
                // Probably partitioned away: stop accepting writes it could never commit.
                self.role = Role::Unattached;
                self.election.leader_id = -1;
                self.persist_election(out);
                self.held_fetches.clear();
                self.trace_role(out);
                self.arm_election_timer(now, out);
            }
            return;
        }
        self.become_candidate(now, out);
    }

    pub(super) fn on_vote_request(
        &mut self,
        now: Instant,
        from: NodeId,
        r: VoteRequest,
        out: &mut Out,
    ) {
        if r.candidate_epoch > self.epoch() {
            self.become_unattached(now, r.candidate_epoch, out);
        }
        let (my_epoch, my_offset) = self.last_entry();
        let up_to_date = (r.last_offset_epoch, r.last_offset) >= (my_epoch, my_offset);
        let free = match self.role {
            Role::Unattached => true,
            Role::Voted { candidate } => candidate == r.candidate_id,
            _ => false,
        };
        let granted = r.candidate_epoch == self.epoch() && free && up_to_date && self.voter;
        if granted {
            self.election.voted_id = r.candidate_id;
            self.role = Role::Voted {
                candidate: r.candidate_id,
            };
            self.trace_role(out);
            self.persist_election(out);
            self.arm_election_timer(now, out);
        }
        let response = VoteResponse {
            error: if r.candidate_epoch < self.epoch() {
                ErrorCode::FencedLeaderEpoch
            } else {
                ErrorCode::None
            },
            leader_epoch: self.epoch(),
            leader_id: self.leader_id().unwrap_or(-1),
            vote_granted: granted,
        };
        // A vote counts only once it is on disk.
        self.send_durably(from, Message::VoteResponse(response), out);
    }

    pub(super) fn on_vote_response(
        &mut self,
        now: Instant,
        from: NodeId,
        r: VoteResponse,
        out: &mut Out,
    ) {
        let learns_leader =
            r.leader_epoch == self.epoch() && r.leader_id >= 0 && self.leader_id().is_none();
        if r.leader_epoch > self.epoch() || learns_leader {
            if r.leader_id >= 0 {
                self.become_follower(now, r.leader_epoch, r.leader_id, out);
            } else {
                self.become_unattached(now, r.leader_epoch, out);
            }
            return;
        }
        let voter = self
            .config
            .voters
            .iter()
            .find(|(_, a)| **a == from)
            .map(|(id, _)| *id);
        if let (Role::Candidate { granted }, Some(id)) = (&mut self.role, voter)
            && r.vote_granted
            && r.leader_epoch == self.election.leader_epoch
        {
            granted.insert(id);
            self.maybe_win(now, out);
        }
    }
}
