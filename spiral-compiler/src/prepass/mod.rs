//! The prepass: scopes, free variables and pattern compilation, from the AST to the core IR.

pub mod core;
