// `Vec<i32>` cannot cross into Spiral; inverse arrays, scalars and tuples can.
#![allow(unused_imports)]
use spiral::{spiral, Device, Error};

spiral! {
    fn total(dev: &Device, xs: Vec<i32>) -> Result<i32, Error>;
    r#"
inl total xs = 0i32
    "#
}

fn main() {}
