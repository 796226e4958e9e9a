// A read-modify-write of shared counts from a kernel is a data race behind a safe function;
// the race check refuses it (use `atomic_add`).
#![allow(unused_imports)]
use spiral::{spiral, Device, Error, InvArray};

spiral! {
    fn histogram(dev: &Device, input: &InvArray<i32>) -> Result<InvArray<i32>, Error>;
    r#"
open inv
open kernel
inl histogram input =
    inl counts = inv_create `i32 4i32
    parallel_for (inv_length input) fun i =>
        inl b = inv_index input i % 4i32
        inv_set counts b (inv_index counts b + 1i32)
    counts
    "#
}

fn main() {}
