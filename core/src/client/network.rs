//! Kafka's `NetworkClient`: correlation ids, the requests in flight, and their timeouts.
//!
//! Every Kafka client — a producer, a consumer, and a broker too when it fetches from a
//! leader or talks to the controller — sends requests and matches each response to its
//! request by a *correlation id*. This table is the one place that hands out those ids,
//! remembers what each request was for, arms its `request.timeout.ms` deadline and, when a
//! connection breaks, says which requests died with it. A role embeds one client per
//! conversation it holds (a broker's replica fetcher and its quorum observer each have their
//! own), and wraps its timer as it wraps any subsystem's words.
//!
//! What the table keeps with each request (`K`) is the caller's business: the producer keeps
//! the batches a `ProduceRequest` carries, a consumer only which kind of request it was.

use crate::ids::NodeId;
use crate::node::{Never, Out, Vocabulary};
use crate::protocol::Message;
use crate::time::{Duration, Instant};
use std::collections::BTreeMap;

/// The client's one timer: a request's deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Timer {
    /// No response to this correlation id within the request's timeout.
    RequestTimeout(i32),
}

/// The words a network client speaks.
#[derive(Debug)]
pub enum Vocab {}

impl Vocabulary for Vocab {
    type Msg = Message;
    type Timer = Timer;
    type Event = Never;
    type Reply = Never;
    type Command = Never;
}

/// A request awaiting its response.
#[derive(Debug)]
pub struct InFlight<K> {
    /// Where it went.
    pub to: NodeId,
    /// Kafka's name of the request, e.g. `ProduceRequest`.
    pub request: &'static str,
    /// What the caller keeps with it.
    pub kind: K,
}

/// The requests one client has in flight.
#[derive(Debug)]
pub struct NetworkClient<K> {
    next_correlation_id: i32,
    in_flight: BTreeMap<i32, InFlight<K>>,
}

impl<K> Default for NetworkClient<K> {
    fn default() -> Self {
        NetworkClient {
            next_correlation_id: 0,
            in_flight: BTreeMap::new(),
        }
    }
}

impl<K> NetworkClient<K> {
    /// The correlation id the next request will carry.
    pub fn next_correlation_id(&mut self) -> i32 {
        let id = self.next_correlation_id;
        self.next_correlation_id = self.next_correlation_id.wrapping_add(1);
        id
    }

    /// Send `build(correlation_id)` to `to`, remembering `kind` until its response arrives or
    /// `timeout` passes. Returns the correlation id.
    pub fn send(
        &mut self,
        now: Instant,
        to: NodeId,
        build: impl FnOnce(i32) -> Message,
        kind: K,
        timeout: Duration,
        out: &mut dyn Out<Vocab>,
    ) -> i32 {
        let correlation_id = self.next_correlation_id();
        self.send_message(now, to, build(correlation_id), kind, timeout, out);
        correlation_id
    }

    /// Send `message`, whose correlation id came from [`NetworkClient::next_correlation_id`],
    /// remembering `kind` until its response arrives or `timeout` passes.
    pub fn send_message(
        &mut self,
        now: Instant,
        to: NodeId,
        message: Message,
        kind: K,
        timeout: Duration,
        out: &mut dyn Out<Vocab>,
    ) {
        use crate::node::Describe;
        let correlation_id = message.correlation_id();
        debug_assert!(
            correlation_id.wrapping_sub(self.next_correlation_id) < 0
                && !self.in_flight.contains_key(&correlation_id),
            "a request carries a fresh correlation id of this client"
        );
        let request = message.name();
        out.send(to, message);
        out.set_timer(Timer::RequestTimeout(correlation_id), now + timeout);
        self.in_flight
            .insert(correlation_id, InFlight { to, request, kind });
    }

    /// Send `build(correlation_id)` to `to` expecting no answer (a produce with `acks=0`).
    pub fn send_one_way(
        &mut self,
        to: NodeId,
        build: impl FnOnce(i32) -> Message,
        out: &mut dyn Out<Vocab>,
    ) -> i32 {
        let correlation_id = self.next_correlation_id();
        out.send(to, build(correlation_id));
        correlation_id
    }

    /// A response with `correlation_id` arrived: the request it answers, if it is still in
    /// flight (a late answer to a request given up on is `None`).
    pub fn complete(
        &mut self,
        correlation_id: i32,
        out: &mut dyn Out<Vocab>,
    ) -> Option<InFlight<K>> {
        let request = self.in_flight.remove(&correlation_id)?;
        out.cancel_timer(Timer::RequestTimeout(correlation_id));
        Some(request)
    }

    /// The timer fired: the request that timed out, if it was still in flight.
    pub fn on_timer(&mut self, timer: Timer) -> Option<(i32, InFlight<K>)> {
        let Timer::RequestTimeout(id) = timer;
        self.in_flight.remove(&id).map(|r| (id, r))
    }

    /// The connection to `peer` broke: every request in flight on it is gone, in the order
    /// they were sent.
    pub fn on_disconnected(
        &mut self,
        peer: NodeId,
        out: &mut dyn Out<Vocab>,
    ) -> Vec<(i32, InFlight<K>)> {
        let broken: Vec<i32> = self
            .in_flight
            .iter()
            .filter(|(_, r)| r.to == peer)
            .map(|(id, _)| *id)
            .collect();
        broken
            .into_iter()
            .filter_map(|id| {
                out.cancel_timer(Timer::RequestTimeout(id));
                self.in_flight.remove(&id).map(|r| (id, r))
            })
            .collect()
    }

    /// Forget the requests `keep` rejects, without waiting for their answers (their
    /// responses will be ignored when they come).
    pub fn abandon(
        &mut self,
        mut keep: impl FnMut(&InFlight<K>) -> bool,
        out: &mut dyn Out<Vocab>,
    ) {
        let dropped: Vec<i32> = self
            .in_flight
            .iter()
            .filter(|(_, r)| !keep(r))
            .map(|(id, _)| *id)
            .collect();
        for id in dropped {
            out.cancel_timer(Timer::RequestTimeout(id));
            self.in_flight.remove(&id);
        }
    }

    /// Whether some request in flight satisfies `pred`.
    pub fn any(&self, pred: impl FnMut(&InFlight<K>) -> bool) -> bool {
        self.in_flight.values().any(pred)
    }

    /// How many requests in flight satisfy `pred`.
    pub fn count(&self, mut pred: impl FnMut(&InFlight<K>) -> bool) -> usize {
        self.in_flight.values().filter(|r| pred(r)).count()
    }

    /// The requests in flight, by correlation id.
    pub fn in_flight(&self) -> impl Iterator<Item = (i32, &InFlight<K>)> {
        self.in_flight.iter().map(|(id, r)| (*id, r))
    }

    /// Whether a request with `correlation_id` is in flight.
    pub fn is_in_flight(&self, correlation_id: i32) -> bool {
        self.in_flight.contains_key(&correlation_id)
    }

    /// Where the sequence of correlation ids stands.
    pub fn sequence(&self) -> i32 {
        self.next_correlation_id
    }

    /// Go on from `next`: clients embedded in one node share its one connection to each
    /// peer, and correlation ids are unique per connection, so they share one sequence.
    pub fn continue_sequence(&mut self, next: i32) {
        self.next_correlation_id = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::{Outbox, Output};
    use crate::protocol::MetadataRequest;

    fn metadata(correlation_id: i32) -> Message {
        Message::MetadataRequest(MetadataRequest {
            correlation_id,
            topics: Vec::new(),
        })
    }

    #[test]
    fn responses_find_their_request_and_cancel_its_deadline() {
        let mut client: NetworkClient<&str> = NetworkClient::default();
        let mut out: Outbox<Vocab> = Outbox::new();
        let ms = Duration::from_millis;
        let a = client.send(Instant::ZERO, NodeId(1), metadata, "a", ms(30), &mut out);
        let b = client.send(Instant::ZERO, NodeId(2), metadata, "b", ms(30), &mut out);
        assert_ne!(a, b, "every request gets its own correlation id");
        assert_eq!(client.complete(b, &mut out).map(|r| r.kind), Some("b"));
        assert!(
            client.complete(b, &mut out).is_none(),
            "a second answer is late"
        );
        assert!(matches!(
            out.items().last(),
            Some(Output::CancelTimer(Timer::RequestTimeout(id))) if *id == b
        ));
        assert!(client.is_in_flight(a));
    }

    #[test]
    fn a_broken_connection_takes_its_requests_with_it() {
        let mut client: NetworkClient<u8> = NetworkClient::default();
        let mut out: Outbox<Vocab> = Outbox::new();
        let ms = Duration::from_millis;
        client.send(Instant::ZERO, NodeId(1), metadata, 1, ms(30), &mut out);
        client.send(Instant::ZERO, NodeId(2), metadata, 2, ms(30), &mut out);
        client.send(Instant::ZERO, NodeId(1), metadata, 3, ms(30), &mut out);
        let lost: Vec<u8> = client
            .on_disconnected(NodeId(1), &mut out)
            .into_iter()
            .map(|(_, r)| r.kind)
            .collect();
        assert_eq!(lost, vec![1, 3]);
        assert_eq!(client.count(|_| true), 1);
        let (_, timed_out) = client
            .on_timer(Timer::RequestTimeout(1))
            .expect("in flight");
        assert_eq!(timed_out.kind, 2);
        assert_eq!(timed_out.request, "MetadataRequest");
    }
}
