//! Tables and their rows: what the data files hold.
//!
//! A table has typed columns, the first being its primary key (an `integer`). The data files
//! (`base/5/<table>`, 5 being the `postgres` database's OID) hold every row, written whole at
//! each checkpoint. Simplified: PostgreSQL writes dirty 8 KB pages, protected from torn pages
//! by full-page images in the WAL; here a checkpoint replaces each table's file in one write
//! and syncs it before the checkpoint counts, which keeps the same guarantee.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A column's type, by PostgreSQL's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    /// `integer`.
    Integer,
    /// `text`.
    Text,
}

impl ColumnType {
    /// Read a type name: `integer` (or `int`, `int4`, `bigint`) or `text` (or `varchar`).
    pub fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "integer" | "int" | "int4" | "int8" | "bigint" => Some(ColumnType::Integer),
            "text" | "varchar" => Some(ColumnType::Text),
            _ => None,
        }
    }
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ColumnType::Integer => "integer",
            ColumnType::Text => "text",
        })
    }
}

/// A column: its name and type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// Its name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: ColumnType,
    /// `DEFAULT`: what a row that does not say takes (columns added by `ALTER TABLE` have
    /// one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
}

/// A table's definition: its name and columns, the primary key first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSchema {
    /// Its name (in schema `public`).
    pub name: String,
    /// Its columns; the first is the primary key.
    pub columns: Vec<Column>,
}

/// A value in a row.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// An `integer`.
    Int(i64),
    /// A `text`.
    Text(String),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(i) => write!(f, "{i}"),
            Value::Text(t) => write!(f, "'{t}'"),
        }
    }
}

/// A primary key.
pub type Key = i64;

/// A row's values, in column order, the primary key first.
pub type Row = Vec<Value>;

/// The primary key of `row`.
pub fn key_of(row: &Row) -> Key {
    match row.first() {
        Some(Value::Int(k)) => *k,
        other => panic!("a row starts with its integer primary key, not {other:?}"),
    }
}

/// A table's rows by primary key.
pub type Rows = BTreeMap<Key, Row>;

/// Tables (name → rows) as JSON writes them: each table a list of rows, primary key first,
/// in key order (JSON object keys are text, and a reader should not have to guess them back
/// into integers).
pub mod tables_as_lists {
    use super::{Row, Rows, Value, key_of};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    /// Write each table as the list of its rows.
    pub fn serialize<S: Serializer>(
        tables: &BTreeMap<String, Rows>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let lists: BTreeMap<&String, Vec<&Row>> = tables
            .iter()
            .map(|(name, rows)| (name, rows.values().collect()))
            .collect();
        lists.serialize(serializer)
    }

    /// Read each table back from the list of its rows.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BTreeMap<String, Rows>, D::Error> {
        let lists = BTreeMap::<String, Vec<Row>>::deserialize(deserializer)?;
        let keyed = |r: Row| match r.first() {
            Some(Value::Int(_)) => Ok((key_of(&r), r)),
            _ => Err(serde::de::Error::custom(
                "a row starts with its integer primary key",
            )),
        };
        lists
            .into_iter()
            .map(|(name, rows)| Ok((name, rows.into_iter().map(keyed).collect::<Result<_, _>>()?)))
            .collect()
    }
}

/// `public.orders (id integer, customer text)`: the tests' table.
#[cfg(test)]
pub(crate) fn orders_schema() -> TableSchema {
    let column = |name: &str, kind| Column {
        name: name.into(),
        kind,
        default: None,
    };
    TableSchema {
        name: "orders".into(),
        columns: vec![
            column("id", ColumnType::Integer),
            column("customer", ColumnType::Text),
        ],
    }
}

/// `public.orders (id integer, customer text, amount integer)`: the tests' table for
/// schema changes.
#[cfg(test)]
pub(crate) fn orders_with_amount() -> TableSchema {
    let mut orders = orders_schema();
    orders.columns.push(Column {
        name: "amount".into(),
        kind: ColumnType::Integer,
        default: None,
    });
    orders
}

/// The data file of `table`.
pub fn data_file(table: &str) -> String {
    format!("base/5/{table}")
}

/// A data file's bytes: the rows as JSON.
pub fn encode_rows(rows: &Rows) -> Vec<u8> {
    serde_json::to_vec(&rows.values().collect::<Vec<_>>()).expect("rows serialise")
}

/// The rows of a data file; `None` if it is unreadable.
pub fn decode_rows(bytes: &[u8]) -> Option<Rows> {
    let rows: Vec<Row> = serde_json::from_slice(bytes).ok()?;
    Some(rows.into_iter().map(|r| (key_of(&r), r)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_files_round_trip() {
        let rows: Rows = [
            (1, vec![Value::Int(1), Value::Text("ada".into())]),
            (2, vec![Value::Int(2), Value::Text("bob".into())]),
        ]
        .into();
        assert_eq!(decode_rows(&encode_rows(&rows)), Some(rows));
        assert_eq!(decode_rows(b"[[1,"), None);
        assert_eq!(ColumnType::parse("INT"), Some(ColumnType::Integer));
        assert_eq!(ColumnType::parse("jsonb"), None);
    }
}
