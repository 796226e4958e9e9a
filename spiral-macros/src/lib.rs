//! `spiral!`: Spiral code inside a Rust crate, specialised at compile time.
//!
//! # Forms
//! ```text
//! spiral! {
//!     pub fn map_kernel(dev: &Device, input: &InvArray<(i32, i32, i32)>) -> Result<InvArray<(i32, i32)>, Error>;
//!     r#"
//!     inl map_kernel input = map (fun a,b,c => a+b+c, a*b*c) input
//!     "#
//! }
//! spiral!(file = "src/kernels/map.spi", fn map_kernel(dev: &Device, ...) -> Result<..., Error>;);
//! spiral! { fn one(dev: &Device) -> Result<i32, Error>; inl one () = 1i32 }   // plain tokens
//! spiral! { fn twice(dev: &Device, x: f32) -> Result<f32, Error>; spi = r#"inl twice x = x * 2"# }
//! spiral!(file = "src/kernels/map.spi", fn ...;);                                // top-down file
//! ```
//!
//! # Top-down code
//! `spi = r#"..."#` and a `file` ending in `.spi` hold top-down Spiral (v2's `.spi` modules):
//! it is type-checked by inference before anything is evaluated, and each export's Rust
//! signature is checked against the inferred type of its definition. A type error is reported
//! at the Spiral code; a signature that disagrees with the inferred type is reported at the
//! Rust signature (the parameters or the result type), naming both types. The library's
//! kernels are typed for top-down code after `open kernel`: an `InvArray<T>` parameter is an
//! `inv_array t`, and `map`, `map_inp`, `reduce`, `fold`, `scan_inclusive`, `scan_exclusive`,
//! `filter`, `histogram`, `parallel_for`, `inv_index`, `inv_set`, `inv_length` and `inv_zip`
//! have their types. The other forms are bottom-up (`.spir`) code.
//!
//! # Exports
//! Each Rust function signature written before the Spiral source (ending in `;`) is an *export*:
//! the macro emits a Rust function with exactly that signature whose body is the residual program
//! of the Spiral top-level function of the same name, applied to the arguments after `dev`.
//! The first parameter must be `&Device` and the return type `Result<T, Error>`.
//! Parameter and result types may be scalars (`i8`..`u64`, `f32`, `f64`, `bool`, and `usize`
//! seen as `i32`), tuples of them, `()`, structs declared in the same invocation (as
//! `#[derive(Inverse)] struct Name { fields }` items before or between the signatures; Spiral
//! sees records), and inverse arrays of those: `&InvArray<T>`, `InvSlice<T>`, `InvArray<T>`,
//! `&mut InvArray<T>` and `InvSliceMut<T>`; `InvArray<(a, b, c)>` is seen by Spiral as an
//! inverse array of `a * b * c`.
//!
//! Spiral errors become `compile_error!` at the best span available (the token in the plain-token
//! form, otherwise the literal or the path), with `file:line:col` of the Spiral code and the
//! rendered snippet and evaluation trace in the message.
//!
//! Set `SPIRAL_MACRO_TIMING=1` to print each expansion's duration (and the compiler's part) to stderr, and
//! `SPIRAL_MACRO_DUMP=1` to print the generated Rust.

mod source;

use proc_macro::{Span, TokenStream, TokenTree};
use proc_macro2::TokenStream as TokenStream2;
use quote::{quote, quote_spanned};
use source::SourceText;
use spiral_compiler::driver as backend;
use spiral_compiler::diagnostics::{Diagnostic, SourceMap};

/// Compiles Spiral source to Rust items. See the crate documentation for the accepted forms.
#[proc_macro]
pub fn spiral(input: TokenStream) -> TokenStream {
    let t0 = std::time::Instant::now();
    let out = match expand(input) {
        Ok(ts) => ts,
        Err(e) => e,
    };
    if std::env::var_os("SPIRAL_MACRO_TIMING").is_some() {
        eprintln!("spiral!: expanded in {:.3} ms", t0.elapsed().as_secs_f64() * 1e3);
    }
    out.into()
}

/// After a Spiral error: the errors, then each export with a body that never runs. The caller's
/// code still finds the functions (no cascade of "cannot find function" errors) and its imports
/// (`Device`, `Error`, `InvArray`) stay used (no spurious unused-import warnings).
fn with_stubs(inv: &Invocation, errors: TokenStream2) -> TokenStream2 {
    let mut out = errors;
    for item in &inv.structs {
        out.extend(quote!(#item));
    }
    for ((sig, vis), attrs) in inv.sigs.iter().zip(&inv.vis).zip(&inv.attrs) {
        out.extend(quote! {
            #(#attrs)*
            #[allow(unused_variables, dead_code, clippy::all)]
            #vis #sig { ::core::unreachable!("spiral!: this export failed to compile") }
        });
    }
    out
}

/// A `compile_error!` with `msg` at `span`.
fn error_at(span: Span, msg: &str) -> TokenStream2 {
    let span2 = proc_macro2::Span::from(span);
    quote_spanned!(span2=> ::core::compile_error!{ #msg })
}

/// What the macro invocation contains, before compilation.
struct Invocation {
    sigs: Vec<syn::Signature>,
    vis: Vec<syn::Visibility>,
    /// Each export's `///` docs and attributes, passed through to the generated function.
    attrs: Vec<Vec<syn::Attribute>>,
    /// Structs declared in the invocation (emitted as written; signatures may use them).
    structs: Vec<syn::ItemStruct>,
    /// The kernel targets (`targets = [cpu, cuda]`; CPU only by default).
    targets: backend::ExportTargets,
    source: SourceText,
    /// Top-down (`spi = "..."` or a `.spi` file) or bottom-up (every other form).
    segment: spiral_compiler::syntax::Segment,
    /// The tokens of the `file = "..."` path, to emit an `include_str!` that makes cargo rebuild.
    file_path: Option<(String, Span)>,
}

fn expand(input: TokenStream) -> Result<TokenStream2, TokenStream2> {
    let inv = parse_invocation(input)?;
    let mut defs = Vec::new();
    for item in &inv.structs {
        match spiral_abi::signature::struct_def(item, &defs) {
            Ok(d) => defs.push(d),
            Err((span, msg)) => {
                let msg = format!("spiral!: {msg}");
                return Err(quote_spanned!(span=> ::core::compile_error!{ #msg }));
            }
        }
    }
    let mut exports = Vec::new();
    for sig in &inv.sigs {
        match spiral_abi::signature::export_of_with(sig, &defs) {
            Ok(e) => exports.push(e),
            Err((span, msg)) => {
                let msg = format!("spiral!: {msg}");
                return Err(quote_spanned!(span=> ::core::compile_error!{ #msg }));
            }
        }
    }
    let mut sm = SourceMap::new();
    let t = std::time::Instant::now();
    let compiled = backend::compile_exports_in(&mut sm, &inv.source.name, &inv.source.text, inv.segment, &exports, inv.targets);
    if std::env::var_os("SPIRAL_MACRO_TIMING").is_some() {
        eprintln!("spiral!: compiler {:.3} ms", t.elapsed().as_secs_f64() * 1e3);
    }
    let bodies = match compiled {
        Ok(b) => b,
        Err(backend::CompileError::Spiral(diags)) => return Err(with_stubs(&inv, diagnostics_to_errors(&sm, &inv, &diags))),
        Err(backend::CompileError::MissingExport(i)) => {
            let sig = &inv.sigs[i];
            let msg = format!("spiral!: `{}` is not defined by a top-level `inl` or `let` in the Spiral source", sig.ident);
            let span = sig.ident.span();
            return Err(with_stubs(&inv, quote_spanned!(span=> ::core::compile_error!{ #msg })));
        }
    };
    let mut items = TokenStream2::new();
    for item in &inv.structs {
        items.extend(quote!(#item));
    }
    let parse = |text: &str| -> Result<TokenStream2, TokenStream2> {
        text.parse().map_err(|e| {
            let msg = format!("spiral!: internal error: the Rust backend produced invalid tokens: {e}");
            error_at(Span::call_site(), &msg)
        })
    };
    let mut nvrtc_exports = Vec::new();
    for (((sig, vis), attrs), compiled) in inv.sigs.iter().zip(&inv.vis).zip(&inv.attrs).zip(bodies) {
        let dev = dev_ident(sig);
        let cpu = match &compiled.cpu {
            Some(b) => parse(b)?,
            None => {
                let (mut names, mut idents) = (Vec::new(), Vec::new());
                if inv.targets.cuda {
                    names.push("CUDA");
                    idents.push("cuda");
                }
                if inv.targets.upmem {
                    names.push("UPMEM");
                    idents.push("upmem");
                }
                let what = format!("run `{}`: it was compiled for {} only (`targets = [{}]`)", sig.ident, names.join(" and "), idents.join(", "));
                quote! { Err(::spiral::Error::Unsupported { device: ::std::string::ToString::to_string(#dev), operation: #what.into() }) }
            }
        };
        let cpu = match &compiled.upmem {
            None => cpu,
            Some((upmem_body, programs)) => {
                let upmem_body = parse(upmem_body)?;
                let n = programs.len();
                quote! {
                    match ::spiral::Device::kind(#dev) {
                        ::spiral::DeviceKind::Upmem => {
                            static __SPIRAL_UPMEM: [&str; #n] = [#(#programs),*];
                            #upmem_body
                        }
                        _ => { #cpu }
                    }
                }
            }
        };
        let body = match &compiled.cuda {
            None => cpu,
            Some((cuda_body, cu)) => {
                let cuda_body = parse(cuda_body)?;
                let source = match cuda_source(cu) {
                    Ok(ptx) => quote! { ::spiral::KernelSource::Ptx(#ptx) },
                    Err(why) => {
                        nvrtc_exports.push((sig.ident.to_string(), why));
                        quote! { ::spiral::KernelSource::Cuda(#cu) }
                    }
                };
                quote! {
                    match ::spiral::Device::kind(#dev) {
                        ::spiral::DeviceKind::Cuda => {
                            static __SPIRAL_CUDA: ::spiral::KernelSource<'static> = #source;
                            #cuda_body
                        }
                        _ => { #cpu }
                    }
                }
            }
        };
        items.extend(quote! {
            #(#attrs)*
            #[allow(unused_variables, unused_mut, unused_parens, unreachable_code, clippy::all)]
            #vis #sig { #body }
        });
    }
    if !nvrtc_exports.is_empty() {
        // No CUDA compiler at build time: say so with a warning (a deprecated item, the one
        // warning a proc macro can raise on stable Rust).
        let names: Vec<String> = nvrtc_exports.iter().map(|(n, _)| format!("`{n}`")).collect();
        let note = format!(
            "spiral!: {}, so the CUDA kernels of {} are compiled with NVRTC at their first launch; set SPIRAL_NVCC or put nvcc on PATH (e.g. `pip install nvidia-cuda-nvcc`) to embed PTX instead",
            nvrtc_exports[0].1,
            names.join(", ")
        );
        items.extend(quote! {
            const _: () = {
                #[deprecated(note = #note)]
                struct SpiralCudaWithoutNvcc;
                #[allow(dead_code)]
                fn __spiral_warn() { let _ = SpiralCudaWithoutNvcc; }
            };
        });
    }
    if std::env::var_os("SPIRAL_MACRO_DUMP").is_some() {
        eprintln!("spiral!: expansion:\n{items}");
    }
    if let Some((path, span)) = inv.file_path {
        let span2 = proc_macro2::Span::from(span);
        items.extend(quote_spanned! {span2=> const _: &str = ::core::include_str!(#path); });
    }
    Ok(items)
}

/// Converts compiler diagnostics to `compile_error!` invocations at the best spans.
fn diagnostics_to_errors(sm: &SourceMap, inv: &Invocation, diags: &[Diagnostic]) -> TokenStream2 {
    let src = &inv.source;
    let mut out = TokenStream2::new();
    for d in diags {
        // A mismatch with an export's signature is reported at the signature (the part that
        // is wrong), with the Spiral side in the message.
        let at_signature = d.host.and_then(|h| {
            use spiral_compiler::diagnostics::HostPart;
            use syn::spanned::Spanned;
            match h {
                HostPart::Params(i) => inv.sigs.get(i).map(|s| if s.inputs.is_empty() { s.ident.span() } else { s.inputs.span() }),
                HostPart::Param(i, k) => inv.sigs.get(i).map(|s| match s.inputs.iter().nth(k + 1) {
                    Some(syn::FnArg::Typed(pt)) => pt.ty.span(),
                    Some(a) => a.span(),
                    None => s.inputs.span(),
                }),
                HostPart::Result(i) => inv.sigs.get(i).map(|s| match &s.output {
                    syn::ReturnType::Type(_, t) => t.span(),
                    syn::ReturnType::Default => s.ident.span(),
                }),
            }
        });
        let rendered = spiral_compiler::diagnostics::render(sm, std::slice::from_ref(d));
        let in_user_text = sm.name(d.span.file) == src.name && (d.span.start as usize) <= src.text.len();
        let (name, (line, col), span) = if in_user_text {
            (src.name.as_str(), src.rust_position(d.span.start as usize), src.span_at(d.span.start as usize))
        } else {
            let (l, c) = sm.line_col(d.span.file, d.span.start);
            (sm.name(d.span.file), (l, c), src.span_at(usize::MAX))
        };
        // The rendered report repeats the message in its header; keep the snippet, labels and trace.
        let body = match rendered.find("┌─") {
            Some(i) => {
                let start = rendered[..i].rfind('\n').map(|j| j + 1).unwrap_or(0);
                &rendered[start..]
            }
            None => "",
        };
        let msg = format!("Spiral error at {name}:{line}:{col}: {}\n{}", d.message, body.trim_end());
        match at_signature {
            Some(s) => out.extend(quote_spanned!(s=> ::core::compile_error!{ #msg })),
            None => out.extend(error_at(span, &msg)),
        }
    }
    out
}

fn parse_invocation(input: TokenStream) -> Result<Invocation, TokenStream2> {
    let tokens: Vec<TokenTree> = input.into_iter().collect();
    let mut i = 0;
    let mut sigs = Vec::new();
    let mut vis = Vec::new();
    let mut attrs = Vec::new();
    let mut file_path = None;
    let mut structs = Vec::new();
    let mut targets = backend::ExportTargets::default();
    let mut spi: Option<proc_macro::Literal> = None;
    loop {
        // Skip separators between header items.
        while matches!(tokens.get(i), Some(TokenTree::Punct(p)) if p.as_char() == ',' || p.as_char() == ';') {
            i += 1;
        }
        match tokens.get(i) {
            Some(TokenTree::Ident(id)) if id.to_string() == "file" && is_punct(tokens.get(i + 1), '=') => {
                let Some(TokenTree::Literal(lit)) = tokens.get(i + 2) else {
                    return Err(error_at(id.span(), "spiral!: expected a string literal after `file =`"));
                };
                let path = match string_content(&lit.to_string()) {
                    Some((p, _)) => p,
                    None => return Err(error_at(lit.span(), "spiral!: expected a string literal after `file =`")),
                };
                file_path = Some((path, lit.span()));
                i += 3;
            }
            Some(TokenTree::Ident(id)) if id.to_string() == "spi" && is_punct(tokens.get(i + 1), '=') => {
                // `spi = r#"..."#`: top-down Spiral source in a string literal.
                match tokens.get(i + 2) {
                    Some(TokenTree::Literal(lit)) if string_content(&lit.to_string()).is_some() => spi = Some(lit.clone()),
                    _ => return Err(error_at(id.span(), "spiral!: expected a string literal after `spi =` (top-down Spiral source)")),
                }
                i += 3;
            }
            Some(TokenTree::Ident(id)) if id.to_string() == "targets" && is_punct(tokens.get(i + 1), '=') => {
                // `targets = [cpu, cuda]`: the kernel targets to compile the exports for.
                let Some(TokenTree::Group(g)) = tokens.get(i + 2).filter(|t| matches!(t, TokenTree::Group(g) if g.delimiter() == proc_macro::Delimiter::Bracket)) else {
                    return Err(error_at(id.span(), "spiral!: expected `targets = [cpu, cuda]`"));
                };
                let mut t = backend::ExportTargets { cpu: false, cuda: false, upmem: false };
                for tok in g.stream() {
                    match tok {
                        TokenTree::Ident(x) if x.to_string() == "cpu" => t.cpu = true,
                        TokenTree::Ident(x) if x.to_string() == "cuda" => t.cuda = true,
                        TokenTree::Ident(x) if x.to_string() == "upmem" => t.upmem = true,
                        TokenTree::Punct(p) if p.as_char() == ',' => {}
                        other => return Err(error_at(other.span(), "spiral!: the kernel targets are `cpu`, `cuda` and `upmem`")),
                    }
                }
                if !(t.cpu || t.cuda || t.upmem) {
                    return Err(error_at(g.span(), "spiral!: name at least one kernel target: `targets = [cpu]`, `[cuda]`, `[upmem]` or several, e.g. `[cpu, cuda, upmem]`"));
                }
                targets = t;
                i += 3;
            }
            Some(first) if is_struct_item(&tokens[i..]) => {
                // `#[derive(Inverse, ..)] pub struct Name { fields }`: runs to its brace group.
                let start = i;
                while i < tokens.len() && !matches!(tokens.get(i), Some(TokenTree::Group(g)) if g.delimiter() == proc_macro::Delimiter::Brace) {
                    i += 1;
                }
                if i == tokens.len() {
                    return Err(error_at(first.span(), "spiral!: a struct needs named fields in braces"));
                }
                i += 1;
                let item_tokens = TokenStream2::from(tokens[start..i].iter().cloned().collect::<TokenStream>());
                match syn::parse2::<syn::ItemStruct>(item_tokens) {
                    Ok(item) => structs.push(item),
                    Err(e) => return Err(e.to_compile_error()),
                }
            }
            Some(first) if matches!(first, TokenTree::Ident(id) if id.to_string() == "fn" || id.to_string() == "pub")
                || (is_punct(Some(first), '#') && matches!(tokens.get(i + 1), Some(TokenTree::Group(g)) if g.delimiter() == proc_macro::Delimiter::Bracket)) =>
            {
                // A signature (with its `///` docs and attributes) runs until the next top-level `;`.
                let first_span = first.span();
                let start = i;
                while i < tokens.len() && !is_punct(tokens.get(i), ';') {
                    i += 1;
                }
                if i == tokens.len() {
                    return Err(error_at(first_span, "spiral!: an exported signature must end with `;`"));
                }
                let sig_tokens: TokenStream = tokens[start..i].iter().cloned().collect();
                let sig_tokens2 = TokenStream2::from(sig_tokens);
                let item: syn::ForeignItemFn = match syn::parse2(quote!(#sig_tokens2;)) {
                    Ok(f) => f,
                    Err(e) => return Err(e.to_compile_error()),
                };
                vis.push(item.vis);
                attrs.push(item.attrs);
                sigs.push(item.sig);
                i += 1;
            }
            _ => break,
        }
    }
    let rest = &tokens[i..];
    use spiral_compiler::syntax::Segment;
    let mut segment = Segment::BottomUp;
    if spi.is_some() {
        if let Some(first) = rest.first() {
            return Err(error_at(first.span(), "spiral!: with `spi = \"...\"` the Spiral source is that literal; remove this"));
        }
        if let Some((_, span)) = &file_path {
            return Err(error_at(*span, "spiral!: give the Spiral source once: `spi = \"...\"` or `file = \"...\"`, not both"));
        }
        segment = Segment::TopDown;
    }
    let source = if let Some(lit) = &spi {
        let (content, prefix) = string_content(&lit.to_string()).unwrap_or_default();
        SourceText::from_literal(&content, lit.span(), prefix)
    } else if let Some((path, span)) = &file_path {
        if path.ends_with(".spi") {
            segment = Segment::TopDown;
        }
        if !rest.is_empty() {
            return Err(error_at(rest[0].span(), "spiral!: with `file = ...` the Spiral source comes from the file; remove this"));
        }
        let full = resolve_file(path, *span);
        match std::fs::read_to_string(&full) {
            Ok(text) => SourceText::from_file(&text, path.clone(), *span),
            Err(e) => {
                let msg = format!(
                    "spiral!: cannot read Spiral file `{path}` (relative to CARGO_MANIFEST_DIR or to the folder of this Rust file): {}",
                    io_reason(&e)
                );
                return Err(error_at(*span, &msg));
            }
        }
    } else {
        match rest {
            [TokenTree::Literal(lit)] if string_content(&lit.to_string()).is_some() => {
                let (content, prefix) = string_content(&lit.to_string()).unwrap_or_default();
                SourceText::from_literal(&content, lit.span(), prefix)
            }
            [] => return Err(error_at(Span::call_site(), "spiral!: expected Spiral source (a string literal, `file = \"...\"` or tokens)")),
            _ => SourceText::from_tokens(rest.iter().cloned().collect(), rest[0].span()),
        }
    };
    // The include that makes cargo rebuild when the file changes needs its full path.
    let file_path = file_path.map(|(p, s)| (resolve_file(&p, s).to_string_lossy().into_owned(), s));
    Ok(Invocation { sigs, vis, attrs, structs, targets, source, segment, file_path })
}

/// The device parameter of an export signature (its first parameter's name).
fn dev_ident(sig: &syn::Signature) -> TokenStream2 {
    match sig.inputs.first() {
        Some(syn::FnArg::Typed(pt)) => {
            let pat = &pt.pat;
            quote!(#pat)
        }
        _ => quote!(dev),
    }
}

/// The PTX of a CUDA unit, compiled with `nvcc` when one is found (cached in the system's temp
/// folder, so an unchanged build runs no `nvcc`); `Err` when there is none (or it fails: the
/// generated source is checked by `cargo xtask ptx-check`, and NVRTC reports at launch).
fn cuda_source(cu: &str) -> Result<String, String> {
    use spiral_compiler::codegen::cuda::nvcc;
    let Some(nvcc_path) = nvcc::find_nvcc() else {
        return Err("no CUDA compiler (nvcc) was found at build time".into());
    };
    let cache = std::env::temp_dir().join("spiral-ptx-cache");
    nvcc::compile_ptx(&nvcc_path, cu, &nvcc::arch(), Some(&cache)).map(|(ptx, _)| ptx).map_err(|e| {
        let first = e.lines().take(3).collect::<Vec<_>>().join(" ");
        format!("nvcc failed ({first})")
    })
}

/// Whether the tokens start a struct item: attributes, an optional visibility, then `struct`.
fn is_struct_item(tokens: &[TokenTree]) -> bool {
    let mut i = 0;
    loop {
        match tokens.get(i) {
            Some(TokenTree::Punct(p)) if p.as_char() == '#' => i += 2,
            Some(TokenTree::Ident(id)) if id.to_string() == "pub" => {
                i += 1;
                if matches!(tokens.get(i), Some(TokenTree::Group(g)) if g.delimiter() == proc_macro::Delimiter::Parenthesis) {
                    i += 1;
                }
            }
            Some(TokenTree::Ident(id)) => return id.to_string() == "struct",
            _ => return false,
        }
    }
}

/// Where `file = "path"` points: relative to `CARGO_MANIFEST_DIR` when the file exists there,
/// otherwise relative to the folder of the Rust file that calls `spiral!` (as `include_str!`).
fn resolve_file(path: &str, span: Span) -> std::path::PathBuf {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let from_manifest = std::path::Path::new(&dir).join(path);
    if from_manifest.is_file() {
        return from_manifest;
    }
    match span.local_file().as_ref().and_then(|f| f.parent()) {
        Some(d) if d.join(path).is_file() => d.join(path),
        _ => from_manifest,
    }
}

/// An I/O error's reason without the OS error number (stable across platforms).
fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

fn is_punct(t: Option<&TokenTree>, c: char) -> bool {
    matches!(t, Some(TokenTree::Punct(p)) if p.as_char() == c)
}

/// The content of a string literal token (plain or raw) and the length of its opening part
/// (`"`, `r"`, `r#"`...). `None` if the token is not a string literal.
fn string_content(lit: &str) -> Option<(String, usize)> {
    if let Some(rest) = lit.strip_prefix('r') {
        let hashes = rest.len() - rest.trim_start_matches('#').len();
        let body = &rest[hashes..];
        let body = body.strip_prefix('"')?;
        let body = body.strip_suffix(&"#".repeat(hashes))?.strip_suffix('"')?;
        return Some((body.to_string(), 2 + hashes));
    }
    let body = lit.strip_prefix('"')?.strip_suffix('"')?;
    Some((unescape(body), 1))
}

/// Minimal unescaping of a plain Rust string literal (`\n`, `\t`, `\\`, `\"`, `\'`, `\0`, line continuations).
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('0') => out.push('\0'),
            Some('\n') => {
                while matches!(chars.peek(), Some(c) if c.is_whitespace()) {
                    chars.next();
                }
            }
            Some(o) => out.push(o),
            None => {}
        }
    }
    out
}


#[cfg(test)]
mod tests {
    use super::{string_content, unescape};

    #[test]
    fn string_literals_raw_and_plain() {
        assert_eq!(string_content(r####"r#"inl x = "a""#"####), Some((r#"inl x = "a""#.to_string(), 3)));
        assert_eq!(string_content(r#"r"abc""#), Some(("abc".to_string(), 2)));
        assert_eq!(string_content(r#""a\nb""#), Some(("a\nb".to_string(), 1)));
        assert_eq!(string_content("42"), None);
        assert_eq!(string_content("'c'"), None);
    }

    #[test]
    fn unescape_handles_escapes_and_continuations() {
        assert_eq!(unescape(r#"a\"b\\c\td"#), "a\"b\\c\td");
        assert_eq!(unescape("one \\\n     two"), "one two");
    }
}
