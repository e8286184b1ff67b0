//! `oversight signals`: daily or hourly signal series from the lake, or the meters the catalog does not know.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use arrow::record_batch::RecordBatch;
use clap::{Args, ValueEnum};
use futures::TryStreamExt;

use crate::exit;

/// Build signal series from the lake: (billing account, sub-account, signal, bucket) → value in SI units.
///
/// Meters are mapped to signals by the embedded meter catalog. Storage is the average bytes held over the bucket,
/// counters (egress bytes, speech seconds, translated characters, ...) are sums. Charges whose period spans several
/// buckets are spread over them in proportion to time.
///
/// Exit codes: 0 ok; 1 the lake could not be read or the output written; 2 bad command line.
#[derive(Args)]
pub struct SignalsArgs {
    /// The lake folder.
    #[arg(long, default_value = lake::DEFAULT_LAKE, env = "OVERSIGHT_LAKE")]
    lake: PathBuf,
    /// Bucket size.
    #[arg(long, value_enum, default_value_t = Bucket::Day)]
    granularity: Bucket,
    /// Output format (parquet needs --out).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Write to this file instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Rows shown by the table format (0 for all).
    #[arg(long, default_value_t = 40)]
    limit: usize,
    /// List the meters the catalog does not map, with row counts and cost, instead of series.
    #[arg(long)]
    unmapped: bool,
    /// Memory, in MiB, that the engine's sorts and aggregations may hold before they spill to the temporary folder.
    #[arg(long, value_name = "MIB", default_value_t = signals::DEFAULT_MEMORY_LIMIT >> 20)]
    memory_limit: usize,
    /// The engine that runs the queries: `local` (this process) or `ballista://HOST:PORT`, the scheduler of an
    /// Apache Ballista cluster (see `oversight cluster`).
    #[arg(long, default_value = "local", env = "OVERSIGHT_ENGINE")]
    engine: ::engine::Engine,
}

#[derive(Clone, Copy, ValueEnum)]
enum Bucket {
    /// One value per UTC hour.
    Hour,
    /// One value per UTC day.
    Day,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum Format {
    /// An aligned table (first --limit rows) and a summary.
    Table,
    /// CSV with a header.
    Csv,
    /// One JSON object per line.
    Json,
    /// Parquet (needs --out).
    Parquet,
}

/// Run the command.
pub fn run(a: SignalsArgs) -> anyhow::Result<ExitCode> {
    if a.format == Format::Parquet && a.out.is_none() {
        eprintln!("error: --format parquet needs --out FILE");
        return Ok(ExitCode::from(exit::USAGE));
    }
    let rt = super::runtime()?;
    rt.block_on(async {
        // A store URL is opened and must be a lake; a folder without a manifest gets the hint.
        if !a.lake.to_string_lossy().contains("://") && !a.lake.join("_manifest").exists() {
            anyhow::bail!("{} is not a lake yet: run `oversight ingest --lake {} PATH...` first", a.lake.display(), a.lake.display());
        }
        let lake = lake::Snapshot::open(&a.lake).await.with_context(|| format!("opening the lake at {}", a.lake.display()))?;
        let ctx = signals::session_at(lake.root(), &lake.live_paths("usage"), a.memory_limit << 20, &a.engine).await?;
        let granularity = match a.granularity {
            Bucket::Hour => signals::Granularity::Hour,
            Bucket::Day => signals::Granularity::Day,
        };
        let mapper = signals::CatalogMapper::new(catalog::Catalog::embedded());
        let mut sink = Sink::open(&a)?;
        let mut points = 0;
        let unmapped = if a.unmapped {
            let unmapped = signals::unmapped_keys(&ctx, &mapper).await?;
            sink.write(&unmapped_batch(&unmapped)?)?;
            unmapped
        } else {
            let mut series = signals::series_stream(&ctx, &mapper, granularity).await?;
            // Points are written as the engine produces them, so the series is never held whole.
            while let Some(b) = series.points.try_next().await? {
                points += b.num_rows();
                sink.write(&b)?;
            }
            series.unmapped
        };
        sink.finish()?;
        if a.format == Format::Table {
            if a.unmapped {
                let rows: u64 = unmapped.iter().map(|u| u.rows).sum();
                println!("{} unmapped meter keys, {rows} usage rows (catalog {})", unmapped.len(), catalog::Catalog::embedded().version());
            } else {
                println!(
                    "{points} series points; {} meter keys unmapped ({} rows): see `oversight signals --unmapped`",
                    unmapped.len(),
                    unmapped.iter().map(|u| u.rows).sum::<u64>()
                );
            }
        }
        Ok(ExitCode::from(exit::OK))
    })
}

fn unmapped_batch(unmapped: &[signals::MeterStats]) -> anyhow::Result<RecordBatch> {
    use arrow::array::{ArrayRef, Float64Array, StringArray, UInt64Array};
    use std::sync::Arc;
    let mut sorted: Vec<&signals::MeterStats> = unmapped.iter().collect();
    sorted.sort_by(|a, b| b.rows.cmp(&a.rows).then_with(|| a.key.cmp(&b.key)));
    let text = |f: &dyn Fn(&signals::MeterKey) -> &Option<String>| Arc::new(StringArray::from_iter(sorted.iter().map(|s| f(&s.key).clone()))) as ArrayRef;
    Ok(RecordBatch::try_from_iter(vec![
        ("provider", text(&|k| &k.provider)),
        ("service", text(&|k| &k.service_name)),
        ("sku_meter", text(&|k| &k.sku_meter)),
        ("usage_type", text(&|k| &k.usage_type)),
        ("charge_description", text(&|k| &k.charge_description)),
        ("meter_id", text(&|k| &k.meter_id)),
        ("consumed_unit", text(&|k| &k.consumed_unit)),
        ("pricing_unit", text(&|k| &k.pricing_unit)),
        ("charge_category", text(&|k| &k.charge_category)),
        ("reason", Arc::new(StringArray::from_iter_values(sorted.iter().map(|s| s.reason.as_str()))) as ArrayRef),
        ("rows", Arc::new(UInt64Array::from_iter_values(sorted.iter().map(|s| s.rows))) as ArrayRef),
        ("billed_cost", Arc::new(Float64Array::from_iter_values(sorted.iter().map(|s| s.billed_cost))) as ArrayRef),
    ])?)
}

/// Where the points go, batch by batch.
enum Sink {
    /// The first `left` rows, printed as one table at the end.
    Table {
        out: Box<dyn Write>,
        shown: Vec<RecordBatch>,
        left: usize,
    },
    Csv(arrow::csv::Writer<Box<dyn Write>>),
    Json(arrow::json::LineDelimitedWriter<Box<dyn Write>>),
    Parquet(Option<parquet::arrow::ArrowWriter<std::fs::File>>, PathBuf),
}

impl Sink {
    fn open(a: &SignalsArgs) -> anyhow::Result<Sink> {
        let out = || -> anyhow::Result<Box<dyn Write>> {
            Ok(match &a.out {
                Some(p) => Box::new(std::io::BufWriter::new(std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?)),
                None => Box::new(std::io::stdout().lock()),
            })
        };
        Ok(match a.format {
            Format::Table => Sink::Table { out: out()?, shown: Vec::new(), left: if a.limit == 0 { usize::MAX } else { a.limit } },
            Format::Csv => Sink::Csv(arrow::csv::WriterBuilder::new().with_header(true).build(out()?)),
            Format::Json => Sink::Json(arrow::json::LineDelimitedWriter::new(out()?)),
            // The writer opens on the first batch, whose schema it takes (series or unmapped keys).
            Format::Parquet => Sink::Parquet(None, a.out.clone().expect("checked in run")),
        })
    }

    fn write(&mut self, b: &RecordBatch) -> anyhow::Result<()> {
        match self {
            Sink::Table { shown, left, .. } => {
                let n = b.num_rows().min(*left);
                if n > 0 {
                    shown.push(b.slice(0, n));
                    *left -= n;
                }
            }
            Sink::Csv(w) => w.write(b)?,
            Sink::Json(w) => w.write(b)?,
            Sink::Parquet(w, path) => {
                if w.is_none() {
                    *w = Some(parquet_writer(path, b.schema())?);
                }
                w.as_mut().expect("opened above").write(b)?;
            }
        }
        Ok(())
    }

    fn finish(self) -> anyhow::Result<()> {
        match self {
            Sink::Table { mut out, shown, .. } => writeln!(out, "{}", arrow::util::pretty::pretty_format_batches(&shown)?)?,
            Sink::Csv(w) => w.into_inner().flush()?,
            Sink::Json(mut w) => w.finish()?,
            Sink::Parquet(w, path) => {
                let w = match w {
                    Some(w) => w,
                    None => parquet_writer(&path, signals::series_schema())?,
                };
                w.close()?;
            }
        }
        Ok(())
    }
}

fn parquet_writer(path: &std::path::Path, schema: arrow::datatypes::SchemaRef) -> anyhow::Result<parquet::arrow::ArrowWriter<std::fs::File>> {
    let file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    Ok(parquet::arrow::ArrowWriter::try_new(file, schema, Some(signals::parquet_properties()))?)
}
