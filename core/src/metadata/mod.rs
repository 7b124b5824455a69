//! Cluster metadata as KRaft keeps it: a log of records, and the image they build.
//!
//! In KRaft mode (KIP-500, KIP-631) the cluster's metadata — which brokers exist and are
//! alive, which topics and partitions exist, who leads each partition, who is in sync — is not
//! kept in ZooKeeper but in a replicated log, `__cluster_metadata`. The controllers replicate
//! it with Raft; every broker fetches it and applies the records in order to an in-memory
//! [`MetadataImage`]. A DBA will recognise logical replication: a stream of change records
//! applied in commit order gives every replica the same state.

mod image;
mod records;

pub use image::{BrokerState, MetadataImage, PartitionState};
pub use records::{ConfigResourceType, ELIGIBLE_LEADER_REPLICAS_VERSION, MetadataRecord};
