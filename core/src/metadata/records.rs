//! The records of the metadata log (KIP-631 names), and how they travel in record batches.

use crate::ids::NodeId;
use serde::{Deserialize, Serialize};

/// One change to cluster metadata.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum MetadataRecord {
    /// A broker registered (or re-registered after a restart, with a new epoch). A registered
    /// broker starts fenced: it may lead nothing until it has caught up with the metadata log.
    RegisterBrokerRecord {
        /// `node.id`.
        broker_id: i32,
        /// Where to reach it.
        address: NodeId,
        /// Its registration epoch (the offset of this record, as Kafka does).
        broker_epoch: i64,
    },
    /// The broker may lead and follow partitions: it caught up and heartbeats.
    UnfenceBrokerRecord {
        /// `node.id`.
        broker_id: i32,
        /// The registration it refers to.
        broker_epoch: i64,
    },
    /// The broker missed heartbeats for `broker.session.timeout.ms`: it leads and follows
    /// nothing until it registers again.
    FenceBrokerRecord {
        /// `node.id`.
        broker_id: i32,
        /// The registration it refers to.
        broker_epoch: i64,
    },
    /// A topic was created.
    TopicRecord {
        /// The topic name.
        name: String,
    },
    /// A partition was created with its replica assignment.
    PartitionRecord {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// Brokers holding a replica, preferred leader first.
        replicas: Vec<i32>,
        /// In-sync replicas.
        isr: Vec<i32>,
        /// The leader, or -1.
        leader: i32,
        /// The leader epoch.
        leader_epoch: i32,
        /// The partition epoch (bumped by every change).
        partition_epoch: i32,
    },
    /// A partition's leader, ISR or eligible leader replicas changed. The leader epoch goes up
    /// when the leader changes; the partition epoch goes up on every change.
    PartitionChangeRecord {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The new ISR, if it changed.
        isr: Option<Vec<i32>>,
        /// The new leader (-1: none), if it changed.
        leader: Option<i32>,
        /// The new eligible leader replicas (KIP-966), if they changed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        eligible_leader_replicas: Option<Vec<i32>>,
        /// The new `LastKnownElr`, if it changed: the leader the partition had when its ISR
        /// became empty (Kafka's balanced recovery keeps the last known leader there).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_known_elr: Option<Vec<i32>>,
    },
    /// A feature's finalized level, as `kafka-storage format --feature` or
    /// `kafka-features upgrade` sets it (KIP-584): here `eligible.leader.replicas.version`.
    FeatureLevelRecord {
        /// The feature's name.
        name: String,
        /// Its level (0: off).
        feature_level: i16,
    },
    /// A dynamic configuration: a topic's own setting, or a cluster-wide default (resource
    /// type broker, empty resource name), as `kafka-configs --alter` writes it.
    ConfigRecord {
        /// What the setting belongs to.
        resource_type: ConfigResourceType,
        /// The topic's name, or empty for the cluster-wide default.
        resource_name: String,
        /// The property (`min.insync.replicas`).
        name: String,
        /// Its value as text, as Kafka stores it (`None`: the setting is removed).
        value: Option<String>,
    },
    /// Raft's own record: a new quorum leader starts its epoch with it (KRaft's
    /// `LeaderChangeMessage` control record), so it can commit earlier entries.
    LeaderChangeMessage {
        /// The quorum leader's id.
        leader_id: i32,
        /// The voters.
        voters: Vec<i32>,
    },
}

/// What a [`MetadataRecord::ConfigRecord`] configures (Kafka's `ConfigResource.Type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConfigResourceType {
    /// A topic (type 2).
    Topic,
    /// A broker, or with an empty name every broker: the cluster default (type 4).
    Broker,
}

/// `eligible.leader.replicas.version`: the feature that turns on KIP-966 (level 1, Kafka 4.1's
/// default for new clusters).
pub const ELIGIBLE_LEADER_REPLICAS_VERSION: &str = "eligible.leader.replicas.version";

impl MetadataRecord {
    /// The record as a batch record value (JSON: readable in the trace and on the disk).
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("metadata records serialize")
    }

    /// A record from a batch record value.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(bytes).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_through_bytes() {
        let r = MetadataRecord::PartitionChangeRecord {
            topic: "orders".into(),
            partition: 2,
            isr: Some(vec![1, 3]),
            leader: None,
            eligible_leader_replicas: Some(vec![2]),
            last_known_elr: None,
        };
        assert_eq!(MetadataRecord::from_bytes(&r.to_bytes()), Ok(r));
        assert!(MetadataRecord::from_bytes(b"{").is_err());
    }
}
