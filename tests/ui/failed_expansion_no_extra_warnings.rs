// A failed expansion reports the Spiral error only: the exports still exist (with bodies that
// never run), so the caller's imports are used and its calls resolve (no cascade of errors).
use spiral::{spiral, Device, Error, InvArray};

spiral! {
    fn total(dev: &Device, input: &InvArray<i32>) -> Result<i32, Error>;
    r#"
open inv
open kernel
inl total input = reduce (fun s x => s + x) true input
    "#
}

fn main() {
    let xs: InvArray<i32> = (0..4).collect();
    let _ = total(&Device::cpu(), &xs);
}
