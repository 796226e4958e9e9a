//! The `spiral` command line tool.
//!
//! Subcommands live in their own files (`cmd_*.rs`); this file only dispatches.

mod cc;
mod cmd_build;
mod cmd_check;
mod cmd_parse;
mod pipeline;
mod stdout;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Spiral for Rust: a staged functional language whose compiler is a partial evaluator.
#[derive(Parser, Debug)]
#[command(name = "spiral", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Compile a program with a backend and write the generated source.
    Build(cmd_build::BuildArgs),
    /// Compile a program to C, compile that with the system C compiler and run it; exits with
    /// the program's exit code.
    Run(cmd_build::RunArgs),
    /// Run the front end and the partial evaluator without a backend (`--ir` prints the residual
    /// program; `--types` instead only type-checks the top-down modules and prints each
    /// definition's type); exits 1 with the diagnostics on error.
    Check(cmd_check::CheckArgs),
    /// Parse a `.spi`/`.spir` file or a package directory; `--dump` prints the syntax tree.
    Parse(cmd_parse::ParseArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        Cmd::Build(a) => cmd_build::build(a),
        Cmd::Run(a) => cmd_build::run(a),
        Cmd::Parse(a) => cmd_parse::parse(a),
        Cmd::Check(a) => cmd_check::check(a),
    }
}
