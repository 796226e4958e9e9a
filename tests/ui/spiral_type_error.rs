// Adding a bool to an i32 inside the kernel is a type error found by the partial evaluator;
// the message carries the evaluation trace.
#![allow(unused_imports)]
use spiral::{spiral, Device, Error, InvArray};

spiral! {
    fn map_kernel(dev: &Device, input: &InvArray<(i32, i32)>) -> Result<InvArray<i32>, Error>;
    r#"
open inv
open kernel
inl map_kernel input = map (fun a,b => a + true) input
    "#
}

fn main() {}
