//! Typed readers and writers for the tenant registry (`registry.csv`) and enforcement events (`events.csv`),
//! exactly as DESIGN.md §3 "Interchange formats" defines them.
//!
//! Errors name the file, the data row, the physical line and the column, and show the raw value. Extra columns are
//! allowed (the contract grows by optional columns) and kept.
#![deny(missing_docs)]

mod events;
pub mod hierarchy;
mod tenants;

pub use events::{Event, EventKind, Events};
pub use tenants::{Approval, Registry, Sector, Tenant};

use std::fmt;

/// A located problem in a registry or events file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RegistryError {
    /// The file as named by the caller.
    pub file: String,
    /// The 1-based data row (0 for the header or the file as a whole).
    pub row: u64,
    /// The physical line (0 when unknown).
    pub line: u64,
    /// The column, or empty for the whole row or file.
    pub column: String,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        match (self.row, self.line) {
            (0, 0) => {}
            (0, l) => write!(f, ": line {l} (header)")?,
            (r, 0) => write!(f, ": row {r}")?,
            (r, l) => write!(f, ": row {r} (line {l})")?,
        }
        if !self.column.is_empty() {
            write!(f, ", column \"{}\"", self.column)?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// A CSV table with named columns, read strictly (RFC 4180, UTF-8, one header row).
pub(crate) struct Table {
    pub file: String,
    pub header: Vec<String>,
    /// (row, line, fields)
    pub rows: Vec<(u64, u64, Vec<String>)>,
}

impl Table {
    pub(crate) fn read(file: &str, reader: impl std::io::Read, required: &[&str]) -> Result<Table, RegistryError> {
        let err = |row, line, column: &str, reason: String| RegistryError { file: file.into(), row, line, column: column.into(), reason };
        let mut rdr = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(reader);
        let mut records = rdr.byte_records();
        let head = match records.next() {
            None => return Err(err(0, 0, "", "empty file, no header row".into())),
            Some(r) => r.map_err(|e| err(0, 1, "", e.to_string()))?,
        };
        let mut header = Vec::new();
        for (i, h) in head.iter().enumerate() {
            let h = if i == 0 { h.strip_prefix(b"\xef\xbb\xbf").unwrap_or(h) } else { h };
            header.push(std::str::from_utf8(h).map_err(|_| err(0, 1, "", "header is not valid UTF-8".into()))?.trim().to_string());
        }
        let missing: Vec<&str> = required.iter().filter(|c| !header.iter().any(|h| h == *c)).copied().collect();
        if !missing.is_empty() {
            return Err(err(0, 1, "", format!("missing column(s) {}", missing.join(", "))));
        }
        let mut rows = Vec::new();
        for (i, rec) in records.enumerate() {
            let row = i as u64 + 1;
            let rec = rec.map_err(|e| err(row, e.position().map_or(0, |p| p.line()), "", e.to_string()))?;
            let line = rec.position().map_or(0, |p| p.line());
            if rec.len() == 1 && rec[0].is_empty() {
                continue;
            }
            if rec.len() != header.len() {
                return Err(err(row, line, "", format!("expected {} fields, found {}", header.len(), rec.len())));
            }
            let mut fields = Vec::with_capacity(rec.len());
            for (j, f) in rec.iter().enumerate() {
                fields.push(std::str::from_utf8(f).map_err(|_| err(row, line, &header[j], "not valid UTF-8".into()))?.to_string());
            }
            rows.push((row, line, fields));
        }
        Ok(Table { file: file.into(), header, rows })
    }

    pub(crate) fn col(&self, name: &str) -> usize {
        self.header.iter().position(|h| h == name).expect("required columns are checked on read")
    }

    pub(crate) fn err(&self, row: u64, line: u64, column: &str, reason: String) -> RegistryError {
        RegistryError { file: self.file.clone(), row, line, column: column.into(), reason }
    }
}

/// The closest of `choices` to `raw` by edit distance, as a ` (did you mean "…"?)` suffix for error messages, or
/// empty when nothing is within four edits. Policies use it too, so every hint in oversight reads the same.
pub fn did_you_mean<'a>(raw: &str, choices: impl IntoIterator<Item = &'a str>) -> String {
    let best = choices.into_iter().map(|c| (strsim::levenshtein(raw, c), c)).min();
    match best {
        Some((d, c)) if d <= 4 => format!(" (did you mean \"{c}\"?)"),
        _ => String::new(),
    }
}
