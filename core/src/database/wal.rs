//! The write-ahead log: records with log sequence numbers (LSNs), in segment files under
//! `pg_wal/`, each record checked by a CRC.
//!
//! As in PostgreSQL, an LSN is a byte position in the WAL stream, printed as two hexadecimal
//! halves (`0/16B3748`), and a segment file is named by its timeline and segment number
//! (`000000010000000000000001`). Simplified: a record never spans two segments — one that
//! would not fit in what is left of a segment starts the next one, and the LSN jumps there —
//! and a record's payload is JSON, not PostgreSQL's binary resource-manager formats.
//!
//! Record layout: total length (u32, big-endian, the whole record), CRC-32C of everything
//! after the CRC field (u32), the record's own LSN (u64), the transaction id (u32), then the
//! JSON payload. A torn write leaves a record whose length runs past the file, whose CRC does
//! not match, or whose LSN is not where it lies: recovery stops there.

use super::RowChange;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A log sequence number: a byte position in the WAL stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Lsn(pub u64);

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

/// A transaction id (PostgreSQL's `xid`; the first normal one is 3).
pub type Xid = u32;

/// The first transaction id a new cluster hands out (0–2 are reserved in PostgreSQL).
pub const FIRST_NORMAL_XID: Xid = 3;

/// What a WAL record says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rmgr", rename_all = "snake_case")]
pub enum WalRecord {
    /// A row inserted, updated or deleted (the heap resource manager).
    Heap {
        /// The change.
        change: RowChange,
    },
    /// The transaction committed: its changes count from here on.
    Commit,
    /// The transaction rolled back: its changes never count.
    Abort,
    /// A checkpoint completed; redo after a crash starts at `redo`.
    Checkpoint {
        /// Where the checkpoint began: every change before it is in the data files.
        redo: Lsn,
    },
}

const HEADER: usize = 4 + 4 + 8 + 4;

/// The bytes of `record` of transaction `xid`, placed at `lsn`.
pub fn encode(lsn: Lsn, xid: Xid, record: &WalRecord) -> Vec<u8> {
    let payload = serde_json::to_vec(record).expect("a WAL record serialises");
    let total = HEADER + payload.len();
    let mut bytes = Vec::with_capacity(total);
    bytes.extend_from_slice(&(total as u32).to_be_bytes());
    bytes.extend_from_slice(&[0; 4]);
    bytes.extend_from_slice(&lsn.0.to_be_bytes());
    bytes.extend_from_slice(&xid.to_be_bytes());
    bytes.extend_from_slice(&payload);
    let crc = crc32c::crc32c(&bytes[8..]);
    bytes[4..8].copy_from_slice(&crc.to_be_bytes());
    bytes
}

/// Why a record could not be read: where redo stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BadRecord {
    /// The record runs past the end of the file (a torn write).
    Incomplete,
    /// Its CRC does not match its bytes.
    CrcMismatch,
    /// It does not say it lies where it lies (old bytes of a recycled segment, or garbage).
    WrongLsn,
    /// Its payload is not a record.
    Malformed,
}

impl fmt::Display for BadRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BadRecord::Incomplete => "record cut short",
            BadRecord::CrcMismatch => "incorrect resource manager data checksum",
            BadRecord::WrongLsn => "record at the wrong position",
            BadRecord::Malformed => "invalid record",
        })
    }
}

/// Read the record at the start of `bytes`, expected at `lsn`: the record, its transaction
/// and its length.
pub fn decode(bytes: &[u8], lsn: Lsn) -> Result<(Xid, WalRecord, usize), BadRecord> {
    if bytes.len() < HEADER {
        return Err(BadRecord::Incomplete);
    }
    let word = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    let total = word(0) as usize;
    if total < HEADER {
        return Err(BadRecord::Malformed);
    }
    if total > bytes.len() {
        return Err(BadRecord::Incomplete);
    }
    if crc32c::crc32c(&bytes[8..total]) != word(4) {
        return Err(BadRecord::CrcMismatch);
    }
    let at = u64::from_be_bytes(bytes[8..16].try_into().expect("8 bytes"));
    if at != lsn.0 {
        return Err(BadRecord::WrongLsn);
    }
    let xid = word(16);
    let record = serde_json::from_slice(&bytes[HEADER..total]).map_err(|_| BadRecord::Malformed)?;
    Ok((xid, record, total))
}

/// The segment file holding `lsn`, PostgreSQL's `XLogFileName` on timeline 1.
pub fn segment_file(lsn: Lsn, segment_size: u64) -> String {
    let segno = lsn.0 / segment_size;
    let per_id = 0x1_0000_0000 / segment_size;
    format!(
        "pg_wal/{:08X}{:08X}{:08X}",
        1,
        segno / per_id,
        segno % per_id
    )
}

/// Where the segment holding `lsn` starts.
pub fn segment_start(lsn: Lsn, segment_size: u64) -> Lsn {
    Lsn(lsn.0 - lsn.0 % segment_size)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::database::heap::Value;

    #[test]
    fn lsns_print_as_postgresql_prints_them() {
        assert_eq!(Lsn(0x16B_3748).to_string(), "0/16B3748");
        assert_eq!(Lsn(0x1_0000_00A0).to_string(), "1/A0");
    }

    /// PostgreSQL's names: 16 MB segments, 256 per "xlogid".
    #[test]
    fn segment_files_are_named_as_xlog_file_name_names_them() {
        let mb16 = 16 * 1024 * 1024;
        assert_eq!(
            segment_file(Lsn(0x16B_3748), mb16),
            "pg_wal/000000010000000000000001"
        );
        assert_eq!(
            segment_file(Lsn(0x1_0300_0000), mb16),
            "pg_wal/000000010000000100000003"
        );
        assert_eq!(segment_start(Lsn(0x16B_3748), mb16), Lsn(0x100_0000));
    }

    #[test]
    fn a_record_round_trips_and_damage_is_found() {
        let record = WalRecord::Heap {
            change: RowChange::Insert {
                table: "orders".into(),
                row: vec![Value::Int(1), Value::Text("ada".into())],
            },
        };
        let bytes = encode(Lsn(40), 7, &record);
        assert_eq!(decode(&bytes, Lsn(40)), Ok((7, record, bytes.len())));
        assert_eq!(
            decode(&bytes[..bytes.len() - 1], Lsn(40)),
            Err(BadRecord::Incomplete)
        );
        assert_eq!(decode(&bytes, Lsn(41)), Err(BadRecord::WrongLsn));
        let mut flipped = bytes.clone();
        *flipped.last_mut().expect("bytes") ^= 1;
        assert_eq!(decode(&flipped, Lsn(40)), Err(BadRecord::CrcMismatch));
        assert_eq!(decode(&[0; 30], Lsn(40)), Err(BadRecord::Malformed));
    }
}
