//! Deleting old segments: Kafka's `cleanup.policy=delete`.
//!
//! "Kafka stores data for a set amount of time without tracking who read it": every
//! `log.retention.check.interval.ms` each replica deletes, oldest first, whole closed segments
//! whose newest record is older than `retention.ms`, then as many more as keep the log within
//! `retention.bytes`, then those wholly below a log start offset the leader has moved. The
//! log start offset becomes the first remaining segment's base offset, and a reader below it
//! gets `OFFSET_OUT_OF_RANGE`.
//!
//! As in Kafka's `UnifiedLog.deletableSegments`, a segment is deleted only if every record in
//! it is below the high watermark (a replica never deletes what consumers may not read yet),
//! and the scan stops at the first segment that may stay. The active segment goes too when
//! everything is deletable, after rolling a new, empty one at the log end offset.
//!
//! Simplified: the log start offset only moves to segment boundaries (no `DeleteRecords`), so
//! it is always the first segment's base offset and needs no `log-start-offset-checkpoint`.

use super::Log;
use super::batch::BatchHeader;
use super::segment::{self, Segment};
use crate::disk::{DiskOp, DiskWrites};
use serde::{Deserialize, Serialize};

/// What makes a segment old enough to delete, as a topic's settings resolve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetentionRules {
    /// `retention.ms` (-1: forever). Default 7 days.
    pub retention_ms: i64,
    /// `retention.bytes` (-1: no limit, the default).
    pub retention_bytes: i64,
}

impl Default for RetentionRules {
    fn default() -> Self {
        RetentionRules {
            retention_ms: 604_800_000,
            retention_bytes: -1,
        }
    }
}

/// Why segments were deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "rule")]
pub enum DeletionReason {
    /// Their newest record is older than `retention.ms`.
    RetentionMs {
        /// The setting.
        retention_ms: i64,
    },
    /// The log was larger than `retention.bytes`.
    RetentionBytes {
        /// The setting.
        retention_bytes: i64,
    },
    /// They lie wholly below the log start offset (moved by the leader).
    LogStartOffset,
}

/// One deletion: which segments, why, and where the log starts now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentsDeleted {
    /// Each deleted segment's offsets: `(base offset, next offset)`.
    pub segments: Vec<(i64, i64)>,
    /// The rule that deleted them.
    pub reason: DeletionReason,
    /// The log start offset after the deletion.
    pub log_start_offset: i64,
    /// The high watermark the deletion was bounded by.
    pub high_watermark: i64,
}

impl Log {
    /// Kafka's `deleteOldSegments`: apply `rules` at `now_ms`, never deleting a record at or
    /// above `high_watermark`. One entry per rule that deleted something.
    pub fn delete_old_segments(
        &mut self,
        now_ms: i64,
        high_watermark: i64,
        rules: RetentionRules,
        disk: &mut (impl DiskWrites + ?Sized),
    ) -> Vec<SegmentsDeleted> {
        let mut deleted = Vec::new();
        if rules.retention_ms >= 0 {
            let reason = DeletionReason::RetentionMs {
                retention_ms: rules.retention_ms,
            };
            let expired =
                |s: &Segment| largest_timestamp(s).is_some_and(|t| now_ms - t > rules.retention_ms);
            deleted.extend(self.delete_while(high_watermark, reason, expired, disk));
        }
        if rules.retention_bytes >= 0 {
            let reason = DeletionReason::RetentionBytes {
                retention_bytes: rules.retention_bytes,
            };
            let mut excess = self.size() as i64 - rules.retention_bytes;
            let too_big = |s: &Segment| {
                let fits = excess - s.size() as i64 >= 0;
                if fits {
                    excess -= s.size() as i64;
                }
                fits
            };
            deleted.extend(self.delete_while(high_watermark, reason, too_big, disk));
        }
        deleted.extend(self.delete_below_log_start(high_watermark, disk));
        deleted
    }

    /// A follower learns the leader's log start offset from each fetch: it moves its own
    /// start there (`maybeIncrementLogStartOffset`, bounded by its high watermark) and deletes
    /// the segments wholly below it.
    pub fn maybe_increment_log_start_offset(
        &mut self,
        offset: i64,
        high_watermark: i64,
        disk: &mut (impl DiskWrites + ?Sized),
    ) -> Option<SegmentsDeleted> {
        let offset = offset.min(high_watermark);
        if offset <= self.log_start_offset {
            return None;
        }
        self.log_start_offset = offset;
        self.delete_below_log_start(high_watermark, disk)
    }

    fn delete_below_log_start(
        &mut self,
        high_watermark: i64,
        disk: &mut (impl DiskWrites + ?Sized),
    ) -> Option<SegmentsDeleted> {
        let start = self.log_start_offset;
        let below = |s: &Segment| s.next_offset <= start && !s.log.is_empty();
        self.delete_while(high_watermark, DeletionReason::LogStartOffset, below, disk)
    }

    /// The total size of the segment files.
    pub fn size(&self) -> u64 {
        self.segments.values().map(Segment::size).sum()
    }

    /// Delete segments from the oldest while `deletable` says so and each lies wholly below
    /// `high_watermark`.
    fn delete_while(
        &mut self,
        high_watermark: i64,
        reason: DeletionReason,
        mut deletable: impl FnMut(&Segment) -> bool,
        disk: &mut (impl DiskWrites + ?Sized),
    ) -> Option<SegmentsDeleted> {
        let mut doomed = Vec::new();
        for s in self.segments.values() {
            if s.log.is_empty() || s.next_offset > high_watermark || !deletable(s) {
                break;
            }
            doomed.push((s.base_offset, s.next_offset));
        }
        if doomed.is_empty() {
            return None;
        }
        if doomed.len() == self.segments.len() {
            // The log keeps an active segment, empty, at its end; its file is created at
            // once so that recovery finds the log start in the directory listing.
            self.roll();
            let file = segment::log_file(&self.dir, self.log_end_offset());
            self.dirty.insert(file.clone());
            disk.write(DiskOp::Append {
                file,
                bytes: Vec::new(),
            });
        }
        for (base, _) in &doomed {
            self.segments.remove(base);
            for file in [
                segment::log_file(&self.dir, *base),
                segment::index_file(&self.dir, *base),
            ] {
                self.dirty.remove(&file);
                disk.write(DiskOp::Delete { file });
            }
        }
        let first = *self.segments.keys().next().expect("a segment remains");
        self.log_start_offset = self.log_start_offset.max(first);
        debug_assert!(self.log_start_offset <= high_watermark.max(first));
        if self.epoch_cache.truncate_from_start(self.log_start_offset) {
            self.write_epoch_checkpoint(disk);
        }
        Some(SegmentsDeleted {
            segments: doomed,
            reason,
            log_start_offset: self.log_start_offset,
            high_watermark,
        })
    }
}

/// The newest record timestamp in a segment (Kafka's `largestTimestamp`); `None` if empty.
fn largest_timestamp(s: &Segment) -> Option<i64> {
    let mut position = 0;
    let mut largest = None;
    while let Ok(header) = BatchHeader::parse(&s.log[position..]) {
        largest = Some(largest.map_or(header.max_timestamp, |t: i64| t.max(header.max_timestamp)));
        position += header.size;
    }
    largest
}
