//! A Kafka broker: partition logs on disk, and the requests that read and write them.
//!
//! This first broker leads every partition it hosts (replication factor 1; followers, the ISR
//! and the controller come with replication). What it already does as Kafka does:
//! - at start-up it **recovers** every partition log from its disk: scans segments, verifies
//!   each batch's CRC, truncates a torn tail (see [`crate::log`]);
//! - `Produce` appends to the log — in the page cache — and answers per `acks`; it fsyncs only
//!   as the flush policy says ([`flush`]);
//! - `Fetch` returns whole record batches below the high watermark, and is held up to
//!   `fetch.max.wait.ms` when there is less than `fetch.min.bytes` to return (long polling);
//! - `ListOffsets` and `Metadata` answer what clients need to find their way.

pub mod flush;
mod partition;

use crate::actor::{Actor, Event, Timer};
use crate::config::BrokerConfig;
use crate::disk::DiskToken;
use crate::ids::{NodeId, TopicPartition};
use crate::node::{Boot, Input, Outbox};
use crate::protocol::{
    BrokerMetadata, ErrorCode, FetchPartitionResponse, FetchRequest, FetchResponse,
    ListOffsetsPartitionResponse, ListOffsetsRequest, ListOffsetsResponse, Message,
    MetadataRequest, MetadataResponse, OffsetSpec, PartitionMetadata, ProducePartitionResponse,
    ProduceRequest, ProduceResponse, TopicMetadata,
};
use crate::time::{Duration, Instant};
use flush::{FlushInFlight, FlushWaiters};
pub use partition::Partition;
use std::collections::{BTreeMap, BTreeSet};

/// A Fetch held until data arrives or `fetch.max.wait.ms` passes (Kafka's "delayed fetch"
/// purgatory).
#[derive(Debug)]
struct DelayedFetch {
    from: NodeId,
    request: FetchRequest,
}

/// A broker.
#[derive(Debug)]
pub struct Broker {
    id: NodeId,
    config: BrokerConfig,
    partitions: BTreeMap<TopicPartition, Partition>,
    flushes: FlushWaiters,
    next_token: u64,
    delayed_fetches: BTreeMap<u64, DelayedFetch>,
    next_delayed_fetch: u64,
}

type Out = Outbox<Actor>;

impl Broker {
    /// Start (or restart) the broker: recover every hosted partition from the disk image.
    pub fn boot(
        boot: &Boot<'_, crate::actor::ActorConfig>,
        config: &BrokerConfig,
        out: &mut Out,
    ) -> Self {
        let mut partitions = BTreeMap::new();
        for topic in &config.topics {
            for p in 0..topic.partitions {
                let tp = TopicPartition::new(&topic.name, p);
                let partition = Partition::recover(tp.clone(), config, boot.disk, boot.now, out);
                partitions.insert(tp, partition);
            }
        }
        let broker = Broker {
            id: boot.id,
            config: config.clone(),
            partitions,
            flushes: FlushWaiters::default(),
            next_token: 0,
            delayed_fetches: BTreeMap::new(),
            next_delayed_fetch: 0,
        };
        if let Some(interval) = broker.flush_scheduler_interval() {
            out.set_timer(Timer::FlushScheduler, boot.now + interval);
        }
        broker
    }

    /// The broker's `node.id`.
    pub fn node_id(&self) -> i32 {
        self.config.node_id
    }

    /// The partitions this broker hosts.
    pub fn partitions(&self) -> &BTreeMap<TopicPartition, Partition> {
        &self.partitions
    }

    fn flush_scheduler_interval(&self) -> Option<Duration> {
        // The flusher only matters when a time-based flush is configured.
        self.config.log_flush_interval_ms?;
        self.config
            .log_flush_scheduler_interval_ms
            .map(Duration::from_millis)
    }

    /// Handle one input.
    pub fn step(&mut self, now: Instant, input: Input<Actor>, out: &mut Out) {
        match input {
            Input::Recv { from, msg } => match msg {
                Message::MetadataRequest(r) => self.on_metadata(from, r, out),
                Message::ProduceRequest(r) => self.on_produce(now, from, r, out),
                Message::FetchRequest(r) => self.on_fetch(now, from, r, out),
                Message::ListOffsetsRequest(r) => self.on_list_offsets(from, r, out),
                // Responses are for clients; a broker ignores a stray one.
                _ => {}
            },
            Input::Timer(Timer::FlushScheduler) => self.on_flush_scheduler(now, out),
            Input::Timer(Timer::FetchExpiry(id)) => {
                if let Some(delayed) = self.delayed_fetches.remove(&id) {
                    let response = self.read_fetch(&delayed.request);
                    out.send(delayed.from, Message::FetchResponse(response));
                }
            }
            Input::Timer(_) => {}
            Input::DiskDone(token) => self.on_disk_done(token, out),
            Input::Command(_) | Input::Disconnected { .. } => {}
        }
    }

    fn on_metadata(&self, from: NodeId, request: MetadataRequest, out: &mut Out) {
        let topics = request
            .topics
            .iter()
            .map(|name| {
                let partitions: Vec<PartitionMetadata> = self
                    .partitions
                    .iter()
                    .filter(|(tp, _)| &tp.topic == name)
                    .map(|(tp, p)| PartitionMetadata {
                        error: ErrorCode::None,
                        partition: tp.partition,
                        leader_id: self.config.node_id,
                        leader_epoch: p.leader_epoch(),
                    })
                    .collect();
                TopicMetadata {
                    error: if partitions.is_empty() {
                        ErrorCode::UnknownTopicOrPartition
                    } else {
                        ErrorCode::None
                    },
                    name: name.clone(),
                    partitions,
                }
            })
            .collect();
        let response = MetadataResponse {
            correlation_id: request.correlation_id,
            brokers: vec![BrokerMetadata {
                node_id: self.config.node_id,
                address: self.id,
            }],
            topics,
        };
        out.send(from, Message::MetadataResponse(response));
    }

    fn on_produce(&mut self, now: Instant, from: NodeId, request: ProduceRequest, out: &mut Out) {
        let mut responses = Vec::new();
        let mut wait_for = BTreeSet::new();
        let valid_acks = matches!(request.acks, -1..=1); // 0, 1 or -1 (all)
        for data in request.partitions {
            let tp = data.partition;
            let Some(partition) = self.partitions.get_mut(&tp) else {
                responses.push(produce_error(tp, ErrorCode::UnknownTopicOrPartition, -1));
                continue;
            };
            if !valid_acks {
                responses.push(produce_error(
                    tp,
                    ErrorCode::InvalidRequiredAcks,
                    partition.log_start_offset(),
                ));
                continue;
            }
            if data.records.len() as u64 > self.config.message_max_bytes {
                responses.push(produce_error(
                    tp,
                    ErrorCode::MessageTooLarge,
                    partition.log_start_offset(),
                ));
                continue;
            }
            match partition.append(&data.records, now, out) {
                Ok(info) => {
                    out.trace(Event::LogAppended {
                        partition: tp.clone(),
                        base_offset: info.first_offset,
                        last_offset: info.last_offset,
                        log_end_offset: partition.log_end_offset(),
                    });
                    // With one replica the high watermark follows the log end offset.
                    out.trace(Event::HighWatermarkUpdated {
                        partition: tp.clone(),
                        high_watermark: partition.high_watermark(),
                    });
                    let due = self
                        .config
                        .log_flush_interval_messages
                        .is_some_and(|n| partition.unflushed_messages() >= n);
                    if due {
                        let id = self.flush(&tp, "log.flush.interval.messages", now, out);
                        wait_for.extend(id);
                    }
                    responses.push(ProducePartitionResponse {
                        log_start_offset: self.partitions[&tp].log_start_offset(),
                        partition: tp,
                        error: ErrorCode::None,
                        base_offset: info.first_offset,
                    });
                }
                Err(error) => {
                    let start = partition.log_start_offset();
                    responses.push(produce_error(tp, error, start));
                }
            }
        }
        self.complete_delayed_fetches(out);
        if request.acks == 0 {
            return; // acks=0: the producer expects no answer at all
        }
        let response = Message::ProduceResponse(ProduceResponse {
            correlation_id: request.correlation_id,
            partitions: responses,
        });
        // An append that triggered a flush answers only after the fsync (Kafka flushes inside
        // the append call); everything else answers now, from the page cache.
        if let Some((to, message)) = self.flushes.hold(from, response, wait_for) {
            out.send(to, message);
        }
    }

    /// Start an fsync of `tp`'s log. Returns the flush id, or `None` if nothing was unsynced.
    fn flush(
        &mut self,
        tp: &TopicPartition,
        trigger: &'static str,
        now: Instant,
        out: &mut Out,
    ) -> Option<u64> {
        let partition = self.partitions.get_mut(tp)?;
        let (up_to, ops) = partition.start_flush(&mut self.next_token, now);
        if ops.is_empty() {
            return None;
        }
        let outstanding = ops
            .iter()
            .filter_map(|op| match op {
                crate::disk::DiskOp::Sync { token, .. } => Some(*token),
                _ => None,
            })
            .collect();
        out.trace(Event::LogFlushStarted {
            partition: tp.clone(),
            up_to,
            trigger,
        });
        out.disk_all(ops);
        Some(self.flushes.start(FlushInFlight {
            partition: tp.clone(),
            up_to,
            outstanding,
        }))
    }

    fn on_flush_scheduler(&mut self, now: Instant, out: &mut Out) {
        if let Some(flush_ms) = self.config.log_flush_interval_ms {
            let due: Vec<TopicPartition> = self
                .partitions
                .iter()
                .filter(|(tp, p)| {
                    p.has_unflushed()
                        && !self.flushes.is_flushing(tp)
                        && now.saturating_since(p.last_flush_time())
                            >= Duration::from_millis(flush_ms)
                })
                .map(|(tp, _)| tp.clone())
                .collect();
            for tp in due {
                self.flush(&tp, "log.flush.interval.ms", now, out);
            }
        }
        if let Some(interval) = self.flush_scheduler_interval() {
            out.set_timer(Timer::FlushScheduler, now + interval);
        }
    }

    fn on_disk_done(&mut self, token: DiskToken, out: &mut Out) {
        let (finished, released) = self.flushes.complete(token);
        for flush in finished {
            if let Some(p) = self.partitions.get_mut(&flush.partition) {
                p.flushed(flush.up_to);
                out.trace(Event::LogFlushed {
                    partition: flush.partition,
                    recovery_point: p.recovery_point(),
                });
            }
        }
        for (to, message) in released {
            out.send(to, message);
        }
    }

    fn on_fetch(&mut self, now: Instant, from: NodeId, request: FetchRequest, out: &mut Out) {
        let response = self.read_fetch(&request);
        let bytes: u64 = response
            .partitions
            .iter()
            .map(|p| p.records.len() as u64)
            .sum();
        let has_error = response
            .partitions
            .iter()
            .any(|p| p.error != ErrorCode::None);
        if bytes >= request.min_bytes || request.max_wait_ms == 0 || has_error {
            out.send(from, Message::FetchResponse(response));
            return;
        }
        let id = self.next_delayed_fetch;
        self.next_delayed_fetch += 1;
        out.set_timer(
            Timer::FetchExpiry(id),
            now + Duration::from_millis(request.max_wait_ms),
        );
        self.delayed_fetches
            .insert(id, DelayedFetch { from, request });
    }

    /// Answer held fetches that now have enough data.
    fn complete_delayed_fetches(&mut self, out: &mut Out) {
        let ready: Vec<u64> = self
            .delayed_fetches
            .iter()
            .filter(|(_, d)| {
                let r = self.read_fetch(&d.request);
                r.partitions
                    .iter()
                    .map(|p| p.records.len() as u64)
                    .sum::<u64>()
                    >= d.request.min_bytes
            })
            .map(|(id, _)| *id)
            .collect();
        for id in ready {
            if let Some(delayed) = self.delayed_fetches.remove(&id) {
                out.cancel_timer(Timer::FetchExpiry(id));
                let response = self.read_fetch(&delayed.request);
                out.send(delayed.from, Message::FetchResponse(response));
            }
        }
    }

    fn read_fetch(&self, request: &FetchRequest) -> FetchResponse {
        let mut budget = request.max_bytes;
        let partitions = request
            .partitions
            .iter()
            .map(|fp| {
                let Some(partition) = self.partitions.get(&fp.partition) else {
                    return FetchPartitionResponse {
                        partition: fp.partition.clone(),
                        error: ErrorCode::UnknownTopicOrPartition,
                        high_watermark: -1,
                        log_start_offset: -1,
                        records: Vec::new(),
                    };
                };
                let max = fp.partition_max_bytes.min(budget);
                let (error, records) = match partition.read(fp.fetch_offset, max as usize) {
                    Ok(records) => (ErrorCode::None, records),
                    Err(error) => (error, Vec::new()),
                };
                budget = budget.saturating_sub(records.len() as u64);
                FetchPartitionResponse {
                    partition: fp.partition.clone(),
                    error,
                    high_watermark: partition.high_watermark(),
                    log_start_offset: partition.log_start_offset(),
                    records,
                }
            })
            .collect();
        FetchResponse {
            correlation_id: request.correlation_id,
            partitions,
        }
    }

    fn on_list_offsets(&self, from: NodeId, request: ListOffsetsRequest, out: &mut Out) {
        let partitions = request
            .partitions
            .iter()
            .map(|(tp, spec)| match self.partitions.get(tp) {
                None => ListOffsetsPartitionResponse {
                    partition: tp.clone(),
                    error: ErrorCode::UnknownTopicOrPartition,
                    offset: -1,
                },
                Some(p) => ListOffsetsPartitionResponse {
                    partition: tp.clone(),
                    error: ErrorCode::None,
                    offset: match spec {
                        OffsetSpec::Earliest => p.log_start_offset(),
                        OffsetSpec::Latest => p.high_watermark(),
                    },
                },
            })
            .collect();
        out.send(
            from,
            Message::ListOffsetsResponse(ListOffsetsResponse {
                correlation_id: request.correlation_id,
                partitions,
            }),
        );
    }
}

fn produce_error(
    partition: TopicPartition,
    error: ErrorCode,
    log_start_offset: i64,
) -> ProducePartitionResponse {
    ProducePartitionResponse {
        partition,
        error,
        base_offset: -1,
        log_start_offset,
    }
}
