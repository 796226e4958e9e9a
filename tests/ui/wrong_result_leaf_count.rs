// A Rust result type with fewer leaves than the Spiral result used to drop data silently (the
// first leaf came back); now it is a compile error that names both types.
#![allow(unused_imports)]
use spiral::{spiral, Device, Error, InvArray};

spiral! {
    fn squares(dev: &Device, input: &InvArray<f32>) -> Result<InvArray<f32>, Error>;
    r#"
open inv
open kernel
inl squares input = map (fun x => x, x * x) input
    "#
}

fn main() {}
