// The Rust signature passes two arguments to a Spiral function of three: reported as such
// (it used to be "expected a function in application", inside the library).
#![allow(unused_imports)]
use spiral::{spiral, Device, Error, InvArray};

spiral! {
    fn saxpy(dev: &Device, a: f32, x: &InvArray<f32>) -> Result<InvArray<f32>, Error>;
    r#"
open inv
open kernel
inl saxpy a x y = map (fun x, y => a * x + y) (inv_zip x y)
    "#
}

fn main() {}
