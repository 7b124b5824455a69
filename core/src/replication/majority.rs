//! How many voters make a majority, and when an election is decided.
//!
//! A KRaft quorum of `n` voters needs `n / 2 + 1` of them for anything to count: to elect a
//! leader and to commit a record. Two majorities of the same voter set always share at least
//! one voter, and that shared voter is what carries a committed record (or a vote already
//! cast) from one leader to the next. This is why 3 voters survive 1 failure and 5 survive 2,
//! while 4 voters survive no more failures than 3 do.
//!
//! ```text
//! voters  majority  failures tolerated
//!   1        1          0
//!   2        2          0
//!   3        2          1
//!   4        3          1
//!   5        3          2
//! ```

/// The number of voters that form a majority of `voters`: `voters / 2 + 1` (Kafka's
/// `CandidateState.majoritySize`, etcd's `MajorityConfig` quorum).
///
/// Example: `majority(3) == 2`, `majority(4) == 3`, `majority(5) == 3`.
pub fn majority(voters: usize) -> usize {
    debug_assert!(voters >= 1, "a quorum has at least one voter");
    voters / 2 + 1
}

/// Where an election stands, given the votes recorded so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VoteResult {
    /// A majority granted its vote: the candidate becomes leader.
    Won,
    /// So many voters refused that a majority of grants is out of reach: back off and retry
    /// in a later epoch.
    Lost,
    /// Neither yet: keep waiting for the voters not heard from.
    Pending,
}

/// Where an election among `voters` stands with `granted` votes for the candidate (its own
/// included) and `rejected` votes against. Kafka's `CandidateState.isVoteGranted` and
/// `isVoteRejected`; etcd's `MajorityConfig.VoteResult`.
///
/// Example: 3 voters, the candidate voted for itself (1 granted), one voter refused:
/// `vote_result(3, 1, 1) == Pending` — the third voter can still make it 2 of 3.
pub fn vote_result(voters: usize, granted: usize, rejected: usize) -> VoteResult {
    debug_assert!(voters >= 1, "a quorum has at least one voter");
    debug_assert!(
        granted + rejected <= voters,
        "more votes ({granted} granted, {rejected} rejected) than voters ({voters})"
    );
    let needed = majority(voters);
    let unrecorded = voters - granted - rejected;
    if granted >= needed {
        VoteResult::Won
    } else if granted + unrecorded < needed {
        VoteResult::Lost
    } else {
        VoteResult::Pending
    }
}

/// Whether a candidate with `granted` votes (its own included) has won an election among
/// `voters`: granted ≥ majority.
///
/// Example: `election_won(5, 3)` is true, `election_won(4, 2)` is false (a tie is no win).
pub fn election_won(voters: usize, granted: usize) -> bool {
    debug_assert!(granted <= voters, "{granted} votes from {voters} voters");
    granted >= majority(voters)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    struct Case {
        name: &'static str,
        voters: usize,
        granted: usize,
        rejected: usize,
        expected: VoteResult,
    }

    /// Reference: Kafka's `CandidateStateTest.java` (testSingleNodeQuorum,
    /// testTwoNodeQuorumVoteRejected, testTwoNodeQuorumVoteGranted,
    /// testThreeNodeQuorumVoteGranted, testThreeNodeQuorumVoteRejected); the candidate's own
    /// vote is always among the granted ones.
    #[test]
    fn vote_result_table() {
        use VoteResult::*;
        #[rustfmt::skip]
        let cases = [
            Case { name: "testSingleNodeQuorum: own vote wins", voters: 1, granted: 1, rejected: 0, expected: Won },
            Case { name: "testTwoNodeQuorum: waiting for the other", voters: 2, granted: 1, rejected: 0, expected: Pending },
            Case { name: "testTwoNodeQuorumVoteRejected", voters: 2, granted: 1, rejected: 1, expected: Lost },
            Case { name: "testTwoNodeQuorumVoteGranted", voters: 2, granted: 2, rejected: 0, expected: Won },
            Case { name: "testThreeNodeQuorum: own vote only", voters: 3, granted: 1, rejected: 0, expected: Pending },
            Case { name: "testThreeNodeQuorumVoteGranted: one grant is enough", voters: 3, granted: 2, rejected: 0, expected: Won },
            Case { name: "testThreeNodeQuorumVoteGranted: a late rejection changes nothing", voters: 3, granted: 2, rejected: 1, expected: Won },
            Case { name: "testThreeNodeQuorumVoteRejected: one rejection, still hope", voters: 3, granted: 1, rejected: 1, expected: Pending },
            Case { name: "testThreeNodeQuorumVoteRejected: two rejections", voters: 3, granted: 1, rejected: 2, expected: Lost },
            Case { name: "five voters, three grants", voters: 5, granted: 3, rejected: 0, expected: Won },
            Case { name: "five voters, three rejections", voters: 5, granted: 1, rejected: 3, expected: Lost },
            Case { name: "five voters, 2 for and 2 against", voters: 5, granted: 2, rejected: 2, expected: Pending },
            Case { name: "four voters, a tie is lost", voters: 4, granted: 2, rejected: 2, expected: Lost },
        ];
        for c in cases {
            assert_eq!(
                vote_result(c.voters, c.granted, c.rejected),
                c.expected,
                "case {}",
                c.name
            );
            assert_eq!(
                election_won(c.voters, c.granted),
                c.expected == Won,
                "case {} (election_won)",
                c.name
            );
        }
    }

    /// Reference: Raft's quorum sizes (Ongaro's thesis §3.6; etcd-io/raft quorum/majority.go).
    #[test]
    fn majority_table() {
        for (voters, expected) in [(1, 1), (2, 2), (3, 2), (4, 3), (5, 3), (6, 4), (7, 4)] {
            assert_eq!(majority(voters), expected, "case {voters} voters");
        }
    }

    proptest! {
        /// Any two majorities of one voter set share a voter; a majority minus one does not
        /// always.
        #[test]
        fn two_majorities_intersect(voters in 1usize..50) {
            let m = majority(voters);
            prop_assert!(m <= voters);
            prop_assert!(2 * m > voters);
            prop_assert!(2 * (m - 1) <= voters);
        }

        /// More grants never make the result worse; more rejections never make it better.
        #[test]
        fn vote_result_is_monotone(
            (voters, granted, rejected) in (2usize..20)
                .prop_flat_map(|v| (Just(v), 0..v))
                .prop_flat_map(|(v, g)| (Just(v), Just(g), 0..v - g))
        ) {
            let rank = |r: VoteResult| match r { VoteResult::Lost => 0, VoteResult::Pending => 1, VoteResult::Won => 2 };
            let now = rank(vote_result(voters, granted, rejected));
            prop_assert!(rank(vote_result(voters, granted + 1, rejected)) >= now);
            prop_assert!(rank(vote_result(voters, granted, rejected + 1)) <= now);
        }
    }
}
