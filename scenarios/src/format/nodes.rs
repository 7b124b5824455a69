//! Node names, and the addresses they stand for.
//!
//! Faults and `bootstrap.servers` refer to nodes by name, so every name is collected first,
//! in node order (controllers, brokers, producers, consumers, databases, registries, connector
//! tasks —
//! see [`super::node_order`]). A node's simulated address ([`NodeId`]) is its place in that
//! order, which is how the harness adds the nodes to the world.

use super::Ctx;
use super::file::{
    FileBroker, FileConsumer, FileController, FileDatabase, FileProducer, FileRegistry, FileStage,
};
use crate::error::ScenarioError;
use kafkasim_core::config::properties::PropertyValue;
use kafkasim_core::ids::NodeId;
use std::ops::Range;
use toml::Spanned;

/// A connector task's name, where its connector is in the file, and the field naming it.
pub(super) type TaskName = (String, Range<usize>, String);

/// Every node's name, in node order.
pub(super) struct Nodes {
    names: Vec<String>,
    controllers: usize,
    brokers: usize,
    producers: usize,
    consumers: usize,
    databases: usize,
    registries: usize,
    tasks: usize,
    /// The databases that are standbys.
    standbys: Vec<String>,
}

impl Nodes {
    /// Collect the names of every section, defaulting unnamed servers to `controller-<n>` and
    /// `broker-<n>`; a name used twice is an error at its second use.
    pub(super) fn collect(
        ctx: &Ctx<'_>,
        controllers: &[FileController],
        brokers: &Spanned<Vec<FileBroker>>,
        producers: &[FileProducer],
        consumers: &[FileConsumer],
        (databases, registries): (&[FileDatabase], &[FileRegistry]),
        (tasks, stages): (&[TaskName], &[FileStage]),
    ) -> Result<Nodes, ScenarioError> {
        let mut nodes = Nodes {
            names: Vec::new(),
            controllers: controllers.len(),
            brokers: brokers.get_ref().len(),
            producers: producers.len(),
            consumers: consumers.len(),
            databases: databases.len(),
            registries: registries.len(),
            tasks: tasks.len(),
            standbys: Vec::new(),
        };
        for (i, c) in controllers.iter().enumerate() {
            let (name, span) = match &c.name {
                Some(n) => (n.get_ref().clone(), n.span()),
                None => (format!("controller-{}", i + 1), 0..0),
            };
            nodes.add(ctx, name, span, format!("controllers[{i}].name"))?;
        }
        for (i, b) in brokers.get_ref().iter().enumerate() {
            let (name, span) = match &b.name {
                Some(n) => (n.get_ref().clone(), n.span()),
                None => (format!("broker-{}", i + 1), brokers.span()),
            };
            nodes.add(ctx, name, span, format!("brokers[{i}].name"))?;
        }
        for (i, p) in producers.iter().enumerate() {
            let field = format!("producers[{i}].name");
            nodes.add(ctx, p.name.get_ref().clone(), p.name.span(), field)?;
        }
        for (i, c) in consumers.iter().enumerate() {
            let field = format!("consumers[{i}].name");
            nodes.add(ctx, c.name.get_ref().clone(), c.name.span(), field)?;
        }
        for (i, d) in databases.iter().enumerate() {
            let field = format!("databases[{i}].name");
            nodes.add(ctx, d.name.get_ref().clone(), d.name.span(), field)?;
        }
        for (i, r) in registries.iter().enumerate() {
            let field = format!("registries[{i}].name");
            nodes.add(ctx, r.name.get_ref().clone(), r.name.span(), field)?;
        }
        for (name, span, field) in tasks {
            nodes.add(ctx, name.clone(), span.clone(), field.clone())?;
        }
        for (i, s) in stages.iter().enumerate() {
            let field = format!("stages[{i}].name");
            nodes.add(ctx, s.name.get_ref().clone(), s.name.span(), field)?;
        }
        Ok(nodes)
    }

    fn add(
        &mut self,
        ctx: &Ctx<'_>,
        name: String,
        span: Range<usize>,
        field: String,
    ) -> Result<(), ScenarioError> {
        if name.is_empty() {
            return Err(ctx.err(span, field, "node names must not be empty"));
        }
        if self.names.contains(&name) {
            return Err(ctx.err(span, field, format!("node name `{name}` is used twice")));
        }
        self.names.push(name);
        Ok(())
    }

    /// The address of the node called `name`.
    pub(super) fn id(&self, name: &str) -> Option<NodeId> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| NodeId(i as u32))
    }

    /// Every name, for "unknown node" messages.
    pub(super) fn known(&self) -> String {
        self.names.join(", ")
    }

    /// The name of the controller at `index` (in file order).
    pub(super) fn controller(&self, index: usize) -> &str {
        &self.names[index]
    }

    /// The address of the controller at `index`: controllers come first.
    pub(super) fn controller_address(&self, index: usize) -> NodeId {
        NodeId(index as u32)
    }

    /// The brokers' names, in file order.
    pub(super) fn brokers(&self) -> &[String] {
        &self.names[self.controllers..self.controllers + self.brokers]
    }

    /// Every broker's address: a client's `bootstrap.servers` when it does not say.
    pub(super) fn broker_addresses(&self) -> Vec<NodeId> {
        (0..self.brokers)
            .map(|i| NodeId((self.controllers + i) as u32))
            .collect()
    }

    /// Whether `name` is a consumer.
    /// Say which databases are standbys.
    pub(super) fn mark_standbys(&mut self, names: impl IntoIterator<Item = String>) {
        self.standbys = names.into_iter().collect();
    }

    /// Whether `name` is a standby database.
    pub(super) fn is_standby(&self, name: &str) -> bool {
        self.standbys.iter().any(|n| n == name)
    }

    /// Whether `name` is a schema registry.
    pub(super) fn is_registry(&self, name: &str) -> bool {
        let first = self.controllers + self.brokers + self.producers + self.consumers;
        let first = first + self.databases;
        self.names[first..first + self.registries]
            .iter()
            .any(|n| n == name)
    }

    /// Whether `name` is a connector task.
    pub(super) fn is_task(&self, name: &str) -> bool {
        let first = self.controllers + self.brokers + self.producers + self.consumers;
        let first = first + self.databases + self.registries;
        self.names[first..first + self.tasks]
            .iter()
            .any(|n| n == name)
    }

    pub(super) fn is_consumer(&self, name: &str) -> bool {
        let first = self.controllers + self.brokers + self.producers;
        self.names[first..first + self.consumers]
            .iter()
            .any(|n| n == name)
    }

    /// `bootstrap.servers`: a list of broker names (or one comma-separated string), resolved to
    /// their addresses.
    pub(super) fn bootstrap(
        &self,
        ctx: &Ctx<'_>,
        value: &PropertyValue,
        span: Range<usize>,
        field: &str,
    ) -> Result<Vec<NodeId>, ScenarioError> {
        let list: Vec<String> = match value {
            PropertyValue::Str(s) => s
                .split(',')
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect(),
            PropertyValue::List(items) => items
                .iter()
                .map(|v| v.as_str().map(str::to_string).unwrap_or_default())
                .collect(),
            _ => return Err(ctx.err(span, field, "expected a list of broker names")),
        };
        let brokers = self.brokers();
        list.iter()
            .map(|n| match self.id(n) {
                Some(id) if brokers.contains(n) => Ok(id),
                _ => Err(ctx.err(
                    span.clone(),
                    field,
                    format!("`{n}` is not a broker (brokers: {})", brokers.join(", ")),
                )),
            })
            .collect()
    }
}
