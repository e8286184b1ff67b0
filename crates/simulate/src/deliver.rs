//! Laying exports out as each cloud delivers them (`../shared/reference/deliveries.md`):
//! - Azure: a run folder per export run, `azure/<billing>/focus-cost/<YYYYMMDD-YYYYMMDD>/<run-guid>/` with
//!   `manifest.json` and `part_0_0001.<ext>`; every run re-sends the month to date (replace model).
//! - AWS: `aws/<payer>/focus-export/data/BILLING_PERIOD=YYYY-MM/<time>-<execution>/` with the execution's manifest
//!   under `metadata/` (create-new mode); every execution re-sends the billing period.
//! - Google: extracts of the billing export as plain files, `gcp/<billing>/<YYYY-MM>/focus-extract-<time>.<ext>`;
//!   each holds new rows only, and a correction is a new row (append model).
//! - OCI: FOCUS report files, `oci/<billing>/FOCUS Reports/YYYY/MM/DD/<n>-00001.csv.gz` by the day each was made;
//!   append model like Google's.
//!
//! Each month is delivered twice: a month-to-date run on the 15th, whose last day is still incomplete (60 % of its
//! usage has arrived), and the closing run after the month ends. A lake that adds the two instead of replacing the
//! first with the second counts the first half of every month twice.

use std::path::{Path, PathBuf};

use chrono::{Datelike, Duration, NaiveDate};
use rand::Rng;
use serde_json::json;

use crate::focus_out::{Row, Sink};
use crate::meters::{MeterSet, Signal};
use crate::population::{Account, Population, date_of};
use crate::usage::{daily, guid, rng};
use crate::{Cloud, Config, FocusVersion, SimError};

/// Share of the last day's usage a month-to-date run already holds.
const PARTIAL_DAY: f64 = 0.6;
/// The most bytes one storage resource holds; bigger holdings are spread over several (a Google byte-seconds
/// quantity of a larger bucket would not fit the lake's 20 integer digits).
const MAX_BYTES_PER_RESOURCE: f64 = 1e15;

/// Counts of what was written.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tally {
    /// Deliveries.
    pub deliveries: u64,
    /// Data files.
    pub files: u64,
    /// Rows.
    pub rows: u64,
    /// Bytes of data files.
    pub bytes: u64,
}

impl Tally {
    /// Add another tally.
    pub fn add(&mut self, o: &Tally) {
        self.deliveries += o.deliveries;
        self.files += o.files;
        self.rows += o.rows;
        self.bytes += o.bytes;
    }
}

/// Writes each organisation's deliveries.
pub struct Writer<'a> {
    config: &'a Config,
    pop: &'a Population,
    root: PathBuf,
    meters: [MeterSet; 4],
}

/// One delivery's rows: days `from..=to` of a month, the first day at `first_share` and the last at `last_share`
/// of its usage.
struct Span {
    from: u32,
    to: u32,
    first_share: f64,
    last_share: f64,
}

/// The names and ids one account's rows repeat.
struct Ids {
    tags: String,
    resources: Vec<(String, String)>,
}

impl<'a> Writer<'a> {
    /// Bind each cloud's meters to the catalog.
    pub fn new(config: &'a Config, pop: &'a Population, root: PathBuf) -> Result<Writer<'a>, SimError> {
        let with_meter = config.focus_version != FocusVersion::V1_0;
        let cat = catalog::Catalog::embedded();
        let meters = [
            MeterSet::new(Cloud::Azure, cat, with_meter)?,
            MeterSet::new(Cloud::Aws, cat, with_meter)?,
            MeterSet::new(Cloud::Gcp, cat, with_meter)?,
            MeterSet::new(Cloud::Oci, cat, with_meter)?,
        ];
        Ok(Writer { config, pop, root, meters })
    }

    fn meters(&self, cloud: Cloud) -> &MeterSet {
        &self.meters[cloud as usize]
    }

    /// Write every delivery of organisation `o`.
    pub fn organisation(&self, o: usize) -> Result<Tally, SimError> {
        let org = &self.pop.orgs[o];
        let ids: Vec<Ids> = org.accounts.iter().map(|&a| self.ids(a)).collect();
        let mut tally = Tally::default();
        let last = self.config.days - 1;
        let mut month_start = 0u32;
        while month_start <= last {
            let first = date_of(self.config.start, month_start);
            let next_month = first_of_next(first);
            let month_end = (month_start + (next_month - first).num_days() as u32 - 1).min(last);
            let complete = date_of(self.config.start, month_end).succ_opt() == Some(next_month);
            let cut = month_start + (14 - first.day().min(14));
            let mid = cut < month_end && date_of(self.config.start, cut).day() == 14;
            let stamp = |d: u32, h: u32| date_of(self.config.start, d).and_hms_opt(h, 0, 0).expect("valid time");
            let close_time = if complete { (next_month + Duration::days(2)).and_hms_opt(6, 0, 0).expect("valid time") } else { stamp(month_end + 1, 6) };
            match org.cloud {
                Cloud::Azure | Cloud::Aws => {
                    if mid {
                        let span = Span { from: month_start, to: cut, first_share: 1.0, last_share: PARTIAL_DAY };
                        tally.add(&self.replace_run(o, &ids, first, &span, stamp(cut + 1, 4), None, 0)?);
                    }
                    let span = Span { from: month_start, to: month_end, first_share: 1.0, last_share: 1.0 };
                    let invoice = complete.then(|| format!("INV-{}-{}", org.id, first.format("%Y%m")));
                    tally.add(&self.replace_run(o, &ids, first, &span, close_time, invoice, 1)?);
                }
                Cloud::Gcp | Cloud::Oci => {
                    let mut from = month_start;
                    let mut first_share = 1.0;
                    if mid {
                        let span = Span { from: month_start, to: cut, first_share: 1.0, last_share: PARTIAL_DAY };
                        tally.add(&self.extract(o, &ids, first, &span, stamp(cut + 1, 4))?);
                        // The rest of the cut day arrives with the next extract as correction rows.
                        from = cut;
                        first_share = 1.0 - PARTIAL_DAY;
                    }
                    let span = Span { from, to: month_end, first_share, last_share: 1.0 };
                    tally.add(&self.extract(o, &ids, first, &span, close_time)?);
                }
            }
            month_start = month_end + 1;
        }
        Ok(tally)
    }

    fn ids(&self, a: usize) -> Ids {
        let acct = &self.pop.accounts[a];
        let org = &self.pop.orgs[acct.org];
        let mut r = rng(self.config.seed, 0x1d5, a as u64);
        let tags = format!("{{\"env\":\"prod\",\"cost-center\":\"cc-{}\"}}", r.random_range(100..999u32));
        let set = self.meters(org.cloud);
        let resources = Signal::ALL
            .iter()
            .map(|s| {
                let Some(m) = set.get(*s).map(|b| b.meter) else { return (String::new(), String::new()) };
                let name = format!("{}{:06x}", short(*s), r.random_range(0..0xff_ffffu32));
                let id = match org.cloud {
                    Cloud::Azure => format!("/subscriptions/{}/resourceGroups/rg-{}/providers/{}/{name}", acct.id, short(*s), m.resource_type),
                    Cloud::Aws => format!("arn:aws:{}:eu-west-1:{}:{}/{name}", short(*s), acct.id, m.resource_type.to_ascii_lowercase()),
                    Cloud::Gcp => format!("//{}/projects/{}/{name}", m.resource_type.split('/').next().unwrap_or(""), acct.id),
                    Cloud::Oci => format!("ocid1.{}.oc1.eu-frankfurt-1.{name}", m.resource_type),
                };
                (id, name)
            })
            .collect();
        Ids { tags, resources }
    }

    /// Write `span`'s rows of the organisation to `path`.
    fn rows(&self, o: usize, ids: &[Ids], month: NaiveDate, span: &Span, invoice: Option<&str>, path: &Path) -> Result<u64, SimError> {
        let org = &self.pop.orgs[o];
        let set = self.meters(org.cloud);
        let mut sink = Sink::create(path, self.config.format.for_cloud(org.cloud), org.cloud, self.config.focus_version)?;
        let next = first_of_next(month);
        let month_days = (next - month).num_days() as u32;
        let mut n = 0u64;
        let mut piece_ids = String::new();
        for day in span.from..=span.to {
            let share = if day == span.from {
                span.first_share
            } else if day == span.to {
                span.last_share
            } else {
                1.0
            };
            let weekday = Population::weekday(self.config, day);
            for (k, &a) in org.accounts.iter().enumerate() {
                let acct: &Account = &self.pop.accounts[a];
                let usage = daily(&acct.levels, acct.noise, self.config.seed, a as u64, day, weekday);
                for s in Signal::ALL {
                    let amount = usage[s.index()] * share;
                    if amount <= 0.0 {
                        continue;
                    }
                    // A cloud without a meter for the signal (OCI: per-query search, per-token models) bills none.
                    let Some(bound) = set.get(s) else { continue };
                    // Storage is a daily average; a partial day's share of it is the share of the day's byte-hours.
                    let pieces = if s == Signal::Storage { (amount / MAX_BYTES_PER_RESOURCE).ceil().max(1.0) as u32 } else { 1 };
                    for p in 0..pieces {
                        let consumed = bound.quantity(amount / f64::from(pieces), month_days);
                        let (rid, rname) = &ids[k].resources[s.index()];
                        let (rid, rname) = if p == 0 {
                            (rid.as_str(), rname.as_str())
                        } else {
                            piece_ids.clear();
                            piece_ids.push_str(rid);
                            piece_ids.push_str(&format!("-{p}"));
                            (piece_ids.as_str(), rname.as_str())
                        };
                        let row = Row {
                            billing_account_id: &org.id,
                            billing_account_name: &org.name,
                            sub_account_id: &acct.id,
                            sub_account_name: &acct.name,
                            billing_start: month,
                            billing_end: next,
                            day: date_of(self.config.start, day),
                            meter: bound.meter,
                            consumed,
                            pricing: consumed * bound.meter.pricing_per_consumed,
                            publisher: if s == Signal::Marketplace { acct.publisher } else { org.cloud.publisher() },
                            region: region(org.cloud),
                            resource_id: rid,
                            resource_name: rname,
                            invoice_id: invoice,
                            tags: &ids[k].tags,
                        };
                        sink.write(&row, path)?;
                        n += 1;
                    }
                }
            }
        }
        sink.finish(path)?;
        Ok(n)
    }

    /// An Azure run folder or an AWS execution: the month to date, with its manifest.
    #[allow(clippy::too_many_arguments)]
    fn replace_run(
        &self,
        o: usize,
        ids: &[Ids],
        month: NaiveDate,
        span: &Span,
        at: chrono::NaiveDateTime,
        invoice: Option<String>,
        run: u64,
    ) -> Result<Tally, SimError> {
        let org = &self.pop.orgs[o];
        let mut r = rng(self.config.seed, 0x7a11 + o as u64, (month.year() as u64) * 100 + u64::from(month.month()) * 4 + run);
        let guid = guid(&mut r);
        let end = first_of_next(month) - Duration::days(1);
        let format = self.config.format.for_cloud(org.cloud);
        let ext = format.suffix();
        let (dir, file, manifest_path) = match org.cloud {
            Cloud::Azure => {
                let dir = format!("azure/{}/focus-cost/{}-{}/{guid}", org.id, month.format("%Y%m%d"), end.format("%Y%m%d"));
                (dir.clone(), format!("{dir}/part_0_0001.{ext}"), format!("{dir}/manifest.json"))
            }
            _ => {
                let exec = format!("{}-{}", at.format("%Y%m%dT%H%M%SZ"), &guid[..8]);
                let period = format!("BILLING_PERIOD={}", month.format("%Y-%m"));
                let dir = format!("aws/{}/focus-export/data/{period}/{exec}", org.id);
                (
                    dir.clone(),
                    format!("{dir}/focus-export-00001.{ext}"),
                    format!("aws/{}/focus-export/metadata/{period}/{exec}/focus-export-Manifest.json", org.id),
                )
            }
        };
        let path = self.root.join(&file);
        mkdir(&self.root.join(&dir))?;
        let rows = self.rows(o, ids, month, span, invoice.as_deref(), &path)?;
        let bytes = std::fs::metadata(&path).map_err(|e| SimError::Io { path: path.display().to_string(), source: e })?.len();
        let version = self.config.focus_version.as_str();
        let manifest = match org.cloud {
            Cloud::Azure => json!({
                "manifestVersion": "2024-04-01",
                "byteCount": bytes,
                "blobCount": 1,
                "dataRowCount": rows,
                "exportConfig": {
                    "exportName": "focus-cost",
                    "resourceId": format!("/providers/Microsoft.Billing/billingAccounts/{}/providers/Microsoft.CostManagement/exports/focus-cost", org.id),
                    "dataVersion": version,
                    "type": "FocusCost",
                    "timeFrame": "MonthToDate",
                    "granularity": "Daily"
                },
                "deliveryConfig": {
                    "partitionData": true,
                    "dataOverwriteBehavior": "CreateNewReport",
                    "fileFormat": if format == crate::Format::Parquet { "Parquet" } else { "Csv" },
                    "compressionMode": match format { crate::Format::Csv => "None", crate::Format::Parquet => "Snappy", _ => "Gzip" },
                    "rootFolderPath": "azure"
                },
                "runInfo": {
                    "executionType": "Scheduled",
                    "submittedTime": format!("{}Z", at.format("%Y-%m-%dT%H:%M:%S")),
                    "runId": guid,
                    "startDate": format!("{}T00:00:00", month.format("%Y-%m-%d")),
                    "endDate": format!("{}T00:00:00", end.format("%Y-%m-%d"))
                },
                "blobs": [{"blobName": file, "byteCount": bytes, "dataRowCount": rows}]
            }),
            _ => json!({
                "executionId": guid,
                "exportArn": format!("arn:aws:bcm-data-exports:us-east-1:{}:export/focus-export", org.id),
                "exportName": "focus-export",
                "billingPeriod": {
                    "start": format!("{}T00:00:00.000Z", month.format("%Y-%m-%d")),
                    "end": format!("{}T00:00:00.000Z", first_of_next(month).format("%Y-%m-%d"))
                },
                "dataVersion": format!("FOCUS_{}_AWS", version.replace('.', "_")),
                "dataFiles": [format!("s3://oversight-sim-exports/{file}")],
                "dataRowCount": rows,
                "byteCount": bytes
            }),
        };
        let mpath = self.root.join(&manifest_path);
        mkdir(mpath.parent().expect("manifest has a folder"))?;
        std::fs::write(&mpath, serde_json::to_vec_pretty(&manifest).expect("manifest serialises"))
            .map_err(|e| SimError::Io { path: mpath.display().to_string(), source: e })?;
        Ok(Tally { deliveries: 1, files: 1, rows, bytes })
    }

    /// A Google extract or an OCI report file: new rows only.
    fn extract(&self, o: usize, ids: &[Ids], month: NaiveDate, span: &Span, at: chrono::NaiveDateTime) -> Result<Tally, SimError> {
        let org = &self.pop.orgs[o];
        let suffix = self.config.format.for_cloud(org.cloud).suffix();
        let path = match org.cloud {
            // OCI: `FOCUS Reports/YYYY/MM/DD/<16 digits>-00001.csv.gz` by the day the file was made (Oracle's bucket
            // layout, corpus/sources/oci.md §1), under the tenancy's own folder here.
            Cloud::Oci => self.root.join(format!(
                "oci/{}/FOCUS Reports/{}/{:016}-00001.{suffix}",
                org.id,
                at.format("%Y/%m/%d"),
                at.and_utc().timestamp() as u64 * 1000 + o as u64 % 1000
            )),
            _ => self.root.join(format!("gcp/{}/{}/focus-extract-{}.{suffix}", org.id, month.format("%Y-%m"), at.format("%Y%m%dT%H%M%S"))),
        };
        mkdir(path.parent().expect("a report file has a folder"))?;
        let rows = self.rows(o, ids, month, span, None, &path)?;
        let bytes = std::fs::metadata(&path).map_err(|e| SimError::Io { path: path.display().to_string(), source: e })?.len();
        Ok(Tally { deliveries: 1, files: 1, rows, bytes })
    }
}

fn mkdir(p: &Path) -> Result<(), SimError> {
    std::fs::create_dir_all(p).map_err(|e| SimError::Io { path: p.display().to_string(), source: e })
}

fn first_of_next(d: NaiveDate) -> NaiveDate {
    let (y, m) = if d.month() == 12 { (d.year() + 1, 1) } else { (d.year(), d.month() + 1) };
    NaiveDate::from_ymd_opt(y, m, 1).expect("valid month")
}

/// Every simulated organisation sits in the region its meters name (West Europe, eu-west-1, europe-west4,
/// eu-frankfurt-1).
fn region(cloud: Cloud) -> (&'static str, &'static str) {
    match cloud {
        Cloud::Azure => ("westeurope", "West Europe"),
        Cloud::Aws => ("eu-west-1", "Europe (Ireland)"),
        Cloud::Gcp => ("europe-west4", "Netherlands"),
        Cloud::Oci => ("eu-frankfurt-1", "Germany Central (Frankfurt)"),
    }
}

fn short(s: Signal) -> &'static str {
    match s {
        Signal::Storage => "st",
        Signal::Egress => "net",
        Signal::VmHours => "vm",
        Signal::GpuHours => "gpu",
        Signal::Speech => "speech",
        Signal::Translation => "translate",
        Signal::Face => "face",
        Signal::Ocr => "ocr",
        Signal::Search => "search",
        Signal::LlmTokens => "llm",
        Signal::Marketplace => "mkt",
    }
}
