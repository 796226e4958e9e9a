// An error inside a Spiral file named with `file = ...` is reported at that file's line and column.
#![allow(unused_imports)]
use spiral::{spiral, Device, Error, InvArray};

spiral!(
    file = "kernels/bad_map.spir",
    fn map_kernel(dev: &Device, input: &InvArray<(i32, i32)>) -> Result<InvArray<i32>, Error>;
);

fn main() {}
