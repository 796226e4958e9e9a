// A string doubled 40 times at compile time is a compile error, not an out-of-memory abort.
#![allow(unused_imports)]
use spiral::{spiral, Device, Error, InvArray};

spiral! {
    fn big(dev: &Device) -> Result<i32, Error>;
    r#"
inl big () =
    inl rec loop s i = if i = 40i32 then s else loop (s + s) (i + 1i32)
    string_length (loop "ab" 0i32)
    "#
}

fn main() {}
