//! KIP-279 (reference R3): with fast, alternating leader changes, KIP-101 alone can leave a
//! follower with a divergent suffix. Kafka's own regression test
//! (`EpochDrivenReplicationProtocolAcceptanceTest`, "logs should converge with fast leader
//! changes") runs two brokers with unclean election on, `min.insync.replicas=1`, `acks=1`,
//! alternates shutdowns, and then requires the replicas' logs to be identical. This is that
//! test over random schedules, with the fix on and off.

use kafkasim_scenarios::format::parse;
use kafkasim_scenarios::harness::{RunOptions, run};
use kafkasim_scenarios::model::{FaultAction, Scenario, ScheduledFault};
use proptest::prelude::*;
use proptest::strategy::ValueTree;

const SCENARIO: &str = r#"
name = "fast-leader-changes"
duration_ms = 30000

[[controllers]]
name = "controller-1"
[controllers.config]
unclean.leader.election.enable = true
broker.session.timeout.ms = 1000

[[topics]]
name = "t"
partitions = 1
replication_factor = 2

[[brokers]]
name = "broker-1"
[[brokers]]
name = "broker-2"

[[producers]]
name = "producer-1"
topic = "t"
records = 900
start_ms = 1500
interval_ms = 10
[producers.config]
acks = 1
request.timeout.ms = 500
"#;

fn scenario(legacy: bool, gaps: &[(u64, u64)]) -> Scenario {
    let mut s = parse("fast-leader-changes", SCENARIO).expect("parses");
    for b in &mut s.brokers {
        b.config.legacy_pre_kip279_truncation = legacy;
        b.config.replica_socket_timeout_ms = 1000;
    }
    // Alternate: kill one broker, bring it back, kill the other, ...
    let mut t = 2500;
    for (i, (down, up)) in gaps.iter().enumerate() {
        let node = format!("broker-{}", i % 2 + 1);
        s.faults.push(ScheduledFault {
            at_ms: t,
            action: FaultAction::ProcessCrash { node: node.clone() },
        });
        t += down;
        s.faults.push(ScheduledFault {
            at_ms: t,
            action: FaultAction::Restart { node },
        });
        t += up;
    }
    s
}

fn gaps() -> impl Strategy<Value = Vec<(u64, u64)>> {
    proptest::collection::vec((100u64..1500, 0u64..1000), 2..7)
}

/// The two replicas' logs at the end: identical records, epochs included?
fn converged(s: &Scenario, seed: u64) -> Result<(), String> {
    let report = run(s, RunOptions { seed, trace: None }).unwrap();
    let h = &report.history;
    let empty = Default::default();
    let log = |node: &str| {
        h.final_logs
            .get(node)
            .and_then(|l| l.values().next())
            .unwrap_or(&empty)
    };
    let empty_epochs = Default::default();
    let epochs = |node: &str| {
        h.final_epochs
            .get(node)
            .and_then(|l| l.values().next())
            .unwrap_or(&empty_epochs)
    };
    let (a, b) = (log("broker-1"), log("broker-2"));
    let (ea, eb) = (epochs("broker-1"), epochs("broker-2"));
    if a.is_empty() && b.is_empty() {
        return Err("no records at all: the scenario did not run".into());
    }
    if a == b && ea == eb {
        Ok(())
    } else {
        let first = (0..).find(|o| a.get(o) != b.get(o) || ea.get(o) != eb.get(o));
        Err(format!(
            "replicas differ from offset {first:?} (log ends {} and {})",
            a.len(),
            b.len()
        ))
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn with_kip_279_logs_converge_after_fast_leader_changes(seed in any::<u64>(), gaps in gaps()) {
        let s = scenario(false, &gaps);
        prop_assert!(converged(&s, seed).is_ok(), "seed {seed}, faults {:?}: {:?}", s.faults, converged(&s, seed));
    }
}

#[test]
fn without_kip_279_some_schedule_leaves_the_logs_diverged() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    for case in 0..500u64 {
        let g = gaps().new_tree(&mut runner).expect("strategy").current();
        if let Err(e) = converged(&scenario(true, &g), case) {
            eprintln!("diverged after {} schedules (seed {case}): {e}", case + 1);
            return;
        }
    }
    panic!("500 schedules without KIP-279 all converged");
}
