// An error raised inside the bundled `inv`/`kernel` library is reported at the user's call,
// with the library line as a secondary label.
#![allow(unused_imports)]
use spiral::{spiral, Device, Error, InvArray};

spiral! {
    fn records(dev: &Device, input: &InvArray<i32>) -> Result<InvArray<i32>, Error>;
    r#"
open inv
open kernel
inl records input = map (fun x => {a = x}) input
    "#
}

fn main() {}
