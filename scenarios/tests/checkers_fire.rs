//! Every checker, shown able to fire.
//!
//! A checker that never reports anything looks exactly like a system that never misbehaves.
//! So for each checker in [`CHECKERS`] this file builds, by hand, the smallest [`History`]
//! that holds exactly the anomaly the checker is named after, and asserts two things: the
//! checker reports it (naming the offending record, offset or member), and the same history
//! with the anomaly repaired — one line changed — gives no finding. The last test fails when
//! a checker is added to `CHECKERS` without a case here.
//!
//! The histories use only `History`'s public fields and its `push_*` helpers, so these tests
//! keep working when the history is built from a saved trace instead of node internals.
//! Each case is one function `fn(repaired: bool) -> History`: read it as "the story, and the
//! one thing that goes wrong in it".

use kafkasim_core::client::consumer::PolledRecord;
use kafkasim_core::connect::envelope::{Op, Position};
use kafkasim_core::connect::sink::{WarehouseRow, WarehouseRows};
use kafkasim_core::database::heap::{Rows, Value};
use kafkasim_core::database::wal::Lsn;
use kafkasim_core::database::{RowChange, SynchronousCommit};
use kafkasim_core::ids::TopicPartition;
use kafkasim_core::registry::compatibility::{AvroType, Compatibility, RecordSchema};
use kafkasim_core::registry::server::Event as RegistryEvent;
use kafkasim_core::stage::transform::Transform;
use kafkasim_core::time::Instant;
use kafkasim_scenarios::checkers::CHECKERS;
use kafkasim_scenarios::checkers::compaction::CompactedReplica;
use kafkasim_scenarios::checkers::database::{DatabaseHistory, DbCommit, Delivery};
use kafkasim_scenarios::checkers::history::{
    Acked, Assignment, CommitAppended, CommittedKind, CommittedOffsets, ConsumerStep, Crash,
    Election, GenerationStarted, History, Poll, Sent,
};
use kafkasim_scenarios::checkers::pipeline::{SinkRead, Warehouse};
use kafkasim_scenarios::checkers::retention::Deletion;
use kafkasim_scenarios::checkers::schemas::Framed;
use kafkasim_scenarios::checkers::stages::StageFacts;
use kafkasim_scenarios::logs::LoggedRecord;
use kafkasim_sim::trace::CrashKind;
use std::collections::BTreeMap;

// ---------------------------------------------------------------------------------------------
// Small constructors: each adds one thing to the history.

fn at(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

fn orders(partition: i32) -> TopicPartition {
    TopicPartition::new("orders", partition)
}

/// `producer` sends record `id` with `value` at `ms`.
fn send(h: &mut History, producer: &str, id: u64, value: &str, ms: u64) {
    h.sent.insert(
        id,
        Sent {
            producer: producer.into(),
            value: value.into(),
            time: at(ms),
        },
    );
}

/// Record `id` is acknowledged at `orders-0@offset` at `ms`.
fn ack(h: &mut History, id: u64, offset: i64, ms: u64) {
    h.acked.push(Acked {
        record_id: id,
        partition: orders(0),
        offset,
        time: at(ms),
    });
}

/// `producer-1` sends record `id` = `value` and hears it landed at `orders-0@offset`.
fn produce(h: &mut History, id: u64, value: &str, offset: i64) {
    send(h, "producer-1", id, value, id * 10);
    ack(h, id, offset, id * 10 + 5);
}

/// `consumer` polls `orders-0` and gets `records` (offset, value), the leader reporting high
/// watermark `high_watermark`.
fn poll_hw(h: &mut History, consumer: &str, records: &[(i64, &str)], high_watermark: i64) {
    h.consumer_order.push(ConsumerStep::Poll(h.polls.len()));
    h.polls.push(Poll {
        consumer: consumer.into(),
        time: at(1000 + h.polls.len() as u64),
        partition: orders(0),
        records: records
            .iter()
            .map(|(offset, value)| PolledRecord {
                offset: *offset,
                key: None,
                value: value.to_string(),
                schema_id: None,
            })
            .collect(),
        high_watermark,
    });
}

/// `consumer` polls `records` of `orders-0`; the high watermark is past them.
fn poll(h: &mut History, consumer: &str, records: &[(i64, &str)]) {
    let hw = records.last().map_or(0, |(o, _)| o + 1);
    poll_hw(h, consumer, records, hw);
}

/// `consumer` polls offsets `offsets` of `orders-0`, values `v<offset>` (each one sent).
fn poll_offsets(h: &mut History, consumer: &str, offsets: &[i64]) {
    let values: Vec<(i64, String)> = offsets.iter().map(|o| (*o, format!("v{o}"))).collect();
    for (o, v) in &values {
        send(h, "producer-1", 100 + *o as u64, v, 0);
    }
    let records: Vec<(i64, &str)> = values.iter().map(|(o, v)| (*o, v.as_str())).collect();
    poll(h, consumer, &records);
}

/// `consumer` of group `billing` is assigned `partitions` as `member` in `generation`.
fn assign(h: &mut History, consumer: &str, member: &str, generation: i32, partitions: &[i32]) {
    h.assignments.push(Assignment {
        group: "billing".into(),
        consumer: consumer.into(),
        member_id: member.into(),
        generation,
        time: at(1000),
        partitions: partitions.iter().map(|p| orders(*p)).collect(),
    });
}

/// `broker-1` starts generation `generation` of `billing` with `members`.
fn generation(h: &mut History, generation: i32, members: &[&str]) {
    h.push_generation(GenerationStarted {
        time: at(1000 + generation as u64),
        node: "broker-1".into(),
        group: "billing".into(),
        generation,
        members: members.iter().map(|m| m.to_string()).collect(),
    });
}

/// `broker-1` appends `member`'s commit of `orders-0@offset` made in `generation`.
fn commit_appended(h: &mut History, member: &str, generation: i32, offset: i64) {
    h.push_commit_appended(CommitAppended {
        time: at(2000),
        node: "broker-1".into(),
        group: "billing".into(),
        member: member.into(),
        generation,
        offsets: vec![(orders(0), offset)],
    });
}

/// `node` now serves `orders-0@offset` as billing's committed offset.
fn committed(h: &mut History, node: &str, kind: CommittedKind, offset: i64, ms: u64) {
    h.push_committed(CommittedOffsets {
        time: at(ms),
        node: node.into(),
        group: "billing".into(),
        offsets: vec![(orders(0), offset)],
        kind,
    });
}

/// `node`'s final log of `orders-0`: (offset, value, leader epoch).
fn final_log(h: &mut History, node: &str, records: &[(i64, &str, i32)]) {
    let log: BTreeMap<i64, String> = records
        .iter()
        .map(|(o, v, _)| (*o, v.to_string()))
        .collect();
    let epochs: BTreeMap<i64, i32> = records.iter().map(|(o, _, e)| (*o, *e)).collect();
    h.final_logs
        .entry(node.into())
        .or_default()
        .insert(orders(0), log);
    h.final_epochs
        .entry(node.into())
        .or_default()
        .insert(orders(0), epochs);
}

// ---------------------------------------------------------------------------------------------
// One case per checker: the history with its anomaly, or (repaired) without it.

/// Acknowledged `m2` at offset 1 is never polled, though polls reached offset 2.
fn lost_write(repaired: bool) -> History {
    let mut h = History::default();
    produce(&mut h, 1, "m1", 0);
    produce(&mut h, 2, "m2", 1);
    produce(&mut h, 3, "m3", 2);
    if repaired {
        poll(&mut h, "consumer-1", &[(0, "m1"), (1, "m2"), (2, "m3")]);
    } else {
        poll(&mut h, "consumer-1", &[(0, "m1"), (2, "m3")]);
    }
    h
}

/// Acknowledged `m2` at offset 1 is never polled by the end (polls stop at offset 0).
fn unseen(repaired: bool) -> History {
    let mut h = History::default();
    produce(&mut h, 1, "m1", 0);
    produce(&mut h, 2, "m2", 1);
    poll(&mut h, "consumer-1", &[(0, "m1")]);
    if repaired {
        poll(&mut h, "consumer-1", &[(1, "m2")]);
    }
    h
}

/// `m1` was acknowledged at offset 0, but a consumer read `stray` there.
fn inconsistent_offsets(repaired: bool) -> History {
    let mut h = History::default();
    produce(&mut h, 1, "m1", 0);
    send(&mut h, "producer-1", 2, "stray", 20);
    let read = if repaired { "m1" } else { "stray" };
    poll(&mut h, "consumer-1", &[(0, read)]);
    h
}

/// `m1` is seen at offsets 0 and 1 (a retried send written twice).
fn duplicate(repaired: bool) -> History {
    let mut h = History::default();
    produce(&mut h, 1, "m1", 0);
    produce(&mut h, 2, "m2", 2);
    let at_1 = if repaired { "m3" } else { "m1" };
    poll(&mut h, "consumer-1", &[(0, "m1"), (1, at_1), (2, "m2")]);
    h
}

/// consumer-1 polls offset 1 again right after offset 1.
fn nonmonotonic_poll(repaired: bool) -> History {
    let mut h = History::default();
    poll_offsets(&mut h, "consumer-1", &[0, 1]);
    let next: &[i64] = if repaired { &[2, 3] } else { &[1, 2] };
    poll_offsets(&mut h, "consumer-1", next);
    h
}

/// consumer-1 (under assign) jumps from offset 1 to offset 3.
fn poll_skip(repaired: bool) -> History {
    let mut h = History::default();
    poll_offsets(&mut h, "consumer-1", &[0, 1]);
    poll_offsets(&mut h, "consumer-1", if repaired { &[2, 3] } else { &[3] });
    h
}

/// producer-1's record 2, sent after record 1, lands before it.
fn nonmonotonic_send(repaired: bool) -> History {
    let mut h = History::default();
    produce(&mut h, 1, "m1", 5);
    produce(&mut h, 2, "m2", if repaired { 6 } else { 4 });
    h
}

/// consumer-1 and consumer-2 both own orders-0 in generation 1.
fn group_ownership(repaired: bool) -> History {
    let mut h = History::default();
    assign(&mut h, "consumer-1", "member-1", 1, &[0]);
    let partition = if repaired { 1 } else { 0 };
    assign(&mut h, "consumer-2", "member-2", 1, &[partition]);
    h
}

/// Zombie member-1 commits with generation 2 after generation 3 started without it.
fn fenced_commit(repaired: bool) -> History {
    let mut h = History::default();
    generation(&mut h, 2, &["member-1", "member-2"]);
    if repaired {
        commit_appended(&mut h, "member-1", 2, 42);
    }
    generation(&mut h, 3, &["member-2", "member-3"]);
    if !repaired {
        commit_appended(&mut h, "member-1", 2, 42);
    }
    h
}

/// billing's committed offset of orders-0 goes from 42 back to 17 when broker-2 loads it.
fn commit_monotonic(repaired: bool) -> History {
    let mut h = History::default();
    committed(&mut h, "broker-1", CommittedKind::Committed, 42, 1000);
    let loaded = if repaired { 42 } else { 17 };
    committed(&mut h, "broker-2", CommittedKind::Loaded, loaded, 2000);
    h
}

/// broker-1 had fsynced offsets 0..2 when it lost power; after recovery offset 1 (`m2`) is
/// gone. Offset 2 was not fsynced: losing it is allowed, in both versions.
fn fsynced_survives(repaired: bool) -> History {
    let mut h = History::default();
    produce(&mut h, 1, "m1", 0);
    produce(&mut h, 2, "m2", 1);
    produce(&mut h, 3, "m3", 2);
    h.crashes.push(Crash {
        node: "broker-1".into(),
        time: at(500),
        how: CrashKind::Power,
        recovery_points: [(orders(0), 2)].into_iter().collect(),
        held: BTreeMap::new(),
    });
    if repaired {
        final_log(&mut h, "broker-1", &[(0, "m1", 0), (1, "m2", 0)]);
    } else {
        final_log(&mut h, "broker-1", &[(0, "m1", 0)]);
    }
    h
}

/// consumer-1 is served a batch at offset 3 that fails its CRC.
fn no_corrupt_read(repaired: bool) -> History {
    let mut h = History::default();
    poll_offsets(&mut h, "consumer-1", &[0, 1, 2]);
    if !repaired {
        let detail = "CRC32C mismatch: stored 0x1234abcd, computed 0x00000000".to_string();
        h.corrupt.push(("consumer-1".into(), orders(0), 3, detail));
    }
    h
}

/// consumer-1 polls a value `garbage` that no producer sent.
fn no_corrupt_read_unsent(repaired: bool) -> History {
    let mut h = History::default();
    produce(&mut h, 1, "m1", 0);
    let read = if repaired { "m1" } else { "garbage" };
    poll(&mut h, "consumer-1", &[(0, read)]);
    h
}

/// `m1` was acknowledged with acks=all at offset 0; the final leader broker-2 does not have it.
fn no_committed_record_lost(repaired: bool) -> History {
    let mut h = History::default();
    produce(&mut h, 1, "m1", 0);
    produce(&mut h, 2, "m2", 1);
    h.acks_all.insert(1);
    h.final_leaders.insert(orders(0), "broker-2".into());
    let first = if repaired { "m1" } else { "stray" };
    final_log(&mut h, "broker-2", &[(0, first, 1), (1, "m2", 1)]);
    h
}

/// broker-1 and broker-2 both hold offset 1 in epoch 1, yet disagree at offset 0.
fn log_matching(repaired: bool) -> History {
    let mut h = History::default();
    final_log(&mut h, "broker-1", &[(0, "m1", 0), (1, "m2", 1)]);
    let first = if repaired { "m1" } else { "stray" };
    final_log(&mut h, "broker-2", &[(0, first, 0), (1, "m2", 1)]);
    h
}

/// broker-3 becomes leader in epoch 2 with log end 3, below the committed offset 5.
fn leader_completeness(repaired: bool) -> History {
    let mut h = History::default();
    h.elections.push(Election {
        time: at(3000),
        node: "broker-3".into(),
        partition: orders(0),
        leader_epoch: 2,
        log_end_offset: if repaired { 5 } else { 3 },
        committed_before: 5,
    });
    h
}

/// consumer-1 sees the high watermark go from 10 back to 7 (an unclean election, say).
fn hw_monotonic(repaired: bool) -> History {
    let mut h = History::default();
    send(&mut h, "producer-1", 1, "m1", 0);
    send(&mut h, "producer-1", 2, "m2", 0);
    poll_hw(&mut h, "consumer-1", &[(0, "m1")], 10);
    let second = if repaired { 12 } else { 7 };
    poll_hw(&mut h, "consumer-1", &[(1, "m2")], second);
    h
}

/// broker-1's final log jumps from offset 1 to offset 3.
fn offsets_dense(repaired: bool) -> History {
    let mut h = History::default();
    let third = if repaired { 2 } else { 3 };
    let records = [(0, "m1", 0), (1, "m2", 0), (third, "m3", 0)];
    final_log(&mut h, "broker-1", &records);
    h
}

/// consumer-1's successive polls jump from offset 1 to offset 3.
fn offsets_dense_polls(repaired: bool) -> History {
    let mut h = History::default();
    poll_offsets(&mut h, "consumer-1", &[0, 1]);
    poll_offsets(&mut h, "consumer-1", &[if repaired { 2 } else { 3 }]);
    h
}

// ---------------------------------------------------------------------------------------------
// The table and the tests.

// ---------------------------------------------------------------------------------------------
// Databases: one commit of `db-1`, acknowledged or not, lost or not, and its final table.

/// `db-1` (with `synchronous_commit`) committed transaction 7 (xid 42) inserting order 1 at
/// 100 ms, acknowledged at 102 ms; `lost` says whether the recovery at 500 ms lost it; the
/// table at the end holds `final_row`.
fn database(synchronous_commit: SynchronousCommit, lost: bool, final_row: Option<&str>) -> History {
    let row = |who: &str| vec![Value::Int(1), Value::Text(who.into())];
    let commit = DbCommit {
        txn: 7,
        xid: 42,
        lsn: Lsn(100),
        time: at(100),
        changes: vec![RowChange::Insert {
            table: "orders".into(),
            row: row("ada"),
        }],
        acknowledged: Some(at(102)),
        lost_at: lost.then_some((at(500), Some(41))),
        replayed: false,
    };
    let rows: Rows = final_row.map(|who| (1, row(who))).into_iter().collect();
    let db = DatabaseHistory {
        synchronous_commit,
        commits: vec![commit],
        rolled_back: Vec::new(),
        final_tables: Some([("orders".to_string(), rows)].into()),
        ..DatabaseHistory::default()
    };
    let mut h = History::default();
    h.databases.insert("db-1".into(), db);
    h
}

/// db-1 acknowledged xid 42 at 102 ms; its standby db-2, promoted at 300 ms, replayed it
/// only if `replicated`. With `synchronous`, db-1's commits waited for db-2.
fn failover(synchronous: bool, replicated: bool) -> History {
    let mut h = database(SynchronousCommit::On, false, Some("ada"));
    let primary = h.databases.get_mut("db-1").expect("db-1");
    if synchronous {
        primary.synchronous_standby_names = vec!["db-2".into()];
    }
    let mut replay = primary.commits[0].clone();
    (replay.replayed, replay.acknowledged, replay.time) = (true, None, at(150));
    let standby = DatabaseHistory {
        synchronous_commit: SynchronousCommit::On,
        commits: if replicated { vec![replay] } else { Vec::new() },
        primary: Some("db-1".into()),
        promoted_at: Some(at(300)),
        ..DatabaseHistory::default()
    };
    h.databases.insert("db-2".into(), standby);
    h
}

fn failover_lost_commit(repaired: bool) -> History {
    failover(true, repaired)
}

fn failover_lost_async_commit(repaired: bool) -> History {
    failover(false, repaired)
}

/// A synchronous commit that returned is gone after recovery.
fn lost_commit(repaired: bool) -> History {
    database(SynchronousCommit::On, !repaired, repaired.then_some("ada"))
}

/// An asynchronous commit that returned is gone after recovery.
fn lost_async_commit(repaired: bool) -> History {
    database(SynchronousCommit::Off, !repaired, repaired.then_some("ada"))
}

/// The slot `cdc` returns xid 43 before xid 42, the commit before it: 42 is skipped.
fn slot_delivery(repaired: bool) -> History {
    let mut h = database(SynchronousCommit::On, false, Some("ada"));
    let db = h.databases.get_mut("db-1").expect("db-1");
    let mut second = db.commits[0].clone();
    (second.txn, second.xid, second.time) = (8, 43, at(200));
    db.commits.push(second);
    let xids = if repaired { vec![42, 43] } else { vec![43] };
    db.deliveries.push(Delivery {
        time: at(300),
        slot: "cdc".into(),
        xids,
    });
    h
}

/// The table at the end holds a value no surviving commit wrote.
fn db_state(repaired: bool) -> History {
    database(
        SynchronousCommit::On,
        false,
        Some(if repaired { "ada" } else { "eve" }),
    )
}

// ---------------------------------------------------------------------------------------------
// Pipelines: `db-1`'s commit of xid 42 (order 1 by "ada", LSN 100) and the warehouse `orders`
// a sink task kept from it, after a snapshot at LSN 50.

/// A sink read of key 1 from `xid` at `lsn`.
fn read(xid: Option<u32>, lsn: u64, op: Op) -> SinkRead {
    SinkRead {
        time: at(300),
        task: "warehouse-0".into(),
        key: 1,
        op,
        position: Position {
            lsn: Lsn(lsn),
            change: op != Op::Read,
        },
        xid,
    }
}

/// The pipeline's history: the database of [`database`], and a warehouse that read `reads`
/// and holds `final_row` for order 1 at the end.
fn pipeline(reads: Vec<SinkRead>, final_row: Option<&str>) -> History {
    let mut h = database(SynchronousCommit::On, false, Some("ada"));
    let rows: WarehouseRows = final_row
        .map(|who| {
            let row = Some(vec![Value::Int(1), Value::Text(who.into())]);
            let position = Position {
                lsn: Lsn(100),
                change: true,
            };
            (1, WarehouseRow { position, row })
        })
        .into_iter()
        .collect();
    let warehouse = Warehouse {
        table: "orders".into(),
        topic: "shop.public.orders".into(),
        database: Some("db-1".into()),
        source: Some("shop-source-0".into()),
        snapshot_lsn: Some(Lsn(50)),
        reads,
        final_rows: Some(rows),
        down_at_end: Vec::new(),
        resent: Default::default(),
        filters: Vec::new(),
    };
    h.warehouses.insert("orders".into(), warehouse);
    h
}

/// The warehouse ends with "eve" where the source table has "ada".
fn warehouse_converges(repaired: bool) -> History {
    let reads = vec![read(Some(42), 100, Op::Create)];
    pipeline(reads, Some(if repaired { "ada" } else { "eve" }))
}

/// xid 42's insert, committed after the snapshot, never reached the sink.
fn lost_change(repaired: bool) -> History {
    let reads = if repaired {
        vec![read(Some(42), 100, Op::Create)]
    } else {
        vec![read(None, 50, Op::Read)]
    };
    pipeline(reads, Some("ada"))
}

/// The sink read a change of xid 77, which db-1 never committed.
fn aborted_downstream(repaired: bool) -> History {
    let mut reads = vec![read(Some(42), 100, Op::Create)];
    if !repaired {
        reads.push(read(Some(77), 120, Op::Update));
    }
    pipeline(reads, Some("ada"))
}

/// The sink read key 1's change at LSN 90 for the first time after its change at LSN 100.
fn key_order(repaired: bool) -> History {
    let (a, b) = if repaired { (90, 100) } else { (100, 90) };
    let reads = vec![read(Some(42), a, Op::Create), read(Some(42), b, Op::Update)];
    pipeline(reads, Some("ada"))
}

/// broker-2 deleted orders-0 up to offset 6 while its high watermark was 4.
fn retention_below_hw(repaired: bool) -> History {
    let mut h = History::default();
    h.deletions.push(Deletion {
        time: Instant::from_millis(9000),
        node: "broker-2".into(),
        partition: orders(0),
        log_start_offset: if repaired { 3 } else { 6 },
        high_watermark: 4,
    });
    h
}

/// One replica's log record: `key` = `value`, in epoch 0.
fn logged(key: &str, value: &str) -> LoggedRecord {
    LoggedRecord {
        leader_epoch: 0,
        value: value.into(),
        key: Some(key.into()),
        tombstone: false,
    }
}

/// broker-1's cleaner removed key a's record at offset 0 (a1) — and the later a2 at offset 2
/// is not in its log either: a's latest value is gone.
fn latest_value(repaired: bool) -> History {
    let mut h = History::default();
    let mut log = BTreeMap::from([(1, logged("b", "b1"))]);
    if repaired {
        log.insert(2, logged("a", "a2"));
    }
    h.compacted.push(CompactedReplica {
        node: "broker-1".into(),
        partition: orders(0),
        log,
        removed: BTreeMap::from([(0, logged("a", "a1"))]),
    });
    h
}

/// The stage `totals` counts orders per customer of db-1's orders; the table holds two of
/// ada's (40 + 2), the topic's latest record for ada says one (40) — repaired, both.
fn aggregate_converges(repaired: bool) -> History {
    let mut h = History::default();
    let row = |id: i64, amount: i64| {
        vec![
            Value::Int(id),
            Value::Text("ada".into()),
            Value::Int(amount),
        ]
    };
    let rows: Rows = [(1, row(1, 40)), (2, row(2, 2))].into();
    h.databases.insert(
        "db-1".into(),
        DatabaseHistory {
            final_tables: Some([("orders".to_string(), rows)].into()),
            ..DatabaseHistory::default()
        },
    );
    let transform = Transform::Aggregate {
        group_by: "customer".into(),
        group_position: 1,
        sum: "amount".into(),
        sum_position: 2,
    };
    h.stages.push(StageFacts {
        name: "totals".into(),
        output: "orders-by-customer".into(),
        transform,
        source: Some(("db-1".into(), "orders".into())),
        filters: Vec::new(),
    });
    let tp = TopicPartition::new("orders-by-customer", 0);
    h.final_leaders.insert(tp.clone(), "broker-1".into());
    let latest = if repaired {
        r#"{"amount":42,"count":2,"customer":"ada"}"#
    } else {
        r#"{"amount":40,"count":1,"customer":"ada"}"#
    };
    let log = BTreeMap::from([
        (0, r#"{"amount":40,"count":1,"customer":"ada"}"#.to_string()),
        (1, latest.to_string()),
    ]);
    h.final_logs
        .insert("broker-1".into(), BTreeMap::from([(tp, log)]));
    h
}

/// A row schema of `orders` with these required fields.
fn row_schema(fields: &[(&str, AvroType)]) -> RecordSchema {
    RecordSchema::required("shop.public.orders.Value", fields)
}

fn registered(h: &mut History, ms: u64, id: i32, schema: RecordSchema, mode: Compatibility) {
    h.schemas.events.push((
        at(ms),
        "registry-1".into(),
        RegistryEvent::Registered {
            subject: "shop.public.orders-value".into(),
            version: id as usize,
            id,
            schema,
            compatibility: mode,
            new: true,
        },
    ));
}

/// registry-1 (BACKWARD) gave version 2 to a schema whose `amount` changed from int to string;
/// repaired, an operator had set the subject to NONE first.
fn schema_compatible(repaired: bool) -> History {
    let mut h = History::default();
    h.schemas
        .defaults
        .insert("registry-1".into(), Compatibility::Backward);
    let v1 = row_schema(&[("id", AvroType::Int), ("amount", AvroType::Int)]);
    let v2 = row_schema(&[("id", AvroType::Int), ("amount", AvroType::String)]);
    registered(&mut h, 1000, 1, v1, Compatibility::Backward);
    let mode = if repaired {
        let set = RegistryEvent::CompatibilitySet {
            subject: "shop.public.orders-value".into(),
            compatibility: Compatibility::None,
        };
        h.schemas.events.push((at(1500), "registry-1".into(), set));
        Compatibility::None
    } else {
        Compatibility::Backward
    };
    registered(&mut h, 2000, 2, v2, mode);
    h
}

/// shop-source-0 wrote an event framed with id 2 at 1.5 s; the registry gave id 2 at 2 s
/// (repaired: at 1 s).
fn schema_registered(repaired: bool) -> History {
    let mut h = History::default();
    let v1 = row_schema(&[("id", AvroType::Int)]);
    registered(
        &mut h,
        if repaired { 1000 } else { 2000 },
        2,
        v1,
        Compatibility::Backward,
    );
    h.schemas.framed.push(Framed {
        time: at(1500),
        task: "shop-source-0".into(),
        topic: "shop.public.orders".into(),
        id: 2,
    });
    h
}

/// On a compacted topic a key's last live change must still arrive: compaction keeps it. But
/// a change the source sent twice may be read first as its second copy, behind newer ones.
#[test]
fn compaction_excuses_only_what_it_may_remove() {
    let compacted = |mut h: History| {
        let tp = TopicPartition::new("shop.public.orders", 0);
        h.compacted_offsets.insert(tp, [3].into());
        h
    };
    let h = compacted(lost_change(false));
    assert!(
        !check("lost-change", &h).is_empty(),
        "key 1's only change is its last"
    );
    let mut h = compacted(key_order(false));
    assert!(!check("key-order", &h).is_empty());
    for w in h.warehouses.values_mut() {
        w.resent.insert(42);
    }
    assert_eq!(check("key-order", &h), Vec::<String>::new());
}

/// A poll that steps over an offset the cleaner removed is no skip.
#[test]
fn a_gap_a_log_cleaner_left_is_no_skip() {
    let mut h = poll_skip(false);
    assert!(!check("poll-skip", &h).is_empty());
    h.compacted_offsets.insert(orders(0), [2].into());
    assert_eq!(check("poll-skip", &h), Vec::<String>::new());
}

struct Case {
    /// The checker's name in `CHECKERS`.
    checker: &'static str,
    /// The history: with its anomaly (`false`) or repaired (`true`).
    history: fn(bool) -> History,
    /// At least one finding must mention all of these: the offending record, offset, member.
    mentions: &'static [&'static str],
}

#[rustfmt::skip]
const CASES: &[Case] = &[
    Case { checker: "lost-write", history: lost_write, mentions: &["m2", "orders-0@1"] },
    Case { checker: "unseen", history: unseen, mentions: &["m2", "orders-0@1"] },
    Case { checker: "inconsistent-offsets", history: inconsistent_offsets, mentions: &["orders-0@0", "m1", "stray"] },
    Case { checker: "duplicate", history: duplicate, mentions: &["m1", "orders-0@0", "orders-0@1"] },
    Case { checker: "nonmonotonic-poll", history: nonmonotonic_poll, mentions: &["consumer-1", "orders-0@1 after 1"] },
    Case { checker: "poll-skip", history: poll_skip, mentions: &["consumer-1", "orders-0@3", "2..=2"] },
    Case { checker: "nonmonotonic-send", history: nonmonotonic_send, mentions: &["producer-1", "record 2", "orders-0@4"] },
    Case { checker: "group-ownership", history: group_ownership, mentions: &["orders-0", "consumer-1", "consumer-2", "generation 1"] },
    Case { checker: "fenced-commit", history: fenced_commit, mentions: &["member-1", "generation 2", "generation 3"] },
    Case { checker: "commit-monotonic", history: commit_monotonic, mentions: &["orders-0", "from 42", "to 17", "broker-2"] },
    Case { checker: "fsynced-survives", history: fsynced_survives, mentions: &["m2", "orders-0@1", "broker-1", "recovery point 2"] },
    Case { checker: "no-corrupt-read", history: no_corrupt_read, mentions: &["consumer-1", "orders-0@3", "CRC32C"] },
    Case { checker: "lost-commit", history: lost_commit, mentions: &["db-1", "xid 42", "synchronous_commit=on", "ended at xid 41"] },
    Case { checker: "lost-async-commit", history: lost_async_commit, mentions: &["db-1", "xid 42", "synchronous_commit=off"] },
    Case { checker: "failover-lost-commit", history: failover_lost_commit, mentions: &["db-2", "promoted at 0.300s", "db-1", "xid 42", "synchronous standby"] },
    Case { checker: "failover-lost-async-commit", history: failover_lost_async_commit, mentions: &["db-2", "db-1", "xid 42", "asynchronous standby"] },
    Case { checker: "slot-delivery", history: slot_delivery, mentions: &["db-1", "slot cdc", "xid 43", "skipped xid 42"] },
    Case { checker: "db-state", history: db_state, mentions: &["db-1", "public.orders row 1", "eve", "ada"] },
    Case { checker: "warehouse-converges", history: warehouse_converges, mentions: &["warehouse orders", "db-1", "key 1", "'ada'", "'eve'"] },
    Case { checker: "lost-change", history: lost_change, mentions: &["warehouse orders", "LSN 0/32", "xid 42 key 1"] },
    Case { checker: "aborted-downstream", history: aborted_downstream, mentions: &["warehouse-0", "xid 77", "key 1"] },
    Case { checker: "key-order", history: key_order, mentions: &["warehouse-0", "key 1", "LSN 0/5A", "after LSN 0/64"] },
    Case { checker: "no-corrupt-read", history: no_corrupt_read_unsent, mentions: &["consumer-1", "orders-0@0", "garbage"] },
    Case { checker: "NoCommittedRecordLost", history: no_committed_record_lost, mentions: &["m1", "orders-0@0", "broker-2 holds stray"] },
    Case { checker: "LogMatching", history: log_matching, mentions: &["broker-1", "broker-2", "orders-0@1", "offset 0", "stray"] },
    Case { checker: "LeaderCompleteness", history: leader_completeness, mentions: &["broker-3", "epoch 2", "log end 3", "5"] },
    Case { checker: "hw-monotonic", history: hw_monotonic, mentions: &["consumer-1", "from 10 back to 7"] },
    Case { checker: "retention-below-hw", history: retention_below_hw, mentions: &["broker-2", "orders-0", "offset 6", "high watermark 4"] },
    Case { checker: "schema-compatible", history: schema_compatible, mentions: &["registry-1", "version 2", "shop.public.orders-value", "BACKWARD", "TYPE_MISMATCH"] },
    Case { checker: "schema-registered", history: schema_registered, mentions: &["shop-source-0", "schema id 2", "shop.public.orders-value"] },
    Case { checker: "aggregate-converges", history: aggregate_converges, mentions: &["totals", "orders-by-customer", "customer ada", "count 2 sum 42", "count 1 sum 40"] },
    Case { checker: "latest-value", history: latest_value, mentions: &["broker-1", "key a", "orders-0@0", "a1"] },
    Case { checker: "offsets-dense", history: offsets_dense, mentions: &["broker-1", "orders-0", "from offset 1 to 3"] },
    Case { checker: "offsets-dense", history: offsets_dense_polls, mentions: &["consumer-1", "orders-0@3", "offset 1"] },
];

fn check(name: &str, h: &History) -> Vec<String> {
    let checker = CHECKERS
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no checker called {name}"));
    (checker.check)(h)
}

/// Each checker reports its anomaly, naming what went wrong.
#[test]
fn every_checker_fires_on_its_anomaly() {
    for case in CASES {
        let findings = check(case.checker, &(case.history)(false));
        assert!(
            !findings.is_empty(),
            "{} (case mentioning {:?}): no finding",
            case.checker,
            case.mentions
        );
        assert!(
            findings
                .iter()
                .any(|f| case.mentions.iter().all(|m| f.contains(m))),
            "{}: no finding mentions all of {:?}: {findings:#?}",
            case.checker,
            case.mentions
        );
    }
}

/// The same histories with the anomaly repaired give no finding.
#[test]
fn no_checker_fires_once_repaired() {
    for case in CASES {
        let findings = check(case.checker, &(case.history)(true));
        assert!(
            findings.is_empty(),
            "{} (case mentioning {:?}): findings on the repaired history: {findings:#?}",
            case.checker,
            case.mentions
        );
    }
}

/// A checker added to `CHECKERS` without a firing case here breaks the build.
#[test]
fn every_checker_has_a_firing_case() {
    let missing: Vec<&str> = CHECKERS
        .iter()
        .map(|c| c.name)
        .filter(|name| !CASES.iter().any(|case| case.checker == *name))
        .collect();
    assert!(
        missing.is_empty(),
        "checkers without a case in checkers_fire.rs: {missing:?}"
    );
    for case in CASES {
        assert!(
            CHECKERS.iter().any(|c| c.name == case.checker),
            "{} is not in CHECKERS",
            case.checker
        );
    }
}

/// Retention is not loss: an acknowledged record below the log start offset retention left
/// on the final leader is expired; the same record missing above it is lost.
#[test]
fn no_committed_record_lost_spares_what_retention_deleted() {
    let story = |log_start_offset| {
        let mut h = History::default();
        produce(&mut h, 1, "m1", 0);
        produce(&mut h, 2, "m2", 1);
        h.acks_all.extend([1, 2]);
        h.final_leaders.insert(orders(0), "broker-2".into());
        final_log(&mut h, "broker-2", &[(1, "m2", 1)]);
        h.deletions.push(Deletion {
            time: Instant::from_millis(9000),
            node: "broker-2".into(),
            partition: orders(0),
            log_start_offset,
            high_watermark: 2,
        });
        check("NoCommittedRecordLost", &h)
    };
    assert_eq!(story(1), Vec::<String>::new(), "m1 expired");
    let findings = story(0);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(findings[0].contains("orders-0@0"), "{findings:?}");
}
