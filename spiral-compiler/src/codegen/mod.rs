//! Backends. Each prints source text from the residual IR; one folder per backend.
pub mod rust;
