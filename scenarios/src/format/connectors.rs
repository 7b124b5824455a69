//! `[[connectors]]`: Kafka Connect connectors, configured as a worker's REST call would
//! create them, by Connect's and Debezium's names.
//!
//! ```toml
//! [[connectors]]
//! name = "shop-source"
//! [connectors.config]
//! "connector.class" = "io.debezium.connector.postgresql.PostgresConnector"
//! "database.hostname" = "db-1"
//! "topic.prefix" = "shop"
//! "table.include.list" = "public.orders"
//!
//! [[connectors]]
//! name = "warehouse"
//! start_ms = 2000
//! [connectors.config]
//! "connector.class" = "io.confluent.connect.jdbc.JdbcSinkConnector"
//! topics = "shop.public.orders"
//! "tasks.max" = 2
//! ```
//!
//! Each task is a node named as Connect names tasks, `<connector>-<task>` (`shop-source-0`,
//! `warehouse-0`, `warehouse-1`), so faults can name it. A source creates its replication
//! slot on the database (`wal_level = logical` required) and writes one topic per table,
//! `<topic.prefix>.public.<table>`, which must be one of the file's `[[topics]]` (topics are
//! not created automatically). A sink reads one such topic and keeps the table it describes;
//! its tasks form the consumer group `connect-<connector>`.
//!
//! A task's client has Connect's settings for it; `producer.override.<name>` (a source's)
//! and `consumer.override.<name>` (a sink's) change them, as Connect allows with
//! `connector.client.config.override.policy=All`.

use super::clients::Bounds;
use super::file::FileConnector;
use super::nodes::Nodes;
use super::{Ctx, properties};
use crate::error::ScenarioError;
use crate::model::{ConnectorSpec, ConnectorTask, DatabaseSpec, RegistrySpec};
use kafkasim_core::config::properties::{BOOTSTRAP_SERVERS, Configurable};
use kafkasim_core::config::{Acks, AutoOffsetReset, ConsumerConfig, ProducerConfig};
use kafkasim_core::connect::config::{
    ConnectorClass, ConnectorSettings, JDBC_SINK, POSTGRES_SOURCE, ValueConverter,
};
use kafkasim_core::connect::converter::AVRO_CONVERTER;
use kafkasim_core::connect::envelope;
use kafkasim_core::connect::sink::SinkConfig;
use kafkasim_core::connect::source::SourceConfig;
use kafkasim_core::database::WalLevel;
use kafkasim_core::database::heap::TableSchema;
use kafkasim_core::ids::NodeId;
use kafkasim_core::time::Instant;
use std::ops::Range;

/// The prefix of a source task's producer settings (Connect's per-connector client
/// overrides, allowed by `connector.client.config.override.policy=All`).
const PRODUCER_OVERRIDE: &str = "producer.override.";
/// The prefix of a sink task's consumer settings.
const CONSUMER_OVERRIDE: &str = "consumer.override.";

/// Apply the connector's `<prefix><client property>` settings to its task's client; the
/// other prefix is an error (a source has no consumer, a sink no producer).
fn overrides<C: Configurable>(
    ctx: &Ctx<'_>,
    c: &FileConnector,
    field: &str,
    prefix: &str,
    config: &mut C,
) -> Result<(), ScenarioError> {
    let (other, task, missing) = if prefix == PRODUCER_OVERRIDE {
        (CONSUMER_OVERRIDE, "source", "consumer")
    } else {
        (PRODUCER_OVERRIDE, "sink", "producer")
    };
    for (prop, value, span) in c.config.flatten() {
        let pfield = format!("{field}.config.{prop}");
        if prop.starts_with(other) {
            let why = format!("a {task} task has no {missing} to override");
            return Err(ctx.err(span, pfield, why));
        }
        let Some(name) = prop.strip_prefix(prefix) else {
            continue;
        };
        if name == BOOTSTRAP_SERVERS || name == "group.id" {
            let why = format!("`{name}` is the worker's: it cannot be overridden per connector");
            return Err(ctx.err(span, pfield, why));
        }
        config
            .set(name, value)
            .map_err(|e| ctx.err(span, pfield, properties::message(&e)))?;
    }
    Ok(())
}

/// Every connector's settings, read before node names are collected (`tasks.max` says how
/// many nodes a connector is).
pub(super) fn settings(
    ctx: &Ctx<'_>,
    raw: &[FileConnector],
) -> Result<Vec<ConnectorSettings>, ScenarioError> {
    raw.iter()
        .enumerate()
        .map(|(i, c)| {
            let field = format!("connectors[{i}]");
            let mut settings = ConnectorSettings::default();
            for (prop, value, span) in c.config.flatten() {
                if prop.starts_with(PRODUCER_OVERRIDE) || prop.starts_with(CONSUMER_OVERRIDE) {
                    continue; // set on the task's client, once it is built
                }
                let pfield = format!("{field}.config.{prop}");
                settings
                    .set(&prop, value)
                    .map_err(|e| ctx.err(span, pfield, properties::message(&e)))?;
            }
            if settings.class == ConnectorClass::Unset {
                let why =
                    format!("`connector.class` is required ({POSTGRES_SOURCE} or {JDBC_SINK})");
                return Err(ctx.err(c.name.span(), format!("{field}.config"), why));
            }
            Ok(settings)
        })
        .collect()
}

/// How many tasks a connector runs: a PostgreSQL source reads one slot, so one task.
fn task_count(settings: &ConnectorSettings) -> u32 {
    match settings.class {
        ConnectorClass::JdbcSink => settings.tasks_max,
        _ => 1,
    }
}

/// The task nodes' names, with where each connector was named.
pub(super) fn task_names(
    raw: &[FileConnector],
    settings: &[ConnectorSettings],
) -> Vec<(String, Range<usize>, String)> {
    raw.iter()
        .zip(settings)
        .enumerate()
        .flat_map(|(i, (c, s))| {
            (0..task_count(s)).map(move |task| {
                let name = format!("{}-{task}", c.name.get_ref());
                (name, c.name.span(), format!("connectors[{i}].name"))
            })
        })
        .collect()
}

/// The source connectors of `[[connectors]]`, resolved: each source's slot is added to its
/// database. Sources come first: a stage or a sink names the topic of a source, wherever it
/// is in the file.
pub(super) fn sources(
    ctx: &Ctx<'_>,
    raw: &[FileConnector],
    settings: &[ConnectorSettings],
    nodes: &Nodes,
    (databases, registries): (&mut [DatabaseSpec], &[RegistrySpec]),
    bounds: &Bounds<'_>,
) -> Result<Vec<ConnectorSpec>, ScenarioError> {
    let mut specs: Vec<ConnectorSpec> = Vec::new();
    for (i, (c, s)) in raw.iter().zip(settings).enumerate() {
        if s.class == ConnectorClass::PostgresSource {
            let registry = registry(ctx, c, s, i, nodes, registries)?;
            specs.push(source(ctx, c, s, i, nodes, databases, bounds, registry)?);
        }
    }
    Ok(specs)
}

/// The sink connectors of `[[connectors]]` added to `specs` (the sources), then every task
/// in file order, as [`super::node_order`] gives their addresses. A sink reads the change
/// events of a source, or of a stage that filters them (`tables`: topic → table).
#[allow(clippy::too_many_arguments)]
pub(super) fn with_sinks(
    ctx: &Ctx<'_>,
    raw: &[FileConnector],
    settings: &[ConnectorSettings],
    nodes: &Nodes,
    registries: &[RegistrySpec],
    tables: &[(String, TableSchema)],
    bounds: &Bounds<'_>,
    mut specs: Vec<ConnectorSpec>,
) -> Result<Vec<ConnectorSpec>, ScenarioError> {
    for (i, (c, s)) in raw.iter().zip(settings).enumerate() {
        if s.class == ConnectorClass::JdbcSink {
            let registry = registry(ctx, c, s, i, nodes, registries)?;
            specs.extend(sinks(ctx, c, s, i, nodes, tables, bounds, registry)?);
        }
    }
    let order: Vec<String> = task_names(raw, settings).into_iter().map(|t| t.0).collect();
    specs.sort_by_key(|s| order.iter().position(|n| *n == s.name));
    Ok(specs)
}

/// The change-event topics the sources write, with the table each carries.
pub(super) fn source_tables(sources: &[ConnectorSpec]) -> Vec<(String, TableSchema)> {
    sources
        .iter()
        .filter_map(|src| match &src.task {
            ConnectorTask::Source { config, .. } => Some(config),
            ConnectorTask::Sink(_) => None,
        })
        .flat_map(|config| {
            config
                .tables
                .iter()
                .map(|t| (envelope::topic(&config.topic_prefix, &t.name), t.clone()))
        })
        .collect()
}

/// The registry of an `AvroConverter`: `value.converter.schema.registry.url` naming one of
/// the file's `[[registries]]`. None with the JSON converter.
fn registry(
    ctx: &Ctx<'_>,
    c: &FileConnector,
    s: &ConnectorSettings,
    i: usize,
    nodes: &Nodes,
    registries: &[RegistrySpec],
) -> Result<Option<NodeId>, ScenarioError> {
    let field = format!("connectors[{i}].config.value.converter.schema.registry.url");
    let err = |why: String| ctx.err(c.name.span(), field.clone(), why);
    let names: Vec<&str> = registries.iter().map(|r| r.name.as_str()).collect();
    match (s.value_converter, s.schema_registry_url.as_deref()) {
        (ValueConverter::Json, None) => Ok(None),
        (ValueConverter::Json, Some(_)) => Err(err(format!(
            "a registry is used by the AvroConverter only: set value.converter = \"{AVRO_CONVERTER}\""
        ))),
        (ValueConverter::Avro, None) => Err(err(format!(
            "the AvroConverter needs value.converter.schema.registry.url (registries: {})",
            names.join(", ")
        ))),
        (ValueConverter::Avro, Some(url)) if names.contains(&url) => Ok(nodes.id(url)),
        (ValueConverter::Avro, Some(url)) => Err(err(format!(
            "`{url}` is not a schema registry of this file (registries: {})",
            names.join(", ")
        ))),
    }
}

/// When the connector is created: `start_ms`, inside the run.
fn deploy_at(
    ctx: &Ctx<'_>,
    c: &FileConnector,
    field: &str,
    bounds: &Bounds<'_>,
) -> Result<Instant, ScenarioError> {
    bounds.start(ctx, &c.start_ms, format!("{field}.start_ms"))?;
    Ok(Instant::from_millis(
        c.start_ms.as_ref().map_or(0, |s| *s.get_ref()),
    ))
}

#[allow(clippy::too_many_arguments)]
fn source(
    ctx: &Ctx<'_>,
    c: &FileConnector,
    s: &ConnectorSettings,
    i: usize,
    nodes: &Nodes,
    databases: &mut [DatabaseSpec],
    bounds: &Bounds<'_>,
    registry: Option<NodeId>,
) -> Result<ConnectorSpec, ScenarioError> {
    let field = format!("connectors[{i}]");
    let err = |field: String, why: String| ctx.err(c.name.span(), field, why);
    let names: Vec<String> = databases.iter().map(|d| d.name.clone()).collect();
    let Some(host) = s.database_hostname.as_deref() else {
        let why = format!(
            "a source needs `database.hostname` (databases: {})",
            names.join(", ")
        );
        return Err(err(format!("{field}.config"), why));
    };
    let Some(db) = databases.iter_mut().find(|d| d.name == host) else {
        let why = format!(
            "`{host}` is not a database (databases: {})",
            names.join(", ")
        );
        return Err(err(format!("{field}.config.database.hostname"), why));
    };
    if db.config.wal_level != WalLevel::Logical {
        let why = format!(
            "logical decoding requires wal_level >= logical: set wal_level = \"logical\" in the config of {host}"
        );
        return Err(err(format!("{field}.config.database.hostname"), why));
    }
    let Some(prefix) = s.topic_prefix.clone() else {
        let why = "a source needs `topic.prefix`: its topics are <topic.prefix>.public.<table>";
        return Err(err(format!("{field}.config"), why.into()));
    };
    let tables = included_tables(&db.config.tables, s.table_include_list.as_deref())
        .map_err(|why| err(format!("{field}.config.table.include.list"), why))?;
    for t in &tables {
        let topic = envelope::topic(&prefix, &t.name);
        if !bounds.topics.iter().any(|k| k.name == topic) {
            let why = format!(
                "topic `{topic}` does not exist: add it to [[topics]] (auto.create.topics.enable is not modelled)"
            );
            return Err(err(format!("{field}.config.topic.prefix"), why));
        }
    }
    if db.config.slots.contains(&s.slot_name) {
        let why = format!("replication slot \"{}\" already exists", s.slot_name);
        return Err(err(format!("{field}.config.slot.name"), why));
    }
    db.config.slots.push(s.slot_name.clone());
    let name = c.name.get_ref();
    let mut producer = source_producer(nodes, name);
    overrides(ctx, c, &field, PRODUCER_OVERRIDE, &mut producer)?;
    let config = SourceConfig {
        database: nodes.id(host).expect("every database has a node"),
        slot_name: s.slot_name.clone(),
        topic_prefix: prefix,
        tables,
        snapshot_mode: s.snapshot_mode,
        tombstones_on_delete: s.tombstones_on_delete,
        offset_flush_interval_ms: s.offset_flush_interval_ms,
        retriable_restart_connector_wait_ms: s.retriable_restart_connector_wait_ms,
        status_update_interval_ms: s.status_update_interval_ms,
        producer,
        confirm_before_ack: s.confirm_before_ack,
        deploy_at: deploy_at(ctx, c, &field, bounds)?,
        registry,
    };
    Ok(ConnectorSpec {
        name: format!("{name}-0"),
        connector: name.clone(),
        task: ConnectorTask::Source {
            database: host.to_string(),
            config,
        },
    })
}

/// `table.include.list` (`public.<table>` or `<table>`) resolved to the database's tables;
/// none given, every table.
fn included_tables(
    tables: &[TableSchema],
    include: Option<&[String]>,
) -> Result<Vec<TableSchema>, String> {
    let Some(include) = include else {
        return Ok(tables.to_vec());
    };
    include
        .iter()
        .map(|name| {
            let bare = name.strip_prefix("public.").unwrap_or(name);
            tables
                .iter()
                .find(|t| t.name == bare)
                .cloned()
                .ok_or_else(|| {
                    let known: Vec<String> = tables
                        .iter()
                        .map(|t| format!("public.{}", t.name))
                        .collect();
                    format!(
                        "no table `{name}` in the database (tables: {})",
                        known.join(", ")
                    )
                })
        })
        .collect()
}

/// Connect's producer for source tasks: `acks=all`, idempotent, one request in flight,
/// retried without end (`delivery.timeout.ms` = `Integer.MAX_VALUE`).
fn source_producer(nodes: &Nodes, connector: &str) -> ProducerConfig {
    ProducerConfig {
        bootstrap_servers: nodes.broker_addresses(),
        client_id: format!("connector-producer-{connector}-0"),
        acks: Acks::All,
        enable_idempotence: Some(true),
        max_in_flight_requests_per_connection: 1,
        delivery_timeout_ms: i32::MAX as u64,
        ..ProducerConfig::default()
    }
}

#[allow(clippy::too_many_arguments)]
fn sinks(
    ctx: &Ctx<'_>,
    c: &FileConnector,
    s: &ConnectorSettings,
    i: usize,
    nodes: &Nodes,
    tables: &[(String, TableSchema)],
    bounds: &Bounds<'_>,
    registry: Option<NodeId>,
) -> Result<Vec<ConnectorSpec>, ScenarioError> {
    let field = format!("connectors[{i}]");
    let err = |field: String, why: String| ctx.err(c.name.span(), field, why);
    let Some(topic) = s.topics.clone() else {
        return Err(err(
            format!("{field}.config"),
            "a sink needs `topics`".into(),
        ));
    };
    let table = tables
        .iter()
        .find(|(t, _)| *t == topic)
        .map(|(_, table)| table.clone());
    let Some(table) = table else {
        let why = format!(
            "topic `{topic}` carries the change events of no source connector (or filter stage) of this file"
        );
        return Err(err(format!("{field}.config.topics"), why));
    };
    let name = c.name.get_ref();
    let deploy_at = deploy_at(ctx, c, &field, bounds)?;
    (0..task_count(s))
        .map(|task| {
            let mut consumer = sink_consumer(nodes, name, task);
            overrides(ctx, c, &field, CONSUMER_OVERRIDE, &mut consumer)?;
            Ok(ConnectorSpec {
                name: format!("{name}-{task}"),
                connector: name.clone(),
                task: ConnectorTask::Sink(SinkConfig {
                    topic: topic.clone(),
                    table: table.clone(),
                    consumer,
                    offset_flush_interval_ms: s.offset_flush_interval_ms,
                    deploy_at,
                    registry,
                }),
            })
        })
        .collect()
}

/// Connect's consumer for sink tasks: group `connect-<connector>`, offsets committed by the
/// task after each flush, from the earliest offset when the group has none.
fn sink_consumer(nodes: &Nodes, connector: &str, task: u32) -> ConsumerConfig {
    ConsumerConfig {
        bootstrap_servers: nodes.broker_addresses(),
        client_id: format!("connector-consumer-{connector}-{task}"),
        group_id: Some(format!("connect-{connector}")),
        enable_auto_commit: false,
        auto_offset_reset: AutoOffsetReset::Earliest,
        ..ConsumerConfig::default()
    }
}
