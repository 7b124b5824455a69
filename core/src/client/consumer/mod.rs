//! The Kafka consumer: positions, fetches, CRC checks, offset resets, and — with
//! `subscribe()` — membership of a consumer group.
//!
//! The consumer keeps one *position* per partition — the offset of the next record it will
//! return. It fetches from each partition's leader, at most one Fetch per broker at a time
//! (the broker holds it up to `fetch.max.wait.ms` if there is nothing new: long polling),
//! verifies each batch's CRC (`check.crcs`), hands the records at or above its position to the
//! application in chunks of `max.poll.records`, and advances. With no valid position it asks
//! `ListOffsets` for the earliest or latest offset, as `auto.offset.reset` says. After a leader
//! change it checks its positions against the new leader's history first (KIP-320,
//! `OffsetForLeaderEpoch`).
//!
//! With `assign()` it reads every partition of its topic; with `subscribe()` the group decides
//! (`group.rs`: join, sync, heartbeat, commits, eager and cooperative rebalancing, static
//! membership), and the application's poll loop can stall or close (`poll_loop.rs`). Its
//! words — commands, replies, timers, trace events — are in `vocab.rs`.

use crate::client::metadata::ClusterView;
use crate::client::network::NetworkClient;
use crate::config::{ApplicationCommit, AutoOffsetReset, ConsumerConfig, ValueDeserializer};
use crate::ids::{NodeId, TopicPartition};
use crate::log::batch::RecordBatch;
use crate::node::{Boot, Input};
use crate::protocol::{
    ErrorCode, FetchPartition, FetchRequest, FetchResponse, ListOffsetsRequest,
    ListOffsetsResponse, Message, MetadataRequest, OffsetForLeaderEpochRequest,
    OffsetForLeaderEpochResponse, OffsetSpec,
};
use crate::time::{Duration, Instant};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

mod group;
mod poll_loop;
#[cfg(test)]
mod tests;
mod vocab;

pub use vocab::{
    Command, Event, LeaveReason, PolledRecord, Reply, ResetReason, RevocationReason, Timer, Vocab,
};

type Out<'a> = dyn crate::node::Out<Vocab> + 'a;

/// What a request in flight was for.
#[derive(Debug)]
enum Request {
    Metadata,
    ListOffsets,
    /// A Fetch, with the offset asked of each partition.
    Fetch(BTreeMap<TopicPartition, i64>),
    /// KIP-320: checking positions against a new leader's history.
    Validation,
    /// Group protocol requests.
    FindCoordinator,
    Join,
    Sync,
    Heartbeat,
    Commit,
    /// A `commitSync()`: the poll loop waits for it.
    SyncCommit,
    OffsetFetch,
    Leave,
}

impl Request {
    fn is_group(&self) -> bool {
        !matches!(
            self,
            Request::Metadata | Request::ListOffsets | Request::Fetch(_) | Request::Validation
        )
    }
}

/// A consumer.
#[derive(Debug)]
pub struct Consumer {
    config: ConsumerConfig,
    view: ClusterView,
    topic: Option<String>,
    assignment: Vec<TopicPartition>,
    positions: BTreeMap<TopicPartition, i64>,
    /// Requests awaiting answers.
    network: NetworkClient<Request>,
    next_bootstrap: usize,
    backoff_until: Instant,
    /// Partitions stuck for good (`auto.offset.reset=none` with no position).
    stuck: BTreeSet<TopicPartition>,
    /// KIP-320: the leader epoch of the last record consumed from each partition.
    last_epoch: BTreeMap<TopicPartition, i32>,
    /// KIP-320: the leader epoch each partition's position was last validated against.
    validated_epoch: BTreeMap<TopicPartition, i32>,
    /// With `subscribe`: the group membership.
    group: Option<group::Membership>,
    /// Partitions the application asked to read again from their log start
    /// (`seekToBeginning()`), until the leader has said where that is.
    seek_to_start: BTreeSet<TopicPartition>,
    /// While the application is away from its poll loop: when it comes back.
    stalled_until: Option<Instant>,
    /// The membership (member id, generation) lost while the loop was stalled.
    lost_membership: Option<(String, i32)>,
    /// `close()` was called: the consumer does nothing more.
    closed: bool,
}

impl Consumer {
    /// Start the consumer; it does nothing until told to `assign`.
    pub fn boot<C>(_boot: &Boot<'_, C>, config: &ConsumerConfig, _out: &mut Out) -> Self {
        Consumer {
            config: config.clone(),
            view: ClusterView::default(),
            topic: None,
            assignment: Vec::new(),
            positions: BTreeMap::new(),
            network: NetworkClient::default(),
            next_bootstrap: 0,
            backoff_until: Instant::ZERO,
            stuck: BTreeSet::new(),
            last_epoch: BTreeMap::new(),
            validated_epoch: BTreeMap::new(),
            group: None,
            seek_to_start: BTreeSet::new(),
            stalled_until: None,
            lost_membership: None,
            closed: false,
        }
    }

    /// What the consumer lets the world see.
    pub fn view(&self) -> crate::view::ConsumerView {
        let group = self.group.as_ref();
        crate::view::ConsumerView {
            group: group.map(|g| g.group_id.clone()),
            member_id: group.map(|g| g.member_id.clone()).unwrap_or_default(),
            generation: group.map_or(-1, |g| g.generation),
            assignment: self.assignment.clone(),
            positions: self
                .positions
                .iter()
                .map(|(tp, o)| (tp.clone(), *o))
                .collect(),
        }
    }

    /// The current position of each assigned partition that has one.
    pub fn positions(&self) -> &BTreeMap<TopicPartition, i64> {
        &self.positions
    }

    /// Handle one input.
    pub fn step(&mut self, now: Instant, input: Input<Vocab>, out: &mut Out) {
        if matches!(input, Input::Terminate) {
            // An application stopped by SIGTERM closes its consumer on the way out (a
            // shutdown hook calling `close()`), so the group rebalances at once.
            if !self.closed {
                self.close(now, out);
            }
            out.exit();
            return;
        }
        if self.closed {
            return;
        }
        match input {
            Input::Terminate => {} // handled above
            Input::Command(Command::Assign { topic }) => self.topic = Some(topic),
            // Subscribing again to the same topic changes nothing, as in Kafka.
            Input::Command(Command::Subscribe { topic }) if self.group.is_none() => {
                self.topic = Some(topic);
                let group_id = self.config.group_id.clone().unwrap_or_default();
                out.trace(Event::Subscribed {
                    group: group_id.clone(),
                });
                self.group = Some(group::Membership::new(group_id));
            }
            Input::Command(Command::Subscribe { .. }) => {}
            Input::Command(Command::StallPoll { duration_ms }) => self.stall(now, duration_ms, out),
            Input::Command(Command::Close) => return self.close(now, out),
            Input::Command(Command::SeekToBeginning) => self.seek_to_beginning(out),
            Input::Command(Command::Commit { offsets }) => {
                self.commit_offsets(now, offsets, Request::Commit, out)
            }
            Input::Recv { msg, .. } => self.on_message(now, msg, out),
            Input::Timer(Timer::Network(timer)) => {
                if let Some((correlation_id, request)) = self.network.on_timer(timer) {
                    out.trace(Event::RequestTimedOut {
                        correlation_id,
                        request: Cow::Borrowed(request.request),
                    });
                    if request.kind.is_group() {
                        self.on_group_request_lost();
                    }
                    self.back_off(now, out);
                }
            }
            Input::Timer(Timer::Heartbeat) => self.on_group_heartbeat_timer(now, out),
            Input::Timer(Timer::AutoCommit) => self.on_auto_commit_timer(now, out),
            Input::Timer(Timer::PollTimeout) => self.on_poll_timeout(now, out),
            Input::Timer(Timer::StallEnd) => self.on_stall_end(out),
            Input::Timer(Timer::RetryBackoff) => {}
            Input::Disconnected { peer } => {
                let lost = self.network.on_disconnected(peer, &mut out.scoped());
                if lost.iter().any(|(_, r)| r.kind.is_group()) {
                    self.on_group_request_lost();
                }
                if self
                    .group
                    .as_ref()
                    .is_some_and(|g| g.coordinator == Some(peer))
                {
                    self.on_group_request_lost();
                }
                self.back_off(now, out);
            }
            Input::DiskDone { .. } => {}
        }
        // A stalled application is not in poll(): no fetching, no joining.
        if now >= self.backoff_until && !self.is_stalled() {
            self.send_requests(now, out);
        }
    }

    fn on_message(&mut self, now: Instant, msg: Message, out: &mut Out) {
        let Some(request) = self
            .network
            .complete(msg.correlation_id(), &mut out.scoped())
        else {
            return;
        };
        match msg {
            Message::FindCoordinatorResponse(r) => self.on_find_coordinator(now, r, out),
            Message::JoinGroupResponse(r) => self.on_join(now, r, out),
            Message::SyncGroupResponse(r) => self.on_sync(now, r, out),
            Message::OffsetFetchResponse(r) => self.on_offset_fetch(now, r, out),
            Message::HeartbeatResponse(r) => self.on_heartbeat_response(now, r, out),
            Message::OffsetCommitResponse(r) => self.on_commit_response(request.kind, r, out),
            Message::LeaveGroupResponse(_) => {} // the member has already forgotten it
            Message::MetadataResponse(r) => {
                self.view.update(&r);
                self.on_metadata(out);
                if self.needs_metadata() {
                    // Kafka's `refreshBackoffMs`: the next refresh waits retry.backoff.ms
                    // (a topic not created yet, a partition without a leader).
                    self.backoff_until = now + Duration::from_millis(self.config.retry_backoff_ms);
                    out.set_timer(Timer::RetryBackoff, self.backoff_until);
                }
            }
            Message::ListOffsetsResponse(r) => self.on_list_offsets(now, r, out),
            Message::FetchResponse(r) => {
                if let Request::Fetch(fetched_at) = request.kind {
                    self.on_fetch(now, &fetched_at, r, out);
                }
            }
            Message::OffsetForLeaderEpochResponse(r) => self.on_validation(now, r, out),
            _ => {}
        }
    }

    fn back_off(&mut self, now: Instant, out: &mut Out) {
        self.backoff_until = now + Duration::from_millis(self.config.retry_backoff_ms);
        self.view = ClusterView::default();
        out.set_timer(Timer::RetryBackoff, self.backoff_until);
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

    fn next_correlation_id(&mut self) -> i32 {
        self.network.next_correlation_id()
    }

    fn request(
        &mut self,
        now: Instant,
        to: NodeId,
        kind: Request,
        message: Message,
        out: &mut Out,
    ) {
        let timeout = self.config.request_timeout_ms;
        self.request_with_timeout(now, to, kind, message, timeout, out);
    }

    fn request_with_timeout(
        &mut self,
        now: Instant,
        to: NodeId,
        kind: Request,
        message: Message,
        timeout_ms: u64,
        out: &mut Out,
    ) {
        let timeout = Duration::from_millis(timeout_ms);
        self.network
            .send_message(now, to, message, kind, timeout, &mut out.scoped());
    }

    /// Whether the metadata lacks the topic's partitions or a leader of one it owns.
    fn needs_metadata(&self) -> bool {
        self.topic.as_ref().is_some_and(|topic| {
            self.view.partition_count(topic).is_none()
                || self
                    .assignment
                    .iter()
                    .any(|tp| self.view.leader(tp).is_none())
        })
    }

    fn busy(&self, pred: impl Fn(&Request) -> bool) -> bool {
        self.network.any(|r| pred(&r.kind))
    }

    /// Send whatever the consumer needs next: metadata, offsets to start from, or fetches.
    fn send_requests(&mut self, now: Instant, out: &mut Out) {
        let Some(topic) = self.topic.clone() else {
            return;
        };
        if self.needs_metadata() {
            if !self.busy(|k| matches!(k, Request::Metadata))
                && !self.config.bootstrap_servers.is_empty()
            {
                let servers = &self.config.bootstrap_servers;
                let node = servers[self.next_bootstrap % servers.len()];
                self.next_bootstrap += 1;
                let correlation_id = self.next_correlation_id();
                let message = Message::MetadataRequest(MetadataRequest {
                    correlation_id,
                    topics: vec![topic],
                });
                self.request(now, node, Request::Metadata, message, out);
            }
            return;
        }
        if !self.drive_group(now, &topic, out) {
            return;
        }
        // commitSync() blocks the poll loop until the commit is answered.
        if self.busy(|k| matches!(k, Request::SyncCommit)) {
            return;
        }
        self.reset_positions(now, out);
        self.validate_positions(now, out);
        self.fetch(now, out);
    }

    fn on_metadata(&mut self, out: &mut Out) {
        if let Some(topic) = &self.topic
            && self.group.is_none()
            && let Some(count) = self.view.partition_count(topic)
            && self.assignment.is_empty()
        {
            self.assignment = (0..count)
                .map(|p| TopicPartition::new(topic.as_str(), p))
                .collect();
            out.trace(Event::PartitionsAssigned {
                partitions: self.assignment.clone(),
            });
        }
    }

    /// `seekToBeginning()`: every owned partition forgets its position and is looked up
    /// again at its leader's log start offset, whatever `auto.offset.reset` says.
    fn seek_to_beginning(&mut self, out: &mut Out) {
        out.trace(Event::SeekedToBeginning {
            partitions: self.assignment.clone(),
        });
        for tp in self.assignment.clone() {
            self.positions.remove(&tp);
            self.seek_to_start.insert(tp.clone());
            if let Some(g) = self.group.as_mut() {
                g.awaiting_committed.retain(|p| *p != tp);
            }
        }
    }

    /// Ask each leader for a starting offset of the partitions that have no position: the
    /// log start for a `seekToBeginning()`, else as `auto.offset.reset` says.
    fn reset_positions(&mut self, now: Instant, out: &mut Out) {
        if self.busy(|k| matches!(k, Request::ListOffsets)) {
            return;
        }
        let automatic = match self.config.auto_offset_reset {
            AutoOffsetReset::Earliest => Some(OffsetSpec::Earliest),
            AutoOffsetReset::Latest => Some(OffsetSpec::Latest),
            AutoOffsetReset::None => None,
        };
        let mut by_leader: BTreeMap<NodeId, Vec<(TopicPartition, OffsetSpec)>> = BTreeMap::new();
        for tp in &self.assignment {
            let spec = if self.seek_to_start.contains(tp) {
                Some(OffsetSpec::Earliest)
            } else {
                automatic
            };
            if !self.positions.contains_key(tp)
                && !self.awaits_committed(tp)
                && let Some(spec) = spec
                && let Some(leader) = self.view.leader(tp)
            {
                by_leader
                    .entry(leader)
                    .or_default()
                    .push((tp.clone(), spec));
            }
        }
        for (leader, partitions) in by_leader {
            let correlation_id = self.next_correlation_id();
            let message = Message::ListOffsetsRequest(ListOffsetsRequest {
                correlation_id,
                partitions,
            });
            self.request(now, leader, Request::ListOffsets, message, out);
        }
    }

    fn on_list_offsets(&mut self, now: Instant, response: ListOffsetsResponse, out: &mut Out) {
        for p in response.partitions {
            if !self.assignment.contains(&p.partition) {
                continue; // given up while the request was on its way: Kafka ignores it too
            }
            if p.error == ErrorCode::None {
                self.positions.insert(p.partition.clone(), p.offset);
                let reason = if self.seek_to_start.remove(&p.partition) {
                    ResetReason::SeekToBeginning
                } else {
                    ResetReason::AutoOffsetReset {
                        auto_offset_reset: self.config.auto_offset_reset,
                    }
                };
                out.reply(Reply::PositionReset {
                    partition: p.partition,
                    offset: p.offset,
                    reason,
                });
            } else {
                self.view.forget_leader(&p.partition);
                self.backoff_until = now + Duration::from_millis(self.config.retry_backoff_ms);
                out.set_timer(Timer::RetryBackoff, self.backoff_until);
            }
        }
    }

    /// One Fetch per leader that has no Fetch in flight, for its partitions with positions.
    fn fetch(&mut self, now: Instant, out: &mut Out) {
        let mut busy_nodes: BTreeSet<NodeId> = BTreeSet::new();
        for (_, r) in self.network.in_flight() {
            if matches!(r.kind, Request::Fetch(_)) {
                busy_nodes.insert(r.to);
            }
        }
        let mut by_leader: BTreeMap<NodeId, Vec<FetchPartition>> = BTreeMap::new();
        for tp in &self.assignment {
            let (Some(position), Some(leader)) = (self.positions.get(tp), self.view.leader(tp))
            else {
                continue;
            };
            if busy_nodes.contains(&leader)
                || self.stuck.contains(tp)
                || self.awaits_committed(tp)
                || self.needs_validation(tp)
            {
                continue;
            }
            let current_leader_epoch = if self.config.legacy_pre_kip320 {
                -1 // before KIP-320 a consumer's fetch carried no epoch
            } else {
                self.view.leader_epoch(tp).unwrap_or(-1)
            };
            by_leader.entry(leader).or_default().push(FetchPartition {
                partition: tp.clone(),
                fetch_offset: *position,
                partition_max_bytes: self.config.max_partition_fetch_bytes,
                current_leader_epoch,
                last_fetched_epoch: -1,
            });
        }
        for (leader, partitions) in by_leader {
            let offsets = partitions
                .iter()
                .map(|p| (p.partition.clone(), p.fetch_offset))
                .collect();
            let correlation_id = self.next_correlation_id();
            let message = Message::FetchRequest(FetchRequest {
                replica_epoch: -1,
                correlation_id,
                replica_id: -1,
                max_wait_ms: self.config.fetch_max_wait_ms,
                min_bytes: self.config.fetch_min_bytes,
                max_bytes: self.config.fetch_max_bytes,
                partitions,
            });
            self.request(now, leader, Request::Fetch(offsets), message, out);
        }
    }

    fn on_fetch(
        &mut self,
        now: Instant,
        fetched_at: &BTreeMap<TopicPartition, i64>,
        response: FetchResponse,
        out: &mut Out,
    ) {
        if self.is_stalled() {
            // Nobody polls: drop the data; the positions have not moved, so it is fetched
            // again once the application is back.
            return;
        }
        let before = self.positions.clone();
        self.deliver(now, fetched_at, response, out);
        // The application has processed what this poll returned: its own commit, if any.
        if self.positions != before && self.group.is_some() {
            match self.config.application_commit {
                ApplicationCommit::Auto => {}
                ApplicationCommit::Sync => self.commit_sync(now, out),
                ApplicationCommit::Async => self.commit(now, out),
            }
        }
    }

    /// Hand a fetch's records to the application, advancing the positions.
    fn deliver(
        &mut self,
        now: Instant,
        fetched_at: &BTreeMap<TopicPartition, i64>,
        response: FetchResponse,
        out: &mut Out,
    ) {
        for p in response.partitions {
            let tp = p.partition;
            let Some(position) = self.positions.get(&tp).copied() else {
                continue;
            };
            match p.error {
                ErrorCode::None => {
                    // Kafka discards a fetch answered for another offset than the position
                    // (`seek()` moved it while the fetch was on its way): its records do not
                    // follow the position.
                    if fetched_at.get(&tp) != Some(&position) {
                        continue;
                    }
                    let decoded = self.decode(&tp, position, &p.records, out);
                    let records = decoded.records;
                    if let Some(epoch) = decoded.last_epoch {
                        self.last_epoch.insert(tp.clone(), epoch);
                    }
                    // Past the last batch read, even where compaction removed its last
                    // records: the next fetch starts after it (Kafka's `nextFetchOffset`).
                    if let Some(next) = decoded.next_offset {
                        self.positions.insert(tp.clone(), next);
                    }
                    for chunk in records.chunks(self.config.max_poll_records.max(1) as usize) {
                        out.reply(Reply::Polled {
                            partition: tp.clone(),
                            records: chunk.to_vec(),
                            high_watermark: p.high_watermark,
                        });
                    }
                }
                ErrorCode::OffsetOutOfRange => {
                    // The position is no longer valid (e.g. the log was truncated below it).
                    self.positions.remove(&tp);
                    out.trace(Event::PositionInvalid {
                        partition: tp.clone(),
                    });
                    if self.config.auto_offset_reset == AutoOffsetReset::None {
                        self.stuck.insert(tp.clone());
                        out.reply(Reply::PositionReset {
                            partition: tp,
                            offset: -1,
                            reason: ResetReason::OutOfRangeWithoutReset,
                        });
                    }
                }
                _ => {
                    self.view.forget_leader(&tp);
                    self.backoff_until = now + Duration::from_millis(self.config.retry_backoff_ms);
                    out.set_timer(Timer::RetryBackoff, self.backoff_until);
                }
            }
        }
    }

    /// KIP-320: a partition whose leader epoch rose since its position was last checked must
    /// be validated against the new leader before fetching: records the consumer already read
    /// may have been truncated away (unclean election), and fetching on would silently skip
    /// whatever the new leader wrote at those offsets.
    fn needs_validation(&self, tp: &TopicPartition) -> bool {
        if self.config.legacy_pre_kip320 || !self.last_epoch.contains_key(tp) {
            return false;
        }
        match (self.view.leader_epoch(tp), self.validated_epoch.get(tp)) {
            (Some(current), Some(validated)) => current > *validated,
            _ => false,
        }
    }

    fn validate_positions(&mut self, now: Instant, out: &mut Out) {
        // Partitions seen for the first time are valid in their current epoch.
        for tp in &self.assignment {
            if let Some(current) = self.view.leader_epoch(tp) {
                self.validated_epoch.entry(tp.clone()).or_insert(current);
            }
        }
        if self.busy(|k| matches!(k, Request::Validation)) {
            return;
        }
        let mut by_leader: BTreeMap<NodeId, Vec<(TopicPartition, i32, i32)>> = BTreeMap::new();
        for tp in &self.assignment {
            if self.needs_validation(tp)
                && let (Some(leader), Some(current), Some(epoch)) = (
                    self.view.leader(tp),
                    self.view.leader_epoch(tp),
                    self.last_epoch.get(tp),
                )
            {
                by_leader
                    .entry(leader)
                    .or_default()
                    .push((tp.clone(), current, *epoch));
            }
        }
        for (leader, partitions) in by_leader {
            let correlation_id = self.next_correlation_id();
            let message = Message::OffsetForLeaderEpochRequest(OffsetForLeaderEpochRequest {
                correlation_id,
                partitions,
            });
            self.request(now, leader, Request::Validation, message, out);
        }
    }

    fn on_validation(
        &mut self,
        now: Instant,
        response: OffsetForLeaderEpochResponse,
        out: &mut Out,
    ) {
        for (tp, error, _epoch, end) in response.partitions {
            if error != ErrorCode::None {
                self.view.forget_leader(&tp);
                self.backoff_until = now + Duration::from_millis(self.config.retry_backoff_ms);
                out.set_timer(Timer::RetryBackoff, self.backoff_until);
                continue;
            }
            if let Some(current) = self.view.leader_epoch(&tp) {
                self.validated_epoch.insert(tp.clone(), current);
            }
            let Some(position) = self.positions.get(&tp).copied() else {
                continue;
            };
            if end >= 0 && end < position {
                // The new leader's history ends below what we read: it was truncated.
                if self.config.auto_offset_reset == AutoOffsetReset::None {
                    self.stuck.insert(tp.clone());
                    out.reply(Reply::PositionReset {
                        partition: tp,
                        offset: -1,
                        reason: ResetReason::TruncationDetectedWithoutReset { position },
                    });
                } else {
                    self.positions.insert(tp.clone(), end);
                    out.reply(Reply::PositionReset {
                        partition: tp,
                        offset: end,
                        reason: ResetReason::TruncationDetected { position },
                    });
                }
            }
        }
    }

    /// A record's value as `value.deserializer` reads it: the framing's schema id (if the
    /// value is registry-framed and this consumer reads that format) and the text. A
    /// tombstone reads as empty text.
    fn deserialize(&self, value: Option<&[u8]>) -> (Option<crate::registry::SchemaId>, String) {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let Some(bytes) = value else {
            return (None, String::new());
        };
        match self.config.value_deserializer {
            ValueDeserializer::RegistryFramed => match crate::registry::unframe(bytes) {
                Ok((id, payload)) => (Some(id), text(payload)),
                Err(_) => (None, text(bytes)),
            },
            ValueDeserializer::String => (None, text(bytes)),
        }
    }

    /// Decode fetched batches into records at or after `position`, stopping at the first batch
    /// that fails its CRC (Kafka raises `CorruptRecordException` to the application). Also
    /// returns the leader epoch of the batch holding the last record returned, and the offset
    /// after the last batch read (a compacted batch may end after its last record).
    fn decode(&self, tp: &TopicPartition, position: i64, bytes: &[u8], out: &mut Out) -> Decoded {
        let mut last_epoch = None;
        let mut next_offset = None;
        let mut records = Vec::new();
        let mut rest = bytes;
        while !rest.is_empty() {
            let decoded = if self.config.check_crcs {
                RecordBatch::decode(rest)
            } else {
                RecordBatch::decode_unchecked(rest)
            };
            match decoded {
                Ok((batch, used)) => {
                    if batch.next_offset() > position {
                        next_offset = Some(batch.next_offset());
                    }
                    for (offset, record) in batch.records_with_offsets() {
                        if offset >= position {
                            last_epoch = Some(batch.partition_leader_epoch);
                            let (schema_id, value) = self.deserialize(record.value.as_deref());
                            records.push(PolledRecord {
                                offset,
                                key: record
                                    .key
                                    .as_ref()
                                    .map(|k| String::from_utf8_lossy(k).into_owned()),
                                value,
                                schema_id,
                            });
                        }
                    }
                    rest = &rest[used..];
                }
                Err(error) => {
                    let base_offset = if rest.len() >= 8 {
                        i64::from_be_bytes(rest[..8].try_into().unwrap_or([0; 8]))
                    } else {
                        -1
                    };
                    out.reply(Reply::CorruptBatch {
                        partition: tp.clone(),
                        base_offset,
                        detail: format!("{error:?}"),
                    });
                    break;
                }
            }
        }
        Decoded {
            records,
            last_epoch,
            next_offset,
        }
    }
}

/// A fetch's records for one partition, decoded.
struct Decoded {
    records: Vec<PolledRecord>,
    /// The leader epoch of the batch holding the last record.
    last_epoch: Option<i32>,
    /// The offset after the last batch read, if it is past the position.
    next_offset: Option<i64>,
}
