//! `ALTER TABLE`: the schema changes a CDC pipeline must carry downstream.
//!
//! Two changes are modelled, the two that matter to a schema registry:
//! - `ADD COLUMN name type DEFAULT value`: every existing row gets the default (PostgreSQL
//!   stores a constant default once and shows it for old rows; the effect is the same). A
//!   default is required: the model has no NULLs.
//! - `ALTER COLUMN name TYPE type`: every row's value is converted (PostgreSQL rewrites
//!   the table); `integer` to `text` always succeeds, `text` to `integer` fails the
//!   statement on the first value that is not a number, as PostgreSQL's
//!   `invalid input syntax for type integer` does.
//!
//! The WAL logs the change with the column's position, so that redo — and anyone replaying
//! the trace — can rewrite the rows without the catalog. Simplified: no `DROP COLUMN`, no
//! `USING` clause, and the primary key's type never changes.

use super::heap::{Column, ColumnType, Row, TableSchema, Value};
use serde::{Deserialize, Serialize};
use std::fmt;

/// One `ALTER TABLE` action.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum AlterTable {
    /// `ADD COLUMN name type DEFAULT value`, appended after the last column.
    AddColumn {
        /// The new column, with the default every existing row takes.
        column: Column,
    },
    /// `ALTER COLUMN name TYPE type`.
    AlterColumnType {
        /// The column's name.
        column: String,
        /// Its position (0 is the primary key, never altered).
        position: usize,
        /// The new type.
        kind: ColumnType,
    },
}

impl AlterTable {
    /// Read `ALTER TABLE <table> ADD COLUMN <name> <type> DEFAULT <value>` or
    /// `ALTER TABLE <table> ALTER COLUMN <name> TYPE <type>` against the table's schema
    /// (which says where the column is): the table's name and the action.
    pub fn parse(sql: &str, schemas: &[TableSchema]) -> Result<(String, AlterTable), String> {
        let words: Vec<&str> = sql
            .trim()
            .trim_end_matches(';')
            .split_whitespace()
            .collect();
        let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
        let upper: Vec<&str> = upper.iter().map(String::as_str).collect();
        let usage = "expected `ALTER TABLE <table> ADD COLUMN <name> <type> DEFAULT <value>` or `ALTER TABLE <table> ALTER COLUMN <name> TYPE <type>`";
        let (["ALTER", "TABLE", _, rest @ ..], [_, _, table, ..]) = (&upper[..], &words[..]) else {
            return Err(usage.to_string());
        };
        let table = table.trim_start_matches("public.").to_string();
        let schema = schemas
            .iter()
            .find(|s| s.name == table)
            .ok_or_else(|| format!("relation \"{table}\" does not exist"))?;
        let kind = |name: &str| {
            ColumnType::parse(name).ok_or_else(|| format!("type \"{name}\" does not exist"))
        };
        let alter = match rest {
            ["ADD", "COLUMN", _, _, "DEFAULT", ..] => {
                let (name, type_name) = (words[5], words[6]);
                let kind = kind(type_name)?;
                let default = words[8..].join(" ");
                AlterTable::AddColumn {
                    column: Column {
                        name: name.to_string(),
                        kind,
                        default: Some(literal(&default, kind)?),
                    },
                }
            }
            ["ALTER", "COLUMN", _, "TYPE", _] => {
                let name = words[5];
                let position = schema
                    .columns
                    .iter()
                    .position(|c| c.name == name)
                    .ok_or_else(|| {
                        format!("column \"{name}\" of relation \"{table}\" does not exist")
                    })?;
                AlterTable::AlterColumnType {
                    column: name.to_string(),
                    position,
                    kind: kind(words[7])?,
                }
            }
            _ => return Err(usage.to_string()),
        };
        alter.schema_after(schema)?;
        Ok((table, alter))
    }

    /// The table's definition after the change, or PostgreSQL's error.
    pub fn schema_after(&self, schema: &TableSchema) -> Result<TableSchema, String> {
        let mut after = schema.clone();
        match self {
            AlterTable::AddColumn { column } => {
                if column.default.is_none() {
                    return Err(format!(
                        "simplified: column \"{}\" needs a DEFAULT (the model has no NULLs)",
                        column.name
                    ));
                }
                if schema.columns.iter().any(|c| c.name == column.name) {
                    return Err(format!(
                        "column \"{}\" of relation \"{}\" already exists",
                        column.name, schema.name
                    ));
                }
                after.columns.push(column.clone());
            }
            AlterTable::AlterColumnType {
                column,
                position,
                kind,
            } => {
                if *position == 0 {
                    return Err(format!(
                        "cannot alter type of column \"{column}\": it is the primary key"
                    ));
                }
                let c = after
                    .columns
                    .get_mut(*position)
                    .filter(|c| c.name == *column)
                    .ok_or_else(|| {
                        format!(
                            "column \"{column}\" of relation \"{}\" does not exist",
                            schema.name
                        )
                    })?;
                c.kind = *kind;
            }
        }
        Ok(after)
    }

    /// `row` rewritten for the new definition, or the error that fails the statement.
    pub fn rewrite(&self, row: &Row) -> Result<Row, String> {
        let mut row = row.clone();
        match self {
            AlterTable::AddColumn { column } => {
                row.push(column.default.clone().ok_or("a new column has a default")?);
            }
            AlterTable::AlterColumnType { position, kind, .. } => {
                if let Some(v) = row.get_mut(*position) {
                    *v = convert(v, *kind)?;
                }
            }
        }
        Ok(row)
    }

    /// The statement as SQL, after `ALTER TABLE <table>`.
    pub fn sql(&self, table: &str) -> String {
        format!("ALTER TABLE {table} {self}")
    }
}

impl fmt::Display for AlterTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AlterTable::AddColumn { column } => {
                write!(f, "ADD COLUMN {} {}", column.name, column.kind)?;
                match &column.default {
                    Some(d) => write!(f, " DEFAULT {d}"),
                    None => Ok(()),
                }
            }
            AlterTable::AlterColumnType { column, kind, .. } => {
                write!(f, "ALTER COLUMN {column} TYPE {kind}")
            }
        }
    }
}

/// A SQL literal of type `kind`: a number, or text in single quotes.
fn literal(text: &str, kind: ColumnType) -> Result<Value, String> {
    let text = text.trim();
    match kind {
        ColumnType::Integer => text
            .parse()
            .map(Value::Int)
            .map_err(|_| format!("invalid input syntax for type integer: \"{text}\"")),
        ColumnType::Text => text
            .strip_prefix('\'')
            .and_then(|t| t.strip_suffix('\''))
            .map(|t| Value::Text(t.to_string()))
            .ok_or_else(|| format!("a text default is quoted: '{text}'")),
    }
}

/// `value` cast to `kind`, or PostgreSQL's error.
pub fn convert(value: &Value, kind: ColumnType) -> Result<Value, String> {
    Ok(match (value, kind) {
        (Value::Int(i), ColumnType::Text) => Value::Text(i.to_string()),
        (Value::Text(t), ColumnType::Integer) => Value::Int(
            t.trim()
                .parse()
                .map_err(|_| format!("invalid input syntax for type integer: \"{t}\""))?,
        ),
        (v, _) => v.clone(),
    })
}

/// Whether `row` fits `schema`: one value per column, each of its column's type.
pub fn fits(schema: &TableSchema, row: &Row) -> Result<(), String> {
    if row.len() != schema.columns.len() {
        let more = if row.len() > schema.columns.len() {
            "more"
        } else {
            "fewer"
        };
        return Err(format!(
            "INSERT has {more} expressions than target columns of \"{}\"",
            schema.name
        ));
    }
    for (c, v) in schema.columns.iter().zip(row) {
        let ok = matches!(
            (c.kind, v),
            (ColumnType::Integer, Value::Int(_)) | (ColumnType::Text, Value::Text(_))
        );
        if !ok {
            let found = match v {
                Value::Int(_) => "integer",
                Value::Text(_) => "text",
            };
            return Err(format!(
                "column \"{}\" is of type {} but expression is of type {found}",
                c.name, c.kind
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn orders() -> TableSchema {
        crate::database::heap::orders_with_amount()
    }

    #[test]
    fn statements_parse_as_postgresql_reads_them() {
        let schemas = [orders()];
        let (table, add) = AlterTable::parse(
            "ALTER TABLE orders ADD COLUMN note text DEFAULT 'none';",
            &schemas,
        )
        .unwrap();
        assert_eq!(table, "orders");
        assert_eq!(
            add.sql(&table),
            "ALTER TABLE orders ADD COLUMN note text DEFAULT 'none'"
        );
        let (_, alter) = AlterTable::parse(
            "alter table public.orders alter column amount type text",
            &schemas,
        )
        .unwrap();
        assert_eq!(
            alter,
            AlterTable::AlterColumnType {
                column: "amount".into(),
                position: 2,
                kind: ColumnType::Text
            }
        );
        let refused = [
            (
                "ALTER TABLE items ADD COLUMN x int DEFAULT 1",
                "relation \"items\" does not exist",
            ),
            (
                "ALTER TABLE orders ADD COLUMN amount int DEFAULT 1",
                "already exists",
            ),
            (
                "ALTER TABLE orders ALTER COLUMN price TYPE text",
                "\"price\" of relation",
            ),
            (
                "ALTER TABLE orders ALTER COLUMN id TYPE text",
                "primary key",
            ),
            (
                "ALTER TABLE orders ADD COLUMN n int DEFAULT x",
                "invalid input syntax",
            ),
            (
                "ALTER TABLE orders ADD COLUMN n json DEFAULT 1",
                "type \"json\" does not exist",
            ),
            ("DROP TABLE orders", "expected `ALTER TABLE"),
        ];
        for (sql, error) in refused {
            let e = AlterTable::parse(sql, &schemas).unwrap_err();
            assert!(e.contains(error), "{sql}: {e}");
        }
    }

    #[test]
    fn rows_are_rewritten_or_the_statement_fails() {
        let schemas = [orders()];
        let row = vec![Value::Int(1), Value::Text("ada".into()), Value::Int(40)];
        let (_, add) = AlterTable::parse(
            "ALTER TABLE orders ADD COLUMN note text DEFAULT ''",
            &schemas,
        )
        .unwrap();
        let added = add.rewrite(&row).unwrap();
        assert_eq!(added[3], Value::Text(String::new()));
        assert_eq!(fits(&add.schema_after(&orders()).unwrap(), &added), Ok(()));
        let (_, to_text) =
            AlterTable::parse("ALTER TABLE orders ALTER COLUMN amount TYPE text", &schemas)
                .unwrap();
        assert_eq!(to_text.rewrite(&row).unwrap()[2], Value::Text("40".into()));
        let (_, to_int) = AlterTable::parse(
            "ALTER TABLE orders ALTER COLUMN customer TYPE integer",
            &schemas,
        )
        .unwrap();
        assert_eq!(
            to_int.rewrite(&row),
            Err("invalid input syntax for type integer: \"ada\"".into())
        );
        assert!(
            fits(&orders(), &row[..2].to_vec())
                .unwrap_err()
                .contains("fewer")
        );
        let wrong = vec![Value::Int(1), Value::Int(2), Value::Int(3)];
        assert_eq!(
            fits(&orders(), &wrong),
            Err("column \"customer\" is of type text but expression is of type integer".into())
        );
    }
}
