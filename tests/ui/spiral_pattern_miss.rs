// The kernel's function expects records `{x y}` but the elements are tuples: no clause matches.
#![allow(unused_imports)]
use spiral::{spiral, Device, Error, InvArray};

spiral! {
    fn map_kernel(dev: &Device, input: &InvArray<(i32, i32)>) -> Result<InvArray<i32>, Error>;
    r#"
open inv
open kernel
inl map_kernel input = map (function {x y} => x + y) input
    "#
}

fn main() {}
