//! Consumer groups (work in progress): how partitions are shared among a group's members.
//!
//! So far this holds the partition assignors, pure functions the group leader runs during a
//! rebalance. The coordinator, the group state machine and committed offsets come next.

pub mod assignor;
