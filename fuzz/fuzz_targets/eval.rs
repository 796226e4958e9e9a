//! Fuzz target: arbitrary text as a lone bottom-up file (with `core` and the `inv`/`kernel`
//! library) through the whole pipeline: loading, the prepass, the partial evaluator (small
//! depth and step limits, so a non-terminating program ends in a diagnostic quickly), and every
//! printer: the C backend, the Rust backend (host code and Rust CPU kernels) and the C printer
//! of CPU kernels. Any panic, hang or overflow is a bug: bad programs must end in diagnostics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spiral_compiler::codegen::c::emit_c;
use spiral_compiler::codegen::rust::{c_kernel, print_program};
use spiral_compiler::diagnostics::SourceMap;
use spiral_compiler::driver::{load_with_library, Driver};
use spiral_compiler::peval::{HostTarget, Limits};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut sources = SourceMap::new();
    let Ok(graph) = load_with_library(&mut sources, "fuzz.spir", &text) else { return };
    let limits = Limits::with_depth_and_steps(200, 200_000);
    // Host C (the CLI's path) and host Rust (spiral!'s path, with the Rust and C kernel printers).
    if let Ok(program) = Driver::new(HostTarget::C).with_limits(limits).evaluate(&graph) {
        let _ = emit_c(&program);
    }
    if let Ok(program) = Driver::new(HostTarget::Rust).with_limits(limits).evaluate(&graph) {
        let _ = print_program(&program, "dev");
        let _ = c_kernel::print_c_kernels(&program, "fuzz");
    }
});
