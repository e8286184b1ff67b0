//! The transparency log: RFC 6962 Merkle hashing and proofs now; C2SP tiles, checkpoints, signed notes and
//! durable appends are built on this (issue 5). This crate must not depend on DataFusion, Arrow or Parquet.
#![deny(missing_docs)]

pub mod entry;
pub mod log;
pub mod merkle;
pub mod monitor;
pub mod note;
pub mod storage;
pub mod tiles;
pub mod verify;
