//! The schema registry as a node of the simulation: Confluent's REST endpoints as messages
//! ([`crate::protocol::RegisterSchemaRequest`], [`crate::protocol::GetSchemaByIdRequest`]),
//! the operator's `PUT /config/{subject}` as a scenario command.
//!
//! Confluent's registry keeps its state in a compacted Kafka topic, `_schemas`, and answers
//! a registration once that write is acknowledged; a restarted instance reads the topic back.
//! Here the same log of registrations and configuration changes is a file of that name on the
//! node's own disk, synced before the answer goes out — the promise (an id once given is
//! never given to another schema, and survives a restart) is the same, without a Kafka
//! cluster of its own. Simplified: one instance (no leader election among registries), no
//! deletes, no references, no contexts.

use super::compatibility::{Compatibility, RecordSchema};
use super::{Registry, RegistryError, SchemaId};
use crate::disk::{DiskOp, DiskToken};
use crate::ids::NodeId;
use crate::node::{Boot, Input, Never, Vocabulary};
use crate::protocol::{
    GetSchemaByIdRequest, GetSchemaByIdResponse, Message, RegisterSchemaRequest,
    RegisterSchemaResponse,
};
use crate::time::Instant;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The file holding every registration and configuration change, in order.
pub const SCHEMAS_FILE: &str = "_schemas";

/// A registry's configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegistryConfig {
    /// `schema.compatibility.level`: the default mode. Default `BACKWARD`.
    pub compatibility: Compatibility,
    /// Subjects with their own mode from the start (`PUT /config/{subject}` before the run).
    pub subjects: BTreeMap<String, Compatibility>,
}

/// What an operator tells the registry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// `PUT /config/{subject}` with `{"compatibility": ...}`.
    SetCompatibility {
        /// The subject.
        subject: String,
        /// Its mode from now on.
        compatibility: Compatibility,
    },
}

/// What the registry records in the trace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The registry started and read its `_schemas` log.
    Started {
        /// Every subject it knows, with its versions and mode.
        view: RegistryView,
    },
    /// A schema was registered under a subject (or found there already).
    Registered {
        /// The subject.
        subject: String,
        /// Its version under the subject (1 = the first).
        version: usize,
        /// Its id.
        id: SchemaId,
        /// The schema.
        schema: RecordSchema,
        /// The mode it was checked with.
        compatibility: Compatibility,
        /// Whether this registration added the version (else it was there already).
        new: bool,
    },
    /// A registration was refused.
    Refused {
        /// The subject.
        subject: String,
        /// The schema.
        schema: RecordSchema,
        /// The mode it was checked with.
        compatibility: Compatibility,
        /// The registry's error code.
        error_code: i32,
        /// The registry's message.
        reason: String,
    },
    /// A subject's mode changed.
    CompatibilitySet {
        /// The subject.
        subject: String,
        /// The new mode.
        compatibility: Compatibility,
    },
    /// `GET /schemas/ids/{id}` for an id it never gave.
    NotFound {
        /// The id asked for.
        id: SchemaId,
    },
}

/// The words a registry speaks.
#[derive(Debug)]
pub enum Vocab {}

impl Vocabulary for Vocab {
    type Msg = Message;
    type Timer = Never;
    type Event = Event;
    type Reply = Never;
    type Command = Command;
}

type Out<'a> = dyn crate::node::Out<Vocab> + 'a;

/// One entry of the `_schemas` log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "keytype", rename_all = "UPPERCASE")]
enum Entry {
    /// A schema registered under a subject.
    Schema {
        subject: String,
        schema: RecordSchema,
    },
    /// A subject's mode set.
    Config {
        subject: String,
        compatibility: Compatibility,
    },
}

/// What the registry lets the world see: every subject's versions and mode.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryView {
    /// The default mode.
    pub compatibility: Compatibility,
    /// Every subject: its versions' schema ids, oldest first, and its mode.
    pub subjects: BTreeMap<String, SubjectView>,
}

impl RegistryView {
    /// What `event` changes of the view.
    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::Started { view } => self.clone_from(view),
            Event::Registered {
                subject,
                id,
                compatibility,
                new: true,
                ..
            } => {
                let s = self.subject(subject, *compatibility);
                s.versions.push(*id);
            }
            Event::CompatibilitySet {
                subject,
                compatibility,
            } => self.subject(subject, *compatibility).compatibility = *compatibility,
            Event::Registered { .. } | Event::Refused { .. } | Event::NotFound { .. } => {}
        }
    }

    fn subject(&mut self, subject: &str, mode: Compatibility) -> &mut SubjectView {
        self.subjects
            .entry(subject.to_string())
            .or_insert_with(|| SubjectView {
                versions: Vec::new(),
                compatibility: mode,
            })
    }
}

/// One subject in a [`RegistryView`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectView {
    /// The schema id of each version, oldest first.
    pub versions: Vec<SchemaId>,
    /// Its mode.
    pub compatibility: Compatibility,
}

/// A schema registry node.
#[derive(Debug)]
pub struct SchemaRegistry {
    registry: Registry,
    /// The `_schemas` log as the disk will hold it.
    log: Vec<Entry>,
    /// Subjects that were ever named (registered under, or configured).
    subjects: Vec<String>,
    /// Answers waiting for the log's sync.
    waiting: Vec<(DiskToken, NodeId, Message)>,
    next_token: u64,
}

impl SchemaRegistry {
    /// Start: the configured modes, then everything the `_schemas` log says.
    pub fn boot<C>(boot: &Boot<'_, C>, config: &RegistryConfig, out: &mut Out) -> Self {
        let mut registry = Registry::new(config.compatibility);
        for (subject, mode) in &config.subjects {
            registry.set_mode(subject, *mode);
        }
        let log: Vec<Entry> = boot
            .disk
            .get(SCHEMAS_FILE)
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or_default();
        let mut r = SchemaRegistry {
            registry,
            log: Vec::new(),
            subjects: config.subjects.keys().cloned().collect(),
            waiting: Vec::new(),
            next_token: 0,
        };
        for entry in log {
            r.apply(&entry);
            r.log.push(entry);
        }
        out.trace(Event::Started { view: r.view() });
        r
    }

    fn apply(&mut self, entry: &Entry) {
        match entry {
            Entry::Schema { subject, schema } => {
                let registered = self.registry.register(subject, schema.clone());
                debug_assert!(registered.is_ok(), "the log holds only accepted schemas");
                self.name(subject);
            }
            Entry::Config {
                subject,
                compatibility,
            } => {
                self.registry.set_mode(subject, *compatibility);
                self.name(subject);
            }
        }
    }

    fn name(&mut self, subject: &str) {
        if !self.subjects.iter().any(|s| s == subject) {
            self.subjects.push(subject.to_string());
            self.subjects.sort();
        }
    }

    /// What the world may see.
    pub fn view(&self) -> RegistryView {
        let subjects = self
            .subjects
            .iter()
            .map(|s| {
                let view = SubjectView {
                    versions: self.registry.versions(s).to_vec(),
                    compatibility: self.registry.mode(s),
                };
                (s.clone(), view)
            })
            .collect();
        RegistryView {
            compatibility: self.registry.default_mode(),
            subjects,
        }
    }

    /// Handle one input.
    pub fn step(&mut self, _now: Instant, input: Input<Vocab>, out: &mut Out) {
        match input {
            Input::Recv { from, msg } => self.on_request(from, msg, out),
            Input::Command(Command::SetCompatibility {
                subject,
                compatibility,
            }) => {
                let entry = Entry::Config {
                    subject: subject.clone(),
                    compatibility,
                };
                self.apply(&entry);
                self.append(entry, out);
                out.trace(Event::CompatibilitySet {
                    subject,
                    compatibility,
                });
            }
            Input::DiskDone { token, .. } => {
                let (ready, waiting) = std::mem::take(&mut self.waiting)
                    .into_iter()
                    .partition(|(t, _, _)| *t == token);
                self.waiting = waiting;
                for (_, to, msg) in ready {
                    out.send(to, msg);
                }
            }
            // A closed connection takes its unanswered requests with it.
            Input::Disconnected { peer } => self.waiting.retain(|(_, to, _)| *to != peer),
            Input::Terminate => out.exit(),
            Input::Timer(never) => match never {},
        }
    }

    fn on_request(&mut self, from: NodeId, msg: Message, out: &mut Out) {
        match msg {
            Message::RegisterSchemaRequest(RegisterSchemaRequest { subject, schema }) => {
                self.register(from, subject, schema, out);
            }
            Message::GetSchemaByIdRequest(GetSchemaByIdRequest { id }) => {
                let result = self.registry.by_id(id).cloned();
                if result.is_err() {
                    out.trace(Event::NotFound { id });
                }
                let response = GetSchemaByIdResponse { id, result };
                out.send(from, Message::GetSchemaByIdResponse(response));
            }
            _ => {}
        }
    }

    /// `POST /subjects/{subject}/versions`: a new version is answered once the log holding
    /// it is synced; a schema already registered, or a refusal, at once.
    fn register(&mut self, from: NodeId, subject: String, schema: RecordSchema, out: &mut Out) {
        let compatibility = self.registry.mode(&subject);
        let before = self.registry.versions(&subject).len();
        let result = self.registry.register(&subject, schema.clone());
        let response = RegisterSchemaResponse {
            subject: subject.clone(),
            schema: schema.clone(),
            result: result.clone(),
        };
        let msg = Message::RegisterSchemaResponse(response);
        match result {
            Ok(id) => {
                let versions = self.registry.versions(&subject);
                let new = versions.len() > before;
                let version = 1 + versions.iter().position(|v| *v == id).unwrap_or(0);
                self.name(&subject);
                out.trace(Event::Registered {
                    subject: subject.clone(),
                    version,
                    id,
                    schema: schema.clone(),
                    compatibility,
                    new,
                });
                if new {
                    let token = self.append(Entry::Schema { subject, schema }, out);
                    self.waiting.push((token, from, msg));
                } else if let Some(&(token, _, _)) = self.waiting.last() {
                    // Known, but perhaps not durable yet: answer after the last sync, which
                    // covers every entry before it.
                    self.waiting.push((token, from, msg));
                } else {
                    out.send(from, msg);
                }
            }
            Err(error) => {
                out.trace(Event::Refused {
                    subject,
                    schema,
                    compatibility,
                    error_code: error.error_code(),
                    reason: error.to_string(),
                });
                out.send(from, msg);
            }
        }
    }

    /// Write the log with `entry` at its end, and sync it.
    fn append(&mut self, entry: Entry, out: &mut Out) -> DiskToken {
        self.log.push(entry);
        out.disk(DiskOp::Replace {
            file: SCHEMAS_FILE.to_string(),
            bytes: serde_json::to_vec(&self.log).expect("the log serialises"),
        });
        let token = DiskToken(self.next_token);
        self.next_token += 1;
        out.disk(DiskOp::Sync {
            file: SCHEMAS_FILE.to_string(),
            token,
        });
        token
    }
}

/// An error a client reports when the registry answers with one: Confluent's client text.
pub fn client_error(error: &RegistryError) -> String {
    format!("{error}; error code: {}", error.error_code())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk::DiskImage;
    use crate::node::Outbox;
    use crate::prng::Prng;
    use crate::registry::compatibility::AvroType;
    use crate::testkit::{apply, disk_ops, sends, syncs, traces};

    fn schema(fields: &[(&str, AvroType)]) -> RecordSchema {
        RecordSchema::required("shop.public.orders.Value", fields)
    }

    fn boot(disk: &DiskImage) -> (SchemaRegistry, Outbox<Vocab>) {
        let config = RegistryConfig::default();
        let boot = Boot {
            id: NodeId(9),
            now: Instant::ZERO,
            incarnation: 0,
            config: &config,
            disk,
            prng: Prng::derive(1, "registry", 0),
        };
        let mut out = Outbox::new();
        let r = SchemaRegistry::boot(&boot, &config, out.writer());
        (r, out)
    }

    fn register(r: &mut SchemaRegistry, schema: RecordSchema) -> Outbox<Vocab> {
        let mut out = Outbox::new();
        let request = RegisterSchemaRequest {
            subject: "orders-value".into(),
            schema,
        };
        let msg = Message::RegisterSchemaRequest(request);
        r.step(
            Instant::ZERO,
            Input::Recv {
                from: NodeId(1),
                msg,
            },
            out.writer(),
        );
        out
    }

    fn answer(out: &Outbox<Vocab>) -> Option<Result<SchemaId, RegistryError>> {
        sends(out).into_iter().find_map(|(_, m)| match m {
            Message::RegisterSchemaResponse(r) => Some(r.result.clone()),
            _ => None,
        })
    }

    /// A new version is answered only once `_schemas` is synced; a refusal at once, with
    /// the registry's reason; after a restart the same ids, and an id lookup that fails
    /// says 40403.
    #[test]
    fn ids_are_given_after_the_log_is_durable_and_survive_a_restart() {
        let mut disk = DiskImage::new();
        let (mut r, _) = boot(&disk);
        let v1 = schema(&[("id", AvroType::Int), ("amount", AvroType::Int)]);
        let out = register(&mut r, v1.clone());
        assert_eq!(answer(&out), None, "not before the sync");
        let again = register(&mut r, v1.clone());
        assert_eq!(
            answer(&again),
            None,
            "known, not durable yet: after the sync too"
        );
        apply(
            &mut disk,
            &disk_ops(&out).into_iter().cloned().collect::<Vec<_>>(),
        );
        let (file, token) = syncs(&out).pop().expect("a sync of _schemas");
        let mut done = Outbox::new();
        r.step(
            Instant::ZERO,
            Input::DiskDone { file, token },
            done.writer(),
        );
        assert_eq!(answer(&done), Some(Ok(1)));
        assert_eq!(sends(&done).len(), 2, "both answered once durable");

        let v2 = schema(&[("id", AvroType::Int), ("amount", AvroType::String)]);
        let refused = register(&mut r, v2);
        let error = answer(&refused).expect("answered at once").unwrap_err();
        assert_eq!(error.error_code(), 409);
        assert!(error.to_string().contains("TYPE_MISMATCH"), "{error}");
        assert!(matches!(traces(&refused)[0], Event::Refused { .. }));

        let (mut again, started) = boot(&disk);
        assert!(matches!(
            traces(&started)[0],
            Event::Started { view } if view.subjects["orders-value"].versions == [1]
        ));
        assert_eq!(
            answer(&register(&mut again, v1)),
            Some(Ok(1)),
            "known: at once"
        );
        let mut out = Outbox::new();
        let msg = Message::GetSchemaByIdRequest(GetSchemaByIdRequest { id: 7 });
        again.step(
            Instant::ZERO,
            Input::Recv {
                from: NodeId(1),
                msg,
            },
            out.writer(),
        );
        let looked_up = sends(&out).into_iter().find_map(|(_, m)| match m {
            Message::GetSchemaByIdResponse(r) => Some(r.result.clone()),
            _ => None,
        });
        assert_eq!(looked_up.map(|r| r.unwrap_err().error_code()), Some(40403));
    }
}
