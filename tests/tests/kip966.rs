//! KIP-966 ("last replica standing"), the before/after pair over 200 seeds each.
//!
//! Reference: KIP-966 (Eligible Leader Replicas) and Kafka's `PartitionChangeBuilder`,
//! `ReplicationControlManager.handleBrokerUncleanShutdown` and `Partition
//! .maybeIncrementLeaderHW` (the strict min-ISR rule). The story is the catalog's
//! `kip-966-last-replica-standing` pair: the leader, last member of the ISR, loses power and
//! comes back before the follower that was fenced with every acknowledged record. Before
//! KIP-966 the leader keeps its ISR seat and leads with an empty log, so acknowledged records
//! are lost in every seed; with eligible leader replicas the complete follower leads, and no
//! acknowledged record is lost in any seed.

use kafkasim_tests::run_builtin;

const SEEDS: std::ops::Range<u64> = 0..200;

/// How many findings checker `name` had in `report`.
fn findings(report: &kafkasim_scenarios::harness::RunReport, name: &str) -> usize {
    kafkasim_tests::findings(report, name).len()
}

#[test]
fn before_kip966_the_last_replica_standing_loses_acknowledged_records_in_every_seed() {
    for seed in SEEDS {
        let report = run_builtin("kip-966-last-replica-standing", seed);
        let (lost, unread) = (
            findings(&report, "NoCommittedRecordLost"),
            findings(&report, "lost-write"),
        );
        assert!(
            lost > 0 && unread > 0,
            "seed {seed}: NoCommittedRecordLost {lost}, lost-write {unread}\n\
             repro: kafkasim run kip-966-last-replica-standing --seed {seed}"
        );
    }
}

#[test]
fn with_eligible_leader_replicas_no_acknowledged_record_is_lost_in_any_seed() {
    for seed in SEEDS {
        let report = run_builtin("kip-966-last-replica-standing-fixed", seed);
        for checker in ["NoCommittedRecordLost", "lost-write", "LeaderCompleteness"] {
            assert_eq!(
                findings(&report, checker),
                0,
                "seed {seed}: {checker}\nrepro: kafkasim run kip-966-last-replica-standing-fixed --seed {seed}"
            );
        }
    }
}
