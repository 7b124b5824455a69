//! What a group coordinator writes to `__consumer_offsets`, and where a group lives.
//!
//! A group lives on one broker: the leader of partition
//! `abs(hashCode(group.id)) % offsets.topic.num.partitions` of the internal topic
//! `__consumer_offsets`. Committed offsets are records of that partition, keyed by
//! (group, topic, partition) — the topic is compacted, so the last record per key is the
//! committed offset —, and so is each group's metadata: Kafka's `GroupMetadataValue`, with the
//! generation, the protocol, the leader and every member with its session, subscription and
//! assignment. A broker that becomes the partition's leader reads them back: that is how
//! offsets, and the group itself, survive a coordinator failover — its members carry on in
//! the same generation. (Kafka's keys and values are versioned binary structs; here keys are
//! plain text and the group's value is JSON.)

use crate::ids::TopicPartition;
use crate::log::Log;
use crate::log::batch::{Record, RecordBatch, batches};
use crate::time::Instant;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The internal topic of committed offsets.
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

/// Java's `String.hashCode`, which Kafka uses to place groups.
fn java_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// The `__consumer_offsets` partition of `group` (Kafka's `Utils.abs(hashCode) % n`).
pub fn partition_for_group(group: &str, partitions: i32) -> i32 {
    let h = java_hash(group);
    let abs = if h == i32::MIN { 0 } else { h.abs() };
    abs % partitions.max(1)
}

/// The record key of a committed offset.
fn offset_key(group: &str, tp: &TopicPartition) -> Vec<u8> {
    format!("offset\u{0}{group}\u{0}{}\u{0}{}", tp.topic, tp.partition).into_bytes()
}

/// The record key of a group's metadata (here: its generation).
fn group_key(group: &str) -> Vec<u8> {
    format!("group\u{0}{group}").into_bytes()
}

fn parse_offset_key(key: &[u8]) -> Option<(String, TopicPartition)> {
    let text = std::str::from_utf8(key).ok()?;
    let mut parts = text.split('\u{0}');
    if parts.next()? != "offset" {
        return None;
    }
    let group = parts.next()?.to_string();
    let topic = parts.next()?;
    let partition = parts.next()?.parse().ok()?;
    Some((group, TopicPartition::new(topic, partition)))
}

/// A group as its coordinator stores it (Kafka's `GroupMetadataValue`), once the leader's
/// assignment of a generation has arrived.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMetadataValue {
    /// `consumer` for a consumer group.
    pub protocol_type: String,
    /// The generation.
    pub generation: i32,
    /// The assignor chosen (`range`, `cooperative-sticky`, ...).
    pub protocol: String,
    /// The member id of the leader.
    pub leader: String,
    /// The members, by member id.
    pub members: Vec<MemberMetadata>,
}

/// One member as the group record stores it (Kafka's `MemberMetadata`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberMetadata {
    /// Its member id.
    pub member_id: String,
    /// `group.instance.id` of a static member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_instance_id: Option<String>,
    /// `session.timeout.ms`.
    pub session_timeout_ms: u64,
    /// `max.poll.interval.ms`, its rebalance timeout.
    pub rebalance_timeout_ms: u64,
    /// The topics it subscribes to.
    pub subscription: Vec<String>,
    /// The partitions the leader assigned it.
    pub assignment: Vec<TopicPartition>,
}

/// The record batch storing `group`'s metadata, so that a coordinator elected after a
/// failover takes the group over as it was: same generation, same members.
pub fn group_batch(group: &str, value: &GroupMetadataValue, now: Instant) -> Vec<u8> {
    let value = serde_json::to_vec(value).expect("group metadata serializes");
    RecordBatch::from_records(vec![Record {
        timestamp: now.as_millis() as i64,
        key: Some(group_key(group)),
        value: Some(value),
        headers: Vec::new(),
    }])
    .encode()
}

/// The record batch committing `offsets` for `group`.
pub fn commit_batch(group: &str, offsets: &[(TopicPartition, i64)], now: Instant) -> Vec<u8> {
    RecordBatch::from_records(
        offsets
            .iter()
            .map(|(tp, o)| Record {
                timestamp: now.as_millis() as i64,
                key: Some(offset_key(group, tp)),
                value: Some(o.to_string().into_bytes()),
                headers: Vec::new(),
            })
            .collect(),
    )
    .encode()
}

/// What one `__consumer_offsets` partition holds, read to its end.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Stored {
    /// The last metadata recorded per group.
    pub groups: BTreeMap<String, GroupMetadataValue>,
    /// The last committed offset per (group, partition).
    pub offsets: BTreeMap<(String, TopicPartition), i64>,
}

/// Read a `__consumer_offsets` partition's log to its end: the last record per key wins, as
/// compaction keeps. Like Kafka, a new coordinator reads to the log end, not the high
/// watermark: it leads the partition, so its whole log will be committed, and its high
/// watermark may still lag the old leader's — reading less could miss the latest generation
/// and hand out its number twice.
pub fn read_stored(log: &Log) -> Stored {
    let bytes = log
        .read(log.log_start_offset(), usize::MAX)
        .unwrap_or_default();
    let mut stored = Stored::default();
    for batch in batches(&bytes) {
        for r in &batch.records {
            let (Some(key), Some(value)) = (&r.key, &r.value) else {
                continue;
            };
            if let Some(group) = key.strip_prefix(b"group\0".as_slice()) {
                if let Ok(metadata) = serde_json::from_slice::<GroupMetadataValue>(value) {
                    let name = String::from_utf8_lossy(group).into_owned();
                    stored.groups.insert(name, metadata);
                }
                continue;
            }
            if let (Some(k), Some(offset)) = (
                parse_offset_key(key),
                std::str::from_utf8(value).ok().and_then(|v| v.parse().ok()),
            ) {
                stored.offsets.insert(k, offset);
            }
        }
    }
    stored
}

/// A group record of `generation` whose leader `c1-1` is its one member, owning `orders-0`;
/// without `members`, an empty group. (For tests.)
#[cfg(test)]
pub(crate) fn sample(generation: i32, members: bool) -> GroupMetadataValue {
    let member = MemberMetadata {
        member_id: "c1-1".into(),
        group_instance_id: None,
        session_timeout_ms: 45_000,
        rebalance_timeout_ms: 300_000,
        subscription: vec!["orders".into()],
        assignment: vec![TopicPartition::new("orders", 0)],
    };
    GroupMetadataValue {
        protocol_type: "consumer".into(),
        generation,
        protocol: "range".into(),
        leader: if members {
            "c1-1".into()
        } else {
            String::new()
        },
        members: if members { vec![member] } else { Vec::new() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: Java's `"".hashCode() == 0`, `"a".hashCode() == 97`, and Kafka's placement.
    #[test]
    fn groups_are_placed_like_kafka() {
        assert_eq!(java_hash(""), 0);
        assert_eq!(java_hash("a"), 97);
        assert_eq!(java_hash("ab"), 97 * 31 + 98);
        assert_eq!(partition_for_group("a", 50), 97 % 50);
        assert!((0..50).contains(&partition_for_group("some-group-with-a-long-name-xyz", 50)));
    }

    #[test]
    fn offset_keys_round_trip() {
        let tp = TopicPartition::new("orders", 3);
        assert_eq!(
            parse_offset_key(&offset_key("g", &tp)),
            Some(("g".to_string(), tp))
        );
        assert_eq!(parse_offset_key(b"other"), None);
    }

    /// The last record per key wins, as compaction keeps: the latest offset, the latest group.
    #[test]
    fn reading_back_keeps_the_last_offset_and_the_last_group_record() {
        let mut log = Log::new("__consumer_offsets-0", crate::log::LogConfig::default());
        let (a, b) = (
            TopicPartition::new("orders", 0),
            TopicPartition::new("orders", 1),
        );
        let mut ops = Vec::new();
        for batch in [
            commit_batch("billing", &[(a.clone(), 10), (b.clone(), 5)], Instant::ZERO),
            group_batch("billing", &sample(2, true), Instant::ZERO),
            group_batch("billing", &sample(3, true), Instant::ZERO),
            commit_batch("billing", &[(a.clone(), 42)], Instant::ZERO),
            group_batch("audit", &sample(1, true), Instant::ZERO),
        ] {
            log.append_as_leader(&batch, 0, &mut ops).unwrap();
        }
        let stored = read_stored(&log);
        assert_eq!(stored.groups.get("billing"), Some(&sample(3, true)));
        assert_eq!(stored.groups["audit"].generation, 1);
        assert_eq!(stored.offsets.get(&("billing".to_string(), a)), Some(&42));
        assert_eq!(stored.offsets.get(&("billing".to_string(), b)), Some(&5));
    }
}
