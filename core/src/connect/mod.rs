//! Kafka Connect: a CDC source connector from the database into Kafka, and a sink connector
//! from Kafka into a "warehouse" table.
//!
//! Both run as Connect runs them in standalone mode: one task each, offsets in a local file
//! (`offset.storage.file.filename`), flushed every `offset.flush.interval.ms`. Each embeds the
//! project's own client — the source a [`Producer`](crate::client::producer::Producer), the
//! sink a [`Consumer`](crate::client::consumer::Consumer) — and drives it through its `step`
//! like any application: the client's timers, messages and trace events pass through,
//! wrapped in the connector's words ([`Embedded`]); its replies (delivery callbacks, polled
//! records) come back to the connector, not to the scenario.
//!
//! - [`source`]: in the spirit of Debezium's PostgreSQL connector (and of Bottled Water
//!   before it): an initial snapshot, then the replication slot's stream, one topic per
//!   table, change events in Debezium's envelope ([`envelope`]), the slot confirmed only
//!   after Kafka acknowledged.
//! - [`sink`]: in the spirit of a JDBC sink with upserts: the table kept current by key,
//!   an event older than what the row already holds (by source LSN) ignored, so duplicates
//!   of at-least-once delivery change nothing.

pub mod config;
pub mod converter;
pub mod envelope;
pub mod sink;
pub mod source;

use crate::node::{Out, Output, Vocabulary};

/// An outbox for a client embedded in a connector: what the client sends, the timers it
/// sets, the files it writes and the events it records go to the connector's outbox in the
/// connector's words; its replies are kept for the connector to act on.
pub(crate) struct Embedded<'a, P: Vocabulary, C: Vocabulary> {
    parent: &'a mut dyn Out<P>,
    /// The client's replies, in order.
    pub replies: Vec<C::Reply>,
}

impl<'a, P: Vocabulary, C: Vocabulary> Embedded<'a, P, C> {
    /// An outbox writing into `parent`.
    pub fn new(parent: &'a mut dyn Out<P>) -> Self {
        Embedded {
            parent,
            replies: Vec::new(),
        }
    }
}

impl<P, C> Out<C> for Embedded<'_, P, C>
where
    P: Vocabulary,
    C: Vocabulary<Msg = P::Msg>,
    P::Timer: From<C::Timer>,
    P::Event: From<C::Event>,
{
    fn push(&mut self, output: Output<C>) {
        let output = match output {
            Output::Reply(reply) => return self.replies.push(reply),
            // The connector decides when its process ends, not its client.
            Output::Exit => return,
            Output::Send { to, msg } => Output::Send { to, msg },
            Output::SetTimer { key, at } => Output::SetTimer {
                key: key.into(),
                at,
            },
            Output::CancelTimer(key) => Output::CancelTimer(key.into()),
            Output::Disk(op) => Output::Disk(op),
            Output::Trace(event) => Output::Trace(event.into()),
        };
        self.parent.push(output);
    }
}
