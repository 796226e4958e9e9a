//! The quickstart map kernel, `(a, b, c) => (a + b + c, a * b * c)` over `i32`, at 2^24
//! elements (override with `SPIRAL_BENCH_LOG2_LEN`), in several implementations:
//!
//! * `soa_hand`: hand-written Rust over three input `Vec<i32>` into two fresh output `Vec`s
//!   (the baseline every ratio is relative to);
//! * `aos_iter`: a Rust iterator over `Vec<(i32, i32, i32)>` collecting `Vec<(i32, i32)>`;
//! * `invarray_map_{1,2}t`: `Device::cpu_with_threads(n).map(&input, closure)`;
//! * `invarray_slices_{1,2}t`: `Device::for_each_chunk_with` with a loop over the leaf slices,
//!   the shape of code a generated CPU wrapper runs;
//! * `spiral_{1,2}t`: the quickstart's Spiral kernel, `map (fun a,b,c => a+b+c, a*b*c)`,
//!   specialised by `spiral!` at compile time and called through its typed wrapper.
//!
//! Every entry allocates its outputs, as a generated wrapper does, and drops them inside the
//! timed region. Before timing, every entry's output is checked against the baseline's. After
//! criterion's report, one table prints each entry's median time and its ratio to `soa_hand`,
//! both from criterion's samples and from interleaved rounds (every entry once per round,
//! `SPIRAL_BENCH_ROUNDS`, default 9), which are fairer on a machine whose load changes.
//!
//! To add an implementation (for example the Spiral-generated kernel), push one more
//! [`Entry`] in [`entries`].

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use spiral_rt::{Device, InvArray};

/// The benchmark input, in every layout the entries need.
pub struct Data {
    /// Struct-of-arrays columns.
    pub a: Vec<i32>,
    /// Second column.
    pub b: Vec<i32>,
    /// Third column.
    pub c: Vec<i32>,
    /// The same elements, array-of-structs.
    pub aos: Vec<(i32, i32, i32)>,
    /// The same elements as an inverse array.
    pub inv: InvArray<(i32, i32, i32)>,
}

/// What an entry returns: its outputs, in its own layout.
pub enum Output {
    /// Two output columns.
    Soa(Vec<i32>, Vec<i32>),
    /// Array-of-structs outputs.
    Aos(Vec<(i32, i32)>),
    /// An inverse array of outputs.
    Inv(InvArray<(i32, i32)>),
}

impl Output {
    fn pairs(&self) -> Vec<(i32, i32)> {
        match self {
            Output::Soa(s, p) => s.iter().copied().zip(p.iter().copied()).collect(),
            Output::Aos(v) => v.clone(),
            Output::Inv(a) => a.to_vec(),
        }
    }
}

/// One implementation under test: a name and the function that runs it once.
pub struct Entry {
    /// Shown in criterion's report and in the ratio table.
    pub name: &'static str,
    /// Runs the kernel over the data and returns the freshly allocated outputs.
    pub run: Box<dyn Fn(&Data) -> Output>,
}

#[inline(always)]
fn kernel(a: i32, b: i32, c: i32) -> (i32, i32) {
    (a.wrapping_add(b).wrapping_add(c), a.wrapping_mul(b).wrapping_mul(c))
}

spiral::spiral! {
    fn spiral_map(dev: &Device, input: &InvArray<(i32, i32, i32)>) -> Result<InvArray<(i32, i32)>, spiral::Error>;
    r#"
open inv
open kernel
inl spiral_map input = map (fun a,b,c => a+b+c, a*b*c) input
    "#
}

fn spiral_kernel(threads: usize) -> Box<dyn Fn(&Data) -> Output> {
    let dev = Device::cpu_with_threads(threads);
    Box::new(move |d| Output::Inv(spiral_map(&dev, &d.inv).expect("spiral_map")))
}

fn invarray_map(threads: usize) -> Box<dyn Fn(&Data) -> Output> {
    let dev = Device::cpu_with_threads(threads);
    Box::new(move |d| Output::Inv(dev.map(&d.inv, |(a, b, c)| kernel(a, b, c)).expect("map")))
}

fn invarray_slices(threads: usize) -> Box<dyn Fn(&Data) -> Output> {
    let dev = Device::cpu_with_threads(threads);
    Box::new(move |d| {
        let mut out = InvArray::<(i32, i32)>::zeroed(d.inv.len());
        dev.for_each_chunk_with(d.inv.len(), (d.inv.columns(), out.columns_mut()), |_, ((a, b, c), (s, p))| {
            let it = s.iter_mut().zip(p.iter_mut()).zip(a.iter().zip(b).zip(c));
            for ((s, p), ((&a, &b), &c)) in it {
                (*s, *p) = kernel(a, b, c);
            }
        })
        .expect("for_each_chunk_with");
        Output::Inv(out)
    })
}

/// Every implementation, baseline first.
pub fn entries() -> Vec<Entry> {
    vec![
        Entry {
            name: "soa_hand",
            run: Box::new(|d| {
                let n = d.a.len();
                let (mut s, mut p) = (vec![0i32; n], vec![0i32; n]);
                let it = s.iter_mut().zip(p.iter_mut()).zip(d.a.iter().zip(&d.b).zip(&d.c));
                for ((s, p), ((&a, &b), &c)) in it {
                    (*s, *p) = kernel(a, b, c);
                }
                Output::Soa(s, p)
            }),
        },
        Entry {
            name: "aos_iter",
            run: Box::new(|d| Output::Aos(d.aos.iter().map(|&(a, b, c)| kernel(a, b, c)).collect())),
        },
        Entry { name: "invarray_map_1t", run: invarray_map(1) },
        Entry { name: "invarray_map_2t", run: invarray_map(2) },
        Entry { name: "invarray_slices_1t", run: invarray_slices(1) },
        Entry { name: "invarray_slices_2t", run: invarray_slices(2) },
        Entry { name: "spiral_1t", run: spiral_kernel(1) },
        Entry { name: "spiral_2t", run: spiral_kernel(2) },
    ]
}

fn data(len: usize) -> Data {
    // A cheap deterministic scramble so the values are not a plain ramp.
    let val = |i: usize, k: u32| ((i as u32).wrapping_mul(2_654_435_761).rotate_left(k) >> 8) as i32 - (1 << 22);
    let a: Vec<i32> = (0..len).map(|i| val(i, 3)).collect();
    let b: Vec<i32> = (0..len).map(|i| val(i, 11)).collect();
    let c: Vec<i32> = (0..len).map(|i| val(i, 19)).collect();
    let aos: Vec<(i32, i32, i32)> = (0..len).map(|i| (a[i], b[i], c[i])).collect();
    let inv = InvArray::from_columns((a.clone(), b.clone(), c.clone())).expect("equal columns");
    Data { a, b, c, aos, inv }
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn map_soa(cr: &mut Criterion) {
    let log2: u32 = std::env::var("SPIRAL_BENCH_LOG2_LEN").ok().and_then(|s| s.parse().ok()).unwrap_or(24);
    let len = 1usize << log2;
    let d = data(len);
    let entries = entries();

    // Correctness first (not timing): every entry must agree with the baseline.
    let expected = (entries[0].run)(&d).pairs();
    for e in &entries[1..] {
        assert!((e.run)(&d).pairs() == expected, "{} disagrees with {}", e.name, entries[0].name);
    }

    let samples: Mutex<BTreeMap<&'static str, Vec<Duration>>> = Mutex::new(BTreeMap::new());
    let mut group = cr.benchmark_group(format!("map_soa_2^{log2}"));
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    for e in &entries {
        group.bench_function(e.name, |bch| {
            bch.iter_custom(|iters| {
                let t = Instant::now();
                for _ in 0..iters {
                    black_box((e.run)(black_box(&d)));
                }
                let el = t.elapsed();
                samples.lock().unwrap().entry(e.name).or_default().push(el / iters.max(1) as u32);
                el
            })
        });
    }
    group.finish();

    // Criterion runs the entries one after another, so a change of machine load between
    // them skews their ratios. Rounds that run every entry once, in turn, share the load.
    let rounds: usize = std::env::var("SPIRAL_BENCH_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(9);
    let mut interleaved: Vec<Vec<Duration>> = vec![Vec::with_capacity(rounds); entries.len()];
    for _ in 0..rounds {
        for (k, e) in entries.iter().enumerate() {
            let t = Instant::now();
            black_box((e.run)(black_box(&d)));
            interleaved[k].push(t.elapsed());
        }
    }

    let mut samples = samples.into_inner().unwrap();
    let base = samples.get_mut(entries[0].name).map(|v| median(v));
    let ibase = median(&mut interleaved[0]);
    println!("\nmap (a+b+c, a*b*c) over 2^{log2} i32 elements, ratio to {} (lower is faster):", entries[0].name);
    println!("  criterion: median of its samples, entries run one after another");
    println!("  interleaved: median of {rounds} rounds, each running every entry once");
    println!("{:<22} {:>14} {:>7} {:>16} {:>7}", "entry", "criterion", "ratio", "interleaved", "ratio");
    for (k, e) in entries.iter().enumerate() {
        let im = median(&mut interleaved[k]);
        let (cm, cr) = match (samples.get_mut(e.name), base) {
            (Some(v), Some(base)) => {
                let m = median(v);
                (format!("{:.2} ms", m.as_secs_f64() * 1e3), format!("{:.2}", m.as_secs_f64() / base.as_secs_f64()))
            }
            _ => ("-".to_string(), "-".to_string()),
        };
        println!(
            "{:<22} {:>14} {:>7} {:>13.2} ms {:>7.2}",
            e.name,
            cm,
            cr,
            im.as_secs_f64() * 1e3,
            im.as_secs_f64() / ibase.as_secs_f64()
        );
    }
}

criterion_group!(benches, map_soa);
criterion_main!(benches);
