//! End-to-end tests of the prepass and the partial evaluator on small bottom-up programs:
//! they assert on the printed residual IR or on the rendered diagnostics.
use spiral_compiler::diagnostics::{render, SourceMap};
use spiral_compiler::peval::Limits;
use spiral_compiler::prepass::compile_graph;
use spiral_compiler::project::load_inline;
use spiral_compiler::syntax::Segment;

/// Compiles `src` as a lone bottom-up file: `Ok(printed IR)` or `Err(rendered diagnostics)`.
fn compile(src: &str) -> Result<String, String> {
    let mut sm = SourceMap::new();
    let graph = load_inline("test.spir", src, Segment::BottomUp, &mut sm).map_err(|d| render(&sm, &d))?;
    compile_graph(&graph, Limits::default()).map(|p| p.to_string()).map_err(|d| render(&sm, &d))
}

#[test]
fn literals_fold() {
    let ir = compile("inl main () = 1 + 2 * 3").unwrap();
    assert_eq!(ir, "main : (i32) =\n    return (7i32)\n");
}
