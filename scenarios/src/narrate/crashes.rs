//! What each crash of a broker did to what it held, told from the trace: the records in its
//! log when it went down, what recovery kept when it came back, and whether what it lost
//! lives on in another replica's log at the end of the run.

use crate::checkers::history::{Crash, History};
use crate::trace::{Header, Kind, Line};
use kafkasim_core::actor::Event;
use kafkasim_core::broker::LogEvent;
use kafkasim_core::ids::TopicPartition;
use kafkasim_core::time::Instant;
use kafkasim_sim::trace::CrashKind;
use std::collections::{BTreeMap, BTreeSet};

/// Each up broker's final log: partition → (offset → value).
type FinalValues = BTreeMap<String, BTreeMap<TopicPartition, BTreeMap<i64, String>>>;

/// A broker's crash, followed until it has recovered.
struct Followed {
    node: String,
    time: Instant,
    how: CrashKind,
    /// What it held: partition → (offset → value).
    held: BTreeMap<TopicPartition, BTreeMap<i64, String>>,
    /// When it restarted, and the log end each partition recovered to.
    restarted: Option<(Instant, BTreeMap<TopicPartition, i64>)>,
}

/// One line per crash of a broker of a replicated cluster, in time order. What a broker
/// held comes from the history (the replayed logs); its restart and recovery from the lines.
pub(super) fn crash_outcomes(header: &Header, h: &History, lines: &[Line]) -> Vec<String> {
    let mut crashes = h.crashes.iter();
    let mut followed: Vec<Followed> = Vec::new();
    for line in lines {
        match &line.kind {
            Kind::Crashed { .. } => {
                let crash = crashes.next().expect("the history has every crash");
                debug_assert!(crash.node == *line.node && crash.time == line.time);
                if is_broker(header, &line.node) {
                    followed.push(at_crash(crash));
                }
            }
            Kind::Restarted { .. } => {
                if let Some(f) = last_of(&mut followed, &line.node) {
                    f.restarted.get_or_insert((line.time, BTreeMap::new()));
                }
            }
            Kind::Node {
                event:
                    Event::Log(LogEvent::Recovered {
                        partition, report, ..
                    }),
            } => {
                if let Some((_, recovered)) =
                    last_of(&mut followed, &line.node).and_then(|f| f.restarted.as_mut())
                {
                    recovered.insert(partition.clone(), report.log_end_offset);
                }
            }
            _ => {}
        }
    }
    followed
        .iter()
        .map(|f| describe(f, &h.final_logs))
        .collect()
}

fn is_broker(header: &Header, node: &str) -> bool {
    header
        .node(node)
        .is_some_and(|n| matches!(n.role, crate::trace::NodeRole::Broker { .. }))
}

/// The crash of `node` still waiting for its recovery, if any.
fn last_of<'a>(followed: &'a mut [Followed], node: &str) -> Option<&'a mut Followed> {
    followed.iter_mut().rev().find(|f| f.node == node)
}

fn user_partition(tp: &TopicPartition) -> bool {
    !tp.topic.starts_with("__")
}

fn at_crash(crash: &Crash) -> Followed {
    let held = crash
        .held
        .iter()
        .filter(|(tp, _)| user_partition(tp))
        .map(|(tp, values)| (tp.clone(), values.clone()))
        .collect();
    Followed {
        node: crash.node.clone(),
        time: crash.time,
        how: crash.how,
        held,
        restarted: None,
    }
}

fn describe(f: &Followed, at_end: &FinalValues) -> String {
    let held: usize = f.held.values().map(BTreeMap::len).sum();
    let how = match f.how {
        CrashKind::Process => "was killed (kill -9)",
        CrashKind::Power => "lost power",
    };
    let mut line = format!("{} {how} at {} holding {held} records", f.node, f.time);
    let Some((back, recovered)) = &f.restarted else {
        line.push_str(match f.how {
            CrashKind::Process => "; it did not restart by the end (its page cache was kept)",
            CrashKind::Power => "; it did not restart by the end",
        });
        return line;
    };
    // A partition whose files did not survive is recovered to nothing.
    let mut lost = 0;
    let mut gone = 0;
    for (tp, records) in &f.held {
        let end = recovered.get(tp).copied().unwrap_or(0);
        let elsewhere: BTreeSet<&str> = at_end
            .iter()
            .filter(|(node, _)| **node != f.node)
            .filter_map(|(_, partitions)| partitions.get(tp))
            .flat_map(|log| log.values().map(String::as_str))
            .collect();
        for value in records.range(end..).map(|(_, v)| v.as_str()) {
            lost += 1;
            if !elsewhere.contains(value) {
                gone += 1;
            }
        }
    }
    if lost == 0 {
        line.push_str(&format!(
            "; it restarted at {back} and recovery kept all of them"
        ));
    } else {
        line.push_str(&format!(
            "; it restarted at {back} and recovery kept {}: {lost} were lost from its log, of which {} live on in another replica's log at the end and {gone} are gone from the cluster",
            held - lost,
            lost - gone
        ));
    }
    line
}
