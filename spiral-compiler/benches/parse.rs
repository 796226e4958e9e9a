//! Parse throughput on generated top-down modules at three sizes (lines per second).
//!
//! `cargo bench -p spiral-compiler --bench parse`. Criterion reports the throughput in
//! elements per second, where an element is one source line.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use spiral_compiler::diagnostics::FileId;
use spiral_compiler::syntax::{parse_module, Segment};

#[path = "support/gen.rs"]
mod gen;

fn parse_throughput(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    group.sample_size(10);
    for size in [10_000usize, 50_000, 250_000] {
        let (src, lines) = gen::generate(size);
        group.throughput(Throughput::Elements(lines as u64));
        group.bench_with_input(BenchmarkId::from_parameter(lines), &src, |b, src| {
            b.iter(|| parse_module(FileId(0), src, Segment::TopDown))
        });
    }
    group.finish();
}

criterion_group!(benches, parse_throughput);
criterion_main!(benches);
