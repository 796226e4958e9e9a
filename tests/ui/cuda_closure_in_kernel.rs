// A runtime closure cannot be passed into a CUDA kernel; the error is at the Spiral line.
#![allow(unused_imports)]
use spiral::{spiral, Device, Error, InvArray};

spiral! {
    targets = [cuda],
    fn apply(dev: &Device, k: i32, xs: &InvArray<i32>) -> Result<InvArray<i32>, Error>;
    r#"
open inv
open kernel
inl apply k xs =
    inl f = (fun (x : i32) => x + k) : i32 -> i32
    map (fun x => f x) xs
    "#
}

fn main() {}
