// An exported function must take the device first.
#![allow(unused_imports)]
use spiral::{spiral, Error, InvArray};

spiral! {
    fn map_kernel(input: &InvArray<i32>) -> Result<InvArray<i32>, Error>;
    r#"
inl map_kernel input = input
    "#
}

fn main() {}
