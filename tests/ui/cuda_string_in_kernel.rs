// A string cannot live in a CUDA kernel; the error is at the Spiral line that makes one.
#![allow(unused_imports)]
use spiral::{spiral, Device, Error, InvArray};

spiral! {
    targets = [cuda],
    fn lengths(dev: &Device, xs: &InvArray<i32>) -> Result<InvArray<i32>, Error>;
    r#"
open inv
open kernel
inl lengths xs =
    inl names = dyn "abc"
    map (fun x => x + conv `i32 (string_length names)) xs
    "#
}

fn main() {}
