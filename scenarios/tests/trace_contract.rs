//! The trace is the whole contract: everything the checkers, the narration and the
//! visualizer read is in it, so
//! - replaying the lines after one snapshot gives exactly the next snapshot (every visible
//!   change of every node is traced);
//! - the replicas' logs replayed from the trace are the logs on the brokers at the end;
//! - a trace written to a file and read back is judged exactly as the run was.
//!
//! Each is checked for every built-in scenario at three seeds.

use kafkasim_core::actor::Actor;
use kafkasim_core::log::batch::batches;
use kafkasim_core::time::Instant;
use kafkasim_scenarios::catalog;
use kafkasim_scenarios::format::parse;
use kafkasim_scenarios::harness::{self, RunOptions, judge};
use kafkasim_scenarios::logs::Logs;
use kafkasim_scenarios::model::Scenario;
use kafkasim_scenarios::trace::{self, Header, Kind, Line};
use kafkasim_scenarios::view::WorldView;
use kafkasim_sim::World;
use kafkasim_sim::trace::TraceMode;
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

const SEEDS: [u64; 3] = [1, 2, 3];

fn builtins() -> Vec<Scenario> {
    catalog::BUILTIN
        .iter()
        .map(|(name, text)| parse(name, text).expect("built-in scenarios parse"))
        .collect()
}

/// Run `scenario` as the harness does, keeping the world to look inside it afterwards.
fn run_world(scenario: &Scenario, seed: u64) -> (Header, World<Actor>) {
    let mut world = harness::build(scenario, seed, TraceMode::Record, None);
    let header = Header::of(scenario, seed);
    world.run_until(Instant::from_millis(scenario.duration_ms));
    world.snapshot();
    (header, world)
}

/// The first difference between two snapshots' nodes, in words.
fn first_difference(expected: &WorldView, actual: &WorldView) -> String {
    for (e, a) in expected.nodes.iter().zip(&actual.nodes) {
        if e != a {
            return format!("node {}:\n  snapshot: {:?}\n  replayed: {:?}", e.node, e, a);
        }
    }
    if expected.cut != actual.cut {
        return format!("cut links: {:?} vs {:?}", expected.cut, actual.cut);
    }
    let differs: Vec<String> = expected
        .in_flight
        .iter()
        .filter(|(id, m)| actual.in_flight.get(*id) != Some(*m))
        .map(|(id, m)| format!("{m:?} vs {:?}", actual.in_flight.get(id)))
        .collect();
    format!(
        "messages in flight: {:?} vs {:?}; {differs:?}",
        expected.in_flight.keys().collect::<Vec<_>>(),
        actual.in_flight.keys().collect::<Vec<_>>()
    )
}

#[test]
fn replaying_from_a_snapshot_gives_the_next_snapshot() {
    for scenario in builtins() {
        for seed in SEEDS {
            let (header, world) = run_world(&scenario, seed);
            let lines: &[Line] = world.trace().events();
            let mut replayed: Option<WorldView> = None;
            let mut snapshots = 0;
            for (i, line) in lines.iter().enumerate() {
                if let Kind::Snapshot { snapshot } = &line.kind {
                    let taken = WorldView::from_snapshot(&header, line.time, snapshot);
                    if let Some(replayed) = &replayed {
                        assert!(
                            replayed.to_snapshot() == *snapshot,
                            "{} seed {seed}: line {i} at {}: replaying from the previous snapshot disagrees with this one: {}",
                            scenario.name,
                            line.time,
                            first_difference(&taken, replayed)
                        );
                    }
                    snapshots += 1;
                    replayed = Some(taken);
                } else if let Some(view) = replayed.as_mut() {
                    view.apply(line);
                }
            }
            assert!(
                snapshots as u64 >= scenario.duration_ms / harness::SNAPSHOT_INTERVAL_MS,
                "{}: a snapshot at least every {} ms",
                scenario.name,
                harness::SNAPSHOT_INTERVAL_MS
            );
        }
    }
}

/// Each broker's logs: partition → (offset, leader epoch, value) in offset order.
type AllLogs = BTreeMap<String, BTreeMap<String, Vec<(i64, i32, String)>>>;

/// Every up broker's logs, read from its memory.
fn logs_in_brokers(world: &World<Actor>) -> AllLogs {
    let mut all = BTreeMap::new();
    for id in world.nodes() {
        let Some(broker) = world.node(id).and_then(Actor::as_broker) else {
            continue;
        };
        let mut partitions = BTreeMap::new();
        for (tp, p) in broker.partitions() {
            let log = p.log();
            let bytes = log
                .read(log.log_start_offset(), usize::MAX)
                .unwrap_or_default();
            let mut records = Vec::new();
            for batch in batches(&bytes) {
                for (offset, r) in batch.records_with_offsets() {
                    let value = r
                        .value
                        .as_ref()
                        .map_or_else(String::new, |v| String::from_utf8_lossy(v).into_owned());
                    records.push((offset, batch.partition_leader_epoch, value));
                }
            }
            partitions.insert(tp.to_string(), records);
        }
        all.insert(world.name(id).to_string(), partitions);
    }
    all
}

#[test]
fn the_logs_replayed_from_the_trace_are_the_logs_on_the_brokers() {
    for scenario in builtins() {
        for seed in SEEDS {
            let (_, world) = run_world(&scenario, seed);
            let replayed: AllLogs = Logs::replay(world.trace().events())
                .final_logs()
                .into_iter()
                .map(|(node, partitions)| {
                    let partitions = partitions
                        .into_iter()
                        .map(|(tp, log)| {
                            let records = log
                                .into_iter()
                                .map(|(o, r)| (o, r.leader_epoch, r.value))
                                .collect();
                            (tp.to_string(), records)
                        })
                        .collect();
                    (node, partitions)
                })
                .collect();
            let actual = logs_in_brokers(&world);
            for (node, partitions) in &actual {
                for (tp, records) in partitions {
                    let from_trace = replayed.get(node).and_then(|p| p.get(tp));
                    assert_eq!(
                        from_trace.map(Vec::as_slice).unwrap_or_default(),
                        records.as_slice(),
                        "{} seed {seed}: {node} {tp}",
                        scenario.name
                    );
                }
            }
        }
    }
}

/// A `Write` whose bytes the test can read back.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("not poisoned").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_saved_trace_is_judged_as_the_run_was() {
    for scenario in builtins() {
        for seed in SEEDS {
            let file = Shared::default();
            let options = RunOptions {
                seed,
                trace: Some(Box::new(file.clone())),
            };
            let report = harness::run(&scenario, options).expect("runs");
            let bytes = file.0.lock().expect("not poisoned").clone();
            let saved = trace::read(bytes.as_slice()).expect("the trace reads back");
            let judged = judge(&saved.header, &saved.lines);
            assert_eq!(
                judged.verdicts, report.verdicts,
                "{} seed {seed}: verdicts from the saved trace",
                scenario.name
            );
            assert_eq!(
                judged.summary, report.summary,
                "{} seed {seed}: summary from the saved trace",
                scenario.name
            );
            assert_eq!(
                kafkasim_sim::trace::hash_hex(&bytes),
                report.trace_hash,
                "{} seed {seed}: the file is the whole trace the run hashed",
                scenario.name
            );
        }
    }
}
