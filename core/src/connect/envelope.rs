//! Debezium's change event: the record a CDC connector writes for one row change.
//!
//! The key is the row's primary key (`{"id":7}`); the value is Debezium's envelope, as its
//! JSON converter writes it with `schemas.enable=false`:
//!
//! ```json
//! {"before":null,"after":{"id":7,"customer":"ada"},
//!  "source":{"connector":"postgresql","name":"dbserver1","db":"postgres","schema":"public",
//!            "table":"orders","txId":529,"lsn":24023128,"snapshot":"false"},
//!  "op":"c","ts_ms":1200}
//! ```
//!
//! `op` is `c` (insert), `u` (update), `d` (delete) or `r` (a row read by the initial
//! snapshot); `source.lsn` is the change's LSN as a 64-bit number, `source.txId` its
//! transaction, `ts_ms` when the connector processed it. A delete is followed by a
//! tombstone — the same key, a null value — so that log compaction can drop the key.
//!
//! Simplified: with PostgreSQL's default `REPLICA IDENTITY`, the WAL holds no old row, so
//! `before` is null for an update and holds only the key (other columns null) for a delete —
//! as Debezium shows it too. `source.ts_ms` (the commit time) is left out: the simulated
//! WAL's commit records carry no timestamp.

use crate::database::RowChange;
use crate::database::heap::{Key, Row, TableSchema, Value};
use crate::database::wal::{Lsn, Xid};
use serde_json::{Map, Value as Json, json};

/// What a change event says happened to a row.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// `c`: INSERT.
    Create,
    /// `u`: UPDATE.
    Update,
    /// `d`: DELETE.
    Delete,
    /// `r`: read by the initial snapshot.
    Read,
}

impl Op {
    /// Debezium's letter for it.
    pub fn letter(self) -> &'static str {
        match self {
            Op::Create => "c",
            Op::Update => "u",
            Op::Delete => "d",
            Op::Read => "r",
        }
    }

    fn from_letter(letter: &str) -> Option<Self> {
        Some(match letter {
            "c" => Op::Create,
            "u" => Op::Update,
            "d" => Op::Delete,
            "r" => Op::Read,
            _ => return None,
        })
    }
}

/// Where a change came from: the `source` block's fields that matter downstream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Source {
    /// The change's LSN.
    pub lsn: Lsn,
    /// Its transaction (none for a snapshot read).
    pub xid: Option<Xid>,
}

/// A change event, parsed back from its key and value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeEvent {
    /// The row's primary key.
    pub key: Key,
    /// What happened.
    pub op: Op,
    /// Where it came from.
    pub source: Source,
    /// The row after the change (none for a delete).
    pub after: Option<Row>,
    /// `source.snapshot`: it comes from a snapshot — a read (`r`), or the delete a filter
    /// downstream makes of a read row it drops — and states a row, not a change.
    pub snapshot: bool,
}

impl ChangeEvent {
    /// Where the event stands in the database's history, to compare two events of one
    /// row: by LSN, and at one LSN a snapshot's row (the state *before* the record that
    /// starts there) comes before a change (that record).
    pub fn position(&self) -> Position {
        Position {
            lsn: self.source.lsn,
            change: !self.snapshot,
        }
    }
}

/// An event's place in the database's history ([`ChangeEvent::position`]).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Position {
    /// The source LSN.
    pub lsn: Lsn,
    /// A change record (rather than a snapshot's row).
    pub change: bool,
}

/// The topic of `table`'s change events: `<topic.prefix>.public.<table>`.
pub fn topic(prefix: &str, table: &str) -> String {
    format!("{prefix}.public.{table}")
}

fn json_value(value: &Value) -> Json {
    match value {
        Value::Int(i) => json!(i),
        Value::Text(t) => json!(t),
    }
}

/// `row` as a JSON object of its columns.
fn row_object(schema: &TableSchema, row: &Row) -> Json {
    let fields: Map<String, Json> = schema
        .columns
        .iter()
        .zip(row)
        .map(|(c, v)| (c.name.clone(), json_value(v)))
        .collect();
    Json::Object(fields)
}

/// The event's key: `{"<primary key column>": key}`.
pub fn key_json(schema: &TableSchema, key: Key) -> String {
    let mut fields = Map::new();
    fields.insert(schema.columns[0].name.clone(), json!(key));
    Json::Object(fields).to_string()
}

/// Everything needed to write one event but the change itself.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    /// `topic.prefix`, also the `source.name`.
    pub prefix: &'a str,
    /// The table's definition.
    pub schema: &'a TableSchema,
    /// Where the change came from.
    pub source: Source,
    /// When the connector processed it, in milliseconds.
    pub ts_ms: u64,
}

/// The key and value of the change event for `change`; none for an `ALTER TABLE`, which
/// Debezium does not turn into an event (the next row's event carries the new schema).
pub fn change_event(cx: Context<'_>, change: &RowChange) -> Option<(String, String)> {
    let schema = cx.schema;
    let (key, op, before, after) = match change {
        RowChange::Insert { row, .. } => (
            crate::database::heap::key_of(row),
            Op::Create,
            Json::Null,
            row_object(schema, row),
        ),
        RowChange::Update { row, .. } => (
            crate::database::heap::key_of(row),
            Op::Update,
            Json::Null,
            row_object(schema, row),
        ),
        RowChange::Delete { key, .. } => {
            let mut before = Map::new();
            for (i, c) in schema.columns.iter().enumerate() {
                let v = if i == 0 { json!(key) } else { Json::Null };
                before.insert(c.name.clone(), v);
            }
            (*key, Op::Delete, Json::Object(before), Json::Null)
        }
        RowChange::Alter { .. } => return None,
    };
    Some((key_json(schema, key), envelope(cx, op, before, after)))
}

/// The key and value of the snapshot's read event for `row`.
pub fn read_event(cx: Context<'_>, row: &Row) -> (String, String) {
    let key = crate::database::heap::key_of(row);
    let value = envelope(cx, Op::Read, Json::Null, row_object(cx.schema, row));
    (key_json(cx.schema, key), value)
}

fn envelope(cx: Context<'_>, op: Op, before: Json, after: Json) -> String {
    let snapshot = if op == Op::Read { "true" } else { "false" };
    json!({
        "before": before,
        "after": after,
        "source": {
            "connector": "postgresql",
            "name": cx.prefix,
            "db": "postgres",
            "schema": "public",
            "table": cx.schema.name,
            "txId": cx.source.xid,
            "lsn": cx.source.lsn.0,
            "snapshot": snapshot,
        },
        "op": op.letter(),
        "ts_ms": cx.ts_ms,
    })
    .to_string()
}

/// Why a record is not a change event of `schema`'s table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotAnEvent(pub String);

fn parse_value(schema: &TableSchema, column: usize, json: &Json) -> Result<Value, NotAnEvent> {
    use crate::database::heap::ColumnType;
    let c = &schema.columns[column];
    match (c.kind, json) {
        (ColumnType::Integer, Json::Number(n)) => n
            .as_i64()
            .map(Value::Int)
            .ok_or_else(|| NotAnEvent(format!("column {} is not an integer", c.name))),
        (ColumnType::Text, Json::String(s)) => Ok(Value::Text(s.clone())),
        _ => Err(NotAnEvent(format!("column {} has the wrong type", c.name))),
    }
}

fn parse_row(schema: &TableSchema, after: &Json) -> Result<Row, NotAnEvent> {
    let object = after
        .as_object()
        .ok_or_else(|| NotAnEvent("after is not an object".into()))?;
    (0..schema.columns.len())
        .map(|i| {
            let name = &schema.columns[i].name;
            let v = object
                .get(name)
                .ok_or_else(|| NotAnEvent(format!("after has no column {name}")))?;
            parse_value(schema, i, v)
        })
        .collect()
}

/// Read a change event back: `None` for a tombstone (no value), an error for anything else
/// that is not one of `schema`'s events.
pub fn parse(
    schema: &TableSchema,
    key: Option<&str>,
    value: Option<&str>,
) -> Result<Option<ChangeEvent>, NotAnEvent> {
    let Some(value) = value else {
        return Ok(None);
    };
    let bad = |what: &str| NotAnEvent(what.to_string());
    let key: Json = serde_json::from_str(key.ok_or_else(|| bad("no key"))?)
        .map_err(|_| bad("the key is not JSON"))?;
    let key = key
        .get(&schema.columns[0].name)
        .and_then(Json::as_i64)
        .ok_or_else(|| bad("the key has no primary key column"))?;
    let v: Json = serde_json::from_str(value).map_err(|_| bad("the value is not JSON"))?;
    let op = v
        .get("op")
        .and_then(Json::as_str)
        .and_then(Op::from_letter)
        .ok_or_else(|| bad("no op"))?;
    let source = v.get("source").ok_or_else(|| bad("no source"))?;
    let lsn = source
        .get("lsn")
        .and_then(Json::as_u64)
        .ok_or_else(|| bad("no source.lsn"))?;
    let xid = source.get("txId").and_then(Json::as_u64).map(|x| x as Xid);
    let after = match v.get("after") {
        Some(Json::Null) | None => None,
        Some(after) => Some(parse_row(schema, after)?),
    };
    if (op == Op::Delete) != after.is_none() {
        return Err(bad("a delete has no after, and only a delete"));
    }
    let snapshot = source.get("snapshot").and_then(Json::as_str) == Some("true");
    Ok(Some(ChangeEvent {
        key,
        op,
        source: Source { lsn: Lsn(lsn), xid },
        after,
        snapshot: snapshot || op == Op::Read,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::database::heap::orders_schema;

    fn cx(schema: &TableSchema, xid: Option<Xid>) -> Context<'_> {
        Context {
            prefix: "dbserver1",
            schema,
            source: Source {
                lsn: Lsn(0x16B3748),
                xid,
            },
            ts_ms: 1200,
        }
    }

    /// The shape of Debezium's documented PostgreSQL create event (its connector docs,
    /// "create events"), with `schemas.enable=false`.
    #[test]
    fn an_insert_is_debeziums_create_event() {
        let schema = orders_schema();
        let row = vec![Value::Int(7), Value::Text("ada".into())];
        let change = RowChange::Insert {
            table: "orders".into(),
            row: row.clone(),
        };
        let (key, value) = change_event(cx(&schema, Some(529)), &change).unwrap();
        assert_eq!(key, r#"{"id":7}"#);
        let v: Json = serde_json::from_str(&value).unwrap();
        assert_eq!(v["op"], "c");
        assert_eq!(v["before"], Json::Null);
        assert_eq!(v["after"], json!({"id": 7, "customer": "ada"}));
        assert_eq!(v["source"]["txId"], 529);
        assert_eq!(v["source"]["lsn"], 0x16B3748);
        assert_eq!(v["source"]["table"], "orders");
        assert_eq!(v["source"]["snapshot"], "false");
        assert_eq!(v["ts_ms"], 1200);
        let parsed = parse(&schema, Some(&key), Some(&value)).unwrap().unwrap();
        assert_eq!(parsed.after, Some(row));
        assert_eq!(parsed.source.xid, Some(529));
    }

    #[test]
    fn a_delete_keeps_only_the_key_before_and_a_tombstone_parses_as_none() {
        let schema = orders_schema();
        let change = RowChange::Delete {
            table: "orders".into(),
            key: 7,
        };
        let (key, value) = change_event(cx(&schema, Some(530)), &change).unwrap();
        let v: Json = serde_json::from_str(&value).unwrap();
        assert_eq!(v["op"], "d");
        assert_eq!(v["before"], json!({"id": 7, "customer": null}));
        assert_eq!(v["after"], Json::Null);
        let parsed = parse(&schema, Some(&key), Some(&value)).unwrap().unwrap();
        assert_eq!((parsed.op, parsed.after), (Op::Delete, None));
        assert_eq!(parse(&schema, Some(&key), None), Ok(None));
    }

    #[test]
    fn snapshot_reads_and_garbage() {
        let schema = orders_schema();
        let row = vec![Value::Int(3), Value::Text("bob".into())];
        let (key, value) = read_event(cx(&schema, None), &row);
        let v: Json = serde_json::from_str(&value).unwrap();
        assert_eq!(
            (v["op"].clone(), v["source"]["snapshot"].clone()),
            ("r".into(), "true".into())
        );
        assert_eq!(v["source"]["txId"], Json::Null);
        let parsed = parse(&schema, Some(&key), Some(&value)).unwrap().unwrap();
        assert_eq!((parsed.op, parsed.source.xid), (Op::Read, None));
        assert!(parse(&schema, Some(&key), Some("producer-1-7")).is_err());
        assert!(parse(&schema, None, Some(&value)).is_err());
        assert_eq!(topic("dbserver1", "orders"), "dbserver1.public.orders");
    }
}
