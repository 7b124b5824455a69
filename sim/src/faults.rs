//! The fault vocabulary: what the environment can do to a cluster.
//!
//! Each fault is something that happens to real Kafka clusters. A scenario schedules them at
//! fixed times, or a nemesis draws them from the seeded PRNG; either way they enter the same
//! event queue as messages and timers, so their order relative to everything else is fixed.

use kafkasim_core::ids::NodeId;
use serde::Serialize;

/// One thing the environment does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "fault", rename_all = "snake_case")]
pub enum Fault {
    /// `kill -9` of the node's process: memory lost, page cache kept, peers see their
    /// connections reset.
    ProcessCrash {
        /// The victim.
        node: NodeId,
    },
    /// The node's machine loses power: memory and page cache lost; only synced bytes survive,
    /// the last write perhaps torn. Peers notice nothing until their timeouts.
    PowerLoss {
        /// The victim.
        node: NodeId,
    },
    /// SIGTERM to the node's process: it shuts down as it is written to (a broker moves its
    /// leaderships away first with `controlled.shutdown.enable`, then flushes its logs and
    /// writes its checkpoints and clean-shutdown marker), and exits.
    Shutdown {
        /// The node.
        node: NodeId,
    },
    /// Every machine loses power at once (a data-centre outage).
    PowerLossAll,
    /// Start a crashed node again from its disk.
    Restart {
        /// The node.
        node: NodeId,
    },
    /// Messages from `from` to `to` (and back, if `two_way`) are dropped.
    Partition {
        /// One side.
        from: NodeId,
        /// The other side.
        to: NodeId,
        /// Both directions.
        two_way: bool,
    },
    /// Remove every partition.
    HealAll,
    /// Reset the connection between two nodes: in-flight messages are lost, both ends notified.
    ResetConnection {
        /// One end.
        a: NodeId,
        /// The other end.
        b: NodeId,
    },
}
