//! Tests of the log as a whole: append, read, truncate, and recovery from damaged disks.

use super::batch::{Record, RecordBatch};
use super::*;
use crate::disk::DiskImage;

/// Apply disk operations to an image, as the simulator's page cache would.
pub(super) fn apply(image: &mut DiskImage, ops: &[DiskOp]) {
    for op in ops {
        match op {
            DiskOp::Append { file, bytes } => image
                .entry(file.clone())
                .or_default()
                .extend_from_slice(bytes),
            DiskOp::Replace { file, bytes } => {
                image.insert(file.clone(), bytes.clone());
            }
            DiskOp::Truncate { file, len } => {
                if let Some(f) = image.get_mut(file) {
                    f.truncate(*len as usize);
                }
            }
            DiskOp::Delete { file } => {
                image.remove(file);
            }
            DiskOp::Sync { .. } => {}
        }
    }
}

/// A producer batch of `n` records with values `v<first>..`.
pub(super) fn producer_batch(first: u64, n: u64, value_bytes: usize) -> Vec<u8> {
    let records = (first..first + n)
        .map(|i| {
            let mut value = format!("v{i}").into_bytes();
            value.resize(value_bytes.max(value.len()), b'.');
            Record {
                timestamp: i as i64,
                key: None,
                value: Some(value),
                headers: vec![],
            }
        })
        .collect();
    RecordBatch::from_records(records).encode()
}

/// A batch of `n` one-byte records from `first`, all stamped at `timestamp` ms.
pub(super) fn timed_batch(first: u64, n: u64, timestamp: i64) -> Vec<u8> {
    let records = (first..first + n)
        .map(|i| Record {
            timestamp,
            key: None,
            value: Some(format!("v{i}").into_bytes()),
            headers: vec![],
        })
        .collect();
    RecordBatch::from_records(records).encode()
}

fn values(log: &Log) -> Vec<String> {
    let bytes = log.read(log.log_start_offset(), usize::MAX).unwrap();
    let mut out = Vec::new();
    let mut rest = bytes.as_slice();
    while !rest.is_empty() {
        let (batch, used) = RecordBatch::decode(rest).unwrap();
        out.extend(batch.records.iter().map(|r| {
            String::from_utf8_lossy(r.value.as_ref().unwrap())
                .trim_end_matches('.')
                .to_string()
        }));
        rest = &rest[used..];
    }
    out
}

pub(super) fn small() -> LogConfig {
    LogConfig {
        segment_bytes: 300,
        index_interval_bytes: 100,
        ..LogConfig::default()
    }
}

#[test]
fn leader_appends_get_dense_offsets_and_the_epoch() {
    let mut log = Log::new("t-0", small());
    let mut ops = Vec::new();
    let a = log
        .append_as_leader(&producer_batch(0, 3, 1), 4, &mut ops)
        .unwrap();
    let b = log
        .append_as_leader(&producer_batch(3, 2, 1), 4, &mut ops)
        .unwrap();
    assert_eq!((a.first_offset, a.last_offset, a.records), (0, 2, 3));
    assert_eq!((b.first_offset, b.last_offset), (3, 4));
    assert_eq!(log.log_end_offset(), 5);
    assert_eq!(
        log.epoch_cache().entries(),
        &[epoch_cache::EpochEntry {
            epoch: 4,
            start_offset: 0
        }]
    );
    assert!(log.batches().iter().all(|h| h.partition_leader_epoch == 4));
    assert!(
        ops.iter()
            .any(|op| op.file() == "t-0/leader-epoch-checkpoint")
    );
    assert!(
        ops.iter()
            .any(|op| op.file() == "t-0/00000000000000000000.log")
    );
}

#[test]
fn a_corrupt_batch_is_refused_whole() {
    let mut log = Log::new("t-0", small());
    let mut bytes = producer_batch(0, 2, 1);
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let mut ops = Vec::new();
    assert!(matches!(
        log.append_as_leader(&bytes, 0, &mut ops),
        Err(LogError::CorruptMessage(_))
    ));
    assert!(ops.is_empty());
    assert_eq!(log.log_end_offset(), 0);
}

#[test]
fn segments_roll_and_reads_cross_them() {
    let mut log = Log::new("t-0", small());
    let mut ops = Vec::new();
    for i in 0..10 {
        log.append_as_leader(&producer_batch(i * 2, 2, 20), 0, &mut ops)
            .unwrap();
    }
    assert!(
        log.segments().len() > 2,
        "small segments roll: {}",
        log.segments().len()
    );
    assert_eq!(values(&log).len(), 20);
    // Reading from the middle of a batch returns the whole batch holding the offset.
    let bytes = log.read(7, usize::MAX).unwrap();
    let (first, _) = RecordBatch::decode(&bytes).unwrap();
    assert_eq!(first.base_offset, 6);
    // A byte limit smaller than one batch still returns one batch (KIP-74).
    let one = log.read(0, 1).unwrap();
    let (_, used) = RecordBatch::decode(&one).unwrap();
    assert_eq!(used, one.len());
    assert_eq!(
        log.read(20, 100).unwrap(),
        Vec::<u8>::new(),
        "empty at the log end"
    );
    assert!(matches!(
        log.read(21, 100),
        Err(LogError::OffsetOutOfRange { .. })
    ));
}

#[test]
fn truncate_cuts_at_batch_boundaries_and_trims_the_epoch_cache() {
    let mut log = Log::new("t-0", small());
    let mut ops = Vec::new();
    for (i, epoch) in [0, 0, 1, 1, 2].iter().enumerate() {
        log.append_as_leader(&producer_batch(i as u64 * 3, 3, 20), *epoch, &mut ops)
            .unwrap();
    }
    assert_eq!(log.log_end_offset(), 15);
    // Offset 7 is inside the batch [6, 8]: the whole batch goes.
    let end = log.truncate_to(7, &mut ops);
    assert_eq!(end, 6);
    assert_eq!(
        values(&log),
        (0..6).map(|i| format!("v{i}")).collect::<Vec<_>>()
    );
    assert_eq!(
        log.epoch_cache().latest_epoch(),
        Some(0),
        "epoch 1 began at offset 6, now gone"
    );
    // The disk agrees with memory after recovery from the ops.
    let mut image = DiskImage::new();
    apply(&mut image, &ops);
    let (recovered, report, _) =
        Log::recover("t-0", small(), &image, RecoveryStart::RecoveryPoint(0));
    assert_eq!(report.truncation, None);
    assert_eq!(values(&recovered), values(&log));
    assert_eq!(recovered.epoch_cache(), log.epoch_cache());
}

#[test]
fn follower_appends_keep_offsets_and_epochs() {
    let mut leader = Log::new("t-0", small());
    let mut ops = Vec::new();
    leader
        .append_as_leader(&producer_batch(0, 2, 1), 3, &mut ops)
        .unwrap();
    leader
        .append_as_leader(&producer_batch(2, 2, 1), 5, &mut ops)
        .unwrap();
    let mut follower = Log::new("t-0", small());
    let fetched = leader.read(0, usize::MAX).unwrap();
    follower.append_as_follower(&fetched, &mut ops).unwrap();
    assert_eq!(follower.log_end_offset(), 4);
    assert_eq!(follower.epoch_cache(), leader.epoch_cache());
    let again = follower.append_as_follower(&fetched, &mut ops);
    assert_eq!(
        again,
        Err(LogError::NonIncreasingOffsets {
            expected: 4,
            got: 0
        })
    );
}

#[test]
fn recovery_cuts_a_torn_tail_and_reports_it() {
    let mut log = Log::new("t-0", LogConfig::default());
    let mut ops = Vec::new();
    log.append_as_leader(&producer_batch(0, 2, 10), 0, &mut ops)
        .unwrap();
    log.append_as_leader(&producer_batch(2, 2, 10), 0, &mut ops)
        .unwrap();
    let mut image = DiskImage::new();
    apply(&mut image, &ops);
    let file = "t-0/00000000000000000000.log".to_string();
    let full = image[&file].len();
    image.get_mut(&file).unwrap().truncate(full - 5);
    let (recovered, report, fix) = Log::recover(
        "t-0",
        LogConfig::default(),
        &image,
        RecoveryStart::RecoveryPoint(0),
    );
    assert_eq!(recovered.log_end_offset(), 2);
    let t = report.truncation.clone().unwrap();
    assert_eq!(t.reason, TruncationReason::TornBatch);
    assert_eq!(t.first_lost_offset, Some(2));
    assert_eq!(t.bytes_truncated as usize + t.position as usize, full - 5);
    assert_eq!(report.valid_batches, 1);
    apply(&mut image, &fix);
    let (_, second, _) = Log::recover(
        "t-0",
        LogConfig::default(),
        &image,
        RecoveryStart::RecoveryPoint(0),
    );
    assert_eq!(second.truncation, None, "recovery is a fixed point");
}

#[test]
fn recovery_of_nothing_is_an_empty_log() {
    let (log, report, ops) = Log::recover(
        "t-0",
        LogConfig::default(),
        &DiskImage::new(),
        RecoveryStart::RecoveryPoint(0),
    );
    assert_eq!(log.log_end_offset(), 0);
    assert_eq!(report.segments_scanned, 0);
    assert!(ops.is_empty());
}

#[test]
fn a_damaged_epoch_checkpoint_is_reported_not_fatal() {
    let mut image = DiskImage::new();
    image.insert("t-0/leader-epoch-checkpoint".into(), b"garbage".to_vec());
    let (log, report, _) = Log::recover(
        "t-0",
        LogConfig::default(),
        &image,
        RecoveryStart::RecoveryPoint(0),
    );
    assert!(report.epoch_checkpoint_problem.is_some());
    assert_eq!(log.epoch_cache().latest_epoch(), None);
}

/// The checkpoint file lives apart from the log: a power loss can keep batches of a new epoch
/// while losing the checkpoint write that announced it. Recovery takes the epochs from the
/// batches (Reference: Kafka's `LogSegment.recover` re-assigns epochs while rescanning).
#[test]
fn recovery_restores_epochs_the_checkpoint_lost() {
    let mut log = Log::new("t-0", small());
    let mut ops = Vec::new();
    log.append_as_leader(&producer_batch(0, 2, 1), 1, &mut ops)
        .unwrap();
    log.append_as_leader(&producer_batch(2, 2, 1), 3, &mut ops)
        .unwrap();
    let mut image = DiskImage::new();
    apply(&mut image, &ops);
    for checkpoint in [None, Some(b"0\n1\n1 0\n".to_vec()), Some(b"0\n9".to_vec())] {
        let mut damaged = image.clone();
        match checkpoint {
            None => damaged.remove("t-0/leader-epoch-checkpoint"),
            Some(bytes) => damaged.insert("t-0/leader-epoch-checkpoint".into(), bytes),
        };
        let (recovered, _, fix) =
            Log::recover("t-0", small(), &damaged, RecoveryStart::RecoveryPoint(0));
        assert_eq!(recovered.epoch_cache(), log.epoch_cache());
        apply(&mut damaged, &fix);
        assert_eq!(
            damaged, image,
            "the rewritten checkpoint matches the lost one"
        );
    }
}

/// Each segment file is synced on its own, so a power loss can keep a later segment while an
/// earlier one never reached the disk. Keeping the later one would leave a hole in the
/// offsets; recovery drops it and everything after it, as it does after a damaged batch.
#[test]
fn a_segment_beyond_a_hole_goes_with_everything_after_it() {
    let mut log = Log::new("t-0", small());
    let mut ops = Vec::new();
    for i in 0..6 {
        log.append_as_leader(&producer_batch(i * 2, 2, 60), 0, &mut ops)
            .unwrap();
    }
    let mut image = DiskImage::new();
    apply(&mut image, &ops);
    let bases: Vec<i64> = log.segments().keys().copied().collect();
    assert!(bases.len() >= 3, "segments {bases:?}");
    image.remove(&segment::log_file("t-0", bases[1]));
    let (recovered, report, fix) =
        Log::recover("t-0", small(), &image, RecoveryStart::RecoveryPoint(0));
    assert_eq!(recovered.log_end_offset(), bases[1]);
    let t = report.truncation.unwrap();
    assert_eq!(t.reason, TruncationReason::OffsetOutOfOrder);
    assert_eq!(t.segment, segment::log_file("t-0", bases[2]));
    assert_eq!((t.position, t.first_lost_offset), (0, Some(bases[2])));
    assert_eq!(report.deleted_segments.len(), bases.len() - 2);
    apply(&mut image, &fix);
    assert!(image.keys().all(|f| !f.ends_with(".log") || f.ends_with(&format!("{}.log", segment::file_stem(0)))));
}

/// A log whose first segment never reached the disk starts later than 0; truncating below
/// that start cannot cut a segment, so the log starts afresh at the target, empty (Reference:
/// Kafka's `truncateFullyAndStartAt`), and recovery agrees.
#[test]
fn truncating_below_the_log_start_starts_afresh_there() {
    let mut log = Log::new("t-0", small());
    let mut ops = Vec::new();
    for i in 0..6 {
        log.append_as_leader(&producer_batch(i * 2, 2, 60), 0, &mut ops)
            .unwrap();
    }
    let mut image = DiskImage::new();
    apply(&mut image, &ops);
    let second = *log.segments().keys().nth(1).unwrap();
    image.remove(&segment::log_file("t-0", 0));
    let (mut recovered, _, fix) =
        Log::recover("t-0", small(), &image, RecoveryStart::RecoveryPoint(0));
    apply(&mut image, &fix);
    assert_eq!(recovered.log_start_offset(), second);
    assert_eq!(recovered.epoch_cache().entries()[0].start_offset, second);

    let mut ops = Vec::new();
    assert_eq!(recovered.truncate_to(1, &mut ops), 1);
    assert_eq!(
        (recovered.log_start_offset(), recovered.log_end_offset()),
        (1, 1)
    );
    assert!(recovered.epoch_cache().entries().is_empty());
    assert_eq!(recovered.read(1, usize::MAX), Ok(Vec::new()));
    apply(&mut image, &ops);
    let (again, report, _) = Log::recover("t-0", small(), &image, RecoveryStart::RecoveryPoint(0));
    assert_eq!(report.truncation, None);
    assert_eq!((again.log_start_offset(), again.log_end_offset()), (1, 1));
    let info = recovered
        .append_as_leader(&producer_batch(0, 2, 1), 4, &mut ops)
        .unwrap();
    assert_eq!(info.first_offset, 1);
}

mod retention {
    //! Retention's rules, case by case (Kafka's `UnifiedLogTest` retention cases: time, size,
    //! the high watermark bound, the active segment, a follower following the leader's start).
    use super::*;
    use crate::log::retention::{DeletionReason, RetentionRules};

    /// Segments of 3 one-record batches each (timestamps = offsets), `n` records.
    fn log_of(n: u64) -> (Log, DiskImage) {
        let config = LogConfig {
            segment_bytes: 3 * producer_batch(0, 1, 10).len() as u64,
            ..small()
        };
        let mut log = Log::new("t-0", config);
        let mut image = DiskImage::new();
        for i in 0..n {
            let mut ops = Vec::new();
            log.append_as_leader(&producer_batch(i, 1, 10), 0, &mut ops)
                .unwrap();
            apply(&mut image, &ops);
        }
        (log, image)
    }

    fn bases(log: &Log) -> Vec<i64> {
        log.segments().keys().copied().collect()
    }

    const BY_TIME: RetentionRules = RetentionRules {
        retention_ms: 5,
        retention_bytes: -1,
    };

    #[test]
    fn time_retention_deletes_closed_segments_whose_newest_record_expired() {
        let (mut log, _) = log_of(10);
        assert_eq!(bases(&log), vec![0, 3, 6, 9]);
        // At t=11, records older than t=6 are expired: segment 0..3 (newest 2) and 3..6
        // (newest 5); 6..9 holds t=8, which is not.
        let mut ops = Vec::new();
        let deleted = log.delete_old_segments(11, 10, BY_TIME, &mut ops);
        assert_eq!(deleted.len(), 1);
        assert_eq!(deleted[0].segments, vec![(0, 3), (3, 6)]);
        assert_eq!(
            deleted[0].reason,
            DeletionReason::RetentionMs { retention_ms: 5 }
        );
        assert_eq!(log.log_start_offset(), 6);
        assert_eq!(bases(&log), vec![6, 9]);
        let files: Vec<_> = ops
            .iter()
            .filter_map(|op| match op {
                DiskOp::Delete { file } => Some(file.as_str()),
                _ => None,
            })
            .collect();
        assert!(files.contains(&"t-0/00000000000000000000.log"));
        assert!(files.contains(&"t-0/00000000000000000003.index"));
        assert!(matches!(
            log.read(5, usize::MAX),
            Err(LogError::OffsetOutOfRange {
                log_start_offset: 6,
                ..
            })
        ));
    }

    #[test]
    fn nothing_at_or_above_the_high_watermark_is_deleted() {
        let (mut log, _) = log_of(10);
        // Everything expired, but the high watermark is 5: only 0..3 lies wholly below it.
        let deleted = log.delete_old_segments(1000, 5, BY_TIME, &mut Vec::new());
        assert_eq!(deleted[0].segments, vec![(0, 3)]);
        assert_eq!(log.log_start_offset(), 3);
        assert!(deleted.iter().all(|d| d.log_start_offset <= 5));
    }

    #[test]
    fn an_all_expired_log_rolls_and_starts_empty_at_its_end() {
        let (mut log, _) = log_of(10);
        let deleted = log.delete_old_segments(1000, 10, BY_TIME, &mut Vec::new());
        assert_eq!(deleted[0].segments.len(), 4, "the active segment too");
        assert_eq!(log.log_start_offset(), 10);
        assert_eq!(log.log_end_offset(), 10);
        assert_eq!(bases(&log), vec![10]);
        // Appends go on from 10.
        let info = log
            .append_as_leader(&producer_batch(10, 1, 10), 0, &mut Vec::new())
            .unwrap();
        assert_eq!(info.first_offset, 10);
    }

    #[test]
    fn size_retention_keeps_the_log_within_retention_bytes() {
        let (mut log, _) = log_of(9);
        let segment = log.segments()[&0].size() as i64;
        // Kafka deletes a segment only while the log stays at or above retention.bytes
        // without it: with room for 2 segments and a byte, 3 segments all stay.
        let rules = |retention_bytes| RetentionRules {
            retention_ms: -1,
            retention_bytes,
        };
        let kept = log.delete_old_segments(0, 9, rules(segment * 2 + 1), &mut Vec::new());
        assert!(kept.is_empty(), "over by less than a segment: kept");
        let deleted = log.delete_old_segments(0, 9, rules(segment * 2), &mut Vec::new());
        assert_eq!(deleted[0].segments, vec![(0, 3)], "3 segments, room for 2");
        assert_eq!(
            deleted[0].reason,
            DeletionReason::RetentionBytes {
                retention_bytes: segment * 2
            }
        );
        assert!(log.size() as i64 <= segment * 2);
        assert_eq!(log.log_start_offset(), 3);
    }

    #[test]
    fn forever_deletes_nothing() {
        let (mut log, _) = log_of(10);
        let rules = RetentionRules {
            retention_ms: -1,
            retention_bytes: -1,
        };
        assert!(
            log.delete_old_segments(i64::MAX, 10, rules, &mut Vec::new())
                .is_empty()
        );
        assert_eq!(log.log_start_offset(), 0);
    }

    #[test]
    fn a_follower_follows_the_leaders_log_start_up_to_its_high_watermark() {
        let (mut log, _) = log_of(10);
        let deleted = log
            .maybe_increment_log_start_offset(7, 10, &mut Vec::new())
            .expect("segments below 7 go");
        assert_eq!(
            deleted.segments,
            vec![(0, 3), (3, 6)],
            "6..9 holds 7 and stays"
        );
        assert_eq!(deleted.reason, DeletionReason::LogStartOffset);
        assert_eq!(
            log.log_start_offset(),
            7,
            "inside a segment, as the leader says"
        );
        assert!(log.read(6, usize::MAX).is_err());
        // Never past what it knows is committed.
        let (mut log, _) = log_of(10);
        log.maybe_increment_log_start_offset(9, 4, &mut Vec::new());
        assert_eq!(log.log_start_offset(), 4);
    }

    #[test]
    fn recovery_finds_the_log_start_where_retention_left_it() {
        let (mut log, mut image) = log_of(10);
        let mut ops = Vec::new();
        log.delete_old_segments(1000, 10, BY_TIME, &mut ops);
        apply(&mut image, &ops);
        let (recovered, _, _) = Log::recover(
            "t-0",
            log_of(0).0.config,
            &image,
            RecoveryStart::RecoveryPoint(0),
        );
        assert_eq!(recovered.log_start_offset(), 10);
        assert_eq!(recovered.log_end_offset(), 10);
    }

    #[test]
    fn segment_ms_rolls_by_the_batches_timestamps() {
        let config = LogConfig {
            segment_ms: 4,
            segment_bytes: 1 << 20,
            ..small()
        };
        let mut log = Log::new("t-0", config);
        for i in 0..10 {
            log.append_as_leader(&producer_batch(i, 1, 1), 0, &mut Vec::new())
                .unwrap();
        }
        // A batch more than 4 ms after the segment's first starts a new one: 0..5, 5..10.
        assert_eq!(bases(&log), vec![0, 5]);
    }
}

mod cleaner;
