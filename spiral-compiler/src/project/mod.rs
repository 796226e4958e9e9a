//! `package.spiproj` files, module order, the package graph and the bundled `core` package.

pub mod spiproj;
