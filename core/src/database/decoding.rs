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
use super::heap::{TableSchema, Value};
use super::wal::{Lsn, Xid};
use serde::{Deserialize, Serialize};

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
/// `COMMIT xid`.
pub fn test_decoding(txn: &DecodedTxn, schemas: &[TableSchema]) -> Vec<DecodedRow> {
    let row = |lsn, data| DecodedRow {
        lsn,
        xid: txn.xid,
        data,
    };
    let mut rows = vec![row(txn.begin_lsn, format!("BEGIN {}", txn.xid))];
    for (lsn, change) in &txn.changes {
        let (table, op, values) = match change {
            RowChange::Insert { table, row } => (table, "INSERT", &row[..]),
            RowChange::Update { table, row } => (table, "UPDATE", &row[..]),
            RowChange::Delete { table, .. } => (table, "DELETE", &[][..]),
        };
        let Some(schema) = schemas.iter().find(|s| s.name == *table) else {
            continue;
        };
        let columns: Vec<String> = match change {
            RowChange::Delete { key, .. } => vec![column(schema, 0, &Value::Int(*key))],
            _ => values
                .iter()
                .enumerate()
                .map(|(i, v)| column(schema, i, v))
                .collect(),
        };
        rows.push(row(
            *lsn,
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
        };
        let data: Vec<String> = test_decoding(&txn, &[schema])
            .into_iter()
            .map(|r| r.data)
            .collect();
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
