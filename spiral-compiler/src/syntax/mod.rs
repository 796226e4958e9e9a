//! Tokens, indentation, the parser and the AST with spans.
//!
//! Entry points: [`parse_module`] turns one source file into an [`ast::Module`] plus
//! diagnostics, [`dump_module`] prints a module as a deterministic tree (for `spiral parse --dump`
//! and snapshot tests), and [`token::tokenize`] exposes the tokenizer.

pub mod ast;
pub mod dump;
pub mod parser;
pub mod token;

use crate::diagnostics::{Diagnostic, FileId};

/// Which of Spiral's two segments a piece of source belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Segment {
    /// `.spi` files: type-inferred, top-down.
    TopDown,
    /// `.spir` files and `real` blocks: dynamically typed at compile time, bottom-up.
    BottomUp,
}

/// The result of parsing one file: every statement that parsed, plus the errors of the rest.
#[derive(Clone, Debug)]
pub struct ParsedModule {
    /// The statements that parsed.
    pub module: ast::Module,
    /// Tokenizer and parser errors, in source order (empty when everything parsed).
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses one source file. Never panics; errors come back as diagnostics, one per failed
/// top-level statement, and parsing resumes at the next statement (a line starting at column 0).
pub fn parse_module(file: FileId, src: &str, segment: Segment) -> ParsedModule {
    parser::parse_module(file, src, segment)
}

/// Prints a module as an indented s-expression tree. Deterministic; spans are left out.
pub fn dump_module(m: &ast::Module) -> String {
    dump::dump_module(m)
}
