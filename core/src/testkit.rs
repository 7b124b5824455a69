//! Helpers for the unit tests of the state machines: a disk image holding a log written in
//! given leader epochs, a plain disk that applies what a node asks of it, and the outputs of a
//! step sorted by kind.
//!
//! Tests drive a broker's partition, its fetcher, the quorum or the controller through their
//! public methods with an [`Outbox`], and assert on what it holds: the messages sent, the
//! timers set, the trace events. Nothing here simulates a network or a clock.

use crate::disk::{DiskImage, DiskOp, DiskToken};
use crate::ids::NodeId;
use crate::log::batch::{Record, RecordBatch};
use crate::log::{Log, LogConfig};
use crate::node::{Outbox, Output, Vocabulary};

/// Apply disk operations to an image, as the simulator's page cache would.
pub fn apply(image: &mut DiskImage, ops: &[DiskOp]) {
    for op in ops {
        match op {
            DiskOp::Append { file, bytes } => image
                .entry(file.clone())
                .or_default()
                .extend_from_slice(bytes),
            DiskOp::Replace { file, bytes } => {
                image.insert(file.clone(), bytes.clone());
            }
            DiskOp::Truncate { file, len } => {
                if let Some(f) = image.get_mut(file) {
                    f.truncate(*len as usize);
                }
            }
            DiskOp::Delete { file } => {
                image.remove(file);
            }
            DiskOp::Sync { .. } => {}
        }
    }
}

/// A batch of `n` records with values `v0..`.
pub fn batch(n: usize) -> Vec<u8> {
    let records = (0..n)
        .map(|i| Record {
            timestamp: 0,
            key: None,
            value: Some(format!("v{i}").into_bytes()),
            headers: Vec::new(),
        })
        .collect();
    RecordBatch::from_records(records).encode()
}

/// A disk image holding the log `dir` written as `runs` says: `(epoch, records)` in order,
/// one record per batch, so that every offset is a batch boundary a truncation can cut at.
///
/// Example: `log_image("t-0", &[(1, 3), (2, 1)])` holds offsets 0..3 of epoch 1 and offset 3
/// of epoch 2: epoch history `(1,0) (2,3)`, log end offset 4.
pub fn log_image(dir: &str, runs: &[(i32, usize)]) -> DiskImage {
    let mut log = Log::new(dir, LogConfig::default());
    let mut ops = Vec::new();
    for (epoch, records) in runs {
        for _ in 0..*records {
            log.append_as_leader(&batch(1), *epoch, &mut ops)
                .expect("a valid batch");
        }
    }
    let mut image = DiskImage::new();
    apply(&mut image, &ops);
    image
}

/// The messages written to `out`, with their receivers.
pub fn sends<V: Vocabulary>(out: &Outbox<V>) -> Vec<(NodeId, &V::Msg)> {
    out.items()
        .iter()
        .filter_map(|o| match o {
            Output::Send { to, msg } => Some((*to, msg)),
            _ => None,
        })
        .collect()
}

/// The trace events written to `out`.
pub fn traces<V: Vocabulary>(out: &Outbox<V>) -> Vec<&V::Event> {
    out.items()
        .iter()
        .filter_map(|o| match o {
            Output::Trace(e) => Some(e),
            _ => None,
        })
        .collect()
}

/// The timers set in `out`.
pub fn timers_set<V: Vocabulary>(out: &Outbox<V>) -> Vec<&V::Timer> {
    out.items()
        .iter()
        .filter_map(|o| match o {
            Output::SetTimer { key, .. } => Some(key),
            _ => None,
        })
        .collect()
}

/// The fsyncs asked for in `out`: the file and the token its completion will carry.
pub fn syncs<V: Vocabulary>(out: &Outbox<V>) -> Vec<(String, DiskToken)> {
    out.items()
        .iter()
        .filter_map(|o| match o {
            Output::Disk(DiskOp::Sync { file, token }) => Some((file.clone(), *token)),
            _ => None,
        })
        .collect()
}

/// The disk operations written to `out`, in order.
pub fn disk_ops<V: Vocabulary>(out: &Outbox<V>) -> Vec<&DiskOp> {
    out.items()
        .iter()
        .filter_map(|o| match o {
            Output::Disk(op) => Some(op),
            _ => None,
        })
        .collect()
}

/// The replies written to `out`.
pub fn replies<V: Vocabulary>(out: &Outbox<V>) -> Vec<&V::Reply> {
    out.items()
        .iter()
        .filter_map(|o| match o {
            Output::Reply(r) => Some(r),
            _ => None,
        })
        .collect()
}
