//! The offset index: a sparse map from offset to byte position inside a segment.
//!
//! Kafka does not index every batch: after every `index.interval.bytes` (4096 by default)
//! bytes appended, it writes one 8-byte entry — the batch's last offset relative to the
//! segment's base offset (4 bytes) and the batch's byte position (4 bytes). To read from an
//! offset, a broker finds the last entry at or below it and scans forward from there: a
//! lookup costs one binary search and a short scan, and the index stays small enough to keep
//! in memory. A database's sparse index on a heap file works the same way.

use super::batch::BatchHeader;

/// Bytes per index entry.
pub const ENTRY_BYTES: usize = 8;

/// A segment's offset index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetIndex {
    base_offset: i64,
    interval_bytes: u64,
    /// (offset relative to the base, byte position)
    entries: Vec<(u32, u32)>,
    bytes_since_last_entry: u64,
}

impl OffsetIndex {
    /// An empty index for the segment starting at `base_offset`.
    pub fn new(base_offset: i64, interval_bytes: u64) -> Self {
        OffsetIndex {
            base_offset,
            interval_bytes,
            entries: Vec::new(),
            bytes_since_last_entry: 0,
        }
    }

    /// Account for a batch about to be appended at `position`; returns the entry's bytes when
    /// one is due (Kafka indexes a batch once more than `index.interval.bytes` were appended
    /// since the last entry).
    pub fn on_append(
        &mut self,
        last_offset: i64,
        position: u64,
        batch_size: u64,
    ) -> Option<[u8; ENTRY_BYTES]> {
        let mut written = None;
        if self.bytes_since_last_entry > self.interval_bytes {
            let relative = (last_offset - self.base_offset) as u32;
            let entry = (relative, position as u32);
            self.entries.push(entry);
            self.bytes_since_last_entry = 0;
            written = Some(encode_entry(entry));
        }
        self.bytes_since_last_entry += batch_size;
        written
    }

    /// The byte position to start scanning from to find `offset`: the position of the last
    /// indexed batch whose last offset is at or below `offset`, or 0.
    pub fn lookup(&self, offset: i64) -> u64 {
        let relative = offset - self.base_offset;
        let i = self
            .entries
            .partition_point(|(rel, _)| i64::from(*rel) <= relative);
        if i == 0 {
            0
        } else {
            u64::from(self.entries[i - 1].1)
        }
    }

    /// Forget entries at or beyond byte `position` (the segment was cut there).
    pub fn truncate_to_position(&mut self, position: u64) {
        self.entries.retain(|(_, pos)| u64::from(*pos) < position);
    }

    /// The index file's bytes.
    pub fn encode(&self) -> Vec<u8> {
        self.entries.iter().flat_map(|e| encode_entry(*e)).collect()
    }

    /// How many entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the index has no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Rebuild the index of a segment from its (valid) log bytes, as recovery does.
    pub fn rebuild(base_offset: i64, interval_bytes: u64, log: &[u8]) -> Self {
        let mut index = OffsetIndex::new(base_offset, interval_bytes);
        let mut position = 0usize;
        while let Ok(header) = BatchHeader::parse(&log[position..]) {
            index.on_append(header.last_offset(), position as u64, header.size as u64);
            position += header.size;
        }
        index
    }
}

fn encode_entry((relative, position): (u32, u32)) -> [u8; ENTRY_BYTES] {
    let mut bytes = [0u8; ENTRY_BYTES];
    bytes[..4].copy_from_slice(&relative.to_be_bytes());
    bytes[4..].copy_from_slice(&position.to_be_bytes());
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_every_interval_bytes_and_lookup_finds_the_floor() {
        let mut index = OffsetIndex::new(100, 100);
        // Batches of 60 bytes, 10 records each, starting at offset 100.
        let mut written = Vec::new();
        for i in 0..6u64 {
            let last_offset = 100 + i as i64 * 10 + 9;
            if let Some(e) = index.on_append(last_offset, i * 60, 60) {
                written.push(e);
            }
        }
        // Entries once > 100 bytes accumulated: before batches 2 and 4.
        assert_eq!(index.len(), 2);
        assert_eq!(index.encode(), written.concat());
        assert_eq!(index.lookup(100), 0);
        assert_eq!(
            index.lookup(128),
            0,
            "offset 128 is before the first entry (129)"
        );
        assert_eq!(index.lookup(129), 120);
        assert_eq!(index.lookup(148), 120);
        assert_eq!(index.lookup(149), 240);
        assert_eq!(index.lookup(10_000), 240);
        index.truncate_to_position(240);
        assert_eq!(index.len(), 1);
    }
}
