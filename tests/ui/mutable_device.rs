// The device is borrowed immutably: `&mut Device` is rejected with a pointer to the parameter.
#![allow(unused_imports)]
use spiral::{spiral, Device, Error};

spiral! {
    fn one(dev: &mut Device) -> Result<i32, Error>;
    r#"
inl one () = 1i32
    "#
}

fn main() {}
