// An error raised inside the bundled `inv`/`kernel` library is reported at the user's call,
// with the library line as a secondary label.
#![allow(unused_imports)]
use spiral::{spiral, Device, Error, InvArray};

spiral! {
    fn bump(dev: &Device, input: &InvArray<i32>) -> Result<(), Error>;
    r#"
open inv
open kernel
inl bump input = atomic_add input 0i32 1i32
    "#
}

fn main() {}
