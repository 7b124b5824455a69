//! Schema evolution through the registry, judged from the trace of `schema-evolution`.
//!
//! Reference: Confluent Schema Registry's compatibility rules (a BACKWARD subject accepts a
//! new field with a default and refuses a type Avro cannot promote, such as int to string)
//! and its wire format; Kafka Connect's task lifecycle (a converter error fails the task, an
//! operator's restart starts it from its committed offsets).

use kafkasim_core::actor::Event;
use kafkasim_core::connect::source;
use kafkasim_core::registry::compatibility::Compatibility;
use kafkasim_core::registry::server;
use kafkasim_scenarios::trace::Line;
use kafkasim_sim::trace::TraceKind;
use kafkasim_tests::simulate_builtin;

fn events(lines: &[Line]) -> impl Iterator<Item = (&Line, &Event)> {
    lines.iter().filter_map(|l| match &l.kind {
        TraceKind::Node { event } => Some((l, event)),
        _ => None,
    })
}

/// The compatible change gets version 2 under BACKWARD; the type change is refused with the
/// registry's reason and fails the source task, which writes nothing framed with it; after
/// the operator's NONE and restart, version 3 — and every acknowledged event names an id
/// given for its subject.
#[test]
fn a_compatible_change_flows_and_an_incompatible_one_is_refused() {
    for seed in [1, 2, 3] {
        let sim = simulate_builtin("schema-evolution", seed);
        let lines = sim.lines();
        let registered: Vec<(usize, Compatibility)> = events(lines)
            .filter_map(|(_, e)| match e {
                Event::Registry(server::Event::Registered {
                    version,
                    compatibility,
                    new: true,
                    ..
                }) => Some((*version, *compatibility)),
                _ => None,
            })
            .collect();
        assert_eq!(
            registered,
            [
                (1, Compatibility::Backward),
                (2, Compatibility::Backward),
                (3, Compatibility::None)
            ],
            "seed {seed}"
        );
        let refused: Vec<&str> = events(lines)
            .filter_map(|(_, e)| match e {
                Event::Registry(server::Event::Refused { reason, .. }) => Some(reason.as_str()),
                _ => None,
            })
            .collect();
        assert!(
            !refused.is_empty(),
            "seed {seed}: the type change is refused"
        );
        assert!(
            refused
                .iter()
                .all(|r| r.contains("TYPE_MISMATCH") && r.contains("'amount'")),
            "seed {seed}: {refused:?}"
        );
        let failed_at = events(lines).find_map(|(l, e)| match e {
            Event::Source(source::Event::TaskFailed { reason }) => {
                assert!(reason.contains("error code: 409"), "{reason}");
                Some(l.time)
            }
            _ => None,
        });
        let restarted_at = events(lines).find_map(|(l, e)| {
            matches!(e, Event::Source(source::Event::Restarted)).then_some(l.time)
        });
        let (failed_at, restarted_at) = (failed_at.unwrap(), restarted_at.unwrap());
        let framed_between: Vec<i32> = events(lines)
            .filter(|(l, _)| l.time > failed_at && l.time < restarted_at)
            .filter_map(|(_, e)| match e {
                Event::Source(source::Event::Acked(a)) => a.schema_id,
                _ => None,
            })
            .filter(|id| *id == 3)
            .collect();
        assert!(
            framed_between.is_empty(),
            "seed {seed}: nothing of the refused schema reached Kafka while the task was failed"
        );
        let report = sim.report();
        assert!(
            report.passed(),
            "seed {seed}: the expectations of schema-evolution"
        );
    }
}

use kafkasim_scenarios::model::{FaultAction, Scenario, ScheduledFault};
use kafkasim_scenarios::nemesis::{self, HealPhase, NemesisSpec, Timing, Victims, names};
use kafkasim_scenarios::{catalog, format};
use kafkasim_tests::property::{self, Case, FAST_FAILOVER, FAST_SINK_CONSUMER, Property};
use proptest::prelude::*;

/// `schema-evolution` with the timeouts of `connector-crash-resume` (a dead broker fenced in
/// 3 s, a dead sink task out of its group in 6 s), long enough to settle after the
/// operator's actions, its own faults (the operator's) kept.
fn evolving() -> Scenario {
    let text = catalog::find("schema-evolution").expect("built-in");
    let sink = (
        "\"tasks.max\" = 2\n",
        &*format!("\"tasks.max\" = 2\n{FAST_SINK_CONSUMER}"),
    );
    let mut edits = FAST_FAILOVER.to_vec();
    edits.push(sink);
    let text = property::edited(text, &edits);
    let mut scenario = format::parse("builtin:schema-evolution", &text).expect("parses");
    scenario.duration_ms = 30_000;
    scenario
}

/// Faults on every node of the pipeline — the registry too — until 12 s, then a heal phase;
/// the operator's NONE and restart at 14 s and 14.5 s stay.
fn evolving_spec() -> NemesisSpec {
    let brokers = names(&["broker-1", "broker-2", "broker-3"]);
    let source = names(&["shop-source-0"]);
    let sinks = names(&["warehouse-0", "warehouse-1"]);
    let db = names(&["db-1"]);
    let registry = names(&["registry-1"]);
    let bounce = property::bounce;
    let mut restart = brokers.clone();
    restart.extend(
        source
            .iter()
            .chain(&sinks)
            .chain(&db)
            .chain(&registry)
            .cloned(),
    );
    NemesisSpec {
        window_ms: 1500..12_000,
        faults: 1..=5,
        timing: Timing::Scattered,
        victims: Victims::AtRandom,
        menu: vec![
            bounce(&source, 3),
            bounce(&db, 2),
            bounce(&brokers, 3),
            bounce(&sinks, 2),
            bounce(&registry, 2),
        ],
        heal: Some(HealPhase {
            at_ms: 12_500,
            restart,
        }),
    }
}

const EVOLVING_CHECKERS: &[&str] = &[
    "warehouse-converges",
    "lost-change",
    "aborted-downstream",
    "key-order",
    "lost-commit",
    "db-state",
    "schema-compatible",
    "schema-registered",
];

/// The nemesis's faults, then the scenario's own (the operator's actions).
fn with_operator(scenario: &Scenario, faults: &[ScheduledFault]) -> Vec<ScheduledFault> {
    let operator = scenario.faults.iter().filter(|f| {
        matches!(
            f.action,
            FaultAction::SetCompatibility { .. } | FaultAction::RestartTask { .. }
        )
    });
    let mut all: Vec<ScheduledFault> = faults.iter().chain(operator).cloned().collect();
    all.sort_by_key(|f| f.at_ms);
    all
}

/// Through crashes of every node — the registry's too — the schemas registered stay
/// compatible, every framed event names a registered id, and the warehouse converges to the
/// source with its evolved columns.
#[test]
fn schemas_and_the_warehouse_hold_under_faults() {
    let property = Property {
        file: file!(),
        name: "schemas_and_the_warehouse_hold_under_faults",
        cases: 120,
    };
    let scenario = evolving();
    property::check(property, property::cases(&evolving_spec()), &[], |case| {
        let Case { seed, faults } = case;
        let faults = with_operator(&scenario, faults);
        let report = property::run_case(&scenario, *seed, &faults);
        let found = property::violations(&report, EVOLVING_CHECKERS);
        prop_assert!(
            found.is_empty(),
            "seed {seed}\nfaults: {}\n{found:#?}",
            nemesis::format_schedule(&faults)
        );
        Ok(())
    });
}

/// The schedules do what they claim: across a sample, the registry restarts and reads its
/// log back, the source restarts from its offsets, and the sink group rebalances.
#[test]
fn the_evolving_schedules_exercise_every_failure() {
    let (spec, scenario) = (evolving_spec(), evolving());
    let mut seen = [false; 3];
    for seed in 0..40u64 {
        let faults = with_operator(&scenario, &nemesis::schedule(&spec, seed));
        let report = property::run_case(&scenario, seed, &faults);
        let has = |needle: &str| report.timeline.iter().any(|l| l.contains(needle));
        seen[0] |= has("registry-1 restarts");
        seen[1] |= has("shop-source-0 starts from its offsets file");
        seen[2] |= has("connect-warehouse) starts generation 2");
    }
    assert_eq!(
        seen, [true; 3],
        "registry restart, source restart, rebalance"
    );
}
