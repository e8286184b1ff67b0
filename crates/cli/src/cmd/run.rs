//! `oversight run`: one day's work. Ingest the deliveries that arrived, bring the lake's series table up to date
//! for the days they add or restate (`signals::update_series`), scan the day and the restated days up to it from that
//! table, and place the findings in cases.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chrono::{NaiveDate, Utc};
use clap::Args;
use futures::{StreamExt, TryStreamExt};
use lake::{DeliveryOutcome, IngestOptions, Lake, Outcome, ToLocation};

use crate::exit;

/// One day's run: ingest what arrived, rebuild the series of the days it changed, scan, place findings in cases.
///
/// The lake keeps the daily series as a table of its own (`series/`), committed through the lake's manifest like the
/// usage rows; each commit of it says which lake version it reflects, so a run that stopped half-way is caught up by
/// the next. A run rebuilds only the days whose usage files changed since (a replace delivery restates its whole
/// billing month; an append delivery adds its own days), and the result equals a full rebuild's to the bit.
///
/// It scans DAY and, when deliveries changed the points of earlier days, every day from the first of them up to DAY
/// (their windows read the changed days), each with the whole series table, and prints the findings of each as
/// `oversight scan --format json` would on the same lake. With --cases, the findings are placed in cases.
///
/// Exit codes: 0 no finding on the days scanned; 4 findings were made; 1 an input was refused or the run failed;
/// 2 bad command line.
#[derive(Args)]
pub struct RunArgs {
    /// The deliveries that arrived: files or folders (walked recursively) or store URLs, as for `ingest`.
    inputs: Vec<PathBuf>,
    /// The lake: a folder, or a store URL (`az://`, `s3://`, `gs://`) as for `ingest`.
    #[arg(long, default_value = lake::DEFAULT_LAKE, env = "OVERSIGHT_LAKE")]
    lake: PathBuf,
    /// The day to report.
    #[arg(long)]
    as_of: NaiveDate,
    #[command(flatten)]
    pack: super::scan::PackArgs,
    /// Place the findings in this case store (a SQLite path or a `postgres://` URL, made by `oversight case init`).
    #[arg(long, value_name = "DB")]
    cases: Option<String>,
    /// The transparency-log folder of the case store (with --cases).
    #[arg(long, default_value = "./oversight-log", env = "OVERSIGHT_LOG_DIR")]
    log_dir: PathBuf,
    /// The log's private folder. Default: LOG_DIR.private
    #[arg(long)]
    private: Option<PathBuf>,
    /// The provider's pseudonym key file. Default: PRIVATE/pseudonym-key.
    #[arg(long, env = "OVERSIGHT_PSEUDONYM_KEY")]
    pseudonym_key: Option<PathBuf>,
    /// Who places the findings, as recorded on the cases.
    #[arg(long, default_value = "oversight-run")]
    actor: String,
    /// Memory the query engine may hold before it spills to disk, in MiB.
    #[arg(long, default_value_t = signals::DEFAULT_MEMORY_LIMIT >> 20)]
    memory_limit: usize,
    /// After the scans, write every SQL statement they ran to DIR, with their timings, as `oversight scan
    /// --emit-sql` does.
    #[arg(long, value_name = "DIR")]
    emit_sql: Option<PathBuf>,
    /// Print one JSON document instead of lines.
    #[arg(long)]
    json: bool,
    /// The engine that runs the queries: `local` (this process) or `ballista://HOST:PORT`, the scheduler of an
    /// Apache Ballista cluster (see `oversight cluster`).
    #[arg(long, default_value = "local", env = "OVERSIGHT_ENGINE")]
    engine: ::engine::Engine,
}

/// Run the command.
pub fn run(a: RunArgs) -> anyhow::Result<ExitCode> {
    let (pack, registry, events) = a.pack.load()?;
    let rt = super::runtime()?;
    rt.block_on(async {
        let started = std::time::Instant::now();
        let mut lake = Lake::open(&a.lake).await.with_context(|| format!("opening the lake at {}", a.lake.display()))?;

        // 1. The deliveries that arrived, through the ingest path.
        let (mut applied, mut recorded, mut already, mut refused) = (0u64, 0u64, 0u64, Vec::new());
        if !a.inputs.is_empty() {
            let inputs = a.inputs.iter().map(|p| p.to_location()).collect::<Result<Vec<_>, _>>()?;
            let found = lake::discover_in(&inputs).await;
            refused.extend(found.refused.iter().map(|e| e.to_string()));
            for o in lake.ingest(&found.deliveries, &IngestOptions::default(), &|_| {}).await? {
                match o {
                    DeliveryOutcome::Recorded(r, _) if r.outcome == Outcome::Applied => applied += 1,
                    DeliveryOutcome::Recorded(..) => recorded += 1,
                    DeliveryOutcome::AlreadyIngested { .. } => already += 1,
                    DeliveryOutcome::Refused(e) => refused.push(e.to_string()),
                }
            }
            lake.record_refused(&found.refused).await?;
        }
        let ingested = started.elapsed();

        // 2. The series table, for the days those deliveries changed.
        let mapper = signals::CatalogMapper::new(catalog::Catalog::embedded());
        let update = signals::update_series(&mut lake, &mapper, a.memory_limit << 20, &a.engine).await.context("updating the series table")?;
        let files: Vec<PathBuf> = signals::series_files(lake.state()).into_iter().map(|(_, _, p)| PathBuf::from(lake.root().url_of(&p))).collect();
        let accounts: Vec<PathBuf> = signals::account_files(lake.state()).unwrap_or_default().iter().map(|p| PathBuf::from(lake.root().url_of(p))).collect();
        lake.close().await?;
        let built = started.elapsed();

        // 3. The day, and every day from the first whose points a delivery changed up to it: a finding on a day reads
        // the days before it, as far back as its windows (and the peers' history) reach. A rebuilt day whose points
        // came out the same (a restatement that restates nothing) changes no finding. A full rebuild (the first
        // run) scans the day alone.
        let mut days: BTreeSet<NaiveDate> = match update.changed.first() {
            Some(first) if !update.full && *first <= a.as_of => first.iter_days().take_while(|d| *d <= a.as_of).collect(),
            _ => BTreeSet::new(),
        };
        days.insert(a.as_of);
        let scanner = std::sync::Arc::new(detect::Scanner::from_parquet_files(&files, &accounts, registry.clone(), events, &a.engine).await?);
        let opened = started.elapsed();
        // The days side by side, one task each, as many at once as there are cores: each day's queries run on one
        // partition (for sums that do not depend on thread timing), so one day alone keeps one core busy.
        let pack = std::sync::Arc::new(pack);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let scanned: Vec<(NaiveDate, Vec<detect::Finding>)> = futures::stream::iter(days.iter().copied())
            .map(|day| {
                let (scanner, pack) = (scanner.clone(), pack.clone());
                tokio::spawn(async move { detect::scan(&scanner, &pack, day).await.map(|f| (day, f)) })
            })
            .buffered(cores)
            .map(|joined| anyhow::Ok(joined.context("a day's scan stopped")??))
            .try_collect()
            .await?;
        let scan_time = started.elapsed();
        if let Some(dir) = &a.emit_sql {
            super::scan::emit_sql(&scanner, dir).with_context(|| format!("writing the statements to {}", dir.display()))?;
        }

        // 4. The findings in cases.
        let (mut placed, mut withdrawn) = (Vec::new(), Vec::new());
        if let Some(db) = &a.cases {
            let store = super::case::StoreArgs::at(db.clone(), a.log_dir.clone(), a.private.clone(), a.pseudonym_key.clone());
            let mut store = super::case::open_store_at(&store).await?.0;
            // Each day's findings as the case store reads them (`oversight scan --format json`), once.
            let per_day = scanned
                .iter()
                .map(|(day, found)| {
                    Ok((*day, cases::findings_from_json(&serde_json::to_string(found)?).context("reading the findings as the case store does")?))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let list: Vec<cases::Finding> = per_day.iter().flat_map(|(_, f)| f.iter().cloned()).collect();
            placed = store.add_findings(&list, &registry, &a.actor, Utc::now()).await?;
            // A day scanned again that no longer gives a finding its case holds: the finding is withdrawn on the
            // case and the log, never dropped.
            let reason = match update.from_version {
                Some(v) => format!("the day was scanned again after deliveries changed its usage (lake version {v} to {})", update.to_version),
                None => format!("the day was scanned again on the lake at version {}", update.to_version),
            };
            for (day, now) in &per_day {
                withdrawn.extend(store.withdraw_findings(*day, now, &reason, &a.actor, Utc::now()).await?);
            }
        }

        let series = serde_json::json!({
            "from_version": update.from_version, "to_version": update.to_version, "full": update.full,
            "days": update.days.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
            "changed": update.changed.iter().map(|d| d.to_string()).collect::<Vec<_>>(), "points": update.points, "files": update.files,
        });
        let timing = serde_json::json!({
            "ingest_s": ingested.as_secs_f64(), "series_s": (built - ingested).as_secs_f64(), "scan_s": (scan_time - built).as_secs_f64(),
            "scan_open_s": (opened - built).as_secs_f64(),
            "total_s": started.elapsed().as_secs_f64(),
        });
        let total: usize = scanned.iter().map(|(_, f)| f.len()).sum();
        if a.json {
            let v = serde_json::json!({
                "as_of": a.as_of.to_string(),
                "ingest": {"applied": applied, "recorded_only": recorded, "already_ingested": already, "refused": refused},
                "series": series,
                "scanned": scanned.iter().map(|(d, f)| serde_json::json!({"as_of": d.to_string(), "findings": f})).collect::<Vec<_>>(),
                "cases": placed,
                "withdrawn": withdrawn,
                "timing": timing,
            });
            println!("{}", serde_json::to_string_pretty(&v)?);
        } else {
            println!("ingest: {applied} deliveries applied, {recorded} recorded only, {already} already ingested, {} refused", refused.len());
            match (update.full, update.days.first(), update.days.last()) {
                (true, _, _) => println!("series: rebuilt whole ({} points in {} files)", update.points, update.files),
                (false, Some(f), Some(l)) => {
                    println!(
                        "series: {} day(s) rebuilt, {f}..{l}, {} with changed points ({} points in {} files)",
                        update.days.len(),
                        update.changed.len(),
                        update.points,
                        update.files
                    )
                }
                _ => println!("series: up to date"),
            }
            for (d, f) in &scanned {
                println!("scan {d}: {} finding(s)", f.len());
                for x in f {
                    println!("  {} {} v{}", x.account_id, x.policy.id, x.policy.version);
                }
            }
            if a.cases.is_some() {
                let opened = placed.iter().filter(|p| p.how == "opened").count();
                println!("cases: {} finding(s) placed, {opened} case(s) opened, {} withdrawn", placed.len(), withdrawn.len());
                for w in &withdrawn {
                    println!("  withdrawn: {} {} of {} on {}", w.account_id, w.policy_id, w.as_of, w.case_id);
                }
            }
            for e in &refused {
                eprintln!("error: {e}");
            }
        }
        Ok(ExitCode::from(if !refused.is_empty() {
            exit::FAILED
        } else if total > 0 {
            exit::FINDINGS
        } else {
            exit::OK
        }))
    })
}
