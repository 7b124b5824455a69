//! Kafka's internal topics, with Kafka's defaults: today `__consumer_offsets`.
//!
//! A consumer group's committed offsets are not kept in a side database: they are records in
//! an ordinary, replicated topic, `__consumer_offsets`. A DBA may think of it as the table
//! `(group, topic, partition) -> offset`, stored as its own change log. The group's
//! coordinator is the leader of one of its partitions (the group id's hash modulo the partition
//! count, see [`crate::group::records::partition_for_group`]), so the topic's shape decides
//! where groups live and how many broker failures their offsets survive.
//!
//! Kafka creates the topic on the first `FindCoordinator`, with two broker settings
//! (reference: `GroupCoordinatorConfig`, formerly `KafkaConfig`):
//! - `offsets.topic.num.partitions`, default 50 ("should not change after deployment": the
//!   partition of every group would move);
//! - `offsets.topic.replication.factor`, default 3.
//!
//! One deviation, on purpose: Kafka refuses to create the topic while fewer brokers than the
//! replication factor are alive ("internal topic creation will fail until the cluster size
//! meets this replication factor requirement"), which is why single-broker development setups
//! set `offsets.topic.replication.factor=1`. kafkasim caps the factor at the number of brokers
//! instead — what that development setting does — so a one-broker scenario has groups without
//! saying so.

use super::TopicSpec;
use crate::group::records::OFFSETS_TOPIC;

/// `offsets.topic.num.partitions`: Kafka's default, 50.
pub const OFFSETS_TOPIC_NUM_PARTITIONS: i32 = 50;

/// `offsets.topic.replication.factor`: Kafka's default, 3.
pub const OFFSETS_TOPIC_REPLICATION_FACTOR: i32 = 3;

/// `__consumer_offsets` as a cluster of `brokers` brokers gets it: Kafka's defaults, with the
/// replication factor capped at the number of brokers (see the module documentation).
pub fn consumer_offsets(brokers: usize) -> TopicSpec {
    let brokers = i32::try_from(brokers).unwrap_or(i32::MAX);
    TopicSpec {
        name: OFFSETS_TOPIC.to_string(),
        partitions: OFFSETS_TOPIC_NUM_PARTITIONS,
        replication_factor: OFFSETS_TOPIC_REPLICATION_FACTOR.min(brokers),
        config: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: GroupCoordinatorConfig, `OFFSETS_TOPIC_PARTITIONS_DEFAULT = 50` and
    /// `OFFSETS_TOPIC_REPLICATION_FACTOR_DEFAULT = 3`.
    #[test]
    fn kafkas_defaults_on_three_brokers_or_more() {
        for brokers in [3, 5] {
            assert_eq!(
                consumer_offsets(brokers),
                TopicSpec {
                    name: "__consumer_offsets".into(),
                    partitions: 50,
                    replication_factor: 3,
                    config: Default::default(),
                }
            );
        }
    }

    #[test]
    fn fewer_brokers_get_fewer_replicas_not_fewer_partitions() {
        assert_eq!(consumer_offsets(1).replication_factor, 1);
        assert_eq!(consumer_offsets(2).replication_factor, 2);
        assert_eq!(consumer_offsets(1).partitions, 50);
    }
}
