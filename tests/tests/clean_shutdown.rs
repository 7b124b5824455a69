//! Clean shutdown and leadership balance, as Kafka 4 runs them.
//!
//! References: Kafka's `BrokerServer.shutdown` and `BrokerLifecycleManager` (controlled
//! shutdown through heartbeats), the controller's `BrokerHeartbeatManager
//! .calculateNextBrokerState`, `LogManager.shutdown` with `CleanShutdownFileHandler` (the
//! clean-shutdown marker and its broker epoch, KIP-966's `previousBrokerEpoch`), `LogLoader`
//! (recovery from the `recovery-point-offset-checkpoint`), and
//! `QuorumController.maybeScheduleNextBalancePartitionLeaders` (preferred leader election).
//! Each story is a catalog scenario, or a switch away from one: the twin that lacks the
//! behaviour is the test that the behaviour is what makes the difference.

use kafkasim_core::actor::Event;
use kafkasim_core::broker::LogEvent;
use kafkasim_core::controller::{self, placement::Election};
use kafkasim_core::view::NodeView;
use kafkasim_scenarios::harness::Simulation;
use kafkasim_scenarios::narrate::availability;
use kafkasim_scenarios::trace::Kind;
use kafkasim_tests::{simulate_builtin, simulate_text};

const SEEDS: std::ops::Range<u64> = 0..20;

/// The longest time, in ms, any partition went without a leader able to take writes.
fn longest_gap_ms(sim: &Simulation) -> u64 {
    availability::gaps(sim.lines())
        .iter()
        .map(|g| g.micros() / 1000)
        .max()
        .unwrap_or(0)
}

fn assert_passed(sim: &Simulation, name: &str, seed: u64) {
    let report = sim.report();
    assert!(
        report.passed(),
        "{name} seed {seed}: {:?}",
        report
            .verdicts
            .iter()
            .filter(|v| !v.ok())
            .collect::<Vec<_>>()
    );
}

/// `controlled.shutdown.enable` (Kafka's default): every leadership moves before its broker
/// stops serving, so no partition waits for a leader; without it, each broker's partitions
/// wait until it is back and registered. Nothing acknowledged is lost either way.
#[test]
fn controlled_shutdown_hands_every_leadership_over_before_the_broker_stops() {
    for seed in SEEDS {
        let controlled = simulate_builtin("rolling-restart-controlled", seed);
        assert_passed(&controlled, "rolling-restart-controlled", seed);
        let gap = longest_gap_ms(&controlled);
        assert!(
            gap < 20,
            "seed {seed}: a partition waited {gap} ms for a leader\n\
             repro: kafkasim run rolling-restart-controlled --seed {seed}"
        );
        let uncontrolled = simulate_builtin("rolling-restart-uncontrolled", seed);
        assert_passed(&uncontrolled, "rolling-restart-uncontrolled", seed);
        let long: Vec<_> = availability::gaps(uncontrolled.lines())
            .into_iter()
            .filter(|g| g.micros() >= 2_500_000)
            .collect();
        assert!(
            long.len() >= 3,
            "seed {seed}: each broker led a partition that should wait ~3 s: {long:?}\n\
             repro: kafkasim run rolling-restart-uncontrolled --seed {seed}"
        );
    }
}

/// What the controller recorded of each registration: (broker id, unclean shutdown), in order.
fn registrations(sim: &Simulation) -> Vec<(i32, bool)> {
    sim.lines()
        .iter()
        .filter_map(|l| match &l.kind {
            Kind::Node {
                event:
                    Event::Controller(controller::Event::BrokerRegistered {
                        broker_id,
                        unclean_shutdown,
                        ..
                    }),
            } => Some((*broker_id, *unclean_shutdown)),
            _ => None,
        })
        .collect()
}

/// Every log recovery after a restart: (clean shutdown, bytes checked).
fn recoveries(sim: &Simulation) -> Vec<(bool, u64)> {
    sim.lines()
        .iter()
        .filter_map(|l| match &l.kind {
            Kind::Node {
                event: Event::Log(LogEvent::Recovered { report, .. }),
            } => Some((report.clean_shutdown, report.bytes_checked)),
            _ => None,
        })
        .collect()
}

/// Kafka's `CleanShutdownFileHandler` and `LogLoader`: after a clean shutdown a broker loads
/// its logs without checking a byte and registers naming the epoch it shut down in, so the
/// controller knows its log is whole; after kill -9 it checks what lies above its recovery
/// point, and registers as an unclean shutdown.
#[test]
fn after_a_clean_shutdown_the_logs_load_without_a_scan_and_the_broker_registers_clean() {
    for seed in 0..5 {
        let clean = simulate_builtin("rolling-restart-controlled", seed);
        let loaded = recoveries(&clean);
        assert_eq!(loaded.len(), 9, "three restarts of three partitions each");
        assert!(loaded.iter().all(|r| *r == (true, 0)), "{loaded:?}");
        let again: Vec<bool> = registrations(&clean)
            .into_iter()
            .skip(3)
            .map(|(_, unclean)| unclean)
            .collect();
        assert_eq!(again, [false; 3], "seed {seed}: clean re-registrations");

        let killed = simulate_builtin("preferred-leader-election", seed);
        let loaded = recoveries(&killed);
        assert!(
            !loaded.is_empty() && loaded.iter().all(|(clean, checked)| !clean && *checked > 0),
            "{loaded:?}"
        );
        assert_eq!(registrations(&killed).last(), Some(&(1, true)));
    }
}

/// A scenario whose broker-1 fsyncs every message and checkpoints its recovery points every
/// 500 ms, in 2 KB segments, then dies as `how` says and restarts.
fn crash_with_recovery_point(how: &str) -> String {
    format!(
        r#"
name = "recovery-point"
title = "t"
description = "t"
duration_ms = 9000

[[brokers]]
name = "broker-1"
[brokers.config]
log.segment.bytes = 2048
log.flush.interval.messages = 1
log.flush.offset.checkpoint.interval.ms = 500

[[topics]]
name = "orders"
partitions = 1

[[producers]]
name = "producer-1"
topic = "orders"
records = 300
start_ms = 100
interval_ms = 10

[[faults]]
at_ms = 3000
action = "{how}"
node = "broker-1"

[[faults]]
at_ms = 4000
action = "restart"
node = "broker-1"
"#
    )
}

/// Kafka's `LogLoader.recoverLog`: after a crash, only the segments from the one holding the
/// recovery point on are checked; those wholly below it were fsynced and are trusted.
#[test]
fn after_a_crash_recovery_checks_only_what_lies_above_the_recovery_point() {
    for how in ["process-crash", "power-loss"] {
        let sim = simulate_text("recovery-point", &crash_with_recovery_point(how), 1);
        let report = sim
            .lines()
            .iter()
            .find_map(|l| match &l.kind {
                Kind::Node {
                    event: Event::Log(LogEvent::Recovered { report, .. }),
                } => Some(report.clone()),
                _ => None,
            })
            .expect("broker-1 recovers its log");
        assert!(!report.clean_shutdown, "{how}");
        assert!(report.recovery_point > 0, "{how}: {report:?}");
        assert!(
            report.segments_trusted >= 2 && report.segments_scanned >= 1,
            "{how}: {report:?}"
        );
        assert!(
            report.segments_scanned < report.segments_trusted,
            "{how}: {report:?}"
        );
    }
}

/// The partitions' leaders in the controller's view at the end of the run.
fn final_leaders(sim: &Simulation) -> Vec<(i32, i32)> {
    let end = sim
        .at(sim.lines().last().expect("a trace").time)
        .expect("a view");
    let Some(NodeView::Controller(c)) = end.node("controller-1").and_then(|n| n.view.as_ref())
    else {
        panic!("controller-1 is up at the end");
    };
    c.partitions
        .iter()
        .filter(|p| !p.partition.topic.starts_with("__"))
        .map(|p| (p.replicas[0], p.leader))
        .collect()
}

/// `auto.leader.rebalance.enable` (Kafka's default): once the crashed broker is back in the
/// ISR, the controller gives it back the leadership it preferred; without the switch the
/// cluster stays unbalanced.
#[test]
fn the_controller_moves_leadership_back_to_the_preferred_replica() {
    let text = kafkasim_scenarios::catalog::find("preferred-leader-election").expect("built in");
    let off = text.replace(
        "leader.imbalance.check.interval.seconds = 10",
        "leader.imbalance.check.interval.seconds = 10\nauto.leader.rebalance.enable = false",
    );
    for seed in SEEDS {
        let sim = simulate_builtin("preferred-leader-election", seed);
        assert_passed(&sim, "preferred-leader-election", seed);
        let preferred = sim.lines().iter().any(|l| {
            matches!(
                &l.kind,
                Kind::Node {
                    event: Event::Controller(controller::Event::LeaderElected {
                        leader: 1,
                        election: Election::Preferred,
                        ..
                    }),
                }
            )
        });
        assert!(preferred, "seed {seed}: broker 1 gets its leadership back");
        for (preferred, leader) in final_leaders(&sim) {
            assert_eq!(leader, preferred, "seed {seed}: balanced at the end");
        }
        let unbalanced = simulate_text("no-rebalance", &off, seed);
        assert!(
            final_leaders(&unbalanced).iter().any(|(p, l)| p != l),
            "seed {seed}: without auto.leader.rebalance.enable broker 1 leads nothing"
        );
    }
}
