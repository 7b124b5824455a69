//! Consumer groups: how a group's members share its partitions, and the coordinator that
//! runs the group on a broker.
//!
//! - [`assignor`]: the partition assignors, pure functions the group's leader runs during a
//!   rebalance (range, roundrobin, sticky, cooperative-sticky);
//! - [`coordinator`]: the coordinator's request handlers — joins, syncs, heartbeats, leaves,
//!   offset commits and fetches — over the groups in [`state`];
//! - [`records`]: what the coordinator stores in `__consumer_offsets`, and which partition of
//!   it a group lives on;
//! - [`events`]: what the coordinator records in the trace.

pub mod assignor;
pub mod coordinator;
pub mod events;
pub mod records;
mod state;

pub use coordinator::{Append, Coordinator, GroupWrite, Timer, Vocab};
pub use events::{Event, GroupState, RemovalReason};
