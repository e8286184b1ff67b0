//! The transparency log: RFC 6962 Merkle hashing and proofs, C2SP tiles, checkpoints and signed notes, durable
//! appends, the auditor's verification, the monitor, and the witness. This crate must not depend on DataFusion,
//! Arrow or Parquet.
#![deny(missing_docs)]

pub mod entry;
pub mod log;
pub mod merkle;
pub mod monitor;
pub mod note;
pub mod storage;
pub mod tiles;
pub mod verify;
pub mod witness;
