//! PostgreSQL's logical streaming replication, between a database and a CDC connector.
//!
//! A client that wants a slot's changes opens a replication connection and sends
//! `START_REPLICATION SLOT name LOGICAL lsn`; the server's walsender then streams `XLogData`
//! messages, each carrying decoded WAL from flushed WAL only, and the client reports how far
//! it has safely consumed with *Standby status update* messages: the `flush` position it
//! sends becomes the slot's `confirmed_flush_lsn`. Before streaming, Debezium reads every
//! table once (its initial snapshot) in a REPEATABLE READ transaction whose snapshot matches
//! an LSN; streaming then starts after that LSN.
//!
//! Simplified: one `XLogData` carries one whole committed transaction as values (the
//! `pgoutput` plugin sends BEGIN, the changes and COMMIT as separate binary messages); the
//! snapshot is one query whose answer holds every table; no walsender keepalives. A dead
//! peer is found when a send to it fails, as TCP finds it: the client's status updates
//! while it streams, its TCP keepalive probes while it waits for the snapshot.

use crate::database::decoding::DecodedTxn;
use crate::database::heap::{Rows, TableSchema};
use crate::database::wal::Lsn;
use std::collections::BTreeMap;

/// `START_REPLICATION SLOT slot LOGICAL start_lsn`.
#[derive(Clone, Debug)]
pub struct StartReplication {
    /// The logical replication slot.
    pub slot: String,
    /// Stream transactions that commit after this position (or after the slot's
    /// `confirmed_flush_lsn`, if that is later).
    pub start_lsn: Lsn,
}

/// One decoded transaction of the stream (`XLogData`).
#[derive(Clone, Debug)]
pub struct XLogData {
    /// The slot the stream is for.
    pub slot: String,
    /// The transaction, whole, with each change's LSN.
    pub txn: DecodedTxn,
}

/// *Standby status update*: the client has safely consumed everything up to `flush_lsn`.
#[derive(Clone, Debug)]
pub struct StandbyStatusUpdate {
    /// The slot the stream is for.
    pub slot: String,
    /// Becomes the slot's `confirmed_flush_lsn`.
    pub flush_lsn: Lsn,
}

/// The initial snapshot's query: every row of these tables, as of one LSN.
#[derive(Clone, Debug)]
pub struct SnapshotQuery {
    /// The tables to read.
    pub tables: Vec<String>,
}

/// The snapshot's rows, and the LSN they are consistent with.
#[derive(Clone, Debug)]
pub struct SnapshotResult {
    /// Every committed transaction ending at or before it is in the rows; none after it.
    pub lsn: Lsn,
    /// Every row of the tables asked for, by table.
    pub tables: BTreeMap<String, Rows>,
    /// The tables' definitions at that LSN.
    pub schemas: Vec<TableSchema>,
}

/// The server refused a replication command (PostgreSQL's `ErrorResponse`).
#[derive(Clone, Debug)]
pub struct ReplicationError {
    /// PostgreSQL's message, e.g. `replication slot "x" does not exist`.
    pub message: String,
}

/// `START_REPLICATION PHYSICAL <lsn>`: a standby's walreceiver asks for the WAL from `start_lsn`.
#[derive(Clone, Debug)]
pub struct StartPhysicalReplication {
    /// The first WAL position it lacks.
    pub start_lsn: Lsn,
    /// Its `application_name` (what `synchronous_standby_names` lists).
    pub application_name: String,
}

/// WAL records as the primary wrote them (`XLogData` of a physical stream): each record's
/// LSN and its bytes.
#[derive(Clone, Debug)]
pub struct WalData {
    /// The records, in WAL order.
    pub records: Vec<(Lsn, Vec<u8>)>,
}

/// A standby's *status update*: how far it has written, flushed and replayed the WAL.
#[derive(Clone, Debug)]
pub struct StandbyReply {
    /// Received and written (not yet durable).
    pub write_lsn: Lsn,
    /// Durable on the standby.
    pub flush_lsn: Lsn,
    /// Replayed: visible to queries on the standby.
    pub apply_lsn: Lsn,
}
