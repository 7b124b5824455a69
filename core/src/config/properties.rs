//! Kafka properties by name: how `linger.ms = 5` becomes [`ProducerConfig::linger_ms`].
//!
//! Kafka configures every process with a flat map from dotted names to values: a broker reads
//! `server.properties`, a producer takes a `Properties` object. Kafka's `ConfigDef` gives each
//! name a type, a default and a validator, and turns the text into a typed field. This module is
//! kafkasim's `ConfigDef`: one table per role ([`BrokerConfig::PROPERTIES`],
//! [`ProducerConfig::PROPERTIES`], ...), each entry a name and a setter that checks the value
//! and stores it. The defaults are the `Default` impls of the config types, which are Kafka's.
//!
//! The values come from anywhere — a scenario file, a form in the browser, the configuration
//! of a change-data-capture connector — as a [`PropertyValue`], so nothing here knows the
//! scenario format. [`Configurable::set`] is the one entry point:
//!
//! ```
//! use kafkasim_core::config::ProducerConfig;
//! use kafkasim_core::config::properties::{Configurable, PropertyValue};
//!
//! let mut producer = ProducerConfig::default();
//! producer.set("linger.ms", &PropertyValue::Int(20)).unwrap();
//! producer.set("acks", &PropertyValue::from("1")).unwrap();
//! assert_eq!(producer.linger_ms, 20);
//! let typo = producer.set("linger.sm", &PropertyValue::Int(5)).unwrap_err();
//! assert_eq!(typo.to_string(), "unknown property `linger.sm`; did you mean `linger.ms`?");
//! ```
//!
//! Two spellings need a word. Kafka writes "never" as `Long.MAX_VALUE`
//! (`log.flush.interval.messages = 9223372036854775807` is the default: Kafka does not fsync
//! on its own), which becomes `None` here. And `bootstrap.servers` lists addresses, which only
//! the embedder can resolve to nodes: the tables leave it out ([`BOOTSTRAP_SERVERS`]).
//!
//! Properties that span several fields (an idempotent producer needs `acks=all`) are checked
//! once every property is set, in [`super::validate`].

use super::{
    Acks, AutoOffsetReset, BrokerConfig, CleanupPolicy, ConsumerConfig, ProducerConfig, Ratio,
    TopicConfig,
};
use crate::controller::ControllerConfig;
use std::fmt;

/// Kafka's `Long.MAX_VALUE`, its spelling of "never".
pub const LONG_MAX: i64 = i64::MAX;

/// `bootstrap.servers`: a client's first brokers. It names addresses, which the embedder (the
/// scenario format, the browser) resolves to nodes, so no table below sets it.
pub const BOOTSTRAP_SERVERS: &str = "bootstrap.servers";

/// A property's value as handed over: what a `.properties` file, a TOML file or a JSON form can
/// say. Kafka itself parses every value from text; typed values are accepted too, so `linger.ms
/// = 5` and `linger.ms = "5"` mean the same.
#[derive(Clone, Debug, PartialEq)]
pub enum PropertyValue {
    /// `true` or `false`.
    Bool(bool),
    /// A whole number (Kafka's `int` and `long`).
    Int(i64),
    /// A number with a fraction (a ratio such as `min.cleanable.dirty.ratio`).
    Float(f64),
    /// Text.
    Str(String),
    /// A list (Kafka's `LIST` type, e.g. `bootstrap.servers`).
    List(Vec<PropertyValue>),
}

impl PropertyValue {
    /// The kind of value, as error messages name it (`integer`, `string`, ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            PropertyValue::Bool(_) => "boolean",
            PropertyValue::Int(_) => "integer",
            PropertyValue::Float(_) => "float",
            PropertyValue::Str(_) => "string",
            PropertyValue::List(_) => "array",
        }
    }

    /// The text, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            PropertyValue::Str(s) => Some(s),
            _ => None,
        }
    }
}

impl From<bool> for PropertyValue {
    fn from(value: bool) -> Self {
        PropertyValue::Bool(value)
    }
}

impl From<i64> for PropertyValue {
    fn from(value: i64) -> Self {
        PropertyValue::Int(value)
    }
}

impl From<&str> for PropertyValue {
    fn from(value: &str) -> Self {
        PropertyValue::Str(value.to_string())
    }
}

impl From<String> for PropertyValue {
    fn from(value: String) -> Self {
        PropertyValue::Str(value)
    }
}

/// Written as a value in a TOML file would be (`5`, `"all"`, `[1, 2]`), so an error message
/// quotes what the user wrote.
impl fmt::Display for PropertyValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PropertyValue::Bool(b) => write!(f, "{b}"),
            PropertyValue::Int(i) => write!(f, "{i}"),
            PropertyValue::Float(x) if x.is_nan() => f.write_str("nan"),
            // `{:?}` keeps the fraction of whole floats: `2.0`, not `2`.
            PropertyValue::Float(x) => write!(f, "{x:?}"),
            PropertyValue::Str(s) => {
                f.write_str("\"")?;
                for c in s.chars() {
                    match c {
                        '"' => f.write_str("\\\"")?,
                        '\\' => f.write_str("\\\\")?,
                        '\n' => f.write_str("\\n")?,
                        '\t' => f.write_str("\\t")?,
                        '\r' => f.write_str("\\r")?,
                        c if c.is_control() => write!(f, "\\u{:04X}", u32::from(c))?,
                        c => write!(f, "{c}")?,
                    }
                }
                f.write_str("\"")
            }
            PropertyValue::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
        }
    }
}

/// Which kind of node a property belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A KRaft controller.
    Controller,
    /// A broker (`server.properties`).
    Broker,
    /// A producer.
    Producer,
    /// A consumer.
    Consumer,
    /// A topic (its own settings, `kafka-topics --create --config`).
    Topic,
    /// A PostgreSQL-like database server (its GUCs, `postgresql.conf`).
    Database,
    /// A Kafka Connect connector (Connect's and Debezium's settings).
    Connector,
}

impl Role {
    /// Whose setting names the role reads: Kafka's, or PostgreSQL's.
    pub fn product(self) -> &'static str {
        match self {
            Role::Database => "PostgreSQL",
            Role::Connector => "Kafka Connect",
            _ => "Kafka",
        }
    }

    /// The role in words, for messages.
    pub fn noun(self) -> &'static str {
        match self {
            Role::Controller => "controller",
            Role::Broker => "broker",
            Role::Producer => "producer",
            Role::Consumer => "consumer",
            Role::Topic => "topic",
            Role::Database => "database",
            Role::Connector => "connector",
        }
    }
}

/// A setter: check the value and store it, or say what is wrong.
pub type Setter<C> = fn(&mut C, &PropertyValue) -> Result<(), String>;

/// A configuration that can be set by Kafka's property names.
pub trait Configurable: Sized + 'static {
    /// Whose properties these are.
    const ROLE: Role;
    /// Every property this role reads, by Kafka's name, with its setter.
    const PROPERTIES: &'static [(&'static str, Setter<Self>)];

    /// Set the property `name` to `value`: checked as Kafka would, then stored.
    fn set(&mut self, name: &str, value: &PropertyValue) -> Result<(), PropertyError> {
        match Self::PROPERTIES.iter().find(|(n, _)| *n == name) {
            Some((_, set)) => set(self, value).map_err(|reason| PropertyError::Invalid {
                name: name.to_string(),
                reason,
            }),
            None => Err(PropertyError::Unknown {
                name: name.to_string(),
                why: explain_unknown(Self::ROLE, name),
            }),
        }
    }
}

/// Why a property could not be set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PropertyError {
    /// The role reads no property of that name.
    Unknown {
        /// The name given.
        name: String,
        /// What is known about the name.
        why: Unknown,
    },
    /// The value does not fit the property (Kafka's `ConfigException: Invalid value`).
    Invalid {
        /// The property.
        name: String,
        /// What is wrong, and what would be right.
        reason: String,
    },
}

/// What is known about a property name a role does not read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unknown {
    /// Another role reads it (a controller setting given to a broker).
    ReadBy(Role),
    /// A real property of the role (Kafka's, or PostgreSQL's for a database) that kafkasim
    /// does not model yet.
    NotModelled(Role),
    /// Probably a typo of this name.
    DidYouMean(&'static str),
    /// Nothing close: these are the names the role knows.
    Known(Vec<&'static str>),
}

/// The message alone, without the field: callers know where the property was written and say
/// so themselves (`producers[0].config.linger.sm: unknown property ...`).
impl fmt::Display for PropertyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PropertyError::Invalid { reason, .. } => f.write_str(reason),
            PropertyError::Unknown { name, why } => match why {
                Unknown::ReadBy(role) => write!(
                    f,
                    "`{name}` is read by the {}: set it in the {}'s config",
                    role.noun(),
                    role.noun()
                ),
                Unknown::NotModelled(role) => write!(
                    f,
                    "`{name}` is a real {} setting, but kafkasim does not model it yet",
                    role.product()
                ),
                Unknown::DidYouMean(close) => {
                    write!(f, "unknown property `{name}`; did you mean `{close}`?")
                }
                Unknown::Known(known) => {
                    write!(f, "unknown property `{name}`; known: {}", known.join(", "))
                }
            },
        }
    }
}

impl std::error::Error for PropertyError {}

/// An integer of at least `min`, written as a number or as text (Kafka parses `"5"` too).
pub fn integer(v: &PropertyValue, min: i64) -> Result<i64, String> {
    match v {
        PropertyValue::Int(i) if *i >= min => Ok(*i),
        PropertyValue::Int(i) => Err(format!("must be at least {min}, not {i}")),
        PropertyValue::Str(s) => s
            .trim()
            .parse::<i64>()
            .map_err(|_| format!("expected an integer, found \"{s}\""))
            .and_then(|i| integer(&PropertyValue::Int(i), min)),
        other => Err(format!("expected an integer, found {}", other.type_name())),
    }
}

/// A non-negative integer of at least `min`.
pub fn unsigned(v: &PropertyValue, min: u64) -> Result<u64, String> {
    integer(v, min as i64).map(|i| i as u64)
}

/// An `int` property (Kafka's 32-bit type) of at least `min`; larger values are capped at
/// `Integer.MAX_VALUE`, Kafka's own "as many as you like" (`retries = 2147483647`).
pub fn int32(v: &PropertyValue, min: i64) -> Result<u32, String> {
    Ok(integer(v, min)?.min(i64::from(i32::MAX)) as u32)
}

/// A `long` of at least `min` where `Long.MAX_VALUE` means never (`None`).
pub fn long_or_never(v: &PropertyValue, min: u64) -> Result<Option<u64>, String> {
    let i = integer(v, min as i64)?;
    Ok(if i == LONG_MAX { None } else { Some(i as u64) })
}

/// `cleanup.policy`: `delete`, `compact` or both, as text (`"compact,delete"`) or a list.
pub fn cleanup_policy(v: &PropertyValue) -> Result<CleanupPolicy, String> {
    let text = match v {
        PropertyValue::Str(s) => s.clone(),
        PropertyValue::List(items) => items
            .iter()
            .map(string)
            .collect::<Result<Vec<_>, _>>()?
            .join(","),
        other => {
            return Err(format!(
                "expected delete, compact or compact,delete, found {other}"
            ));
        }
    };
    CleanupPolicy::parse(&text)
        .ok_or_else(|| format!("expected delete, compact or compact,delete, found \"{text}\""))
}

/// A ratio between 0 and 1 (Kafka's `double` type), as a number or as text.
pub fn ratio(v: &PropertyValue) -> Result<Ratio, String> {
    let x = match v {
        PropertyValue::Float(x) => *x,
        PropertyValue::Int(i) => *i as f64,
        PropertyValue::Str(s) => s
            .trim()
            .parse::<f64>()
            .map_err(|_| format!("expected a number between 0 and 1, found \"{s}\""))?,
        other => return Err(format!("expected a number between 0 and 1, found {other}")),
    };
    if !(0.0..=1.0).contains(&x) {
        return Err(format!("must be between 0 and 1, not {x}"));
    }
    Ok(Ratio((x * 1_000_000.0).round() as u32))
}

/// `true` or `false`, as a boolean or as text.
pub fn boolean(v: &PropertyValue) -> Result<bool, String> {
    match v {
        PropertyValue::Bool(b) => Ok(*b),
        PropertyValue::Str(s) if s == "true" || s == "false" => Ok(s == "true"),
        other => Err(format!("expected true or false, found {other}")),
    }
}

/// Text.
pub fn string(v: &PropertyValue) -> Result<String, String> {
    match v {
        PropertyValue::Str(s) => Ok(s.clone()),
        other => Err(format!("expected a string, found {other}")),
    }
}

/// `acks`: 0, 1, -1 or "all", as a number or a string (Kafka's `parseAcks` trims the text and
/// reads `all` as `-1`).
pub fn acks(v: &PropertyValue) -> Result<Acks, String> {
    let text = match v {
        PropertyValue::Int(i) => i.to_string(),
        PropertyValue::Str(s) => s.trim().to_string(),
        other => return Err(format!("expected 0, 1 or all, found {other}")),
    };
    match text.as_str() {
        "0" => Ok(Acks::Zero),
        "1" => Ok(Acks::One),
        "all" | "-1" => Ok(Acks::All),
        _ => Err(format!("expected 0, 1 or all (or -1), found {text}")),
    }
}

/// `auto.offset.reset`: `earliest`, `latest` or `none`.
pub fn auto_offset_reset(v: &PropertyValue) -> Result<AutoOffsetReset, String> {
    match string(v)?.as_str() {
        "earliest" => Ok(AutoOffsetReset::Earliest),
        "latest" => Ok(AutoOffsetReset::Latest),
        "none" => Ok(AutoOffsetReset::None),
        other => Err(format!(
            "expected earliest, latest or none, found \"{other}\""
        )),
    }
}

/// `partition.assignment.strategy`: an assignor by its short name (`range`,
/// `cooperative-sticky`) or by its Java class (`org.apache.kafka.clients.consumer.RangeAssignor`,
/// `CooperativeStickyAssignor`), as Kafka accepts both.
pub fn partition_assignment_strategy(v: &PropertyValue) -> Result<String, String> {
    let s = string(v)?;
    let name = s.rsplit('.').next().unwrap_or(&s).to_lowercase();
    match name.as_str() {
        "range" | "rangeassignor" => Ok("range".into()),
        "roundrobin" | "roundrobinassignor" => Ok("roundrobin".into()),
        "sticky" | "stickyassignor" => Ok("sticky".into()),
        "cooperative-sticky" | "cooperativestickyassignor" => Ok("cooperative-sticky".into()),
        _ => Err(format!(
            "expected range, roundrobin or sticky, found \"{s}\""
        )),
    }
}

/// A broker's properties (`server.properties`).
impl Configurable for BrokerConfig {
    const ROLE: Role = Role::Broker;
    const PROPERTIES: &'static [(&'static str, Setter<Self>)] = &[
        ("node.id", |c, v| {
            c.node_id = integer(v, 0)? as i32;
            Ok(())
        }),
        ("log.flush.interval.messages", |c, v| {
            c.log_flush_interval_messages = long_or_never(v, 1)?;
            Ok(())
        }),
        ("log.flush.interval.ms", |c, v| {
            c.log_flush_interval_ms = long_or_never(v, 0)?;
            Ok(())
        }),
        ("log.flush.scheduler.interval.ms", |c, v| {
            c.log_flush_scheduler_interval_ms = long_or_never(v, 1)?;
            Ok(())
        }),
        ("log.segment.bytes", |c, v| {
            c.log_segment_bytes = unsigned(v, 14)?;
            Ok(())
        }),
        ("log.index.interval.bytes", |c, v| {
            c.log_index_interval_bytes = unsigned(v, 0)?;
            Ok(())
        }),
        ("log.roll.ms", |c, v| {
            c.log_roll_ms = Some(integer(v, 1)?);
            Ok(())
        }),
        ("log.roll.hours", |c, v| {
            c.log_roll_hours = integer(v, 1)?;
            Ok(())
        }),
        ("log.retention.ms", |c, v| {
            c.log_retention_ms = Some(integer(v, -1)?);
            Ok(())
        }),
        ("log.retention.minutes", |c, v| {
            c.log_retention_minutes = Some(integer(v, -1)?);
            Ok(())
        }),
        ("log.retention.hours", |c, v| {
            c.log_retention_hours = integer(v, -1)?;
            Ok(())
        }),
        ("log.retention.bytes", |c, v| {
            c.log_retention_bytes = integer(v, -1)?;
            Ok(())
        }),
        ("log.retention.check.interval.ms", |c, v| {
            c.log_retention_check_interval_ms = unsigned(v, 1)?;
            Ok(())
        }),
        ("log.cleanup.policy", |c, v| {
            c.log_cleanup_policy = cleanup_policy(v)?;
            Ok(())
        }),
        ("log.cleaner.enable", |c, v| {
            c.log_cleaner_enable = boolean(v)?;
            Ok(())
        }),
        ("log.cleaner.backoff.ms", |c, v| {
            c.log_cleaner_backoff_ms = unsigned(v, 1)?;
            Ok(())
        }),
        ("log.cleaner.min.cleanable.ratio", |c, v| {
            c.log_cleaner_min_cleanable_ratio = ratio(v)?;
            Ok(())
        }),
        ("log.cleaner.delete.retention.ms", |c, v| {
            c.log_cleaner_delete_retention_ms = integer(v, 0)?;
            Ok(())
        }),
        ("log.cleaner.min.compaction.lag.ms", |c, v| {
            c.log_cleaner_min_compaction_lag_ms = integer(v, 0)?;
            Ok(())
        }),
        ("broker.heartbeat.interval.ms", |c, v| {
            c.broker_heartbeat_interval_ms = unsigned(v, 1)?;
            Ok(())
        }),
        ("replica.lag.time.max.ms", |c, v| {
            c.replica_lag_time_max_ms = unsigned(v, 1)?;
            Ok(())
        }),
        ("replica.fetch.wait.max.ms", |c, v| {
            c.replica_fetch_wait_max_ms = unsigned(v, 0)?;
            Ok(())
        }),
        ("replica.fetch.backoff.ms", |c, v| {
            c.replica_fetch_backoff_ms = unsigned(v, 0)?;
            Ok(())
        }),
        ("replica.fetch.max.bytes", |c, v| {
            c.replica_fetch_max_bytes = unsigned(v, 0)?;
            Ok(())
        }),
        ("replica.fetch.response.max.bytes", |c, v| {
            c.replica_fetch_response_max_bytes = unsigned(v, 0)?;
            Ok(())
        }),
        ("replica.high.watermark.checkpoint.interval.ms", |c, v| {
            c.replica_high_watermark_checkpoint_interval_ms = unsigned(v, 1)?;
            Ok(())
        }),
        ("log.flush.offset.checkpoint.interval.ms", |c, v| {
            c.log_flush_offset_checkpoint_interval_ms = unsigned(v, 1)?;
            Ok(())
        }),
        ("controlled.shutdown.enable", |c, v| {
            c.controlled_shutdown_enable = boolean(v)?;
            Ok(())
        }),
        ("replica.socket.timeout.ms", |c, v| {
            c.replica_socket_timeout_ms = unsigned(v, 1)?;
            Ok(())
        }),
        ("min.insync.replicas", |c, v| {
            c.min_insync_replicas = integer(v, 1)? as usize;
            Ok(())
        }),
        ("kafkasim.legacy.truncate.to.high.watermark", |c, v| {
            c.legacy_truncate_to_high_watermark = boolean(v)?;
            Ok(())
        }),
        ("kafkasim.legacy.pre.kip279.truncation", |c, v| {
            c.legacy_pre_kip279_truncation = boolean(v)?;
            Ok(())
        }),
        ("message.max.bytes", |c, v| {
            c.message_max_bytes = unsigned(v, 0)?;
            Ok(())
        }),
    ];
}

/// A KRaft controller's properties.
impl Configurable for ControllerConfig {
    const ROLE: Role = Role::Controller;
    const PROPERTIES: &'static [(&'static str, Setter<Self>)] = &[
        ("node.id", |c, v| {
            c.quorum.node_id = integer(v, 0)? as i32;
            Ok(())
        }),
        ("broker.session.timeout.ms", |c, v| {
            c.broker_session_timeout_ms = unsigned(v, 1)?;
            Ok(())
        }),
        ("unclean.leader.election.enable", |c, v| {
            c.unclean_leader_election_enable = boolean(v)?;
            Ok(())
        }),
        ("min.insync.replicas", |c, v| {
            c.min_insync_replicas = integer(v, 1)? as usize;
            Ok(())
        }),
        ("kafkasim.legacy.pre.kip966", |c, v| {
            c.legacy_pre_kip966 = boolean(v)?;
            Ok(())
        }),
        ("auto.leader.rebalance.enable", |c, v| {
            c.auto_leader_rebalance_enable = boolean(v)?;
            Ok(())
        }),
        ("leader.imbalance.check.interval.seconds", |c, v| {
            c.leader_imbalance_check_interval_seconds = unsigned(v, 1)?;
            Ok(())
        }),
        ("leader.imbalance.per.broker.percentage", |c, v| {
            c.leader_imbalance_per_broker_percentage = integer(v, 0)? as u32;
            Ok(())
        }),
        ("controller.quorum.election.timeout.ms", |c, v| {
            c.quorum.election_timeout_ms = unsigned(v, 1)?;
            Ok(())
        }),
        ("controller.quorum.fetch.timeout.ms", |c, v| {
            c.quorum.fetch_timeout_ms = unsigned(v, 1)?;
            Ok(())
        }),
    ];
}

/// A producer's properties (`bootstrap.servers` aside: see [`BOOTSTRAP_SERVERS`]).
impl Configurable for ProducerConfig {
    const ROLE: Role = Role::Producer;
    const PROPERTIES: &'static [(&'static str, Setter<Self>)] = &[
        ("acks", |c, v| {
            c.acks = acks(v)?;
            Ok(())
        }),
        ("linger.ms", |c, v| {
            c.linger_ms = unsigned(v, 0)?;
            Ok(())
        }),
        ("batch.size", |c, v| {
            c.batch_size = unsigned(v, 0)?;
            Ok(())
        }),
        ("request.timeout.ms", |c, v| {
            c.request_timeout_ms = unsigned(v, 0)?;
            Ok(())
        }),
        ("delivery.timeout.ms", |c, v| {
            c.delivery_timeout_ms = unsigned(v, 0)?;
            Ok(())
        }),
        ("retries", |c, v| {
            c.retries = int32(v, 0)?;
            Ok(())
        }),
        ("retry.backoff.ms", |c, v| {
            c.retry_backoff_ms = unsigned(v, 0)?;
            Ok(())
        }),
        ("max.in.flight.requests.per.connection", |c, v| {
            c.max_in_flight_requests_per_connection = int32(v, 1)?;
            Ok(())
        }),
        ("metadata.max.age.ms", |c, v| {
            c.metadata_max_age_ms = unsigned(v, 0)?;
            Ok(())
        }),
        ("enable.idempotence", |c, v| {
            c.enable_idempotence = Some(boolean(v)?);
            Ok(())
        }),
        ("client.id", |c, v| {
            c.client_id = string(v)?;
            Ok(())
        }),
    ];
}

/// A consumer's properties (`bootstrap.servers` aside: see [`BOOTSTRAP_SERVERS`]).
impl Configurable for ConsumerConfig {
    const ROLE: Role = Role::Consumer;
    const PROPERTIES: &'static [(&'static str, Setter<Self>)] = &[
        ("auto.offset.reset", |c, v| {
            c.auto_offset_reset = auto_offset_reset(v)?;
            Ok(())
        }),
        ("fetch.min.bytes", |c, v| {
            c.fetch_min_bytes = unsigned(v, 0)?;
            Ok(())
        }),
        ("fetch.max.wait.ms", |c, v| {
            c.fetch_max_wait_ms = unsigned(v, 0)?;
            Ok(())
        }),
        ("fetch.max.bytes", |c, v| {
            c.fetch_max_bytes = unsigned(v, 0)?;
            Ok(())
        }),
        ("max.partition.fetch.bytes", |c, v| {
            c.max_partition_fetch_bytes = unsigned(v, 0)?;
            Ok(())
        }),
        ("max.poll.records", |c, v| {
            c.max_poll_records = int32(v, 1)?;
            Ok(())
        }),
        ("request.timeout.ms", |c, v| {
            c.request_timeout_ms = unsigned(v, 0)?;
            Ok(())
        }),
        ("retry.backoff.ms", |c, v| {
            c.retry_backoff_ms = unsigned(v, 0)?;
            Ok(())
        }),
        ("group.id", |c, v| {
            c.group_id = Some(string(v)?);
            Ok(())
        }),
        ("group.instance.id", |c, v| {
            c.group_instance_id = Some(string(v)?);
            Ok(())
        }),
        ("session.timeout.ms", |c, v| {
            c.session_timeout_ms = unsigned(v, 1)?;
            Ok(())
        }),
        ("heartbeat.interval.ms", |c, v| {
            c.heartbeat_interval_ms = unsigned(v, 1)?;
            Ok(())
        }),
        ("max.poll.interval.ms", |c, v| {
            c.max_poll_interval_ms = unsigned(v, 1)?;
            Ok(())
        }),
        ("enable.auto.commit", |c, v| {
            c.enable_auto_commit = boolean(v)?;
            Ok(())
        }),
        ("auto.commit.interval.ms", |c, v| {
            c.auto_commit_interval_ms = unsigned(v, 1)?;
            Ok(())
        }),
        ("partition.assignment.strategy", |c, v| {
            c.partition_assignment_strategy = partition_assignment_strategy(v)?;
            Ok(())
        }),
        ("kafkasim.legacy.pre.kip320", |c, v| {
            c.legacy_pre_kip320 = boolean(v)?;
            Ok(())
        }),
        ("check.crcs", |c, v| {
            c.check_crcs = boolean(v)?;
            Ok(())
        }),
        ("client.id", |c, v| {
            c.client_id = string(v)?;
            Ok(())
        }),
    ];
}

/// A topic's own settings (`[topics.config]`): Kafka's topic-level names.
impl Configurable for TopicConfig {
    const ROLE: Role = Role::Topic;
    const PROPERTIES: &'static [(&'static str, Setter<Self>)] = &[
        ("min.insync.replicas", |c, v| {
            c.min_insync_replicas = Some(integer(v, 1)? as usize);
            Ok(())
        }),
        ("unclean.leader.election.enable", |c, v| {
            c.unclean_leader_election_enable = Some(boolean(v)?);
            Ok(())
        }),
        ("retention.ms", |c, v| {
            c.retention_ms = Some(integer(v, -1)?);
            Ok(())
        }),
        ("retention.bytes", |c, v| {
            c.retention_bytes = Some(integer(v, -1)?);
            Ok(())
        }),
        ("segment.ms", |c, v| {
            c.segment_ms = Some(integer(v, 1)?);
            Ok(())
        }),
        ("segment.bytes", |c, v| {
            c.segment_bytes = Some(unsigned(v, 14)?);
            Ok(())
        }),
        ("cleanup.policy", |c, v| {
            c.cleanup_policy = Some(cleanup_policy(v)?);
            Ok(())
        }),
        ("min.cleanable.dirty.ratio", |c, v| {
            c.min_cleanable_dirty_ratio = Some(ratio(v)?);
            Ok(())
        }),
        ("delete.retention.ms", |c, v| {
            c.delete_retention_ms = Some(integer(v, 0)?);
            Ok(())
        }),
        ("min.compaction.lag.ms", |c, v| {
            c.min_compaction_lag_ms = Some(integer(v, 0)?);
            Ok(())
        }),
    ];
}

/// Real Kafka properties that kafkasim does not model yet, per role: setting one is an error
/// that says so, rather than a silent no-op.
const NOT_MODELLED: &[(Role, &[&str])] = &[
    (
        Role::Broker,
        &[
            "default.replication.factor",
            "num.partitions",
            "offsets.topic.replication.factor",
            "auto.create.topics.enable",
        ],
    ),
    (
        Role::Producer,
        &[
            "transactional.id",
            "compression.type",
            "partitioner.class",
            "buffer.memory",
            "max.block.ms",
            "max.request.size",
            "key.serializer",
            "value.serializer",
        ],
    ),
    (
        Role::Consumer,
        &["isolation.level", "key.deserializer", "value.deserializer"],
    ),
    (
        Role::Database,
        &[
            "archive_mode",
            "archive_command",
            "max_replication_slots",
            "full_page_writes",
        ],
    ),
    (
        Role::Connector,
        &[
            "database.port",
            "database.user",
            "database.password",
            "database.dbname",
            "plugin.name",
            "publication.name",
            "heartbeat.interval.ms",
            "key.converter",
            "transforms",
            "errors.tolerance",
            "connection.url",
            "insert.mode",
            "pk.mode",
            "auto.create",
            "table.name.format",
        ],
    ),
    (Role::Topic, &["compression.type", "max.message.bytes"]),
];

/// Every property name a role accepts ([`BOOTSTRAP_SERVERS`] included for clients).
pub fn names(role: Role) -> Vec<&'static str> {
    fn of<C: Configurable>() -> Vec<&'static str> {
        C::PROPERTIES.iter().map(|(n, _)| *n).collect()
    }
    let mut names = match role {
        Role::Controller => of::<ControllerConfig>(),
        Role::Broker => of::<BrokerConfig>(),
        Role::Producer => of::<ProducerConfig>(),
        Role::Consumer => of::<ConsumerConfig>(),
        Role::Topic => of::<TopicConfig>(),
        Role::Database => of::<crate::database::DatabaseConfig>(),
        Role::Connector => of::<crate::connect::config::ConnectorSettings>(),
    };
    if matches!(role, Role::Producer | Role::Consumer) {
        names.push(BOOTSTRAP_SERVERS);
    }
    names
}

/// Why `name` is not accepted for `role`: read by another role, not modelled yet, or unknown
/// (with the closest known name, if one is close).
pub fn explain_unknown(role: Role, name: &str) -> Unknown {
    // `node.id` is both a broker's and a controller's: never "read by the controller".
    if role == Role::Broker && name != "node.id" && names(Role::Controller).contains(&name) {
        return Unknown::ReadBy(Role::Controller);
    }
    let not_modelled = NOT_MODELLED
        .iter()
        .any(|(r, list)| *r == role && list.contains(&name));
    if not_modelled {
        return Unknown::NotModelled(role);
    }
    let known = names(role);
    let closest = known.iter().map(|k| (edit_distance(k, name), *k)).min();
    match closest {
        Some((d, k)) if d <= 3 || k.contains(name) || name.contains(k) => Unknown::DidYouMean(k),
        _ => Unknown::Known(known),
    }
}

/// Levenshtein distance, for "did you mean".
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (previous + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(current + 1);
            previous = current;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use PropertyValue::{Bool, Float, Int, List, Str};

    fn text(s: &str) -> PropertyValue {
        PropertyValue::from(s)
    }

    /// Reference: ProducerConfig.java, `acks` ("The default value of `-1`/`all`...") and
    /// `parseAcks`: `all` is `-1`, numbers are read from text after trimming.
    #[test]
    fn acks_accepts_kafkas_spellings() {
        for (v, expected) in [
            (Int(0), Acks::Zero),
            (Int(1), Acks::One),
            (Int(-1), Acks::All),
            (text("all"), Acks::All),
            (text("-1"), Acks::All),
            (text(" 1 "), Acks::One),
        ] {
            assert_eq!(acks(&v), Ok(expected), "{v}");
        }
        assert_eq!(
            acks(&Int(2)),
            Err("expected 0, 1 or all (or -1), found 2".to_string())
        );
        assert_eq!(
            acks(&Bool(true)),
            Err("expected 0, 1 or all, found true".to_string())
        );
    }

    /// Reference: KafkaConfig's `logRetentionTimeMillis` and `logRollTimeMillis`:
    /// `log.retention.ms` wins over `log.retention.minutes`, which wins over
    /// `log.retention.hours` (168 by default), whatever order they are set in; a negative
    /// value keeps forever. `log.roll.ms` wins over `log.roll.hours`.
    #[test]
    fn retention_and_roll_times_resolve_as_kafka_does() {
        let c = BrokerConfig::default();
        assert_eq!((c.retention_ms(), c.roll_ms()), (604_800_000, 604_800_000));
        let cases: &[(&[(&str, i64)], i64)] = &[
            (&[("log.retention.hours", 1)], 3_600_000),
            (
                &[("log.retention.minutes", 2), ("log.retention.hours", 1)],
                120_000,
            ),
            (
                &[("log.retention.ms", 500), ("log.retention.minutes", 2)],
                500,
            ),
            (&[("log.retention.hours", -1)], -1),
            (&[("log.retention.minutes", -1)], -1),
        ];
        for (settings, expected) in cases {
            let mut c = BrokerConfig::default();
            for (name, value) in *settings {
                c.set(name, &Int(*value)).unwrap();
            }
            assert_eq!(c.retention_ms(), *expected, "{settings:?}");
        }
        let mut c = BrokerConfig::default();
        c.set("log.roll.ms", &Int(1000)).unwrap();
        c.set("log.roll.hours", &Int(1)).unwrap();
        assert_eq!(c.roll_ms(), 1000);
    }

    /// Reference: ServerLogConfigs (KafkaConfig), `log.flush.interval.messages` and
    /// `log.flush.interval.ms` default to `Long.MAX_VALUE`: Kafka leaves fsync to the OS.
    #[test]
    fn long_max_means_never() {
        let mut c = BrokerConfig::default();
        c.set("log.flush.interval.ms", &Int(LONG_MAX)).unwrap();
        assert_eq!(c.log_flush_interval_ms, None);
        c.set("log.flush.interval.ms", &Int(1000)).unwrap();
        assert_eq!(c.log_flush_interval_ms, Some(1000));
        let error = c.set("log.flush.interval.ms", &Int(-5)).unwrap_err();
        assert_eq!(error.to_string(), "must be at least 0, not -5");
        c.set("log.flush.interval.messages", &text("9223372036854775807"))
            .unwrap();
        assert_eq!(c.log_flush_interval_messages, None);
    }

    /// Kafka reads every value from text: `"5"` is 5, `" 5 "` too (ConfigDef trims).
    /// Kafka's `cleanup.policy` is a list: `compact,delete` and `delete,compact` are one
    /// policy; a ratio is a `double` between 0 and 1.
    #[test]
    fn cleanup_policies_and_ratios_parse_as_kafka_reads_them() {
        use super::CleanupPolicy::*;
        let cases = [
            (Str("delete".into()), Ok(Delete)),
            (Str("compact".into()), Ok(Compact)),
            (Str("compact,delete".into()), Ok(CompactDelete)),
            (Str("delete, compact".into()), Ok(CompactDelete)),
            (
                List(vec![Str("compact".into()), Str("delete".into())]),
                Ok(CompactDelete),
            ),
        ];
        for (value, expected) in cases {
            assert_eq!(cleanup_policy(&value), expected, "{value}");
        }
        assert!(cleanup_policy(&Str("compress".into())).is_err());
        assert_eq!(ratio(&Float(0.5)), Ok(Ratio(500_000)));
        assert_eq!(ratio(&Str("0.25".into())), Ok(Ratio(250_000)));
        assert_eq!(ratio(&Int(1)), Ok(Ratio(1_000_000)));
        assert!(ratio(&Float(1.5)).unwrap_err().contains("between 0 and 1"));
        assert_eq!(Ratio(500_000).text(), "0.5");
        assert_eq!(Ratio(1_000_000).text(), "1.0");
        let mut topic = TopicConfig::default();
        topic.set("cleanup.policy", &Str("compact".into())).unwrap();
        topic.set("min.cleanable.dirty.ratio", &Float(0.1)).unwrap();
        assert!(
            topic
                .entries()
                .contains(&("cleanup.policy", "compact".into()))
        );
        assert!(
            topic
                .entries()
                .contains(&("min.cleanable.dirty.ratio", "0.1".into()))
        );
    }

    #[test]
    fn numbers_and_booleans_may_be_written_as_text() {
        let mut p = ProducerConfig::default();
        p.set("linger.ms", &text(" 25 ")).unwrap();
        p.set("enable.idempotence", &text("false")).unwrap();
        assert_eq!((p.linger_ms, p.enable_idempotence), (25, Some(false)));
        assert_eq!(
            p.set("linger.ms", &text("soon")).unwrap_err().to_string(),
            "expected an integer, found \"soon\""
        );
        assert_eq!(
            p.set("linger.ms", &Float(1.5)).unwrap_err().to_string(),
            "expected an integer, found float"
        );
        assert_eq!(
            p.set("enable.idempotence", &Int(1))
                .unwrap_err()
                .to_string(),
            "expected true or false, found 1"
        );
    }

    /// Kafka's `retries` and `max.in.flight.requests.per.connection` are `int`s: what exceeds
    /// `Integer.MAX_VALUE` is capped there, Kafka's own default for `retries`.
    #[test]
    fn int_properties_cap_at_integer_max_value() {
        let mut p = ProducerConfig::default();
        p.set("retries", &Int(LONG_MAX)).unwrap();
        assert_eq!(p.retries, 2_147_483_647);
        p.set("retries", &Int(0)).unwrap();
        assert_eq!(p.retries, 0);
        assert!(
            p.set("max.in.flight.requests.per.connection", &Int(0))
                .is_err()
        );
    }

    /// Reference: ConsumerConfig's `partition.assignment.strategy` takes class names
    /// (`org.apache.kafka.clients.consumer.CooperativeStickyAssignor`); the assignors' own
    /// `name()` is the short form (`cooperative-sticky`).
    #[test]
    fn assignors_by_short_name_or_class_name() {
        for (given, expected) in [
            ("range", "range"),
            ("org.apache.kafka.clients.consumer.RangeAssignor", "range"),
            ("RoundRobinAssignor", "roundrobin"),
            ("sticky", "sticky"),
            (
                "org.apache.kafka.clients.consumer.CooperativeStickyAssignor",
                "cooperative-sticky",
            ),
        ] {
            assert_eq!(
                partition_assignment_strategy(&text(given)).as_deref(),
                Ok(expected)
            );
        }
        assert!(partition_assignment_strategy(&text("fair")).is_err());
    }

    #[test]
    fn each_role_sets_its_own_fields() {
        let mut b = BrokerConfig::default();
        b.set("min.insync.replicas", &Int(2)).unwrap();
        b.set("kafkasim.legacy.truncate.to.high.watermark", &Bool(true))
            .unwrap();
        assert_eq!(b.min_insync_replicas, 2);
        assert!(b.legacy_truncate_to_high_watermark);

        let mut c = ConsumerConfig::default();
        c.set("group.id", &text("g")).unwrap();
        c.set("auto.offset.reset", &text("earliest")).unwrap();
        assert_eq!(c.group_id.as_deref(), Some("g"));
        assert_eq!(c.auto_offset_reset, AutoOffsetReset::Earliest);
        assert_eq!(
            c.set("auto.offset.reset", &text("sometimes"))
                .unwrap_err()
                .to_string(),
            "expected earliest, latest or none, found \"sometimes\""
        );
    }

    #[test]
    fn unknown_names_get_help() {
        let why = |role, name| PropertyError::Unknown {
            name: String::from(name),
            why: explain_unknown(role, name),
        };
        assert_eq!(
            why(Role::Producer, "linger.sm").to_string(),
            "unknown property `linger.sm`; did you mean `linger.ms`?"
        );
        assert_eq!(
            explain_unknown(Role::Producer, "transactional.id"),
            Unknown::NotModelled(Role::Producer)
        );
        assert_eq!(
            why(Role::Database, "archive_mode").to_string(),
            "`archive_mode` is a real PostgreSQL setting, but kafkasim does not model it yet"
        );
        assert_eq!(
            explain_unknown(Role::Broker, "unclean.leader.election.enable"),
            Unknown::ReadBy(Role::Controller)
        );
        assert!(
            why(Role::Broker, "zzz")
                .to_string()
                .contains("known: node.id, ")
        );
        // A client's `bootstrap.servers` is known, but no table sets it.
        let mut p = ProducerConfig::default();
        assert!(matches!(
            p.set(BOOTSTRAP_SERVERS, &text("b1")),
            Err(PropertyError::Unknown {
                why: Unknown::DidYouMean(BOOTSTRAP_SERVERS),
                ..
            })
        ));
    }

    /// No name twice in a table, and none both modelled and "not modelled".
    #[test]
    fn tables_are_consistent() {
        for role in [
            Role::Controller,
            Role::Broker,
            Role::Producer,
            Role::Consumer,
            Role::Topic,
            Role::Database,
            Role::Connector,
        ] {
            let names = names(role);
            for (i, n) in names.iter().enumerate() {
                assert!(!names[i + 1..].contains(n), "{n} twice for {role:?}");
            }
            for (r, list) in NOT_MODELLED {
                if *r == role {
                    for n in *list {
                        assert!(!names.contains(n), "{n} is modelled for {role:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn values_are_quoted_as_written() {
        assert_eq!(Int(-1).to_string(), "-1");
        assert_eq!(Float(2.0).to_string(), "2.0");
        assert_eq!(text("a\"b").to_string(), "\"a\\\"b\"");
        assert_eq!(List(vec![Int(1), text("x")]).to_string(), "[1, \"x\"]");
        assert_eq!(List(vec![]).type_name(), "array");
    }
}
