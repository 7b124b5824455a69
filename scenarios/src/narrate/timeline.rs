//! The timeline: one line per event that tells the story, in time order.
//!
//! Each kind of event has its own small function below; what they share is the
//! [`Timeline`] being written: flushes remembered until a crash makes them matter, bursts of
//! request timeouts folded into one line, the first poll of each consumer.

use crate::trace::{Kind, Line};
use kafkasim_core::actor::{Command, Event, Reply};
use kafkasim_core::broker::{LogEvent, ReplicaEvent, ReplicaRole, shutdown};
use kafkasim_core::client::{consumer, producer};
use kafkasim_core::controller;
use kafkasim_core::database;
use kafkasim_core::group;
use kafkasim_core::ids::TopicPartition;
use kafkasim_core::log::RecoveryReport;
use kafkasim_core::registry::server as registry;
use kafkasim_core::time::Instant;
use kafkasim_sim::disk::FileLoss;
use kafkasim_sim::trace::CrashKind;
use std::collections::{BTreeMap, BTreeSet};

mod connect;

/// The notable events, one line each, in time order: the CLI's timeline.
pub fn timeline(events: &[Line]) -> Vec<String> {
    entries(events)
        .into_iter()
        .map(|e| format!("{} {}", e.when, e.text))
        .collect()
}

/// One sentence of the timeline, with the trace line it tells of (the visualizer shows it
/// beside the timeline and jumps there).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The index in the trace of the line the sentence tells of (the first, for a burst).
    pub line: usize,
    /// When it happened, as the CLI writes it (`4.000s`, or `4.000s..4.090s` for a burst).
    pub when: String,
    /// The sentence.
    pub text: String,
}

/// The notable events, one [`Entry`] each, in time order.
pub fn entries(events: &[Line]) -> Vec<Entry> {
    let mut t = Timeline::new(events);
    for (i, e) in events.iter().enumerate() {
        t.current = i;
        t.end_sink_batch_unless_continued(e);
        t.event(e);
    }
    t.end_sink_batch();
    t.flush_timeouts();
    t.lines
}

/// Timeouts closer together than this are one burst.
const BURST_MS: u64 = 100;

/// A burst of request timeouts on one node, for one request type.
struct Burst {
    /// The trace line of its first timeout.
    line: usize,
    node: String,
    request: String,
    first: Instant,
    last: Instant,
    count: usize,
}

/// Replicas deleting the same segments of one partition at one retention check: one
/// sentence names them all.
struct Deletions {
    /// The index of its sentence in the timeline.
    entry: usize,
    partition: TopicPartition,
    log_start_offset: i64,
    at: Instant,
    nodes: Vec<String>,
    /// The rule, in words.
    why: String,
}

/// Replicas' cleaner passes over one partition that did the same, close together: one
/// sentence names them all.
struct Cleanings {
    /// The index of its sentence in the timeline.
    entry: usize,
    partition: TopicPartition,
    /// What the passes did: cleaner points and the offsets removed.
    what: (i64, i64, Vec<(i64, i64)>),
    at: Instant,
    nodes: Vec<String>,
}

/// The timeline being written.
struct Timeline<'a> {
    lines: Vec<Entry>,
    /// The index of the line being narrated.
    current: usize,
    /// Flushes are frequent; only the last one before each crash tells the story.
    last_flush: BTreeMap<(&'a str, &'a TopicPartition), (Instant, i64)>,
    first_poll_seen: BTreeSet<&'a str>,
    /// Clients keep nothing on disk: their crashes and restarts read differently.
    clients: BTreeSet<&'a str>,
    timeouts: Option<Burst>,
    /// The last retention deletion told, to fold the replicas' identical ones into it.
    last_deletion: Option<Deletions>,
    /// The last cleaner pass told, to fold the replicas' identical ones into it.
    last_cleaning: Option<Cleanings>,
    /// Slots whose first decoded transaction was shown in full: (database, slot).
    decoded_shown: BTreeSet<(&'a str, &'a str)>,
    /// Source tasks whose current stream's first transaction was narrated.
    streams_shown: BTreeSet<String>,
    /// The events a sink task is reading in one poll, told as one line when it ends.
    sink_batch: Option<connect::SinkBatch>,
    /// Slots read with `pg_logical_slot_get_changes`, whose calls tell where they stand:
    /// (database, slot). The others are streamed, and their confirmations are told.
    polled_slots: BTreeSet<(&'a str, &'a str)>,
}

/// `orders-0@215, orders-1@179`.
pub(super) fn offsets_text(offsets: &[(TopicPartition, i64)]) -> String {
    let list: Vec<String> = offsets.iter().map(|(tp, o)| format!("{tp}@{o}")).collect();
    list.join(", ")
}

fn partitions_text(partitions: &[TopicPartition]) -> String {
    let list: Vec<String> = partitions.iter().map(ToString::to_string).collect();
    list.join(", ")
}

impl<'a> Timeline<'a> {
    fn new(events: &'a [Line]) -> Self {
        // Producers and consumers: a database answers commands too, but keeps its disk.
        let clients = events
            .iter()
            .filter(|e| {
                matches!(
                    e.kind,
                    Kind::Reply {
                        reply: Reply::Producer(_) | Reply::Consumer(_)
                    } | Kind::Command {
                        command: Command::Producer(_) | Command::Consumer(_)
                    }
                )
            })
            .map(|e| &*e.node)
            .collect();
        Timeline {
            lines: Vec::new(),
            current: 0,
            last_flush: BTreeMap::new(),
            first_poll_seen: BTreeSet::new(),
            clients,
            timeouts: None,
            last_deletion: None,
            last_cleaning: None,
            decoded_shown: BTreeSet::new(),
            streams_shown: BTreeSet::new(),
            sink_batch: None,
            polled_slots: events
                .iter()
                .filter_map(|e| match &e.kind {
                    Kind::Reply {
                        reply: Reply::Database(database::Reply::Changes { slot, .. }),
                    } => Some((&*e.node, slot.as_str())),
                    _ => None,
                })
                .collect(),
        }
    }

    fn push(&mut self, at: Instant, text: String) {
        let (line, when) = (self.current, at.to_string());
        self.lines.push(Entry { line, when, text });
    }

    fn event(&mut self, e: &'a Line) {
        if self
            .timeouts
            .as_ref()
            .is_some_and(|b| e.time.saturating_since(b.last).as_millis() > BURST_MS)
        {
            self.flush_timeouts();
        }
        let (at, node) = (e.time, &*e.node);
        match &e.kind {
            Kind::Node { event } => self.node_event(at, node, event),
            Kind::Crashed { how } => self.crashed(at, node, *how),
            Kind::PowerLost { files } => self.power_lost(at, node, files),
            Kind::Restarted { incarnation } => self.restarted(at, node, *incarnation),
            Kind::ShutdownRequested => {
                self.push(at, format!("{node} is asked to shut down (SIGTERM)"))
            }
            Kind::Stopped => self.push(at, format!("{node} has shut down")),
            Kind::PartitionStarted { from, to, two_way } => {
                let arrow = if *two_way { "<-/->" } else { "-/->" };
                self.push(at, format!("network partition: {from} {arrow} {to}"));
            }
            Kind::PartitionsHealed => self.push(at, "network partitions healed".into()),
            Kind::ConnectionReset { peer } => {
                self.push(at, format!("connection {node} <-> {peer} reset"))
            }
            Kind::Reply {
                reply: Reply::Consumer(reply),
            } => self.consumer_reply(at, node, reply),
            Kind::Reply {
                reply:
                    Reply::Database(database::Reply::Changes {
                        slot,
                        rows,
                        transactions,
                    }),
            } if !transactions.is_empty() => self.decoded(at, node, slot, rows, transactions),
            Kind::Note { text } => self.push(at, text.clone()),
            _ => {}
        }
    }

    fn node_event(&mut self, at: Instant, node: &'a str, event: &'a Event) {
        match event {
            Event::Log(e) => self.log_event(at, node, e),
            // Kafka's internal topics (`__consumer_offsets`) would drown the story.
            Event::Replica(e) if e.partition().topic.starts_with("__") => {}
            Event::Replica(e) => self.replica_event(at, node, e),
            Event::Group(e) => self.group_event(at, node, e),
            Event::Controller(e) => self.controller_event(at, node, e),
            Event::Consumer(e) => self.consumer_event(at, node, e),
            Event::Producer(producer::Event::RequestTimedOut { request, .. }) => {
                self.timed_out(at, node, request)
            }
            Event::Shutdown(e) => self.shutdown_event(at, node, e),
            Event::Database(e) => self.database_event(at, node, e),
            Event::Source(e) => self.source_event(at, node, e),
            Event::Sink(e) => self.sink_event(at, node, e),
            Event::Registry(e) => self.registry_event(at, node, e),
            Event::Stage(e) => self.stage_event(at, node, e),
            Event::Producer(producer::Event::BatchRetried { .. })
            | Event::Quorum(_)
            | Event::Purgatory(_) => {}
        }
    }

    fn registry_event(&mut self, at: Instant, node: &str, event: &registry::Event) {
        let line = match event {
            registry::Event::Started { view } => format!(
                "{node} starts and reads its _schemas log: {} subject(s), default compatibility {}",
                view.subjects.len(),
                view.compatibility
            ),
            registry::Event::Registered {
                subject,
                version,
                id,
                schema,
                compatibility,
                new: true,
            } => format!(
                "{node} registers {} as version {version} of {subject} (schema id {id}): compatible under {compatibility}",
                schema.name
            ),
            registry::Event::Registered { .. } => return,
            registry::Event::Refused {
                subject,
                compatibility,
                error_code,
                reason,
                ..
            } => format!(
                "{node} refuses a new schema for {subject} under {compatibility}: {error_code} {reason}"
            ),
            registry::Event::CompatibilitySet {
                subject,
                compatibility,
            } => format!(
                "{node}: an operator sets {subject} to {compatibility} (PUT /config/{subject})"
            ),
            registry::Event::NotFound { id } => {
                format!("{node} has no schema with id {id} (40403)")
            }
        };
        self.push(at, line);
    }

    fn database_event(&mut self, at: Instant, node: &str, event: &database::Event) {
        let line = match event {
            database::Event::SlotAdvanced { slot, position } => {
                if self.polled_slots.contains(&(node, slot.as_str())) {
                    return;
                }
                format!(
                    "{node}: slot {slot} confirmed by its client: confirmed_flush_lsn {}, restart_lsn {}",
                    position.confirmed_flush_lsn, position.restart_lsn
                )
            }
            database::Event::Recovered { report: r, .. } => {
                let from = match r.checkpoint {
                    Some(c) => format!("from the checkpoint at {c}, redo from {}", r.redo),
                    None => format!("without a checkpoint, redo from {}", r.redo),
                };
                let end = match r.damaged {
                    Some(why) => format!("the WAL is cut at {} ({why})", r.end),
                    None => format!("the WAL ends at {}", r.end),
                };
                format!(
                    "{node} recovers {from}: {} committed transactions replayed, {} rolled back skipped, {} unfinished discarded; {end}",
                    r.commits_replayed, r.aborts_skipped, r.incomplete_discarded
                )
            }
            database::Event::CheckpointCompleted {
                checkpoint,
                redo,
                removed_segments,
            } => format!(
                "{node}: checkpoint at {checkpoint} complete (redo point {redo}); {} old WAL segment(s) removed",
                removed_segments.len()
            ),
            database::Event::Committed {
                xid, lsn, changes, ..
            } if changes
                .iter()
                .any(|c| matches!(c, database::RowChange::Alter { .. })) =>
            {
                let ddl: Vec<String> = changes
                    .iter()
                    .filter_map(|c| match c {
                        database::RowChange::Alter { table, alter } => Some(alter.sql(table)),
                        _ => None,
                    })
                    .collect();
                format!(
                    "{node} commits xid {xid}: {} — every row rewritten to the new definition; ends at LSN {lsn}",
                    ddl.join("; ")
                )
            }
            database::Event::StandbyConnected { standby, start_lsn } => {
                format!("{node}: standby {standby} connects and streams the WAL from {start_lsn}")
            }
            database::Event::Promoted { lsn, discarded } => format!(
                "{node} is promoted (pg_promote()): recovery ends at {lsn}, {discarded} unfinished transaction(s) discarded; it accepts writes"
            ),
            database::Event::Committed { .. }
            | database::Event::WalFlushed { .. }
            | database::Event::StandbyConfirmed { .. }
            | database::Event::Replayed { .. } => return,
        };
        self.push(at, line);
    }

    /// A slot returned transactions: how many, where the slot now stands, and the first time,
    /// the first transaction as `test_decoding` wrote it.
    fn decoded(
        &mut self,
        at: Instant,
        node: &'a str,
        slot: &'a str,
        rows: &[database::decoding::DecodedRow],
        transactions: &[(database::wal::Xid, database::wal::Lsn)],
    ) {
        let confirmed = transactions.last().map(|(_, end)| *end).unwrap_or_default();
        self.push(
            at,
            format!(
                "{node}: pg_logical_slot_get_changes('{slot}') returns {} transaction(s) in {} rows; confirmed_flush_lsn is now {confirmed}",
                transactions.len(),
                rows.len()
            ),
        );
        if self.decoded_shown.insert((node, slot)) {
            let first = transactions[0].0;
            for r in rows.iter().filter(|r| r.xid == first) {
                self.push(at, format!("    {} | {} | {}", r.lsn, r.xid, r.data));
            }
        }
    }

    fn shutdown_event(&mut self, at: Instant, node: &str, event: &shutdown::Event) {
        let line = match event {
            shutdown::Event::ControlledShutdownRequested => format!(
                "{node} asks the controller to move its leaderships away before it stops (controlled.shutdown.enable)"
            ),
            shutdown::Event::ControlledShutdownTimedOut => format!(
                "{node}: the controller did not approve its controlled shutdown in time; it stops anyway"
            ),
            shutdown::Event::ClosingLogs { controlled: true } => {
                format!("{node} may stop: it stops serving and flushes every log")
            }
            shutdown::Event::ClosingLogs { controlled: false } => {
                format!("{node} stops serving and flushes every log")
            }
            shutdown::Event::CleanShutdownMarked { broker_epoch } => format!(
                "{node} has flushed and checkpointed every log and writes its clean-shutdown marker (broker epoch {broker_epoch}): at its restart it trusts its logs without a scan"
            ),
        };
        self.push(at, line);
    }

    fn log_event(&mut self, at: Instant, node: &'a str, event: &'a LogEvent) {
        match event {
            LogEvent::Flushed {
                partition,
                recovery_point,
            } => {
                self.last_flush
                    .insert((node, partition), (at, *recovery_point));
            }
            LogEvent::Recovered {
                partition, report, ..
            } => self.recovered(at, node, partition, report),
            LogEvent::SegmentsDeleted { partition, deleted } => {
                self.segments_deleted(at, node, partition, deleted)
            }
            LogEvent::Cleaned { partition, cleaned } => self.cleaned(at, node, partition, cleaned),
            LogEvent::FlushStarted { .. } => {}
        }
    }

    fn cleaned(
        &mut self,
        at: Instant,
        node: &str,
        tp: &TopicPartition,
        c: &kafkasim_core::log::cleaner::LogCleaned,
    ) {
        let what = (c.first_dirty_offset, c.cleaner_point, c.removed.clone());
        if let Some(last) = self.last_cleaning.as_mut()
            && last.partition == *tp
            && last.what == what
            && at.saturating_since(last.at).as_millis() <= BURST_MS
        {
            last.nodes.push(node.to_string());
            let entry = last.entry;
            self.lines[entry].text = cleaned_line(&last.nodes.join(", "), tp, c);
            return;
        }
        self.last_cleaning = Some(Cleanings {
            entry: self.lines.len(),
            partition: tp.clone(),
            what,
            at,
            nodes: vec![node.to_string()],
        });
        self.push(at, cleaned_line(node, tp, c));
    }

    fn segments_deleted(
        &mut self,
        at: Instant,
        node: &str,
        tp: &TopicPartition,
        d: &kafkasim_core::log::retention::SegmentsDeleted,
    ) {
        use kafkasim_core::log::retention::DeletionReason;
        if let Some(last) = self.last_deletion.as_mut()
            && last.partition == *tp
            && last.log_start_offset == d.log_start_offset
            && at.saturating_since(last.at).as_millis() <= BURST_MS
        {
            last.nodes.push(node.to_string());
            let (entry, nodes) = (last.entry, last.nodes.join(", "));
            let text = format!(
                "{nodes} delete the segments of {tp} below offset {} ({}; each below its own high watermark): a reader below that gets OFFSET_OUT_OF_RANGE",
                d.log_start_offset, last.why
            );
            self.lines[entry].text = text;
            return;
        }
        let (first, last) = (d.segments[0].0, d.segments[d.segments.len() - 1].1 - 1);
        let why = match d.reason {
            DeletionReason::RetentionMs { retention_ms } => {
                format!("their newest record is older than retention.ms={retention_ms}")
            }
            DeletionReason::RetentionBytes { retention_bytes } => {
                format!("the log is larger than retention.bytes={retention_bytes}")
            }
            DeletionReason::LogStartOffset => {
                "the leader's log start offset moved past them".into()
            }
        };
        let line = format!(
            "{node} deletes {} segment(s) of {tp}, offsets {first}..={last} ({why}; high watermark {}): its log now starts at {}, and a reader below that gets OFFSET_OUT_OF_RANGE",
            d.segments.len(),
            d.high_watermark,
            d.log_start_offset
        );
        self.last_deletion = Some(Deletions {
            entry: self.lines.len(),
            partition: tp.clone(),
            log_start_offset: d.log_start_offset,
            at,
            nodes: vec![node.to_string()],
            why,
        });
        self.push(at, line);
    }

    fn recovered(&mut self, at: Instant, node: &str, tp: &TopicPartition, r: &RecoveryReport) {
        if r.clean_shutdown {
            let line = format!(
                "{node} loads {tp} after a clean shutdown without a scan: {} batches ({} records), log end offset {}",
                r.valid_batches, r.valid_records, r.log_end_offset
            );
            return self.push(at, line);
        }
        let trusted = if r.segments_trusted > 0 {
            format!(
                " after {} segment(s) below its recovery point {}",
                r.segments_trusted, r.recovery_point
            )
        } else {
            String::new()
        };
        let mut line = format!(
            "{node} recovers {tp}: {} valid batches ({} records), {} segment(s) checked{trusted}, log end offset {}",
            r.valid_batches, r.valid_records, r.segments_scanned, r.log_end_offset
        );
        match &r.truncation {
            Some(t) => line.push_str(&format!(
                "; truncated {} bytes at position {} of {} ({})",
                t.bytes_truncated, t.position, t.segment, t.reason
            )),
            None => line.push_str("; nothing to truncate"),
        }
        self.push(at, line);
    }

    fn replica_event(&mut self, at: Instant, node: &str, event: &ReplicaEvent) {
        let line = match event {
            ReplicaEvent::ReplicaState {
                partition,
                role: ReplicaRole::Leader,
                leader_epoch,
                log_end_offset,
                high_watermark,
                isr,
                ..
            } => format!(
                "{node} leads {partition} in leader epoch {leader_epoch} (ISR {isr:?}, log end {log_end_offset}, high watermark {high_watermark})"
            ),
            ReplicaEvent::ReplicaState {
                partition,
                role: ReplicaRole::Offline,
                ..
            } => format!("{node}: {partition} is offline (no leader)"),
            ReplicaEvent::IsrShrunk { partition, isr, .. } => {
                format!("{node}: ISR of {partition} shrinks to {isr:?}")
            }
            ReplicaEvent::IsrExpanded { partition, isr, .. } => {
                format!("{node}: ISR of {partition} expands to {isr:?}")
            }
            ReplicaEvent::ReplicaTruncated {
                partition,
                from,
                to,
                cause,
                ..
            } => format!("{node} truncates {partition} from offset {from} to {to} ({cause})"),
            _ => return,
        };
        self.push(at, line);
    }

    fn group_event(&mut self, at: Instant, node: &str, event: &group::Event) {
        use group::Event as G;
        let line = match event {
            G::StaticMemberReplaced {
                group,
                instance,
                old,
                new,
                kept_generation,
            } => format!(
                "{node}: static member {instance} of {group} is back as {new} (was {old}){}",
                if *kept_generation {
                    ": it keeps its partitions, no rebalance"
                } else {
                    ""
                }
            ),
            G::GenerationStarted {
                group,
                generation,
                members,
                ..
            } => format!(
                "{node} (coordinator of {group}) starts generation {generation} with {}",
                members.join(", ")
            ),
            // Where the group would resume from if its members changed now.
            G::OffsetsCommitted { group, offsets } => format!(
                "{node} (coordinator of {group}) has committed {}",
                offsets_text(offsets)
            ),
            // After a coordinator failover, the group as its record stored it.
            G::GroupLoaded {
                group,
                generation,
                members,
                ..
            } if !members.is_empty() => format!(
                "{node} (coordinator of {group}) loads group {group} from its record in __consumer_offsets: generation {generation}, members {} with their assignments",
                members
                    .iter()
                    .map(|(m, _)| m.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            // After a coordinator failover, where the group resumes from.
            G::OffsetsLoaded { group, offsets } => format!(
                "{node} (coordinator of {group}) loads its committed offsets from __consumer_offsets: {}",
                offsets_text(offsets)
            ),
            G::MemberRemoved {
                group,
                member,
                reason,
            } => format!("{node}: {member} leaves group {group} ({reason})"),
            _ => return,
        };
        self.push(at, line);
    }

    fn controller_event(&mut self, at: Instant, node: &str, event: &controller::Event) {
        use controller::Event as C;
        use controller::placement::Election;
        let line = match event {
            C::Activated { epoch } => {
                format!("{node} becomes the active controller (metadata quorum epoch {epoch})")
            }
            C::BrokerUnfenced { broker_id } => format!(
                "{node} unfences broker {broker_id}: it has caught up with the metadata log"
            ),
            C::ControlledShutdownStarted { broker_id } => format!(
                "{node} puts broker {broker_id} in controlled shutdown: from now on it may not lead or join an ISR, and its partitions get other leaders where a replica can take over"
            ),
            C::ShutdownGranted { broker_id } => format!(
                "{node} lets broker {broker_id} shut down: it leads no partition any more; it is fenced until it registers again"
            ),
            C::BrokerFenced { broker_id } => format!(
                "{node} fences broker {broker_id}: no heartbeat for broker.session.timeout.ms"
            ),
            C::BrokerRegistered {
                broker_id,
                unclean_shutdown: true,
                ..
            } => format!(
                "{node} registers broker {broker_id} again after an unclean shutdown: its log may have lost unflushed records, so it leaves every ISR and eligible-leader list"
            ),
            C::LeaderElected {
                partition,
                leader,
                election,
            } => match election {
                Election::Isr => return,
                Election::EligibleLeaderReplicas => format!(
                    "{node} elects broker {leader} leader of {partition} from its eligible leader replicas (KIP-966): the ISR is empty, and no record was committed without it"
                ),
                Election::LastKnownLeader => format!(
                    "{node} elects broker {leader}, the last known leader of {partition}: neither the ISR nor the eligible leader replicas have a member left (each left after an unclean shutdown), so no replica is known to hold every committed record: it leads with whatever its log kept, an unclean election of last resort"
                ),
                Election::Preferred => format!(
                    "{node} moves the leadership of {partition} back to its preferred replica, broker {leader}, which is in the ISR again (auto.leader.rebalance.enable)"
                ),
                Election::Unclean => format!(
                    "{node} elects broker {leader} leader of {partition} from outside the ISR (unclean.leader.election.enable): records it lacks are lost"
                ),
            },
            C::EligibleLeaderReplicasChanged {
                partition,
                eligible_leader_replicas,
                isr,
            } => {
                if eligible_leader_replicas.is_empty() {
                    format!(
                        "{node}: {partition} has no eligible leader replicas any more (ISR {isr:?})"
                    )
                } else {
                    format!(
                        "{node}: eligible leader replicas of {partition} are {eligible_leader_replicas:?} (ISR {isr:?} is below min.insync.replicas, so nothing is committed without them)"
                    )
                }
            }
            C::BrokerRegistered { .. } | C::RecordApplied { .. } => return,
        };
        self.push(at, line);
    }

    fn consumer_event(&mut self, at: Instant, node: &str, event: &consumer::Event) {
        match event {
            consumer::Event::PollStalled { duration_ms } => self.push(
                at,
                format!(
                    "{node}'s application stalls for {duration_ms} ms without calling poll() (its heartbeat thread goes on)"
                ),
            ),
            consumer::Event::Closed => {
                self.push(at, format!("{node}'s application calls close()"))
            }
            consumer::Event::RequestTimedOut { request, .. } => self.timed_out(at, node, request),
            consumer::Event::AssignmentMetadataChanged {
                topic,
                assigned_with,
                now,
            } => {
                let then = if *assigned_with < 0 {
                    "without knowing it".to_string()
                } else {
                    format!("with {assigned_with} partitions")
                };
                self.push(
                    at,
                    format!(
                        "{node}, the group's leader, assigned {topic} {then}; its metadata now shows {now}: it rejoins so that the group is assigned again"
                    ),
                )
            }
            consumer::Event::SeekedToBeginning { partitions } => {
                let names: Vec<String> = partitions.iter().map(ToString::to_string).collect();
                self.push(
                    at,
                    format!(
                        "{node}'s application calls seekToBeginning() on {}: it will read them again from their log start",
                        names.join(", ")
                    ),
                )
            }
            consumer::Event::PositionInvalid { partition } => self.push(
                at,
                format!(
                    "{node}'s position on {partition} is out of range (OFFSET_OUT_OF_RANGE): the log no longer holds it, and auto.offset.reset decides"
                ),
            ),
            consumer::Event::Subscribed { .. }
            | consumer::Event::PartitionsAssigned { .. }
            | consumer::Event::Joined { .. }
            | consumer::Event::MembershipReset => {}
        }
    }

    /// Timeouts come in bursts (every request in flight to a dead broker): one line per
    /// burst of one request type on one node.
    fn timed_out(&mut self, at: Instant, node: &str, request: &str) {
        match self.timeouts.as_mut() {
            Some(b)
                if b.node == node
                    && b.request == request
                    && at.saturating_since(b.last).as_millis() <= BURST_MS =>
            {
                b.last = at;
                b.count += 1;
            }
            _ => {
                self.flush_timeouts();
                self.timeouts = Some(Burst {
                    line: self.current,
                    node: node.to_string(),
                    request: request.to_string(),
                    first: at,
                    last: at,
                    count: 1,
                });
            }
        }
    }

    /// One line for the burst of request timeouts under way.
    fn flush_timeouts(&mut self) {
        let Some(b) = self.timeouts.take() else {
            return;
        };
        let when = if b.first == b.last {
            b.first.to_string()
        } else {
            format!("{}..{}", b.first, b.last)
        };
        let text = format!(
            "{}: {} {}{} got no answer within request.timeout.ms; retrying",
            b.node,
            b.count,
            b.request,
            if b.count == 1 { "" } else { "s" }
        );
        self.lines.push(Entry {
            line: b.line,
            when,
            text,
        });
    }

    fn crashed(&mut self, at: Instant, node: &str, how: CrashKind) {
        let flushes: Vec<String> = self
            .last_flush
            .iter()
            .filter(|((n, _), _)| *n == node)
            .map(|((_, tp), (t, rp))| format!("{tp} up to offset {rp} at {t}"))
            .collect();
        if !flushes.is_empty() {
            let text = format!(
                "{node}: last fsyncs before the crash: {}",
                flushes.join(", ")
            );
            self.push(at, text);
        }
        let text = match how {
            CrashKind::Process if self.clients.contains(node) => {
                format!("{node} process killed (kill -9)")
            }
            CrashKind::Process => {
                format!("{node} process killed (kill -9): memory lost, the OS keeps the page cache")
            }
            CrashKind::Power => {
                format!("{node} loses power: memory and page cache lost, only fsynced bytes remain")
            }
        };
        self.push(at, text);
    }

    fn power_lost(&mut self, at: Instant, node: &str, files: &[FileLoss]) {
        for f in files {
            let text = if f.vanished {
                format!("{node}:   {} was never fsynced and is gone", f.file)
            } else {
                let unsynced = f.cached_len.saturating_sub(f.durable_len);
                let torn = if f.torn_bytes_kept > 0 {
                    format!(
                        "; a torn write left {} of them on disk{}",
                        f.torn_bytes_kept,
                        if f.garbage { ", ending in garbage" } else { "" }
                    )
                } else {
                    String::new()
                };
                format!(
                    "{node}:   {}: {} bytes synced, {unsynced} unsynced bytes lost{torn}",
                    f.file, f.durable_len
                )
            };
            self.push(at, text);
        }
    }

    fn restarted(&mut self, at: Instant, node: &str, incarnation: u32) {
        let text = if self.clients.contains(node) {
            format!(
                "{node} restarts (start #{}): a new process, nothing kept but its config",
                incarnation + 1
            )
        } else {
            format!(
                "{node} restarts (start #{}) and recovers its logs from disk",
                incarnation + 1
            )
        };
        self.push(at, text);
    }

    fn consumer_reply(&mut self, at: Instant, node: &'a str, reply: &consumer::Reply) {
        use consumer::Reply as R;
        let text = match reply {
            R::PositionReset {
                partition,
                offset,
                reason,
            } => format!("{node} starts {partition} at offset {offset} ({reason})"),
            R::Assigned {
                member_id,
                generation,
                partitions,
                ..
            } => format!(
                "{node} ({member_id}) is assigned {} in generation {generation}",
                if partitions.is_empty() {
                    "nothing".to_string()
                } else {
                    partitions_text(partitions)
                }
            ),
            R::Revoked {
                partitions,
                generation,
                reason,
                ..
            } => format!(
                "{node} gives up {} (generation {generation}): {reason}",
                partitions_text(partitions)
            ),
            R::LeftGroup {
                member_id,
                generation,
                reason,
            } => {
                format!("{node} ({member_id}, generation {generation}) leaves the group: {reason}")
            }
            R::CommitFailed { error, .. } => format!("{node}: offset commit refused: {error}"),
            R::CorruptBatch {
                partition,
                base_offset,
                detail,
            } => format!("{node} CORRUPT batch at {partition}@{base_offset}: {detail}"),
            R::Polled { .. } if self.first_poll_seen.insert(node) => {
                format!("{node} polls its first records")
            }
            R::Polled { .. } => return,
        };
        self.push(at, text);
    }
}

/// One log-cleaner pass (of one replica or several alike), in words: what went, why, and
/// where the cleaner point is now.
fn cleaned_line(
    nodes: &str,
    tp: &TopicPartition,
    c: &kafkasim_core::log::cleaner::LogCleaned,
) -> String {
    let count: i64 = c.removed.iter().map(|(a, b)| b - a + 1).sum();
    let superseded = count - c.tombstones_removed as i64;
    let mut shown: Vec<String> = c
        .removed
        .iter()
        .take(4)
        .map(|(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}..={b}")
            }
        })
        .collect();
    if c.removed.len() > 4 {
        shown.push("…".into());
    }
    let what = match (superseded, c.tombstones_removed) {
        (0, 0) => "removes nothing yet (its tombstones get their delete horizon)".to_string(),
        (s, 0) => format!("removes {s} record(s) a later record of the same key supersedes"),
        (0, t) => format!("removes {t} tombstone(s) past delete.retention.ms"),
        (s, t) => format!(
            "removes {s} record(s) a later record of the same key supersedes and {t} tombstone(s) past delete.retention.ms"
        ),
    };
    let offsets = if shown.is_empty() {
        String::new()
    } else {
        format!(" (offsets {})", shown.join(", "))
    };
    format!(
        "{nodes} compact{} {tp}, cleaner point {} → {} (dirty share {}%): {what}{offsets}; {} → {} bytes",
        if nodes.contains(',') { "" } else { "s" },
        c.first_dirty_offset,
        c.cleaner_point,
        c.dirty_ratio_ppm / 10_000,
        c.bytes_before,
        c.bytes_after,
    )
}
