// Top-down code: the result type in the Rust signature disagrees with the inferred one
// (`inv_array f32` maps to `inv_array bool`); the error is at `Result<..>`.
#![allow(unused_imports)]
use spiral::{spiral, Device, Error, InvArray};

spiral! {
    fn positive(dev: &Device, xs: &InvArray<f32>) -> Result<InvArray<f32>, Error>;
    spi = r#"
open kernel
inl positive xs = map (fun x => x > 0) xs
    "#
}

fn main() {}
