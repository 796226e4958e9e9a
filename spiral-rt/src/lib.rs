//! The Spiral runtime: inverse arrays (struct-of-arrays), devices and typed errors.
