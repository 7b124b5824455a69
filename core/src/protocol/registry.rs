//! The schema registry's REST API, as messages: Confluent's endpoints by their paths.
//!
//! - `POST /subjects/{subject}/versions`: register a schema under a subject; the answer is
//!   its id, or 409 with the compatibility checker's reasons.
//! - `GET /schemas/ids/{id}`: the schema with an id; 40403 if there is none.
//!
//! HTTP answers in order on its connection, so neither carries a correlation id; each
//! response repeats what it answers.

use crate::registry::compatibility::RecordSchema;
use crate::registry::{RegistryError, SchemaId};

/// `POST /subjects/{subject}/versions`.
#[derive(Clone, Debug)]
pub struct RegisterSchemaRequest {
    /// The subject (`<topic>-value` under the default `TopicNameStrategy`).
    pub subject: String,
    /// The schema.
    pub schema: RecordSchema,
}

/// The answer to [`RegisterSchemaRequest`].
#[derive(Clone, Debug)]
pub struct RegisterSchemaResponse {
    /// The subject asked about.
    pub subject: String,
    /// The schema asked about.
    pub schema: RecordSchema,
    /// Its id, or why it was refused.
    pub result: Result<SchemaId, RegistryError>,
}

/// `GET /schemas/ids/{id}`.
#[derive(Clone, Debug)]
pub struct GetSchemaByIdRequest {
    /// The id a record's framing names.
    pub id: SchemaId,
}

/// The answer to [`GetSchemaByIdRequest`].
#[derive(Clone, Debug)]
pub struct GetSchemaByIdResponse {
    /// The id asked about.
    pub id: SchemaId,
    /// The schema, or 40403.
    pub result: Result<RecordSchema, RegistryError>,
}
