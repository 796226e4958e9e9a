// An exported function returns `Result<T, Error>` (launches can fail).
#![allow(unused_imports)]
use spiral::{spiral, Device};

spiral! {
    fn one(dev: &Device) -> i32;
    r#"
inl one () = 1i32
    "#
}

fn main() {}
