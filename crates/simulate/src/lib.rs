//! The scenario generator: FOCUS exports for a population of accounts, laid out as the clouds deliver them, with the
//! surveillance patterns of the public record (`../shared/reference/public-record.md`) and labelled ground truth.
//!
//! [`simulate`] writes a scenario folder (DESIGN.md §3, "Interchange formats"):
//! ```text
//! DIR/exports/      FOCUS files per billing account and month, re-delivered while the month is open
//! DIR/registry.csv  the tenant registry
//! DIR/events.csv    enforcement-relevant events (exposure, review, suspension)
//! DIR/labels.json   ground truth: benign or the scenario, onset, first observable day, assumptions
//! ```
//! Output is a pure function of the [`Config`]: every random draw comes from a generator seeded by the seed and the
//! draw's place (account, day), so the files do not depend on thread scheduling.
#![deny(missing_docs)]

mod deliver;
pub mod focus_out;
pub mod labels;
pub mod meters;
pub mod population;
mod usage;

use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use chrono::NaiveDate;

pub use labels::{Label, Labels};
pub use meters::Signal;
pub use population::Population;

/// The generator name and version written into `labels.json`.
pub const GENERATOR: &str = concat!("oversight simulate ", env!("CARGO_PKG_VERSION"));

/// A cloud the simulator writes exports for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cloud {
    /// Microsoft Azure: Cost Management run folders with `manifest.json`, replace model.
    Azure,
    /// AWS: Data Exports executions under `BILLING_PERIOD=` with a manifest, replace model.
    Aws,
    /// Google Cloud: extracts of the BigQuery billing export as plain files, append model.
    Gcp,
    /// Oracle Cloud Infrastructure: FOCUS report files (`FOCUS Reports/YYYY/MM/DD/…csv.gz`), append model.
    Oci,
}

impl Cloud {
    /// Every cloud.
    pub const ALL: [Cloud; 4] = [Cloud::Azure, Cloud::Aws, Cloud::Gcp, Cloud::Oci];

    /// `ProviderName` as the cloud writes it.
    pub fn provider_name(self) -> &'static str {
        match self {
            Cloud::Azure => "Microsoft",
            Cloud::Aws => "AWS",
            Cloud::Gcp => "Google Cloud",
            Cloud::Oci => "Oracle",
        }
    }

    /// `PublisherName` and `InvoiceIssuerName` for first-party services.
    pub fn publisher(self) -> &'static str {
        match self {
            Cloud::Azure => "Microsoft",
            Cloud::Aws => "Amazon Web Services, Inc.",
            Cloud::Gcp => "Google Cloud",
            Cloud::Oci => "Oracle",
        }
    }

    /// `BillingAccountType` (FOCUS 1.2).
    pub fn billing_account_type(self) -> &'static str {
        match self {
            Cloud::Azure => "Billing Account",
            Cloud::Aws => "Management Account",
            Cloud::Gcp | Cloud::Oci => "Billing Account",
        }
    }

    /// `SubAccountType` (FOCUS 1.2).
    pub fn sub_account_type(self) -> &'static str {
        match self {
            Cloud::Azure => "Subscription",
            Cloud::Aws => "Member Account",
            Cloud::Gcp => "Project",
            Cloud::Oci => "Tenancy",
        }
    }

    /// The lower-case name used in folders and on the command line.
    pub fn id(self) -> &'static str {
        match self {
            Cloud::Azure => "azure",
            Cloud::Aws => "aws",
            Cloud::Gcp => "gcp",
            Cloud::Oci => "oci",
        }
    }
}

/// Which clouds the population lives on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Providers {
    /// Every account on one cloud.
    One(Cloud),
    /// Each organisation on one of the three; the scenarios on the clouds the public record names.
    Mixed,
}

/// The file format of the exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// What each cloud writes by default: gzip-compressed CSV for Azure, Google's BigQuery extracts and OCI, Parquet
    /// for AWS Data Exports (corpus/README.md). OCI writes only CSV.gz, whatever the format asked.
    Native,
    /// Plain CSV.
    Csv,
    /// Gzip-compressed CSV (`.csv.gz`).
    CsvGz,
    /// Snappy-compressed Parquet.
    Parquet,
}

impl Format {
    /// The container a cloud's files come in: this one, or the cloud's own for [`Format::Native`].
    pub fn for_cloud(self, cloud: Cloud) -> Format {
        match (self, cloud) {
            (Format::Native, Cloud::Aws) => Format::Parquet,
            (Format::Native, Cloud::Azure | Cloud::Gcp) => Format::CsvGz,
            // OCI delivers its FOCUS reports only as gzip-compressed CSV.
            (_, Cloud::Oci) => Format::CsvGz,
            (f, _) => f,
        }
    }

    /// The file-name suffix.
    pub fn suffix(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::CsvGz | Format::Native => "csv.gz",
            Format::Parquet => "snappy.parquet",
        }
    }
}

/// The FOCUS version of the columns written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FocusVersion {
    /// FOCUS 1.0 (what `focus-validator` 1.0.0 checks).
    V1_0,
    /// FOCUS 1.2 (the default).
    V1_2,
}

impl FocusVersion {
    /// The version as written in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            FocusVersion::V1_0 => "1.0",
            FocusVersion::V1_2 => "1.2",
        }
    }
}

/// What to simulate.
#[derive(Debug, Clone)]
pub struct Config {
    /// Sub-accounts in the exports (scenario accounts included).
    pub accounts: usize,
    /// Days simulated.
    pub days: u32,
    /// The first day.
    pub start: NaiveDate,
    /// The seed every draw derives from.
    pub seed: u64,
    /// Clouds.
    pub providers: Providers,
    /// File format.
    pub format: Format,
    /// FOCUS version.
    pub focus_version: FocusVersion,
    /// Worker threads (the output does not depend on it).
    pub threads: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            accounts: 1000,
            days: 365,
            start: NaiveDate::from_ymd_opt(2025, 1, 1).expect("valid date"),
            seed: 1,
            providers: Providers::One(Cloud::Azure),
            format: Format::Native,
            focus_version: FocusVersion::V1_2,
            threads: 2,
        }
    }
}

/// What a simulation wrote.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Sub-accounts.
    pub accounts: usize,
    /// Organisations (billing accounts).
    pub organisations: usize,
    /// Deliveries (runs, executions, extracts).
    pub deliveries: u64,
    /// Data files.
    pub files: u64,
    /// FOCUS rows, over all deliveries (a restated month's rows count once per delivery).
    pub rows: u64,
    /// Bytes of data files.
    pub bytes: u64,
    /// Accounts per label.
    pub labels: Vec<(String, usize)>,
}

/// Errors of the simulator.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A file could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A CSV file could not be written.
    #[error("{path}: {source}")]
    Csv {
        /// The file.
        path: String,
        /// The cause.
        source: csv::Error,
    },
    /// A Parquet file could not be written.
    #[error("{path}: {reason}")]
    Parquet {
        /// The file.
        path: String,
        /// The cause.
        reason: String,
    },
    /// The configuration cannot hold the scenarios.
    #[error("{0}")]
    Config(String),
    /// The meter catalog does not read a simulated meter back.
    #[error(transparent)]
    Unmapped(#[from] meters::Unmapped),
}

/// Progress of a run, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Organisations finished.
    pub organisations: usize,
    /// Of these many.
    pub total: usize,
    /// Rows written so far.
    pub rows: u64,
}

/// Write the scenario folder `out` for `config`. `out/exports` must not exist yet.
pub fn simulate(config: &Config, out: &Path, progress: &(dyn Fn(Progress) + Sync)) -> Result<Summary, SimError> {
    if config.days == 0 {
        return Err(SimError::Config("--days must be at least 1".into()));
    }
    let pop = Population::build(config)?;
    let exports = out.join("exports");
    std::fs::create_dir_all(&exports).map_err(|e| SimError::Io { path: exports.display().to_string(), source: e })?;
    write_text(&out.join("registry.csv"), &pop.registry_csv())?;
    write_text(&out.join("events.csv"), &pop.events_csv())?;
    let labels = pop.labels(config);
    write_text(&out.join("labels.json"), &(serde_json::to_string_pretty(&labels).expect("labels serialise") + "\n"))?;

    let writer = deliver::Writer::new(config, &pop, exports)?;
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let rows = AtomicU64::new(0);
    let threads = config.threads.max(1);
    let results: Vec<Result<deliver::Tally, SimError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| -> Result<deliver::Tally, SimError> {
                    let mut tally = deliver::Tally::default();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= pop.orgs.len() {
                            return Ok(tally);
                        }
                        let t = writer.organisation(i)?;
                        let r = rows.fetch_add(t.rows, Ordering::Relaxed) + t.rows;
                        tally.add(&t);
                        let d = done.fetch_add(1, Ordering::Relaxed) + 1;
                        progress(Progress { organisations: d, total: pop.orgs.len(), rows: r });
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a simulation thread panicked")).collect()
    });
    let mut tally = deliver::Tally::default();
    for r in results {
        tally.add(&r?);
    }
    Ok(Summary {
        accounts: pop.accounts.len(),
        organisations: pop.orgs.len(),
        deliveries: tally.deliveries,
        files: tally.files,
        rows: tally.rows,
        bytes: tally.bytes,
        labels: labels.counts(),
    })
}

fn write_text(path: &Path, text: &str) -> Result<(), SimError> {
    std::fs::write(path, text).map_err(|e| SimError::Io { path: path.display().to_string(), source: e })
}
