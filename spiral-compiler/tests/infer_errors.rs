//! Ill-typed top-down programs: every `tests/infer_errors/*.spi` must fail type inference, and
//! its rendered diagnostics (message, file:line:col, snippet) are an insta snapshot
//! (`tests/snapshots/infer_errors__<name>.snap`).

use spiral_compiler::diagnostics::{render, SourceMap};
use spiral_compiler::infer;
use spiral_compiler::project::load_inline;
use spiral_compiler::syntax::Segment;
use std::path::Path;

#[test]
fn every_ill_typed_program_reports_its_errors() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/infer_errors");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/infer_errors")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("spi"))
        .collect();
    files.sort();
    assert!(files.len() >= 25, "expected at least 25 programs, found {}", files.len());
    for path in files {
        let stem = path.file_stem().and_then(|s| s.to_str()).expect("file name").to_string();
        let text = std::fs::read_to_string(&path).expect("read");
        let mut sm = SourceMap::new();
        let name = format!("infer_errors/{stem}.spi");
        let graph = match load_inline(&name, &text, Segment::TopDown, &mut sm) {
            Ok(g) => g,
            Err(d) => panic!("{stem}: does not parse:\n{}", render(&sm, &d)),
        };
        let result = infer::check_graph(&graph);
        assert!(!result.diagnostics.is_empty(), "{stem}: expected a type error");
        insta::assert_snapshot!(stem.clone(), render(&sm, &result.diagnostics));
    }
}
