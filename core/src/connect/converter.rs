//! Connect's `AvroConverter` as far as a change event's row goes: the Avro record schema a
//! table's definition maps to, the subject it is registered under, and back.
//!
//! As Debezium maps PostgreSQL's types: `integer` is Avro `int`, `text` is `string`; a
//! column with a `DEFAULT` gets that default in the schema. Columns are required (the model
//! has no NULLs), so adding a column is backward compatible only with a default, and
//! changing a column's type from `integer` to `text` is not (Avro promotes `int` to
//! `long`, `float` or `double`, never to `string`).
//!
//! Simplified: the registered schema is the row's (`<prefix>.public.<table>.Value`), not
//! Debezium's whole envelope (`...Envelope`, whose `before` and `after` are that row and
//! whose other fields never change) — the compatibility verdicts are the same; and the
//! payload after the registry's framing is the event as JSON, not Avro's binary encoding,
//! so that a learner can read it.

use crate::database::heap::{Column, ColumnType, TableSchema, Value};
use crate::registry::compatibility::{AvroType, Field, RecordSchema};
use serde_json::Value as Json;

/// The class name scenarios give `value.converter` for the registry's format.
pub const AVRO_CONVERTER: &str = "io.confluent.connect.avro.AvroConverter";

/// The subject of a topic's values (`TopicNameStrategy`): `<topic>-value`.
pub fn value_subject(topic: &str) -> String {
    format!("{topic}-value")
}

/// The Avro schema of `table`'s rows, as Debezium names it.
pub fn value_schema(prefix: &str, table: &TableSchema) -> RecordSchema {
    let fields = table
        .columns
        .iter()
        .map(|c| Field {
            name: c.name.clone(),
            kind: match c.kind {
                ColumnType::Integer => AvroType::Int,
                ColumnType::Text => AvroType::String,
            },
            optional: false,
            default: c.default.as_ref().map(json),
        })
        .collect();
    RecordSchema {
        name: format!("{prefix}.public.{}.Value", table.name),
        fields,
    }
}

/// The table a value schema describes, for a reader of the events: its name is the
/// record's (`<prefix>.public.<table>.Value`), the primary key its first field.
pub fn table_schema(schema: &RecordSchema) -> Result<TableSchema, String> {
    let name = schema
        .name
        .strip_suffix(".Value")
        .and_then(|n| n.rsplit('.').next())
        .ok_or_else(|| format!("{} is not a row schema", schema.name))?;
    let columns = schema
        .fields
        .iter()
        .map(|f| {
            let kind = match f.kind {
                AvroType::Int | AvroType::Long => ColumnType::Integer,
                AvroType::String => ColumnType::Text,
                other => return Err(format!("field {}: {other} is not modelled", f.name)),
            };
            let default = match (&f.default, kind) {
                (Some(Json::Number(n)), ColumnType::Integer) => n.as_i64().map(Value::Int),
                (Some(Json::String(s)), ColumnType::Text) => Some(Value::Text(s.clone())),
                _ => None,
            };
            Ok(Column {
                name: f.name.clone(),
                kind,
                default,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(TableSchema {
        name: name.to_string(),
        columns,
    })
}

fn json(value: &Value) -> Json {
    match value {
        Value::Int(i) => Json::from(*i),
        Value::Text(t) => Json::from(t.as_str()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::database::ddl::AlterTable;
    use crate::registry::compatibility::{Compatibility, Incompatibility, check};

    fn orders() -> TableSchema {
        crate::database::heap::orders_with_amount()
    }

    fn after(sql: &str) -> TableSchema {
        let (_, alter) = AlterTable::parse(sql, &[orders()]).unwrap();
        alter.schema_after(&orders()).unwrap()
    }

    #[test]
    fn a_row_schema_round_trips() {
        let added = after("ALTER TABLE orders ADD COLUMN note text DEFAULT 'none'");
        let schema = value_schema("shop", &added);
        assert_eq!(schema.name, "shop.public.orders.Value");
        assert_eq!(schema.fields[3].default, Some(Json::from("none")));
        assert_eq!(table_schema(&schema), Ok(added));
    }

    /// What the registry says of each DDL under its default mode, BACKWARD.
    #[test]
    fn ddl_verdicts_under_backward() {
        let v1 = value_schema("shop", &orders());
        let verdict = |sql: &str| {
            let v2 = value_schema("shop", &after(sql));
            check(Compatibility::Backward, &v2, std::slice::from_ref(&v1))
        };
        assert_eq!(
            verdict("ALTER TABLE orders ADD COLUMN note text DEFAULT ''"),
            []
        );
        assert_eq!(
            verdict("ALTER TABLE orders ALTER COLUMN amount TYPE text"),
            [Incompatibility::TypeMismatch {
                field: "amount".into(),
                writer: AvroType::Int,
                reader: AvroType::String
            }]
        );
        assert_eq!(
            value_subject("shop.public.orders"),
            "shop.public.orders-value"
        );
    }
}
