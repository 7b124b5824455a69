//! "Persist before you acknowledge", as a data structure.
//!
//! Some messages may only leave once certain disk syncs have completed: a Raft vote after the
//! vote is on disk, a produce response after the flush that `log.flush.interval.messages`
//! triggered. A [`SyncBarrier`] holds such messages and releases them, in order, when every
//! token they wait for is reported done — the idea of etcd's `msgsAfterAppend`.

use crate::disk::DiskToken;
use crate::ids::NodeId;
use std::collections::BTreeSet;

/// Messages waiting for disk syncs.
#[derive(Debug)]
pub struct SyncBarrier<M> {
    outstanding: BTreeSet<DiskToken>,
    held: Vec<(BTreeSet<DiskToken>, NodeId, M)>,
}

impl<M> Default for SyncBarrier<M> {
    fn default() -> Self {
        SyncBarrier {
            outstanding: BTreeSet::new(),
            held: Vec::new(),
        }
    }
}

impl<M> SyncBarrier<M> {
    /// Note a sync that has been issued.
    pub fn issued(&mut self, token: DiskToken) {
        self.outstanding.insert(token);
    }

    /// Send `message` to `to` once every sync issued so far has completed; returns it at once
    /// if none is outstanding.
    pub fn after_outstanding(&mut self, to: NodeId, message: M) -> Option<(NodeId, M)> {
        if self.outstanding.is_empty() && self.held.is_empty() {
            return Some((to, message));
        }
        self.held.push((self.outstanding.clone(), to, message));
        None
    }

    /// A sync completed; returns the messages now free, in the order they were held.
    pub fn completed(&mut self, token: DiskToken) -> Vec<(NodeId, M)> {
        self.outstanding.remove(&token);
        for (waiting, _, _) in &mut self.held {
            waiting.remove(&token);
        }
        // Release in order: a message never overtakes one held before it.
        let ready = self
            .held
            .iter()
            .take_while(|(w, _, _)| w.is_empty())
            .count();
        self.held.drain(..ready).map(|(_, to, m)| (to, m)).collect()
    }

    /// Whether syncs are outstanding.
    pub fn is_busy(&self) -> bool {
        !self.outstanding.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_wait_for_the_syncs_issued_before_them_and_keep_their_order() {
        let mut b = SyncBarrier::default();
        assert_eq!(
            b.after_outstanding(NodeId(1), "free"),
            Some((NodeId(1), "free"))
        );
        b.issued(DiskToken(1));
        assert_eq!(b.after_outstanding(NodeId(1), "a"), None);
        b.issued(DiskToken(2));
        assert_eq!(b.after_outstanding(NodeId(1), "b"), None);
        assert_eq!(
            b.completed(DiskToken(2)),
            vec![],
            "a still waits for 1, and b may not overtake it"
        );
        assert_eq!(
            b.completed(DiskToken(1)),
            vec![(NodeId(1), "a"), (NodeId(1), "b")]
        );
        assert!(!b.is_busy());
    }
}
