//! Where replicas go, and who leads: the controller's pure decisions, table-tested.

use crate::metadata::PartitionState;
use serde::{Deserialize, Serialize};

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

/// How the controller chose a new leader.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Election {
    /// From the ISR: it has every committed record.
    Isr,
    /// From the eligible leader replicas, the ISR being empty (KIP-966): it has every record
    /// committed before the ISR fell below `min.insync.replicas`, and none was committed since.
    EligibleLeaderReplicas,
    /// The last known leader, with the ISR and the ELR both empty (Kafka's balanced
    /// recovery): an unclean election of the replica most likely to be complete.
    LastKnownLeader,
    /// `unclean.leader.election.enable`: any live replica, committed records or not.
    Unclean,
    /// Back to the preferred replica (the first of the assignment), which is in the ISR
    /// again (`auto.leader.rebalance.enable`).
    Preferred,
}

impl Election {
    /// Whether the new leader may lack committed records (Kafka sets the partition's leader
    /// recovery state to RECOVERING).
    pub fn is_unclean(self) -> bool {
        matches!(self, Election::LastKnownLeader | Election::Unclean)
    }
}

/// The rules a partition's changes follow: its topic's settings and the cluster's features.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChangeRules {
    /// `min.insync.replicas` for the topic, capped at the replication factor (Kafka's
    /// `getTopicEffectiveMinIsr`).
    pub min_isr: usize,
    /// `eligible.leader.replicas.version` ≥ 1.
    pub elr: bool,
    /// `unclean.leader.election.enable` for the topic.
    pub unclean: bool,
}

/// A partition change, each field `None` when unchanged: a `PartitionChangeRecord`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartitionChange {
    /// The new ISR.
    pub isr: Option<Vec<i32>>,
    /// The new leader (-1: none).
    pub leader: Option<i32>,
    /// The new eligible leader replicas.
    pub eligible_leader_replicas: Option<Vec<i32>>,
    /// The new last known leader (`LastKnownElr`).
    pub last_known_elr: Option<Vec<i32>>,
    /// How the new leader was chosen, when there is one.
    pub election: Option<Election>,
}

/// What a partition needs when its ISR should become `target_isr` (fenced or restarted
/// brokers taken out, or a leader's `AlterPartition`), with `unclean_shutdown` the brokers that
/// just registered after losing their unflushed log, and `acceptable` telling which brokers
/// may lead (registered, unfenced). `None` when nothing changes. This is Kafka's
/// `PartitionChangeBuilder.build` with `Election.ONLINE` (or `UNCLEAN`) and the last known
/// leader kept for balanced recovery:
///
/// 1. **ELR** (KIP-966, `rules.elr`): while the target ISR is below `min.insync.replicas`,
///    the members leaving the ISR join the ELR — the strict min-ISR rule means no record was
///    committed without them — except brokers whose shutdown was unclean, which may have lost
///    records; at or above `min.insync.replicas` the ELR is cleared.
/// 2. **Leader**: the current one if still valid, else the first replica (preferred order)
///    that is acceptable and in the target ISR — or in the ELR when the ISR is empty, which
///    then becomes an ISR of that replica alone. Failing that, the last known leader if it
///    is acceptable and ISR and ELR are empty; failing that, with unclean election, any
///    acceptable replica. Unclean choices get an ISR of the new leader alone.
/// 3. **ISR**: without ELR an empty target ISR is not applied — the last member stays, so the
///    ISR keeps naming who had every committed record (before KIP-966). With ELR the ISR may
///    be empty, and the leader it had is remembered as the last known leader.
pub fn partition_change(
    p: &PartitionState,
    target_isr: Vec<i32>,
    unclean_shutdown: &[i32],
    acceptable: impl Fn(i32) -> bool,
    rules: ChangeRules,
) -> Option<PartitionChange> {
    let mut target_isr = target_isr;
    let mut target_elr = p.eligible_leader_replicas.clone();
    if rules.elr {
        target_elr = if target_isr.len() >= rules.min_isr {
            Vec::new()
        } else {
            let mut elr: Vec<i32> = target_elr
                .iter()
                .chain(&p.isr)
                .copied()
                .filter(|b| !target_isr.contains(b) && !unclean_shutdown.contains(b))
                .collect();
            elr.sort_unstable();
            elr.dedup();
            elr
        };
    }
    let mut change = PartitionChange::default();
    let (leader, election) = elect(p, &target_isr, &target_elr, &acceptable, rules);
    if leader != p.leader {
        if target_elr.contains(&leader) {
            target_isr = vec![leader];
            target_elr.retain(|b| *b != leader);
        }
        change.leader = Some(leader);
        change.election = election;
        if election.is_some_and(Election::is_unclean) {
            change.isr = Some(vec![leader]);
        }
    }
    if change.isr.is_some() || !rules.elr {
        target_elr.clear();
    }
    if target_elr != p.eligible_leader_replicas {
        change.eligible_leader_replicas = Some(target_elr);
    }
    if change.isr.is_none() && (!target_isr.is_empty() || rules.elr) && target_isr != p.isr {
        change.isr = Some(target_isr);
    }
    if rules.elr {
        change.last_known_elr = last_known_leader(p, &change);
    }
    debug_check(p, &change);
    (change != PartitionChange::default()).then_some(change)
}

/// The leader `partition_change` settles on, and how (`None` when it keeps or finds none).
/// Whether `p` is led by another replica than its preferred one (Kafka's
/// `imbalancedPartitions`: a leaderless partition is not counted).
pub fn is_imbalanced(p: &PartitionState) -> bool {
    p.leader >= 0 && p.replicas.first() != Some(&p.leader)
}

/// The change that moves `p`'s leadership back to its preferred replica, if that replica is
/// in the ISR and `acceptable` (unfenced, not shutting down): Kafka's
/// `PartitionChangeBuilder` with `Election.PREFERRED`, as `maybeBalancePartitionLeaders` runs
/// it. `None` when `p` is balanced or its preferred replica cannot lead.
pub fn preferred_leader_change(
    p: &PartitionState,
    acceptable: impl Fn(i32) -> bool,
) -> Option<PartitionChange> {
    let preferred = *p.replicas.first()?;
    (is_imbalanced(p) && p.isr.contains(&preferred) && acceptable(preferred)).then(|| {
        PartitionChange {
            leader: Some(preferred),
            election: Some(Election::Preferred),
            ..PartitionChange::default()
        }
    })
}

fn elect(
    p: &PartitionState,
    target_isr: &[i32],
    target_elr: &[i32],
    acceptable: &impl Fn(i32) -> bool,
    rules: ChangeRules,
) -> (i32, Option<Election>) {
    let valid = |b: i32| {
        (target_isr.contains(&b) || (target_isr.is_empty() && target_elr.contains(&b)))
            && acceptable(b)
    };
    if p.leader >= 0 && valid(p.leader) {
        return (p.leader, None);
    }
    if let Some(b) = p.replicas.iter().copied().find(|b| valid(*b)) {
        let how = if target_isr.contains(&b) {
            Election::Isr
        } else {
            Election::EligibleLeaderReplicas
        };
        return (b, Some(how));
    }
    if let [last] = p.last_known_elr[..]
        && rules.elr
        && target_isr.is_empty()
        && target_elr.is_empty()
        && acceptable(last)
    {
        return (last, Some(Election::LastKnownLeader));
    }
    if rules.unclean
        && let Some(b) = p.replicas.iter().copied().find(|b| acceptable(*b))
    {
        return (b, Some(Election::Unclean));
    }
    (-1, None)
}

/// Kafka's `maybeUpdateLastKnownLeader`: remember the leader when the ISR first becomes
/// empty; forget it once the partition has a leader again.
fn last_known_leader(p: &PartitionState, change: &PartitionChange) -> Option<Vec<i32>> {
    let emptied = change.isr.as_ref().is_some_and(Vec::is_empty);
    if emptied && p.leader >= 0 && p.last_known_elr != [p.leader] {
        return Some(vec![p.leader]);
    }
    let has_leader = match change.leader {
        Some(l) => l >= 0,
        None => p.leader >= 0,
    };
    (!emptied && has_leader && !p.last_known_elr.is_empty()).then(Vec::new)
}

fn debug_check(p: &PartitionState, change: &PartitionChange) {
    let isr = change.isr.as_ref().unwrap_or(&p.isr);
    let elr = change
        .eligible_leader_replicas
        .as_ref()
        .unwrap_or(&p.eligible_leader_replicas);
    let leader = change.leader.unwrap_or(p.leader);
    debug_assert!(
        leader < 0 || isr.contains(&leader),
        "leader {leader} in its ISR {isr:?}"
    );
    debug_assert!(
        elr.iter().all(|b| !isr.contains(b)),
        "ELR {elr:?} disjoint from ISR {isr:?}"
    );
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
            eligible_leader_replicas: Vec::new(),
            last_known_elr: Vec::new(),
        }
    }

    /// Kafka's `ReplicationControlManagerTest.testBalancePartitionLeaders` and
    /// `PartitionChangeBuilderTest` with `Election.PREFERRED`: the preferred replica takes the
    /// leadership back only from the ISR, and only if it may lead.
    #[test]
    fn preferred_leader_election_needs_the_preferred_replica_in_the_isr_and_acceptable() {
        // (partition, a broker that may not lead, the leader a preferred election gives)
        let cases = [
            (p(&[1, 2, 3], &[1, 2, 3], 2), None, Some(1)),
            (p(&[1, 2, 3], &[2, 3], 2), None, None),
            (p(&[1, 2, 3], &[1, 2, 3], 2), Some(1), None),
            (p(&[1, 2, 3], &[1, 2, 3], 1), None, None),
            (p(&[1, 2, 3], &[1], -1), None, None),
        ];
        for (i, (state, unacceptable, leader)) in cases.iter().enumerate() {
            let change = preferred_leader_change(state, |b| Some(b) != *unacceptable);
            assert_eq!(change.as_ref().and_then(|c| c.leader), *leader, "case {i}");
            if let Some(c) = change {
                assert_eq!(c.election, Some(Election::Preferred));
                assert_eq!((c.isr, c.eligible_leader_replicas), (None, None));
            }
        }
        assert!(is_imbalanced(&p(&[1, 2, 3], &[1, 2, 3], 2)));
        assert!(
            !is_imbalanced(&p(&[1, 2, 3], &[1], -1)),
            "leaderless is not imbalanced"
        );
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

    fn with_elr(mut p: PartitionState, elr: &[i32], last_known: &[i32]) -> PartitionState {
        p.eligible_leader_replicas = elr.to_vec();
        p.last_known_elr = last_known.to_vec();
        p
    }

    const LEGACY: ChangeRules = ChangeRules {
        min_isr: 1,
        elr: false,
        unclean: false,
    };

    fn elr(min_isr: usize) -> ChangeRules {
        ChangeRules {
            min_isr,
            elr: true,
            unclean: false,
        }
    }

    fn change(
        isr: Option<&[i32]>,
        leader: Option<i32>,
        elr: Option<&[i32]>,
        last_known: Option<&[i32]>,
        election: Option<Election>,
    ) -> Option<PartitionChange> {
        Some(PartitionChange {
            isr: isr.map(<[i32]>::to_vec),
            leader,
            eligible_leader_replicas: elr.map(<[i32]>::to_vec),
            last_known_elr: last_known.map(<[i32]>::to_vec),
            election,
        })
    }

    /// Fencing `dead` (ISR minus the dead brokers), as `ReplicationControlManager
    /// .handleBrokerFenced` asks of the builder.
    fn fence(p: &PartitionState, dead: &[i32], rules: ChangeRules) -> Option<PartitionChange> {
        let target = p
            .isr
            .iter()
            .copied()
            .filter(|b| !dead.contains(b))
            .collect();
        partition_change(p, target, &[], |b| !dead.contains(&b), rules)
    }

    /// Before KIP-966 (reference: kafka-semantics.md R5/R6; Kafka 3's PartitionChangeBuilder).
    #[test]
    fn legacy_elections_keep_the_last_isr_member() {
        use Election::{Isr, Unclean};
        let unclean = ChangeRules {
            unclean: true,
            ..LEGACY
        };
        // (partition, dead brokers, rules, expected change)
        let cases: Vec<(PartitionState, &[i32], ChangeRules, Option<PartitionChange>)> = vec![
            (p(&[1, 2, 3], &[1, 2, 3], 1), &[], LEGACY, None),
            // A follower dies: it leaves the ISR, the leader stays.
            (
                p(&[1, 2, 3], &[1, 2, 3], 1),
                &[3],
                LEGACY,
                change(Some(&[1, 2]), None, None, None, None),
            ),
            // The leader dies: the next ISR member in preferred order leads.
            (
                p(&[1, 2, 3], &[1, 2, 3], 1),
                &[1],
                LEGACY,
                change(Some(&[2, 3]), Some(2), None, None, Some(Isr)),
            ),
            // The last ISR member dies: offline, the ISR remembers it.
            (
                p(&[1, 2, 3], &[1], 1),
                &[1],
                LEGACY,
                change(None, Some(-1), None, None, None),
            ),
            // ...with unclean election, a lagging live replica leads and is the whole ISR.
            (
                p(&[1, 2, 3], &[1], 1),
                &[1],
                unclean,
                change(Some(&[2]), Some(2), None, None, Some(Unclean)),
            ),
            // The last ISR member returns: it leads again (clean).
            (
                p(&[1, 2, 3], &[1], -1),
                &[],
                LEGACY,
                change(None, Some(1), None, None, Some(Isr)),
            ),
            // Everyone dead, unclean or not: offline.
            (
                p(&[1, 2], &[1, 2], 1),
                &[1, 2],
                unclean,
                change(None, Some(-1), None, None, None),
            ),
        ];
        for (partition, dead, rules, expected) in cases {
            assert_eq!(
                fence(&partition, dead, rules),
                expected,
                "{partition:?} dead={dead:?} {rules:?}"
            );
        }
    }

    /// Reference: KIP-966; Kafka's `PartitionChangeBuilderTest
    /// .testEligibleLeaderReplicas_IsrShrinkBelowMinISR`: min ISR 3, the ISR shrinks from
    /// {1,2,3,4} to {1,2}: 3 and 4 become eligible leader replicas.
    #[test]
    fn isr_shrink_below_min_isr_moves_the_leavers_to_the_elr() {
        let p = p(&[1, 2, 3, 4], &[1, 2, 3, 4], 1);
        assert_eq!(
            partition_change(&p, vec![1, 2], &[], |b| b != 3, elr(3)),
            change(Some(&[1, 2]), None, Some(&[3, 4]), None, None)
        );
    }

    /// `testEligibleLeaderReplicas_IsrExpandAboveMinISR`: back to min ISR, the ELR and the
    /// last known ELR are cleared.
    #[test]
    fn isr_expand_to_min_isr_clears_the_elr() {
        let p = with_elr(p(&[1, 2, 3, 4], &[1, 2], 1), &[3], &[4]);
        assert_eq!(
            partition_change(&p, vec![1, 2, 3], &[], |b| b != 3, elr(3)),
            change(Some(&[1, 2, 3]), None, Some(&[]), Some(&[]), None)
        );
    }

    /// `testEligibleLeaderReplicas_IsrAddNewMemberNotInELR`: still below min ISR, a new
    /// member joins; the ELR keeps its members.
    #[test]
    fn isr_member_added_below_min_isr_keeps_the_elr() {
        let p = with_elr(p(&[1, 2, 3, 4], &[1], 1), &[3], &[]);
        assert_eq!(
            partition_change(&p, vec![1, 4], &[], |b| b != 3, elr(3)),
            change(Some(&[1, 4]), None, None, None, None)
        );
    }

    /// `testEligibleLeaderReplicas_RemoveUncleanShutdownReplicasFromElr`: a broker that
    /// registers after an unclean shutdown leaves the ELR.
    #[test]
    fn unclean_shutdown_leaves_the_elr() {
        let p = with_elr(p(&[1, 2, 3, 4], &[1], 1), &[2, 3], &[]);
        assert_eq!(
            partition_change(&p, vec![1], &[3], |b| b != 3, elr(3)),
            change(None, None, Some(&[2]), None, None)
        );
    }

    /// `testEligibleLeaderReplicas_ElrCanBeElected`: the last ISR member goes offline, an
    /// ELR member leads, alone in the ISR; the old leader is eligible in turn.
    #[test]
    fn an_elr_member_is_elected_when_the_isr_empties() {
        let p = with_elr(p(&[1, 2, 3, 4], &[1], 1), &[3], &[]);
        assert_eq!(
            partition_change(&p, vec![], &[], |b| b != 1, elr(3)),
            change(
                Some(&[3]),
                Some(3),
                Some(&[1]),
                None,
                Some(Election::EligibleLeaderReplicas)
            )
        );
    }

    /// `testEligibleLeaderReplicas_IsrCanShrinkToZero`: every replica offline; the ISR
    /// empties, every member is eligible, the leader is remembered.
    #[test]
    fn the_isr_can_shrink_to_zero() {
        let p = p(&[1, 2, 3, 4], &[1, 2, 3, 4], 1);
        let all_gone = partition_change(&p, vec![], &[], |_| false, elr(3));
        assert_eq!(
            all_gone,
            change(Some(&[]), Some(-1), Some(&[1, 2, 3, 4]), Some(&[1]), None)
        );
    }

    /// `testEligibleLeaderReplicas_ElectLastKnownLeader`: ISR and ELR empty, the last known
    /// leader comes back: it leads (uncleanly) and the memory is cleared.
    #[test]
    fn the_last_known_leader_is_elected_as_a_last_resort() {
        let p = with_elr(p(&[1, 2, 3, 4], &[], -1), &[], &[1]);
        assert_eq!(
            partition_change(&p, vec![], &[], |_| true, elr(3)),
            change(
                Some(&[1]),
                Some(1),
                None,
                Some(&[]),
                Some(Election::LastKnownLeader)
            )
        );
    }

    /// `testEligibleLeaderReplicas_ElectLastKnownLeaderShouldFail`: not while the ELR has a
    /// member, even a fenced one — it is complete, the last known leader may not be.
    #[test]
    fn the_last_known_leader_waits_for_a_fenced_elr_member() {
        let p = with_elr(p(&[1, 2, 3, 4], &[], -1), &[3], &[1]);
        assert_eq!(partition_change(&p, vec![], &[], |b| b != 3, elr(3)), None);
    }

    /// KIP-966's "last replica standing": ISR {1} after 2 was fenced (2 in the ELR); 1 loses
    /// power and registers again after its unclean shutdown. Without ELR it would be the
    /// lone ISR member and lead with whatever its disk kept; with ELR it leaves the ISR, and
    /// 2 leads once it is back.
    #[test]
    fn last_replica_standing_loses_its_isr_seat_after_an_unclean_shutdown() {
        let fenced_leader = with_elr(p(&[1, 2, 3], &[], -1), &[1, 2], &[1]);
        let after_registration = partition_change(&fenced_leader, vec![], &[1], |_| false, elr(2));
        assert_eq!(
            after_registration,
            change(None, None, Some(&[2]), None, None)
        );
        let p2 = with_elr(p(&[1, 2, 3], &[], -1), &[2], &[1]);
        assert_eq!(
            partition_change(&p2, vec![], &[], |b| b == 1, elr(2)),
            None,
            "1 is back but may not lead: 2 is eligible, and complete"
        );
        assert_eq!(
            partition_change(&p2, vec![], &[], |_| true, elr(2)),
            change(
                Some(&[2]),
                Some(2),
                Some(&[]),
                Some(&[]),
                Some(Election::EligibleLeaderReplicas)
            )
        );
        let legacy = p(&[1, 2, 3], &[1], -1);
        assert_eq!(
            partition_change(&legacy, vec![1], &[], |b| b == 1, LEGACY),
            change(None, Some(1), None, None, Some(Election::Isr)),
            "before KIP-966 the restarted last member leads"
        );
    }
}
