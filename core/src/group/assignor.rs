//! Partition assignors: who in a consumer group reads which partition.
//!
//! In Kafka the group *leader* (a member, chosen by the coordinator) computes the assignment
//! from every member's subscription and the partition counts, with the strategy the members
//! agreed on (`partition.assignment.strategy`):
//! - **range** (`RangeAssignor`): per topic, consecutive ranges of partitions to members in
//!   member-id order; the first `partitions % members` members get one more;
//! - **roundrobin** (`RoundRobinAssignor`): all partitions of all topics, in order, dealt to
//!   members in turn (skipping members not subscribed to the topic);
//! - **sticky** (`StickyAssignor`): balanced like round robin, but every member keeps as many
//!   of the partitions it already owns as balance allows, so a rebalance moves few;
//! - **cooperative-sticky** (KIP-429): the sticky target, reached in two rebalances — a
//!   partition that changes owner is first only revoked from its old owner, and assigned to its
//!   new owner in the next rebalance, so no partition is ever owned by two members at once.

use crate::ids::TopicPartition;
use std::collections::{BTreeMap, BTreeSet};

/// What the leader knows about one member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// The member id.
    pub id: String,
    /// Topics it subscribes to.
    pub topics: BTreeSet<String>,
    /// Partitions it owned before this rebalance (sticky and cooperative-sticky use them).
    pub owned: Vec<TopicPartition>,
}

/// An assignment: member id → its partitions, in order.
pub type Assignment = BTreeMap<String, Vec<TopicPartition>>;

fn empty(members: &[Member]) -> Assignment {
    members.iter().map(|m| (m.id.clone(), Vec::new())).collect()
}

/// `RangeAssignor`.
pub fn range(members: &[Member], partitions: &BTreeMap<String, i32>) -> Assignment {
    let mut assignment = empty(members);
    for (topic, count) in partitions {
        let mut subscribed: Vec<&Member> = members
            .iter()
            .filter(|m| m.topics.contains(topic))
            .collect();
        subscribed.sort_by(|a, b| a.id.cmp(&b.id));
        if subscribed.is_empty() {
            continue;
        }
        let n = subscribed.len() as i32;
        let (per, extra) = (count / n, count % n);
        let mut next = 0;
        for (i, m) in subscribed.iter().enumerate() {
            let take = per + i32::from((i as i32) < extra);
            let list = assignment.entry(m.id.clone()).or_default();
            list.extend((next..next + take).map(|p| TopicPartition::new(topic.as_str(), p)));
            next += take;
        }
    }
    assignment
}

/// `RoundRobinAssignor`.
pub fn round_robin(members: &[Member], partitions: &BTreeMap<String, i32>) -> Assignment {
    let mut assignment = empty(members);
    let mut sorted: Vec<&Member> = members.iter().collect();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    if sorted.is_empty() {
        return assignment;
    }
    let mut turn = 0;
    for (topic, count) in partitions {
        for p in 0..*count {
            // Deal to the next member in turn that subscribes to this topic.
            for _ in 0..sorted.len() {
                let m = sorted[turn % sorted.len()];
                turn += 1;
                if m.topics.contains(topic) {
                    assignment
                        .entry(m.id.clone())
                        .or_default()
                        .push(TopicPartition::new(topic.as_str(), p));
                    break;
                }
            }
        }
    }
    assignment
}

/// `StickyAssignor` (for members with the same subscriptions; others are served in a second,
/// round-robin pass): balanced within one partition, keeping what members already own.
pub fn sticky(members: &[Member], partitions: &BTreeMap<String, i32>) -> Assignment {
    let all: Vec<TopicPartition> = partitions
        .iter()
        .flat_map(|(t, n)| (0..*n).map(move |p| TopicPartition::new(t.as_str(), p)))
        .collect();
    let mut sorted: Vec<&Member> = members.iter().collect();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    let mut assignment = empty(members);
    if sorted.is_empty() {
        return assignment;
    }
    let subscribed = |m: &Member, tp: &TopicPartition| m.topics.contains(&*tp.topic);
    // Quotas: the first `all % members` members (by id) may hold one more.
    let (per, extra) = (all.len() / sorted.len(), all.len() % sorted.len());
    let quota: BTreeMap<&str, usize> = sorted
        .iter()
        .enumerate()
        .map(|(i, m)| (m.id.as_str(), per + usize::from(i < extra)))
        .collect();
    // Keep owned partitions (each only once, only if it still exists and is subscribed),
    // within quota.
    let mut taken: BTreeSet<TopicPartition> = BTreeSet::new();
    for m in &sorted {
        let list = assignment.entry(m.id.clone()).or_default();
        for tp in &m.owned {
            if list.len() < quota[m.id.as_str()]
                && all.contains(tp)
                && subscribed(m, tp)
                && taken.insert(tp.clone())
            {
                list.push(tp.clone());
            }
        }
    }
    // Give the rest to the members with the most room, in partition order.
    for tp in all.iter().filter(|tp| !taken.contains(*tp)) {
        let target = sorted.iter().filter(|m| subscribed(m, tp)).max_by_key(|m| {
            let room = quota[m.id.as_str()] as i64 - assignment[&m.id].len() as i64;
            // Most room first; ties go to the smallest member id.
            (room, std::cmp::Reverse(m.id.clone()))
        });
        if let Some(m) = target {
            assignment.entry(m.id.clone()).or_default().push(tp.clone());
        }
    }
    for list in assignment.values_mut() {
        list.sort();
    }
    assignment
}

/// KIP-429's first round: from the sticky `target`, withhold every partition that changes
/// owner. Its old owner revokes it now; it is assigned in the next rebalance.
pub fn cooperative_first_round(members: &[Member], target: &Assignment) -> Assignment {
    // Every member claiming each partition (a stale claim may overlap a real one).
    let mut owners: BTreeMap<&TopicPartition, BTreeSet<&str>> = BTreeMap::new();
    for m in members {
        for tp in &m.owned {
            owners.entry(tp).or_default().insert(m.id.as_str());
        }
    }
    target
        .iter()
        .map(|(member, list)| {
            let keep = list
                .iter()
                .filter(|tp| {
                    owners
                        .get(tp)
                        .is_none_or(|o| o.iter().all(|id| *id == member.as_str()))
                })
                .cloned()
                .collect();
            (member.clone(), keep)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn member(id: &str, topics: &[&str], owned: &[(&str, i32)]) -> Member {
        Member {
            id: id.into(),
            topics: topics.iter().map(|t| t.to_string()).collect(),
            owned: owned
                .iter()
                .map(|(t, p)| TopicPartition::new(*t, *p))
                .collect(),
        }
    }

    fn names(a: &Assignment, id: &str) -> Vec<String> {
        a[id].iter().map(|tp| tp.to_string()).collect()
    }

    /// Reference: Kafka's RangeAssignorTest (3 partitions over 2 consumers: 2 and 1, per topic).
    #[test]
    fn range_gives_the_first_members_one_more_per_topic() {
        let members = [
            member("c0", &["t1", "t2"], &[]),
            member("c1", &["t1", "t2"], &[]),
        ];
        let partitions = [("t1".to_string(), 3), ("t2".to_string(), 3)].into();
        let a = range(&members, &partitions);
        assert_eq!(names(&a, "c0"), ["t1-0", "t1-1", "t2-0", "t2-1"]);
        assert_eq!(names(&a, "c1"), ["t1-2", "t2-2"]);
    }

    /// Reference: Kafka's RoundRobinAssignorTest.
    #[test]
    fn round_robin_deals_all_partitions_in_turn() {
        let members = [
            member("c0", &["t1", "t2"], &[]),
            member("c1", &["t1", "t2"], &[]),
        ];
        let partitions = [("t1".to_string(), 3), ("t2".to_string(), 3)].into();
        let a = round_robin(&members, &partitions);
        assert_eq!(names(&a, "c0"), ["t1-0", "t1-2", "t2-1"]);
        assert_eq!(names(&a, "c1"), ["t1-1", "t2-0", "t2-2"]);
    }

    /// G1: two members share 4 partitions; a third joins. Sticky moves only what balance
    /// needs; cooperative withholds the moved partition for one rebalance.
    #[test]
    fn a_third_member_takes_one_partition_and_nobody_else_moves() {
        let members = [
            member("a", &["t"], &[("t", 0), ("t", 1)]),
            member("b", &["t"], &[("t", 2), ("t", 3)]),
            member("c", &["t"], &[]),
        ];
        let partitions = [("t".to_string(), 4)].into();
        let target = sticky(&members, &partitions);
        assert_eq!(names(&target, "a"), ["t-0", "t-1"]);
        assert_eq!(names(&target, "b"), ["t-2"]);
        assert_eq!(names(&target, "c"), ["t-3"]);
        let first = cooperative_first_round(&members, &target);
        assert_eq!(names(&first, "b"), ["t-2"], "b gives up t-3");
        assert!(
            first["c"].is_empty(),
            "c gets t-3 only in the second rebalance"
        );
    }

    fn arb_group() -> impl Strategy<Value = (Vec<Member>, BTreeMap<String, i32>)> {
        (1usize..6, 1i32..12, any::<u64>()).prop_map(|(n, count, salt)| {
            let partitions: BTreeMap<String, i32> = [("t".to_string(), count)].into();
            let members = (0..n)
                .map(|i| {
                    // Some previous ownership, possibly overlapping or stale.
                    let owned = (0..count + 2)
                        .filter(|p| (salt >> ((i as i32 * 7 + p) % 64)) & 1 == 1)
                        .map(|p| TopicPartition::new("t", p))
                        .collect();
                    Member {
                        id: format!("m{i}"),
                        topics: ["t".to_string()].into(),
                        owned,
                    }
                })
                .collect();
            (members, partitions)
        })
    }

    /// Groups whose previous ownership is valid: each partition had at most one owner.
    fn arb_valid_group() -> impl Strategy<Value = (Vec<Member>, BTreeMap<String, i32>)> {
        (
            1usize..6,
            1i32..12,
            proptest::collection::vec(any::<u8>(), 12),
        )
            .prop_map(|(n, count, owners)| {
                let partitions: BTreeMap<String, i32> = [("t".to_string(), count)].into();
                let members = (0..n)
                    .map(|i| Member {
                        id: format!("m{i}"),
                        topics: ["t".to_string()].into(),
                        owned: (0..count)
                            .filter(|p| owners[*p as usize] as usize % (n + 1) == i)
                            .map(|p| TopicPartition::new("t", p))
                            .collect(),
                    })
                    .collect();
                (members, partitions)
            })
    }

    proptest! {
        /// Sticky keeps what each member owned, up to its fair share.
        #[test]
        fn sticky_keeps_owned_partitions_up_to_the_fair_share((members, partitions) in arb_valid_group()) {
            let a = sticky(&members, &partitions);
            let floor = partitions["t"] as usize / members.len();
            for m in &members {
                let kept = a[&m.id].iter().filter(|tp| m.owned.contains(tp)).count();
                prop_assert!(kept >= m.owned.len().min(floor), "{} kept {kept} of {:?}", m.id, m.owned);
            }
        }

        /// Every assignor assigns every partition exactly once, to a subscribed member.
        #[test]
        fn each_partition_has_exactly_one_owner((members, partitions) in arb_group()) {
            for a in [range(&members, &partitions), round_robin(&members, &partitions), sticky(&members, &partitions)] {
                let mut seen = BTreeSet::new();
                for list in a.values() {
                    for tp in list {
                        prop_assert!(seen.insert(tp.clone()), "{tp} assigned twice");
                    }
                }
                prop_assert_eq!(seen.len() as i32, partitions["t"]);
            }
        }

        /// Sticky is balanced within one partition, and a member keeps what it owned up to its
        /// share.
        #[test]
        fn sticky_is_balanced_and_keeps_owned_partitions((members, partitions) in arb_group()) {
            let a = sticky(&members, &partitions);
            let sizes: Vec<usize> = a.values().map(Vec::len).collect();
            prop_assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1);
            let first = cooperative_first_round(&members, &a);
            // In the first cooperative round nobody receives a partition another member owned.
            for (id, list) in &first {
                for tp in list {
                    let other = members.iter().any(|m| &m.id != id && m.owned.contains(tp));
                    prop_assert!(!other, "{tp} given to {id} while another member owns it");
                }
            }
        }
    }
}
