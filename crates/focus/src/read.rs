//! Opening a FOCUS file of any supported format and streaming it as lake-schema batches.
//!
//! The CSV path is written on the `csv` crate rather than `arrow-csv` because a bad cell must quarantine its row,
//! with file, row, line and column, instead of failing the whole batch.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use arrow::array::{Array, StringArray};
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use crate::builder::Builder;
use crate::error::{FocusError, Quarantined};
use crate::schema::{self, Kind};

/// The container format of a FOCUS file, told from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Plain CSV.
    Csv,
    /// Gzip-compressed CSV.
    CsvGz,
    /// Parquet (any codec the parquet crate reads: Snappy, zstd, gzip, none).
    Parquet,
}

/// One batch of a file: the kept rows in the lake schema, and the rows refused.
#[derive(Debug)]
pub struct Batch {
    /// Kept rows, in the lake schema.
    pub data: RecordBatch,
    /// One record per bad cell of each refused row.
    pub quarantined: Vec<Quarantined>,
    /// Refused rows (a row with two bad cells counts once).
    pub rows_quarantined: u64,
}

/// Options for reading one file.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// The name the file is reported under (a path relative to what the user gave).
    pub name: String,
    /// The delivery id stamped on every row.
    pub delivery: String,
    /// Rows per batch.
    pub batch_rows: usize,
    /// How large a row and a value may be.
    pub limits: Limits,
}

/// How large one row and one value may be. The defaults are far above what a provider writes (a row of a real
/// export is a few kilobytes, its largest value a tag list), and bound the memory a damaged or hostile file can
/// take: a row past `record_bytes` is quarantined, and a row that runs on far past it (a gzip member of gigabytes
/// with no line end) refuses the file at its row and line; a value past `field_bytes` quarantines its row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of one CSV row.
    pub record_bytes: usize,
    /// Bytes of one value.
    pub field_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { record_bytes: 16 << 20, field_bytes: 1 << 20 }
    }
}

/// The CSV reader's buffer: it reads ahead this much past the row being parsed.
const CSV_BUFFER: usize = 1 << 20;

/// Counts the bytes read since the last row ended and fails once they run past the bound, so that a row with no
/// end cannot grow in memory: the csv crate keeps reading until a row ends.
struct Bounded<R> {
    inner: R,
    since_row: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    bound: usize,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::sync::atomic::Ordering;
        let n = self.inner.read(buf)?;
        if self.since_row.fetch_add(n, Ordering::Relaxed) + n > self.bound {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, TooLong(self.bound)));
        }
        Ok(n)
    }
}

/// The error [`Bounded`] fails with.
#[derive(Debug)]
struct TooLong(usize);

impl std::fmt::Display for TooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a row runs on past {} bytes without ending (the bound is ReadOptions::limits, `ingest --max-record-bytes`)", self.0)
    }
}

impl std::error::Error for TooLong {}

/// A FOCUS file opened for streaming.
pub struct FocusReader {
    name: String,
    limits: Limits,
    version: &'static str,
    header: Vec<String>,
    builder: Builder,
    batch_rows: usize,
    source: Source,
    done: bool,
}

enum Source {
    Csv { rdr: csv::Reader<Box<dyn Read + Send>>, record: csv::ByteRecord, row: u64, since_row: std::sync::Arc<std::sync::atomic::AtomicUsize> },
    Parquet { rdr: ParquetRecordBatchReader, row: u64, pending: Option<(crate::parquet_text::Text, usize)>, kinds: Vec<Option<Kind>> },
}

/// Tell a file's format from its first bytes.
pub fn sniff(path: &Path) -> std::io::Result<Format> {
    let mut magic = [0u8; 4];
    let n = File::open(path)?.read(&mut magic)?;
    Ok(match &magic[..n] {
        [0x1f, 0x8b, ..] => Format::CsvGz,
        b"PAR1" => Format::Parquet,
        _ => Format::Csv,
    })
}

/// Open a FOCUS file and check its header. Fails when the file cannot be FOCUS at all.
pub fn open(path: &Path, opts: &ReadOptions) -> Result<FocusReader, FocusError> {
    let file = opts.name.clone();
    let io = |source| FocusError::Io { file: file.clone(), source };
    let (header, source) = match sniff(path).map_err(io)? {
        f @ (Format::Csv | Format::CsvGz) => {
            let raw: Box<dyn Read + Send> = if f == Format::CsvGz {
                Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(1 << 20, File::open(path).map_err(io)?)))
            } else {
                Box::new(File::open(path).map_err(io)?)
            };
            // Twice the row bound and the read-ahead: rows between the bound and this are quarantined one by one.
            let since_row = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let bound = opts.limits.record_bytes.saturating_mul(2).saturating_add(CSV_BUFFER);
            let raw: Box<dyn Read + Send> = Box::new(Bounded { inner: raw, since_row: since_row.clone(), bound });
            let mut rdr = csv::ReaderBuilder::new().flexible(true).has_headers(false).buffer_capacity(CSV_BUFFER).from_reader(raw);
            let mut head = csv::ByteRecord::new();
            match rdr.read_byte_record(&mut head) {
                Ok(true) => {}
                Ok(false) => return Err(FocusError::Empty { file }),
                Err(e) => return Err(broken(&file, 0, 1, &e)),
            }
            let mut names = Vec::with_capacity(head.len());
            for (i, h) in head.iter().enumerate() {
                let h = if i == 0 { h.strip_prefix(b"\xef\xbb\xbf").unwrap_or(h) } else { h };
                names.push(std::str::from_utf8(h).map_err(|_| FocusError::HeaderNotUtf8 { file: file.clone() })?.trim().to_string());
            }
            if names.len() == 1 && names[0].is_empty() {
                return Err(FocusError::Empty { file });
            }
            since_row.store(0, std::sync::atomic::Ordering::Relaxed);
            (names, Source::Csv { rdr, record: csv::ByteRecord::new(), row: 0, since_row })
        }
        Format::Parquet => {
            let pq = |e: parquet::errors::ParquetError| FocusError::Parquet { file: file.clone(), reason: e.to_string() };
            let b = ParquetRecordBatchReaderBuilder::try_new(File::open(path).map_err(io)?).map_err(pq)?;
            let arrow_schema = b.schema().clone();
            let names: Vec<String> = arrow_schema.fields().iter().map(|f| f.name().clone()).collect();
            let header: Vec<&str> = names.iter().map(String::as_str).collect();
            let mut kinds = Vec::with_capacity(names.len());
            for (f, target) in arrow_schema.fields().iter().zip(crate::builder::plan(&header)) {
                let kind = match target {
                    crate::builder::Target::Known(k) => Some(schema::COLUMNS[k].kind),
                    crate::builder::Target::Extension(_) => None,
                };
                check_parquet_type(&file, f.name(), f.data_type(), kind)?;
                kinds.push(kind);
            }
            let rdr = b.with_batch_size(opts.batch_rows.min(65_536)).build().map_err(pq)?;
            (names, Source::Parquet { rdr, row: 0, pending: None, kinds })
        }
    };
    let refs: Vec<&str> = header.iter().map(String::as_str).collect();
    let missing = schema::missing_required(&refs);
    if !missing.is_empty() {
        let hint = match refs.as_slice() {
            [one] if one.contains(';') || one.contains('\t') || one.contains('|') => {
                format!(" (the header is one column {:?}: is the delimiter something other than a comma?)", one.chars().take(60).collect::<String>())
            }
            _ => String::new(),
        };
        return Err(FocusError::MissingColumns { file, missing, hint });
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = refs.iter().find(|h| !seen.insert(**h)) {
        return Err(FocusError::DuplicateColumn { file, column: dup.to_string() });
    }
    Ok(FocusReader {
        version: schema::detect_version(&refs),
        builder: Builder::new(&opts.name, &opts.delivery, &refs),
        name: opts.name.clone(),
        limits: opts.limits,
        header,
        batch_rows: opts.batch_rows.max(1),
        source,
        done: false,
    })
}

/// Why a row is past the limits, with the index of the value that is (`None`: the row as a whole): `record` is the
/// row's bytes (0 when not counted), `fields` its values' sizes in header order.
fn too_large(record: usize, fields: impl Iterator<Item = usize>, limits: Limits) -> Option<(Option<usize>, String)> {
    if record > limits.record_bytes {
        return Some((None, format!("a row of {record} bytes, past the bound of {} (`ingest --max-record-bytes`)", limits.record_bytes)));
    }
    let mut fields = fields;
    let (i, n) = fields.by_ref().enumerate().find(|(_, n)| *n > limits.field_bytes)?;
    Some((Some(i), format!("a value of {n} bytes, past the bound of {} (`ingest --max-field-bytes`)", limits.field_bytes)))
}

fn broken(file: &str, row: u64, line: u64, e: &csv::Error) -> FocusError {
    let line = e.position().map_or(line, |p| p.line());
    let reason = match e.kind() {
        csv::ErrorKind::Io(io) => io.to_string(),
        _ => e.to_string(),
    };
    FocusError::Broken { file: file.to_string(), row, line, reason }
}

/// Whether a Parquet column's type can hold a FOCUS column's values. Every column is read through its text form
/// ([`crate::parquet_text`]), so what matters is what the type means: text of any encoding, numbers of any width,
/// timestamps of any unit and zone, dates, and for JSON columns the nested types that are JSON objects (maps,
/// structs, key-value lists). A type that cannot mean the column's value refuses the file with a located error.
fn check_parquet_type(file: &str, column: &str, dt: &DataType, kind: Option<Kind>) -> Result<(), FocusError> {
    use DataType::*;
    let dt = match dt {
        Dictionary(_, v) => v.as_ref(),
        other => other,
    };
    let text = matches!(dt, Utf8 | LargeUtf8 | Utf8View | Binary | LargeBinary | BinaryView | Null);
    let (ok, expected) = match kind {
        None => (true, "any type"),
        Some(Kind::Text) => (text || dt.is_numeric() || matches!(dt, Boolean | Timestamp(..) | Date32 | Date64), "text or a scalar"),
        Some(Kind::Json) => (text || crate::parquet_text::is_json(dt), "JSON text, a map, a struct or a key-value list"),
        Some(Kind::Decimal | Kind::Quantity) => (text || dt.is_numeric(), "a number"),
        Some(Kind::DateTime) => (text || matches!(dt, Timestamp(..) | Date32 | Date64), "a timestamp"),
    };
    if ok { Ok(()) } else { Err(FocusError::WrongType { file: file.into(), column: column.into(), found: dt.to_string(), expected }) }
}

impl FocusReader {
    /// The FOCUS version the header looks like.
    pub fn version(&self) -> &'static str {
        self.version
    }

    /// The header as written.
    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// Read the next batch. `Ok(None)` at the end of the file.
    pub fn next_batch(&mut self) -> Result<Option<Batch>, FocusError> {
        if self.done {
            return Ok(None);
        }
        let mut quarantined = Vec::new();
        let mut refused = 0u64;
        let width = self.header.len();
        match &mut self.source {
            Source::Csv { rdr, record, row, since_row } => {
                while self.builder.len() < self.batch_rows {
                    match rdr.read_byte_record(record) {
                        Ok(false) => {
                            self.done = true;
                            break;
                        }
                        Ok(true) => {}
                        Err(e) => {
                            return Err(broken(&self.name, *row, record.position().map_or(0, |p| p.line()), &e));
                        }
                    }
                    since_row.store(0, std::sync::atomic::Ordering::Relaxed);
                    *row += 1;
                    let line = record.position().map_or(0, |p| p.line());
                    if let Some((at, reason)) = too_large(record.as_slice().len(), record.iter().map(<[u8]>::len), self.limits) {
                        let (column, raw) = match at {
                            Some(i) => (self.header[i].clone(), &record[i]),
                            None => ("(row)".to_string(), record.as_slice()),
                        };
                        let (billing_account, month) = self.builder.context(&|k| record.get(k).and_then(|f| std::str::from_utf8(f).ok()));
                        refused += 1;
                        quarantined.push(Quarantined {
                            file: self.name.clone(),
                            row: *row,
                            line,
                            column,
                            raw: String::from_utf8_lossy(&raw[..raw.len().min(200)]).chars().take(200).collect(),
                            reason,
                            billing_account,
                            month,
                        });
                        continue;
                    }
                    if record.len() != width {
                        // A blank line at the end is not a row.
                        if record.len() == 1 && record[0].is_empty() {
                            *row -= 1;
                            continue;
                        }
                        refused += 1;
                        // Fields may be shifted: no billing account or month is read from a row of another width.
                        quarantined.push(Quarantined {
                            file: self.name.clone(),
                            row: *row,
                            line,
                            column: "(row)".into(),
                            raw: record.iter().map(String::from_utf8_lossy).collect::<Vec<_>>().join(",").chars().take(200).collect(),
                            reason: format!("expected {width} fields, found {}", record.len()),
                            billing_account: String::new(),
                            month: String::new(),
                        });
                        continue;
                    }
                    // Validate the record's bytes once, then slice fields out of the checked text.
                    let Ok(all) = std::str::from_utf8(record.as_slice()) else {
                        let i = record.iter().position(|f| std::str::from_utf8(f).is_err()).expect("a field is not UTF-8");
                        refused += 1;
                        let (billing_account, month) = self.builder.context(&|k| record.get(k).and_then(|f| std::str::from_utf8(f).ok()));
                        quarantined.push(Quarantined {
                            file: self.name.clone(),
                            row: *row,
                            line,
                            column: self.header[i].clone(),
                            raw: String::from_utf8_lossy(&record[i]).chars().take(200).collect(),
                            reason: "not valid UTF-8".into(),
                            billing_account,
                            month,
                        });
                        continue;
                    };
                    if !self.builder.push(*row, line, |i| record.range(i).map(|r| &all[r]), &mut quarantined) {
                        refused += 1;
                    }
                }
            }
            Source::Parquet { rdr, row, pending, kinds } => {
                while self.builder.len() < self.batch_rows {
                    if pending.is_none() {
                        match rdr.next() {
                            None => {
                                self.done = true;
                                break;
                            }
                            Some(Err(e)) => {
                                return Err(FocusError::Parquet { file: self.name.clone(), reason: format!("after row {row}: {e}") });
                            }
                            Some(Ok(b)) => {
                                let text = crate::parquet_text::as_text(&b, kinds)
                                    .map_err(|e| FocusError::Parquet { file: self.name.clone(), reason: format!("after row {row}: {e}") })?;
                                *pending = Some((text, 0));
                            }
                        }
                    }
                    let (text, at) = pending.as_mut().expect("filled above");
                    let b = &text.batch;
                    let cols: Vec<&StringArray> = b.columns().iter().map(|c| c.as_any().downcast_ref::<StringArray>().expect("cast to text")).collect();
                    while *at < b.num_rows() && self.builder.len() < self.batch_rows {
                        *row += 1;
                        let r = *at;
                        *at += 1;
                        let get = |i: usize| cols.get(i).and_then(|c| (!c.is_null(r)).then(|| c.value(r)));
                        let sizes = cols.iter().map(|c| if c.is_null(r) { 0 } else { c.value(r).len() });
                        if let Some((at, reason)) = too_large(0, sizes, self.limits) {
                            let (billing_account, month) = self.builder.context(&get);
                            let at = at.unwrap_or(0);
                            refused += 1;
                            quarantined.push(Quarantined {
                                file: self.name.clone(),
                                row: *row,
                                line: 0,
                                column: self.header[at].clone(),
                                raw: get(at).unwrap_or("").chars().take(200).collect(),
                                reason,
                                billing_account,
                                month,
                            });
                            continue;
                        }
                        let before = quarantined.len();
                        for c in text.bad_cells(r) {
                            let (billing_account, month) = self.builder.context(&get);
                            quarantined.push(Quarantined {
                                file: self.name.clone(),
                                row: *row,
                                line: 0,
                                column: self.header[c.col].clone(),
                                raw: c.raw.clone(),
                                reason: c.reason.clone(),
                                billing_account,
                                month,
                            });
                        }
                        if quarantined.len() > before {
                            refused += 1;
                            continue;
                        }
                        if !self.builder.push(*row, 0, get, &mut quarantined) {
                            refused += 1;
                        }
                    }
                    if *at >= b.num_rows() {
                        *pending = None;
                    }
                }
            }
        }
        if self.builder.len() == 0 && quarantined.is_empty() && self.done {
            return Ok(None);
        }
        Ok(Some(Batch { data: self.builder.finish(), quarantined, rows_quarantined: refused }))
    }
}
