//! Turns rows of raw cells into lake-schema Arrow batches, quarantining rows whose cells do not parse.
//!
//! Both readers (CSV and Parquet) feed this one builder, so a value means the same whatever format it came in.

use std::sync::Arc;

use arrow::array::{ArrayRef, Decimal128Builder, StringBuilder, TimestampMicrosecondBuilder, UInt64Builder};
use arrow::record_batch::RecordBatch;

use crate::error::Quarantined;
use crate::schema::{self, COLUMNS, DECIMAL_PRECISION, DECIMAL_SCALE, Kind, QUANTITY_SCALE};
use crate::value;

/// Where one input column goes.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// A known FOCUS column, by index in [`COLUMNS`].
    Known(usize),
    /// Kept in `x_extensions` under this name.
    Extension(String),
}

/// Map a header to targets. When a column and its alias are both present, the canonical name wins and the alias
/// is kept as an extension, so nothing is lost.
pub(crate) fn plan(header: &[&str]) -> Vec<Target> {
    let exact: Vec<bool> = COLUMNS.iter().map(|c| header.contains(&c.name)).collect();
    header
        .iter()
        .map(|h| match schema::column(h) {
            Some((i, c)) if c.name == *h || !exact[i] => Target::Known(i),
            _ => Target::Extension((*h).to_string()),
        })
        .collect()
}

fn scale(kind: Kind) -> i8 {
    if kind == Kind::Quantity { QUANTITY_SCALE } else { DECIMAL_SCALE }
}

enum Cell {
    Null,
    Text(usize),
    /// A FOCUS enumerated value written in another case, in its FOCUS spelling.
    Canonical(&'static str),
    /// A JSON cell rewritten into the object it means.
    Json(String),
    Time(i64),
    Dec(i128),
}

enum ColBuilder {
    Text(StringBuilder),
    Time(TimestampMicrosecondBuilder),
    Dec(Decimal128Builder),
}

impl ColBuilder {
    fn new(kind: Kind, rows: usize, bytes: usize) -> ColBuilder {
        match kind {
            Kind::Text | Kind::Json => ColBuilder::Text(StringBuilder::with_capacity(rows, bytes)),
            Kind::DateTime => ColBuilder::Time(TimestampMicrosecondBuilder::with_capacity(rows).with_timezone("+00:00")),
            Kind::Decimal | Kind::Quantity => {
                ColBuilder::Dec(Decimal128Builder::with_capacity(rows).with_precision_and_scale(DECIMAL_PRECISION, scale(kind)).expect("valid decimal type"))
            }
        }
    }

    /// The column so far, leaving an empty builder sized like it, so the next batch does not grow its buffers
    /// from nothing again.
    fn finish(&mut self, kind: Kind, rows: usize) -> ArrayRef {
        let bytes = match self {
            ColBuilder::Text(b) => b.values_slice().len(),
            _ => 0,
        };
        let done = std::mem::replace(self, ColBuilder::new(kind, rows, bytes));
        match done {
            ColBuilder::Text(mut b) => Arc::new(b.finish()),
            ColBuilder::Time(mut b) => Arc::new(b.finish()),
            ColBuilder::Dec(mut b) => Arc::new(b.finish()),
        }
    }
}

/// One extension column of the file: its input index and its name as a JSON string, key order decided once.
struct Extension {
    at: usize,
    key: String,
}

/// Accumulates parsed rows of one file into batches.
pub(crate) struct Builder {
    file: String,
    delivery: String,
    names: Vec<String>,
    known_at: Vec<Option<usize>>,
    /// Builders of the columns the file has; `None` for columns it lacks, which become all-null arrays.
    cols: Vec<Option<ColBuilder>>,
    /// Extension columns in the key order of a JSON object with sorted keys.
    extensions: Vec<Extension>,
    ext: StringBuilder,
    rows: UInt64Builder,
    len: usize,
    cells: Vec<Cell>,
    ext_buf: Vec<u8>,
    /// Lake indexes of `ChargePeriodStart` and `ChargePeriodEnd`, checked against each other on every row.
    period: (usize, usize),
}

impl Builder {
    pub(crate) fn new(file: &str, delivery: &str, header: &[&str]) -> Builder {
        let targets = plan(header);
        let mut known_at = vec![None; COLUMNS.len()];
        let mut extensions = Vec::new();
        for (i, t) in targets.iter().enumerate() {
            match t {
                Target::Known(k) => known_at[*k] = Some(i),
                Target::Extension(name) => extensions.push((name.clone(), i)),
            }
        }
        // Sorted by name, as serde_json's default map writes its keys.
        extensions.sort();
        let extensions = extensions.into_iter().map(|(name, at)| Extension { at, key: serde_json::to_string(&name).expect("strings serialise") }).collect();
        let cols = COLUMNS.iter().zip(&known_at).map(|(c, at)| at.map(|_| ColBuilder::new(c.kind, 0, 0))).collect();
        let at = |name| schema::column(name).expect("known column").0;
        Builder {
            file: file.to_string(),
            delivery: delivery.to_string(),
            names: header.iter().map(|s| s.to_string()).collect(),
            known_at,
            cols,
            extensions,
            ext: StringBuilder::new(),
            rows: UInt64Builder::new(),
            len: 0,
            cells: Vec::with_capacity(COLUMNS.len()),
            ext_buf: Vec::new(),
            period: (at("ChargePeriodStart"), at("ChargePeriodEnd")),
        }
    }

    /// Rows buffered so far.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Parse one row. `cell(i)` gives the raw text of input column `i` (`None` when the row is short of it).
    /// Returns the quarantine records of the row's bad cells; the row is kept only when there are none.
    pub(crate) fn push<'a>(&mut self, row: u64, line: u64, cell: impl Fn(usize) -> Option<&'a str>, out: &mut Vec<Quarantined>) -> bool {
        let before = out.len();
        self.cells.clear();
        for (k, c) in COLUMNS.iter().enumerate() {
            let cell_errors = out.len();
            let parsed = match self.known_at[k].and_then(&cell) {
                None => Cell::Null,
                Some(raw) if value::is_null(raw) => Cell::Null,
                Some(raw) => {
                    let r = match c.kind {
                        Kind::Text => Ok(schema::canonical_value(c.name, raw).map_or(Cell::Text(k), Cell::Canonical)),
                        Kind::Json => value::check_json_object(raw).map(|object| object.map_or(Cell::Text(k), Cell::Json)),
                        Kind::DateTime => value::parse_datetime(raw).map(Cell::Time),
                        Kind::Decimal | Kind::Quantity => value::parse_decimal(raw, scale(c.kind)).map(Cell::Dec).map_err(|reason| {
                            // A number the lake's decimal cannot hold names its meter, so the catalog can say what
                            // it measures.
                            if raw.trim().parse::<f64>().is_ok_and(f64::is_finite) {
                                format!("out of the lake's range, Decimal128({DECIMAL_PRECISION},{}) (meter: {})", scale(c.kind), self.meter(&cell))
                            } else {
                                reason
                            }
                        }),
                    };
                    r.unwrap_or_else(|reason| {
                        out.push(self.bad(row, line, k, raw, reason));
                        Cell::Null
                    })
                }
            };
            if matches!(parsed, Cell::Null) && c.non_null && out.len() == cell_errors {
                let raw = self.known_at[k].and_then(&cell).unwrap_or("");
                out.push(self.bad(row, line, k, raw, "a value is required".into()));
            }
            self.cells.push(parsed);
        }
        let (start, end) = self.period;
        if let (Cell::Time(s), Cell::Time(e)) = (&self.cells[start], &self.cells[end])
            && s >= e
        {
            let raw = self.known_at[end].and_then(&cell).unwrap_or("");
            out.push(self.bad(row, line, end, raw, "ChargePeriodEnd is not after ChargePeriodStart".into()));
        }
        if out.len() > before {
            let (account, month) = self.context(&cell);
            for q in &mut out[before..] {
                (q.billing_account, q.month) = (account.clone(), month.clone());
            }
            return false;
        }
        for (k, parsed) in self.cells.iter().enumerate() {
            let Some(col) = &mut self.cols[k] else {
                continue;
            };
            match (col, parsed) {
                (ColBuilder::Text(b), Cell::Text(k)) => b.append_value(self.known_at[*k].and_then(&cell).unwrap_or_default()),
                (ColBuilder::Text(b), Cell::Canonical(v)) => b.append_value(v),
                (ColBuilder::Text(b), Cell::Json(v)) => b.append_value(v),
                (ColBuilder::Time(b), Cell::Time(t)) => b.append_value(*t),
                (ColBuilder::Dec(b), Cell::Dec(d)) => b.append_value(*d),
                (ColBuilder::Text(b), _) => b.append_null(),
                (ColBuilder::Time(b), _) => b.append_null(),
                (ColBuilder::Dec(b), _) => b.append_null(),
            }
        }
        // The extensions as one JSON object, written straight into a reused buffer.
        self.ext_buf.clear();
        for e in &self.extensions {
            if let Some(raw) = cell(e.at).filter(|r| !value::is_null(r)) {
                self.ext_buf.push(if self.ext_buf.is_empty() { b'{' } else { b',' });
                self.ext_buf.extend_from_slice(e.key.as_bytes());
                self.ext_buf.push(b':');
                serde_json::to_writer(&mut self.ext_buf, raw).expect("writing to a Vec does not fail");
            }
        }
        if self.ext_buf.is_empty() {
            self.ext.append_null();
        } else {
            self.ext_buf.push(b'}');
            self.ext.append_value(std::str::from_utf8(&self.ext_buf).expect("JSON written from str is UTF-8"));
        }
        self.rows.append_value(row);
        self.len += 1;
        true
    }

    /// The row's meter as a person reads it: service, SKU meter or id, and unit.
    fn meter<'a>(&self, cell: &impl Fn(usize) -> Option<&'a str>) -> String {
        let get = |name: &str| schema::column(name).and_then(|(k, _)| self.known_at[k]).and_then(cell).filter(|v| !value::is_null(v));
        let sku = get("SkuMeter").or_else(|| get("x_SkuMeterName")).or_else(|| get("x_UsageType")).or_else(|| get("SkuId"));
        [get("ServiceName"), sku, get("ConsumedUnit").or_else(|| get("PricingUnit"))].into_iter().flatten().collect::<Vec<_>>().join(" / ")
    }

    /// A quarantined row's billing account as written and the `YYYY-MM` of its charge, each empty when unreadable.
    pub(crate) fn context<'a>(&self, cell: &impl Fn(usize) -> Option<&'a str>) -> (String, String) {
        let get = |name: &str| schema::column(name).and_then(|(k, _)| self.known_at[k]).and_then(cell).filter(|v| !value::is_null(v));
        let account = get("BillingAccountId").map(|a| a.chars().take(200).collect()).unwrap_or_default();
        let month = get("ChargePeriodStart")
            .and_then(|t| value::parse_datetime(t).ok())
            .and_then(chrono::DateTime::from_timestamp_micros)
            .map(|t| t.format("%Y-%m").to_string())
            .unwrap_or_default();
        (account, month)
    }

    fn bad(&self, row: u64, line: u64, k: usize, raw: &str, reason: String) -> Quarantined {
        let column = self.known_at[k].map_or_else(|| COLUMNS[k].name.to_string(), |i| self.names[i].clone());
        Quarantined {
            file: self.file.clone(),
            row,
            line,
            column,
            raw: raw.chars().take(200).collect(),
            reason,
            billing_account: String::new(),
            month: String::new(),
        }
    }

    /// Take the buffered rows as one batch.
    pub(crate) fn finish(&mut self) -> RecordBatch {
        let n = self.len;
        // A column the file lacks is one all-null array per type, shared by every such column of the batch.
        let mut nulls: Vec<(Kind, ArrayRef)> = Vec::new();
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(COLUMNS.len() + 4);
        for (b, c) in self.cols.iter_mut().zip(COLUMNS) {
            arrays.push(match b {
                Some(b) => b.finish(c.kind, n),
                None => match nulls.iter().find(|(k, _)| *k == c.kind) {
                    Some((_, a)) => a.clone(),
                    None => {
                        let a = arrow::array::new_null_array(&c.kind.data_type(), n);
                        nulls.push((c.kind, a.clone()));
                        a
                    }
                },
            });
        }
        let ext_bytes = self.ext.values_slice().len();
        arrays.push(Arc::new(std::mem::replace(&mut self.ext, StringBuilder::with_capacity(n, ext_bytes)).finish()));
        arrays.push(Arc::new(arrow::array::StringArray::from_iter_values(std::iter::repeat_n(&self.delivery, n))));
        arrays.push(Arc::new(arrow::array::StringArray::from_iter_values(std::iter::repeat_n(&self.file, n))));
        arrays.push(Arc::new(std::mem::replace(&mut self.rows, UInt64Builder::with_capacity(n)).finish()));
        self.len = 0;
        RecordBatch::try_new(schema::lake_schema(), arrays).expect("builder columns match the lake schema")
    }
}
