//! Evaluator throughput on generated programs of three shapes and three sizes:
//! many join points, deep unrolling, many union cases. Each run reports the time of prepass +
//! partial evaluation and the size of the residual program (statements, recursively), so the
//! cost per residual statement shows whether compile cost grows linearly.
//!
//! Run: `cargo test --release -p spiral-compiler --test peval_bench -- --ignored --nocapture`.
//! The non-ignored test only checks that the generators compile and produce what they should.
use spiral_compiler::diagnostics::{render, SourceMap};
use spiral_compiler::peval::{ir, Limits};
use spiral_compiler::prepass::compile_graph;
use spiral_compiler::project::load_inline;
use spiral_compiler::syntax::Segment;
use std::fmt::Write as _;
use std::time::Instant;

/// `n` distinct `let` functions, each called once with a runtime argument: `n` methods.
fn many_joins(n: usize) -> String {
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
fn deep_unroll(n: usize) -> String {
    format!(
        "inl main () =\n    inl rec loop i acc = if i < {n} then loop (i + 1) (acc * 3 + dyn i) else acc\n    loop 0 (dyn 0)\n"
    )
}

/// A union with `n` cases, a runtime value of it and a match with one clause per case.
fn many_cases(n: usize) -> String {
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
fn residual_size(p: &ir::Program) -> usize {
    count_block(&p.main)
        + p.methods.iter().map(|m| count_block(&m.body)).sum::<usize>()
        + p.closures.iter().map(|c| count_block(&c.body)).sum::<usize>()
        + p.kernels.iter().map(|k| count_block(&k.body)).sum::<usize>()
}

fn compile(src: &str) -> ir::Program {
    let mut sm = SourceMap::new();
    let graph = load_inline("bench.spir", src, Segment::BottomUp, &mut sm).unwrap_or_else(|d| panic!("{}", render(&sm, &d)));
    compile_graph(&graph, Limits::default()).unwrap_or_else(|d| panic!("{}", render(&sm, &d)))
}

#[test]
fn generators_produce_the_expected_residual_shape() {
    let p = compile(&many_joins(5));
    assert_eq!(p.methods.len(), 5);
    let p = compile(&deep_unroll(7));
    assert_eq!(p.methods.len(), 0);
    assert!(residual_size(&p) >= 7 * 2, "{p}");
    let p = compile(&many_cases(6));
    assert_eq!(p.types.unions[0].cases.len(), 6);
    let s = p.to_string();
    assert_eq!(s.matches("| case ").count(), 6, "{s}");
}

#[test]
#[ignore]
fn bench_evaluator_throughput() {
    type Gen = fn(usize) -> String;
    let shapes: [(&str, Gen, [usize; 3]); 3] = [
        ("many join points", many_joins, [250, 1000, 4000]),
        ("deep unrolling", deep_unroll, [500, 2000, 8000]),
        ("many union cases", many_cases, [50, 200, 800]),
    ];
    println!("{:<18} {:>6} {:>10} {:>10} {:>12}", "shape", "n", "ms", "stmts", "us/stmt");
    for (name, gen, sizes) in shapes {
        for n in sizes {
            let src = gen(n);
            // warm-up, then the best of three
            let _ = compile(&src);
            let mut best = f64::MAX;
            let mut size = 0;
            for _ in 0..3 {
                let t = Instant::now();
                let p = compile(&src);
                best = best.min(t.elapsed().as_secs_f64());
                size = residual_size(&p);
            }
            println!("{:<18} {:>6} {:>10.2} {:>10} {:>12.3}", name, n, best * 1e3, size, best * 1e6 / size as f64);
        }
    }
}

#[test]
#[ignore]
fn bench_split_prepass_and_eval() {
    let n: usize = std::env::var("BENCH_N").ok().and_then(|s| s.parse().ok()).unwrap_or(2000);
    let src = many_joins(n);
    let mut sm = SourceMap::new();
    let t = Instant::now();
    let graph = load_inline("bench.spir", &src, Segment::BottomUp, &mut sm).unwrap();
    let t_parse = t.elapsed();
    let r = spiral_compiler::peval::with_big_stack(|| {
        let t = Instant::now();
        let prog = spiral_compiler::prepass::prepare(&graph).unwrap();
        let t_pre = t.elapsed();
        let t = Instant::now();
        let p = spiral_compiler::peval::compile_program(&prog, Limits::default()).unwrap();
        (t_pre, t.elapsed(), residual_size(&p))
    })
    .unwrap();
    println!("n={n} parse {:?} prepass {:?} eval {:?} stmts {}", t_parse, r.0, r.1, r.2);
}
