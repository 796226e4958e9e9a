// `spiral!` needs Spiral source.
#![allow(unused_imports)]
use spiral::spiral;

spiral!();

fn main() {}
