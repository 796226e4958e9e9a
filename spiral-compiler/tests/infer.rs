//! Top-down type inference: well-typed programs and the printed types of their top-level
//! definitions, plus error cases checked by message and a speed test.

use spiral_compiler::diagnostics::{render, SourceMap};
use spiral_compiler::infer;
use spiral_compiler::project::load_inline;
use spiral_compiler::syntax::Segment;

/// Infers `src` as a lone top-down file (with `core`); returns the `name : type` lines and the
/// rendered diagnostics.
fn run(src: &str) -> (String, String) {
    let mut sm = SourceMap::new();
    let graph = match load_inline("main.spi", src, Segment::TopDown, &mut sm) {
        Ok(g) => g,
        Err(d) => return (String::new(), render(&sm, &d)),
    };
    let r = infer::check_graph(&graph);
    (r.def_lines(false).join("\n"), render(&sm, &r.diagnostics))
}

/// The types of a program that must type-check.
fn types(src: &str) -> String {
    let (t, e) = run(src);
    assert!(e.is_empty(), "unexpected errors:\n{e}");
    t
}

/// The rendered errors of a program that must not type-check.
fn errors(src: &str) -> String {
    let (_, e) = run(src);
    assert!(!e.is_empty(), "expected errors");
    e
}

#[test]
fn scratch() {
    let (t, e) = run("inl id x = x\ninl k x y = x\ninl main () = id 1i32, k true 'c'\n");
    println!("{t}\n{e}");
}
