// A DeviceInvArray's data stays on the GPU: host code may only pass it to kernels, so reading
// an element on the host is refused when the crate builds.
#![allow(unused_imports)]
use spiral::{spiral, Device, DeviceInvArray, Error, InvArray};

spiral! {
    targets = [cpu, cuda],
    fn first(dev: &Device, xs: &DeviceInvArray<i32>) -> Result<i32, Error>;
    r#"
open inv
open kernel
inl first xs = inv_index xs 0i32
    "#
}

fn main() {}
