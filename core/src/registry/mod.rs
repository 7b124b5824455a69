//! A schema registry in the style of Confluent's: subjects with numbered versions, schema ids
//! shared across subjects, a compatibility mode per subject (or the registry's default,
//! `BACKWARD`), and the wire framing records carry: magic byte 0, then the schema id in four
//! big-endian bytes, then the payload.
//!
//! This module is the registry's state and rules, as a pure kernel; [`server`] serves it
//! over the simulated network.

pub mod compatibility;
pub mod server;

use compatibility::{Compatibility, Incompatibility, RecordSchema};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A schema id: the same schema has the same id in every subject.
pub type SchemaId = i32;

/// Why the registry refused a request, with Confluent's error codes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RegistryError {
    /// 409: the schema is incompatible with an earlier one of the subject.
    Incompatible {
        /// The subject.
        subject: String,
        /// What is incompatible.
        details: Vec<Incompatibility>,
    },
    /// 40403: no schema has this id.
    SchemaNotFound {
        /// The id asked for.
        id: SchemaId,
    },
}

impl RegistryError {
    /// Confluent's `error_code`.
    pub fn error_code(&self) -> i32 {
        match self {
            RegistryError::Incompatible { .. } => 409,
            RegistryError::SchemaNotFound { .. } => 40403,
        }
    }
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistryError::Incompatible { subject, details } => {
                let details: Vec<String> = details.iter().map(ToString::to_string).collect();
                write!(
                    f,
                    "Schema being registered is incompatible with an earlier schema for subject \"{subject}\", details: [{}]",
                    details.join("; ")
                )
            }
            RegistryError::SchemaNotFound { id } => write!(f, "Schema {id} not found"),
        }
    }
}

/// The registry's state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Registry {
    /// Schemas by id (ids start at 1).
    schemas: Vec<RecordSchema>,
    /// Each subject's versions, oldest first: the schema id of each.
    subjects: BTreeMap<String, Vec<SchemaId>>,
    /// The default mode.
    default_mode: Compatibility,
    /// Subjects with their own mode.
    modes: BTreeMap<String, Compatibility>,
}

impl Registry {
    /// An empty registry whose default mode is `mode`.
    pub fn new(mode: Compatibility) -> Self {
        Registry {
            default_mode: mode,
            ..Registry::default()
        }
    }

    /// `PUT /config/<subject>`.
    pub fn set_mode(&mut self, subject: &str, mode: Compatibility) {
        self.modes.insert(subject.to_string(), mode);
    }

    /// The default mode.
    pub fn default_mode(&self) -> Compatibility {
        self.default_mode
    }

    /// The mode `subject` is checked with.
    pub fn mode(&self, subject: &str) -> Compatibility {
        self.modes
            .get(subject)
            .copied()
            .unwrap_or(self.default_mode)
    }

    /// `POST /subjects/<subject>/versions`: the schema's id, the same one if it is already
    /// registered under the subject (no new version), a new version if it is compatible.
    pub fn register(
        &mut self,
        subject: &str,
        schema: RecordSchema,
    ) -> Result<SchemaId, RegistryError> {
        let versions = self.subjects.get(subject).cloned().unwrap_or_default();
        if let Some(id) = versions
            .iter()
            .find(|id| self.schema(**id) == Some(&schema))
        {
            return Ok(*id);
        }
        let earlier: Vec<RecordSchema> = versions
            .iter()
            .filter_map(|id| self.schema(*id).cloned())
            .collect();
        let details = compatibility::check(self.mode(subject), &schema, &earlier);
        if !details.is_empty() {
            return Err(RegistryError::Incompatible {
                subject: subject.to_string(),
                details,
            });
        }
        let id = match self.schemas.iter().position(|s| *s == schema) {
            Some(i) => i as SchemaId + 1,
            None => {
                self.schemas.push(schema);
                self.schemas.len() as SchemaId
            }
        };
        self.subjects
            .entry(subject.to_string())
            .or_default()
            .push(id);
        Ok(id)
    }

    /// `GET /schemas/ids/<id>`.
    pub fn by_id(&self, id: SchemaId) -> Result<&RecordSchema, RegistryError> {
        self.schema(id).ok_or(RegistryError::SchemaNotFound { id })
    }

    /// How many distinct schemas have ids.
    pub fn schema_count(&self) -> usize {
        self.schemas.len()
    }

    /// The versions of `subject` (1 = the first), as schema ids.
    pub fn versions(&self, subject: &str) -> &[SchemaId] {
        self.subjects.get(subject).map_or(&[], Vec::as_slice)
    }

    fn schema(&self, id: SchemaId) -> Option<&RecordSchema> {
        usize::try_from(id)
            .ok()
            .and_then(|i| i.checked_sub(1))
            .and_then(|i| self.schemas.get(i))
    }
}

/// A record's bytes in the registry's wire format: magic byte 0, the schema id, the payload.
pub fn frame(id: SchemaId, payload: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(5 + payload.len());
    bytes.push(0);
    bytes.extend_from_slice(&id.to_be_bytes());
    bytes.extend_from_slice(payload);
    bytes
}

/// The schema id and payload of framed bytes, or the deserializer's error.
pub fn unframe(bytes: &[u8]) -> Result<(SchemaId, &[u8]), String> {
    match bytes {
        [0, a, b, c, d, payload @ ..] => Ok((i32::from_be_bytes([*a, *b, *c, *d]), payload)),
        [0, ..] => Err("Too short for a schema id after the magic byte".to_string()),
        [_, ..] => Err("Unknown magic byte!".to_string()),
        [] => Err("Empty value: no magic byte".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::compatibility::{AvroType, Field};
    use super::*;

    fn schema(fields: &[(&str, bool)]) -> RecordSchema {
        RecordSchema {
            name: "orders.Value".into(),
            fields: fields
                .iter()
                .map(|(name, has_default)| Field {
                    name: name.to_string(),
                    kind: AvroType::String,
                    optional: *has_default,
                    default: has_default.then_some(serde_json::Value::Null),
                })
                .collect(),
        }
    }

    #[test]
    fn versions_ids_and_refusals_are_the_registrys() {
        let mut r = Registry::new(Compatibility::Backward);
        let v1 = schema(&[("id", false)]);
        assert_eq!(r.register("orders-value", v1.clone()), Ok(1));
        assert_eq!(
            r.register("orders-value", v1.clone()),
            Ok(1),
            "same schema, same id"
        );
        assert_eq!(
            r.register("other-value", v1),
            Ok(1),
            "ids are shared across subjects"
        );
        let v2 = schema(&[("id", false), ("note", true)]);
        assert_eq!(r.register("orders-value", v2), Ok(2));
        let bad = schema(&[("id", false), ("note", true), ("amount", false)]);
        let error = r.register("orders-value", bad.clone()).unwrap_err();
        assert_eq!(error.error_code(), 409);
        assert!(
            error.to_string().starts_with(
                "Schema being registered is incompatible with an earlier schema for subject \"orders-value\""
            ),
            "{error}"
        );
        assert_eq!(r.versions("orders-value"), [1, 2]);
        r.set_mode("orders-value", Compatibility::None);
        assert_eq!(r.register("orders-value", bad), Ok(3));
        assert_eq!(r.by_id(9).unwrap_err().error_code(), 40403);
    }

    #[test]
    fn the_wire_framing_is_magic_byte_and_id() {
        let bytes = frame(7, b"{}");
        assert_eq!(bytes, [0, 0, 0, 0, 7, b'{', b'}']);
        assert_eq!(unframe(&bytes), Ok((7, &b"{}"[..])));
        assert_eq!(unframe(b"{}"), Err("Unknown magic byte!".to_string()));
        assert!(unframe(&[0, 0, 1]).is_err());
    }
}
