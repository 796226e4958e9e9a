// With `file = ...` the source comes from the file: inline source as well is an error.
#![allow(unused_imports)]
use spiral::{spiral, Device, Error};

spiral!(
    file = "tests/ui/kernels/one.spir",
    fn one(dev: &Device) -> Result<i32, Error>;
    r#"inl one () = 2i32"#
);

fn main() {}
