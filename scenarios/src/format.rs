//! The scenario file format (TOML) and its validation.
//!
//! A scenario file names the cluster, the workload, the faults and the checks. Kafka
//! properties are written as in Kafka's own `.properties` files — `linger.ms = 5` (a TOML
//! dotted key) or `"linger.ms" = 5`, both work. Node ids follow the order of the file:
//! brokers first, then producers, then consumers ([`node_order`]). Every error names the file,
//! the line, the column and the field; nothing in here panics on any input.

use crate::checkers;
use crate::error::{ScenarioError, line_column};
use crate::model::{
    BrokerSpec, ConsumerSpec, ControllerSpec, Expectations, FaultAction, ProduceWorkload,
    ProducerSpec, Scenario, ScheduledFault,
};
use crate::properties::{self, Role};
use kafkasim_core::config::{
    ApplicationCommit, BrokerConfig, ConsumerConfig, ProducerConfig, TopicSpec,
};
use kafkasim_core::controller::ControllerConfig;
use kafkasim_core::ids::NodeId;
use kafkasim_core::quorum::QuorumConfig;
use kafkasim_core::time::Duration;
use kafkasim_sim::WorldConfig;
use kafkasim_sim::disk::DiskConfig;
use kafkasim_sim::network::NetworkConfig;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use std::collections::BTreeMap;
use std::ops::Range;
use toml::{Spanned, Value};

/// A properties table: nested tables of dotted keys, each leaf with its place in the file.
#[derive(Debug, Default)]
struct Properties(BTreeMap<String, Spanned<Node>>);

#[derive(Debug)]
enum Node {
    Leaf(Value),
    Table(BTreeMap<String, Spanned<Node>>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Node;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a property value or a table of properties")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
                Ok(Node::Leaf(Value::Boolean(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
                Ok(Node::Leaf(Value::Integer(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
                i64::try_from(v)
                    .map(|v| Node::Leaf(Value::Integer(v)))
                    .map_err(|_| E::custom("integer too large"))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
                Ok(Node::Leaf(Value::Float(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Node, E> {
                Ok(Node::Leaf(Value::String(v.to_string())))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Value>()? {
                    items.push(item);
                }
                Ok(Node::Leaf(Value::Array(items)))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
                let mut table = BTreeMap::new();
                while let Some((k, v)) = map.next_entry::<String, Spanned<Node>>()? {
                    table.insert(k, v);
                }
                Ok(Node::Table(table))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Properties {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        BTreeMap::<String, Spanned<Node>>::deserialize(d).map(Properties)
    }
}

impl Properties {
    /// Every property as (dotted name, value, span), in name order.
    fn flatten(&self) -> Vec<(String, &Value, Range<usize>)> {
        fn walk<'a>(
            prefix: &str,
            table: &'a BTreeMap<String, Spanned<Node>>,
            out: &mut Vec<(String, &'a Value, Range<usize>)>,
        ) {
            for (key, node) in table {
                let name = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                match node.get_ref() {
                    Node::Leaf(v) => out.push((name, v, node.span())),
                    Node::Table(t) => walk(&name, t, out),
                }
            }
        }
        let mut out = Vec::new();
        walk("", &self.0, &mut out);
        out
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    name: Spanned<String>,
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    duration_ms: Spanned<u64>,
    #[serde(default)]
    network: Option<FileNetwork>,
    #[serde(default)]
    disk: Option<FileDisk>,
    #[serde(default)]
    topics: Vec<FileTopic>,
    #[serde(default)]
    controllers: Vec<FileController>,
    brokers: Option<Spanned<Vec<FileBroker>>>,
    #[serde(default)]
    producers: Vec<FileProducer>,
    #[serde(default)]
    consumers: Vec<FileConsumer>,
    #[serde(default)]
    faults: Vec<FileFault>,
    #[serde(default)]
    expect: FileExpect,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileNetwork {
    latency_min_us: Option<Spanned<u64>>,
    latency_max_us: Option<Spanned<u64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDisk {
    fsync_latency_us: Option<u64>,
    torn_writes: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTopic {
    name: Spanned<String>,
    partitions: Spanned<i64>,
    replication_factor: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileController {
    name: Option<Spanned<String>>,
    #[serde(default)]
    config: Properties,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileBroker {
    name: Option<Spanned<String>>,
    #[serde(default)]
    config: Properties,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileProducer {
    name: Spanned<String>,
    topic: Spanned<String>,
    records: u64,
    start_ms: Option<Spanned<u64>>,
    interval_ms: u64,
    keys: Option<Spanned<u64>>,
    value_bytes: Option<usize>,
    #[serde(default)]
    config: Properties,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConsumer {
    name: Spanned<String>,
    topic: Spanned<String>,
    start_ms: Option<Spanned<u64>>,
    /// How the application commits: "auto" (enable.auto.commit decides), "sync", "async".
    commit: Option<Spanned<String>>,
    #[serde(default)]
    config: Properties,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileFault {
    at_ms: Spanned<u64>,
    action: Spanned<String>,
    node: Option<Spanned<String>>,
    from: Option<Spanned<String>>,
    to: Option<Spanned<String>>,
    #[serde(default)]
    two_way: bool,
    a: Option<Spanned<String>>,
    b: Option<Spanned<String>>,
    duration_ms: Option<Spanned<u64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileExpect {
    #[serde(default)]
    hold: Vec<Spanned<String>>,
    #[serde(default)]
    anomalies: Vec<Spanned<String>>,
}

/// A property value with its span and field path, left for the caller to resolve.
type Unresolved<'p> = (&'p Value, Range<usize>, String);

/// Apply a node's `[... .config]` table with its role's setters. `bootstrap.servers` names
/// nodes, which only the caller can resolve: it comes back as (value, span, field).
fn apply_properties<'p, C>(
    ctx: &Ctx<'_>,
    props: &'p Properties,
    field: &str,
    role: Role,
    setters: &[(&str, properties::Setter<C>)],
    config: &mut C,
) -> Result<Option<Unresolved<'p>>, ScenarioError> {
    let mut bootstrap = None;
    for (prop, value, span) in props.flatten() {
        let pfield = format!("{field}.config.{prop}");
        if prop == "bootstrap.servers" {
            bootstrap = Some((value, span, pfield));
            continue;
        }
        let Some((_, set)) = setters.iter().find(|(n, _)| *n == prop) else {
            return Err(ctx.err(span, pfield, properties::explain_unknown(role, &prop)));
        };
        set(config, value).map_err(|m| ctx.err(span, pfield, m))?;
    }
    Ok(bootstrap)
}

/// The order node ids are given in: controllers, brokers, producers, then consumers, each in
/// file order. The harness adds nodes in this order, so `bootstrap.servers` can be resolved here.
pub fn node_order(scenario: &Scenario) -> Vec<String> {
    let controllers = scenario.controllers.iter().map(|c| c.name.clone());
    let brokers = scenario.brokers.iter().map(|b| b.name.clone());
    let producers = scenario.producers.iter().map(|p| p.name.clone());
    let consumers = scenario.consumers.iter().map(|c| c.name.clone());
    controllers
        .chain(brokers)
        .chain(producers)
        .chain(consumers)
        .collect()
}

struct Ctx<'a> {
    file: &'a str,
    text: &'a str,
}

impl Ctx<'_> {
    fn err(
        &self,
        span: Range<usize>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> ScenarioError {
        let (line, column) = line_column(self.text, span.start);
        ScenarioError {
            file: self.file.to_string(),
            line,
            column,
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Parse and validate a scenario file. `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<Scenario, ScenarioError> {
    let ctx = Ctx { file, text };
    let raw: File = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        let snippet = text.get(span.clone()).unwrap_or("").trim();
        let field = if !snippet.is_empty() && snippet.len() <= 60 && !snippet.contains('\n') {
            snippet.trim_matches('"').to_string()
        } else {
            String::new()
        };
        ctx.err(span, field, e.message().trim().to_string())
    })?;
    build(&ctx, raw)
}

fn build(ctx: &Ctx<'_>, raw: File) -> Result<Scenario, ScenarioError> {
    let name = raw.name.get_ref().trim().to_string();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(ctx.err(
            raw.name.span(),
            "name",
            "a scenario name is letters, digits, '-' and '_'",
        ));
    }
    let duration_ms = *raw.duration_ms.get_ref();
    if duration_ms == 0 {
        return Err(ctx.err(raw.duration_ms.span(), "duration_ms", "must be more than 0"));
    }

    let mut world = WorldConfig::default();
    if let Some(n) = &raw.network {
        let mut net = NetworkConfig::default();
        if let Some(v) = &n.latency_min_us {
            net.latency_min = Duration::from_micros(*v.get_ref());
        }
        if let Some(v) = &n.latency_max_us {
            net.latency_max = Duration::from_micros(*v.get_ref());
            if net.latency_max < net.latency_min {
                return Err(ctx.err(
                    v.span(),
                    "network.latency_max_us",
                    "must not be below latency_min_us",
                ));
            }
        }
        world.network = net;
    }
    if let Some(d) = &raw.disk {
        let mut disk = DiskConfig::default();
        if let Some(v) = d.fsync_latency_us {
            disk.fsync_latency = Duration::from_micros(v);
        }
        if let Some(v) = d.torn_writes {
            disk.torn_writes = v;
        }
        world.disk = disk;
    }

    let mut topics: Vec<TopicSpec> = Vec::new();
    for (i, t) in raw.topics.iter().enumerate() {
        let field = format!("topics[{i}]");
        let topic_name = t.name.get_ref().clone();
        if topics.iter().any(|x| x.name == topic_name) {
            return Err(ctx.err(
                t.name.span(),
                format!("{field}.name"),
                format!("topic `{topic_name}` is defined twice"),
            ));
        }
        if topic_name.is_empty() || topic_name.starts_with("__") {
            return Err(ctx.err(
                t.name.span(),
                format!("{field}.name"),
                "topic names must be non-empty and not start with `__`",
            ));
        }
        let partitions = *t.partitions.get_ref();
        if !(1..=10_000).contains(&partitions) {
            return Err(ctx.err(
                t.partitions.span(),
                format!("{field}.partitions"),
                "must be between 1 and 10000",
            ));
        }
        let replication_factor = match &t.replication_factor {
            None => 1,
            Some(rf) => {
                let brokers = raw.brokers.as_ref().map_or(0, |b| b.get_ref().len()) as i64;
                if !(1..=brokers.max(1)).contains(rf.get_ref()) {
                    return Err(ctx.err(
                        rf.span(),
                        format!("{field}.replication_factor"),
                        format!("must be between 1 and the number of brokers ({brokers})"),
                    ));
                }
                if *rf.get_ref() > 1 && raw.controllers.is_empty() {
                    return Err(ctx.err(
                        rf.span(),
                        format!("{field}.replication_factor"),
                        "replicated topics need a controller: add a [[controllers]] entry",
                    ));
                }
                *rf.get_ref() as i32
            }
        };
        topics.push(TopicSpec {
            name: topic_name,
            partitions: partitions as i32,
            replication_factor,
        });
    }

    // Names first: bootstrap.servers and faults refer to them.
    let mut names: Vec<(String, Range<usize>)> = Vec::new();
    let mut add_name =
        |name: &str, span: Range<usize>, field: String| -> Result<(), ScenarioError> {
            if name.is_empty() {
                return Err(ctx.err(span, field, "node names must not be empty"));
            }
            if names.iter().any(|(n, _)| n == name) {
                return Err(ctx.err(span, field, format!("node name `{name}` is used twice")));
            }
            names.push((name.to_string(), span));
            Ok(())
        };
    let Some(raw_brokers) = raw.brokers.as_ref().filter(|b| !b.get_ref().is_empty()) else {
        return Err(ctx.err(
            0..0,
            "brokers",
            "a scenario needs at least one [[brokers]] entry",
        ));
    };
    let mut controller_names = Vec::new();
    for (i, c) in raw.controllers.iter().enumerate() {
        let (n, span) = match &c.name {
            Some(n) => (n.get_ref().clone(), n.span()),
            None => (format!("controller-{}", i + 1), 0..0),
        };
        add_name(&n, span, format!("controllers[{i}].name"))?;
        controller_names.push(n);
    }
    let mut broker_names = Vec::new();
    for (i, b) in raw_brokers.get_ref().iter().enumerate() {
        let (n, span) = match &b.name {
            Some(n) => (n.get_ref().clone(), n.span()),
            None => (format!("broker-{}", i + 1), raw_brokers.span()),
        };
        add_name(&n, span, format!("brokers[{i}].name"))?;
        broker_names.push(n);
    }
    for (i, p) in raw.producers.iter().enumerate() {
        add_name(
            p.name.get_ref(),
            p.name.span(),
            format!("producers[{i}].name"),
        )?;
    }
    for (i, c) in raw.consumers.iter().enumerate() {
        add_name(
            c.name.get_ref(),
            c.name.span(),
            format!("consumers[{i}].name"),
        )?;
    }
    let node_id = |name: &str| {
        names
            .iter()
            .position(|(n, _)| n == name)
            .map(|i| NodeId(i as u32))
    };
    let known_nodes = || {
        names
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let first_broker = controller_names.len();
    let all_brokers: Vec<NodeId> = (0..broker_names.len())
        .map(|i| NodeId((first_broker + i) as u32))
        .collect();

    let check_topic = |topic: &Spanned<String>, field: String| -> Result<(), ScenarioError> {
        if topics.iter().any(|t| &t.name == topic.get_ref()) {
            Ok(())
        } else {
            let known: Vec<&str> = topics.iter().map(|t| t.name.as_str()).collect();
            Err(ctx.err(
                topic.span(),
                field,
                format!(
                    "unknown topic `{}` (topics: {})",
                    topic.get_ref(),
                    known.join(", ")
                ),
            ))
        }
    };
    let check_start = |start: &Option<Spanned<u64>>, field: String| -> Result<(), ScenarioError> {
        let Some(start) = start else { return Ok(()) };
        if *start.get_ref() >= duration_ms {
            Err(ctx.err(
                start.span(),
                field,
                format!("starts at or after the end of the run ({duration_ms} ms)"),
            ))
        } else {
            Ok(())
        }
    };
    // `bootstrap.servers`: a list of broker names (or one comma-separated string).
    let bootstrap =
        |value: &Value, span: Range<usize>, field: &str| -> Result<Vec<NodeId>, ScenarioError> {
            let list: Vec<String> = match value {
                Value::String(s) => s
                    .split(',')
                    .map(|x| x.trim().to_string())
                    .filter(|x| !x.is_empty())
                    .collect(),
                Value::Array(items) => items
                    .iter()
                    .map(|v| v.as_str().map(str::to_string).unwrap_or_default())
                    .collect(),
                _ => return Err(ctx.err(span, field, "expected a list of broker names")),
            };
            list.iter()
                .map(|n| match node_id(n) {
                    Some(id) if broker_names.contains(n) => Ok(id),
                    _ => Err(ctx.err(
                        span.clone(),
                        field,
                        format!(
                            "`{n}` is not a broker (brokers: {})",
                            broker_names.join(", ")
                        ),
                    )),
                })
                .collect()
        };

    // Consumer groups keep their offsets in Kafka's internal topic, with Kafka's defaults
    // (offsets.topic.num.partitions = 50, offsets.topic.replication.factor = 3, or fewer
    // replicas when there are fewer brokers).
    let groups = raw.consumers.iter().any(|c| {
        c.config
            .flatten()
            .iter()
            .any(|(name, _, _)| name == "group.id")
    });
    let mut all_topics = topics.clone();
    if groups {
        all_topics.push(TopicSpec {
            name: kafkasim_core::group::records::OFFSETS_TOPIC.to_string(),
            partitions: 50,
            replication_factor: raw_brokers.get_ref().len().min(3) as i32,
        });
    }
    // Controllers first: brokers need the quorum's voters.
    let mut controllers: Vec<ControllerSpec> = Vec::new();
    for (i, c) in raw.controllers.iter().enumerate() {
        let mut config = ControllerConfig {
            quorum: QuorumConfig::new(1000 + i as i32, BTreeMap::new()),
            broker_session_timeout_ms: 9000,
            unclean_leader_election_enable: false,
            topics: all_topics.clone(),
        };
        let field = format!("controllers[{i}]");
        if let Some((_, span, cfield)) = apply_properties(
            ctx,
            &c.config,
            &field,
            Role::Controller,
            properties::CONTROLLER,
            &mut config,
        )? {
            let why = properties::explain_unknown(Role::Controller, "bootstrap.servers");
            return Err(ctx.err(span, cfield, why));
        }
        let id = config.quorum.node_id;
        if controllers.iter().any(|x| x.config.quorum.node_id == id) {
            return Err(ctx.err(
                0..0,
                format!("{field}.config.node.id"),
                format!("node.id {id} is used twice"),
            ));
        }
        controllers.push(ControllerSpec {
            name: controller_names[i].clone(),
            config,
        });
    }
    let voters: BTreeMap<i32, NodeId> = controllers
        .iter()
        .enumerate()
        .map(|(i, c)| (c.config.quorum.node_id, NodeId(i as u32)))
        .collect();
    for c in &mut controllers {
        c.config.quorum.voters = voters.clone();
    }

    let mut brokers = Vec::new();
    for (i, b) in raw_brokers.get_ref().iter().enumerate() {
        let mut config = BrokerConfig {
            node_id: i as i32 + 1,
            // With controllers, topics are created by the active controller.
            topics: if voters.is_empty() {
                all_topics.clone()
            } else {
                Vec::new()
            },
            controller_quorum_voters: voters.clone(),
            ..BrokerConfig::default()
        };
        let field = format!("brokers[{i}]");
        if let Some((_, span, bfield)) = apply_properties(
            ctx,
            &b.config,
            &field,
            Role::Broker,
            properties::BROKER,
            &mut config,
        )? {
            let why = properties::explain_unknown(Role::Broker, "bootstrap.servers");
            return Err(ctx.err(span, bfield, why));
        }
        if brokers
            .iter()
            .any(|x: &BrokerSpec| x.config.node_id == config.node_id)
            || voters.contains_key(&config.node_id)
        {
            return Err(ctx.err(
                raw_brokers.span(),
                format!("brokers[{i}].config.node.id"),
                format!("node.id {} is used twice", config.node_id),
            ));
        }
        brokers.push(BrokerSpec {
            name: broker_names[i].clone(),
            config,
        });
    }

    let mut producers = Vec::new();
    for (i, p) in raw.producers.iter().enumerate() {
        let field = format!("producers[{i}]");
        check_topic(&p.topic, format!("{field}.topic"))?;
        check_start(&p.start_ms, format!("{field}.start_ms"))?;
        if let Some(k) = &p.keys
            && *k.get_ref() == 0
        {
            return Err(ctx.err(
                k.span(),
                format!("{field}.keys"),
                "must be at least 1 (omit it for keyless records)",
            ));
        }
        let mut config = ProducerConfig {
            bootstrap_servers: all_brokers.clone(),
            client_id: p.name.get_ref().clone(),
            ..ProducerConfig::default()
        };
        if let Some((value, span, pfield)) = apply_properties(
            ctx,
            &p.config,
            &field,
            Role::Producer,
            properties::PRODUCER,
            &mut config,
        )? {
            config.bootstrap_servers = bootstrap(value, span, &pfield)?;
        }
        // Kafka's ConfigException for an idempotent producer that cannot be one.
        if config.enable_idempotence == Some(true) {
            let conflict = if config.acks != kafkasim_core::config::Acks::All {
                Some("must set acks to all in order to use the idempotent producer")
            } else if config.max_in_flight_requests_per_connection > 5 {
                Some(
                    "must set max.in.flight.requests.per.connection to at most 5 to use the idempotent producer",
                )
            } else if config.retries == 0 {
                Some("must set retries to a non-zero value to use the idempotent producer")
            } else {
                None
            };
            if let Some(message) = conflict {
                return Err(ctx.err(
                    p.name.span(),
                    format!("{field}.config.enable.idempotence"),
                    message,
                ));
            }
        }
        producers.push(ProducerSpec {
            name: p.name.get_ref().clone(),
            config,
            workload: ProduceWorkload {
                topic: p.topic.get_ref().clone(),
                start_ms: p.start_ms.as_ref().map_or(0, |s| *s.get_ref()),
                records: p.records,
                interval_ms: p.interval_ms,
                keys: p.keys.as_ref().map(|k| *k.get_ref()),
                value_bytes: p.value_bytes.unwrap_or(0).min(1 << 20),
            },
        });
    }

    let mut consumers = Vec::new();
    for (i, c) in raw.consumers.iter().enumerate() {
        let field = format!("consumers[{i}]");
        check_topic(&c.topic, format!("{field}.topic"))?;
        check_start(&c.start_ms, format!("{field}.start_ms"))?;
        let mut config = ConsumerConfig {
            bootstrap_servers: all_brokers.clone(),
            client_id: c.name.get_ref().clone(),
            ..ConsumerConfig::default()
        };
        if let Some((value, span, cfield)) = apply_properties(
            ctx,
            &c.config,
            &field,
            Role::Consumer,
            properties::CONSUMER,
            &mut config,
        )? {
            config.bootstrap_servers = bootstrap(value, span, &cfield)?;
        }
        if let Some(commit) = &c.commit {
            config.application_commit = match commit.get_ref().as_str() {
                "auto" => ApplicationCommit::Auto,
                "sync" => ApplicationCommit::Sync,
                "async" => ApplicationCommit::Async,
                other => {
                    return Err(ctx.err(
                        commit.span(),
                        format!("{field}.commit"),
                        format!("unknown commit `{other}` (auto: enable.auto.commit decides; sync: commitSync() after each poll; async: commitAsync() after each poll)"),
                    ));
                }
            };
        }
        consumers.push(ConsumerSpec {
            name: c.name.get_ref().clone(),
            config,
            topic: c.topic.get_ref().clone(),
            start_ms: c.start_ms.as_ref().map_or(0, |s| *s.get_ref()),
        });
    }

    let mut faults = Vec::new();
    for (i, f) in raw.faults.iter().enumerate() {
        let field = format!("faults[{i}]");
        if *f.at_ms.get_ref() > duration_ms {
            return Err(ctx.err(
                f.at_ms.span(),
                format!("{field}.at_ms"),
                format!("after the end of the run ({duration_ms} ms)"),
            ));
        }
        let node = |value: &Option<Spanned<String>>, key: &str| -> Result<String, ScenarioError> {
            let Some(v) = value else {
                return Err(ctx.err(
                    f.action.span(),
                    format!("{field}.{key}"),
                    format!("`{}` needs `{key}`", f.action.get_ref()),
                ));
            };
            if node_id(v.get_ref()).is_none() {
                return Err(ctx.err(
                    v.span(),
                    format!("{field}.{key}"),
                    format!("unknown node `{}` (nodes: {})", v.get_ref(), known_nodes()),
                ));
            }
            Ok(v.get_ref().clone())
        };
        // Application actions act on a consumer.
        let consumer = |value: &Option<Spanned<String>>| -> Result<String, ScenarioError> {
            let name = node(value, "node")?;
            if !raw.consumers.iter().any(|c| *c.name.get_ref() == name) {
                let span = value.as_ref().map_or(f.action.span(), |v| v.span());
                return Err(ctx.err(
                    span,
                    format!("{field}.node"),
                    format!(
                        "`{}` acts on a consumer; `{name}` is not one",
                        f.action.get_ref()
                    ),
                ));
            }
            Ok(name)
        };
        let action = match f.action.get_ref().as_str() {
            "process-crash" => FaultAction::ProcessCrash {
                node: node(&f.node, "node")?,
            },
            "power-loss" => FaultAction::PowerLoss {
                node: node(&f.node, "node")?,
            },
            "power-loss-all" => FaultAction::PowerLossAll,
            "restart" => FaultAction::Restart {
                node: node(&f.node, "node")?,
            },
            "partition" => FaultAction::Partition {
                from: node(&f.from, "from")?,
                to: node(&f.to, "to")?,
                two_way: f.two_way,
            },
            "heal" => FaultAction::Heal,
            "reset-connection" => FaultAction::ResetConnection {
                a: node(&f.a, "a")?,
                b: node(&f.b, "b")?,
            },
            "stall-poll" => {
                let Some(duration) = &f.duration_ms else {
                    return Err(ctx.err(
                        f.action.span(),
                        format!("{field}.duration_ms"),
                        "`stall-poll` needs `duration_ms`".to_string(),
                    ));
                };
                FaultAction::StallPoll {
                    node: consumer(&f.node)?,
                    duration_ms: *duration.get_ref(),
                }
            }
            "close" => FaultAction::Close {
                node: consumer(&f.node)?,
            },
            other => {
                return Err(ctx.err(
                    f.action.span(),
                    format!("{field}.action"),
                    format!("unknown action `{other}` (actions: process-crash, power-loss, power-loss-all, restart, partition, heal, reset-connection, stall-poll, close)"),
                ));
            }
        };
        faults.push(ScheduledFault {
            at_ms: *f.at_ms.get_ref(),
            action,
        });
    }
    faults.sort_by_key(|f| f.at_ms);

    let mut expect = Expectations::default();
    for (list, out, key) in [
        (&raw.expect.hold, &mut expect.hold, "hold"),
        (&raw.expect.anomalies, &mut expect.anomalies, "anomalies"),
    ] {
        for (i, c) in list.iter().enumerate() {
            if !checkers::is_known(c.get_ref()) {
                let known: Vec<&str> = checkers::CHECKERS.iter().map(|c| c.name).collect();
                return Err(ctx.err(
                    c.span(),
                    format!("expect.{key}[{i}]"),
                    format!(
                        "unknown checker `{}` (checkers: {})",
                        c.get_ref(),
                        known.join(", ")
                    ),
                ));
            }
            out.push(c.get_ref().clone());
        }
    }
    if let Some(both) = expect.hold.iter().find(|c| expect.anomalies.contains(c)) {
        let span = raw
            .expect
            .hold
            .iter()
            .find(|c| c.get_ref() == both)
            .map_or(0..0, |c| c.span());
        return Err(ctx.err(
            span,
            "expect",
            format!("`{both}` cannot both hold and appear"),
        ));
    }

    Ok(Scenario {
        controllers,
        name,
        title: raw.title,
        description: raw.description,
        source: ctx.file.to_string(),
        duration_ms,
        world,
        brokers,
        producers,
        consumers,
        faults,
        expect,
    })
}
