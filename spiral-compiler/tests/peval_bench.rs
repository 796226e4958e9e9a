//! Evaluator throughput on generated programs of three shapes and three sizes:
//! many join points, deep unrolling, many union cases. Each run reports the time of prepass +
//! partial evaluation and the size of the residual program (statements, recursively), so the
//! cost per residual statement shows whether compile cost grows linearly.
//!
//! Criterion's version: `cargo bench -p spiral-compiler --bench peval`.
//! Run: `cargo test --release -p spiral-compiler --test peval_bench -- --ignored --nocapture`.
//! The non-ignored test only checks that the generators compile and produce what they should.
use spiral_compiler::diagnostics::SourceMap;
use spiral_compiler::peval::Limits;
use spiral_compiler::project::load_inline;
use spiral_compiler::syntax::Segment;
use std::time::Instant;

#[path = "../benches/support/peval_programs.rs"]
mod programs;
use programs::*;

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
