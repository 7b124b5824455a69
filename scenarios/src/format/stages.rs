//! `[[stages]]`: stream-processing applications between topics, and the pipeline graph they
//! make with the sources, sinks and clients.
//!
//! ```toml
//! [[stages]]
//! name = "clean"                 # its node, and its application.id
//! input = "shop.public.orders"   # change events of a table
//! output = "orders-clean"
//! filter = "amount >= 500"
//!
//! [[stages]]
//! name = "totals"
//! input = "orders-clean"
//! output = "orders-by-customer"
//! group_by = "customer"
//! sum = "amount"
//! [stages.config]
//! "commit.interval.ms" = 1000
//! ```
//!
//! A stage reads the change events of one table — a source's topic or a filter's output —
//! and is a filter (`filter`) or an aggregate (`group_by` and `sum`). A stage reading a topic
//! nothing writes change events to is refused here; the whole pipeline — who writes and who
//! reads each topic — is a directed graph ([`crate::pipeline`]), and a cycle in it is refused
//! once every node is known.

use super::Ctx;
use super::clients::Bounds;
use super::file::FileStage;
use super::nodes::Nodes;
use super::properties;
use crate::error::ScenarioError;
use crate::model::StageSpec;
use kafkasim_core::config::properties::{Configurable, unsigned};
use kafkasim_core::config::{Acks, AutoOffsetReset, ConsumerConfig, ProducerConfig};
use kafkasim_core::database::heap::TableSchema;
use kafkasim_core::stage::StageConfig;
use kafkasim_core::stage::transform::Transform;
use kafkasim_core::time::Instant;

/// `[[stages]]`, in file order. `tables` holds every topic of change events known so far
/// (the sources'), with its table; a filter's output joins it.
pub(super) fn stages(
    ctx: &Ctx<'_>,
    raw: &[FileStage],
    nodes: &Nodes,
    tables: &mut Vec<(String, TableSchema)>,
    bounds: &Bounds<'_>,
) -> Result<Vec<StageSpec>, ScenarioError> {
    // A stage may read the output of one written further down the file.
    let mut specs: Vec<Option<StageSpec>> = vec![None; raw.len()];
    let mut progress = true;
    while progress && specs.iter().any(Option::is_none) {
        progress = false;
        for (i, s) in raw.iter().enumerate() {
            if specs[i].is_some() {
                continue;
            }
            let Some((_, table)) = tables.iter().find(|(t, _)| t == s.input.get_ref()) else {
                continue;
            };
            let spec = stage(ctx, s, i, nodes, table.clone(), bounds)?;
            if matches!(spec.config.transform, Transform::Filter { .. }) {
                tables.push((spec.config.output.clone(), spec.config.table.clone()));
            }
            specs[i] = Some(spec);
            progress = true;
        }
    }
    raw.iter()
        .zip(specs)
        .enumerate()
        .map(|(i, (s, spec))| {
            spec.ok_or_else(|| {
                let why = format!(
                    "topic `{}` carries the change events of no source connector or filter stage of this file",
                    s.input.get_ref()
                );
                ctx.err(s.input.span(), format!("stages[{i}].input"), why)
            })
        })
        .collect()
}

fn stage(
    ctx: &Ctx<'_>,
    s: &FileStage,
    i: usize,
    nodes: &Nodes,
    table: TableSchema,
    bounds: &Bounds<'_>,
) -> Result<StageSpec, ScenarioError> {
    let field = format!("stages[{i}]");
    bounds.topic(ctx, &s.input, format!("{field}.input"))?;
    bounds.topic(ctx, &s.output, format!("{field}.output"))?;
    bounds.start(ctx, &s.start_ms, format!("{field}.start_ms"))?;
    let transform = match (&s.filter, &s.group_by, &s.sum) {
        (Some(f), None, None) => Transform::filter(f.get_ref(), &table)
            .map_err(|why| ctx.err(f.span(), format!("{field}.filter"), why))?,
        (None, Some(g), Some(sum)) => Transform::aggregate(g.get_ref(), sum.get_ref(), &table)
            .map_err(|why| ctx.err(g.span(), format!("{field}.group_by"), why))?,
        _ => {
            let why = "a stage is a filter (`filter = \"amount >= 500\"`) or an aggregate (`group_by` and `sum`)";
            return Err(ctx.err(s.name.span(), field, why));
        }
    };
    let name = s.name.get_ref().clone();
    let (mut consumer, mut producer) = clients(nodes, &name);
    let mut commit_interval_ms = 30_000;
    for (prop, value, span) in s.config.flatten() {
        let pfield = format!("{field}.config.{prop}");
        let set = match (
            prop.strip_prefix("consumer."),
            prop.strip_prefix("producer."),
        ) {
            _ if prop == "commit.interval.ms" => {
                unsigned(value, 1).map(|ms| commit_interval_ms = ms)
            }
            (Some("group.id" | "bootstrap.servers"), _) | (_, Some("bootstrap.servers")) => Err(
                format!("`{prop}` is the stage's own: its application.id and the cluster"),
            ),
            (Some(c), _) => consumer.set(c, value).map_err(|e| properties::message(&e)),
            (_, Some(p)) => producer.set(p, value).map_err(|e| properties::message(&e)),
            _ => Err(format!(
                "unknown stage property `{prop}` (known: commit.interval.ms, consumer.<property>, producer.<property>)"
            )),
        };
        set.map_err(|why| ctx.err(span, pfield, why))?;
    }
    let source_name = s
        .input
        .get_ref()
        .split(".public.")
        .next()
        .unwrap_or_default()
        .to_string();
    let config = StageConfig {
        application_id: name.clone(),
        input: s.input.get_ref().clone(),
        output: s.output.get_ref().clone(),
        table,
        source_name,
        transform,
        commit_interval_ms,
        consumer,
        producer,
        deploy_at: Instant::from_millis(s.start_ms.as_ref().map_or(0, |s| *s.get_ref())),
    };
    Ok(StageSpec { name, config })
}

/// A stage's clients as Kafka Streams configures them: the consumer in group
/// `<application.id>` without auto-commit, from the earliest offset; the producer with
/// `acks=all`, idempotent, retrying without end.
fn clients(nodes: &Nodes, name: &str) -> (ConsumerConfig, ProducerConfig) {
    let consumer = ConsumerConfig {
        bootstrap_servers: nodes.broker_addresses(),
        client_id: format!("{name}-consumer"),
        group_id: Some(name.to_string()),
        enable_auto_commit: false,
        auto_offset_reset: AutoOffsetReset::Earliest,
        ..ConsumerConfig::default()
    };
    let producer = ProducerConfig {
        bootstrap_servers: nodes.broker_addresses(),
        client_id: format!("{name}-producer"),
        acks: Acks::All,
        enable_idempotence: Some(true),
        max_in_flight_requests_per_connection: 1,
        delivery_timeout_ms: i32::MAX as u64,
        ..ProducerConfig::default()
    };
    (consumer, producer)
}
