//! Spiral kernels against a hand-written Rust loop and against rayon, in one run.
//!
//! Cases (every one checked against its baseline before it is timed):
//!
//! 1. `saxpy_2^24`: in-place SAXPY `y = a*x + y` over 2^24 `f32`, the Spiral export
//!    `saxpy(dev, a, &x, &mut y)` (`map_inp (fun x, y => a * x + y) (inv_zip x y) y`) on 1 thread
//!    against a loop over slices, and on 2 threads against rayon's `par_iter_mut().zip(..)`;
//! 2. `sum_2^24` and `max_2^24`: `reduce` over 2^24 `f64` (sum; max with `if a > b then a else b`
//!    from `-inf`) against `iter().sum()` / a fold, and rayon's `par_iter().sum()` / `reduce`;
//! 3. `launch_2^10`: a 2^10-element SAXPY, where the launch cost dominates: Spiral on 2 threads
//!    against rayon on 2 threads (and the hand loop for reference);
//! 4. `scan_2^24`: the inclusive prefix sum of 2^24 `i64` into a preallocated output
//!    (`scan_into`) against a hand loop and a two-pass chunked scan with rayon;
//! 5. `quickstart_2^24`: the quickstart kernel `(a, b, c) => (a+b+c, a*b*c)` over 2^24 `i32`, the
//!    Spiral version writing into a preallocated `&mut InvArray<(i32, i32)>` with `map_inp`,
//!    against a hand-written struct-of-arrays loop and rayon, both into preallocated columns.
//!
//! Rayon always runs in its own pool of 2 threads (`ThreadPoolBuilder::new().num_threads(2)`,
//! `install`). Spiral's 2-thread device uses its own persistent 2-thread pool.
//!
//! The large cases default to 2^24 elements; `SPIRAL_BENCH_LOG2_LEN` overrides that (the launch
//! case stays at 2^10). After criterion's report, one table prints, for every comparison, both
//! medians and the ratio Spiral / baseline (lower is faster), from criterion's samples and from
//! interleaved rounds (every entry of a case once per round, `SPIRAL_BENCH_ROUNDS`, default 9),
//! which are fairer on a machine whose load changes. No timing is asserted.
//!
//! Run with `cargo bench --bench kernels`.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use rayon::prelude::*;
use spiral::{Device, Error, InvArray};

spiral::spiral! {
    fn saxpy(dev: &Device, a: f32, x: &InvArray<f32>, y: &mut InvArray<f32>) -> Result<(), Error>;
    fn sum_f64(dev: &Device, xs: &InvArray<f64>) -> Result<f64, Error>;
    fn max_f64(dev: &Device, xs: &InvArray<f64>) -> Result<f64, Error>;
    fn map_tuple_into(dev: &Device, input: &InvArray<(i32, i32, i32)>, out: &mut InvArray<(i32, i32)>) -> Result<(), Error>;
    fn prefix_sums(dev: &Device, xs: &InvArray<i64>, out: &mut InvArray<i64>) -> Result<(), Error>;
    r#"
open inv
open kernel
inl saxpy a x y = map_inp (fun x, y => a * x + y) (inv_zip x y) y
inl sum_f64 xs = reduce (fun a b => a + b) 0.0 xs
inl max_f64 xs = reduce (fun a b => if a > b then a else b) (-(inf `f64)) xs
inl map_tuple_into input out = map_inp (fun a,b,c => a+b+c, a*b*c) input out
inl prefix_sums xs out = scan_into false (fun a b => a + b) 0i64 xs out
    "#
}

/// One implementation under test: a name and the closure that runs it once (on data it
/// borrows or owns; results go through `black_box`).
struct Entry<'a> {
    name: &'static str,
    run: Box<dyn FnMut() + 'a>,
}

impl<'a> Entry<'a> {
    fn new(name: &'static str, run: impl FnMut() + 'a) -> Self {
        Entry { name, run: Box::new(run) }
    }
}

/// One line of the final table: a Spiral entry against a baseline of the same case.
struct Row {
    case: String,
    spiral: &'static str,
    baseline: &'static str,
    /// Medians (criterion, interleaved) of the Spiral entry and of the baseline.
    spiral_t: (Duration, Duration),
    baseline_t: (Duration, Duration),
}

/// The medians of one case's entries, by name: (criterion, interleaved).
type Medians = BTreeMap<&'static str, (Duration, Duration)>;

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

/// Times every entry with criterion (one group per case), then in interleaved rounds.
fn time_case(cr: &mut Criterion, case: &str, entries: &mut [Entry<'_>]) -> Medians {
    let samples: Mutex<BTreeMap<&'static str, Vec<Duration>>> = Mutex::new(BTreeMap::new());
    let mut group = cr.benchmark_group(case);
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    for e in entries.iter_mut() {
        let name = e.name;
        let run = &mut e.run;
        group.bench_function(name, |bch| {
            bch.iter_custom(|iters| {
                let t = Instant::now();
                for _ in 0..iters {
                    run();
                }
                let el = t.elapsed();
                samples.lock().unwrap().entry(name).or_default().push(el / iters.max(1) as u32);
                el
            })
        });
    }
    group.finish();

    // Criterion runs the entries one after another, so a change of machine load between
    // them skews their ratios. Rounds that run every entry once, in turn, share the load.
    // Short entries (the 2^10 launch) run in batches of about a millisecond per round, so one
    // round's time is not dominated by the clock or a single interruption.
    let mut samples = samples.into_inner().unwrap();
    let batch: Vec<u32> = entries
        .iter()
        .map(|e| {
            let m = samples.get_mut(e.name).map(|v| median(v)).unwrap_or_default();
            (1e-3 / m.as_secs_f64().max(1e-9)).clamp(1.0, 10_000.0) as u32
        })
        .collect();
    let rounds = env_usize("SPIRAL_BENCH_ROUNDS", 9).max(1);
    let mut interleaved: Vec<Vec<Duration>> = vec![Vec::with_capacity(rounds); entries.len()];
    for _ in 0..rounds {
        for (k, e) in entries.iter_mut().enumerate() {
            let t = Instant::now();
            for _ in 0..batch[k] {
                (e.run)();
            }
            interleaved[k].push(t.elapsed() / batch[k]);
        }
    }
    entries
        .iter()
        .enumerate()
        .map(|(k, e)| {
            let c = samples.get_mut(e.name).map(|v| median(v)).unwrap_or_default();
            (e.name, (c, median(&mut interleaved[k])))
        })
        .collect()
}

/// Rows comparing `spiral` against `baseline` for every pair, from one case's medians.
fn rows(case: &str, m: &Medians, pairs: &[(&'static str, &'static str)]) -> Vec<Row> {
    pairs
        .iter()
        .map(|&(s, b)| Row { case: case.to_string(), spiral: s, baseline: b, spiral_t: m[s], baseline_t: m[b] })
        .collect()
}

fn rayon_pool() -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new().num_threads(2).build().expect("a rayon pool of 2 threads")
}

/// A cheap deterministic scramble in `[0, 1)`, so the values are not a plain ramp.
fn unit(i: usize, k: u32) -> f64 {
    ((i as u32).wrapping_mul(2_654_435_761).rotate_left(k) >> 8) as f64 / (1u32 << 24) as f64
}

fn saxpy_hand(a: f32, x: &[f32], y: &mut [f32]) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

fn saxpy_rayon(pool: &rayon::ThreadPool, a: f32, x: &[f32], y: &mut [f32]) {
    pool.install(|| y.par_iter_mut().zip(x.par_iter()).for_each(|(y, &x)| *y += a * x));
}

/// In-place SAXPY at `len` elements: the hand loop, rayon and Spiral on 1 and 2 threads.
fn saxpy_case(cr: &mut Criterion, case: &str, len: usize, pool: &rayon::ThreadPool) -> Medians {
    // a*x + y with a small `a` and x in [0, 1): y grows slowly over many iterations.
    let a = 1.0e-3f32;
    let x: Vec<f32> = (0..len).map(|i| unit(i, 3) as f32).collect();
    let y0: Vec<f32> = (0..len).map(|i| unit(i, 11) as f32).collect();
    let x_inv = InvArray::from_columns(x.clone()).expect("one column");

    // Correctness first: one step of every implementation from the same y.
    let mut expect = y0.clone();
    saxpy_hand(a, &x, &mut expect);
    for threads in [1, 2] {
        let mut y = InvArray::from_columns(y0.clone()).expect("one column");
        saxpy(&Device::cpu_with_threads(threads), a, &x_inv, &mut y).expect("saxpy");
        assert!(y.columns() == &expect[..], "spiral saxpy ({threads} threads) disagrees with the hand loop");
    }
    let mut y = y0.clone();
    saxpy_rayon(pool, a, &x, &mut y);
    assert!(y == expect, "rayon saxpy disagrees with the hand loop");

    let (dev1, dev2) = (Device::cpu_with_threads(1), Device::cpu_with_threads(2));
    let (x, x_inv) = (&x, &x_inv);
    let mut y_hand = y0.clone();
    let mut y_rayon = y0.clone();
    let mut y_s1 = InvArray::from_columns(y0.clone()).expect("one column");
    let mut y_s2 = InvArray::from_columns(y0).expect("one column");
    let mut entries = vec![
        Entry::new("hand_1t", move || saxpy_hand(black_box(a), black_box(x), black_box(&mut y_hand[..]))),
        Entry::new("rayon_2t", move || saxpy_rayon(pool, black_box(a), black_box(x), black_box(&mut y_rayon[..]))),
        Entry::new("spiral_1t", move || saxpy(&dev1, black_box(a), black_box(x_inv), black_box(&mut y_s1)).expect("saxpy")),
        Entry::new("spiral_2t", move || saxpy(&dev2, black_box(a), black_box(x_inv), black_box(&mut y_s2)).expect("saxpy")),
    ];
    time_case(cr, case, &mut entries)
}

fn max_fold(a: f64, b: f64) -> f64 {
    if a > b {
        a
    } else {
        b
    }
}

/// Sum and max over `len` `f64`: two cases sharing one input.
fn reduce_cases(cr: &mut Criterion, log2: u32, len: usize, pool: &rayon::ThreadPool) -> (Medians, Medians) {
    // Values in [-0.5, 0.5) so the sum stays small and rounding differences show up as such.
    let xs: Vec<f64> = (0..len).map(|i| unit(i, 7) - 0.5).collect();
    let inv = InvArray::from_columns(xs.clone()).expect("one column");
    let (dev1, dev2) = (Device::cpu_with_threads(1), Device::cpu_with_threads(2));

    // Correctness first. Sums in another order round differently: compare with a tolerance
    // relative to the sum of magnitudes.
    let sum: f64 = xs.iter().sum();
    let tol = 1e-12 * xs.iter().map(|x| x.abs()).sum::<f64>();
    let max = xs.iter().copied().fold(f64::NEG_INFINITY, max_fold);
    for dev in [&dev1, &dev2] {
        let s = sum_f64(dev, &inv).expect("sum_f64");
        assert!((s - sum).abs() <= tol, "spiral sum on {dev}: {s} vs {sum}");
        assert_eq!(max_f64(dev, &inv).expect("max_f64"), max, "spiral max on {dev}");
    }
    let s: f64 = pool.install(|| xs.par_iter().sum());
    assert!((s - sum).abs() <= tol, "rayon sum: {s} vs {sum}");
    assert_eq!(pool.install(|| xs.par_iter().copied().reduce(|| f64::NEG_INFINITY, max_fold)), max, "rayon max");

    let (xs, inv, dev1, dev2) = (&xs, &inv, &dev1, &dev2);
    let mut sum_entries = vec![
        Entry::new("hand_1t", move || {
            black_box(black_box(xs).iter().sum::<f64>());
        }),
        Entry::new("rayon_2t", move || {
            black_box(pool.install(|| black_box(xs).par_iter().sum::<f64>()));
        }),
        Entry::new("spiral_1t", move || {
            black_box(sum_f64(dev1, black_box(inv)).expect("sum_f64"));
        }),
        Entry::new("spiral_2t", move || {
            black_box(sum_f64(dev2, black_box(inv)).expect("sum_f64"));
        }),
    ];
    let sums = time_case(cr, &format!("sum_2^{log2}"), &mut sum_entries);
    let mut max_entries = vec![
        Entry::new("hand_1t", move || {
            black_box(black_box(xs).iter().copied().fold(f64::NEG_INFINITY, max_fold));
        }),
        Entry::new("rayon_2t", move || {
            black_box(pool.install(|| black_box(xs).par_iter().copied().reduce(|| f64::NEG_INFINITY, max_fold)));
        }),
        Entry::new("spiral_1t", move || {
            black_box(max_f64(dev1, black_box(inv)).expect("max_f64"));
        }),
        Entry::new("spiral_2t", move || {
            black_box(max_f64(dev2, black_box(inv)).expect("max_f64"));
        }),
    ];
    let maxes = time_case(cr, &format!("max_2^{log2}"), &mut max_entries);
    (sums, maxes)
}

#[inline(always)]
fn kernel(a: i32, b: i32, c: i32) -> (i32, i32) {
    (a.wrapping_add(b).wrapping_add(c), a.wrapping_mul(b).wrapping_mul(c))
}

fn quickstart_hand(a: &[i32], b: &[i32], c: &[i32], s: &mut [i32], p: &mut [i32]) {
    let it = s.iter_mut().zip(p.iter_mut()).zip(a.iter().zip(b).zip(c));
    for ((s, p), ((&a, &b), &c)) in it {
        (*s, *p) = kernel(a, b, c);
    }
}

fn quickstart_rayon(pool: &rayon::ThreadPool, a: &[i32], b: &[i32], c: &[i32], s: &mut [i32], p: &mut [i32]) {
    pool.install(|| {
        s.par_iter_mut()
            .zip(p.par_iter_mut())
            .zip(a.par_iter().zip(b.par_iter()).zip(c.par_iter()))
            .for_each(|((s, p), ((&a, &b), &c))| (*s, *p) = kernel(a, b, c))
    });
}

/// The quickstart map into preallocated outputs, `len` elements.
fn quickstart_case(cr: &mut Criterion, case: &str, len: usize, pool: &rayon::ThreadPool) -> Medians {
    let val = |i: usize, k: u32| ((i as u32).wrapping_mul(2_654_435_761).rotate_left(k) >> 8) as i32 - (1 << 22);
    let a: Vec<i32> = (0..len).map(|i| val(i, 3)).collect();
    let b: Vec<i32> = (0..len).map(|i| val(i, 11)).collect();
    let c: Vec<i32> = (0..len).map(|i| val(i, 19)).collect();
    let inv = InvArray::<(i32, i32, i32)>::from_columns((a.clone(), b.clone(), c.clone())).expect("equal columns");
    let (dev1, dev2) = (Device::cpu_with_threads(1), Device::cpu_with_threads(2));

    // Correctness first.
    let (mut es, mut ep) = (vec![0i32; len], vec![0i32; len]);
    quickstart_hand(&a, &b, &c, &mut es, &mut ep);
    for dev in [&dev1, &dev2] {
        let mut out = InvArray::<(i32, i32)>::zeroed(len);
        map_tuple_into(dev, &inv, &mut out).expect("map_tuple_into");
        let (s, p) = out.columns();
        assert!(s == &es[..] && p == &ep[..], "spiral map_tuple_into on {dev} disagrees with the hand loop");
    }
    let (mut s, mut p) = (vec![0i32; len], vec![0i32; len]);
    quickstart_rayon(pool, &a, &b, &c, &mut s, &mut p);
    assert!(s == es && p == ep, "rayon disagrees with the hand loop");

    let (a, b, c, inv, dev1, dev2) = (&a, &b, &c, &inv, &dev1, &dev2);
    let (mut hs, mut hp) = (vec![0i32; len], vec![0i32; len]);
    let (mut rs, mut rp) = (s, p);
    let mut out1 = InvArray::<(i32, i32)>::zeroed(len);
    let mut out2 = InvArray::<(i32, i32)>::zeroed(len);
    let mut entries = vec![
        Entry::new("hand_1t", move || quickstart_hand(black_box(a), b, c, black_box(&mut hs[..]), &mut hp)),
        Entry::new("rayon_2t", move || quickstart_rayon(pool, black_box(a), b, c, black_box(&mut rs[..]), &mut rp)),
        Entry::new("spiral_1t", move || map_tuple_into(dev1, black_box(inv), black_box(&mut out1)).expect("map_tuple_into")),
        Entry::new("spiral_2t", move || map_tuple_into(dev2, black_box(inv), black_box(&mut out2)).expect("map_tuple_into")),
    ];
    time_case(cr, case, &mut entries)
}

fn scan_hand(xs: &[i64], out: &mut [i64]) {
    let mut acc = 0i64;
    for (o, &x) in out.iter_mut().zip(xs) {
        acc = acc.wrapping_add(x);
        *o = acc;
    }
}

/// A two-pass chunked inclusive scan with rayon (rayon has no scan): chunk totals in
/// parallel, their prefix on the caller, then each chunk scanned from its offset.
fn scan_rayon(pool: &rayon::ThreadPool, xs: &[i64], out: &mut [i64]) {
    let chunk = xs.len().div_ceil(64).max(1);
    pool.install(|| {
        let totals: Vec<i64> = xs.par_chunks(chunk).map(|c| c.iter().fold(0i64, |a, &b| a.wrapping_add(b))).collect();
        let mut offsets = Vec::with_capacity(totals.len());
        let mut acc = 0i64;
        for t in totals {
            offsets.push(acc);
            acc = acc.wrapping_add(t);
        }
        out.par_chunks_mut(chunk).zip(xs.par_chunks(chunk)).zip(offsets).for_each(|((o, x), off)| {
            let mut acc = off;
            for (o, &x) in o.iter_mut().zip(x) {
                acc = acc.wrapping_add(x);
                *o = acc;
            }
        });
    });
}

/// The inclusive prefix sum of `len` `i64` into a preallocated output.
fn scan_case(cr: &mut Criterion, case: &str, len: usize, pool: &rayon::ThreadPool) -> Medians {
    let xs: Vec<i64> = (0..len).map(|i| (unit(i, 5) * 1000.0) as i64 - 500).collect();
    let inv = InvArray::from_columns(xs.clone()).expect("one column");
    let (dev1, dev2) = (Device::cpu_with_threads(1), Device::cpu_with_threads(2));
    let mut expect = vec![0i64; len];
    scan_hand(&xs, &mut expect);
    for dev in [&dev1, &dev2] {
        let mut out = InvArray::<i64>::zeroed(len);
        prefix_sums(dev, &inv, &mut out).expect("prefix_sums");
        assert!(out.columns() == &expect[..], "spiral scan on {dev} disagrees with the hand loop");
    }
    let mut out = vec![0i64; len];
    scan_rayon(pool, &xs, &mut out);
    assert!(out == expect, "rayon scan disagrees with the hand loop");
    let (xs, inv, dev1, dev2) = (&xs, &inv, &dev1, &dev2);
    let (mut h, mut r) = (vec![0i64; len], vec![0i64; len]);
    let (mut o1, mut o2) = (InvArray::<i64>::zeroed(len), InvArray::<i64>::zeroed(len));
    let mut entries = vec![
        Entry::new("hand_1t", move || scan_hand(black_box(xs), black_box(&mut h[..]))),
        Entry::new("rayon_2t", move || scan_rayon(pool, black_box(xs), black_box(&mut r[..]))),
        Entry::new("spiral_1t", move || prefix_sums(dev1, black_box(inv), black_box(&mut o1)).expect("prefix_sums")),
        Entry::new("spiral_2t", move || prefix_sums(dev2, black_box(inv), black_box(&mut o2)).expect("prefix_sums")),
    ];
    time_case(cr, case, &mut entries)
}

fn fmt_time(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1e-3 {
        format!("{:.2} ms", s * 1e3)
    } else {
        format!("{:.2} us", s * 1e6)
    }
}

fn kernels(cr: &mut Criterion) {
    let log2 = env_usize("SPIRAL_BENCH_LOG2_LEN", 24) as u32;
    let len = 1usize << log2;
    let pool = rayon_pool();
    let mut table: Vec<Row> = Vec::new();
    // `SPIRAL_BENCH_CASES=sum,max` runs only the cases whose names start with one of the words.
    let only = std::env::var("SPIRAL_BENCH_CASES").ok();
    let wanted = |case: &str| only.as_deref().is_none_or(|o| o.split(',').any(|w| case.starts_with(w.trim())));

    // Each case builds (and drops) its own data, so at most one case's buffers are alive.
    let case = format!("saxpy_2^{log2}");
    if wanted(&case) {
        let m = saxpy_case(cr, &case, len, &pool);
        table.extend(rows(&case, &m, &[("spiral_1t", "hand_1t"), ("spiral_2t", "rayon_2t")]));
    }

    if wanted("sum") || wanted("max") {
        let (sums, maxes) = reduce_cases(cr, log2, len, &pool);
        let pairs = [("spiral_1t", "hand_1t"), ("spiral_2t", "rayon_2t")];
        table.extend(rows(&format!("sum_2^{log2}"), &sums, &pairs));
        table.extend(rows(&format!("max_2^{log2}"), &maxes, &pairs));
    }

    let case = format!("scan_2^{log2}");
    if wanted(&case) {
        let m = scan_case(cr, &case, len, &pool);
        table.extend(rows(&case, &m, &[("spiral_1t", "hand_1t"), ("spiral_2t", "rayon_2t")]));
    }

    let case = "launch_2^10".to_string();
    if wanted(&case) {
        let m = saxpy_case(cr, &case, 1 << 10, &pool);
        table.extend(rows(&case, &m, &[("spiral_2t", "rayon_2t"), ("spiral_2t", "hand_1t"), ("spiral_1t", "hand_1t")]));
    }

    let case = format!("quickstart_2^{log2}");
    if wanted(&case) {
        let m = quickstart_case(cr, &case, len, &pool);
        table.extend(rows(&case, &m, &[("spiral_1t", "hand_1t"), ("spiral_2t", "rayon_2t")]));
    }

    let rounds = env_usize("SPIRAL_BENCH_ROUNDS", 9).max(1);
    println!("\nSpiral kernels against hand-written Rust and rayon (2-thread pool); ratio = Spiral / baseline, lower is faster");
    println!("  criterion: median of its samples, entries run one after another");
    println!("  interleaved: median of {rounds} rounds, each running every entry of the case once");
    println!(
        "{:<16} {:<10} {:<9} {:>11} {:>11} {:>6} {:>11} {:>11} {:>6}",
        "case", "spiral", "baseline", "spiral", "baseline", "ratio", "spiral(il)", "base(il)", "ratio"
    );
    for r in &table {
        let ratio = |s: Duration, b: Duration| s.as_secs_f64() / b.as_secs_f64();
        println!(
            "{:<16} {:<10} {:<9} {:>11} {:>11} {:>6.2} {:>11} {:>11} {:>6.2}",
            r.case,
            r.spiral,
            r.baseline,
            fmt_time(r.spiral_t.0),
            fmt_time(r.baseline_t.0),
            ratio(r.spiral_t.0, r.baseline_t.0),
            fmt_time(r.spiral_t.1),
            fmt_time(r.baseline_t.1),
            ratio(r.spiral_t.1, r.baseline_t.1),
        );
    }
}

criterion_group!(benches, kernels);
criterion_main!(benches);
