//! The `spiral` command line tool.
fn main() {}
