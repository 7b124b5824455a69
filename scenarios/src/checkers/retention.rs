//! What retention promises, judged from the trace.
//!
//! - `retention-below-hw`: a replica deletes segments only below its own high watermark
//!   (Kafka's `deletableSegments` bound): its new log start offset is never above the high
//!   watermark the trace last showed for it. A consumer may not have read what lies above.
//!
//! The high watermark is the trace's own account of each replica — `HighWatermarkUpdated`,
//! a recovery's checkpointed value, a truncation's — not the bound the deletion names.

use crate::trace::Line;
use kafkasim_core::actor::Event;
use kafkasim_core::broker::events::{LogEvent, ReplicaEvent};
use kafkasim_core::ids::TopicPartition;
use kafkasim_core::time::Instant;
use kafkasim_sim::trace::TraceKind;
use std::collections::BTreeMap;

/// One deletion of segments by a replica.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deletion {
    /// When.
    pub time: Instant,
    /// The broker.
    pub node: String,
    /// The partition.
    pub partition: TopicPartition,
    /// The log start offset after it.
    pub log_start_offset: i64,
    /// The replica's high watermark as the trace last showed it.
    pub high_watermark: i64,
}

/// Every deletion in the trace, with the replica's high watermark at the time.
pub fn deletions(lines: &[Line]) -> Vec<Deletion> {
    let mut hw: BTreeMap<(&str, &TopicPartition), i64> = BTreeMap::new();
    let mut out = Vec::new();
    for line in lines {
        let TraceKind::Node { event } = &line.kind else {
            continue;
        };
        match event {
            Event::Replica(ReplicaEvent::HighWatermarkUpdated {
                partition,
                high_watermark,
            })
            | Event::Replica(ReplicaEvent::ReplicaTruncated {
                partition,
                high_watermark,
                ..
            })
            | Event::Log(LogEvent::Recovered {
                partition,
                high_watermark,
                ..
            }) => {
                hw.insert((&line.node, partition), *high_watermark);
            }
            Event::Log(LogEvent::SegmentsDeleted { partition, deleted }) => {
                out.push(Deletion {
                    time: line.time,
                    node: line.node.to_string(),
                    partition: partition.clone(),
                    log_start_offset: deleted.log_start_offset,
                    high_watermark: hw.get(&(&*line.node, partition)).copied().unwrap_or(0),
                });
            }
            _ => {}
        }
    }
    out
}

/// `retention-below-hw`.
pub fn retention_below_hw(h: &super::history::History) -> Vec<String> {
    h.deletions
        .iter()
        .filter(|d| d.log_start_offset > d.high_watermark)
        .map(|d| {
            format!(
                "at {} {} deleted {} up to offset {}, above its high watermark {}: records no consumer could read yet are gone",
                d.time, d.node, d.partition, d.log_start_offset, d.high_watermark
            )
        })
        .collect()
}
