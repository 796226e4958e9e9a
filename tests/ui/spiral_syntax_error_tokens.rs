// A Spiral syntax error in the plain-token form points at the offending token itself.
#![allow(unused_imports)]
use spiral::{spiral, Device, Error};

spiral! {
    fn one(dev: &Device) -> Result<i32, Error>;
    inl one () =
        inl x = 1i32
        x + * 2i32
}

fn main() {}
