//! A builder for `build.rs` that compiles a crate's Spiral packages.
