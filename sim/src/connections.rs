//! Which process each connection belongs to: a request goes to the receiver's process its
//! connection was opened with, a response to the requester's process its request came from.
//!
//! The world asks [`Connections::stamp`] which receiving incarnation a message is for when
//! it is sent, and drops it on arrival if the receiver has restarted since (see the world's
//! module doc). Kept per ordered pair of nodes in `BTreeMap`s: deterministic, and small (a
//! few nodes).

use kafkasim_core::ids::NodeId;
use std::collections::BTreeMap;

/// The connections' owners.
#[derive(Debug, Default)]
pub struct Connections {
    /// `(client, server)` → the server's incarnation the client's connection was opened with.
    opened: BTreeMap<(NodeId, NodeId), u32>,
    /// `(server, client)` → the client's incarnation whose requests the server last read.
    served: BTreeMap<(NodeId, NodeId), u32>,
}

impl Connections {
    /// The receiver's incarnation a message from `from` to `to` is for: a response goes back
    /// to the process whose request it answers; a request goes on `from`'s connection to `to`,
    /// opened now (to `to`'s process `current`) if there is none.
    pub fn stamp(&mut self, from: NodeId, to: NodeId, is_response: bool, current: u32) -> u32 {
        if is_response {
            self.served.get(&(from, to)).copied().unwrap_or(current)
        } else {
            *self.opened.entry((from, to)).or_insert(current)
        }
    }

    /// A request from `from`'s process `incarnation` reached `to`: `to` answers that process.
    pub fn request_read(&mut self, to: NodeId, from: NodeId, incarnation: u32) {
        self.served.insert((to, from), incarnation);
    }

    /// Whether a message from `from` for `to`'s process `incarnation` went on the connection
    /// `from` uses now: not once `from` answers a newer process of `to` (a response), or
    /// has opened a connection to one (a request). The reset of a connection already
    /// replaced is no news to `from`.
    pub fn is_current(
        &self,
        from: NodeId,
        to: NodeId,
        is_response: bool,
        incarnation: u32,
    ) -> bool {
        let now = if is_response {
            self.served.get(&(from, to))
        } else {
            self.opened.get(&(from, to))
        };
        now.is_none_or(|current| *current == incarnation)
    }

    /// `node` learnt that its connection to `peer` broke: its next request opens a new one.
    pub fn disconnected(&mut self, node: NodeId, peer: NodeId) {
        self.opened.remove(&(node, peer));
    }

    /// `node`'s process died: its connections went with it.
    pub fn process_died(&mut self, node: NodeId) {
        self.opened.retain(|(client, _), _| *client != node);
        self.served.retain(|(server, _), _| *server != node);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_keep_their_connection_and_responses_follow_the_request() {
        let (a, b) = (NodeId(0), NodeId(1));
        let mut c = Connections::default();
        assert_eq!(
            c.stamp(a, b, false, 0),
            0,
            "a opens a connection to b's process 0"
        );
        assert_eq!(
            c.stamp(a, b, false, 1),
            0,
            "and keeps it while b restarts unseen"
        );
        c.disconnected(a, b);
        assert_eq!(
            c.stamp(a, b, false, 1),
            1,
            "after a reset a connects to process 1"
        );
        c.request_read(b, a, 3);
        assert_eq!(
            c.stamp(b, a, true, 4),
            3,
            "b answers the process that asked"
        );
        c.process_died(b);
        assert_eq!(
            c.stamp(b, a, true, 4),
            4,
            "a new process of b has served no one"
        );
    }
}
