//! The messages nodes exchange: Kafka's requests and responses, by Kafka's names.
//!
//! Fields follow the real protocol (`ProduceRequest` carries record batches as bytes in the v2
//! format, `FetchResponse` carries the high watermark and the log start offset, every request
//! has a correlation id). Versions and fields that change nothing in the simulation are left
//! out. Messages travel as Rust values; the record batches inside them are real bytes, so the
//! CRC a consumer checks is the one the producer computed.

mod error;

pub use error::ErrorCode;

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
}

/// `FetchRequest`.
#[derive(Clone, Debug)]
pub struct FetchRequest {
    /// Matches the response to the request.
    pub correlation_id: i32,
    /// -1 for a consumer; a follower puts its `node.id` here.
    pub replica_id: i32,
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
