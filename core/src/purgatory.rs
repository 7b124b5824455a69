//! The purgatory: answers that may not leave yet, and what each one waits for.
//!
//! Much of what a Kafka node says has to wait for something else to happen first. An
//! `acks=all` `ProduceResponse` waits until every in-sync replica has the records (the high
//! watermark passes them); a consumer's long-polling `FetchResponse` waits for records to
//! read; a Raft voter's `VoteResponse` waits until the vote is on disk; the controller's
//! answer to an `AlterPartition` waits until its decision is committed in the metadata log. A
//! DBA knows the pattern as `synchronous_commit = on`: `COMMIT` returns only once the
//! standby has flushed the WAL — the backend sleeps in a wait queue, and the walsender wakes it
//! when the standby's flush position moves past its commit LSN.
//!
//! Kafka's name for the wait queue is *purgatory* (`DelayedOperationPurgatory`, with one
//! purgatory per kind of operation: `Produce`, `Fetch`, ...). An operation is put there with
//! the conditions it waits on; whenever a watched thing moves (a high watermark advances, an
//! fsync completes, records arrive) the purgatory is checked, and every operation whose
//! conditions now all hold completes. An operation can also *expire* (its deadline passed:
//! `REQUEST_TIMED_OUT`, or a long poll answered empty) or be *aborted* (it can never complete:
//! the node lost the leadership it waited on).
//!
//! ```text
//! hold  ProduceResponse to producer-1   until HW(orders-0) >= 8, expires at 30 000 ms
//!       ... follower fetches at 8: HW(orders-0) = 8
//! check -> released: completed           (the response leaves now)
//! ```
//!
//! [`Purgatory`] is that structure, generic over the operation it holds. It never decides by
//! itself whether a condition holds — the node that owns it knows its high watermarks and its
//! disk — but it keeps the conditions as data, so every hold and every release is in the trace
//! ([`Event::Held`], [`Event::Released`]) and a visualizer can draw "held until fsync" or
//! "held until the high watermark". Operations are checked, completed and expired in the
//! order they were held (ids increase), so a later answer never overtakes an earlier one
//! released by the same check.

use crate::ids::{NodeId, TopicPartition};
use crate::node::{Out, Vocabulary};
use crate::time::Instant;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Which purgatory of a node an operation sits in. A node may have several; an operation is
/// named by its purgatory and its id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PurgatoryName {
    /// `acks=all` produce requests waiting for the high watermark (Kafka's `DelayedProduce`
    /// in the `Produce` purgatory).
    Produce,
    /// Fetch requests long-polling for records (Kafka's `DelayedFetch`, `Fetch` purgatory).
    Fetch,
    /// The group coordinator's writes to `__consumer_offsets` waiting for the high watermark
    /// (Kafka's classic coordinator appends with `acks=all`, through `DelayedProduce`).
    GroupWrite,
    /// Responses held until the fsync that `log.flush.interval.messages` started completes
    /// (Kafka flushes inside the append call, so the response leaves after it).
    Flush,
    /// A Raft member's messages held until its votes and log are on disk (KRaft writes the
    /// `quorum-state` file and fsyncs before answering).
    QuorumFsync,
    /// The active controller's answers held until its records are committed in the metadata
    /// log (Kafka's `QuorumController` defers them in its `DeferredEventQueue`).
    ControllerCommit,
}

/// One thing an operation waits for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Condition {
    /// The high watermark of `partition` reaches `offset` (the records below `offset` are
    /// committed). The metadata log is `__cluster_metadata-0`.
    HighWatermark {
        /// The partition.
        partition: TopicPartition,
        /// The high watermark waited for.
        offset: i64,
    },
    /// The fsync of `file` with disk token `token` completes.
    Fsync {
        /// The file being synced.
        file: String,
        /// The node's token for the sync.
        token: u64,
    },
    /// At least `min_bytes` of records can be read for the request (a Fetch's `min_bytes`).
    Records {
        /// The fetch's `min_bytes`.
        min_bytes: u64,
    },
}

/// How an operation left the purgatory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Its conditions all hold, or the node decided its answer otherwise (an error such as
    /// `NOT_LEADER_OR_FOLLOWER`): the answer leaves now.
    Completed,
    /// Its deadline passed first: `REQUEST_TIMED_OUT`, or a long poll answered as it is.
    Expired,
    /// It can never complete and is dropped without an answer (the leadership it waited on is
    /// gone; the client will time out and retry).
    Aborted,
}

/// What a purgatory records in the trace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// An answer is held.
    Held {
        /// The purgatory.
        purgatory: PurgatoryName,
        /// The operation's id in that purgatory.
        id: u64,
        /// The Kafka name of what is held, e.g. `ProduceResponse`.
        what: Cow<'static, str>,
        /// Who it is for (absent: several nodes, e.g. a group's members).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<NodeId>,
        /// What it waits for: all of these.
        until: Vec<Condition>,
        /// When it expires, in milliseconds of simulated time (absent: never).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires_at_ms: Option<u64>,
    },
    /// A held answer left the purgatory.
    Released {
        /// The purgatory.
        purgatory: PurgatoryName,
        /// The operation's id in that purgatory.
        id: u64,
        /// How.
        outcome: Outcome,
    },
}

/// What [`Purgatory::hold`] records about an operation, besides the operation itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hold {
    /// The Kafka name of what is held, e.g. `ProduceResponse`.
    pub what: &'static str,
    /// Who it is for, if one node.
    pub to: Option<NodeId>,
    /// What it waits for: all of these.
    pub until: Vec<Condition>,
    /// When it expires, if ever (the owner sets the timer).
    pub expires_at: Option<Instant>,
}

/// An operation in a purgatory, with the conditions it still waits for.
#[derive(Debug)]
pub struct Waiting<Op> {
    /// The operation.
    pub op: Op,
    /// Its conditions (the owner may drop one that no longer applies).
    pub until: Vec<Condition>,
}

/// Operations waiting for conditions, in the order they were held.
#[derive(Debug)]
pub struct Purgatory<Op> {
    name: PurgatoryName,
    next_id: u64,
    waiting: BTreeMap<u64, Waiting<Op>>,
    /// Whether holds and releases go into the trace.
    traced: bool,
}

impl<Op> Purgatory<Op> {
    /// An empty purgatory whose holds and releases are traced.
    pub fn new(name: PurgatoryName) -> Self {
        Purgatory {
            name,
            next_id: 0,
            waiting: BTreeMap::new(),
            traced: true,
        }
    }

    /// An empty purgatory that keeps its holds out of the trace: the broker's long-polling
    /// fetches, which wait on nothing a reader cannot see (a caught-up follower's or a
    /// consumer's Fetch delivered and not yet answered) and would double the purgatory's
    /// lines.
    pub fn untraced(name: PurgatoryName) -> Self {
        Purgatory {
            traced: false,
            ..Self::new(name)
        }
    }

    /// Which purgatory this is.
    pub fn name(&self) -> PurgatoryName {
        self.name
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// How many operations wait.
    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    /// The operations waiting, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &Waiting<Op>)> {
        self.waiting.iter().map(|(id, w)| (*id, w))
    }

    /// The operations waiting, oldest first, to change what they will answer or drop a
    /// condition that no longer applies.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (u64, &mut Waiting<Op>)> {
        self.waiting.iter_mut().map(|(id, w)| (*id, w))
    }

    /// Hold `op` until every condition of `hold` holds; records [`Event::Held`]. Returns its
    /// id (the owner keys its expiry timer with it).
    pub fn hold<V>(&mut self, op: Op, hold: Hold, out: &mut dyn Out<V>) -> u64
    where
        V: Vocabulary,
        V::Event: From<Event>,
    {
        let id = self.next_id;
        self.next_id += 1;
        if self.traced {
            out.trace(Event::Held {
                purgatory: self.name,
                id,
                what: Cow::Borrowed(hold.what),
                to: hold.to,
                until: hold.until.clone(),
                expires_at_ms: hold.expires_at.map(|t| t.as_millis()),
            });
        }
        self.waiting.insert(
            id,
            Waiting {
                op,
                until: hold.until,
            },
        );
        id
    }

    /// The watched things moved: release, oldest first, every operation whose conditions all
    /// hold by `satisfied` (asked about each condition of each operation).
    pub fn complete<V>(
        &mut self,
        mut satisfied: impl FnMut(&Op, &Condition) -> bool,
        out: &mut dyn Out<V>,
    ) -> Vec<(u64, Waiting<Op>)>
    where
        V: Vocabulary,
        V::Event: From<Event>,
    {
        self.release(
            |w| {
                w.until
                    .iter()
                    .all(|c| satisfied(&w.op, c))
                    .then_some(Outcome::Completed)
            },
            out,
        )
        .into_iter()
        .map(|(id, w, _)| (id, w))
        .collect()
    }

    /// Release, oldest first, every operation for which `decide` returns an outcome (the
    /// owner's own rule: e.g. "committed, or no longer possible").
    pub fn release<V>(
        &mut self,
        mut decide: impl FnMut(&Waiting<Op>) -> Option<Outcome>,
        out: &mut dyn Out<V>,
    ) -> Vec<(u64, Waiting<Op>, Outcome)>
    where
        V: Vocabulary,
        V::Event: From<Event>,
    {
        let decided: Vec<(u64, Outcome)> = self
            .waiting
            .iter()
            .filter_map(|(id, w)| decide(w).map(|o| (*id, o)))
            .collect();
        decided
            .into_iter()
            .filter_map(|(id, outcome)| {
                let w = self.take(id, outcome, out)?;
                Some((id, w, outcome))
            })
            .collect()
    }

    /// Take operation `id` out with `outcome` (its deadline passed, or the owner gave up on
    /// it); `None` if it already left.
    pub fn take<V>(
        &mut self,
        id: u64,
        outcome: Outcome,
        out: &mut dyn Out<V>,
    ) -> Option<Waiting<Op>>
    where
        V: Vocabulary,
        V::Event: From<Event>,
    {
        let w = self.waiting.remove(&id)?;
        if self.traced {
            out.trace(Event::Released {
                purgatory: self.name,
                id,
                outcome,
            });
        }
        Some(w)
    }

    /// Take every operation out with `outcome`, oldest first.
    pub fn take_all<V>(&mut self, outcome: Outcome, out: &mut dyn Out<V>) -> Vec<(u64, Waiting<Op>)>
    where
        V: Vocabulary,
        V::Event: From<Event>,
    {
        let ids: Vec<u64> = self.waiting.keys().copied().collect();
        ids.into_iter()
            .filter_map(|id| self.take(id, outcome, out).map(|w| (id, w)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::{Never, Outbox, Output};

    #[derive(Debug)]
    enum V {}
    impl Vocabulary for V {
        type Msg = Never;
        type Timer = u8;
        type Event = Event;
        type Reply = Never;
        type Command = Never;
    }

    fn hw(offset: i64) -> Condition {
        Condition::HighWatermark {
            partition: TopicPartition::new("orders", 0),
            offset,
        }
    }

    fn hold(until: Vec<Condition>) -> Hold {
        Hold {
            what: "ProduceResponse",
            to: Some(NodeId(3)),
            until,
            expires_at: Some(Instant::from_millis(30_000)),
        }
    }

    fn events(out: &Outbox<V>) -> Vec<&Event> {
        out.items()
            .iter()
            .filter_map(|o| match o {
                Output::Trace(e) => Some(e),
                _ => None,
            })
            .collect()
    }

    /// Reference: Kafka's `DelayedOperationTest.scala` testRequestSatisfaction (an operation
    /// completes once its condition holds, not before) and testRequestExpiry (or expires).
    #[test]
    fn an_operation_waits_until_every_condition_holds() {
        let mut p = Purgatory::new(PurgatoryName::Produce);
        let mut out = Outbox::<V>::new();
        let id = p.hold("a", hold(vec![hw(8), hw(5)]), out.writer());
        let at = |high_watermark: i64| {
            move |_: &&str, c: &Condition| match c {
                Condition::HighWatermark { offset, .. } => high_watermark >= *offset,
                _ => false,
            }
        };
        assert!(
            p.complete(at(7), out.writer()).is_empty(),
            "8 is not reached"
        );
        let done = p.complete(at(8), out.writer());
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].0, id);
        assert!(p.is_empty());
        assert_eq!(
            events(&out),
            vec![
                &Event::Held {
                    purgatory: PurgatoryName::Produce,
                    id: 0,
                    what: "ProduceResponse".into(),
                    to: Some(NodeId(3)),
                    until: vec![hw(8), hw(5)],
                    expires_at_ms: Some(30_000),
                },
                &Event::Released {
                    purgatory: PurgatoryName::Produce,
                    id: 0,
                    outcome: Outcome::Completed
                },
            ]
        );
        // Expiring an operation that already left does nothing.
        assert!(p.take(id, Outcome::Expired, out.writer()).is_none());
    }

    #[test]
    fn operations_are_released_oldest_first() {
        let mut p = Purgatory::new(PurgatoryName::Fetch);
        let mut out = Outbox::<V>::new();
        for (name, offset) in [("first", 3), ("second", 9), ("third", 2)] {
            p.hold(name, hold(vec![hw(offset)]), out.writer());
        }
        let released: Vec<&str> = p
            .complete(
                |_, c| matches!(c, Condition::HighWatermark { offset, .. } if *offset <= 3),
                out.writer(),
            )
            .into_iter()
            .map(|(_, w)| w.op)
            .collect();
        assert_eq!(released, vec!["first", "third"]);
        let rest: Vec<&str> = p
            .take_all(Outcome::Aborted, out.writer())
            .into_iter()
            .map(|(_, w)| w.op)
            .collect();
        assert_eq!(rest, vec!["second"]);
    }

    /// Held and released events survive the trace's JSON encoding.
    #[test]
    fn events_round_trip_through_json() {
        let e = Event::Held {
            purgatory: PurgatoryName::QuorumFsync,
            id: 4,
            what: "VoteResponse".into(),
            to: Some(NodeId(1)),
            until: vec![Condition::Fsync {
                file: "__cluster_metadata-0/quorum-state".into(),
                token: 12,
            }],
            expires_at_ms: None,
        };
        let json = serde_json::to_string(&e).unwrap();
        assert!(json.contains(r#""event":"held""#), "{json}");
        assert!(json.contains(r#""kind":"fsync""#), "{json}");
        assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), e);
    }
}
