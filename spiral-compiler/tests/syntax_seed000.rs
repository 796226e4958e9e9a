//! Every Spiral program of seed 000 (the v2 UPMEM tutorial), written out under
//! `tests/inputs/seed000/`, parses without a diagnostic.

use spiral_compiler::diagnostics::{render, SourceMap};
use spiral_compiler::syntax::{parse_module, Segment};
use std::path::Path;

#[test]
fn every_seed000_program_parses() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/inputs/seed000");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("spi" | "spir")))
        .collect();
    files.sort();
    assert!(files.len() >= 11, "expected the seed 000 programs, found {files:?}");
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let segment = if path.extension().unwrap() == "spir" { Segment::BottomUp } else { Segment::TopDown };
        let mut sm = SourceMap::new();
        let file = sm.add(path.display().to_string(), text.clone());
        let parsed = parse_module(file, &text, segment);
        assert!(parsed.diagnostics.is_empty(), "{}", render(&sm, &parsed.diagnostics));
        assert!(!parsed.module.items.is_empty(), "{} parsed to nothing", path.display());
    }
}

#[test]
fn test8c_main_defines_map_inp_map_and_main() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/inputs/seed000/test8c_main.spi");
    let text = std::fs::read_to_string(path).unwrap();
    let mut sm = SourceMap::new();
    let file = sm.add("test8c_main.spi", text.clone());
    let parsed = parse_module(file, &text, Segment::TopDown);
    assert!(parsed.diagnostics.is_empty(), "{}", render(&sm, &parsed.diagnostics));
    let dump = spiral_compiler::syntax::dump_module(&parsed.module);
    for name in ["map_inp", "map", "main"] {
        assert!(dump.contains(name), "`{name}` missing from:\n{dump}");
    }
}
