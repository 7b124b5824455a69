//! Where replicas go, and who leads: the controller's pure decisions, table-tested.

use crate::metadata::PartitionState;

/// Replicas of partition `partition` over `brokers` (sorted ids): `replication_factor`
/// consecutive brokers starting at `partition mod n`, so leaders spread evenly — Kafka's
/// rack-unaware assignment, without its random starting broker.
pub fn assign_replicas(brokers: &[i32], partition: i32, replication_factor: usize) -> Vec<i32> {
    let n = brokers.len();
    if n == 0 {
        return Vec::new();
    }
    (0..replication_factor.min(n))
        .map(|i| brokers[(partition as usize + i) % n])
        .collect()
}

/// The change a partition needs after brokers came or went: `(new ISR, new leader)`, each
/// `None` when unchanged, or `None` overall when nothing changes.
///
/// - Fenced brokers leave the ISR — unless that would empty it: the last member stays, so the
///   ISR keeps saying who has every committed record.
/// - The leader stays if it is alive and in the ISR; otherwise the first live replica in the
///   ISR (in preferred order) leads — a *clean* election: it has every committed record.
/// - With none alive, `unclean.leader.election.enable` lets any live replica lead, with an ISR
///   of itself: availability bought with committed records (R6 in the reference). Without it
///   the partition stays offline (leader -1) until an ISR member returns.
pub fn reconcile(
    p: &PartitionState,
    alive: impl Fn(i32) -> bool,
    unclean: bool,
) -> Option<(Option<Vec<i32>>, Option<i32>)> {
    let live_isr: Vec<i32> = p.isr.iter().copied().filter(|b| alive(*b)).collect();
    let mut isr = if live_isr.is_empty() {
        p.isr.clone()
    } else {
        live_isr
    };
    let leader = if p.leader >= 0 && alive(p.leader) && isr.contains(&p.leader) {
        p.leader
    } else if let Some(b) = p
        .replicas
        .iter()
        .copied()
        .find(|b| isr.contains(b) && alive(*b))
    {
        b
    } else if unclean && let Some(b) = p.replicas.iter().copied().find(|b| alive(*b)) {
        isr = vec![b];
        b
    } else {
        -1
    };
    let isr_change = (isr != p.isr).then_some(isr);
    let leader_change = (leader != p.leader).then_some(leader);
    if isr_change.is_none() && leader_change.is_none() {
        None
    } else {
        Some((isr_change, leader_change))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(replicas: &[i32], isr: &[i32], leader: i32) -> PartitionState {
        PartitionState {
            replicas: replicas.to_vec(),
            isr: isr.to_vec(),
            leader,
            leader_epoch: 0,
            partition_epoch: 0,
        }
    }

    #[test]
    fn replicas_spread_leaders_round_robin() {
        let brokers = [1, 2, 3];
        assert_eq!(assign_replicas(&brokers, 0, 3), vec![1, 2, 3]);
        assert_eq!(assign_replicas(&brokers, 1, 3), vec![2, 3, 1]);
        assert_eq!(assign_replicas(&brokers, 5, 2), vec![3, 1]);
        assert_eq!(
            assign_replicas(&brokers, 0, 5),
            vec![1, 2, 3],
            "at most one replica per broker"
        );
        assert_eq!(assign_replicas(&[], 0, 3), Vec::<i32>::new());
    }

    type Change = Option<(Option<Vec<i32>>, Option<i32>)>;

    /// Reference: kafka-semantics.md R5/R6; Kafka's PartitionChangeBuilder (KRaft).
    #[test]
    fn reconcile_table() {
        let alive = |dead: &'static [i32]| move |b: i32| !dead.contains(&b);
        // (partition, dead brokers, unclean, expected change)
        let cases: Vec<(PartitionState, &'static [i32], bool, Change)> = vec![
            (p(&[1, 2, 3], &[1, 2, 3], 1), &[], false, None),
            // A follower dies: it leaves the ISR, the leader stays.
            (
                p(&[1, 2, 3], &[1, 2, 3], 1),
                &[3],
                false,
                Some((Some(vec![1, 2]), None)),
            ),
            // The leader dies: the next ISR member in preferred order leads.
            (
                p(&[1, 2, 3], &[1, 2, 3], 1),
                &[1],
                false,
                Some((Some(vec![2, 3]), Some(2))),
            ),
            // The last ISR member dies: offline, the ISR remembers it.
            (p(&[1, 2, 3], &[1], 1), &[1], false, Some((None, Some(-1)))),
            // ...with unclean election, a lagging live replica leads and is the whole ISR.
            (
                p(&[1, 2, 3], &[1], 1),
                &[1],
                true,
                Some((Some(vec![2]), Some(2))),
            ),
            // The last ISR member returns: it leads again (clean).
            (p(&[1, 2, 3], &[1], -1), &[], false, Some((None, Some(1)))),
            // Everyone dead, unclean or not: offline.
            (
                p(&[1, 2], &[1, 2], 1),
                &[1, 2],
                true,
                Some((None, Some(-1))),
            ),
        ];
        for (partition, dead, unclean, expected) in cases {
            assert_eq!(
                reconcile(&partition, alive(dead), unclean),
                expected,
                "{partition:?} dead={dead:?} unclean={unclean}"
            );
        }
    }
}
