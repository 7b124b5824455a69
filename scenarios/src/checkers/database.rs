//! What a database promises, judged from the trace: a COMMIT that returned survives a crash
//! (unless `synchronous_commit = off` said it might not), and the tables hold exactly what
//! the surviving committed transactions wrote — nothing of a rolled-back one.

use super::history::History;
use crate::trace::{Header, Line, NodeRole};
use crate::view::WorldView;
use kafkasim_core::actor::{Event, Reply};
use kafkasim_core::database::wal::{Lsn, Xid};
use kafkasim_core::database::{self, RowChange, SynchronousCommit, heap::Rows};
use kafkasim_core::time::Instant;
use kafkasim_core::view::NodeView;
use kafkasim_sim::trace::TraceKind;
use std::collections::{BTreeMap, BTreeSet};

/// A transaction whose commit record was inserted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DbCommit {
    /// The workload's number for it.
    pub txn: u64,
    /// Its transaction id.
    pub xid: Xid,
    /// The end of its commit record.
    pub lsn: Lsn,
    /// When it committed.
    pub time: Instant,
    /// The rows it changed.
    pub changes: Vec<RowChange>,
    /// When COMMIT returned to the application, if it did.
    pub acknowledged: Option<Instant>,
    /// The first recovery after it that did not find it (its commit record was lost), with
    /// the last transaction that recovery found committed.
    pub lost_at: Option<(Instant, Option<Xid>)>,
    /// Whether it was replayed from a primary's WAL (a standby's), rather than run here;
    /// its workload number is then unknown (0).
    pub replayed: bool,
}

impl DbCommit {
    /// A commit at `time`: run here as the workload's transaction `txn`, or (none) replayed
    /// from a primary's WAL.
    fn new(txn: Option<u64>, xid: Xid, lsn: Lsn, time: Instant, changes: &[RowChange]) -> Self {
        DbCommit {
            txn: txn.unwrap_or(0),
            xid,
            lsn,
            time,
            changes: changes.to_vec(),
            acknowledged: None,
            lost_at: None,
            replayed: txn.is_none(),
        }
    }
}

/// One database's history.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DatabaseHistory {
    /// Its `synchronous_commit`.
    pub synchronous_commit: SynchronousCommit,
    /// Its commits, in order.
    pub commits: Vec<DbCommit>,
    /// Transactions rolled back: (workload number, error if a statement failed).
    pub rolled_back: Vec<(u64, Option<String>)>,
    /// Its tables at the end, if it was up.
    pub final_tables: Option<BTreeMap<String, Rows>>,
    /// What `pg_logical_slot_get_changes` returned, in order.
    pub deliveries: Vec<Delivery>,
    /// The primary it is a standby of, if any.
    pub primary: Option<String>,
    /// Its `synchronous_standby_names`.
    pub synchronous_standby_names: Vec<String>,
    /// When it was promoted, if it was.
    pub promoted_at: Option<Instant>,
}

/// One `pg_logical_slot_get_changes` call that returned transactions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// When it returned.
    pub time: Instant,
    /// The slot.
    pub slot: String,
    /// The transactions, in the order returned.
    pub xids: Vec<Xid>,
}

impl DatabaseHistory {
    /// The tables the surviving commits make, replayed in commit order.
    pub fn expected_tables(&self) -> BTreeMap<String, Rows> {
        let mut tables = BTreeMap::new();
        for c in self.commits.iter().filter(|c| c.lost_at.is_none()) {
            for change in &c.changes {
                database::recovery::apply(&mut tables, change);
            }
        }
        tables
    }
}

/// Every database's history, from the trace and the view at its end.
pub fn histories(
    header: &Header,
    lines: &[Line],
    end: Option<&WorldView>,
) -> BTreeMap<String, DatabaseHistory> {
    let mut dbs: BTreeMap<String, DatabaseHistory> = header
        .nodes
        .iter()
        .filter_map(|n| match &n.role {
            NodeRole::Database {
                synchronous_commit,
                primary,
                synchronous_standby_names,
                ..
            } => Some((
                n.name.clone(),
                DatabaseHistory {
                    synchronous_commit: *synchronous_commit,
                    primary: primary.clone(),
                    synchronous_standby_names: synchronous_standby_names.clone(),
                    ..DatabaseHistory::default()
                },
            )),
            _ => None,
        })
        .collect();
    for line in lines {
        let Some(db) = dbs.get_mut(&*line.node) else {
            continue;
        };
        match &line.kind {
            TraceKind::Node {
                event:
                    Event::Database(database::Event::Committed {
                        txn,
                        xid,
                        lsn,
                        changes,
                    }),
            } => db
                .commits
                .push(DbCommit::new(Some(*txn), *xid, *lsn, line.time, changes)),
            TraceKind::Node {
                event:
                    Event::Database(database::Event::Replayed {
                        xid, lsn, changes, ..
                    }),
            } => db
                .commits
                .push(DbCommit::new(None, *xid, *lsn, line.time, changes)),
            TraceKind::Node {
                event: Event::Database(database::Event::Promoted { .. }),
            } => db.promoted_at = Some(line.time),
            TraceKind::Node {
                event: Event::Database(database::Event::Recovered { report, .. }),
            } => {
                // Commits since the last recovery that this one did not find are lost.
                let last = report.last_committed_xid;
                for c in db.commits.iter_mut().rev() {
                    if c.lost_at.is_some() || c.time > line.time {
                        continue;
                    }
                    if c.time <= line.time && last.is_none_or(|l| c.xid > l) {
                        c.lost_at = Some((line.time, last));
                    } else {
                        break;
                    }
                }
            }
            TraceKind::Reply {
                reply: Reply::Database(reply),
            } => match reply {
                database::Reply::Committed { txn, .. } => {
                    let own = |c: &&mut DbCommit| !c.replayed && c.txn == *txn;
                    if let Some(c) = db.commits.iter_mut().rev().find(own) {
                        c.acknowledged = Some(line.time);
                    }
                }
                database::Reply::RolledBack { txn, error, .. } => {
                    db.rolled_back.push((*txn, error.clone()));
                }
                database::Reply::Changes {
                    slot, transactions, ..
                } if !transactions.is_empty() => db.deliveries.push(Delivery {
                    time: line.time,
                    slot: slot.clone(),
                    xids: transactions.iter().map(|(xid, _)| *xid).collect(),
                }),
                database::Reply::Changes { .. } => {}
            },
            _ => {}
        }
    }
    if let Some(end) = end {
        for (name, db) in &mut dbs {
            if let Some(NodeView::Database(d)) = end.node(name).and_then(|n| n.view.as_ref()) {
                db.final_tables = Some(d.tables.clone());
            }
        }
    }
    dbs
}

fn lost_acknowledged(h: &History, asynchronous: bool) -> Vec<String> {
    let mut findings = Vec::new();
    for (name, db) in &h.databases {
        if (db.synchronous_commit == SynchronousCommit::Off) != asynchronous {
            continue;
        }
        for c in &db.commits {
            if let (Some(acked), Some((at, last))) = (c.acknowledged, c.lost_at) {
                findings.push(format!(
                    "{name}: COMMIT of xid {} (transaction {}) returned at {acked} with synchronous_commit={}, but recovery at {at} ended at {}",
                    c.xid,
                    c.txn,
                    db.synchronous_commit,
                    last.map_or("no committed transaction".to_string(), |x| format!("xid {x}"))
                ));
            }
        }
    }
    findings
}

/// `lost-commit`: a COMMIT that returned, with `synchronous_commit` other than `off`, is
/// missing after a later crash recovery. Never allowed.
pub fn lost_commit(h: &History) -> Vec<String> {
    lost_acknowledged(h, false)
}

/// `lost-async-commit`: a COMMIT that returned with `synchronous_commit = off` is missing
/// after a later crash recovery: the window PostgreSQL documents (up to three times
/// `wal_writer_delay`).
pub fn lost_async_commit(h: &History) -> Vec<String> {
    lost_acknowledged(h, true)
}

/// `slot-delivery`: what a logical replication slot returns are committed transactions that
/// survive every crash (decoding reads flushed WAL only), in commit order, none skipped —
/// after a crash it may return again what it returned since its last saved position
/// (at-least-once), but never jump ahead of a surviving commit it has not returned.
pub fn slot_delivery(h: &History) -> Vec<String> {
    let mut findings = Vec::new();
    for (name, db) in &h.databases {
        // The surviving commits, in order; a delivered xid is the latest commit with it.
        let surviving: Vec<&DbCommit> = db.commits.iter().filter(|c| c.lost_at.is_none()).collect();
        let mut next: BTreeMap<&str, usize> = BTreeMap::new();
        for d in &db.deliveries {
            let expected = next.entry(d.slot.as_str()).or_insert(0);
            for xid in &d.xids {
                let commit = db
                    .commits
                    .iter()
                    .rev()
                    .find(|c| c.xid == *xid && c.time <= d.time);
                let Some(commit) = commit else {
                    findings.push(format!(
                        "{name}: slot {} returned xid {xid} at {}, which never committed",
                        d.slot, d.time
                    ));
                    continue;
                };
                if let Some((at, _)) = commit.lost_at {
                    findings.push(format!(
                        "{name}: slot {} returned xid {xid} at {}, which the recovery at {at} lost",
                        d.slot, d.time
                    ));
                    continue;
                }
                let index = surviving
                    .iter()
                    .position(|c| std::ptr::eq(*c, commit))
                    .expect("a surviving commit is in the list");
                if index > *expected {
                    findings.push(format!(
                        "{name}: slot {} returned xid {xid} at {} but skipped xid {} before it",
                        d.slot, d.time, surviving[*expected].xid
                    ));
                }
                *expected = index + 1;
            }
        }
    }
    findings
}

/// `db-state`: a database's tables at the end are exactly what its surviving commits wrote,
/// replayed in commit order — no rolled-back change, no lost one brought back, no other.
pub fn db_state(h: &History) -> Vec<String> {
    let mut findings = Vec::new();
    for (name, db) in &h.databases {
        let Some(actual) = &db.final_tables else {
            continue;
        };
        let expected = db.expected_tables();
        let tables: std::collections::BTreeSet<&String> =
            actual.keys().chain(expected.keys()).collect();
        for table in tables {
            let empty = Rows::new();
            let (a, e) = (
                actual.get(table).unwrap_or(&empty),
                expected.get(table).unwrap_or(&empty),
            );
            let keys: std::collections::BTreeSet<&i64> = a.keys().chain(e.keys()).collect();
            if let Some(key) = keys.into_iter().find(|k| a.get(k) != e.get(k)) {
                findings.push(format!(
                    "{name}: public.{table} row {key} is {:?} at the end; the surviving commits wrote {:?}",
                    a.get(key),
                    e.get(key)
                ));
            }
        }
    }
    findings
}

/// Whether commits on `primary` waited for `standby` (a synchronous standby): it is named
/// in `synchronous_standby_names` (or `*` is) and `synchronous_commit` waits for a standby.
fn waits_for(primary: &DatabaseHistory, standby: &str) -> bool {
    let named = primary
        .synchronous_standby_names
        .iter()
        .any(|n| n == standby || n == "*");
    named
        && !matches!(
            primary.synchronous_commit,
            SynchronousCommit::Off | SynchronousCommit::Local
        )
}

/// Every COMMIT a primary acknowledged before its standby's promotion and that the
/// promoted standby does not have; `synchronous` picks the pairs whose commits waited for
/// the standby (or the others).
fn lost_at_failover(h: &History, synchronous: bool) -> Vec<String> {
    let mut findings = Vec::new();
    for (name, standby) in &h.databases {
        let (Some(primary_name), Some(promoted)) = (&standby.primary, standby.promoted_at) else {
            continue;
        };
        let Some(primary) = h.databases.get(primary_name) else {
            continue;
        };
        if waits_for(primary, name) != synchronous {
            continue;
        }
        let kept: BTreeSet<Xid> = standby
            .commits
            .iter()
            .filter(|c| c.replayed && c.time <= promoted)
            .map(|c| c.xid)
            .collect();
        let lost: Vec<&DbCommit> = primary
            .commits
            .iter()
            .filter(|c| c.acknowledged.is_some_and(|a| a <= promoted) && !kept.contains(&c.xid))
            .collect();
        if let (Some(first), Some(last)) = (lost.first(), lost.last()) {
            let how = if synchronous {
                format!(
                    "a synchronous standby (synchronous_commit={})",
                    primary.synchronous_commit
                )
            } else {
                "an asynchronous standby".to_string()
            };
            findings.push(format!(
                "{name}, promoted at {promoted}, lacks {} COMMIT(s) that {primary_name} acknowledged before, with {how}: xid {} (at {}) to xid {}",
                lost.len(),
                first.xid,
                first.acknowledged.map_or(String::new(), |a| a.to_string()),
                last.xid
            ));
        }
    }
    findings
}

/// `failover-lost-commit`: a COMMIT acknowledged by a primary whose commits waited for its
/// synchronous standby is missing on that standby after its promotion. Never allowed.
pub fn failover_lost_commit(h: &History) -> Vec<String> {
    lost_at_failover(h, true)
}

/// `failover-lost-async-commit`: the same with an asynchronous standby — the window
/// PostgreSQL documents: what had not reached the standby is lost at a failover.
pub fn failover_lost_async_commit(h: &History) -> Vec<String> {
    lost_at_failover(h, false)
}
