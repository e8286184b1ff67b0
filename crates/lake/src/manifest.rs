//! The lake's manifest: an append-only log of commits, one JSON file per version under `_manifest/`.
//!
//! A commit is made visible by creating `_manifest/<version>.json` with create-if-absent semantics, which is the
//! compare-and-swap: two writers cannot both create the same version. Replaying the log gives the set of live data
//! files, every delivery ever seen (applied or not), and the newest delivery of each replacement unit. Data files
//! not named by the log are leftovers of an interrupted ingest or of a replacement, and are deleted on open.
//!
//! One commit records many deliveries, and one data file holds the rows of many units. To keep the log small, a
//! commit names each unit once, in its `units` table, and each file it adds lists its units as index ranges into
//! that table (`"0-499,612"`): a file of one charge date holding 500 billing accounts' months costs a few bytes
//! when the units are numbered in the order the run first met them, which is month by month.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::delivery::{Model, Provider, Source};

/// What a recorded delivery did to the data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Its rows are in the lake (possibly replaced later).
    Applied,
    /// A newer delivery of the same unit was already applied; kept on record, changed nothing.
    OlderThanApplied,
    /// A newer delivery of the same unit came in the same ingest run and was applied instead; this one was recorded
    /// without being read.
    Superseded {
        /// The delivery applied instead.
        by: String,
    },
    /// Refused whole: nothing of it is in the lake. It is on record so that coverage can say what is missing, and
    /// it does not count as ingested: the same delivery is read again once the cause is fixed.
    Refused {
        /// Why, as the ingest reported it.
        reason: String,
        /// Whether a file its manifest lists was absent or of another size than listed.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        incomplete: bool,
    },
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
    /// The FOCUS version its header looks like (empty when the file was not read).
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
    /// The units named by `add`, each once; files refer to them by index.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub units: Vec<String>,
    /// Data files made live (paths relative to the lake root).
    pub add: Vec<FileEntry>,
    /// Data files no longer live.
    pub remove: Vec<String>,
    /// Set by a commit of a table derived from `usage` (the daily series): which table, and the version of the lake
    /// whose `usage` files it now reflects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub derived: Option<Derived>,
}

/// What a commit of a derived table says it was built from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Derived {
    /// The derived table (`series`).
    pub table: String,
    /// The lake version whose live `usage` files the table now equals a rebuild from.
    pub from_version: u64,
}

/// A data file a commit makes live, as the commit writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Path relative to the lake root.
    pub path: String,
    /// The units of its rows, as ranges of indexes into the commit's `units` (`"0-3,7"`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub units: String,
    /// Rows of append-model deliveries, which belong to no unit and are never retired.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub append_rows: u64,
    /// Rows in it.
    pub rows: u64,
    /// `usage` or `quarantine`.
    pub table: String,
    /// Its size, checked whenever the lake is opened (0 in lakes written before sizes were recorded: unchecked).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub bytes: u64,
    /// SHA-256 of its bytes, hex, checked by `oversight lake check` (empty in older lakes).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sha256: String,
    /// For a `usage` file: the first and the last day its rows' charge periods cover (from its Parquet statistics),
    /// so that a derived table knows which days a file added or removed changes without reading it (absent in
    /// lakes written before it was recorded: unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<[NaiveDate; 2]>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A live data file of the lake.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveFile {
    /// Path relative to the lake root.
    pub path: String,
    /// The replacement units its rows belong to, sorted (each row names its own in the `_unit` column).
    pub units: Vec<Arc<str>>,
    /// Rows of append-model deliveries (no unit; never retired).
    pub append_rows: u64,
    /// Rows in it.
    pub rows: u64,
    /// `usage` or `quarantine`.
    pub table: String,
    /// Its size as committed (0: not recorded).
    pub bytes: u64,
    /// SHA-256 of its bytes as committed, hex (empty: not recorded).
    pub sha256: String,
    /// For a `usage` file, the first and last day its rows' charge periods cover (`None`: not recorded).
    pub days: Option<[NaiveDate; 2]>,
}

impl Commit {
    /// A commit of `deliveries` that makes `add` live and retires `remove`, with the files' units in one table.
    pub fn new(version: u64, deliveries: Vec<DeliveryRecord>, add: &[LiveFile], remove: Vec<String>) -> Commit {
        let mut units: Vec<String> = Vec::new();
        let mut index: HashMap<&str, u32> = HashMap::new();
        let mut entries = Vec::with_capacity(add.len());
        for f in add {
            let mut ix: Vec<u32> = f
                .units
                .iter()
                .map(|u| {
                    *index.entry(u).or_insert_with(|| {
                        units.push(u.to_string());
                        (units.len() - 1) as u32
                    })
                })
                .collect();
            ix.sort_unstable();
            entries.push(FileEntry {
                path: f.path.clone(),
                units: encode_ranges(&ix),
                append_rows: f.append_rows,
                rows: f.rows,
                table: f.table.clone(),
                bytes: f.bytes,
                sha256: f.sha256.clone(),
                days: f.days,
            });
        }
        Commit { version, committed_at: Utc::now(), deliveries, units, add: entries, remove, derived: None }
    }
}

/// `[0, 1, 2, 5, 7, 8]` → `"0-2,5,7-8"`; `ix` sorted.
fn encode_ranges(ix: &[u32]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < ix.len() {
        let mut j = i;
        while j + 1 < ix.len() && ix[j + 1] == ix[j] + 1 {
            j += 1;
        }
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(&ix[i].to_string());
        if j > i {
            out.push('-');
            out.push_str(&ix[j].to_string());
        }
        i = j + 1;
    }
    out
}

fn decode_ranges(s: &str) -> Option<Vec<u32>> {
    let mut out = Vec::new();
    for part in s.split(',').filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
        if b < a {
            return None;
        }
        out.extend(a..=b);
    }
    Some(out)
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
    /// Ids of every delivery recorded as ingested (refused ones are not).
    pub ids: BTreeSet<String>,
    /// Per derived table (see [`Derived`]): the lake version whose `usage` files it was last brought up to.
    pub derived: BTreeMap<String, u64>,
}

impl State {
    /// Apply one commit; fails (changing nothing) when a file names a unit the commit's table does not have.
    pub fn apply(&mut self, c: &Commit) -> Result<(), String> {
        let table: Vec<Arc<str>> = c.units.iter().map(|u| Arc::from(u.as_str())).collect();
        let mut add = Vec::with_capacity(c.add.len());
        for f in &c.add {
            let ix = decode_ranges(&f.units).ok_or_else(|| format!("{}: bad unit ranges {:?}", f.path, f.units))?;
            let mut units = ix
                .iter()
                .map(|i| table.get(*i as usize).cloned())
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| format!("{}: unit index out of range in {:?}", f.path, f.units))?;
            units.sort();
            add.push(LiveFile {
                path: f.path.clone(),
                units,
                append_rows: f.append_rows,
                rows: f.rows,
                table: f.table.clone(),
                bytes: f.bytes,
                sha256: f.sha256.clone(),
                days: f.days,
            });
        }
        self.version = c.version;
        if let Some(d) = &c.derived {
            self.derived.insert(d.table.clone(), d.from_version);
        }
        for p in &c.remove {
            self.files.remove(p);
        }
        for f in add {
            self.files.insert(f.path.clone(), f);
        }
        for d in &c.deliveries {
            match d.outcome {
                Outcome::Applied => {
                    for u in &d.units {
                        self.heads.insert(u.clone(), (d.delivered_at, d.id.clone()));
                    }
                }
                Outcome::Refused { .. } => {
                    self.deliveries.push(d.clone());
                    continue;
                }
                Outcome::OlderThanApplied | Outcome::Superseded { .. } => {}
            }
            self.ids.insert(d.id.clone());
            self.deliveries.push(d.clone());
        }
        Ok(())
    }

    /// Whether a recorded delivery's rows are live: it was applied, and it is an append-model delivery (no units)
    /// or the applied delivery of one of its units (not replaced since).
    pub fn is_live(&self, d: &DeliveryRecord) -> bool {
        d.outcome == Outcome::Applied && (d.units.is_empty() || d.units.iter().any(|u| self.heads.get(u).is_some_and(|(_, id)| *id == d.id)))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_ranges_round_trip() {
        for ix in [vec![], vec![0], vec![0, 1, 2, 5, 7, 8], vec![3, 9, 10, 11, 40]] {
            let s = encode_ranges(&ix);
            assert_eq!(decode_ranges(&s).unwrap(), ix, "{s}");
        }
        assert_eq!(encode_ranges(&[0, 1, 2, 5, 7, 8]), "0-2,5,7-8");
        assert!(decode_ranges("3-1").is_none());
        assert!(decode_ranges("x").is_none());
    }

    #[test]
    fn a_commit_names_each_unit_once_and_replays_to_the_same_files() {
        let f = |path: &str, units: &[&str]| LiveFile {
            path: path.into(),
            units: units.iter().map(|u| Arc::from(*u)).collect(),
            append_rows: 1,
            rows: 10,
            table: "usage".into(),
            bytes: 100,
            sha256: "ab".into(),
            days: None,
        };
        let add = vec![f("a", &["u1", "u2"]), f("b", &["u2", "u3"]), f("c", &[])];
        let c = Commit::new(1, vec![], &add, vec![]);
        assert_eq!(c.units, ["u1", "u2", "u3"]);
        let c: Commit = serde_json::from_slice(&serde_json::to_vec(&c).unwrap()).unwrap();
        let mut s = State::default();
        s.apply(&c).unwrap();
        assert_eq!(s.files.values().cloned().collect::<Vec<_>>(), add);
    }
}
