//! Fuzz target: arbitrary text parsed as a top-down (`.spi`) module, and the statements that
//! parsed through Hindley-Milner inference (`infer::check_module`: unification, generalisation, prototypes,
//! unions, patterns); then, as a lone top-down file with `core` and the `inv`/`kernel` library,
//! through inference over the graph, the prepass with type passing (type parameters, prototype
//! dispatch, filled join point and closure types) and the partial evaluator with small limits,
//! to C. Any panic, hang (libFuzzer `-timeout`) or overflow is a bug: ill-typed programs must end
//! in diagnostics, and a program that type-checks must not crash the later stages.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spiral_compiler::codegen::c::emit_c;
use spiral_compiler::diagnostics::{FileId, SourceMap};
use spiral_compiler::driver::{load_with_library, Driver};
use spiral_compiler::peval::{HostTarget, Limits};
use spiral_compiler::syntax::{self, Segment};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let parsed = syntax::parse_module(FileId(0), &text, Segment::TopDown);
    let _ = spiral_compiler::infer::check_module(&parsed.module);
    let mut sources = SourceMap::new();
    let Ok(graph) = load_with_library(&mut sources, "fuzz.spi", &text) else { return };
    let limits = Limits::with_depth_and_steps(200, 200_000);
    if let Ok(program) = Driver::new(HostTarget::C).with_limits(limits).evaluate(&graph) {
        let _ = emit_c(&program);
    }
});
