//! Narration of the connectors: the source's snapshot, stream and offsets, the sink's
//! table, each line from one traced event.

use super::{Entry, Timeline, offsets_text};
use crate::trace::{Kind, Line};
use kafkasim_core::actor::Event;
use kafkasim_core::connect::{sink, source};
use kafkasim_core::ids::TopicPartition;
use kafkasim_core::stage;
use kafkasim_core::time::Instant;

/// The change events one sink task read from one partition in one poll.
pub(super) struct SinkBatch {
    line: usize,
    node: String,
    at: Instant,
    partition: TopicPartition,
    first: i64,
    last: i64,
    applied: usize,
    skipped: usize,
}

impl Timeline<'_> {
    /// A line that is not the next event of the sink batch being read ends it.
    pub(super) fn end_sink_batch_unless_continued(&mut self, e: &Line) {
        let continues = match (&self.sink_batch, &e.kind) {
            (
                Some(b),
                Kind::Node {
                    event: Event::Sink(sink::Event::Consumed { partition, .. }),
                },
            ) => b.node == *e.node && b.at == e.time && b.partition == *partition,
            _ => false,
        };
        if !continues {
            self.end_sink_batch();
        }
    }

    /// Tell the batch if the sink skipped any of it: that is where at-least-once shows.
    pub(super) fn end_sink_batch(&mut self) {
        let Some(b) = self.sink_batch.take() else {
            return;
        };
        if b.skipped == 0 {
            return;
        }
        let text = format!(
            "{} reads {}@{}..{}: {} change events applied, {} skipped because their rows already hold a later LSN (redelivered, or older than a snapshot row)",
            b.node, b.partition, b.first, b.last, b.applied, b.skipped
        );
        let when = b.at.to_string();
        self.lines.push(Entry {
            line: b.line,
            when,
            text,
        });
    }

    fn consumed(
        &mut self,
        at: Instant,
        node: &str,
        partition: &TopicPartition,
        offset: i64,
        skipped: bool,
    ) {
        let batch = self.sink_batch.get_or_insert_with(|| SinkBatch {
            line: self.current,
            node: node.to_string(),
            at,
            partition: partition.clone(),
            first: offset,
            last: offset,
            applied: 0,
            skipped: 0,
        });
        batch.last = offset;
        if skipped {
            batch.skipped += 1;
        } else {
            batch.applied += 1;
        }
    }

    pub(super) fn source_event(&mut self, at: Instant, node: &str, event: &source::Event) {
        let line = match event {
            source::Event::Started { offsets } => match offsets.snapshot_lsn {
                _ if offsets.snapshot_completed => format!(
                    "{node} starts from its offsets file: Kafka acknowledged everything up to LSN {}",
                    offsets.lsn
                ),
                Some(lsn) => format!(
                    "{node} starts from its offsets file: a snapshot at LSN {lsn} was begun, not completed, so it snapshots again and streams from {lsn}"
                ),
                None if offsets.lsn.0 == 0 => format!("{node} starts with no offsets"),
                None => format!(
                    "{node} starts from its offsets file: Kafka acknowledged everything up to LSN {}",
                    offsets.lsn
                ),
            },
            source::Event::Connecting {
                phase: source::Phase::Snapshotting,
            } => format!("{node} asks for an initial snapshot"),
            source::Event::Connecting {
                phase: source::Phase::Streaming { start_lsn },
            } => {
                self.streams_shown.remove(node);
                format!("{node} sends START_REPLICATION from LSN {start_lsn}")
            }
            source::Event::Connecting { .. } => return,
            source::Event::SnapshotTaken { lsn, rows } => format!(
                "{node} takes the snapshot at LSN {lsn}: {rows} rows go to Kafka as op=r events"
            ),
            source::Event::TransactionSent {
                xid,
                end_lsn,
                records,
            } => {
                if !self.streams_shown.insert(node.to_string()) {
                    return;
                }
                format!(
                    "{node} hands transaction {xid} (ends at LSN {end_lsn}) to its producer: {records} change events and tombstones (the stream's next transactions follow unnarrated)"
                )
            }
            source::Event::OffsetsCommitted { offsets } => match offsets.snapshot_lsn {
                Some(lsn) if !offsets.snapshot_completed => format!(
                    "{node} syncs its offsets file with the snapshot's LSN {lsn}, before any of its rows is sent"
                ),
                _ => format!(
                    "{node} syncs its offsets file: Kafka acknowledged everything up to LSN {}",
                    offsets.lsn
                ),
            },
            source::Event::ConnectionLost { reason } => {
                format!("{node} loses its database connection ({reason}) and will reconnect")
            }
            source::Event::SchemaRegistered { subject, id } => {
                format!(
                    "{node}: the registry gives subject {subject} schema id {id}; its values carry that id"
                )
            }
            source::Event::TaskFailed { reason } => format!(
                "{node} FAILED: {reason}. It sends and confirms nothing more: every change since waits in the slot"
            ),
            source::Event::Restarted => {
                format!("{node} is restarted by an operator: it starts again from its offsets file")
            }
            source::Event::Acked(_) | source::Event::Producer { .. } => return,
        };
        self.push(at, line);
    }

    pub(super) fn sink_event(&mut self, at: Instant, node: &str, event: &sink::Event) {
        let line = match event {
            sink::Event::Loaded { rows, .. } => {
                format!(
                    "{node} loads {} keys of its table from its file",
                    rows.len()
                )
            }
            sink::Event::Consumed {
                partition,
                offset,
                outcome,
                ..
            } => {
                let skipped = matches!(outcome, sink::Outcome::Skipped { .. });
                return self.consumed(at, node, partition, *offset, skipped);
            }
            sink::Event::Rejected {
                partition,
                offset,
                reason,
            } => format!("{node} rejects {partition}@{offset}: {reason}"),
            sink::Event::Evolved { id, schema } => {
                let columns: Vec<String> = schema
                    .columns
                    .iter()
                    .map(|c| format!("{} {}", c.name, c.kind))
                    .collect();
                format!(
                    "{node} reads schema id {id} and evolves its table (auto.evolve): ({})",
                    columns.join(", ")
                )
            }
            sink::Event::TaskFailed { reason } => {
                format!("{node} FAILED: {reason}. It leaves its group and applies nothing more")
            }
            sink::Event::Flushed { offsets } => format!(
                "{node} syncs its table, then commits {}",
                offsets_text(offsets)
            ),
            sink::Event::Consumer { consumer } => return self.consumer_event(at, node, consumer),
        };
        self.push(at, line);
    }

    pub(super) fn stage_event(&mut self, at: Instant, node: &str, event: &stage::Event) {
        let line = match event {
            stage::Event::Loaded { totals } if !totals.is_empty() => format!(
                "{node} loads its state store: the totals of {} groups",
                totals.len()
            ),
            stage::Event::Processed {
                partition,
                first,
                last,
                produced,
                ..
            } => {
                if !self.streams_shown.insert(node.to_string()) {
                    return;
                }
                format!(
                    "{node} transforms {partition}@{first}..={last} and produces {produced} records (its next polls follow unnarrated)"
                )
            }
            stage::Event::Rejected {
                partition,
                offset,
                reason,
            } => format!("{node} skips {partition}@{offset}: {reason}"),
            stage::Event::Consumer { consumer } => return self.consumer_event(at, node, consumer),
            stage::Event::Loaded { .. }
            | stage::Event::Committing { .. }
            | stage::Event::Producer { .. } => return,
        };
        self.push(at, line);
    }
}
