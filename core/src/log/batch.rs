//! Kafka's record batch format, version 2 ("magic 2"), as bytes.
//!
//! A partition log is a sequence of record batches, and a batch is what producers send, what
//! brokers append and fsync, and what consumers fetch — the same bytes all the way. Its
//! 61-byte header (big-endian) is:
//!
//! ```text
//! offset  size  field
//!      0     8  baseOffset            first offset in the batch (assigned by the leader)
//!      8     4  batchLength           bytes after this field
//!     12     4  partitionLeaderEpoch  epoch of the leader that appended it (KIP-101)
//!     16     1  magic                 2
//!     17     4  crc                   CRC-32C of everything from `attributes` to the end
//!     21     2  attributes            compression, timestamp type, transactional, control
//!     23     4  lastOffsetDelta
//!     27     8  baseTimestamp
//!     35     8  maxTimestamp
//!     43     8  producerId            -1 without idempotence
//!     51     2  producerEpoch
//!     53     4  baseSequence
//!     57     4  records count
//!     61        records...
//! ```
//!
//! The CRC deliberately does not cover the base offset and the leader epoch: the leader
//! rewrites both on append without recomputing it. Each record inside is framed with
//! varints: length, attributes, timestamp delta, offset delta, key, value, headers.
//!
//! For a DBA: this is a WAL record with a checksum. Recovery after a crash reads batches until
//! one is incomplete or fails its CRC, exactly as a database replays its WAL to the last
//! intact record.

use super::varint::{get_varint, get_varlong, put_varint, put_varlong};

/// Size of the batch header, before the first record.
pub const HEADER_BYTES: usize = 61;
/// The magic byte of format v2.
pub const MAGIC_V2: i8 = 2;
/// The `attributes` bit of a control batch (bit 5): its records are the log's own markers —
/// a KRaft leader's `LeaderChangeMessage`, a transaction's commit or abort — not data.
pub const CONTROL_FLAG: i16 = 0x20;
/// Bytes before the CRC-covered region starts (the `attributes` field).
const CRC_START: usize = 21;
/// Bytes of `baseOffset` + `batchLength`: the length field counts what follows them.
pub const LOG_OVERHEAD: usize = 12;

/// A record header (Kafka's `Header`): a string key and an optional value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The header's key.
    pub key: String,
    /// The header's value.
    pub value: Option<Vec<u8>>,
}

/// One record of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Creation time, milliseconds (simulated).
    pub timestamp: i64,
    /// The key; `None` is Kafka's null key.
    pub key: Option<Vec<u8>>,
    /// The value; `None` is a tombstone.
    pub value: Option<Vec<u8>>,
    /// Headers, in order.
    pub headers: Vec<Header>,
}

/// A whole record batch, decoded. Records take consecutive offsets from `base_offset`, except
/// in a batch the log cleaner rewrote: it keeps each surviving record's offset and the
/// batch's last offset, leaving gaps ([`SparseOffsets`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordBatch {
    /// Offset of the first record.
    pub base_offset: i64,
    /// Epoch of the leader that appended the batch; -1 before a leader sets it.
    pub partition_leader_epoch: i32,
    /// Attribute bits (0: no compression, create time, not transactional).
    pub attributes: i16,
    /// The idempotent producer's id, or -1.
    pub producer_id: i64,
    /// The producer's epoch, or -1.
    pub producer_epoch: i16,
    /// Sequence number of the first record, or -1.
    pub base_sequence: i32,
    /// Timestamp of the first record.
    pub base_timestamp: i64,
    /// Largest timestamp in the batch.
    pub max_timestamp: i64,
    /// The records.
    pub records: Vec<Record>,
    /// The records' offsets when compaction left gaps; `None` when they are consecutive.
    pub sparse: Option<SparseOffsets>,
}

/// Where the records of a compacted batch sit: each one's offset delta, and the batch's
/// `lastOffsetDelta`, which the cleaner keeps even when it removed the last record (so the
/// batch still ends where it did, and a producer's sequence numbers still add up).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SparseOffsets {
    /// Offset delta of each record, strictly increasing, one per record.
    pub offset_deltas: Vec<i32>,
    /// The batch's last offset delta, at least the last record's.
    pub last_offset_delta: i32,
}

/// The `attributes` bit (bit 6, KIP-534) saying the cleaner set the batch's delete horizon:
/// `baseTimestamp` then holds the time after which its tombstones may be removed.
pub const DELETE_HORIZON_FLAG: i16 = 0x40;

/// Why bytes are not a valid batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchError {
    /// Fewer bytes than the header or the declared length needs (a torn write, typically).
    Incomplete {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// The magic byte is not 2.
    BadMagic(i8),
    /// The stored CRC does not match the bytes (Kafka answers `CORRUPT_MESSAGE`).
    CrcMismatch {
        /// CRC in the header.
        stored: u32,
        /// CRC of the bytes.
        computed: u32,
    },
    /// The framing inside the batch is inconsistent.
    Malformed(String),
}

impl std::fmt::Display for BatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BatchError::Incomplete { needed, available } => {
                write!(f, "incomplete batch: {available} of {needed} bytes")
            }
            BatchError::BadMagic(m) => write!(f, "bad magic byte {m}"),
            BatchError::CrcMismatch { stored, computed } => {
                write!(
                    f,
                    "CRC mismatch: stored {stored:08x}, computed {computed:08x}"
                )
            }
            BatchError::Malformed(why) => write!(f, "malformed batch: {why}"),
        }
    }
}

fn be_i64(b: &[u8], at: usize) -> i64 {
    i64::from_be_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}
fn be_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
fn be_i16(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes(b[at..at + 2].try_into().expect("2 bytes"))
}

/// The header of a batch, read without decoding its records (for scanning a log quickly).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchHeader {
    /// Offset of the first record.
    pub base_offset: i64,
    /// Total size of the batch in bytes, header included.
    pub size: usize,
    /// Leader epoch stamped by the leader.
    pub partition_leader_epoch: i32,
    /// The magic byte.
    pub magic: i8,
    /// The stored CRC.
    pub crc: u32,
    /// Offset of the last record minus the base offset.
    pub last_offset_delta: i32,
    /// The largest record timestamp in the batch (ms; `CreateTime`, the producer's clock):
    /// what time-based retention and `segment.ms` go by.
    pub max_timestamp: i64,
    /// Number of records.
    pub record_count: i32,
    /// Producer id, or -1.
    pub producer_id: i64,
    /// Producer epoch, or -1.
    pub producer_epoch: i16,
    /// First sequence number, or -1.
    pub base_sequence: i32,
}

impl BatchHeader {
    /// Read the header at the start of `bytes`. Checks only that the header and the declared
    /// length fit: call [`BatchHeader::verify`] to check magic and CRC.
    pub fn parse(bytes: &[u8]) -> Result<BatchHeader, BatchError> {
        if bytes.len() < HEADER_BYTES {
            return Err(BatchError::Incomplete {
                needed: HEADER_BYTES,
                available: bytes.len(),
            });
        }
        let batch_length = be_i32(bytes, 8);
        let size = LOG_OVERHEAD as i64 + i64::from(batch_length);
        if size < HEADER_BYTES as i64 {
            return Err(BatchError::Malformed(format!(
                "batch length {batch_length} is shorter than a header"
            )));
        }
        let header = BatchHeader {
            base_offset: be_i64(bytes, 0),
            size: size as usize,
            partition_leader_epoch: be_i32(bytes, 12),
            magic: bytes[16] as i8,
            crc: be_i32(bytes, 17) as u32,
            last_offset_delta: be_i32(bytes, 23),
            max_timestamp: be_i64(bytes, 35),
            producer_id: be_i64(bytes, 43),
            producer_epoch: be_i16(bytes, 51),
            base_sequence: be_i32(bytes, 53),
            record_count: be_i32(bytes, 57),
        };
        if header.magic != MAGIC_V2 {
            return Err(BatchError::BadMagic(header.magic));
        }
        if bytes.len() < header.size {
            return Err(BatchError::Incomplete {
                needed: header.size,
                available: bytes.len(),
            });
        }
        Ok(header)
    }

    /// Check the CRC of the batch at the start of `bytes` (which must hold the whole batch).
    pub fn verify(&self, bytes: &[u8]) -> Result<(), BatchError> {
        let computed = crc32c::crc32c(&bytes[CRC_START..self.size]);
        if computed != self.crc {
            return Err(BatchError::CrcMismatch {
                stored: self.crc,
                computed,
            });
        }
        if self.last_offset_delta < 0 || self.record_count < 0 {
            return Err(BatchError::Malformed(
                "negative record count or offset delta".into(),
            ));
        }
        Ok(())
    }

    /// Offset of the last record.
    pub fn last_offset(&self) -> i64 {
        self.base_offset + i64::from(self.last_offset_delta)
    }

    /// The offset after this batch.
    pub fn next_offset(&self) -> i64 {
        self.last_offset() + 1
    }
}

/// Overwrite the base offset of the batch at the start of `bytes` (outside the CRC).
pub fn set_base_offset(bytes: &mut [u8], offset: i64) {
    bytes[0..8].copy_from_slice(&offset.to_be_bytes());
}

/// Overwrite the partition leader epoch of the batch at the start of `bytes` (outside the CRC).
pub fn set_partition_leader_epoch(bytes: &mut [u8], epoch: i32) {
    bytes[12..16].copy_from_slice(&epoch.to_be_bytes());
}

/// The intact batches at the start of `bytes`, in order, stopping at the first one that is
/// damaged (CRC checked) or cut short: how every reader of a log — a consumer, a new group
/// coordinator, the metadata log's replay — walks its bytes.
pub fn batches(bytes: &[u8]) -> Batches<'_> {
    Batches { rest: bytes }
}

/// The iterator of [`batches`].
#[derive(Debug)]
pub struct Batches<'a> {
    rest: &'a [u8],
}

impl Iterator for Batches<'_> {
    type Item = RecordBatch;

    fn next(&mut self) -> Option<RecordBatch> {
        let (batch, used) = RecordBatch::decode(self.rest).ok()?;
        self.rest = &self.rest[used..];
        Some(batch)
    }
}

impl RecordBatch {
    /// Each record with its offset.
    pub fn records_with_offsets(&self) -> impl Iterator<Item = (i64, &Record)> {
        self.records
            .iter()
            .enumerate()
            .map(|(i, r)| (self.base_offset + i64::from(self.offset_delta(i)), r))
    }

    /// The offset delta of the `i`-th record.
    fn offset_delta(&self, i: usize) -> i32 {
        self.sparse
            .as_ref()
            .map_or(i as i32, |s| s.offset_deltas[i])
    }

    /// `lastOffsetDelta`: the last record's, or what the cleaner kept.
    pub fn last_offset_delta(&self) -> i32 {
        self.sparse.as_ref().map_or_else(
            || (self.records.len() as i32 - 1).max(0),
            |s| s.last_offset_delta,
        )
    }

    /// The delete horizon the cleaner set (KIP-534), if it did.
    pub fn delete_horizon_ms(&self) -> Option<i64> {
        (self.attributes & DELETE_HORIZON_FLAG != 0).then_some(self.base_timestamp)
    }

    /// A control batch of `record` (see [`CONTROL_FLAG`]).
    pub fn control(record: Record) -> Self {
        let mut batch = RecordBatch::from_records(vec![record]);
        batch.attributes |= CONTROL_FLAG;
        batch
    }

    /// Whether this is a control batch.
    pub fn is_control(&self) -> bool {
        self.attributes & CONTROL_FLAG != 0
    }

    /// A batch as a producer without idempotence builds it: offsets from 0 (the leader assigns
    /// the real ones), no leader epoch yet, no producer id or sequence; timestamps taken from
    /// the records.
    pub fn from_records(records: Vec<Record>) -> Self {
        let base_timestamp = records.first().map_or(0, |r| r.timestamp);
        let max_timestamp = records
            .iter()
            .map(|r| r.timestamp)
            .max()
            .unwrap_or(base_timestamp);
        RecordBatch {
            base_offset: 0,
            partition_leader_epoch: -1,
            attributes: 0,
            producer_id: -1,
            producer_epoch: -1,
            base_sequence: -1,
            base_timestamp,
            max_timestamp,
            records,
            sparse: None,
        }
    }

    /// Offset of the last record.
    pub fn last_offset(&self) -> i64 {
        self.base_offset + i64::from(self.last_offset_delta())
    }

    /// The offset after this batch.
    pub fn next_offset(&self) -> i64 {
        self.last_offset() + 1
    }

    /// Encode as v2 bytes, CRC included.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_BYTES + self.records.len() * 32);
        out.extend_from_slice(&self.base_offset.to_be_bytes());
        out.extend_from_slice(&0i32.to_be_bytes()); // batchLength, filled below
        out.extend_from_slice(&self.partition_leader_epoch.to_be_bytes());
        out.push(MAGIC_V2 as u8);
        out.extend_from_slice(&0u32.to_be_bytes()); // crc, filled below
        out.extend_from_slice(&self.attributes.to_be_bytes());
        debug_assert!(
            self.sparse
                .as_ref()
                .is_none_or(|s| s.offset_deltas.len() == self.records.len()),
            "one offset delta per record"
        );
        out.extend_from_slice(&self.last_offset_delta().to_be_bytes());
        out.extend_from_slice(&self.base_timestamp.to_be_bytes());
        out.extend_from_slice(&self.max_timestamp.to_be_bytes());
        out.extend_from_slice(&self.producer_id.to_be_bytes());
        out.extend_from_slice(&self.producer_epoch.to_be_bytes());
        out.extend_from_slice(&self.base_sequence.to_be_bytes());
        out.extend_from_slice(&(self.records.len() as i32).to_be_bytes());
        let mut body = Vec::new();
        for (i, record) in self.records.iter().enumerate() {
            body.clear();
            body.push(0); // record attributes: unused in v2
            put_varlong(&mut body, record.timestamp - self.base_timestamp);
            put_varint(&mut body, self.offset_delta(i));
            put_bytes(&mut body, record.key.as_deref());
            put_bytes(&mut body, record.value.as_deref());
            put_varint(&mut body, record.headers.len() as i32);
            for h in &record.headers {
                put_bytes(&mut body, Some(h.key.as_bytes()));
                put_bytes(&mut body, h.value.as_deref());
            }
            put_varint(&mut out, body.len() as i32);
            out.extend_from_slice(&body);
        }
        let batch_length = (out.len() - LOG_OVERHEAD) as i32;
        out[8..12].copy_from_slice(&batch_length.to_be_bytes());
        let crc = crc32c::crc32c(&out[CRC_START..]);
        out[17..21].copy_from_slice(&crc.to_be_bytes());
        out
    }

    /// Decode the batch at the start of `bytes`, verifying magic and CRC. Returns the batch and
    /// the number of bytes it occupies.
    pub fn decode(bytes: &[u8]) -> Result<(RecordBatch, usize), BatchError> {
        let header = BatchHeader::parse(bytes)?;
        header.verify(bytes)?;
        Self::decode_records(&header, bytes)
    }

    /// Decode without checking the CRC — what a consumer with `check.crcs=false` does. Framing
    /// errors are still errors.
    pub fn decode_unchecked(bytes: &[u8]) -> Result<(RecordBatch, usize), BatchError> {
        let header = BatchHeader::parse(bytes)?;
        Self::decode_records(&header, bytes)
    }

    fn decode_records(
        header: &BatchHeader,
        bytes: &[u8],
    ) -> Result<(RecordBatch, usize), BatchError> {
        let base_timestamp = be_i64(bytes, 27);
        let count = header.record_count as usize;
        let mut records = Vec::with_capacity(count.min(4096));
        let mut deltas = Vec::with_capacity(count.min(4096));
        let mut r = Reader {
            bytes: &bytes[HEADER_BYTES..header.size],
            at: 0,
        };
        for index in 0..count {
            let length = r.varint()?;
            let start = r.at;
            let _attributes = r.byte()?;
            let timestamp_delta = r.varlong()?;
            let offset_delta = r.varint()?;
            let previous = deltas.last().copied().unwrap_or(-1);
            if offset_delta <= previous || offset_delta > header.last_offset_delta {
                return Err(BatchError::Malformed(format!(
                    "record {index} has offset delta {offset_delta}"
                )));
            }
            deltas.push(offset_delta);
            let key = r.bytes()?;
            let value = r.bytes()?;
            let header_count = r.varint()?;
            let mut headers = Vec::new();
            for _ in 0..header_count.max(0) {
                let key = r.bytes()?.unwrap_or_default();
                let value = r.bytes()?;
                headers.push(Header {
                    key: String::from_utf8_lossy(&key).into_owned(),
                    value,
                });
            }
            if r.at - start != length.max(0) as usize {
                return Err(BatchError::Malformed(format!(
                    "record {index} length mismatch"
                )));
            }
            records.push(Record {
                timestamp: base_timestamp.wrapping_add(timestamp_delta),
                key,
                value,
                headers,
            });
        }
        if r.at != r.bytes.len() {
            return Err(BatchError::Malformed(
                "bytes left after the last record".into(),
            ));
        }
        let dense = header.last_offset_delta == (count as i32 - 1).max(0);
        let sparse = (!dense).then_some(SparseOffsets {
            offset_deltas: deltas,
            last_offset_delta: header.last_offset_delta,
        });
        Ok((
            RecordBatch {
                base_offset: header.base_offset,
                partition_leader_epoch: header.partition_leader_epoch,
                attributes: be_i16(bytes, 21),
                producer_id: header.producer_id,
                producer_epoch: header.producer_epoch,
                base_sequence: header.base_sequence,
                base_timestamp,
                max_timestamp: be_i64(bytes, 35),
                records,
                sparse,
            },
            header.size,
        ))
    }
}

fn put_bytes(out: &mut Vec<u8>, bytes: Option<&[u8]>) {
    match bytes {
        None => put_varint(out, -1),
        Some(b) => {
            put_varint(out, b.len() as i32);
            out.extend_from_slice(b);
        }
    }
}

/// A cursor over a batch's record bytes; every read is bounds-checked.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn malformed(&self, what: &str) -> BatchError {
        BatchError::Malformed(format!("{what} at byte {}", HEADER_BYTES + self.at))
    }
    fn byte(&mut self) -> Result<u8, BatchError> {
        let b = *self
            .bytes
            .get(self.at)
            .ok_or_else(|| self.malformed("record cut short"))?;
        self.at += 1;
        Ok(b)
    }
    fn varint(&mut self) -> Result<i32, BatchError> {
        let (v, used) =
            get_varint(&self.bytes[self.at..]).map_err(|_| self.malformed("bad varint"))?;
        self.at += used;
        Ok(v)
    }
    fn varlong(&mut self) -> Result<i64, BatchError> {
        let (v, used) =
            get_varlong(&self.bytes[self.at..]).map_err(|_| self.malformed("bad varlong"))?;
        self.at += used;
        Ok(v)
    }
    fn bytes(&mut self) -> Result<Option<Vec<u8>>, BatchError> {
        let len = self.varint()?;
        if len < 0 {
            return Ok(None);
        }
        let end = self.at + len as usize;
        let slice = self
            .bytes
            .get(self.at..end)
            .ok_or_else(|| self.malformed("field longer than the record"))?;
        self.at = end;
        Ok(Some(slice.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> RecordBatch {
        RecordBatch::from_records(vec![
            Record {
                timestamp: 1000,
                key: Some(b"k".to_vec()),
                value: Some(b"hello".to_vec()),
                headers: vec![],
            },
            Record {
                timestamp: 1002,
                key: None,
                value: None,
                headers: vec![Header {
                    key: "h".into(),
                    value: Some(b"v".to_vec()),
                }],
            },
        ])
    }

    #[test]
    fn header_layout_matches_kafka() {
        let bytes = sample().encode();
        let h = BatchHeader::parse(&bytes).unwrap();
        assert_eq!(h.size, bytes.len());
        assert_eq!(
            be_i32(&bytes, 8) as usize,
            bytes.len() - 12,
            "batchLength counts bytes after itself"
        );
        assert_eq!(bytes[16], 2, "magic at byte 16");
        assert_eq!(h.record_count, 2);
        assert_eq!(h.last_offset_delta, 1);
        h.verify(&bytes).unwrap();
        // A record: length 1B, attributes, ts delta 0, offset delta 0, key len 1 'k',
        // value len 5 "hello", 0 headers.
        assert_eq!(
            &bytes[61..],
            &[
                0x18, 0x00, 0x00, 0x00, 0x02, b'k', 0x0a, b'h', b'e', b'l', b'l', b'o', 0x00, 0x14,
                0x00, 0x04, 0x02, 0x01, 0x01, 0x02, 0x02, b'h', 0x02, b'v',
            ][..]
        );
    }

    #[test]
    fn offset_and_epoch_can_be_rewritten_without_breaking_the_crc() {
        let mut bytes = sample().encode();
        set_base_offset(&mut bytes, 42);
        set_partition_leader_epoch(&mut bytes, 7);
        let (batch, _) = RecordBatch::decode(&bytes).unwrap();
        assert_eq!(batch.base_offset, 42);
        assert_eq!(batch.partition_leader_epoch, 7);
        assert_eq!(batch.last_offset(), 43);
    }

    #[test]
    fn a_compacted_batch_keeps_its_offsets_and_last_offset_delta() {
        let mut batch = sample();
        batch.base_offset = 10;
        batch.records.remove(0);
        batch.sparse = Some(SparseOffsets {
            offset_deltas: vec![1],
            last_offset_delta: 3,
        });
        let (decoded, _) = RecordBatch::decode(&batch.encode()).unwrap();
        assert_eq!(decoded, batch);
        let offsets: Vec<i64> = decoded.records_with_offsets().map(|(o, _)| o).collect();
        assert_eq!(offsets, vec![11]);
        assert_eq!(decoded.last_offset(), 13);
        // Deltas must grow and stay within lastOffsetDelta.
        batch.sparse = Some(SparseOffsets {
            offset_deltas: vec![4],
            last_offset_delta: 3,
        });
        assert!(matches!(
            RecordBatch::decode(&batch.encode()),
            Err(BatchError::Malformed(_))
        ));
    }

    #[test]
    fn damage_is_reported_by_kind() {
        let bytes = sample().encode();
        assert!(matches!(
            RecordBatch::decode(&bytes[..30]),
            Err(BatchError::Incomplete { .. })
        ));
        assert!(matches!(
            RecordBatch::decode(&bytes[..bytes.len() - 1]),
            Err(BatchError::Incomplete { .. })
        ));
        let mut bad = bytes.clone();
        bad[16] = 1;
        assert_eq!(
            RecordBatch::decode(&bad).unwrap_err(),
            BatchError::BadMagic(1)
        );
        let mut bad = bytes.clone();
        let last = bad.len() - 1;
        bad[last] ^= 0xff;
        assert!(matches!(
            RecordBatch::decode(&bad),
            Err(BatchError::CrcMismatch { .. })
        ));
        assert!(
            RecordBatch::decode_unchecked(&bad).is_ok(),
            "check.crcs=false does not notice"
        );
    }

    fn arb_record() -> impl Strategy<Value = Record> {
        (
            0i64..100_000,
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..20)),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..200)),
            proptest::collection::vec(
                (
                    "[a-z]{0,5}",
                    proptest::option::of(proptest::collection::vec(any::<u8>(), 0..5)),
                ),
                0..3,
            ),
        )
            .prop_map(|(timestamp, key, value, headers)| Record {
                timestamp,
                key,
                value,
                headers: headers
                    .into_iter()
                    .map(|(key, value)| Header { key, value })
                    .collect(),
            })
    }

    /// Any batch of 1 to 20 records with any field values.
    pub(crate) fn arb_batch() -> impl Strategy<Value = RecordBatch> {
        (
            0i64..1_000_000,
            -1i32..100,
            proptest::collection::vec(arb_record(), 1..20),
            -1i64..1000,
        )
            .prop_map(|(base_offset, epoch, records, producer_id)| {
                let base_timestamp = records[0].timestamp;
                let max_timestamp = records
                    .iter()
                    .map(|r| r.timestamp)
                    .max()
                    .unwrap_or(base_timestamp);
                RecordBatch {
                    base_offset,
                    partition_leader_epoch: epoch,
                    attributes: 0,
                    producer_id,
                    producer_epoch: if producer_id < 0 { -1 } else { 0 },
                    base_sequence: if producer_id < 0 { -1 } else { 0 },
                    base_timestamp,
                    max_timestamp,
                    records,
                    sparse: None,
                }
            })
    }

    proptest! {
        #[test]
        fn encode_decode_round_trips(batch in arb_batch()) {
            let bytes = batch.encode();
            let (decoded, used) = RecordBatch::decode(&bytes).unwrap();
            prop_assert_eq!(used, bytes.len());
            prop_assert_eq!(decoded, batch);
        }

        /// Any single-byte change in the CRC-covered region is caught.
        #[test]
        fn crc_catches_any_byte_change(batch in arb_batch(), at in any::<usize>(), flip in 1u8..=255) {
            let mut bytes = batch.encode();
            let at = CRC_START + at % (bytes.len() - CRC_START);
            bytes[at] ^= flip;
            prop_assert!(RecordBatch::decode(&bytes).is_err());
        }

        /// Arbitrary bytes never panic the decoder.
        #[test]
        fn garbage_is_an_error_not_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = RecordBatch::decode(&bytes);
            let _ = RecordBatch::decode_unchecked(&bytes);
        }
    }
}
