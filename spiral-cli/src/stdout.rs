//! Writing to standard output without panicking.
//!
//! `print!` panics when stdout is a pipe whose reader has gone (`spiral build x.spir -o - | head`):
//! Rust ignores SIGPIPE, so the write fails with `BrokenPipe`. Every write of the CLI to stdout
//! goes through [`write`]: a closed pipe ends the command quietly with status 0 (the reader
//! took what it wanted, as with `yes | head`); any other error is reported.

use std::io::Write;
use std::process::ExitCode;

/// Writes `text` to stdout and flushes. `Err(code)`: stop and exit with `code` (0 for a
/// closed pipe, after nothing is printed; 1 for another error, after a message on stderr).
pub fn write(text: &str) -> Result<(), ExitCode> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) => Err(failed(e)),
    }
}

fn failed(e: std::io::Error) -> ExitCode {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        return ExitCode::SUCCESS;
    }
    let _ = writeln!(std::io::stderr(), "error: cannot write to standard output: {e}; check where the output is redirected");
    ExitCode::from(1)
}
