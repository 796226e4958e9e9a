//! Fuzz target: arbitrary text parsed as a top-down (`.spi`) module, and the statements that
//! parsed through Hindley-Milner inference (`infer::check_module`: unification, generalisation, prototypes,
//! unions, patterns). Any panic, hang (libFuzzer `-timeout`) or overflow is a bug: ill-typed
//! programs must end in diagnostics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spiral_compiler::diagnostics::FileId;
use spiral_compiler::syntax::{self, Segment};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let parsed = syntax::parse_module(FileId(0), &text, Segment::TopDown);
    let _ = spiral_compiler::infer::check_module(&parsed.module);
});
