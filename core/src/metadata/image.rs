//! The metadata image: what the metadata log says, applied in order.

use super::MetadataRecord;
use super::records::{ConfigResourceType, ELIGIBLE_LEADER_REPLICAS_VERSION};
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
    /// In controlled shutdown: it asked to stop, and may no longer lead or join an ISR.
    pub in_controlled_shutdown: bool,
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
    /// Eligible leader replicas (KIP-966): replicas out of the ISR since it fell below
    /// `min.insync.replicas` that still hold every committed record, so may lead once the ISR
    /// is empty. Sorted; empty without the feature.
    pub eligible_leader_replicas: Vec<i32>,
    /// The last known leader, kept once the ISR and the ELR are both empty (Kafka's
    /// `LastKnownElr` in balanced recovery): the replica of last resort.
    pub last_known_elr: Vec<i32>,
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
    /// Finalized feature levels (`FeatureLevelRecord`).
    pub features: BTreeMap<String, i16>,
    /// Each topic's own settings, by name (`ConfigRecord`s of topics).
    pub topic_configs: BTreeMap<String, BTreeMap<String, String>>,
    /// Cluster-wide defaults (`ConfigRecord`s of the default broker resource).
    pub cluster_configs: BTreeMap<String, String>,
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
                        in_controlled_shutdown: false,
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
            MetadataRecord::BrokerRegistrationChangeRecord {
                broker_id,
                broker_epoch,
                in_controlled_shutdown,
            } => {
                if let Some(b) = self.brokers.get_mut(broker_id)
                    && b.broker_epoch == *broker_epoch
                {
                    b.in_controlled_shutdown = *in_controlled_shutdown;
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
                        eligible_leader_replicas: Vec::new(),
                        last_known_elr: Vec::new(),
                    },
                );
            }
            MetadataRecord::PartitionChangeRecord {
                topic,
                partition,
                isr,
                leader,
                eligible_leader_replicas,
                last_known_elr,
            } => {
                if let Some(p) = self
                    .partitions
                    .get_mut(&TopicPartition::new(topic.as_str(), *partition))
                {
                    if let Some(isr) = isr {
                        p.isr = isr.clone();
                    }
                    if let Some(elr) = eligible_leader_replicas {
                        p.eligible_leader_replicas = elr.clone();
                    }
                    if let Some(last) = last_known_elr {
                        p.last_known_elr = last.clone();
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
            MetadataRecord::FeatureLevelRecord {
                name,
                feature_level,
            } => {
                self.features.insert(name.clone(), *feature_level);
            }
            MetadataRecord::ConfigRecord {
                resource_type,
                resource_name,
                name,
                value,
            } => {
                let configs = match resource_type {
                    ConfigResourceType::Topic => {
                        self.topic_configs.entry(resource_name.clone()).or_default()
                    }
                    // Only the cluster-wide default is modelled, not one broker's own.
                    ConfigResourceType::Broker if resource_name.is_empty() => {
                        &mut self.cluster_configs
                    }
                    ConfigResourceType::Broker => return,
                };
                match value {
                    Some(v) => configs.insert(name.clone(), v.clone()),
                    None => configs.remove(name),
                };
            }
        }
    }

    /// Whether eligible leader replicas (KIP-966) are on: `eligible.leader.replicas.version`
    /// finalized at 1 or more.
    pub fn elr_enabled(&self) -> bool {
        self.features
            .get(ELIGIBLE_LEADER_REPLICAS_VERSION)
            .is_some_and(|level| *level >= 1)
    }

    /// A topic's setting `name` as Kafka resolves it: the topic's own, else the cluster-wide
    /// default, else `None` (the node's static `server.properties` value then applies).
    pub fn topic_config(&self, topic: &str, name: &str) -> Option<&str> {
        self.topic_configs
            .get(topic)
            .and_then(|c| c.get(name))
            .or_else(|| self.cluster_configs.get(name))
            .map(String::as_str)
    }

    /// `min.insync.replicas` for `topic`: its own, else the cluster's, else `static_default`.
    pub fn min_insync_replicas(&self, topic: &str, static_default: usize) -> usize {
        self.topic_config(topic, crate::config::MIN_INSYNC_REPLICAS)
            .and_then(|v| v.parse().ok())
            .unwrap_or(static_default)
    }

    /// `unclean.leader.election.enable` for `topic`: its own, else the cluster's, else
    /// `static_default`.
    pub fn unclean_leader_election_enable(&self, topic: &str, static_default: bool) -> bool {
        self.topic_config(topic, crate::config::UNCLEAN_LEADER_ELECTION_ENABLE)
            .and_then(|v| v.parse().ok())
            .unwrap_or(static_default)
    }

    /// The brokers, as a view shows them.
    pub fn registered_brokers(&self) -> Vec<RegisteredBroker> {
        self.brokers
            .iter()
            .map(|(id, b)| RegisteredBroker {
                broker_id: *id,
                broker_epoch: b.broker_epoch,
                fenced: b.fenced,
                in_controlled_shutdown: b.in_controlled_shutdown,
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
                eligible_leader_replicas: p.eligible_leader_replicas.clone(),
                last_known_elr: p.last_known_elr.clone(),
            })
            .collect()
    }

    /// An image holding what a view shows: where a reader of a trace resumes applying
    /// records. What views do not show — brokers' addresses, the quorum leader, features and
    /// dynamic configs — is unknown (and changes nothing a view shows).
    pub fn from_visible(brokers: &[RegisteredBroker], partitions: &[PartitionAssignment]) -> Self {
        let mut image = MetadataImage::default();
        for b in brokers {
            let state = BrokerState {
                address: NodeId(u32::MAX),
                broker_epoch: b.broker_epoch,
                fenced: b.fenced,
                in_controlled_shutdown: b.in_controlled_shutdown,
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
                eligible_leader_replicas: p.eligible_leader_replicas.clone(),
                last_known_elr: p.last_known_elr.clone(),
            };
            image.partitions.insert(p.partition.clone(), state);
        }
        image
    }

    /// Whether broker `id` is registered, unfenced and not in controlled shutdown: whether
    /// it may lead or join an ISR (Kafka's `BrokerRegistration.isActive`, and its
    /// `ineligibleReplicasForIsr`, KIP-841).
    pub fn is_alive(&self, id: i32) -> bool {
        self.brokers
            .get(&id)
            .is_some_and(|b| !b.fenced && !b.in_controlled_shutdown)
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
            eligible_leader_replicas: None,
            last_known_elr: None,
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
            eligible_leader_replicas: Some(vec![3]),
            last_known_elr: None,
        });
        let p = &image.partitions[&tp];
        assert_eq!(
            (p.leader, p.leader_epoch, p.partition_epoch, p.isr.clone()),
            (2, 1, 2, vec![2])
        );
        assert_eq!(p.eligible_leader_replicas, vec![3]);
        assert_eq!(image.topics["t"], 1);
    }

    /// Reference: Kafka's `ConfigurationControlManager` / `KafkaConfig` resolution: a topic's
    /// own `min.insync.replicas` wins over the cluster default, which wins over the node's
    /// static value; removing the topic's setting falls back again.
    #[test]
    fn a_topic_setting_overrides_the_cluster_default_which_overrides_the_static_one() {
        let config = |resource_type, resource_name: &str, value: Option<&str>| {
            MetadataRecord::ConfigRecord {
                resource_type,
                resource_name: resource_name.into(),
                name: "min.insync.replicas".into(),
                value: value.map(str::to_string),
            }
        };
        let mut image = MetadataImage::default();
        assert_eq!(image.min_insync_replicas("t", 1), 1, "the static value");
        image.apply(&config(ConfigResourceType::Broker, "", Some("2")));
        assert_eq!(image.min_insync_replicas("t", 1), 2, "the cluster's");
        image.apply(&config(ConfigResourceType::Broker, "7", Some("9")));
        assert_eq!(
            image.min_insync_replicas("t", 1),
            2,
            "one broker's is not modelled"
        );
        image.apply(&config(ConfigResourceType::Topic, "t", Some("3")));
        assert_eq!(image.min_insync_replicas("t", 1), 3, "the topic's");
        assert_eq!(
            image.min_insync_replicas("u", 1),
            2,
            "another topic: the cluster's"
        );
        image.apply(&config(ConfigResourceType::Topic, "t", None));
        assert_eq!(
            image.min_insync_replicas("t", 1),
            2,
            "removed: the cluster's again"
        );
        assert!(!image.elr_enabled(), "no feature level: off");
        image.apply(&MetadataRecord::FeatureLevelRecord {
            name: ELIGIBLE_LEADER_REPLICAS_VERSION.into(),
            feature_level: 1,
        });
        assert!(image.elr_enabled());
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
