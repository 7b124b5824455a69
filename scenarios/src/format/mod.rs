//! The scenario file format (TOML) and its validation.
//!
//! A scenario file names the cluster, the workload, the faults and the checks. Kafka
//! properties are written as in Kafka's own `.properties` files — `linger.ms = 5` (a TOML
//! dotted key) or `"linger.ms" = 5`, both work — and mean what core's
//! [`kafkasim_core::config::properties`] says they mean: the rules are Kafka's, not the
//! format's. Every error names the file, the line, the column and the field; nothing in here
//! panics on any input.
//!
//! Reading a file takes two steps. serde reads the TOML into the file's own shape
//! (`file`: one struct per section, each value with its place in the file); then one small
//! parser per section checks it and builds the [`Scenario`]:
//!
//! | section                            | parser                                   |
//! |------------------------------------|------------------------------------------|
//! | `name`, `duration_ms`              | `build` itself                           |
//! | `[network]`, `[disk]`              | `cluster::world`                         |
//! | `[[topics]]`                       | `cluster::topics`                        |
//! | every node's name                  | `nodes::Nodes::collect`                  |
//! | `[[controllers]]`, `[[brokers]]`   | `cluster::controllers`, `cluster::brokers` |
//! | `[[producers]]`, `[[consumers]]`   | `clients::producers`, `clients::consumers` |
//! | `[[databases]]`                    | `databases::databases`                   |
//! | `[[registries]]`                   | `registries::registries`                 |
//! | `[[connectors]]`                   | `connectors::settings`, `connectors::sources`, `connectors::with_sinks` |
//! | `[[stages]]`                       | `stages::stages`, then [`crate::pipeline::graph`] |
//! | `[[faults]]`, `[expect]`           | `faults::schedule`, `faults::expectations` |
//! | any node's `config` table          | `properties::apply`                      |
//!
//! Nodes get their simulated addresses in [`node_order`]: controllers, brokers, producers,
//! consumers, databases, registries, connector tasks, then stages, each in file order.

mod clients;
mod cluster;
mod connectors;
mod databases;
mod faults;
mod file;
mod nodes;
mod properties;
mod registries;
mod stages;

use crate::error::{ScenarioError, line_column};
use crate::model::Scenario;
use file::File;
use kafkasim_core::config::node_ids::NodeIds;
use kafkasim_core::connect::config::ConnectorClass;
use std::ops::Range;
use toml::Spanned;

/// The order node ids are given in: controllers, brokers, producers, consumers,
/// databases, registries, connector tasks, then stages, each in file order. The harness adds nodes in this order, so
/// `bootstrap.servers` can be resolved here.
pub fn node_order(scenario: &Scenario) -> Vec<String> {
    let controllers = scenario.controllers.iter().map(|c| c.name.clone());
    let brokers = scenario.brokers.iter().map(|b| b.name.clone());
    let producers = scenario.producers.iter().map(|p| p.name.clone());
    let consumers = scenario.consumers.iter().map(|c| c.name.clone());
    let databases = scenario.databases.iter().map(|d| d.name.clone());
    let registries = scenario.registries.iter().map(|r| r.name.clone());
    let connectors = scenario.connectors.iter().map(|c| c.name.clone());
    let stages = scenario.stages.iter().map(|s| s.name.clone());
    controllers
        .chain(brokers)
        .chain(producers)
        .chain(consumers)
        .chain(databases)
        .chain(registries)
        .chain(connectors)
        .chain(stages)
        .collect()
}

/// The file being read, for errors that point into it.
struct Ctx<'a> {
    /// Its name (`builtin:<name>` or a path).
    file: &'a str,
    /// Its text, to turn byte offsets into lines and columns.
    text: &'a str,
}

impl Ctx<'_> {
    /// An error at `span` of the file, about `field`.
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

/// The scenario from its file, one section at a time, in an order where each section can
/// check what it refers to: topics before the clients that write them, every node name before
/// the faults and `bootstrap.servers` that name them, controllers before the brokers that
/// join their quorum. The first mistake found is the one reported.
fn build(ctx: &Ctx<'_>, raw: File) -> Result<Scenario, ScenarioError> {
    let name = scenario_name(ctx, &raw.name)?;
    let duration_ms = duration(ctx, &raw.duration_ms)?;
    let world = cluster::world(ctx, raw.network.as_ref(), raw.disk.as_ref())?;
    let broker_count = raw.brokers.as_ref().map_or(0, |b| b.get_ref().len());
    let has_controllers = !raw.controllers.is_empty();
    let topics = cluster::topics(ctx, &raw.topics, broker_count, has_controllers)?;
    // A scenario of databases alone needs no Kafka cluster.
    let no_brokers = toml::Spanned::new(0..0, Vec::new());
    let raw_brokers = match raw.brokers.as_ref() {
        None if !raw.databases.is_empty() && raw.connectors.is_empty() => &no_brokers,
        brokers => cluster::require_brokers(ctx, brokers)?,
    };
    let settings = connectors::settings(ctx, &raw.connectors)?;
    let nodes = nodes::Nodes::collect(
        ctx,
        &raw.controllers,
        raw_brokers,
        &raw.producers,
        &raw.consumers,
        (&raw.databases, &raw.registries),
        (
            &connectors::task_names(&raw.connectors, &settings),
            &raw.stages,
        ),
    )?;

    let sinks = settings.iter().any(|s| s.class == ConnectorClass::JdbcSink);
    let all_topics = cluster::with_internal_topics(&topics, &raw.consumers, sinks, broker_count);
    let mut node_ids = NodeIds::new();
    let controllers =
        cluster::controllers(ctx, &raw.controllers, &nodes, &all_topics, &mut node_ids)?;
    let brokers = cluster::brokers(
        ctx,
        raw_brokers,
        &nodes,
        &all_topics,
        &controllers,
        &mut node_ids,
    )?;

    let bounds = clients::Bounds {
        topics: &topics,
        duration_ms,
    };
    let producers = clients::producers(ctx, &raw.producers, &nodes, &bounds)?;
    let consumers = clients::consumers(ctx, &raw.consumers, &nodes, &bounds)?;
    let mut databases = databases::databases(ctx, &raw.databases, duration_ms)?;
    databases::standbys(ctx, &raw.databases, &mut databases, &nodes)?;
    let mut nodes = nodes;
    nodes.mark_standbys(
        databases
            .iter()
            .filter(|d| d.config.primary.is_some())
            .map(|d| d.name.clone()),
    );
    let registries = registries::registries(ctx, &raw.registries)?;
    let sources = connectors::sources(
        ctx,
        &raw.connectors,
        &settings,
        &nodes,
        (&mut databases, &registries),
        &bounds,
    )?;
    let mut tables = connectors::source_tables(&sources);
    let stages = stages::stages(ctx, &raw.stages, &nodes, &mut tables, &bounds)?;
    let connectors = connectors::with_sinks(
        ctx,
        &raw.connectors,
        &settings,
        &nodes,
        &registries,
        &tables,
        &bounds,
        sources,
    )?;
    let faults = faults::schedule(ctx, &raw.faults, &nodes, duration_ms)?;
    let expect = faults::expectations(ctx, &raw.expect)?;

    let scenario = Scenario {
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
        databases,
        registries,
        connectors,
        stages,
        faults,
        expect,
        overrides: Vec::new(),
    };
    let flows = crate::pipeline::flows(&crate::trace::Header::of(&scenario, 0));
    if let Err(why) = crate::pipeline::graph(&flows) {
        let span = raw.stages.first().map_or(0..0, |s| s.output.span());
        return Err(ctx.err(span, "stages", why));
    }
    Ok(scenario)
}

/// `name`: what `kafkasim run <name>` calls it.
fn scenario_name(ctx: &Ctx<'_>, name: &Spanned<String>) -> Result<String, ScenarioError> {
    let trimmed = name.get_ref().trim().to_string();
    let valid = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if trimmed.is_empty() || !trimmed.chars().all(valid) {
        return Err(ctx.err(
            name.span(),
            "name",
            "a scenario name is letters, digits, '-' and '_'",
        ));
    }
    Ok(trimmed)
}

/// `duration_ms`: how long the run lasts, in simulated time.
fn duration(ctx: &Ctx<'_>, duration_ms: &Spanned<u64>) -> Result<u64, ScenarioError> {
    match *duration_ms.get_ref() {
        0 => Err(ctx.err(duration_ms.span(), "duration_ms", "must be more than 0")),
        ms => Ok(ms),
    }
}
