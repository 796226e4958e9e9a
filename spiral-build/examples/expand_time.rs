//! How long the compiler takes to turn the quickstart's Spiral source into the Rust that
//! `spiral!` expands to (parse core, library and source; prepass; partial evaluation; print),
//! for both exports and for one. Run with `cargo run --release -p spiral-build --example
//! expand_time` (or without `--release` for the figure of a default dev build; wall times
//! depend on the machine's load, process CPU time much less). A real `spiral!` call also
//! converts tokens; `SPIRAL_MACRO_TIMING=1` prints that full figure during a build.
//!
//! The bundled files are parsed once per process (`project::parse_static`), as in a proc macro
//! expanding several `spiral!` calls: the first compilation pays for them, later ones do not.

use spiral_compiler::driver::{compile_exports, Export};
use spiral_compiler::diagnostics::SourceMap;
use std::time::{Duration, Instant};

const QUICKSTART: &str = include_str!("../../examples/quickstart.rs");

fn exports(only_first: bool) -> Vec<Export> {
    let mut v = Vec::new();
    for line in QUICKSTART.lines() {
        let l = line.trim();
        if l.starts_with("pub fn ") && l.ends_with(';') {
            let item: syn::ForeignItemFn = syn::parse_str(l).expect("signature");
            v.push(spiral_build::signature::export_of(&item.sig).expect("export"));
        }
    }
    if only_first {
        v.truncate(1);
    }
    v
}

/// CPU time of the whole process (every thread), Linux only: unlike wall time it barely
/// depends on the load of a shared machine.
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn process_cpu() -> Option<Duration> {
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
    (rc == 0).then(|| Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn process_cpu() -> Option<Duration> {
    None
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let start = QUICKSTART.find("r#\"").expect("raw string") + 3;
    let end = QUICKSTART[start..].find("\"#").expect("end") + start;
    let src = &QUICKSTART[start..end];
    for (label, only_first) in [("both exports (map_tuple, map_record)", false), ("one export (map_tuple)", true)] {
        let ex = exports(only_first);
        let (mut times, mut cpu) = (Vec::new(), Vec::new());
        for _ in 0..30 {
            let mut sm = SourceMap::new();
            let c = process_cpu();
            let t = Instant::now();
            let out = compile_exports(&mut sm, "quickstart.rs", src, &ex);
            times.push(t.elapsed());
            if let (Some(a), Some(b)) = (c, process_cpu()) {
                cpu.push(b.saturating_sub(a));
            }
            assert!(out.is_ok());
        }
        let min = times.iter().min().copied().unwrap_or_default();
        let first = times[0];
        println!(
            "{label}: median {:.2} ms, min {:.2} ms over {} runs, first run {:.2} ms; CPU median {}",
            median(times.clone()).as_secs_f64() * 1e3,
            min.as_secs_f64() * 1e3,
            times.len(),
            first.as_secs_f64() * 1e3,
            if cpu.is_empty() { "n/a".to_string() } else { format!("{:.2} ms", median(cpu).as_secs_f64() * 1e3) }
        );
    }
}
