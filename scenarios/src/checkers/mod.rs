//! Checkers: named judgements over a run's history, each named after its source so users can
//! look it up (Jepsen's Kafka workload; the durability promises of fsync and log recovery;
//! the TLA+ specs of Kafka replication; the fencing of consumer groups).

pub mod compaction;
pub mod database;
pub mod durability;
pub mod groups;
pub mod history;
pub mod jepsen;
pub mod pipeline;
pub mod replication;
pub mod retention;
pub mod schemas;
pub mod stages;

use history::History;

/// A checker: its name, what it looks for, and the function that finds it.
pub struct Checker {
    /// The name scenarios use in `[expect]`.
    pub name: &'static str,
    /// One line on what it finds.
    pub about: &'static str,
    /// Returns the findings (empty: the anomaly did not occur).
    pub check: fn(&History) -> Vec<String>,
    /// Whether it judges the run's end state ("never polled by the end", "on the leader at
    /// the end"): its findings are proven only when the run ends, never by a prefix.
    pub at_end: bool,
}

/// Every checker, in the order reports list them.
pub const CHECKERS: &[Checker] = &[
    Checker {
        name: "lost-write",
        about: "an acknowledged record below the highest polled offset was never polled (Jepsen)",
        check: jepsen::lost_write,
        at_end: true,
    },
    Checker {
        name: "unseen",
        about: "an acknowledged record was never polled by the end of the run (Jepsen)",
        check: jepsen::unseen,
        at_end: true,
    },
    Checker {
        name: "inconsistent-offsets",
        about: "one offset of one partition was seen holding two different values (Jepsen)",
        check: jepsen::inconsistent_offsets,
        at_end: false,
    },
    Checker {
        name: "duplicate",
        about: "one value was seen at two offsets (Jepsen)",
        check: jepsen::duplicate,
        at_end: false,
    },
    Checker {
        name: "nonmonotonic-poll",
        about: "a consumer's successive polls of a partition went backwards (Jepsen)",
        check: jepsen::nonmonotonic_poll,
        at_end: false,
    },
    Checker {
        name: "poll-skip",
        about: "a consumer's successive polls of a partition jumped over offsets; allowed across rebalances under subscribe, never under assign (Jepsen)",
        check: jepsen::poll_skip,
        at_end: false,
    },
    Checker {
        name: "nonmonotonic-send",
        about: "a producer's later send landed at a lower offset of the same partition (Jepsen)",
        check: jepsen::nonmonotonic_send,
        at_end: false,
    },
    Checker {
        name: "group-ownership",
        about: "no partition is assigned to two members of a group in the same generation",
        check: groups::group_ownership,
        at_end: false,
    },
    Checker {
        name: "fenced-commit",
        about: "no offset commit is accepted from a generation that is not the group's current one, or from a member not in it",
        check: groups::fenced_commit,
        at_end: false,
    },
    Checker {
        name: "commit-monotonic",
        about: "a group's committed offset of a partition never moves backwards, except after an explicit position reset",
        check: groups::commit_monotonic,
        at_end: false,
    },
    Checker {
        name: "fsynced-survives",
        about: "every record fsynced before a crash is still in the log after recovery",
        check: durability::fsynced_survives,
        at_end: true,
    },
    Checker {
        name: "no-corrupt-read",
        about: "no consumer was served a batch failing its CRC, or a value nobody sent",
        check: durability::no_corrupt_read,
        at_end: false,
    },
    Checker {
        name: "NoCommittedRecordLost",
        about: "every record acknowledged with acks=all is on the leader at the end (Kafka TLA+ specs)",
        check: replication::no_committed_record_lost,
        at_end: true,
    },
    Checker {
        name: "LogMatching",
        about: "two replicas with a record of the same epoch at an offset agree on all before it (Kafka TLA+ specs)",
        check: replication::log_matching,
        at_end: true,
    },
    Checker {
        name: "LeaderCompleteness",
        about: "a new leader's log reaches every offset committed before its election (Kafka TLA+ specs)",
        check: replication::leader_completeness,
        at_end: false,
    },
    Checker {
        name: "hw-monotonic",
        about: "the high watermark a consumer sees never goes backwards (only unclean election moves it back)",
        check: replication::hw_monotonic,
        at_end: false,
    },
    Checker {
        name: "lost-commit",
        about: "a COMMIT that returned (synchronous_commit other than off) is missing after crash recovery",
        check: database::lost_commit,
        at_end: false,
    },
    Checker {
        name: "lost-async-commit",
        about: "a COMMIT that returned with synchronous_commit=off is missing after crash recovery (the window PostgreSQL documents)",
        check: database::lost_async_commit,
        at_end: false,
    },
    Checker {
        name: "failover-lost-commit",
        about: "a COMMIT acknowledged while it waited for a synchronous standby is missing on that standby once promoted",
        check: database::failover_lost_commit,
        at_end: false,
    },
    Checker {
        name: "failover-lost-async-commit",
        about: "a COMMIT acknowledged by a primary is missing on its asynchronous standby once promoted (the window PostgreSQL documents)",
        check: database::failover_lost_async_commit,
        at_end: false,
    },
    Checker {
        name: "slot-delivery",
        about: "a logical replication slot returns surviving commits only, in commit order, none skipped (redelivery after a crash allowed)",
        check: database::slot_delivery,
        at_end: false,
    },
    Checker {
        name: "db-state",
        about: "a database's tables at the end are exactly what its surviving commits wrote, in commit order",
        check: database::db_state,
        at_end: true,
    },
    Checker {
        name: "warehouse-converges",
        about: "at the end, the warehouse a sink connector keeps equals the source table, key by key",
        check: pipeline::warehouse_converges,
        at_end: true,
    },
    Checker {
        name: "lost-change",
        about: "every change a surviving commit made after the connector's snapshot reached the sink at least once",
        check: pipeline::lost_change,
        at_end: true,
    },
    Checker {
        name: "aborted-downstream",
        about: "no change of a rolled-back (or crash-lost) transaction ever reaches the sink",
        check: pipeline::aborted_downstream,
        at_end: false,
    },
    Checker {
        name: "key-order",
        about: "the sink sees each key's changes for the first time in LSN order (redelivery allowed)",
        check: pipeline::key_order,
        at_end: false,
    },
    Checker {
        name: "schema-compatible",
        about: "every version a schema registry added is compatible with the subject's earlier ones under the mode in force then (Confluent's rules)",
        check: schemas::schema_compatible,
        at_end: false,
    },
    Checker {
        name: "schema-registered",
        about: "every framed change event names a schema id a registry gave for its topic's subject before it was written",
        check: schemas::schema_registered,
        at_end: false,
    },
    Checker {
        name: "aggregate-converges",
        about: "at the end, an aggregate stage's output holds, for every group, the count and sum the source table gives",
        check: stages::aggregate_converges,
        at_end: true,
    },
    Checker {
        name: "retention-below-hw",
        about: "retention deletes segments only below the replica's high watermark",
        check: retention::retention_below_hw,
        at_end: false,
    },
    Checker {
        name: "latest-value",
        about: "a compacted topic keeps the latest value of every live key: whatever a log cleaner removed, a later record of its key supersedes",
        check: compaction::latest_value,
        at_end: true,
    },
    Checker {
        name: "offsets-dense",
        about: "final logs and each consumer's polls have dense, increasing offsets, except where a log cleaner removed records",
        check: durability::offsets_dense,
        at_end: true,
    },
];

/// Whether `name` is a checker.
pub fn is_known(name: &str) -> bool {
    CHECKERS.iter().any(|c| c.name == name)
}

/// The checker called `name`.
pub fn find(name: &str) -> Option<&'static Checker> {
    CHECKERS.iter().find(|c| c.name == name)
}
