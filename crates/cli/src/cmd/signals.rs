//! `oversight signals`: daily or hourly signal series from the lake.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

/// Build signal series from the lake.
#[derive(Args)]
pub struct SignalsArgs {
    /// The lake folder.
    #[arg(long, default_value = lake::DEFAULT_LAKE, env = "OVERSIGHT_LAKE")]
    lake: PathBuf,
}

/// Run the command.
pub fn run(a: SignalsArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("signals over {} is not built yet", a.lake.display())
}
