//! Seed 000's UPMEM programs, test3 to test8c, with a Rust host and Spiral kernels, printed as
//! the tutorial and v2's suite report them: test5 gives `(4, 3, 24, -4)`, test6 `3 0 4 -4`,
//! test7a sets element 3 to 6, test7b/7c/8a double `arange 64`, test8b/8c give `10, 13, ..., 199`.
//!
//! Runs on the UPMEM emulator with 4 DPUs and 11 tasklets (the CPU without `--features upmem`):
//! `cargo run --release --features upmem --example upmem_seed000`.

use spiral::{spiral, Device, Error, InvArray};

include!("spiral/upmem_seed000.rs");

fn arange(n: i32) -> InvArray<i32> {
    (0..n).collect()
}

fn main() -> Result<(), Error> {
    let dev = Device::upmem_emulator(4, 11).unwrap_or_else(|e| {
        println!("no UPMEM emulator ({e}); on the CPU instead");
        Device::cpu()
    });
    println!("on {dev}");
    let (a, b, c) = test3(&dev, 2, 1, 2, 5, 2.5, 4.4)?;
    println!("test3: {a} {b} {c}");
    println!("test5: {:?}", test5(&dev, 1, 2, 3, 4)?);
    let (w, x, y, z) = test6(&dev, 1, 2, 3, 4)?;
    println!("test6:\n{w}\n{x}\n{y}\n{z}");
    let mut a = arange(16);
    println!("test7a: {:?}", a.to_vec());
    test7a(&dev, &mut a, &arange(16), &arange(16))?;
    println!("        {:?}", a.to_vec());
    let mut a = arange(64);
    test7b(&dev, &mut a, &arange(64), &arange(64))?;
    println!("test7b: {:?}", a.to_vec());
    let mut a = arange(64);
    test7c(&dev, &mut a, &arange(64), &arange(64))?;
    println!("test7c: {:?}", a.to_vec());
    let out = test8a(&dev, &arange(64))?;
    println!("test8a: ({:?}, {})", out.to_vec(), out.len());
    let input: InvArray<(i32, i32, i32)> = (0..64).map(|i| (i, i, i)).collect();
    let mut out = InvArray::<i32>::zeroed(64);
    test8b(&dev, &input, &mut out)?;
    println!("test8b: ({:?}, {})", out.to_vec(), out.len());
    let out = test8c(&dev, &input)?;
    println!("test8c: ({:?}, {})", out.to_vec(), out.len());
    Ok(())
}
