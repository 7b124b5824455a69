//! The database as a state machine, with a disk that keeps a page cache and a durable copy:
//! commits and `synchronous_commit`, checkpoints, and recovery after kill -9 and power loss.

use super::heap::{self, TableSchema, Value};
use super::*;
use crate::database::config::WalLevel;
use crate::disk::DiskImage;
use crate::ids::NodeId;
use crate::node::Outbox;
use crate::prng::Prng;
use crate::testkit::{disk_ops, replies, syncs, traces};

/// A disk with a page cache and what an fsync made durable.
#[derive(Default)]
struct TestDisk {
    cache: DiskImage,
    durable: DiskImage,
}

impl TestDisk {
    fn apply(&mut self, out: &Outbox<Vocab>) {
        for op in disk_ops(out) {
            match op {
                DiskOp::Append { file, bytes } => self
                    .cache
                    .entry(file.clone())
                    .or_default()
                    .extend_from_slice(bytes),
                DiskOp::Replace { file, bytes } => {
                    self.cache.insert(file.clone(), bytes.clone());
                }
                DiskOp::Truncate { file, len } => {
                    if let Some(b) = self.cache.get_mut(file) {
                        b.truncate(*len as usize);
                    }
                }
                DiskOp::Delete { file } => {
                    self.cache.remove(file);
                    self.durable.remove(file);
                }
                DiskOp::Sync { .. } => {}
            }
        }
    }

    fn sync(&mut self, file: &str) {
        if let Some(b) = self.cache.get(file) {
            self.durable.insert(file.to_string(), b.clone());
        }
    }
}

struct Harness {
    db: Database,
    disk: TestDisk,
    config: DatabaseConfig,
    /// Syncs asked for and not completed yet.
    pending: Vec<(String, DiskToken)>,
    replies: Vec<Reply>,
    events: Vec<Event>,
    /// Every message sent.
    sent: Vec<(NodeId, Message)>,
    txn: u64,
}

fn orders() -> TableSchema {
    heap::orders_schema()
}

fn row(id: i64, customer: &str) -> Row {
    vec![Value::Int(id), Value::Text(customer.into())]
}

impl Harness {
    fn new(synchronous_commit: SynchronousCommit) -> Self {
        let config = DatabaseConfig {
            synchronous_commit,
            wal_segment_size: 1024,
            tables: vec![orders()],
            ..DatabaseConfig::default()
        };
        Harness::boot(config, TestDisk::default())
    }

    fn boot(config: DatabaseConfig, disk: TestDisk) -> Self {
        let image = disk.cache.clone();
        let boot = Boot {
            id: NodeId(0),
            now: Instant::ZERO,
            incarnation: 0,
            config: &config,
            disk: &image,
            prng: Prng::derive(1, "db", 0),
        };
        let mut out = Outbox::new();
        let db = Database::boot(&boot, &config, out.writer());
        let mut h = Harness {
            db,
            disk,
            config,
            pending: Vec::new(),
            replies: Vec::new(),
            events: Vec::new(),
            sent: Vec::new(),
            txn: 0,
        };
        h.absorb(out);
        h
    }

    fn absorb(&mut self, out: Outbox<Vocab>) {
        self.disk.apply(&out);
        self.pending.extend(syncs(&out));
        self.events.extend(traces(&out).into_iter().cloned());
        self.replies.extend(replies(&out).into_iter().cloned());
        let sent = crate::testkit::sends(&out).into_iter();
        self.sent.extend(sent.map(|(to, m)| (to, m.clone())));
    }

    fn step(&mut self, input: Input<Vocab>) {
        let mut out = Outbox::new();
        self.db.step(Instant::ZERO, input, out.writer());
        self.absorb(out);
    }

    /// Complete every sync asked for, and those they lead to.
    fn complete_syncs(&mut self) {
        while !self.pending.is_empty() {
            for (file, token) in std::mem::take(&mut self.pending) {
                self.disk.sync(&file);
                self.step(Input::DiskDone { file, token });
            }
        }
    }

    /// The WAL writer wakes up and its flush completes.
    fn wal_writer(&mut self) {
        self.step(Input::Timer(Timer::WalWriter));
        self.complete_syncs();
    }

    fn transaction(&mut self, statements: Vec<RowChange>, commit: bool) -> u64 {
        self.txn += 1;
        let txn = self.txn;
        self.step(Input::Command(Command::Transaction {
            txn,
            statements,
            commit,
        }));
        txn
    }

    fn insert(&mut self, id: i64, customer: &str) -> u64 {
        let table = "orders".to_string();
        self.transaction(
            vec![RowChange::Insert {
                table,
                row: row(id, customer),
            }],
            true,
        )
    }

    fn committed(&self, txn: u64) -> bool {
        self.replies
            .iter()
            .any(|r| matches!(r, Reply::Committed { txn: t, .. } if *t == txn))
    }

    /// Restart from what survives: the page cache after kill -9, the durable bytes after a
    /// power loss.
    fn restart(self, power_loss: bool) -> Harness {
        let mut disk = self.disk;
        if power_loss {
            disk.cache = disk.durable.clone();
        }
        Harness::boot(self.config, disk)
    }

    fn rows(&self) -> Vec<Row> {
        self.db.view().tables["orders"].values().cloned().collect()
    }

    fn recovered(&self) -> RecoveryReport {
        self.events
            .iter()
            .find_map(|e| match e {
                Event::Recovered { report, .. } => Some(report.clone()),
                _ => None,
            })
            .expect("the database recovered")
    }
}

/// `synchronous_commit = on` (or `local`): COMMIT returns once the commit record is flushed;
/// `off`: at once.
#[test]
fn a_commit_is_acknowledged_after_the_flush_unless_synchronous_commit_is_off() {
    let mut on = Harness::new(SynchronousCommit::On);
    let t = on.insert(1, "ada");
    assert!(!on.committed(t), "waits for the WAL flush");
    on.complete_syncs();
    assert!(on.committed(t));
    assert!(on.events.contains(&Event::WalFlushed {
        flush_lsn: on.db.insert_lsn
    }));

    let mut off = Harness::new(SynchronousCommit::Off);
    let t = off.insert(1, "ada");
    assert!(off.committed(t), "answers before the flush");
    assert!(off.db.flush_lsn < off.db.insert_lsn);
}

/// After a power loss, `synchronous_commit = off` loses the acknowledged commits the WAL
/// writer had not flushed; `on` loses none. kill -9 loses nothing either way (page cache).
#[test]
fn power_loss_loses_only_unflushed_asynchronous_commits() {
    for (mode, kept_after_power_loss) in [(SynchronousCommit::On, 2), (SynchronousCommit::Off, 1)] {
        let mut h = Harness::new(mode);
        h.insert(1, "ada");
        h.wal_writer();
        let t = h.insert(2, "bob");
        if mode == SynchronousCommit::On {
            h.complete_syncs();
        }
        assert!(h.committed(t), "{mode}: acknowledged");
        let again = h.restart(true);
        assert_eq!(again.rows().len(), kept_after_power_loss, "{mode}");
        assert_eq!(
            again.recovered().last_committed_xid,
            Some(wal::FIRST_NORMAL_XID + kept_after_power_loss as u32 - 1)
        );

        let mut h = Harness::new(mode);
        h.insert(1, "ada");
        h.insert(2, "bob");
        let again = h.restart(false);
        assert_eq!(
            again.rows().len(),
            2,
            "{mode}: kill -9 keeps the page cache"
        );
    }
}

/// A rolled-back transaction, or one whose statement fails, leaves nothing behind — in
/// memory or after redo.
#[test]
fn rolled_back_and_failed_transactions_leave_nothing() {
    let mut h = Harness::new(SynchronousCommit::On);
    h.insert(1, "ada");
    let table = || "orders".to_string();
    h.transaction(
        vec![
            RowChange::Update {
                table: table(),
                row: row(1, "eve"),
            },
            RowChange::Insert {
                table: table(),
                row: row(2, "eve"),
            },
        ],
        false,
    );
    h.transaction(
        vec![
            RowChange::Insert {
                table: table(),
                row: row(3, "mallory"),
            },
            RowChange::Insert {
                table: table(),
                row: row(1, "mallory"),
            },
        ],
        true,
    );
    assert!(h.replies.iter().any(|r| matches!(
        r,
        Reply::RolledBack { error: Some(e), .. } if e.contains("duplicate key value violates unique constraint \"orders_pkey\"")
    )));
    h.complete_syncs();
    assert_eq!(h.rows(), vec![row(1, "ada")]);
    let again = h.restart(true);
    assert_eq!(again.rows(), vec![row(1, "ada")]);
    assert_eq!(again.recovered().aborts_skipped, 2);
}

/// A checkpoint writes the data files only after the WAL is flushed to its redo point, then
/// logs its record, then updates pg_control; recovery starts there, and the WAL segments
/// wholly before the redo point are gone.
#[test]
fn recovery_redoes_from_the_last_checkpoint() {
    let mut h = Harness::new(SynchronousCommit::Off);
    for id in 0..30 {
        h.insert(id, "someone with a long name to fill the segments");
    }
    h.step(Input::Timer(Timer::Checkpoint));
    assert!(
        !h.disk.cache.contains_key(&heap::data_file("orders")),
        "no data file before the WAL is flushed to the redo point"
    );
    h.complete_syncs();
    let completed = h.events.iter().find_map(|e| match e {
        Event::CheckpointCompleted {
            redo,
            removed_segments,
            ..
        } => Some((*redo, removed_segments.clone())),
        _ => None,
    });
    let (redo, removed) = completed.expect("the checkpoint completed");
    assert!(!removed.is_empty(), "old segments are removed");
    h.insert(100, "after the checkpoint");
    h.wal_writer();
    let again = h.restart(true);
    let report = again.recovered();
    assert_eq!(report.redo, redo);
    assert_eq!(
        report.commits_replayed, 1,
        "only what followed the checkpoint"
    );
    assert_eq!(again.rows().len(), 31);
}

/// A torn WAL tail is found by its CRC and cut: redo stops at the last whole record.
#[test]
fn a_torn_wal_tail_is_cut() {
    let mut h = Harness::new(SynchronousCommit::On);
    h.insert(1, "ada");
    h.complete_syncs();
    h.insert(2, "bob");
    let file = wal::segment_file(h.db.insert_lsn, 1024);
    let bytes = h.disk.cache.get_mut(&file).expect("the segment");
    let len = bytes.len();
    bytes[len - 3] ^= 0xFF;
    let again = h.restart(false);
    let report = again.recovered();
    assert_eq!(report.damaged, Some(wal::BadRecord::CrcMismatch));
    assert_eq!(again.rows(), vec![row(1, "ada")]);
    assert_eq!(
        report.incomplete_discarded, 1,
        "bob's insert had no commit left"
    );
}

/// A logical server with `synchronous_commit` and the slot `cdc`.
fn with_slot(synchronous_commit: SynchronousCommit) -> DatabaseConfig {
    DatabaseConfig {
        synchronous_commit,
        wal_segment_size: 1024,
        wal_level: WalLevel::Logical,
        tables: vec![orders()],
        slots: vec!["cdc".into()],
        ..DatabaseConfig::default()
    }
}

/// `pg_logical_slot_get_changes` returns only transactions whose commit is flushed, in
/// `test_decoding`'s text, confirms them, and after kill -9 returns again what it returned
/// since the slot's state was last saved (at a checkpoint).
#[test]
fn a_slot_returns_flushed_commits_and_again_after_a_crash() {
    let mut h = Harness::boot(with_slot(SynchronousCommit::Off), TestDisk::default());
    let get = |h: &mut Harness| {
        h.step(Input::Command(Command::GetChanges { slot: "cdc".into() }));
        match h.replies.pop() {
            Some(Reply::Changes { rows, .. }) => {
                rows.into_iter().map(|r| r.data).collect::<Vec<_>>()
            }
            other => panic!("{other:?}"),
        }
    };
    h.insert(1, "ada");
    assert!(get(&mut h).is_empty(), "not flushed yet: nothing to decode");
    h.wal_writer();
    assert_eq!(
        get(&mut h),
        [
            "BEGIN 3",
            "table public.orders: INSERT: id[integer]:1 customer[text]:'ada'",
            "COMMIT 3"
        ]
    );
    assert!(get(&mut h).is_empty(), "confirmed: not again");
    let mut again = h.restart(false);
    again.complete_syncs();
    assert_eq!(
        get(&mut again).len(),
        3,
        "the slot was never saved: the change comes again"
    );
}

/// SIGTERM: a shutdown checkpoint, then exit; the next start has nothing to redo, and a slot
/// returns nothing twice.
#[test]
fn a_shutdown_checkpoints_so_that_the_next_start_redoes_nothing() {
    let mut h = Harness::boot(with_slot(SynchronousCommit::On), TestDisk::default());
    h.insert(1, "ada");
    h.complete_syncs();
    h.step(Input::Command(Command::GetChanges { slot: "cdc".into() }));
    let mut out = Outbox::new();
    h.db.step(Instant::ZERO, Input::Terminate, out.writer());
    let mut exited = out
        .items()
        .iter()
        .any(|o| matches!(o, crate::node::Output::Exit));
    h.absorb(out);
    while !h.pending.is_empty() && !exited {
        let (file, token) = h.pending.remove(0);
        h.disk.sync(&file);
        let mut out = Outbox::new();
        h.db.step(Instant::ZERO, Input::DiskDone { file, token }, out.writer());
        exited |= out
            .items()
            .iter()
            .any(|o| matches!(o, crate::node::Output::Exit));
        h.absorb(out);
    }
    assert!(
        exited,
        "the server exits once its shutdown checkpoint is done"
    );
    let mut again = h.restart(true);
    assert_eq!(again.recovered().commits_replayed, 0, "nothing to redo");
    assert_eq!(again.rows(), vec![row(1, "ada")]);
    again.complete_syncs();
    again.step(Input::Command(Command::GetChanges { slot: "cdc".into() }));
    assert!(
        matches!(again.replies.last(), Some(Reply::Changes { rows, .. }) if rows.is_empty()),
        "the slot was saved where it stood: nothing comes twice"
    );
}

fn alter(sql: &str) -> RowChange {
    let (table, alter) = super::ddl::AlterTable::parse(sql, &[orders()]).expect("valid DDL");
    RowChange::Alter { table, alter }
}

/// `ALTER TABLE` rewrites every row and changes the definition from its commit on: a slot
/// decodes a transaction from before it with the old columns and one after with the new,
/// after a crash as before it (the catalog's history is in the checkpoint, redo adds the
/// rest); a row of the old shape after it, or a type change some row cannot take, fails.
#[test]
fn a_schema_change_is_decoded_with_the_definition_of_its_time() {
    let mut h = Harness::boot(with_slot(SynchronousCommit::On), TestDisk::default());
    h.insert(1, "ada");
    h.step(Input::Timer(Timer::Checkpoint));
    h.complete_syncs();
    h.transaction(
        vec![alter(
            "ALTER TABLE orders ADD COLUMN note text DEFAULT 'none'",
        )],
        true,
    );
    let table = || "orders".to_string();
    let mut with_note = row(2, "bob");
    with_note.push(Value::Text("rush".into()));
    h.transaction(
        vec![RowChange::Insert {
            table: table(),
            row: with_note.clone(),
        }],
        true,
    );
    h.insert(3, "old shape");
    h.complete_syncs();
    let error = h.replies.iter().find_map(|r| match r {
        Reply::RolledBack { error, .. } => error.clone(),
        _ => None,
    });
    assert_eq!(
        error.as_deref(),
        Some("INSERT has fewer expressions than target columns of \"orders\"")
    );
    let mut ada = row(1, "ada");
    ada.push(Value::Text("none".into()));
    assert_eq!(h.rows(), vec![ada.clone(), with_note.clone()]);
    h.transaction(
        vec![alter(
            "ALTER TABLE orders ALTER COLUMN customer TYPE integer",
        )],
        true,
    );
    assert!(
        matches!(h.replies.last(), Some(Reply::RolledBack { error: Some(e), .. }) if e.contains("invalid input syntax for type integer")),
        "'ada' is no integer"
    );
    let decoded = |h: &mut Harness| {
        h.step(Input::Command(Command::GetChanges { slot: "cdc".into() }));
        match h.replies.pop() {
            Some(Reply::Changes { rows, .. }) => rows
                .into_iter()
                .map(|r| r.data)
                .filter(|d| d.starts_with("table"))
                .collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        }
    };
    let expected = [
        "table public.orders: INSERT: id[integer]:1 customer[text]:'ada'",
        "table public.orders: INSERT: id[integer]:2 customer[text]:'bob' note[text]:'rush'",
    ];
    assert_eq!(decoded(&mut h), expected);
    let mut again = h.restart(true);
    again.complete_syncs();
    assert_eq!(again.rows(), vec![ada, with_note]);
    assert_eq!(
        decoded(&mut again),
        expected,
        "after a crash, the slot's replay still decodes each with its own definition"
    );
}

/// With `synchronous_standby_names`, a COMMIT waits for the standby's report as
/// `synchronous_commit` says — `remote_write` for its write, `on` for its flush,
/// `remote_apply` for its replay — and `local` does not wait for it (PostgreSQL's
/// "synchronous_commit" table in "Write Ahead Log" settings).
#[test]
fn a_commit_waits_for_the_synchronous_standby_as_synchronous_commit_says() {
    use crate::protocol::{StandbyReply, StartPhysicalReplication};
    use SynchronousCommit::{Local, On, RemoteApply, RemoteWrite};
    for (mode, needs) in [
        (Local, None),
        (RemoteWrite, Some(0)),
        (On, Some(1)),
        (RemoteApply, Some(2)),
    ] {
        let config = DatabaseConfig {
            synchronous_commit: mode,
            synchronous_standby_names: vec!["standby-1".into()],
            wal_segment_size: 1024,
            tables: vec![orders()],
            ..DatabaseConfig::default()
        };
        let mut h = Harness::boot(config, TestDisk::default());
        let standby = NodeId(7);
        let start = StartPhysicalReplication {
            start_lsn: Lsn(0),
            application_name: "standby-1".into(),
        };
        let msg = Message::StartPhysicalReplication(start);
        h.step(Input::Recv { from: standby, msg });
        let t = h.insert(1, "ada");
        h.complete_syncs();
        let Some(needs) = needs else {
            assert!(h.committed(t), "{mode}: the local flush is enough");
            continue;
        };
        assert!(!h.committed(t), "{mode}: waits for the standby");
        let lsn = h.db.insert_lsn;
        for reached in 0..3 {
            let at = |i: usize| if i <= reached { lsn } else { Lsn(0) };
            let reply = StandbyReply {
                write_lsn: at(0),
                flush_lsn: at(1),
                apply_lsn: at(2),
            };
            let msg = Message::StandbyReply(reply);
            h.step(Input::Recv { from: standby, msg });
            assert_eq!(
                h.committed(t),
                reached >= needs,
                "{mode} after report {reached}"
            );
        }
    }
}

/// A standby writes, flushes and replays what its primary streams, refuses writes, and
/// after pg_promote() accepts them, its tables those of the primary's commits it received.
#[test]
fn a_standby_replays_the_stream_and_is_promoted() {
    let mut primary = Harness::new(SynchronousCommit::On);
    let standby_config = DatabaseConfig {
        wal_segment_size: 1024,
        tables: vec![orders()],
        primary: Some(NodeId(0)),
        application_name: "standby-1".into(),
        ..DatabaseConfig::default()
    };
    let mut standby = Harness::boot(standby_config, TestDisk::default());
    // The standby's first tick asked for the stream; hand the request to the primary.
    let ask = standby.sent.iter().find_map(|(_, m)| match m {
        Message::StartPhysicalReplication(a) => Some(a.clone()),
        _ => None,
    });
    let msg = Message::StartPhysicalReplication(ask.expect("the standby asks"));
    primary.step(Input::Recv {
        from: NodeId(1),
        msg,
    });
    primary.insert(1, "ada");
    primary.insert(2, "bob");
    primary.complete_syncs();
    let streamed: Vec<_> = primary
        .sent
        .iter()
        .filter_map(|(_, m)| match m {
            Message::WalData(d) => Some(d.clone()),
            _ => None,
        })
        .collect();
    assert!(!streamed.is_empty(), "the flushed WAL is streamed");
    for data in streamed {
        standby.step(Input::Recv {
            from: NodeId(0),
            msg: Message::WalData(data),
        });
    }
    standby.complete_syncs();
    assert_eq!(standby.rows(), vec![row(1, "ada"), row(2, "bob")]);
    let refused = standby.insert(3, "eve");
    assert!(!standby.committed(refused), "a standby is read-only");
    standby.step(Input::Command(Command::Promote));
    assert!(
        standby
            .events
            .iter()
            .any(|e| matches!(e, Event::Promoted { .. })),
        "promoted"
    );
    let t = standby.insert(3, "eve");
    standby.complete_syncs();
    assert!(standby.committed(t), "a promoted standby accepts writes");
    assert_eq!(standby.rows().len(), 3);
}
