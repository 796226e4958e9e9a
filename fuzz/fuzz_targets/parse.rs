//! Fuzz target: arbitrary text through the tokenizer, the parser (both segments) and the
//! `package.spiproj` parser. Any panic, hang (libFuzzer `-timeout`) or overflow is a bug:
//! every front-end entry point must turn bad input into diagnostics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spiral_compiler::diagnostics::FileId;
use spiral_compiler::project::spiproj::parse_spiproj;
use spiral_compiler::syntax::{self, Segment};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let f = FileId(0);
    let _ = syntax::token::tokenize(f, &text);
    let _ = syntax::parse_module(f, &text, Segment::TopDown);
    let _ = syntax::parse_module(f, &text, Segment::BottomUp);
    let _ = parse_spiproj(f, &text);
});
