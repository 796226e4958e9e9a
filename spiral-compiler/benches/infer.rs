//! Type inference of top-down programs: generated programs at 1x, 4x and 16x one size, in lines
//! per second (equal throughput at every size means the cost grows linearly), and, when
//! `SPIRAL_BENCH_INFER_PACKAGE` names a package folder (e.g. v2's `ml3`), that package
//! (`SPIRAL_BENCH_INFER_DEFAULT_FLOAT=f32` checks it with `f32` as the default float).
//!
//! `cargo bench -p spiral-compiler --bench infer`. Parsing is not timed.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use spiral_compiler::diagnostics::{render, SourceMap};
use spiral_compiler::infer;
use spiral_compiler::project::load_inline;
use spiral_compiler::syntax::Segment;

/// A top-down program of `units` blocks of about 25 lines each: a generic union, a record, a
/// polymorphic function used at two types, pattern matching, a recursive function over the
/// union and a prototype with an instance, each block using the previous one.
fn program(units: usize) -> String {
    let mut s = String::from("union rec list a = Nil | Cons : a * list a\nprototype size t : t -> i32\nnominal meters = i32\ninstance size meters = fun (meters x) => x\n");
    for i in 0..units {
        let prev = if i == 0 { "(fun (x : i32) => x)".to_string() } else { format!("use{}", i - 1) };
        s.push_str(&format!(
            "union shape{i} = Circle{i} : f64 | Rect{i} : f64 * f64
nominal point{i} = {{x : f64; y : f64}}
inl area{i} s =
    match s with
    | Circle{i} r => 3.14 * r * r
    | Rect{i} (w, h) => w * h
inl pair{i} x y = x, y
inl twice{i} f x = f (f x)
let rec length{i} l =
    match l with
    | Cons (_, t) => 1i32 + length{i} t
    | Nil => 0i32
inl norm{i} (point{i} {{x y}}) = x * x + y * y
inl use{i} (n : i32) =
    inl a = twice{i} (fun x => x + 1i32) n
    inl b, c = pair{i} (area{i} (Circle{i} 2.0)) (norm{i} (point{i} {{x = 1.0; y = 2.0}}))
    inl l = Cons (a, Cons ({prev} n, Nil))
    inl d = twice{i} (fun (x : f64) => x * 2.0) (b + c)
    if d > 0.0 then length{i} l + size (meters a) else 0i32

"
        ));
    }
    s
}

fn generated(c: &mut Criterion) {
    let mut group = c.benchmark_group("infer");
    group.sample_size(10);
    for units in [40usize, 160, 640] {
        let src = program(units);
        let lines = src.lines().count();
        let mut sm = SourceMap::new();
        let g = load_inline("bench.spi", &src, Segment::TopDown, &mut sm).unwrap_or_else(|d| panic!("{}", render(&sm, &d)));
        let r = infer::check_graph(&g);
        assert!(r.is_ok(), "the generated program must type-check:\n{}", render(&sm, &r.diagnostics));
        group.throughput(Throughput::Elements(lines as u64));
        group.bench_with_input(BenchmarkId::from_parameter(lines), &g, |b, g| b.iter(|| infer::check_graph(g)));
    }
    group.finish();
}

fn package(c: &mut Criterion) {
    let Some(dir) = std::env::var_os("SPIRAL_BENCH_INFER_PACKAGE") else { return };
    let dir = std::path::PathBuf::from(dir);
    if std::env::var("SPIRAL_BENCH_INFER_DEFAULT_FLOAT").as_deref() == Ok("f32") {
        // as `spiral check --default-float f32` (v2's CUDA experiments are written for it)
        use spiral_compiler::infer::types::Prim;
        let _ = infer::env::set_defaults(Prim::I32, Prim::U32, Prim::F32);
    }
    let mut sm = SourceMap::new();
    let g = match spiral_compiler::driver::load_package_with_library(&mut sm, &dir) {
        Ok(g) => g,
        Err(d) => {
            eprintln!("{}: cannot load: {}", dir.display(), render(&sm, &d));
            return;
        }
    };
    let r = infer::check_graph(&g);
    eprintln!("{}: {} definitions, {} diagnostics", dir.display(), r.defs.len(), r.diagnostics.len());
    let mut group = c.benchmark_group("infer_package");
    group.sample_size(10);
    group.bench_function(dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(), |b| b.iter(|| infer::check_graph(&g)));
    group.finish();
}

criterion_group!(benches, generated, package);
criterion_main!(benches);
