//! The cluster's sections: `[network]` and `[disk]`, `[[topics]]`, `[[controllers]]` and
//! `[[brokers]]`.
//!
//! Servers are configured in two steps: Kafka's defaults and what the scenario implies
//! (`node.id`s numbered in file order, the quorum's voters, the topics to create, the
//! controllers' cluster-wide `min.insync.replicas`), then the entry's own `config` table by
//! Kafka's property names, which may override any of it.

use super::file::{FileBroker, FileConsumer, FileController, FileDisk, FileNetwork, FileTopic};
use super::nodes::Nodes;
use super::{Ctx, properties};
use crate::error::ScenarioError;
use crate::model::{BrokerSpec, ControllerSpec};
use kafkasim_core::config::node_ids::{self, NodeIds};
use kafkasim_core::config::{
    BrokerConfig, MIN_INSYNC_REPLICAS, TopicConfig, TopicSpec, internal_topics, validate,
};
use kafkasim_core::controller::ControllerConfig;
use kafkasim_core::ids::NodeId;
use kafkasim_core::time::Duration;
use kafkasim_sim::WorldConfig;
use kafkasim_sim::disk::DiskConfig;
use kafkasim_sim::network::NetworkConfig;
use std::collections::BTreeMap;
use toml::Spanned;

/// `[network]` and `[disk]`: the simulated world, the simulator's defaults where unsaid.
pub(super) fn world(
    ctx: &Ctx<'_>,
    network: Option<&FileNetwork>,
    disk: Option<&FileDisk>,
) -> Result<WorldConfig, ScenarioError> {
    let mut world = WorldConfig::default();
    if let Some(n) = network {
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
    if let Some(d) = disk {
        let mut config = DiskConfig::default();
        if let Some(v) = d.fsync_latency_us {
            config.fsync_latency = Duration::from_micros(v);
        }
        if let Some(v) = d.torn_writes {
            config.torn_writes = v;
        }
        world.disk = config;
    }
    Ok(world)
}

/// `[[topics]]`: the scenario's own topics. A replicated topic needs as many brokers, and a
/// controller to place its replicas.
pub(super) fn topics(
    ctx: &Ctx<'_>,
    raw: &[FileTopic],
    brokers: usize,
    has_controllers: bool,
) -> Result<Vec<TopicSpec>, ScenarioError> {
    let mut topics: Vec<TopicSpec> = Vec::new();
    for (i, t) in raw.iter().enumerate() {
        let field = format!("topics[{i}]");
        let name = t.name.get_ref().clone();
        if topics.iter().any(|x| x.name == name) {
            return Err(ctx.err(
                t.name.span(),
                format!("{field}.name"),
                format!("topic `{name}` is defined twice"),
            ));
        }
        if name.is_empty() || name.starts_with("__") {
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
                let brokers = brokers as i64;
                let field = format!("{field}.replication_factor");
                if !(1..=brokers.max(1)).contains(rf.get_ref()) {
                    let why = format!("must be between 1 and the number of brokers ({brokers})");
                    return Err(ctx.err(rf.span(), field, why));
                }
                if *rf.get_ref() > 1 && !has_controllers {
                    let why = "replicated topics need a controller: add a [[controllers]] entry";
                    return Err(ctx.err(rf.span(), field, why));
                }
                *rf.get_ref() as i32
            }
        };
        let mut config = TopicConfig::default();
        properties::apply_server(ctx, &t.config, &field, &mut config)?;
        topics.push(TopicSpec {
            name,
            partitions: partitions as i32,
            replication_factor,
            config,
        });
    }
    Ok(topics)
}

/// `[[brokers]]` must have an entry: a cluster without brokers has nothing to run.
pub(super) fn require_brokers<'f>(
    ctx: &Ctx<'_>,
    brokers: Option<&'f Spanned<Vec<FileBroker>>>,
) -> Result<&'f Spanned<Vec<FileBroker>>, ScenarioError> {
    brokers.filter(|b| !b.get_ref().is_empty()).ok_or_else(|| {
        ctx.err(
            0..0,
            "brokers",
            "a scenario needs at least one [[brokers]] entry",
        )
    })
}

/// Every topic the cluster creates: the scenario's, then `__consumer_offsets` with Kafka's
/// defaults if a consumer (or a sink task) is in a group (Kafka creates it on a group's
/// first request).
pub(super) fn with_internal_topics(
    topics: &[TopicSpec],
    consumers: &[FileConsumer],
    group_members: bool,
    brokers: usize,
) -> Vec<TopicSpec> {
    let mut all = topics.to_vec();
    if group_members || consumers.iter().any(|c| c.config.sets("group.id")) {
        all.push(internal_topics::consumer_offsets(brokers));
    }
    all
}

/// `[[controllers]]`: the KRaft quorum. Each controller learns every voter (`node.id` →
/// address) once all are known, so the quorum is the same from every member's point of view.
pub(super) fn controllers(
    ctx: &Ctx<'_>,
    raw: &[FileController],
    nodes: &Nodes,
    topics: &[TopicSpec],
    ids: &mut NodeIds,
) -> Result<Vec<ControllerSpec>, ScenarioError> {
    let mut controllers: Vec<ControllerSpec> = Vec::new();
    for (i, c) in raw.iter().enumerate() {
        let mut config = ControllerConfig::new(node_ids::controller_node_id(i), topics.to_vec());
        let field = format!("controllers[{i}]");
        properties::apply_server(ctx, &c.config, &field, &mut config)?;
        ids.claim(config.quorum.node_id)
            .map_err(|e| ctx.err(0..0, format!("{field}.config.node.id"), e.to_string()))?;
        controllers.push(ControllerSpec {
            name: nodes.controller(i).to_string(),
            config,
        });
    }
    let voters = voters(&controllers, nodes);
    for c in &mut controllers {
        c.config.quorum.voters = voters.clone();
    }
    Ok(controllers)
}

/// `controller.quorum.voters`: each controller's `node.id` and address.
pub(super) fn voters(controllers: &[ControllerSpec], nodes: &Nodes) -> BTreeMap<i32, NodeId> {
    controllers
        .iter()
        .enumerate()
        .map(|(i, c)| (c.config.quorum.node_id, nodes.controller_address(i)))
        .collect()
}

/// `[[brokers]]`. With controllers, a broker joins the quorum's metadata and the active
/// controller creates the topics; without, each broker hosts every topic alone (static mode).
pub(super) fn brokers(
    ctx: &Ctx<'_>,
    raw: &Spanned<Vec<FileBroker>>,
    nodes: &Nodes,
    topics: &[TopicSpec],
    controllers: &[ControllerSpec],
    ids: &mut NodeIds,
) -> Result<Vec<BrokerSpec>, ScenarioError> {
    let voters = &voters(controllers, nodes);
    let mut brokers = Vec::new();
    for (i, b) in raw.get_ref().iter().enumerate() {
        let mut config = BrokerConfig {
            node_id: node_ids::broker_node_id(i),
            topics: if voters.is_empty() {
                topics.to_vec()
            } else {
                Vec::new()
            },
            controller_quorum_voters: voters.clone(),
            // The cluster's value unless the broker says otherwise (see `ignored_min_isr`).
            min_insync_replicas: controllers
                .first()
                .map_or(1, |c| c.config.min_insync_replicas),
            ..BrokerConfig::default()
        };
        let field = format!("brokers[{i}]");
        properties::apply_server(ctx, &b.config, &field, &mut config)?;
        // Kafka's ConfigException: the broker never starts.
        validate::broker(&config).map_err(|conflict| {
            let bfield = format!("{field}.config.{}", conflict.property);
            let at = b.name.as_ref().map_or(raw.span(), Spanned::span);
            ctx.err(at, bfield, conflict.message)
        })?;
        ids.claim(config.node_id)
            .map_err(|e| ctx.err(raw.span(), format!("{field}.config.node.id"), e.to_string()))?;
        if b.config.sets(MIN_INSYNC_REPLICAS)
            && let Some(why) = ignored_min_isr(&config, controllers)
        {
            let at = b.name.as_ref().map_or(raw.span(), Spanned::span);
            return Err(ctx.err(at, format!("{field}.config.min.insync.replicas"), why));
        }
        brokers.push(BrokerSpec {
            name: nodes.brokers()[i].clone(),
            config,
        });
    }
    Ok(brokers)
}

/// Why a broker's own `min.insync.replicas` would be silently ignored, if it would: with
/// eligible leader replicas on (Kafka 4.1's default) the cluster-wide value the controllers
/// write to the metadata log applies, not each broker's — Kafka 4 even removes broker-level
/// overrides. A broker value that differs from it is a mistake worth stopping for.
fn ignored_min_isr(broker: &BrokerConfig, controllers: &[ControllerSpec]) -> Option<String> {
    let c = &controllers.first()?.config;
    let (mine, cluster) = (broker.min_insync_replicas, c.min_insync_replicas);
    (!c.legacy_pre_kip966 && mine != cluster).then(|| {
        format!(
            "is {mine}, but with eligible leader replicas (Kafka 4.1's default) the cluster-wide \
             value applies, which the controllers set ({cluster}): set min.insync.replicas = \
             {mine} in the [[controllers]] config (or per topic in [topics.config])"
        )
    })
}
