//! Where a lake or an input tree lives: a local folder, or a prefix of a bucket or container named by URL
//! (`az://container/prefix`, `s3://bucket/prefix`, `gs://bucket/prefix`).
//!
//! Credentials come from `object_store`'s builders and their standard environment variables, never from here.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::path::Path as ObjPath;
use object_store::prefix::PrefixStore;

use crate::LakeError;

/// URL schemes read as object stores, with the environment variables their builder reads, for messages.
const SCHEMES: [(&str, &str); 7] = [
    ("az", AZURE_ENV),
    ("abfs", AZURE_ENV),
    ("abfss", AZURE_ENV),
    ("azure", AZURE_ENV),
    ("s3", AWS_ENV),
    ("s3a", AWS_ENV),
    ("gs", "GOOGLE_SERVICE_ACCOUNT (a service account key file) or GOOGLE_APPLICATION_CREDENTIALS"),
];

const AWS_ENV: &str = "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or a web identity or instance role), AWS_REGION, and AWS_ENDPOINT for another endpoint";

const AZURE_ENV: &str = "AZURE_STORAGE_ACCOUNT_NAME with AZURE_STORAGE_ACCOUNT_KEY (or AZURE_STORAGE_SAS_KEY, or AZURE_CLIENT_ID/AZURE_CLIENT_SECRET/AZURE_TENANT_ID); for Azurite AZURE_STORAGE_USE_EMULATOR=true and AZURITE_BLOB_STORAGE_URL";

/// A local folder, or a prefix in an object store. Parse one with [`Location::parse`]; anything taking a lake root or
/// an input accepts a `&str`, a [`Path`] or a `Location` (see [`ToLocation`]).
#[derive(Debug, Clone)]
pub struct Location {
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    Local(PathBuf),
    Store {
        /// The URL as given, without a trailing `/`.
        url: String,
        /// The bucket or container.
        store: Arc<dyn ObjectStore>,
        /// The prefix inside it (empty for the whole bucket).
        prefix: ObjPath,
    },
}

impl Location {
    /// Parse a local path or a URL. `file://` is a local path; `az`, `abfs`, `abfss`, `azure` (Azure Blob and ADLS
    /// Gen2), `s3`, `s3a` and `gs` open the bucket or container with credentials from the environment.
    pub fn parse(s: &str) -> Result<Location, LakeError> {
        let Some((scheme, rest)) = s.split_once("://") else { return Ok(Location::local(s)) };
        if scheme == "file" {
            return Ok(Location::local(rest));
        }
        let Some((_, env)) = SCHEMES.iter().find(|(k, _)| *k == scheme) else {
            return Err(LakeError::Location { url: s.into(), reason: format!("unknown scheme {scheme}://; use az://, s3://, gs:// or a local path") });
        };
        let url = s.trim_end_matches('/').to_string();
        let parsed = url::Url::parse(&url).map_err(|e| LakeError::Location { url: url.clone(), reason: e.to_string() })?;
        let bucket = parsed.host_str().unwrap_or_default();
        if bucket.is_empty() {
            return Err(LakeError::Location { url, reason: format!("no bucket or container: write {scheme}://NAME/prefix") });
        }
        let cannot = |e: object_store::Error| LakeError::Location { url: url.clone(), reason: format!("{e}; set {env}") };
        // The builders take the bucket from the URL; the path after it is the prefix, applied here.
        let store: Arc<dyn ObjectStore> = match scheme {
            "s3" | "s3a" => Arc::new(object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket).build().map_err(cannot)?),
            "gs" => Arc::new(object_store::gcp::GoogleCloudStorageBuilder::from_env().with_bucket_name(bucket).build().map_err(cannot)?),
            _ => Arc::new(object_store::azure::MicrosoftAzureBuilder::from_env().with_url(&url).build().map_err(cannot)?),
        };
        let prefix = ObjPath::from_url_path(parsed.path()).map_err(|e| LakeError::Location { url: url.clone(), reason: e.to_string() })?;
        Ok(Location { kind: Kind::Store { url, store, prefix } })
    }

    /// A local folder.
    pub fn local(path: impl Into<PathBuf>) -> Location {
        Location { kind: Kind::Local(path.into()) }
    }

    /// A prefix of a store opened by the caller (a wrapper that injects faults, another backend), named `url` in
    /// messages and in [`Location::url_of`].
    pub fn in_store(url: impl Into<String>, store: Arc<dyn ObjectStore>, prefix: impl Into<ObjPath>) -> Location {
        Location { kind: Kind::Store { url: url.into().trim_end_matches('/').to_string(), store, prefix: prefix.into() } }
    }

    /// The local folder, when this is one.
    pub fn as_local(&self) -> Option<&Path> {
        match &self.kind {
            Kind::Local(p) => Some(p),
            Kind::Store { .. } => None,
        }
    }

    /// The location as the user would write it: the path, or the URL.
    pub fn display(&self) -> String {
        self.to_string()
    }

    /// Where the file `rel` (relative to this location) is: a path for a local folder, a URL in a store, as an engine
    /// given the store would address it.
    pub fn url_of(&self, rel: &str) -> String {
        match &self.kind {
            Kind::Local(p) => p.join(rel).display().to_string(),
            Kind::Store { url, .. } => format!("{url}/{rel}"),
        }
    }

    /// The URL of the prefix `p` of this location's bucket or container (not under this location's own prefix).
    pub(crate) fn url_of_bucket(&self, p: &ObjPath) -> String {
        match &self.kind {
            Kind::Local(dir) => dir.display().to_string(),
            Kind::Store { url, prefix, .. } => {
                let bucket = url.strip_suffix(prefix.as_ref()).unwrap_or(url).trim_end_matches('/');
                if p.as_ref().is_empty() { bucket.to_string() } else { format!("{bucket}/{p}") }
            }
        }
    }

    /// A store rooted at this location: paths in it are relative to the folder or prefix. A local folder must exist.
    pub fn store(&self) -> Result<Arc<dyn ObjectStore>, LakeError> {
        match &self.kind {
            Kind::Local(p) => Ok(Arc::new(object_store::local::LocalFileSystem::new_with_prefix(p)?)),
            Kind::Store { store, prefix, .. } if prefix.as_ref().is_empty() => Ok(store.clone()),
            Kind::Store { store, prefix, .. } => Ok(Arc::new(PrefixStore::new(store.clone(), prefix.clone()))),
        }
    }

    /// For a store location, the URL of its bucket or container (`az://container`) and the store rooted there: what a
    /// query engine registers to read the files [`crate::Snapshot::live_urls`] names. `None` for a local folder.
    pub fn engine_store(&self) -> Option<(String, Arc<dyn ObjectStore>)> {
        match &self.kind {
            Kind::Local(_) => None,
            Kind::Store { store, .. } => Some((self.url_of_bucket(&ObjPath::default()), store.clone())),
        }
    }

    /// The bucket or container and the prefix in it, for a store location.
    pub(crate) fn bucket(&self) -> Option<(&Arc<dyn ObjectStore>, &ObjPath)> {
        match &self.kind {
            Kind::Local(_) => None,
            Kind::Store { store, prefix, .. } => Some((store, prefix)),
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            Kind::Local(p) => p.display().fmt(f),
            Kind::Store { url, .. } => f.write_str(url),
        }
    }
}

impl serde::Serialize for Location {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Whether a path as given on a command line is a URL of a store scheme (`az://…`), not a local file.
pub(crate) fn is_url(s: &str) -> bool {
    s.split_once("://").is_some_and(|(scheme, _)| scheme == "file" || SCHEMES.iter().any(|(k, _)| *k == scheme))
}

/// What can name a lake root or an input: a [`Location`], a `&str` or `String` (a path or a URL), a [`Path`] or
/// [`PathBuf`] (a URL given as a path, as a command-line argument is, is read as a URL).
pub trait ToLocation {
    /// The location, or why it cannot be opened.
    fn to_location(&self) -> Result<Location, LakeError>;
}

impl ToLocation for Location {
    fn to_location(&self) -> Result<Location, LakeError> {
        Ok(self.clone())
    }
}

impl ToLocation for str {
    fn to_location(&self) -> Result<Location, LakeError> {
        Location::parse(self)
    }
}

impl ToLocation for String {
    fn to_location(&self) -> Result<Location, LakeError> {
        Location::parse(self)
    }
}

impl ToLocation for Path {
    fn to_location(&self) -> Result<Location, LakeError> {
        match self.to_str() {
            Some(s) if is_url(s) => Location::parse(s),
            _ => Ok(Location::local(self)),
        }
    }
}

impl ToLocation for PathBuf {
    fn to_location(&self) -> Result<Location, LakeError> {
        self.as_path().to_location()
    }
}

impl<T: ToLocation + ?Sized> ToLocation for &T {
    fn to_location(&self) -> Result<Location, LakeError> {
        (**self).to_location()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_urls() {
        assert_eq!(Location::parse("./oversight-data").unwrap().as_local(), Some(Path::new("./oversight-data")));
        assert_eq!(Location::parse("file:///tmp/lake").unwrap().as_local(), Some(Path::new("/tmp/lake")));
        assert!(is_url("az://c/p") && is_url("s3://b") && !is_url("./az") && !is_url("http://x"));
        let e = Location::parse("ftp://x/y").unwrap_err().to_string();
        assert!(e.contains("ftp://x/y") && e.contains("unknown scheme"), "{e}");
        let e = Location::parse("az:///p").unwrap_err().to_string();
        assert!(e.contains("no bucket or container"), "{e}");
    }

    #[test]
    fn a_store_url_keeps_its_prefix() {
        let mem: Arc<dyn ObjectStore> = Arc::new(object_store::memory::InMemory::new());
        let l = Location::in_store("az://lake/a/b/", mem, "a/b");
        assert_eq!(l.url_of("usage/x.parquet"), "az://lake/a/b/usage/x.parquet");
        assert_eq!(l.to_string(), "az://lake/a/b");
        assert!(l.as_local().is_none());
    }
}
