//! Object stores by URL, opened on first use with the credentials of the process that reads.

use std::sync::Arc;

use datafusion::error::{DataFusionError, Result};
use datafusion::execution::object_store::{DefaultObjectStoreRegistry, ObjectStoreRegistry};
use object_store::ObjectStore;
use url::Url;

/// The engine's object stores: local files, and any bucket or container a plan names (`az://`, `s3://`, `gs://`),
/// opened on first use through `lake::Location`, that is by `object_store`'s builders with their standard environment
/// variables. A Ballista executor runs with this registry, so it reads a store lake with its own credentials, and
/// nothing secret travels in a plan.
#[derive(Debug, Default)]
pub struct StoreRegistry {
    known: DefaultObjectStoreRegistry,
}

impl StoreRegistry {
    /// A registry that knows local files, and opens buckets as plans name them.
    pub fn new() -> StoreRegistry {
        StoreRegistry { known: DefaultObjectStoreRegistry::new() }
    }
}

impl ObjectStoreRegistry for StoreRegistry {
    fn register_store(&self, url: &Url, store: Arc<dyn ObjectStore>) -> Option<Arc<dyn ObjectStore>> {
        self.known.register_store(url, store)
    }

    fn deregister_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        self.known.deregister_store(url)
    }

    fn get_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        if let Ok(store) = self.known.get_store(url) {
            return Ok(store);
        }
        let bucket = format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default());
        let location = lake::Location::parse(&bucket).map_err(|e| DataFusionError::External(Box::new(e)))?;
        let (root, store) = location.engine_store().ok_or_else(|| DataFusionError::Plan(format!("{url} names no object store")))?;
        let root = Url::parse(&root).map_err(|e| DataFusionError::External(Box::new(e)))?;
        self.known.register_store(&root, store.clone());
        Ok(store)
    }
}
