//! Spiral for Rust.
//!
//! Spiral kernels written with [`spiral!`] (or compiled by `spiral-build` from a build
//! script) are specialised at `cargo build` time and called through typed Rust functions
//! that move data as inverse arrays ([`InvArray`]).

pub use spiral_macros::spiral;
pub use spiral_rt::*;
