//! The messages nodes exchange: Kafka's requests and responses, by Kafka's names.
//!
//! Fields follow the real protocol (`ProduceRequest` carries record batches as bytes in the v2
//! format, `FetchResponse` carries the high watermark and the log start offset, every request
//! has a correlation id). Versions and fields that change nothing in the simulation are left
//! out. Messages travel as Rust values; the record batches inside them are real bytes, so the
//! CRC a consumer checks is the one the producer computed.

mod controller;
mod error;
mod group;
mod quorum;
mod registry;
mod replication;

pub use controller::{
    AlterPartitionRequest, AlterPartitionResponse, BrokerHeartbeatRequest, BrokerHeartbeatResponse,
    BrokerRegistrationRequest, BrokerRegistrationResponse, BrokerState, isr_ids,
};
pub use error::ErrorCode;
pub use group::{
    FindCoordinatorRequest, FindCoordinatorResponse, HeartbeatRequest, HeartbeatResponse,
    JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest, LeaveGroupResponse,
    OffsetCommitRequest, OffsetCommitResponse, OffsetFetchRequest, OffsetFetchResponse,
    Subscription, SyncGroupRequest, SyncGroupResponse,
};
pub use quorum::{
    BeginQuorumEpochRequest, QuorumFetchRequest, QuorumFetchResponse, VoteRequest, VoteResponse,
};
pub use registry::{
    GetSchemaByIdRequest, GetSchemaByIdResponse, RegisterSchemaRequest, RegisterSchemaResponse,
};
pub use replication::{
    ReplicationError, SnapshotQuery, SnapshotResult, StandbyReply, StandbyStatusUpdate,
    StartPhysicalReplication, StartReplication, WalData, XLogData,
};

use crate::database::wal::Lsn;
use crate::ids::{NodeId, TopicPartition};
use crate::node::Describe;
use serde::Serialize;

/// Every message of the simulation.
#[derive(Clone, Debug)]
pub enum Message {
    /// Client → broker: which brokers lead which partitions?
    MetadataRequest(MetadataRequest),
    /// Broker → client.
    MetadataResponse(MetadataResponse),
    /// Producer → leader: append these record batches.
    ProduceRequest(ProduceRequest),
    /// Leader → producer.
    ProduceResponse(ProduceResponse),
    /// Consumer (or follower) → leader: records from these offsets.
    FetchRequest(FetchRequest),
    /// Leader → consumer.
    FetchResponse(FetchResponse),
    /// Client → leader: the earliest or latest offset of a partition.
    ListOffsetsRequest(ListOffsetsRequest),
    /// Leader → client.
    ListOffsetsResponse(ListOffsetsResponse),
    /// Candidate controller → voters.
    VoteRequest(VoteRequest),
    /// Voter → candidate.
    VoteResponse(VoteResponse),
    /// New quorum leader → voters.
    BeginQuorumEpochRequest(BeginQuorumEpochRequest),
    /// Controller or broker → quorum leader: the metadata log from an offset.
    QuorumFetchRequest(QuorumFetchRequest),
    /// Quorum leader → fetcher.
    QuorumFetchResponse(QuorumFetchResponse),
    /// Broker → active controller.
    BrokerRegistrationRequest(BrokerRegistrationRequest),
    /// Active controller → broker.
    BrokerRegistrationResponse(BrokerRegistrationResponse),
    /// Broker → active controller.
    BrokerHeartbeatRequest(BrokerHeartbeatRequest),
    /// Active controller → broker.
    BrokerHeartbeatResponse(BrokerHeartbeatResponse),
    /// Consumer → any broker: who coordinates my group?
    FindCoordinatorRequest(FindCoordinatorRequest),
    /// Broker → consumer.
    FindCoordinatorResponse(FindCoordinatorResponse),
    /// Member → coordinator: I am (re)joining the group.
    JoinGroupRequest(JoinGroupRequest),
    /// Coordinator → member: the new generation (and, for the leader, the members).
    JoinGroupResponse(JoinGroupResponse),
    /// Member → coordinator: the leader's assignment, or a request for mine.
    SyncGroupRequest(SyncGroupRequest),
    /// Coordinator → member: my partitions.
    SyncGroupResponse(SyncGroupResponse),
    /// Member → coordinator: still alive.
    HeartbeatRequest(HeartbeatRequest),
    /// Coordinator → member.
    HeartbeatResponse(HeartbeatResponse),
    /// Member → coordinator: leaving.
    LeaveGroupRequest(LeaveGroupRequest),
    /// Coordinator → member.
    LeaveGroupResponse(LeaveGroupResponse),
    /// Consumer → coordinator: store these positions.
    OffsetCommitRequest(OffsetCommitRequest),
    /// Coordinator → consumer: stored (replicated) or refused, per partition.
    OffsetCommitResponse(OffsetCommitResponse),
    /// Consumer → coordinator: the committed positions, please.
    OffsetFetchRequest(OffsetFetchRequest),
    /// Coordinator → consumer.
    OffsetFetchResponse(OffsetFetchResponse),
    /// Consumer → leader (KIP-320): where does this leader epoch end in your log?
    OffsetForLeaderEpochRequest(OffsetForLeaderEpochRequest),
    /// Leader → consumer.
    OffsetForLeaderEpochResponse(OffsetForLeaderEpochResponse),
    /// Idempotent producer → any broker: give me a producer id.
    InitProducerIdRequest(InitProducerIdRequest),
    /// Broker → producer.
    InitProducerIdResponse(InitProducerIdResponse),
    /// Partition leader → active controller.
    AlterPartitionRequest(AlterPartitionRequest),
    /// Active controller → partition leader.
    AlterPartitionResponse(AlterPartitionResponse),
    /// CDC connector → database: stream a logical slot's changes.
    StartReplication(StartReplication),
    /// Database → CDC connector: one decoded transaction of the stream.
    XLogData(XLogData),
    /// CDC connector → database: confirm the slot up to an LSN.
    StandbyStatusUpdate(StandbyStatusUpdate),
    /// CDC connector → database: read every row once (the initial snapshot).
    SnapshotQuery(SnapshotQuery),
    /// Database → CDC connector: the snapshot's rows and their LSN.
    SnapshotResult(SnapshotResult),
    /// Database → CDC connector: a replication command failed.
    ReplicationError(ReplicationError),
    /// CDC connector → database: a TCP keepalive probe (Debezium's `database.tcpKeepAlive`)
    /// while it waits for an answer; a restarted server's kernel answers it with a reset.
    TcpKeepalive,
    /// Standby → primary: stream the WAL from an LSN.
    StartPhysicalReplication(StartPhysicalReplication),
    /// Primary → standby: WAL records.
    WalData(WalData),
    /// Standby → primary: its write, flush and replay positions.
    StandbyReply(StandbyReply),
    /// Serializer → schema registry: `POST /subjects/{subject}/versions`.
    RegisterSchemaRequest(RegisterSchemaRequest),
    /// Schema registry → serializer.
    RegisterSchemaResponse(RegisterSchemaResponse),
    /// Deserializer → schema registry: `GET /schemas/ids/{id}`.
    GetSchemaByIdRequest(GetSchemaByIdRequest),
    /// Schema registry → deserializer.
    GetSchemaByIdResponse(GetSchemaByIdResponse),
}

/// `OffsetForLeaderEpochRequest`: for each partition, the epoch of the fetcher's last record.
#[derive(Clone, Debug)]
pub struct OffsetForLeaderEpochRequest {
    /// Matches the response to the request.
    pub correlation_id: i32,
    /// (partition, the leader epoch the fetcher believes current, the epoch asked about).
    pub partitions: Vec<(TopicPartition, i32, i32)>,
}

/// `OffsetForLeaderEpochResponse`.
#[derive(Clone, Debug)]
pub struct OffsetForLeaderEpochResponse {
    /// Echoes the request's.
    pub correlation_id: i32,
    /// (partition, error, the largest epoch ≤ the asked one, where it ends).
    pub partitions: Vec<(TopicPartition, ErrorCode, i32, i64)>,
}

/// `InitProducerIdRequest` (KIP-98): an idempotent producer asks for its id and epoch.
#[derive(Clone, Debug)]
pub struct InitProducerIdRequest {
    /// Matches the response to the request.
    pub correlation_id: i32,
}

/// `InitProducerIdResponse`.
#[derive(Clone, Debug)]
pub struct InitProducerIdResponse {
    /// Echoes the request's.
    pub correlation_id: i32,
    /// `NONE` or the error.
    pub error: ErrorCode,
    /// The producer id, unique in the cluster.
    pub producer_id: i64,
    /// The producer epoch.
    pub producer_epoch: i16,
}

/// `MetadataRequest`.
#[derive(Clone, Debug)]
pub struct MetadataRequest {
    /// Matches the response to the request.
    pub correlation_id: i32,
    /// Topics asked about.
    pub topics: Vec<String>,
}

/// A broker as metadata describes it: its id and where to reach it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BrokerMetadata {
    /// `node.id`.
    pub node_id: i32,
    /// Its address in the simulation.
    pub address: NodeId,
}

/// One partition in a `MetadataResponse`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PartitionMetadata {
    /// `NONE` or why the partition is unusable.
    pub error: ErrorCode,
    /// The partition.
    pub partition: i32,
    /// The leader's `node.id`, or -1.
    pub leader_id: i32,
    /// The leader epoch.
    pub leader_epoch: i32,
}

/// One topic in a `MetadataResponse`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TopicMetadata {
    /// `NONE` or `UNKNOWN_TOPIC_OR_PARTITION`.
    pub error: ErrorCode,
    /// The topic.
    pub name: String,
    /// Its partitions.
    pub partitions: Vec<PartitionMetadata>,
}

/// `MetadataResponse`.
#[derive(Clone, Debug)]
pub struct MetadataResponse {
    /// Echoes the request's.
    pub correlation_id: i32,
    /// Live brokers.
    pub brokers: Vec<BrokerMetadata>,
    /// The topics asked about.
    pub topics: Vec<TopicMetadata>,
}

/// Record batches for one partition in a `ProduceRequest`.
#[derive(Clone, Debug)]
pub struct ProducePartitionData {
    /// The partition.
    pub partition: TopicPartition,
    /// One or more record batches, v2 format.
    pub records: Vec<u8>,
}

/// `ProduceRequest`.
#[derive(Clone, Debug)]
pub struct ProduceRequest {
    /// Matches the response to the request.
    pub correlation_id: i32,
    /// `acks` on the wire: 0, 1 or -1.
    pub acks: i16,
    /// How long the leader may wait for replicas (acks=-1).
    pub timeout_ms: u64,
    /// The data.
    pub partitions: Vec<ProducePartitionData>,
}

/// One partition's outcome in a `ProduceResponse`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProducePartitionResponse {
    /// The partition.
    pub partition: TopicPartition,
    /// `NONE` or the error.
    pub error: ErrorCode,
    /// The offset given to the first record, or -1.
    pub base_offset: i64,
    /// The partition's log start offset.
    pub log_start_offset: i64,
}

/// `ProduceResponse`.
#[derive(Clone, Debug)]
pub struct ProduceResponse {
    /// Echoes the request's.
    pub correlation_id: i32,
    /// One entry per partition of the request.
    pub partitions: Vec<ProducePartitionResponse>,
}

/// One partition in a `FetchRequest`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchPartition {
    /// The partition.
    pub partition: TopicPartition,
    /// Where to read from.
    pub fetch_offset: i64,
    /// At most this many bytes for this partition (at least one batch is always returned).
    pub partition_max_bytes: u64,
    /// The leader epoch the fetcher believes current, or -1 (KIP-320 fencing).
    pub current_leader_epoch: i32,
    /// A follower's epoch of its last entry, or -1: lets the leader spot a diverging log.
    pub last_fetched_epoch: i32,
}

/// `FetchRequest`.
#[derive(Clone, Debug)]
pub struct FetchRequest {
    /// Matches the response to the request.
    pub correlation_id: i32,
    /// -1 for a consumer; a follower puts its `node.id` here.
    pub replica_id: i32,
    /// A follower's broker epoch (`ReplicaState.ReplicaEpoch`, Fetch v15, KIP-903): the
    /// leader names it when it proposes the follower for the ISR. -1 for a consumer.
    pub replica_epoch: i64,
    /// `fetch.max.wait.ms`: how long the leader may hold the request waiting for data.
    pub max_wait_ms: u64,
    /// `fetch.min.bytes`: answer as soon as this much data is available.
    pub min_bytes: u64,
    /// `fetch.max.bytes` over all partitions.
    pub max_bytes: u64,
    /// The partitions and positions.
    pub partitions: Vec<FetchPartition>,
}

/// One partition's data in a `FetchResponse`.
#[derive(Clone, Debug)]
pub struct FetchPartitionResponse {
    /// The partition.
    pub partition: TopicPartition,
    /// `NONE` or the error.
    pub error: ErrorCode,
    /// The high watermark: consumers may read below it.
    pub high_watermark: i64,
    /// The log start offset.
    pub log_start_offset: i64,
    /// Whole record batches, v2 format.
    pub records: Vec<u8>,
    /// For a follower whose log diverged: (epoch, end offset) to truncate to (KIP-595 style).
    pub diverging_epoch: Option<(i32, i64)>,
}

/// `FetchResponse`.
#[derive(Clone, Debug)]
pub struct FetchResponse {
    /// Echoes the request's.
    pub correlation_id: i32,
    /// One entry per partition of the request.
    pub partitions: Vec<FetchPartitionResponse>,
}

/// Which offset `ListOffsets` asks for (Kafka encodes them as special timestamps).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum OffsetSpec {
    /// Timestamp -2: the log start offset.
    Earliest,
    /// Timestamp -1: the offset the next record will get (for consumers: the high watermark).
    Latest,
}

/// `ListOffsetsRequest`.
#[derive(Clone, Debug)]
pub struct ListOffsetsRequest {
    /// Matches the response to the request.
    pub correlation_id: i32,
    /// The partitions and what to look up.
    pub partitions: Vec<(TopicPartition, OffsetSpec)>,
}

/// One partition's answer in a `ListOffsetsResponse`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListOffsetsPartitionResponse {
    /// The partition.
    pub partition: TopicPartition,
    /// `NONE` or the error.
    pub error: ErrorCode,
    /// The offset, or -1.
    pub offset: i64,
}

/// `ListOffsetsResponse`.
#[derive(Clone, Debug)]
pub struct ListOffsetsResponse {
    /// Echoes the request's.
    pub correlation_id: i32,
    /// One entry per partition of the request.
    pub partitions: Vec<ListOffsetsPartitionResponse>,
}

impl Message {
    /// The correlation id carried by the message.
    pub fn correlation_id(&self) -> i32 {
        match self {
            Message::MetadataRequest(m) => m.correlation_id,
            Message::MetadataResponse(m) => m.correlation_id,
            Message::ProduceRequest(m) => m.correlation_id,
            Message::ProduceResponse(m) => m.correlation_id,
            Message::FetchRequest(m) => m.correlation_id,
            Message::FetchResponse(m) => m.correlation_id,
            Message::ListOffsetsRequest(m) => m.correlation_id,
            Message::ListOffsetsResponse(m) => m.correlation_id,
            Message::QuorumFetchRequest(m) => m.correlation_id,
            Message::QuorumFetchResponse(m) => m.correlation_id,
            Message::BrokerRegistrationRequest(m) => m.correlation_id,
            Message::BrokerRegistrationResponse(m) => m.correlation_id,
            Message::BrokerHeartbeatRequest(m) => m.correlation_id,
            Message::BrokerHeartbeatResponse(m) => m.correlation_id,
            Message::FindCoordinatorRequest(m) => m.correlation_id,
            Message::FindCoordinatorResponse(m) => m.correlation_id,
            Message::JoinGroupRequest(m) => m.correlation_id,
            Message::JoinGroupResponse(m) => m.correlation_id,
            Message::SyncGroupRequest(m) => m.correlation_id,
            Message::SyncGroupResponse(m) => m.correlation_id,
            Message::HeartbeatRequest(m) => m.correlation_id,
            Message::HeartbeatResponse(m) => m.correlation_id,
            Message::LeaveGroupRequest(m) => m.correlation_id,
            Message::LeaveGroupResponse(m) => m.correlation_id,
            Message::OffsetCommitRequest(m) => m.correlation_id,
            Message::OffsetCommitResponse(m) => m.correlation_id,
            Message::OffsetFetchRequest(m) => m.correlation_id,
            Message::OffsetFetchResponse(m) => m.correlation_id,
            Message::OffsetForLeaderEpochRequest(m) => m.correlation_id,
            Message::OffsetForLeaderEpochResponse(m) => m.correlation_id,
            Message::InitProducerIdRequest(m) => m.correlation_id,
            Message::InitProducerIdResponse(m) => m.correlation_id,
            Message::AlterPartitionRequest(m) => m.correlation_id,
            Message::AlterPartitionResponse(m) => m.correlation_id,
            // Votes and epoch announcements are matched by epoch, not by correlation id.
            Message::VoteRequest(_)
            | Message::VoteResponse(_)
            | Message::BeginQuorumEpochRequest(_) => -1,
            // PostgreSQL's protocol answers in order on its connection: no correlation ids.
            Message::StartReplication(_)
            | Message::XLogData(_)
            | Message::StandbyStatusUpdate(_)
            | Message::SnapshotQuery(_)
            | Message::SnapshotResult(_)
            | Message::ReplicationError(_)
            | Message::StartPhysicalReplication(_)
            | Message::WalData(_)
            | Message::StandbyReply(_)
            | Message::TcpKeepalive => -1,
            // Nor does HTTP/1.1.
            Message::RegisterSchemaRequest(_)
            | Message::RegisterSchemaResponse(_)
            | Message::GetSchemaByIdRequest(_)
            | Message::GetSchemaByIdResponse(_) => -1,
        }
    }
}

fn list<T>(items: &[T], f: impl Fn(&T) -> String) -> String {
    items.iter().map(f).collect::<Vec<_>>().join(", ")
}

impl Describe for Message {
    fn name(&self) -> &'static str {
        match self {
            Message::MetadataRequest(_) => "MetadataRequest",
            Message::MetadataResponse(_) => "MetadataResponse",
            Message::ProduceRequest(_) => "ProduceRequest",
            Message::ProduceResponse(_) => "ProduceResponse",
            Message::FetchRequest(_) => "FetchRequest",
            Message::FetchResponse(_) => "FetchResponse",
            Message::ListOffsetsRequest(_) => "ListOffsetsRequest",
            Message::ListOffsetsResponse(_) => "ListOffsetsResponse",
            Message::VoteRequest(_) => "VoteRequest",
            Message::VoteResponse(_) => "VoteResponse",
            Message::BeginQuorumEpochRequest(_) => "BeginQuorumEpochRequest",
            // On the wire these are plain Fetch on the `__cluster_metadata` partition.
            Message::QuorumFetchRequest(_) => "FetchRequest",
            Message::QuorumFetchResponse(_) => "FetchResponse",
            Message::BrokerRegistrationRequest(_) => "BrokerRegistrationRequest",
            Message::BrokerRegistrationResponse(_) => "BrokerRegistrationResponse",
            Message::BrokerHeartbeatRequest(_) => "BrokerHeartbeatRequest",
            Message::BrokerHeartbeatResponse(_) => "BrokerHeartbeatResponse",
            Message::FindCoordinatorRequest(_) => "FindCoordinatorRequest",
            Message::FindCoordinatorResponse(_) => "FindCoordinatorResponse",
            Message::JoinGroupRequest(_) => "JoinGroupRequest",
            Message::JoinGroupResponse(_) => "JoinGroupResponse",
            Message::SyncGroupRequest(_) => "SyncGroupRequest",
            Message::SyncGroupResponse(_) => "SyncGroupResponse",
            Message::HeartbeatRequest(_) => "HeartbeatRequest",
            Message::HeartbeatResponse(_) => "HeartbeatResponse",
            Message::LeaveGroupRequest(_) => "LeaveGroupRequest",
            Message::LeaveGroupResponse(_) => "LeaveGroupResponse",
            Message::OffsetCommitRequest(_) => "OffsetCommitRequest",
            Message::OffsetCommitResponse(_) => "OffsetCommitResponse",
            Message::OffsetFetchRequest(_) => "OffsetFetchRequest",
            Message::OffsetFetchResponse(_) => "OffsetFetchResponse",
            Message::OffsetForLeaderEpochRequest(_) => "OffsetForLeaderEpochRequest",
            Message::OffsetForLeaderEpochResponse(_) => "OffsetForLeaderEpochResponse",
            Message::InitProducerIdRequest(_) => "InitProducerIdRequest",
            Message::InitProducerIdResponse(_) => "InitProducerIdResponse",
            Message::AlterPartitionRequest(_) => "AlterPartitionRequest",
            Message::AlterPartitionResponse(_) => "AlterPartitionResponse",
            Message::StartReplication(_) => "START_REPLICATION",
            Message::XLogData(_) => "XLogData",
            Message::StandbyStatusUpdate(_) => "StandbyStatusUpdate",
            Message::SnapshotQuery(_) => "SnapshotQuery",
            Message::SnapshotResult(_) => "SnapshotResult",
            Message::ReplicationError(_) => "ErrorResponse",
            Message::TcpKeepalive => "TCP keepalive",
            Message::StartPhysicalReplication(_) => "START_REPLICATION PHYSICAL",
            Message::WalData(_) => "XLogData",
            Message::StandbyReply(_) => "StandbyStatusUpdate",
            Message::RegisterSchemaRequest(_) => "RegisterSchemaRequest",
            Message::RegisterSchemaResponse(_) => "RegisterSchemaResponse",
            Message::GetSchemaByIdRequest(_) => "GetSchemaByIdRequest",
            Message::GetSchemaByIdResponse(_) => "GetSchemaByIdResponse",
        }
    }

    /// Kafka's responses, and what a PostgreSQL server sends back on a client's connection
    /// (the stream, the snapshot's rows, errors).
    fn is_response(&self) -> bool {
        match self {
            Message::XLogData(_)
            | Message::SnapshotResult(_)
            | Message::ReplicationError(_)
            | Message::WalData(_) => true,
            Message::StartPhysicalReplication(_) | Message::StandbyReply(_) => false,
            Message::StartReplication(_)
            | Message::StandbyStatusUpdate(_)
            | Message::SnapshotQuery(_)
            | Message::TcpKeepalive => false,
            _ => self.name().ends_with("Response"),
        }
    }

    fn summary(&self) -> String {
        match self {
            Message::MetadataRequest(m) => format!("topics [{}]", m.topics.join(", ")),
            Message::MetadataResponse(m) => format!(
                "{} brokers; {}",
                m.brokers.len(),
                list(&m.topics, |t| format!(
                    "{} ({} partitions)",
                    t.name,
                    t.partitions.len()
                ))
            ),
            Message::ProduceRequest(m) => format!(
                "acks={} {}",
                m.acks,
                list(&m.partitions, |p| format!(
                    "{} {}B",
                    p.partition,
                    p.records.len()
                ))
            ),
            Message::ProduceResponse(m) => list(&m.partitions, |p| {
                if p.error == ErrorCode::None {
                    format!("{} base_offset={}", p.partition, p.base_offset)
                } else {
                    format!("{} {}", p.partition, p.error)
                }
            }),
            Message::FetchRequest(m) => list(&m.partitions, |p| {
                format!("{}@{}", p.partition, p.fetch_offset)
            }),
            Message::FetchResponse(m) => list(&m.partitions, |p| {
                if p.error == ErrorCode::None {
                    format!(
                        "{} {}B hw={}",
                        p.partition,
                        p.records.len(),
                        p.high_watermark
                    )
                } else {
                    format!("{} {}", p.partition, p.error)
                }
            }),
            Message::ListOffsetsRequest(m) => {
                list(&m.partitions, |(tp, spec)| format!("{tp} {spec:?}"))
            }
            Message::VoteRequest(m) => format!(
                "candidate {} for epoch {} (last entry epoch {} offset {})",
                m.candidate_id, m.candidate_epoch, m.last_offset_epoch, m.last_offset
            ),
            Message::VoteResponse(m) => format!(
                "epoch {} granted={} {}",
                m.leader_epoch, m.vote_granted, m.error
            ),
            Message::BeginQuorumEpochRequest(m) => {
                format!("leader {} epoch {}", m.leader_id, m.leader_epoch)
            }
            Message::QuorumFetchRequest(m) => format!(
                "__cluster_metadata-0@{} last epoch {} from {}",
                m.fetch_offset, m.last_fetched_epoch, m.replica_id
            ),
            Message::QuorumFetchResponse(m) => match m.diverging_epoch {
                Some((epoch, end)) => {
                    format!("__cluster_metadata-0 diverging: truncate to epoch {epoch} end {end}")
                }
                None if m.error != ErrorCode::None => {
                    format!("__cluster_metadata-0 {} (leader {})", m.error, m.leader_id)
                }
                None => format!(
                    "__cluster_metadata-0 {}B hw={} epoch {}",
                    m.records.len(),
                    m.high_watermark,
                    m.leader_epoch
                ),
            },
            Message::BrokerRegistrationRequest(m) => format!("broker {}", m.broker_id),
            Message::BrokerRegistrationResponse(m) => {
                format!("{} broker epoch {}", m.error, m.broker_epoch)
            }
            Message::BrokerHeartbeatRequest(m) => format!(
                "broker {} epoch {} metadata offset {}{}",
                m.broker_id,
                m.broker_epoch,
                m.current_metadata_offset,
                if m.want_shut_down {
                    ", wants to shut down"
                } else {
                    ""
                }
            ),
            Message::BrokerHeartbeatResponse(m) => format!(
                "{} caught up={} fenced={}{}",
                m.error,
                m.is_caught_up,
                m.is_fenced,
                if m.should_shut_down {
                    ", should shut down"
                } else {
                    ""
                }
            ),
            Message::FindCoordinatorRequest(m) => format!("group {}", m.key),
            Message::FindCoordinatorResponse(m) => format!("{} coordinator {}", m.error, m.node_id),
            Message::JoinGroupRequest(m) => format!(
                "group {} member {:?} topics {:?}",
                m.group_id, m.member_id, m.subscription.topics
            ),
            Message::JoinGroupResponse(m) => format!(
                "{} generation {} member {} leader {} ({} members listed)",
                m.error,
                m.generation_id,
                m.member_id,
                m.leader,
                m.members.len()
            ),
            Message::SyncGroupRequest(m) => format!(
                "group {} generation {} member {} ({} assignments)",
                m.group_id,
                m.generation_id,
                m.member_id,
                m.assignments.len()
            ),
            Message::SyncGroupResponse(m) => {
                format!("{} {}", m.error, list(&m.assignment, |tp| tp.to_string()))
            }
            Message::HeartbeatRequest(m) => {
                format!(
                    "group {} generation {} member {}",
                    m.group_id, m.generation_id, m.member_id
                )
            }
            Message::HeartbeatResponse(m) => m.error.to_string(),
            Message::LeaveGroupRequest(m) => format!("group {} member {}", m.group_id, m.member_id),
            Message::LeaveGroupResponse(m) => format!(
                "{} {}",
                m.error,
                list(&m.members, |(member, e)| format!("{member}: {e}"))
            ),
            Message::OffsetCommitResponse(m) => list(&m.partitions, |(tp, e)| format!("{tp} {e}")),
            Message::OffsetCommitRequest(m) => format!(
                "group {} generation {}: {}",
                m.group_id,
                m.generation_id,
                list(&m.offsets, |(tp, o)| format!("{tp}={o}"))
            ),
            Message::OffsetFetchRequest(m) => format!("group {}", m.group_id),
            Message::OffsetFetchResponse(m) => {
                format!(
                    "{} {}",
                    m.error,
                    list(&m.offsets, |(tp, o)| format!("{tp}={o}"))
                )
            }
            Message::OffsetForLeaderEpochRequest(m) => list(&m.partitions, |(tp, _, epoch)| {
                format!("{tp} epoch {epoch}")
            }),
            Message::OffsetForLeaderEpochResponse(m) => {
                list(&m.partitions, |(tp, e, epoch, end)| {
                    format!("{tp} {e} epoch {epoch} ends at {end}")
                })
            }
            Message::InitProducerIdRequest(_) => String::new(),
            Message::InitProducerIdResponse(m) => format!(
                "{} producer id {} epoch {}",
                m.error, m.producer_id, m.producer_epoch
            ),
            Message::AlterPartitionRequest(m) => format!(
                "{} isr={:?} leader epoch {} partition epoch {}",
                m.partition,
                isr_ids(&m.new_isr),
                m.leader_epoch,
                m.partition_epoch
            ),
            Message::StartReplication(m) => {
                format!("SLOT {} LOGICAL {}", m.slot, m.start_lsn)
            }
            Message::XLogData(m) => format!(
                "{}: xid {} ({} changes) commit {}",
                m.slot,
                m.txn.xid,
                m.txn.changes.len(),
                m.txn.end_lsn
            ),
            Message::StandbyStatusUpdate(m) => format!("{}: flush {}", m.slot, m.flush_lsn),
            Message::SnapshotQuery(m) => format!("SELECT * FROM {}", m.tables.join(", ")),
            Message::SnapshotResult(m) => format!(
                "{} rows as of {}",
                m.tables.values().map(|r| r.len()).sum::<usize>(),
                m.lsn
            ),
            Message::ReplicationError(m) => m.message.clone(),
            Message::TcpKeepalive => "is the peer still there?".into(),
            Message::StartPhysicalReplication(m) => {
                format!("{} from {}", m.application_name, m.start_lsn)
            }
            Message::WalData(m) => match (m.records.first(), m.records.last()) {
                (Some((first, _)), Some((last, bytes))) => format!(
                    "{} WAL records {first}..{}",
                    m.records.len(),
                    Lsn(last.0 + bytes.len() as u64)
                ),
                _ => "no WAL".into(),
            },
            Message::StandbyReply(m) => format!(
                "write {} flush {} apply {}",
                m.write_lsn, m.flush_lsn, m.apply_lsn
            ),
            Message::RegisterSchemaRequest(m) => format!(
                "POST /subjects/{}/versions: {} ({} fields)",
                m.subject,
                m.schema.name,
                m.schema.fields.len()
            ),
            Message::RegisterSchemaResponse(m) => match &m.result {
                Ok(id) => format!("{}: id {id}", m.subject),
                Err(e) => format!("{}: {} {e}", m.subject, e.error_code()),
            },
            Message::GetSchemaByIdRequest(m) => format!("GET /schemas/ids/{}", m.id),
            Message::GetSchemaByIdResponse(m) => match &m.result {
                Ok(schema) => format!("id {}: {}", m.id, schema.name),
                Err(e) => format!("id {}: {} {e}", m.id, e.error_code()),
            },
            Message::AlterPartitionResponse(m) => format!(
                "{} {} isr={:?} partition epoch {}",
                m.partition, m.error, m.isr, m.partition_epoch
            ),
            Message::ListOffsetsResponse(m) => list(&m.partitions, |p| {
                if p.error == ErrorCode::None {
                    format!("{} {}", p.partition, p.offset)
                } else {
                    format!("{} {}", p.partition, p.error)
                }
            }),
        }
    }
}
