//! The metadata image: what the metadata log says, applied in order.

use super::MetadataRecord;
use crate::ids::{NodeId, TopicPartition};
use crate::view::{PartitionAssignment, RegisteredBroker};
use serde::Serialize;
use std::collections::BTreeMap;

/// What the cluster knows about one broker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BrokerState {
    /// Where to reach it.
    pub address: NodeId,
    /// Its current registration epoch.
    pub broker_epoch: i64,
    /// Fenced brokers lead and follow nothing.
    pub fenced: bool,
}

/// What the cluster knows about one partition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PartitionState {
    /// Replicas, preferred leader first.
    pub replicas: Vec<i32>,
    /// In-sync replicas.
    pub isr: Vec<i32>,
    /// The leader's broker id, or -1 (offline).
    pub leader: i32,
    /// Bumped whenever the leader changes: fences zombie leaders (KIP-101, KIP-320).
    pub leader_epoch: i32,
    /// Bumped on every change: guards ISR updates (`AlterPartition`) against stale views.
    pub partition_epoch: i32,
}

/// The whole metadata, as of some offset of the metadata log.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MetadataImage {
    /// Brokers by id.
    pub brokers: BTreeMap<i32, BrokerState>,
    /// Partition counts by topic.
    pub topics: BTreeMap<String, i32>,
    /// Partitions.
    pub partitions: BTreeMap<TopicPartition, PartitionState>,
    /// The quorum leader named by the last `LeaderChangeMessage`.
    pub quorum_leader: Option<i32>,
}

impl MetadataImage {
    /// Apply one record.
    pub fn apply(&mut self, record: &MetadataRecord) {
        match record {
            MetadataRecord::RegisterBrokerRecord {
                broker_id,
                address,
                broker_epoch,
            } => {
                self.brokers.insert(
                    *broker_id,
                    BrokerState {
                        address: *address,
                        broker_epoch: *broker_epoch,
                        fenced: true,
                    },
                );
            }
            MetadataRecord::UnfenceBrokerRecord {
                broker_id,
                broker_epoch,
            } => {
                if let Some(b) = self.brokers.get_mut(broker_id)
                    && b.broker_epoch == *broker_epoch
                {
                    b.fenced = false;
                }
            }
            MetadataRecord::FenceBrokerRecord {
                broker_id,
                broker_epoch,
            } => {
                if let Some(b) = self.brokers.get_mut(broker_id)
                    && b.broker_epoch == *broker_epoch
                {
                    b.fenced = true;
                }
            }
            MetadataRecord::TopicRecord { name } => {
                self.topics.entry(name.clone()).or_insert(0);
            }
            MetadataRecord::PartitionRecord {
                topic,
                partition,
                replicas,
                isr,
                leader,
                leader_epoch,
                partition_epoch,
            } => {
                let count = self.topics.entry(topic.clone()).or_insert(0);
                *count = (*count).max(partition + 1);
                self.partitions.insert(
                    TopicPartition::new(topic.as_str(), *partition),
                    PartitionState {
                        replicas: replicas.clone(),
                        isr: isr.clone(),
                        leader: *leader,
                        leader_epoch: *leader_epoch,
                        partition_epoch: *partition_epoch,
                    },
                );
            }
            MetadataRecord::PartitionChangeRecord {
                topic,
                partition,
                isr,
                leader,
            } => {
                if let Some(p) = self
                    .partitions
                    .get_mut(&TopicPartition::new(topic.as_str(), *partition))
                {
                    if let Some(isr) = isr {
                        p.isr = isr.clone();
                    }
                    if let Some(leader) = leader
                        && *leader != p.leader
                    {
                        p.leader = *leader;
                        p.leader_epoch += 1;
                    }
                    p.partition_epoch += 1;
                }
            }
            MetadataRecord::LeaderChangeMessage { leader_id, .. } => {
                self.quorum_leader = Some(*leader_id);
            }
        }
    }

    /// The brokers, as a view shows them.
    pub fn registered_brokers(&self) -> Vec<RegisteredBroker> {
        self.brokers
            .iter()
            .map(|(id, b)| RegisteredBroker {
                broker_id: *id,
                broker_epoch: b.broker_epoch,
                fenced: b.fenced,
            })
            .collect()
    }

    /// The partitions, as a view shows them.
    pub fn partition_assignments(&self) -> Vec<PartitionAssignment> {
        self.partitions
            .iter()
            .map(|(tp, p)| PartitionAssignment {
                partition: tp.clone(),
                leader: p.leader,
                leader_epoch: p.leader_epoch,
                partition_epoch: p.partition_epoch,
                replicas: p.replicas.clone(),
                isr: p.isr.clone(),
            })
            .collect()
    }

    /// An image holding what a view shows: where a reader of a trace resumes applying
    /// records. What views do not show — brokers' addresses, the quorum leader — is unknown
    /// (and changes nothing a view shows).
    pub fn from_visible(brokers: &[RegisteredBroker], partitions: &[PartitionAssignment]) -> Self {
        let mut image = MetadataImage::default();
        for b in brokers {
            let state = BrokerState {
                address: NodeId(u32::MAX),
                broker_epoch: b.broker_epoch,
                fenced: b.fenced,
            };
            image.brokers.insert(b.broker_id, state);
        }
        for p in partitions {
            let count = image
                .topics
                .entry(p.partition.topic.to_string())
                .or_insert(0);
            *count = (*count).max(p.partition.partition + 1);
            let state = PartitionState {
                replicas: p.replicas.clone(),
                isr: p.isr.clone(),
                leader: p.leader,
                leader_epoch: p.leader_epoch,
                partition_epoch: p.partition_epoch,
            };
            image.partitions.insert(p.partition.clone(), state);
        }
        image
    }

    /// Whether broker `id` is registered and unfenced.
    pub fn is_alive(&self, id: i32) -> bool {
        self.brokers.get(&id).is_some_and(|b| !b.fenced)
    }

    /// The address of broker `id`.
    pub fn address(&self, id: i32) -> Option<NodeId> {
        self.brokers.get(&id).map(|b| b.address)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partition(isr: &[i32], leader: i32) -> MetadataRecord {
        MetadataRecord::PartitionRecord {
            topic: "t".into(),
            partition: 0,
            replicas: vec![1, 2, 3],
            isr: isr.to_vec(),
            leader,
            leader_epoch: 0,
            partition_epoch: 0,
        }
    }

    #[test]
    fn a_leader_change_bumps_both_epochs_an_isr_change_only_the_partition_epoch() {
        let mut image = MetadataImage::default();
        image.apply(&partition(&[1, 2, 3], 1));
        let tp = TopicPartition::new("t", 0);
        image.apply(&MetadataRecord::PartitionChangeRecord {
            topic: "t".into(),
            partition: 0,
            isr: Some(vec![1, 2]),
            leader: None,
        });
        assert_eq!(
            (
                image.partitions[&tp].leader_epoch,
                image.partitions[&tp].partition_epoch
            ),
            (0, 1)
        );
        image.apply(&MetadataRecord::PartitionChangeRecord {
            topic: "t".into(),
            partition: 0,
            isr: Some(vec![2]),
            leader: Some(2),
        });
        let p = &image.partitions[&tp];
        assert_eq!(
            (p.leader, p.leader_epoch, p.partition_epoch, p.isr.clone()),
            (2, 1, 2, vec![2])
        );
        assert_eq!(image.topics["t"], 1);
    }

    #[test]
    fn fencing_applies_only_to_the_current_registration() {
        let mut image = MetadataImage::default();
        let register = |epoch| MetadataRecord::RegisterBrokerRecord {
            broker_id: 1,
            address: NodeId(0),
            broker_epoch: epoch,
        };
        image.apply(&register(5));
        assert!(!image.is_alive(1), "registered brokers start fenced");
        image.apply(&MetadataRecord::UnfenceBrokerRecord {
            broker_id: 1,
            broker_epoch: 5,
        });
        assert!(image.is_alive(1));
        image.apply(&MetadataRecord::FenceBrokerRecord {
            broker_id: 1,
            broker_epoch: 4,
        });
        assert!(image.is_alive(1), "a stale fence is ignored");
        image.apply(&register(9));
        assert!(!image.is_alive(1));
    }
}
