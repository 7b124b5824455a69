//! The consumer-group scenarios tell the stories of kafka-semantics.md G1, G2, G3 and G5, on
//! every seed: these tests check the story itself (who revoked what, how many generations,
//! what was read again from where), not only the checkers' invariants.

use kafkasim_core::ids::TopicPartition;
use kafkasim_scenarios::checkers::history::{CommittedKind, History};
use kafkasim_tests::run_builtin;
use std::collections::{BTreeMap, BTreeSet};

const SEEDS: std::ops::Range<u64> = 0..8;

fn last_assignment<'h>(h: &'h History, consumer: &str) -> &'h [TopicPartition] {
    h.assignments
        .iter()
        .rev()
        .find(|a| a.consumer == consumer)
        .map_or(&[], |a| a.partitions.as_slice())
}

fn first_assignment<'h>(h: &'h History, consumer: &str) -> &'h [TopicPartition] {
    h.assignments
        .iter()
        .find(|a| a.consumer == consumer)
        .map_or(&[], |a| a.partitions.as_slice())
}

fn revoked_by<'h>(h: &'h History, consumer: &str) -> BTreeSet<&'h TopicPartition> {
    h.revocations
        .iter()
        .filter(|r| r.consumer == consumer)
        .flat_map(|r| r.partitions.iter())
        .collect()
}

/// G1: the eager members give up everything; the cooperative ones only what the newcomer gets.
#[test]
fn eager_revokes_everything_cooperative_only_what_moves() {
    for seed in SEEDS {
        let h = run_builtin("eager-vs-cooperative", seed).history;
        for old in ["eager-1", "eager-2"] {
            let owned: BTreeSet<_> = first_assignment(&h, old).iter().collect();
            let revoked = revoked_by(&h, old);
            assert_eq!(revoked, owned, "seed {seed}: {old} revokes all it owned");
        }
        let newcomer: BTreeSet<_> = last_assignment(&h, "coop-3").iter().collect();
        assert!(!newcomer.is_empty(), "seed {seed}: coop-3 gets partitions");
        for old in ["coop-1", "coop-2"] {
            let owned: BTreeSet<_> = first_assignment(&h, old).iter().collect();
            let kept: BTreeSet<_> = last_assignment(&h, old).iter().collect();
            assert!(kept.is_subset(&owned), "seed {seed}: {old} only gives up");
            let revoked = revoked_by(&h, old);
            let moved: BTreeSet<_> = owned.difference(&kept).copied().collect();
            assert_eq!(
                revoked, moved,
                "seed {seed}: {old} revokes exactly what moves"
            );
            assert!(
                moved.is_subset(&newcomer),
                "seed {seed}: what moves goes to coop-3"
            );
        }
        // Both groups end balanced: 2, 1 and 1 partitions.
        for group in [
            ["eager-1", "eager-2", "eager-3"],
            ["coop-1", "coop-2", "coop-3"],
        ] {
            let mut sizes: Vec<usize> =
                group.iter().map(|c| last_assignment(&h, c).len()).collect();
            sizes.sort_unstable();
            assert_eq!(sizes, vec![1, 1, 2], "seed {seed}: {group:?} balanced");
        }
    }
}

/// G2: the static member comes back into generation 1 with its partitions; no rebalance.
#[test]
fn a_static_member_bounce_does_not_rebalance() {
    for seed in SEEDS {
        let h = run_builtin("static-membership-bounce", seed).history;
        let generations: Vec<i32> = h.generations.iter().map(|g| g.generation).collect();
        assert_eq!(generations, vec![1], "seed {seed}: one generation only");
        let mine: Vec<_> = h
            .assignments
            .iter()
            .filter(|a| a.consumer == "consumer-1")
            .collect();
        assert_eq!(
            mine.len(),
            2,
            "seed {seed}: assigned before and after the bounce"
        );
        assert_eq!(mine[0].partitions, mine[1].partitions, "seed {seed}");
        assert_ne!(
            mine[0].member_id, mine[1].member_id,
            "seed {seed}: a new member id"
        );
        assert_eq!(
            h.assignments
                .iter()
                .filter(|a| a.consumer == "consumer-2")
                .count(),
            1,
            "seed {seed}: consumer-2 is never disturbed"
        );
        assert!(h.revocations.is_empty(), "seed {seed}: nothing is revoked");
    }
}

/// G3: past max.poll.interval.ms the stalled member leaves; its successor reads again what it
/// had read since its last commit; its own commit fails when it comes back.
#[test]
fn a_stalled_consumer_is_evicted_and_its_commit_fails() {
    for seed in SEEDS {
        let h = run_builtin("zombie-consumer", seed).history;
        assert!(
            h.departures
                .iter()
                .any(|(c, _, why)| c == "consumer-1" && why.contains("max.poll.interval.ms")),
            "seed {seed}: consumer-1 leaves on the poll timeout"
        );
        assert!(
            h.commit_failures.iter().any(|(c, _, _)| c == "consumer-1"),
            "seed {seed}: the zombie's commit fails"
        );
        assert!(
            h.revocations
                .iter()
                .any(|r| r.consumer == "consumer-1" && r.reason.starts_with("lost")),
            "seed {seed}: its partitions are lost, not revoked"
        );
        let read_by = |consumer: &str| -> BTreeSet<(TopicPartition, i64)> {
            h.polls
                .iter()
                .filter(|p| p.consumer == consumer)
                .flat_map(|p| p.records.iter().map(|r| (p.partition.clone(), r.offset)))
                .collect()
        };
        let again = read_by("consumer-1")
            .intersection(&read_by("consumer-2"))
            .count();
        assert!(
            again > 0,
            "seed {seed}: consumer-2 reprocesses consumer-1's records"
        );
    }
}

/// G5: after the crash the consumer resumes exactly at the last committed offsets; what it
/// had read beyond them is read again, nothing is skipped.
#[test]
fn auto_commit_redelivers_from_the_last_commit() {
    for seed in SEEDS {
        let report = run_builtin("auto-commit-redelivery", seed);
        let h = &report.history;
        let crash = h
            .crashes
            .iter()
            .find(|c| c.node == "consumer-1")
            .expect("killed")
            .time;
        let mut committed: BTreeMap<&TopicPartition, i64> = BTreeMap::new();
        for c in &h.committed_offsets {
            if c.kind == CommittedKind::Committed && c.time < crash {
                for (tp, o) in &c.offsets {
                    committed.insert(tp, *o);
                }
            }
        }
        assert!(
            !committed.is_empty(),
            "seed {seed}: an auto-commit before the crash"
        );
        for (tp, offset) in committed {
            let polled_after: Vec<i64> = h
                .polls
                .iter()
                .filter(|p| p.time > crash && p.partition == *tp)
                .flat_map(|p| p.records.iter().map(|r| r.offset))
                .collect();
            assert_eq!(
                polled_after.first(),
                Some(&offset),
                "seed {seed}: {tp} resumes at its committed offset"
            );
            let before_max = h
                .polls
                .iter()
                .filter(|p| p.time < crash && p.partition == *tp)
                .flat_map(|p| p.records.iter().map(|r| r.offset))
                .max()
                .unwrap_or(-1);
            assert!(
                before_max >= offset,
                "seed {seed}: {tp} had read past its commit"
            );
        }
        assert!(report.verdicts.iter().all(|v| v.ok()), "seed {seed}");
    }
}

/// G3 by the network: cut off from its coordinator, a member goes on reading (a zombie) after
/// the group moved on; once it can reach the coordinator again, its commit is refused there.
#[test]
fn a_partitioned_zombie_reads_on_and_its_commit_is_refused() {
    for seed in SEEDS {
        let report = run_builtin("zombie-consumer-partitioned", seed);
        let h = &report.history;
        let evicted = h
            .members_removed
            .iter()
            .find(|m| m.reason.contains("session.timeout.ms"))
            .expect("consumer-1's session expires")
            .time;
        assert!(
            h.polls
                .iter()
                .any(|p| p.consumer == "consumer-1" && p.time > evicted && !p.records.is_empty()),
            "seed {seed}: consumer-1 reads on after it was removed"
        );
        assert!(
            h.commit_failures
                .iter()
                .any(|(c, _, e)| c == "consumer-1" && e == "UNKNOWN_MEMBER_ID"),
            "seed {seed}: the coordinator refuses the zombie's commit"
        );
        assert!(report.verdicts.iter().all(|v| v.ok()), "seed {seed}");
    }
}

/// G5's counterpart: an application that commits after processing each poll
/// (`commitSync()` or `commitAsync()`) resumes after a crash exactly where it stopped.
#[test]
fn committing_after_each_poll_redelivers_nothing() {
    use kafkasim_scenarios::harness::{RunOptions, run};
    let text = kafkasim_scenarios::catalog::find("auto-commit-redelivery").expect("built in");
    for mode in ["sync", "async"] {
        let text = text
            .replace("enable.auto.commit = true", "enable.auto.commit = false")
            .replace(
                "start_ms = 2000\n[consumers.config]",
                &format!("start_ms = 2000\ncommit = \"{mode}\"\n[consumers.config]"),
            );
        let scenario = kafkasim_scenarios::format::parse(mode, &text).expect("parses");
        for seed in SEEDS {
            let report = run(&scenario, RunOptions { seed, trace: None }).expect("runs");
            let h = &report.history;
            let mut seen = BTreeSet::new();
            let twice = h
                .polls
                .iter()
                .flat_map(|p| p.records.iter().map(move |r| (&p.partition, r.offset)))
                .filter(|key| !seen.insert(*key))
                .count();
            assert_eq!(twice, 0, "{mode} seed {seed}: nothing read twice");
            assert!(
                h.committed_offsets.len() > 10,
                "{mode} seed {seed}: the application commits"
            );
            assert!(report.verdicts.iter().all(|v| v.ok()), "{mode} seed {seed}");
        }
    }
}

/// G4 and Kafka's `GroupMetadataManager.loadGroup`: the coordinator dies, the next leader of
/// the group's `__consumer_offsets` partition takes the group over from its record — members,
/// protocol, leader and assignment — so both members carry on in generation 1 with the
/// partitions they had: one assignment each, nothing revoked, no rebalance, and the timeline
/// says the group was loaded with its members. (With only the generation stored, the members
/// got UNKNOWN_MEMBER_ID and rejoined in generation 2.)
#[test]
fn after_a_coordinator_failover_the_members_carry_on_in_the_same_generation() {
    for seed in SEEDS {
        let report = run_builtin("coordinator-failover", seed);
        let h = &report.history;
        for consumer in ["consumer-1", "consumer-2"] {
            let generations: Vec<i32> = h
                .assignments
                .iter()
                .filter(|a| a.consumer == consumer)
                .map(|a| a.generation)
                .collect();
            assert_eq!(generations, vec![1], "seed {seed}: {consumer}");
            assert!(
                revoked_by(h, consumer).is_empty(),
                "seed {seed}: {consumer}"
            );
        }
        assert!(
            report
                .timeline
                .iter()
                .any(|l| l.contains("loads group billing from its record")
                    && l.contains("generation 1")),
            "seed {seed}: {:#?}",
            report.timeline
        );
    }
}

/// Queues decouple systems (`decoupled-pipelines`): the producer is acknowledged the same
/// records at the same offsets and the same moments whether or not the analytics group's
/// application stalls — a slow consumer group does not slow the producer — while the stalls
/// do make that group lag.
#[test]
fn a_slow_group_does_not_slow_the_producer() {
    use kafkasim_scenarios::harness::{RunOptions, run};
    use kafkasim_scenarios::model::FaultAction;
    use kafkasim_scenarios::{catalog, format};
    let text = catalog::find("decoupled-pipelines").expect("built-in");
    let slow = format::parse("builtin:decoupled-pipelines", text).expect("parses");
    let mut fast = slow.clone();
    fast.faults.retain(
        |f| !matches!(&f.action, FaultAction::StallPoll { node, .. } if node == "analytics-1"),
    );
    assert!(
        fast.faults.len() < slow.faults.len(),
        "the stalls are removed"
    );
    for seed in SEEDS {
        let go = |s| {
            run(s, RunOptions { seed, trace: None })
                .expect("runs")
                .history
        };
        let (with_stalls, without) = (go(&slow), go(&fast));
        let acks = |h: &History| -> Vec<(u64, TopicPartition, i64, u64)> {
            h.acked
                .iter()
                .map(|a| {
                    (
                        a.record_id,
                        a.partition.clone(),
                        a.offset,
                        a.time.as_micros(),
                    )
                })
                .collect()
        };
        assert_eq!(
            acks(&with_stalls).len(),
            1500,
            "seed {seed}: all acknowledged"
        );
        assert_eq!(
            acks(&with_stalls),
            acks(&without),
            "seed {seed}: the producer saw the same acknowledgements"
        );
        let first_read_of = |h: &History, offset| {
            h.polls
                .iter()
                .filter(|p| p.consumer == "analytics-1")
                .find(|p| p.records.iter().any(|r| r.offset == offset))
                .map(|p| p.time)
        };
        assert!(
            first_read_of(&with_stalls, 500) > first_read_of(&without, 500),
            "seed {seed}: the stalled group lags"
        );
    }
}
