//! KRaft: the Raft quorum that replicates the `__cluster_metadata` log (KIP-595).
//!
//! A few controllers (1, 3 or 5: `controller.quorum.voters`) keep one log of metadata
//! records. One of them, the *leader* of the current *epoch*, appends; the others fetch from it.
//! A record is *committed* once a majority of voters have it on disk, and the leader tells
//! everyone how far that is: the *high watermark*. Brokers are *observers*: they fetch the log
//! too but do not vote or count towards the majority.
//!
//! What differs from textbook Raft, as in Kafka: followers pull with `Fetch` instead of the
//! leader pushing `AppendEntries`, so a follower's fetch offset is its acknowledgement; a
//! follower whose log diverged is told so in the Fetch response (`diverging_epoch`) and
//! truncates; a new leader announces itself with `BeginQuorumEpoch` and appends a
//! `LeaderChangeMessage` so that it can commit what earlier leaders left uncommitted.
//!
//! Timeouts, with Kafka's names and defaults: a follower that cannot fetch for
//! `controller.quorum.fetch.timeout.ms` (2000) starts an election; an election that is not won
//! within `controller.quorum.election.timeout.ms` (1000, randomised up to twice that) starts
//! over with a higher epoch.

pub mod state;

use crate::actor::{Actor, Event, Timer};
use crate::disk::{DiskImage, DiskOp, DiskToken};
use crate::disk_barrier::SyncBarrier;
use crate::ids::NodeId;
use crate::log::batch::{Record, RecordBatch};
use crate::log::{Log, LogConfig};
use crate::metadata::MetadataRecord;
use crate::node::Outbox;
use crate::prng::Prng;
use crate::protocol::{
    BeginQuorumEpochRequest, ErrorCode, Message, QuorumFetchRequest, QuorumFetchResponse,
    VoteRequest, VoteResponse,
};
use crate::time::{Duration, Instant};
use state::ElectionState;
use std::collections::{BTreeMap, BTreeSet};

/// The metadata log's directory.
pub const METADATA_DIR: &str = "__cluster_metadata-0";

type Out = Outbox<Actor>;

/// Quorum settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuorumConfig {
    /// This node's `node.id`.
    pub node_id: i32,
    /// `controller.quorum.voters`: voter id → address.
    pub voters: BTreeMap<i32, NodeId>,
    /// `controller.quorum.election.timeout.ms` (default 1000).
    pub election_timeout_ms: u64,
    /// `controller.quorum.fetch.timeout.ms` (default 2000).
    pub fetch_timeout_ms: u64,
    /// How long the leader may hold a Fetch with nothing new (KRaft uses 500 ms).
    pub fetch_max_wait_ms: u64,
}

impl QuorumConfig {
    /// Kafka's defaults for node `node_id` in a quorum of `voters`.
    pub fn new(node_id: i32, voters: BTreeMap<i32, NodeId>) -> Self {
        QuorumConfig {
            node_id,
            voters,
            election_timeout_ms: 1000,
            fetch_timeout_ms: 2000,
            fetch_max_wait_ms: 500,
        }
    }

    fn majority(&self) -> usize {
        self.voters.len() / 2 + 1
    }
}

/// Where this node stands in the current epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// No leader known, no vote cast (or an observer looking for the leader).
    Unattached,
    /// Voted for `candidate` in this epoch.
    Voted {
        /// Who got the vote.
        candidate: i32,
    },
    /// Asking for votes.
    Candidate {
        /// Votes received (self included).
        granted: BTreeSet<i32>,
    },
    /// Leading: appends, and computes the high watermark from the voters' fetch offsets.
    Leader {
        /// Each other voter's last fetch offset.
        fetched: BTreeMap<i32, i64>,
        /// When each other voter last fetched (for check-quorum).
        last_fetch: BTreeMap<i32, Instant>,
        /// First offset of this epoch: the high watermark may only advance past it.
        epoch_start: i64,
    },
    /// Following `leader`, fetching from it.
    Follower {
        /// The leader's id.
        leader: i32,
    },
}

impl Role {
    /// A short name for traces.
    pub fn name(&self) -> &'static str {
        match self {
            Role::Unattached => "unattached",
            Role::Voted { .. } => "voted",
            Role::Candidate { .. } => "candidate",
            Role::Leader { .. } => "leader",
            Role::Follower { .. } => "follower",
        }
    }
}

/// A Fetch the leader holds until there is something new.
#[derive(Debug)]
struct HeldFetch {
    from: NodeId,
    request: QuorumFetchRequest,
}

/// One member of the quorum (a voter) or a follower of it (an observer).
#[derive(Debug)]
pub struct Quorum {
    config: QuorumConfig,
    voter: bool,
    prng: Prng,
    log: Log,
    election: ElectionState,
    role: Role,
    high_watermark: i64,
    /// Offset up to which our own log is known to be on disk.
    durable_end: i64,
    /// Records below this offset were handed to the owner as committed.
    applied: i64,
    barrier: SyncBarrier<Message>,
    /// Syncs in flight and the log end offset each one makes durable.
    log_syncs: BTreeMap<DiskToken, i64>,
    next_token: u64,
    next_correlation_id: i32,
    fetch_in_flight: Option<(i32, NodeId)>,
    held_fetches: BTreeMap<u64, HeldFetch>,
    next_held: u64,
    /// For observers: which voter to try next when the leader is unknown.
    next_voter: usize,
    /// The high watermark last sent to each fetcher (leader only).
    hw_sent: BTreeMap<i32, i64>,
}

impl Quorum {
    /// Start from the disk: recover the metadata log and the election state.
    pub fn boot(
        config: QuorumConfig,
        voter: bool,
        disk: &DiskImage,
        prng: Prng,
        now: Instant,
        out: &mut Out,
    ) -> Self {
        let (log, _report, ops) = Log::recover(METADATA_DIR, LogConfig::default(), disk);
        out.disk_all(ops);
        let election = disk
            .get(&format!("{METADATA_DIR}/{}", state::FILE))
            .and_then(|b| ElectionState::parse(b).ok())
            .unwrap_or(ElectionState {
                leader_epoch: 0,
                voted_id: -1,
                leader_id: -1,
            });
        let leo = log.log_end_offset();
        let role = if election.voted_id >= 0 && election.leader_id < 0 {
            Role::Voted {
                candidate: election.voted_id,
            }
        } else {
            Role::Unattached
        };
        let mut quorum = Quorum {
            config,
            voter,
            prng,
            log,
            election,
            role,
            high_watermark: 0,
            // What recovery found is on disk (the page cache counts: the OS will write it).
            durable_end: leo,
            applied: 0,
            barrier: SyncBarrier::default(),
            log_syncs: BTreeMap::new(),
            next_token: 1 << 32,
            next_correlation_id: 1 << 20,
            fetch_in_flight: None,
            held_fetches: BTreeMap::new(),
            next_held: 0,
            next_voter: 0,
            hw_sent: BTreeMap::new(),
        };
        if election.leader_id >= 0 && election.leader_id != quorum.config.node_id {
            quorum.role = Role::Follower {
                leader: election.leader_id,
            };
        }
        // A restarted leader does not resume leading: it waits to hear from the quorum.
        quorum.arm_election_timer(now, out);
        quorum.maybe_fetch(now, out);
        quorum
    }

    /// The current epoch.
    pub fn epoch(&self) -> i32 {
        self.election.leader_epoch
    }
    /// This node's role.
    pub fn role(&self) -> &Role {
        &self.role
    }
    /// Whether this node leads the quorum.
    pub fn is_leader(&self) -> bool {
        matches!(self.role, Role::Leader { .. })
    }
    /// The known leader's id, if any.
    pub fn leader_id(&self) -> Option<i32> {
        match self.role {
            Role::Leader { .. } => Some(self.config.node_id),
            Role::Follower { leader } => Some(leader),
            _ => None,
        }
    }
    /// The high watermark: records below it are committed.
    pub fn high_watermark(&self) -> i64 {
        self.high_watermark
    }
    /// The metadata log.
    pub fn log(&self) -> &Log {
        &self.log
    }

    /// Every record in the local log, committed or not, with its offset.
    pub fn all_records(&self) -> Vec<(i64, MetadataRecord)> {
        decode_records(
            &self
                .log
                .read(self.log.log_start_offset(), usize::MAX)
                .unwrap_or_default(),
        )
    }

    /// Records committed since the last call, in order.
    pub fn take_committed(&mut self) -> Vec<(i64, MetadataRecord)> {
        if self.high_watermark <= self.applied {
            return Vec::new();
        }
        let bytes = self.log.read(self.applied, usize::MAX).unwrap_or_default();
        let records: Vec<(i64, MetadataRecord)> = decode_records(&bytes)
            .into_iter()
            .filter(|(o, _)| *o >= self.applied && *o < self.high_watermark)
            .collect();
        self.applied = self.high_watermark;
        records
    }

    /// As leader, append `records` in the current epoch; returns the offset of the last one.
    pub fn propose(
        &mut self,
        now: Instant,
        records: &[MetadataRecord],
        out: &mut Out,
    ) -> Option<i64> {
        if !self.is_leader() || records.is_empty() {
            return None;
        }
        let batch = RecordBatch::from_records(
            records
                .iter()
                .map(|r| Record {
                    timestamp: now.as_millis() as i64,
                    key: None,
                    value: Some(r.to_bytes()),
                    headers: Vec::new(),
                })
                .collect(),
        );
        let mut ops = Vec::new();
        let info = self
            .log
            .append_as_leader(&batch.encode(), self.epoch(), &mut ops)
            .ok()?;
        out.disk_all(ops);
        self.sync_log(out);
        self.answer_held_fetches(out);
        Some(info.last_offset)
    }

    fn sync_log(&mut self, out: &mut Out) {
        let end = self.log.log_end_offset();
        for op in self.log.flush_ops(&mut self.next_token) {
            if let DiskOp::Sync { token, .. } = &op {
                self.log_syncs.insert(*token, end);
                self.barrier.issued(*token);
            }
            out.disk(op);
        }
    }

    fn persist_election(&mut self, out: &mut Out) {
        let file = format!("{METADATA_DIR}/{}", state::FILE);
        out.disk(DiskOp::Replace {
            file: file.clone(),
            bytes: self.election.encode(),
        });
        let token = DiskToken(self.next_token);
        self.next_token += 1;
        self.barrier.issued(token);
        out.disk(DiskOp::Sync { file, token });
    }

    /// Send `message` to every other voter, once everything written so far is durable.
    fn send_to_other_voters(&mut self, message: Message, out: &mut Out) {
        let others: Vec<NodeId> = self
            .config
            .voters
            .iter()
            .filter(|(id, _)| **id != self.config.node_id)
            .map(|(_, address)| *address)
            .collect();
        for to in others {
            self.send_durably(to, message.clone(), out);
        }
    }

    /// Send `message` once everything written so far is durable.
    fn send_durably(&mut self, to: NodeId, message: Message, out: &mut Out) {
        if let Some((to, message)) = self.barrier.after_outstanding(to, message) {
            out.send(to, message);
        }
    }

    /// A disk sync completed.
    pub fn on_disk_done(&mut self, now: Instant, token: DiskToken, out: &mut Out) {
        if let Some(end) = self.log_syncs.remove(&token) {
            self.durable_end = self.durable_end.max(end.min(self.log.log_end_offset()));
            self.advance_high_watermark(out);
        }
        for (to, message) in self.barrier.completed(token) {
            out.send(to, message);
        }
        self.maybe_fetch(now, out);
    }

    fn trace_role(&self, out: &mut Out) {
        out.trace(Event::QuorumStateChanged {
            epoch: self.epoch(),
            role: self.role.name(),
            leader: self.leader_id().unwrap_or(-1),
        });
    }

    /// Move to `epoch` (higher than ours) with no leader and no vote.
    fn become_unattached(&mut self, now: Instant, epoch: i32, out: &mut Out) {
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

    fn become_follower(&mut self, now: Instant, epoch: i32, leader: i32, out: &mut Out) {
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

    fn become_candidate(&mut self, now: Instant, out: &mut Out) {
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

    fn maybe_win(&mut self, now: Instant, out: &mut Out) {
        let Role::Candidate { granted } = &self.role else {
            return;
        };
        if granted.len() < self.config.majority() {
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
    fn last_entry(&self) -> (i32, i64) {
        (
            self.log.epoch_cache().latest_epoch().unwrap_or(0),
            self.log.log_end_offset(),
        )
    }

    /// Election timer: a voter that hears nothing from a leader for the fetch timeout (or,
    /// without a leader, for a randomised election timeout) stands for election.
    fn arm_election_timer(&mut self, now: Instant, out: &mut Out) {
        if !self.voter {
            out.set_timer(
                Timer::QuorumElection,
                now + Duration::from_millis(self.config.fetch_timeout_ms),
            );
            return;
        }
        let base = match self.role {
            Role::Leader { .. } => {
                // Check-quorum: a leader that stops hearing from a majority resigns.
                let check = self.config.fetch_timeout_ms * 3 / 2;
                out.set_timer(Timer::QuorumElection, now + Duration::from_millis(check));
                return;
            }
            Role::Follower { .. } => self.config.fetch_timeout_ms,
            _ => self.config.election_timeout_ms,
        };
        let jitter = self.prng.below(self.config.election_timeout_ms + 1);
        out.set_timer(
            Timer::QuorumElection,
            now + Duration::from_millis(base + jitter),
        );
    }

    /// The election (or fetch) timeout fired.
    pub fn on_election_timeout(&mut self, now: Instant, out: &mut Out) {
        if !self.voter {
            // An observer that lost its leader tries the next voter.
            self.role = Role::Unattached;
            self.fetch_in_flight = None;
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
            if heard >= self.config.majority() {
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

    /// Retry a fetch after a backoff.
    pub fn on_fetch_retry(&mut self, now: Instant, out: &mut Out) {
        self.maybe_fetch(now, out);
    }

    /// The connection to `peer` broke.
    pub fn on_disconnected(&mut self, now: Instant, peer: NodeId, out: &mut Out) {
        if self.fetch_in_flight.is_some_and(|(_, to)| to == peer) {
            self.fetch_in_flight = None;
            out.set_timer(Timer::QuorumFetchRetry, now + Duration::from_millis(100));
        }
    }

    /// Send a Fetch to the leader if we follow one and none is in flight.
    fn maybe_fetch(&mut self, now: Instant, out: &mut Out) {
        if self.fetch_in_flight.is_some() || self.barrier.is_busy() {
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
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id = self.next_correlation_id.wrapping_add(1);
        let request = QuorumFetchRequest {
            correlation_id,
            replica_id: self.config.node_id,
            current_leader_epoch: self.epoch(),
            fetch_offset: self.log.log_end_offset(),
            last_fetched_epoch: self.log.epoch_cache().latest_epoch().unwrap_or(0),
            max_wait_ms: self.config.fetch_max_wait_ms,
        };
        self.fetch_in_flight = Some((correlation_id, to));
        out.send(to, Message::QuorumFetchRequest(request));
        let timeout = self.config.fetch_max_wait_ms + self.config.fetch_timeout_ms;
        out.set_timer(
            Timer::RequestTimeout(correlation_id),
            now + Duration::from_millis(timeout),
        );
    }

    /// A quorum fetch got no answer in time.
    pub fn on_request_timeout(&mut self, now: Instant, correlation_id: i32, out: &mut Out) -> bool {
        if self
            .fetch_in_flight
            .is_some_and(|(id, _)| id == correlation_id)
        {
            self.fetch_in_flight = None;
            self.maybe_fetch(now, out);
            return true;
        }
        false
    }

    /// Handle a quorum message; a message that is not the quorum's is handed back.
    pub fn on_message(
        &mut self,
        now: Instant,
        from: NodeId,
        message: Message,
        out: &mut Out,
    ) -> Option<Message> {
        match message {
            Message::VoteRequest(r) => self.on_vote_request(now, from, r, out),
            Message::VoteResponse(r) => self.on_vote_response(now, from, r, out),
            Message::BeginQuorumEpochRequest(r) => {
                if r.leader_epoch >= self.epoch()
                    && !(r.leader_epoch == self.epoch() && self.is_leader())
                {
                    self.become_follower(now, r.leader_epoch, r.leader_id, out);
                }
            }
            Message::QuorumFetchRequest(r) => self.on_fetch_request(now, from, r, out),
            Message::QuorumFetchResponse(r) => self.on_fetch_response(now, r, out),
            other => return Some(other),
        }
        None
    }

    fn on_vote_request(&mut self, now: Instant, from: NodeId, r: VoteRequest, out: &mut Out) {
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

    fn on_vote_response(&mut self, now: Instant, from: NodeId, r: VoteResponse, out: &mut Out) {
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

    fn fetch_error(&self, request: &QuorumFetchRequest, error: ErrorCode) -> QuorumFetchResponse {
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

    fn on_fetch_request(
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
        if r.fetch_offset > 0 {
            let (epoch, end) = self
                .log
                .epoch_cache()
                .end_offset_for(r.last_fetched_epoch, self.log.log_end_offset());
            if epoch != r.last_fetched_epoch || end < r.fetch_offset {
                let mut response = self.fetch_error(&r, ErrorCode::None);
                response.diverging_epoch = Some((epoch, end.max(0)));
                out.send(from, Message::QuorumFetchResponse(response));
                return;
            }
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
                Timer::QuorumFetchExpiry(id),
                now + Duration::from_millis(r.max_wait_ms),
            );
            self.held_fetches.insert(id, HeldFetch { from, request: r });
            return;
        }
        let response = self.read_for(&r);
        out.send(from, Message::QuorumFetchResponse(response));
    }

    fn read_for(&mut self, r: &QuorumFetchRequest) -> QuorumFetchResponse {
        self.hw_sent.insert(r.replica_id, self.high_watermark);
        let records = self.log.read(r.fetch_offset, 1 << 20).unwrap_or_default();
        QuorumFetchResponse {
            records,
            ..self.fetch_error(r, ErrorCode::None)
        }
    }

    /// A held fetch reached its `max_wait_ms`; returns false if the id is not ours.
    pub fn on_fetch_expiry(&mut self, id: u64, out: &mut Out) -> bool {
        let Some(held) = self.held_fetches.remove(&id) else {
            return false;
        };
        let response = self.read_for(&held.request);
        out.send(held.from, Message::QuorumFetchResponse(response));
        true
    }

    fn answer_held_fetches(&mut self, out: &mut Out) {
        for (id, held) in std::mem::take(&mut self.held_fetches) {
            out.cancel_timer(Timer::QuorumFetchExpiry(id));
            let response = self.read_for(&held.request);
            out.send(held.from, Message::QuorumFetchResponse(response));
        }
    }

    /// The leader's high watermark: the largest offset a majority of voters has on disk, once
    /// it covers an entry of the current epoch (Raft's rule against committing old entries by
    /// counting replicas).
    fn advance_high_watermark(&mut self, out: &mut Out) {
        let Role::Leader {
            fetched,
            epoch_start,
            ..
        } = &self.role
        else {
            return;
        };
        let mut ends: Vec<i64> = self
            .config
            .voters
            .keys()
            .map(|id| {
                if *id == self.config.node_id {
                    self.durable_end
                } else {
                    fetched.get(id).copied().unwrap_or(0)
                }
            })
            .collect();
        ends.sort_unstable_by(|a, b| b.cmp(a));
        let candidate = ends[self.config.majority() - 1];
        if candidate > self.high_watermark && candidate > *epoch_start {
            self.high_watermark = candidate;
            out.trace(Event::QuorumHighWatermark {
                high_watermark: candidate,
            });
            self.answer_held_fetches(out);
        }
    }

    fn on_fetch_response(&mut self, now: Instant, r: QuorumFetchResponse, out: &mut Out) {
        if self
            .fetch_in_flight
            .is_none_or(|(id, _)| id != r.correlation_id)
        {
            return;
        }
        out.cancel_timer(Timer::RequestTimeout(r.correlation_id));
        self.fetch_in_flight = None;
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
                if !self.voter && r.leader_id < 0 {
                    self.role = Role::Unattached;
                }
                out.set_timer(Timer::QuorumFetchRetry, now + Duration::from_millis(100));
                return;
            }
        }
        // A successful fetch from the leader: it is alive.
        self.arm_election_timer(now, out);
        if let Some((epoch, end)) = r.diverging_epoch {
            let mut ops = Vec::new();
            let target = end.min(self.log.log_end_offset());
            let new_end = self.log.truncate_to(target, &mut ops);
            out.disk_all(ops);
            out.trace(Event::QuorumTruncated {
                to_offset: new_end,
                diverging_epoch: epoch,
            });
            self.applied = self.applied.min(new_end);
            self.durable_end = self.durable_end.min(new_end);
            self.maybe_fetch(now, out);
            return;
        }
        if !r.records.is_empty() {
            let mut ops = Vec::new();
            if self.log.append_as_follower(&r.records, &mut ops).is_ok() {
                out.disk_all(ops);
                self.sync_log(out);
            }
        }
        let hw = r.high_watermark.min(self.log.log_end_offset());
        if hw > self.high_watermark {
            self.high_watermark = hw;
        }
        self.maybe_fetch(now, out);
    }
}

/// The metadata records in `bytes`, with their offsets.
fn decode_records(bytes: &[u8]) -> Vec<(i64, MetadataRecord)> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while let Ok((batch, used)) = RecordBatch::decode(rest) {
        for (i, record) in batch.records.iter().enumerate() {
            if let Some(value) = &record.value
                && let Ok(r) = MetadataRecord::from_bytes(value)
            {
                out.push((batch.base_offset + i as i64, r));
            }
        }
        rest = &rest[used..];
    }
    out
}
