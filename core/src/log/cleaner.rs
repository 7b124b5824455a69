//! Log compaction: Kafka's `cleanup.policy=compact` and its log cleaner.
//!
//! A compacted topic is a table's changelog: for every key the log keeps at least the latest
//! record, so a consumer that reads it from the start rebuilds the table, however long ago the
//! table was first written. The cleaner works behind the *cleaner point*
//! (`cleaner-offset-checkpoint`): everything before it was cleaned once, everything after it
//! is *dirty*. When the dirty share of the log exceeds `min.cleanable.dirty.ratio`, a pass
//! maps every key in the dirty part to its latest offset, then rewrites each closed segment
//! from the log start, dropping every record whose key has a later one. Records keep their
//! offsets, so a compacted log has gaps; a consumer reads on across them.
//!
//! A tombstone (a null value) is how a key is deleted: it too is kept while it is a key's
//! latest record, so that consumers that are behind see the delete, but only for
//! `delete.retention.ms` (KIP-534): the first pass that keeps it stamps its batch with a delete
//! horizon (`baseTimestamp` with attribute bit 6), and a pass after that horizon removes it.
//!
//! What may be cleaned: closed segments (never the active one) that lie wholly below the high
//! watermark (Kafka's last stable offset: a replica never rewrites what consumers cannot read
//! yet) and whose newest record is older than `min.compaction.lag.ms`. Every replica cleans its
//! own log, followers as the leader, each on its own schedule: their bytes differ, their
//! latest values do not.
//!
//! Simplified from Kafka: segments are rewritten one by one in place (Kafka groups small ones
//! into one and swaps the files), and the offset map holds every dirty key (Kafka's is bounded
//! by `log.cleaner.dedupe.buffer.size`). Like Kafka, a rewritten batch keeps its base offset,
//! its `lastOffsetDelta` and its producer fields, and a batch left empty is dropped — unless it
//! is its segment's last (so the segment still ends where the next one starts, which recovery
//! checks) or its producer's last (Kafka keeps it for the producer's sequence numbers).

use super::batch::{BatchHeader, DELETE_HORIZON_FLAG, RecordBatch, SparseOffsets};
use super::index::OffsetIndex;
use super::segment;
use super::{AppendedBatch, Log};
use crate::disk::{DiskOp, DiskWrites};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The cleaner's file in a partition's directory: the cleaner point.
pub const CHECKPOINT_FILE: &str = "cleaner-offset-checkpoint";

/// A topic's compaction settings, as its config resolves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CleanerRules {
    /// `min.cleanable.dirty.ratio`, in parts per million (default 500 000: 0.5).
    pub min_cleanable_dirty_ratio_ppm: u32,
    /// `delete.retention.ms`: how long a tombstone outlives its first cleaning (default 1 day).
    pub delete_retention_ms: i64,
    /// `min.compaction.lag.ms`: a record stays uncompacted at least this long (default 0).
    pub min_compaction_lag_ms: i64,
}

impl Default for CleanerRules {
    fn default() -> Self {
        CleanerRules {
            min_cleanable_dirty_ratio_ppm: 500_000,
            delete_retention_ms: 86_400_000,
            min_compaction_lag_ms: 0,
        }
    }
}

/// What one cleaning pass did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogCleaned {
    /// The cleaner point before the pass: where the dirty part started.
    pub first_dirty_offset: i64,
    /// The cleaner point after it: everything below was cleaned.
    pub cleaner_point: i64,
    /// The dirty share of the cleanable bytes when the pass started, in parts per million.
    pub dirty_ratio_ppm: u32,
    /// Offsets of the records removed, as inclusive ranges in order.
    pub removed: Vec<(i64, i64)>,
    /// How many of them were tombstones past their delete horizon.
    pub tombstones_removed: u64,
    /// Each batch the pass rewrote, as it is now (a new CRC names it; no records given:
    /// they are what the batch held less what was removed). Batches dropped whole are not
    /// listed.
    pub rewritten: Vec<AppendedBatch>,
    /// Bytes of the segments before and after.
    pub bytes_before: u64,
    /// Bytes of the segments after.
    pub bytes_after: u64,
}

/// What the pass decided for one batch.
struct Rewrite {
    batch: Kept,
    removed: Vec<i64>,
    tombstones_removed: u64,
}

/// Whether a batch stays, and as what.
enum Kept {
    /// As it was, byte for byte.
    Unchanged,
    /// With fewer records, or a delete horizon.
    Rewritten(RecordBatch),
    /// Not at all: every record went.
    Dropped,
}

impl Log {
    /// The cleaner point: offsets below it were cleaned at least once.
    pub fn cleaner_point(&self) -> i64 {
        self.cleaner_point
    }

    /// One pass of Kafka's log cleaner at `now_ms`, if the dirty ratio calls for it.
    pub fn clean(
        &mut self,
        now_ms: i64,
        high_watermark: i64,
        rules: CleanerRules,
        disk: &mut (impl DiskWrites + ?Sized),
    ) -> Option<LogCleaned> {
        let end = self.cleanable_end(now_ms, high_watermark, rules);
        let first_dirty = self.first_dirty_offset();
        if end <= first_dirty {
            return None;
        }
        let ratio = self.dirty_ratio_ppm(first_dirty, end);
        if ratio <= rules.min_cleanable_dirty_ratio_ppm {
            return None;
        }
        let latest = self.latest_offsets(first_dirty, end);
        let kept_last = self.batches_kept_when_empty(end);
        let bytes_before = self.size();
        let mut removed = Vec::new();
        let mut tombstones_removed = 0;
        let mut rewritten = Vec::new();
        let bases: Vec<i64> = self.segments.range(..end).map(|(b, _)| *b).collect();
        for base in bases {
            let old = &self.segments[&base].log;
            let mut bytes = Vec::with_capacity(old.len());
            let mut position = 0;
            while let Ok((batch, size)) = RecordBatch::decode(&old[position..]) {
                let raw = &old[position..position + size];
                position += size;
                let last = batch.last_offset();
                let plan = rewrite(batch, &latest, now_ms, rules, kept_last.contains(&last));
                removed.extend(plan.removed);
                tombstones_removed += plan.tombstones_removed;
                match plan.batch {
                    Kept::Unchanged => bytes.extend_from_slice(raw),
                    Kept::Rewritten(b) => {
                        let encoded = b.encode();
                        let header = BatchHeader::parse(&encoded).expect("a batch just encoded");
                        rewritten.push(AppendedBatch::copy(
                            &header,
                            b.base_offset,
                            b.partition_leader_epoch,
                        ));
                        bytes.extend_from_slice(&encoded);
                    }
                    Kept::Dropped => {}
                }
            }
            if bytes != self.segments[&base].log {
                self.replace_segment(base, bytes, disk);
            }
        }
        self.cleaner_point = end;
        self.write_cleaner_checkpoint(disk);
        Some(LogCleaned {
            first_dirty_offset: first_dirty,
            cleaner_point: end,
            dirty_ratio_ppm: ratio,
            removed: ranges(&removed),
            tombstones_removed,
            rewritten,
            bytes_before,
            bytes_after: self.size(),
        })
    }

    /// The cleaner point as a pass sees it: a point outside the log (the log was truncated or
    /// retention moved its start) means cleaning from the log start again.
    fn first_dirty_offset(&self) -> i64 {
        let point = self.cleaner_point;
        if point < self.log_start_offset || point > self.log_end_offset() {
            self.log_start_offset
        } else {
            point
        }
    }

    /// The end of the closed segments, from the oldest, that are wholly below the high
    /// watermark and older than `min.compaction.lag.ms`.
    fn cleanable_end(&self, now_ms: i64, high_watermark: i64, rules: CleanerRules) -> i64 {
        let active = self.active().base_offset;
        let mut end = self.log_start_offset;
        for s in self.segments.range(..active).map(|(_, s)| s) {
            let newest = s.batches().iter().map(|(_, h)| h.max_timestamp).max();
            let lagging = newest.is_some_and(|t| now_ms - t < rules.min_compaction_lag_ms);
            if s.next_offset > high_watermark || lagging {
                break;
            }
            end = s.next_offset;
        }
        end
    }

    /// Kafka's `cleanableRatio`: dirty bytes over the bytes of every cleanable segment.
    fn dirty_ratio_ppm(&self, first_dirty: i64, end: i64) -> u32 {
        let (mut clean, mut dirty) = (0u64, 0u64);
        for s in self.segments.range(..end).map(|(_, s)| s) {
            if s.base_offset >= first_dirty {
                dirty += s.size();
            } else {
                clean += s.size();
            }
        }
        (dirty * 1_000_000)
            .checked_div(clean + dirty)
            .map_or(0, |ratio| ratio as u32)
    }

    /// The offset map: each key of the dirty part, at its latest offset there.
    fn latest_offsets(&self, first_dirty: i64, end: i64) -> BTreeMap<Vec<u8>, i64> {
        let mut latest = BTreeMap::new();
        for s in self.segments.range(..end).map(|(_, s)| s) {
            for batch in super::batch::batches(&s.log).filter(|b| !b.is_control()) {
                for (offset, record) in batch.records_with_offsets() {
                    if let (true, Some(key)) = (offset >= first_dirty, &record.key) {
                        latest.insert(key.clone(), offset);
                    }
                }
            }
        }
        latest
    }

    /// Last offsets of the batches a pass keeps even when it empties them: each segment's
    /// last, and each producer's last in the whole log.
    fn batches_kept_when_empty(&self, end: i64) -> BTreeSet<i64> {
        let mut kept = BTreeSet::new();
        let mut by_producer = BTreeMap::new();
        for (base, s) in &self.segments {
            let headers = s.batches();
            if *base < end
                && let Some((_, last)) = headers.last()
            {
                kept.insert(last.last_offset());
            }
            for (_, h) in headers.iter().filter(|(_, h)| h.producer_id >= 0) {
                by_producer.insert(h.producer_id, h.last_offset());
            }
        }
        kept.extend(by_producer.into_values());
        kept
    }

    /// Put a cleaned segment's bytes in place of the old, with a rebuilt offset index. Each
    /// file is replaced atomically (Kafka writes `.cleaned` files and swaps them in).
    fn replace_segment(
        &mut self,
        base: i64,
        bytes: Vec<u8>,
        disk: &mut (impl DiskWrites + ?Sized),
    ) {
        let interval = self.config.index_interval_bytes;
        let s = self
            .segments
            .get_mut(&base)
            .expect("a segment being cleaned");
        s.index = OffsetIndex::rebuild(base, interval, &bytes);
        debug_assert_eq!(
            last_header(&bytes).map(|h| h.next_offset()),
            Some(s.next_offset),
            "a cleaned segment still ends where it did"
        );
        s.log = bytes;
        for (file, content) in [
            (segment::log_file(&self.dir, base), s.log.clone()),
            (segment::index_file(&self.dir, base), s.index.encode()),
        ] {
            self.dirty.insert(file.clone());
            disk.write(DiskOp::Replace {
                file,
                bytes: content,
            });
        }
    }

    fn write_cleaner_checkpoint(&mut self, disk: &mut (impl DiskWrites + ?Sized)) {
        let file = format!("{}/{CHECKPOINT_FILE}", self.dir);
        self.dirty.insert(file.clone());
        disk.write(DiskOp::Replace {
            file,
            bytes: encode_checkpoint(self.cleaner_point),
        });
    }
}

/// The header of the last batch in `log`.
fn last_header(log: &[u8]) -> Option<BatchHeader> {
    let mut position = 0;
    let mut last = None;
    while let Ok(h) = BatchHeader::parse(&log[position..]) {
        position += h.size;
        last = Some(h);
    }
    last
}

/// Decide one batch: which records stay, whether it gets a delete horizon, whether it stays
/// at all. A batch that loses nothing and needs no horizon is kept as it was.
fn rewrite(
    batch: RecordBatch,
    latest: &BTreeMap<Vec<u8>, i64>,
    now_ms: i64,
    rules: CleanerRules,
    keep_when_empty: bool,
) -> Rewrite {
    let mut plan = Rewrite {
        batch: Kept::Unchanged,
        removed: Vec::new(),
        tombstones_removed: 0,
    };
    if batch.is_control() {
        return plan;
    }
    let horizon = batch.delete_horizon_ms();
    let mut kept = Vec::new();
    let mut deltas = Vec::new();
    for (offset, record) in batch.records_with_offsets() {
        let superseded = record
            .key
            .as_ref()
            .and_then(|k| latest.get(k))
            .is_some_and(|&newest| offset < newest);
        let expired_tombstone = record.value.is_none() && horizon.is_some_and(|h| now_ms >= h);
        if superseded || expired_tombstone {
            plan.removed.push(offset);
            plan.tombstones_removed += u64::from(expired_tombstone && !superseded);
        } else {
            kept.push(record.clone());
            deltas.push((offset - batch.base_offset) as i32);
        }
    }
    let needs_horizon = horizon.is_none() && kept.iter().any(|r| r.value.is_none());
    if plan.removed.is_empty() && !needs_horizon {
        return plan;
    }
    if kept.is_empty() && !keep_when_empty {
        plan.batch = Kept::Dropped;
        return plan;
    }
    let mut cleaned = batch;
    if needs_horizon {
        cleaned.attributes |= DELETE_HORIZON_FLAG;
        cleaned.base_timestamp = now_ms.saturating_add(rules.delete_retention_ms);
    }
    let last_offset_delta = cleaned.last_offset_delta();
    let dense = deltas.iter().enumerate().all(|(i, d)| *d == i as i32)
        && last_offset_delta == (deltas.len() as i32 - 1).max(0);
    cleaned.records = kept;
    cleaned.sparse = (!dense).then_some(SparseOffsets {
        offset_deltas: deltas,
        last_offset_delta,
    });
    plan.batch = Kept::Rewritten(cleaned);
    plan
}

/// Sorted offsets as inclusive ranges: `[3, 4, 5, 9]` → `[(3, 5), (9, 9)]`.
fn ranges(offsets: &[i64]) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::new();
    for &o in offsets {
        match out.last_mut() {
            Some((_, last)) if *last + 1 == o => *last = o,
            _ => out.push((o, o)),
        }
    }
    out
}

/// The checkpoint file's text, in the layout of Kafka's offset checkpoints: a version line,
/// a count line, then the partition's entry (here one file per partition directory).
fn encode_checkpoint(point: i64) -> Vec<u8> {
    format!("0\n1\n{point}\n").into_bytes()
}

/// The cleaner point a checkpoint file holds, if it is readable.
pub fn parse_checkpoint(bytes: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut lines = text.lines();
    (lines.next()? == "0" && lines.next()? == "1")
        .then(|| lines.next()?.trim().parse().ok())
        .flatten()
}
