//! Quickstart on CUDA: seed 000's test8c with its kernels compiled for the GPU.
//!
//! The same Spiral as `examples/quickstart.rs`, with `targets = [cpu, cuda]`: every export is
//! specialised twice when the crate builds (Rust kernels for the CPU device, CUDA kernels as
//! PTX when nvcc is found, else CUDA source for NVRTC) and the generated function runs the one
//! that matches the device it is given. Built with `--features cuda`, it opens GPU 0; without
//! a GPU (or without the feature, or without libcuda) `Device::cuda` returns a typed error,
//! which this example prints before running on the CPU instead. It always exits 0.
//!
//! Run with `cargo run --release --features cuda --example cuda_quickstart`.

use spiral::{spiral, Device, Error, InvArray};

spiral! {
    targets = [cpu, cuda],
    pub fn map_tuple(dev: &Device, input: &InvArray<(i32, i32, i32)>) -> Result<InvArray<(i32, i32)>, Error>;
    pub fn map_record(dev: &Device, input: &InvArray<(i32, i32, i32)>) -> Result<InvArray<i32>, Error>;
    r#"
open inv
open kernel

// Maps each element (a, b, c) to (a+b+c, a*b*c).
inl map_tuple input = map (fun a,b,c => a+b+c, a*b*c) input

// Regroups the three columns as a record {x y z} (no copy), then maps it.
inl map_record input =
    inl input = rezip (fun x,y,z => {x y z}) input
    map (fun {x y z} =>
        inl sqr x = x*x
        sqr (x + y + z)
        ) input
    "#
}

fn run(dev: &Device, input: &InvArray<(i32, i32, i32)>) -> Result<(), Error> {
    let output = map_tuple(dev, input)?;
    println!("map (fun a,b,c => a+b+c, a*b*c) input on {dev}:\n{}", output.display_columns());
    let output = map_record(dev, input)?;
    println!("map (fun {{x y z}} => sqr (x + y + z)) (rezip records) on {dev}:\n{}", output.display_columns());
    Ok(())
}

fn main() {
    let input: InvArray<(i32, i32, i32)> = (0..16).map(|i| (i, i, i)).collect();
    println!("input (a, b, c):\n{}", input.display_columns());
    let dev = match Device::cuda(0) {
        Ok(dev) => dev,
        Err(e) => {
            println!("no CUDA device: {e}");
            println!("running on the CPU instead");
            Device::cpu()
        }
    };
    if let Err(e) = run(&dev, &input) {
        println!("the kernels failed on {dev}: {e}");
    }
}
