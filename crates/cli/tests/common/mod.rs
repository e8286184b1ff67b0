//! What the command-line tests share.

use std::io::Write;
use std::process::{Command, Stdio};

/// Run `oversight` with `stdin`: (exit code, standard output, standard error).
pub fn oversight(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child =
        Command::new(env!("CARGO_BIN_EXE_oversight")).args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}
