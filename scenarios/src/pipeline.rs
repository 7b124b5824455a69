//! The pipeline as a graph: sources, producers and stages write topics; stages, sinks and
//! consumers read them — the talk's picture of "Kafka in the middle of all data pipelines".
//!
//! It is computed from a trace's header alone ([`flows`]), so the visualizer draws it for a
//! saved trace as for a live run, and checked with petgraph ([`graph`]): data may not flow
//! back into where it came from.

use crate::trace::{Header, NodeRole};
use petgraph::algo;
use petgraph::graph::DiGraph;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The nodes and edges of a pipeline.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flows {
    /// Every node and what it is: `topic`, `source`, `producer`, `stage`, `sink`,
    /// `consumer`.
    pub nodes: BTreeMap<String, String>,
    /// Every edge: data flows from the first to the second.
    pub edges: Vec<(String, String)>,
}

impl Flows {
    fn node(&mut self, name: &str, kind: &str) {
        self.nodes.insert(name.to_string(), kind.to_string());
    }

    fn writes(&mut self, node: &str, kind: &str, topic: &str) {
        self.node(node, kind);
        self.node(topic, "topic");
        self.edges.push((node.to_string(), topic.to_string()));
    }

    fn reads(&mut self, node: &str, kind: &str, topic: &str) {
        self.node(node, kind);
        self.node(topic, "topic");
        self.edges.push((topic.to_string(), node.to_string()));
    }
}

/// The pipeline of the run `header` describes. A sink connector's tasks are one node (its
/// consumer group); the database behind a source is the source's.
pub fn flows(header: &Header) -> Flows {
    let mut f = Flows::default();
    for n in &header.nodes {
        match &n.role {
            NodeRole::Producer { topic, .. } => f.writes(&n.name, "producer", topic),
            NodeRole::Consumer { topic, group } => {
                let name = group.clone().unwrap_or_else(|| n.name.clone());
                f.reads(&name, "consumer", topic);
            }
            NodeRole::Source { topics, .. } => {
                for t in topics {
                    f.writes(&n.name, "source", t);
                }
            }
            NodeRole::Sink { topic, group, .. } => f.reads(group, "sink", topic),
            NodeRole::Stage { input, output, .. } => {
                f.reads(&n.name, "stage", input);
                f.writes(&n.name, "stage", output);
            }
            NodeRole::Controller
            | NodeRole::Broker { .. }
            | NodeRole::Database { .. }
            | NodeRole::Registry { .. } => {}
        }
    }
    f.edges.sort();
    f.edges.dedup();
    f
}

/// The pipeline as a directed graph, checked: no cycle. The error names a node on one.
pub fn graph(flows: &Flows) -> Result<DiGraph<String, ()>, String> {
    let mut graph = DiGraph::new();
    let index: BTreeMap<&str, _> = flows
        .nodes
        .keys()
        .map(|n| (n.as_str(), graph.add_node(n.clone())))
        .collect();
    for (from, to) in &flows.edges {
        if let (Some(a), Some(b)) = (index.get(from.as_str()), index.get(to.as_str())) {
            graph.add_edge(*a, *b, ());
        }
    }
    if let Err(cycle) = algo::toposort(&graph, None) {
        let node = &graph[cycle.node_id()];
        return Err(format!(
            "the pipeline has a cycle through `{node}`: data would flow back into where it came from"
        ));
    }
    Ok(graph)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flows(edges: &[(&str, &str)]) -> Flows {
        let mut f = Flows::default();
        for (a, b) in edges {
            f.node(a, "stage");
            f.node(b, "topic");
            f.edges.push((a.to_string(), b.to_string()));
        }
        f
    }

    /// `raw-clean-aggregated` is the talk's picture: source → raw → clean → totals, with the
    /// sink reading the clean topic.
    #[test]
    fn the_catalog_pipeline_is_the_talks_picture() {
        let text = crate::catalog::find("raw-clean-aggregated").expect("built-in");
        let scenario = crate::format::parse("builtin", text).expect("parses");
        let f = super::flows(&crate::trace::Header::of(&scenario, 1));
        let edges: Vec<(&str, &str)> = f
            .edges
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        for edge in [
            ("shop-source-0", "shop.public.orders"),
            ("shop.public.orders", "clean"),
            ("clean", "orders-clean"),
            ("orders-clean", "totals"),
            ("totals", "orders-by-customer"),
            ("orders-clean", "connect-warehouse"),
        ] {
            assert!(edges.contains(&edge), "{edge:?} in {edges:?}");
        }
        assert_eq!(f.nodes["clean"], "stage");
        assert_eq!(f.nodes["connect-warehouse"], "sink");
        assert!(graph(&f).is_ok());
    }

    #[test]
    fn a_cycle_is_refused_naming_a_node_on_it() {
        let line = flows(&[("raw", "clean"), ("clean", "totals")]);
        assert!(graph(&line).is_ok());
        let cycle = flows(&[("raw", "clean"), ("clean", "raw")]);
        let error = graph(&cycle).unwrap_err();
        assert!(error.contains("cycle through `"), "{error}");
    }
}
