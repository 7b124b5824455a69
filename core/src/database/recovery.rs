//! Crash recovery by redo, as PostgreSQL's startup process does it: read `global/pg_control`
//! for the last checkpoint, load the data files it made durable, then replay the WAL from the
//! checkpoint's redo point — each committed transaction's changes applied at its commit
//! record, rolled-back and unfinished ones dropped — up to the first record that is torn,
//! damaged or absent. The WAL is cut there: what follows was never durable.
//!
//! Replication slots come back from their state files; the WAL is read from the oldest
//! slot's `restart_lsn` if that is before the redo point (the checkpoint kept it), so that
//! every committed transaction a slot has not confirmed can be decoded again.

use super::RowChange;
use super::catalog::{CATALOG_FILE, Catalog};
use super::config::DatabaseConfig;
use super::decoding::{self, DecodedTxn, SlotPosition};
use super::heap::{self, Rows, key_of};
use super::wal::{self, BadRecord, Lsn, WalRecord, Xid};
use crate::disk::{DiskImage, DiskOp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The control file.
pub const PG_CONTROL: &str = "global/pg_control";

/// What `pg_control` says: where the last checkpoint is, and where redo starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlFile {
    /// The checkpoint record's LSN ("Latest checkpoint location").
    pub checkpoint: Lsn,
    /// Its redo point ("Latest checkpoint's REDO location").
    pub redo: Lsn,
    /// The next transaction id at the checkpoint ("Latest checkpoint's NextXID").
    pub next_xid: Xid,
    /// The last transaction committed before the redo point.
    pub last_committed_xid: Option<Xid>,
}

/// What recovery found and did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryReport {
    /// The checkpoint recovery started from (none: a new cluster, or never checkpointed).
    pub checkpoint: Option<Lsn>,
    /// Where redo started.
    pub redo: Lsn,
    /// Where the WAL ends after recovery: the next record goes here.
    pub end: Lsn,
    /// Committed transactions replayed.
    pub commits_replayed: u64,
    /// Rolled-back transactions whose records were skipped.
    pub aborts_skipped: u64,
    /// Transactions with records but no commit or abort before the end: they never happened.
    pub incomplete_discarded: u64,
    /// Why redo stopped, if a record there was damaged (rather than absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub damaged: Option<BadRecord>,
    /// The last transaction that committed, after recovery.
    pub last_committed_xid: Option<Xid>,
}

/// The database as recovery leaves it.
#[derive(Debug)]
pub struct Recovered {
    /// Every table's definitions.
    pub catalog: Catalog,
    /// Every table's rows.
    pub tables: BTreeMap<String, Rows>,
    /// The next transaction id to hand out.
    pub next_xid: Xid,
    /// The last checkpoint.
    pub control: Option<ControlFile>,
    /// WAL segment files that hold records from where recovery read on.
    pub segments: Vec<String>,
    /// Every slot's position, from its state file (a slot never saved starts at 0/0).
    pub slots: BTreeMap<String, SlotPosition>,
    /// Committed transactions after the oldest slot's confirmed position, in commit order.
    pub decodable: Vec<DecodedTxn>,
    /// Every WAL record redo read, with its LSN: what a standby may still ask for.
    pub wal: Vec<(Lsn, Vec<u8>)>,
    /// Transactions whose commit record was not found: a primary discards them, a standby
    /// completes them with the WAL it receives next.
    pub pending: Pending,
}

/// A transaction's records so far: where it began, and its changes with their LSNs.
pub(crate) type Pending = BTreeMap<Xid, (Lsn, Vec<(Lsn, RowChange)>)>;

/// Recover the database `config` describes from `disk`: the state, the report, and the disk
/// operations that cut the WAL where redo stopped.
pub fn recover(
    config: &DatabaseConfig,
    disk: &DiskImage,
) -> (Recovered, RecoveryReport, Vec<DiskOp>) {
    let segment_size = config.wal_segment_size;
    let control: Option<ControlFile> = disk
        .get(PG_CONTROL)
        .and_then(|b| serde_json::from_slice(b).ok());
    // The checkpoint's catalog; before the first checkpoint, the tables as created.
    let mut catalog = control
        .and_then(|_| disk.get(CATALOG_FILE))
        .and_then(|b| Catalog::decode(b))
        .unwrap_or_else(|| Catalog::created(&config.tables));
    let mut tables: BTreeMap<String, Rows> = catalog
        .tables()
        .iter()
        .map(|s| {
            let rows = control
                .and_then(|_| disk.get(&heap::data_file(&s.name)))
                .and_then(|b| heap::decode_rows(b))
                .unwrap_or_default();
            (s.name.clone(), rows)
        })
        .collect();
    let redo = control.map_or(Lsn(0), |c| c.redo);
    let slots: BTreeMap<String, SlotPosition> = config
        .slots
        .iter()
        .map(|name| {
            let position = disk
                .get(&decoding::state_file(name))
                .and_then(|b| serde_json::from_slice(b).ok())
                .unwrap_or_default();
            (name.clone(), position)
        })
        .collect();
    let confirmed = slots.values().map(|p| p.confirmed_flush_lsn).min();
    let start = slots.values().map(|p| p.restart_lsn).fold(redo, Lsn::min);
    let mut decodable = Vec::new();
    let mut report = RecoveryReport {
        checkpoint: control.map(|c| c.checkpoint),
        redo,
        last_committed_xid: control.and_then(|c| c.last_committed_xid),
        ..RecoveryReport::default()
    };
    let mut pending = Pending::new();
    let mut max_xid = control.map(|c| c.next_xid.saturating_sub(1));
    let mut segments = Vec::new();
    let mut ops = Vec::new();
    let mut lsn = start;
    let mut wal_read = Vec::new();
    loop {
        let file = wal::segment_file(lsn, segment_size);
        let Some(bytes) = disk.get(&file) else {
            break;
        };
        if segments.last() != Some(&file) {
            segments.push(file.clone());
        }
        let offset = (lsn.0 - wal::segment_start(lsn, segment_size).0) as usize;
        if offset >= bytes.len() {
            // This segment is done: the WAL goes on at the start of the next one, if that
            // exists (a record that did not fit here went there).
            let next = Lsn(wal::segment_start(lsn, segment_size).0 + segment_size);
            if !disk.contains_key(&wal::segment_file(next, segment_size)) {
                break;
            }
            lsn = next;
            continue;
        }
        match wal::decode(&bytes[offset..], lsn) {
            Ok((xid, record, len)) => {
                max_xid = max_xid.max(Some(xid));
                let end = Lsn(lsn.0 + len as u64);
                wal_read.push((lsn, bytes[offset..offset + len].to_vec()));
                let at = Place { lsn, end, redo };
                let state = (&mut tables, &mut catalog);
                if let Some(txn) = replay(xid, record, at, &mut pending, state, &mut report)
                    && confirmed.is_some_and(|c| txn.end_lsn > c)
                {
                    decodable.push(txn);
                }
                lsn = end;
            }
            Err(bad) => {
                report.damaged = Some(bad);
                ops.push(DiskOp::Truncate {
                    file: file.clone(),
                    len: offset as u64,
                });
                break;
            }
        }
    }
    // Segments beyond the end hold nothing redo could reach: they go.
    for name in disk.keys().filter(|f| f.starts_with("pg_wal/")) {
        if *name > wal::segment_file(lsn, segment_size) {
            ops.push(DiskOp::Delete { file: name.clone() });
        }
    }
    report.incomplete_discarded = pending.len() as u64;
    report.end = lsn;
    let next_xid = max_xid.map_or(wal::FIRST_NORMAL_XID, |x| x + 1);
    let recovered = Recovered {
        catalog,
        tables,
        next_xid,
        control,
        segments,
        slots,
        decodable,
        wal: wal_read,
        pending,
    };
    (recovered, report, ops)
}

/// Where a record lies: its LSN, its end, and the redo point (only what follows it is
/// applied: the data files hold the rest).
#[derive(Clone, Copy)]
pub(crate) struct Place {
    pub(crate) lsn: Lsn,
    pub(crate) end: Lsn,
    pub(crate) redo: Lsn,
}

/// Redo one record of transaction `xid`; a commit returns the transaction, decoded.
pub(crate) fn replay(
    xid: Xid,
    record: WalRecord,
    at: Place,
    pending: &mut Pending,
    (tables, catalog): (&mut BTreeMap<String, Rows>, &mut Catalog),
    report: &mut RecoveryReport,
) -> Option<DecodedTxn> {
    let after_redo = at.lsn >= at.redo;
    match record {
        WalRecord::Commit => {
            let (begin_lsn, changes) = pending.remove(&xid).unwrap_or((at.lsn, Vec::new()));
            let txn = DecodedTxn::new(xid, changes, begin_lsn, at.lsn, at.end);
            let txn = txn.with_relations(catalog);
            for (_, change) in &txn.changes {
                alter_catalog(catalog, change, at.end);
            }
            if after_redo {
                for (_, change) in &txn.changes {
                    apply(tables, change);
                }
                report.commits_replayed += 1;
                report.last_committed_xid = Some(xid);
            }
            return Some(txn);
        }
        WalRecord::Abort => {
            pending.remove(&xid);
            if after_redo {
                report.aborts_skipped += 1;
            }
        }
        WalRecord::Checkpoint { .. } => {}
        WalRecord::Heap { change } => {
            pending
                .entry(xid)
                .or_insert_with(|| (at.lsn, Vec::new()))
                .1
                .push((at.lsn, change));
        }
    }
    None
}

/// Apply a committed change to the tables.
pub fn apply(tables: &mut BTreeMap<String, Rows>, change: &RowChange) {
    match change {
        RowChange::Insert { table, row } | RowChange::Update { table, row } => {
            tables
                .entry(table.clone())
                .or_default()
                .insert(key_of(row), row.clone());
        }
        RowChange::Delete { table, key } => {
            tables.entry(table.clone()).or_default().remove(key);
        }
        RowChange::Alter { table, alter } => {
            for row in tables.entry(table.clone()).or_default().values_mut() {
                let rewritten = alter.rewrite(row);
                debug_assert!(
                    rewritten.is_ok(),
                    "a committed ALTER TABLE rewrote every row"
                );
                if let Ok(r) = rewritten {
                    *row = r;
                }
            }
        }
    }
}

/// A committed `ALTER TABLE` (a commit ending at `end`) changes the catalog from `end` on.
pub fn alter_catalog(catalog: &mut Catalog, change: &RowChange, end: Lsn) {
    if let RowChange::Alter { table, alter } = change
        && let Some(after) = catalog
            .current(table)
            .and_then(|s| alter.schema_after(s).ok())
    {
        catalog.alter(table, end, after);
    }
}
