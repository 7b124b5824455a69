//! Consumer groups under random faults (issue 4): members join at random times, crash and come
//! back, leave (`close()`) or stall past `max.poll.interval.ms`; eager or cooperative (KIP-429),
//! dynamic or static (KIP-345); brokers crash and restart; the network partitions and resets
//! connections. Whatever
//! happens: no partition is owned by two members in one generation (`group-ownership`), no
//! coordinator accepts a commit from a fenced generation or member (`fenced-commit`), committed
//! offsets never go backwards without an explicit reset (`commit-monotonic`), no acknowledged
//! record is lost (`lost-write`, with acks=all and min.insync.replicas=2), and the idempotent
//! producer writes nothing twice (`duplicate`) or out of order (`nonmonotonic-send`).
//!
//! The schedules come from the nemesis ([`kafkasim_scenarios::nemesis`], [`group_nemesis`] says
//! what may break). The property runs a fixed, recorded set of cases (see
//! [`kafkasim_tests::property`]): first the `REGRESSIONS` below — cases that once failed, replayed
//! exactly — then 1000 cases that proptest draws from the recorded seed. `./scripts/explore` runs
//! it on fresh cases and prints any failure as a line to add to `REGRESSIONS`.

use kafkasim_scenarios::catalog;
use kafkasim_scenarios::format::parse;
use kafkasim_scenarios::harness::{RunOptions, run};
use kafkasim_scenarios::model::{FaultAction, Scenario, ScheduledFault};
use kafkasim_scenarios::nemesis::{
    self, Choice, FaultKind, HealPhase, NemesisSpec, Timing, Victims, names,
};
use kafkasim_tests::property::{self, Property};
use proptest::prelude::*;
use std::fmt;

const CONSUMERS: [&str; 3] = ["consumer-1", "consumer-2", "consumer-3"];
const BROKERS: [&str; 3] = ["broker-1", "broker-2", "broker-3"];
/// The consumers and the brokers: what may crash and restart, the first end of a partition.
const NODES: [&str; 6] = [
    "consumer-1",
    "consumer-2",
    "consumer-3",
    "broker-1",
    "broker-2",
    "broker-3",
];

/// Zero to seven faults between 2 s and 15 s: a consumer or a broker crashes (twice as often as
/// anything else) or restarts, is cut off from a broker or has its connection to one reset; a
/// consumer's application closes or stalls its poll loop for 1 to 9 s. At 16 s every partition
/// heals and every node restarts: the group must form and consume by the end (30 s).
fn group_nemesis() -> NemesisSpec {
    let (nodes, brokers, consumers) = (names(&NODES), names(&BROKERS), names(&CONSUMERS));
    NemesisSpec {
        window_ms: 2000..15_000,
        faults: 0..=7,
        timing: Timing::Scattered,
        victims: Victims::AtRandom,
        menu: vec![
            Choice {
                weight: 2,
                kind: FaultKind::ProcessCrash {
                    nodes: nodes.clone(),
                },
            },
            Choice {
                weight: 1,
                kind: FaultKind::Restart {
                    nodes: nodes.clone(),
                },
            },
            Choice {
                weight: 1,
                kind: FaultKind::Partition {
                    from: nodes.clone(),
                    to: brokers.clone(),
                    two_way: true,
                },
            },
            Choice {
                weight: 1,
                kind: FaultKind::ResetConnection {
                    a: nodes.clone(),
                    b: brokers,
                },
            },
            Choice {
                weight: 1,
                kind: FaultKind::Close {
                    consumers: consumers.clone(),
                },
            },
            Choice {
                weight: 1,
                kind: FaultKind::StallPoll {
                    consumers,
                    duration_ms: 1000..=8999,
                },
            },
        ],
        heal: Some(HealPhase {
            at_ms: 16_000,
            restart: nodes,
        }),
    }
}

/// How the group's members run.
#[derive(Clone, Copy, Debug)]
struct Members {
    /// `partition.assignment.strategy = cooperative-sticky` (KIP-429) instead of eager sticky.
    cooperative: bool,
    /// Each member has a `group.instance.id` (KIP-345).
    static_ids: bool,
}

/// One case: the run's seed, when each consumer starts, how the members run, the faults. Its
/// `Debug` is a line of [`REGRESSIONS`].
#[derive(Clone)]
struct GroupCase {
    seed: u64,
    starts: [u64; 3],
    members: Members,
    faults: Vec<ScheduledFault>,
}

impl fmt::Debug for GroupCase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Members {
            cooperative,
            static_ids,
        } = self.members;
        write!(
            f,
            "({}, {:?}, {cooperative}, {static_ids}, \"{}\")",
            self.seed,
            self.starts,
            nemesis::format_schedule(&self.faults)
        )
    }
}

fn cases() -> impl Strategy<Value = GroupCase> {
    (
        any::<u64>(),
        proptest::array::uniform3(1500u64..10_000),
        any::<bool>(),
        any::<bool>(),
        nemesis::strategy(&group_nemesis()),
    )
        .prop_map(
            |(seed, starts, cooperative, static_ids, faults)| GroupCase {
                seed,
                starts,
                members: Members {
                    cooperative,
                    static_ids,
                },
                faults,
            },
        )
}

/// Cases that once failed: `(seed, consumer starts, cooperative, static ids, schedule)`.
const REGRESSIONS: &[(u64, [u64; 3], bool, bool, &str)] = &[
    // A poll-skip false alarm across an eager rebalance (the poll-skip checker's fix).
    (
        10632860193320610126,
        [1500, 1518, 5273],
        false,
        false,
        "2000 process-crash consumer-3; 5392 process-crash broker-2; \
         7687 partition broker-1 <-> broker-3; 16000 heal; 16000 restart consumer-1; \
         16000 restart consumer-2; 16000 restart consumer-3; 16000 restart broker-1; \
         16000 restart broker-2; 16000 restart broker-3",
    ),
];

fn regressions() -> Vec<GroupCase> {
    REGRESSIONS
        .iter()
        .map(
            |(seed, starts, cooperative, static_ids, faults)| GroupCase {
                seed: *seed,
                starts: *starts,
                members: Members {
                    cooperative: *cooperative,
                    static_ids: *static_ids,
                },
                faults: property::parse(faults),
            },
        )
        .collect()
}

fn scenario(starts: &[u64], faults: &[ScheduledFault], members: Members) -> Scenario {
    let mut s = parse(
        "groups",
        catalog::find("consumer-join-rebalance").expect("built in"),
    )
    .expect("parses");
    s.duration_ms = 30_000;
    // The cluster-wide min.insync.replicas, which the controller writes to the metadata log
    // (with eligible leader replicas the brokers take it from there).
    for c in &mut s.controllers {
        c.config.min_insync_replicas = 2;
    }
    for b in &mut s.brokers {
        b.config.min_insync_replicas = 2;
        // Kafka's 30 s defaults would outlast the whole run: a fetch lost in a partition
        // stalls its follower for replica.socket.timeout.ms, and a lagging follower holds the
        // high watermark (and so every group write) for replica.lag.time.max.ms.
        b.config.replica_socket_timeout_ms = 3000;
        b.config.replica_lag_time_max_ms = 5000;
    }
    let mut third = s.consumers[1].clone();
    third.name = "consumer-3".into();
    third.config.client_id = "consumer-3".into();
    s.consumers.push(third);
    for (c, start) in s.consumers.iter_mut().zip(starts) {
        c.start_ms = *start;
        c.config.session_timeout_ms = 6000;
        c.config.request_timeout_ms = 3000;
        // Short enough that a stalled poll loop is removed within the run.
        c.config.max_poll_interval_ms = 5000;
        c.config.partition_assignment_strategy = if members.cooperative {
            "cooperative-sticky".into()
        } else {
            "sticky".into()
        };
        if members.static_ids {
            c.config.group_instance_id = Some(format!("{}-instance", c.name));
        }
    }
    s.faults = faults.to_vec();
    s
}

// Every fault is healed and every node restarted at 16 s, so the group must have formed and
// consumed by the end (30 s) whatever came before.
#[test]
fn groups_keep_their_promises_under_faults() {
    let property = Property {
        file: file!(),
        name: "groups_keep_their_promises_under_faults",
        cases: 1000,
    };
    property::check(property, cases(), &regressions(), |case| {
        let GroupCase {
            seed,
            starts,
            members,
            faults,
        } = case;
        let s = scenario(starts, faults, *members);
        let report = run(
            &s,
            RunOptions {
                seed: *seed,
                trace: None,
            },
        )
        .unwrap();
        for checker in [
            "group-ownership",
            "fenced-commit",
            "commit-monotonic",
            "poll-skip",
            "lost-write",
            "duplicate",
            "nonmonotonic-send",
        ] {
            let found = report
                .verdicts
                .iter()
                .find(|v| v.checker == checker)
                .map(|v| v.findings.clone())
                .unwrap_or_default();
            prop_assert!(
                found.is_empty(),
                "{checker} with seed {seed}\nstarts {starts:?}\nfaults: {}\n{:?}",
                nemesis::format_schedule(faults),
                &found[..found.len().min(3)]
            );
        }
        // The group really formed and consumed, unless every member closed before it could.
        let closed: std::collections::BTreeSet<&str> = s
            .faults
            .iter()
            .filter_map(|f| match &f.action {
                FaultAction::Close { node } => Some(node.as_str()),
                _ => None,
            })
            .collect();
        prop_assert!(
            closed.len() == 3 || !report.history.assignments.is_empty(),
            "no assignment at all"
        );
        Ok(())
    });
}

/// Not a check: prints the timeline of one regression case (`CASE`, by index; the first by
/// default), for debugging the property above.
/// `CASE=0 cargo test -p kafkasim-tests --test group_faults debug_case -- --ignored --nocapture`
#[test]
#[ignore]
fn debug_case() {
    let index: usize = std::env::var("CASE").map_or(0, |c| c.parse().unwrap());
    let case = &regressions()[index];
    let s = scenario(&case.starts, &case.faults, case.members);
    let report = run(
        &s,
        RunOptions {
            seed: case.seed,
            trace: None,
        },
    )
    .unwrap();
    for v in &report.verdicts {
        if !v.findings.is_empty() {
            eprintln!(
                "{}: {:?}",
                v.checker,
                &v.findings[..v.findings.len().min(3)]
            );
        }
    }
    for l in report.timeline.iter().filter(|l| !l.contains("recovers")) {
        eprintln!("{l}");
    }
}
