//! The records of the metadata log (KIP-631 names), and how they travel in record batches.
//!
//! Raft's own marker, [`MetadataRecord::LeaderChangeMessage`], is written as Kafka writes it:
//! a control record (key: `ControlRecordType` version 0, type `LEADER_CHANGE` = 2; value:
//! the `LeaderChangeMessage` fields version, leader id, voters and granting voters, with
//! int32 array lengths) alone in a control batch ([`crate::log::batch::CONTROL_FLAG`]). The
//! other records are data records whose value is JSON, not Kafka's binary
//! `ApiMessageAndVersion`: a simplification that keeps the metadata log readable in the trace
//! and on the disk.

use crate::ids::NodeId;
use crate::log::batch::Record;
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
    /// A registered broker's state changed without a new registration. Here it only ever
    /// puts a broker in controlled shutdown (Kafka's record also carries fencing changes,
    /// which this project writes as [`MetadataRecord::FenceBrokerRecord`] and
    /// [`MetadataRecord::UnfenceBrokerRecord`]).
    BrokerRegistrationChangeRecord {
        /// `node.id`.
        broker_id: i32,
        /// The registration it refers to.
        broker_epoch: i64,
        /// The broker asked to shut down: it may no longer lead or join an ISR.
        in_controlled_shutdown: bool,
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

/// Kafka's `ControlRecordType.LEADER_CHANGE`.
pub const LEADER_CHANGE: i16 = 2;

impl MetadataRecord {
    /// The record as the metadata log holds it, and whether it goes in a control batch.
    pub fn to_log_record(&self, timestamp: i64) -> (Record, bool) {
        let (key, value, control) = match self {
            MetadataRecord::LeaderChangeMessage { leader_id, voters } => {
                let key = [0i16.to_be_bytes(), LEADER_CHANGE.to_be_bytes()].concat();
                (Some(key), leader_change_value(*leader_id, voters), true)
            }
            other => (None, other.to_bytes(), false),
        };
        let record = Record {
            timestamp,
            key,
            value: Some(value),
            headers: Vec::new(),
        };
        (record, control)
    }

    /// The record a metadata log record holds, `control` telling whether its batch is a
    /// control batch (whose records other than `LEADER_CHANGE` are not metadata).
    pub fn from_log_record(record: &Record, control: bool) -> Option<Self> {
        let value = record.value.as_deref()?;
        if !control {
            return Self::from_bytes(value).ok();
        }
        let key = record.key.as_deref()?;
        if key.len() != 4 || i16::from_be_bytes([key[2], key[3]]) != LEADER_CHANGE {
            return None;
        }
        decode_leader_change(value)
    }

    /// The record as a batch record value (JSON: readable in the trace and on the disk).
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("metadata records serialize")
    }

    /// A record from a batch record value.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(bytes).map_err(|e| e.to_string())
    }
}

/// `LeaderChangeMessage` v0: version, leader id, voters, granting voters (every voter here:
/// the quorum does not record who voted).
fn leader_change_value(leader_id: i32, voters: &[i32]) -> Vec<u8> {
    let mut out = 0i16.to_be_bytes().to_vec();
    out.extend_from_slice(&leader_id.to_be_bytes());
    for _list in 0..2 {
        out.extend_from_slice(&(voters.len() as i32).to_be_bytes());
        for v in voters {
            out.extend_from_slice(&v.to_be_bytes());
        }
    }
    out
}

fn decode_leader_change(value: &[u8]) -> Option<MetadataRecord> {
    let int32 = |at: usize| {
        value
            .get(at..at + 4)
            .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let leader_id = int32(2)?;
    let count = usize::try_from(int32(6)?).ok()?;
    let voters = (0..count)
        .map(|i| int32(10 + 4 * i))
        .collect::<Option<Vec<i32>>>()?;
    Some(MetadataRecord::LeaderChangeMessage { leader_id, voters })
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
        assert_eq!(MetadataRecord::from_bytes(&r.to_bytes()), Ok(r.clone()));
        assert!(MetadataRecord::from_bytes(b"{").is_err());
        let (record, control) = r.to_log_record(5);
        assert!(!control, "a partition change is a data record");
        assert_eq!(MetadataRecord::from_log_record(&record, false), Some(r));
    }

    /// Reference: Kafka's `ControlRecordType` (LEADER_CHANGE = 2) and `LeaderChangeMessage`
    /// schema; KRaft writes it in a control batch (`MemoryRecords.withLeaderChangeMessage`).
    #[test]
    fn a_leader_change_is_a_control_record() {
        let r = MetadataRecord::LeaderChangeMessage {
            leader_id: 3000,
            voters: vec![3000, 3001, 3002],
        };
        let (record, control) = r.to_log_record(7);
        assert!(control);
        assert_eq!(record.key.as_deref(), Some(&[0u8, 0, 0, 2][..]));
        let value = record.value.clone().unwrap();
        assert_eq!(
            &value[..6],
            &[0, 0, 0, 0, 0x0b, 0xb8],
            "version 0, leader 3000"
        );
        assert_eq!(MetadataRecord::from_log_record(&record, true), Some(r));
        assert_eq!(
            MetadataRecord::from_log_record(&record, false),
            None,
            "its binary value is no JSON data record"
        );
        let mut abort = record.clone();
        abort.key = Some(vec![0, 0, 0, 0]);
        assert_eq!(
            MetadataRecord::from_log_record(&abort, true),
            None,
            "a transaction marker (type 0) is not metadata"
        );
    }
}
