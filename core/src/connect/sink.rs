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
//! With `value.converter` = the registry's `AvroConverter`, each record's framing names the
//! schema it was written with; the task asks the registry for an id it has not seen
//! (`GET /schemas/ids/{id}`), holding the records behind it until the answer comes, and
//! reads each row with its writer's schema. The table follows the schemas as a JDBC sink
//! with `auto.evolve` does: a new column is added with its default (every row held takes
//! it); beyond a JDBC sink, a column whose type changed is converted. An id the registry
//! does not know, or a value without the framing, fails the task with the converter's
//! error, as Connect fails it: it leaves the group and applies nothing more.
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
use crate::database::ddl;
use crate::database::heap::{Key, Row, Rows, TableSchema};
use crate::database::wal::Xid;
use crate::disk::{DiskOp, DiskToken};
use crate::ids::NodeId;
use crate::ids::TopicPartition;
use crate::node::{Boot, Input, Never, Vocabulary};
use crate::protocol::{GetSchemaByIdRequest, GetSchemaByIdResponse, Message};
use crate::registry::SchemaId;
use crate::time::{Duration, Instant};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::collections::VecDeque;

/// A sink connector's configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SinkConfig {
    /// `topics`: the change events read.
    pub topic: String,
    /// The table the events describe, and that the warehouse keeps.
    pub table: TableSchema,
    /// `value.converter.schema.registry.url` with the `AvroConverter`: the registry; none
    /// with the JSON converter.
    pub registry: Option<NodeId>,
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

/// The shared table several tasks' views make: every task's rows brought to the widest
/// definition any of them reached (the table a shared `auto.evolve` leaves), then merged.
pub fn merge_views<'a>(views: impl IntoIterator<Item = &'a SinkView> + Clone) -> WarehouseRows {
    let widest = views
        .clone()
        .into_iter()
        .filter_map(|v| v.schema.as_ref())
        .max_by_key(|s| s.columns.len());
    let Some(widest) = widest else {
        return merge(views.into_iter().map(|v| &v.rows));
    };
    let evolved: Vec<WarehouseRows> = views
        .into_iter()
        .map(|v| match &v.schema {
            Some(from) => evolve_rows(&v.rows, from, widest),
            None => v.rows.clone(),
        })
        .collect();
    merge(&evolved)
}

/// `row`, written with `from`, as a row of `to`: columns matched by name, a column `from`
/// lacks taking `to`'s default, a value of another type converted.
pub fn evolve(row: &Row, from: &TableSchema, to: &TableSchema) -> Result<Row, String> {
    to.columns
        .iter()
        .map(
            |c| match from.columns.iter().position(|f| f.name == c.name) {
                Some(i) => row
                    .get(i)
                    .ok_or_else(|| format!("the row has no column \"{}\"", c.name))
                    .and_then(|v| ddl::convert(v, c.kind)),
                None => c
                    .default
                    .clone()
                    .ok_or_else(|| format!("column \"{}\" has no default", c.name)),
            },
        )
        .collect()
}

fn evolve_rows(rows: &WarehouseRows, from: &TableSchema, to: &TableSchema) -> WarehouseRows {
    rows.iter()
        .map(|(k, r)| {
            let row = r
                .row
                .as_ref()
                .map(|row| evolve(row, from, to).unwrap_or_else(|_| row.clone()));
            let position = r.position;
            (*k, WarehouseRow { position, row })
        })
        .collect()
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
    /// A schema lookup unanswered this long is sent again.
    Registry,
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
        /// The table's definition, if it follows the registry's schemas.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        schema: Option<TableSchema>,
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
    /// The table's definition changed to follow a new schema (`auto.evolve`).
    Evolved {
        /// The schema id that brought it.
        id: SchemaId,
        /// The definition now.
        schema: TableSchema,
    },
    /// The task failed; it leaves the group and applies nothing more.
    TaskFailed {
        /// Connect's error.
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
    /// The table's definition, when it follows the registry's schemas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<TableSchema>,
    /// Whether the task failed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub failed: bool,
}

impl SinkView {
    /// What `event` changes of the view.
    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::Loaded { rows, schema } => {
                self.rows.clone_from(rows);
                if schema.is_some() {
                    self.schema.clone_from(schema);
                }
            }
            Event::Evolved { schema, .. } => {
                if let Some(from) = &self.schema {
                    self.rows = evolve_rows(&self.rows, from, schema);
                }
                self.schema = Some(schema.clone());
            }
            Event::TaskFailed { .. } => self.failed = true,
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
    /// The schemas the registry gave, as table definitions.
    schemas: BTreeMap<SchemaId, TableSchema>,
    /// Records held behind a schema lookup, in order.
    held: VecDeque<(TopicPartition, PolledRecord)>,
    /// The lookup in flight.
    resolving: Option<SchemaId>,
}

impl SinkConnector {
    /// Start: load the table from its file, subscribe.
    pub fn boot<C>(boot: &Boot<'_, C>, config: &SinkConfig, out: &mut Out) -> Self {
        let mut consumer_config = config.consumer.clone();
        if config.registry.is_some() {
            consumer_config.value_deserializer = crate::config::ValueDeserializer::RegistryFramed;
        }
        let consumer = Consumer::boot(boot, &consumer_config, &mut Embedded::new(out));
        let mut sink = SinkConnector {
            config: config.clone(),
            consumer,
            view: SinkView {
                table: config.table.name.clone(),
                rows: WarehouseRows::new(),
                schema: None,
                failed: false,
            },
            dirty: false,
            writing: None,
            flushed: Vec::new(),
            next_token: 0,
            schemas: BTreeMap::new(),
            held: VecDeque::new(),
            resolving: None,
        };
        let file = table_file(&config.table.name);
        if let Some(rows) = boot
            .disk
            .get(&file)
            .and_then(|b| serde_json::from_slice::<StoredRows>(b).ok())
        {
            let (rows, schema) = (rows.rows, rows.schema);
            sink.trace(Event::Loaded { rows, schema }, out);
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
        if self.view.failed {
            if let Input::Terminate = input {
                out.exit();
            }
            return;
        }
        match input {
            Input::Recv {
                from,
                msg: Message::GetSchemaByIdResponse(response),
            } if Some(from) == self.config.registry => self.on_schema(now, response, out),
            Input::Timer(Timer::Registry) => self.look_up_again(now, out),
            Input::Disconnected { peer } if Some(peer) == self.config.registry => {
                self.look_up_again(now, out)
            }
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
                    self.receive(now, &partition, record, out);
                }
            }
        }
    }

    /// Apply one polled record, unless the row already holds something as recent.
    fn consume(
        &mut self,
        partition: &TopicPartition,
        record: PolledRecord,
        writer: &TableSchema,
        out: &mut Out,
    ) {
        let offset = record.offset;
        // A tombstone (an empty value here) is for compaction; the delete came before it.
        let value = Some(record.value.as_str()).filter(|v| !v.is_empty());
        let event = match envelope::parse(writer, record.key.as_deref(), value) {
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
                let row = match (&event.after, &self.view.schema) {
                    (Some(after), Some(table)) => {
                        Some(evolve(after, writer, table).unwrap_or_else(|_| after.clone()))
                    }
                    (after, _) => after.clone(),
                };
                Outcome::Applied { row }
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
        // Held records are behind the consumer's positions: committing those would skip them.
        if self.writing.is_some() || offsets.is_empty() || !self.held.is_empty() {
            return;
        }
        if !self.dirty && offsets == self.flushed {
            return;
        }
        let file = table_file(&self.config.table.name);
        if self.dirty {
            let stored = StoredRows {
                rows: self.view.rows.clone(),
                schema: self.view.schema.clone(),
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    schema: Option<TableSchema>,
}

/// How long a schema lookup waits for its answer before it is sent again.
const REGISTRY_RETRY_MS: u64 = 10_000;

/// The converter: records read with their writer's schema, fetched from the registry.
impl SinkConnector {
    /// A polled record: applied now, or held behind a schema lookup (and behind anything
    /// already held, to keep the partition's order).
    fn receive(
        &mut self,
        now: Instant,
        partition: &TopicPartition,
        record: PolledRecord,
        out: &mut Out,
    ) {
        if self.config.registry.is_none() {
            let table = self.config.table.clone();
            return self.consume(partition, record, &table, out);
        }
        self.held.push_back((partition.clone(), record));
        self.release(now, out);
    }

    /// Apply held records in order until one needs a schema not yet known.
    fn release(&mut self, now: Instant, out: &mut Out) {
        while let Some((_, record)) = self.held.front() {
            if self.view.failed {
                return;
            }
            if record.value.is_empty() {
                self.held.pop_front(); // a tombstone: nothing to read
                continue;
            }
            let Some(id) = record.schema_id else {
                let topic = self.config.topic.clone();
                let reason = format!(
                    "Failed to deserialize data for topic {topic} to Avro: Unknown magic byte!"
                );
                return self.fail(now, reason, out);
            };
            let Some(writer) = self.schemas.get(&id).cloned() else {
                if self.resolving.is_none() {
                    self.look_up(now, id, out);
                }
                return;
            };
            let Some((partition, record)) = self.held.pop_front() else {
                return;
            };
            self.follow(id, &writer, out);
            self.consume(&partition, record, &writer, out);
        }
    }

    /// The table takes the columns `writer` has and it lacks, and the types `writer`
    /// gives them (`auto.evolve`).
    fn follow(&mut self, id: SchemaId, writer: &TableSchema, out: &mut Out) {
        let current = self.view.schema.clone().unwrap_or_else(|| writer.clone());
        let mut next = current.clone();
        for c in &writer.columns {
            match next.columns.iter_mut().find(|n| n.name == c.name) {
                Some(n) => n.kind = c.kind,
                None => next.columns.push(c.clone()),
            }
        }
        if self.view.schema.as_ref() != Some(&next) {
            self.dirty = true;
            self.trace(Event::Evolved { id, schema: next }, out);
        }
    }

    /// `GET /schemas/ids/{id}`.
    fn look_up(&mut self, now: Instant, id: SchemaId, out: &mut Out) {
        let Some(registry) = self.config.registry else {
            return;
        };
        out.send(
            registry,
            Message::GetSchemaByIdRequest(GetSchemaByIdRequest { id }),
        );
        out.set_timer(
            Timer::Registry,
            now + Duration::from_millis(REGISTRY_RETRY_MS),
        );
        self.resolving = Some(id);
    }

    fn look_up_again(&mut self, now: Instant, out: &mut Out) {
        if let Some(id) = self.resolving.take() {
            self.look_up(now, id, out);
        }
    }

    /// The registry's answer: read what waited for it, or fail the task.
    fn on_schema(&mut self, now: Instant, response: GetSchemaByIdResponse, out: &mut Out) {
        if self.resolving != Some(response.id) {
            return;
        }
        self.resolving = None;
        out.cancel_timer(Timer::Registry);
        let id = response.id;
        let table = response
            .result
            .map_err(|e| crate::registry::server::client_error(&e))
            .and_then(|schema| super::converter::table_schema(&schema));
        match table {
            Ok(table) => {
                self.schemas.insert(id, table);
                self.release(now, out);
            }
            Err(error) => {
                let reason = format!("Error retrieving Avro value schema for id {id}: {error}");
                self.fail(now, reason, out);
            }
        }
    }

    /// The task fails: it leaves the group (its partitions go to the other tasks) and
    /// applies nothing more; its table keeps what it last synced.
    fn fail(&mut self, now: Instant, reason: String, out: &mut Out) {
        self.held.clear();
        self.drive(now, Input::Terminate, out);
        self.trace(Event::TaskFailed { reason }, out);
    }
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

    /// A sink task reading registry-framed values from partition 0 of `shop.public.orders`.
    fn framed_sink() -> (SinkConnector, crate::node::Outbox<Vocab>) {
        let config = SinkConfig {
            topic: "shop.public.orders".into(),
            table: crate::database::heap::orders_schema(),
            registry: Some(NodeId(9)),
            consumer: ConsumerConfig::default(),
            offset_flush_interval_ms: 1000,
            deploy_at: Instant::from_millis(60_000),
        };
        let disk = crate::disk::DiskImage::new();
        let boot = Boot {
            id: NodeId(5),
            now: Instant::ZERO,
            incarnation: 0,
            config: &config,
            disk: &disk,
            prng: crate::prng::Prng::derive(1, "sink", 0),
        };
        let mut out = crate::node::Outbox::new();
        let sink = SinkConnector::boot(&boot, &config, out.writer());
        (sink, out)
    }

    fn record(offset: i64, schema_id: Option<SchemaId>, value: &str) -> PolledRecord {
        PolledRecord {
            offset,
            key: Some(r#"{"id":1}"#.into()),
            value: value.into(),
            schema_id,
        }
    }

    fn failure(out: &crate::node::Outbox<Vocab>) -> Option<String> {
        crate::testkit::traces(out)
            .into_iter()
            .find_map(|e| match e {
                Event::TaskFailed { reason } => Some(reason.clone()),
                _ => None,
            })
    }

    /// A record naming a schema id the registry does not know fails the task with the
    /// converter's error and the registry's code, as does a value without the framing; a
    /// known id is fetched once and the record waits for it.
    #[test]
    fn an_unknown_schema_id_fails_the_task_clearly() {
        let tp = TopicPartition::new("shop.public.orders", 0);
        let (mut sink, _) = framed_sink();
        let mut out = crate::node::Outbox::new();
        sink.receive(Instant::ZERO, &tp, record(0, Some(9), "{}"), out.writer());
        let asked = crate::testkit::sends(&out);
        assert!(
            matches!(
                asked[..],
                [(
                    NodeId(9),
                    Message::GetSchemaByIdRequest(GetSchemaByIdRequest { id: 9 })
                )]
            ),
            "{asked:?}"
        );
        assert_eq!(sink.held.len(), 1, "the record waits for its schema");
        let mut out = crate::node::Outbox::new();
        let response = GetSchemaByIdResponse {
            id: 9,
            result: Err(crate::registry::RegistryError::SchemaNotFound { id: 9 }),
        };
        sink.on_schema(Instant::ZERO, response, out.writer());
        assert_eq!(
            failure(&out).as_deref(),
            Some(
                "Error retrieving Avro value schema for id 9: Schema 9 not found; error code: 40403"
            )
        );
        assert!(sink.view().failed);

        let (mut sink, _) = framed_sink();
        let mut out = crate::node::Outbox::new();
        sink.receive(
            Instant::ZERO,
            &tp,
            record(0, None, "{\"op\":\"c\"}"),
            out.writer(),
        );
        assert!(failure(&out).is_some_and(|r| r.ends_with("Unknown magic byte!")));
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
