//! The compiler caches parsed bundled files (`project::parse_static`) and reuses big-stack
//! threads (`stack::with_stack`) inside one process; neither may change what it produces.
//! Many compilations in one process (as in a proc macro expanding many `spiral!` calls) must
//! give byte-identical Rust and C, equal to what a fresh parse gives.

use spiral_compiler::driver::{compile_exports, compile_exports_c, Export};
use spiral_compiler::diagnostics::{FileId, SourceMap};
use spiral_compiler::syntax::{dump_module, parse_module, Segment};

const QUICKSTART: &str = include_str!("../../examples/quickstart.rs");

fn source() -> &'static str {
    let start = QUICKSTART.find("r#\"").expect("raw string") + 3;
    let end = QUICKSTART[start..].find("\"#").expect("end") + start;
    &QUICKSTART[start..end]
}

fn exports() -> Vec<Export> {
    let mut v = Vec::new();
    for line in QUICKSTART.lines() {
        let l = line.trim();
        if l.starts_with("pub fn ") && l.ends_with(';') {
            let item: syn::ForeignItemFn = syn::parse_str(l).expect("signature");
            v.push(spiral_build::signature::export_of(&item.sig).expect("export"));
        }
    }
    assert_eq!(v.len(), 2, "the quickstart has two exports");
    v
}

#[test]
fn rust_output_is_identical_across_compilations_in_one_process() {
    let ex = exports();
    let runs: Vec<Vec<String>> = (0..4)
        .map(|_| compile_exports(&mut SourceMap::new(), "quickstart.rs", source(), &ex).expect("compiles"))
        .collect();
    assert_eq!(runs[0].len(), 2);
    assert!(runs[0][0].contains("for_each_chunk"), "{}", runs[0][0]);
    for r in &runs[1..] {
        assert_eq!(r, &runs[0]);
    }
    // Also from another thread (the caches are process-wide, the big-stack state per thread).
    let other = std::thread::spawn(move || compile_exports(&mut SourceMap::new(), "quickstart.rs", source(), &ex).expect("compiles"));
    assert_eq!(other.join().expect("thread"), runs[0]);
}

#[test]
fn c_output_is_identical_across_compilations_in_one_process() {
    let ex = exports();
    let a = compile_exports_c(&mut SourceMap::new(), "quickstart.rs", source(), &ex, "qs").expect("compiles");
    let b = compile_exports_c(&mut SourceMap::new(), "quickstart.rs", source(), &ex, "qs").expect("compiles");
    assert!(a.1.contains("qs_map_tuple"), "{}", a.1);
    assert_eq!(a, b);
}

#[test]
fn cached_parses_of_bundled_files_equal_fresh_parses() {
    for path in ["core/real_core.spir", "core/prelude.spir"] {
        let text = spiral_compiler::project::bundled_file(path).expect("bundled");
        for id in [0, 3] {
            let file = FileId(id);
            let fresh = parse_module(file, text, Segment::BottomUp);
            let first = spiral_compiler::project::parse_static(file, text, Segment::BottomUp);
            let second = spiral_compiler::project::parse_static(file, text, Segment::BottomUp);
            assert!(std::sync::Arc::ptr_eq(&first, &second), "{path}: the second parse comes from the cache");
            assert!(fresh.diagnostics.is_empty(), "{path}: {:?}", fresh.diagnostics);
            assert!(!fresh.module.items.is_empty(), "{path}");
            for p in [&first, &second] {
                assert_eq!(format!("{:?}", p.module), format!("{:?}", fresh.module), "{path} (spans included)");
                assert_eq!(dump_module(&p.module), dump_module(&fresh.module));
                assert_eq!(p.diagnostics, fresh.diagnostics);
            }
        }
    }
}

#[test]
fn a_spiral_error_is_still_reported_after_cached_compilations() {
    let ex = exports();
    compile_exports(&mut SourceMap::new(), "quickstart.rs", source(), &ex).expect("compiles");
    let mut sm = SourceMap::new();
    let bad = format!("{}\ninl oops x = x +\n", source());
    let err = compile_exports(&mut sm, "quickstart.rs", &bad, &ex).expect_err("a syntax error");
    match err {
        spiral_compiler::driver::CompileError::Spiral(d) => {
            let text = spiral_compiler::diagnostics::render(&sm, &d);
            assert!(text.contains("quickstart.rs"), "{text}");
        }
        other => panic!("expected a Spiral diagnostic, got {other:?}"),
    }
}

#[test]
fn deep_nesting_inside_one_big_stack_compilation_is_a_diagnostic() {
    // The parser runs in place on the compilation's big-stack thread; nesting past the
    // parser's depth limit must still give a diagnostic, not a stack overflow.
    let ex = exports();
    let deep = format!("{}\ninl deep () = {}1i32{}\n", source(), "(".repeat(5000), ")".repeat(5000));
    let mut sm = SourceMap::new();
    let err = compile_exports(&mut sm, "quickstart.rs", &deep, &ex).expect_err("too deep");
    match err {
        spiral_compiler::driver::CompileError::Spiral(d) => {
            let text = spiral_compiler::diagnostics::render(&sm, &d);
            assert!(text.contains("quickstart.rs"), "{text}");
            assert!(!text.contains("crashed"), "{text}");
            assert!(text.contains("nesting is too deep"), "{text}");
        }
        other => panic!("expected a Spiral diagnostic, got {other:?}"),
    }
    // Just under the limit parses and compiles on the same thread.
    let ok = format!("{}\ninl shallow () = {}1i32{}\n", source(), "(".repeat(400), ")".repeat(400));
    compile_exports(&mut SourceMap::new(), "quickstart.rs", &ok, &ex).expect("400 nested parentheses compile");
}
