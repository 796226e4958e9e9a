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
