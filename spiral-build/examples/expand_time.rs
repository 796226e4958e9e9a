//! How long the compiler takes to turn the quickstart's Spiral source into the Rust that
//! `spiral!` expands to (parse core, library and source; prepass; partial evaluation; print),
//! for both exports and for one. Run with `cargo run --release -p spiral-build --example
//! expand_time`. A real `spiral!` call also converts tokens; `SPIRAL_MACRO_TIMING=1` prints
//! that full figure during a build.

use spiral_compiler::codegen::rust::{compile_exports, Export};
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
        let mut times = Vec::new();
        for _ in 0..30 {
            let mut sm = SourceMap::new();
            let t = Instant::now();
            let out = compile_exports(&mut sm, "quickstart.rs", src, &ex);
            times.push(t.elapsed());
            assert!(out.is_ok());
        }
        let min = times.iter().min().copied().unwrap_or_default();
        println!("{label}: median {:.2} ms, min {:.2} ms over {} runs", median(times.clone()).as_secs_f64() * 1e3, min.as_secs_f64() * 1e3, times.len());
    }
}
