//! Log recovery after a crash: keep every intact batch, cut the first damaged one and
//! everything after it.
//!
//! After an unclean shutdown a broker cannot trust the end of its log: a power loss may have
//! left a batch half-written (a *torn write*), or garbage where the last sector should be.
//! It trusts what was fsynced — the segments wholly below the log's *recovery point*, read
//! back from `recovery-point-offset-checkpoint` — and scans every later segment, as Kafka's
//! `LogLoader` recovers only the segments from the one holding the recovery point. After a
//! clean shutdown (the `.kafka_cleanshutdown` marker) every byte was flushed and nothing is
//! scanned ([`RecoveryStart`]). A scanned segment is read batch by batch, checking that the
//! header is complete,
//! the magic byte is 2, the CRC matches and the offsets go on from where the previous batch
//! ended (a compacted log leaves gaps between batches, never within the segments' chain) —
//! across segments too, since each file is synced on its own and a later segment can
//! survive one that never reached the disk. At the first batch that fails, it truncates the
//! segment there and deletes every later segment — the same rule as a database replaying its WAL up to the last valid record.
//! Then it rebuilds each offset index from the surviving bytes, drops leader-epoch entries
//! beyond the new log end and adds any epoch the surviving batches show that the checkpoint
//! file missed.

use super::batch::{BatchError, BatchHeader};
use super::epoch_cache::{CHECKPOINT_FILE, EpochCache};
use super::index::OffsetIndex;
use super::segment::{self, Segment};
use super::{Log, LogConfig};
use crate::disk::{DiskImage, DiskOp};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Why recovery cut the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TruncationReason {
    /// The last batch is incomplete: its header or its body was cut short.
    TornBatch,
    /// A batch's CRC does not match its bytes.
    CrcMismatch,
    /// A batch's magic byte is not 2 (garbage where a header should be).
    BadMagic,
    /// A batch's framing is inconsistent.
    Malformed,
    /// A batch's offsets do not continue the log.
    OffsetOutOfOrder,
}

impl std::fmt::Display for TruncationReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TruncationReason::TornBatch => "torn batch: cut short",
            TruncationReason::CrcMismatch => "CRC mismatch",
            TruncationReason::BadMagic => "bad magic byte",
            TruncationReason::Malformed => "malformed batch",
            TruncationReason::OffsetOutOfOrder => "offsets out of order",
        })
    }
}

/// Where and why recovery cut the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Truncation {
    /// The segment file that was cut.
    pub segment: String,
    /// The byte position of the cut.
    pub position: u64,
    /// Bytes removed, over this segment and every deleted later one.
    pub bytes_truncated: u64,
    /// Why.
    pub reason: TruncationReason,
    /// Base offset of the damaged batch, if its header could be read.
    pub first_lost_offset: Option<i64>,
}

/// Where recovery starts checking batches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecoveryStart {
    /// The broker shut down cleanly: every byte was flushed, nothing is checked.
    CleanShutdown,
    /// After a crash: segments wholly below this recovery point were fsynced and are
    /// trusted; from the segment holding it on, every batch is checked.
    RecoveryPoint(i64),
}

/// What recovery found and did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryReport {
    /// Whether the broker had shut down cleanly (nothing was checked).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub clean_shutdown: bool,
    /// The recovery point read back, below which segments were trusted (after a crash).
    #[serde(default)]
    pub recovery_point: i64,
    /// Segments read and checked batch by batch.
    pub segments_scanned: u64,
    /// Segments loaded without a check: wholly below the recovery point, or every segment
    /// after a clean shutdown.
    #[serde(default)]
    pub segments_trusted: u64,
    /// Bytes checked (the cost of recovery: a clean shutdown checks none).
    #[serde(default)]
    pub bytes_checked: u64,
    /// Intact batches kept.
    pub valid_batches: u64,
    /// Records in them.
    pub valid_records: u64,
    /// The log end offset after recovery.
    pub log_end_offset: i64,
    /// The cut, if anything was damaged.
    pub truncation: Option<Truncation>,
    /// Segment files deleted because they came after the damage.
    pub deleted_segments: Vec<String>,
    /// A problem with the leader-epoch checkpoint (the cache then starts empty).
    pub epoch_checkpoint_problem: Option<String>,
}

fn reason_of(error: &BatchError) -> TruncationReason {
    match error {
        BatchError::Incomplete { .. } => TruncationReason::TornBatch,
        BatchError::BadMagic(_) => TruncationReason::BadMagic,
        BatchError::CrcMismatch { .. } => TruncationReason::CrcMismatch,
        BatchError::Malformed(_) => TruncationReason::Malformed,
    }
}

/// Scan one segment's bytes from the start; returns the length of the valid prefix, the next
/// offset after it, and the damage found (if any) with the damaged batch's base offset.
fn scan(
    bytes: &[u8],
    mut expected: i64,
    verify: bool,
    report: &mut RecoveryReport,
) -> (usize, i64, Option<(TruncationReason, Option<i64>)>) {
    let mut position = 0;
    while position < bytes.len() {
        let rest = &bytes[position..];
        let header = match BatchHeader::parse(rest) {
            Ok(h) => h,
            Err(e) => {
                let base = (rest.len() >= 8)
                    .then(|| i64::from_be_bytes(rest[..8].try_into().expect("8 bytes")));
                return (position, expected, Some((reason_of(&e), base)));
            }
        };
        // A trusted segment is only walked, header to header (Kafka rebuilds nothing for it).
        if verify && let Err(e) = header.verify(rest) {
            return (
                position,
                expected,
                Some((reason_of(&e), Some(header.base_offset))),
            );
        }
        // Compaction leaves gaps between batches, but never goes back (Kafka checks the same).
        if header.base_offset < expected {
            return (
                position,
                expected,
                Some((TruncationReason::OffsetOutOfOrder, Some(header.base_offset))),
            );
        }
        report.valid_batches += 1;
        report.valid_records += header.record_count.max(0) as u64;
        expected = header.next_offset();
        position += header.size;
    }
    (position, expected, None)
}

impl Log {
    /// Rebuild the log of `dir` from a disk image; returns the log, a report, and the disk
    /// operations that make the disk match it (cuts, deletions, rebuilt indexes).
    pub fn recover(
        dir: &str,
        config: LogConfig,
        image: &DiskImage,
        start: RecoveryStart,
    ) -> (Log, RecoveryReport, Vec<DiskOp>) {
        let prefix = format!("{dir}/");
        let mut report = RecoveryReport {
            clean_shutdown: start == RecoveryStart::CleanShutdown,
            recovery_point: match start {
                RecoveryStart::CleanShutdown => 0,
                RecoveryStart::RecoveryPoint(point) => point,
            },
            ..RecoveryReport::default()
        };
        let mut ops = Vec::new();
        let mut logs: BTreeMap<i64, (&String, &Vec<u8>)> = BTreeMap::new();
        let mut indexes: BTreeSet<&String> = BTreeSet::new();
        for (name, bytes) in image.range(prefix.clone()..) {
            let Some(file) = name.strip_prefix(&prefix) else {
                break;
            };
            if let Some(stem) = file.strip_suffix(".log")
                && let Some(base) = segment::parse_stem(stem)
            {
                logs.insert(base, (name, bytes));
            } else if file.ends_with(".index") {
                indexes.insert(name);
            }
        }

        let mut log = Log::new(dir, config);
        log.segments.clear();
        let mut expected: Option<i64> = None;
        let mut damaged = false;
        let bases: Vec<i64> = logs.keys().copied().collect();
        for (i, (&base, &(name, bytes))) in logs.iter().enumerate() {
            // Wholly below the recovery point: the next segment starts at or below it.
            let trusted = match start {
                RecoveryStart::CleanShutdown => true,
                RecoveryStart::RecoveryPoint(point) => {
                    bases.get(i + 1).is_some_and(|next| *next <= point)
                }
            };
            if damaged {
                report.deleted_segments.push(name.clone());
                if let Some(t) = report.truncation.as_mut() {
                    t.bytes_truncated += bytes.len() as u64;
                }
                ops.push(DiskOp::Delete { file: name.clone() });
                ops.push(DiskOp::Delete {
                    file: segment::index_file(dir, base),
                });
                continue;
            }
            if trusted {
                report.segments_trusted += 1;
            } else {
                report.segments_scanned += 1;
                report.bytes_checked += bytes.len() as u64;
            }
            // A segment must begin where the previous one ended. One that does not lies beyond
            // a hole — a segment file that never reached the disk while a later one did, since
            // each file is synced on its own — and goes whole, with everything after it: a log
            // with a hole would let a consumer skip records without noticing.
            if let Some(expected) = expected
                && expected != base
            {
                damaged = true;
                report.truncation = Some(Truncation {
                    segment: name.clone(),
                    position: 0,
                    bytes_truncated: bytes.len() as u64,
                    reason: TruncationReason::OffsetOutOfOrder,
                    first_lost_offset: BatchHeader::parse(bytes).ok().map(|h| h.base_offset),
                });
                report.deleted_segments.push(name.clone());
                ops.push(DiskOp::Delete { file: name.clone() });
                ops.push(DiskOp::Delete {
                    file: segment::index_file(dir, base),
                });
                continue;
            }
            let (valid, next, damage) =
                scan(bytes, expected.unwrap_or(base), !trusted, &mut report);
            if let Some((reason, first_lost_offset)) = damage {
                damaged = true;
                report.truncation = Some(Truncation {
                    segment: name.clone(),
                    position: valid as u64,
                    bytes_truncated: (bytes.len() - valid) as u64,
                    reason,
                    first_lost_offset,
                });
                ops.push(DiskOp::Truncate {
                    file: name.clone(),
                    len: valid as u64,
                });
            }
            let index = OffsetIndex::rebuild(base, config.index_interval_bytes, &bytes[..valid]);
            let index_name = segment::index_file(dir, base);
            let on_disk = image.get(&index_name).map(Vec::as_slice).unwrap_or(&[]);
            if on_disk != index.encode().as_slice() {
                ops.push(DiskOp::Replace {
                    file: index_name.clone(),
                    bytes: index.encode(),
                });
            }
            indexes.remove(&index_name);
            log.segments.insert(
                base,
                Segment {
                    base_offset: base,
                    log: bytes[..valid].to_vec(),
                    index,
                    next_offset: next,
                },
            );
            expected = Some(next);
        }
        // Index files without a segment are leftovers of deleted segments.
        for stale in indexes {
            if !report
                .deleted_segments
                .iter()
                .any(|d| d.trim_end_matches(".log") == stale.trim_end_matches(".index"))
            {
                ops.push(DiskOp::Delete {
                    file: stale.clone(),
                });
            }
        }
        if log.segments.is_empty() {
            log.segments
                .insert(0, Segment::new(0, config.index_interval_bytes));
        }
        log.log_start_offset = *log.segments.keys().next().expect("a segment");

        let checkpoint = format!("{dir}/{CHECKPOINT_FILE}");
        let mut rewrite_checkpoint = false;
        if let Some(bytes) = image.get(&checkpoint) {
            match EpochCache::parse(bytes) {
                Ok(cache) => log.epoch_cache = cache,
                Err(problem) => {
                    report.epoch_checkpoint_problem = Some(problem);
                    rewrite_checkpoint = true;
                }
            }
        }
        let end = log.log_end_offset();
        rewrite_checkpoint |= log.epoch_cache.truncate_from_end(end);
        // Without retention the log starts at 0, but a first segment that never reached the
        // disk leaves a later one first; the cache then starts where the log does, as Kafka's
        // does when the log start offset moves.
        rewrite_checkpoint |= log.epoch_cache.truncate_from_start(log.log_start_offset);
        // The checkpoint is a separate file, replaced and synced on its own: after a power
        // loss it may be older than the batches that survived, or unreadable. Each batch
        // carries the epoch of the leader that wrote it, so, like Kafka's segment recovery
        // (`LogSegment.recover`), re-assign the epochs the surviving batches show.
        for header in log.batches() {
            rewrite_checkpoint |= log
                .epoch_cache
                .assign(header.partition_leader_epoch, header.base_offset);
        }
        if rewrite_checkpoint {
            ops.push(DiskOp::Replace {
                file: checkpoint,
                bytes: log.epoch_cache.encode(),
            });
        }
        if let Some(point) = image
            .get(&format!("{dir}/{}", super::cleaner::CHECKPOINT_FILE))
            .and_then(|b| super::cleaner::parse_checkpoint(b))
        {
            log.cleaner_point = point;
        }
        report.log_end_offset = end;
        (log, report, ops)
    }
}
