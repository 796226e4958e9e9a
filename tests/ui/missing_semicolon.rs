// Each exported signature ends with `;`.
#![allow(unused_imports)]
use spiral::{spiral, Device, Error};

spiral! {
    fn one(dev: &Device) -> Result<i32, Error>
}

fn main() {}
