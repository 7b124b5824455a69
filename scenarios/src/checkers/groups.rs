//! The promises of Kafka's consumer groups, over our history.
//!
//! A group hands out partitions in *generations*: each rebalance starts a new one, and only
//! the members of the current generation may commit offsets. That fencing is what keeps a
//! zombie — a member that missed a rebalance — from overwriting the positions of the member
//! that owns its partitions now (Kafka answers it `ILLEGAL_GENERATION` or
//! `UNKNOWN_MEMBER_ID`). The committed offsets are the group's progress: a new owner resumes
//! from them, so they must never move backwards unless a consumer explicitly moved its
//! position back. Each function returns human-readable findings; an empty list means the
//! anomaly did not occur.

use super::history::{CommittedKind, CommittedOffsets, GroupStep, History};
use kafkasim_core::ids::TopicPartition;
use std::collections::{BTreeMap, BTreeSet};

/// `group-ownership`: within one generation of a group, no partition is assigned to two
/// consumers. Owners are consumers, not member ids: a static member that restarts takes its
/// old place under a new member id in the same generation (KIP-345), and the old id is fenced.
pub fn group_ownership(h: &History) -> Vec<String> {
    type Owners<'h> = BTreeMap<&'h str, BTreeSet<&'h str>>;
    let mut owners: BTreeMap<(&str, i32, &TopicPartition), Owners<'_>> = BTreeMap::new();
    for a in &h.assignments {
        for tp in &a.partitions {
            owners
                .entry((a.group.as_str(), a.generation, tp))
                .or_default()
                .entry(a.consumer.as_str())
                .or_default()
                .insert(a.member_id.as_str());
        }
    }
    owners
        .into_iter()
        .filter(|(_, consumers)| consumers.len() > 1)
        .map(|((group, generation, tp), consumers)| {
            let who: Vec<String> = consumers
                .iter()
                .map(|(c, ids)| {
                    let ids: Vec<&str> = ids.iter().copied().collect();
                    format!("{c} ({})", ids.join(", "))
                })
                .collect();
            format!(
                "{group} {tp} owned by {} in generation {generation}",
                who.join(" and ")
            )
        })
        .collect()
}

/// `partition@offset, ...`, as findings show a commit.
fn offsets_text(offsets: &[(TopicPartition, i64)]) -> String {
    offsets
        .iter()
        .map(|(tp, o)| format!("{tp}@{o}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A group's current generation as the checker follows it.
struct Current<'a> {
    generation: i32,
    /// The members it started with.
    members: Vec<&'a str>,
    /// Those that left since, and why.
    left: BTreeMap<&'a str, &'a str>,
}

/// `fenced-commit`: a coordinator appended a commit that Kafka would have refused — from a
/// generation that is not the group's latest one, or from a member that is not (or no
/// longer) in it. The latest generation is the last one any coordinator started, since a new
/// coordinator continues the numbering from the log. Commits with a negative generation come
/// from consumers outside any generation (`assign` with a `group.id`) and are not judged.
pub fn fenced_commit(h: &History) -> Vec<String> {
    let mut current: BTreeMap<&str, Current> = BTreeMap::new();
    let mut findings = Vec::new();
    for step in &h.group_order {
        match *step {
            GroupStep::Generation(i) => {
                let g = &h.generations[i];
                current.insert(
                    &g.group,
                    Current {
                        generation: g.generation,
                        members: g.members.iter().map(String::as_str).collect(),
                        left: BTreeMap::new(),
                    },
                );
            }
            GroupStep::MemberRemoved(i) => {
                let m = &h.members_removed[i];
                if let Some(c) = current.get_mut(m.group.as_str())
                    && c.members.contains(&m.member.as_str())
                {
                    c.left.insert(&m.member, &m.reason);
                    // A static member's new id takes the old one's place in the generation.
                    if let Some(new) = &m.replaced_by {
                        c.members.push(new.as_str());
                    }
                }
            }
            GroupStep::CommitAppended(i) => {
                let c = &h.commits_appended[i];
                if c.generation < 0 {
                    continue;
                }
                let head = format!(
                    "{}: {} committed {} with generation {}",
                    c.group,
                    c.member,
                    offsets_text(&c.offsets),
                    c.generation
                );
                let finding = match current.get(c.group.as_str()) {
                    None => Some(format!("{head} before any generation had started")),
                    Some(cur) if cur.generation != c.generation => Some(format!(
                        "{head} while generation {} [{}] was current",
                        cur.generation,
                        cur.members.join(", ")
                    )),
                    Some(cur) if !cur.members.contains(&c.member.as_str()) => Some(format!(
                        "{head}, of which it is not a member [{}]",
                        cur.members.join(", ")
                    )),
                    Some(cur) => cur
                        .left
                        .get(c.member.as_str())
                        .map(|reason| format!("{head} after it left the group ({reason})")),
                };
                findings.extend(finding.map(|f| format!("{f} (appended by {})", c.node)));
            }
            GroupStep::Committed(_) | GroupStep::Reset(_) => {}
        }
    }
    findings
}

/// The last committed value of one (group, partition), and what came since.
struct Last<'a> {
    offset: i64,
    from: &'a CommittedOffsets,
    /// The lowest position any consumer reset this partition to since then.
    reset_floor: Option<i64>,
}

/// How a committed value came about, for findings.
fn origin(c: &CommittedOffsets) -> String {
    match c.kind {
        CommittedKind::Committed => format!("{} committed it", c.node),
        CommittedKind::Loaded => format!("{} loaded the group", c.node),
    }
}

/// `commit-monotonic`: a group's committed offset of a partition, as coordinators commit it
/// and as new coordinators load it from `__consumer_offsets`, never decreases — unless a
/// consumer reset its position of that partition between the two values, to at most the new
/// one (an explicit reset that explains it; a consumer resuming from the committed offset
/// cannot explain a lower one).
pub fn commit_monotonic(h: &History) -> Vec<String> {
    let mut last: BTreeMap<(&str, &TopicPartition), Last> = BTreeMap::new();
    let mut findings = Vec::new();
    for step in &h.group_order {
        match *step {
            GroupStep::Reset(i) => {
                let (_, tp, _, offset) = &h.resets[i];
                // Resets are per consumer, not per group: any consumer moving this partition
                // back counts for every group that committed it.
                for ((_, t), l) in last.iter_mut() {
                    if *t == tp {
                        l.reset_floor = Some(l.reset_floor.map_or(*offset, |f| f.min(*offset)));
                    }
                }
            }
            GroupStep::Committed(i) => {
                let c = &h.committed_offsets[i];
                for (tp, offset) in &c.offsets {
                    let key = (c.group.as_str(), tp);
                    if let Some(prev) = last.get(&key)
                        && *offset < prev.offset
                        && prev.reset_floor.is_none_or(|f| f > *offset)
                    {
                        findings.push(format!(
                            "{} {tp}: committed offset went from {} ({} at {}) to {offset} at {} ({})",
                            c.group,
                            prev.offset,
                            origin(prev.from),
                            prev.from.time,
                            c.time,
                            origin(c)
                        ));
                    }
                    last.insert(
                        key,
                        Last {
                            offset: *offset,
                            from: c,
                            reset_floor: None,
                        },
                    );
                }
            }
            GroupStep::Generation(_)
            | GroupStep::MemberRemoved(_)
            | GroupStep::CommitAppended(_) => {}
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::history::{CommitAppended, GenerationStarted, MemberRemoved};
    use kafkasim_core::time::Instant;

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    fn tp(p: i32) -> TopicPartition {
        TopicPartition::new("orders", p)
    }

    fn generation(h: &mut History, ms: u64, generation: i32, members: &[&str]) {
        h.push_generation(GenerationStarted {
            time: at(ms),
            node: "broker-1".into(),
            group: "billing".into(),
            generation,
            members: members.iter().map(|m| m.to_string()).collect(),
        });
    }

    fn commit(h: &mut History, ms: u64, member: &str, generation: i32, offset: i64) {
        h.push_commit_appended(CommitAppended {
            time: at(ms),
            node: "broker-1".into(),
            group: "billing".into(),
            member: member.into(),
            generation,
            offsets: vec![(tp(0), offset)],
        });
    }

    fn committed(h: &mut History, ms: u64, node: &str, kind: CommittedKind, offset: i64) {
        h.push_committed(CommittedOffsets {
            time: at(ms),
            node: node.into(),
            group: "billing".into(),
            offsets: vec![(tp(0), offset), (tp(1), 100)],
            kind,
        });
    }

    fn assigned(h: &mut History, group: &str, consumer: &str, member: &str, generation: i32) {
        h.assignments.push(super::super::history::Assignment {
            group: group.into(),
            consumer: consumer.into(),
            member_id: member.into(),
            generation,
            time: at(1000),
            partitions: vec![tp(0)],
        });
    }

    /// A static member back under a new id commits in the same generation; its old id may
    /// not any more.
    #[test]
    fn a_replaced_static_member_commits_under_its_new_id_only() {
        let mut h = History::default();
        generation(&mut h, 1000, 1, &["billing-a-1-1", "billing-b-1-2"]);
        h.push_member_removed(MemberRemoved {
            time: at(2000),
            node: "broker-1".into(),
            group: "billing".into(),
            member: "billing-a-1-1".into(),
            reason: "replaced by billing-a-1-3".into(),
            replaced_by: Some("billing-a-1-3".into()),
        });
        commit(&mut h, 3000, "billing-a-1-3", 1, 10);
        assert_eq!(fenced_commit(&h), Vec::<String>::new());
        commit(&mut h, 3100, "billing-a-1-1", 1, 11);
        assert_eq!(fenced_commit(&h).len(), 1);
    }

    /// Two consumers of one group own orders-0 in generation 1: found.
    #[test]
    fn two_owners_in_one_generation_are_found() {
        let mut h = History::default();
        assigned(&mut h, "billing", "consumer-1", "member-1-1", 1);
        assigned(&mut h, "billing", "consumer-2", "member-1-2", 1);
        assert_eq!(
            group_ownership(&h),
            vec![
                "billing orders-0 owned by consumer-1 (member-1-1) and consumer-2 (member-1-2) in generation 1"
                    .to_string()
            ]
        );
    }

    /// Two groups each own orders-0 in their generation 1; a static member back under a new
    /// member id keeps its partition in the same generation: nothing to report.
    #[test]
    fn other_groups_and_returning_static_members_are_not_owners_twice() {
        let mut h = History::default();
        assigned(&mut h, "billing", "consumer-1", "billing-a-1-1", 1);
        assigned(&mut h, "audit", "consumer-2", "member-2-1", 1);
        assigned(&mut h, "billing", "consumer-1", "billing-a-1-3", 1);
        assert_eq!(group_ownership(&h), Vec::<String>::new());
    }

    /// Members commit in their own generation; a consumer outside any generation commits
    /// with -1: nothing to report.
    #[test]
    fn commits_of_the_current_generation_pass() {
        let mut h = History::default();
        generation(&mut h, 1000, 1, &["member-1-1"]);
        commit(&mut h, 2000, "member-1-1", 1, 10);
        generation(&mut h, 3000, 2, &["member-1-1", "member-1-2"]);
        commit(&mut h, 4000, "member-1-2", 2, 20);
        commit(&mut h, 4500, "", -1, 5);
        assert_eq!(fenced_commit(&h), Vec::<String>::new());
    }

    /// The zombie: a member of generation 2 commits after generation 3 started without it.
    #[test]
    fn a_commit_from_an_old_generation_is_found() {
        let mut h = History::default();
        generation(&mut h, 1000, 2, &["member-1-1", "member-1-2"]);
        generation(&mut h, 3000, 3, &["member-1-2", "member-1-3"]);
        commit(&mut h, 3500, "member-1-1", 2, 42);
        assert_eq!(
            fenced_commit(&h),
            vec![
                "billing: member-1-1 committed orders-0@42 with generation 2 while generation 3 \
                 [member-1-2, member-1-3] was current (appended by broker-1)"
            ]
        );
    }

    /// The right generation number, but from a member that is not in it or has left it.
    #[test]
    fn a_commit_from_a_non_member_is_found() {
        let mut h = History::default();
        generation(&mut h, 1000, 3, &["member-1-2", "member-1-3"]);
        commit(&mut h, 2000, "member-1-1", 3, 42);
        h.push_member_removed(MemberRemoved {
            time: at(2500),
            node: "broker-1".into(),
            group: "billing".into(),
            member: "member-1-3".into(),
            reason: "session.timeout.ms expired".into(),
            replaced_by: None,
        });
        commit(&mut h, 3000, "member-1-3", 3, 43);
        commit(&mut h, 3000, "member-1-2", 3, 44);
        assert_eq!(
            fenced_commit(&h),
            vec![
                "billing: member-1-1 committed orders-0@42 with generation 3, of which it is \
                 not a member [member-1-2, member-1-3] (appended by broker-1)",
                "billing: member-1-3 committed orders-0@43 with generation 3 after it left the \
                 group (session.timeout.ms expired) (appended by broker-1)",
            ]
        );
    }

    #[test]
    fn a_commit_before_any_generation_is_found() {
        let mut h = History::default();
        commit(&mut h, 500, "member-1-1", 1, 7);
        assert_eq!(fenced_commit(&h).len(), 1);
    }

    /// Offsets grow; a new coordinator loads the same value; a consumer resets explicitly to
    /// 0 and commits lower: nothing to report.
    #[test]
    fn growing_offsets_and_explicit_resets_pass() {
        let mut h = History::default();
        committed(&mut h, 1000, "broker-1", CommittedKind::Committed, 10);
        committed(&mut h, 2000, "broker-1", CommittedKind::Committed, 42);
        committed(&mut h, 3000, "broker-2", CommittedKind::Loaded, 42);
        h.push_reset("consumer-1", tp(0), at(3500), 0);
        committed(&mut h, 4000, "broker-2", CommittedKind::Committed, 17);
        assert_eq!(commit_monotonic(&h), Vec::<String>::new());
    }

    /// The new coordinator's log lacks the last commit: the group goes back to 17.
    #[test]
    fn a_load_that_goes_back_is_found() {
        let mut h = History::default();
        committed(&mut h, 1000, "broker-1", CommittedKind::Committed, 42);
        committed(&mut h, 12_345, "broker-2", CommittedKind::Loaded, 17);
        assert_eq!(
            commit_monotonic(&h),
            vec![
                "billing orders-0: committed offset went from 42 (broker-1 committed it at \
                 1.000s) to 17 at 12.345s (broker-2 loaded the group)"
            ]
        );
    }

    /// Resets that do not explain the drop: one before the first value, one to the committed
    /// offset itself (a new owner resuming), one of another partition.
    #[test]
    fn resets_that_do_not_explain_a_drop_do_not_excuse_it() {
        let mut h = History::default();
        h.push_reset("consumer-1", tp(0), at(500), 0);
        committed(&mut h, 1000, "broker-1", CommittedKind::Committed, 42);
        h.push_reset("consumer-2", tp(0), at(1500), 42);
        h.push_reset("consumer-2", tp(1), at(1600), 0);
        committed(&mut h, 2000, "broker-1", CommittedKind::Committed, 17);
        assert_eq!(commit_monotonic(&h).len(), 1);
    }
}
