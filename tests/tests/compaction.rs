//! Log compaction under faults drawn by the nemesis.
//!
//! Reference: Kafka's log cleaner (the latest record of every key survives behind the
//! cleaner point, on every replica), KIP-534 (tombstones outlive their first cleaning by
//! `delete.retention.ms`), and the compacted changelog as a table: a consumer that reads it
//! from the start rebuilds the table. The pipeline of `compaction-rebuild` — a CDC source
//! writing a compacted topic, and a sink created late that rebuilds the table from it —
//! under schedules of broker crashes and power losses (leader failovers, followers catching
//! up on a compacted leader, compacted segments and the cleaner's checkpoint recovered from
//! a damaged disk) and source crashes (changes sent twice), then a heal phase: every replica
//! keeps the latest value of every key, the warehouse equals the source table, and the Kafka
//! checkers find nothing beyond the gaps the cleaner leaves.

use kafkasim_scenarios::harness::RunReport;
use kafkasim_scenarios::model::{Scenario, ScheduledFault};
use kafkasim_scenarios::nemesis::{
    self, Choice, FaultKind, HealPhase, NemesisSpec, Timing, Victims, names,
};
use kafkasim_scenarios::{catalog, format};
use kafkasim_tests::property::{self, Case, Property};
use proptest::prelude::*;

/// `compaction-rebuild` without its real-time sink: the sink `rebuild`, created once the
/// workload and the faults are over, reads whatever the cleaners left. (The sink that reads
/// in real time is left out: a sink stalled past `min.compaction.lag.ms` — a fetch a broker
/// received just before it lost power waits `request.timeout.ms`, 30 s — may find a delete
/// event removed by its own tombstone, which this sink, guarding rows by source LSN, cannot
/// apply: a tombstone names no LSN. See the sink's module doc.) Run long enough after the
/// heal phase for everything to settle: a broker that loses power leaves requests it had
/// received unanswered, and their senders wait out their timeouts — a follower's fetch
/// `replica.socket.timeout.ms` (30 s), during which the leader keeps it in the ISR
/// (`replica.lag.time.max.ms`, 30 s) and the high watermark waits for it (seed 0,
/// "9721 power-loss broker-1; … 10238 process-crash broker-2").
fn base() -> Scenario {
    let text = catalog::find("compaction-rebuild").expect("built-in");
    let mut scenario = format::parse("builtin:compaction-rebuild", text).expect("parses");
    scenario.faults.clear();
    scenario.connectors.retain(|c| c.connector != "warehouse");
    scenario.duration_ms = 60_000;
    // Tombstones outlive a sink restart and still expire before the end.
    for controller in &mut scenario.controllers {
        for topic in &mut controller.config.topics {
            topic.config.delete_retention_ms = Some(10_000);
        }
    }
    scenario
}

/// Faults while the workload runs and the cleaner works (1.5 s to 14 s).
fn spec() -> NemesisSpec {
    let brokers = names(&["broker-1", "broker-2", "broker-3"]);
    let source = names(&["shop-source-0"]);
    let sinks = names(&["rebuild-0"]);
    let bounce = property::bounce;
    let mut restart = brokers.clone();
    restart.extend(source.iter().chain(&sinks).cloned());
    NemesisSpec {
        window_ms: 1500..14_000,
        faults: 1..=4,
        timing: Timing::Scattered,
        victims: Victims::AtRandom,
        menu: vec![
            bounce(&brokers, 3),
            // One broker at a time loses power: its unsynced tail (and perhaps a cleaned
            // segment not yet synced) goes, and it catches up from the others.
            Choice {
                weight: 2,
                kind: FaultKind::PowerCycle {
                    nodes: brokers.clone(),
                    together: 1..=1,
                    down_ms: 200..=2500,
                },
            },
            bounce(&source, 2),
        ],
        heal: Some(HealPhase {
            at_ms: 16_000,
            restart,
        }),
    }
}

const CHECKERS: &[&str] = &[
    "latest-value",
    "warehouse-converges",
    "lost-change",
    "aborted-downstream",
    "key-order",
    "LogMatching",
    "offsets-dense",
    "poll-skip",
];

fn run_case(scenario: &Scenario, seed: u64, faults: &[ScheduledFault]) -> RunReport {
    property::run_case(scenario, seed, faults)
}

fn violations(report: &RunReport) -> Vec<(String, Vec<String>)> {
    property::violations(report, CHECKERS)
}

#[test]
fn every_replica_keeps_the_latest_value_under_every_fault_schedule() {
    let property = Property {
        file: file!(),
        name: "every_replica_keeps_the_latest_value_under_every_fault_schedule",
        cases: 120,
    };
    let scenario = base();
    property::check(
        property,
        property::cases(&spec()),
        &property::regressions(&[]),
        |case| {
            let Case { seed, faults } = case;
            let report = run_case(&scenario, *seed, faults);
            let found = violations(&report);
            prop_assert!(
                found.is_empty(),
                "seed {seed}\nfaults: {}\n{found:#?}",
                nemesis::format_schedule(faults)
            );
            Ok(())
        },
    );
}

/// The schedules do what the property claims: the cleaner runs on a restarted broker, a
/// broker recovers a compacted log after a power loss, and a partition fails over.
#[test]
fn the_schedules_exercise_compaction_across_failures() {
    let (spec, scenario) = (spec(), base());
    let mut seen = [false; 3];
    for seed in 0..40u64 {
        let faults = nemesis::schedule(&spec, seed);
        let report = run_case(&scenario, seed, &faults);
        let has = |needle: &str| report.timeline.iter().any(|l| l.contains(needle));
        seen[0] |= has("compact shop.public.accounts-0");
        seen[1] |= has("power loss") || has("loses power");
        seen[2] |= report.timeline.iter().any(|l| {
            l.contains("leads shop.public.accounts-0") && !l.contains("in leader epoch 0 ")
        });
    }
    assert_eq!(seen, [true; 3], "cleaning, power loss, leader failover");
}

/// Not a check: a debugging aid that prints the timeline and the findings of one case,
/// `SCHEDULE` (a schedule in the nemesis's one-line form) run with simulation seed `CASE`,
/// writing its trace to `TRACE` if set.
/// `CASE=0 SCHEDULE="… " cargo test -p kafkasim-tests --test compaction debug_case -- --ignored --nocapture`
#[test]
#[ignore]
fn debug_case() {
    property::debug_case(&base(), CHECKERS);
}
