//! Streaming replication: a physical standby fed by the primary's WAL, and synchronous
//! commit waiting for it.
//!
//! A standby (`primary_conninfo` set) starts as any server does — redo of its own WAL — and
//! then, instead of opening for writes, its walreceiver asks the primary for the WAL from
//! where its own ends (`START_REPLICATION PHYSICAL`). The primary's walsender sends every
//! record once it is flushed on the primary; the standby writes it to its own `pg_wal/`,
//! flushes it, replays it (its startup process: the same redo as crash recovery) and
//! reports its write, flush and replay LSNs. With `synchronous_standby_names` naming it, a
//! commit on the primary waits for that report too: `remote_write` for the write, `on` for
//! the flush, `remote_apply` for the replay (`local` and `off` do not wait for a standby).
//! With no synchronous standby connected, such commits wait, as PostgreSQL's do.
//!
//! `pg_promote()` ends recovery: the standby replays what it has and opens for writes.
//!
//! Simplified: the primary keeps each standby's WAL as if it had a physical replication slot
//! (`primary_slot_name`), but only while it runs — after its own restart it has the WAL redo
//! read, and a standby that needs older WAL is refused; no timeline switch at promotion (the
//! new primary goes on writing where replay stopped; PostgreSQL starts timeline 2 there);
//! no restartpoints (a restarted standby replays its WAL from the start); no cascading;
//! queries on a standby see its replayed tables.

use super::recovery::{self, Pending, Place, RecoveryReport};
use super::wal::{self, Lsn, WalRecord, Xid};
use super::{Database, Event, Out, Reply, SynchronousCommit, Timer};
use crate::ids::NodeId;
use crate::protocol::{Message, ReplicationError, StandbyReply, StartPhysicalReplication, WalData};
use crate::time::{Duration, Instant};
use std::collections::VecDeque;

/// `wal_retrieve_retry_interval`, and how often a standby reports when nothing arrives
/// (`wal_receiver_status_interval` is 10 s; the report is also how a restarted primary is
/// noticed: it refuses a client it does not know).
const RECEIVER_INTERVAL_MS: u64 = 5000;

/// A standby as the primary's walsender sees it.
#[derive(Clone, Debug)]
pub(super) struct StandbyLink {
    /// Its node.
    pub peer: NodeId,
    /// Its `application_name`.
    pub name: String,
    /// Whether its connection is up.
    pub connected: bool,
    /// The end of the last record sent.
    pub sent_upto: Lsn,
    /// What it reported.
    pub write: Lsn,
    pub flush: Lsn,
    pub apply: Lsn,
}

/// A standby's walreceiver and startup process.
#[derive(Debug, Default)]
pub(super) struct Receiver {
    /// Whether the stream is open.
    pub streaming: bool,
    /// Records written and not yet replayed: (lsn, end, xid, record).
    pub unapplied: VecDeque<(Lsn, Lsn, Xid, WalRecord)>,
    /// Transactions begun and not yet committed in what was replayed.
    pub pending: Pending,
    /// The end of the last record replayed.
    pub applied: Lsn,
}

impl Receiver {
    /// A standby's receiver after its own redo, which ended at `end` with `pending`
    /// transactions unfinished.
    pub fn after_recovery(end: Lsn, pending: Pending) -> Self {
        Receiver {
            applied: end,
            pending,
            ..Receiver::default()
        }
    }
}

/// The primary's side.
impl Database {
    /// Keep a record for the standbys.
    pub(super) fn keep_for_standbys(&mut self, lsn: Lsn, bytes: &[u8]) {
        self.wal_kept.push_back((lsn, bytes.to_vec()));
    }

    /// A standby asks for the WAL from `start_lsn`.
    pub(super) fn on_start_physical(
        &mut self,
        from: NodeId,
        m: StartPhysicalReplication,
        out: &mut Out,
    ) {
        let oldest = self
            .wal_kept
            .front()
            .map_or(self.insert_lsn, |(lsn, _)| *lsn);
        if m.start_lsn < oldest && m.start_lsn < self.insert_lsn {
            let segment = wal::segment_file(m.start_lsn, self.config.wal_segment_size);
            let message = format!(
                "requested WAL segment {} has already been removed",
                segment.trim_start_matches("pg_wal/")
            );
            out.send(
                from,
                Message::ReplicationError(ReplicationError { message }),
            );
            return;
        }
        let link = StandbyLink {
            peer: from,
            name: m.application_name.clone(),
            connected: true,
            sent_upto: m.start_lsn,
            write: m.start_lsn,
            flush: m.start_lsn,
            apply: m.start_lsn,
        };
        self.standbys.retain(|s| s.name != m.application_name);
        self.standbys.push(link);
        out.trace(Event::StandbyConnected {
            standby: m.application_name,
            start_lsn: m.start_lsn,
        });
        self.send_wal(out);
    }

    /// Send every connected standby the flushed WAL it has not been sent.
    pub(super) fn send_wal(&mut self, out: &mut Out) {
        let flushed = self.flush_lsn;
        for s in self.standbys.iter_mut().filter(|s| s.connected) {
            let records: Vec<(Lsn, Vec<u8>)> = self
                .wal_kept
                .iter()
                .filter(|(lsn, bytes)| {
                    *lsn >= s.sent_upto && Lsn(lsn.0 + bytes.len() as u64) <= flushed
                })
                .cloned()
                .collect();
            let Some((last, bytes)) = records.last() else {
                continue;
            };
            s.sent_upto = Lsn(last.0 + bytes.len() as u64);
            out.send(s.peer, Message::WalData(WalData { records }));
        }
    }

    /// A standby's report: it may release commits waiting for it.
    pub(super) fn on_standby_reply(&mut self, from: NodeId, r: StandbyReply, out: &mut Out) {
        let Some(s) = self
            .standbys
            .iter_mut()
            .find(|s| s.peer == from && s.connected)
        else {
            return self.refuse_unknown_client(from, out);
        };
        let advanced = r.flush_lsn > s.flush || r.apply_lsn > s.apply;
        (s.write, s.flush, s.apply) = (r.write_lsn, r.flush_lsn, r.apply_lsn);
        if advanced {
            out.trace(Event::StandbyConfirmed {
                standby: s.name.clone(),
                flush_lsn: r.flush_lsn,
                apply_lsn: r.apply_lsn,
            });
        }
        self.release_commits(out);
    }

    /// A standby's connection is gone.
    pub(super) fn standby_gone(&mut self, peer: NodeId) {
        for s in self.standbys.iter_mut().filter(|s| s.peer == peer) {
            s.connected = false;
        }
    }

    /// Whether a commit ending at `lsn` has what `synchronous_commit` asks of the synchronous
    /// standby: the first connected one `synchronous_standby_names` lists.
    pub(super) fn standby_confirmed(&self, lsn: Lsn) -> bool {
        let names = &self.config.synchronous_standby_names;
        let mode = self.config.synchronous_commit;
        if names.is_empty() || matches!(mode, SynchronousCommit::Off | SynchronousCommit::Local) {
            return true;
        }
        let sync = names.iter().find_map(|n| {
            self.standbys
                .iter()
                .find(|s| s.connected && (n == "*" || *n == s.name))
        });
        sync.is_some_and(|s| match mode {
            SynchronousCommit::RemoteWrite => s.write >= lsn,
            SynchronousCommit::RemoteApply => s.apply >= lsn,
            _ => s.flush >= lsn,
        })
    }

    /// Acknowledge every waiting commit that is flushed here and, if it must be, on the
    /// synchronous standby.
    pub(super) fn release_commits(&mut self, out: &mut Out) {
        let flushed = self.flush_lsn;
        let (done, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|c| c.lsn <= flushed && self.standby_confirmed(c.lsn));
        self.waiting = waiting;
        for c in done {
            out.reply(Reply::Committed {
                txn: c.txn,
                xid: c.xid,
                lsn: c.lsn,
            });
        }
    }

    /// The oldest WAL a standby still needs (as a physical slot would hold it).
    pub(super) fn standbys_need(&self) -> Option<Lsn> {
        self.standbys.iter().map(|s| s.flush).min()
    }

    /// Forget kept records wholly before `keep`.
    pub(super) fn trim_kept(&mut self, keep: Lsn) {
        while self
            .wal_kept
            .front()
            .is_some_and(|(lsn, bytes)| Lsn(lsn.0 + bytes.len() as u64) <= keep)
        {
            self.wal_kept.pop_front();
        }
    }
}

/// The standby's side.
impl Database {
    /// Whether this server is a standby (in recovery).
    pub(super) fn is_standby(&self) -> bool {
        self.receiver.is_some()
    }

    /// Ask the primary for the WAL after ours, if the stream is not open; report if it is.
    pub(super) fn receiver_tick(&mut self, now: Instant, out: &mut Out) {
        let Some(primary) = self.config.primary else {
            return;
        };
        match &self.receiver {
            Some(r) if r.streaming => self.send_reply(out),
            Some(_) => {
                let start = StartPhysicalReplication {
                    start_lsn: self.insert_lsn,
                    application_name: self.config.application_name.clone(),
                };
                out.send(primary, Message::StartPhysicalReplication(start));
                if let Some(r) = &mut self.receiver {
                    r.streaming = true;
                }
            }
            None => return,
        }
        out.set_timer(
            Timer::WalReceiver,
            now + Duration::from_millis(RECEIVER_INTERVAL_MS),
        );
    }

    /// The stream broke (or was refused): ask again at the next tick.
    pub(super) fn stream_lost(&mut self) {
        if let Some(r) = &mut self.receiver {
            r.streaming = false;
        }
    }

    /// WAL from the primary: write what is new, flush it, report.
    pub(super) fn on_wal_data(&mut self, data: WalData, out: &mut Out) {
        if !self.receiver.as_ref().is_some_and(|r| r.streaming) {
            return;
        }
        for (lsn, bytes) in data.records {
            if lsn < self.insert_lsn {
                continue; // already here: sent again after a reconnection
            }
            let Ok((xid, record, len)) = wal::decode(&bytes, lsn) else {
                continue;
            };
            self.write_received(lsn, &bytes, out);
            let end = Lsn(lsn.0 + len as u64);
            if let Some(r) = &mut self.receiver {
                r.unapplied.push_back((lsn, end, xid, record));
            }
        }
        self.send_reply(out);
        self.start_flush(out);
    }

    /// Append a record received at `lsn` to our own segment files, at the same place.
    fn write_received(&mut self, lsn: Lsn, bytes: &[u8], out: &mut Out) {
        let size = self.config.wal_segment_size;
        debug_assert!(
            lsn == self.insert_lsn || lsn == wal::segment_start(lsn, size),
            "the stream goes on where our WAL ends, or at the next segment"
        );
        let file = wal::segment_file(lsn, size);
        if self.segments.last() != Some(&file) {
            self.segments.push(file.clone());
        }
        self.dirty.insert(file.clone());
        self.insert_lsn = Lsn(lsn.0 + bytes.len() as u64);
        out.disk(crate::disk::DiskOp::Append {
            file,
            bytes: bytes.to_vec(),
        });
    }

    /// Replay every received record now flushed (the startup process), then report.
    pub(super) fn replay_flushed(&mut self, out: &mut Out) {
        let flushed = self.flush_lsn;
        let Some(mut r) = self.receiver.take() else {
            return;
        };
        let mut report = RecoveryReport::default();
        while r
            .unapplied
            .front()
            .is_some_and(|(_, end, _, _)| *end <= flushed)
        {
            let Some((lsn, end, xid, record)) = r.unapplied.pop_front() else {
                break;
            };
            self.replay_one(&mut r, (lsn, end, xid, record), &mut report, out);
        }
        self.receiver = Some(r);
        self.send_reply(out);
    }

    fn replay_one(
        &mut self,
        r: &mut Receiver,
        (lsn, end, xid, record): (Lsn, Lsn, Xid, WalRecord),
        report: &mut RecoveryReport,
        out: &mut Out,
    ) {
        let at = Place {
            lsn,
            end,
            redo: Lsn(0),
        };
        let state = (&mut self.tables, &mut self.catalog);
        if let Some(txn) = recovery::replay(xid, record, at, &mut r.pending, state, report) {
            self.last_committed_xid = Some(xid);
            self.commit_lsn = end;
            let changes = txn.changes.into_iter().map(|(_, c)| c).collect();
            out.trace(Event::Replayed {
                xid,
                lsn: end,
                changes,
            });
        }
        self.next_xid = self.next_xid.max(xid + 1);
        r.applied = end;
    }

    /// Tell the primary where we stand.
    fn send_reply(&mut self, out: &mut Out) {
        let (Some(primary), Some(r)) = (self.config.primary, &self.receiver) else {
            return;
        };
        let reply = StandbyReply {
            write_lsn: self.insert_lsn,
            flush_lsn: self.flush_lsn,
            apply_lsn: r.applied,
        };
        out.send(primary, Message::StandbyReply(reply));
    }

    /// `pg_promote()`: replay what was received, end recovery, open for writes.
    pub(super) fn promote(&mut self, out: &mut Out) {
        let Some(mut r) = self.receiver.take() else {
            return;
        };
        let mut report = RecoveryReport::default();
        while let Some(record) = r.unapplied.pop_front() {
            self.replay_one(&mut r, record, &mut report, out);
        }
        self.commit_lsn = self.insert_lsn;
        out.trace(Event::Promoted {
            lsn: self.insert_lsn,
            discarded: r.pending.len() as u64,
        });
        self.start_flush(out);
    }
}
