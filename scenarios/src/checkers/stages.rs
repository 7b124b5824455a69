//! What a stream-processing stage promises, judged from the trace.
//!
//! - `aggregate-converges`: after the run, the latest record of every group in an aggregate
//!   stage's output topic (its leader's log) holds the count and sum that the source table
//!   gives — through the filters upstream of the stage — and no group that the table lacks
//!   has a non-zero count. At-least-once delivery may write a group's totals more than once;
//!   the latest must be right.

use super::history::History;
use crate::trace::{Header, NodeRole};
use kafkasim_core::database::heap::{Rows, Value};
use kafkasim_core::stage::transform::{Totals, Transform};
use std::collections::BTreeMap;

/// A stage as the header describes it, traced back to the source of its input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageFacts {
    /// Its node.
    pub name: String,
    /// The topic it writes.
    pub output: String,
    /// What it does.
    pub transform: Transform,
    /// The database and table at the root of its input, if a source writes it.
    pub source: Option<(String, String)>,
    /// The filters between that source and this stage, in order.
    pub filters: Vec<Transform>,
}

/// The database and table whose change events `topic` carries, and the filters on the way:
/// a source's topic, or a filter stage's output (followed back to its input).
pub fn origin(header: &Header, topic: &str) -> Option<((String, String), Vec<Transform>)> {
    for n in &header.nodes {
        match &n.role {
            NodeRole::Source {
                database, topics, ..
            } if topics.iter().any(|t| t == topic) => {
                let table = topic.rsplit(".public.").next().unwrap_or(topic).to_string();
                return Some(((database.clone(), table), Vec::new()));
            }
            NodeRole::Stage {
                input,
                output,
                transform: t @ Transform::Filter { .. },
            } if output == topic => {
                let (root, mut filters) = origin(header, input)?;
                filters.push(t.clone());
                return Some((root, filters));
            }
            _ => {}
        }
    }
    None
}

/// Every stage of the run.
pub fn stages(header: &Header) -> Vec<StageFacts> {
    header
        .nodes
        .iter()
        .filter_map(|n| match &n.role {
            NodeRole::Stage {
                input,
                output,
                transform,
            } => {
                let (source, filters) = match origin(header, input) {
                    Some((root, filters)) => (Some(root), filters),
                    None => (None, Vec::new()),
                };
                Some(StageFacts {
                    name: n.name.clone(),
                    output: output.clone(),
                    transform: transform.clone(),
                    source,
                    filters,
                })
            }
            _ => None,
        })
        .collect()
}

/// The rows of `rows` every filter keeps.
pub fn filtered(rows: &Rows, filters: &[Transform]) -> Rows {
    rows.iter()
        .filter(|(_, r)| filters.iter().all(|f| f.keeps(r)))
        .map(|(k, r)| (*k, r.clone()))
        .collect()
}

/// `aggregate-converges`.
pub fn aggregate_converges(h: &History) -> Vec<String> {
    let mut findings = Vec::new();
    for s in &h.stages {
        let Transform::Aggregate {
            group_by,
            group_position,
            sum,
            sum_position,
        } = &s.transform
        else {
            continue;
        };
        let Some((db, table)) = &s.source else {
            continue;
        };
        let Some(tables) = h.databases.get(db).and_then(|d| d.final_tables.as_ref()) else {
            findings.push(format!("{}: {db} is down at the end", s.name));
            continue;
        };
        let empty = Rows::new();
        let rows = filtered(tables.get(table).unwrap_or(&empty), &s.filters);
        let mut expected: BTreeMap<String, Totals> = BTreeMap::new();
        for row in rows.values() {
            let group = match row.get(*group_position) {
                Some(Value::Text(t)) => t.clone(),
                Some(Value::Int(i)) => i.to_string(),
                None => continue,
            };
            let amount = match row.get(*sum_position) {
                Some(Value::Int(i)) => *i,
                _ => 0,
            };
            let t = expected.entry(group).or_default();
            t.count += 1;
            t.sum += amount;
        }
        let actual = latest_totals(h, &s.output, group_by, sum);
        let groups: std::collections::BTreeSet<&String> =
            expected.keys().chain(actual.keys()).collect();
        let differ: Vec<String> = groups
            .into_iter()
            .filter(|g| {
                let e = expected.get(*g).copied().unwrap_or_default();
                let a = actual.get(*g).copied().unwrap_or_default();
                e != a
            })
            .map(|g| {
                let e = expected.get(g).copied().unwrap_or_default();
                let a = actual.get(g).copied().unwrap_or_default();
                format!(
                    "{group_by} {g}: {table} gives count {} sum {}, the topic count {} sum {}",
                    e.count, e.sum, a.count, a.sum
                )
            })
            .collect();
        if !differ.is_empty() {
            findings.push(format!(
                "{}: {} differs from {db}'s {table} at {} groups: {}",
                s.name,
                s.output,
                differ.len(),
                differ
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
        }
    }
    findings
}

/// The latest totals of every group in `topic`'s partitions, from each leader's log.
fn latest_totals(h: &History, topic: &str, group_by: &str, sum: &str) -> BTreeMap<String, Totals> {
    let mut latest = BTreeMap::new();
    for (tp, leader) in h.final_leaders.iter().filter(|(tp, _)| *tp.topic == *topic) {
        let Some(log) = h.final_logs.get(leader).and_then(|l| l.get(tp)) else {
            continue;
        };
        for value in log.values() {
            let Ok(json) = serde_json::from_str::<serde_json::Value>(value) else {
                continue;
            };
            let (Some(group), Some(count), Some(total)) = (
                json.get(group_by).and_then(|g| g.as_str()),
                json.get("count").and_then(|c| c.as_i64()),
                json.get(sum).and_then(|s| s.as_i64()),
            ) else {
                continue;
            };
            latest.insert(group.to_string(), Totals { count, sum: total });
        }
    }
    latest
}
