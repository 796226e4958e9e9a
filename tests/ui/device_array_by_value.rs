// A DeviceInvArray parameter is borrowed (`&` or `&mut`): by value is an error at its type.
#![allow(unused_imports)]
use spiral::{spiral, Device, DeviceInvArray, Error, InvArray};

spiral! {
    targets = [cuda],
    fn take(dev: &Device, xs: DeviceInvArray<i32>) -> Result<(), Error>;
    r#"
open inv
open kernel
inl take xs = ()
    "#
}

fn main() {}
