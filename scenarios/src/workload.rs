//! The transactions a database's applications run, drawn from the seed: each of one to three
//! statements on keys `1..=keys` — an INSERT where the application believes the key is free,
//! else an UPDATE (seven times in ten) or a DELETE — some ending in ROLLBACK.
//!
//! The application's schema changes (`[[databases.ddl]]`) run at their times, each in a
//! transaction of its own numbered after the workload's; the rows of later transactions
//! follow the changed definition.
//!
//! The application believes what its own COMMITs did; after a crash that lost some of them
//! it may INSERT a key that exists (and the database refuses it: a duplicate key) or UPDATE
//! one that does not (zero rows): as real applications meet it.

use crate::model::DatabaseSpec;
use kafkasim_core::database::heap::{ColumnType, Row, TableSchema, Value};
use kafkasim_core::database::{Command, RowChange};
use kafkasim_core::prng::Prng;
use std::collections::BTreeSet;

const CUSTOMERS: [&str; 8] = [
    "ada", "bob", "chen", "dana", "eve", "farid", "grace", "hiro",
];

/// Every transaction of `db`'s workload with the time it runs (ms), in order.
pub fn transactions(db: &DatabaseSpec, seed: u64) -> Vec<(u64, Command)> {
    let mut commands = workload(db, seed);
    let first_ddl = commands.len() as u64;
    for (i, d) in db.ddl.iter().enumerate() {
        let alter = RowChange::Alter {
            table: d.table.clone(),
            alter: d.alter.clone(),
        };
        let command = Command::Transaction {
            txn: first_ddl + i as u64,
            statements: vec![alter],
            commit: true,
        };
        commands.push((d.at_ms, command));
    }
    // Stable: at one time, the workload's transaction runs before the DDL.
    commands.sort_by_key(|(at, _)| *at);
    commands
}

/// The definition of `table` at `at_ms`: as created, then changed by every DDL before.
fn schema_at(db: &DatabaseSpec, table: &str, at_ms: u64) -> Option<TableSchema> {
    let mut schema = db.config.tables.iter().find(|t| t.name == table)?.clone();
    for d in db
        .ddl
        .iter()
        .filter(|d| d.table == table && d.at_ms < at_ms)
    {
        if let Ok(after) = d.alter.schema_after(&schema) {
            schema = after;
        }
    }
    Some(schema)
}

fn workload(db: &DatabaseSpec, seed: u64) -> Vec<(u64, Command)> {
    let Some(w) = &db.workload else {
        return Vec::new();
    };
    let mut prng = Prng::derive(seed, &format!("workload/{}", db.name), 0);
    let mut believed: BTreeSet<i64> = BTreeSet::new();
    let row = |prng: &mut Prng, schema: &TableSchema, key: i64| -> Row {
        let mut row = vec![Value::Int(key)];
        for c in &schema.columns[1..] {
            row.push(match c.kind {
                ColumnType::Integer => Value::Int(1 + prng.below(1000) as i64),
                ColumnType::Text => {
                    Value::Text(CUSTOMERS[prng.below(CUSTOMERS.len() as u64) as usize].into())
                }
            });
        }
        row
    };
    (0..w.transactions)
        .map(|txn| {
            let at = w.start_ms + txn * w.interval_ms;
            let schema = schema_at(db, &w.table, at)
                .expect("the workload's table is checked when the file is read");
            let commit = prng.below(100) >= w.rollback_percent;
            let mut mine = believed.clone();
            let statements = (0..1 + prng.below(3))
                .map(|_| {
                    let key = 1 + prng.below(w.keys) as i64;
                    let table = w.table.clone();
                    if !mine.contains(&key) {
                        mine.insert(key);
                        RowChange::Insert {
                            table,
                            row: row(&mut prng, &schema, key),
                        }
                    } else if prng.below(10) < 7 {
                        RowChange::Update {
                            table,
                            row: row(&mut prng, &schema, key),
                        }
                    } else {
                        mine.remove(&key);
                        RowChange::Delete { table, key }
                    }
                })
                .collect();
            if commit {
                believed = mine;
            }
            (
                at,
                Command::Transaction {
                    txn,
                    statements,
                    commit,
                },
            )
        })
        .collect()
}
