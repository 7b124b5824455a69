//! Turning a run into words: the parameters, a timeline of what mattered, and a summary in
//! Kafka's terms. Everything here is derived from the trace and the history, never from
//! inside the nodes, so the same text can be rebuilt from a saved trace.

pub mod availability;
mod crashes;
mod moment;
mod timeline;

use crate::checkers::durability::log_at_crash;
use crate::checkers::history::History;
use crate::model::Scenario;
use crate::trace::{Header, Kind, Line};
use crate::view::WorldView;
use kafkasim_core::actor::{Actor, Event, Reply};
use kafkasim_core::broker::{LogEvent, ReplicaRole};
use kafkasim_core::client::consumer;
use kafkasim_core::ids::TopicPartition;
use kafkasim_core::time::Instant;
use kafkasim_core::view::NodeView;
use kafkasim_sim::World;
use kafkasim_sim::trace::CrashKind;
pub use moment::moment;
use std::collections::{BTreeMap, BTreeSet};
pub use timeline::{Entry, entries, timeline};

type Events = [Line];

fn never(v: Option<u64>) -> String {
    v.map_or_else(|| "never (Kafka's default)".to_string(), |v| v.to_string())
}

/// What the run was set up with, including what the seed decides.
pub fn parameters(scenario: &Scenario, world: &World<Actor>) -> Vec<String> {
    let net = scenario.world.network;
    let disk = scenario.world.disk;
    let mut lines = vec![
        format!(
            "scenario {} (seed {}): {}",
            scenario.name,
            world.seed(),
            scenario.title
        ),
        format!(
            "network: one-way latency {}..{} per message, drawn from the seed per link (stream network/<from>-><to>)",
            net.latency_min, net.latency_max
        ),
        format!(
            "disk: fsync takes {}; power loss {} (torn lengths drawn from the seed, stream disk/<node>)",
            disk.fsync_latency,
            if disk.torn_writes {
                "may tear the last unsynced write"
            } else {
                "keeps exactly the synced bytes"
            }
        ),
    ];
    lines.extend(
        scenario
            .warnings()
            .into_iter()
            .map(|w| format!("warning: {w}")),
    );
    for b in &scenario.brokers {
        let c = &b.config;
        lines.push(format!(
            "{}: node.id={} log.flush.interval.messages={} log.flush.interval.ms={} log.flush.scheduler.interval.ms={}",
            b.name,
            c.node_id,
            never(c.log_flush_interval_messages),
            never(c.log_flush_interval_ms),
            never(c.log_flush_scheduler_interval_ms)
        ));
    }
    for d in &scenario.databases {
        let c = &d.config;
        let mut line = format!(
            "{}: synchronous_commit={} wal_writer_delay={}ms checkpoint_timeout={}ms wal_segment_size={}",
            d.name,
            c.synchronous_commit,
            c.wal_writer_delay_ms,
            c.checkpoint_timeout_ms,
            c.wal_segment_size
        );
        if let Some(w) = &d.workload {
            line.push_str(&format!(
                "; {} transactions on {} every {}ms from {}ms ({}% ROLLBACK)",
                w.transactions, w.table, w.interval_ms, w.start_ms, w.rollback_percent
            ));
        }
        lines.push(line);
    }
    for p in &scenario.producers {
        let w = &p.workload;
        lines.push(format!(
            "{}: acks={} linger.ms={} request.timeout.ms={}; {} records to {} every {}ms from {}ms",
            p.name,
            p.config.acks,
            p.config.linger_ms,
            p.config.request_timeout_ms,
            w.records,
            w.topic,
            w.interval_ms,
            w.start_ms
        ));
    }
    for c in &scenario.consumers {
        lines.push(format!(
            "{}: assign all of {} at {}ms, auto.offset.reset={}",
            c.name,
            c.topic,
            c.start_ms,
            format!("{:?}", c.config.auto_offset_reset).to_lowercase()
        ));
    }
    lines
}

/// Records one group (or one `assign` consumer) polled more than once, per partition: what
/// was reprocessed, and by whom.
fn redeliveries(header: &Header, h: &History) -> Vec<String> {
    // (reader, partition) → offset → consumers that polled it, in order.
    let mut seen: BTreeMap<(String, &TopicPartition), BTreeMap<i64, Vec<&str>>> = BTreeMap::new();
    for p in &h.polls {
        let reader = header.reader_of(&p.consumer);
        let offsets = seen.entry((reader, &p.partition)).or_default();
        for r in &p.records {
            offsets
                .entry(r.offset)
                .or_default()
                .push(p.consumer.as_str());
        }
    }
    let mut lines = Vec::new();
    let mut total = 0;
    for ((reader, tp), offsets) in &seen {
        let again: Vec<(&i64, &Vec<&str>)> = offsets.iter().filter(|(_, c)| c.len() > 1).collect();
        let (Some(first), Some(last)) = (again.first(), again.last()) else {
            continue;
        };
        total += again.len();
        // The consumers that read these offsets, in the order they first did.
        let mut by: Vec<&str> = Vec::new();
        for (_, consumers) in &again {
            for c in consumers.iter() {
                if !by.contains(c) {
                    by.push(c);
                }
            }
        }
        let who = if by.len() == 1 {
            format!("read again by {} (after a restart or a reset)", by[0])
        } else {
            format!("read by {}", by.join(", then again by "))
        };
        lines.push(format!(
            "  {reader} {tp}: offsets {}..={} ({} records) {who}",
            first.0,
            last.0,
            again.len(),
        ));
    }
    if total > 0 {
        lines.insert(
            0,
            format!(
                "{total} records were polled more than once (redelivered from the last committed offset after a rebalance or reset: at-least-once):"
            ),
        );
    }
    lines
}

/// How long partitions stood still in rebalances, per group: from the moment a member gave
/// a partition up to the moment a member of the same group was assigned it again.
/// Per database: its commits, and what its crashes took.
/// Per compacted partition and replica: what its cleaner left of what it held.
fn compactions(h: &History) -> Vec<String> {
    h.compacted
        .iter()
        .map(|r| {
            let (kept, removed) = (r.log.len(), r.removed.len());
            format!(
                "{} on {}: the log cleaner removed {removed} of {} records; {kept} remain, at their offsets",
                r.partition,
                r.node,
                kept + removed
            )
        })
        .collect()
}

/// Per warehouse: how many change events its sink read, for how many keys.
fn sink_reads(h: &History) -> Vec<String> {
    h.warehouses
        .iter()
        .map(|(name, w)| {
            let keys: BTreeSet<_> = w.reads.iter().map(|r| r.key).collect();
            let rows = w
                .final_rows
                .as_ref()
                .map(|r| {
                    format!(
                        "; its table holds {} rows",
                        kafkasim_core::connect::sink::live(r).len()
                    )
                })
                .unwrap_or_default();
            format!(
                "warehouse {name}: its sink read {} change events of {} keys{rows}",
                w.reads.len(),
                keys.len()
            )
        })
        .collect()
}

fn databases(h: &History) -> Vec<String> {
    let mut lines = Vec::new();
    for (name, db) in &h.databases {
        let acked = db
            .commits
            .iter()
            .filter(|c| c.acknowledged.is_some())
            .count();
        let lost: Vec<_> = db.commits.iter().filter(|c| c.lost_at.is_some()).collect();
        let lost_acked = lost.iter().filter(|c| c.acknowledged.is_some()).count();
        let replayed = db.commits.iter().filter(|c| c.replayed).count();
        let own = db.commits.len() - replayed;
        let standby = match (&db.primary, db.promoted_at) {
            (Some(p), Some(at)) => format!(
                "; a standby of {p}: {replayed} transactions replayed from its WAL, promoted at {at}"
            ),
            (Some(p), None) => {
                format!("; a standby of {p}: {replayed} transactions replayed from its WAL")
            }
            (None, _) => String::new(),
        };
        lines.push(format!(
            "{name} (synchronous_commit={}): {own} transactions committed, {acked} of them acknowledged; {} rolled back{standby}",
            db.synchronous_commit,
            db.rolled_back.len()
        ));
        lines.extend(slot_deliveries(db));
        if !lost.is_empty() {
            lines.push(format!(
                "  {} committed transactions lost in crashes, {lost_acked} of them acknowledged (xids {})",
                lost.len(),
                lost.iter()
                    .map(|c| c.xid.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    lines
}

/// Per slot: how many transactions it returned, and how many of them more than once (after a
/// crash brought the slot back to its saved position).
fn slot_deliveries(db: &crate::checkers::database::DatabaseHistory) -> Vec<String> {
    let mut times: BTreeMap<&str, BTreeMap<usize, usize>> = BTreeMap::new();
    for d in &db.deliveries {
        for xid in &d.xids {
            // The commit it is: the latest with that xid before the call.
            let commit = db
                .commits
                .iter()
                .rposition(|c| c.xid == *xid && c.time <= d.time);
            if let Some(i) = commit {
                *times.entry(&d.slot).or_default().entry(i).or_default() += 1;
            }
        }
    }
    times
        .iter()
        .map(|(slot, counts)| {
            let again = counts.values().filter(|n| **n > 1).count();
            format!(
                "  slot {slot}: returned {} committed transactions, {again} of them more than once (delivery is at least once)",
                counts.len()
            )
        })
        .collect()
}

fn rebalance_pauses(header: &Header, events: &Events) -> Vec<String> {
    let mut given_up: BTreeMap<(String, TopicPartition), Instant> = BTreeMap::new();
    // group → (partition-seconds stood still, partitions that stood still).
    let mut paused: BTreeMap<String, (u64, std::collections::BTreeSet<TopicPartition>)> =
        BTreeMap::new();
    for e in events {
        let Kind::Reply {
            reply: Reply::Consumer(reply),
        } = &e.kind
        else {
            continue;
        };
        let group = header.reader_of(&e.node);
        match reply {
            consumer::Reply::Revoked { partitions, .. } => {
                for tp in partitions {
                    given_up.insert((group.clone(), tp.clone()), e.time);
                }
            }
            consumer::Reply::Assigned { partitions, .. } => {
                for tp in partitions {
                    if let Some(since) = given_up.remove(&(group.clone(), tp.clone())) {
                        let entry = paused.entry(group.clone()).or_default();
                        entry.0 += e.time.as_millis() - since.as_millis();
                        entry.1.insert(tp.clone());
                    }
                }
            }
            _ => {}
        }
    }
    paused
        .into_iter()
        .map(|(group, (ms, partitions))| {
            format!(
                "group {group}: in rebalances, {} partition(s) stood still for {:.3} s in all ({})",
                partitions.len(),
                ms as f64 / 1000.0,
                partitions
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect()
}

/// Each partition's replicas at the end of the run: leader, epoch, ISR, and every replica's
/// log end offset and high watermark — read from the world's state at the end of the trace.
pub fn replicas(end: &WorldView) -> Vec<String> {
    let mut by_partition: BTreeMap<&TopicPartition, Vec<String>> = BTreeMap::new();
    let mut leaders: BTreeMap<&TopicPartition, String> = BTreeMap::new();
    for node in &end.nodes {
        let Some(NodeView::Broker(broker)) = &node.view else {
            continue;
        };
        for r in &broker.replicas {
            if r.partition.topic.starts_with("__") {
                continue; // internal topics would drown the summary
            }
            if r.role == ReplicaRole::Leader {
                let text = format!(
                    "leader {} in epoch {}, ISR {:?}",
                    node.node, r.leader_epoch, r.isr
                );
                leaders.insert(&r.partition, text);
            }
            by_partition.entry(&r.partition).or_default().push(format!(
                "{} {} LEO {} HW {}",
                node.node, r.role, r.log_end_offset, r.high_watermark
            ));
        }
    }
    by_partition
        .into_iter()
        .map(|(tp, replicas)| {
            let leader = leaders
                .get(tp)
                .cloned()
                .unwrap_or_else(|| "no leader".into());
            format!("{tp}: {leader}; {}", replicas.join(", "))
        })
        .collect()
}

/// The summary: what was sent, acknowledged, lost and why, what recovery did.
pub fn summary(header: &Header, h: &History, events: &Events) -> Vec<String> {
    let mut lines = Vec::new();
    for (producer, acks) in header.producers() {
        let ids: Vec<u64> = h
            .sent
            .iter()
            .filter(|(_, s)| s.producer == producer)
            .map(|(id, _)| *id)
            .collect();
        let acked = h
            .acked
            .iter()
            .filter(|a| ids.contains(&a.record_id))
            .count();
        let failed = ids.iter().filter(|id| h.failed.contains_key(id)).count();
        let mut errors: BTreeMap<&str, usize> = BTreeMap::new();
        for id in &ids {
            if let Some(e) = h.failed.get(id) {
                *errors.entry(e.as_str()).or_default() += 1;
            }
        }
        let why = if errors.is_empty() {
            String::new()
        } else {
            let list: Vec<String> = errors.iter().map(|(e, n)| format!("{n} {e}")).collect();
            format!(" ({})", list.join(", "))
        };
        lines.push(format!(
            "{producer}: {} records sent, {acked} acknowledged (acks={acks}), {failed} failed{why}, {} without an answer by the end",
            ids.len(),
            ids.len().saturating_sub(acked + failed)
        ));
    }
    let replicated = header.replicated();
    for crash in &h.crashes {
        if header.is_client(&crash.node) {
            lines.push(format!("{} was killed at {}", crash.node, crash.time));
            continue;
        }
        if replicated {
            continue; // told below, from the replicas' logs
        }
        let Some(logs) = h.final_logs.get(&crash.node) else {
            continue;
        };
        let at_crash = log_at_crash(h, crash);
        let mut lost: BTreeMap<&TopicPartition, Vec<i64>> = BTreeMap::new();
        let mut fsynced = 0;
        for ((tp, offset), a) in &at_crash {
            let Some(value) = h.value_of(a.record_id) else {
                continue;
            };
            if *offset < crash.recovery_points.get(*tp).copied().unwrap_or(0) {
                fsynced += 1;
            }
            if logs
                .get(*tp)
                .and_then(|l| l.get(offset))
                .map(String::as_str)
                != Some(value)
            {
                lost.entry(tp).or_default().push(*offset);
            }
        }
        let total_lost: usize = lost.values().map(Vec::len).sum();
        let held = at_crash.len();
        match crash.how {
            CrashKind::Power => {
                let lucky = held.saturating_sub(fsynced + total_lost);
                lines.push(format!(
                    "power loss of {} at {}: its log held {held} acknowledged records; {fsynced} had been fsynced and survived; {total_lost} are gone{}",
                    crash.node,
                    crash.time,
                    if lucky > 0 {
                        format!("; {lucky} unsynced ones survived because the torn write happened to keep their batches whole")
                    } else {
                        String::new()
                    }
                ));
                for (tp, offsets) in &lost {
                    let point = crash.recovery_points.get(*tp).copied().unwrap_or(0);
                    let why = if offsets.iter().all(|o| *o >= point) {
                        "all at or above the last fsync: acknowledged from the page cache, never made durable"
                    } else {
                        "SOME BELOW THE LAST FSYNC: durability was violated"
                    };
                    lines.push(format!(
                        "  {tp}: lost offsets {}..={} ({} records; last fsync covered offsets below {point}) — {why}",
                        offsets.iter().min().copied().unwrap_or(0),
                        offsets.iter().max().copied().unwrap_or(0),
                        offsets.len()
                    ));
                }
            }
            CrashKind::Process => {
                let unsynced = at_crash
                    .keys()
                    .filter(|(tp, o)| *o >= crash.recovery_points.get(*tp).copied().unwrap_or(0))
                    .count();
                lines.push(format!(
                    "process crash of {} at {}: its log held {held} acknowledged records, {unsynced} of them not yet fsynced; {total_lost} lost{}",
                    crash.node,
                    crash.time,
                    if total_lost == 0 {
                        " — the OS kept the page cache, so kill -9 loses nothing Kafka wrote"
                    } else {
                        ""
                    }
                ));
            }
        }
    }
    for e in events {
        if let Kind::Node {
            event:
                Event::Log(LogEvent::Recovered {
                    partition, report, ..
                }),
        } = &e.kind
            && let Some(t) = &report.truncation
        {
            lines.push(format!(
                "recovery at {} on {}: {partition} had a damaged tail ({}) — {} bytes cut at position {} of {}, log resumes at offset {}",
                e.time, e.node, t.reason, t.bytes_truncated, t.position, t.segment, report.log_end_offset
            ));
        }
    }
    if replicated {
        lines.extend(crashes::crash_outcomes(header, h, events));
    }
    lines.extend(availability::summary(events));
    lines.extend(databases(h));
    lines.extend(compactions(h));
    lines.extend(sink_reads(h));
    lines.extend(redeliveries(header, h));
    lines.extend(rebalance_pauses(header, events));
    for consumer in header.consumers() {
        let polled: usize = h
            .polls
            .iter()
            .filter(|p| p.consumer == consumer)
            .map(|p| p.records.len())
            .sum();
        lines.push(format!("{consumer}: polled {polled} records"));
    }
    lines
}
