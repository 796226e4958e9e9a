//! `spiral!`: Spiral code inside a Rust crate, specialised at compile time.
use proc_macro::TokenStream;

/// Compiles Spiral source to Rust items.
#[proc_macro]
pub fn spiral(_input: TokenStream) -> TokenStream {
    TokenStream::new()
}
