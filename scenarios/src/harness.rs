//! Runs a [`Scenario`] on the simulated world and judges it.
//!
//! The harness builds the cluster (controllers, brokers, producers, then consumers: node ids
//! follow that order, which the parser relies on for `bootstrap.servers`), turns the workload
//! into client commands and the fault list into scheduled faults, runs the world to the
//! scenario's end with snapshots along the way, then judges the run from its trace alone
//! ([`judge`]): a saved trace read back gives the same history, verdicts and summary.

use crate::checkers::history::History;
use crate::checkers::{self};
use crate::model::{Expectations, FaultAction, Scenario};
use crate::narrate;
use crate::trace::{Header, Line};
use crate::view::{Reducer, WorldView};
use kafkasim_core::actor::{Actor, ActorConfig, Command};
use kafkasim_core::client::{consumer, producer};
use kafkasim_core::connect::source;
use kafkasim_core::database;
use kafkasim_core::ids::NodeId;
use kafkasim_core::registry::server as registry;
use kafkasim_core::time::{Duration, Instant};
use kafkasim_sim::World;
use kafkasim_sim::faults::Fault;
use kafkasim_sim::trace::TraceMode;
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

pub use crate::trace::ENGINE;

/// Build the world for `scenario` with `seed`: the trace's header first (written to `trace`
/// too, if given), then every node started, a first snapshot, every command and fault
/// scheduled, and a snapshot every [`SNAPSHOT_INTERVAL_MS`] from then on.
pub fn build(
    scenario: &Scenario,
    seed: u64,
    mode: TraceMode,
    trace: Option<Box<dyn Write>>,
) -> World<Actor> {
    let mut world: World<Actor> = World::new(seed, scenario.world, mode);
    if let Some(writer) = trace {
        world.trace_mut().write_to(writer);
    }
    world.trace_mut().header(&Header::of(scenario, seed));
    world.snapshot_every(Duration::from_millis(SNAPSHOT_INTERVAL_MS));
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
    for d in &scenario.databases {
        world.add_node(&d.name, ActorConfig::Database(d.config.clone()));
    }
    for r in &scenario.registries {
        world.add_node(&r.name, ActorConfig::Registry(r.config.clone()));
    }
    for c in &scenario.connectors {
        world.add_node(&c.name, c.actor_config());
    }
    for s in &scenario.stages {
        world.add_node(&s.name, ActorConfig::Stage(Box::new(s.config.clone())));
    }
    let ids: Vec<NodeId> = world.nodes().collect();
    for id in ids {
        world.start(id);
    }
    world.snapshot();
    for d in &scenario.databases {
        let node = world.node_id(&d.name).expect("database added above");
        let readers = d.slot_readers.iter().flat_map(|r| {
            (r.start_ms..=scenario.duration_ms)
                .step_by(r.poll_ms as usize)
                .map(|at_ms| {
                    let slot = r.slot.clone();
                    (at_ms, database::Command::GetChanges { slot })
                })
        });
        for (at_ms, command) in crate::workload::transactions(d, seed)
            .into_iter()
            .chain(readers)
        {
            world.schedule_command(
                Instant::from_millis(at_ms),
                node,
                Command::Database(command),
            );
        }
    }
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
            let command = producer::Command::Send {
                record_id,
                topic: w.topic.clone(),
                key,
                value: Some(value),
                schema_id: None,
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
            FaultAction::Shutdown { node } => Fault::Shutdown { node: id(node) },
            FaultAction::Restart { node } => Fault::Restart { node: id(node) },
            FaultAction::Partition { from, to, two_way } => Fault::Partition {
                from: id(from),
                to: id(to),
                two_way: *two_way,
            },
            FaultAction::Heal => Fault::HealAll,
            FaultAction::ResetConnection { a, b } => Fault::ResetConnection { a: id(a), b: id(b) },
            FaultAction::SeekToBeginning { node } => {
                let command = Command::Consumer(consumer::Command::SeekToBeginning);
                world.schedule_command(Instant::from_millis(f.at_ms), id(node), command);
                continue;
            }
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
            FaultAction::Promote { node } => {
                let promote = Command::Database(database::Command::Promote);
                world.schedule_command(Instant::from_millis(f.at_ms), id(node), promote);
                continue;
            }
            FaultAction::RestartTask { node } => {
                let restart = Command::Source(source::Command::Restart);
                world.schedule_command(Instant::from_millis(f.at_ms), id(node), restart);
                continue;
            }
            FaultAction::SetCompatibility {
                node,
                subject,
                compatibility,
            } => {
                let set = Command::Registry(registry::Command::SetCompatibility {
                    subject: subject.clone(),
                    compatibility: *compatibility,
                });
                world.schedule_command(Instant::from_millis(f.at_ms), id(node), set);
                continue;
            }
        };
        world.schedule_fault(Instant::from_millis(f.at_ms), fault);
    }
    world
}

/// How often the trace gets a snapshot of the whole world (and after every fault): seeking
/// replays at most this much simulated time.
pub const SNAPSHOT_INTERVAL_MS: u64 = 1000;

/// A finished run: what was run, and the world as the run left it, trace included.
pub struct Simulation {
    /// The trace's header.
    pub header: Header,
    /// The world, stopped at the scenario's end.
    pub world: World<Actor>,
    /// Parameters of the run, some derived from the seed.
    pub parameters: Vec<String>,
}

impl Simulation {
    /// The run's trace lines.
    pub fn lines(&self) -> &[Line] {
        self.world.trace().events()
    }

    /// The world's visible state at the end of simulated time `time`.
    pub fn at(&self, time: Instant) -> Option<WorldView> {
        Reducer::new(&self.header, self.lines()).at_time(time)
    }

    /// Judge the run and narrate it.
    pub fn report(&self) -> RunReport {
        let lines = self.lines();
        let judged = judge(&self.header, lines);
        RunReport {
            parameters: self.parameters.clone(),
            timeline: narrate::timeline(lines),
            summary: judged.summary,
            verdicts: judged.verdicts,
            events: self.world.events_processed(),
            trace_hash: self.world.trace().hash_hex(),
            history: judged.history,
        }
    }
}

/// Run `scenario` to its end, keeping the trace. Errors are IO errors writing the trace.
pub fn simulate(scenario: &Scenario, options: RunOptions) -> std::io::Result<Simulation> {
    let mut world = build(scenario, options.seed, TraceMode::Record, options.trace);
    let header = Header::of(scenario, options.seed);
    world.run_until(Instant::from_millis(scenario.duration_ms));
    world.snapshot();
    world.trace_mut().finish()?;
    Ok(Simulation {
        parameters: narrate::parameters(scenario, &world),
        header,
        world,
    })
}

/// Run `scenario` and judge it. Errors are IO errors writing the trace.
pub fn run(scenario: &Scenario, options: RunOptions) -> std::io::Result<RunReport> {
    Ok(simulate(scenario, options)?.report())
}

/// What a run's trace says of it: the history, each checker's verdict, the summary.
#[derive(Clone, Debug)]
pub struct Judgement {
    /// The history the checkers judged.
    pub history: History,
    /// Verdicts of every checker.
    pub verdicts: Vec<Verdict>,
    /// The summary, in Kafka's terms.
    pub summary: Vec<String>,
}

/// Judge a run from its trace alone — the run just made, or a trace saved by
/// `kafkasim run --trace` and read back (`kafkasim check`): the same lines give the same
/// verdicts.
pub fn judge(header: &Header, lines: &[Line]) -> Judgement {
    let history = History::from_trace(header, lines);
    let verdicts = checkers::CHECKERS
        .iter()
        .map(|c| Verdict {
            checker: c.name.to_string(),
            expectation: expectation(&header.expect, c.name),
            findings: (c.check)(&history),
        })
        .collect();
    let mut summary = narrate::summary(header, &history, lines);
    if header.replicated()
        && let Some(end) = Reducer::new(header, lines).at_end()
    {
        summary.extend(narrate::replicas(&end));
    }
    Judgement {
        history,
        verdicts,
        summary,
    }
}

/// What `expect` says of `checker`: `Some(true)` its anomaly must appear, `Some(false)` it
/// must not, `None` it is not judged.
fn expectation(expect: &Expectations, checker: &str) -> Option<bool> {
    if expect.anomalies.iter().any(|a| a == checker) {
        Some(true)
    } else if expect.hold.iter().any(|a| a == checker) {
        Some(false)
    } else {
        None
    }
}
