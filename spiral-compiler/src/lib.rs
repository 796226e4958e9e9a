//! The Spiral compiler as a library.
//!
//! The pipeline, one IR per stage (see `ARCHITECTURE.md`):
//!
//! ```text
//! source text --syntax--> ast --prepass--> core IR --peval--> residual IR --codegen--> C / Rust / ...
//! ```
//!
//! Nothing here knows about proc macros or build scripts; `spiral-macros` and `spiral-build`
//! are thin shells over this crate.

pub mod codegen;
pub mod diagnostics;
pub mod driver;
pub mod infer;
pub mod peval;
pub mod prepass;
pub mod project;
pub mod stack;
pub mod syntax;
