//! One partition as its (only) replica sees it: the log plus what the broker tracks about it.

use crate::actor::{Actor, Event};
use crate::config::BrokerConfig;
use crate::disk::{DiskImage, DiskOp};
use crate::ids::TopicPartition;
use crate::log::{AppendInfo, Log, LogConfig, LogError};
use crate::node::Outbox;
use crate::protocol::ErrorCode;
use crate::time::Instant;

/// A partition hosted by a broker.
#[derive(Debug)]
pub struct Partition {
    tp: TopicPartition,
    log: Log,
    leader_epoch: i32,
    /// Everything below this offset is known durable (Kafka's "recovery point").
    recovery_point: i64,
    /// The highest offset a started flush will make durable.
    flush_requested_up_to: i64,
    last_flush_time: Instant,
}

/// The partition's directory in the broker's data dir, as Kafka names it: `orders-0`.
pub fn log_dir(tp: &TopicPartition) -> String {
    tp.to_string()
}

fn log_config(config: &BrokerConfig) -> LogConfig {
    LogConfig {
        segment_bytes: config.log_segment_bytes,
        index_interval_bytes: config.log_index_interval_bytes,
    }
}

impl Partition {
    /// Rebuild the partition from the disk image, recovering its log.
    pub fn recover(
        tp: TopicPartition,
        config: &BrokerConfig,
        disk: &DiskImage,
        now: Instant,
        out: &mut Outbox<Actor>,
    ) -> Self {
        let dir = log_dir(&tp);
        let prefix = format!("{dir}/");
        let has_files = disk.keys().any(|f| f.starts_with(&prefix));
        let (log, report, ops) = Log::recover(&dir, log_config(config), disk);
        out.disk_all(ops);
        if has_files {
            out.trace(Event::LogRecovered {
                partition: tp.clone(),
                report,
            });
        }
        // The broker cannot tell which of the bytes it found were ever fsynced (after a
        // process crash they may sit in the page cache only), so its recovery point starts at
        // zero and the next flush syncs everything. (Kafka keeps a recovery-point checkpoint
        // file and rescans only above it; this broker rescans every segment, which finds the
        // same torn tail.)
        // Each start of a lone broker is a new leadership term.
        let leader_epoch = log.epoch_cache().latest_epoch().map_or(0, |e| e + 1);
        Partition {
            tp,
            log,
            leader_epoch,
            recovery_point: 0,
            flush_requested_up_to: 0,
            last_flush_time: now,
        }
    }

    /// The partition.
    pub fn topic_partition(&self) -> &TopicPartition {
        &self.tp
    }
    /// The log.
    pub fn log(&self) -> &Log {
        &self.log
    }
    /// The current leader epoch.
    pub fn leader_epoch(&self) -> i32 {
        self.leader_epoch
    }
    /// The log start offset.
    pub fn log_start_offset(&self) -> i64 {
        self.log.log_start_offset()
    }
    /// The log end offset (LEO): the offset the next record will get.
    pub fn log_end_offset(&self) -> i64 {
        self.log.log_end_offset()
    }
    /// The high watermark: with a single replica, the log end offset.
    pub fn high_watermark(&self) -> i64 {
        self.log.log_end_offset()
    }
    /// Everything below this offset is durable.
    pub fn recovery_point(&self) -> i64 {
        self.recovery_point
    }
    /// When the last flush started.
    pub fn last_flush_time(&self) -> Instant {
        self.last_flush_time
    }
    /// Messages appended since the last flush started.
    pub fn unflushed_messages(&self) -> u64 {
        (self.log.log_end_offset() - self.flush_requested_up_to).max(0) as u64
    }
    /// Whether anything was appended since the last flush started.
    pub fn has_unflushed(&self) -> bool {
        self.unflushed_messages() > 0
    }

    /// Append a producer's batches as leader.
    pub fn append(
        &mut self,
        records: &[u8],
        _now: Instant,
        out: &mut Outbox<Actor>,
    ) -> Result<AppendInfo, ErrorCode> {
        let mut ops = Vec::new();
        let result = self
            .log
            .append_as_leader(records, self.leader_epoch, &mut ops);
        out.disk_all(ops);
        result.map_err(|e| match e {
            LogError::CorruptMessage(_) => ErrorCode::CorruptMessage,
            LogError::OffsetOutOfRange { .. } => ErrorCode::OffsetOutOfRange,
            _ => ErrorCode::KafkaStorageError,
        })
    }

    /// Read whole batches from `fetch_offset`, at most `max_bytes` (but at least one batch).
    pub fn read(&self, fetch_offset: i64, max_bytes: usize) -> Result<Vec<u8>, ErrorCode> {
        if fetch_offset > self.high_watermark() || fetch_offset < self.log_start_offset() {
            return Err(ErrorCode::OffsetOutOfRange);
        }
        self.log.read(fetch_offset, max_bytes).map_err(|e| match e {
            LogError::OffsetOutOfRange { .. } => ErrorCode::OffsetOutOfRange,
            _ => ErrorCode::KafkaStorageError,
        })
    }

    /// Begin an fsync of every file with unsynced writes: returns the offset it will make
    /// durable and the disk operations (empty if there is nothing to sync).
    pub fn start_flush(&mut self, next_token: &mut u64, now: Instant) -> (i64, Vec<DiskOp>) {
        let up_to = self.log.log_end_offset();
        let ops = self.log.flush_ops(next_token);
        if !ops.is_empty() {
            self.flush_requested_up_to = up_to;
            self.last_flush_time = now;
        }
        (up_to, ops)
    }

    /// A flush up to `up_to` completed.
    pub fn flushed(&mut self, up_to: i64) {
        self.recovery_point = self.recovery_point.max(up_to);
    }
}
