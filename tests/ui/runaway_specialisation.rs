// A join point whose argument doubles at every recursive call used to exhaust memory inside
// rustc; the evaluator's size limit turns it into a compile error at the join point.
#![allow(unused_imports)]
use spiral::{spiral, Device, Error, InvArray};

spiral! {
    fn grow(dev: &Device, x: i32) -> Result<i32, Error>;
    r#"
inl rec f x : i32 = join f (x, x)
inl grow x = f x
    "#
}

fn main() {}
