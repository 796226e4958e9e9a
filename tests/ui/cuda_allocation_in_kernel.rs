// A CUDA kernel has no heap: an allocation inside one is reported at the Spiral line.
#![allow(unused_imports)]
use spiral::{spiral, Device, Error, InvArray};

spiral! {
    targets = [cuda],
    fn scratch(dev: &Device, xs: &InvArray<i32>) -> Result<InvArray<i32>, Error>;
    r#"
open inv
open kernel
inl scratch xs =
    map (fun x =>
        inl tmp = inv_create `i32 (x &&& 3i32)
        x + inv_length tmp) xs
    "#
}

fn main() {}
