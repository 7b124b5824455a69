//! Identities of the things in a simulated cluster.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// A node of the simulation: a broker, a controller, a client or a database.
/// Dense small integers, so the simulator can keep per-node state in vectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NodeId(pub u32);

impl NodeId {
    /// The position of this node in per-node vectors.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0)
    }
}

/// A topic partition, printed as Kafka prints it: `orders-0` — in the trace too.
///
/// The topic's name is shared (`Arc<str>`): a partition is named in nearly every request,
/// response and trace event, and copying its name should not cost an allocation each time.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopicPartition {
    /// The topic name.
    pub topic: Arc<str>,
    /// The partition number within the topic.
    pub partition: i32,
}

impl TopicPartition {
    /// The partition `partition` of `topic`.
    pub fn new(topic: impl Into<Arc<str>>, partition: i32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

impl std::str::FromStr for TopicPartition {
    type Err = String;

    /// `orders-0`; the topic may itself contain dashes (`my-topic-3`).
    fn from_str(text: &str) -> Result<Self, String> {
        let (topic, partition) = text
            .rsplit_once('-')
            .filter(|(topic, _)| !topic.is_empty())
            .ok_or_else(|| format!("`{text}` is not a topic partition such as orders-0"))?;
        let partition = partition
            .parse()
            .map_err(|_| format!("`{text}`: the partition after the last `-` is not a number"))?;
        Ok(TopicPartition::new(topic, partition))
    }
}

impl Serialize for TopicPartition {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TopicPartition {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_partitions_read_back_as_kafka_prints_them() {
        for tp in [
            TopicPartition::new("orders", 0),
            TopicPartition::new("my-topic", 12),
            TopicPartition::new("__consumer_offsets", 49),
        ] {
            let json = serde_json::to_string(&tp).unwrap();
            assert_eq!(json, format!("\"{tp}\""));
            assert_eq!(serde_json::from_str::<TopicPartition>(&json).unwrap(), tp);
        }
        for bad in ["orders", "-3", "orders-x", "orders-"] {
            assert!(bad.parse::<TopicPartition>().is_err(), "{bad}");
        }
    }
}
