//! A Kafka broker: partition logs on disk, leaders and followers, and the requests that read
//! and write them.
//!
//! What it does as Kafka does:
//! - at start-up it **recovers** every partition log from its disk (see [`crate::log`]): from
//!   its recovery point after a crash, not at all after a clean shutdown;
//! - it learns from the **metadata** which partitions it leads and which it follows — from the
//!   KRaft controllers' metadata log ([`lifecycle`]), or, with no controller configured
//!   (static mode), by leading every configured partition alone;
//! - as **leader**, `Produce` appends to the log (in the page cache) and answers per `acks`:
//!   at once for `acks=1`, once the high watermark passes the records for `acks=all`
//!   (refusing with `NOT_ENOUGH_REPLICAS` when the ISR is below `min.insync.replicas`);
//! - as **follower**, it fetches from the leader ([`fetcher`]), truncating where the leader
//!   says its log diverges (KIP-101/KIP-279/KIP-595);
//! - it fsyncs only as the flush policy says ([`flush`]);
//! - `Fetch` returns whole batches below the high watermark to consumers (long-polling up to
//!   `fetch.max.wait.ms`), and below the log end to followers;
//! - on SIGTERM it shuts down cleanly ([`shutdown`]): a controlled shutdown first, then its
//!   logs flushed and checkpointed, and a clean-shutdown marker that lets the next start skip
//!   recovery.

pub mod checkpoint;
pub mod events;
mod fetch;
mod fetcher;
pub mod flush;
mod group_requests;
pub mod lifecycle;
mod partition;
mod produce;
pub mod producer_state;
pub mod shutdown;
#[cfg(test)]
mod tests;

use crate::client::network::{self, NetworkClient};
use crate::config::BrokerConfig;
use crate::disk::{DiskImage, DiskOp, DiskToken};
use crate::group::{self, Coordinator};
use crate::ids::{NodeId, TopicPartition};
use crate::log::RecoveryStart;
use crate::metadata::{BrokerState, MetadataImage, PartitionState};
use crate::node::{Boot, Input, Never, Vocabulary};
use crate::protocol::{
    AlterPartitionRequest, AlterPartitionResponse, BrokerMetadata, ErrorCode,
    InitProducerIdResponse, ListOffsetsPartitionResponse, ListOffsetsRequest, ListOffsetsResponse,
    Message, MetadataRequest, MetadataResponse, OffsetForLeaderEpochResponse, OffsetSpec,
    PartitionMetadata, TopicMetadata,
};
use crate::quorum::{self, METADATA_DIR, Quorum, QuorumConfig};
use crate::replication::epoch_end::leader_epoch_end_offset;
use crate::time::{Duration, Instant};
pub use events::{FlushTrigger, LogEvent, ReplicaEvent, ReplicaRole, TruncationCause};
use fetch::DelayedFetch;
use fetcher::Fetcher;
use flush::{FlushInFlight, Flushes};
use lifecycle::Registration;
pub use partition::{Partition, Role};
use produce::DelayedProduce;
use std::collections::{BTreeMap, BTreeSet};

use crate::purgatory::{Condition, Hold, Purgatory, PurgatoryName};

/// A broker's named deadlines, its own and its subsystems'.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Timer {
    /// The log flusher's periodic check (`log.flush.scheduler.interval.ms`).
    FlushScheduler,
    /// A held Fetch reached `fetch.max.wait.ms`.
    FetchExpiry(u64),
    /// An `acks=all` produce waited its `timeout_ms`.
    ProduceExpiry(u64),
    /// Time to heartbeat to the controller (`broker.heartbeat.interval.ms`).
    Heartbeat,
    /// Look for followers that fell out of sync (`replica.lag.time.max.ms` / 2).
    IsrCheck,
    /// Write the high watermarks to `replication-offset-checkpoint`.
    HighWatermarkCheckpoint,
    /// Delete the segments retention lets go (`log.retention.check.interval.ms`).
    LogRetentionCheck,
    /// The log cleaner looks for a compacted log to clean (`log.cleaner.backoff.ms`).
    LogCleaner,
    /// Write the recovery points to `recovery-point-offset-checkpoint`
    /// (`log.flush.offset.checkpoint.interval.ms`).
    RecoveryPointCheckpoint,
    /// The controller did not approve the controlled shutdown in time.
    ControlledShutdownTimeout,
    /// Fetch from partition leaders again after `replica.fetch.backoff.ms`.
    ReplicaFetchRetry,
    /// A request to a leader (Fetch) or the controller (AlterPartition) got no answer in time.
    Network(network::Timer),
    /// The metadata quorum observer's deadlines.
    Quorum(quorum::Timer),
    /// The group coordinator's deadlines.
    Group(group::Timer),
}

impl From<network::Timer> for Timer {
    fn from(t: network::Timer) -> Self {
        Timer::Network(t)
    }
}

impl From<quorum::Timer> for Timer {
    fn from(t: quorum::Timer) -> Self {
        Timer::Quorum(t)
    }
}

impl From<group::Timer> for Timer {
    fn from(t: group::Timer) -> Self {
        Timer::Group(t)
    }
}

/// The words a broker speaks (its events are the node's: its logs', its replicas', its
/// quorum observer's and its group coordinator's).
#[derive(Debug)]
pub enum Vocab {}

impl Vocabulary for Vocab {
    type Msg = Message;
    type Timer = Timer;
    type Event = crate::actor::Event;
    type Reply = Never;
    type Command = Never;
}

type Out<'a> = dyn crate::node::Out<Vocab> + 'a;

/// What a broker's request in flight was for: it is a client too, of partition leaders and
/// of the active controller.
#[derive(Debug)]
enum Request {
    /// A replica Fetch to this leader.
    ReplicaFetch,
    /// An ISR change for this partition.
    AlterPartition(TopicPartition),
}

/// A broker.
#[derive(Debug)]
pub struct Broker {
    id: NodeId,
    config: BrokerConfig,
    partitions: BTreeMap<TopicPartition, Partition>,
    /// Metadata as this broker knows it (committed records only).
    image: MetadataImage,
    /// The metadata log observer; `None` in static mode.
    quorum: Option<Quorum>,
    metadata_applied: i64,
    registration: Registration,
    next_controller: usize,
    flushes: Flushes,
    /// Responses held until the flushes their appends started have completed.
    held_for_flush: Purgatory<(NodeId, Message)>,
    /// Disk tokens of the partitions' and checkpoints' syncs (the quorum observer has its
    /// own, for the metadata log's files).
    next_token: u64,
    /// Fetches long-polling for records (Kafka's `Fetch` purgatory).
    delayed_fetches: Purgatory<DelayedFetch>,
    /// `acks=all` produces waiting for the high watermark (Kafka's `Produce` purgatory).
    delayed_produces: Purgatory<DelayedProduce>,
    /// Requests to leaders and to the controller, in flight.
    network: NetworkClient<Request>,
    fetcher: Fetcher,
    /// How many times this broker started before: part of the producer ids it hands out.
    incarnation: u32,
    next_producer_id: i64,
    /// The consumer groups this broker coordinates.
    groups: Coordinator,
    /// Writes of the group coordinator to `__consumer_offsets`, waiting to be committed.
    group_writes: Purgatory<group_requests::PendingWrite>,
    /// Where the broker is in a shutdown (SIGTERM).
    shutdown: shutdown::Shutdown,
    /// The broker epoch the clean-shutdown marker named at start-up (-1: the last shutdown
    /// was not clean), for the registration's `previousBrokerEpoch`.
    previous_broker_epoch: i64,
}

/// How long a leader waits for the controller's answer to an `AlterPartition` (Kafka's
/// `AlterPartitionManager` uses the controller channel's request timeout).
const ALTER_PARTITION_TIMEOUT_MS: u64 = 5000;

/// Partition directories found on disk (every `<topic>-<n>/` but the metadata log's).
fn partitions_on_disk(disk: &DiskImage) -> BTreeSet<TopicPartition> {
    disk.keys()
        .filter_map(|f| f.split_once('/').map(|(dir, _)| dir))
        .filter(|dir| *dir != METADATA_DIR)
        .filter_map(|dir| {
            let (topic, p) = dir.rsplit_once('-')?;
            Some(TopicPartition::new(topic, p.parse().ok()?))
        })
        .collect()
}

impl Broker {
    /// Start (or restart) the broker: recover every partition found on disk — without a scan
    /// after a clean shutdown, else from each log's recovery point.
    pub fn boot<C>(boot: &Boot<'_, C>, config: &BrokerConfig, out: &mut Out) -> Self {
        let read = |file| {
            boot.disk
                .get(file)
                .map(|b| checkpoint::parse(b))
                .unwrap_or_default()
        };
        let hws = read(checkpoint::HIGH_WATERMARKS);
        let recovery_points = read(checkpoint::RECOVERY_POINTS);
        let clean_shutdown = boot
            .disk
            .get(shutdown::CLEAN_SHUTDOWN_FILE)
            .and_then(|b| shutdown::parse_marker(b));
        if boot.disk.contains_key(shutdown::CLEAN_SHUTDOWN_FILE) {
            // Consumed: from now on this process writes, and a crash must not find it.
            out.disk(DiskOp::Delete {
                file: shutdown::CLEAN_SHUTDOWN_FILE.to_string(),
            });
        }
        let mut wanted = partitions_on_disk(boot.disk);
        if config.controller_quorum_voters.is_empty() {
            for topic in &config.topics {
                wanted.extend(
                    (0..topic.partitions).map(|p| TopicPartition::new(topic.name.as_str(), p)),
                );
            }
        }
        let partitions = wanted
            .into_iter()
            .map(|tp| {
                let hw = hws.get(&tp).copied().unwrap_or(0);
                let start = match clean_shutdown {
                    Some(_) => RecoveryStart::CleanShutdown,
                    None => {
                        RecoveryStart::RecoveryPoint(recovery_points.get(&tp).copied().unwrap_or(0))
                    }
                };
                let p = Partition::recover(tp.clone(), config, boot.disk, hw, start, boot.now, out);
                (tp, p)
            })
            .collect();
        let quorum = (!config.controller_quorum_voters.is_empty()).then(|| {
            let q = QuorumConfig::new(config.node_id, config.controller_quorum_voters.clone());
            Quorum::boot(
                q,
                false,
                boot.disk,
                boot.prng.clone(),
                boot.now,
                &mut out.scoped(),
            )
        });
        let mut broker = Broker {
            id: boot.id,
            config: config.clone(),
            partitions,
            image: MetadataImage::default(),
            quorum,
            metadata_applied: 0,
            registration: Registration::Unregistered { in_flight: None },
            next_controller: 0,
            flushes: Flushes::default(),
            held_for_flush: Purgatory::new(PurgatoryName::Flush),
            next_token: 0,
            delayed_fetches: Purgatory::untraced(PurgatoryName::Fetch),
            delayed_produces: Purgatory::new(PurgatoryName::Produce),
            network: NetworkClient::default(),
            fetcher: Fetcher::default(),
            incarnation: boot.incarnation,
            next_producer_id: 0,
            groups: Coordinator::default(),
            group_writes: Purgatory::new(PurgatoryName::GroupWrite),
            shutdown: shutdown::Shutdown::Running,
            previous_broker_epoch: clean_shutdown.unwrap_or(-1),
        };
        if broker.quorum.is_some() {
            broker.send_registration(boot.now, out);
            out.set_timer(Timer::IsrCheck, boot.now + broker.isr_check_interval());
            out.set_timer(
                Timer::HighWatermarkCheckpoint,
                boot.now
                    + Duration::from_millis(config.replica_high_watermark_checkpoint_interval_ms),
            );
        } else {
            broker.image = broker.static_image();
            broker.reconcile_partitions(boot.now, out);
        }
        if let Some(interval) = broker.flush_scheduler_interval() {
            out.set_timer(Timer::FlushScheduler, boot.now + interval);
        }
        out.set_timer(
            Timer::LogRetentionCheck,
            boot.now + broker.retention_check_interval(),
        );
        if config.log_cleaner_enable {
            out.set_timer(Timer::LogCleaner, boot.now + broker.cleaner_backoff());
        }
        out.set_timer(
            Timer::RecoveryPointCheckpoint,
            boot.now + broker.recovery_point_checkpoint_interval(),
        );
        broker.debug_check_invariants();
        broker
    }

    /// Static mode: this broker alone leads every configured partition, in a new leader
    /// epoch at every start (what a controller would do for a lone broker).
    fn static_image(&self) -> MetadataImage {
        let mut image = MetadataImage::default();
        let me = self.config.node_id;
        image.brokers.insert(
            me,
            BrokerState {
                address: self.id,
                broker_epoch: 0,
                fenced: false,
                in_controlled_shutdown: false,
            },
        );
        for (tp, p) in &self.partitions {
            let count = image.topics.entry(tp.topic.to_string()).or_insert(0);
            *count = (*count).max(tp.partition + 1);
            image.partitions.insert(
                tp.clone(),
                PartitionState {
                    replicas: vec![me],
                    isr: vec![me],
                    leader: me,
                    leader_epoch: p.log().epoch_cache().latest_epoch().map_or(0, |e| e + 1),
                    partition_epoch: 0,
                    eligible_leader_replicas: Vec::new(),
                    last_known_elr: Vec::new(),
                },
            );
        }
        for topic in &self.config.topics {
            for (name, value) in topic.config.entries() {
                let configs = image.topic_configs.entry(topic.name.clone()).or_default();
                configs.insert(name.to_string(), value);
            }
        }
        // Kafka 4.1's default for a new cluster.
        image.features.insert(
            crate::metadata::ELIGIBLE_LEADER_REPLICAS_VERSION.to_string(),
            1,
        );
        image
    }

    /// The broker's `node.id`.
    pub fn node_id(&self) -> i32 {
        self.config.node_id
    }
    /// The partitions this broker hosts.
    pub fn partitions(&self) -> &BTreeMap<TopicPartition, Partition> {
        &self.partitions
    }
    /// The metadata this broker knows.
    pub fn image(&self) -> &MetadataImage {
        &self.image
    }
    /// What the broker lets the world see: its replicas and its groups.
    pub fn view(&self) -> crate::view::BrokerView {
        crate::view::BrokerView {
            replicas: self.partitions.values().map(Partition::view).collect(),
            groups: self.groups.views(),
        }
    }

    /// Whether the controller has registered and unfenced this broker (always in static mode).
    pub fn is_active(&self) -> bool {
        self.quorum.is_none()
            || matches!(
                self.registration,
                Registration::Registered { fenced: false, .. }
            )
    }

    fn next_correlation_id(&mut self) -> i32 {
        self.network.next_correlation_id()
    }

    fn cleaner_backoff(&self) -> Duration {
        Duration::from_millis(self.config.log_cleaner_backoff_ms)
    }

    fn retention_check_interval(&self) -> Duration {
        Duration::from_millis(self.config.log_retention_check_interval_ms)
    }

    /// A topic's segment and retention settings: its own from the metadata, else this
    /// broker's `log.*` ones.
    fn topic_log_settings(&self, topic: &str) -> partition::TopicLogSettings {
        let mut settings = partition::TopicLogSettings::of_broker(&self.config);
        let number = |name| {
            self.image
                .topic_configs
                .get(topic)
                .and_then(|c| c.get(name))
                .and_then(|v| v.parse::<i64>().ok())
        };
        if let Some(v) = number(crate::config::SEGMENT_MS) {
            settings.log.segment_ms = v;
        }
        if let Some(v) = number(crate::config::SEGMENT_BYTES) {
            settings.log.segment_bytes = v.max(0) as u64;
        }
        if let Some(v) = number(crate::config::RETENTION_MS) {
            settings.retention.retention_ms = v;
        }
        if let Some(v) = number(crate::config::RETENTION_BYTES) {
            settings.retention.retention_bytes = v;
        }
        if let Some(v) = number(crate::config::DELETE_RETENTION_MS) {
            settings.cleaner.delete_retention_ms = v;
        }
        if let Some(v) = number(crate::config::MIN_COMPACTION_LAG_MS) {
            settings.cleaner.min_compaction_lag_ms = v;
        }
        let text = |name| {
            self.image
                .topic_configs
                .get(topic)
                .and_then(|c| c.get(name))
        };
        if let Some(p) =
            text(crate::config::CLEANUP_POLICY).and_then(|v| crate::config::CleanupPolicy::parse(v))
        {
            settings.cleanup = p;
        }
        if let Some(r) = text(crate::config::MIN_CLEANABLE_DIRTY_RATIO)
            .and_then(|v| crate::config::properties::ratio(&v.as_str().into()).ok())
        {
            settings.cleaner.min_cleanable_dirty_ratio_ppm = r.0;
        }
        settings
    }

    fn isr_check_interval(&self) -> Duration {
        Duration::from_millis((self.config.replica_lag_time_max_ms / 2).max(1))
    }

    fn recovery_point_checkpoint_interval(&self) -> Duration {
        Duration::from_millis(self.config.log_flush_offset_checkpoint_interval_ms)
    }

    fn flush_scheduler_interval(&self) -> Option<Duration> {
        // The flusher only matters when a time-based flush is configured.
        self.config.log_flush_interval_ms?;
        self.config
            .log_flush_scheduler_interval_ms
            .map(Duration::from_millis)
    }

    /// Handle one input.
    pub fn step(&mut self, now: Instant, input: Input<Vocab>, out: &mut Out) {
        if self.is_closing() {
            // The logs are closing: only their syncs matter now.
            if let Input::DiskDone { file, token } = input {
                self.on_disk_done(now, &file, token, out);
            }
            return;
        }
        match input {
            Input::Recv { from, msg } => {
                let msg = match self.quorum.as_mut() {
                    Some(q) => q.on_message(now, from, msg, &mut out.scoped()),
                    None => Some(msg),
                };
                if let Some(msg) = msg {
                    self.on_message(now, from, msg, out);
                }
            }
            Input::Timer(timer) => self.on_timer(now, timer, out),
            Input::DiskDone { file, token } => self.on_disk_done(now, &file, token, out),
            Input::Disconnected { peer } => self.on_disconnected(now, peer, out),
            Input::Command(never) => match never {},
            Input::Terminate => self.on_terminate(now, out),
        }
        if self.is_closing() {
            return;
        }
        self.apply_metadata(now, out);
        self.fetch_from_leaders(now, out);
        self.debug_check_invariants();
    }

    /// Every replica's and the metadata observer's invariants (debug builds only).
    fn debug_check_invariants(&self) {
        if cfg!(debug_assertions) {
            for p in self.partitions.values() {
                p.debug_check_invariants();
            }
            if let Some(q) = &self.quorum {
                q.debug_check_invariants();
            }
        }
    }

    /// The connection to `peer` broke: the requests in flight on it are lost.
    fn on_disconnected(&mut self, now: Instant, peer: NodeId, out: &mut Out) {
        if let Some(q) = self.quorum.as_mut() {
            q.on_disconnected(now, peer, &mut out.scoped());
        }
        let backoff = Duration::from_millis(self.config.replica_fetch_backoff_ms);
        for (_, request) in self.network.on_disconnected(peer, &mut out.scoped()) {
            match request.kind {
                Request::ReplicaFetch => self.fetcher.back_off(peer, now + backoff),
                // The metadata log will bring the truth; the ISR check proposes again.
                Request::AlterPartition(tp) => {
                    if let Some(p) = self.partitions.get_mut(&tp) {
                        p.clear_pending_isr();
                    }
                }
            }
        }
        out.set_timer(Timer::ReplicaFetchRetry, now + backoff);
    }

    fn on_message(&mut self, now: Instant, from: NodeId, msg: Message, out: &mut Out) {
        match msg {
            Message::MetadataRequest(r) => self.on_metadata(from, r, out),
            Message::ProduceRequest(r) => self.on_produce(now, from, r, out),
            Message::FetchRequest(r) => self.on_fetch(now, from, r, out),
            Message::FetchResponse(r) => self.on_replica_fetch_response(now, r, out),
            Message::ListOffsetsRequest(r) => self.on_list_offsets(from, r, out),
            Message::FindCoordinatorRequest(r) => self.on_find_coordinator(from, r, out),
            msg @ (Message::JoinGroupRequest(_)
            | Message::SyncGroupRequest(_)
            | Message::HeartbeatRequest(_)
            | Message::LeaveGroupRequest(_)
            | Message::OffsetCommitRequest(_)
            | Message::OffsetFetchRequest(_)) => {
                self.on_group_request(now, from, msg, out);
            }
            Message::OffsetForLeaderEpochRequest(r) => {
                let partitions = r
                    .partitions
                    .iter()
                    .map(|(tp, current, epoch)| match self.partitions.get(tp) {
                        Some(p)
                            if p.is_leader() && *current >= 0 && *current < p.leader_epoch() =>
                        {
                            (tp.clone(), ErrorCode::FencedLeaderEpoch, -1, -1)
                        }
                        Some(p) if p.is_leader() => {
                            let answer = leader_epoch_end_offset(
                                p.log().epoch_cache(),
                                *epoch,
                                p.log_end_offset(),
                            );
                            // Kafka answers the epoch's end in the leader's log, not capped at
                            // the high watermark: a new leader's high watermark lags its log end
                            // until its followers fetch, and a cap would make a consumer that
                            // read up to the old high watermark see a truncation that is not.
                            (tp.clone(), ErrorCode::None, answer.epoch, answer.end_offset)
                        }
                        Some(_) => (tp.clone(), ErrorCode::NotLeaderOrFollower, -1, -1),
                        None => (tp.clone(), ErrorCode::UnknownTopicOrPartition, -1, -1),
                    })
                    .collect();
                let response = OffsetForLeaderEpochResponse {
                    correlation_id: r.correlation_id,
                    partitions,
                };
                out.send(from, Message::OffsetForLeaderEpochResponse(response));
            }
            Message::InitProducerIdRequest(r) => {
                // Kafka's controller hands out blocks of ids (AllocateProducerIds); here each
                // broker's ids are unique by construction: its id, its incarnation, a counter.
                let producer_id = (i64::from(self.config.node_id) << 40)
                    | (i64::from(self.incarnation) << 24)
                    | self.next_producer_id;
                self.next_producer_id += 1;
                let response = InitProducerIdResponse {
                    correlation_id: r.correlation_id,
                    error: ErrorCode::None,
                    producer_id,
                    producer_epoch: 0,
                };
                out.send(from, Message::InitProducerIdResponse(response));
            }
            Message::BrokerRegistrationResponse(r) => self.on_registration_response(now, r, out),
            Message::BrokerHeartbeatResponse(r) => self.on_heartbeat_response(now, r, out),
            Message::AlterPartitionResponse(r) => self.on_alter_partition_response(now, r, out),
            // Anything else is not for a broker.
            _ => {}
        }
    }

    fn on_timer(&mut self, now: Instant, timer: Timer, out: &mut Out) {
        match timer {
            Timer::FlushScheduler => self.on_flush_scheduler(now, out),
            Timer::FetchExpiry(id) => self.expire_delayed_fetch(id, out),
            Timer::ProduceExpiry(id) => self.expire_delayed_produce(id, out),
            Timer::Heartbeat => self.on_heartbeat_timer(now, out),
            Timer::IsrCheck => {
                self.check_isr(now, out);
                out.set_timer(Timer::IsrCheck, now + self.isr_check_interval());
            }
            Timer::LogCleaner => {
                for p in self.partitions.values_mut() {
                    p.clean(now, out);
                }
                out.set_timer(Timer::LogCleaner, now + self.cleaner_backoff());
            }
            Timer::LogRetentionCheck => {
                for p in self.partitions.values_mut() {
                    p.delete_old_segments(now, out);
                }
                out.set_timer(
                    Timer::LogRetentionCheck,
                    now + self.retention_check_interval(),
                );
            }
            Timer::HighWatermarkCheckpoint => {
                self.checkpoint_high_watermarks(out);
                out.set_timer(
                    Timer::HighWatermarkCheckpoint,
                    now + Duration::from_millis(
                        self.config.replica_high_watermark_checkpoint_interval_ms,
                    ),
                );
            }
            Timer::RecoveryPointCheckpoint => {
                self.checkpoint_recovery_points(out);
                out.set_timer(
                    Timer::RecoveryPointCheckpoint,
                    now + self.recovery_point_checkpoint_interval(),
                );
            }
            Timer::ControlledShutdownTimeout => self.on_controlled_shutdown_done(now, false, out),
            Timer::ReplicaFetchRetry => {}
            Timer::Group(group::Timer::Tick) => self.on_group_tick(now, out),
            Timer::Network(t) => match self.network.on_timer(t).map(|(_, r)| r.kind) {
                Some(Request::ReplicaFetch) | None => {}
                Some(Request::AlterPartition(tp)) => {
                    if let Some(p) = self.partitions.get_mut(&tp) {
                        p.clear_pending_isr();
                    }
                }
            },
            Timer::Quorum(t) => {
                if let Some(q) = self.quorum.as_mut() {
                    q.on_timer(now, t, &mut out.scoped());
                }
            }
        }
    }

    /// Apply newly committed metadata records, then act on what changed.
    fn apply_metadata(&mut self, now: Instant, out: &mut Out) {
        let Some(q) = self.quorum.as_mut() else {
            return;
        };
        let records = q.take_committed();
        if records.is_empty() {
            return;
        }
        for (offset, record) in records {
            self.image.apply(&record);
            self.metadata_applied = offset + 1;
        }
        self.reconcile_partitions(now, out);
    }

    /// Make every partition's role match the metadata image.
    pub(super) fn reconcile_partitions(&mut self, now: Instant, out: &mut Out) {
        // A restarted broker replays its copy of the metadata log, which may be stale: it
        // takes up partition roles only once the controller has unfenced it, i.e. once it has
        // caught up (Kafka's brokers wait for the same initial catch-up before publishing).
        if !self.is_active() {
            return;
        }
        let me = self.config.node_id;
        let legacy_hw = self.config.legacy_truncate_to_high_watermark;
        let assigned: Vec<(TopicPartition, PartitionState)> = self
            .image
            .partitions
            .iter()
            .filter(|(_, p)| p.replicas.contains(&me))
            .map(|(tp, p)| (tp.clone(), p.clone()))
            .collect();
        for (tp, state) in assigned {
            let log_settings = self.topic_log_settings(tp.topic.as_ref());
            let partition = self.partitions.entry(tp.clone()).or_insert_with(|| {
                let start = RecoveryStart::RecoveryPoint(0);
                Partition::recover(
                    tp.clone(),
                    &self.config,
                    &DiskImage::new(),
                    0,
                    start,
                    now,
                    out,
                )
            });
            let min_isr = self
                .image
                .min_insync_replicas(tp.topic.as_ref(), self.config.min_insync_replicas);
            partition.set_min_isr_rule(min_isr, self.image.elr_enabled());
            partition.set_log_settings(log_settings);
            let new_epoch = state.leader_epoch != partition.leader_epoch();
            match (state.leader, partition.role().clone()) {
                (l, Role::Leader { .. }) if l == me && !new_epoch => {
                    partition.update_isr(&state.isr, state.partition_epoch, out);
                }
                (l, _) if l == me => {
                    partition.become_leader(now, &state, me, out);
                }
                (-1, _) => partition.go_offline(state.leader_epoch, out),
                (l, Role::Follower { leader }) if l == leader && !new_epoch => {
                    partition.update_isr(&state.isr, state.partition_epoch, out);
                }
                _ => partition.become_follower(&state, legacy_hw, out),
            }
        }
        // Requests waiting on a leadership this broker lost can no longer succeed.
        self.unload_lost_groups(out);
        self.fail_delayed_produces_not_led(out);
        self.complete_delayed_produces(now, out);
    }

    fn on_metadata(&self, from: NodeId, request: MetadataRequest, out: &mut Out) {
        let topics = request
            .topics
            .iter()
            .map(|name| {
                let partitions: Vec<PartitionMetadata> = self
                    .image
                    .partitions
                    .iter()
                    .filter(|(tp, _)| *tp.topic == **name)
                    .map(|(tp, p)| PartitionMetadata {
                        error: if p.leader < 0 {
                            ErrorCode::LeaderNotAvailable
                        } else {
                            ErrorCode::None
                        },
                        partition: tp.partition,
                        leader_id: p.leader,
                        leader_epoch: p.leader_epoch,
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
        let brokers = self
            .image
            .brokers
            .iter()
            .filter(|(_, b)| !b.fenced)
            .map(|(id, b)| BrokerMetadata {
                node_id: *id,
                address: b.address,
            })
            .collect();
        let response = MetadataResponse {
            correlation_id: request.correlation_id,
            brokers,
            topics,
        };
        out.send(from, Message::MetadataResponse(response));
    }

    /// Start an fsync of `tp`'s log. Returns the flush id, or `None` if nothing was unsynced.
    fn flush(
        &mut self,
        tp: &TopicPartition,
        trigger: FlushTrigger,
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
                DiskOp::Sync { token, file } => Some((*token, file.clone())),
                _ => None,
            })
            .collect();
        out.trace(LogEvent::FlushStarted {
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

    /// Send `message` to `to` once the flushes `flushes` have completed: at once if none is
    /// in flight any more, else held in the `Flush` purgatory until their syncs complete.
    fn send_after_flushes(
        &mut self,
        to: NodeId,
        message: Message,
        flushes: &BTreeSet<u64>,
        out: &mut Out,
    ) {
        let until = self.flushes.pending_syncs(flushes);
        if until.is_empty() {
            out.send(to, message);
            return;
        }
        let hold = Hold {
            what: crate::node::Describe::name(&message),
            to: Some(to),
            until,
            expires_at: None,
        };
        self.held_for_flush.hold((to, message), hold, out);
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
                self.flush(&tp, FlushTrigger::Interval, now, out);
            }
        }
        if let Some(interval) = self.flush_scheduler_interval() {
            out.set_timer(Timer::FlushScheduler, now + interval);
        }
    }

    fn on_disk_done(&mut self, now: Instant, file: &str, token: DiskToken, out: &mut Out) {
        if file.starts_with(METADATA_DIR) {
            if let Some(q) = self.quorum.as_mut() {
                q.on_disk_done(now, token, &mut out.scoped());
            }
            return;
        }
        let finished = self.flushes.complete(token);
        for flush in finished {
            if let Some(p) = self.partitions.get_mut(&flush.partition) {
                p.flushed(flush.up_to);
                out.trace(LogEvent::Flushed {
                    partition: flush.partition,
                    recovery_point: p.recovery_point(),
                });
            }
        }
        let flushes = &self.flushes;
        let released = self.held_for_flush.complete(
            |_, c| match c {
                Condition::Fsync { token, .. } => !flushes.is_syncing(DiskToken(*token)),
                _ => false,
            },
            out,
        );
        for (_, w) in released {
            let (to, message) = w.op;
            out.send(to, message);
        }
        if self.is_closing() {
            self.advance_shutdown(Some(token), out);
        }
    }

    /// Kafka writes checkpoint files to a temporary file, fsyncs it and renames it.
    fn checkpoint_high_watermarks(&mut self, out: &mut Out) -> DiskToken {
        let offsets = self
            .partitions
            .iter()
            .map(|(tp, p)| (tp.clone(), p.high_watermark()))
            .collect();
        out.disk(DiskOp::Replace {
            file: checkpoint::HIGH_WATERMARKS.to_string(),
            bytes: checkpoint::encode(&offsets),
        });
        self.sync(checkpoint::HIGH_WATERMARKS, out)
    }

    /// Shrink the ISR of led partitions whose followers lag more than `replica.lag.time.max.ms`.
    fn check_isr(&mut self, now: Instant, out: &mut Out) {
        let lag = Duration::from_millis(self.config.replica_lag_time_max_ms);
        let shrink: Vec<(TopicPartition, Vec<i32>)> = self
            .partitions
            .iter_mut()
            .filter_map(|(tp, p)| p.isr_to_shrink(now, lag).map(|isr| (tp.clone(), isr)))
            .collect();
        for (tp, isr) in shrink {
            self.send_alter_partition(now, tp, isr, out);
        }
    }

    fn send_alter_partition(
        &mut self,
        now: Instant,
        tp: TopicPartition,
        new_isr: Vec<i32>,
        out: &mut Out,
    ) {
        let Registration::Registered { broker_epoch, .. } = self.registration else {
            if let Some(p) = self.partitions.get_mut(&tp) {
                p.clear_pending_isr();
            }
            return;
        };
        let Some(p) = self.partitions.get(&tp) else {
            return;
        };
        let request = AlterPartitionRequest {
            correlation_id: 0,
            broker_id: self.config.node_id,
            broker_epoch,
            partition: tp.clone(),
            leader_epoch: p.leader_epoch(),
            new_isr: p.isr_with_epochs(&new_isr, broker_epoch),
            partition_epoch: p.partition_epoch(),
        };
        let Some(controller) = self
            .image
            .quorum_leader
            .and_then(|l| self.config.controller_quorum_voters.get(&l).copied())
        else {
            if let Some(p) = self.partitions.get_mut(&tp) {
                p.clear_pending_isr();
            }
            return;
        };
        let build = |correlation_id| {
            Message::AlterPartitionRequest(AlterPartitionRequest {
                correlation_id,
                ..request
            })
        };
        let timeout = Duration::from_millis(ALTER_PARTITION_TIMEOUT_MS);
        let kind = Request::AlterPartition(tp);
        self.network
            .send(now, controller, build, kind, timeout, &mut out.scoped());
    }

    fn on_alter_partition_response(
        &mut self,
        now: Instant,
        r: AlterPartitionResponse,
        out: &mut Out,
    ) {
        let Some(Request::AlterPartition(tp)) = self
            .network
            .complete(r.correlation_id, &mut out.scoped())
            .map(|r| r.kind)
        else {
            return;
        };
        let Some(p) = self.partitions.get_mut(&tp) else {
            return;
        };
        if r.error == ErrorCode::None && r.leader_epoch == p.leader_epoch() {
            p.update_isr(&r.isr, r.partition_epoch, out);
        } else {
            // The metadata log will bring the truth; try again from there.
            p.clear_pending_isr();
        }
        self.complete_delayed_produces(now, out);
    }

    fn on_list_offsets(&self, from: NodeId, request: ListOffsetsRequest, out: &mut Out) {
        let partitions = request
            .partitions
            .iter()
            .map(|(tp, spec)| match self.partitions.get(tp) {
                Some(p) if p.is_leader() => ListOffsetsPartitionResponse {
                    partition: tp.clone(),
                    error: ErrorCode::None,
                    offset: match spec {
                        OffsetSpec::Earliest => p.log_start_offset(),
                        OffsetSpec::Latest => p.high_watermark(),
                    },
                },
                Some(_) => ListOffsetsPartitionResponse {
                    partition: tp.clone(),
                    error: ErrorCode::NotLeaderOrFollower,
                    offset: -1,
                },
                None => ListOffsetsPartitionResponse {
                    partition: tp.clone(),
                    error: ErrorCode::UnknownTopicOrPartition,
                    offset: -1,
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
