//! Quickstart: seed 000's test8c in Rust.
//!
//! Three `arange 16` arrays are zipped into an inverse array (one column per field), then mapped
//! on the CPU device by a Spiral kernel specialised at compile time: first with
//! `fun a,b,c => a+b+c, a*b*c`, then, after regrouping the columns as records `{x y z}`, with
//! `sqr (x + y + z)`.
//!
//! Run with `cargo run --release --example quickstart`.

use spiral::{spiral, Device, Error, InvArray};

spiral! {
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

fn arange(n: i32) -> InvArray<i32> {
    (0..n).collect()
}

fn main() -> Result<(), Error> {
    let test_size = 16;
    let input = spiral::zip(arange(test_size), spiral::zip(arange(test_size), arange(test_size))?)?;
    let input: InvArray<(i32, i32, i32)> = input.rezip()?;
    let dev = Device::cpu();
    println!("input (a, b, c):\n{}", input.display_columns());
    let output = map_tuple(&dev, &input)?;
    println!("map (fun a,b,c => a+b+c, a*b*c) input:\n{}", output.display_columns());
    let output = map_record(&dev, &input)?;
    println!("map (fun {{x y z}} => sqr (x + y + z)) (rezip records):\n{}", output.display_columns());
    Ok(())
}
