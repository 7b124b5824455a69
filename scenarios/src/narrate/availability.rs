//! How long each partition went without a leader able to take writes, read from the trace.
//!
//! A partition has a *serving* leader from the moment a broker says it leads it (its
//! `replica_state` event with the leader role) until that broker stops leading it (it
//! becomes a follower or goes offline), its process goes down (a crash or the end of a
//! shutdown), or it stops serving requests to close its logs. Between that moment and the
//! next broker saying it leads the partition, writes cannot succeed: that is a *gap*. A
//! controlled shutdown moves the leadership before the broker stops serving, so its gaps last
//! only as long as the new and old leaders take to apply the same metadata record; without
//! it, a gap lasts until the controller notices the broker is gone.

use crate::trace::{Kind, Line};
use kafkasim_core::actor::Event;
use kafkasim_core::broker::{ReplicaEvent, ReplicaRole, shutdown};
use kafkasim_core::ids::TopicPartition;
use kafkasim_core::time::Instant;
use kafkasim_sim::trace::CrashKind;
use std::collections::BTreeMap;

/// A stretch of time a partition had no serving leader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gap {
    /// The partition.
    pub partition: TopicPartition,
    /// When its leader stopped serving it.
    pub from: Instant,
    /// When a broker led it again, or the end of the run.
    pub until: Instant,
    /// Whether no broker led it again by the end of the run.
    pub open: bool,
    /// Why the leader stopped: "broker-1 shut down", ...
    pub cause: String,
}

impl Gap {
    /// How long it lasted, in microseconds.
    pub fn micros(&self) -> u64 {
        self.until.as_micros() - self.from.as_micros()
    }
}

#[derive(Default)]
struct Leadership<'a> {
    leader: Option<&'a str>,
    gap_since: Option<(Instant, String)>,
}

/// Every gap of every partition (internal topics aside), in the order they began.
pub fn gaps(events: &[Line]) -> Vec<Gap> {
    let mut partitions: BTreeMap<&TopicPartition, Leadership> = BTreeMap::new();
    let mut gaps = Vec::new();
    let mut close = |tp: &TopicPartition, l: &mut Leadership, until: Instant, open: bool| {
        if let Some((from, cause)) = l.gap_since.take() {
            gaps.push(Gap {
                partition: tp.clone(),
                from,
                until,
                open,
                cause,
            });
        }
    };
    for e in events {
        let node = &*e.node;
        let stops = match &e.kind {
            Kind::Crashed {
                how: CrashKind::Process,
            } => Some(format!("{node} was killed")),
            Kind::Crashed {
                how: CrashKind::Power,
            } => Some(format!("{node} lost power")),
            Kind::Stopped => Some(format!("{node} shut down")),
            Kind::Node {
                event: Event::Shutdown(shutdown::Event::ClosingLogs { .. }),
            } => Some(format!("{node} stopped serving to shut down")),
            Kind::Node {
                event:
                    Event::Replica(ReplicaEvent::ReplicaState {
                        partition, role, ..
                    }),
            } if !partition.topic.starts_with("__") => {
                let l = partitions.entry(partition).or_default();
                match role {
                    ReplicaRole::Leader => {
                        close(partition, l, e.time, false);
                        l.leader = Some(node);
                    }
                    _ if l.leader == Some(node) => {
                        l.leader = None;
                        if l.gap_since.is_none() {
                            l.gap_since = Some((e.time, format!("{node} stopped leading it")));
                        }
                    }
                    _ => {}
                }
                None
            }
            _ => None,
        };
        if let Some(cause) = stops {
            for l in partitions.values_mut() {
                if l.leader == Some(node) {
                    l.leader = None;
                    l.gap_since.get_or_insert((e.time, cause.clone()));
                }
            }
        }
    }
    let end = events.last().map_or(Instant::ZERO, |e| e.time);
    for (tp, l) in partitions.iter_mut() {
        close(tp, l, end, true);
    }
    gaps.sort_by(|a, b| (a.from, &a.partition).cmp(&(b.from, &b.partition)));
    gaps
}

/// A gap's length as a reader takes it in: seconds, milliseconds, or — for a hand-over between
/// two brokers applying the same metadata record — microseconds.
fn seconds(micros: u64) -> String {
    match micros {
        1_000_000.. => format!("{:.3} s", micros as f64 / 1_000_000.0),
        1_000.. => format!("{:.1} ms", micros as f64 / 1_000.0),
        _ => format!("{micros} us"),
    }
}

/// One summary line per partition that had a gap; when none had though a broker went down,
/// a line saying so.
pub fn summary(events: &[Line]) -> Vec<String> {
    let mut by_partition: BTreeMap<TopicPartition, Vec<Gap>> = BTreeMap::new();
    for g in gaps(events) {
        by_partition.entry(g.partition.clone()).or_default().push(g);
    }
    let leaders: std::collections::BTreeSet<&str> = events
        .iter()
        .filter(|e| {
            matches!(
                &e.kind,
                Kind::Node {
                    event: Event::Replica(ReplicaEvent::ReplicaState {
                        role: ReplicaRole::Leader,
                        ..
                    })
                }
            )
        })
        .map(|e| &*e.node)
        .collect();
    let went_down = events.iter().any(|e| {
        matches!(e.kind, Kind::Crashed { .. } | Kind::Stopped) && leaders.contains(&*e.node)
    });
    if by_partition.is_empty() && went_down {
        return vec![
            "once led, no partition was ever without a leader able to take writes, though brokers that led went down".to_string(),
        ];
    }
    by_partition
        .iter()
        .map(|(tp, gaps)| {
            let total: u64 = gaps.iter().map(Gap::micros).sum();
            let longest = gaps
                .iter()
                .max_by_key(|g| (g.micros(), std::cmp::Reverse(g.from)))
                .expect("a partition listed has a gap");
            let end = if longest.open {
                "no broker led it again by the end".to_string()
            } else {
                format!("led again at {}", longest.until)
            };
            format!(
                "{tp}: no leader could take writes for {} in all ({} gap(s); the longest, {}, from {} when {}, {end})",
                seconds(total),
                gaps.len(),
                seconds(longest.micros()),
                longest.from,
                longest.cause
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gap_lengths_read_at_their_scale() {
        assert_eq!(seconds(3_006_000), "3.006 s");
        assert_eq!(seconds(2_500), "2.5 ms");
        assert_eq!(seconds(412), "412 us");
    }
}
