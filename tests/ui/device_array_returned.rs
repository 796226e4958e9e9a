// Results come back as host arrays: returning a DeviceInvArray is an error at the type.
#![allow(unused_imports)]
use spiral::{spiral, Device, DeviceInvArray, Error, InvArray};

spiral! {
    targets = [cuda],
    fn give(dev: &Device, xs: &InvArray<i32>) -> Result<DeviceInvArray<i32>, Error>;
    r#"
open inv
open kernel
inl give xs = xs
    "#
}

fn main() {}
