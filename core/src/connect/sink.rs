//! A sink connector that keeps a "warehouse" table current from a topic of change events,
//! in the spirit of a JDBC sink in upsert mode.
//!
//! It is a consumer in group `connect-<name>` with `enable.auto.commit=false`: each polled
//! change event is applied to the table by primary key — an upsert for `c`, `u` and `r`, a
//! delete for `d` — unless the row already holds something at least as recent by source
//! LSN ([`Position`]): then the event is a duplicate of at-least-once delivery, or older than
//! a snapshot, and changes nothing. Every `offset.flush.interval.ms` the table is written to
//! its file and synced, and only then are the consumed offsets committed, so a crash never
//! commits past what the table durably holds: it replays from the committed offsets, and
//! the LSN guard absorbs what it had already applied.
//!
//! Several sink tasks (nodes) of one connector share one warehouse table, as JDBC sink
//! tasks do; each node keeps the rows it wrote, and the table is, per key, the row of the
//! highest position any of them wrote ([`merge`]) — what `INSERT .. ON CONFLICT DO UPDATE
//! .. WHERE excluded.lsn > t.lsn` leaves in a shared table. A deleted row is remembered
//! with its position (a tombstone row), so that an older insert delivered late cannot bring
//! it back.
//!
//! Simplified: Kafka tombstones (the null value after each delete) are ignored, since the
//! delete event before them carries the delete with its position. On a compacted topic that
//! event goes once the cleaner sees its tombstone, so a sink that falls further behind than
//! `min.compaction.lag.ms` can miss a delete; a JDBC sink with `delete.enabled` applies the
//! tombstone instead, but a tombstone names no LSN for this sink's guard to order.

use super::Embedded;
use super::envelope::{self, Op, Position};
use crate::client::consumer::{self, Consumer, PolledRecord};
use crate::config::ConsumerConfig;
use crate::database::heap::{Key, Row, Rows, TableSchema};
use crate::database::wal::Xid;
use crate::disk::{DiskOp, DiskToken};
use crate::ids::TopicPartition;
use crate::node::{Boot, Input, Never, Vocabulary};
use crate::protocol::Message;
use crate::time::{Duration, Instant};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A sink connector's configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SinkConfig {
    /// `topics`: the change events read.
    pub topic: String,
    /// The table the events describe, and that the warehouse keeps.
    pub table: TableSchema,
    /// The task's consumer (`group.id` = `connect-<name>`, no auto-commit).
    pub consumer: ConsumerConfig,
    /// `offset.flush.interval.ms`. Connect's default 60000.
    pub offset_flush_interval_ms: u64,
    /// When the connector is created on its worker (before it, a started task waits).
    pub deploy_at: Instant,
}

/// One row of the warehouse: where it stands, and its values (none: deleted).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarehouseRow {
    /// The position of the event that wrote it.
    pub position: Position,
    /// Its values; none once deleted.
    pub row: Option<Row>,
}

/// A warehouse table: every key ever written, by primary key.
pub type WarehouseRows = BTreeMap<Key, WarehouseRow>;

/// The live rows of `rows`.
pub fn live(rows: &WarehouseRows) -> Rows {
    rows.iter()
        .filter_map(|(k, r)| r.row.clone().map(|row| (*k, row)))
        .collect()
}

/// The shared table several tasks make: per key, the row of the highest position.
pub fn merge<'a>(tasks: impl IntoIterator<Item = &'a WarehouseRows>) -> WarehouseRows {
    let mut table = WarehouseRows::new();
    for rows in tasks {
        for (key, r) in rows {
            if table.get(key).is_none_or(|t| t.position < r.position) {
                table.insert(*key, r.clone());
            }
        }
    }
    table
}

/// The table's file.
pub fn table_file(table: &str) -> String {
    format!("warehouse/{table}")
}

/// The sink's named deadlines.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Timer {
    /// Its consumer's.
    Consumer(consumer::Timer),
    /// `offset.flush.interval.ms`.
    OffsetFlush,
    /// The connector is created: subscribe.
    Deploy,
}

impl From<consumer::Timer> for Timer {
    fn from(t: consumer::Timer) -> Self {
        Timer::Consumer(t)
    }
}

/// What happened to one polled event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Written to the table.
    Applied {
        /// The row now (none: deleted).
        row: Option<Row>,
    },
    /// The table already held this or a later position of the row: a duplicate, absorbed.
    Skipped {
        /// What the row held.
        held: Position,
    },
}

/// What a sink records in the trace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The task started with its table as its file held it.
    Loaded {
        /// The rows (deleted ones included, with their positions).
        #[serde(with = "rows_as_list")]
        rows: WarehouseRows,
    },
    /// A change event was polled.
    Consumed {
        /// Where it was read.
        partition: TopicPartition,
        /// Its offset.
        offset: i64,
        /// The row's key.
        key: Key,
        /// What happened to the row.
        op: Op,
        /// Its position.
        position: Position,
        /// Its transaction (none for a snapshot row).
        xid: Option<Xid>,
        /// What the sink did with it.
        outcome: Outcome,
    },
    /// A record that is not a change event of the table (errors.tolerance=all: skipped).
    Rejected {
        /// Where it was read.
        partition: TopicPartition,
        /// Its offset.
        offset: i64,
        /// Why.
        reason: String,
    },
    /// The table was synced to its file; these offsets are being committed.
    Flushed {
        /// (partition, next offset to read).
        offsets: Vec<(TopicPartition, i64)>,
    },
    /// Its consumer's.
    Consumer {
        /// The consumer's event.
        consumer: consumer::Event,
    },
}

impl From<consumer::Event> for Event {
    fn from(consumer: consumer::Event) -> Self {
        Event::Consumer { consumer }
    }
}

/// Rows as a list of `[key, position, row]`, in key order.
pub mod rows_as_list {
    use super::{WarehouseRow, WarehouseRows};
    use crate::connect::envelope::Position;
    use crate::database::heap::{Key, Row};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Write the rows as a list.
    pub fn serialize<S: Serializer>(rows: &WarehouseRows, s: S) -> Result<S::Ok, S::Error> {
        let list: Vec<(Key, Position, &Option<Row>)> =
            rows.iter().map(|(k, r)| (*k, r.position, &r.row)).collect();
        list.serialize(s)
    }

    /// Read the rows back.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<WarehouseRows, D::Error> {
        let list = Vec::<(Key, Position, Option<Row>)>::deserialize(d)?;
        Ok(list
            .into_iter()
            .map(|(k, position, row)| (k, WarehouseRow { position, row }))
            .collect())
    }
}

/// The words a sink speaks.
#[derive(Debug)]
pub enum Vocab {}

impl Vocabulary for Vocab {
    type Msg = Message;
    type Timer = Timer;
    type Event = Event;
    type Reply = Never;
    type Command = Never;
}

type Out<'a> = dyn crate::node::Out<Vocab> + 'a;

/// What a sink lets the world see: its rows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SinkView {
    /// The table's name.
    pub table: String,
    /// Every key it wrote.
    #[serde(with = "rows_as_list")]
    pub rows: WarehouseRows,
}

impl SinkView {
    /// What `event` changes of the view.
    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::Loaded { rows } => self.rows.clone_from(rows),
            Event::Consumed {
                key,
                position,
                outcome: Outcome::Applied { row },
                ..
            } => {
                let row = WarehouseRow {
                    position: *position,
                    row: row.clone(),
                };
                self.rows.insert(*key, row);
            }
            _ => {}
        }
    }
}

/// A sink connector's task.
#[derive(Debug)]
pub struct SinkConnector {
    config: SinkConfig,
    consumer: Consumer,
    view: SinkView,
    /// Whether the table changed since its last write.
    dirty: bool,
    /// A write in flight, and the offsets it makes safe to commit.
    writing: Option<(DiskToken, Vec<(TopicPartition, i64)>)>,
    /// The offsets of the last flush.
    flushed: Vec<(TopicPartition, i64)>,
    next_token: u64,
}

impl SinkConnector {
    /// Start: load the table from its file, subscribe.
    pub fn boot<C>(boot: &Boot<'_, C>, config: &SinkConfig, out: &mut Out) -> Self {
        let consumer = Consumer::boot(boot, &config.consumer, &mut Embedded::new(out));
        let mut sink = SinkConnector {
            config: config.clone(),
            consumer,
            view: SinkView {
                table: config.table.name.clone(),
                rows: WarehouseRows::new(),
            },
            dirty: false,
            writing: None,
            flushed: Vec::new(),
            next_token: 0,
        };
        let file = table_file(&config.table.name);
        if let Some(rows) = boot
            .disk
            .get(&file)
            .and_then(|b| serde_json::from_slice::<StoredRows>(b).ok())
        {
            sink.trace(Event::Loaded { rows: rows.rows }, out);
        }
        if boot.now < config.deploy_at {
            out.set_timer(Timer::Deploy, config.deploy_at);
        } else {
            sink.subscribe(boot.now, out);
        }
        let flush = Duration::from_millis(config.offset_flush_interval_ms);
        out.set_timer(Timer::OffsetFlush, boot.now + flush);
        sink
    }

    fn subscribe(&mut self, now: Instant, out: &mut Out) {
        let topic = self.config.topic.clone();
        let subscribe = consumer::Command::Subscribe { topic };
        self.drive(now, Input::Command(subscribe), out);
    }

    /// What the world may see.
    pub fn view(&self) -> SinkView {
        self.view.clone()
    }

    fn trace(&mut self, event: Event, out: &mut Out) {
        self.view.apply(&event);
        out.trace(event);
    }

    /// Handle one input.
    pub fn step(&mut self, now: Instant, input: Input<Vocab>, out: &mut Out) {
        match input {
            Input::Recv { from, msg } => self.drive(now, Input::Recv { from, msg }, out),
            Input::Timer(Timer::Consumer(t)) => self.drive(now, Input::Timer(t), out),
            Input::Timer(Timer::Deploy) => self.subscribe(now, out),
            Input::Timer(Timer::OffsetFlush) => {
                self.flush(out);
                let flush = Duration::from_millis(self.config.offset_flush_interval_ms);
                out.set_timer(Timer::OffsetFlush, now + flush);
            }
            Input::DiskDone { token, .. } => self.on_synced(now, token, out),
            Input::Disconnected { peer } => self.drive(now, Input::Disconnected { peer }, out),
            // Its consumer closes (leaving the group) on the way out.
            Input::Terminate => {
                self.drive(now, Input::Terminate, out);
                out.exit();
            }
            Input::Command(never) => match never {},
        }
    }

    /// Step the consumer, then process what it returned.
    fn drive(&mut self, now: Instant, input: Input<consumer::Vocab>, out: &mut Out) {
        let mut embedded = Embedded::<Vocab, consumer::Vocab>::new(out);
        self.consumer.step(now, input, &mut embedded);
        let replies = std::mem::take(&mut embedded.replies);
        for reply in replies {
            if let consumer::Reply::Polled {
                partition, records, ..
            } = reply
            {
                for record in records {
                    self.consume(&partition, record, out);
                }
            }
        }
    }

    /// Apply one polled record, unless the row already holds something as recent.
    fn consume(&mut self, partition: &TopicPartition, record: PolledRecord, out: &mut Out) {
        let offset = record.offset;
        // A tombstone (an empty value here) is for compaction; the delete came before it.
        let value = Some(record.value.as_str()).filter(|v| !v.is_empty());
        let event = match envelope::parse(&self.config.table, record.key.as_deref(), value) {
            Ok(Some(event)) => event,
            Ok(None) => return,
            Err(e) => {
                let (partition, reason) = (partition.clone(), e.0);
                return self.trace(
                    Event::Rejected {
                        partition,
                        offset,
                        reason,
                    },
                    out,
                );
            }
        };
        let position = event.position();
        let outcome = match self.view.rows.get(&event.key) {
            Some(held) if held.position >= position => Outcome::Skipped {
                held: held.position,
            },
            _ => {
                self.dirty = true;
                Outcome::Applied {
                    row: event.after.clone(),
                }
            }
        };
        let consumed = Event::Consumed {
            partition: partition.clone(),
            offset,
            key: event.key,
            op: event.op,
            position,
            xid: event.source.xid,
            outcome,
        };
        self.trace(consumed, out);
    }

    /// Write and sync the table, then commit the consumer's positions: every record below
    /// them is in this table (records are applied as they are polled) or, read before a
    /// rebalance by another task, in that task's table, synced before it committed.
    fn flush(&mut self, out: &mut Out) {
        let offsets: Vec<(TopicPartition, i64)> = self
            .consumer
            .positions()
            .iter()
            .map(|(tp, o)| (tp.clone(), *o))
            .collect();
        if self.writing.is_some() || offsets.is_empty() {
            return;
        }
        if !self.dirty && offsets == self.flushed {
            return;
        }
        let file = table_file(&self.config.table.name);
        if self.dirty {
            let stored = StoredRows {
                rows: self.view.rows.clone(),
            };
            out.disk(DiskOp::Replace {
                file: file.clone(),
                bytes: serde_json::to_vec(&stored).expect("rows serialise"),
            });
            self.dirty = false;
        }
        let token = DiskToken(self.next_token);
        self.next_token += 1;
        out.disk(DiskOp::Sync { file, token });
        self.writing = Some((token, offsets));
    }

    fn on_synced(&mut self, now: Instant, token: DiskToken, out: &mut Out) {
        let Some((t, _)) = &self.writing else { return };
        if *t != token {
            return;
        }
        let Some((_, offsets)) = self.writing.take() else {
            return;
        };
        self.flushed.clone_from(&offsets);
        self.trace(
            Event::Flushed {
                offsets: offsets.clone(),
            },
            out,
        );
        self.drive(
            now,
            Input::Command(consumer::Command::Commit { offsets }),
            out,
        );
    }
}

/// The table's file.
#[derive(Serialize, Deserialize)]
struct StoredRows {
    #[serde(with = "rows_as_list")]
    rows: WarehouseRows,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::database::heap::Value;
    use crate::database::wal::Lsn;

    fn at(lsn: u64, change: bool, row: Option<Row>) -> WarehouseRow {
        WarehouseRow {
            position: Position {
                lsn: Lsn(lsn),
                change,
            },
            row,
        }
    }

    #[test]
    fn the_shared_table_keeps_the_latest_write_of_every_key() {
        let ada = || Some(vec![Value::Int(1), Value::Text("ada".into())]);
        let bob = || Some(vec![Value::Int(1), Value::Text("bob".into())]);
        let a: WarehouseRows = [(1, at(10, true, ada())), (2, at(5, true, None))].into();
        let b: WarehouseRows = [(1, at(20, true, bob())), (2, at(4, true, ada()))].into();
        let merged = merge([&a, &b]);
        assert_eq!(merged[&1].row, bob());
        assert_eq!(
            merged[&2].row, None,
            "a delete is not undone by an older insert"
        );
        assert_eq!(live(&merged).len(), 1);
        // At one LSN, the change record comes after the snapshot's row.
        assert!(at(7, false, None).position < at(7, true, None).position);
    }
}
