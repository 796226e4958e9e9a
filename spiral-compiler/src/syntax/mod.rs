//! Tokens, indentation, the parser and the AST with spans.
