//! What a stage does to each change event, as pure rules over its state.
//!
//! - **filter** (`where = "amount >= 500"`): raw → clean. An event whose row matches goes on
//!   as it is; a row that does not match — inserted so, or updated out of the filter — goes on
//!   as a delete of its key, so that a table kept downstream drops it (the semantics of
//!   filtering a changelog, as Kafka Streams' `KTable.filter` has them). Deletes and
//!   tombstones go on as they are. No state: a duplicate gives the same output.
//! - **aggregate** (`group_by = "customer"`, `sum = "amount"`): clean → aggregated. A running
//!   count and sum per group, kept correct under updates and deletes by remembering each
//!   row's last contribution (`KTable.groupBy(..).aggregate(..)` with its adder and
//!   subtractor). Every event that changes a group emits that group's new totals, keyed by
//!   the group: a compacted topic then holds the latest totals of every group. An event no
//!   newer (by source position) than what the state holds for its row is a duplicate of
//!   at-least-once delivery and changes nothing.
//!
//! Simplified: one comparison per filter, integer literals only; one `sum` column.

use crate::connect::envelope::{ChangeEvent, Position};
use crate::database::heap::{Key, Row, TableSchema, Value};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use std::fmt;

/// A comparison of a filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Comparison {
    /// `=`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
}

impl Comparison {
    const ALL: [(&'static str, Comparison); 6] = [
        (">=", Comparison::Ge),
        ("<=", Comparison::Le),
        ("!=", Comparison::Ne),
        ("=", Comparison::Eq),
        ("<", Comparison::Lt),
        (">", Comparison::Gt),
    ];

    fn holds(self, left: i64, right: i64) -> bool {
        match self {
            Comparison::Eq => left == right,
            Comparison::Ne => left != right,
            Comparison::Lt => left < right,
            Comparison::Le => left <= right,
            Comparison::Gt => left > right,
            Comparison::Ge => left >= right,
        }
    }

    fn symbol(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, c)| *c == self)
            .map_or("?", |(s, _)| s)
    }
}

/// A stage's function.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Transform {
    /// Keep the rows where `column op value`.
    Filter {
        /// The column's name.
        column: String,
        /// Its position in the table.
        position: usize,
        /// The comparison.
        op: Comparison,
        /// The integer compared with.
        value: i64,
    },
    /// Count the rows and sum `sum` per value of `group_by`.
    Aggregate {
        /// The grouping column's name.
        group_by: String,
        /// Its position.
        group_position: usize,
        /// The summed column's name (an `integer`).
        sum: String,
        /// Its position.
        sum_position: usize,
    },
}

impl fmt::Display for Transform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Transform::Filter {
                column, op, value, ..
            } => write!(f, "filter where {column} {} {value}", op.symbol()),
            Transform::Aggregate { group_by, sum, .. } => {
                write!(f, "count and sum({sum}) group by {group_by}")
            }
        }
    }
}

impl Transform {
    /// A filter from `column op integer` (`amount >= 500`) over `table`.
    pub fn filter(expression: &str, table: &TableSchema) -> Result<Self, String> {
        let (symbol, op) = Comparison::ALL
            .iter()
            .find(|(s, _)| expression.contains(s))
            .ok_or_else(|| format!("expected `<column> <op> <integer>` (ops: >=, <=, !=, =, <, >), found `{expression}`"))?;
        let (column, value) = expression
            .split_once(symbol)
            .map(|(c, v)| (c.trim(), v.trim()))
            .unwrap_or_default();
        let position = integer_column(table, column)?;
        let value = value
            .parse()
            .map_err(|_| format!("`{value}` is not an integer"))?;
        Ok(Transform::Filter {
            column: column.to_string(),
            position,
            op: *op,
            value,
        })
    }

    /// An aggregate counting rows and summing `sum` per `group_by` of `table`.
    pub fn aggregate(group_by: &str, sum: &str, table: &TableSchema) -> Result<Self, String> {
        let group_position = column(table, group_by)?;
        let sum_position = integer_column(table, sum)?;
        Ok(Transform::Aggregate {
            group_by: group_by.to_string(),
            group_position,
            sum: sum.to_string(),
            sum_position,
        })
    }

    /// Whether `row` passes a filter (an aggregate keeps every row).
    pub fn keeps(&self, row: &Row) -> bool {
        match self {
            Transform::Filter {
                position,
                op,
                value,
                ..
            } => matches!(row.get(*position), Some(Value::Int(v)) if op.holds(*v, *value)),
            Transform::Aggregate { .. } => true,
        }
    }
}

fn column(table: &TableSchema, name: &str) -> Result<usize, String> {
    table
        .columns
        .iter()
        .position(|c| c.name == name)
        .ok_or_else(|| {
            format!(
                "column \"{name}\" of relation \"{}\" does not exist",
                table.name
            )
        })
}

fn integer_column(table: &TableSchema, name: &str) -> Result<usize, String> {
    let i = column(table, name)?;
    if table.columns[i].kind != crate::database::heap::ColumnType::Integer {
        return Err(format!("column \"{name}\" is not an integer"));
    }
    Ok(i)
}

/// One record a stage writes: its key and value (none: a tombstone).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    /// The key.
    pub key: String,
    /// The value.
    pub value: Option<String>,
}

/// A group's totals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// How many rows.
    pub count: i64,
    /// The sum of their summed column.
    pub sum: i64,
}

/// What an aggregate remembers: each row's last position and contribution (group, amount),
/// and each group's totals. A filter remembers nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageState {
    /// Each row seen: its last position and what it contributes (none: deleted).
    pub rows: BTreeMap<Key, (Position, Option<(String, i64)>)>,
    /// Each group's totals.
    pub totals: BTreeMap<String, Totals>,
}

/// The text of a group value (text unquoted).
fn group_text(v: &Value) -> String {
    match v {
        Value::Int(i) => i.to_string(),
        Value::Text(t) => t.clone(),
    }
}

/// An aggregate's record for `group`: keyed by the group, the totals as its value.
pub fn totals_record(group_by: &str, sum: &str, group: &str, t: Totals) -> Output {
    let key = json!({ group_by: group }).to_string();
    let value = json!({ group_by: group, "count": t.count, sum: t.sum }).to_string();
    Output {
        key,
        value: Some(value),
    }
}

/// A delete event for `key` at the position of `event`, as Debezium writes one.
fn delete_of(table: &TableSchema, event: &ChangeEvent, prefix: &str, ts_ms: u64) -> Output {
    use crate::connect::envelope::{Context, Source, change_event};
    let cx = Context {
        prefix,
        schema: table,
        source: Source {
            lsn: event.source.lsn,
            xid: event.source.xid,
        },
        ts_ms,
    };
    let delete = crate::database::RowChange::Delete {
        table: table.name.clone(),
        key: event.key,
    };
    let (key, value) = change_event(cx, &delete).expect("a delete is an event");
    // A delete standing for a snapshot's row is part of the snapshot: a state, not a change
    // (a stream may still carry older changes of the row, to be ignored after it).
    let value = match serde_json::from_str::<serde_json::Value>(&value) {
        Ok(mut v) if event.snapshot => {
            v["source"]["snapshot"] = json!("true");
            v.to_string()
        }
        _ => value,
    };
    Output {
        key,
        value: Some(value),
    }
}

impl StageState {
    /// What `transform` writes for `event` (read from `key` and `value`, the input record):
    /// the records to produce, in order.
    pub fn apply(
        &mut self,
        transform: &Transform,
        table: &TableSchema,
        (key, value): (&str, &str),
        event: &ChangeEvent,
        (prefix, ts_ms): (&str, u64),
    ) -> Vec<Output> {
        match transform {
            Transform::Filter { .. } => match &event.after {
                Some(row) if !transform.keeps(row) => {
                    vec![delete_of(table, event, prefix, ts_ms), tombstone(key)]
                }
                _ => vec![Output {
                    key: key.to_string(),
                    value: Some(value.to_string()),
                }],
            },
            Transform::Aggregate {
                group_by,
                group_position,
                sum,
                sum_position,
            } => {
                let position = event.position();
                if self
                    .rows
                    .get(&event.key)
                    .is_some_and(|(held, _)| *held >= position)
                {
                    return Vec::new();
                }
                let new = event.after.as_ref().and_then(|row| {
                    let group = group_text(row.get(*group_position)?);
                    let amount = match row.get(*sum_position)? {
                        Value::Int(i) => *i,
                        Value::Text(_) => 0,
                    };
                    Some((group, amount))
                });
                let old = self
                    .rows
                    .insert(event.key, (position, new.clone()))
                    .and_then(|(_, c)| c);
                let mut touched: Vec<String> = Vec::new();
                if let Some((group, amount)) = old {
                    let t = self.totals.entry(group.clone()).or_default();
                    t.count -= 1;
                    t.sum -= amount;
                    touched.push(group);
                }
                if let Some((group, amount)) = new {
                    let t = self.totals.entry(group.clone()).or_default();
                    t.count += 1;
                    t.sum += amount;
                    if !touched.contains(&group) {
                        touched.push(group);
                    }
                }
                debug_assert!(
                    self.totals.values().all(|t| t.count >= 0),
                    "a group never counts fewer than no rows"
                );
                touched
                    .iter()
                    .map(|g| totals_record(group_by, sum, g, self.totals[g]))
                    .collect()
            }
        }
    }
}

fn tombstone(key: &str) -> Output {
    Output {
        key: key.to_string(),
        value: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connect::envelope::{self, Context, Source};
    use crate::database::RowChange;
    use crate::database::wal::Lsn;

    fn orders() -> TableSchema {
        crate::database::heap::orders_with_amount()
    }

    /// The change event of `change` at `lsn`, as (key, value, parsed).
    fn event(change: RowChange, lsn: u64) -> (String, String, ChangeEvent) {
        let table = orders();
        let cx = Context {
            prefix: "shop",
            schema: &table,
            source: Source {
                lsn: Lsn(lsn),
                xid: Some(7),
            },
            ts_ms: 0,
        };
        let (key, value) = envelope::change_event(cx, &change).unwrap();
        let parsed = envelope::parse(&table, Some(&key), Some(&value))
            .unwrap()
            .unwrap();
        (key, value, parsed)
    }

    fn insert(id: i64, customer: &str, amount: i64) -> RowChange {
        RowChange::Insert {
            table: "orders".into(),
            row: vec![
                Value::Int(id),
                Value::Text(customer.into()),
                Value::Int(amount),
            ],
        }
    }

    fn update(id: i64, customer: &str, amount: i64) -> RowChange {
        RowChange::Update {
            table: "orders".into(),
            row: vec![
                Value::Int(id),
                Value::Text(customer.into()),
                Value::Int(amount),
            ],
        }
    }

    fn run(t: &Transform, state: &mut StageState, change: RowChange, lsn: u64) -> Vec<Output> {
        let (key, value, parsed) = event(change, lsn);
        state.apply(t, &orders(), (&key, &value), &parsed, ("shop", 0))
    }

    #[test]
    fn a_filter_passes_matching_rows_and_deletes_the_others() {
        let t = Transform::filter("amount >= 500", &orders()).unwrap();
        let mut s = StageState::default();
        let kept = run(&t, &mut s, insert(1, "ada", 700), 10);
        assert_eq!(kept.len(), 1);
        assert!(kept[0].value.as_ref().unwrap().contains("\"op\":\"c\""));
        let dropped = run(&t, &mut s, update(1, "ada", 100), 20);
        assert_eq!(dropped.len(), 2, "a delete and its tombstone");
        assert!(dropped[0].value.as_ref().unwrap().contains("\"op\":\"d\""));
        assert_eq!(dropped[1].value, None);
        assert_eq!(s, StageState::default(), "a filter keeps no state");
        // A snapshot's row that is dropped becomes a delete that is still a snapshot state.
        let table = orders();
        let cx = Context {
            prefix: "shop",
            schema: &table,
            source: Source {
                lsn: Lsn(30),
                xid: None,
            },
            ts_ms: 0,
        };
        let row = vec![Value::Int(2), Value::Text("bob".into()), Value::Int(5)];
        let (key, value) = envelope::read_event(cx, &row);
        let read = envelope::parse(&table, Some(&key), Some(&value))
            .unwrap()
            .unwrap();
        let out = s.apply(&t, &table, (&key, &value), &read, ("shop", 0));
        let delete = out[0].value.as_deref().unwrap();
        let parsed = envelope::parse(&table, Some(&out[0].key), Some(delete))
            .unwrap()
            .unwrap();
        assert_eq!(parsed.after, None);
        assert!(
            !parsed.position().change,
            "a state, ordered as the snapshot's row"
        );
        for bad in ["amount", "price > 1", "customer > 1", "amount > x"] {
            assert!(Transform::filter(bad, &orders()).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_aggregate_follows_updates_and_deletes_and_ignores_duplicates() {
        let t = Transform::aggregate("customer", "amount", &orders()).unwrap();
        let mut s = StageState::default();
        run(&t, &mut s, insert(1, "ada", 100), 10);
        run(&t, &mut s, insert(2, "ada", 50), 20);
        assert_eq!(s.totals["ada"], Totals { count: 2, sum: 150 });
        assert!(
            run(&t, &mut s, insert(2, "ada", 50), 20).is_empty(),
            "a duplicate"
        );
        let moved = run(&t, &mut s, update(1, "bob", 30), 30);
        assert_eq!(moved.len(), 2, "both groups change");
        assert_eq!(s.totals["ada"], Totals { count: 1, sum: 50 });
        assert_eq!(s.totals["bob"], Totals { count: 1, sum: 30 });
        let delete = RowChange::Delete {
            table: "orders".into(),
            key: 2,
        };
        let out = run(&t, &mut s, delete, 40);
        assert_eq!(s.totals["ada"], Totals::default());
        assert_eq!(
            out[0].value.as_deref(),
            Some(r#"{"amount":0,"count":0,"customer":"ada"}"#)
        );
        assert_eq!(out[0].key, r#"{"customer":"ada"}"#);
    }
}
