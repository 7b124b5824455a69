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
//! over with a higher epoch; a leader that has not heard from a majority for 1.5 fetch
//! timeouts resigns (check-quorum).
//!
//! The module: [`election`] holds votes, candidacy and the timers that start them; [`fetch`]
//! holds the leader's side and the follower's side of replication; this file the state, the
//! log and what must be durable before it is said.

mod election;
mod fetch;
pub mod state;
#[cfg(test)]
mod tests;

use crate::client::network::{self, NetworkClient};
use crate::disk::{DiskImage, DiskOp, DiskToken};
use crate::ids::NodeId;
use crate::log::RecoveryStart;
use crate::log::batch::{Record, RecordBatch, batches};
use crate::log::{Log, LogConfig};
use crate::metadata::MetadataRecord;
use crate::node::{Never, Vocabulary};
use crate::prng::Prng;
use crate::protocol::{Message, QuorumFetchRequest};
use crate::purgatory::{self, Condition, Hold, Purgatory, PurgatoryName};
use crate::time::Instant;
use serde::{Deserialize, Serialize};
use state::ElectionState;
use std::collections::{BTreeMap, BTreeSet};

/// The metadata log's topic (it has one partition, 0).
pub const METADATA_TOPIC: &str = "__cluster_metadata";
/// The metadata log's directory.
pub const METADATA_DIR: &str = "__cluster_metadata-0";

/// The quorum's named deadlines: one name per purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Timer {
    /// A voter without a leader (unattached, voted, or a candidate) waited
    /// `controller.quorum.election.timeout.ms` (randomised): it stands for election.
    ElectionTimeout,
    /// A follower heard nothing from its leader for `controller.quorum.fetch.timeout.ms`
    /// (randomised): it stands for election.
    FetchTimeout,
    /// The leader checks it still hears from a majority (check-quorum).
    CheckQuorum,
    /// An observer (a broker) lost its leader: it asks another voter.
    ObserverTimeout,
    /// Retry a fetch after an error.
    FetchRetry,
    /// The leader's held Fetch reached its max wait.
    HeldFetchExpiry(u64),
    /// The metadata Fetch in flight got no answer in time.
    Network(network::Timer),
}

impl From<network::Timer> for Timer {
    fn from(t: network::Timer) -> Self {
        Timer::Network(t)
    }
}

/// A quorum member's role, by name (see [`Role`] for what each holds).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuorumRole {
    /// No leader known, no vote cast.
    Unattached,
    /// Voted in this epoch.
    Voted,
    /// Asking for votes.
    Candidate,
    /// Leading the epoch.
    Leader,
    /// Following the epoch's leader.
    Follower,
}

impl std::fmt::Display for QuorumRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            QuorumRole::Unattached => "unattached",
            QuorumRole::Voted => "voted",
            QuorumRole::Candidate => "candidate",
            QuorumRole::Leader => "leader",
            QuorumRole::Follower => "follower",
        })
    }
}

/// What a quorum member records in the trace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The member's role or epoch changed.
    StateChanged {
        /// The epoch.
        epoch: i32,
        /// The role.
        role: QuorumRole,
        /// The known leader, or -1.
        leader: i32,
    },
    /// The member started from its disk: its election state and its metadata log's end.
    Started {
        /// The epoch it last knew.
        epoch: i32,
        /// The role it resumes in (never leader: a restarted leader waits to hear from the
        /// quorum).
        role: QuorumRole,
        /// The leader it knew, or -1.
        leader: i32,
        /// Its metadata log's end offset.
        log_end_offset: i64,
    },
    /// The member appended to its metadata log (the leader proposing, a follower copying).
    LogAppended {
        /// The new log end offset.
        log_end_offset: i64,
    },
    /// The member's high watermark advanced: metadata below it is committed.
    HighWatermark {
        /// The new high watermark.
        high_watermark: i64,
    },
    /// A follower truncated its metadata log after a divergence.
    Truncated {
        /// The new log end offset.
        to_offset: i64,
        /// The epoch the leader named as diverging.
        diverging_epoch: i32,
    },
}

/// What a quorum member writes in the trace: its own events, and those of its purgatory of
/// messages held until the disk has what they promise ([`crate::purgatory`]). The embedding
/// node puts each in its own scope.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Trace {
    /// The quorum's own event.
    Quorum(Event),
    /// A message held or released.
    Purgatory(purgatory::Event),
}

impl From<Event> for Trace {
    fn from(e: Event) -> Self {
        Trace::Quorum(e)
    }
}

impl From<purgatory::Event> for Trace {
    fn from(e: purgatory::Event) -> Self {
        Trace::Purgatory(e)
    }
}

/// The words a quorum member speaks.
#[derive(Debug)]
pub enum Vocab {}

impl Vocabulary for Vocab {
    type Msg = Message;
    type Timer = Timer;
    type Event = Trace;
    type Reply = Never;
    type Command = Never;
}

type Out<'a> = dyn crate::node::Out<Vocab> + 'a;

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
    /// The most bytes of metadata log a leader returns to one Fetch (Kafka's `KafkaRaftClient`
    /// fixes its own limit; here 1 MiB, a broker's default `replica.fetch.max.bytes`).
    pub fetch_max_bytes: usize,
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
            fetch_max_bytes: 1 << 20,
        }
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
    /// The role's name, for traces.
    pub fn name(&self) -> QuorumRole {
        match self {
            Role::Unattached => QuorumRole::Unattached,
            Role::Voted { .. } => QuorumRole::Voted,
            Role::Candidate { .. } => QuorumRole::Candidate,
            Role::Leader { .. } => QuorumRole::Leader,
            Role::Follower { .. } => QuorumRole::Follower,
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
    /// Messages that may leave only once the syncs issued before them have completed: a
    /// vote, once it is on disk; a candidacy or a new leader's announcement, once the new
    /// epoch is (etcd's `msgsAfterAppend`).
    held: Purgatory<(NodeId, Message)>,
    /// Syncs in flight, by token: the file each one makes durable.
    syncs_in_flight: BTreeMap<DiskToken, String>,
    /// Syncs of the log in flight and the log end offset each one makes durable.
    log_syncs: BTreeMap<DiskToken, i64>,
    /// Disk tokens of this member's syncs (the node routes completions of the metadata log's
    /// files here, so no other subsystem shares this sequence).
    next_token: u64,
    /// The metadata Fetch this member has in flight (at most one).
    network: NetworkClient<()>,
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
        // The metadata log keeps no recovery point here: it is small, and scanned whole at
        // every start.
        let start = RecoveryStart::RecoveryPoint(0);
        let (log, _report, ops) = Log::recover(METADATA_DIR, LogConfig::default(), disk, start);
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
            held: Purgatory::new(PurgatoryName::QuorumFsync),
            syncs_in_flight: BTreeMap::new(),
            log_syncs: BTreeMap::new(),
            next_token: 0,
            network: NetworkClient::default(),
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
        out.trace(Event::Started {
            epoch: quorum.epoch(),
            role: quorum.role.name(),
            leader: quorum.leader_id().unwrap_or(-1),
            log_end_offset: leo,
        });
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
    /// What the member lets the world see.
    pub fn view(&self) -> crate::view::QuorumView {
        crate::view::QuorumView {
            epoch: self.epoch(),
            role: self.role.name(),
            leader: self.leader_id().unwrap_or(-1),
            high_watermark: self.high_watermark,
            log_end_offset: self.log.log_end_offset(),
        }
    }

    /// The invariants of a quorum member, checked (in debug builds) after every step of the
    /// node that embeds it: the high watermark never passes the log end (a truncation never
    /// cuts a committed record). That the
    /// leader's high watermark never goes back and always covers its epoch start is asserted
    /// where it moves ([`high_watermark::raft_high_watermark`] in `advance_high_watermark`).
    ///
    /// [`high_watermark::raft_high_watermark`]: crate::replication::high_watermark::raft_high_watermark
    pub fn debug_check_invariants(&self) {
        let (hw, leo) = (self.high_watermark, self.log.log_end_offset());
        debug_assert!(
            hw <= leo,
            "quorum member {}: high watermark {hw} <= log end {leo}",
            self.config.node_id
        );
    }

    /// The metadata log.
    pub fn log(&self) -> &Log {
        &self.log
    }

    /// Every record in the local log, committed or not, with its offset.
    pub fn all_records(&self) -> Vec<(i64, MetadataRecord)> {
        let bytes = self
            .log
            .read(self.log.log_start_offset(), usize::MAX)
            .unwrap_or_default();
        decode_records(&bytes)
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
        let timestamp = now.as_millis() as i64;
        let encoded: Vec<(Record, bool)> =
            records.iter().map(|r| r.to_log_record(timestamp)).collect();
        // A control record travels alone in its control batch, as Kafka writes it.
        let batch = match &encoded[..] {
            [(record, true)] => RecordBatch::control(record.clone()),
            _ => {
                debug_assert!(
                    encoded.iter().all(|(_, control)| !control),
                    "a control record is proposed alone"
                );
                RecordBatch::from_records(encoded.into_iter().map(|(r, _)| r).collect())
            }
        };
        let epoch = self.epoch();
        let info = self
            .log
            .append_as_leader(&batch.encode(), epoch, out)
            .ok()?;
        out.trace(Event::LogAppended {
            log_end_offset: self.log.log_end_offset(),
        });
        self.sync_log(out);
        self.answer_held_fetches(out);
        Some(info.last_offset)
    }

    fn sync_log(&mut self, out: &mut Out) {
        let end = self.log.log_end_offset();
        for op in self.log.flush_ops(&mut self.next_token) {
            if let DiskOp::Sync { token, file } = &op {
                self.log_syncs.insert(*token, end);
                self.syncs_in_flight.insert(*token, file.clone());
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
        self.syncs_in_flight.insert(token, file.clone());
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

    /// Send `message` once everything written so far is durable: at once if no sync is in
    /// flight, else held in the purgatory until each of them completes.
    fn send_durably(&mut self, to: NodeId, message: Message, out: &mut Out) {
        if self.syncs_in_flight.is_empty() {
            out.send(to, message);
            return;
        }
        let until = self
            .syncs_in_flight
            .iter()
            .map(|(token, file)| Condition::Fsync {
                file: file.clone(),
                token: token.0,
            })
            .collect();
        let hold = Hold {
            what: crate::node::Describe::name(&message),
            to: Some(to),
            until,
            expires_at: None,
        };
        self.held.hold((to, message), hold, out);
    }

    /// Whether a sync is in flight.
    fn syncing(&self) -> bool {
        !self.syncs_in_flight.is_empty()
    }

    /// A disk sync completed: the messages held for it may leave, in the order they were held.
    pub fn on_disk_done(&mut self, now: Instant, token: DiskToken, out: &mut Out) {
        self.syncs_in_flight.remove(&token);
        if let Some(end) = self.log_syncs.remove(&token) {
            self.durable_end = self.durable_end.max(end.min(self.log.log_end_offset()));
            self.advance_high_watermark(out);
        }
        let in_flight = &self.syncs_in_flight;
        let released = self.held.complete(
            |_, c| match c {
                Condition::Fsync { token, .. } => !in_flight.contains_key(&DiskToken(*token)),
                _ => false,
            },
            out,
        );
        for (_, w) in released {
            let (to, message) = w.op;
            out.send(to, message);
        }
        self.maybe_fetch(now, out);
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

    /// Handle a quorum timer.
    pub fn on_timer(&mut self, now: Instant, timer: Timer, out: &mut Out) {
        match timer {
            Timer::ElectionTimeout
            | Timer::FetchTimeout
            | Timer::CheckQuorum
            | Timer::ObserverTimeout => self.on_election_timeout(now, out),
            Timer::FetchRetry => self.maybe_fetch(now, out),
            Timer::HeldFetchExpiry(id) => self.on_fetch_expiry(id, out),
            Timer::Network(t) => self.on_request_timeout(now, t, out),
        }
    }
}

/// The metadata records in `bytes`, with their offsets.
fn decode_records(bytes: &[u8]) -> Vec<(i64, MetadataRecord)> {
    let mut out = Vec::new();
    for batch in batches(bytes) {
        for (offset, record) in batch.records_with_offsets() {
            if let Some(r) = MetadataRecord::from_log_record(record, batch.is_control()) {
                out.push((offset, r));
            }
        }
    }
    out
}
