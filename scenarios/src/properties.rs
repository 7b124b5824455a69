//! Kafka properties by name: how `linger.ms = 5` in a scenario file becomes a field of
//! [`ProducerConfig`]. One table per role; each entry knows its name and how to check and set
//! its value. Kafka's `Long.MAX_VALUE` means "never" for the flush settings.

use kafkasim_core::config::{Acks, AutoOffsetReset, BrokerConfig, ConsumerConfig, ProducerConfig};
use kafkasim_core::controller::ControllerConfig;
use toml::Value;

/// Kafka's `Long.MAX_VALUE`, its spelling of "never".
const LONG_MAX: i64 = i64::MAX;

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
}

/// A setter: check the value and store it, or say what is wrong.
pub type Setter<C> = fn(&mut C, &Value) -> Result<(), String>;

fn int(v: &Value, min: i64) -> Result<i64, String> {
    match v {
        Value::Integer(i) if *i >= min => Ok(*i),
        Value::Integer(i) => Err(format!("must be at least {min}, not {i}")),
        Value::String(s) => s
            .trim()
            .parse::<i64>()
            .map_err(|_| format!("expected an integer, found \"{s}\""))
            .and_then(|i| int(&Value::Integer(i), min)),
        other => Err(format!("expected an integer, found {}", other.type_str())),
    }
}

fn uint(v: &Value, min: u64) -> Result<u64, String> {
    int(v, min as i64).map(|i| i as u64)
}

fn never_or(v: &Value, min: u64) -> Result<Option<u64>, String> {
    let i = int(v, min as i64)?;
    Ok(if i == LONG_MAX { None } else { Some(i as u64) })
}

fn boolean(v: &Value) -> Result<bool, String> {
    match v {
        Value::Boolean(b) => Ok(*b),
        Value::String(s) if s == "true" || s == "false" => Ok(s == "true"),
        other => Err(format!("expected true or false, found {other}")),
    }
}

fn string(v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        other => Err(format!("expected a string, found {other}")),
    }
}

/// `acks`: 0, 1, -1 or "all", as a number or a string.
pub fn acks(v: &Value) -> Result<Acks, String> {
    let text = match v {
        Value::Integer(i) => i.to_string(),
        Value::String(s) => s.trim().to_string(),
        other => return Err(format!("expected 0, 1 or all, found {other}")),
    };
    match text.as_str() {
        "0" => Ok(Acks::Zero),
        "1" => Ok(Acks::One),
        "all" | "-1" => Ok(Acks::All),
        _ => Err(format!("expected 0, 1 or all (or -1), found {text}")),
    }
}

fn offset_reset(v: &Value) -> Result<AutoOffsetReset, String> {
    match string(v)?.as_str() {
        "earliest" => Ok(AutoOffsetReset::Earliest),
        "latest" => Ok(AutoOffsetReset::Latest),
        "none" => Ok(AutoOffsetReset::None),
        other => Err(format!(
            "expected earliest, latest or none, found \"{other}\""
        )),
    }
}

/// Broker properties.
pub const BROKER: &[(&str, Setter<BrokerConfig>)] = &[
    ("node.id", |c, v| {
        c.node_id = int(v, 0)? as i32;
        Ok(())
    }),
    ("log.flush.interval.messages", |c, v| {
        c.log_flush_interval_messages = never_or(v, 1)?;
        Ok(())
    }),
    ("log.flush.interval.ms", |c, v| {
        c.log_flush_interval_ms = never_or(v, 0)?;
        Ok(())
    }),
    ("log.flush.scheduler.interval.ms", |c, v| {
        c.log_flush_scheduler_interval_ms = never_or(v, 1)?;
        Ok(())
    }),
    ("log.segment.bytes", |c, v| {
        c.log_segment_bytes = uint(v, 14)?;
        Ok(())
    }),
    ("log.index.interval.bytes", |c, v| {
        c.log_index_interval_bytes = uint(v, 0)?;
        Ok(())
    }),
    ("broker.heartbeat.interval.ms", |c, v| {
        c.broker_heartbeat_interval_ms = uint(v, 1)?;
        Ok(())
    }),
    ("replica.lag.time.max.ms", |c, v| {
        c.replica_lag_time_max_ms = uint(v, 1)?;
        Ok(())
    }),
    ("replica.fetch.wait.max.ms", |c, v| {
        c.replica_fetch_wait_max_ms = uint(v, 0)?;
        Ok(())
    }),
    ("replica.fetch.backoff.ms", |c, v| {
        c.replica_fetch_backoff_ms = uint(v, 0)?;
        Ok(())
    }),
    ("replica.high.watermark.checkpoint.interval.ms", |c, v| {
        c.replica_high_watermark_checkpoint_interval_ms = uint(v, 1)?;
        Ok(())
    }),
    ("replica.socket.timeout.ms", |c, v| {
        c.replica_socket_timeout_ms = uint(v, 1)?;
        Ok(())
    }),
    ("min.insync.replicas", |c, v| {
        c.min_insync_replicas = int(v, 1)? as usize;
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
        c.message_max_bytes = uint(v, 0)?;
        Ok(())
    }),
];

/// Controller properties.
pub const CONTROLLER: &[(&str, Setter<ControllerConfig>)] = &[
    ("node.id", |c, v| {
        c.quorum.node_id = int(v, 0)? as i32;
        Ok(())
    }),
    ("broker.session.timeout.ms", |c, v| {
        c.broker_session_timeout_ms = uint(v, 1)?;
        Ok(())
    }),
    ("unclean.leader.election.enable", |c, v| {
        c.unclean_leader_election_enable = boolean(v)?;
        Ok(())
    }),
    ("controller.quorum.election.timeout.ms", |c, v| {
        c.quorum.election_timeout_ms = uint(v, 1)?;
        Ok(())
    }),
    ("controller.quorum.fetch.timeout.ms", |c, v| {
        c.quorum.fetch_timeout_ms = uint(v, 1)?;
        Ok(())
    }),
];

/// Producer properties (`bootstrap.servers` is resolved by the parser, which knows the nodes).
pub const PRODUCER: &[(&str, Setter<ProducerConfig>)] = &[
    ("acks", |c, v| {
        c.acks = acks(v)?;
        Ok(())
    }),
    ("linger.ms", |c, v| {
        c.linger_ms = uint(v, 0)?;
        Ok(())
    }),
    ("batch.size", |c, v| {
        c.batch_size = uint(v, 0)?;
        Ok(())
    }),
    ("request.timeout.ms", |c, v| {
        c.request_timeout_ms = uint(v, 0)?;
        Ok(())
    }),
    ("delivery.timeout.ms", |c, v| {
        c.delivery_timeout_ms = uint(v, 0)?;
        Ok(())
    }),
    ("retries", |c, v| {
        c.retries = int(v, 0)?.min(i64::from(i32::MAX)) as u32;
        Ok(())
    }),
    ("retry.backoff.ms", |c, v| {
        c.retry_backoff_ms = uint(v, 0)?;
        Ok(())
    }),
    ("max.in.flight.requests.per.connection", |c, v| {
        c.max_in_flight_requests_per_connection = int(v, 1)?.min(i64::from(i32::MAX)) as u32;
        Ok(())
    }),
    ("metadata.max.age.ms", |c, v| {
        c.metadata_max_age_ms = uint(v, 0)?;
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

/// Consumer properties.
pub const CONSUMER: &[(&str, Setter<ConsumerConfig>)] = &[
    ("auto.offset.reset", |c, v| {
        c.auto_offset_reset = offset_reset(v)?;
        Ok(())
    }),
    ("fetch.min.bytes", |c, v| {
        c.fetch_min_bytes = uint(v, 0)?;
        Ok(())
    }),
    ("fetch.max.wait.ms", |c, v| {
        c.fetch_max_wait_ms = uint(v, 0)?;
        Ok(())
    }),
    ("fetch.max.bytes", |c, v| {
        c.fetch_max_bytes = uint(v, 0)?;
        Ok(())
    }),
    ("max.partition.fetch.bytes", |c, v| {
        c.max_partition_fetch_bytes = uint(v, 0)?;
        Ok(())
    }),
    ("max.poll.records", |c, v| {
        c.max_poll_records = int(v, 1)?.min(i64::from(i32::MAX)) as u32;
        Ok(())
    }),
    ("request.timeout.ms", |c, v| {
        c.request_timeout_ms = uint(v, 0)?;
        Ok(())
    }),
    ("retry.backoff.ms", |c, v| {
        c.retry_backoff_ms = uint(v, 0)?;
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
        c.session_timeout_ms = uint(v, 1)?;
        Ok(())
    }),
    ("heartbeat.interval.ms", |c, v| {
        c.heartbeat_interval_ms = uint(v, 1)?;
        Ok(())
    }),
    ("max.poll.interval.ms", |c, v| {
        c.max_poll_interval_ms = uint(v, 1)?;
        Ok(())
    }),
    ("enable.auto.commit", |c, v| {
        c.enable_auto_commit = boolean(v)?;
        Ok(())
    }),
    ("auto.commit.interval.ms", |c, v| {
        c.auto_commit_interval_ms = uint(v, 1)?;
        Ok(())
    }),
    ("partition.assignment.strategy", |c, v| {
        let s = string(v)?;
        let name = s.rsplit('.').next().unwrap_or(&s).to_lowercase();
        c.partition_assignment_strategy = match name.as_str() {
            "range" | "rangeassignor" => "range".into(),
            "roundrobin" | "roundrobinassignor" => "roundrobin".into(),
            "sticky" | "stickyassignor" => "sticky".into(),
            "cooperative-sticky" | "cooperativestickyassignor" => "cooperative-sticky".into(),
            _ => {
                return Err(format!(
                    "expected range, roundrobin or sticky, found \"{s}\""
                ));
            }
        };
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

/// Real Kafka properties that kafkasim does not model yet, per role: setting one is an error
/// that says so, rather than a silent no-op.
const NOT_MODELLED: &[(Role, &[&str])] = &[
    (
        Role::Broker,
        &[
            "default.replication.factor",
            "num.partitions",
            "retention.ms",
            "log.retention.ms",
            "log.retention.hours",
            "cleanup.policy",
            "log.cleanup.policy",
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
        &[
            "group.instance.id",
            "isolation.level",
            "key.deserializer",
            "value.deserializer",
        ],
    ),
];

/// Every property name a role accepts (`bootstrap.servers` included).
pub fn names(role: Role) -> Vec<&'static str> {
    let mut names: Vec<&str> = match role {
        Role::Controller => CONTROLLER.iter().map(|(n, _)| *n).collect(),
        Role::Broker => BROKER.iter().map(|(n, _)| *n).collect(),
        Role::Producer => PRODUCER.iter().map(|(n, _)| *n).collect(),
        Role::Consumer => CONSUMER.iter().map(|(n, _)| *n).collect(),
    };
    if matches!(role, Role::Producer | Role::Consumer) {
        names.push("bootstrap.servers");
    }
    names
}

/// Why `name` is not accepted for `role`: not modelled yet, or unknown (with the closest
/// known name, if one is close).
pub fn explain_unknown(role: Role, name: &str) -> String {
    if role == Role::Broker && CONTROLLER.iter().any(|(n, _)| *n == name) && name != "node.id" {
        return format!("`{name}` is read by the controller: set it in the [[controllers]] config");
    }
    let not_modelled = NOT_MODELLED
        .iter()
        .any(|(r, list)| *r == role && list.contains(&name));
    if not_modelled {
        return format!("`{name}` is a real Kafka property, but kafkasim does not model it yet");
    }
    let known = names(role);
    let closest = known.iter().map(|k| (edit_distance(k, name), *k)).min();
    match closest {
        Some((d, k)) if d <= 3 || k.contains(name) || name.contains(k) => {
            format!("unknown property `{name}`; did you mean `{k}`?")
        }
        _ => format!("unknown property `{name}`; known: {}", known.join(", ")),
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

    #[test]
    fn acks_accepts_kafkas_spellings() {
        for (v, expected) in [
            (Value::Integer(0), Acks::Zero),
            (Value::Integer(1), Acks::One),
            (Value::Integer(-1), Acks::All),
            (Value::String("all".into()), Acks::All),
            (Value::String("-1".into()), Acks::All),
            (Value::String("1".into()), Acks::One),
        ] {
            assert_eq!(acks(&v), Ok(expected), "{v}");
        }
        assert!(acks(&Value::Integer(2)).is_err());
        assert!(acks(&Value::Boolean(true)).is_err());
    }

    #[test]
    fn long_max_means_never() {
        let mut c = BrokerConfig::default();
        let set = BROKER
            .iter()
            .find(|(n, _)| *n == "log.flush.interval.ms")
            .unwrap()
            .1;
        set(&mut c, &Value::Integer(i64::MAX)).unwrap();
        assert_eq!(c.log_flush_interval_ms, None);
        set(&mut c, &Value::Integer(1000)).unwrap();
        assert_eq!(c.log_flush_interval_ms, Some(1000));
        assert!(set(&mut c, &Value::Integer(-5)).is_err());
    }

    #[test]
    fn unknown_names_get_help() {
        assert!(explain_unknown(Role::Producer, "linger.sm").contains("did you mean `linger.ms`"));
        assert!(
            explain_unknown(Role::Producer, "transactional.id").contains("does not model it yet")
        );
        assert!(explain_unknown(Role::Broker, "zzz").contains("known:"));
    }
}
