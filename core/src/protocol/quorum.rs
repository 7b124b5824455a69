//! The KRaft quorum's messages (KIP-595): how controllers elect a leader and replicate the
//! metadata log, and how brokers follow it. Unlike classic Raft, followers *pull*: they send
//! `Fetch` to the leader, and their fetch offset tells the leader how far they have durably
//! replicated.

use super::ErrorCode;

/// `VoteRequest`: a candidate asks for a vote in `candidate_epoch`.
#[derive(Clone, Debug)]
pub struct VoteRequest {
    /// The epoch the candidate wants to lead.
    pub candidate_epoch: i32,
    /// The candidate's `node.id`.
    pub candidate_id: i32,
    /// Epoch of the candidate's last log entry.
    pub last_offset_epoch: i32,
    /// The candidate's log end offset.
    pub last_offset: i64,
}

/// `VoteResponse`.
#[derive(Clone, Debug)]
pub struct VoteResponse {
    /// `NONE`, or `FENCED_LEADER_EPOCH` if the candidate's epoch is stale.
    pub error: ErrorCode,
    /// The voter's current epoch.
    pub leader_epoch: i32,
    /// The voter's known leader, or -1.
    pub leader_id: i32,
    /// Whether the vote was granted.
    pub vote_granted: bool,
}

/// `BeginQuorumEpochRequest`: a new leader announces itself to the voters.
#[derive(Clone, Debug)]
pub struct BeginQuorumEpochRequest {
    /// The new epoch.
    pub leader_epoch: i32,
    /// The new leader's `node.id`.
    pub leader_id: i32,
}

/// `FetchRequest` on `__cluster_metadata-0`, from a voter or an observer (a broker).
#[derive(Clone, Debug)]
pub struct QuorumFetchRequest {
    /// Matches the response to the request.
    pub correlation_id: i32,
    /// The fetcher's `node.id`.
    pub replica_id: i32,
    /// The epoch the fetcher believes current.
    pub current_leader_epoch: i32,
    /// The fetcher's log end offset: everything below it is durably replicated there.
    pub fetch_offset: i64,
    /// Epoch of the fetcher's last entry, so the leader can spot a divergence.
    pub last_fetched_epoch: i32,
    /// How long the leader may hold the request waiting for new records.
    pub max_wait_ms: u64,
}

/// `FetchResponse` on `__cluster_metadata-0`.
#[derive(Clone, Debug)]
pub struct QuorumFetchResponse {
    /// Echoes the request's.
    pub correlation_id: i32,
    /// `NONE`, `NOT_LEADER_OR_FOLLOWER`, `FENCED_LEADER_EPOCH`...
    pub error: ErrorCode,
    /// The responder's epoch.
    pub leader_epoch: i32,
    /// The responder's known leader, or -1.
    pub leader_id: i32,
    /// The quorum's high watermark: records below it are committed.
    pub high_watermark: i64,
    /// Set when the fetcher's log diverges: truncate to this (epoch, end offset) and fetch again.
    pub diverging_epoch: Option<(i32, i64)>,
    /// Record batches from the fetch offset.
    pub records: Vec<u8>,
}
