// The signature names a function the Spiral source does not define.
#![allow(unused_imports)]
use spiral::{spiral, Device, Error};

spiral! {
    fn two(dev: &Device) -> Result<i32, Error>;
    r#"
inl one () = 1i32
    "#
}

fn main() {}
