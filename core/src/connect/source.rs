//! A CDC source connector for the database, in the spirit of Debezium's PostgreSQL
//! connector: an initial snapshot, then the logical replication slot's stream, each row
//! change written to Kafka as a change event ([`envelope`](super::envelope)), keyed by
//! primary key, one topic per table (`<topic.prefix>.public.<table>`), a tombstone after
//! each delete (`tombstones.on.delete`).
//!
//! What it promises, and how:
//! - **nothing acknowledged by the database is skipped**: the connector's offsets — the
//!   end of the last transaction whose every event Kafka acknowledged — are written to its
//!   offsets file every `offset.flush.interval.ms`, and only once that file is synced does it
//!   confirm the slot (*Standby status update*), so the slot never moves past an event
//!   Kafka could still be missing. After its own crash it streams again from its file;
//!   after the database's crash, from the later of its file and the slot.
//! - **the snapshot and the stream meet exactly**: the snapshot's rows are consistent with
//!   one LSN, saved in the offsets file before any row is sent; the stream starts after it.
//!   A snapshot interrupted by a crash is taken again, and the stream still starts after
//!   the *first* snapshot's LSN, so a row deleted between the two snapshots is deleted
//!   downstream too.
//! - **at-least-once**: events sent but not yet confirmed are sent again after a restart or
//!   a reconnection; a sink absorbs them by source LSN.
//!
//! The producer is the project's own, with Kafka Connect's settings for source tasks
//! (`acks=all`, idempotence, `delivery.timeout.ms` without end). `kafkasim.bug.confirm.before.ack`
//! turns the promise off on purpose: the connector saves its offsets and confirms the slot
//! as soon as it hands a transaction's events to the producer — a crash before Kafka
//! acknowledged them loses them for good.
//!
//! With `value.converter` = the registry's `AvroConverter` ([`converter`](super::converter)),
//! every table definition an event is written with is registered first
//! (`POST /subjects/<topic>-value/versions`), and values carry the registry's framing with
//! the id it gave. A definition the registry refuses fails the task, as Connect fails a task
//! whose converter throws: nothing more is sent and the slot is confirmed no further, so
//! every change since waits in the WAL until an operator restarts the task
//! ([`Command::Restart`]).
//!
//! Simplified: one task; no heartbeats to the slot; a producer failure restarts the stream
//! from the last acknowledged transaction, as a restarted task would.

use super::Embedded;
use super::converter;
use super::envelope::{self, Context, Op, Source};
use crate::client::producer::{self, Producer};
use crate::config::ProducerConfig;
use crate::database::RowChange;
use crate::database::decoding::DecodedTxn;
use crate::database::heap::{Key, TableSchema, key_of};
use crate::database::wal::{Lsn, Xid};
use crate::disk::{DiskOp, DiskToken};
use crate::ids::{NodeId, TopicPartition};
use crate::node::{Boot, Input, Never, Vocabulary};
use crate::protocol::{
    Message, RegisterSchemaRequest, RegisterSchemaResponse, SnapshotQuery, SnapshotResult,
    StandbyStatusUpdate, StartReplication,
};
use crate::registry::SchemaId;
use crate::registry::compatibility::RecordSchema;
use crate::time::{Duration, Instant};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// `snapshot.mode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotMode {
    /// Snapshot once, when no offsets say it was done (Debezium's default).
    #[default]
    Initial,
    /// Stream only.
    Never,
}

/// A source connector's configuration, by Debezium's and Connect's names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceConfig {
    /// `database.hostname`: the database.
    pub database: NodeId,
    /// `slot.name`. Debezium's default `debezium`.
    pub slot_name: String,
    /// `topic.prefix`, also `source.name` in the events.
    pub topic_prefix: String,
    /// `table.include.list`, resolved to the tables' definitions when the connector is
    /// created (events are written with the definitions the database sends).
    pub tables: Vec<TableSchema>,
    /// `value.converter.schema.registry.url` with the `AvroConverter`: the registry; none
    /// with the JSON converter.
    pub registry: Option<NodeId>,
    /// `snapshot.mode`.
    pub snapshot_mode: SnapshotMode,
    /// `tombstones.on.delete`. Default true.
    pub tombstones_on_delete: bool,
    /// `offset.flush.interval.ms`. Connect's default 60000.
    pub offset_flush_interval_ms: u64,
    /// `retriable.restart.connector.wait.ms`: the wait before connecting again after the
    /// database went away. Default 10000.
    pub retriable_restart_connector_wait_ms: u64,
    /// `status.update.interval.ms`: how often the stream tells the database where it
    /// stands, also when nothing moved — which is how a restarted database is noticed
    /// (its kernel resets the old connection). Default 10000.
    pub status_update_interval_ms: u64,
    /// The worker's producer.
    pub producer: ProducerConfig,
    /// `kafkasim.bug.confirm.before.ack`: confirm before Kafka acknowledged. Default false.
    pub confirm_before_ack: bool,
    /// When the connector is created on its worker (before it, a started task waits).
    pub deploy_at: Instant,
}

/// What the offsets file holds (`offset.storage.file.filename`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceOffsets {
    /// The first snapshot's LSN: the stream starts after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_lsn: Option<Lsn>,
    /// Whether every snapshot row was acknowledged.
    pub snapshot_completed: bool,
    /// Every transaction ending at or before it was acknowledged.
    pub lsn: Lsn,
}

/// The offsets file.
pub const OFFSETS_FILE: &str = "connect-offsets";

/// The connector's named deadlines.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Timer {
    /// Its producer's.
    Producer(producer::Timer),
    /// Time to connect to the database again.
    Reconnect,
    /// `offset.flush.interval.ms`.
    OffsetFlush,
    /// `status.update.interval.ms`.
    StatusUpdate,
    /// A registration unanswered this long is sent again.
    Registry,
}

/// How long a registration waits for its answer before it is sent again.
const REGISTRY_RETRY_MS: u64 = 10_000;

/// What an operator tells a connector through Connect's REST API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// `POST /connectors/<name>/restart?includeTasks=true`: a failed task starts again from
    /// its committed offsets.
    Restart,
}

impl From<producer::Timer> for Timer {
    fn from(t: producer::Timer) -> Self {
        Timer::Producer(t)
    }
}

/// What the connector does with the database.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Phase {
    /// Waiting to connect (again).
    Waiting,
    /// The snapshot's query is out.
    Snapshotting,
    /// Streaming the slot from `start_lsn`.
    Streaming {
        /// Where the stream started.
        start_lsn: Lsn,
    },
    /// The task failed (its converter could not serialize an event): it sends nothing and
    /// confirms nothing until restarted.
    Failed,
}

/// Where an event went, and what it was.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckedEvent {
    /// The change's LSN (for a snapshot row, the snapshot's).
    pub lsn: Lsn,
    /// Its transaction (none for a snapshot row).
    pub xid: Option<Xid>,
    /// What happened to the row; none for a tombstone.
    pub op: Option<Op>,
    /// The row's primary key.
    pub key: Key,
    /// The partition it was written to.
    pub partition: TopicPartition,
    /// Its offset there.
    pub offset: Option<i64>,
    /// The registry's id of the schema its value was written with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_id: Option<SchemaId>,
}

/// What a source connector records in the trace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The connector started with these offsets from its file.
    Started {
        /// What the file said (all empty on a first start).
        offsets: SourceOffsets,
    },
    /// It asked the database for a snapshot, or for the stream.
    Connecting {
        /// What it does next.
        phase: Phase,
    },
    /// The snapshot's rows arrived; they go to Kafka as `r` events.
    SnapshotTaken {
        /// The LSN they are consistent with.
        lsn: Lsn,
        /// How many rows.
        rows: usize,
    },
    /// A transaction of the stream was handed to the producer.
    TransactionSent {
        /// Its transaction id.
        xid: Xid,
        /// The end of its commit record.
        end_lsn: Lsn,
        /// How many records (events and tombstones).
        records: usize,
    },
    /// Kafka acknowledged an event: its LSN next to its offset.
    Acked(AckedEvent),
    /// The offsets file was synced with these offsets; the slot is confirmed up to `lsn`.
    OffsetsCommitted {
        /// What the file holds now.
        offsets: SourceOffsets,
    },
    /// The database connection is gone (or refused); the connector waits and connects again.
    ConnectionLost {
        /// Why.
        reason: String,
    },
    /// The registry gave the id of a table definition's schema.
    SchemaRegistered {
        /// The subject.
        subject: String,
        /// The id.
        id: SchemaId,
    },
    /// The task failed; it waits for an operator's restart.
    TaskFailed {
        /// Connect's error.
        reason: String,
    },
    /// An operator restarted the task.
    Restarted,
    /// Its producer's.
    Producer {
        /// The producer's event.
        producer: producer::Event,
    },
}

impl From<producer::Event> for Event {
    fn from(producer: producer::Event) -> Self {
        Event::Producer { producer }
    }
}

/// The words a source connector speaks.
#[derive(Debug)]
pub enum Vocab {}

impl Vocabulary for Vocab {
    type Msg = Message;
    type Timer = Timer;
    type Event = Event;
    type Reply = Never;
    type Command = Command;
}

type Out<'a> = dyn crate::node::Out<Vocab> + 'a;

/// What a source connector lets the world see.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceView {
    /// What it is doing with the database.
    pub phase: Phase,
    /// Its offsets file.
    pub committed: SourceOffsets,
    /// The last event Kafka acknowledged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_acked: Option<AckedEvent>,
}

impl SourceView {
    /// A connector that has just started, before it reads its file.
    pub fn started() -> Self {
        SourceView {
            phase: Phase::Waiting,
            committed: SourceOffsets::default(),
            last_acked: None,
        }
    }

    /// What `event` changes of the view.
    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::Started { offsets } | Event::OffsetsCommitted { offsets } => {
                self.committed = *offsets;
            }
            Event::Connecting { phase } => self.phase = *phase,
            Event::ConnectionLost { .. } | Event::Restarted => self.phase = Phase::Waiting,
            Event::TaskFailed { .. } => self.phase = Phase::Failed,
            Event::Acked(acked) => self.last_acked = Some(acked.clone()),
            Event::SnapshotTaken { .. }
            | Event::TransactionSent { .. }
            | Event::SchemaRegistered { .. }
            | Event::Producer { .. } => {}
        }
    }
}

/// What a group of records stands for: the snapshot, or one transaction.
#[derive(Debug)]
enum UnitKind {
    Snapshot,
    Transaction { end_lsn: Lsn },
}

/// Records handed to the producer together, and those still unacknowledged.
#[derive(Debug)]
struct Unit {
    kind: UnitKind,
    unacked: BTreeSet<u64>,
}

/// One record in the producer.
#[derive(Debug)]
struct InFlight {
    unit: u64,
    lsn: Lsn,
    xid: Option<Xid>,
    op: Option<Op>,
    key: Key,
    schema_id: Option<SchemaId>,
}

/// What arrived from the database and waits to be sent: behind a schema registration, or
/// behind what came before it.
#[derive(Debug)]
enum Work {
    Snapshot(SnapshotResult),
    Transaction(DecodedTxn),
}

/// One record to hand to the producer.
struct Outgoing {
    topic: String,
    key: String,
    value: Option<String>,
    schema_id: Option<SchemaId>,
}

/// A CDC source connector.
#[derive(Debug)]
pub struct SourceConnector {
    config: SourceConfig,
    producer: Producer,
    view: SourceView,
    /// What the file holds.
    durable: SourceOffsets,
    /// What Kafka acknowledged: the next flush writes it.
    acked: SourceOffsets,
    /// A write of the file in flight.
    writing: Option<(DiskToken, SourceOffsets)>,
    /// A snapshot waiting for its LSN to be in the file.
    held_snapshot: Option<SnapshotResult>,
    /// Units in the order sent, by number.
    units: VecDeque<(u64, Unit)>,
    in_flight: BTreeMap<u64, InFlight>,
    /// The end of the last transaction handed to the producer.
    streamed: Lsn,
    /// What waits to be sent, in order.
    queue: VecDeque<Work>,
    /// The ids the registry gave: (subject, schema, id).
    schema_ids: Vec<(String, RecordSchema, SchemaId)>,
    /// The registration in flight.
    registering: Option<(String, RecordSchema)>,
    next_record: u64,
    next_unit: u64,
    next_token: u64,
}

impl SourceConnector {
    /// Start: read the offsets file, then connect.
    pub fn boot<C>(boot: &Boot<'_, C>, config: &SourceConfig, out: &mut Out) -> Self {
        let offsets: SourceOffsets = boot
            .disk
            .get(OFFSETS_FILE)
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or_default();
        let producer = Producer::boot(boot, &config.producer, &mut Embedded::new(out));
        let mut c = SourceConnector {
            config: config.clone(),
            producer,
            view: SourceView::started(),
            durable: offsets,
            acked: offsets,
            writing: None,
            held_snapshot: None,
            units: VecDeque::new(),
            in_flight: BTreeMap::new(),
            streamed: offsets.lsn,
            queue: VecDeque::new(),
            schema_ids: Vec::new(),
            registering: None,
            next_record: 0,
            next_unit: 0,
            next_token: 0,
        };
        c.trace(Event::Started { offsets }, out);
        if boot.now < c.config.deploy_at {
            out.set_timer(Timer::Reconnect, c.config.deploy_at);
        } else {
            c.connect(out);
        }
        out.set_timer(Timer::OffsetFlush, boot.now + c.flush_interval());
        let status = Duration::from_millis(c.config.status_update_interval_ms);
        out.set_timer(Timer::StatusUpdate, boot.now + status);
        c
    }

    /// What the world may see.
    pub fn view(&self) -> SourceView {
        self.view.clone()
    }

    fn flush_interval(&self) -> Duration {
        Duration::from_millis(self.config.offset_flush_interval_ms)
    }

    fn trace(&mut self, event: Event, out: &mut Out) {
        self.view.apply(&event);
        out.trace(event);
    }

    /// Handle one input.
    pub fn step(&mut self, now: Instant, input: Input<Vocab>, out: &mut Out) {
        match input {
            Input::Recv { from, msg } if from == self.config.database => {
                self.on_database(now, msg, out)
            }
            Input::Recv {
                from,
                msg: Message::RegisterSchemaResponse(response),
            } if Some(from) == self.config.registry => self.on_registered(now, response, out),
            Input::Recv { from, msg } => self.drive(now, Input::Recv { from, msg }, out),
            Input::Timer(Timer::Producer(t)) => self.drive(now, Input::Timer(t), out),
            // A failed task waits for its operator, not for a timer.
            Input::Timer(Timer::Reconnect) if self.view.phase == Phase::Failed => {}
            Input::Timer(Timer::Reconnect) => self.connect(out),
            Input::Timer(Timer::Registry) => self.register_again(now, out),
            Input::Timer(Timer::OffsetFlush) => {
                self.flush_offsets(out);
                out.set_timer(Timer::OffsetFlush, now + self.flush_interval());
            }
            Input::Timer(Timer::StatusUpdate) => {
                self.confirm(out);
                let interval = Duration::from_millis(self.config.status_update_interval_ms);
                out.set_timer(Timer::StatusUpdate, now + interval);
            }
            Input::DiskDone { token, .. } => self.on_synced(now, token, out),
            Input::Disconnected { peer } if peer == self.config.database => {
                self.lose_connection(now, "the database connection was reset".into(), out)
            }
            Input::Disconnected { peer } if Some(peer) == self.config.registry => {
                self.register_again(now, out)
            }
            Input::Disconnected { peer } => self.drive(now, Input::Disconnected { peer }, out),
            // Stopped, it sends nothing more: what was not flushed is sent again next time.
            Input::Terminate => out.exit(),
            Input::Command(Command::Restart) => self.restart(out),
        }
    }

    /// Step the producer, then act on its delivery callbacks.
    fn drive(&mut self, now: Instant, input: Input<producer::Vocab>, out: &mut Out) {
        let mut embedded = Embedded::<Vocab, producer::Vocab>::new(out);
        self.producer.step(now, input, &mut embedded);
        let replies = std::mem::take(&mut embedded.replies);
        for reply in replies {
            self.on_delivery(now, reply, out);
        }
    }

    /// Snapshot if no snapshot completed, else stream from the acknowledged position.
    fn connect(&mut self, out: &mut Out) {
        self.units.clear();
        self.in_flight.clear();
        self.held_snapshot = None;
        self.queue.clear();
        self.registering = None;
        let database = self.config.database;
        if self.config.snapshot_mode == SnapshotMode::Initial && !self.acked.snapshot_completed {
            let tables = self.config.tables.iter().map(|t| t.name.clone()).collect();
            out.send(database, Message::SnapshotQuery(SnapshotQuery { tables }));
            self.trace(
                Event::Connecting {
                    phase: Phase::Snapshotting,
                },
                out,
            );
            return;
        }
        let start_lsn = if self.acked.snapshot_completed {
            self.acked.lsn
        } else {
            self.acked
                .lsn
                .max(self.acked.snapshot_lsn.unwrap_or(Lsn(0)))
        };
        self.start_streaming(start_lsn, out);
    }

    fn start_streaming(&mut self, start_lsn: Lsn, out: &mut Out) {
        self.streamed = start_lsn;
        let slot = self.config.slot_name.clone();
        let start = StartReplication { slot, start_lsn };
        out.send(self.config.database, Message::StartReplication(start));
        self.trace(
            Event::Connecting {
                phase: Phase::Streaming { start_lsn },
            },
            out,
        );
    }

    fn lose_connection(&mut self, now: Instant, reason: String, out: &mut Out) {
        if matches!(self.view.phase, Phase::Waiting | Phase::Failed) {
            return;
        }
        self.trace(Event::ConnectionLost { reason }, out);
        let wait = Duration::from_millis(self.config.retriable_restart_connector_wait_ms);
        out.set_timer(Timer::Reconnect, now + wait);
    }

    fn on_database(&mut self, now: Instant, msg: Message, out: &mut Out) {
        match msg {
            Message::SnapshotResult(result) if self.view.phase == Phase::Snapshotting => {
                if self.acked.snapshot_lsn.is_none() {
                    // The stream will start after the first snapshot: that LSN must be on
                    // disk before any of its rows reaches Kafka.
                    self.acked.snapshot_lsn = Some(result.lsn);
                    self.held_snapshot = Some(result);
                    self.flush_offsets(out);
                } else {
                    self.enqueue(now, Work::Snapshot(result), out);
                }
            }
            Message::XLogData(data) if matches!(self.view.phase, Phase::Streaming { .. }) => {
                self.enqueue(now, Work::Transaction(data.txn), out);
            }
            Message::ReplicationError(e) => self.lose_connection(now, e.message, out),
            _ => {}
        }
    }

    /// Hand every snapshot row to the producer as an `r` event, then start the stream
    /// after the first snapshot's LSN.
    fn send_snapshot(&mut self, now: Instant, result: SnapshotResult, out: &mut Out) {
        let rows: usize = result.tables.values().map(|r| r.len()).sum();
        self.trace(
            Event::SnapshotTaken {
                lsn: result.lsn,
                rows,
            },
            out,
        );
        let unit = self.open_unit(UnitKind::Snapshot);
        let source = Source {
            lsn: result.lsn,
            xid: None,
        };
        for schema in self.snapshot_schemas(&result) {
            for row in result
                .tables
                .get(&schema.name)
                .into_iter()
                .flat_map(|r| r.values())
            {
                let cx = self.context(&schema, source, now);
                let (key, value) = envelope::read_event(cx, row);
                let record = self.outgoing(&schema, key, Some(value));
                let meta = (unit, source, Some(Op::Read), key_of(row));
                self.send(now, meta, record, out);
            }
        }
        self.complete_units(out);
        let start = self.acked.snapshot_lsn.unwrap_or(result.lsn);
        self.start_streaming(start, out);
    }

    /// The included tables' definitions as the snapshot read them.
    fn snapshot_schemas(&self, result: &SnapshotResult) -> Vec<TableSchema> {
        self.config
            .tables
            .iter()
            .map(|t| {
                let read = result.schemas.iter().find(|s| s.name == t.name);
                read.unwrap_or(t).clone()
            })
            .collect()
    }

    fn context<'a>(&'a self, schema: &'a TableSchema, source: Source, now: Instant) -> Context<'a> {
        Context {
            prefix: &self.config.topic_prefix,
            schema,
            source,
            ts_ms: now.as_millis(),
        }
    }

    /// A record of `table`'s topic, framed with its schema's id when there is a registry.
    fn outgoing(&self, table: &TableSchema, key: String, value: Option<String>) -> Outgoing {
        let topic = envelope::topic(&self.config.topic_prefix, &table.name);
        let schema_id = self.config.registry.and_then(|_| {
            let (subject, schema) = self.subject_and_schema(table);
            self.schema_id(&subject, &schema)
        });
        debug_assert!(
            self.config.registry.is_none() || schema_id.is_some(),
            "a record is sent only once its schema is registered"
        );
        Outgoing {
            topic,
            key,
            value,
            schema_id,
        }
    }

    fn subject_and_schema(&self, table: &TableSchema) -> (String, RecordSchema) {
        let topic = envelope::topic(&self.config.topic_prefix, &table.name);
        let schema = converter::value_schema(&self.config.topic_prefix, table);
        (converter::value_subject(&topic), schema)
    }

    fn schema_id(&self, subject: &str, schema: &RecordSchema) -> Option<SchemaId> {
        self.schema_ids
            .iter()
            .find(|(s, r, _)| s == subject && r == schema)
            .map(|(_, _, id)| *id)
    }

    /// Hand a transaction's events (and tombstones) to the producer.
    fn send_transaction(&mut self, now: Instant, txn: &DecodedTxn, out: &mut Out) {
        if txn.end_lsn <= self.streamed {
            return; // already sent on this stream
        }
        self.streamed = txn.end_lsn;
        let unit = self.open_unit(UnitKind::Transaction {
            end_lsn: txn.end_lsn,
        });
        let mut records = 0;
        for (lsn, change, schema) in txn.changes_with_schemas() {
            let Some(schema) = schema.filter(|s| self.includes(&s.name)) else {
                continue;
            };
            let source = Source {
                lsn,
                xid: Some(txn.xid),
            };
            let Some((key, value)) =
                envelope::change_event(self.context(&schema, source, now), change)
            else {
                continue;
            };
            let Some((op, row_key)) = op_and_key(change) else {
                continue;
            };
            let record = self.outgoing(&schema, key.clone(), Some(value));
            self.send(now, (unit, source, Some(op), row_key), record, out);
            records += 1;
            if op == Op::Delete && self.config.tombstones_on_delete {
                let tombstone = self.outgoing(&schema, key, None);
                self.send(now, (unit, source, None, row_key), tombstone, out);
                records += 1;
            }
        }
        self.trace(
            Event::TransactionSent {
                xid: txn.xid,
                end_lsn: txn.end_lsn,
                records,
            },
            out,
        );
        if self.config.confirm_before_ack {
            // The bug: count the transaction as delivered now, and say so to the slot.
            if let Some((_, u)) = self.units.back_mut() {
                u.unacked.clear();
            }
            self.complete_units(out);
            self.flush_offsets(out);
        } else {
            self.complete_units(out);
        }
    }

    fn includes(&self, table: &str) -> bool {
        self.config.tables.iter().any(|t| t.name == table)
    }

    fn open_unit(&mut self, kind: UnitKind) -> u64 {
        let n = self.next_unit;
        self.next_unit += 1;
        let unit = Unit {
            kind,
            unacked: BTreeSet::new(),
        };
        self.units.push_back((n, unit));
        n
    }

    /// `send()` one record of `unit`.
    fn send(
        &mut self,
        now: Instant,
        (unit, source, op, key): (u64, Source, Option<Op>, Key),
        record: Outgoing,
        out: &mut Out,
    ) {
        let record_id = self.next_record;
        self.next_record += 1;
        if let Some((_, u)) = self.units.iter_mut().find(|(n, _)| *n == unit) {
            u.unacked.insert(record_id);
        }
        let flight = InFlight {
            unit,
            lsn: source.lsn,
            xid: source.xid,
            op,
            key,
            schema_id: record.schema_id,
        };
        self.in_flight.insert(record_id, flight);
        let command = producer::Command::Send {
            record_id,
            topic: record.topic,
            key: Some(record.key),
            value: record.value,
            schema_id: record.schema_id,
        };
        self.drive(now, Input::Command(command), out);
    }

    /// A delivery callback of the producer.
    fn on_delivery(&mut self, now: Instant, reply: producer::Reply, out: &mut Out) {
        match reply {
            producer::Reply::Acked {
                record_id,
                partition,
                offset,
            } => {
                let Some(f) = self.in_flight.remove(&record_id) else {
                    return; // from before a reconnection: it will come again
                };
                if let Some((_, u)) = self.units.iter_mut().find(|(n, _)| *n == f.unit) {
                    u.unacked.remove(&record_id);
                }
                let acked = AckedEvent {
                    lsn: f.lsn,
                    xid: f.xid,
                    op: f.op,
                    key: f.key,
                    partition,
                    offset,
                    schema_id: f.schema_id,
                };
                self.trace(Event::Acked(acked), out);
                self.complete_units(out);
            }
            producer::Reply::Failed {
                record_id, error, ..
            } => {
                if self.in_flight.remove(&record_id).is_some() {
                    // The task fails and restarts: everything after the last acknowledged
                    // transaction is sent again.
                    let reason = format!("the producer failed a record: {error}");
                    self.lose_connection(now, reason, out);
                }
            }
        }
    }

    /// Every unit at the front whose records are all acknowledged moves the offsets on.
    fn complete_units(&mut self, _out: &mut Out) {
        while self
            .units
            .front()
            .is_some_and(|(_, u)| u.unacked.is_empty())
        {
            let Some((_, unit)) = self.units.pop_front() else {
                break;
            };
            match unit.kind {
                UnitKind::Snapshot => {
                    self.acked.snapshot_completed = true;
                    self.acked.lsn = self
                        .acked
                        .lsn
                        .max(self.acked.snapshot_lsn.unwrap_or(Lsn(0)));
                }
                UnitKind::Transaction { end_lsn } => {
                    self.acked.lsn = self.acked.lsn.max(end_lsn);
                }
            }
        }
    }

    /// Write and sync the offsets file if it is behind.
    fn flush_offsets(&mut self, out: &mut Out) {
        if self.writing.is_some() || self.acked == self.durable {
            return;
        }
        let offsets = self.acked;
        out.disk(DiskOp::Replace {
            file: OFFSETS_FILE.to_string(),
            bytes: serde_json::to_vec(&offsets).expect("offsets serialise"),
        });
        let token = DiskToken(self.next_token);
        self.next_token += 1;
        out.disk(DiskOp::Sync {
            file: OFFSETS_FILE.to_string(),
            token,
        });
        self.writing = Some((token, offsets));
    }

    /// The offsets file is synced: confirm the slot, release a held snapshot.
    fn on_synced(&mut self, now: Instant, token: DiskToken, out: &mut Out) {
        let Some((t, offsets)) = self.writing else {
            return;
        };
        if t != token {
            return;
        }
        self.writing = None;
        self.durable = offsets;
        self.trace(Event::OffsetsCommitted { offsets }, out);
        // A held snapshot goes first: it opens the replication connection, which the
        // confirmation (a keepalive or a status update) then travels on — sent before it,
        // it would reach a server that no longer knows this client (the snapshot query is
        // answered) and be refused.
        if let Some(result) = self.held_snapshot.take()
            && self.view.phase == Phase::Snapshotting
        {
            self.enqueue(now, Work::Snapshot(result), out);
        }
        self.confirm(out);
        self.flush_offsets(out);
    }
}

impl SourceConnector {
    /// While streaming, tell the database how far the offsets file reaches (a *Standby
    /// status update*), so the slot may move on. Before the snapshot completed, the slot
    /// must stay where the stream will start. Waiting for the snapshot, probe the
    /// connection: a database that restarted meanwhile would never answer.
    fn confirm(&mut self, out: &mut Out) {
        if matches!(self.view.phase, Phase::Waiting | Phase::Failed) {
            return;
        }
        let offsets = self.durable;
        let confirmable =
            offsets.snapshot_completed || self.config.snapshot_mode == SnapshotMode::Never;
        if self.view.phase == Phase::Snapshotting && self.snapshot_in_hand() {
            return; // nothing is awaited from the database: nothing to probe
        }
        if !confirmable || self.view.phase == Phase::Snapshotting {
            return out.send(self.config.database, Message::TcpKeepalive);
        }
        let update = StandbyStatusUpdate {
            slot: self.config.slot_name.clone(),
            flush_lsn: offsets.lsn,
        };
        out.send(self.config.database, Message::StandbyStatusUpdate(update));
    }
}

fn op_and_key(change: &RowChange) -> Option<(Op, Key)> {
    Some(match change {
        RowChange::Insert { row, .. } => (Op::Create, key_of(row)),
        RowChange::Update { row, .. } => (Op::Update, key_of(row)),
        RowChange::Delete { key, .. } => (Op::Delete, *key),
        RowChange::Alter { .. } => return None,
    })
}

/// The queue of work and the schema registrations it waits for.
impl SourceConnector {
    /// `work` arrived from the database: it goes out after what came before it.
    fn enqueue(&mut self, now: Instant, work: Work, out: &mut Out) {
        self.queue.push_back(work);
        self.pump(now, out);
    }

    /// Send what waits, in order, until something needs a schema not yet registered.
    fn pump(&mut self, now: Instant, out: &mut Out) {
        while let Some(work) = self.queue.front() {
            if let Some(missing) = self.missing_schema(work) {
                if self.registering.is_none() {
                    self.register(now, missing, out);
                }
                return;
            }
            match self.queue.pop_front() {
                Some(Work::Snapshot(result)) => self.send_snapshot(now, result, out),
                Some(Work::Transaction(txn)) => self.send_transaction(now, &txn, out),
                None => return,
            }
        }
    }

    /// The first (subject, schema) `work` writes with that the registry has not given an
    /// id for; none without a registry.
    fn missing_schema(&self, work: &Work) -> Option<(String, RecordSchema)> {
        self.config.registry?;
        let tables: Vec<TableSchema> = match work {
            Work::Snapshot(result) => self.snapshot_schemas(result),
            Work::Transaction(txn) => txn
                .changes_with_schemas()
                .into_iter()
                .filter(|(_, change, _)| !matches!(change, RowChange::Alter { .. }))
                .filter_map(|(_, _, schema)| schema)
                .filter(|s| self.includes(&s.name))
                .collect(),
        };
        tables
            .iter()
            .map(|t| self.subject_and_schema(t))
            .find(|(subject, schema)| self.schema_id(subject, schema).is_none())
    }

    /// `POST /subjects/{subject}/versions`.
    fn register(&mut self, now: Instant, (subject, schema): (String, RecordSchema), out: &mut Out) {
        let Some(registry) = self.config.registry else {
            return;
        };
        let request = RegisterSchemaRequest {
            subject: subject.clone(),
            schema: schema.clone(),
        };
        out.send(registry, Message::RegisterSchemaRequest(request));
        out.set_timer(
            Timer::Registry,
            now + Duration::from_millis(REGISTRY_RETRY_MS),
        );
        self.registering = Some((subject, schema));
    }

    /// The registration went unanswered, or its connection was reset: ask again.
    fn register_again(&mut self, now: Instant, out: &mut Out) {
        if let Some(pending) = self.registering.take() {
            self.register(now, pending, out);
        }
    }

    /// The registry's answer: go on with the id, or fail the task with the reason.
    fn on_registered(&mut self, now: Instant, response: RegisterSchemaResponse, out: &mut Out) {
        let asked = (response.subject.clone(), response.schema.clone());
        if self.registering.as_ref() != Some(&asked) {
            return; // an answer to a request sent before a restart
        }
        self.registering = None;
        out.cancel_timer(Timer::Registry);
        match response.result {
            Ok(id) => {
                let subject = response.subject;
                self.schema_ids.push((subject.clone(), response.schema, id));
                self.trace(Event::SchemaRegistered { subject, id }, out);
                self.pump(now, out);
            }
            Err(error) => {
                let topic = response.subject.trim_end_matches("-value");
                let reason = format!(
                    "Failed to serialize Avro data from topic {topic}: {}",
                    crate::registry::server::client_error(&error)
                );
                self.fail(reason, out);
            }
        }
    }

    /// Whether the snapshot's rows have arrived (held for the offsets file, or queued
    /// behind a schema registration).
    fn snapshot_in_hand(&self) -> bool {
        self.held_snapshot.is_some() || self.queue.iter().any(|w| matches!(w, Work::Snapshot(_)))
    }

    /// The task fails: nothing more is sent or confirmed; what Kafka acknowledged stays
    /// committed, everything after it waits in the slot.
    fn fail(&mut self, reason: String, out: &mut Out) {
        out.cancel_timer(Timer::Reconnect);
        self.queue.clear();
        self.units.clear();
        self.in_flight.clear();
        self.trace(Event::TaskFailed { reason }, out);
    }

    /// An operator restarts the task: a new task instance, from the committed offsets.
    fn restart(&mut self, out: &mut Out) {
        self.acked = self.durable;
        self.trace(Event::Restarted, out);
        self.connect(out);
    }
}
