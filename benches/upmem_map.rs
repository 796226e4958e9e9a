//! An emulated UPMEM map over 2^24 elements at 1 to 64 DPUs: the scaling shape, and the bytes
//! moved between the host and the DPUs per element against the minimum (the sum of the leaf
//! sizes: every input leaf pushed once, every output leaf pulled once). The CPU device runs the
//! same export as the baseline a user would otherwise pick.
//!
//! `cargo bench --features upmem --bench upmem_map` (`SPIRAL_BENCH_UPMEM_N=20` for 2^20
//! elements). The emulator runs every DPU's tasklets as threads of this machine, so its times
//! show the launcher's and emulator's costs, not a DPU's speed; the bytes moved are what real
//! hardware would move.

use spiral::{spiral, Device, Error, InvArray};
use std::time::Instant;

spiral! {
    targets = [cpu, upmem],
    pub fn scale(dev: &Device, xs: &InvArray<i32>) -> Result<InvArray<i32>, Error>;
    r#"
open inv
open kernel
inl scale xs = map (fun x => x * 3i32 + 1i32) xs
    "#
}

/// The median of `runs` timings of `f`, in seconds, or the error of its first run.
fn time(runs: usize, mut f: impl FnMut() -> Result<(), Error>) -> Result<f64, Error> {
    let mut ts = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        f()?;
        ts.push(t.elapsed().as_secs_f64());
    }
    ts.sort_by(|a, b| a.total_cmp(b));
    Ok(ts[ts.len() / 2])
}

fn main() {
    let log2: u32 = std::env::var("SPIRAL_BENCH_UPMEM_N").ok().and_then(|s| s.parse().ok()).unwrap_or(24);
    let n = 1usize << log2;
    let xs: InvArray<i32> = (0..n as i32).collect();
    let want: Vec<i32> = (0..n as i32).map(|x| x.wrapping_mul(3).wrapping_add(1)).collect();
    let cpu = Device::cpu();
    assert_eq!(scale(&cpu, &xs).expect("the CPU map").to_vec(), want);
    let cpu_s = time(5, || scale(&cpu, &xs).map(drop)).expect("the CPU map");
    let min_bytes = 8.0; // one i32 leaf in, one out
    println!("map x * 3 + 1 over 2^{log2} i32 elements; CPU ({cpu}): {:.1} ms", cpu_s * 1e3);
    println!("{:>5} {:>9} {:>12} {:>11} {:>14} {:>10}", "DPUs", "tasklets", "time", "vs CPU", "bytes/elem", "minimum");
    for dpus in [1usize, 2, 4, 8, 16, 32, 64] {
        let dev = match Device::upmem_emulator(dpus, 16) {
            Ok(d) => d,
            Err(e) => {
                println!("no UPMEM emulator: {e}");
                return;
            }
        };
        // A first launch compiles and loads the DPU program and checks the result; it is not timed.
        match scale(&dev, &xs) {
            Ok(out) => assert_eq!(out.to_vec(), want, "the emulated map differs from the CPU one"),
            Err(e) => {
                println!("{dpus:>5} {:>9} {e}", 16);
                continue;
            }
        }
        let before = dev.upmem_stats().expect("stats");
        let runs = 3;
        let s = time(runs, || scale(&dev, &xs).map(drop)).expect("the emulated map");
        let after = dev.upmem_stats().expect("stats");
        let moved = (after.leaf_bytes_pushed - before.leaf_bytes_pushed + after.leaf_bytes_pulled - before.leaf_bytes_pulled) as f64 / (runs * n) as f64;
        println!("{dpus:>5} {:>9} {:>9.1} ms {:>10.2}x {:>14.3} {:>10.1}", 16, s * 1e3, s / cpu_s, moved, min_bytes);
    }
}
