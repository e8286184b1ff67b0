//! Finding deliveries among input files: Azure run folders, AWS Data Exports executions, and plain files.
//!
//! A delivery's file list comes from its manifest, never from a folder listing, and every listed file must exist
//! with the size the manifest gives; otherwise the delivery is incomplete and is refused whole. Data files under an
//! export layout that no manifest lists are reported and skipped, because loading them would double count.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Utc};
use futures::TryStreamExt;
use object_store::path::Path as ObjPath;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use serde::{Deserialize, Serialize};

use crate::error::LakeError;
use crate::{Location, MANIFEST_DIR};

/// The cloud a delivery comes from, which decides its delivery model when there is no manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// Microsoft Azure.
    Azure,
    /// Amazon Web Services.
    Aws,
    /// Google Cloud.
    Gcp,
    /// Oracle Cloud Infrastructure.
    Oci,
    /// Anything else (the FOCUS sample data mixes clouds in one file).
    Other,
}

impl Provider {
    /// Normalise a FOCUS `ProviderName`/`ServiceProviderName` value, with the catalog's rule, so the lake and the
    /// signals never disagree about which cloud a row is from.
    pub fn from_focus(name: &str) -> Provider {
        match catalog::Provider::from_name(name) {
            Some(catalog::Provider::Aws) => Provider::Aws,
            Some(catalog::Provider::Azure) => Provider::Azure,
            Some(catalog::Provider::Gcp) => Provider::Gcp,
            Some(catalog::Provider::Oci) => Provider::Oci,
            None => Provider::Other,
        }
    }

    /// The model the provider delivers with (DESIGN.md §3): Azure and AWS re-send the month, OCI and Google append.
    pub fn model(self) -> Model {
        match self {
            Provider::Oci | Provider::Gcp => Model::Append,
            Provider::Azure | Provider::Aws | Provider::Other => Model::Replace,
        }
    }
}

/// How a delivery relates to earlier ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Model {
    /// The delivery replaces its unit (an export's billing month for its scope) in one commit.
    Replace,
    /// Every file is new data; loaded once, never deleted.
    Append,
}

/// One data file of a delivery.
#[derive(Debug, Clone)]
pub struct DataFile {
    /// Where it is on disk; for a file in a store, its URL (it is read through [`DataFile::stored`]).
    pub path: PathBuf,
    /// How it is named in messages and in the lake (relative to what the user gave; a URL for a file in a store).
    pub name: String,
    /// The size the manifest promises, if it gives one.
    pub expected_bytes: Option<u64>,
    /// The object, when the file is in a store.
    pub stored: Option<StoredFile>,
}

/// A data file in an object store.
#[derive(Debug, Clone)]
pub struct StoredFile {
    /// The store it is read through (rooted at the input's location).
    pub store: Arc<dyn ObjectStore>,
    /// Its path in that store.
    pub path: ObjPath,
    /// Its size, as listed.
    pub bytes: u64,
}

/// A set of files that arrived together and is applied (or not) as one.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// What kind of delivery this is, for messages and the lake manifest.
    pub source: Source,
    /// The provider, when the layout tells it.
    pub provider: Option<Provider>,
    /// The delivery model, when the layout tells it (plain files decide from their rows).
    pub model: Option<Model>,
    /// The replacement unit, when the manifest tells it.
    pub unit: Option<String>,
    /// The provider's own delivery time.
    pub delivered_at: DateTime<Utc>,
    /// The manifest file (its URL for one in a store), if any.
    pub manifest: Option<PathBuf>,
    /// The data files, from the manifest (or the one plain file).
    pub files: Vec<DataFile>,
}

/// The layout a delivery was recognised from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// An Azure Cost Management export run folder with `manifest.json`.
    AzureRun,
    /// An AWS Data Exports execution with its `*Manifest.json`.
    AwsExecution,
    /// A file with no manifest.
    Plain,
}

/// A delivery refused before it was read: what its manifest said of it, when it could be read that far, and why.
#[derive(Debug)]
pub struct Refusal {
    /// The delivery as its manifest describes it, without files: its provider, unit and time, for the coverage.
    pub delivery: Option<Box<Delivery>>,
    /// Why it was refused.
    pub error: LakeError,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl From<LakeError> for Refusal {
    fn from(error: LakeError) -> Refusal {
        Refusal { delivery: None, error }
    }
}

/// What discovery found: deliveries, and files it refused to treat as data.
#[derive(Debug, Default)]
pub struct Discovery {
    /// Deliveries, in a stable order.
    pub deliveries: Vec<Delivery>,
    /// Deliveries refused before reading (incomplete or unreadable manifests).
    pub refused: Vec<Refusal>,
    /// Data files under an export layout that no manifest lists, with the reason they were skipped.
    pub skipped: Vec<(String, String)>,
}

fn is_data_file(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.ends_with(".csv") || n.ends_with(".csv.gz") || n.ends_with(".parquet") || n.ends_with(".gz")
}

/// The files of one input, as discovery reads them: a local folder (or a file's folder), or the objects under a
/// store prefix. Files are named by a key: the real path in a folder, the path relative to the prefix in a store.
trait Tree: Send + Sync {
    /// A manifest's bytes.
    fn read(&self, key: &Path) -> std::io::Result<Vec<u8>>;
    /// When the file was last written.
    fn modified(&self, key: &Path) -> std::io::Result<DateTime<Utc>>;
    /// Its size.
    fn size(&self, key: &Path) -> std::io::Result<u64>;
    /// The file a manifest's blob name refers to (see [`resolve`]).
    fn find(&self, manifest: &Path, blob: &str) -> Result<Option<PathBuf>, String>;
    /// Where the file is, for the user: its path, or its URL.
    fn id(&self, key: &Path) -> PathBuf;
    /// The data file at `key`.
    fn data_file(&self, key: &Path, name: String, expected_bytes: Option<u64>) -> DataFile;
    /// The tree, for messages.
    fn describe(&self) -> String;
}

/// A local input tree: its real root folder.
struct LocalTree(PathBuf);

impl Tree for LocalTree {
    fn read(&self, key: &Path) -> std::io::Result<Vec<u8>> {
        std::fs::read(key)
    }
    fn modified(&self, key: &Path) -> std::io::Result<DateTime<Utc>> {
        std::fs::metadata(key).and_then(|m| m.modified()).map(DateTime::<Utc>::from)
    }
    fn size(&self, key: &Path) -> std::io::Result<u64> {
        std::fs::metadata(key).map(|m| m.len())
    }
    fn find(&self, manifest: &Path, blob: &str) -> Result<Option<PathBuf>, String> {
        resolve(manifest, blob, &self.0)
    }
    fn id(&self, key: &Path) -> PathBuf {
        key.to_path_buf()
    }
    fn data_file(&self, key: &Path, name: String, expected_bytes: Option<u64>) -> DataFile {
        DataFile { path: key.to_path_buf(), name, expected_bytes, stored: None }
    }
    fn describe(&self) -> String {
        self.0.display().to_string()
    }
}

/// An input in a store: every object under its prefix as listed, and the manifests' bytes, fetched before parsing.
struct StoreTree {
    location: Location,
    store: Arc<dyn ObjectStore>,
    objects: HashMap<PathBuf, ObjectMeta>,
    manifests: HashMap<PathBuf, Vec<u8>>,
}

impl StoreTree {
    fn meta(&self, key: &Path) -> std::io::Result<&ObjectMeta> {
        self.objects.get(key).ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, format!("{} is not listed", self.id(key).display())))
    }
}

impl Tree for StoreTree {
    fn read(&self, key: &Path) -> std::io::Result<Vec<u8>> {
        self.manifests.get(key).cloned().ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, format!("{} was not fetched", self.id(key).display())))
    }
    fn modified(&self, key: &Path) -> std::io::Result<DateTime<Utc>> {
        Ok(self.meta(key)?.last_modified)
    }
    fn size(&self, key: &Path) -> std::io::Result<u64> {
        Ok(self.meta(key)?.size)
    }
    fn find(&self, manifest: &Path, blob: &str) -> Result<Option<PathBuf>, String> {
        let parts = blob_parts(blob)?;
        let Some(folder) = manifest.parent() else { return Ok(None) };
        for dir in folder.ancestors() {
            for skip in 0..parts.len() {
                let candidate = parts[skip..].iter().fold(dir.to_path_buf(), |p, s| p.join(s));
                if self.objects.contains_key(&candidate) {
                    return Ok(Some(candidate));
                }
            }
        }
        Ok(None)
    }
    fn id(&self, key: &Path) -> PathBuf {
        PathBuf::from(self.location.url_of(&key.to_string_lossy()))
    }
    fn data_file(&self, key: &Path, name: String, expected_bytes: Option<u64>) -> DataFile {
        let stored = StoredFile { store: self.store.clone(), path: ObjPath::from(key.to_string_lossy().as_ref()), bytes: self.size(key).unwrap_or_default() };
        DataFile { path: self.id(key), name, expected_bytes, stored: Some(stored) }
    }
    fn describe(&self) -> String {
        self.location.to_string()
    }
}

/// A file found under an input.
struct Found {
    key: PathBuf,
    name: String,
    tree: Arc<dyn Tree>,
}

/// Walk the local inputs (files and folders, recursively) and group their files into deliveries. Inputs in a store
/// (URLs) are read by [`discover_in`].
///
/// Each input is a tree: its folder, or a file's own folder. Nothing outside it is read: a symbolic link is followed
/// only to a file inside it, a manifest's file names are resolved only inside it (never with `..`), and an input
/// inside a lake is refused, since a lake's files read as plain FOCUS would count its rows twice. Every path
/// refused is reported.
pub fn discover(inputs: &[PathBuf]) -> Discovery {
    let mut out = Discovery::default();
    let mut files = Vec::new();
    for input in inputs {
        if input.to_str().is_some_and(crate::location::is_url) {
            let reason = "a URL: inputs in a store are read by lake::discover_in".to_string();
            out.refused.push(LakeError::Input { path: input.display().to_string(), reason }.into());
            continue;
        }
        walk_local(input, &mut out, &mut files);
    }
    classify(files, &mut out);
    out
}

/// [`discover`] over local folders and store prefixes (`az://container/prefix`, `s3://…`, `gs://…`). In a store,
/// the prefix is listed to find manifests and plain files; a manifest's files are those it names, looked up in
/// that listing, and nothing outside the prefix is read. A prefix inside a lake, and lakes under it, are refused.
pub async fn discover_in(inputs: &[Location]) -> Discovery {
    let mut out = Discovery::default();
    let mut files = Vec::new();
    for input in inputs {
        match input.as_local() {
            Some(path) => walk_local(path, &mut out, &mut files),
            None => {
                if let Err(e) = walk_store(input, &mut out, &mut files).await {
                    out.refused.push(e.into());
                }
            }
        }
    }
    classify(files, &mut out);
    out
}

fn walk_local(input: &Path, out: &mut Discovery, files: &mut Vec<Found>) {
    let refuse = |reason: String| Refusal::from(LakeError::Input { path: input.display().to_string(), reason });
    // The real path: a link named on the command line is what the user asked for, and its target is the tree.
    let real = match input.canonicalize() {
        Ok(r) => r,
        Err(e) => {
            out.refused.push(LakeError::Io { path: input.display().to_string(), source: e }.into());
            return;
        }
    };
    if let Some(lake) = real.ancestors().find(|a| a.join(MANIFEST_DIR).is_dir()) {
        out.refused.push(refuse(format!("it is inside the lake at {}; a lake's files are never read as input", lake.display())));
        return;
    }
    let root = if real.is_dir() { real.clone() } else { real.parent().unwrap_or(Path::new("/")).to_path_buf() };
    let tree: Arc<dyn Tree> = Arc::new(LocalTree(root.clone()));
    let label = |p: &Path| {
        let rel = p.strip_prefix(&real).unwrap_or(p);
        if real.is_dir() { input.join(rel) } else { input.to_path_buf() }.to_string_lossy().into_owned()
    };
    // Never read a lake (ours or another) as input: `oversight ingest .` must not ingest ./oversight-data.
    let lakes = std::cell::RefCell::new(Vec::new());
    let not_a_lake = |e: &walkdir::DirEntry| {
        let lake = e.file_type().is_dir() && e.path().join(MANIFEST_DIR).is_dir();
        if lake {
            lakes.borrow_mut().push(label(e.path()));
        }
        !lake
    };
    for entry in walkdir::WalkDir::new(&real).sort_by_file_name().into_iter().filter_entry(not_a_lake) {
        let e = match entry {
            Ok(e) => e,
            Err(e) => {
                out.refused.push(LakeError::Io { path: e.path().map(|p| p.display().to_string()).unwrap_or_default(), source: e.into() }.into());
                continue;
            }
        };
        if e.file_type().is_dir() || e.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if e.file_type().is_symlink() {
            match e.path().canonicalize() {
                Ok(t) if t.starts_with(&root) && t.is_file() => {}
                // A folder inside the tree is walked where it is.
                Ok(t) if t.starts_with(&root) => {
                    out.skipped.push((label(e.path()), format!("a link to the folder {}, which is read where it is", t.display())));
                    continue;
                }
                Ok(t) => {
                    let reason = format!("a symbolic link to {}, outside the input tree {}", t.display(), root.display());
                    out.refused.push(LakeError::Input { path: label(e.path()), reason }.into());
                    continue;
                }
                Err(err) => {
                    out.refused.push(LakeError::Input { path: label(e.path()), reason: format!("a symbolic link that cannot be followed: {err}") }.into());
                    continue;
                }
            }
        } else if !e.file_type().is_file() {
            out.skipped.push((label(e.path()), "not a regular file".into()));
            continue;
        }
        files.push(Found { key: e.path().to_path_buf(), name: label(e.path()), tree: tree.clone() });
    }
    out.skipped.extend(lakes.into_inner().into_iter().map(|l| (l, "a lake; a lake's files are never read as input".to_string())));
}

/// List a store prefix: its objects, less lakes under it and hidden names, with every manifest's bytes fetched.
async fn walk_store(input: &Location, out: &mut Discovery, files: &mut Vec<Found>) -> Result<(), LakeError> {
    let failed = |e: object_store::Error| LakeError::Input { path: input.to_string(), reason: format!("cannot list it: {e}") };
    let (bucket, prefix) = input.bucket().expect("a store location");
    // The prefix itself or a folder above it holding `_manifest/`: the input is (inside) a lake.
    let parts: Vec<_> = prefix.parts().collect();
    for i in (0..=parts.len()).rev() {
        let above: ObjPath = parts[..i].iter().cloned().collect();
        let manifests = above.clone().join(MANIFEST_DIR);
        if bucket.list(Some(&manifests)).try_next().await.map_err(failed)?.is_some() {
            let reason = format!("it is inside the lake at {}; a lake's files are never read as input", input.url_of_bucket(&above));
            return Err(LakeError::Input { path: input.to_string(), reason });
        }
    }
    let store = input.store()?;
    let listed: Vec<ObjectMeta> = store.list(None).try_collect().await.map_err(failed)?;
    // Folders holding `_manifest/` are lakes: their objects are never input.
    let lakes: BTreeSet<String> = listed
        .iter()
        .filter_map(|m| {
            let key = m.location.as_ref();
            let at = if key.starts_with("_manifest/") { Some(0) } else { key.find("/_manifest/").map(|i| i + 1) };
            at.map(|i| key[..i].to_string())
        })
        .collect();
    let mut objects = HashMap::new();
    for m in listed {
        let key = m.location.to_string();
        if lakes.iter().any(|l| key.starts_with(l.as_str())) || m.location.filename().is_some_and(|n| n.starts_with('.')) {
            continue;
        }
        objects.insert(PathBuf::from(key), m);
    }
    out.skipped.extend(lakes.iter().map(|l| (input.url_of(l.trim_end_matches('/')), "a lake; a lake's files are never read as input".to_string())));
    let mut manifests = HashMap::new();
    for key in objects.keys().filter(|k| manifest_kind(k).is_some()) {
        let bytes = store.get(&ObjPath::from(key.to_string_lossy().as_ref())).await.map_err(failed)?.bytes().await.map_err(failed)?;
        manifests.insert(key.clone(), bytes.to_vec());
    }
    let keys: Vec<PathBuf> = objects.keys().cloned().collect();
    let tree = Arc::new(StoreTree { location: input.clone(), store, objects, manifests });
    for key in keys {
        let name = tree.id(&key).to_string_lossy().into_owned();
        files.push(Found { key, name, tree: tree.clone() });
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum ManifestKind {
    Azure,
    Aws,
}

fn manifest_kind(key: &Path) -> Option<ManifestKind> {
    let file = key.file_name().unwrap_or_default().to_string_lossy();
    if file == "manifest.json" || file == "_manifest.json" {
        Some(ManifestKind::Azure)
    } else if file.ends_with("Manifest.json") {
        Some(ManifestKind::Aws)
    } else {
        None
    }
}

/// Group the files found into deliveries: manifests first, with the files they name, then plain files.
fn classify(mut files: Vec<Found>, out: &mut Discovery) {
    files.sort_by_key(|f| f.tree.id(&f.key));
    files.dedup_by_key(|f| f.tree.id(&f.key));

    let mut claimed: BTreeSet<PathBuf> = BTreeSet::new();
    // A set: a tree of many small deliveries has thousands of export folders, each file is checked against them.
    let mut export_dirs: HashSet<PathBuf> = HashSet::new();
    for f in &files {
        let parsed = match manifest_kind(&f.key) {
            Some(ManifestKind::Azure) => azure_manifest(&*f.tree, &f.key, &f.name),
            Some(ManifestKind::Aws) => aws_manifest(&*f.tree, &f.key, &f.name),
            None => continue,
        };
        let folder = f.tree.id(f.key.parent().unwrap_or(Path::new("")));
        match parsed {
            Ok(Some(d)) => {
                export_dirs.insert(folder);
                claimed.extend(d.files.iter().map(|f| f.path.clone()));
                out.deliveries.push(d);
            }
            Ok(None) => {}
            Err(e) => {
                export_dirs.insert(folder);
                out.refused.push(e);
            }
        }
    }
    for Found { key, name, tree } in files {
        if claimed.contains(&tree.id(&key)) || !is_data_file(&name) {
            continue;
        }
        let in_export = key.ancestors().any(|a| a.file_name().is_some_and(|n| n.to_string_lossy().starts_with("BILLING_PERIOD=")))
            || export_dirs.contains(&tree.id(key.parent().unwrap_or(Path::new(""))));
        if in_export {
            out.skipped.push((name, "in an export layout but listed by no manifest given; loading it could double count".into()));
            continue;
        }
        let delivered_at = tree.modified(&key).unwrap_or_default();
        let oci_layout = key.ancestors().any(|a| a.file_name().is_some_and(|n| n == "FOCUS Reports"));
        out.deliveries.push(Delivery {
            source: Source::Plain,
            provider: oci_layout.then_some(Provider::Oci),
            model: None,
            unit: None,
            delivered_at,
            manifest: None,
            files: vec![tree.data_file(&key, name, None)],
        });
    }
    // The same AWS execution is described twice in create-new mode (partition and execution manifests).
    out.deliveries.dedup_by(|a, b| a.unit == b.unit && a.unit.is_some() && same_files(a, b));
}

fn same_files(a: &Delivery, b: &Delivery) -> bool {
    a.files.iter().map(|f| &f.path).eq(b.files.iter().map(|f| &f.path))
}

/// Parse the date shapes manifests use: with `Z`, with an offset, or with no zone (read as UTC).
fn manifest_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").ok().map(|t| t.and_utc()))
}

/// Resolve a manifest's blob name against the folders it may sit in: the manifest's own folder and its ancestors,
/// up to the input tree's root and never beyond. A name is relative to its container or bucket (a leading `/` is
/// dropped); `..` in it is refused, and so is a file that a link places outside the tree.
fn resolve(manifest: &Path, blob: &str, tree: &Path) -> Result<Option<PathBuf>, String> {
    let parts = blob_parts(blob)?;
    let Some(folder) = manifest.parent() else { return Ok(None) };
    for dir in folder.ancestors().take_while(|d| d.starts_with(tree)) {
        for skip in 0..parts.len() {
            let candidate = parts[skip..].iter().fold(dir.to_path_buf(), |p, s| p.join(s));
            if candidate.is_file() {
                return match candidate.canonicalize() {
                    Ok(real) if real.starts_with(tree) => Ok(Some(candidate)),
                    Ok(real) => Err(format!("found at {}, a link to {} outside the input tree {}", candidate.display(), real.display(), tree.display())),
                    Err(e) => Err(format!("{}: {e}", candidate.display())),
                };
            }
        }
    }
    Ok(None)
}

/// A blob name's parts: relative to its container or bucket (a leading `/` is dropped), never with `..`.
fn blob_parts(blob: &str) -> Result<Vec<&str>, String> {
    let parts: Vec<&str> = blob.trim_start_matches('/').split(['/', '\\']).filter(|p| !p.is_empty() && *p != ".").collect();
    if parts.contains(&"..") {
        return Err("the name climbs out of its folder with `..`".into());
    }
    Ok(parts)
}

fn listed_files(tree: &dyn Tree, manifest: &Path, name: &str, blobs: Vec<(String, Option<u64>)>) -> Result<Vec<DataFile>, LakeError> {
    let mut out = Vec::new();
    let base = Path::new(name).parent().unwrap_or(Path::new(""));
    for (blob, expected_bytes) in blobs {
        let path = tree.find(manifest, &blob).map_err(|reason| LakeError::Input { path: format!("{name}: {blob}"), reason })?.ok_or_else(|| {
            LakeError::Incomplete {
                manifest: name.to_string(),
                file: blob.clone(),
                reason: format!("listed in the manifest but not found in {}", tree.describe()),
            }
        })?;
        let actual = tree.size(&path).map_err(|e| LakeError::Io { path: tree.id(&path).display().to_string(), source: e })?;
        if let Some(want) = expected_bytes
            && want != actual
        {
            return Err(LakeError::Incomplete { manifest: name.to_string(), file: blob, reason: format!("manifest says {want} bytes, found {actual}") });
        }
        let rel = path.strip_prefix(manifest.parent().unwrap_or(Path::new(""))).map(|r| base.join(r)).unwrap_or_else(|_| tree.id(&path));
        out.push(tree.data_file(&path, rel.to_string_lossy().into_owned(), expected_bytes));
    }
    Ok(out)
}

fn read_json(tree: &dyn Tree, path: &Path, name: &str) -> Result<serde_json::Value, LakeError> {
    let text = tree.read(path).map_err(|e| LakeError::Io { path: name.to_string(), source: e })?;
    serde_json::from_slice(&text).map_err(|e| LakeError::Manifest { manifest: name.to_string(), reason: format!("not valid JSON: {e}") })
}

/// An Azure `manifest.json`: unit = (scope, export, month of `runInfo.startDate`), time = `runInfo.submittedTime`.
fn azure_manifest(tree: &dyn Tree, path: &Path, name: &str) -> Result<Option<Delivery>, Refusal> {
    let m = read_json(tree, path, name)?;
    if m.get("blobs").is_none() {
        return Ok(None);
    }
    let bad = |reason: &str| LakeError::Manifest { manifest: name.to_string(), reason: reason.to_string() };
    let run = m.get("runInfo").ok_or_else(|| bad("no runInfo"))?;
    let start = run.get("startDate").and_then(|v| v.as_str()).ok_or_else(|| bad("no runInfo.startDate"))?;
    let month = start.get(..7).ok_or_else(|| bad("runInfo.startDate is not a date"))?;
    let submitted = run.get("submittedTime").and_then(|v| v.as_str());
    let delivered_at = match submitted.and_then(manifest_time) {
        Some(t) => t,
        // The manifest's own write time is the documented fallback when submittedTime is absent.
        None => tree.modified(path).map_err(|e| LakeError::Io { path: name.into(), source: e })?,
    };
    let export = m.pointer("/exportConfig/resourceId").and_then(|v| v.as_str()).unwrap_or("");
    let scope = export.split("/providers/Microsoft.CostManagement/exports/").next().unwrap_or("");
    let export_name = m.pointer("/exportConfig/exportName").and_then(|v| v.as_str()).unwrap_or("");
    let dataset = m.pointer("/exportConfig/type").and_then(|v| v.as_str()).unwrap_or("FocusCost");
    let blobs = m["blobs"]
        .as_array()
        .ok_or_else(|| bad("blobs is not a list"))?
        .iter()
        .map(|b| {
            let n = b.get("blobName").and_then(|v| v.as_str()).ok_or_else(|| bad("a blob has no blobName"))?;
            Ok((n.to_string(), b.get("byteCount").and_then(|v| v.as_u64())))
        })
        .collect::<Result<Vec<_>, LakeError>>()?;
    with_files(
        Delivery {
            source: Source::AzureRun,
            provider: Some(Provider::Azure),
            model: Some(Model::Replace),
            unit: Some(format!("azure:{scope}:{export_name}:{dataset}:{month}")),
            delivered_at,
            manifest: Some(tree.id(path)),
            files: vec![],
        },
        listed_files(tree, path, name, blobs),
    )
}

/// An AWS Data Exports manifest: unit = (export, `BILLING_PERIOD`), time = the execution folder's timestamp
/// (create-new mode) or the manifest's write time (overwrite mode, which has no time field).
fn aws_manifest(tree: &dyn Tree, path: &Path, name: &str) -> Result<Option<Delivery>, Refusal> {
    let m = read_json(tree, path, name)?;
    let bad = |reason: &str| LakeError::Manifest { manifest: name.to_string(), reason: reason.to_string() };
    let Some(list) = m.get("dataFiles").or_else(|| m.get("reportKeys")) else { return Ok(None) };
    let blobs = list
        .as_array()
        .ok_or_else(|| bad("dataFiles is not a list"))?
        .iter()
        .map(|f| {
            let s = f.as_str().or_else(|| f.get("filePath").and_then(|v| v.as_str())).ok_or_else(|| bad("a dataFiles entry is not a path"))?;
            // Full s3:// URIs: drop scheme and bucket, keep the key.
            let key = s.strip_prefix("s3://").map_or(s, |r| r.split_once('/').map_or("", |(_, k)| k));
            Ok((key.to_string(), None))
        })
        .collect::<Result<Vec<_>, LakeError>>()?;
    let period = path
        .ancestors()
        .chain(blobs.iter().flat_map(|(b, _)| Path::new(b).ancestors()).collect::<Vec<_>>())
        .filter_map(|a| a.file_name()?.to_str()?.strip_prefix("BILLING_PERIOD=").map(str::to_string))
        .next()
        .ok_or_else(|| bad("no BILLING_PERIOD= partition in the manifest's path or its files"))?;
    let export = m.get("exportArn").and_then(|v| v.as_str()).map(str::to_string).unwrap_or_else(|| {
        path.ancestors()
            .find(|a| a.file_name().is_some_and(|n| n == "metadata"))
            .and_then(|a| a.parent())
            .map(|p| tree.id(p).display().to_string())
            .unwrap_or_default()
    });
    let exec_time = path
        .ancestors()
        .chain(blobs.iter().flat_map(|(b, _)| Path::new(b).ancestors()).collect::<Vec<_>>())
        .filter_map(|a| execution_time(a.file_name()?.to_str()?))
        .next();
    let delivered_at = match exec_time {
        Some(t) => t,
        None => tree.modified(path).map_err(|e| LakeError::Io { path: name.into(), source: e })?,
    };
    with_files(
        Delivery {
            source: Source::AwsExecution,
            provider: Some(Provider::Aws),
            model: Some(Model::Replace),
            unit: Some(format!("aws:{export}:{period}")),
            delivered_at,
            manifest: Some(tree.id(path)),
            files: vec![],
        },
        listed_files(tree, path, name, blobs),
    )
}

/// A manifest's delivery with its listed files, or refused with what the manifest said of it.
fn with_files(mut d: Delivery, files: Result<Vec<DataFile>, LakeError>) -> Result<Option<Delivery>, Refusal> {
    match files {
        Ok(files) => {
            d.files = files;
            Ok(Some(d))
        }
        Err(error) => Err(Refusal { delivery: Some(Box::new(d)), error }),
    }
}

/// The time at the front of a create-new execution folder, `<timestamp>-<execution-id>`.
fn execution_time(folder: &str) -> Option<DateTime<Utc>> {
    let stamp: String = folder.chars().take_while(|c| c.is_ascii_alphanumeric() && *c != '-').collect();
    if stamp.len() < 8 || folder.len() == stamp.len() {
        return None;
    }
    for fmt in ["%Y%m%dT%H%M%SZ", "%Y%m%dT%H%M%S", "%Y%m%d%H%M%S", "%Y%m%d%H%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(&stamp, fmt) {
            return Some(t.and_utc());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_normalise() {
        assert_eq!(Provider::from_focus("Amazon Web Services, Inc."), Provider::Aws);
        assert_eq!(Provider::from_focus("AWS"), Provider::Aws);
        assert_eq!(Provider::from_focus("Microsoft"), Provider::Azure);
        assert_eq!(Provider::from_focus("Google Cloud"), Provider::Gcp);
        assert_eq!(Provider::from_focus("Oracle"), Provider::Oci);
        assert_eq!(Provider::Oci.model(), Model::Append);
        assert_eq!(Provider::Azure.model(), Model::Replace);
    }

    #[test]
    fn manifest_times_with_and_without_zone() {
        assert_eq!(manifest_time("2024-01-11T06:49:06.5756051Z").unwrap().timestamp(), 1704955746);
        assert_eq!(manifest_time("2024-01-01T00:00:00").unwrap().timestamp(), 1704067200);
        assert_eq!(manifest_time("2024-01-01T00:00:00+00:00").unwrap().timestamp(), 1704067200);
    }

    #[test]
    fn execution_folder_times() {
        assert!(execution_time("20241105T120000Z-3f2a").is_some());
        assert!(execution_time("202411051200-abc").is_some());
        assert!(execution_time("BILLING_PERIOD=2024-11").is_none());
    }
}
