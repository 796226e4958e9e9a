//! Fuzz target: arbitrary text as a lone bottom-up file through the whole pipeline: loading
//! (with `core`), the prepass, the partial evaluator (small depth and step limits, so a
//! non-terminating program ends in a diagnostic quickly) and the C backend. Any panic, hang or
//! overflow is a bug: bad programs must end in diagnostics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spiral_compiler::codegen::c::emit_c;
use spiral_compiler::diagnostics::SourceMap;
use spiral_compiler::peval::Limits;
use spiral_compiler::prepass::compile_graph;
use spiral_compiler::project::load_inline;
use spiral_compiler::syntax::Segment;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut sources = SourceMap::new();
    let Ok(graph) = load_inline("fuzz.spir", &text, Segment::BottomUp, &mut sources) else { return };
    let limits = Limits::with_depth_and_steps(200, 200_000);
    if let Ok(program) = compile_graph(&graph, limits) {
        let _ = emit_c(&program);
    }
});
