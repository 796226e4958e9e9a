// A name that is not in scope.
#![allow(unused_imports)]
use spiral::{spiral, Device, Error, InvArray};

spiral! {
    fn map_kernel(dev: &Device, input: &InvArray<i32>) -> Result<InvArray<i32>, Error>;
    r#"
open inv
open kernel
inl map_kernel input = map (fun a => a * scale) input
    "#
}

fn main() {}
