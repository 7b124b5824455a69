//! A KRaft broker's link to the controllers: it registers, heartbeats every
//! `broker.heartbeat.interval.ms`, and follows the metadata log as an observer of the quorum.
//! The controller unfences it once it has caught up with the metadata log, and fences it if
//! its heartbeats stop for `broker.session.timeout.ms`. A broker shutting down asks in its
//! heartbeats to have its leaderships moved first ([`super::shutdown`]).

use super::{Broker, Out, Timer};
use crate::ids::NodeId;
use crate::protocol::{
    BrokerHeartbeatRequest, BrokerHeartbeatResponse, BrokerRegistrationRequest,
    BrokerRegistrationResponse, ErrorCode, Message,
};
use crate::time::{Duration, Instant};

/// Where the broker stands with the controller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Registration {
    /// Not registered; a request may be in flight.
    Unregistered {
        /// The request in flight, if any.
        in_flight: Option<i32>,
    },
    /// Registered with `broker_epoch`.
    Registered {
        /// The epoch the controller gave.
        broker_epoch: i64,
        /// Whether the controller last said we are fenced.
        fenced: bool,
    },
}

impl Broker {
    fn controller_address(&mut self) -> Option<NodeId> {
        let voters = &self.config.controller_quorum_voters;
        if let Some(leader) = self.quorum.as_ref().and_then(|q| q.leader_id())
            && let Some(a) = voters.get(&leader)
        {
            return Some(*a);
        }
        if voters.is_empty() {
            return None;
        }
        self.next_controller += 1;
        voters
            .values()
            .nth(self.next_controller % voters.len())
            .copied()
    }

    pub(super) fn send_registration(&mut self, now: Instant, out: &mut Out) {
        let Some(to) = self.controller_address() else {
            return;
        };
        let correlation_id = self.next_correlation_id();
        out.send(
            to,
            Message::BrokerRegistrationRequest(BrokerRegistrationRequest {
                correlation_id,
                broker_id: self.config.node_id,
                // The epoch its clean-shutdown marker named at start-up, else -1 (KIP-966).
                previous_broker_epoch: self.previous_broker_epoch,
            }),
        );
        self.registration = Registration::Unregistered {
            in_flight: Some(correlation_id),
        };
        // Retry if nothing comes back within a heartbeat interval.
        out.set_timer(
            Timer::Heartbeat,
            now + Duration::from_millis(self.config.broker_heartbeat_interval_ms),
        );
    }

    pub(super) fn on_heartbeat_timer(&mut self, now: Instant, out: &mut Out) {
        match self.registration {
            Registration::Unregistered { .. } => self.send_registration(now, out),
            Registration::Registered { broker_epoch, .. } => {
                if let Some(to) = self.controller_address() {
                    let correlation_id = self.next_correlation_id();
                    let current_metadata_offset = self
                        .quorum
                        .as_ref()
                        .map_or(0, |q| q.high_watermark().min(self.metadata_applied));
                    out.send(
                        to,
                        Message::BrokerHeartbeatRequest(BrokerHeartbeatRequest {
                            correlation_id,
                            broker_id: self.config.node_id,
                            broker_epoch,
                            current_metadata_offset,
                            want_shut_down: self.wants_shut_down(),
                        }),
                    );
                }
                // A fenced broker heartbeats often, so that it is unfenced as soon as it has
                // caught up with the metadata log (Kafka's lifecycle manager does the same).
                let interval = match self.registration {
                    Registration::Registered { fenced: true, .. } => {
                        self.config.broker_heartbeat_interval_ms.min(100)
                    }
                    _ => self.config.broker_heartbeat_interval_ms,
                };
                out.set_timer(Timer::Heartbeat, now + Duration::from_millis(interval));
            }
        }
    }

    pub(super) fn on_registration_response(
        &mut self,
        now: Instant,
        r: BrokerRegistrationResponse,
        out: &mut Out,
    ) {
        if self.registration
            != (Registration::Unregistered {
                in_flight: Some(r.correlation_id),
            })
        {
            return;
        }
        if r.error == ErrorCode::None {
            self.registration = Registration::Registered {
                broker_epoch: r.broker_epoch,
                fenced: true,
            };
            // Heartbeat soon: the first heartbeat after catching up gets us unfenced.
            out.set_timer(Timer::Heartbeat, now + Duration::from_millis(50));
        } else {
            self.registration = Registration::Unregistered { in_flight: None };
            out.set_timer(Timer::Heartbeat, now + Duration::from_millis(100));
        }
    }

    pub(super) fn on_heartbeat_response(
        &mut self,
        now: Instant,
        r: BrokerHeartbeatResponse,
        out: &mut Out,
    ) {
        match r.error {
            ErrorCode::None => {
                if let Registration::Registered { fenced, .. } = &mut self.registration {
                    let unfenced_now = *fenced && !r.is_fenced;
                    *fenced = r.is_fenced;
                    if unfenced_now {
                        self.reconcile_partitions(now, out);
                    }
                }
                if r.should_shut_down {
                    self.on_controlled_shutdown_done(now, true, out);
                }
            }
            ErrorCode::StaleBrokerEpoch => {
                // The controller no longer knows this registration: start over.
                self.registration = Registration::Unregistered { in_flight: None };
                self.send_registration(now, out);
            }
            _ => {}
        }
    }
}
