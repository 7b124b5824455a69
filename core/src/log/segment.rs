//! A log segment: one `.log` file of batches and its `.index`, named by base offset.
//!
//! A partition's log is split into segments so old data can be deleted a file at a time
//! (retention) and recovery only rescans recent files. The name of both files is the first
//! offset of the segment, zero-padded to 20 digits: `00000000000000000057.log`.

use super::batch::BatchHeader;
use super::index::OffsetIndex;

/// One segment, held in memory as the bytes the broker wrote (its page cache view).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// First offset the segment may hold.
    pub base_offset: i64,
    /// The batches, as bytes.
    pub log: Vec<u8>,
    /// The sparse offset index.
    pub index: OffsetIndex,
    /// The offset after the last batch (the base offset when empty).
    pub next_offset: i64,
}

/// `00000000000000000057` for base offset 57.
pub fn file_stem(base_offset: i64) -> String {
    format!("{base_offset:020}")
}

/// The segment's `.log` file name inside `dir`.
pub fn log_file(dir: &str, base_offset: i64) -> String {
    format!("{dir}/{}.log", file_stem(base_offset))
}

/// The segment's `.index` file name inside `dir`.
pub fn index_file(dir: &str, base_offset: i64) -> String {
    format!("{dir}/{}.index", file_stem(base_offset))
}

/// The base offset named by a segment file's stem (`"00000000000000000057"` → 57).
pub fn parse_stem(stem: &str) -> Option<i64> {
    if stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit()) {
        stem.parse().ok()
    } else {
        None
    }
}

impl Segment {
    /// An empty segment starting at `base_offset`.
    pub fn new(base_offset: i64, index_interval_bytes: u64) -> Self {
        Segment {
            base_offset,
            log: Vec::new(),
            index: OffsetIndex::new(base_offset, index_interval_bytes),
            next_offset: base_offset,
        }
    }

    /// Size of the `.log` file.
    pub fn size(&self) -> u64 {
        self.log.len() as u64
    }

    /// Byte position of the batch holding `offset` (or of the first batch after it), scanning
    /// from the index's hint; `None` if every batch ends before `offset`.
    pub fn position_of(&self, offset: i64) -> Option<usize> {
        let mut position = self.index.lookup(offset) as usize;
        while position < self.log.len() {
            let header = BatchHeader::parse(&self.log[position..]).ok()?;
            if header.last_offset() >= offset {
                return Some(position);
            }
            position += header.size;
        }
        None
    }

    /// Headers of every batch, in order.
    pub fn batches(&self) -> Vec<(usize, BatchHeader)> {
        let mut out = Vec::new();
        let mut position = 0;
        while let Ok(header) = BatchHeader::parse(&self.log[position..]) {
            out.push((position, header));
            position += header.size;
        }
        out
    }
}
