//! `[[databases]]`: PostgreSQL-like servers, their tables and the transactions run on them.
//!
//! ```toml
//! [[databases]]
//! name = "db-1"
//! [databases.config]
//! synchronous_commit = "off"
//! [[databases.tables]]
//! name = "orders"
//! columns = ["id integer", "customer text", "amount integer"]
//! [databases.workload]
//! table = "orders"
//! transactions = 300
//! interval_ms = 20
//! keys = 40
//! ```
//!
//! The first column of a table is its primary key and must be an `integer`.
//!
//! Schema changes the application runs (its migrations) are `[[databases.ddl]]` entries,
//! each an `ALTER TABLE` at a time; the workload's rows follow the table's definition from
//! then on:
//!
//! ```toml
//! [[databases.ddl]]
//! at_ms = 8000
//! sql = "ALTER TABLE orders ADD COLUMN note text DEFAULT ''"
//! ```

use super::Ctx;
use super::file::{FileDatabase, FileDdl, FileSlot, FileTable, FileTransactions};
use super::nodes::Nodes;
use super::properties;
use crate::error::ScenarioError;
use crate::model::{DatabaseSpec, ScheduledDdl, SlotReader, TransactionWorkload};
use kafkasim_core::database::ddl::AlterTable;
use kafkasim_core::database::heap::{Column, ColumnType, TableSchema};
use kafkasim_core::database::{DatabaseConfig, WalLevel};

/// `[[databases]]`.
pub(super) fn databases(
    ctx: &Ctx<'_>,
    raw: &[FileDatabase],
    duration_ms: u64,
) -> Result<Vec<DatabaseSpec>, ScenarioError> {
    raw.iter()
        .enumerate()
        .map(|(i, d)| {
            let field = format!("databases[{i}]");
            let mut config = DatabaseConfig::default();
            properties::apply_server(ctx, &d.config, &field, &mut config)?;
            for (t, table) in d.tables.iter().enumerate() {
                let schema = table_schema(ctx, table, &format!("{field}.tables[{t}]"))?;
                if config.tables.iter().any(|s| s.name == schema.name) {
                    let why = format!("table `{}` is defined twice", schema.name);
                    return Err(ctx.err(
                        table.name.span(),
                        format!("{field}.tables[{t}].name"),
                        why,
                    ));
                }
                config.tables.push(schema);
            }
            // A standby's tables are its primary's: its workload may name them.
            if let Some(primary) = config.primary_host.as_ref().and_then(|h| {
                raw.iter()
                    .position(|p| p.name.get_ref() == h && p.name.get_ref() != d.name.get_ref())
            }) && d.tables.is_empty()
            {
                for (t, table) in raw[primary].tables.iter().enumerate() {
                    let field = format!("databases[{primary}].tables[{t}]");
                    config.tables.push(table_schema(ctx, table, &field)?);
                }
            }
            let workload = d
                .workload
                .as_ref()
                .map(|w| workload(ctx, w, &config, duration_ms, &format!("{field}.workload")))
                .transpose()?;
            let mut slot_readers = Vec::new();
            for (s, raw) in d.slots.iter().enumerate() {
                let reader = slot(
                    ctx,
                    raw,
                    &config,
                    duration_ms,
                    &format!("{field}.slots[{s}]"),
                )?;
                if config.slots.contains(&reader.slot) {
                    let why = format!("replication slot \"{}\" already exists", reader.slot);
                    return Err(ctx.err(raw.name.span(), format!("{field}.slots[{s}].name"), why));
                }
                config.slots.push(reader.slot.clone());
                slot_readers.push(reader);
            }
            let ddl = ddl(ctx, &d.ddl, &config.tables, duration_ms, &field)?;
            Ok(DatabaseSpec {
                name: d.name.get_ref().clone(),
                config,
                workload,
                slot_readers,
                ddl,
            })
        })
        .collect()
}

/// One table: its name, and its columns as `"<name> <type>"`.
/// Standbys (`primary_conninfo = 'host=<database>'`): each takes its primary's tables, as a
/// base backup of it would hold them, and its node; every server's `application_name` is
/// its node's name.
pub(super) fn standbys(
    ctx: &Ctx<'_>,
    raw: &[FileDatabase],
    databases: &mut [DatabaseSpec],
    nodes: &Nodes,
) -> Result<(), ScenarioError> {
    let names: Vec<String> = databases.iter().map(|d| d.name.clone()).collect();
    for i in 0..databases.len() {
        databases[i].config.application_name = databases[i].name.clone();
        let Some(host) = databases[i].config.primary_host.clone() else {
            continue;
        };
        let field = format!("databases[{i}].config.primary_conninfo");
        let span = raw[i].name.span();
        let Some(p) = names
            .iter()
            .position(|n| *n == host && *n != databases[i].name)
        else {
            let why = format!(
                "`{host}` is not another database of this file (databases: {})",
                names.join(", ")
            );
            return Err(ctx.err(span, field, why));
        };
        if databases[p].config.wal_level == WalLevel::Minimal {
            let why = format!("{host} has wal_level = minimal: a standby needs replica or logical");
            return Err(ctx.err(span, field, why));
        }
        if databases[p].config.primary_host.is_some() {
            let why = format!("{host} is a standby itself: cascading replication is not modelled");
            return Err(ctx.err(span, field, why));
        }
        if !raw[i].tables.is_empty() {
            let why = "a standby's tables are its primary's (a base backup): remove its [[databases.tables]]";
            return Err(ctx.err(span, format!("databases[{i}].tables"), why));
        }
        databases[i].config.primary = nodes.id(&host);
    }
    Ok(())
}

/// `[[databases.ddl]]`, in time order, each checked against the tables as the earlier ones
/// leave them.
fn ddl(
    ctx: &Ctx<'_>,
    raw: &[FileDdl],
    tables: &[TableSchema],
    duration_ms: u64,
    field: &str,
) -> Result<Vec<ScheduledDdl>, ScenarioError> {
    let mut order: Vec<(usize, &FileDdl)> = raw.iter().enumerate().collect();
    order.sort_by_key(|(_, d)| *d.at_ms.get_ref());
    let mut tables = tables.to_vec();
    let mut scheduled = Vec::new();
    for (i, d) in order {
        let at_ms = *d.at_ms.get_ref();
        if at_ms > duration_ms {
            let why = format!("at {at_ms} ms, after the run ends ({duration_ms} ms)");
            return Err(ctx.err(d.at_ms.span(), format!("{field}.ddl[{i}].at_ms"), why));
        }
        let (table, alter) = AlterTable::parse(d.sql.get_ref(), &tables)
            .map_err(|why| ctx.err(d.sql.span(), format!("{field}.ddl[{i}].sql"), why))?;
        if let Some(t) = tables.iter_mut().find(|t| t.name == table)
            && let Ok(after) = alter.schema_after(t)
        {
            *t = after;
        }
        scheduled.push(ScheduledDdl {
            at_ms,
            table,
            alter,
        });
    }
    Ok(scheduled)
}

fn table_schema(ctx: &Ctx<'_>, raw: &FileTable, field: &str) -> Result<TableSchema, ScenarioError> {
    let name = raw.name.get_ref().trim().to_string();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(ctx.err(
            raw.name.span(),
            format!("{field}.name"),
            "a table name is letters, digits and '_'",
        ));
    }
    let mut columns: Vec<Column> = Vec::new();
    for (i, c) in raw.columns.get_ref().iter().enumerate() {
        let cfield = format!("{field}.columns[{i}]");
        let mut words = c.get_ref().split_whitespace();
        let (Some(column), Some(kind), None) = (words.next(), words.next(), words.next()) else {
            return Err(ctx.err(
                c.span(),
                cfield,
                "a column is \"<name> <type>\", e.g. \"id integer\"",
            ));
        };
        let Some(kind) = ColumnType::parse(kind) else {
            let why = format!("type \"{kind}\" is not modelled (types: integer, text)");
            return Err(ctx.err(c.span(), cfield, why));
        };
        if columns.iter().any(|k| k.name == column) {
            let why = format!("column \"{column}\" specified more than once");
            return Err(ctx.err(c.span(), cfield, why));
        }
        columns.push(Column {
            name: column.to_string(),
            kind,
            default: None,
        });
    }
    match columns.first() {
        Some(Column {
            kind: ColumnType::Integer,
            ..
        }) => Ok(TableSchema { name, columns }),
        _ => Err(ctx.err(
            raw.columns.span(),
            format!("{field}.columns"),
            "the first column is the primary key and must be an integer",
        )),
    }
}

/// One `[[databases.slots]]` entry, checked as `pg_create_logical_replication_slot` checks it.
fn slot(
    ctx: &Ctx<'_>,
    raw: &FileSlot,
    config: &DatabaseConfig,
    duration_ms: u64,
    field: &str,
) -> Result<SlotReader, ScenarioError> {
    let name = raw.name.get_ref();
    let valid = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_';
    if name.is_empty() || !name.chars().all(valid) {
        let why = "replication slot names may only contain lower case letters, numbers, and the underscore character";
        return Err(ctx.err(raw.name.span(), format!("{field}.name"), why));
    }
    if config.wal_level != WalLevel::Logical {
        let why = "logical decoding requires wal_level >= logical: set wal_level = \"logical\" in [databases.config]";
        return Err(ctx.err(raw.name.span(), format!("{field}.name"), why));
    }
    if let Some(plugin) = &raw.plugin
        && plugin.get_ref() != "test_decoding"
    {
        let why = format!(
            "output plugin \"{}\" is not modelled (plugins: test_decoding)",
            plugin.get_ref()
        );
        return Err(ctx.err(plugin.span(), format!("{field}.plugin"), why));
    }
    if *raw.poll_ms.get_ref() == 0 {
        return Err(ctx.err(
            raw.poll_ms.span(),
            format!("{field}.poll_ms"),
            "must be at least 1",
        ));
    }
    let start_ms = raw.start_ms.as_ref().map_or(0, |s| *s.get_ref());
    if start_ms > duration_ms {
        let span = raw.start_ms.as_ref().map_or(0..0, |s| s.span());
        let why = format!("after the end of the run ({duration_ms} ms)");
        return Err(ctx.err(span, format!("{field}.start_ms"), why));
    }
    Ok(SlotReader {
        slot: name.clone(),
        start_ms,
        poll_ms: *raw.poll_ms.get_ref(),
    })
}

/// `[databases.workload]`, checked against the tables and the run.
fn workload(
    ctx: &Ctx<'_>,
    raw: &FileTransactions,
    config: &DatabaseConfig,
    duration_ms: u64,
    field: &str,
) -> Result<TransactionWorkload, ScenarioError> {
    let table = raw.table.get_ref();
    if !config.tables.iter().any(|t| t.name == *table) {
        let known: Vec<&str> = config.tables.iter().map(|t| t.name.as_str()).collect();
        let why = format!("no table `{table}` (tables: {})", known.join(", "));
        return Err(ctx.err(raw.table.span(), format!("{field}.table"), why));
    }
    let positive = |v: &toml::Spanned<u64>, key: &str| {
        if *v.get_ref() == 0 {
            Err(ctx.err(v.span(), format!("{field}.{key}"), "must be at least 1"))
        } else {
            Ok(*v.get_ref())
        }
    };
    let interval_ms = positive(&raw.interval_ms, "interval_ms")?;
    let keys = positive(&raw.keys, "keys")?;
    let start_ms = raw.start_ms.as_ref().map_or(0, |s| *s.get_ref());
    if start_ms > duration_ms {
        let span = raw.start_ms.as_ref().map_or(0..0, |s| s.span());
        let why = format!("after the end of the run ({duration_ms} ms)");
        return Err(ctx.err(span, format!("{field}.start_ms"), why));
    }
    let rollback_percent = match &raw.rollback_percent {
        Some(p) if *p.get_ref() > 100 => {
            let why = "a percentage is at most 100";
            return Err(ctx.err(p.span(), format!("{field}.rollback_percent"), why));
        }
        Some(p) => *p.get_ref(),
        None => 0,
    };
    Ok(TransactionWorkload {
        table: table.clone(),
        start_ms,
        transactions: raw.transactions,
        interval_ms,
        keys,
        rollback_percent,
    })
}
