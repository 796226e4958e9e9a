// `file = ...` names a Spiral file that does not exist (relative to CARGO_MANIFEST_DIR).
#![allow(unused_imports)]
use spiral::{spiral, Device, Error, InvArray};

spiral!(
    file = "tests/ui/no_such_kernel.spir",
    fn map_kernel(dev: &Device, input: &InvArray<i32>) -> Result<InvArray<i32>, Error>;
);

fn main() {}
