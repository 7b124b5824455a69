//! The one computation behind every high watermark: the largest offset that enough members
//! are known to have.
//!
//! Kafka replication and the KRaft quorum look different but commit the same way. The leader
//! knows, for each member, an offset below which that member has every record: its own log
//! end offset (or, in KRaft, the end of what it has fsynced), and each follower's last fetch
//! offset (a follower fetching at offset 7 has offsets 0..7). A record is committed once
//! `required` members have it:
//!
//! - Kafka replication: `required` = every member of the (maximal) ISR, leader included — the
//!   high watermark is the *smallest* offset among them;
//! - KRaft: `required` = a majority of the voters — the high watermark is the offset that the
//!   fastest majority has all reached.
//!
//! Sort the offsets from highest to lowest; the `required`-th one is the answer. With offsets
//! `[12, 10, 7]` (leader 12, followers 10 and 7): all three have 7, two have 10, one has 12.
//!
//! ```text
//! sorted desc   12  10   7
//! required       1   2   3
//! committed     12  10   7
//! ```
//!
//! This is etcd's `quorum/majority.go` `CommittedIndex` (which sorts ascending and counts from
//! the other end). A member not heard from yet has [`UNKNOWN_OFFSET`] (-1) and holds the answer
//! down to -1 when it is needed: nothing new can be committed until it speaks. The caller then
//! keeps its old high watermark, because a high watermark never moves backwards: see
//! [`high_watermark_advances`].

/// A member whose offset the leader does not know yet (Kafka's `UnifiedLog.UnknownOffset`).
pub const UNKNOWN_OFFSET: i64 = -1;

/// The largest offset that at least `required` of the members have reached, where
/// `member_offsets[i]` is the offset below which member `i` holds every record (its log end
/// offset or its fetch offset; [`UNKNOWN_OFFSET`] if not known).
///
/// Example: `committed_offset(&[12, 10, 7], 2) == 10` (two members have offsets 0..10);
/// `committed_offset(&[12, UNKNOWN_OFFSET], 2) == UNKNOWN_OFFSET` (the second member must
/// speak first).
pub fn committed_offset(member_offsets: &[i64], required: usize) -> i64 {
    debug_assert!(required >= 1, "a commit needs at least one member");
    debug_assert!(
        required <= member_offsets.len(),
        "{required} members required, only {} known",
        member_offsets.len()
    );
    debug_assert!(
        member_offsets.iter().all(|o| *o >= UNKNOWN_OFFSET),
        "offsets are >= -1: {member_offsets:?}"
    );
    let mut sorted = member_offsets.to_vec();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    sorted[required - 1]
}

/// Whether a freshly computed `candidate` should replace the `current` high watermark: only
/// when it is larger. A candidate can be lower — a follower restarted with a lost disk and
/// fetches from an older offset, or the voter set changed — and then the leader keeps what it
/// had, because consumers may already have read up to it (Kafka's
/// `UnifiedLog.maybeIncrementHighWatermark`, `LeaderState.maybeUpdateHighWatermark`).
///
/// Example: `high_watermark_advances(10, 5) == false`, `high_watermark_advances(10, 11)`.
pub fn high_watermark_advances(current: i64, candidate: i64) -> bool {
    debug_assert!(current >= UNKNOWN_OFFSET && candidate >= UNKNOWN_OFFSET);
    candidate > current
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    struct Case {
        name: &'static str,
        offsets: &'static [i64],
        required: usize,
        expected: i64,
    }

    /// Reference: etcd-io/raft `quorum/testdata/majority_commit.txt` (the idea: the committed
    /// index of a majority config) and Kafka's `PartitionTest.scala` / `LeaderStateTest.java`
    /// (the same rule with required = all ISR members / a majority of voters).
    #[test]
    fn committed_offset_table() {
        #[rustfmt::skip]
        let cases = [
            Case { name: "one member commits what it has", offsets: &[7], required: 1, expected: 7 },
            Case { name: "all of three: the smallest", offsets: &[12, 10, 7], required: 3, expected: 7 },
            Case { name: "two of three: the middle", offsets: &[12, 10, 7], required: 2, expected: 10 },
            Case { name: "order does not matter", offsets: &[7, 12, 10], required: 2, expected: 10 },
            Case { name: "one of three: the largest", offsets: &[12, 10, 7], required: 1, expected: 12 },
            Case { name: "a needed unknown member holds it at -1", offsets: &[12, UNKNOWN_OFFSET], required: 2, expected: UNKNOWN_OFFSET },
            Case { name: "an unneeded unknown member does not", offsets: &[12, 10, UNKNOWN_OFFSET], required: 2, expected: 10 },
            Case { name: "ties count once each", offsets: &[5, 5, 5, 3, 3], required: 3, expected: 5 },
            Case { name: "majority of five", offsets: &[20, 18, 15, 9, 0], required: 3, expected: 15 },
        ];
        for c in cases {
            assert_eq!(
                committed_offset(c.offsets, c.required),
                c.expected,
                "case {}",
                c.name
            );
        }
    }

    /// Reference: Kafka's `LeaderStateTest.java` testNonMonotonicHighWatermarkUpdate (a
    /// follower that lost its disk fetches from 5 after the HW reached 10: the HW stays).
    #[test]
    fn high_watermark_never_moves_back() {
        let cases = [
            ("a lower candidate is ignored", 10, 5, false),
            ("an equal candidate changes nothing", 10, 10, false),
            ("a higher candidate advances", 10, 11, true),
            ("the first high watermark", UNKNOWN_OFFSET, 0, true),
            (
                "an unknown candidate never advances",
                0,
                UNKNOWN_OFFSET,
                false,
            ),
        ];
        for (name, current, candidate, expected) in cases {
            assert_eq!(
                high_watermark_advances(current, candidate),
                expected,
                "case {name}"
            );
        }
    }

    fn members() -> impl Strategy<Value = (Vec<i64>, usize)> {
        prop::collection::vec(-1i64..100, 1..8).prop_flat_map(|v| {
            let n = v.len();
            (Just(v), 1..=n)
        })
    }

    proptest! {
        /// At least `required` members have the committed offset, and fewer than `required`
        /// have anything beyond it: it is the largest such offset.
        #[test]
        fn committed_offset_is_the_largest_held_by_enough((offsets, required) in members()) {
            let c = committed_offset(&offsets, required);
            prop_assert!(offsets.iter().filter(|o| **o >= c).count() >= required);
            prop_assert!(offsets.iter().filter(|o| **o > c).count() < required);
        }

        /// A member getting further never lowers the committed offset.
        #[test]
        fn committed_offset_is_monotone((offsets, required) in members(), who in 0usize..8, by in 0i64..50) {
            let who = who % offsets.len();
            let mut further = offsets.clone();
            further[who] += by;
            prop_assert!(committed_offset(&further, required) >= committed_offset(&offsets, required));
        }

        /// Requiring more members never raises it.
        #[test]
        fn more_required_is_stricter((offsets, required) in members()) {
            prop_assume!(required < offsets.len());
            prop_assert!(committed_offset(&offsets, required + 1) <= committed_offset(&offsets, required));
        }
    }
}
