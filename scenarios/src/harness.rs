//! Runs a [`Scenario`] on the simulated world and judges it.
//!
//! The harness builds the cluster (brokers first, then producers, then consumers: node ids
//! follow that order, which the parser relies on for `bootstrap.servers`), turns the workload
//! into client commands and the fault list into scheduled faults, runs the world to the
//! scenario's end, then reads the trace back into a [`History`] for the checkers and the
//! narrated report.

use crate::checkers::history::{History, Sent};
use crate::checkers::{self};
use crate::model::{FaultAction, Scenario};
use crate::narrate;
use kafkasim_core::actor::{Actor, ActorConfig, Command};
use kafkasim_core::client::{consumer, producer};
use kafkasim_core::ids::{NodeId, TopicPartition};
use kafkasim_core::log::batch::batches;
use kafkasim_core::time::Instant;
use kafkasim_sim::World;
use kafkasim_sim::faults::Fault;
use kafkasim_sim::trace::{TRACE_VERSION, TraceMode};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;

/// How to run.
pub struct RunOptions {
    /// The run's seed.
    pub seed: u64,
    /// Where to write the trace as JSON Lines, if anywhere.
    pub trace: Option<Box<dyn Write>>,
}

/// A checker's verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// The checker's name.
    pub checker: String,
    /// What the scenario expects: `Some(true)` the anomaly must appear, `Some(false)` it must
    /// not, `None` not judged (reported for information).
    pub expectation: Option<bool>,
    /// What it found (empty: nothing).
    pub findings: Vec<String>,
}

impl Verdict {
    /// Whether the finding matches the expectation.
    pub fn ok(&self) -> bool {
        match self.expectation {
            Some(true) => !self.findings.is_empty(),
            Some(false) => self.findings.is_empty(),
            None => true,
        }
    }
}

/// What a run produced.
#[derive(Clone, Debug)]
pub struct RunReport {
    /// Parameters of the run, some derived from the seed, printed before anything else.
    pub parameters: Vec<String>,
    /// The narrated timeline, one line per notable event.
    pub timeline: Vec<String>,
    /// The summary, in Kafka's terms.
    pub summary: Vec<String>,
    /// Verdicts of every checker.
    pub verdicts: Vec<Verdict>,
    /// Events processed by the simulator.
    pub events: u64,
    /// The trace hash (64 hex digits).
    pub trace_hash: String,
    /// The history the checkers judged.
    pub history: History,
}

impl RunReport {
    /// Whether every verdict matched the scenario's expectations.
    pub fn passed(&self) -> bool {
        self.verdicts.iter().all(Verdict::ok)
    }
}

/// The first line of every trace.
#[derive(Serialize)]
struct Header<'a> {
    trace_version: u32,
    engine: &'a str,
    scenario: &'a str,
    seed: u64,
    nodes: Vec<&'a str>,
}

/// The engine's name and version, part of every trace header (and so of every hash).
pub const ENGINE: &str = concat!("kafkasim ", env!("CARGO_PKG_VERSION"));

/// Build the world for `scenario` with `seed`, with every node started and every command and
/// fault scheduled; also returns the history's send table.
pub fn build(
    scenario: &Scenario,
    seed: u64,
    mode: TraceMode,
) -> (World<Actor>, BTreeMap<u64, Sent>) {
    let mut world: World<Actor> = World::new(seed, scenario.world, mode);
    for c in &scenario.controllers {
        world.add_node(&c.name, ActorConfig::Controller(c.config.clone()));
    }
    for b in &scenario.brokers {
        world.add_node(&b.name, ActorConfig::Broker(b.config.clone()));
    }
    for p in &scenario.producers {
        world.add_node(&p.name, ActorConfig::Producer(p.config.clone()));
    }
    for c in &scenario.consumers {
        world.add_node(&c.name, ActorConfig::Consumer(c.config.clone()));
    }
    let ids: Vec<NodeId> = world.nodes().collect();
    for id in ids {
        world.start(id);
    }
    let mut sent = BTreeMap::new();
    let mut record_id = 0u64;
    for p in &scenario.producers {
        let node = world.node_id(&p.name).expect("producer added above");
        let w = &p.workload;
        for i in 0..w.records {
            let time = Instant::from_millis(w.start_ms + i * w.interval_ms);
            let mut value = format!("{}-{i}", p.name);
            while value.len() < w.value_bytes {
                value.push('.');
            }
            let key = w.keys.map(|k| format!("k{}", i % k.max(1)));
            sent.insert(
                record_id,
                Sent {
                    producer: p.name.clone(),
                    value: value.clone(),
                    time,
                },
            );
            let command = producer::Command::Send {
                record_id,
                topic: w.topic.clone(),
                key,
                value,
            };
            world.schedule_command(time, node, Command::Producer(command));
            record_id += 1;
        }
    }
    for c in &scenario.consumers {
        let node = world.node_id(&c.name).expect("consumer added above");
        let command = || {
            let topic = c.topic.clone();
            Command::Consumer(if c.config.group_id.is_some() {
                consumer::Command::Subscribe { topic }
            } else {
                consumer::Command::Assign { topic }
            })
        };
        world.schedule_command(Instant::from_millis(c.start_ms), node, command());
        // An application restarted after a crash subscribes (or assigns) again.
        for f in &scenario.faults {
            if matches!(&f.action, FaultAction::Restart { node } if *node == c.name)
                && f.at_ms >= c.start_ms
            {
                world.schedule_command(Instant::from_millis(f.at_ms + 1), node, command());
            }
        }
    }
    let ids: BTreeMap<String, NodeId> = world
        .nodes()
        .map(|n| (world.name(n).to_string(), n))
        .collect();
    let id = |name: &str| ids[name];
    for f in &scenario.faults {
        let fault = match &f.action {
            FaultAction::ProcessCrash { node } => Fault::ProcessCrash { node: id(node) },
            FaultAction::PowerLoss { node } => Fault::PowerLoss { node: id(node) },
            // Every *server* loses power: a data-centre outage. Clients run elsewhere.
            FaultAction::PowerLossAll => {
                let servers: Vec<String> = scenario
                    .controllers
                    .iter()
                    .map(|c| c.name.clone())
                    .chain(scenario.brokers.iter().map(|b| b.name.clone()))
                    .collect();
                for name in servers {
                    let node = id(&name);
                    world.schedule_fault(Instant::from_millis(f.at_ms), Fault::PowerLoss { node });
                }
                continue;
            }
            FaultAction::Restart { node } => Fault::Restart { node: id(node) },
            FaultAction::Partition { from, to, two_way } => Fault::Partition {
                from: id(from),
                to: id(to),
                two_way: *two_way,
            },
            FaultAction::Heal => Fault::HealAll,
            FaultAction::ResetConnection { a, b } => Fault::ResetConnection { a: id(a), b: id(b) },
            FaultAction::StallPoll { node, duration_ms } => {
                let command = Command::Consumer(consumer::Command::StallPoll {
                    duration_ms: *duration_ms,
                });
                world.schedule_command(Instant::from_millis(f.at_ms), id(node), command);
                continue;
            }
            FaultAction::Close { node } => {
                let close = Command::Consumer(consumer::Command::Close);
                world.schedule_command(Instant::from_millis(f.at_ms), id(node), close);
                continue;
            }
        };
        world.schedule_fault(Instant::from_millis(f.at_ms), fault);
    }
    (world, sent)
}

/// A broker's logs, decoded: partition → offset → (leader epoch, value).
type DecodedLogs = BTreeMap<TopicPartition, BTreeMap<i64, (i32, String)>>;

/// Every broker's logs at the end of the run, by node name.
fn final_logs(world: &World<Actor>) -> BTreeMap<String, DecodedLogs> {
    let mut logs = BTreeMap::new();
    for id in world.nodes() {
        let Some(broker) = world.node(id).and_then(Actor::as_broker) else {
            continue;
        };
        let mut partitions = BTreeMap::new();
        for (tp, partition) in broker.partitions() {
            let log = partition.log();
            let mut records = BTreeMap::new();
            let bytes = log
                .read(log.log_start_offset(), usize::MAX)
                .unwrap_or_default();
            for batch in batches(&bytes) {
                for (offset, r) in batch.records_with_offsets() {
                    let value = r
                        .value
                        .as_ref()
                        .map_or_else(String::new, |v| String::from_utf8_lossy(v).into_owned());
                    records.insert(offset, (batch.partition_leader_epoch, value));
                }
            }
            partitions.insert(tp.clone(), records);
        }
        logs.insert(world.name(id).to_string(), partitions);
    }
    logs
}

/// Run `scenario`. Errors are IO errors writing the trace.
pub fn run(scenario: &Scenario, options: RunOptions) -> std::io::Result<RunReport> {
    let (mut world, sent) = build(scenario, options.seed, TraceMode::Record);
    if let Some(writer) = options.trace {
        world.trace_mut().write_to(writer);
    }
    let names: Vec<String> = world.nodes().map(|n| world.name(n).to_string()).collect();
    let header = Header {
        trace_version: TRACE_VERSION,
        engine: ENGINE,
        scenario: &scenario.name,
        seed: options.seed,
        nodes: names.iter().map(String::as_str).collect(),
    };
    world.trace_mut().header(&header);
    world.run_until(Instant::from_millis(scenario.duration_ms));
    world.trace_mut().finish()?;

    let mut history = History {
        sent,
        ..History::default()
    };
    history.absorb_trace(world.trace().events());
    let logs = final_logs(&world);
    history.final_logs = logs
        .iter()
        .map(|(node, parts)| {
            let values = parts
                .iter()
                .map(|(tp, records)| {
                    (
                        tp.clone(),
                        records.iter().map(|(o, (_, v))| (*o, v.clone())).collect(),
                    )
                })
                .collect();
            (node.clone(), values)
        })
        .collect();
    history.final_epochs = logs
        .iter()
        .map(|(node, parts)| {
            let epochs = parts
                .iter()
                .map(|(tp, records)| {
                    (
                        tp.clone(),
                        records.iter().map(|(o, (e, _))| (*o, *e)).collect(),
                    )
                })
                .collect();
            (node.clone(), epochs)
        })
        .collect();
    for id in world.nodes() {
        let Some(broker) = world.node(id).and_then(Actor::as_broker) else {
            continue;
        };
        let name = world.name(id).to_string();
        for (tp, p) in broker.partitions() {
            history
                .final_high_watermarks
                .entry(name.clone())
                .or_default()
                .insert(tp.clone(), p.high_watermark());
            if p.is_leader() {
                history.final_leaders.insert(tp.clone(), name.clone());
            }
        }
    }
    let acks_all: Vec<&str> = scenario
        .producers
        .iter()
        .filter(|p| p.config.acks == kafkasim_core::config::Acks::All)
        .map(|p| p.name.as_str())
        .collect();
    history.acks_all = history
        .sent
        .iter()
        .filter(|(_, s)| acks_all.contains(&s.producer.as_str()))
        .map(|(id, _)| *id)
        .collect();

    let verdicts = checkers::CHECKERS
        .iter()
        .map(|c| {
            let expectation = if scenario.expect.anomalies.iter().any(|a| a == c.name) {
                Some(true)
            } else if scenario.expect.hold.iter().any(|a| a == c.name) {
                Some(false)
            } else {
                None
            };
            Verdict {
                checker: c.name.to_string(),
                expectation,
                findings: (c.check)(&history),
            }
        })
        .collect();

    Ok(RunReport {
        parameters: narrate::parameters(scenario, &world),
        timeline: narrate::timeline(world.trace().events()),
        summary: {
            let mut lines = narrate::summary(scenario, &history, world.trace().events());
            if !scenario.controllers.is_empty() {
                lines.extend(narrate::replicas(&world));
            }
            lines
        },
        verdicts,
        events: world.events_processed(),
        trace_hash: world.trace().hash_hex(),
        history,
    })
}
