//! A partition's log: record batches in segments on the (simulated) disk.
//!
//! This is Kafka's storage engine, and a DBA will recognise it as a write-ahead log that *is*
//! the database: producers' batches are appended at the end and given offsets; consumers read
//! from any offset; nothing is updated in place. The log lives in the broker's memory as the
//! bytes it wrote (what the page cache holds) and every change is also emitted as a
//! [`DiskOp`] for the simulated disk. After a crash, [`Log::recover`] rebuilds the log from
//! whatever the disk kept, cutting a torn tail ([`recovery`]).
//!
//! Files, as Kafka names them, in the partition's directory (`orders-0/`):
//! `00000000000000000000.log` (batches), `00000000000000000000.index` (offset index, one per
//! segment) and `leader-epoch-checkpoint` ([`epoch_cache`]).

pub mod batch;
pub mod cleaner;
pub mod epoch_cache;
pub mod index;
pub mod recovery;
pub mod retention;
pub mod segment;
pub mod varint;

use crate::disk::{DiskOp, DiskToken, DiskWrites};
use batch::{BatchError, BatchHeader, RecordBatch, set_base_offset, set_partition_leader_epoch};
use epoch_cache::EpochCache;
pub use recovery::{RecoveryReport, RecoveryStart, Truncation, TruncationReason};
use segment::Segment;
use std::collections::{BTreeMap, BTreeSet};

/// Log settings, from the broker's configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogConfig {
    /// `log.segment.bytes`: roll to a new segment beyond this size (default 1 GiB).
    pub segment_bytes: u64,
    /// `log.index.interval.bytes`: bytes between offset-index entries (default 4096).
    pub index_interval_bytes: u64,
    /// `segment.ms` (`log.roll.ms`, `log.roll.hours`): roll to a new segment once a batch's
    /// timestamp is this much later than the active segment's first (default 7 days), so
    /// that time-based retention can delete a quiet partition's old records.
    pub segment_ms: i64,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            segment_bytes: 1_073_741_824,
            index_interval_bytes: 4096,
            segment_ms: 604_800_000,
        }
    }
}

/// Why the log refused an operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogError {
    /// An appended batch is damaged (Kafka: `CORRUPT_MESSAGE`).
    CorruptMessage(BatchError),
    /// A read outside `[log start, log end]` (Kafka: `OFFSET_OUT_OF_RANGE`).
    OffsetOutOfRange {
        /// The offset asked for.
        offset: i64,
        /// The log start offset.
        log_start_offset: i64,
        /// The log end offset.
        log_end_offset: i64,
    },
    /// A follower tried to append batches that start below the log end offset.
    NonIncreasingOffsets {
        /// The log end offset.
        expected: i64,
        /// The base offset received.
        got: i64,
    },
}

/// What an append did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendInfo {
    /// Offset of the first record appended.
    pub first_offset: i64,
    /// Offset of the last record appended.
    pub last_offset: i64,
    /// How many records.
    pub records: u64,
    /// The batches written, in offset order.
    pub batches: Vec<AppendedBatch>,
}

/// One record batch as it went into a log: where, in which leader epoch, holding what.
///
/// A batch's records are told once, where it was first written: by the leader that appended
/// it. A follower copies batches byte for byte, so its append names each batch by its CRC
/// (with its base offset and epoch, which the copy keeps too) instead of repeating the
/// records — as Kafka's replication copies bytes instead of re-encoding records.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AppendedBatch {
    /// Offset of its first record.
    pub base_offset: i64,
    /// Offset of its last record.
    pub last_offset: i64,
    /// The epoch of the leader that first appended it.
    pub leader_epoch: i32,
    /// Its CRC-32C, which identifies its content.
    pub crc: u32,
    /// Its records' values, as text (lossy UTF-8; empty for a tombstone), in offset order —
    /// given by the leader's append, empty in a follower's copy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    /// Its records' keys (lossy UTF-8; `None` for a null key), when any record has one —
    /// what a compacted topic keeps the latest record of. Given by the leader's append.
    #[serde(default, skip_serializing_if = "no_keys")]
    pub keys: Vec<Option<String>>,
    /// Which of its records are tombstones (null values), by position in the batch.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tombstones: Vec<u32>,
}

fn no_keys(keys: &[Option<String>]) -> bool {
    keys.iter().all(Option::is_none)
}

impl AppendedBatch {
    /// The batch at the start of `bytes` (whose CRC was verified), as a leader writes it at
    /// `base_offset` in `leader_epoch`: with its records' values.
    fn original(bytes: &[u8], header: &BatchHeader, base_offset: i64, leader_epoch: i32) -> Self {
        let records = RecordBatch::decode_unchecked(bytes)
            .map(|(b, _)| b.records)
            .unwrap_or_default();
        let text = |b: &Vec<u8>| String::from_utf8_lossy(b).into_owned();
        AppendedBatch {
            values: records
                .iter()
                .map(|r| r.value.as_ref().map_or_else(String::new, text))
                .collect(),
            keys: records.iter().map(|r| r.key.as_ref().map(text)).collect(),
            tombstones: (0..records.len() as u32)
                .filter(|i| records[*i as usize].value.is_none())
                .collect(),
            ..Self::copy(header, base_offset, leader_epoch)
        }
    }

    /// A follower's copy of a batch: where it sits and which batch it is.
    pub(crate) fn copy(header: &BatchHeader, base_offset: i64, leader_epoch: i32) -> Self {
        AppendedBatch {
            base_offset,
            last_offset: base_offset + i64::from(header.last_offset_delta),
            leader_epoch,
            crc: header.crc,
            values: Vec::new(),
            keys: Vec::new(),
            tombstones: Vec::new(),
        }
    }
}

/// A partition's log.
#[derive(Clone, Debug)]
pub struct Log {
    dir: String,
    config: LogConfig,
    segments: BTreeMap<i64, Segment>,
    log_start_offset: i64,
    epoch_cache: EpochCache,
    /// Files written since their last fsync was requested.
    dirty: BTreeSet<String>,
    /// The log cleaner's point (`cleaner-offset-checkpoint`): below it, compacted once.
    cleaner_point: i64,
}

impl Log {
    /// An empty log in `dir`, with one empty segment at offset 0.
    pub fn new(dir: &str, config: LogConfig) -> Self {
        let mut segments = BTreeMap::new();
        segments.insert(0, Segment::new(0, config.index_interval_bytes));
        Log {
            dir: dir.to_string(),
            config,
            segments,
            log_start_offset: 0,
            epoch_cache: EpochCache::new(),
            dirty: BTreeSet::new(),
            cleaner_point: 0,
        }
    }

    /// The partition directory.
    pub fn dir(&self) -> &str {
        &self.dir
    }
    /// The first offset still in the log.
    pub fn log_start_offset(&self) -> i64 {
        self.log_start_offset
    }
    /// The log end offset: the offset the next record will get.
    pub fn log_end_offset(&self) -> i64 {
        self.active().next_offset
    }
    /// The leader-epoch cache.
    pub fn epoch_cache(&self) -> &EpochCache {
        &self.epoch_cache
    }
    /// The segments, by base offset.
    pub fn segments(&self) -> &BTreeMap<i64, Segment> {
        &self.segments
    }
    /// Every batch header, in offset order.
    pub fn batches(&self) -> Vec<BatchHeader> {
        self.segments
            .values()
            .flat_map(|s| s.batches().into_iter().map(|(_, h)| h))
            .collect()
    }

    fn active(&self) -> &Segment {
        self.segments
            .values()
            .next_back()
            .expect("a log always has a segment")
    }

    /// Append a producer's batches as the leader in `leader_epoch`: verify each one, give it
    /// the next offsets and the epoch, write it. Nothing is written if any batch is damaged.
    pub fn append_as_leader(
        &mut self,
        bytes: &[u8],
        leader_epoch: i32,
        disk: &mut (impl DiskWrites + ?Sized),
    ) -> Result<AppendInfo, LogError> {
        let batches = split_verified(bytes).map_err(LogError::CorruptMessage)?;
        let first_offset = self.log_end_offset();
        let mut info = AppendInfo {
            first_offset,
            last_offset: first_offset - 1,
            records: 0,
            batches: Vec::new(),
        };
        if self
            .epoch_cache
            .latest_epoch()
            .is_none_or(|e| leader_epoch > e)
            && !batches.is_empty()
        {
            self.epoch_cache.assign(leader_epoch, first_offset);
            self.write_epoch_checkpoint(disk);
        }
        for (header, range) in batches {
            let mut batch = bytes[range].to_vec();
            let base = self.log_end_offset();
            set_base_offset(&mut batch, base);
            set_partition_leader_epoch(&mut batch, leader_epoch);
            let last = base + i64::from(header.last_offset_delta);
            let appended = AppendedBatch::original(&batch, &header, base, leader_epoch);
            info.batches.push(appended);
            self.append_batch(&batch, last, header.max_timestamp, disk);
            info.last_offset = last;
            info.records += header.record_count.max(0) as u64;
        }
        Ok(info)
    }

    /// Append batches copied from the leader, offsets and epochs included, as a follower does.
    pub fn append_as_follower(
        &mut self,
        bytes: &[u8],
        disk: &mut (impl DiskWrites + ?Sized),
    ) -> Result<AppendInfo, LogError> {
        let batches = split_verified(bytes).map_err(LogError::CorruptMessage)?;
        let first_offset = self.log_end_offset();
        let mut info = AppendInfo {
            first_offset,
            last_offset: first_offset - 1,
            records: 0,
            batches: Vec::new(),
        };
        // A compacted leader's log has gaps: a batch may start above where the last ended.
        let mut expected = first_offset;
        for (header, _) in &batches {
            if header.base_offset < expected {
                return Err(LogError::NonIncreasingOffsets {
                    expected,
                    got: header.base_offset,
                });
            }
            expected = header.next_offset();
        }
        for (header, range) in batches {
            if self
                .epoch_cache
                .assign(header.partition_leader_epoch, header.base_offset)
            {
                self.write_epoch_checkpoint(disk);
            }
            info.batches.push(AppendedBatch::copy(
                &header,
                header.base_offset,
                header.partition_leader_epoch,
            ));
            self.append_batch(
                &bytes[range],
                header.last_offset(),
                header.max_timestamp,
                disk,
            );
            info.last_offset = header.last_offset();
            info.records += header.record_count.max(0) as u64;
        }
        Ok(info)
    }

    /// Note that `epoch` starts at the log end offset, as a new leader does before its first
    /// append (so followers asking where their epoch ended get the right answer). Returns
    /// whether the cache changed.
    pub fn assign_epoch(&mut self, epoch: i32, disk: &mut (impl DiskWrites + ?Sized)) -> bool {
        let start = self.log_end_offset();
        if self.epoch_cache.latest_epoch().is_some_and(|e| epoch <= e) {
            return false;
        }
        self.epoch_cache.assign(epoch, start);
        self.write_epoch_checkpoint(disk);
        true
    }

    fn append_batch(
        &mut self,
        batch: &[u8],
        last_offset: i64,
        max_timestamp: i64,
        disk: &mut (impl DiskWrites + ?Sized),
    ) {
        if self.should_roll(batch.len() as u64, max_timestamp) {
            self.roll();
        }
        let dir = self.dir.clone();
        let segment = self.segments.values_mut().next_back().expect("a segment");
        let position = segment.size();
        if let Some(entry) = segment
            .index
            .on_append(last_offset, position, batch.len() as u64)
        {
            let file = segment::index_file(&dir, segment.base_offset);
            self.dirty.insert(file.clone());
            disk.write(DiskOp::Append {
                file,
                bytes: entry.to_vec(),
            });
        }
        segment.log.extend_from_slice(batch);
        segment.next_offset = last_offset + 1;
        let file = segment::log_file(&dir, segment.base_offset);
        self.dirty.insert(file.clone());
        disk.write(DiskOp::Append {
            file,
            bytes: batch.to_vec(),
        });
    }

    /// Kafka's `maybeRoll`: a new segment when the batch would make the active one larger
    /// than `segment.bytes`, or comes more than `segment.ms` after the segment's first
    /// batch (by the batches' own timestamps, as Kafka's `rollingBasedTimestamp`).
    fn should_roll(&self, batch_bytes: u64, max_timestamp: i64) -> bool {
        let active = self.active();
        let Ok(first) = BatchHeader::parse(&active.log) else {
            return false; // an empty segment takes anything
        };
        active.size() + batch_bytes > self.config.segment_bytes
            || max_timestamp.saturating_sub(first.max_timestamp) > self.config.segment_ms
    }

    /// Start a new, empty active segment at the log end offset. Its file appears with its
    /// first batch.
    fn roll(&mut self) {
        let base = self.log_end_offset();
        if self.active().base_offset != base {
            self.segments
                .insert(base, Segment::new(base, self.config.index_interval_bytes));
        }
    }

    /// Apply settings that may change while the log lives (a topic's `segment.ms` and
    /// `segment.bytes` from the metadata).
    pub fn set_config(&mut self, config: LogConfig) {
        self.config = config;
    }

    fn write_epoch_checkpoint(&mut self, disk: &mut (impl DiskWrites + ?Sized)) {
        let file = format!("{}/{}", self.dir, epoch_cache::CHECKPOINT_FILE);
        self.dirty.insert(file.clone());
        disk.write(DiskOp::Replace {
            file,
            bytes: self.epoch_cache.encode(),
        });
    }

    /// Whole batches from the one holding `fetch_offset`, up to `max_bytes` — but always at
    /// least one batch if there is one, so a batch larger than the limit cannot block a
    /// consumer forever (KIP-74). Empty at the log end offset.
    pub fn read(&self, fetch_offset: i64, max_bytes: usize) -> Result<Vec<u8>, LogError> {
        let end = self.log_end_offset();
        if fetch_offset < self.log_start_offset || fetch_offset > end {
            return Err(LogError::OffsetOutOfRange {
                offset: fetch_offset,
                log_start_offset: self.log_start_offset,
                log_end_offset: end,
            });
        }
        let mut out = Vec::new();
        let start_segment = self
            .segments
            .range(..=fetch_offset)
            .next_back()
            .map_or(0, |(b, _)| *b);
        for segment in self.segments.range(start_segment..).map(|(_, s)| s) {
            let from = if segment.base_offset == start_segment {
                match segment.position_of(fetch_offset) {
                    Some(p) => p,
                    None => continue,
                }
            } else {
                0
            };
            let mut position = from;
            while let Ok(header) = BatchHeader::parse(&segment.log[position..]) {
                if !out.is_empty() && out.len() + header.size > max_bytes {
                    return Ok(out);
                }
                out.extend_from_slice(&segment.log[position..position + header.size]);
                position += header.size;
            }
        }
        Ok(out)
    }

    /// Cut the log so that `offset` becomes the log end offset — or less: a batch holding
    /// `offset` goes whole, since Kafka truncates at batch boundaries. Below the log start
    /// offset the log starts afresh, empty, at `offset`. Returns the new log end offset.
    pub fn truncate_to(&mut self, offset: i64, disk: &mut (impl DiskWrites + ?Sized)) -> i64 {
        if offset >= self.log_end_offset() {
            return self.log_end_offset();
        }
        if offset < self.log_start_offset {
            return self.truncate_fully_and_start_at(offset, disk);
        }
        let doomed: Vec<i64> = self
            .segments
            .range(offset.max(self.log_start_offset) + 1..)
            .map(|(b, _)| *b)
            .collect();
        for base in doomed {
            if self.segments.len() > 1 {
                self.segments.remove(&base);
                disk.write(DiskOp::Delete {
                    file: segment::log_file(&self.dir, base),
                });
                disk.write(DiskOp::Delete {
                    file: segment::index_file(&self.dir, base),
                });
            }
        }
        let dir = self.dir.clone();
        let segment = self.segments.values_mut().next_back().expect("a segment");
        let cut = segment.position_of(offset).unwrap_or(segment.log.len());
        if cut < segment.log.len() {
            let new_end = BatchHeader::parse(&segment.log[cut..])
                .map_or(segment.next_offset, |h| h.base_offset);
            segment.log.truncate(cut);
            segment.next_offset = if cut == 0 {
                segment.base_offset
            } else {
                new_end
            };
            segment.index.truncate_to_position(cut as u64);
            let log_file = segment::log_file(&dir, segment.base_offset);
            let index_file = segment::index_file(&dir, segment.base_offset);
            disk.write(DiskOp::Truncate {
                file: log_file.clone(),
                len: cut as u64,
            });
            disk.write(DiskOp::Replace {
                file: index_file.clone(),
                bytes: segment.index.encode(),
            });
            self.dirty.insert(log_file);
            self.dirty.insert(index_file);
        }
        let end = self.log_end_offset();
        if self.epoch_cache.truncate_from_end(end) {
            self.write_epoch_checkpoint(disk);
        }
        end
    }

    /// Drop every segment and start afresh, empty, at `offset` (Kafka's
    /// `truncateFullyAndStartAt`): what truncating below the log start offset means, since no
    /// segment can be cut there. The new segment's file is created at once, empty, so that
    /// recovery finds the log start in the directory listing. Returns `offset`.
    pub fn truncate_fully_and_start_at(
        &mut self,
        offset: i64,
        disk: &mut (impl DiskWrites + ?Sized),
    ) -> i64 {
        for base in std::mem::take(&mut self.segments).into_keys() {
            for file in [
                segment::log_file(&self.dir, base),
                segment::index_file(&self.dir, base),
            ] {
                self.dirty.remove(&file);
                disk.write(DiskOp::Delete { file });
            }
        }
        self.segments.insert(
            offset,
            Segment::new(offset, self.config.index_interval_bytes),
        );
        self.log_start_offset = offset;
        let file = segment::log_file(&self.dir, offset);
        self.dirty.insert(file.clone());
        disk.write(DiskOp::Append {
            file,
            bytes: Vec::new(),
        });
        if !self.epoch_cache.entries().is_empty() {
            self.epoch_cache = EpochCache::new();
            self.write_epoch_checkpoint(disk);
        }
        offset
    }

    /// `fsync` every file written since the last flush: one `Sync` per file, with tokens drawn
    /// from `next_token`. Empty when nothing is dirty.
    pub fn flush_ops(&mut self, next_token: &mut u64) -> Vec<DiskOp> {
        std::mem::take(&mut self.dirty)
            .into_iter()
            .map(|file| {
                let token = DiskToken(*next_token);
                *next_token += 1;
                DiskOp::Sync { file, token }
            })
            .collect()
    }

    /// Count every file from the segment holding `offset` on as unsynced: after a crash the
    /// bytes above the recovery point may be in the page cache only.
    pub fn mark_unflushed_from(&mut self, offset: i64) {
        let from = self
            .segments
            .range(..=offset)
            .next_back()
            .map_or(0, |(base, _)| *base);
        for (base, segment) in self.segments.range(from..) {
            if !segment.log.is_empty() {
                self.dirty.insert(segment::log_file(&self.dir, *base));
            }
            if !segment.index.is_empty() {
                self.dirty.insert(segment::index_file(&self.dir, *base));
            }
        }
    }

    /// Whether anything was written since the last flush.
    pub fn has_unsynced_writes(&self) -> bool {
        !self.dirty.is_empty()
    }
}

/// Split concatenated batches, verifying each one's magic and CRC.
fn split_verified(bytes: &[u8]) -> Result<Vec<(BatchHeader, std::ops::Range<usize>)>, BatchError> {
    let mut out = Vec::new();
    let mut position = 0;
    while position < bytes.len() {
        let header = BatchHeader::parse(&bytes[position..])?;
        header.verify(&bytes[position..])?;
        out.push((header, position..position + header.size));
        position += header.size;
    }
    Ok(out)
}

#[cfg(test)]
mod properties;
#[cfg(test)]
pub(crate) mod tests;
