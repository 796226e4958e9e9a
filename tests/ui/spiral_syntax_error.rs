// A Spiral syntax error inside a raw string: the message gives the Rust file's line and column.
#![allow(unused_imports)]
use spiral::{spiral, Device, Error, InvArray};

spiral! {
    fn map_kernel(dev: &Device, input: &InvArray<(i32, i32)>) -> Result<InvArray<i32>, Error>;
    r#"
open inv
open kernel
inl map_kernel input = map (fun a,b => a + ) input
    "#
}

fn main() {}
