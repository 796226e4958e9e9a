//! Exported function signatures: the Rust signature a user writes (in `spiral!` or in a
//! `// export: fn ...;` line of a Spiral file) checked and converted to an
//! [`Export`](spiral_abi::Export). The parser lives in `spiral-abi` (shared with `spiral!`,
//! which so does not depend on this crate and its C compiler driver).

pub use spiral_abi::signature::*;
