use super::*;
use proptest::prelude::*;

/// `replica.lag.time.max.ms` in Kafka's `ReplicaTest.scala`.
const LAG_MAX: Duration = Duration::from_millis(30_000);

fn ms(t: u64) -> Instant {
    Instant::from_millis(t)
}

/// One fetch of a sequence: at `time_ms`, the follower fetches at `fetch_offset` while the
/// leader's log ends at `leader_log_end_offset`; afterwards `last_caught_up_ms` is expected.
struct Fetch {
    time_ms: u64,
    fetch_offset: i64,
    leader_log_end_offset: i64,
    last_caught_up_ms: u64,
}

struct FetchCase {
    name: &'static str,
    start: FollowerFetchState,
    fetches: &'static [Fetch],
}

/// Reference: Kafka's `ReplicaTest.scala` testUpdateFetchState (MockTime does not move there;
/// here each fetch gets its own time so that "which fetch's time" is visible), and
/// `PartitionTest.scala` testShouldNotShrinkIsrIfPreviousFetchIsCaughtUp,
/// testShouldNotShrinkIsrIfFollowerCaughtUpToLogEnd, testIsrExpansion.
#[test]
fn last_caught_up_table() {
    let in_sync_at_zero = FollowerFetchState {
        last_caught_up_time: ms(0),
        ..FollowerFetchState::UNKNOWN
    };
    #[rustfmt::skip]
    let cases = [
        FetchCase {
            name: "testUpdateFetchState",
            start: FollowerFetchState::UNKNOWN,
            fetches: &[
                Fetch { time_ms: 100, fetch_offset: 5, leader_log_end_offset: 10, last_caught_up_ms: 0 },
                // 10 >= the leader's end at the previous fetch: caught up as of that fetch.
                Fetch { time_ms: 200, fetch_offset: 10, leader_log_end_offset: 15, last_caught_up_ms: 100 },
                Fetch { time_ms: 300, fetch_offset: 15, leader_log_end_offset: 15, last_caught_up_ms: 300 },
            ],
        },
        FetchCase {
            name: "testShouldNotShrinkIsrIfPreviousFetchIsCaughtUp",
            start: in_sync_at_zero,
            fetches: &[
                Fetch { time_ms: 5_000, fetch_offset: 5, leader_log_end_offset: 10, last_caught_up_ms: 0 },
                Fetch { time_ms: 10_001, fetch_offset: 10, leader_log_end_offset: 15, last_caught_up_ms: 5_000 },
            ],
        },
        FetchCase {
            name: "testShouldNotShrinkIsrIfFollowerCaughtUpToLogEnd",
            start: in_sync_at_zero,
            fetches: &[Fetch { time_ms: 0, fetch_offset: 10, leader_log_end_offset: 10, last_caught_up_ms: 0 }],
        },
        FetchCase {
            name: "testIsrExpansion: a follower outside the ISR catches up",
            start: FollowerFetchState::UNKNOWN,
            fetches: &[
                Fetch { time_ms: 1, fetch_offset: 3, leader_log_end_offset: 10, last_caught_up_ms: 0 },
                Fetch { time_ms: 2, fetch_offset: 10, leader_log_end_offset: 10, last_caught_up_ms: 2 },
            ],
        },
        FetchCase {
            name: "falling behind again keeps the old caught-up time",
            start: FollowerFetchState::UNKNOWN,
            fetches: &[
                Fetch { time_ms: 1, fetch_offset: 10, leader_log_end_offset: 10, last_caught_up_ms: 1 },
                Fetch { time_ms: 2, fetch_offset: 10, leader_log_end_offset: 20, last_caught_up_ms: 1 },
                Fetch { time_ms: 3, fetch_offset: 12, leader_log_end_offset: 30, last_caught_up_ms: 1 },
            ],
        },
    ];
    for c in cases {
        let mut state = c.start;
        for (i, f) in c.fetches.iter().enumerate() {
            state = after_follower_fetch(
                &state,
                f.fetch_offset,
                ms(f.time_ms),
                f.leader_log_end_offset,
            );
            assert_eq!(
                state.last_caught_up_time,
                ms(f.last_caught_up_ms),
                "case {} fetch {i}",
                c.name
            );
            assert_eq!(
                state.log_end_offset, f.fetch_offset,
                "case {} fetch {i}",
                c.name
            );
            assert_eq!(
                state.last_fetch_time,
                ms(f.time_ms),
                "case {} fetch {i}",
                c.name
            );
        }
    }
}

/// Reference: Kafka's `ReplicaTest.scala` testResetReplicaStateWhenLeaderIsReelectedAndReplicaIsInSync,
/// ...AndReplicaIsNotInSync, testResetReplicaStateWhenNewLeaderIsElectedAndReplicaIsInSync,
/// ...AndReplicaIsNotInSync (the follower first fetched at 10 with the leader at 10; the
/// reset happens with the leader at 11).
#[test]
fn on_become_leader_table() {
    let fetched = after_follower_fetch(&FollowerFetchState::UNKNOWN, 10, ms(500), 10);
    let now = ms(900);
    let cases = [
        (
            "re-elected, in sync",
            false,
            true,
            FollowerFetchState {
                log_end_offset: 10,
                last_fetch_leader_log_end_offset: 11,
                last_fetch_time: now,
                last_caught_up_time: now,
                broker_epoch: -1,
            },
        ),
        (
            "re-elected, not in sync",
            false,
            false,
            FollowerFetchState {
                log_end_offset: 10,
                last_fetch_leader_log_end_offset: 11,
                last_fetch_time: ms(0),
                last_caught_up_time: ms(0),
                broker_epoch: -1,
            },
        ),
        (
            "new leader, in sync",
            true,
            true,
            FollowerFetchState {
                log_end_offset: UNKNOWN_OFFSET,
                last_fetch_leader_log_end_offset: UNKNOWN_OFFSET,
                last_fetch_time: ms(0),
                last_caught_up_time: now,
                broker_epoch: -1,
            },
        ),
        (
            "new leader, not in sync",
            true,
            false,
            FollowerFetchState {
                log_end_offset: UNKNOWN_OFFSET,
                last_fetch_leader_log_end_offset: UNKNOWN_OFFSET,
                last_fetch_time: ms(0),
                last_caught_up_time: ms(0),
                broker_epoch: -1,
            },
        ),
    ];
    for (name, is_new_leader, in_isr, expected) in cases {
        assert_eq!(
            on_become_leader(&fetched, now, 11, is_new_leader, in_isr),
            expected,
            "case {name}"
        );
    }
}

struct CaughtUpCase {
    name: &'static str,
    state: FollowerFetchState,
    leader_log_end_offset: i64,
    now_ms: u64,
    expected: bool,
}

/// Reference: Kafka's `ReplicaTest.scala` testIsCaughtUpWhenReplicaIsCaughtUpToLogEnd,
/// testIsCaughtUpWhenReplicaIsNotCaughtUpToLogEnd (MockTime starts at a wall-clock time, here
/// t = 1000 s).
#[test]
fn is_caught_up_table() {
    let start = 1_000_000;
    let at_end = after_follower_fetch(&FollowerFetchState::UNKNOWN, 10, ms(start), 10);
    let behind = after_follower_fetch(&FollowerFetchState::UNKNOWN, 5, ms(start), 10);
    let reached_previous_end = after_follower_fetch(&behind, 10, ms(start), 15);
    let late = start + 30_001;
    #[rustfmt::skip]
    let cases = [
        CaughtUpCase { name: "never fetched", state: FollowerFetchState::UNKNOWN, leader_log_end_offset: 10, now_ms: start, expected: false },
        CaughtUpCase { name: "fetched at the log end", state: at_end, leader_log_end_offset: 10, now_ms: start, expected: true },
        CaughtUpCase { name: "at the log end, long ago, nothing new written", state: at_end, leader_log_end_offset: 10, now_ms: late, expected: true },
        CaughtUpCase { name: "at the log end, long ago, leader moved on", state: at_end, leader_log_end_offset: 11, now_ms: late, expected: false },
        CaughtUpCase { name: "fetched behind the end", state: behind, leader_log_end_offset: 10, now_ms: start, expected: false },
        CaughtUpCase { name: "reached the previous end", state: reached_previous_end, leader_log_end_offset: 16, now_ms: start, expected: true },
        CaughtUpCase { name: "reached the previous end, then lag.max passed", state: reached_previous_end, leader_log_end_offset: 16, now_ms: late, expected: false },
        CaughtUpCase { name: "exactly lag.max ago still counts", state: reached_previous_end, leader_log_end_offset: 16, now_ms: start + 30_000, expected: true },
    ];
    for c in cases {
        assert_eq!(
            is_caught_up(&c.state, c.leader_log_end_offset, ms(c.now_ms), LAG_MAX),
            c.expected,
            "case {}",
            c.name
        );
    }
}

struct ShrinkCase {
    name: &'static str,
    isr: &'static [i32],
    followers: Vec<(i32, FollowerFetchState)>,
    leader_log_end_offset: i64,
    now_ms: u64,
    lag_max: Duration,
    expected: &'static [i32],
}

/// Reference: Kafka's `PartitionTest.scala` testMaybeShrinkIsr (a follower that never fetched
/// is kept for one lag.max after the election, then shrunk), testShouldNotShrinkIsrIfPreviousFetchIsCaughtUp
/// (with the 10 s lag the test was written for: KIP-537 later raised the default to 30 s),
/// testShouldNotShrinkIsrIfFollowerCaughtUpToLogEnd. Leader 0 everywhere.
#[test]
fn out_of_sync_replicas_table() {
    let lag_10s = Duration::from_millis(10_000);
    let elected = on_become_leader(&FollowerFetchState::UNKNOWN, ms(0), 10, true, true);
    let at_end = after_follower_fetch(&elected, 10, ms(0), 10);
    let reached_previous_end = {
        let behind = after_follower_fetch(&elected, 5, ms(5_000), 10);
        after_follower_fetch(&behind, 10, ms(10_001), 15)
    };
    #[rustfmt::skip]
    let cases = [
        ShrinkCase { name: "testMaybeShrinkIsr: just elected", isr: &[0, 1, 2], followers: vec![(1, at_end), (2, elected)], leader_log_end_offset: 10, now_ms: 0, lag_max: LAG_MAX, expected: &[] },
        ShrinkCase { name: "testMaybeShrinkIsr: lag.max later", isr: &[0, 1, 2], followers: vec![(1, at_end), (2, elected)], leader_log_end_offset: 10, now_ms: 30_001, lag_max: LAG_MAX, expected: &[2] },
        ShrinkCase { name: "testShouldNotShrinkIsrIfPreviousFetchIsCaughtUp", isr: &[0, 1], followers: vec![(1, reached_previous_end)], leader_log_end_offset: 15, now_ms: 10_001, lag_max: lag_10s, expected: &[] },
        ShrinkCase { name: "testShouldNotShrinkIsrIfFollowerCaughtUpToLogEnd", isr: &[0, 1], followers: vec![(1, at_end)], leader_log_end_offset: 10, now_ms: 30_001, lag_max: LAG_MAX, expected: &[] },
        ShrinkCase { name: "the same follower once the leader appended", isr: &[0, 1], followers: vec![(1, at_end)], leader_log_end_offset: 11, now_ms: 30_001, lag_max: LAG_MAX, expected: &[1] },
        ShrinkCase { name: "a member the leader has no state for", isr: &[0, 1, 2], followers: vec![(1, at_end)], leader_log_end_offset: 10, now_ms: 0, lag_max: LAG_MAX, expected: &[2] },
        ShrinkCase { name: "only ISR members are judged", isr: &[0], followers: vec![(1, elected)], leader_log_end_offset: 10, now_ms: 30_001, lag_max: LAG_MAX, expected: &[] },
    ];
    for c in cases {
        let followers: BTreeMap<i32, FollowerFetchState> = c.followers.into_iter().collect();
        assert_eq!(
            out_of_sync_replicas(
                0,
                c.isr,
                &followers,
                c.leader_log_end_offset,
                ms(c.now_ms),
                c.lag_max
            ),
            c.expected,
            "case {}",
            c.name
        );
    }
}

/// The leader is never out of sync with itself, even with no state of its own.
#[test]
fn the_leader_is_never_shrunk() {
    let none = BTreeMap::new();
    assert_eq!(
        out_of_sync_replicas(7, &[7], &none, 10, ms(100_000), LAG_MAX),
        Vec::<i32>::new()
    );
}

proptest! {
    /// The caught-up time never goes backwards, never passes the latest fetch, and the
    /// leader's end remembered for rule 2 never shrinks.
    #[test]
    fn fetches_only_move_caught_up_forward(
        fetches in prop::collection::vec((0i64..100, 0i64..100, 0u64..1_000), 1..20)
    ) {
        let mut state = FollowerFetchState::UNKNOWN;
        let mut time = 0;
        for (offset, leader_leo, dt) in fetches {
            time += dt;
            let next = after_follower_fetch(&state, offset, ms(time), leader_leo);
            prop_assert!(next.last_caught_up_time >= state.last_caught_up_time);
            prop_assert!(next.last_caught_up_time <= ms(time));
            prop_assert!(next.last_fetch_leader_log_end_offset >= state.last_fetch_leader_log_end_offset);
            if offset >= leader_leo {
                prop_assert_eq!(next.last_caught_up_time, ms(time));
            }
            state = next;
        }
    }

    /// A longer allowed lag never turns a caught-up follower into a lagging one.
    #[test]
    fn more_lag_allowed_is_more_lenient(caught_up in 0u64..100_000, now in 0u64..200_000, lag in 0u64..50_000, more in 0u64..50_000, leo in -1i64..3) {
        let state = FollowerFetchState { last_caught_up_time: ms(caught_up), log_end_offset: leo, ..FollowerFetchState::UNKNOWN };
        if is_caught_up(&state, 2, ms(now), Duration::from_millis(lag)) {
            prop_assert!(is_caught_up(&state, 2, ms(now), Duration::from_millis(lag + more)));
        }
    }
}
