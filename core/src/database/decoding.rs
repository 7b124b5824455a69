//! Logical decoding: replication slots and the `test_decoding` output plugin.
//!
//! A logical replication slot remembers how far its consumer has confirmed
//! (`confirmed_flush_lsn`) and from where the WAL must be kept to decode what it has not
//! (`restart_lsn`). `pg_logical_slot_get_changes(slot, NULL, NULL)` decodes every transaction
//! committed after `confirmed_flush_lsn` — whole, in commit order, only from WAL already
//! flushed, so nothing it returns can be lost by a crash — and confirms them. The slot's
//! state is written to `pg_replslot/<slot>/state` at each checkpoint, as PostgreSQL's
//! `CheckPointReplicationSlots` does: after a crash the slot is back where the last checkpoint
//! saw it, and the transactions confirmed since come out again (at-least-once delivery).
//!
//! Simplified: a transaction's records are contiguous in the WAL (transactions do not
//! interleave), so `restart_lsn` is simply the end of the last confirmed commit; UPDATEs show
//! the new row only (REPLICA IDENTITY DEFAULT, the key unchanged); no NULLs.

use super::RowChange;
use super::catalog::Catalog;
use super::heap::{TableSchema, Value};
use super::wal::{Lsn, Xid};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A slot's position.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotPosition {
    /// The oldest WAL the slot still needs.
    pub restart_lsn: Lsn,
    /// How far its consumer has confirmed.
    pub confirmed_flush_lsn: Lsn,
}

/// A slot's state file.
pub fn state_file(slot: &str) -> String {
    format!("pg_replslot/{slot}/state")
}

/// A committed transaction as the decoder reassembles it from the WAL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecodedTxn {
    /// Its transaction id.
    pub xid: Xid,
    /// Each change with its record's LSN.
    pub changes: Vec<(Lsn, RowChange)>,
    /// Its first record's LSN (the BEGIN row's).
    pub begin_lsn: Lsn,
    /// Its commit record's LSN (the COMMIT row's).
    pub commit_lsn: Lsn,
    /// The end of its commit record: confirming it moves `confirmed_flush_lsn` here.
    pub end_lsn: Lsn,
    /// The definitions of the tables it changes as they were when it began — what pgoutput
    /// sends as *Relation* messages before a transaction's first change of each table. A
    /// change after an `ALTER TABLE` in the list is read with the altered definition.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relations: Vec<TableSchema>,
}

impl DecodedTxn {
    /// A transaction of `changes`, its relations not yet named.
    pub fn new(
        xid: Xid,
        changes: Vec<(Lsn, RowChange)>,
        begin_lsn: Lsn,
        commit_lsn: Lsn,
        end_lsn: Lsn,
    ) -> Self {
        DecodedTxn {
            xid,
            changes,
            begin_lsn,
            commit_lsn,
            end_lsn,
            relations: Vec::new(),
        }
    }

    /// With the definitions, from `catalog`, of the tables it changes at its beginning.
    pub fn with_relations(mut self, catalog: &Catalog) -> Self {
        let tables: BTreeSet<&str> = self.changes.iter().map(|(_, c)| c.table()).collect();
        self.relations = tables
            .into_iter()
            .filter_map(|t| catalog.at(t, self.begin_lsn).cloned())
            .collect();
        self
    }

    /// Each change with the definition of its table when it was made.
    pub fn changes_with_schemas(&self) -> Vec<(Lsn, &RowChange, Option<TableSchema>)> {
        let mut relations: BTreeMap<&str, TableSchema> = self
            .relations
            .iter()
            .map(|r| (r.name.as_str(), r.clone()))
            .collect();
        self.changes
            .iter()
            .map(|(lsn, change)| {
                if let RowChange::Alter { table, alter } = change
                    && let Some(r) = relations.get_mut(table.as_str())
                    && let Ok(after) = alter.schema_after(r)
                {
                    *r = after;
                }
                (*lsn, change, relations.get(change.table()).cloned())
            })
            .collect()
    }
}

/// One row of `pg_logical_slot_get_changes`: `(lsn, xid, data)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecodedRow {
    /// The record's LSN.
    pub lsn: Lsn,
    /// The transaction.
    pub xid: Xid,
    /// What `test_decoding` writes for it.
    pub data: String,
}

/// `test_decoding`'s text for one value: `name[type]:value`, text quoted.
fn column(schema: &TableSchema, i: usize, value: &Value) -> String {
    let c = &schema.columns[i];
    format!("{}[{}]:{value}", c.name, c.kind)
}

/// `test_decoding`'s rows for `txn`: `BEGIN xid`, one `table public.t: OP: ...` per change,
/// `COMMIT xid`. An `ALTER TABLE` shows nothing (`test_decoding` skips catalog changes);
/// the changes after it show the new columns.
pub fn test_decoding(txn: &DecodedTxn) -> Vec<DecodedRow> {
    let row = |lsn, data| DecodedRow {
        lsn,
        xid: txn.xid,
        data,
    };
    let mut rows = vec![row(txn.begin_lsn, format!("BEGIN {}", txn.xid))];
    for (lsn, change, schema) in txn.changes_with_schemas() {
        let (table, op, values) = match change {
            RowChange::Insert { table, row } => (table, "INSERT", &row[..]),
            RowChange::Update { table, row } => (table, "UPDATE", &row[..]),
            RowChange::Delete { table, .. } => (table, "DELETE", &[][..]),
            RowChange::Alter { .. } => continue,
        };
        let Some(schema) = schema else {
            continue;
        };
        let columns: Vec<String> = match change {
            RowChange::Delete { key, .. } => vec![column(&schema, 0, &Value::Int(*key))],
            _ => values
                .iter()
                .enumerate()
                .map(|(i, v)| column(&schema, i, v))
                .collect(),
        };
        rows.push(row(
            lsn,
            format!("table public.{table}: {op}: {}", columns.join(" ")),
        ));
    }
    rows.push(row(txn.commit_lsn, format!("COMMIT {}", txn.xid)));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of PostgreSQL's own `test_decoding` regression output
    /// (`contrib/test_decoding/expected/ddl.out`).
    #[test]
    fn the_text_is_test_decodings() {
        let schema = crate::database::heap::orders_schema();
        let txn = DecodedTxn {
            xid: 529,
            changes: vec![
                (
                    Lsn(0x10),
                    RowChange::Insert {
                        table: "orders".into(),
                        row: vec![Value::Int(1), Value::Text("ada".into())],
                    },
                ),
                (
                    Lsn(0x60),
                    RowChange::Delete {
                        table: "orders".into(),
                        key: 1,
                    },
                ),
            ],
            begin_lsn: Lsn(0x10),
            commit_lsn: Lsn(0xA0),
            end_lsn: Lsn(0xC0),
            relations: vec![schema],
        };
        let data: Vec<String> = test_decoding(&txn).into_iter().map(|r| r.data).collect();
        assert_eq!(
            data,
            [
                "BEGIN 529",
                "table public.orders: INSERT: id[integer]:1 customer[text]:'ada'",
                "table public.orders: DELETE: id[integer]:1",
                "COMMIT 529",
            ]
        );
    }
}
