//! `spiral check`: run the front end and the partial evaluator without a backend; report the
//! diagnostics (exit 1) or nothing (exit 0). `--ir` prints the residual program.

use crate::pipeline;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `spiral check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The `.spir`/`.spi` file holding `main` (compiled with its package, if it is in one), or a
    /// package directory.
    pub file: PathBuf,
    /// Print the residual program (the partial evaluator's output) to stdout.
    #[arg(long)]
    pub ir: bool,
}

/// Runs `spiral check`.
pub fn check(args: &CheckArgs) -> ExitCode {
    match pipeline::compile_file_to_ir(&args.file) {
        Ok(p) => {
            if args.ir {
                if let Err(code) = crate::stdout::write(&p.to_string()) {
                    return code;
                }
            }
            ExitCode::SUCCESS
        }
        Err(rendered) => {
            eprint!("{rendered}");
            ExitCode::from(1)
        }
    }
}
