//! The lake's manifest: an append-only log of commits, one JSON file per version under `_manifest/`.
//!
//! A commit is made visible by creating `_manifest/<version>.json` with create-if-absent semantics, which is the
//! compare-and-swap: two writers cannot both create the same version. Replaying the log gives the set of live data
//! files, every delivery ever seen (applied or not), and the newest delivery of each replacement unit. Data files
//! not named by the log are leftovers of an interrupted ingest or of a replacement, and are deleted on open.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::delivery::{Model, Provider, Source};

/// Why a delivery was recorded without changing the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Its rows are in the lake (possibly replaced later).
    Applied,
    /// A newer delivery of the same unit was already applied; kept on record, changed nothing.
    OlderThanApplied,
}

/// One file of a delivery, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    /// The file as the user gave it.
    pub name: String,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
    /// Its size.
    pub bytes: u64,
    /// The FOCUS version its header looks like.
    pub focus_version: String,
    /// Data rows read.
    pub rows_read: u64,
    /// Rows kept in the lake.
    pub rows_kept: u64,
    /// Rows quarantined.
    pub rows_quarantined: u64,
}

/// One delivery, as recorded in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    /// Content-derived id: the same bytes always get the same id.
    pub id: String,
    /// The layout it was recognised from.
    pub source: Source,
    /// The provider (of its rows, for plain files).
    pub provider: Provider,
    /// The delivery model applied.
    pub model: Model,
    /// The replacement units it covers (empty for append deliveries).
    pub units: Vec<String>,
    /// The provider's delivery time.
    pub delivered_at: DateTime<Utc>,
    /// When oversight ingested it.
    pub ingested_at: DateTime<Utc>,
    /// The manifest it came with, if any.
    pub manifest: Option<String>,
    /// Its files.
    pub files: Vec<FileRecord>,
    /// Applied or recorded only.
    pub outcome: Outcome,
    /// Deliveries whose rows this one replaced, per unit.
    pub replaced: Vec<String>,
}

/// One commit: deliveries recorded, files added and removed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Commit {
    /// The version this commit creates (1, 2, ...).
    pub version: u64,
    /// When it was made.
    pub committed_at: DateTime<Utc>,
    /// Deliveries recorded by this commit.
    pub deliveries: Vec<DeliveryRecord>,
    /// Data files made live (paths relative to the lake root).
    pub add: Vec<LiveFile>,
    /// Data files no longer live.
    pub remove: Vec<String>,
}

/// A live data file of the lake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveFile {
    /// Path relative to the lake root.
    pub path: String,
    /// The delivery it came from.
    pub delivery: String,
    /// The replacement units its rows belong to (empty for append deliveries).
    pub units: Vec<String>,
    /// Rows in it.
    pub rows: u64,
    /// `usage` or `quarantine`.
    pub table: String,
}

/// The lake's state, replayed from the manifest log.
#[derive(Debug, Default, Clone)]
pub struct State {
    /// The last committed version (0 for an empty lake).
    pub version: u64,
    /// Every delivery ever recorded, in commit order.
    pub deliveries: Vec<DeliveryRecord>,
    /// Live files by path.
    pub files: BTreeMap<String, LiveFile>,
    /// Per replacement unit: the applied delivery's time and id.
    pub heads: BTreeMap<String, (DateTime<Utc>, String)>,
    /// Ids of every recorded delivery.
    pub ids: BTreeSet<String>,
}

impl State {
    /// Apply one commit.
    pub fn apply(&mut self, c: &Commit) {
        self.version = c.version;
        for p in &c.remove {
            self.files.remove(p);
        }
        for f in &c.add {
            self.files.insert(f.path.clone(), f.clone());
        }
        for d in &c.deliveries {
            if d.outcome == Outcome::Applied {
                for u in &d.units {
                    self.heads.insert(u.clone(), (d.delivered_at, d.id.clone()));
                }
            }
            self.ids.insert(d.id.clone());
            self.deliveries.push(d.clone());
        }
    }

    /// Live files of one table, in path order.
    pub fn live(&self, table: &str) -> impl Iterator<Item = &LiveFile> {
        self.files.values().filter(move |f| f.table == table)
    }
}

/// The object path of a commit file.
pub fn commit_path(version: u64) -> String {
    format!("_manifest/{version:020}.json")
}
