//! What each node lets the world see of itself: the state a snapshot of the trace records.
//!
//! A snapshot holds, for every node that is up, what a learner looks for and nothing private:
//! each replica's role, epochs, log start, log end, high watermark, ISR and which epoch each
//! offset range belongs to; each group's state, generation, members, assignment and committed
//! offsets; the quorum's and the active controller's view of the cluster; a consumer's
//! membership and positions. The trace's events between two snapshots change exactly these
//! fields, so a reader can start from any snapshot and replay forward — which is how the
//! visualizer seeks, and how `kafkasim run --at` prints a moment.

use crate::broker::ReplicaRole;
use crate::group::GroupState;
use crate::ids::TopicPartition;
use crate::quorum::QuorumRole;
use serde::{Deserialize, Serialize};

/// One node's visible state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum NodeView {
    /// A broker.
    Broker(BrokerView),
    /// A KRaft controller.
    Controller(ControllerView),
    /// A producer (its batches in flight are messages, visible as such).
    Producer,
    /// A consumer.
    Consumer(ConsumerView),
    /// A database server: its WAL positions and its tables.
    Database(crate::database::DatabaseView),
    /// A CDC source connector: what it does, its offsets, its last acknowledged event.
    Source(crate::connect::source::SourceView),
    /// A sink connector: the warehouse rows it wrote.
    Sink(crate::connect::sink::SinkView),
    /// A schema registry's subjects.
    Registry(crate::registry::server::RegistryView),
    /// A stream-processing stage: its totals and how much it transformed.
    Stage(crate::stage::StageView),
}

/// A broker: its replicas, the groups it coordinates, and its place in the metadata quorum.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BrokerView {
    /// Every partition it hosts, in partition order.
    pub replicas: Vec<ReplicaView>,
    /// The groups it coordinates, in name order.
    pub groups: Vec<GroupView>,
}

/// One replica of one partition, as its broker knows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaView {
    /// The partition.
    pub partition: TopicPartition,
    /// Leader, follower or offline.
    pub role: ReplicaRole,
    /// The leader's broker id, or -1.
    pub leader: i32,
    /// The leader epoch.
    pub leader_epoch: i32,
    /// The partition epoch.
    pub partition_epoch: i32,
    /// The replicas, preferred leader first.
    pub replicas: Vec<i32>,
    /// The ISR as this replica knows it.
    pub isr: Vec<i32>,
    /// The first offset of the log.
    pub log_start_offset: i64,
    /// The log end offset.
    pub log_end_offset: i64,
    /// The high watermark.
    pub high_watermark: i64,
    /// Every leader epoch the log holds and the offset where it starts, oldest first: the
    /// offsets from one start to the next belong to that epoch.
    pub epochs: Vec<(i32, i64)>,
}

/// A consumer group, as its coordinator keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupView {
    /// The group id.
    pub group: String,
    /// Its state.
    pub state: GroupState,
    /// Its generation.
    pub generation: i32,
    /// The member that computes the assignment.
    pub leader: String,
    /// The assignor of its current generation (`range`, `cooperative-sticky`; empty before
    /// the first generation, and after a coordinator failover until the next).
    pub protocol: String,
    /// Its members and their assignments, in member-id order.
    pub members: Vec<(String, Vec<TopicPartition>)>,
    /// Its committed offsets.
    pub committed: Vec<(TopicPartition, i64)>,
}

/// A member of the metadata quorum (a voter) or an observer of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuorumView {
    /// The epoch.
    pub epoch: i32,
    /// Its role in the epoch.
    pub role: QuorumRole,
    /// The known leader's id, or -1.
    pub leader: i32,
    /// The metadata log's high watermark as this member knows it.
    pub high_watermark: i64,
    /// The metadata log's end offset.
    pub log_end_offset: i64,
}

/// What the cluster's metadata says of one broker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredBroker {
    /// Its `node.id`.
    pub broker_id: i32,
    /// Its registration's epoch.
    pub broker_epoch: i64,
    /// Fenced brokers lead and follow nothing.
    pub fenced: bool,
    /// It asked to shut down: it may no longer lead or join an ISR.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub in_controlled_shutdown: bool,
}

/// What the cluster's metadata says of one partition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionAssignment {
    /// The partition.
    pub partition: TopicPartition,
    /// The leader's broker id, or -1 (offline).
    pub leader: i32,
    /// The leader epoch.
    pub leader_epoch: i32,
    /// The partition epoch.
    pub partition_epoch: i32,
    /// The replicas.
    pub replicas: Vec<i32>,
    /// The ISR.
    pub isr: Vec<i32>,
    /// The eligible leader replicas (KIP-966).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub eligible_leader_replicas: Vec<i32>,
    /// The last known leader, once the ISR and the ELR are empty (`LastKnownElr`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub last_known_elr: Vec<i32>,
}

/// A controller: its quorum membership (it is the active controller while it leads) and the
/// committed metadata it has applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControllerView {
    /// Its place in the quorum.
    pub quorum: QuorumView,
    /// The brokers the committed metadata knows.
    pub brokers: Vec<RegisteredBroker>,
    /// The partitions the committed metadata knows.
    pub partitions: Vec<PartitionAssignment>,
}

/// A consumer: what it reads and where it stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerView {
    /// Its group, with `subscribe`.
    pub group: Option<String>,
    /// Its member id (empty outside a generation).
    pub member_id: String,
    /// The generation it is in (-1 outside one).
    pub generation: i32,
    /// Its partitions.
    pub assignment: Vec<TopicPartition>,
    /// Its position in each partition that has one.
    pub positions: Vec<(TopicPartition, i64)>,
}

impl ConsumerView {
    /// A consumer that has just started: no group, no partitions.
    pub fn started() -> Self {
        ConsumerView {
            group: None,
            member_id: String::new(),
            generation: -1,
            assignment: Vec::new(),
            positions: Vec::new(),
        }
    }
}
