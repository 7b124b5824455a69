//! Tests of the log as a whole: append, read, truncate, and recovery from damaged disks.

use super::batch::{Record, RecordBatch};
use super::*;
use crate::disk::DiskImage;
use proptest::prelude::*;

/// Apply disk operations to an image, as the simulator's page cache would.
pub(crate) fn apply(image: &mut DiskImage, ops: &[DiskOp]) {
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
fn producer_batch(first: u64, n: u64, value_bytes: usize) -> Vec<u8> {
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

fn small() -> LogConfig {
    LogConfig {
        segment_bytes: 300,
        index_interval_bytes: 100,
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
    let (recovered, report, _) = Log::recover("t-0", small(), &image);
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
    let (recovered, report, fix) = Log::recover("t-0", LogConfig::default(), &image);
    assert_eq!(recovered.log_end_offset(), 2);
    let t = report.truncation.clone().unwrap();
    assert_eq!(t.reason, TruncationReason::TornBatch);
    assert_eq!(t.first_lost_offset, Some(2));
    assert_eq!(t.bytes_truncated as usize + t.position as usize, full - 5);
    assert_eq!(report.valid_batches, 1);
    apply(&mut image, &fix);
    let (_, second, _) = Log::recover("t-0", LogConfig::default(), &image);
    assert_eq!(second.truncation, None, "recovery is a fixed point");
}

#[test]
fn recovery_of_nothing_is_an_empty_log() {
    let (log, report, ops) = Log::recover("t-0", LogConfig::default(), &DiskImage::new());
    assert_eq!(log.log_end_offset(), 0);
    assert_eq!(report.segments_scanned, 0);
    assert!(ops.is_empty());
}

#[test]
fn a_damaged_epoch_checkpoint_is_reported_not_fatal() {
    let mut image = DiskImage::new();
    image.insert("t-0/leader-epoch-checkpoint".into(), b"garbage".to_vec());
    let (log, report, _) = Log::recover("t-0", LogConfig::default(), &image);
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
        let (recovered, _, fix) = Log::recover("t-0", small(), &damaged);
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
    let (recovered, report, fix) = Log::recover("t-0", small(), &image);
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
    let (mut recovered, _, fix) = Log::recover("t-0", small(), &image);
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
    let (again, report, _) = Log::recover("t-0", small(), &image);
    assert_eq!(report.truncation, None);
    assert_eq!((again.log_start_offset(), again.log_end_offset()), (1, 1));
    let info = recovered
        .append_as_leader(&producer_batch(0, 2, 1), 4, &mut ops)
        .unwrap();
    assert_eq!(info.first_offset, 1);
}

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
        let (durable_log, durable_report, _) = Log::recover("t-0", small(), &durable_image);
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
                    file[durable_len + at % tail] ^= x;
                }
            }
        }

        let (recovered, report, ops) = Log::recover("t-0", small(), &damaged);
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
        let (again, second, second_ops) = Log::recover("t-0", small(), &fixed);
        prop_assert_eq!(second.truncation, None);
        prop_assert!(second_ops.is_empty(), "recovery is a fixed point: {:?}", second_ops);
        prop_assert_eq!(again.read(0, usize::MAX).unwrap(), kept);
    }
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

        let (flushed_log, _, _) = Log::recover("t-0", small(), &images[flushed]);
        let durable = flushed_log.read(0, usize::MAX).unwrap();
        let (recovered, report, ops) = Log::recover("t-0", small(), &disk);
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
        let (again, second, second_ops) = Log::recover("t-0", small(), &fixed);
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
        let (recovered, report, _) = Log::recover("t-0", small(), &image);
        prop_assert_eq!(report.truncation, None);
        prop_assert_eq!(recovered.read(0, usize::MAX).unwrap(), log.read(0, usize::MAX).unwrap());
        prop_assert_eq!(recovered.epoch_cache(), log.epoch_cache());
    }
}
