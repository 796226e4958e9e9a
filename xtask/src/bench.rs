//! `cargo xtask bench-parse`: lines per second at three sizes, and how they scale.
//!
//! Re-runs itself with `--release` when built in debug mode, so the figures are for optimised
//! code. Each size is parsed `--repeat` times and the fastest run counts.

use spiral_compiler::diagnostics::FileId;
use spiral_compiler::syntax::token::tokenize;
use spiral_compiler::syntax::{parse_module, Segment};
use std::time::Instant;

#[path = "../../spiral-compiler/benches/support/gen.rs"]
mod gen;

/// Options of `cargo xtask bench-parse`.
#[derive(clap::Args, Clone, Debug)]
pub struct Options {
    /// Line counts to generate (three by default).
    #[arg(long, value_delimiter = ',', default_values_t = [10_000usize, 50_000, 250_000])]
    pub sizes: Vec<usize>,
    /// Runs per size; the fastest counts.
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
}

/// Runs the benchmark; prints one line per size and the scaling summary.
pub fn run(o: &Options) -> bool {
    if cfg!(debug_assertions) && std::env::var_os("XTASK_BENCH_CHILD").is_none() {
        let sizes: Vec<String> = o.sizes.iter().map(|s| s.to_string()).collect();
        return crate::run(
            crate::cargo()
                .current_dir(crate::workspace_root())
                .env("XTASK_BENCH_CHILD", "1")
                .args(["run", "--quiet", "--release", "--package", "xtask", "--", "bench-parse", "--sizes"])
                .arg(sizes.join(","))
                .arg("--repeat")
                .arg(o.repeat.to_string()),
        );
    }
    let mut results = Vec::new();
    for &size in &o.sizes {
        let (src, lines) = gen::generate(size);
        let mut best = f64::INFINITY;
        let mut diags = 0;
        for _ in 0..o.repeat.max(1) {
            let t = Instant::now();
            let parsed = parse_module(FileId(0), &src, Segment::TopDown);
            best = best.min(t.elapsed().as_secs_f64());
            diags = parsed.diagnostics.len();
            drop(parsed);
        }
        let mut best_tok = f64::INFINITY;
        for _ in 0..o.repeat.max(1) {
            let t = Instant::now();
            let toks = tokenize(FileId(0), &src);
            best_tok = best_tok.min(t.elapsed().as_secs_f64());
            drop(toks);
        }
        let rate = lines as f64 / best;
        println!(
            "{lines:>8} lines ({:>6} KiB): parse {:>8.2} ms = {:>9.0} lines/s ({diags} diagnostics); tokenize alone {:>7.2} ms = {:>9.0} lines/s",
            src.len() / 1024,
            best * 1e3,
            rate,
            best_tok * 1e3,
            lines as f64 / best_tok
        );
        results.push((lines, best, rate));
    }
    if let (Some(first), Some(last)) = (results.first(), results.last()) {
        let size_ratio = last.0 as f64 / first.0 as f64;
        let time_ratio = last.1 / first.1;
        println!(
            "scaling: {size_ratio:.1}x the lines took {time_ratio:.2}x the time (linear = {size_ratio:.1}x); lines/s ratio largest/smallest = {:.2}",
            last.2 / first.2
        );
    }
    true
}
