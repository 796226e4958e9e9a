//! The partial evaluator: core IR in, residual typed IR out.
