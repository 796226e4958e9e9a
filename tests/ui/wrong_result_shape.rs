// A tuple result with the wrong element types (and count) is a compile error naming both.
#![allow(unused_imports)]
use spiral::{spiral, Device, Error, InvArray};

spiral! {
    fn three(dev: &Device, x: f32) -> Result<(f32, i32), Error>;
    r#"
inl three x = x, x * 2.0f32, x * 3.0f32
    "#
}

fn main() {}
