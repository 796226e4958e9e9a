//! Evaluator throughput (prepass + partial evaluation, including parsing the program and
//! preparing `core`) on generated programs of three shapes at three sizes each: many join
//! points, deep unrolling, many union cases.
//!
//! `cargo bench -p spiral-compiler --bench peval`. Throughput is in residual statements per
//! second: a flat throughput across the three sizes means compile cost grows linearly with the
//! residual program.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

#[path = "support/peval_programs.rs"]
mod programs;
use programs::*;

fn evaluator_throughput(c: &mut Criterion) {
    type Gen = fn(usize) -> String;
    let shapes: [(&str, Gen, [usize; 3]); 3] = [
        ("many_join_points", many_joins, [250, 1000, 4000]),
        ("deep_unrolling", deep_unroll, [500, 2000, 8000]),
        ("many_union_cases", many_cases, [50, 200, 800]),
    ];
    for (name, gen, sizes) in shapes {
        let mut group = c.benchmark_group(format!("peval/{name}"));
        group.sample_size(10);
        for n in sizes {
            let src = gen(n);
            let stmts = residual_size(&compile(&src)) as u64;
            group.throughput(Throughput::Elements(stmts));
            group.bench_with_input(BenchmarkId::new("n", n), &src, |b, src| b.iter(|| compile(src)));
        }
        group.finish();
    }
}

criterion_group!(benches, evaluator_throughput);
criterion_main!(benches);
