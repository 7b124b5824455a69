//! A PostgreSQL-like database server: tables with primary keys, transactions, a write-ahead
//! log with LSNs, `synchronous_commit`, the WAL writer, checkpoints and crash recovery by redo
//! — the story a DBA already knows, so that a Kafka partition can be told as the same idea.
//!
//! A transaction arrives whole from the scenario's workload ([`Command::Transaction`]): its
//! changes become WAL records (heap insert, update, delete), then a commit or abort record,
//! appended to the current WAL segment in the page cache. When the commit is acknowledged is
//! `synchronous_commit`'s business: `off` answers at once (the WAL writer flushes every
//! `wal_writer_delay`, so a crash may lose the last commits), every other setting waits until
//! the commit record is flushed (several commits share one flush: group commit). With
//! `synchronous_standby_names` empty, `on`, `remote_write` and `remote_apply` behave as
//! `local`, as in PostgreSQL; with a synchronous standby they also wait for its report
//! ([`streaming`]: physical standbys, WAL streaming, promotion).
//!
//! Every `checkpoint_timeout` a checkpoint writes every table's data file, logs a checkpoint
//! record, then updates `global/pg_control`; WAL segments wholly before its redo point are
//! removed. At start-up the database recovers ([`recovery`]): the last checkpoint's data
//! files, then redo of the WAL to its first damaged or missing record.
//!
//! Simplified, and said where it matters: a transaction runs in one step (no concurrent
//! transactions, no locks, no MVCC snapshots: every transaction sees every earlier commit);
//! a statement that fails (a duplicate key) rolls the whole transaction back; the data files
//! are written whole at checkpoints ([`heap`]); records never span WAL segments ([`wal`]).

pub mod catalog;
pub mod config;
pub mod ddl;
pub mod decoding;
pub mod heap;
pub mod recovery;
pub mod streaming;
pub mod wal;

use crate::disk::{DiskOp, DiskToken};
use crate::ids::NodeId;
use crate::node::{Boot, Input, Vocabulary};
use crate::protocol::{
    Message, ReplicationError, SnapshotQuery, SnapshotResult, StandbyStatusUpdate,
    StartReplication, XLogData,
};
use crate::time::{Duration, Instant};
use catalog::{CATALOG_FILE, Catalog};
pub use config::{DatabaseConfig, SynchronousCommit, WalLevel};
use ddl::AlterTable;
use decoding::{DecodedRow, DecodedTxn, SlotPosition};
use heap::{Key, Row, Rows, key_of};
use recovery::{ControlFile, PG_CONTROL, RecoveryReport};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use wal::{Lsn, WalRecord, Xid};

/// A change to one row: a statement of a transaction as the workload asks it, and as the
/// WAL logs it once it changed a row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum RowChange {
    /// `INSERT INTO table VALUES (row)`.
    Insert {
        /// The table.
        table: String,
        /// The row, primary key first.
        row: Row,
    },
    /// `UPDATE table SET ... WHERE key = row[0]`.
    Update {
        /// The table.
        table: String,
        /// The row's new values, primary key first.
        row: Row,
    },
    /// `DELETE FROM table WHERE key = key`.
    Delete {
        /// The table.
        table: String,
        /// The primary key.
        key: Key,
    },
    /// `ALTER TABLE table action`: the table's definition changes and every row is
    /// rewritten to fit it ([`ddl`]). It runs in a transaction of its own.
    Alter {
        /// The table.
        table: String,
        /// What changes.
        alter: AlterTable,
    },
}

impl RowChange {
    /// The table it changes.
    pub fn table(&self) -> &str {
        match self {
            RowChange::Insert { table, .. }
            | RowChange::Update { table, .. }
            | RowChange::Delete { table, .. }
            | RowChange::Alter { table, .. } => table,
        }
    }

    /// The primary key of the row it changes; none for an `ALTER TABLE`.
    pub fn key(&self) -> Option<Key> {
        match self {
            RowChange::Insert { row, .. } | RowChange::Update { row, .. } => Some(key_of(row)),
            RowChange::Delete { key, .. } => Some(*key),
            RowChange::Alter { .. } => None,
        }
    }
}

/// What the scenario's workload asks of the database.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// `BEGIN; statements; COMMIT` (or `ROLLBACK` when `commit` is false).
    Transaction {
        /// The workload's number for it, to match the answer.
        txn: u64,
        /// Its statements, in order.
        statements: Vec<RowChange>,
        /// COMMIT, or ROLLBACK.
        commit: bool,
    },
    /// `SELECT * FROM pg_logical_slot_get_changes(slot, NULL, NULL)`: decode and confirm
    /// every flushed transaction the slot has not confirmed.
    GetChanges {
        /// The slot.
        slot: String,
    },
    /// `SELECT pg_promote()` on a standby: end recovery and open for writes.
    Promote,
}

/// What the database answers the workload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    /// COMMIT returned: the transaction is committed, as durably as `synchronous_commit` says.
    Committed {
        /// The workload's number.
        txn: u64,
        /// Its transaction id.
        xid: Xid,
        /// The end of its commit record.
        lsn: Lsn,
    },
    /// `pg_logical_slot_get_changes` returned.
    Changes {
        /// The slot.
        slot: String,
        /// Its rows, `(lsn, xid, data)`, as `test_decoding` writes them.
        rows: Vec<DecodedRow>,
        /// The transactions they hold, in commit order: (xid, end of the commit record).
        transactions: Vec<(Xid, Lsn)>,
    },
    /// ROLLBACK returned, or a statement failed and the transaction was rolled back.
    RolledBack {
        /// The workload's number.
        txn: u64,
        /// Its transaction id.
        xid: Xid,
        /// The error that aborted it, if a statement failed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
}

/// What the database records in the trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A transaction's commit record was inserted into the WAL: it is committed in memory,
    /// and durable once the WAL is flushed past `lsn`.
    Committed {
        /// The workload's number.
        txn: u64,
        /// Its transaction id.
        xid: Xid,
        /// The end of its commit record.
        lsn: Lsn,
        /// The rows it changed, in order (its statements that changed nothing are not here).
        changes: Vec<RowChange>,
    },
    /// The WAL was flushed (fsync) up to `flush_lsn`.
    WalFlushed {
        /// Everything before it is durable.
        flush_lsn: Lsn,
    },
    /// A checkpoint completed: after a crash, redo starts at `redo`.
    CheckpointCompleted {
        /// The checkpoint record's LSN.
        checkpoint: Lsn,
        /// Its redo point.
        redo: Lsn,
        /// WAL segment files removed, wholly before the redo point.
        removed_segments: Vec<String>,
    },
    /// A slot's consumer confirmed what it was given: the slot moved.
    SlotAdvanced {
        /// The slot.
        slot: String,
        /// Where it stands now.
        position: SlotPosition,
    },
    /// A standby connected to this primary and streams the WAL from `start_lsn`.
    StandbyConnected {
        /// Its `application_name`.
        standby: String,
        /// Where its stream starts.
        start_lsn: Lsn,
    },
    /// A standby reported that it flushed and replayed the WAL this far.
    StandbyConfirmed {
        /// Its `application_name`.
        standby: String,
        /// Durable on the standby.
        flush_lsn: Lsn,
        /// Replayed there (its replay LSN).
        apply_lsn: Lsn,
    },
    /// A standby replayed a transaction's commit from the WAL it received.
    Replayed {
        /// Its transaction id.
        xid: Xid,
        /// The end of its commit record: the standby's replay LSN.
        lsn: Lsn,
        /// The rows it changed, in order.
        changes: Vec<RowChange>,
    },
    /// A standby was promoted: recovery ended, it accepts writes.
    Promoted {
        /// Where its WAL ends: new transactions follow.
        lsn: Lsn,
        /// Transactions begun in the received WAL and never committed, discarded.
        discarded: u64,
    },
    /// The database started and recovered from its disk.
    Recovered {
        /// What recovery found and did.
        report: RecoveryReport,
        /// Every table's rows after recovery.
        #[serde(with = "heap::tables_as_lists")]
        tables: BTreeMap<String, Rows>,
        /// Every replication slot, where its state file put it.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        slots: BTreeMap<String, SlotPosition>,
    },
}

/// The database's named deadlines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Timer {
    /// The WAL writer wakes up (`wal_writer_delay`).
    WalWriter,
    /// Time for a checkpoint (`checkpoint_timeout`).
    Checkpoint,
    /// A standby's walreceiver: connect, or report where it stands.
    WalReceiver,
}

/// The words a database speaks.
#[derive(Debug)]
pub enum Vocab {}

impl Vocabulary for Vocab {
    type Msg = crate::protocol::Message;
    type Timer = Timer;
    type Event = Event;
    type Reply = Reply;
    type Command = Command;
}

type Out<'a> = dyn crate::node::Out<Vocab> + 'a;

/// A checkpoint under way.
#[derive(Debug)]
enum Checkpoint {
    /// The data files as they were at `control.redo` wait for the WAL to be flushed there
    /// (the WAL-before-data rule: no data file may hold a change the WAL could lose).
    WalFirst {
        control: ControlFile,
        files: Vec<(String, Vec<u8>)>,
    },
    /// Writing the data files.
    DataFiles {
        control: ControlFile,
        syncs: BTreeSet<DiskToken>,
    },
    /// The checkpoint record at `checkpoint` waits for a WAL flush.
    Record { control: ControlFile },
    /// `pg_control` is being synced.
    Control {
        control: ControlFile,
        sync: DiskToken,
    },
}

/// A walsender: a client streaming one slot's changes.
#[derive(Debug)]
struct WalSender {
    /// The client.
    peer: NodeId,
    /// The end of the last transaction sent (or the start position).
    sent_upto: Lsn,
}

/// An initial snapshot's rows, held until the WAL is flushed past their LSN: a snapshot
/// must not show what a crash could still take back (with `synchronous_commit = off`, a
/// commit is visible before it is durable).
#[derive(Debug)]
struct PendingSnapshot {
    peer: NodeId,
    result: SnapshotResult,
}

/// A commit waiting for the WAL flush before it is acknowledged.
#[derive(Debug)]
struct WaitingCommit {
    txn: u64,
    xid: Xid,
    lsn: Lsn,
}

/// What a view shows of the database.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseView {
    /// The end of the last commit record (at start-up, the end of the recovered WAL).
    pub commit_lsn: Lsn,
    /// How far the WAL is durable (`pg_current_wal_flush_lsn()`).
    pub flush_lsn: Lsn,
    /// The last checkpoint's redo point.
    pub redo_lsn: Lsn,
    /// Every replication slot's position.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub slots: BTreeMap<String, SlotPosition>,
    /// Every table's rows by primary key, by table name.
    #[serde(with = "heap::tables_as_lists")]
    pub tables: BTreeMap<String, Rows>,
}

/// A database server.
#[derive(Debug)]
pub struct Database {
    config: DatabaseConfig,
    /// Every table's definitions, now and before.
    catalog: Catalog,
    tables: BTreeMap<String, Rows>,
    next_xid: Xid,
    last_committed_xid: Option<Xid>,
    insert_lsn: Lsn,
    /// The end of the last commit record (at start-up, the end of the recovered WAL).
    commit_lsn: Lsn,
    flush_lsn: Lsn,
    /// WAL segment files written since their last flush began.
    dirty: BTreeSet<String>,
    /// A flush in flight: the LSN it makes durable and its syncs.
    flushing: Option<(Lsn, BTreeSet<DiskToken>)>,
    waiting: Vec<WaitingCommit>,
    checkpoint: Option<Checkpoint>,
    control: Option<ControlFile>,
    /// WAL segment files on disk, oldest first.
    segments: Vec<String>,
    next_token: u64,
    /// Every logical replication slot's position.
    slots: BTreeMap<String, SlotPosition>,
    /// The slots' positions the checkpoint under way saves.
    checkpoint_slots: BTreeMap<String, SlotPosition>,
    /// The slots' positions as their state files last saved them: the WAL they still need
    /// is kept.
    saved_slots: BTreeMap<String, SlotPosition>,
    /// Committed transactions some slot has not confirmed, in commit order.
    decodable: Vec<DecodedTxn>,
    /// SIGTERM arrived when the WAL ended here: a checkpoint from here on leaves nothing to
    /// redo, and once one completes the server exits.
    shutdown_at: Option<Lsn>,
    /// The walsenders streaming slots, by slot.
    walsenders: BTreeMap<String, WalSender>,
    /// Initial snapshots waiting for a WAL flush.
    snapshots: Vec<PendingSnapshot>,
    /// WAL records kept for standbys, in order.
    wal_kept: std::collections::VecDeque<(Lsn, Vec<u8>)>,
    /// Standbys streaming from this server, as its walsenders see them.
    standbys: Vec<streaming::StandbyLink>,
    /// While this server is a standby: its walreceiver and startup process.
    receiver: Option<streaming::Receiver>,
}

impl Database {
    /// Start from the disk: recover, then flush what recovery read (it may sit in the page
    /// cache only) before new commits count on it.
    pub fn boot<C>(boot: &Boot<'_, C>, config: &DatabaseConfig, out: &mut Out) -> Self {
        let (recovered, report, ops) = recovery::recover(config, boot.disk);
        out.disk_all(ops);
        let mut db = Database {
            config: config.clone(),
            catalog: recovered.catalog,
            tables: recovered.tables,
            next_xid: recovered.next_xid,
            last_committed_xid: report.last_committed_xid,
            insert_lsn: report.end,
            commit_lsn: report.end,
            flush_lsn: report.redo,
            dirty: recovered.segments.iter().cloned().collect(),
            flushing: None,
            waiting: Vec::new(),
            checkpoint: None,
            control: recovered.control,
            segments: recovered.segments,
            next_token: 0,
            checkpoint_slots: BTreeMap::new(),
            saved_slots: recovered.slots.clone(),
            slots: recovered.slots,
            decodable: recovered.decodable,
            shutdown_at: None,
            walsenders: BTreeMap::new(),
            snapshots: Vec::new(),
            wal_kept: recovered.wal.into_iter().collect(),
            standbys: Vec::new(),
            receiver: config
                .primary
                .map(|_| streaming::Receiver::after_recovery(report.end, recovered.pending)),
        };
        if !boot.disk.is_empty() {
            let DatabaseView { tables, slots, .. } = db.view();
            out.trace(Event::Recovered {
                report,
                tables,
                slots,
            });
        }
        db.start_flush(out);
        db.receiver_tick(boot.now, out);
        out.set_timer(Timer::WalWriter, boot.now + db.wal_writer_delay());
        out.set_timer(Timer::Checkpoint, boot.now + db.checkpoint_timeout());
        db
    }

    fn wal_writer_delay(&self) -> Duration {
        Duration::from_millis(self.config.wal_writer_delay_ms)
    }

    fn checkpoint_timeout(&self) -> Duration {
        Duration::from_millis(self.config.checkpoint_timeout_ms)
    }

    /// What the world may see.
    pub fn view(&self) -> DatabaseView {
        DatabaseView {
            commit_lsn: self.commit_lsn,
            flush_lsn: self.flush_lsn,
            redo_lsn: self.control.map_or(Lsn(0), |c| c.redo),
            slots: self.slots.clone(),
            tables: self.tables.clone(),
        }
    }

    /// Handle one input.
    pub fn step(&mut self, now: Instant, input: Input<Vocab>, out: &mut Out) {
        match input {
            Input::Timer(Timer::WalWriter) => {
                self.start_flush(out);
                out.set_timer(Timer::WalWriter, now + self.wal_writer_delay());
            }
            Input::Timer(Timer::Checkpoint) => {
                self.begin_checkpoint(out);
                out.set_timer(Timer::Checkpoint, now + self.checkpoint_timeout());
            }
            Input::Timer(Timer::WalReceiver) => self.receiver_tick(now, out),
            Input::DiskDone { token, .. } => self.on_synced(token, out),
            // Shutting down, the server takes no new work (PostgreSQL refuses connections).
            Input::Command(_) if self.shutdown_at.is_some() => {}
            Input::Command(command) => self.on_command(command, out),
            Input::Terminate => self.begin_shutdown(out),
            Input::Recv { from, msg } => self.on_message(from, msg, out),
            Input::Disconnected { peer } => {
                self.walsenders.retain(|_, w| w.peer != peer);
                self.snapshots.retain(|s| s.peer != peer);
                self.standby_gone(peer);
                if self.config.primary == Some(peer) {
                    self.stream_lost();
                }
            }
        }
    }

    /// A message on a replication connection.
    fn on_message(&mut self, from: NodeId, msg: Message, out: &mut Out) {
        match msg {
            Message::StartReplication(StartReplication { slot, start_lsn }) => {
                let Some(position) = self.slots.get(&slot) else {
                    let message = format!("replication slot \"{slot}\" does not exist");
                    out.send(
                        from,
                        Message::ReplicationError(ReplicationError { message }),
                    );
                    return;
                };
                // Decoding starts after the later of the two (`CreateDecodingContext`).
                let sent_upto = start_lsn.max(position.confirmed_flush_lsn);
                let walsender = WalSender {
                    peer: from,
                    sent_upto,
                };
                self.walsenders.insert(slot.clone(), walsender);
                self.stream(&slot, out);
            }
            Message::StandbyStatusUpdate(StandbyStatusUpdate { slot, flush_lsn }) => {
                if self.knows_client(from) {
                    self.confirm(from, &slot, flush_lsn, out);
                } else {
                    self.refuse_unknown_client(from, out);
                }
            }
            Message::TcpKeepalive if !self.knows_client(from) => {
                self.refuse_unknown_client(from, out);
            }
            Message::StartPhysicalReplication(m) => self.on_start_physical(from, m, out),
            Message::StandbyReply(r) => self.on_standby_reply(from, r, out),
            Message::WalData(data) if self.config.primary == Some(from) => {
                self.on_wal_data(data, out)
            }
            Message::ReplicationError(_) if self.config.primary == Some(from) => self.stream_lost(),
            Message::SnapshotQuery(SnapshotQuery { tables }) => {
                let tables = tables
                    .iter()
                    .filter_map(|t| Some((t.clone(), self.tables.get(t)?.clone())))
                    .collect();
                let schemas = tables_of(&self.catalog, &tables);
                let result = SnapshotResult {
                    lsn: self.commit_lsn,
                    tables,
                    schemas,
                };
                self.snapshots.push(PendingSnapshot { peer: from, result });
                self.answer_snapshots(out);
                self.start_flush(out);
            }
            _ => {}
        }
    }

    /// Whether `peer` has a replication connection or a snapshot query open here.
    fn knows_client(&self, peer: NodeId) -> bool {
        self.walsenders.values().any(|w| w.peer == peer)
            || self.snapshots.iter().any(|s| s.peer == peer)
            || self.standbys.iter().any(|s| s.peer == peer && s.connected)
    }

    /// A client talking on a connection this server does not have (it restarted since the
    /// client connected, or the client's connection request was lost): the kernel would
    /// reset it; the client hears that its connection is gone.
    fn refuse_unknown_client(&mut self, peer: NodeId, out: &mut Out) {
        let message = "server closed the connection unexpectedly".to_string();
        out.send(
            peer,
            Message::ReplicationError(ReplicationError { message }),
        );
    }

    /// Send every snapshot whose LSN is flushed.
    fn answer_snapshots(&mut self, out: &mut Out) {
        let flushed = self.flush_lsn;
        let (ready, waiting) = std::mem::take(&mut self.snapshots)
            .into_iter()
            .partition(|s| s.result.lsn <= flushed);
        self.snapshots = waiting;
        for s in ready {
            out.send(s.peer, Message::SnapshotResult(s.result));
        }
    }

    /// Send `slot`'s client every flushed transaction it has not been sent, in commit order
    /// (a walsender sends only flushed WAL: nothing a crash could take back).
    fn stream(&mut self, slot: &str, out: &mut Out) {
        let Some(w) = self.walsenders.get_mut(slot) else {
            return;
        };
        let flushed = self.flush_lsn;
        for txn in &self.decodable {
            if txn.end_lsn > w.sent_upto && txn.end_lsn <= flushed {
                w.sent_upto = txn.end_lsn;
                let data = XLogData {
                    slot: slot.to_string(),
                    txn: txn.clone(),
                };
                out.send(w.peer, Message::XLogData(data));
            }
        }
    }

    /// The client of `slot` confirmed it up to `flush_lsn` (never past what it was sent).
    fn confirm(&mut self, from: NodeId, slot: &str, flush_lsn: Lsn, out: &mut Out) {
        let Some(w) = self.walsenders.get(slot).filter(|w| w.peer == from) else {
            return;
        };
        let upto = flush_lsn.min(w.sent_upto);
        let Some(position) = self.slots.get(slot).copied() else {
            return;
        };
        if upto <= position.confirmed_flush_lsn {
            return;
        }
        self.advance_slot(slot, upto, out);
    }

    /// Move `slot` to `end`, and forget what no slot needs any more.
    fn advance_slot(&mut self, slot: &str, end: Lsn, out: &mut Out) {
        let position = SlotPosition {
            restart_lsn: end,
            confirmed_flush_lsn: end,
        };
        self.slots.insert(slot.to_string(), position);
        out.trace(Event::SlotAdvanced {
            slot: slot.to_string(),
            position,
        });
        let oldest = self.slots.values().map(|p| p.confirmed_flush_lsn).min();
        self.decodable
            .retain(|t| oldest.is_none_or(|o| t.end_lsn > o));
    }

    /// SIGTERM (a "fast" shutdown): no new work; a shutdown checkpoint, after the one under
    /// way if any, so that the next start has nothing to redo and the slots are saved where
    /// they are; then exit.
    fn begin_shutdown(&mut self, out: &mut Out) {
        if self.is_standby() {
            return out.exit(); // nothing of its own to checkpoint
        }
        if self.shutdown_at.is_some() {
            return;
        }
        self.shutdown_at = Some(self.insert_lsn);
        self.begin_checkpoint(out);
    }

    /// Run one transaction from the workload.
    fn on_command(&mut self, command: Command, out: &mut Out) {
        match command {
            Command::Transaction { txn, .. } if self.is_standby() => {
                let error = Some(
                    "cannot execute a write in a read-only transaction (the server is a standby)"
                        .into(),
                );
                let xid = 0;
                out.reply(Reply::RolledBack { txn, xid, error });
            }
            Command::Promote => self.promote(out),
            Command::Transaction {
                txn,
                statements,
                commit,
            } => self.transaction(txn, &statements, commit, out),
            Command::GetChanges { slot } => self.get_changes(slot, out),
        }
    }

    /// `BEGIN; statements; COMMIT` (or ROLLBACK).
    fn transaction(&mut self, txn: u64, statements: &[RowChange], commit: bool, out: &mut Out) {
        let xid = self.next_xid;
        self.next_xid += 1;
        let (changes, error) = self.execute(statements);
        let commit = commit && error.is_none();
        let mut records: Vec<WalRecord> = changes
            .iter()
            .map(|change| WalRecord::Heap {
                change: change.clone(),
            })
            .collect();
        records.push(if commit {
            WalRecord::Commit
        } else {
            WalRecord::Abort
        });
        let lsns: Vec<Lsn> = records.iter().map(|r| self.insert(xid, r, out)).collect();
        if !commit {
            out.reply(Reply::RolledBack { txn, xid, error });
            return;
        }
        let lsn = self.insert_lsn;
        if !self.slots.is_empty() {
            let (commit_lsn, change_lsns) = lsns.split_last().expect("a commit record");
            let changes = change_lsns.iter().copied().zip(changes.iter().cloned());
            let txn = DecodedTxn::new(xid, changes.collect(), lsns[0], *commit_lsn, lsn);
            self.decodable.push(txn.with_relations(&self.catalog));
        }
        for change in &changes {
            recovery::apply(&mut self.tables, change);
            recovery::alter_catalog(&mut self.catalog, change, lsn);
        }
        self.last_committed_xid = Some(xid);
        self.commit_lsn = lsn;
        out.trace(Event::Committed {
            txn,
            xid,
            lsn,
            changes,
        });
        if self.config.synchronous_commit.waits_for_flush() {
            self.waiting.push(WaitingCommit { txn, xid, lsn });
            if self.flushing.is_none() {
                self.start_flush(out);
            }
        } else {
            out.reply(Reply::Committed { txn, xid, lsn });
        }
    }

    /// `pg_logical_slot_get_changes(slot, NULL, NULL)`: every transaction committed after the
    /// slot's confirmed position whose commit record is flushed, decoded by `test_decoding`,
    /// and the slot confirmed past them.
    fn get_changes(&mut self, slot: String, out: &mut Out) {
        let Some(position) = self.slots.get(&slot).copied() else {
            return;
        };
        let ready: Vec<&DecodedTxn> = self
            .decodable
            .iter()
            .filter(|t| t.end_lsn > position.confirmed_flush_lsn && t.end_lsn <= self.flush_lsn)
            .collect();
        let rows = ready
            .iter()
            .flat_map(|t| decoding::test_decoding(t))
            .collect();
        let transactions: Vec<(Xid, Lsn)> = ready.iter().map(|t| (t.xid, t.end_lsn)).collect();
        if let Some(&(_, end)) = transactions.last() {
            self.advance_slot(&slot, end, out);
        }
        out.reply(Reply::Changes {
            slot,
            rows,
            transactions,
        });
    }

    /// The WAL records of `statements`, checked against the tables; the error that aborts
    /// the transaction, if one fails.
    fn execute(&self, statements: &[RowChange]) -> (Vec<RowChange>, Option<String>) {
        if statements.len() > 1
            && statements
                .iter()
                .any(|s| matches!(s, RowChange::Alter { .. }))
        {
            let error = "simplified: ALTER TABLE runs in a transaction of its own".to_string();
            return (Vec::new(), Some(error));
        }
        // What this transaction has done so far, on top of the committed rows.
        let mut mine: BTreeMap<(&str, Key), Option<&Row>> = BTreeMap::new();
        let mut records = Vec::new();
        for s in statements {
            let table = s.table();
            let (Some(rows), Some(schema)) = (self.tables.get(table), self.catalog.current(table))
            else {
                return (
                    records,
                    Some(format!("relation \"{table}\" does not exist")),
                );
            };
            if let Err(error) = check_statement(s, schema, rows) {
                return (records, Some(error));
            }
            let Some(key) = s.key() else {
                records.push(s.clone());
                continue;
            };
            let exists = mine
                .get(&(table, key))
                .map_or(rows.contains_key(&key), Option::is_some);
            match s {
                RowChange::Insert { .. } if exists => {
                    return (
                        records,
                        Some(format!(
                            "duplicate key value violates unique constraint \"{table}_pkey\""
                        )),
                    );
                }
                // UPDATE or DELETE of no row: zero rows affected, nothing logged.
                RowChange::Update { .. } | RowChange::Delete { .. } if !exists => {}
                RowChange::Insert { row, .. } | RowChange::Update { row, .. } => {
                    mine.insert((table, key), Some(row));
                    records.push(s.clone());
                }
                RowChange::Delete { .. } => {
                    mine.insert((table, key), None);
                    records.push(s.clone());
                }
                RowChange::Alter { .. } => records.push(s.clone()),
            }
        }
        (records, None)
    }

    /// Append `record` of `xid` at the insert position (in the page cache).
    fn insert(&mut self, xid: Xid, record: &WalRecord, out: &mut Out) -> Lsn {
        let size = self.config.wal_segment_size;
        let mut lsn = self.insert_lsn;
        let mut bytes = wal::encode(lsn, xid, record);
        let left = size - (lsn.0 - wal::segment_start(lsn, size).0);
        if bytes.len() as u64 > left {
            lsn = Lsn(wal::segment_start(lsn, size).0 + size);
            bytes = wal::encode(lsn, xid, record);
        }
        debug_assert!(bytes.len() as u64 <= size, "a WAL record fits in a segment");
        let file = wal::segment_file(lsn, size);
        if self.segments.last() != Some(&file) {
            self.segments.push(file.clone());
        }
        self.dirty.insert(file.clone());
        self.insert_lsn = Lsn(lsn.0 + bytes.len() as u64);
        if self.config.wal_level != WalLevel::Minimal {
            self.keep_for_standbys(lsn, &bytes);
        }
        out.disk(DiskOp::Append { file, bytes });
        lsn
    }

    fn sync(&mut self, file: String, out: &mut Out) -> DiskToken {
        let token = DiskToken(self.next_token);
        self.next_token += 1;
        out.disk(DiskOp::Sync { file, token });
        token
    }

    /// Flush the WAL up to the insert position, unless a flush is in flight or nothing is
    /// unflushed.
    fn start_flush(&mut self, out: &mut Out) {
        if self.flushing.is_some() || self.dirty.is_empty() {
            return;
        }
        let files = std::mem::take(&mut self.dirty);
        let syncs = files.into_iter().map(|f| self.sync(f, out)).collect();
        self.flushing = Some((self.insert_lsn, syncs));
    }

    fn on_synced(&mut self, token: DiskToken, out: &mut Out) {
        if let Some((upto, syncs)) = &mut self.flushing
            && syncs.remove(&token)
        {
            if syncs.is_empty() {
                let upto = *upto;
                self.flushing = None;
                self.wal_flushed(upto, out);
            }
            return;
        }
        self.checkpoint_synced(token, out);
    }

    /// The WAL is durable up to `upto`: acknowledge the commits it covers, and flush again
    /// for those it does not.
    fn wal_flushed(&mut self, upto: Lsn, out: &mut Out) {
        debug_assert!(upto >= self.flush_lsn, "the flush LSN never goes back");
        self.flush_lsn = upto;
        out.trace(Event::WalFlushed { flush_lsn: upto });
        self.release_commits(out);
        self.send_wal(out);
        self.replay_flushed(out);
        self.answer_snapshots(out);
        let slots: Vec<String> = self.walsenders.keys().cloned().collect();
        for slot in slots {
            self.stream(&slot, out);
        }
        match self.checkpoint.take() {
            Some(Checkpoint::WalFirst { control, files }) if control.redo <= upto => {
                self.write_data_files(control, files, out);
            }
            Some(Checkpoint::Record { control }) if control.checkpoint < upto => {
                out.disk(DiskOp::Replace {
                    file: PG_CONTROL.to_string(),
                    bytes: serde_json::to_vec(&control).expect("pg_control serialises"),
                });
                let sync = self.sync(PG_CONTROL.to_string(), out);
                self.checkpoint = Some(Checkpoint::Control { control, sync });
            }
            other => self.checkpoint = other,
        }
        let checkpoint_waits = matches!(
            self.checkpoint,
            Some(Checkpoint::WalFirst { .. } | Checkpoint::Record { .. })
        );
        // A standby flushes what it received as soon as it can: its primary may be waiting.
        let received = self
            .receiver
            .as_ref()
            .is_some_and(|r| !r.unapplied.is_empty());
        if !self.waiting.is_empty() || !self.snapshots.is_empty() || checkpoint_waits || received {
            self.start_flush(out);
        }
    }

    /// Begin a checkpoint: take every data file as it is now, at the insert position (the
    /// redo point), to write once the WAL is flushed there.
    fn begin_checkpoint(&mut self, out: &mut Out) {
        // A standby has no checkpoint of its own to log (no restartpoints here).
        if self.checkpoint.is_some() || self.is_standby() {
            return;
        }
        let mut files: Vec<(String, Vec<u8>)> = self
            .tables
            .iter()
            .map(|(name, rows)| (heap::data_file(name), heap::encode_rows(rows)))
            .collect();
        files.push((CATALOG_FILE.to_string(), self.catalog.encode()));
        let control = ControlFile {
            checkpoint: self.insert_lsn,
            redo: self.insert_lsn,
            next_xid: self.next_xid,
            last_committed_xid: self.last_committed_xid,
        };
        self.checkpoint_slots = self.slots.clone();
        if self.flush_lsn >= control.redo {
            self.write_data_files(control, files, out);
        } else {
            self.checkpoint = Some(Checkpoint::WalFirst { control, files });
            self.start_flush(out);
        }
    }

    /// Write and sync the checkpoint's data files, and the slots' state files as they were at
    /// its start (`CheckPointReplicationSlots`).
    fn write_data_files(
        &mut self,
        control: ControlFile,
        mut files: Vec<(String, Vec<u8>)>,
        out: &mut Out,
    ) {
        for (slot, position) in &self.checkpoint_slots {
            let bytes = serde_json::to_vec(position).expect("a slot serialises");
            files.push((decoding::state_file(slot), bytes));
        }
        let mut syncs = BTreeSet::new();
        for (file, bytes) in files {
            out.disk(DiskOp::Replace {
                file: file.clone(),
                bytes,
            });
            syncs.insert(self.sync(file, out));
        }
        self.checkpoint = Some(Checkpoint::DataFiles { control, syncs });
        if let Some(Checkpoint::DataFiles { syncs, .. }) = &self.checkpoint
            && syncs.is_empty()
        {
            self.log_checkpoint(control, out);
        }
    }

    /// The data files are durable: log the checkpoint record (it belongs to no transaction:
    /// xid 0, as in PostgreSQL) and flush it.
    fn log_checkpoint(&mut self, mut control: ControlFile, out: &mut Out) {
        control.checkpoint = self.insert(0, &WalRecord::Checkpoint { redo: control.redo }, out);
        self.checkpoint = Some(Checkpoint::Record { control });
        self.start_flush(out);
    }

    /// A sync of the checkpoint's completed.
    fn checkpoint_synced(&mut self, token: DiskToken, out: &mut Out) {
        match &mut self.checkpoint {
            Some(Checkpoint::DataFiles { control, syncs }) if syncs.contains(&token) => {
                syncs.remove(&token);
                if syncs.is_empty() {
                    let control = *control;
                    self.log_checkpoint(control, out);
                }
            }
            Some(Checkpoint::Control { control, sync }) if *sync == token => {
                let control = *control;
                self.checkpoint = None;
                self.saved_slots = std::mem::take(&mut self.checkpoint_slots);
                self.checkpoint_completed(control, out);
            }
            _ => {}
        }
    }

    /// `pg_control` names the new checkpoint: WAL segments wholly before its redo point are
    /// no longer needed.
    fn checkpoint_completed(&mut self, control: ControlFile, out: &mut Out) {
        self.control = Some(control);
        // Keep what the redo point and every slot still need (PostgreSQL's KeepLogSeg).
        let oldest = self
            .saved_slots
            .values()
            .map(|p| p.restart_lsn)
            .chain(self.standbys_need())
            .fold(control.redo, Lsn::min);
        self.trim_kept(wal::segment_start(oldest, self.config.wal_segment_size));
        let keep = wal::segment_file(oldest, self.config.wal_segment_size);
        let (removed, kept): (Vec<String>, Vec<String>) = std::mem::take(&mut self.segments)
            .into_iter()
            .partition(|f| *f < keep);
        self.segments = kept;
        for file in &removed {
            self.dirty.remove(file);
            out.disk(DiskOp::Delete { file: file.clone() });
        }
        out.trace(Event::CheckpointCompleted {
            checkpoint: control.checkpoint,
            redo: control.redo,
            removed_segments: removed,
        });
        // A checkpoint under way at SIGTERM may have begun before the last commits: only
        // one from the shutdown on leaves nothing to redo.
        match self.shutdown_at {
            Some(at) if control.redo >= at => out.exit(),
            Some(_) => self.begin_checkpoint(out),
            None => {}
        }
    }
}

/// Whether statement `s` may run on a table defined by `schema` holding `rows`: a row
/// must fit the definition, an `ALTER TABLE` must be able to rewrite every row.
fn check_statement(s: &RowChange, schema: &heap::TableSchema, rows: &Rows) -> Result<(), String> {
    match s {
        RowChange::Insert { row, .. } | RowChange::Update { row, .. } => ddl::fits(schema, row),
        RowChange::Delete { .. } => Ok(()),
        RowChange::Alter { alter, .. } => {
            alter.schema_after(schema)?;
            rows.values().try_for_each(|r| alter.rewrite(r).map(drop))
        }
    }
}

/// The definitions of `tables`, from the catalog.
fn tables_of(catalog: &Catalog, tables: &BTreeMap<String, Rows>) -> Vec<heap::TableSchema> {
    tables
        .keys()
        .filter_map(|t| catalog.current(t).cloned())
        .collect()
}

#[cfg(test)]
mod tests;
