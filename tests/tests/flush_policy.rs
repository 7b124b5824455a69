//! Kafka's flush policy decides what a power loss can take.
//!
//! Reference: Kafka broker configs `log.flush.interval.messages` / `log.flush.interval.ms`
//! (default: never; "we recommend using replication for durability and allowing the operating
//! system's background flush capabilities"). With `log.flush.interval.messages = 1` the append
//! itself fsyncs and the produce response waits for it, so no acknowledged record can be lost
//! to a power loss; with the default, acknowledged records in the page cache are lost.

use kafkasim_scenarios::catalog;
use kafkasim_scenarios::format::parse;
use kafkasim_scenarios::harness::{RunOptions, run};

fn findings(report: &kafkasim_scenarios::harness::RunReport, checker: &str) -> usize {
    report
        .verdicts
        .iter()
        .find(|v| v.checker == checker)
        .map_or(0, |v| v.findings.len())
}

fn wal_recovery_with(broker_config: &str) -> kafkasim_scenarios::model::Scenario {
    let text = catalog::find("wal-recovery").expect("built in").replace(
        "log.flush.interval.ms = 1000\nlog.flush.scheduler.interval.ms = 250\n",
        broker_config,
    );
    assert!(text.contains(broker_config));
    parse("wal-recovery-variant", &text).expect("variant parses")
}

#[test]
fn fsync_per_message_means_no_acknowledged_record_is_lost() {
    let scenario = wal_recovery_with("log.flush.interval.messages = 1\n");
    for seed in 0..20 {
        let report = run(&scenario, RunOptions { seed, trace: None }).unwrap();
        assert_eq!(
            findings(&report, "lost-write"),
            0,
            "seed {seed}: {:?}",
            report.summary
        );
        assert_eq!(findings(&report, "inconsistent-offsets"), 0, "seed {seed}");
        assert_eq!(findings(&report, "fsynced-survives"), 0, "seed {seed}");
        assert!(!report.history.acked.is_empty());
    }
}

#[test]
fn kafkas_default_never_fsyncs_and_loses_the_page_cache() {
    let scenario = wal_recovery_with("");
    assert_eq!(scenario.brokers[0].config.log_flush_interval_ms, None);
    for seed in 0..20 {
        let report = run(&scenario, RunOptions { seed, trace: None }).unwrap();
        assert!(
            findings(&report, "lost-write") > 0,
            "seed {seed}: no loss without any fsync?"
        );
        // Nothing was ever fsynced, so nothing could be promised.
        assert!(
            !report
                .history
                .crashes
                .iter()
                .any(|c| c.recovery_points.values().any(|p| *p > 0)),
            "seed {seed}: a flush happened although Kafka's default never flushes"
        );
    }
}

#[test]
fn a_time_based_flush_needs_the_scheduler_too() {
    // log.flush.interval.ms alone does nothing: the flusher wakes every
    // log.flush.scheduler.interval.ms, whose default is never.
    let scenario = wal_recovery_with("log.flush.interval.ms = 1000\n");
    let report = run(
        &scenario,
        RunOptions {
            seed: 1,
            trace: None,
        },
    )
    .unwrap();
    assert!(
        report
            .history
            .crashes
            .iter()
            .all(|c| c.recovery_points.is_empty())
    );
}
