//! `cargo xtask bench-parse`: lines per second at three sizes, and how they scale.
//!
//! Re-runs itself with `--release` when built in debug mode, so the figures are for optimised
//! code. Each size is parsed `--repeat` times and the fastest run counts. Process CPU time is the
//! headline figure (it barely depends on the load of a shared machine); wall time is shown too.

use spiral_compiler::diagnostics::FileId;
use spiral_compiler::syntax::token::tokenize;
use spiral_compiler::syntax::{parse_module, Segment};
use std::time::Instant;

#[path = "../../spiral-compiler/benches/support/gen.rs"]
mod gen;

/// CPU time consumed by this process (all threads: the parser may run on a helper thread),
/// in seconds (Linux); `None` elsewhere.
///
/// On a shared machine wall time depends on the load; process CPU time much less, so both
/// are reported.
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn process_cpu_seconds() -> Option<f64> {
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
    }
    const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
    let mut ts = Timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec (64-bit Linux layout) for the call's duration.
    let rc = unsafe { clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    (rc == 0).then_some(ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9)
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn process_cpu_seconds() -> Option<f64> {
    None
}

/// Runs `f` and returns (wall seconds, CPU seconds or wall when unavailable).
fn timed<T>(f: impl FnOnce() -> T) -> (T, f64, f64) {
    let c0 = process_cpu_seconds();
    let t = Instant::now();
    let r = f();
    let wall = t.elapsed().as_secs_f64();
    let cpu = match (c0, process_cpu_seconds()) {
        (Some(a), Some(b)) => b - a,
        _ => wall,
    };
    (r, wall, cpu)
}

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
        let (mut wall, mut cpu, mut tok_cpu) = (f64::INFINITY, f64::INFINITY, f64::INFINITY);
        let mut diags = 0;
        for _ in 0..o.repeat.max(1) {
            let (parsed, w, c) = timed(|| parse_module(FileId(0), &src, Segment::TopDown));
            wall = wall.min(w);
            cpu = cpu.min(c);
            diags = parsed.diagnostics.len();
            drop(parsed);
            let (toks, _, c) = timed(|| tokenize(FileId(0), &src));
            tok_cpu = tok_cpu.min(c);
            drop(toks);
        }
        println!(
            "{lines:>7} lines ({:>5} KiB): parse {:>8.1} ms CPU = {:>8.0} lines/s ({:>8.1} ms wall = {:>8.0} lines/s), {diags} diagnostics; tokenize alone {:>9.0} lines/s CPU",
            src.len() / 1024,
            cpu * 1e3,
            lines as f64 / cpu,
            wall * 1e3,
            lines as f64 / wall,
            lines as f64 / tok_cpu,
        );
        results.push((lines, cpu));
    }
    if let (Some(first), Some(last)) = (results.first(), results.last()) {
        let size_ratio = last.0 as f64 / first.0 as f64;
        let time_ratio = last.1 / first.1;
        println!(
            "scaling (CPU time): {size_ratio:.1}x the lines took {time_ratio:.2}x the time; lines/s largest/smallest = {:.2} (1.00 = linear)",
            size_ratio / time_ratio
        );
    }
    true
}
