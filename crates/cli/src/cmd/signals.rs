//! `oversight signals`: daily or hourly signal series from the lake, or the meters the catalog does not know.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use arrow::record_batch::RecordBatch;
use clap::{Args, ValueEnum};

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
        if !a.lake.join("_manifest").exists() {
            anyhow::bail!("{} is not a lake yet: run `oversight ingest --lake {} PATH...` first", a.lake.display(), a.lake.display());
        }
        let lake = lake::Lake::open(&a.lake).await.with_context(|| format!("opening the lake at {}", a.lake.display()))?;
        let ctx = signals::session(&lake.live_paths("usage"))?;
        let granularity = match a.granularity {
            Bucket::Hour => signals::Granularity::Hour,
            Bucket::Day => signals::Granularity::Day,
        };
        let mapper = signals::CatalogMapper::new(catalog::Catalog::embedded());
        let (series, unmapped) = signals::build_series(&ctx, &mapper, granularity).await?;
        let batches = if a.unmapped { vec![unmapped_batch(&unmapped)?] } else { series };
        write(&a, &batches)?;
        if a.format == Format::Table {
            let points: usize = batches.iter().map(RecordBatch::num_rows).sum();
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
    let text = |f: &dyn Fn(&signals::MeterKey) -> &Option<String>| {
        Arc::new(StringArray::from_iter(sorted.iter().map(|s| f(&s.key).clone()))) as ArrayRef
    };
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

fn write(a: &SignalsArgs, batches: &[RecordBatch]) -> anyhow::Result<()> {
    let mut sink: Box<dyn Write> = match &a.out {
        Some(p) => Box::new(std::io::BufWriter::new(std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?)),
        None => Box::new(std::io::stdout().lock()),
    };
    match a.format {
        Format::Table => {
            let mut shown = Vec::new();
            let mut left = if a.limit == 0 { usize::MAX } else { a.limit };
            for b in batches {
                if left == 0 {
                    break;
                }
                let n = b.num_rows().min(left);
                shown.push(b.slice(0, n));
                left -= n;
            }
            writeln!(sink, "{}", arrow::util::pretty::pretty_format_batches(&shown)?)?;
        }
        Format::Csv => {
            let mut w = arrow::csv::WriterBuilder::new().with_header(true).build(sink);
            for b in batches {
                w.write(b)?;
            }
        }
        Format::Json => {
            let mut w = arrow::json::LineDelimitedWriter::new(sink);
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
        }
        Format::Parquet => {
            let path = a.out.as_ref().expect("checked in run");
            let schema = batches.first().map(|b| b.schema()).unwrap_or_else(signals::series_schema);
            let mut w = parquet::arrow::ArrowWriter::try_new(std::fs::File::create(path)?, schema, None)?;
            for b in batches {
                w.write(b)?;
            }
            w.close()?;
        }
    }
    Ok(())
}
