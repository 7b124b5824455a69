//! Schema compatibility as Confluent Schema Registry judges Avro record schemas: whether a
//! reader with one schema can read what a writer wrote with another (Avro's schema
//! resolution), and, from that, the compatibility modes.
//!
//! | mode       | the new schema must …                          | so one may …                                  |
//! |------------|-----------------------------------------------|-----------------------------------------------|
//! | `BACKWARD` | read data written with the latest one         | delete fields, add fields with a default      |
//! | `FORWARD`  | be read by the latest one                     | add fields, delete fields with a default      |
//! | `FULL`     | both                                          | add or delete fields with a default           |
//! | `NONE`     | nothing                                       | anything                                      |
//!
//! The `_TRANSITIVE` modes check against every earlier version, not only the latest.
//!
//! Simplified: records of primitive fields only (Avro's `null`, `boolean`, `int`, `long`,
//! `float`, `double`, `string`, `bytes`), optional fields written as a union with `null`;
//! no nested records, enums, arrays, maps or aliases.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An Avro primitive type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AvroType {
    /// `boolean`.
    Boolean,
    /// `int` (32 bits).
    Int,
    /// `long` (64 bits).
    Long,
    /// `float`.
    Float,
    /// `double`.
    Double,
    /// `string`.
    String,
    /// `bytes`.
    Bytes,
}

impl AvroType {
    /// Whether a reader of `self` can read what a writer of `writer` wrote: the same type, or
    /// one of Avro's promotions (int to long, float or double; long to float or double; float
    /// to double; string and bytes either way).
    fn reads(self, writer: AvroType) -> bool {
        use AvroType::*;
        self == writer
            || matches!(
                (writer, self),
                (Int, Long | Float | Double)
                    | (Long, Float | Double)
                    | (Float, Double)
                    | (String, Bytes)
                    | (Bytes, String)
            )
    }
}

impl fmt::Display for AvroType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AvroType::Boolean => "boolean",
            AvroType::Int => "int",
            AvroType::Long => "long",
            AvroType::Float => "float",
            AvroType::Double => "double",
            AvroType::String => "string",
            AvroType::Bytes => "bytes",
        })
    }
}

/// A field of a record schema.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    /// Its name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: AvroType,
    /// `["null", type]`: the value may be null.
    #[serde(default)]
    pub optional: bool,
    /// Its default, if it has one (a reader may then do without it): what a reader takes
    /// for it when the writer's schema has no such field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
}

impl Field {
    /// Whether a reader may do without it.
    pub fn has_default(&self) -> bool {
        self.default.is_some()
    }
}

/// An Avro record schema.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordSchema {
    /// The record's full name, e.g. `server1.public.orders.Value`.
    pub name: String,
    /// Its fields, in order.
    pub fields: Vec<Field>,
}

impl RecordSchema {
    /// A record named `name` of required fields (no null, no default), in order.
    pub fn required(name: &str, fields: &[(&str, AvroType)]) -> Self {
        let fields = fields
            .iter()
            .map(|(field, kind)| Field {
                name: field.to_string(),
                kind: *kind,
                optional: false,
                default: None,
            })
            .collect();
        RecordSchema {
            name: name.to_string(),
            fields,
        }
    }
}

/// A subject's compatibility mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Compatibility {
    /// Anything goes.
    None,
    /// The registry's default: the new schema reads data of the latest.
    #[default]
    Backward,
    /// … of every earlier version.
    BackwardTransitive,
    /// The latest reads data of the new schema.
    Forward,
    /// Every earlier version does.
    ForwardTransitive,
    /// Backward and forward.
    Full,
    /// Backward and forward, with every earlier version.
    FullTransitive,
}

impl Compatibility {
    /// Every mode, in the registry's documentation order.
    pub const ALL: [Compatibility; 7] = [
        Compatibility::Backward,
        Compatibility::BackwardTransitive,
        Compatibility::Forward,
        Compatibility::ForwardTransitive,
        Compatibility::Full,
        Compatibility::FullTransitive,
        Compatibility::None,
    ];

    /// The registry's name for it: `BACKWARD`, `FULL_TRANSITIVE`, ...
    pub fn name(self) -> &'static str {
        match self {
            Compatibility::None => "NONE",
            Compatibility::Backward => "BACKWARD",
            Compatibility::BackwardTransitive => "BACKWARD_TRANSITIVE",
            Compatibility::Forward => "FORWARD",
            Compatibility::ForwardTransitive => "FORWARD_TRANSITIVE",
            Compatibility::Full => "FULL",
            Compatibility::FullTransitive => "FULL_TRANSITIVE",
        }
    }

    /// The mode named `name` (in any case).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(name.trim()))
    }

    fn backward(self) -> bool {
        matches!(
            self,
            Compatibility::Backward
                | Compatibility::BackwardTransitive
                | Compatibility::Full
                | Compatibility::FullTransitive
        )
    }
    fn forward(self) -> bool {
        matches!(
            self,
            Compatibility::Forward
                | Compatibility::ForwardTransitive
                | Compatibility::Full
                | Compatibility::FullTransitive
        )
    }
    fn transitive(self) -> bool {
        matches!(
            self,
            Compatibility::BackwardTransitive
                | Compatibility::ForwardTransitive
                | Compatibility::FullTransitive
        )
    }
}

/// Why a reader cannot read a writer's data, in the registry's words (its `errorType`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Incompatibility {
    /// The reader has a field the writer does not write, and no default for it.
    ReaderFieldMissingDefaultValue {
        /// The field.
        field: String,
    },
    /// A field's type changed in a way Avro cannot promote.
    TypeMismatch {
        /// The field.
        field: String,
        /// What the writer wrote.
        writer: AvroType,
        /// What the reader expects.
        reader: AvroType,
    },
    /// The writer may write null where the reader does not accept it.
    MissingUnionBranch {
        /// The field.
        field: String,
    },
}

impl fmt::Display for Incompatibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Incompatibility::ReaderFieldMissingDefaultValue { field } => write!(
                f,
                "READER_FIELD_MISSING_DEFAULT_VALUE: the field '{field}' of the reader has no default value and is missing in the writer's schema"
            ),
            Incompatibility::TypeMismatch {
                field,
                writer,
                reader,
            } => write!(
                f,
                "TYPE_MISMATCH: the type of the field '{field}' is {writer} in the writer's schema and {reader} in the reader's"
            ),
            Incompatibility::MissingUnionBranch { field } => write!(
                f,
                "MISSING_UNION_BRANCH: the field '{field}' may be null in the writer's schema, not in the reader's"
            ),
        }
    }
}

impl fmt::Display for Compatibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What stops a reader with `reader` from reading data written with `writer`.
pub fn read_problems(reader: &RecordSchema, writer: &RecordSchema) -> Vec<Incompatibility> {
    let mut problems = Vec::new();
    for r in &reader.fields {
        match writer.fields.iter().find(|w| w.name == r.name) {
            None if !r.has_default() => {
                problems.push(Incompatibility::ReaderFieldMissingDefaultValue {
                    field: r.name.clone(),
                });
            }
            None => {}
            Some(w) if !r.kind.reads(w.kind) => problems.push(Incompatibility::TypeMismatch {
                field: r.name.clone(),
                writer: w.kind,
                reader: r.kind,
            }),
            Some(w) if w.optional && !r.optional => {
                problems.push(Incompatibility::MissingUnionBranch {
                    field: r.name.clone(),
                });
            }
            Some(_) => {}
        }
    }
    problems
}

/// Whether `candidate` may be registered after `earlier` (oldest first) under `mode`: the
/// problems found, empty when it may.
pub fn check(
    mode: Compatibility,
    candidate: &RecordSchema,
    earlier: &[RecordSchema],
) -> Vec<Incompatibility> {
    let against: &[RecordSchema] = if mode.transitive() {
        earlier
    } else {
        earlier.last().map_or(&[], std::slice::from_ref)
    };
    let mut problems = Vec::new();
    for old in against {
        if mode.backward() {
            problems.extend(read_problems(candidate, old));
        }
        if mode.forward() {
            problems.extend(read_problems(old, candidate));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, kind: AvroType, has_default: bool) -> Field {
        Field {
            name: name.into(),
            kind,
            optional: has_default,
            default: has_default.then_some(serde_json::Value::Null),
        }
    }

    fn schema(fields: Vec<Field>) -> RecordSchema {
        RecordSchema {
            name: "orders.Value".into(),
            fields,
        }
    }

    fn v1() -> RecordSchema {
        schema(vec![
            field("id", AvroType::Int, false),
            field("customer", AvroType::String, false),
        ])
    }

    /// Confluent's table of allowed changes per mode ("Schema Evolution and Compatibility"):
    /// adding a field with a default passes everywhere; adding a required one fails what
    /// checks backward; deleting a required one fails what checks forward; widening int to
    /// long passes backward only.
    #[test]
    fn the_modes_allow_what_confluents_table_allows() {
        use Compatibility::*;
        let add_optional =
            schema([v1().fields, vec![field("note", AvroType::String, true)]].concat());
        let add_required =
            schema([v1().fields, vec![field("amount", AvroType::Long, false)]].concat());
        let delete_required = schema(vec![field("id", AvroType::Int, false)]);
        let widen = schema(vec![
            field("id", AvroType::Long, false),
            field("customer", AvroType::String, false),
        ]);
        // (change, [NONE, BACKWARD, FORWARD, FULL] allowed)
        let cases = [
            (&add_optional, [true, true, true, true]),
            (&add_required, [true, false, true, false]),
            (&delete_required, [true, true, false, false]),
            (&widen, [true, true, false, false]),
        ];
        for (i, (candidate, allowed)) in cases.iter().enumerate() {
            for (mode, ok) in [None, Backward, Forward, Full].into_iter().zip(allowed) {
                let problems = check(mode, candidate, &[v1()]);
                assert_eq!(
                    problems.is_empty(),
                    *ok,
                    "case {i} under {mode:?}: {problems:?}"
                );
            }
        }
        let problems = check(Backward, &add_required, &[v1()]);
        assert_eq!(
            problems[0].to_string(),
            "READER_FIELD_MISSING_DEFAULT_VALUE: the field 'amount' of the reader has no default value and is missing in the writer's schema"
        );
    }

    /// A transitive mode checks every earlier version: a field once removed cannot come back
    /// required, though the latest version alone would allow it.
    #[test]
    fn transitive_modes_check_every_earlier_version() {
        let v2 = schema(vec![field("id", AvroType::Int, false)]);
        let v3 = schema(vec![
            field("id", AvroType::Int, false),
            field("customer", AvroType::Long, false),
        ]);
        let history = [v1(), v2];
        assert!(
            check(Compatibility::Forward, &v3, &history).is_empty(),
            "v2 reads v3"
        );
        let transitive = check(Compatibility::ForwardTransitive, &v3, &history);
        assert_eq!(
            transitive,
            [Incompatibility::TypeMismatch {
                field: "customer".into(),
                writer: AvroType::Long,
                reader: AvroType::String,
            }]
        );
    }
}
