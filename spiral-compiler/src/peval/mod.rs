//! The partial evaluator: core IR in, residual typed IR out.
//!
//! The residual IR that backends consume is in [`ir`].
pub mod ir;
