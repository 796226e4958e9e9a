// Top-down code with a type error (a `bool` added to a number): inference reports it before
// evaluation, at the Spiral code (file:line:col of this Rust file), with both types.
#![allow(unused_imports)]
use spiral::{spiral, Device, Error, InvArray};

spiral! {
    fn add_flag(dev: &Device, x: i32) -> Result<i32, Error>;
    spi = r#"
inl add_flag x =
    inl flag = x > 2
    x + flag
    "#
}

fn main() {}
