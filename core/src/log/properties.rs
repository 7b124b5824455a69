//! Properties of the log as a whole: recovery after damage and power loss, reads and
//! truncation, each over many random logs (proptest shrinks a failure to a small one).

use super::batch::RecordBatch;
use super::retention::RetentionRules;
use super::tests::{apply, producer_batch, small};
use super::*;
use crate::disk::DiskImage;
use proptest::prelude::*;

/// How the tail beyond the synced prefix gets damaged.
#[derive(Clone, Debug)]
enum Damage {
    CutAt(usize),
    Garbage(Vec<u8>),
    Flip(usize, u8),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        any::<usize>().prop_map(Damage::CutAt),
        proptest::collection::vec(any::<u8>(), 1..80).prop_map(Damage::Garbage),
        (any::<usize>(), 1u8..=255).prop_map(|(at, x)| Damage::Flip(at, x)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Recovery never keeps a corrupt batch and never drops a durable complete one: whatever
    /// happens to the bytes after the synced prefix, every batch wholly inside the prefix
    /// survives byte for byte, every surviving batch verifies, offsets stay dense from 0, and
    /// recovering again changes nothing.
    #[test]
    fn recovery_keeps_the_durable_prefix_and_nothing_corrupt(
        sizes in proptest::collection::vec((1u64..5, 1usize..60), 1..25),
        synced_batches in any::<prop::sample::Index>(),
        damage in damage(),
    ) {
        let mut log = Log::new("t-0", small());
        let mut image = DiskImage::new();
        let mut next = 0;
        let mut durable_image = DiskImage::new();
        let synced = synced_batches.index(sizes.len() + 1);
        for (i, (n, value_bytes)) in sizes.iter().enumerate() {
            if i == synced {
                durable_image = image.clone();
            }
            let mut ops = Vec::new();
            log.append_as_leader(&producer_batch(next, *n, *value_bytes), 0, &mut ops).unwrap();
            apply(&mut image, &ops);
            next += n;
        }
        if synced == sizes.len() {
            durable_image = image.clone();
        }
        // What the durable prefix holds: its batches, byte for byte.
        let (durable_log, durable_report, _) = Log::recover("t-0", small(), &durable_image, RecoveryStart::RecoveryPoint(0));
        prop_assert_eq!(durable_report.truncation, None);
        let durable = durable_log.read(0, usize::MAX).unwrap();

        // Damage only what lies after the synced prefix: the last segment's unsynced tail.
        let mut damaged = image.clone();
        let last_file = damaged.keys().rfind(|f| f.ends_with(".log")).unwrap().clone();
        let durable_len = durable_image.get(&last_file).map_or(0, Vec::len);
        let file = damaged.get_mut(&last_file).unwrap();
        let tail = file.len() - durable_len;
        match damage {
            Damage::CutAt(at) => file.truncate(durable_len + if tail == 0 { 0 } else { at % tail }),
            Damage::Garbage(bytes) => file.extend_from_slice(&bytes),
            Damage::Flip(at, x) => {
                if tail > 0 {
                    let at = durable_len + at % tail;
                    // The CRC does not cover a batch's base offset (a leader rewrites it), and
                    // compaction makes offsets that jump forward legal: a flip there is as
                    // invisible to recovery as it is to Kafka's.
                    prop_assume!(!in_base_offset(file, at));
                    file[at] ^= x;
                }
            }
        }

        let (recovered, report, ops) = Log::recover("t-0", small(), &damaged, RecoveryStart::RecoveryPoint(0));
        let kept = recovered.read(0, usize::MAX).unwrap();
        prop_assert!(kept.starts_with(&durable), "a durable batch was dropped or changed");
        let mut rest = kept.as_slice();
        let mut expected = 0;
        while !rest.is_empty() {
            let (batch, used) = RecordBatch::decode(rest).map_err(|e| TestCaseError::fail(format!("kept a bad batch: {e}")))?;
            prop_assert_eq!(batch.base_offset, expected, "offsets not dense");
            expected = batch.next_offset();
            rest = &rest[used..];
        }
        prop_assert_eq!(recovered.log_end_offset(), expected);
        prop_assert_eq!(report.log_end_offset, expected);
        let mut fixed = damaged.clone();
        apply(&mut fixed, &ops);
        let (again, second, second_ops) = Log::recover("t-0", small(), &fixed, RecoveryStart::RecoveryPoint(0));
        prop_assert_eq!(second.truncation, None);
        prop_assert!(second_ops.is_empty(), "recovery is a fixed point: {:?}", second_ops);
        prop_assert_eq!(again.read(0, usize::MAX).unwrap(), kept);
    }
}

/// Whether byte `at` of a segment file lies in the base offset field of a batch.
fn in_base_offset(file: &[u8], at: usize) -> bool {
    let mut position = 0;
    while let Ok(h) = crate::log::batch::BatchHeader::parse(&file[position..]) {
        if at < position + h.size {
            return at < position + 8;
        }
        position += h.size;
    }
    false
}

/// One file's fate in a power loss: which later flush (if any) reached it, and how its
/// unsynced tail tears.
#[derive(Clone, Debug)]
struct FileFate {
    synced_at: prop::sample::Index,
    torn: prop::sample::Index,
    garbage: bool,
    seed: u64,
}

fn file_fate() -> impl Strategy<Value = FileFate> {
    (
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(|(synced_at, torn, garbage, seed)| FileFate {
            synced_at,
            torn,
            garbage,
            seed,
        })
}

/// What a power loss leaves, with the simulator's disk model (`kafkasim-sim`'s `disk`): each
/// file falls back to its durable content — `None` if it was never synced, and then it
/// vanishes — and where the page cache only appended to that content, a random prefix of the
/// unsynced tail may survive, its last bytes perhaps garbage.
fn power_loss(
    cache: &DiskImage,
    durable_of: impl Fn(&str) -> Option<Vec<u8>>,
    fates: &[FileFate],
) -> DiskImage {
    let mut out = DiskImage::new();
    for (i, (file, cached)) in cache.iter().enumerate() {
        let fate = &fates[i % fates.len()];
        let Some(mut survived) = durable_of(file) else {
            continue;
        };
        if cached.starts_with(&survived) {
            let tail = &cached[survived.len()..];
            let torn = fate.torn.index(tail.len() + 1);
            survived.extend_from_slice(&tail[..torn]);
            if torn > 0 && fate.garbage {
                let mut prng = crate::prng::Prng::derive(fate.seed, "garbage", 0);
                let span = 1 + prng.below(torn.min(512) as u64) as usize;
                let start = survived.len() - span;
                for b in &mut survived[start..] {
                    *b = prng.next_u64() as u8;
                }
            }
        }
        out.insert(file.clone(), survived);
    }
    out
}

/// Split bytes read from a log into decoded batches, failing on any that does not verify.
fn decode_all(mut bytes: &[u8]) -> Result<Vec<RecordBatch>, TestCaseError> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (batch, used) = RecordBatch::decode(bytes)
            .map_err(|e| TestCaseError::fail(format!("a kept batch does not verify: {e}")))?;
        out.push(batch);
        bytes = &bytes[used..];
    }
    Ok(out)
}

/// The epoch cache the batches themselves imply: one entry wherever the stamped epoch rises.
fn epochs_of(batches: &[RecordBatch]) -> epoch_cache::EpochCache {
    let mut cache = epoch_cache::EpochCache::new();
    for b in batches {
        cache.assign(b.partition_leader_epoch, b.base_offset);
    }
    cache
}

/// Appends of 1–4 records with values of 1–59 bytes, each either in the current leader epoch
/// or in a new one.
fn appends() -> impl Strategy<Value = Vec<(u64, usize, bool)>> {
    proptest::collection::vec((1u64..5, 1usize..60, proptest::bool::weighted(0.2)), 1..25)
}

/// Run the appends on a fresh log; returns it and the disk image after each step (index 0:
/// before any append).
fn build(appends: &[(u64, usize, bool)]) -> (Log, Vec<DiskImage>) {
    let mut log = Log::new("t-0", small());
    let mut images = vec![DiskImage::new()];
    let (mut next, mut epoch) = (0, 0);
    for (n, value_bytes, new_epoch) in appends {
        epoch += i32::from(*new_epoch);
        let mut ops = Vec::new();
        log.append_as_leader(&producer_batch(next, *n, *value_bytes), epoch, &mut ops)
            .unwrap();
        let mut image = images.last().unwrap().clone();
        apply(&mut image, &ops);
        images.push(image);
        next += n;
    }
    (log, images)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The same promise under a whole-machine power loss, file by file: every file was synced
    /// at the flush after `flushed` appends, some files again at later flushes (their syncs
    /// complete independently), files never synced vanish, and each file's unsynced tail may
    /// tear. Whatever the combination, the batches of the common flush survive byte for byte,
    /// nothing corrupt is kept, offsets are dense, the epoch cache agrees with the epochs
    /// stamped in the surviving batches, and recovery is a fixed point.
    #[test]
    fn power_loss_keeps_every_flushed_batch_and_nothing_corrupt(
        appends in appends(),
        flushed in any::<prop::sample::Index>(),
        fates in proptest::collection::vec(file_fate(), 1..8),
    ) {
        let (_, images) = build(&appends);
        let flushed = flushed.index(images.len());
        let cache = images.last().unwrap();
        let names: Vec<&String> = cache.keys().collect();
        let disk = power_loss(
            cache,
            |file| {
                let i = names.iter().position(|n| *n == file).unwrap();
                let step = flushed + fates[i % fates.len()].synced_at.index(images.len() - flushed);
                images[step].get(file).cloned()
            },
            &fates,
        );

        let (flushed_log, _, _) = Log::recover("t-0", small(), &images[flushed], RecoveryStart::RecoveryPoint(0));
        let durable = flushed_log.read(0, usize::MAX).unwrap();
        let (recovered, report, ops) = Log::recover("t-0", small(), &disk, RecoveryStart::RecoveryPoint(0));
        let start = recovered.log_start_offset();
        let kept = recovered.read(start, usize::MAX).unwrap();
        // A later segment can be first only if the first never reached the disk, which only
        // happens when nothing was flushed.
        prop_assert!(start == 0 || durable.is_empty(), "log start moved to {}", start);
        prop_assert!(kept.starts_with(&durable), "a flushed batch was dropped or changed");
        let batches = decode_all(&kept)?;
        let mut expected = start;
        for b in &batches {
            prop_assert_eq!(b.base_offset, expected, "offsets not dense");
            expected = b.next_offset();
        }
        prop_assert_eq!(recovered.log_end_offset(), expected);
        prop_assert_eq!(report.log_end_offset, expected);
        prop_assert_eq!(recovered.epoch_cache(), &epochs_of(&batches));

        let mut fixed = disk.clone();
        apply(&mut fixed, &ops);
        let (again, second, second_ops) = Log::recover("t-0", small(), &fixed, RecoveryStart::RecoveryPoint(0));
        prop_assert_eq!(second.truncation, None);
        prop_assert!(second_ops.is_empty(), "recovery is a fixed point: {:?}", second_ops);
        prop_assert_eq!(again.read(start, usize::MAX).unwrap(), kept);
        prop_assert_eq!(again.epoch_cache(), recovered.epoch_cache());
    }

    /// Reads return whole batches, starting with the one holding the offset asked for, within
    /// the byte limit unless one batch alone exceeds it (KIP-74); truncation keeps exactly the
    /// batches that end before the cut (Kafka truncates at batch boundaries), trims the epoch
    /// cache with them, and leaves a log that appends, reads and recovers like any other.
    #[test]
    fn reads_and_truncation_agree_with_the_batches(
        appends in appends(),
        fetch in any::<prop::sample::Index>(),
        max_bytes in 1usize..600,
        cut in any::<prop::sample::Index>(),
    ) {
        let (mut log, images) = build(&appends);
        let all = log.read(0, usize::MAX).unwrap();
        let batches = decode_all(&all)?;
        let positions: Vec<usize> = batches
            .iter()
            .scan(0, |at, b| {
                let here = *at;
                *at += b.encode().len();
                Some(here)
            })
            .collect();
        let end = log.log_end_offset();

        let offset = fetch.index(end as usize + 1) as i64;
        let read = log.read(offset, max_bytes).unwrap();
        match batches.iter().position(|b| b.last_offset() >= offset) {
            None => prop_assert!(read.is_empty(), "nothing to read at the log end"),
            Some(i) => {
                prop_assert!(all[positions[i]..].starts_with(&read), "not whole batches from the one holding the offset");
                let got = decode_all(&read)?;
                prop_assert!(got[0].base_offset <= offset && offset <= got[0].last_offset());
                prop_assert!(read.len() <= max_bytes || got.len() == 1, "over the limit with {} batches", got.len());
            }
        }
        prop_assert!(
            matches!(log.read(end + 1, max_bytes), Err(LogError::OffsetOutOfRange { .. })),
            "beyond the log end is out of range"
        );

        let mut ops = Vec::new();
        let target = cut.index(end as usize + 2) as i64;
        let new_end = log.truncate_to(target, &mut ops);
        let kept: Vec<RecordBatch> = batches.iter().filter(|b| b.last_offset() < target).cloned().collect();
        prop_assert_eq!(new_end, kept.last().map_or(0, RecordBatch::next_offset));
        prop_assert_eq!(log.log_end_offset(), new_end);
        prop_assert_eq!(decode_all(&log.read(0, usize::MAX).unwrap())?, kept.clone());
        prop_assert_eq!(log.epoch_cache(), &epochs_of(&kept));

        // The truncated log keeps working: a new leader epoch appends at the new end, and the
        // disk the ops describe recovers to the same log.
        let epoch = log.epoch_cache().latest_epoch().unwrap_or(0) + 1;
        let info = log.append_as_leader(&producer_batch(0, 2, 30), epoch, &mut ops).unwrap();
        prop_assert_eq!(info.first_offset, new_end);
        let last = decode_all(&log.read(new_end, 1).unwrap())?;
        prop_assert_eq!(last[0].partition_leader_epoch, epoch);
        let mut image = images.last().unwrap().clone();
        apply(&mut image, &ops);
        let (recovered, report, _) = Log::recover("t-0", small(), &image, RecoveryStart::RecoveryPoint(0));
        prop_assert_eq!(report.truncation, None);
        prop_assert_eq!(recovered.read(0, usize::MAX).unwrap(), log.read(0, usize::MAX).unwrap());
        prop_assert_eq!(recovered.epoch_cache(), log.epoch_cache());
    }
}

/// One step of a log's life under retention.
#[derive(Clone, Debug)]
enum RetentionStep {
    /// Append a batch of this many records, this many ms after the previous one.
    Append { records: u64, after_ms: i64 },
    /// The retention check, with the high watermark this far below the log end.
    Check { hw_lag: u64, rules: (i64, i64) },
    /// A follower learns the leader's log start offset, this far above its own.
    FollowStart { ahead: u64 },
}

fn retention_step() -> impl Strategy<Value = RetentionStep> {
    prop_oneof![
        3 => (1u64..4, 0i64..30).prop_map(|(records, after_ms)| RetentionStep::Append { records, after_ms }),
        1 => (0u64..6, (prop_oneof![Just(-1i64), 0i64..60], prop_oneof![Just(-1i64), 0i64..900]))
            .prop_map(|(hw_lag, rules)| RetentionStep::Check { hw_lag, rules }),
        1 => (0u64..8).prop_map(|ahead| RetentionStep::FollowStart { ahead }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever mix of appends, retention checks and log-start moves: the log start never
    /// passes the high watermark the deletion was bounded by, never goes back, and sits at a
    /// kept record or the log end; reads below it fail and reads from it succeed; offsets
    /// above it stay dense; and recovery from the disk finds the same log start and end.
    #[test]
    fn retention_moves_the_log_start_only_forward_and_below_the_high_watermark(
        steps in proptest::collection::vec(retention_step(), 1..60),
    ) {
        let config = LogConfig { segment_ms: 20, ..small() };
        let mut log = Log::new("t-0", config);
        let mut image = DiskImage::new();
        let (mut now, mut next) = (0i64, 0u64);
        for step in steps {
            let before = log.log_start_offset();
            let mut ops = Vec::new();
            match step {
                RetentionStep::Append { records, after_ms } => {
                    now += after_ms;
                    let batch = super::tests::timed_batch(next, records, now);
                    log.append_as_leader(&batch, 0, &mut ops).unwrap();
                    next += records;
                }
                RetentionStep::Check { hw_lag, rules: (retention_ms, retention_bytes) } => {
                    let hw = log.log_end_offset().saturating_sub(hw_lag as i64).max(log.log_start_offset());
                    let rules = RetentionRules { retention_ms, retention_bytes };
                    for d in log.delete_old_segments(now, hw, rules, &mut ops) {
                        prop_assert!(d.log_start_offset <= hw, "deleted above the high watermark");
                    }
                }
                RetentionStep::FollowStart { ahead } => {
                    let hw = log.log_end_offset();
                    log.maybe_increment_log_start_offset(before + ahead as i64, hw, &mut ops);
                }
            }
            apply(&mut image, &ops);
            let start = log.log_start_offset();
            prop_assert!(start >= before, "the log start went back");
            prop_assert!(start <= log.log_end_offset());
            if start > 0 {
                let below = log.read(start - 1, usize::MAX);
                prop_assert!(below.is_err(), "read below the log start");
            }
            let bytes = log.read(start, usize::MAX).unwrap();
            let mut rest = bytes.as_slice();
            let mut expected = None;
            while !rest.is_empty() {
                let (batch, used) = RecordBatch::decode(rest).unwrap();
                if let Some(e) = expected {
                    prop_assert_eq!(batch.base_offset, e, "offsets not dense");
                }
                expected = Some(batch.next_offset());
                rest = &rest[used..];
            }
        }
        let (recovered, _, _) = Log::recover("t-0", config, &image, RecoveryStart::RecoveryPoint(0));
        prop_assert_eq!(recovered.log_end_offset(), log.log_end_offset());
        let first_segment = *log.segments().keys().next().unwrap();
        prop_assert_eq!(recovered.log_start_offset(), first_segment);
    }
}

/// One step of a compacted log's life: a write of key `k{key}` (a tombstone when `value` is
/// `None`), or a cleaning pass at a time with the high watermark somewhere below the end.
#[derive(Clone, Debug)]
enum CompactionStep {
    Write { key: u8, value: Option<u8> },
    Clean { hw_back: i64, later_ms: i64 },
}

fn compaction_step() -> impl Strategy<Value = CompactionStep> {
    prop_oneof![
        4 => (0u8..6, proptest::option::of(any::<u8>()))
            .prop_map(|(key, value)| CompactionStep::Write { key, value }),
        1 => (0i64..4, 0i64..200_000_000)
            .prop_map(|(hw_back, later_ms)| CompactionStep::Clean { hw_back, later_ms }),
    ]
}

/// Each key's latest record below `below`, from a log's bytes: `None` for a tombstone.
fn latest_below(log: &Log, below: i64) -> BTreeMap<Vec<u8>, (i64, Option<Vec<u8>>)> {
    let bytes = log.read(log.log_start_offset(), usize::MAX).unwrap();
    let mut latest = BTreeMap::new();
    for batch in super::batch::batches(&bytes) {
        for (offset, r) in batch.records_with_offsets() {
            if offset < below {
                latest.insert(r.key.clone().unwrap(), (offset, r.value.clone()));
            }
        }
    }
    latest
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Compaction never loses a key's latest value: after any interleaving of writes and
    /// passes, every key whose latest record is a value still has that record at its offset,
    /// a key deleted by a tombstone has nothing older left, offsets only grow, and the disk
    /// image recovers to the same log.
    #[test]
    fn compaction_keeps_the_latest_value_of_every_key(
        steps in proptest::collection::vec(compaction_step(), 1..80),
    ) {
        use super::batch::Record;
        use super::cleaner::CleanerRules;
        let config = LogConfig { segment_bytes: 200, ..small() };
        let mut log = Log::new("t-0", config);
        let mut image = DiskImage::new();
        let mut now = 0i64;
        let mut written: BTreeMap<Vec<u8>, (i64, Option<Vec<u8>>)> = BTreeMap::new();
        for step in steps {
            let mut ops = Vec::new();
            match step {
                CompactionStep::Write { key, value } => {
                    now += 1;
                    let key = format!("k{key}").into_bytes();
                    let value = value.map(|v| vec![v; 8]);
                    let batch = RecordBatch::from_records(vec![Record {
                        timestamp: now, key: Some(key.clone()), value: value.clone(), headers: vec![],
                    }]);
                    let offset = log.log_end_offset();
                    log.append_as_leader(&batch.encode(), 0, &mut ops).unwrap();
                    written.insert(key, (offset, value));
                }
                CompactionStep::Clean { hw_back, later_ms } => {
                    now += later_ms;
                    let hw = (log.log_end_offset() - hw_back).max(0);
                    if let Some(c) = log.clean(now, hw, CleanerRules::default(), &mut ops) {
                        prop_assert!(c.cleaner_point <= hw);
                    }
                }
            }
            apply(&mut image, &ops);
        }
        let end = log.log_end_offset();
        let left = latest_below(&log, end);
        for (key, (offset, value)) in &written {
            match (value, left.get(key)) {
                (Some(_), found) => prop_assert_eq!(found, Some(&(*offset, value.clone()))),
                (None, Some(found)) => prop_assert_eq!(found, &(*offset, None)),
                (None, None) => {} // the tombstone itself expired
            }
        }
        let mut previous = -1;
        for h in log.batches() {
            prop_assert!(h.base_offset > previous);
            previous = h.last_offset();
        }
        let (recovered, report, _) = Log::recover("t-0", config, &image, RecoveryStart::RecoveryPoint(0));
        prop_assert_eq!(report.truncation, None);
        prop_assert_eq!(recovered.read(0, usize::MAX).unwrap(), log.read(0, usize::MAX).unwrap());
    }
}
