// Spiral specialises exports to concrete types, so a generic Rust signature is rejected.
#![allow(unused_imports)]
use spiral::{spiral, Device, Error};

spiral! {
    fn ident<T>(dev: &Device, x: T) -> Result<T, Error>;
    r#"
inl ident x = x
    "#
}

fn main() {}
