//! Kafka's configuration, with Kafka's names and Kafka's defaults.
//!
//! Each field documents the Kafka property it stands for, and each `Default` is Kafka's
//! default. Scenario files set them by those names (`log.flush.interval.messages = 1`), so what
//! a learner tries here works the same way on a real cluster. Kafka's "never"
//! (`Long.MAX_VALUE`) is `None`.
//!
//! The rules that go with the types live beside them, so anything that configures a node — the
//! scenario format, the browser, a connector — follows the same ones:
//! - [`properties`]: each role's table of property names, and how a value is read;
//! - [`validate`]: checks across properties, such as what an idempotent producer needs;
//! - [`internal_topics`]: `__consumer_offsets` and its defaults;
//! - [`node_ids`]: how servers are numbered when no `node.id` is given, and that none repeats.

pub mod internal_topics;
pub mod node_ids;
pub mod properties;
pub mod validate;

use crate::ids::NodeId;
use crate::time::Duration;
use serde::{Deserialize, Serialize};
use std::fmt;

/// `acks`: how many replicas must have a record before the leader acknowledges it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Acks {
    /// `acks=0`: fire and forget; the producer never hears back.
    #[serde(rename = "0")]
    Zero,
    /// `acks=1`: the leader acknowledges once the record is in its own log (page cache).
    #[serde(rename = "1")]
    One,
    /// `acks=all` (or `-1`): every in-sync replica must have it. Kafka's default since 3.0.
    #[default]
    #[serde(rename = "all")]
    All,
}

impl Acks {
    /// The value on the wire (`0`, `1`, `-1`).
    pub fn wire(self) -> i16 {
        match self {
            Acks::Zero => 0,
            Acks::One => 1,
            Acks::All => -1,
        }
    }
}

impl fmt::Display for Acks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Acks::Zero => "0",
            Acks::One => "1",
            Acks::All => "all",
        })
    }
}

/// `min.insync.replicas`: a topic, cluster or broker setting (the property's one spelling).
pub const MIN_INSYNC_REPLICAS: &str = "min.insync.replicas";

/// `unclean.leader.election.enable`: a topic, cluster or controller setting.
pub const UNCLEAN_LEADER_ELECTION_ENABLE: &str = "unclean.leader.election.enable";

/// `retention.ms`: a topic's time-based retention.
pub const RETENTION_MS: &str = "retention.ms";
/// `retention.bytes`: a topic's size-based retention.
pub const RETENTION_BYTES: &str = "retention.bytes";
/// `segment.ms`: a topic's segment roll time.
pub const SEGMENT_MS: &str = "segment.ms";
/// `segment.bytes`: a topic's segment size.
pub const SEGMENT_BYTES: &str = "segment.bytes";
/// `cleanup.policy`: delete old segments, compact, or both.
pub const CLEANUP_POLICY: &str = "cleanup.policy";
/// `min.cleanable.dirty.ratio`: the dirty share of a log that starts a cleaning.
pub const MIN_CLEANABLE_DIRTY_RATIO: &str = "min.cleanable.dirty.ratio";
/// `delete.retention.ms`: how long a compacted topic keeps a tombstone.
pub const DELETE_RETENTION_MS: &str = "delete.retention.ms";
/// `min.compaction.lag.ms`: how long a record stays uncompacted at least.
pub const MIN_COMPACTION_LAG_MS: &str = "min.compaction.lag.ms";

/// `cleanup.policy` (`log.cleanup.policy` on a broker): what happens to old records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum CleanupPolicy {
    /// `delete`: retention deletes old segments (the default).
    #[default]
    Delete,
    /// `compact`: the log cleaner keeps the latest record of every key.
    Compact,
    /// `compact,delete`: both.
    CompactDelete,
}

impl CleanupPolicy {
    /// Whether retention deletes old segments.
    pub fn deletes(self) -> bool {
        self != CleanupPolicy::Compact
    }
    /// Whether the log cleaner compacts the log.
    pub fn compacts(self) -> bool {
        self != CleanupPolicy::Delete
    }
    /// The policy named by Kafka's list text (`compact,delete`, in either order).
    pub fn parse(text: &str) -> Option<CleanupPolicy> {
        let mut words: Vec<&str> = text.split(',').map(str::trim).collect();
        words.sort_unstable();
        words.dedup();
        match words.as_slice() {
            ["delete"] => Some(CleanupPolicy::Delete),
            ["compact"] => Some(CleanupPolicy::Compact),
            ["compact", "delete"] => Some(CleanupPolicy::CompactDelete),
            _ => None,
        }
    }
}

impl fmt::Display for CleanupPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CleanupPolicy::Delete => "delete",
            CleanupPolicy::Compact => "compact",
            CleanupPolicy::CompactDelete => "compact,delete",
        })
    }
}

/// A ratio such as `min.cleanable.dirty.ratio`, held in parts per million so that the
/// simulation compares integers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ratio(pub u32);

impl Ratio {
    /// The ratio as text, as Kafka prints it (`0.5`).
    pub fn text(self) -> String {
        let whole = self.0 / 1_000_000;
        let fraction = format!("{:06}", self.0 % 1_000_000);
        let fraction = fraction.trim_end_matches('0');
        if fraction.is_empty() {
            format!("{whole}.0")
        } else {
            format!("{whole}.{fraction}")
        }
    }
}

/// A topic's own settings (`kafka-topics --create --config`), each overriding the cluster's
/// default for this topic only. Unset fields follow the cluster.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicConfig {
    /// `min.insync.replicas` for this topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_insync_replicas: Option<usize>,
    /// `unclean.leader.election.enable` for this topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unclean_leader_election_enable: Option<bool>,
    /// `retention.ms` for this topic (-1: forever).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_ms: Option<i64>,
    /// `retention.bytes` for this topic (-1: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_bytes: Option<i64>,
    /// `segment.ms` for this topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_ms: Option<i64>,
    /// `segment.bytes` for this topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_bytes: Option<u64>,
    /// `cleanup.policy` for this topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleanup_policy: Option<CleanupPolicy>,
    /// `min.cleanable.dirty.ratio` for this topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_cleanable_dirty_ratio: Option<Ratio>,
    /// `delete.retention.ms` for this topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_retention_ms: Option<i64>,
    /// `min.compaction.lag.ms` for this topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_compaction_lag_ms: Option<i64>,
}

impl TopicConfig {
    /// The settings as `(name, value)` text pairs, as a `ConfigRecord` stores them.
    pub fn entries(&self) -> Vec<(&'static str, String)> {
        let mut entries = Vec::new();
        if let Some(v) = self.min_insync_replicas {
            entries.push((MIN_INSYNC_REPLICAS, v.to_string()));
        }
        if let Some(v) = self.unclean_leader_election_enable {
            entries.push((UNCLEAN_LEADER_ELECTION_ENABLE, v.to_string()));
        }
        if let Some(p) = self.cleanup_policy {
            entries.push((CLEANUP_POLICY, p.to_string()));
        }
        if let Some(r) = self.min_cleanable_dirty_ratio {
            entries.push((MIN_CLEANABLE_DIRTY_RATIO, r.text()));
        }
        let numbers = [
            (RETENTION_MS, self.retention_ms),
            (RETENTION_BYTES, self.retention_bytes),
            (SEGMENT_MS, self.segment_ms),
            (SEGMENT_BYTES, self.segment_bytes.map(|v| v as i64)),
            (DELETE_RETENTION_MS, self.delete_retention_ms),
            (MIN_COMPACTION_LAG_MS, self.min_compaction_lag_ms),
        ];
        for (name, value) in numbers {
            if let Some(v) = value {
                entries.push((name, v.to_string()));
            }
        }
        entries
    }
}

/// A topic that exists from the start of a run: the active controller creates it once enough
/// brokers are up (or, with no controller, each broker hosts it alone). Topics are created by
/// the scenario, not by a `CreateTopics` request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicSpec {
    /// The topic name.
    pub name: String,
    /// `num.partitions` for this topic.
    pub partitions: i32,
    /// `replication.factor` for this topic (Kafka's `default.replication.factor` is 1).
    #[serde(default = "one")]
    pub replication_factor: i32,
    /// The topic's own settings.
    #[serde(default, skip_serializing_if = "is_default")]
    pub config: TopicConfig,
}

fn is_default(config: &TopicConfig) -> bool {
    *config == TopicConfig::default()
}

fn one() -> i32 {
    1
}

/// A broker's configuration (`server.properties`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerConfig {
    /// `node.id`: the broker's id in metadata.
    pub node_id: i32,
    /// `log.flush.interval.messages`: fsync a partition after this many appended messages.
    /// Default: never (`Long.MAX_VALUE`): Kafka relies on replication, not fsync.
    pub log_flush_interval_messages: Option<u64>,
    /// `log.flush.interval.ms`: fsync a partition when its oldest unflushed write is this old,
    /// checked every `log.flush.scheduler.interval.ms`. Default: never.
    pub log_flush_interval_ms: Option<u64>,
    /// `log.flush.scheduler.interval.ms`: how often the log flusher checks
    /// `log.flush.interval.ms`. Default: never, so `log.flush.interval.ms` alone does nothing.
    pub log_flush_scheduler_interval_ms: Option<u64>,
    /// `log.segment.bytes`: roll to a new segment beyond this size. Default 1 GiB.
    pub log_segment_bytes: u64,
    /// `log.index.interval.bytes`: bytes between offset index entries. Default 4096.
    pub log_index_interval_bytes: u64,
    /// `log.roll.ms`: roll the active segment once it spans this much time (a topic's
    /// `segment.ms` overrides it). Unset: `log.roll.hours`.
    pub log_roll_ms: Option<i64>,
    /// `log.roll.hours`, used when `log.roll.ms` is unset. Default 168 (7 days).
    pub log_roll_hours: i64,
    /// `log.retention.ms`: delete closed segments whose newest record is older (-1: keep
    /// forever; a topic's `retention.ms` overrides it). Unset: `log.retention.minutes`.
    pub log_retention_ms: Option<i64>,
    /// `log.retention.minutes`, used when `log.retention.ms` is unset. Unset:
    /// `log.retention.hours`.
    pub log_retention_minutes: Option<i64>,
    /// `log.retention.hours`, used when neither of the above is set. Default 168 (7 days).
    pub log_retention_hours: i64,
    /// `log.retention.bytes`: delete the oldest segments while the log is larger (-1: no
    /// limit, the default; a topic's `retention.bytes` overrides it).
    pub log_retention_bytes: i64,
    /// `log.retention.check.interval.ms`: how often the broker looks for segments to delete.
    /// Default 300000.
    pub log_retention_check_interval_ms: u64,
    /// `log.cleanup.policy`: a topic's `cleanup.policy` unless it sets its own. Default delete.
    pub log_cleanup_policy: CleanupPolicy,
    /// `log.cleaner.enable`: whether the broker runs the log cleaner. Default true.
    pub log_cleaner_enable: bool,
    /// `log.cleaner.backoff.ms`: how long the cleaner sleeps when no log needs cleaning.
    /// Default 15000.
    pub log_cleaner_backoff_ms: u64,
    /// `log.cleaner.min.cleanable.ratio`: `min.cleanable.dirty.ratio` unless a topic sets it.
    /// Default 0.5.
    pub log_cleaner_min_cleanable_ratio: Ratio,
    /// `log.cleaner.delete.retention.ms`: `delete.retention.ms` unless a topic sets it.
    /// Default 86400000 (1 day).
    pub log_cleaner_delete_retention_ms: i64,
    /// `log.cleaner.min.compaction.lag.ms`: `min.compaction.lag.ms` unless a topic sets it.
    /// Default 0.
    pub log_cleaner_min_compaction_lag_ms: i64,
    /// `message.max.bytes`: the largest record batch accepted. Default 1048588.
    pub message_max_bytes: u64,
    /// Topics hosted from the start when there is no controller quorum (static mode: this
    /// broker leads every partition of them alone).
    pub topics: Vec<TopicSpec>,
    /// `controller.quorum.voters`: the KRaft controllers (id → address). Empty: static mode.
    pub controller_quorum_voters: std::collections::BTreeMap<i32, NodeId>,
    /// `broker.heartbeat.interval.ms`. Default 2000.
    pub broker_heartbeat_interval_ms: u64,
    /// `replica.lag.time.max.ms`: a follower that has not caught up for this long leaves the
    /// ISR. Default 30000.
    pub replica_lag_time_max_ms: u64,
    /// `replica.fetch.wait.max.ms`: how long a leader may hold a follower's Fetch. Default 500.
    pub replica_fetch_wait_max_ms: u64,
    /// `replica.fetch.max.bytes`: the most bytes a follower asks for per partition (at least
    /// one batch comes anyway). Default 1048576.
    pub replica_fetch_max_bytes: u64,
    /// `replica.fetch.response.max.bytes`: the most bytes a follower asks for per Fetch, over
    /// all partitions. Default 10485760.
    pub replica_fetch_response_max_bytes: u64,
    /// `replica.fetch.backoff.ms`: how long a follower waits before fetching again from a
    /// leader that failed the fetch (an error or a lost connection). Default 1000.
    pub replica_fetch_backoff_ms: u64,
    /// `replica.high.watermark.checkpoint.interval.ms`: how often the high watermarks are
    /// written to `replication-offset-checkpoint`. Default 5000.
    pub replica_high_watermark_checkpoint_interval_ms: u64,
    /// `log.flush.offset.checkpoint.interval.ms`: how often each log's recovery point is
    /// written to `recovery-point-offset-checkpoint`. Default 60000.
    pub log_flush_offset_checkpoint_interval_ms: u64,
    /// `controlled.shutdown.enable`: on SIGTERM, ask the controller to move this broker's
    /// leaderships away before stopping. Default true.
    pub controlled_shutdown_enable: bool,
    /// `replica.socket.timeout.ms`: a follower gives up on a Fetch unanswered this long (on top
    /// of the wait) and sends another. Default 30000.
    pub replica_socket_timeout_ms: u64,
    /// `min.insync.replicas`: with `acks=all`, refuse writes when the ISR is smaller. Default 1.
    pub min_insync_replicas: usize,
    /// Before KIP-101: a follower truncates its log to its high watermark when it starts
    /// following, instead of asking the leader where its epoch ended (loses acknowledged
    /// writes, reference R1). `kafkasim.legacy.truncate.to.high.watermark`, default false.
    pub legacy_truncate_to_high_watermark: bool,
    /// Before KIP-279: the leader answers a follower's epoch without the largest-epoch-below
    /// rule, and the follower truncates to that answer even past its own epoch's end (can keep
    /// a divergent suffix, reference R3). `kafkasim.legacy.pre.kip279.truncation`, default false.
    pub legacy_pre_kip279_truncation: bool,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            node_id: 1,
            log_flush_interval_messages: None,
            log_flush_interval_ms: None,
            log_flush_scheduler_interval_ms: None,
            log_segment_bytes: 1_073_741_824,
            log_index_interval_bytes: 4096,
            log_roll_ms: None,
            log_roll_hours: 168,
            log_retention_ms: None,
            log_retention_minutes: None,
            log_retention_hours: 168,
            log_retention_bytes: -1,
            log_retention_check_interval_ms: 300_000,
            log_cleanup_policy: CleanupPolicy::Delete,
            log_cleaner_enable: true,
            log_cleaner_backoff_ms: 15_000,
            log_cleaner_min_cleanable_ratio: Ratio(500_000),
            log_cleaner_delete_retention_ms: 86_400_000,
            log_cleaner_min_compaction_lag_ms: 0,
            message_max_bytes: 1_048_588,
            topics: Vec::new(),
            controller_quorum_voters: std::collections::BTreeMap::new(),
            broker_heartbeat_interval_ms: 2000,
            replica_lag_time_max_ms: 30_000,
            replica_fetch_wait_max_ms: 500,
            replica_fetch_max_bytes: 1_048_576,
            replica_fetch_response_max_bytes: 10_485_760,
            replica_fetch_backoff_ms: 1000,
            replica_socket_timeout_ms: 30_000,
            replica_high_watermark_checkpoint_interval_ms: 5000,
            log_flush_offset_checkpoint_interval_ms: 60_000,
            controlled_shutdown_enable: true,
            min_insync_replicas: 1,
            legacy_truncate_to_high_watermark: false,
            legacy_pre_kip279_truncation: false,
        }
    }
}

impl BrokerConfig {
    /// The time-based retention in ms, as Kafka resolves it: `log.retention.ms`, else
    /// `log.retention.minutes`, else `log.retention.hours` (a negative value keeps forever).
    pub fn retention_ms(&self) -> i64 {
        let forever_or = |v: i64, unit: i64| if v < 0 { -1 } else { v.saturating_mul(unit) };
        self.log_retention_ms
            .or_else(|| self.log_retention_minutes.map(|m| forever_or(m, 60_000)))
            .unwrap_or_else(|| forever_or(self.log_retention_hours, 3_600_000))
    }

    /// The segment roll time in ms: `log.roll.ms`, else `log.roll.hours`.
    pub fn roll_ms(&self) -> i64 {
        self.log_roll_ms
            .unwrap_or(self.log_roll_hours.saturating_mul(3_600_000))
    }
}

/// A producer's configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProducerConfig {
    /// `bootstrap.servers`: brokers to ask for metadata first.
    pub bootstrap_servers: Vec<NodeId>,
    /// `client.id`.
    pub client_id: String,
    /// `acks`. Default `all`.
    pub acks: Acks,
    /// `linger.ms`: how long a batch waits for more records. Default 5 ms (Kafka 4.0, KIP-1030).
    pub linger_ms: u64,
    /// `batch.size`: a batch is sent as soon as it reaches this many bytes. Default 16384.
    pub batch_size: u64,
    /// `request.timeout.ms`: how long to wait for a response. Default 30000.
    pub request_timeout_ms: u64,
    /// `delivery.timeout.ms`: give up on a record this long after `send()`. Default 120000.
    pub delivery_timeout_ms: u64,
    /// `retries`. Default 2147483647 (bounded in practice by `delivery.timeout.ms`).
    pub retries: u32,
    /// `retry.backoff.ms`. Default 100.
    pub retry_backoff_ms: u64,
    /// `max.in.flight.requests.per.connection`. Default 5.
    pub max_in_flight_requests_per_connection: u32,
    /// `metadata.max.age.ms`: refresh metadata at least this often. Default 300000.
    pub metadata_max_age_ms: u64,
    /// `enable.idempotence`. Unset (Kafka's default since 3.0) means on when the other settings
    /// allow it (`acks=all`, `retries > 0`, `max.in.flight.requests.per.connection <= 5`).
    pub enable_idempotence: Option<bool>,
}

impl ProducerConfig {
    /// Whether the producer is idempotent (KIP-98), by Kafka's rules for the default.
    pub fn idempotent(&self) -> bool {
        self.enable_idempotence.unwrap_or(
            self.acks == Acks::All
                && self.retries > 0
                && self.max_in_flight_requests_per_connection
                    <= validate::MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION_FOR_IDEMPOTENCE,
        )
    }
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            bootstrap_servers: Vec::new(),
            client_id: "producer-1".into(),
            acks: Acks::All,
            linger_ms: 5,
            batch_size: 16_384,
            request_timeout_ms: 30_000,
            delivery_timeout_ms: 120_000,
            retries: 2_147_483_647,
            retry_backoff_ms: 100,
            max_in_flight_requests_per_connection: 5,
            metadata_max_age_ms: 300_000,
            enable_idempotence: None,
        }
    }
}

/// `auto.offset.reset`: where a consumer starts when it has no valid position.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AutoOffsetReset {
    /// Start at the log start offset.
    Earliest,
    /// Start at the log end offset (only new records). Kafka's default.
    #[default]
    Latest,
    /// Report an error instead of guessing.
    None,
}

/// How the application commits its positions (not a Kafka property: what its code does).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApplicationCommit {
    /// It does not call commit itself; `enable.auto.commit` decides.
    #[default]
    Auto,
    /// `commitSync()` after processing each poll: the loop waits for the answer.
    Sync,
    /// `commitAsync()` after processing each poll: the loop goes on; a failure is reported,
    /// not retried (a retry could overwrite a later commit).
    Async,
}

/// A consumer's configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerConfig {
    /// `bootstrap.servers`.
    pub bootstrap_servers: Vec<NodeId>,
    /// `client.id`.
    pub client_id: String,
    /// `auto.offset.reset`. Default `latest`.
    pub auto_offset_reset: AutoOffsetReset,
    /// `fetch.min.bytes`: the broker waits for this much data. Default 1.
    pub fetch_min_bytes: u64,
    /// `fetch.max.wait.ms`: ...but no longer than this. Default 500.
    pub fetch_max_wait_ms: u64,
    /// `fetch.max.bytes`. Default 52428800.
    pub fetch_max_bytes: u64,
    /// `max.partition.fetch.bytes`. Default 1048576.
    pub max_partition_fetch_bytes: u64,
    /// `max.poll.records`. Default 500.
    pub max_poll_records: u32,
    /// `request.timeout.ms`. Default 30000.
    pub request_timeout_ms: u64,
    /// `retry.backoff.ms`. Default 100.
    pub retry_backoff_ms: u64,
    /// `check.crcs`: verify every batch's CRC before handing records over. Default true.
    pub check_crcs: bool,
    /// Before KIP-320 a consumer neither sent its leader epoch nor checked its position after
    /// a leader change, and could silently skip records after an unclean election.
    /// `kafkasim.legacy.pre.kip320`, default false.
    pub legacy_pre_kip320: bool,
    /// `group.id`: with one, the consumer `subscribe`s as a member of this group; without,
    /// it `assign`s itself every partition.
    pub group_id: Option<String>,
    /// `group.instance.id`: makes the member static (KIP-345). A static member that restarts
    /// within `session.timeout.ms` gets its partitions back without a rebalance, and does not
    /// leave the group on `close()`. Default none (dynamic membership).
    pub group_instance_id: Option<String>,
    /// How the application commits (`commit` in a scenario's `[[consumers]]`; not a Kafka
    /// property). Default: it leaves it to `enable.auto.commit`.
    pub application_commit: ApplicationCommit,
    /// `session.timeout.ms`: the coordinator drops a member silent this long. Default 45000.
    pub session_timeout_ms: u64,
    /// `heartbeat.interval.ms`. Default 3000.
    pub heartbeat_interval_ms: u64,
    /// `max.poll.interval.ms`, also the rebalance timeout. Default 300000.
    pub max_poll_interval_ms: u64,
    /// `enable.auto.commit`. Default true.
    pub enable_auto_commit: bool,
    /// `auto.commit.interval.ms`. Default 5000.
    pub auto_commit_interval_ms: u64,
    /// `partition.assignment.strategy`: `range` (Kafka's first default), `roundrobin` or
    /// `sticky`.
    pub partition_assignment_strategy: String,
    /// How values are read: as text, or in the schema registry's wire format. Set by a
    /// sink whose `value.converter` is the registry's; not a property of its own here.
    pub value_deserializer: ValueDeserializer,
}

/// `value.deserializer`, as far as the model distinguishes them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ValueDeserializer {
    /// `StringDeserializer`: the value's bytes as text.
    #[default]
    String,
    /// The registry's format (`KafkaAvroDeserializer`, Connect's `AvroConverter`): magic byte
    /// 0 and a schema id before the payload; the id is handed over with the payload.
    RegistryFramed,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        ConsumerConfig {
            bootstrap_servers: Vec::new(),
            client_id: "consumer-1".into(),
            auto_offset_reset: AutoOffsetReset::Latest,
            fetch_min_bytes: 1,
            fetch_max_wait_ms: 500,
            fetch_max_bytes: 52_428_800,
            max_partition_fetch_bytes: 1_048_576,
            max_poll_records: 500,
            request_timeout_ms: 30_000,
            retry_backoff_ms: 100,
            check_crcs: true,
            legacy_pre_kip320: false,
            group_id: None,
            group_instance_id: None,
            application_commit: ApplicationCommit::Auto,
            session_timeout_ms: 45_000,
            heartbeat_interval_ms: 3000,
            max_poll_interval_ms: 300_000,
            enable_auto_commit: true,
            auto_commit_interval_ms: 5000,
            partition_assignment_strategy: "range".into(),
            value_deserializer: ValueDeserializer::String,
        }
    }
}

/// Milliseconds as a simulated [`Duration`], with Kafka's "never" kept as never.
pub fn ms(value: u64) -> Duration {
    Duration::from_millis(value)
}
