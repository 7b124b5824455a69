//! The clients' sections: `[[producers]]` (a producer and the records it sends) and
//! `[[consumers]]` (a consumer, its topic and how its application commits).
//!
//! A client starts from Kafka's defaults, bootstraps from every broker and is named after its
//! node (`client.id`); its `config` table may change any of that by Kafka's property names.
//! A producer's configuration is then checked as a whole, as Kafka's `ProducerConfig` does.

use super::file::{FileConsumer, FileProducer};
use super::nodes::Nodes;
use super::{Ctx, properties};
use crate::error::ScenarioError;
use crate::model::{ConsumerSpec, ProduceWorkload, ProducerSpec};
use kafkasim_core::config::{
    ApplicationCommit, ConsumerConfig, ProducerConfig, TopicSpec, validate,
};
use toml::Spanned;

/// What every client entry is checked against: the run's topics and its length.
pub(super) struct Bounds<'a> {
    /// The scenario's topics (clients may not name internal ones).
    pub topics: &'a [TopicSpec],
    /// The run's length.
    pub duration_ms: u64,
}

impl Bounds<'_> {
    /// The client's `topic` must be one of the scenario's.
    pub(super) fn topic(
        &self,
        ctx: &Ctx<'_>,
        topic: &Spanned<String>,
        field: String,
    ) -> Result<(), ScenarioError> {
        if self.topics.iter().any(|t| &t.name == topic.get_ref()) {
            return Ok(());
        }
        let known: Vec<&str> = self.topics.iter().map(|t| t.name.as_str()).collect();
        let why = format!(
            "unknown topic `{}` (topics: {})",
            topic.get_ref(),
            known.join(", ")
        );
        Err(ctx.err(topic.span(), field, why))
    }

    /// The client's `start_ms`, if given, must fall inside the run.
    pub(super) fn start(
        &self,
        ctx: &Ctx<'_>,
        start: &Option<Spanned<u64>>,
        field: String,
    ) -> Result<(), ScenarioError> {
        match start {
            Some(start) if *start.get_ref() >= self.duration_ms => Err(ctx.err(
                start.span(),
                field,
                format!(
                    "starts at or after the end of the run ({} ms)",
                    self.duration_ms
                ),
            )),
            _ => Ok(()),
        }
    }
}

/// `[[producers]]`.
pub(super) fn producers(
    ctx: &Ctx<'_>,
    raw: &[FileProducer],
    nodes: &Nodes,
    bounds: &Bounds<'_>,
) -> Result<Vec<ProducerSpec>, ScenarioError> {
    let mut producers = Vec::new();
    for (i, p) in raw.iter().enumerate() {
        let field = format!("producers[{i}]");
        bounds.topic(ctx, &p.topic, format!("{field}.topic"))?;
        bounds.start(ctx, &p.start_ms, format!("{field}.start_ms"))?;
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
            bootstrap_servers: nodes.broker_addresses(),
            client_id: p.name.get_ref().clone(),
            ..ProducerConfig::default()
        };
        if let Some((value, span, pfield)) = properties::apply(ctx, &p.config, &field, &mut config)?
        {
            config.bootstrap_servers = nodes.bootstrap(ctx, value, span, &pfield)?;
        }
        // Kafka's ConfigException: the producer never starts. The entry is at fault as a whole.
        validate::producer(&config).map_err(|conflict| {
            let pfield = format!("{field}.config.{}", conflict.property);
            ctx.err(p.name.span(), pfield, conflict.message)
        })?;
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
    Ok(producers)
}

/// `[[consumers]]`.
pub(super) fn consumers(
    ctx: &Ctx<'_>,
    raw: &[FileConsumer],
    nodes: &Nodes,
    bounds: &Bounds<'_>,
) -> Result<Vec<ConsumerSpec>, ScenarioError> {
    let mut consumers = Vec::new();
    for (i, c) in raw.iter().enumerate() {
        let field = format!("consumers[{i}]");
        bounds.topic(ctx, &c.topic, format!("{field}.topic"))?;
        bounds.start(ctx, &c.start_ms, format!("{field}.start_ms"))?;
        let mut config = ConsumerConfig {
            bootstrap_servers: nodes.broker_addresses(),
            client_id: c.name.get_ref().clone(),
            ..ConsumerConfig::default()
        };
        if let Some((value, span, cfield)) = properties::apply(ctx, &c.config, &field, &mut config)?
        {
            config.bootstrap_servers = nodes.bootstrap(ctx, value, span, &cfield)?;
        }
        if let Some(commit) = &c.commit {
            config.application_commit = application_commit(ctx, commit, &field)?;
        }
        consumers.push(ConsumerSpec {
            name: c.name.get_ref().clone(),
            config,
            topic: c.topic.get_ref().clone(),
            start_ms: c.start_ms.as_ref().map_or(0, |s| *s.get_ref()),
        });
    }
    Ok(consumers)
}

/// A consumer's `commit`: what its application's code does after each poll.
fn application_commit(
    ctx: &Ctx<'_>,
    commit: &Spanned<String>,
    field: &str,
) -> Result<ApplicationCommit, ScenarioError> {
    match commit.get_ref().as_str() {
        "auto" => Ok(ApplicationCommit::Auto),
        "sync" => Ok(ApplicationCommit::Sync),
        "async" => Ok(ApplicationCommit::Async),
        other => Err(ctx.err(
            commit.span(),
            format!("{field}.commit"),
            format!("unknown commit `{other}` (auto: enable.auto.commit decides; sync: commitSync() after each poll; async: commitAsync() after each poll)"),
        )),
    }
}
