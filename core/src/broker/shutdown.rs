//! Stopping on SIGTERM, as Kafka's `BrokerServer.shutdown` does.
//!
//! With `controlled.shutdown.enable` (the default) a registered broker first asks the active
//! controller, in its heartbeats (`wantShutDown`), to move its leaderships away; the
//! controller puts it in controlled shutdown, elects other leaders, and says `shouldShutDown`
//! once the broker leads nothing and every active broker has applied those elections. The
//! broker waits for that answer at most [`CONTROLLED_SHUTDOWN_TIMEOUT_MS`]. Without it, the
//! broker just stops, and its partitions stay leaderless until the controller fences it when
//! its session (`broker.session.timeout.ms`) expires.
//!
//! Then it stops serving requests and closes its logs, as Kafka's `LogManager.shutdown`
//! does: it flushes every log, writes `recovery-point-offset-checkpoint` and
//! `replication-offset-checkpoint`, and last the clean-shutdown marker `.kafka_cleanshutdown`
//! naming its broker epoch (Kafka's `CleanShutdownFileHandler`). Each step waits for the
//! previous one's fsyncs, so a power loss during the shutdown never leaves a marker that
//! vouches for unsynced bytes. At the next start the marker means: trust every log without a
//! scan, and tell the controller, in the registration's `previousBrokerEpoch`, that the last
//! shutdown was clean (KIP-966: the broker keeps its place in the ELR).
//!
//! Simplified: requests arriving while the logs close are ignored (Kafka stops its socket
//! server's processors), and answers held in purgatories are never sent; the connections
//! close when the process exits.

use super::{Broker, FlushTrigger, Out, Timer, checkpoint};
use crate::disk::{DiskOp, DiskToken};
use crate::time::{Duration, Instant};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The clean-shutdown marker in the broker's data directory.
pub const CLEAN_SHUTDOWN_FILE: &str = ".kafka_cleanshutdown";

/// How long a broker waits for the controller to approve its controlled shutdown: Kafka's
/// `KafkaBroker.shutdown()` gives the whole shutdown five minutes.
pub const CONTROLLED_SHUTDOWN_TIMEOUT_MS: u64 = 300_000;

/// The marker's bytes: Kafka's JSON, with the broker epoch of the process that wrote it.
pub fn encode_marker(broker_epoch: i64) -> Vec<u8> {
    format!("{{\"version\":0,\"brokerEpoch\":{broker_epoch}}}").into_bytes()
}

/// The broker epoch a marker names; `None` if it is unreadable (then the shutdown counts as
/// unclean, as Kafka counts it).
pub fn parse_marker(bytes: &[u8]) -> Option<i64> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Marker {
        version: i32,
        broker_epoch: i64,
    }
    let marker: Marker = serde_json::from_slice(bytes).ok()?;
    (marker.version == 0).then_some(marker.broker_epoch)
}

/// Where a broker is in its shutdown.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) enum Shutdown {
    /// Not shutting down.
    #[default]
    Running,
    /// Waiting for the controller to move its leaderships and approve.
    Controlled,
    /// Flushing every log (waiting for every flush in flight).
    Flushing,
    /// Writing the offset checkpoints: these syncs remain.
    Checkpointing(BTreeSet<DiskToken>),
    /// Writing the clean-shutdown marker: this sync remains.
    Marking(DiskToken),
}

/// What a broker's shutdown records in the trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// SIGTERM with `controlled.shutdown.enable`: the broker asks the controller to move its
    /// leaderships away before it stops.
    ControlledShutdownRequested,
    /// The controller did not approve in time: the broker stops anyway.
    ControlledShutdownTimedOut,
    /// The broker stopped serving and closes its logs: it flushes each one.
    ClosingLogs {
        /// Whether the controller approved a controlled shutdown first.
        controlled: bool,
    },
    /// Every log is flushed and checkpointed: the clean-shutdown marker names this epoch.
    CleanShutdownMarked {
        /// The broker epoch of this process's registration (-1: never registered).
        broker_epoch: i64,
    },
}

impl Broker {
    /// SIGTERM: begin a controlled shutdown, or close the logs at once.
    pub(super) fn on_terminate(&mut self, now: Instant, out: &mut Out) {
        if self.shutdown != Shutdown::Running {
            return;
        }
        let registered = matches!(
            self.registration,
            super::lifecycle::Registration::Registered { .. }
        );
        if self.config.controlled_shutdown_enable && self.quorum.is_some() && registered {
            self.shutdown = Shutdown::Controlled;
            out.trace(Event::ControlledShutdownRequested);
            out.set_timer(
                Timer::ControlledShutdownTimeout,
                now + Duration::from_millis(CONTROLLED_SHUTDOWN_TIMEOUT_MS),
            );
            // Ask at once rather than at the next heartbeat.
            self.on_heartbeat_timer(now, out);
        } else {
            self.close_logs(now, false, out);
        }
    }

    /// Whether the broker asks the controller, in its heartbeats, to let it shut down.
    pub(super) fn wants_shut_down(&self) -> bool {
        self.shutdown == Shutdown::Controlled
    }

    /// Whether the broker has stopped serving and is closing its logs.
    pub(super) fn is_closing(&self) -> bool {
        !matches!(self.shutdown, Shutdown::Running | Shutdown::Controlled)
    }

    /// The controller approved (`shouldShutDown`), or it did not in time.
    pub(super) fn on_controlled_shutdown_done(
        &mut self,
        now: Instant,
        approved: bool,
        out: &mut Out,
    ) {
        if self.shutdown != Shutdown::Controlled {
            return;
        }
        if !approved {
            out.trace(Event::ControlledShutdownTimedOut);
        }
        out.cancel_timer(Timer::ControlledShutdownTimeout);
        self.close_logs(now, approved, out);
    }

    /// Stop serving, and flush every log.
    fn close_logs(&mut self, now: Instant, controlled: bool, out: &mut Out) {
        out.trace(Event::ClosingLogs { controlled });
        self.shutdown = Shutdown::Flushing;
        let partitions: Vec<_> = self.partitions.keys().cloned().collect();
        for tp in partitions {
            self.flush(&tp, FlushTrigger::Shutdown, now, out);
        }
        self.advance_shutdown(None, out);
    }

    /// A sync completed while closing: take the next step once the current one is durable.
    pub(super) fn advance_shutdown(&mut self, synced: Option<DiskToken>, out: &mut Out) {
        match &mut self.shutdown {
            Shutdown::Flushing if self.flushes.is_idle() => {
                let syncs = self.write_checkpoints(out);
                self.shutdown = Shutdown::Checkpointing(syncs);
                self.advance_shutdown(None, out);
            }
            Shutdown::Checkpointing(syncs) => {
                if let Some(token) = synced {
                    syncs.remove(&token);
                }
                if syncs.is_empty() {
                    let broker_epoch = self.broker_epoch();
                    out.disk(DiskOp::Replace {
                        file: CLEAN_SHUTDOWN_FILE.to_string(),
                        bytes: encode_marker(broker_epoch),
                    });
                    let token = self.sync(CLEAN_SHUTDOWN_FILE, out);
                    out.trace(Event::CleanShutdownMarked { broker_epoch });
                    self.shutdown = Shutdown::Marking(token);
                }
            }
            Shutdown::Marking(token) if synced == Some(*token) => out.exit(),
            _ => {}
        }
    }

    /// Write both offset checkpoint files; returns their syncs.
    fn write_checkpoints(&mut self, out: &mut Out) -> BTreeSet<DiskToken> {
        let hw = self.checkpoint_high_watermarks(out);
        let rp = self.checkpoint_recovery_points(out);
        [hw, rp].into()
    }

    /// The broker epoch of this process's registration, or -1.
    fn broker_epoch(&self) -> i64 {
        match self.registration {
            super::lifecycle::Registration::Registered { broker_epoch, .. } => broker_epoch,
            super::lifecycle::Registration::Unregistered { .. } => -1,
        }
    }

    /// Write each log's recovery point to `recovery-point-offset-checkpoint`, synced.
    pub(super) fn checkpoint_recovery_points(&mut self, out: &mut Out) -> DiskToken {
        let offsets = self
            .partitions
            .iter()
            .map(|(tp, p)| (tp.clone(), p.recovery_point()))
            .collect();
        out.disk(DiskOp::Replace {
            file: checkpoint::RECOVERY_POINTS.to_string(),
            bytes: checkpoint::encode(&offsets),
        });
        self.sync(checkpoint::RECOVERY_POINTS, out)
    }

    /// Sync `file` with a fresh token.
    pub(super) fn sync(&mut self, file: &str, out: &mut Out) -> DiskToken {
        let token = DiskToken(self.next_token);
        self.next_token += 1;
        out.disk(DiskOp::Sync {
            file: file.to_string(),
            token,
        });
        token
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_round_trips_and_a_damaged_one_names_no_epoch() {
        assert_eq!(encode_marker(42), br#"{"version":0,"brokerEpoch":42}"#);
        assert_eq!(parse_marker(&encode_marker(42)), Some(42));
        assert_eq!(parse_marker(br#"{"version":1,"brokerEpoch":42}"#), None);
        assert_eq!(parse_marker(b"{\"version\":0,\"broker"), None);
    }
}
