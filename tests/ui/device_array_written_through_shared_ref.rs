// A kernel that writes a `&DeviceInvArray` is refused: the signature must say `&mut`.
#![allow(unused_imports)]
use spiral::{spiral, Device, DeviceInvArray, Error, InvArray};

spiral! {
    targets = [cuda],
    fn double(dev: &Device, xs: &DeviceInvArray<i32>) -> Result<(), Error>;
    r#"
open inv
open kernel
inl double xs = map_inp (fun x => x * 2i32) xs xs
    "#
}

fn main() {}
