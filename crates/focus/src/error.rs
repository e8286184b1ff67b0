//! Errors that reject a whole file, and the record of one quarantined cell.

use std::fmt;

/// A file that cannot be read as FOCUS at all. Nothing from it is ingested.
#[derive(Debug, thiserror::Error)]
pub enum FocusError {
    /// The file could not be opened or read.
    #[error("{file}: cannot read: {source}")]
    Io {
        /// The file.
        file: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file has no header row.
    #[error("{file}: empty file, no header row")]
    Empty {
        /// The file.
        file: String,
    },
    /// Required FOCUS columns are missing from the header.
    #[error("{file}: line 1 (header): missing required column(s) {}{hint}", missing.join(", "))]
    MissingColumns {
        /// The file.
        file: String,
        /// Every missing column.
        missing: Vec<&'static str>,
        /// A hint about the likely cause (such as a wrong delimiter), or empty.
        hint: String,
    },
    /// The header names one column twice.
    #[error("{file}: line 1 (header): column \"{column}\" appears twice")]
    DuplicateColumn {
        /// The file.
        file: String,
        /// The repeated name.
        column: String,
    },
    /// The header is not valid UTF-8.
    #[error("{file}: line 1 (header): not valid UTF-8")]
    HeaderNotUtf8 {
        /// The file.
        file: String,
    },
    /// The bytes stop being readable part-way (truncated gzip, broken CSV quoting at end of file, I/O error).
    #[error("{file}: unreadable at row {row} (line {line}): {reason}")]
    Broken {
        /// The file.
        file: String,
        /// The last data row read, 1-based.
        row: u64,
        /// The physical line where reading stopped.
        line: u64,
        /// What went wrong.
        reason: String,
    },
    /// A Parquet file could not be decoded.
    #[error("{file}: not readable as Parquet: {reason}")]
    Parquet {
        /// The file.
        file: String,
        /// What went wrong.
        reason: String,
    },
    /// A Parquet column has a physical type that cannot hold the FOCUS column's values.
    #[error("{file}: column \"{column}\" has type {found}, but FOCUS needs {expected}")]
    WrongType {
        /// The file.
        file: String,
        /// The column.
        column: String,
        /// The type in the file.
        found: String,
        /// What FOCUS needs.
        expected: &'static str,
    },
}

/// One bad cell of one row: the row goes to the quarantine table, with every bad cell it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantined {
    /// The source file.
    pub file: String,
    /// The 1-based data row (the header is not counted).
    pub row: u64,
    /// The physical line where the row starts (0 where the format has no lines, such as Parquet).
    pub line: u64,
    /// The column name as written in the file, or `(row)` when the row as a whole is wrong.
    pub column: String,
    /// The raw value, cut to 200 characters.
    pub raw: String,
    /// Why it was refused.
    pub reason: String,
    /// The row's `BillingAccountId` as written, when it could be read: the coverage counts quarantined rows per
    /// billing account.
    pub billing_account: String,
    /// `YYYY-MM` of the row's `ChargePeriodStart`, when it parses.
    pub month: String,
}

impl fmt::Display for Quarantined {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: row {}", self.file, self.row)?;
        if self.line > 0 {
            write!(f, " (line {})", self.line)?;
        }
        write!(f, ", column \"{}\": {}: {:?}", self.column, self.reason, self.raw)
    }
}
