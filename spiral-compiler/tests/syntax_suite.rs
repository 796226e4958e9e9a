//! Parses every `.spi`/`.spir` file under the directory named by `SPIRAL_PEER_SUITE` (the public
//! Spiral test packages, which are not part of this repository). Ignored by default:
//!
//! ```text
//! SPIRAL_PEER_SUITE="/path/to/Spiral Compilation Tests" cargo test -p spiral-compiler --test syntax_suite -- --ignored --nocapture
//! ```
//!
//! Files whose path contains one of the names in `SPIRAL_PEER_EXPECT_FAIL` (comma separated,
//! default `compilation_tests/test31/`) must be rejected instead.

use spiral_compiler::diagnostics::{render, SourceMap};
use spiral_compiler::syntax::{parse_module, Segment};
use std::path::{Path, PathBuf};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect(&p, out);
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("spi") | Some("spir")) {
            out.push(p);
        }
    }
}

#[test]
#[ignore = "needs SPIRAL_PEER_SUITE pointing at the public Spiral test packages"]
fn every_suite_file_parses() {
    let Ok(root) = std::env::var("SPIRAL_PEER_SUITE") else {
        eprintln!("SPIRAL_PEER_SUITE is not set; nothing to do");
        return;
    };
    let expect_fail: Vec<String> = std::env::var("SPIRAL_PEER_EXPECT_FAIL")
        .unwrap_or_else(|_| "compilation_tests/test31/".into())
        .split(',')
        .map(|s| s.to_string())
        .collect();
    let mut files = Vec::new();
    collect(Path::new(&root), &mut files);
    assert!(!files.is_empty(), "no .spi/.spir files under {root}");
    let (mut ok, mut bad) = (0, Vec::new());
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        let mut sm = SourceMap::new();
        let id = sm.add(f.display().to_string(), text.clone());
        let seg = if f.extension().and_then(|e| e.to_str()) == Some("spir") { Segment::BottomUp } else { Segment::TopDown };
        let parsed = parse_module(id, &text, seg);
        let should_fail = expect_fail.iter().any(|x| f.display().to_string().contains(x.as_str()));
        let failed = !parsed.diagnostics.is_empty();
        if failed == should_fail {
            ok += 1;
            if should_fail {
                eprintln!("rejected as expected:\n{}", render(&sm, &parsed.diagnostics));
            }
        } else {
            bad.push(f.display().to_string());
            eprintln!("{}", if failed { render(&sm, &parsed.diagnostics) } else { format!("{} parsed but should fail", f.display()) });
        }
    }
    eprintln!("{ok}/{} files as expected", files.len());
    assert!(bad.is_empty(), "{} files not as expected: {bad:#?}", bad.len());
}

/// Mutation fuzzing over the suite files: deletes, duplicates and swaps random byte ranges and
/// checks that the parser neither crashes (the worker thread turns a panic into an "internal
/// error" diagnostic) nor takes long. `SPIRAL_FUZZ_ITERS` mutations per file (default 20).
#[test]
#[ignore = "needs SPIRAL_PEER_SUITE pointing at the public Spiral test packages"]
fn suite_mutations_never_crash_or_hang() {
    let Ok(root) = std::env::var("SPIRAL_PEER_SUITE") else {
        eprintln!("SPIRAL_PEER_SUITE is not set; nothing to do");
        return;
    };
    let iters: usize = std::env::var("SPIRAL_FUZZ_ITERS").ok().and_then(|s| s.parse().ok()).unwrap_or(20);
    let mut files = Vec::new();
    collect(Path::new(&root), &mut files);
    let mut seed = 0x9e3779b97f4a7c15u64;
    let mut rnd = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % (n.max(1) as u64)) as usize
    };
    let mut runs = 0;
    for f in &files {
        let text = std::fs::read(f).unwrap_or_default();
        for _ in 0..iters {
            let mut b = text.clone();
            for _ in 0..1 + rnd(4) {
                let len = b.len();
                let i = rnd(len);
                let j = (i + 1 + rnd(12)).min(len);
                match rnd(3) {
                    0 => {
                        b.drain(i..j);
                    }
                    1 => {
                        let chunk: Vec<u8> = b[i..j].to_vec();
                        let k = rnd(len);
                        b.splice(k..k, chunk);
                    }
                    _ => {
                        if j < len {
                            b.swap(i, j);
                        }
                    }
                }
            }
            let src = String::from_utf8_lossy(&b).into_owned();
            let t = std::time::Instant::now();
            let parsed = parse_module(spiral_compiler::diagnostics::FileId(0), &src, Segment::TopDown);
            assert!(t.elapsed().as_secs_f64() < 2.0, "slow parse of a mutation of {}", f.display());
            assert!(
                parsed.diagnostics.iter().all(|d| !d.message.contains("internal error")),
                "parser crashed on a mutation of {}:\n{src}",
                f.display()
            );
            runs += 1;
        }
    }
    eprintln!("{runs} mutated inputs parsed without crashing");
}
