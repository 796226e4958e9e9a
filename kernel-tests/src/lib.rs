//! The kernel corpus on every kernel target.
//!
//! Each `corpus/*.spir` program declares its exports with `// export:` lines. `build.rs`
//! compiles the corpus with spiral-build (C kernels) and generates, per program, a module with
//! the C wrappers (`c`), the same program through `spiral!` (`rust`), and one test per export
//! and target (`<export>__cpu_c`, `<export>__cpu_rust`). Each test runs its target on generated
//! inputs (lengths 0, 1, 17 and 1000, on 1 and 2 threads) and compares a summary of every
//! result with the export's one snapshot in `src/snapshots/`, shared by all targets: a target
//! that computes anything else fails. `cargo test -p spiral-kernel-tests -- --list` lists them.

#![allow(non_snake_case)]

pub mod support;

include!(concat!(env!("OUT_DIR"), "/corpus.rs"));
