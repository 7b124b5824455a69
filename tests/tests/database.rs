//! The database's durability promises under crashes drawn from the seed.
//!
//! Reference: PostgreSQL's documentation ("Reliability and the Write-Ahead Log",
//! "Asynchronous Commit"): a commit acknowledged with `synchronous_commit` on (or `local`)
//! survives any crash, because its WAL record was flushed first; with `off` the last commits
//! acknowledged before a crash may be lost, but the database is never left inconsistent —
//! redo from the last checkpoint brings back exactly the transactions whose commit records
//! survived. Checked with the `lost-commit`, `lost-async-commit` and `db-state` checkers over
//! 300 schedules of power losses and kill -9, each at a time drawn from the seed.

use kafkasim_core::prng::Prng;
use kafkasim_tests::{findings, run_builtin, simulate_text};

/// A server named `name` with `synchronous_commit`, its table and its workload.
fn database(name: &str, synchronous_commit: &str) -> String {
    format!(
        r#"
[[databases]]
name = "{name}"
[databases.config]
synchronous_commit = "{synchronous_commit}"
wal_level = "logical"
checkpoint_timeout = "1s"
wal_segment_size = "4kB"
wal_writer_delay = "50ms"
[[databases.tables]]
name = "orders"
columns = ["id integer", "customer text", "amount integer"]
[databases.workload]
table = "orders"
transactions = 600
start_ms = 100
interval_ms = 15
keys = 30
rollback_percent = 15
[[databases.slots]]
name = "cdc"
start_ms = 200
poll_ms = 170
"#
    )
}

/// Three crashes of both servers at times drawn from `seed`, each followed by a restart.
fn crashes(seed: u64) -> String {
    let mut prng = Prng::derive(seed, "database-crashes", 0);
    let mut text = String::new();
    let mut at = 300;
    for _ in 0..3 {
        at += 200 + prng.below(2500);
        let how = if prng.chance(1, 2) {
            "power-loss"
        } else {
            "process-crash"
        };
        let back = at + 50 + prng.below(600);
        for node in ["db-sync", "db-async"] {
            text.push_str(&format!(
                "[[faults]]\nat_ms = {at}\naction = \"{how}\"\nnode = \"{node}\"\n\n\
                 [[faults]]\nat_ms = {back}\naction = \"restart\"\nnode = \"{node}\"\n\n"
            ));
        }
        at = back;
    }
    text
}

fn scenario(seed: u64) -> String {
    format!(
        "name = \"db-crashes\"\nduration_ms = 10500\n{}{}{}",
        database("db-sync", "on"),
        database("db-async", "off"),
        crashes(seed)
    )
}

/// Over 300 crash schedules: no synchronous commit is ever lost, the tables always equal
/// the replay of the surviving commits, each slot returns surviving commits only, in order
/// and none skipped (PostgreSQL decodes flushed WAL only) — and asynchronous commits are lost
/// in some schedules (the window `synchronous_commit = off` accepts is real).
#[test]
fn acknowledged_synchronous_commits_survive_every_crash_and_recovery_is_exact() {
    let mut async_losses = 0;
    for seed in 0..300 {
        let text = scenario(seed);
        let report = simulate_text("db-crashes", &text, seed).report();
        for checker in ["lost-commit", "db-state", "slot-delivery"] {
            let f = findings(&report, checker);
            assert!(f.is_empty(), "seed {seed}: {checker}: {f:#?}\n{text}");
        }
        async_losses += usize::from(!findings(&report, "lost-async-commit").is_empty());
    }
    assert!(
        (30..300).contains(&async_losses),
        "asynchronous commits lost in {async_losses} of 300 schedules"
    );
}

/// The catalog's story, over 100 seeds: what it says it shows, it shows in every seed.
#[test]
fn db_crash_recovery_loses_only_asynchronous_commits_in_every_seed() {
    for seed in 0..100 {
        let report = run_builtin("db-crash-recovery", seed);
        assert!(
            report.passed(),
            "seed {seed}: {:?}\nrepro: kafkasim run db-crash-recovery --seed {seed}",
            report
                .verdicts
                .iter()
                .filter(|v| !v.ok())
                .collect::<Vec<_>>()
        );
    }
}

/// PostgreSQL saves a slot's position at checkpoints only (`CheckPointReplicationSlots`): in
/// the catalog's `logical-decoding`, every crash makes the slot return again transactions it
/// had returned since the last checkpoint — and never one out of order, lost, or skipped.
#[test]
fn a_slot_delivers_at_least_once_across_crashes() {
    for seed in 0..50 {
        let report = run_builtin("logical-decoding", seed);
        assert!(report.passed(), "seed {seed}: {:?}", report.verdicts);
        let db = &report.history.databases["db-1"];
        let returned: Vec<_> = db.deliveries.iter().flat_map(|d| &d.xids).collect();
        let distinct: std::collections::BTreeSet<_> = returned.iter().collect();
        assert!(
            returned.len() > distinct.len(),
            "seed {seed}: no transaction was returned twice"
        );
    }
}
