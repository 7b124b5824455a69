//! The broker's offset checkpoint files, one offset per partition:
//! - `replication-offset-checkpoint`: each partition's high watermark, saved every
//!   `replica.high.watermark.checkpoint.interval.ms` (5000). Before KIP-101 a restarted
//!   follower truncated its log to this value — which is how it could lose acknowledged
//!   records.
//! - `recovery-point-offset-checkpoint`: each log's recovery point (everything below it was
//!   fsynced), saved every `log.flush.offset.checkpoint.interval.ms` (60000) and at a clean
//!   shutdown. After a crash, recovery scans the log from the segment holding it, not from
//!   the start.
//!
//! Format (Kafka's `OffsetCheckpointFile`): a version line `0`, a count line, then
//! `topic partition offset` lines.

use crate::ids::TopicPartition;
use std::collections::BTreeMap;

/// The high watermarks' file in the broker's data directory.
pub const HIGH_WATERMARKS: &str = "replication-offset-checkpoint";

/// The recovery points' file in the broker's data directory.
pub const RECOVERY_POINTS: &str = "recovery-point-offset-checkpoint";

/// The file's bytes.
pub fn encode(offsets: &BTreeMap<TopicPartition, i64>) -> Vec<u8> {
    let mut text = format!("0\n{}\n", offsets.len());
    for (tp, offset) in offsets {
        text.push_str(&format!("{} {} {}\n", tp.topic, tp.partition, offset));
    }
    text.into_bytes()
}

/// Parse the file; anything unreadable yields no entry (recovery then starts from zero).
pub fn parse(bytes: &[u8]) -> BTreeMap<TopicPartition, i64> {
    let text = String::from_utf8_lossy(bytes);
    let mut lines = text.lines();
    if lines.next() != Some("0") {
        return BTreeMap::new();
    }
    let _count = lines.next();
    lines
        .filter_map(|line| {
            let mut parts = line.split_whitespace();
            let topic = parts.next()?;
            let partition = parts.next()?.parse().ok()?;
            let offset = parts.next()?.parse().ok()?;
            Some((TopicPartition::new(topic, partition), offset))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let offsets: BTreeMap<TopicPartition, i64> = [
            (TopicPartition::new("orders", 0), 57),
            (TopicPartition::new("orders", 1), 3),
        ]
        .into();
        let bytes = encode(&offsets);
        assert_eq!(bytes, b"0\n2\norders 0 57\norders 1 3\n");
        assert_eq!(parse(&bytes), offsets);
        assert!(parse(b"garbage").is_empty());
    }
}
