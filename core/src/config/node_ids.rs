//! `node.id`: the number every Kafka server is known by in the metadata.
//!
//! In KRaft mode brokers and controllers share one space of ids: the metadata log says "broker
//! 2 leads partition 0" and "voter 1000 is the active controller", and the two must never be
//! confused. Kafka asks the operator to choose them (`node.id` is required) and rejects a
//! cluster where two servers claim the same one. A scenario may leave them out; then they are
//! numbered in the order of the file, each role from its own base, so that brokers read like
//! Kafka's quickstart (`node.id=1`, 2, 3) and controllers stay far away from them:
//!
//! | role        | base                        | the 1st, 2nd, 3rd |
//! |-------------|-----------------------------|-------------------|
//! | broker      | [`FIRST_BROKER_NODE_ID`]     | 1, 2, 3           |
//! | controller  | [`FIRST_CONTROLLER_NODE_ID`] | 1000, 1001, 1002  |
//!
//! Kafka's own test harness follows the same idea with other bases (reference:
//! `TestKitNodes`: broker ids from `BROKER_ID_OFFSET = 0`, controller ids from
//! `CONTROLLER_ID_OFFSET = 3000`). An explicit `node.id` may take any free number; [`NodeIds`]
//! checks that none is taken twice, across both roles.
//!
//! These are Kafka ids, not the simulator's addresses ([`crate::ids::NodeId`]), which number
//! every node — clients included — in the order they were added.

use std::collections::BTreeSet;
use std::fmt;

/// The `node.id` of the first broker when the scenario gives none; the next ones follow.
pub const FIRST_BROKER_NODE_ID: i32 = 1;

/// The `node.id` of the first controller when the scenario gives none; the next ones follow.
/// Far above any broker's, so the two kinds are told apart at a glance in a trace.
pub const FIRST_CONTROLLER_NODE_ID: i32 = 1000;

/// The default `node.id` of the broker at `index` (0-based, in the order of the file).
pub fn broker_node_id(index: usize) -> i32 {
    offset(FIRST_BROKER_NODE_ID, index)
}

/// The default `node.id` of the controller at `index` (0-based, in the order of the file).
pub fn controller_node_id(index: usize) -> i32 {
    offset(FIRST_CONTROLLER_NODE_ID, index)
}

fn offset(base: i32, index: usize) -> i32 {
    i32::try_from(index).map_or(i32::MAX, |i| base.saturating_add(i))
}

/// The `node.id`s claimed so far in a cluster, controllers and brokers alike.
#[derive(Clone, Debug, Default)]
pub struct NodeIds {
    taken: BTreeSet<i32>,
}

/// Two servers claimed the same `node.id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DuplicateNodeId(pub i32);

impl fmt::Display for DuplicateNodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "node.id {} is used twice", self.0)
    }
}

impl std::error::Error for DuplicateNodeId {}

impl NodeIds {
    /// No id taken yet.
    pub fn new() -> Self {
        NodeIds::default()
    }

    /// Take `id` for one server, unless another server has it already.
    pub fn claim(&mut self, id: i32) -> Result<(), DuplicateNodeId> {
        if self.taken.insert(id) {
            Ok(())
        } else {
            Err(DuplicateNodeId(id))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_count_from_each_roles_base() {
        assert_eq!((0..3).map(broker_node_id).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(
            (0..3).map(controller_node_id).collect::<Vec<_>>(),
            [1000, 1001, 1002]
        );
        assert_eq!(broker_node_id(usize::MAX), i32::MAX);
    }

    /// KRaft: one id space for both roles (a controller and a broker may not share `node.id`).
    #[test]
    fn an_id_is_claimed_once_across_roles() {
        let mut ids = NodeIds::new();
        ids.claim(controller_node_id(0)).unwrap();
        ids.claim(broker_node_id(0)).unwrap();
        assert_eq!(ids.claim(1000), Err(DuplicateNodeId(1000)));
        assert_eq!(
            ids.claim(1).unwrap_err().to_string(),
            "node.id 1 is used twice"
        );
        ids.claim(2).unwrap();
    }
}
