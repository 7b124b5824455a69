//! A node's disk: a page cache over durable storage.
//!
//! This is the distinction every DBA knows from `fsync` and every Kafka operator should:
//! - a write lands in the operating system's **page cache** and is visible at once;
//! - it becomes **durable** only when an `fsync` completes;
//! - a **process crash** (kill -9) loses the process's memory, but the kernel still holds the
//!   page cache and writes it out later: nothing written is lost;
//! - a **power loss** (or kernel panic, or machine crash) loses the page cache: only synced
//!   bytes remain, and the last unsynced write may be *torn* — partly on disk, partly not, the
//!   end perhaps garbage — which is what log recovery must detect (CRC) and cut off.
//!
//! Kafka by default never calls fsync itself (`log.flush.interval.messages` and
//! `log.flush.interval.ms` are "never"): it counts on replicas not all losing power at once.

use kafkasim_core::disk::{DiskImage, DiskOp};
use kafkasim_core::prng::Prng;
use kafkasim_core::time::Duration;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How the disk behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiskConfig {
    /// How long an fsync takes.
    pub fsync_latency: Duration,
    /// Whether a power loss may keep part of the unsynced bytes (a torn write) instead of none.
    pub torn_writes: bool,
}

impl Default for DiskConfig {
    /// An SSD: 2 ms per fsync; power loss tears the last write.
    fn default() -> Self {
        DiskConfig {
            fsync_latency: Duration::from_millis(2),
            torn_writes: true,
        }
    }
}

#[derive(Clone, Debug, Default)]
struct File {
    /// What a reader sees: the page cache.
    cache: Vec<u8>,
    /// What survives a power loss; `None` when the file was never synced (it vanishes).
    durable: Option<Vec<u8>>,
}

/// What a power loss did to one file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileLoss {
    /// The file.
    pub file: String,
    /// Its length in the page cache before the power went.
    pub cached_len: u64,
    /// Its synced length.
    pub durable_len: u64,
    /// Unsynced bytes that happened to reach the platter anyway (a torn write).
    pub torn_bytes_kept: u64,
    /// Whether the torn bytes end in garbage.
    pub garbage: bool,
    /// Whether the file disappeared (never synced).
    pub vanished: bool,
}

/// One node's files.
#[derive(Clone, Debug, Default)]
pub struct Disk {
    files: BTreeMap<String, File>,
}

impl Disk {
    /// An empty disk.
    pub fn new() -> Self {
        Self::default()
    }

    /// Apply a write-type operation to the page cache. `Sync` is not applied here: the world
    /// calls [`Disk::sync`] when the fsync completes.
    pub fn apply(&mut self, op: &DiskOp) {
        match op {
            DiskOp::Append { file, bytes } => {
                self.files
                    .entry(file.clone())
                    .or_default()
                    .cache
                    .extend_from_slice(bytes);
            }
            DiskOp::Replace { file, bytes } => {
                self.files.entry(file.clone()).or_default().cache = bytes.clone();
            }
            DiskOp::Truncate { file, len } => {
                if let Some(f) = self.files.get_mut(file) {
                    let len = usize::try_from(*len).unwrap_or(usize::MAX);
                    f.cache.truncate(len);
                }
            }
            DiskOp::Delete { file } => {
                // A deletion is a directory change; we treat it as durable at once (Kafka renames
                // segments to `.deleted` first, which recovery also ignores).
                self.files.remove(file);
            }
            DiskOp::Sync { .. } => {}
        }
    }

    /// Complete an fsync of `file`: its current cached content becomes durable. Returns the
    /// durable length, or `None` if the file no longer exists.
    pub fn sync(&mut self, file: &str) -> Option<u64> {
        let f = self.files.get_mut(file)?;
        f.durable = Some(f.cache.clone());
        Some(f.cache.len() as u64)
    }

    /// The files as a process sees them after a process crash: the page cache, intact.
    pub fn image(&self) -> DiskImage {
        self.files
            .iter()
            .map(|(name, f)| (name.clone(), f.cache.clone()))
            .collect()
    }

    /// The bytes of `file` in the page cache.
    pub fn read(&self, file: &str) -> Option<&[u8]> {
        self.files.get(file).map(|f| f.cache.as_slice())
    }

    /// Bytes written but not yet synced, over all files (the exposure to a power loss).
    pub fn unsynced_bytes(&self) -> u64 {
        self.files
            .values()
            .map(|f| match &f.durable {
                Some(d) if f.cache.starts_with(d) => (f.cache.len() - d.len()) as u64,
                Some(d) => f.cache.len().max(d.len()) as u64,
                None => f.cache.len() as u64,
            })
            .sum()
    }

    /// Lose power: every file falls back to its durable content. Where the cache had only
    /// appended to the durable bytes, a torn write may keep a random prefix of the unsynced
    /// tail, possibly ending in garbage. Returns what happened to each file that changed.
    pub fn power_loss(&mut self, config: &DiskConfig, prng: &mut Prng) -> Vec<FileLoss> {
        let mut losses = Vec::new();
        let mut vanished = Vec::new();
        for (name, f) in &mut self.files {
            let cached_len = f.cache.len() as u64;
            let Some(durable) = f.durable.clone() else {
                vanished.push(name.clone());
                losses.push(FileLoss {
                    file: name.clone(),
                    cached_len,
                    durable_len: 0,
                    torn_bytes_kept: 0,
                    garbage: false,
                    vanished: true,
                });
                continue;
            };
            if durable == f.cache {
                continue;
            }
            let mut survived = durable.clone();
            let mut torn = 0;
            let mut garbage = false;
            if config.torn_writes && f.cache.starts_with(&durable) {
                let tail = &f.cache[durable.len()..];
                torn = prng.below(tail.len() as u64 + 1) as usize;
                survived.extend_from_slice(&tail[..torn]);
                // Half the time the last sector holds garbage rather than the intended bytes.
                if torn > 0 && prng.chance(1, 2) {
                    garbage = true;
                    let span = 1 + prng.below(torn.min(512) as u64) as usize;
                    let start = survived.len() - span;
                    for b in &mut survived[start..] {
                        *b = prng.next_u64() as u8;
                    }
                }
            }
            losses.push(FileLoss {
                file: name.clone(),
                cached_len,
                durable_len: durable.len() as u64,
                torn_bytes_kept: torn as u64,
                garbage,
                vanished: false,
            });
            // What reached the platter, torn or not, is what the disk holds from now on.
            f.durable = Some(survived.clone());
            f.cache = survived;
        }
        for name in vanished {
            self.files.remove(&name);
        }
        losses
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn append(file: &str, bytes: &[u8]) -> DiskOp {
        DiskOp::Append {
            file: file.into(),
            bytes: bytes.to_vec(),
        }
    }

    #[test]
    fn process_crash_keeps_the_page_cache() {
        let mut d = Disk::new();
        d.apply(&append("a.log", b"hello"));
        assert_eq!(d.image()["a.log"], b"hello");
    }

    #[test]
    fn power_loss_keeps_only_synced_bytes_without_tearing() {
        let config = DiskConfig {
            torn_writes: false,
            ..DiskConfig::default()
        };
        let mut d = Disk::new();
        d.apply(&append("a.log", b"synced"));
        d.sync("a.log");
        d.apply(&append("a.log", b"+lost"));
        d.apply(&append("b.log", b"never synced"));
        let losses = d.power_loss(&config, &mut Prng::derive(1, "disk", 0));
        assert_eq!(
            d.image().get("a.log").map(Vec::as_slice),
            Some(&b"synced"[..])
        );
        assert!(
            !d.image().contains_key("b.log"),
            "an unsynced new file vanishes"
        );
        assert_eq!(losses.len(), 2);
    }

    #[test]
    fn torn_write_keeps_durable_prefix_and_at_most_the_unsynced_tail() {
        let config = DiskConfig::default();
        for seed in 0..200 {
            let mut d = Disk::new();
            d.apply(&append("a.log", b"0123456789"));
            d.sync("a.log");
            d.apply(&append("a.log", b"abcdefghij"));
            d.power_loss(&config, &mut Prng::derive(seed, "disk", 0));
            let after = &d.image()["a.log"];
            assert!(
                after.starts_with(b"0123456789"),
                "seed {seed}: durable bytes damaged"
            );
            assert!(after.len() <= 20);
        }
    }

    #[test]
    fn unsynced_truncation_is_undone_by_power_loss() {
        let mut d = Disk::new();
        d.apply(&append("a.log", b"abcdef"));
        d.sync("a.log");
        d.apply(&DiskOp::Truncate {
            file: "a.log".into(),
            len: 2,
        });
        d.power_loss(&DiskConfig::default(), &mut Prng::derive(1, "disk", 0));
        assert_eq!(d.image()["a.log"], b"abcdef");
    }
}
