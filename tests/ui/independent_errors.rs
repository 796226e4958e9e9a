// Independent errors in two exports of one `spiral!` are both reported.
#![allow(unused_imports)]
use spiral::{spiral, Device, Error, InvArray};

spiral! {
    fn first(dev: &Device, x: f32) -> Result<f32, Error>;
    fn second(dev: &Device, x: i32) -> Result<bool, Error>;
    r#"
inl first x = x * 2
inl second x = x + true
    "#
}

fn main() {}
