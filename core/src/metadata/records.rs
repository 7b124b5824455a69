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
    /// A partition's leader or ISR changed. The leader epoch goes up when the leader changes;
    /// the partition epoch goes up on every change.
    PartitionChangeRecord {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The new ISR, if it changed.
        isr: Option<Vec<i32>>,
        /// The new leader (-1: none), if it changed.
        leader: Option<i32>,
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
        };
        assert_eq!(MetadataRecord::from_bytes(&r.to_bytes()), Ok(r));
        assert!(MetadataRecord::from_bytes(b"{").is_err());
    }
}
