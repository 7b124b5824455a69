//! The log cleaner's rules, case by case (after Kafka's `LogCleanerTest`: the latest value of
//! each key survives, the active segment and what lies above the high watermark are never
//! touched, the dirty ratio gates a pass, tombstones live `delete.retention.ms` past their first
//! cleaning, offsets are kept and a compacted log recovers and replicates as it is).
use super::*;
use crate::log::cleaner::{CleanerRules, LogCleaned};

/// A one-record batch of `key` → `value` (`None`: a tombstone) stamped `timestamp`.
fn keyed(key: &str, value: Option<&str>, timestamp: i64) -> Vec<u8> {
    RecordBatch::from_records(vec![Record {
        timestamp,
        key: Some(key.as_bytes().to_vec()),
        value: value.map(|v| v.as_bytes().to_vec()),
        headers: vec![],
    }])
    .encode()
}

/// A log whose segments hold 3 one-record batches each, written `writes` in order; record
/// `i` is stamped `i` ms.
fn log_of(writes: &[(&str, Option<&str>)]) -> (Log, DiskImage) {
    let config = LogConfig {
        segment_bytes: 3 * keyed("k0", Some("v00"), 0).len() as u64,
        ..small()
    };
    let mut log = Log::new("t-0", config);
    let mut image = DiskImage::new();
    for (i, (key, value)) in writes.iter().enumerate() {
        let mut ops = Vec::new();
        log.append_as_leader(&keyed(key, *value, i as i64), 0, &mut ops)
            .unwrap();
        apply(&mut image, &ops);
    }
    (log, image)
}

/// Every record left, as `offset key=value` (`key=∅` for a tombstone).
fn contents(log: &Log) -> Vec<String> {
    let bytes = log.read(log.log_start_offset(), usize::MAX).unwrap();
    crate::log::batch::batches(&bytes)
        .flat_map(|b| {
            b.records_with_offsets()
                .map(|(o, r)| {
                    let key = String::from_utf8_lossy(r.key.as_deref().unwrap_or_default());
                    let value = r
                        .value
                        .as_deref()
                        .map_or("∅".into(), String::from_utf8_lossy);
                    format!("{o} {key}={value}")
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

fn clean(log: &mut Log, now: i64, hw: i64, image: &mut DiskImage) -> Option<LogCleaned> {
    let mut ops = Vec::new();
    let cleaned = log.clean(now, hw, CleanerRules::default(), &mut ops);
    apply(image, &ops);
    cleaned
}

const UPDATES: &[(&str, Option<&str>)] = &[
    ("a", Some("a1")),
    ("b", Some("b1")),
    ("a", Some("a2")),
    ("c", Some("c1")),
    ("b", Some("b2")),
    ("a", Some("a3")),
    ("c", Some("c2")),
    ("d", Some("d1")),
];

#[test]
fn the_latest_record_of_every_key_survives_at_its_offset() {
    let (mut log, mut image) = log_of(UPDATES);
    // Segments 0..3, 3..6, 6..8 (active).
    let cleaned = clean(&mut log, 100, 8, &mut image).expect("a first pass cleans");
    assert_eq!(cleaned.first_dirty_offset, 0);
    assert_eq!(cleaned.cleaner_point, 6);
    assert_eq!(cleaned.removed, vec![(0, 2)]);
    assert_eq!(cleaned.tombstones_removed, 0);
    // c1 at 3 stays: its newer value is in the active segment, which is not cleaned.
    assert_eq!(
        contents(&log),
        vec!["3 c=c1", "4 b=b2", "5 a=a3", "6 c=c2", "7 d=d1"]
    );
    assert_eq!(log.log_end_offset(), 8);
    assert!(cleaned.bytes_after < cleaned.bytes_before);
}

#[test]
fn nothing_at_or_above_the_high_watermark_is_cleaned() {
    let (mut log, mut image) = log_of(UPDATES);
    // The high watermark inside the second segment: only the first is cleanable, and a key's
    // later record above the high watermark does not supersede anything yet.
    let cleaned = clean(&mut log, 100, 5, &mut image).expect("one segment is cleanable");
    assert_eq!(cleaned.cleaner_point, 3);
    assert_eq!(cleaned.removed, vec![(0, 0)]);
    assert_eq!(contents(&log)[..2], ["1 b=b1", "2 a=a2"]);
    assert_eq!(
        clean(&mut log, 100, 2, &mut image),
        None,
        "below the cleaner point"
    );
}

#[test]
fn a_pass_waits_until_the_dirty_share_exceeds_min_cleanable_dirty_ratio() {
    let mut writes = UPDATES.to_vec();
    writes.extend([("e", Some("e1")), ("f", Some("f1")), ("g", Some("g1"))]);
    let (mut log, mut image) = log_of(&writes);
    let first = clean(&mut log, 100, 8, &mut image).unwrap();
    assert_eq!(first.dirty_ratio_ppm, 1_000_000, "nothing was clean before");
    // Segment 6..9 is now closed and dirty: three batches against four clean ones (the
    // first segment's emptied last batch and 3..6): less than half, so no pass.
    assert_eq!(clean(&mut log, 100, 11, &mut image), None);
    let rules = CleanerRules {
        min_cleanable_dirty_ratio_ppm: 400_000,
        ..CleanerRules::default()
    };
    let second = log.clean(100, 11, rules, &mut Vec::new()).unwrap();
    assert_eq!(second.first_dirty_offset, 6);
    assert!(
        (400_000..500_000).contains(&second.dirty_ratio_ppm),
        "{}",
        second.dirty_ratio_ppm
    );
    // c2 at 6 supersedes c1 at 3, in the clean part.
    assert_eq!(second.removed, vec![(3, 3)]);
    assert_eq!(second.cleaner_point, 9);
}

#[test]
fn a_tombstone_stays_delete_retention_ms_after_its_first_cleaning() {
    let writes = [
        ("a", Some("a1")),
        ("b", Some("b1")),
        ("a", None),
        ("c", Some("c1")),
        ("c", Some("c2")),
        ("d", Some("d1")),
        ("e", Some("e1")),
    ];
    let (mut log, mut image) = log_of(&writes);
    let first = clean(&mut log, 1000, 7, &mut image).unwrap();
    assert_eq!(first.removed, vec![(0, 0), (3, 3)]);
    assert!(
        contents(&log).contains(&"2 a=∅".to_string()),
        "kept for readers behind"
    );
    let horizon = 1000 + CleanerRules::default().delete_retention_ms;
    let bytes = log.read(2, usize::MAX).unwrap();
    let batch = crate::log::batch::batches(&bytes).next().unwrap();
    assert_eq!(batch.delete_horizon_ms(), Some(horizon));
    assert_eq!(
        batch.records[0].timestamp, 2,
        "the record keeps its own timestamp"
    );
    // Before the horizon a pass (forced by a ratio of 0) keeps it; at the horizon it goes.
    let eager = CleanerRules {
        min_cleanable_dirty_ratio_ppm: 0,
        ..CleanerRules::default()
    };
    log.cleaner_point = 0;
    assert_eq!(
        log.clean(horizon - 1, 7, eager, &mut Vec::new())
            .unwrap()
            .removed,
        vec![]
    );
    log.cleaner_point = 0;
    let last = log.clean(horizon, 7, eager, &mut Vec::new()).unwrap();
    assert_eq!(last.removed, vec![(2, 2)]);
    assert_eq!(last.tombstones_removed, 1);
    assert!(!contents(&log).iter().any(|r| r.contains(" a=")));
}

#[test]
fn min_compaction_lag_ms_keeps_recent_segments_dirty() {
    let (mut log, _) = log_of(UPDATES);
    let rules = CleanerRules {
        min_compaction_lag_ms: 10,
        ..CleanerRules::default()
    };
    // At t=14 the segment 3..6 (newest t=5) is not 10 ms old: only 0..3 is cleanable.
    let cleaned = log.clean(14, 8, rules, &mut Vec::new()).unwrap();
    assert_eq!(cleaned.cleaner_point, 3);
}

#[test]
fn a_compacted_log_recovers_as_it_was_with_its_cleaner_point() {
    let (mut log, mut image) = log_of(UPDATES);
    clean(&mut log, 100, 8, &mut image).unwrap();
    let (recovered, report, ops) =
        Log::recover("t-0", log.config, &image, RecoveryStart::RecoveryPoint(0));
    assert_eq!(report.truncation, None, "a compacted gap is not a hole");
    assert!(ops.is_empty(), "{ops:?}");
    assert_eq!(contents(&recovered), contents(&log));
    assert_eq!(recovered.cleaner_point(), 6);
    assert_eq!(recovered.log_end_offset(), 8);
}

#[test]
fn a_segment_keeps_its_last_batch_even_emptied() {
    // Segment 0..3 holds a, a, a: only its last record survives, and it survives anyway;
    // segment 3..6 holds b, b, b then a: its last batch is superseded by nothing.
    let writes = [
        ("a", Some("1")),
        ("b", Some("1")),
        ("b", Some("2")),
        ("b", Some("3")),
        ("c", Some("1")),
        ("b", Some("4")),
        ("x", Some("1")),
    ];
    let (mut log, mut image) = log_of(&writes);
    clean(&mut log, 100, 7, &mut image).unwrap();
    // b@2 is segment 0..3's last batch: emptied, not dropped, so the segment still ends at 3.
    let first = &log.segments()[&0];
    assert_eq!(first.next_offset, 3);
    let headers: Vec<_> = first.batches().into_iter().map(|(_, h)| h).collect();
    assert_eq!(headers.last().unwrap().last_offset(), 2);
    assert_eq!(headers.last().unwrap().record_count, 0);
    assert_eq!(contents(&log), vec!["0 a=1", "4 c=1", "5 b=4", "6 x=1"]);
}

#[test]
fn reads_and_followers_cross_the_gaps() {
    let (mut log, mut image) = log_of(UPDATES);
    clean(&mut log, 100, 8, &mut image).unwrap();
    // A reader at offset 1, now a gap, gets the batch after it.
    let bytes = log.read(1, usize::MAX).unwrap();
    let first = crate::log::batch::batches(&bytes).next().unwrap();
    assert!(first.base_offset <= 3 && first.last_offset() >= 2);
    // A new follower copies the compacted log as it is and ends where the leader does.
    let mut follower = Log::new("t-0", log.config);
    follower
        .append_as_follower(&log.read(0, usize::MAX).unwrap(), &mut Vec::new())
        .unwrap();
    assert_eq!(follower.log_end_offset(), 8);
    assert_eq!(contents(&follower), contents(&log));
}
