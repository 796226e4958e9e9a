//! Quickstart on UPMEM: seed 000's test8c on processing-in-memory DPUs.
//!
//! Three `arange 64` arrays are zipped into an inverse array and mapped with
//! `fun (a, b, c) => a + b + c + 10` by a Spiral kernel compiled for the DPUs
//! (`targets = [cpu, upmem]`): each leaf is split over the DPUs' MRAM, every DPU's tasklets
//! stream their share through WRAM in DMA blocks, and the output comes back. Then the output
//! is summed with `reduce` (partials per tasklet, per DPU, then on the host).
//!
//! It runs on the UPMEM emulator (4 DPUs, 16 tasklets), which keeps the hardware's rules and
//! implements the SDK's host API; with the real SDK (`UPMEM_HOME`), `Device::upmem(4)` runs the
//! same code on DPUs. Run with `cargo run --release --features upmem --example upmem_quickstart`.

use spiral::{spiral, Device, Error, InvArray};

spiral! {
    targets = [cpu, upmem],
    pub fn test8c(dev: &Device, input: &InvArray<(i32, i32, i32)>) -> Result<InvArray<i32>, Error>;
    pub fn total(dev: &Device, xs: &InvArray<i32>) -> Result<i64, Error>;
    r#"
open inv
open kernel

// Maps each element (a, b, c) to a + b + c + 10.
inl test8c input = map (fun (a, b, c) => a + b + c + 10i32) input

// Sums the elements as i64.
inl total xs = reduce (fun a b => a + b) 0i64 (map (fun x => conv `i64 x) xs)
    "#
}

fn arange(n: i32) -> InvArray<i32> {
    (0..n).collect()
}

fn main() -> Result<(), Error> {
    let n = 64;
    let input: InvArray<(i32, i32, i32)> = spiral::zip(arange(n), spiral::zip(arange(n), arange(n))?)?.rezip()?;
    let dev = match Device::upmem_emulator(4, 16) {
        Ok(dev) => dev,
        Err(e) => {
            // Built without `--features upmem`, or no C compiler for the emulator.
            println!("no UPMEM emulator: {e}\nrunning on the CPU instead");
            Device::cpu()
        }
    };
    println!("input (a, b, c) on {dev}:\n{}", input.display_columns());
    let output = test8c(&dev, &input)?;
    println!("map (fun (a, b, c) => a + b + c + 10) input:\n{}", output.display_columns());
    println!("reduce (+) 0 of that: {}", total(&dev, &output)?);
    if let Some(stats) = dev.upmem_stats() {
        println!(
            "host <-> DPU traffic: {} bytes of array leaves pushed, {} pulled, {} bytes in all over {} launches",
            stats.leaf_bytes_pushed, stats.leaf_bytes_pulled, stats.bytes_transferred, stats.launches
        );
    }
    Ok(())
}
