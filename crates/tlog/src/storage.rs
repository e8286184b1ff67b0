//! Where a log keeps its files: the [`Storage`] a writer uses (a local folder now, object storage later), and the
//! read-only [`Source`] an auditor reads a published log from (a folder, an HTTP server, or a storage's public area).
//!
//! A storage has two areas. The public one is exactly the C2SP static layout (`checkpoint`, `tile/...`), servable
//! as is; the private one holds the signing key, the compare-and-swap copy of the checkpoint and the stage of a
//! batch in flight, and is never served.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};

/// Which area of a storage a path is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Area {
    /// The published C2SP layout.
    Public,
    /// Key, checkpoint copy, stage: never served.
    Private,
}

/// Held while a writer appends; dropping it releases the writer lock.
pub type WriterLock = Box<dyn Send>;

/// The files of a log, as its writer sees them.
///
/// Paths are relative and `/`-separated (`checkpoint`, `tile/0/x001/234.p/7`, `stage`).
pub trait Storage: Send + Sync {
    /// The bytes of `path`, or `None` if there is no such file.
    fn get(&self, area: Area, path: &str) -> io::Result<Option<Vec<u8>>>;

    /// Write `path` atomically and durably: once this returns, the bytes survive a crash, and no reader ever sees
    /// part of them (the local folder writes a temp file, fsyncs it, renames it, and fsyncs the folder). On error
    /// the file holds either its old bytes or the new ones.
    fn put(&self, area: Area, path: &str, bytes: &[u8]) -> io::Result<()>;

    /// Remove `path`; a missing file is not an error.
    fn delete(&self, area: Area, path: &str) -> io::Result<()>;

    /// Compare-and-swap in the private area: write `new` to `path` only if it holds `old` (`None`: only if it is
    /// absent), durably as [`Storage::put`]. `Ok(false)` if it held something else. The local folder makes this
    /// atomic among writers that hold the [`Storage::lock`]; a shared store must make it atomic on its own (a
    /// conditional write).
    fn compare_and_swap(&self, path: &str, old: Option<&[u8]>, new: &[u8]) -> io::Result<bool>;

    /// Take the exclusive writer lock, waiting for it; it is released when the returned value drops.
    fn lock(&self) -> io::Result<WriterLock>;

    /// Where `path` is, for messages.
    fn describe(&self, area: Area, path: &str) -> String;
}

/// A published log, as a reader sees it: the C2SP static layout and nothing else.
pub trait Source: Send + Sync {
    /// The bytes of `path` (`checkpoint`, `tile/...`); a missing file is an error of kind `NotFound`.
    fn read(&self, path: &str) -> io::Result<Vec<u8>>;

    /// Where `path` is, for messages.
    fn describe(&self, path: &str) -> String;
}

/// The public area of a storage, read as a [`Source`].
pub struct PublicArea(pub Arc<dyn Storage>);

impl Source for PublicArea {
    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        self.0.get(Area::Public, path)?.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such file"))
    }

    fn describe(&self, path: &str) -> String {
        self.0.describe(Area::Public, path)
    }
}

/// A published log folder, read as a [`Source`].
pub struct Folder(pub PathBuf);

impl Source for Folder {
    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        fs::read(self.0.join(path))
    }

    fn describe(&self, path: &str) -> String {
        self.0.join(path).display().to_string()
    }
}

/// Why two local folders cannot hold a log's public and private areas. Each variant names the folders as given and
/// as resolved (absolute, with `.`, `..` and symbolic links followed).
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    /// Both areas are one folder: the signing key would be served with the log.
    #[error(
        "the private folder {} and the public folder {} are the same folder ({}): the signing key would be served with the \
         log; put the private folder outside the public one",
        private.display(), public.display(), resolved.display()
    )]
    Same {
        /// The public folder, as given.
        public: PathBuf,
        /// The private folder, as given.
        private: PathBuf,
        /// The folder both resolve to.
        resolved: PathBuf,
    },
    /// The private folder is inside the public one: serving the log would serve the signing key.
    #[error(
        "the private folder {} ({}) is inside the public folder {} ({}): serving the log would serve the signing key; put \
         the private folder outside the public one",
        private.display(), private_resolved.display(), public.display(), public_resolved.display()
    )]
    PrivateInsidePublic {
        /// The public folder, as given.
        public: PathBuf,
        /// The private folder, as given.
        private: PathBuf,
        /// The public folder, resolved.
        public_resolved: PathBuf,
        /// The private folder, resolved.
        private_resolved: PathBuf,
    },
    /// The public folder is inside the private one: the private folder must hold only the key and the writer's
    /// state, so that nothing in it is ever served or copied out with the log.
    #[error(
        "the public folder {} ({}) is inside the private folder {} ({}): the private folder must hold only the signing key \
         and the writer's state; keep the two folders apart",
        public.display(), public_resolved.display(), private.display(), private_resolved.display()
    )]
    PublicInsidePrivate {
        /// The public folder, as given.
        public: PathBuf,
        /// The private folder, as given.
        private: PathBuf,
        /// The public folder, resolved.
        public_resolved: PathBuf,
        /// The private folder, resolved.
        private_resolved: PathBuf,
    },
    /// A folder's absolute path could not be worked out.
    #[error("{}: cannot resolve the folder's absolute path: {source}", path.display())]
    Resolve {
        /// The folder, as given.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The public folder resolves to the root, which has no name to put a private folder beside.
    #[error("{}: the public folder has no name to put a private folder beside; give the private folder explicitly", public.display())]
    NoName {
        /// The public folder, as given.
        public: PathBuf,
    },
}

/// `path` made absolute with symbolic links, `.` and `..` resolved. The folders of a log may not exist yet: the
/// nearest existing ancestor is canonicalised and the rest (which cannot hold links) appended.
fn resolve(path: &Path) -> io::Result<PathBuf> {
    let abs = if path.is_absolute() { path.to_path_buf() } else { std::env::current_dir()?.join(path) };
    let mut out = PathBuf::new();
    // How many trailing components of `out` do not exist; while none, `out` is canonical.
    let mut missing = 0usize;
    for c in abs.components() {
        match c {
            Component::Prefix(_) | Component::RootDir => out.push(c.as_os_str()),
            Component::CurDir => {}
            // `out` is canonical or its tail does not exist, so its lexical parent is the real one.
            Component::ParentDir => {
                out.pop();
                missing = missing.saturating_sub(1);
            }
            Component::Normal(name) => {
                out.push(name);
                if missing > 0 {
                    missing += 1;
                    continue;
                }
                match fs::canonicalize(&out) {
                    Ok(real) => out = real,
                    // A link to nowhere would be followed when the folder is created: refuse to guess where.
                    Err(e) if e.kind() == io::ErrorKind::NotFound && fs::symlink_metadata(&out).is_ok() => {
                        return Err(io::Error::new(e.kind(), format!("{} is a symbolic link to a missing target", out.display())));
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound => missing = 1,
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Ok(out)
}

/// Refuse a public and a private folder that are one folder or lie one inside the other.
fn check_apart(public: &Path, private: &Path) -> Result<(), LayoutError> {
    let resolved = |path: &Path| resolve(path).map_err(|source| LayoutError::Resolve { path: path.into(), source });
    let (public_resolved, private_resolved) = (resolved(public)?, resolved(private)?);
    let (public, private) = (public.to_path_buf(), private.to_path_buf());
    if public_resolved == private_resolved {
        return Err(LayoutError::Same { public, private, resolved: public_resolved });
    }
    // `starts_with` compares whole components: `log.private` is not inside `log`.
    if private_resolved.starts_with(&public_resolved) {
        return Err(LayoutError::PrivateInsidePublic { public, private, public_resolved, private_resolved });
    }
    if public_resolved.starts_with(&private_resolved) {
        return Err(LayoutError::PublicInsidePrivate { public, private, public_resolved, private_resolved });
    }
    Ok(())
}

/// The default private folder of the public folder `public`: beside it, named as [`Path::with_extension`] names it
/// (`log` → `log.private`). A path with no name of its own (`.`, `..`, `log/..`) is resolved first, so `.` in
/// `/srv/log` gives `/srv/log.private`, not `.` itself.
pub fn private_beside(public: &Path) -> Result<PathBuf, LayoutError> {
    if public.file_name().is_some() {
        return Ok(public.with_extension("private"));
    }
    let resolved = resolve(public).map_err(|source| LayoutError::Resolve { path: public.into(), source })?;
    if resolved.file_name().is_none() {
        return Err(LayoutError::NoName { public: public.into() });
    }
    Ok(resolved.with_extension("private"))
}

/// A log in two local folders: the public one (the C2SP layout) and the private one (`key`, `checkpoint`, `stage`,
/// `lock`), which must lie outside it, by default beside it ([`private_beside`]). The private folder is created mode
/// 0700 and its files 0600.
#[derive(Debug, Clone)]
pub struct LocalDir {
    public: PathBuf,
    private: PathBuf,
}

impl LocalDir {
    /// The storage over `public` and `private`; nothing is created until the first write. Refuses folders that are
    /// one folder or lie one inside the other once resolved (`.`, `..`, symbolic links), since serving the public
    /// folder must never serve the signing key.
    pub fn new(public: &Path, private: &Path) -> Result<LocalDir, LayoutError> {
        check_apart(public, private)?;
        Ok(LocalDir { public: public.into(), private: private.into() })
    }

    fn path(&self, area: Area, path: &str) -> PathBuf {
        match area {
            Area::Public => self.public.join(path),
            Area::Private => self.private.join(path),
        }
    }

    /// Create the private folder if it is missing: mode 0700 (its parents get the usual mode, as they may hold
    /// the public folder too). An existing folder is left as it is.
    fn private_dir(&self) -> io::Result<()> {
        if let Some(parent) = self.private.parent() {
            fs::create_dir_all(parent)?;
        }
        let mut builder = fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        match builder.create(&self.private) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && self.private.is_dir() => Ok(()),
            result => result,
        }
    }
}

/// Write a file durably: temp file, fsync, rename, fsync the folder.
pub(crate) fn write_durable(path: &Path, bytes: &[u8], private: bool) -> io::Result<()> {
    // A bare file name has an empty parent, which cannot be opened to fsync: its folder is the current one.
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{}.tmp", path.file_name().expect("file name").to_string_lossy()));
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut f = options.open(&tmp)?;
    // The mode above applies only to a new file: a temp file a crash left behind keeps its own.
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(fs::Permissions::from_mode(0o600))?;
    }
    f.write_all(bytes)?;
    f.sync_all()?;
    fs::rename(&tmp, path)?;
    File::open(dir)?.sync_all()
}

impl Storage for LocalDir {
    fn get(&self, area: Area, path: &str) -> io::Result<Option<Vec<u8>>> {
        match fs::read(self.path(area, path)) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn put(&self, area: Area, path: &str, bytes: &[u8]) -> io::Result<()> {
        if area == Area::Private {
            self.private_dir()?;
        }
        write_durable(&self.path(area, path), bytes, area == Area::Private)
    }

    fn delete(&self, area: Area, path: &str) -> io::Result<()> {
        match fs::remove_file(self.path(area, path)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    fn compare_and_swap(&self, path: &str, old: Option<&[u8]>, new: &[u8]) -> io::Result<bool> {
        // Atomic among writers because each holds the lock.
        if self.get(Area::Private, path)?.as_deref() != old {
            return Ok(false);
        }
        self.put(Area::Private, path, new)?;
        Ok(true)
    }

    fn lock(&self) -> io::Result<WriterLock> {
        self.private_dir()?;
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let f = options.open(self.private.join("lock"))?;
        f.lock()?;
        Ok(Box::new(f))
    }

    fn describe(&self, area: Area, path: &str) -> String {
        self.path(area, path).display().to_string()
    }
}

#[derive(Default)]
struct MemState {
    files: Mutex<BTreeMap<(Area, String), Vec<u8>>>,
    locked: Mutex<bool>,
    unlocked: Condvar,
}

/// A log in memory, for tests and tools. Clones share the same files, as two processes share a folder.
#[derive(Clone, Default)]
pub struct MemStorage {
    state: Arc<MemState>,
}

impl MemStorage {
    /// An empty storage.
    pub fn new() -> MemStorage {
        MemStorage::default()
    }

    /// The files of an area, path → bytes.
    pub fn files(&self, area: Area) -> BTreeMap<String, Vec<u8>> {
        let files = self.state.files.lock().expect("storage lock");
        files.iter().filter(|((a, _), _)| *a == area).map(|((_, p), b)| (p.clone(), b.clone())).collect()
    }

    /// A separate storage holding a copy of these files.
    pub fn deep_copy(&self) -> MemStorage {
        let copy = MemStorage::new();
        *copy.state.files.lock().expect("storage lock") = self.state.files.lock().expect("storage lock").clone();
        copy
    }
}

struct MemLock(Arc<MemState>);

impl Drop for MemLock {
    fn drop(&mut self) {
        *self.0.locked.lock().expect("storage lock") = false;
        self.0.unlocked.notify_one();
    }
}

impl Storage for MemStorage {
    fn get(&self, area: Area, path: &str) -> io::Result<Option<Vec<u8>>> {
        Ok(self.state.files.lock().expect("storage lock").get(&(area, path.to_string())).cloned())
    }

    fn put(&self, area: Area, path: &str, bytes: &[u8]) -> io::Result<()> {
        self.state.files.lock().expect("storage lock").insert((area, path.into()), bytes.to_vec());
        Ok(())
    }

    fn delete(&self, area: Area, path: &str) -> io::Result<()> {
        self.state.files.lock().expect("storage lock").remove(&(area, path.to_string()));
        Ok(())
    }

    fn compare_and_swap(&self, path: &str, old: Option<&[u8]>, new: &[u8]) -> io::Result<bool> {
        let mut files = self.state.files.lock().expect("storage lock");
        let key = (Area::Private, path.to_string());
        if files.get(&key).map(Vec::as_slice) != old {
            return Ok(false);
        }
        files.insert(key, new.to_vec());
        Ok(true)
    }

    fn lock(&self) -> io::Result<WriterLock> {
        let mut locked = self.state.locked.lock().expect("storage lock");
        while *locked {
            locked = self.state.unlocked.wait(locked).expect("storage lock");
        }
        *locked = true;
        Ok(Box::new(MemLock(self.state.clone())))
    }

    fn describe(&self, area: Area, path: &str) -> String {
        format!("memory:{}/{path}", if area == Area::Public { "public" } else { "private" })
    }
}

/// The provider's pseudonym key (`pseudonym-key` in the private folder: base64 of 32 random bytes, as `oversight
/// log pseudonym --key-file` reads it), made mode 0600 when missing and the folder exists: (the key's bytes, whether
/// it was made now). The command line and the console read the same file.
pub fn pseudonym_key_in(private: &Path) -> io::Result<(Vec<u8>, bool)> {
    use base64::Engine;
    let path = private.join("pseudonym-key");
    match fs::read(&path) {
        Ok(k) => Ok((k, false)),
        Err(e) if e.kind() == io::ErrorKind::NotFound && private.is_dir() => {
            let mut seed = [0u8; 32];
            getrandom::getrandom(&mut seed).map_err(|e| io::Error::other(e.to_string()))?;
            let key = base64::engine::general_purpose::STANDARD.encode(seed);
            let mut options = fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut f = options.open(&path)?;
            f.write_all(key.as_bytes())?;
            f.sync_all()?;
            Ok((key.into_bytes(), true))
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_dir_keeps_the_areas_apart_and_private_files_to_the_owner() {
        let tmp = tempfile::tempdir().unwrap();
        let s = LocalDir::new(&tmp.path().join("log"), &tmp.path().join("log.private")).unwrap();
        s.put(Area::Public, "tile/0/000.p/1", b"x").unwrap();
        s.put(Area::Private, "stage", b"s").unwrap();
        assert_eq!(fs::read(tmp.path().join("log/tile/0/000.p/1")).unwrap(), b"x");
        assert_eq!(s.get(Area::Private, "stage").unwrap().unwrap(), b"s");
        assert_eq!(s.get(Area::Public, "stage").unwrap(), None);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(tmp.path().join("log.private/stage")).unwrap().permissions().mode() & 0o777, 0o600);
        }
        // No temp file is left behind.
        assert_eq!(fs::read_dir(tmp.path().join("log/tile/0")).unwrap().count(), 1);
        s.delete(Area::Private, "stage").unwrap();
        s.delete(Area::Private, "stage").unwrap();
        assert_eq!(s.get(Area::Private, "stage").unwrap(), None);
    }

    #[test]
    fn compare_and_swap_writes_only_over_the_expected_bytes() {
        let tmp = tempfile::tempdir().unwrap();
        let local = LocalDir::new(&tmp.path().join("log"), &tmp.path().join("log.private")).unwrap();
        for s in [&local as &dyn Storage, &MemStorage::new()] {
            let _lock = s.lock().unwrap();
            assert!(s.compare_and_swap("checkpoint", None, b"a").unwrap());
            assert!(!s.compare_and_swap("checkpoint", None, b"b").unwrap());
            assert!(!s.compare_and_swap("checkpoint", Some(b"x"), b"b").unwrap());
            assert!(s.compare_and_swap("checkpoint", Some(b"a"), b"b").unwrap());
            assert_eq!(s.get(Area::Private, "checkpoint").unwrap().unwrap(), b"b");
        }
    }

    #[test]
    fn the_memory_lock_excludes_a_second_writer_until_dropped() {
        let s = MemStorage::new();
        let lock = s.lock().unwrap();
        let other = s.clone();
        let t = std::thread::spawn(move || {
            let _l = other.lock().unwrap();
            other.put(Area::Private, "after", b"1").unwrap();
        });
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert_eq!(s.get(Area::Private, "after").unwrap(), None);
        drop(lock);
        t.join().unwrap();
        assert_eq!(s.get(Area::Private, "after").unwrap().unwrap(), b"1");
    }
}
