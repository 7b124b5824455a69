//! What a schema registry promises a pipeline, judged from the trace.
//!
//! - `schema-compatible`: every version a registry added to a subject is compatible, under
//!   the mode in force for that subject at that moment (its default, the subject's own, or
//!   the last `PUT /config` before), with the subject's earlier versions — re-judged here
//!   from the registrations and mode changes the trace records, not from the registry's
//!   state.
//! - `schema-registered`: every change event Kafka acknowledged with a schema id in its
//!   framing names an id some registry had given, before the event was written, for the
//!   subject of the event's topic (`<topic>-value`): a consumer can always resolve it.

use super::history::History;
use crate::trace::{Header, Line, NodeRole};
use kafkasim_core::actor::Event;
use kafkasim_core::connect::{converter, source};
use kafkasim_core::registry::SchemaId;
use kafkasim_core::registry::compatibility::{self, Compatibility, RecordSchema};
use kafkasim_core::registry::server;
use kafkasim_core::time::Instant;
use kafkasim_sim::trace::TraceKind;
use std::collections::BTreeMap;

/// One registry's view of a subject as the trace tells it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Subject {
    /// Its own mode, if one was set.
    mode: Option<Compatibility>,
    /// Its versions' schemas, oldest first.
    versions: Vec<RecordSchema>,
}

/// A change event Kafka acknowledged with a schema id in its framing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Framed {
    /// When it was acknowledged.
    pub time: Instant,
    /// The source task that wrote it.
    pub task: String,
    /// Its topic.
    pub topic: String,
    /// The id its framing names.
    pub id: SchemaId,
}

/// What the trace says the registries and the framed events did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SchemaHistory {
    /// Each registry's default mode, from the run's header.
    pub defaults: BTreeMap<String, Compatibility>,
    /// Every registry event, in trace order: (time, registry, event).
    pub events: Vec<(Instant, String, server::Event)>,
    /// Every acknowledged framed event, in trace order.
    pub framed: Vec<Framed>,
}

/// The schema history of a run.
pub fn history(header: &Header, lines: &[Line]) -> SchemaHistory {
    let defaults = header
        .nodes
        .iter()
        .filter_map(|n| match n.role {
            NodeRole::Registry { compatibility } => Some((n.name.clone(), compatibility)),
            _ => None,
        })
        .collect();
    let mut h = SchemaHistory {
        defaults,
        ..SchemaHistory::default()
    };
    for line in lines {
        match &line.kind {
            TraceKind::Node {
                event: Event::Registry(e),
            } => h.events.push((line.time, line.node.to_string(), e.clone())),
            TraceKind::Node {
                event: Event::Source(source::Event::Acked(acked)),
            } => {
                if let Some(id) = acked.schema_id {
                    h.framed.push(Framed {
                        time: line.time,
                        task: line.node.to_string(),
                        topic: acked.partition.topic.to_string(),
                        id,
                    });
                }
            }
            _ => {}
        }
    }
    h
}

/// `schema-compatible`: replay each registry's subjects — modes and versions — and judge
/// every version it added.
pub fn schema_compatible(h: &History) -> Vec<String> {
    let h = &h.schemas;
    let mut defaults = h.defaults.clone();
    let mut subjects: BTreeMap<(&str, &str), Subject> = BTreeMap::new();
    let mut findings = Vec::new();
    for (time, node, event) in &h.events {
        match event {
            server::Event::Started { view } => {
                defaults.insert(node.clone(), view.compatibility);
                for (subject, s) in &view.subjects {
                    let entry = subjects.entry((node, subject)).or_default();
                    entry.mode = (s.compatibility != view.compatibility).then_some(s.compatibility);
                }
            }
            server::Event::CompatibilitySet {
                subject,
                compatibility,
            } => subjects.entry((node, subject)).or_default().mode = Some(*compatibility),
            server::Event::Registered {
                subject,
                id,
                schema,
                compatibility,
                new,
                ..
            } => {
                let default = defaults.get(node).copied().unwrap_or_default();
                let entry = subjects.entry((node, subject)).or_default();
                let mode = entry.mode.unwrap_or(default);
                if !*new {
                    if !entry.versions.contains(schema) {
                        findings.push(format!(
                            "{time}: {node} answered id {id} for {subject} as already registered, but it is none of the subject's versions"
                        ));
                    }
                    continue;
                }
                if *compatibility != mode {
                    findings.push(format!(
                        "{time}: {node} judged {subject} under {compatibility}, but the mode in force was {mode}"
                    ));
                }
                let problems = compatibility::check(mode, schema, &entry.versions);
                if !problems.is_empty() {
                    let details: Vec<String> = problems.iter().map(ToString::to_string).collect();
                    findings.push(format!(
                        "{time}: {node} registered version {} of {subject} (id {id}), incompatible under {mode}: {}",
                        entry.versions.len() + 1,
                        details.join("; ")
                    ));
                }
                entry.versions.push(schema.clone());
            }
            server::Event::Refused { .. } | server::Event::NotFound { .. } => {}
        }
    }
    findings
}

/// `schema-registered`.
pub fn schema_registered(h: &History) -> Vec<String> {
    let h = &h.schemas;
    let mut given: BTreeMap<(&str, SchemaId), Instant> = BTreeMap::new();
    for (time, _, event) in &h.events {
        if let server::Event::Registered { subject, id, .. } = event {
            given.entry((subject, *id)).or_insert(*time);
        }
    }
    let mut findings = Vec::new();
    for f in &h.framed {
        let subject = converter::value_subject(&f.topic);
        if given
            .get(&(subject.as_str(), f.id))
            .is_none_or(|at| *at > f.time)
        {
            findings.push(format!(
                "{}: {} wrote a change event to {} framed with schema id {}, which no registry had given for {subject}",
                f.time, f.task, f.topic, f.id
            ));
        }
    }
    findings.truncate(5);
    findings
}
