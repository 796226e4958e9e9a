//! Generated programs for the evaluator's benchmarks (shared by `benches/peval.rs` and
//! `tests/peval_bench.rs`): many join points, deep unrolling, many union cases, and a helper
//! that measures the residual program's size in statements.
#![allow(dead_code)]

use spiral_compiler::diagnostics::{render, SourceMap};
use spiral_compiler::peval::{ir, Limits};
use spiral_compiler::prepass::compile_graph;
use spiral_compiler::project::load_inline;
use spiral_compiler::syntax::Segment;
use std::fmt::Write as _;

/// `n` distinct `let` functions, each called once with a runtime argument: `n` methods.
pub fn many_joins(n: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        writeln!(s, "let f{i} (x : i32) = x * {i} + 1").unwrap();
    }
    s.push_str("inl main () =\n    inl x = dyn 1\n    inl acc = 0\n");
    for i in 0..n {
        writeln!(s, "    inl acc = acc + f{i} x").unwrap();
    }
    s.push_str("    acc\n");
    s
}

/// A loop unrolled `n` times at compile time over a runtime accumulator.
pub fn deep_unroll(n: usize) -> String {
    format!(
        "inl main () =\n    inl rec loop i acc = if i < {n} then loop (i + 1) (acc * 3 + dyn i) else acc\n    loop 0 (dyn 0)\n"
    )
}

/// A union with `n` cases, a runtime value of it and a match with one clause per case.
pub fn many_cases(n: usize) -> String {
    let mut s = String::from("union t =\n");
    for i in 0..n {
        writeln!(s, "    | C{i} : i32").unwrap();
    }
    s.push_str("inl main () =\n    match dyn (C0 1) with\n");
    for i in 0..n {
        writeln!(s, "    | C{i} x => x + {i}").unwrap();
    }
    s
}

fn count_block(b: &ir::Block) -> usize {
    b.stmts
        .iter()
        .map(|st| {
            1 + match &st.expr {
                ir::Expr::If { then, els, .. } => count_block(then) + count_block(els),
                ir::Expr::While { cond, body } => count_block(cond) + count_block(body),
                ir::Expr::Match { arms, default, .. } => {
                    arms.iter().map(|a| count_block(&a.body)).sum::<usize>() + default.as_ref().map(count_block).unwrap_or(0)
                }
                _ => 0,
            }
        })
        .sum()
}

/// Statements in the whole residual program.
pub fn residual_size(p: &ir::Program) -> usize {
    count_block(&p.main)
        + p.methods.iter().map(|m| count_block(&m.body)).sum::<usize>()
        + p.closures.iter().map(|c| count_block(&c.body)).sum::<usize>()
        + p.kernels.iter().map(|k| count_block(&k.body)).sum::<usize>()
}

/// Loads, prepasses and evaluates `src` as a lone bottom-up file; panics with the rendered
/// diagnostics if it does not compile (the generators only make valid programs).
pub fn compile(src: &str) -> ir::Program {
    let mut sm = SourceMap::new();
    let graph = load_inline("bench.spir", src, Segment::BottomUp, &mut sm).unwrap_or_else(|d| panic!("{}", render(&sm, &d)));
    compile_graph(&graph, Limits::default()).unwrap_or_else(|d| panic!("{}", render(&sm, &d)))
}

