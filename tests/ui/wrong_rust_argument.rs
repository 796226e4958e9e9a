// The generated wrapper is typed: passing pairs where triples are expected is a Rust type error.
use spiral::{spiral, Device, Error, InvArray};

spiral! {
    fn map_kernel(dev: &Device, input: &InvArray<(i32, i32, i32)>) -> Result<InvArray<i32>, Error>;
    r#"
open inv
open kernel
inl map_kernel input = map (fun a,b,c => a+b+c) input
    "#
}

fn main() {
    let pairs: InvArray<(i32, i32)> = (0..4).map(|i| (i, i)).collect();
    let _ = map_kernel(&Device::cpu(), &pairs);
}
