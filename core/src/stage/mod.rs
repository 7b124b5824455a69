//! A stream-processing stage: a consumer-group application that reads change events from one
//! topic, transforms them ([`transform`]: filter or aggregate) and writes the result to
//! another — the "raw → clean → aggregated" steps of a pipeline, in the spirit of a Kafka
//! Streams application with `processing.guarantee=at_least_once`.
//!
//! It embeds the project's own consumer (group `<application.id>`, no auto-commit) and
//! producer (`acks=all`, idempotent), like the connectors ([`crate::connect`]). Every
//! `commit.interval.ms` it commits — but only once every record it produced is acknowledged
//! and its state store (the aggregate's rows and totals, `state/<application.id>`) is synced:
//! a crash then replays from the committed offsets onto a state at least as recent, whose
//! position guard absorbs what was already counted. What was produced after the last commit
//! may be produced again: downstream, a compacted topic or a sink guarded by source LSN
//! absorbs it.
//!
//! Simplified: one input and one output topic; the state store is a file written whole
//! rather than RocksDB with a changelog topic (a restarted stage finds its own disk, as a
//! Streams instance with a persistent state directory does); no standby replicas.

pub mod transform;

use crate::client::consumer::{self, Consumer, PolledRecord};
use crate::client::producer::{self, Producer};
use crate::config::{ConsumerConfig, ProducerConfig};
use crate::connect::Embedded;
use crate::connect::envelope;
use crate::database::heap::TableSchema;
use crate::disk::{DiskOp, DiskToken};
use crate::ids::TopicPartition;
use crate::node::{Boot, Input, Never, Vocabulary};
use crate::protocol::Message;
use crate::time::{Duration, Instant};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use transform::{StageState, Totals, Transform};

/// A stage's configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageConfig {
    /// `application.id`: its group and its state store's name.
    pub application_id: String,
    /// The topic read.
    pub input: String,
    /// The topic written.
    pub output: String,
    /// The table whose change events the input carries.
    pub table: TableSchema,
    /// `source.name` of the delete events a filter writes (the input's topic prefix).
    pub source_name: String,
    /// What it does.
    pub transform: Transform,
    /// `commit.interval.ms`. Kafka Streams' default 30000 (at-least-once).
    pub commit_interval_ms: u64,
    /// Its consumer.
    pub consumer: ConsumerConfig,
    /// Its producer.
    pub producer: ProducerConfig,
    /// When the application starts (before it, a started node waits).
    pub deploy_at: Instant,
}

/// The stage's named deadlines.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Timer {
    /// Its consumer's.
    Consumer(consumer::Timer),
    /// Its producer's.
    Producer(producer::Timer),
    /// `commit.interval.ms`.
    Commit,
    /// The application starts: subscribe.
    Deploy,
}

impl From<consumer::Timer> for Timer {
    fn from(t: consumer::Timer) -> Self {
        Timer::Consumer(t)
    }
}

impl From<producer::Timer> for Timer {
    fn from(t: producer::Timer) -> Self {
        Timer::Producer(t)
    }
}

/// What a stage records in the trace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// It started with its state store as its file held it.
    Loaded {
        /// Each group's totals (an aggregate's).
        totals: BTreeMap<String, Totals>,
    },
    /// It transformed one poll's records of a partition.
    Processed {
        /// The partition read.
        partition: TopicPartition,
        /// The first offset.
        first: i64,
        /// The last offset.
        last: i64,
        /// How many records it produced for them.
        produced: usize,
        /// The groups whose totals changed, with their totals now (an aggregate's).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        totals: Vec<(String, Totals)>,
    },
    /// A record of the input was not a change event of the table: skipped.
    Rejected {
        /// Where it was read.
        partition: TopicPartition,
        /// Its offset.
        offset: i64,
        /// Why.
        reason: String,
    },
    /// Everything produced is acknowledged and the state store synced: these offsets are
    /// being committed.
    Committing {
        /// (partition, next offset to read).
        offsets: Vec<(TopicPartition, i64)>,
    },
    /// Its consumer's.
    Consumer {
        /// The consumer's event.
        consumer: consumer::Event,
    },
    /// Its producer's.
    Producer {
        /// The producer's event.
        producer: producer::Event,
    },
}

impl From<consumer::Event> for Event {
    fn from(consumer: consumer::Event) -> Self {
        Event::Consumer { consumer }
    }
}

impl From<producer::Event> for Event {
    fn from(producer: producer::Event) -> Self {
        Event::Producer { producer }
    }
}

/// The words a stage speaks.
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

/// What a stage lets the world see.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageView {
    /// Each group's totals (an aggregate's), as its state store holds them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub totals: BTreeMap<String, Totals>,
    /// Input records transformed since it started.
    pub processed: u64,
}

impl StageView {
    /// What `event` changes of the view.
    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::Loaded { totals } => self.totals.clone_from(totals),
            Event::Processed {
                first,
                last,
                totals,
                ..
            } => {
                self.processed += (last - first + 1).max(0) as u64;
                self.totals.extend(totals.iter().cloned());
            }
            _ => {}
        }
    }
}

/// The state store's file.
pub fn state_file(application_id: &str) -> String {
    format!("state/{application_id}")
}

/// A stage.
#[derive(Debug)]
pub struct Stage {
    config: StageConfig,
    consumer: Consumer,
    producer: Producer,
    state: StageState,
    view: StageView,
    dirty: bool,
    /// Records produced and not yet acknowledged.
    in_flight: BTreeSet<u64>,
    /// A sync of the state store in flight, and the offsets it makes safe to commit.
    writing: Option<(DiskToken, Vec<(TopicPartition, i64)>)>,
    committed: Vec<(TopicPartition, i64)>,
    next_record: u64,
    next_token: u64,
}

impl Stage {
    /// Start: load the state store, subscribe (at `deploy_at`).
    pub fn boot<C>(boot: &Boot<'_, C>, config: &StageConfig, out: &mut Out) -> Self {
        let consumer = Consumer::boot(boot, &config.consumer, &mut Embedded::new(out));
        let producer = Producer::boot(boot, &config.producer, &mut Embedded::new(out));
        let state: StageState = boot
            .disk
            .get(&state_file(&config.application_id))
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or_default();
        let mut stage = Stage {
            config: config.clone(),
            consumer,
            producer,
            view: StageView::default(),
            dirty: false,
            in_flight: BTreeSet::new(),
            writing: None,
            committed: Vec::new(),
            next_record: 0,
            next_token: 0,
            state,
        };
        let totals = stage.state.totals.clone();
        stage.trace(Event::Loaded { totals }, out);
        if boot.now < config.deploy_at {
            out.set_timer(Timer::Deploy, config.deploy_at);
        } else {
            stage.subscribe(boot.now, out);
        }
        out.set_timer(Timer::Commit, boot.now + stage.commit_interval());
        stage
    }

    fn commit_interval(&self) -> Duration {
        Duration::from_millis(self.config.commit_interval_ms)
    }

    fn subscribe(&mut self, now: Instant, out: &mut Out) {
        let topic = self.config.input.clone();
        self.consume(
            now,
            Input::Command(consumer::Command::Subscribe { topic }),
            out,
        );
    }

    /// What the world may see.
    pub fn view(&self) -> StageView {
        self.view.clone()
    }

    fn trace(&mut self, event: Event, out: &mut Out) {
        self.view.apply(&event);
        out.trace(event);
    }

    /// Handle one input.
    pub fn step(&mut self, now: Instant, input: Input<Vocab>, out: &mut Out) {
        match input {
            // Its two clients share the node's connections, and so one sequence of
            // correlation ids: a response goes to the client that sent its request.
            Input::Recv { from, msg } if self.producer.awaits(msg.correlation_id()) => {
                self.produce(now, Input::Recv { from, msg }, out)
            }
            Input::Recv { from, msg } => self.consume(now, Input::Recv { from, msg }, out),
            Input::Timer(Timer::Consumer(t)) => self.consume(now, Input::Timer(t), out),
            Input::Timer(Timer::Producer(t)) => self.produce(now, Input::Timer(t), out),
            Input::Timer(Timer::Deploy) => self.subscribe(now, out),
            Input::Timer(Timer::Commit) => {
                self.commit(out);
                out.set_timer(Timer::Commit, now + self.commit_interval());
            }
            Input::DiskDone { token, .. } => self.on_synced(now, token, out),
            Input::Disconnected { peer } => {
                self.consume(now, Input::Disconnected { peer }, out);
                self.produce(now, Input::Disconnected { peer }, out);
            }
            Input::Terminate => {
                self.consume(now, Input::Terminate, out);
                out.exit();
            }
            Input::Command(never) => match never {},
        }
    }

    /// Step the consumer, then transform what it polled.
    fn consume(&mut self, now: Instant, input: Input<consumer::Vocab>, out: &mut Out) {
        let mut embedded = Embedded::<Vocab, consumer::Vocab>::new(out);
        self.consumer
            .continue_correlation_sequence(self.producer.correlation_sequence());
        self.consumer.step(now, input, &mut embedded);
        self.producer
            .continue_correlation_sequence(self.consumer.correlation_sequence());
        let replies = std::mem::take(&mut embedded.replies);
        for reply in replies {
            if let consumer::Reply::Polled {
                partition, records, ..
            } = reply
            {
                self.process(now, &partition, records, out);
            }
        }
    }

    /// Step the producer, then count what it acknowledged.
    fn produce(&mut self, now: Instant, input: Input<producer::Vocab>, out: &mut Out) {
        let mut embedded = Embedded::<Vocab, producer::Vocab>::new(out);
        self.producer
            .continue_correlation_sequence(self.consumer.correlation_sequence());
        self.producer.step(now, input, &mut embedded);
        self.consumer
            .continue_correlation_sequence(self.producer.correlation_sequence());
        for reply in std::mem::take(&mut embedded.replies) {
            match reply {
                producer::Reply::Acked { record_id, .. } => {
                    self.in_flight.remove(&record_id);
                }
                // Retried without end (delivery.timeout.ms): a failure is the producer's
                // event in the trace; the offsets are not committed past it.
                producer::Reply::Failed { .. } => {}
            }
        }
    }

    /// Transform one poll's records of `partition` and hand the results to the producer.
    fn process(
        &mut self,
        now: Instant,
        partition: &TopicPartition,
        records: Vec<PolledRecord>,
        out: &mut Out,
    ) {
        let (Some(first), Some(last)) = (records.first(), records.last()) else {
            return;
        };
        let (first, last) = (first.offset, last.offset);
        let mut produced = 0;
        let mut touched: BTreeSet<String> = BTreeSet::new();
        for record in records {
            let outputs = self.transform(partition, &record, now, out);
            for o in outputs {
                if let Some(group) = self.group_of(&o.key) {
                    touched.insert(group);
                }
                self.send(now, o, out);
                produced += 1;
            }
        }
        let totals = touched
            .into_iter()
            .filter_map(|g| Some((g.clone(), *self.state.totals.get(&g)?)))
            .collect();
        self.trace(
            Event::Processed {
                partition: partition.clone(),
                first,
                last,
                produced,
                totals,
            },
            out,
        );
    }

    /// The group an aggregate's output key names.
    fn group_of(&self, key: &str) -> Option<String> {
        let Transform::Aggregate { group_by, .. } = &self.config.transform else {
            return None;
        };
        let json: serde_json::Value = serde_json::from_str(key).ok()?;
        json.get(group_by)?.as_str().map(str::to_string)
    }

    fn transform(
        &mut self,
        partition: &TopicPartition,
        record: &PolledRecord,
        now: Instant,
        out: &mut Out,
    ) -> Vec<transform::Output> {
        let key = record.key.as_deref();
        // A tombstone (empty here) is for compaction: a filter passes it on, an aggregate
        // has counted the delete before it.
        if record.value.is_empty() {
            return match (&self.config.transform, key) {
                (Transform::Filter { .. }, Some(k)) => vec![transform::Output {
                    key: k.to_string(),
                    value: None,
                }],
                _ => Vec::new(),
            };
        }
        let event = match envelope::parse(&self.config.table, key, Some(&record.value)) {
            Ok(Some(event)) => event,
            Ok(None) => return Vec::new(),
            Err(e) => {
                let (partition, offset, reason) = (partition.clone(), record.offset, e.0);
                self.trace(
                    Event::Rejected {
                        partition,
                        offset,
                        reason,
                    },
                    out,
                );
                return Vec::new();
            }
        };
        self.dirty |= matches!(self.config.transform, Transform::Aggregate { .. });
        let input = (key.unwrap_or_default(), record.value.as_str());
        let context = (self.config.source_name.as_str(), now.as_millis());
        self.state.apply(
            &self.config.transform,
            &self.config.table,
            input,
            &event,
            context,
        )
    }

    fn send(&mut self, now: Instant, output: transform::Output, out: &mut Out) {
        let record_id = self.next_record;
        self.next_record += 1;
        self.in_flight.insert(record_id);
        let command = producer::Command::Send {
            record_id,
            topic: self.config.output.clone(),
            key: Some(output.key),
            value: output.value,
            schema_id: None,
        };
        self.produce(now, Input::Command(command), out);
    }

    /// Commit, once everything produced is acknowledged: sync the state store first if it
    /// changed, then commit the positions it covers.
    fn commit(&mut self, out: &mut Out) {
        let offsets: Vec<(TopicPartition, i64)> = self
            .consumer
            .positions()
            .iter()
            .map(|(tp, o)| (tp.clone(), *o))
            .collect();
        if self.writing.is_some() || !self.in_flight.is_empty() || offsets.is_empty() {
            return;
        }
        if !self.dirty && offsets == self.committed {
            return;
        }
        let file = state_file(&self.config.application_id);
        if self.dirty {
            out.disk(DiskOp::Replace {
                file: file.clone(),
                bytes: serde_json::to_vec(&self.state).expect("the state serialises"),
            });
            self.dirty = false;
        }
        let token = DiskToken(self.next_token);
        self.next_token += 1;
        out.disk(DiskOp::Sync { file, token });
        self.writing = Some((token, offsets));
    }

    fn on_synced(&mut self, now: Instant, token: DiskToken, out: &mut Out) {
        if self.writing.as_ref().is_none_or(|(t, _)| *t != token) {
            return;
        }
        let Some((_, offsets)) = self.writing.take() else {
            return;
        };
        self.committed.clone_from(&offsets);
        self.trace(
            Event::Committing {
                offsets: offsets.clone(),
            },
            out,
        );
        let commit = consumer::Command::Commit { offsets };
        self.consume(now, Input::Command(commit), out);
    }
}
