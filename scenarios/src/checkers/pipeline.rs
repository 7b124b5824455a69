//! What a CDC pipeline promises, judged from the trace: the source connector's change events
//! as the sink tasks consumed them, next to the database's commits.
//!
//! - `warehouse-converges`: after the run, the warehouse table (every sink task's rows,
//!   merged by source position as one shared table would hold them) equals the source table.
//! - `lost-change`: every change a surviving commit made to the table after the newest
//!   snapshot the sink read reached the sink at least once. That snapshot carries what came
//!   before: a source that snapshots again after a crash streams only what follows the new
//!   snapshot, as Debezium does, so changes in between reach the sink as the snapshot's
//!   state, not as events (their effect is judged by `warehouse-converges`). On a compacted
//!   topic only each live key's last change must arrive (or a later one): the log cleaner
//!   may remove a change a later one supersedes, and a deleted key whole once its tombstone
//!   is past `delete.retention.ms` (`latest-value` and `warehouse-converges` judge the rest).
//! - `aborted-downstream`: no change of a rolled-back transaction (or of a commit a crash
//!   took back) ever reaches the sink.
//! - `key-order`: for each key, the sink sees every change (c, u, d) for the first time in
//!   LSN order; a change seen again (at-least-once) is allowed, an older one seen first
//!   after a newer one is not. Snapshot rows (r, and the deletes a filter stage makes of the
//!   rows it drops) are states, not changes: a snapshot taken again after a crash reads rows
//!   at a later LSN than changes the stream still carries.
//!
//! Transactions are matched by xid: a change names its transaction by `source.txId`.

use super::database::DatabaseHistory;
use super::history::History;
use crate::trace::{Header, Line, NodeRole};
use crate::view::WorldView;
use kafkasim_core::actor::Event;
use kafkasim_core::connect::envelope::{Op, Position};
use kafkasim_core::connect::{sink, source};
use kafkasim_core::database::RowChange;
use kafkasim_core::database::heap::{Key, Row, Rows};
use kafkasim_core::database::wal::{Lsn, Xid};
use kafkasim_core::time::Instant;
use kafkasim_core::view::NodeView;
use kafkasim_sim::trace::TraceKind;
use std::collections::{BTreeMap, BTreeSet};

/// One change event a sink task polled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SinkRead {
    /// When.
    pub time: Instant,
    /// The task.
    pub task: String,
    /// The row's key.
    pub key: Key,
    /// What happened to the row.
    pub op: Op,
    /// The event's source position.
    pub position: Position,
    /// Its transaction (none for a snapshot row).
    pub xid: Option<Xid>,
}

/// One warehouse table, kept by one sink connector (its consumer group): what its tasks
/// read, and what they hold at the end. Two sinks of one table keep two warehouses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Warehouse {
    /// The table it copies.
    pub table: String,
    /// The topic its sink reads.
    pub topic: String,
    /// The database the table comes from (through the source writing the sink's topic).
    pub database: Option<String>,
    /// The source task writing the topic.
    pub source: Option<String>,
    /// The first snapshot's LSN (the stream carries every change after it).
    pub snapshot_lsn: Option<Lsn>,
    /// Every change event polled, in trace order.
    pub reads: Vec<SinkRead>,
    /// The table at the end, merged from every task; none if a task was down.
    pub final_rows: Option<sink::WarehouseRows>,
    /// Tasks down at the end.
    pub down_at_end: Vec<String>,
    /// Transactions its source handed to its producer more than once (after a restart).
    pub resent: BTreeSet<Xid>,
    /// The filter stages between the source and the sink: the warehouse keeps the rows they
    /// all keep.
    pub filters: Vec<kafkasim_core::stage::transform::Transform>,
}

/// Every warehouse, by the name findings give it: its table, or `table (group)` when more
/// than one sink copies that table.
pub type Warehouses = BTreeMap<String, Warehouse>;

/// The warehouses from the trace and the view at its end.
pub fn warehouses(header: &Header, lines: &[Line], end: Option<&WorldView>) -> Warehouses {
    let mut tables = Warehouses::new();
    let mut task_table: BTreeMap<&str, String> = BTreeMap::new();
    let mut source_of: BTreeMap<&str, (&str, &str)> = BTreeMap::new();
    for n in &header.nodes {
        if let NodeRole::Source {
            database, topics, ..
        } = &n.role
        {
            for t in topics {
                source_of.insert(t, (database, &n.name));
            }
        }
    }
    let mut groups_of: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for n in &header.nodes {
        if let NodeRole::Sink { table, group, .. } = &n.role {
            groups_of.entry(table).or_default().insert(group);
        }
    }
    for n in &header.nodes {
        if let NodeRole::Sink {
            topic,
            table,
            group,
        } = &n.role
        {
            let name = if groups_of[table.as_str()].len() > 1 {
                format!("{table} ({group})")
            } else {
                table.clone()
            };
            task_table.insert(&n.name, name.clone());
            let w = tables.entry(name).or_default();
            w.table = table.clone();
            w.topic = topic.clone();
            if let Some((db, src)) = source_of.get(topic.as_str()) {
                w.database = Some(db.to_string());
                w.source = Some(src.to_string());
            } else if let Some(((db, _), filters)) = super::stages::origin(header, topic) {
                w.database = Some(db);
                w.filters = filters;
                w.source = header.nodes.iter().find_map(|n| match &n.role {
                    NodeRole::Source { database, .. } if Some(database) == w.database.as_ref() => {
                        Some(n.name.clone())
                    }
                    _ => None,
                });
            }
        }
    }
    let mut sent: BTreeMap<(&str, Xid), usize> = BTreeMap::new();
    for line in lines {
        let TraceKind::Node { event } = &line.kind else {
            continue;
        };
        match event {
            Event::Source(source::Event::TransactionSent { xid, .. }) => {
                let times = sent.entry((&line.node, *xid)).or_default();
                *times += 1;
                if *times == 2 {
                    for w in tables.values_mut() {
                        if w.source.as_deref() == Some(&*line.node) {
                            w.resent.insert(*xid);
                        }
                    }
                }
            }
            Event::Source(source::Event::SnapshotTaken { lsn, .. }) => {
                for w in tables.values_mut() {
                    if w.source.as_deref() == Some(&*line.node) && w.snapshot_lsn.is_none() {
                        w.snapshot_lsn = Some(*lsn);
                    }
                }
            }
            Event::Sink(sink::Event::Consumed {
                key,
                op,
                position,
                xid,
                ..
            }) => {
                let Some(w) = task_table.get(&*line.node).and_then(|t| tables.get_mut(t)) else {
                    continue;
                };
                w.reads.push(SinkRead {
                    time: line.time,
                    task: line.node.to_string(),
                    key: *key,
                    op: *op,
                    position: *position,
                    xid: *xid,
                });
            }
            _ => {}
        }
    }
    if let Some(end) = end {
        absorb_final_rows(&mut tables, &task_table, end);
    }
    tables
}

fn absorb_final_rows(
    tables: &mut Warehouses,
    task_table: &BTreeMap<&str, String>,
    end: &WorldView,
) {
    let mut rows: BTreeMap<&str, Vec<&sink::SinkView>> = BTreeMap::new();
    for (task, table) in task_table {
        let Some(w) = tables.get_mut(table) else {
            continue;
        };
        match end.node(task).and_then(|n| n.view.as_ref()) {
            Some(NodeView::Sink(v)) => rows.entry(table).or_default().push(v),
            _ => w.down_at_end.push(task.to_string()),
        }
    }
    for (table, w) in tables.iter_mut() {
        if w.down_at_end.is_empty() {
            let tasks = rows.get(table.as_str()).cloned().unwrap_or_default();
            w.final_rows = Some(sink::merge_views(tasks.iter().copied()));
        }
    }
}

fn database<'h>(h: &'h History, w: &Warehouse) -> Option<(&'h str, &'h DatabaseHistory)> {
    let name = w.database.as_deref()?;
    h.databases
        .get_key_value(name)
        .map(|(k, v)| (k.as_str(), v))
}

fn row_text(row: &Row) -> String {
    let values: Vec<String> = row.iter().map(ToString::to_string).collect();
    format!("({})", values.join(", "))
}

/// `warehouse-converges`.
pub fn warehouse_converges(h: &History) -> Vec<String> {
    let mut findings = Vec::new();
    for (table, w) in &h.warehouses {
        let Some((db, history)) = database(h, w) else {
            continue;
        };
        if !w.down_at_end.is_empty() {
            let tasks = w.down_at_end.join(", ");
            findings.push(format!(
                "warehouse {table}: {tasks} down at the end, its rows unknown"
            ));
            continue;
        }
        let Some(source) = history.final_tables.as_ref() else {
            findings.push(format!("warehouse {table}: {db} is down at the end"));
            continue;
        };
        let empty = Rows::new();
        let source = super::stages::filtered(source.get(&w.table).unwrap_or(&empty), &w.filters);
        let warehouse = w.final_rows.as_ref().map(sink::live).unwrap_or_default();
        findings.extend(differences(table, db, &source, &warehouse));
    }
    findings
}

/// The keys where the warehouse and the source disagree, the first few named.
fn differences(table: &str, db: &str, source: &Rows, warehouse: &Rows) -> Vec<String> {
    let keys: BTreeSet<Key> = source.keys().chain(warehouse.keys()).copied().collect();
    let differ: Vec<String> = keys
        .into_iter()
        .filter(|k| source.get(k) != warehouse.get(k))
        .map(|k| {
            let show = |r: Option<&Row>| r.map_or("no row".to_string(), row_text);
            format!(
                "key {k}: {db} has {}, the warehouse {}",
                show(source.get(&k)),
                show(warehouse.get(&k))
            )
        })
        .collect();
    if differ.is_empty() {
        return Vec::new();
    }
    let shown: Vec<&str> = differ.iter().take(3).map(String::as_str).collect();
    vec![format!(
        "warehouse {table} differs from {db}'s table at {} keys ({} rows there, {} in the warehouse): {}",
        differ.len(),
        source.len(),
        warehouse.len(),
        shown.join("; ")
    )]
}

/// `lost-change`.
pub fn lost_change(h: &History) -> Vec<String> {
    let mut findings = Vec::new();
    for (table, w) in &h.warehouses {
        let Some((db, history)) = database(h, w) else {
            continue;
        };
        let seen: BTreeSet<(Xid, Key)> = w
            .reads
            .iter()
            .filter_map(|r| Some((r.xid?, r.key)))
            .collect();
        // On a compacted topic only each key's latest state is promised: a change a later
        // one supersedes may be gone before the sink reads it, and a deleted key may vanish
        // whole once its tombstone is past delete.retention.ms.
        let compacted = h.compacted_offsets.keys().any(|tp| *tp.topic == *w.topic);
        let mut newest: BTreeMap<Key, Lsn> = BTreeMap::new();
        for r in w.reads.iter().filter(|r| r.position.change) {
            let e = newest.entry(r.key).or_insert(r.position.lsn);
            *e = (*e).max(r.position.lsn);
        }
        let mut last_change: BTreeMap<Key, (Lsn, bool)> = BTreeMap::new();
        for c in history.commits.iter().filter(|c| c.lost_at.is_none()) {
            for (key, change) in row_changes(&c.changes, &w.table) {
                let deleted = matches!(change, RowChange::Delete { .. });
                last_change.insert(key, (c.lsn, deleted));
            }
        }
        let excused = |key: Key, lsn: Lsn| {
            compacted
                && (newest.get(&key).is_some_and(|l| *l > lsn)
                    || last_change
                        .get(&key)
                        .is_some_and(|(l, deleted)| *l > lsn || *deleted))
        };
        let after = w
            .reads
            .iter()
            .filter(|r| !r.position.change)
            .map(|r| r.position.lsn)
            .max()
            .or(w.snapshot_lsn)
            .unwrap_or(Lsn(0));
        let mut missing = Vec::new();
        for c in history
            .commits
            .iter()
            .filter(|c| c.lost_at.is_none() && c.lsn > after)
        {
            for (key, _) in row_changes(&c.changes, &w.table) {
                if !seen.contains(&(c.xid, key)) && !excused(key, c.lsn) {
                    missing.push(format!("xid {} key {key}", c.xid));
                }
            }
        }
        if !missing.is_empty() {
            let shown: Vec<&str> = missing.iter().take(5).map(String::as_str).collect();
            findings.push(format!(
                "warehouse {table}: {} changes committed on {db} after the snapshot (LSN {after}) never reached a sink task: {}",
                missing.len(),
                shown.join(", ")
            ));
        }
    }
    findings
}

/// The changes of `changes` to rows of `table`, with their keys (an `ALTER TABLE` changes
/// no one row: it becomes no event).
fn row_changes<'c>(
    changes: &'c [RowChange],
    table: &'c str,
) -> impl Iterator<Item = (Key, &'c RowChange)> + 'c {
    changes
        .iter()
        .filter(move |ch| ch.table() == table)
        .filter_map(|ch| Some((ch.key()?, ch)))
}

/// `aborted-downstream`.
pub fn aborted_downstream(h: &History) -> Vec<String> {
    let mut findings = Vec::new();
    for (table, w) in &h.warehouses {
        let Some((db, history)) = database(h, w) else {
            continue;
        };
        let surviving: BTreeSet<Xid> = history
            .commits
            .iter()
            .filter(|c| c.lost_at.is_none())
            .map(|c| c.xid)
            .collect();
        let mut reported = BTreeSet::new();
        for r in &w.reads {
            let Some(xid) = r.xid else { continue };
            if !surviving.contains(&xid) && reported.insert(xid) {
                findings.push(format!(
                    "at {} {} applied key {} of xid {xid} to {table}, a transaction {db} did not commit (or lost in a crash)",
                    r.time, r.task, r.key
                ));
            }
        }
    }
    findings
}

/// `key-order`.
pub fn key_order(h: &History) -> Vec<String> {
    let mut findings = Vec::new();
    for (table, w) in &h.warehouses {
        // On a compacted topic the first copy of a change sent twice may be cleaned away:
        // its second copy, behind newer changes of the key, is then the first one read.
        let compacted = h.compacted_offsets.keys().any(|tp| *tp.topic == *w.topic);
        let mut seen: BTreeMap<Key, BTreeSet<Position>> = BTreeMap::new();
        for r in w.reads.iter().filter(|r| r.position.change) {
            let copy = compacted && r.xid.is_some_and(|x| w.resent.contains(&x));
            let positions = seen.entry(r.key).or_default();
            if let Some(newest) = positions.last().copied()
                && !positions.contains(&r.position)
                && r.position < newest
                && !copy
            {
                findings.push(format!(
                    "at {} {} read key {} of {table} at LSN {} for the first time, after LSN {}",
                    r.time, r.task, r.key, r.position.lsn, newest.lsn
                ));
            }
            positions.insert(r.position);
        }
    }
    findings
}
