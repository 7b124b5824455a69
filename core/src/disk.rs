//! What a node asks of its disk, and what it finds there when it boots.
//!
//! Nodes never touch a disk directly: they emit [`DiskOp`]s and the simulator applies them to a
//! page cache over durable storage (see `kafkasim-sim`'s `disk` module). A write is visible at
//! once — the node keeps its own copy of what it wrote, as a process relies on the page cache —
//! and becomes durable only after a [`DiskOp::Sync`] completes, which the simulator reports back
//! with the node's [`DiskToken`]. After a crash the node is rebuilt from a [`DiskImage`]: the
//! page cache after a process crash, only the synced (possibly torn) bytes after a power loss.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A node's token for a disk operation whose completion it wants to hear about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DiskToken(pub u64);

/// One operation on one file. File names are paths relative to the node's data directory,
/// e.g. `orders-0/00000000000000000000.log`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DiskOp {
    /// Append bytes at the end of the file, creating it if needed.
    Append {
        /// The file to append to.
        file: String,
        /// The bytes appended.
        bytes: Vec<u8>,
    },
    /// Replace the whole content of the file, atomically (Kafka writes checkpoint files to a
    /// temporary file and renames it over the old one).
    Replace {
        /// The file replaced.
        file: String,
        /// Its new content.
        bytes: Vec<u8>,
    },
    /// Cut the file to `len` bytes (no-op if it is shorter).
    Truncate {
        /// The file truncated.
        file: String,
        /// Its new length.
        len: u64,
    },
    /// Remove the file.
    Delete {
        /// The file removed.
        file: String,
    },
    /// Make the file's current content durable (`fsync`). Completion is reported to the node
    /// as `Input::DiskDone(token)`.
    Sync {
        /// The file synced.
        file: String,
        /// Echoed back on completion.
        token: DiskToken,
    },
}

/// Where a component that owns files writes what it wants done to them: a node's outbox
/// (see [`crate::node::Out`]), or a plain `Vec` in tests. The log writes through this, so
/// its writes take their place among the node's other outputs in the order they happen.
pub trait DiskWrites {
    /// Do `op`, after every operation written before it.
    fn write(&mut self, op: DiskOp);
}

impl DiskWrites for Vec<DiskOp> {
    fn write(&mut self, op: DiskOp) {
        self.push(op);
    }
}

impl DiskOp {
    /// The file this operation touches.
    pub fn file(&self) -> &str {
        match self {
            DiskOp::Append { file, .. }
            | DiskOp::Replace { file, .. }
            | DiskOp::Truncate { file, .. }
            | DiskOp::Delete { file }
            | DiskOp::Sync { file, .. } => file,
        }
    }
}

/// The files a node finds when it (re)starts, by name, in name order.
pub type DiskImage = BTreeMap<String, Vec<u8>>;
