//! The Kafka producer: `send()` → partition → accumulator → `ProduceRequest` → callback.
//!
//! What a learner can watch here, all with Kafka's settings:
//! - records are grouped per partition into batches, sent when `batch.size` bytes are reached
//!   or after `linger.ms` — fewer, bigger requests;
//! - up to `max.in.flight.requests.per.connection` requests travel to one broker at once;
//! - a request without answer after `request.timeout.ms`, a dropped connection, or a retriable
//!   error sends the batch again after `retry.backoff.ms`, until `delivery.timeout.ms` after
//!   `send()`; without idempotence a retry can write a record twice, or after a later batch;
//! - with `acks=0` nothing comes back: the callback fires at once, without an offset;
//! - with `enable.idempotence` (Kafka's default with `acks=all`, KIP-98) the producer first
//!   asks for a producer id (`InitProducerId`) and numbers each partition's batches, so the
//!   leader can recognise a retry and keep the order; a batch that fails for good starts the
//!   numbering again under a new producer id.

use crate::client::metadata::ClusterView;
use crate::client::network::{self, NetworkClient};
use crate::client::partitioner::partition_for_key;
use crate::config::{Acks, ProducerConfig};
use crate::ids::{NodeId, TopicPartition};
use crate::log::batch::{Record, RecordBatch};
use crate::node::{Boot, Input, Vocabulary};
use crate::prng::Prng;
use crate::protocol::{
    ErrorCode, InitProducerIdRequest, Message, MetadataRequest, ProducePartitionData,
    ProduceRequest, ProduceResponse,
};
use crate::time::{Duration, Instant};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// The producer's named deadlines.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Timer {
    /// The batch for this partition has lingered `linger.ms`.
    Linger(TopicPartition),
    /// `retry.backoff.ms` has passed; try again.
    RetryBackoff,
    /// A request's `request.timeout.ms`.
    Network(network::Timer),
}

impl From<network::Timer> for Timer {
    fn from(t: network::Timer) -> Self {
        Timer::Network(t)
    }
}

/// What a scenario (or an application) tells a producer to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// `send()` a record. `record_id` identifies it in replies and checkers.
    Send {
        /// The scenario's id for this record.
        record_id: u64,
        /// The topic.
        topic: String,
        /// The key, if any, as text.
        key: Option<String>,
        /// The value, as text; `None` is a tombstone (a null value: on a compacted topic,
        /// "delete this key").
        value: Option<String>,
        /// The schema registry's id of the value's schema: the value is then written in the
        /// registry's wire format (magic byte 0, the id, then the text), as Confluent's
        /// serializers — and Connect's converters before its producer — write it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        schema_id: Option<crate::registry::SchemaId>,
    },
}

/// The producer's delivery callbacks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    /// The record was acknowledged (`offset` is `None` with `acks=0`).
    Acked {
        /// The scenario's id for the record.
        record_id: u64,
        /// Where it went.
        partition: TopicPartition,
        /// Its offset.
        offset: Option<i64>,
    },
    /// The record failed for good.
    Failed {
        /// The scenario's id for the record.
        record_id: u64,
        /// Where it was going.
        partition: TopicPartition,
        /// Why.
        error: ErrorCode,
        /// For an expired record (`delivery.timeout.ms`): the last error a broker gave.
        cause: Option<ErrorCode>,
    },
}

/// What a producer records in the trace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A batch went back in the queue to be sent again.
    BatchRetried {
        /// The partition.
        partition: TopicPartition,
        /// How many records.
        records: usize,
        /// Why.
        error: ErrorCode,
    },
    /// A request got no answer within `request.timeout.ms`.
    RequestTimedOut {
        /// The request's correlation id.
        correlation_id: i32,
        /// Its Kafka name.
        request: Cow<'static, str>,
    },
}

/// The words a producer speaks.
#[derive(Debug)]
pub enum Vocab {}

impl Vocabulary for Vocab {
    type Msg = Message;
    type Timer = Timer;
    type Event = Event;
    type Reply = Reply;
    type Command = Command;
}

type Out<'a> = dyn crate::node::Out<Vocab> + 'a;

/// A record handed to `send()` that has no partition yet (metadata unknown).
#[derive(Debug)]
struct Unrouted {
    record_id: u64,
    topic: String,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    sent_at: Instant,
}

/// A batch of records for one partition.
#[derive(Debug)]
struct Batch {
    tp: TopicPartition,
    records: Vec<(u64, Record)>,
    size: u64,
    created: Instant,
    attempts: u32,
    retry_at: Instant,
    /// The last error a broker answered with, reported as the cause if the batch expires.
    last_error: Option<ErrorCode>,
    /// With idempotence: (producer id, epoch, first sequence number), fixed at the first send
    /// so that a retry carries the same numbers and the leader can recognise it.
    sequence: Option<(i64, i16, i32)>,
}

impl Batch {
    fn first_record_id(&self) -> u64 {
        self.records.first().map_or(0, |(id, _)| *id)
    }

    fn encode(&self) -> Vec<u8> {
        let records = self.records.iter().map(|(_, r)| r.clone()).collect();
        let mut batch = RecordBatch::from_records(records);
        if let Some((producer_id, producer_epoch, base_sequence)) = self.sequence {
            batch.producer_id = producer_id;
            batch.producer_epoch = producer_epoch;
            batch.base_sequence = base_sequence;
        }
        batch.encode()
    }
}

/// What a request in flight was for.
#[derive(Debug)]
enum Request {
    Produce { batches: Vec<Batch> },
    Metadata,
    InitProducerId,
}

/// Fixed overhead of a v2 batch (its header), used to estimate batch sizes.
const BATCH_HEADER_BYTES: u64 = 61;

/// A producer.
#[derive(Debug)]
pub struct Producer {
    config: ProducerConfig,
    prng: Prng,
    view: ClusterView,
    unrouted: VecDeque<Unrouted>,
    open: BTreeMap<TopicPartition, Batch>,
    ready: BTreeMap<TopicPartition, VecDeque<Batch>>,
    network: NetworkClient<Request>,
    sticky: BTreeMap<String, i32>,
    next_bootstrap: usize,
    metadata_wanted: bool,
    metadata_retry_at: Instant,
    /// With idempotence: the producer id and epoch from `InitProducerId`.
    producer_id: Option<(i64, i16)>,
    /// With idempotence: the next sequence number per partition.
    next_sequence: BTreeMap<TopicPartition, i32>,
    /// With idempotence: the highest sequence number acknowledged per partition.
    last_acked_sequence: BTreeMap<TopicPartition, i32>,
}

impl Producer {
    /// Start the producer; it asks for metadata when the first record arrives.
    pub fn boot<C>(boot: &Boot<'_, C>, config: &ProducerConfig, _out: &mut Out) -> Self {
        Producer {
            config: config.clone(),
            prng: boot.prng.clone(),
            view: ClusterView::default(),
            unrouted: VecDeque::new(),
            open: BTreeMap::new(),
            ready: BTreeMap::new(),
            network: NetworkClient::default(),
            sticky: BTreeMap::new(),
            next_bootstrap: 0,
            metadata_wanted: false,
            metadata_retry_at: Instant::ZERO,
            producer_id: None,
            next_sequence: BTreeMap::new(),
            last_acked_sequence: BTreeMap::new(),
        }
    }

    /// Where its sequence of correlation ids stands ([`NetworkClient::sequence`]).
    pub fn correlation_sequence(&self) -> i32 {
        self.network.sequence()
    }

    /// Go on with the sequence another client of the same node left at `next`
    /// ([`NetworkClient::continue_sequence`]).
    pub fn continue_correlation_sequence(&mut self, next: i32) {
        self.network.continue_sequence(next);
    }

    /// Whether a response with `correlation_id` answers one of its requests.
    pub fn awaits(&self, correlation_id: i32) -> bool {
        self.network.is_in_flight(correlation_id)
    }

    /// Handle one input.
    pub fn step(&mut self, now: Instant, input: Input<Vocab>, out: &mut Out) {
        match input {
            Input::Command(Command::Send {
                record_id,
                topic,
                key,
                value,
                schema_id,
            }) => {
                let value = value.map(|v| match schema_id {
                    Some(id) => crate::registry::frame(id, v.as_bytes()),
                    None => v.into_bytes(),
                });
                self.unrouted.push_back(Unrouted {
                    record_id,
                    topic,
                    key: key.map(String::into_bytes),
                    value,
                    sent_at: now,
                });
            }
            Input::Recv { msg, .. } => self.on_message(now, msg, out),
            // The application exits without waiting for what it has not sent (its records
            // are reported as never acknowledged, as after a crash).
            Input::Terminate => return out.exit(),
            Input::Timer(Timer::Linger(tp)) => self.close_batch(&tp),
            Input::Timer(Timer::Network(timer)) => {
                if let Some((correlation_id, request)) = self.network.on_timer(timer) {
                    out.trace(Event::RequestTimedOut {
                        correlation_id,
                        request: Cow::Borrowed(request.request),
                    });
                    self.fail_request(now, request.kind, ErrorCode::RequestTimedOut, out);
                }
            }
            Input::Timer(Timer::RetryBackoff) => {}
            Input::Disconnected { peer } => {
                for (_, request) in self.network.on_disconnected(peer, &mut out.scoped()) {
                    self.fail_request(now, request.kind, ErrorCode::NetworkException, out);
                }
            }
            Input::DiskDone { .. } => {}
        }
        self.route_records(now, out);
        self.expire_batches(now, out);
        self.maybe_request_metadata(now, out);
        self.maybe_init_producer_id(now, out);
        self.drain(now, out);
    }

    fn on_message(&mut self, now: Instant, msg: Message, out: &mut Out) {
        match msg {
            Message::MetadataResponse(r) => {
                if let Some(Request::Metadata) = self.complete(r.correlation_id, out) {
                    self.view.update(&r);
                    self.metadata_wanted = false;
                }
            }
            Message::ProduceResponse(r) => self.on_produce_response(now, r, out),
            Message::InitProducerIdResponse(r) => {
                if let Some(Request::InitProducerId) = self.complete(r.correlation_id, out)
                    && r.error == ErrorCode::None
                {
                    self.producer_id = Some((r.producer_id, r.producer_epoch));
                    self.next_sequence.clear();
                }
            }
            _ => {}
        }
    }

    /// The request a response answers, if it is still in flight.
    fn complete(&mut self, correlation_id: i32, out: &mut Out) -> Option<Request> {
        self.network
            .complete(correlation_id, &mut out.scoped())
            .map(|r| r.kind)
    }

    fn request(
        &mut self,
        now: Instant,
        to: NodeId,
        build: impl FnOnce(i32) -> Message,
        kind: Request,
        out: &mut Out,
    ) {
        let timeout = Duration::from_millis(self.config.request_timeout_ms);
        self.network
            .send(now, to, build, kind, timeout, &mut out.scoped());
    }

    /// The next bootstrap server to ask, in turn.
    fn next_bootstrap_server(&mut self) -> Option<NodeId> {
        let servers = &self.config.bootstrap_servers;
        if servers.is_empty() {
            return None;
        }
        let node = servers[self.next_bootstrap % servers.len()];
        self.next_bootstrap += 1;
        Some(node)
    }

    /// An idempotent producer needs its id before sending anything.
    fn maybe_init_producer_id(&mut self, now: Instant, out: &mut Out) {
        if !self.config.idempotent() || self.producer_id.is_some() || self.ready.is_empty() {
            return;
        }
        if self
            .network
            .any(|r| matches!(r.kind, Request::InitProducerId))
        {
            return;
        }
        let Some(node) = self.next_bootstrap_server() else {
            return;
        };
        let build = |correlation_id| {
            Message::InitProducerIdRequest(InitProducerIdRequest { correlation_id })
        };
        self.request(now, node, build, Request::InitProducerId, out);
    }

    /// Give every unrouted record a partition, if metadata allows.
    fn route_records(&mut self, now: Instant, out: &mut Out) {
        while let Some(record) = self.unrouted.front() {
            let Some(count) = self.view.partition_count(&record.topic) else {
                self.metadata_wanted = true;
                return;
            };
            let Some(record) = self.unrouted.pop_front() else {
                return;
            };
            let partition = match &record.key {
                Some(key) => partition_for_key(key, count),
                None => *self
                    .sticky
                    .entry(record.topic.clone())
                    .or_insert_with(|| self.prng.below(count as u64) as i32),
            };
            let tp = TopicPartition::new(record.topic.as_str(), partition);
            let size = record.key.as_ref().map_or(0, Vec::len) as u64
                + record.value.as_ref().map_or(0, Vec::len) as u64
                + 12;
            let entry = Record {
                timestamp: record.sent_at.as_millis() as i64,
                key: record.key,
                value: record.value,
                headers: Vec::new(),
            };
            let batch = self.open.entry(tp.clone()).or_insert_with(|| {
                out.set_timer(
                    Timer::Linger(tp.clone()),
                    now + Duration::from_millis(self.config.linger_ms),
                );
                Batch {
                    tp: tp.clone(),
                    records: Vec::new(),
                    size: BATCH_HEADER_BYTES,
                    created: record.sent_at,
                    attempts: 0,
                    retry_at: Instant::ZERO,
                    last_error: None,
                    sequence: None,
                }
            });
            batch.records.push((record.record_id, entry));
            batch.size += size;
            if batch.size >= self.config.batch_size || self.config.linger_ms == 0 {
                out.cancel_timer(Timer::Linger(tp.clone()));
                self.close_batch(&tp);
            }
        }
    }

    /// Move the open batch of `tp` to the send queue; keyless records pick a new sticky
    /// partition for the next batch (KIP-480).
    fn close_batch(&mut self, tp: &TopicPartition) {
        if let Some(batch) = self.open.remove(tp) {
            self.ready.entry(tp.clone()).or_default().push_back(batch);
            if self.sticky.get(&*tp.topic) == Some(&tp.partition) {
                self.sticky.remove(&*tp.topic);
            }
        }
    }

    fn maybe_request_metadata(&mut self, now: Instant, out: &mut Out) {
        let needs_leader = self
            .ready
            .iter()
            .any(|(tp, q)| !q.is_empty() && self.view.leader(tp).is_none());
        if !(self.metadata_wanted || needs_leader) || now < self.metadata_retry_at {
            return;
        }
        if self.network.any(|r| matches!(r.kind, Request::Metadata)) {
            return;
        }
        let Some(node) = self.next_bootstrap_server() else {
            return;
        };
        let mut topics: BTreeSet<String> = self.unrouted.iter().map(|r| r.topic.clone()).collect();
        topics.extend(self.ready.keys().map(|tp| tp.topic.to_string()));
        topics.extend(self.open.keys().map(|tp| tp.topic.to_string()));
        let build = |correlation_id| {
            Message::MetadataRequest(MetadataRequest {
                correlation_id,
                topics: topics.into_iter().collect(),
            })
        };
        self.request(now, node, build, Request::Metadata, out);
    }

    fn in_flight_to(&self, node: NodeId) -> u32 {
        self.network
            .count(|r| r.to == node && matches!(r.kind, Request::Produce { .. })) as u32
    }

    /// Send what is ready: at most one batch per partition per request, one request per broker
    /// per call, within `max.in.flight.requests.per.connection`.
    fn drain(&mut self, now: Instant, out: &mut Out) {
        if self.config.idempotent() && self.producer_id.is_none() {
            // Wait for InitProducerId, but not forever for metadata that failed: nothing
            // else may wake this producer (its records wait unrouted, no request in flight).
            self.arm_retry_timer(now, None, out);
            return;
        }
        let mut by_node: BTreeMap<NodeId, Vec<Batch>> = BTreeMap::new();
        let mut next_retry: Option<Instant> = None;
        let partitions: Vec<TopicPartition> = self.ready.keys().cloned().collect();
        for tp in partitions {
            let Some(leader) = self.view.leader(&tp) else {
                continue;
            };
            let due = self.ready[&tp].front().map(|b| b.retry_at);
            let Some(due) = due else { continue };
            if due > now {
                next_retry = Some(next_retry.map_or(due, |t: Instant| t.min(due)));
                continue;
            }
            if !by_node.contains_key(&leader)
                && self.in_flight_to(leader) >= self.config.max_in_flight_requests_per_connection
            {
                continue;
            }
            if let Some(batch) = self.ready.get_mut(&tp).and_then(VecDeque::pop_front) {
                by_node.entry(leader).or_default().push(batch);
            }
        }
        self.ready.retain(|_, q| !q.is_empty());
        self.arm_retry_timer(now, next_retry, out);
        for (node, mut batches) in by_node {
            let partitions: Vec<ProducePartitionData> = batches
                .iter_mut()
                .map(|b| {
                    b.attempts += 1;
                    if let (None, Some((id, epoch))) = (b.sequence, self.producer_id) {
                        let next = self.next_sequence.entry(b.tp.clone()).or_insert(0);
                        b.sequence = Some((id, epoch, *next));
                        *next = next.wrapping_add(b.records.len() as i32);
                    }
                    ProducePartitionData {
                        partition: b.tp.clone(),
                        records: b.encode(),
                    }
                })
                .collect();
            let (acks, timeout_ms) = (self.config.acks.wire(), self.config.request_timeout_ms);
            let build = |correlation_id| {
                Message::ProduceRequest(ProduceRequest {
                    correlation_id,
                    acks,
                    timeout_ms,
                    partitions,
                })
            };
            if self.config.acks == Acks::Zero {
                // Fire and forget: no answer will come, and the callback fires now, without an
                // offset.
                self.network.send_one_way(node, build, &mut out.scoped());
                for batch in batches {
                    for (record_id, _) in batch.records {
                        out.reply(Reply::Acked {
                            record_id,
                            partition: batch.tp.clone(),
                            offset: None,
                        });
                    }
                }
                continue;
            }
            self.request(now, node, build, Request::Produce { batches }, out);
        }
    }

    fn on_produce_response(&mut self, now: Instant, response: ProduceResponse, out: &mut Out) {
        let Some(Request::Produce { batches }) = self.complete(response.correlation_id, out) else {
            return; // a late answer to a request we already gave up on
        };
        for batch in batches {
            let result = response.partitions.iter().find(|p| p.partition == batch.tp);
            match result {
                Some(p) if p.error == ErrorCode::None => {
                    if let Some((id, _, base)) = batch.sequence
                        && Some(id) == self.producer_id.map(|(p, _)| p)
                    {
                        let last = base.wrapping_add(batch.records.len() as i32 - 1);
                        let acked = self
                            .last_acked_sequence
                            .entry(batch.tp.clone())
                            .or_insert(-1);
                        *acked = (*acked).max(last);
                    }
                    for (i, (record_id, _)) in batch.records.iter().enumerate() {
                        out.reply(Reply::Acked {
                            record_id: *record_id,
                            partition: batch.tp.clone(),
                            offset: Some(p.base_offset + i as i64),
                        });
                    }
                }
                Some(p) => {
                    let error = p.error;
                    self.retry_or_fail(now, batch, error, out);
                }
                None => self.retry_or_fail(now, batch, ErrorCode::NetworkException, out),
            }
        }
    }

    fn fail_request(&mut self, now: Instant, request: Request, error: ErrorCode, out: &mut Out) {
        match request {
            Request::Produce { batches } => {
                for batch in batches {
                    self.retry_or_fail(now, batch, error, out);
                }
            }
            Request::Metadata => {
                self.metadata_wanted = true;
                self.metadata_retry_at = now + Duration::from_millis(self.config.retry_backoff_ms);
            }
            // Asked again on the next step.
            Request::InitProducerId => {}
        }
    }

    /// Forget the producer id and every sequence number: the next send asks for a new id, and
    /// queued batches get fresh sequences.
    fn reset_producer_id(&mut self) {
        self.producer_id = None;
        self.next_sequence.clear();
        self.last_acked_sequence.clear();
        for queue in self.ready.values_mut() {
            for b in queue.iter_mut() {
                b.sequence = None;
            }
        }
    }

    fn retry_or_fail(&mut self, now: Instant, mut batch: Batch, error: ErrorCode, out: &mut Out) {
        let expired = now.saturating_since(batch.created)
            >= Duration::from_millis(self.config.delivery_timeout_ms);
        // With idempotence an out-of-order answer means an earlier batch of the partition is
        // being resent: this one follows it, in order.
        let out_of_order = self.config.idempotent() && error == ErrorCode::OutOfOrderSequenceNumber;
        let acked = self
            .last_acked_sequence
            .get(&batch.tp)
            .copied()
            .unwrap_or(-1);
        let base = batch.sequence.map_or(-1, |(_, _, s)| s);
        if out_of_order && base >= 0 && base <= acked {
            // A later sequence was acknowledged, and the leader appends only in order: this
            // batch was written, only its answer was lost — and it fell out of the five
            // batches the leader remembers. Done, offset unknown (Kafka completes it too).
            for (record_id, _) in batch.records {
                out.reply(Reply::Acked {
                    record_id,
                    partition: batch.tp.clone(),
                    offset: None,
                });
            }
            return;
        }
        // Any other out-of-order answer is retried: an earlier batch is still on its way, or
        // the broker that answered is not the real leader. (Resetting the producer id here
        // could write a batch of unknown fate twice; Kafka before KIP-360 even made this
        // error fatal.)
        let retriable = error.is_retriable() || out_of_order;
        if !retriable || batch.attempts > self.config.retries || expired {
            if self.config.idempotent() && batch.sequence.is_some() {
                // The partition's sequence has a hole now: start over with a new producer id
                // (Kafka bumps the epoch, KIP-360).
                self.reset_producer_id();
            }
            let (error, cause) = if expired {
                (ErrorCode::RequestTimedOut, batch.last_error.or(Some(error)))
            } else {
                (error, None)
            };
            for (record_id, _) in batch.records {
                out.reply(Reply::Failed {
                    record_id,
                    partition: batch.tp.clone(),
                    error,
                    cause,
                });
            }
            return;
        }
        if !matches!(
            error,
            ErrorCode::RequestTimedOut | ErrorCode::NetworkException
        ) {
            batch.last_error = Some(error);
        }
        if matches!(
            error,
            ErrorCode::NotLeaderOrFollower
                | ErrorCode::UnknownTopicOrPartition
                | ErrorCode::LeaderNotAvailable
                | ErrorCode::NetworkException
                | ErrorCode::RequestTimedOut
        ) {
            self.view.forget_leader(&batch.tp);
            self.metadata_wanted = true;
        }
        out.trace(Event::BatchRetried {
            partition: batch.tp.clone(),
            records: batch.records.len(),
            error,
        });
        batch.retry_at = now + Duration::from_millis(self.config.retry_backoff_ms);
        // Numbers given under a producer id that was since replaced are void.
        if batch
            .sequence
            .is_some_and(|(id, _, _)| Some(id) != self.producer_id.map(|(p, _)| p))
        {
            batch.sequence = None;
        }
        // Keep the partition's queue in send order: a retried batch goes before later ones.
        let queue = self.ready.entry(batch.tp.clone()).or_default();
        let position = queue
            .iter()
            .position(|b| b.first_record_id() > batch.first_record_id())
            .unwrap_or(queue.len());
        queue.insert(position, batch);
    }

    /// One timer wakes the producer for the earliest pending retry (of a batch or of metadata).
    fn arm_retry_timer(&self, now: Instant, next_batch_retry: Option<Instant>, out: &mut Out) {
        let metadata = (self.metadata_wanted && self.metadata_retry_at > now)
            .then_some(self.metadata_retry_at);
        if let Some(at) = [next_batch_retry, metadata].into_iter().flatten().min() {
            out.set_timer(Timer::RetryBackoff, at);
        }
    }

    /// Fail batches that waited longer than `delivery.timeout.ms` since `send()`.
    fn expire_batches(&mut self, now: Instant, out: &mut Out) {
        let limit = Duration::from_millis(self.config.delivery_timeout_ms);
        for queue in self.ready.values_mut() {
            while queue
                .front()
                .is_some_and(|b| now.saturating_since(b.created) >= limit)
            {
                if let Some(batch) = queue.pop_front() {
                    for (record_id, _) in batch.records {
                        out.reply(Reply::Failed {
                            record_id,
                            partition: batch.tp.clone(),
                            error: ErrorCode::RequestTimedOut,
                            cause: batch.last_error,
                        });
                    }
                }
            }
        }
        self.ready.retain(|_, q| !q.is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk::DiskImage;
    use crate::node::Outbox;
    use crate::prng::Prng;
    use crate::testkit::{sends, timers_set};

    const BROKER: NodeId = NodeId(1);

    /// A fresh idempotent producer (no producer id yet) whose first metadata request dies
    /// with its broker wakes itself to ask again: nothing else would (once it waited for
    /// the rest of the run, with every record unrouted).
    #[test]
    fn a_failed_first_metadata_request_is_retried() {
        let config = ProducerConfig {
            bootstrap_servers: vec![BROKER],
            ..ProducerConfig::default()
        };
        assert!(config.idempotent(), "the default producer is idempotent");
        let disk = DiskImage::new();
        let boot = Boot {
            id: NodeId(10),
            now: Instant::ZERO,
            incarnation: 0,
            config: &config,
            disk: &disk,
            prng: Prng::derive(1, "producer", 10),
        };
        let mut producer = Producer::boot(&boot, &config, Outbox::new().writer());
        let mut out = Outbox::new();
        let send = Command::Send {
            record_id: 0,
            topic: "t".into(),
            key: Some("k".into()),
            value: Some("v".into()),
            schema_id: None,
        };
        producer.step(Instant::ZERO, Input::Command(send), out.writer());
        let asked = sends(&out)
            .iter()
            .filter(|(_, m)| matches!(m, Message::MetadataRequest(_)))
            .count();
        assert_eq!(asked, 1, "metadata first");

        let at = Instant::ZERO + Duration::from_millis(1);
        let mut out = Outbox::new();
        producer.step(at, Input::Disconnected { peer: BROKER }, out.writer());
        assert!(
            timers_set(&out)
                .iter()
                .any(|t| matches!(t, Timer::RetryBackoff)),
            "a retry is armed"
        );
        let later = at + Duration::from_millis(config.retry_backoff_ms);
        let mut out = Outbox::new();
        producer.step(later, Input::Timer(Timer::RetryBackoff), out.writer());
        let asked = sends(&out)
            .iter()
            .filter(|(_, m)| matches!(m, Message::MetadataRequest(_)))
            .count();
        assert_eq!(asked, 1, "asked again after retry.backoff.ms");
    }
}
