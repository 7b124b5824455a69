//! What a client knows about the cluster: which broker leads which partition.
//!
//! Clients start from `bootstrap.servers`, ask one of them for metadata, and refresh it when a
//! broker answers `NOT_LEADER_OR_FOLLOWER` or stops answering.

use crate::ids::{NodeId, TopicPartition};
use crate::protocol::{ErrorCode, MetadataResponse};
use std::collections::BTreeMap;

/// A client's view of the cluster.
#[derive(Clone, Debug, Default)]
pub struct ClusterView {
    /// Partition count per known topic.
    partitions: BTreeMap<String, i32>,
    /// Leader address per partition.
    leaders: BTreeMap<TopicPartition, NodeId>,
    /// Leader epoch per partition, as the last metadata said.
    epochs: BTreeMap<TopicPartition, i32>,
}

impl ClusterView {
    /// Replace what is known about the topics in `response`.
    pub fn update(&mut self, response: &MetadataResponse) {
        let address: BTreeMap<i32, NodeId> = response
            .brokers
            .iter()
            .map(|b| (b.node_id, b.address))
            .collect();
        for topic in &response.topics {
            if topic.error != ErrorCode::None {
                continue;
            }
            self.partitions
                .insert(topic.name.clone(), topic.partitions.len() as i32);
            for p in &topic.partitions {
                let tp = TopicPartition::new(topic.name.as_str(), p.partition);
                match address.get(&p.leader_id) {
                    Some(node) if p.error == ErrorCode::None => {
                        self.epochs.insert(tp.clone(), p.leader_epoch);
                        self.leaders.insert(tp, *node);
                    }
                    _ => {
                        self.leaders.remove(&tp);
                    }
                }
            }
        }
    }

    /// How many partitions `topic` has, if known.
    pub fn partition_count(&self, topic: &str) -> Option<i32> {
        self.partitions.get(topic).copied()
    }

    /// The leader of `tp`, if known.
    pub fn leader(&self, tp: &TopicPartition) -> Option<NodeId> {
        self.leaders.get(tp).copied()
    }

    /// The leader epoch of `tp` as the last metadata said, if known.
    pub fn leader_epoch(&self, tp: &TopicPartition) -> Option<i32> {
        self.epochs.get(tp).copied()
    }

    /// Forget the leader of `tp` (after `NOT_LEADER_OR_FOLLOWER`).
    pub fn forget_leader(&mut self, tp: &TopicPartition) {
        self.leaders.remove(tp);
    }
}
