// Top-down code: the Rust signature says `f32` where inference gives `scale` the type
// `i32 -> i32`; the error is at the Rust parameter list, naming both types.
#![allow(unused_imports)]
use spiral::{spiral, Device, Error, InvArray};

spiral! {
    fn scale(dev: &Device, x: f32) -> Result<i32, Error>;
    spi = r#"
inl scale (x : i32) = x * 3
    "#
}

fn main() {}
