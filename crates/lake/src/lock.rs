//! The writer's lock. In a local folder, an OS lock on `_lock`. In an object store, which has no such lock, a lease:
//! the `_lock` object, created if absent, names its owner and an expiry; a background task renews it, and the
//! writer confirms it before each commit.
//!
//! Limits of the lease: a writer that stops renewing (crashed, frozen, cut off) keeps others out until its lease
//! expires ([`LEASE`]); after that, a new writer takes it over (a conditional update on the object's ETag, so two
//! cannot both take it) and removes files no commit names. A frozen writer that wakes after that finds its lease
//! gone at its next commit ([`LakeError::LeaseLost`]) and commits nothing; its commit is also a create-if-absent, so
//! it can never overwrite another's. The store must support conditional puts (Azure Blob, S3 and GCS do).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use object_store::path::Path as ObjPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};
use serde::{Deserialize, Serialize};

use crate::{LakeError, Location};

/// The lock file or object. Engines skip names starting with `_`.
pub(crate) const LOCK_FILE: &str = "_lock";

/// How long a lease holds without renewal.
pub const LEASE: Duration = Duration::from_secs(60);

/// How often the holder renews it: three times per lease, so one failed renewal does not lose it.
const RENEW_EVERY: Duration = Duration::from_secs(20);

/// The writer's hold on the lake, released when dropped.
pub(crate) enum Lock {
    /// An OS lock (`flock`) on `_lock`: released when the handle is dropped or its process dies, so a crashed
    /// writer's lock is taken over by the next one without a stale-lock rule.
    File {
        /// Held for its `Drop`, which releases the lock.
        _handle: std::fs::File,
    },
    /// A lease on the `_lock` object of a store.
    Lease(Lease),
}

/// What the lease object holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Holder {
    owner: String,
    pid: u32,
    host: String,
    since: DateTime<Utc>,
    expires: DateTime<Utc>,
}

impl Holder {
    fn describe(&self) -> String {
        format!("owner {} (pid {} on {}) since {}, lease until {}", self.owner, self.pid, self.host, self.since.to_rfc3339(), self.expires.to_rfc3339())
    }
}

/// A held lease: its ETag (shared with the renewer), and whether it was lost.
pub(crate) struct Lease {
    store: Arc<dyn ObjectStore>,
    url: String,
    holder: Arc<tokio::sync::Mutex<(Holder, String)>>,
    lost: Arc<AtomicBool>,
    renewer: tokio::task::JoinHandle<()>,
}

impl Lock {
    /// Take the lock of the lake at `root`, whose store is `store`, or say who holds it.
    pub(crate) async fn take(root: &Location, store: &Arc<dyn ObjectStore>) -> Result<Lock, LakeError> {
        match root.as_local() {
            Some(dir) => take_file(dir).map(|f| Lock::File { _handle: f }),
            None => Lease::take(root, store.clone()).await.map(Lock::Lease),
        }
    }

    /// Before a commit: fail when the lease was lost, and renew it now, so that the commit happens under it.
    pub(crate) async fn confirm(&self) -> Result<(), LakeError> {
        match self {
            Lock::File { .. } => Ok(()),
            Lock::Lease(l) => l.renew().await,
        }
    }

    /// Give the lock up now: for a lease, delete the object so that the next writer need not wait for it to expire.
    pub(crate) async fn release(self) -> Result<(), LakeError> {
        match self {
            Lock::File { .. } => Ok(()),
            Lock::Lease(l) => l.release().await,
        }
    }
}

impl Lease {
    async fn take(root: &Location, store: Arc<dyn ObjectStore>) -> Result<Lease, LakeError> {
        let url = root.url_of(LOCK_FILE);
        let path = ObjPath::from(LOCK_FILE);
        let now = Utc::now();
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_else(|_| "unknown host".into());
        let owner = {
            use sha2::Digest;
            let seed = format!("{host}\0{}\0{}", std::process::id(), now.timestamp_nanos_opt().unwrap_or_default());
            hex::encode(&sha2::Sha256::digest(seed.as_bytes())[..8])
        };
        let mut holder = Holder { owner, pid: std::process::id(), host, since: now, expires: now + LEASE };
        // A few rounds: between reading an expired lease and taking it over, another writer may take it, or release.
        for _ in 0..3 {
            let body = PutPayload::from(serde_json::to_vec(&holder).expect("a lease serialises"));
            let created = store.put_opts(&path, body.clone(), PutOptions { mode: PutMode::Create, ..Default::default() }).await;
            let etag = match created {
                Ok(r) => r.e_tag,
                Err(object_store::Error::AlreadyExists { .. }) => {
                    let current = match store.get(&path).await {
                        Ok(g) => g,
                        Err(object_store::Error::NotFound { .. }) => continue,
                        Err(e) => return Err(e.into()),
                    };
                    let version = UpdateVersion { e_tag: current.meta.e_tag.clone(), version: current.meta.version.clone() };
                    let bytes = current.bytes().await?;
                    match serde_json::from_slice::<Holder>(&bytes) {
                        Ok(h) if h.expires > Utc::now() => return Err(LakeError::Locked { path: url, holder: h.describe() }),
                        // Expired, or not a lease at all (a half-written one): taken over.
                        _ => {}
                    }
                    match store.put_opts(&path, body, PutOptions { mode: PutMode::Update(version), ..Default::default() }).await {
                        Ok(r) => r.e_tag,
                        Err(object_store::Error::Precondition { .. } | object_store::Error::NotFound { .. }) => continue,
                        Err(e) => return Err(e.into()),
                    }
                }
                Err(e) => return Err(e.into()),
            };
            let etag = etag
                .ok_or_else(|| LakeError::Location { url: url.clone(), reason: "the store gave the lease no ETag, so it cannot be renewed safely".into() })?;
            holder.since = Utc::now();
            let shared = Arc::new(tokio::sync::Mutex::new((holder, etag)));
            let lost = Arc::new(AtomicBool::new(false));
            let renewer = tokio::spawn(renew_forever(store.clone(), shared.clone(), lost.clone()));
            return Ok(Lease { store, url, holder: shared, lost, renewer });
        }
        Err(LakeError::Locked { path: url, holder: "other writers, taking it over at the same time".into() })
    }

    async fn renew(&self) -> Result<(), LakeError> {
        if self.lost.load(Ordering::SeqCst) {
            return Err(LakeError::LeaseLost { path: self.url.clone() });
        }
        let mut held = self.holder.lock().await;
        match renew_once(&*self.store, &mut held).await {
            Ok(()) => Ok(()),
            Err(object_store::Error::Precondition { .. } | object_store::Error::NotFound { .. }) => {
                self.lost.store(true, Ordering::SeqCst);
                Err(LakeError::LeaseLost { path: self.url.clone() })
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn release(self) -> Result<(), LakeError> {
        self.renewer.abort();
        let held = self.holder.lock().await;
        // Only our own lease, and only while it holds: after expiry it may be another writer's.
        if !self.lost.load(Ordering::SeqCst) && held.0.expires > Utc::now() {
            self.store.delete(&ObjPath::from(LOCK_FILE)).await?;
        }
        Ok(())
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        // Without `Lake::close`, the lease is left to expire: no request can be awaited here.
        self.renewer.abort();
    }
}

/// Extend the lease by [`LEASE`], if it is still ours (its ETag unchanged).
async fn renew_once(store: &dyn ObjectStore, held: &mut (Holder, String)) -> Result<(), object_store::Error> {
    let expires = Utc::now() + LEASE;
    let body = serde_json::to_vec(&Holder { expires, ..held.0.clone() }).expect("a lease serialises");
    let version = UpdateVersion { e_tag: Some(held.1.clone()), version: None };
    let r = store.put_opts(&ObjPath::from(LOCK_FILE), PutPayload::from(body), PutOptions { mode: PutMode::Update(version), ..Default::default() }).await?;
    held.0.expires = expires;
    held.1 = r.e_tag.unwrap_or_default();
    Ok(())
}

async fn renew_forever(store: Arc<dyn ObjectStore>, holder: Arc<tokio::sync::Mutex<(Holder, String)>>, lost: Arc<AtomicBool>) {
    loop {
        tokio::time::sleep(RENEW_EVERY).await;
        let mut held = holder.lock().await;
        match renew_once(&*store, &mut held).await {
            Ok(()) => {}
            Err(object_store::Error::Precondition { .. } | object_store::Error::NotFound { .. }) => {
                lost.store(true, Ordering::SeqCst);
                return;
            }
            // A passing failure: try again next time; the lease is lost only if it expires meanwhile.
            Err(_) if held.0.expires > Utc::now() => {}
            Err(_) => {
                lost.store(true, Ordering::SeqCst);
                return;
            }
        }
    }
}

/// Take the OS lock on `_lock` in a local lake folder, or say who holds it.
fn take_file(root: &std::path::Path) -> Result<std::fs::File, LakeError> {
    use std::io::{Seek, Write};
    let path = root.join(LOCK_FILE);
    let io = |e: std::io::Error| LakeError::Io { path: path.display().to_string(), source: e };
    // Never truncate before holding the lock: the holder's line is the message for the next writer.
    let mut f = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(io)?;
    match f.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let holder = std::fs::read_to_string(&path).unwrap_or_default().trim().to_string();
            return Err(LakeError::Locked { path: path.display().to_string(), holder });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
    }
    f.set_len(0).map_err(io)?;
    f.rewind().map_err(io)?;
    writeln!(f, "pid {} since {}", std::process::id(), Utc::now().to_rfc3339()).map_err(io)?;
    Ok(f)
}
