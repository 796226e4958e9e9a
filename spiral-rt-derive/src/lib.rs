//! `#[derive(Inverse)]`: lets a struct be stored in an `InvArray` as one buffer per leaf field.
//!
//! Use it through `spiral_rt::Inverse` (or `spiral::Inverse`); the documentation of the
//! generated items is on the `Inverse` trait in `spiral-rt`.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{parse_macro_input, parse_quote, Data, DeriveInput, Fields, GenericParam, Member, Path, Type};

/// Derives `spiral_rt::Inverse` for a struct whose fields all implement `Inverse`.
///
/// For a struct `Foo` this also defines `FooColumns`, `FooSlices<'a>` and `FooSlicesMut<'a>`
/// (the owned, borrowed and mutably borrowed leaf trees), with `Foo`'s field names and
/// visibility. `#[inverse(crate = "path")]` names the runtime crate when it is neither
/// `::spiral_rt` nor `::spiral`.
#[proc_macro_derive(Inverse, attributes(inverse))]
pub fn derive_inverse(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand(&input) {
        Ok(ts) => ts.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// Reads `#[inverse(crate = "path")]`, if present.
fn crate_override(input: &DeriveInput) -> syn::Result<Option<Path>> {
    let mut found = None;
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("inverse")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                let lit: syn::LitStr = meta.value()?.parse()?;
                found = Some(lit.parse::<Path>()?);
                Ok(())
            } else {
                Err(meta.error("unknown `inverse` option; the only one is `crate = \"path\"`"))
            }
        })?;
    }
    Ok(found)
}

/// Whether a manifest declares a dependency called `name` (`name = ...`, `name.workspace = ...`
/// or a `[dependencies.name]` table).
fn manifest_mentions(text: &str, name: &str) -> bool {
    text.lines().any(|line| {
        let l = line.trim_start();
        if let Some(rest) = l.strip_prefix(name) {
            let rest = rest.trim_start();
            return rest.starts_with('=') || rest.starts_with('.');
        }
        if let Some(table) = l.strip_prefix('[') {
            let table = table.trim_end().trim_end_matches(']');
            return table.rsplit('.').next() == Some(name) && table.contains("dependencies");
        }
        false
    })
}

/// `::spiral_rt`, or `::spiral` when the crate being compiled depends on `spiral` but not on
/// `spiral-rt` (so that users of the umbrella crate need no second dependency).
fn default_crate() -> Path {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let text = std::fs::read_to_string(std::path::Path::new(&dir).join("Cargo.toml")).unwrap_or_default();
    let pkg = std::env::var("CARGO_PKG_NAME").unwrap_or_default();
    let has_rt = pkg == "spiral-rt" || manifest_mentions(&text, "spiral-rt") || manifest_mentions(&text, "spiral_rt");
    if !has_rt && manifest_mentions(&text, "spiral") {
        parse_quote!(::spiral)
    } else {
        parse_quote!(::spiral_rt)
    }
}

fn expand(input: &DeriveInput) -> syn::Result<TokenStream2> {
    let krate = match crate_override(input)? {
        Some(p) => p,
        None => default_crate(),
    };
    let fields = match &input.data {
        Data::Struct(s) => &s.fields,
        Data::Enum(e) => {
            return Err(syn::Error::new(
                e.enum_token.span(),
                "`#[derive(Inverse)]` supports structs only: an enum has no fixed set of leaves",
            ))
        }
        Data::Union(u) => {
            return Err(syn::Error::new(
                u.union_token.span(),
                "`#[derive(Inverse)]` supports structs only: a union has no fixed set of leaves",
            ))
        }
    };
    if let Some(lt) = input.generics.lifetimes().next() {
        return Err(syn::Error::new(
            lt.span(),
            "`#[derive(Inverse)]` needs a `'static` type: lifetime parameters are not supported",
        ));
    }

    let name = &input.ident;
    let vis = &input.vis;
    let cols_name = format_ident!("{}Columns", name);
    let slices_name = format_ident!("{}Slices", name);
    let slices_mut_name = format_ident!("{}SlicesMut", name);

    let members: Vec<Member> = match fields {
        Fields::Named(f) => f.named.iter().map(|f| Member::Named(f.ident.clone().expect("named field"))).collect(),
        Fields::Unnamed(f) => (0..f.unnamed.len()).map(|i| Member::Unnamed(i.into())).collect(),
        Fields::Unit => Vec::new(),
    };
    let tys: Vec<&Type> = fields.iter().map(|f| &f.ty).collect();
    let fvis: Vec<&syn::Visibility> = fields.iter().map(|f| &f.vis).collect();
    let tuple_like = matches!(fields, Fields::Unnamed(_));
    let empty = members.is_empty();

    // Generics: every type parameter must itself be `Inverse`.
    let mut generics = input.generics.clone();
    for tp in generics.type_params_mut() {
        tp.bounds.push(parse_quote!(#krate::Inverse));
    }
    let (impl_g, ty_g, where_c) = generics.split_for_impl();
    let mut lt_generics = generics.clone();
    lt_generics.params.insert(0, GenericParam::Lifetime(parse_quote!('__a)));
    let (lt_impl_g, lt_ty_g, _) = lt_generics.split_for_impl();
    let ty_args: Vec<TokenStream2> = generics
        .params
        .iter()
        .map(|p| match p {
            GenericParam::Type(t) => {
                let i = &t.ident;
                quote!(#i)
            }
            GenericParam::Const(c) => {
                let i = &c.ident;
                quote!(#i)
            }
            GenericParam::Lifetime(l) => {
                let l = &l.lifetime;
                quote!(#l)
            }
        })
        .collect();

    let inv = quote!(#krate::Inverse);
    let tree_decl = |tname: &syn::Ident, g: &syn::Generics, doc: String, leaf: &dyn Fn(&Type) -> TokenStream2| {
        let (_, _, wc) = g.split_for_impl();
        let params = &g.params;
        let field_docs = members.iter().map(|m| {
            let d = format!("The leaves of field `{}`.", quote!(#m));
            quote!(#[doc = #d])
        });
        let leaf_tys = tys.iter().map(|t| leaf(t));
        let fv = fvis.iter();
        if tuple_like {
            quote! {
                #[doc = #doc]
                #vis struct #tname <#params> ( #( #field_docs #fv #leaf_tys ),* ) #wc;
            }
        } else {
            let names = members.iter();
            quote! {
                #[doc = #doc]
                #vis struct #tname <#params> #wc { #( #field_docs #fv #names: #leaf_tys ),* }
            }
        }
    };

    let cols_doc = format!("The columns of [`{name}`] (one `Vec` per leaf), generated by `#[derive(Inverse)]`.");
    let slices_doc = format!("The leaves of [`{name}`] as slices, generated by `#[derive(Inverse)]`.");
    let slices_mut_doc = format!("The leaves of [`{name}`] as mutable slices, generated by `#[derive(Inverse)]`.");

    let (cols_ty, slices_ty, slices_mut_ty, decls);
    if empty {
        cols_ty = quote!(());
        slices_ty = quote!(());
        slices_mut_ty = quote!(());
        decls = quote!();
    } else {
        cols_ty = quote!(#cols_name <#(#ty_args),*>);
        slices_ty = quote!(#slices_name <'__a, #(#ty_args),*>);
        slices_mut_ty = quote!(#slices_mut_name <'__a, #(#ty_args),*>);
        let d1 = tree_decl(&cols_name, &generics, cols_doc, &|t| quote_spanned!(t.span()=> <#t as #inv>::Columns));
        let d2 = tree_decl(&slices_name, &lt_generics, slices_doc, &|t| quote_spanned!(t.span()=> <#t as #inv>::Slices<'__a>));
        let d3 = tree_decl(&slices_mut_name, &lt_generics, slices_mut_doc, &|t| quote_spanned!(t.span()=> <#t as #inv>::SlicesMut<'__a>));
        let names_str: Vec<String> = members.iter().map(|m| quote!(#m).to_string()).collect();
        let debug_impl = |tname: &syn::Ident, ig: &syn::ImplGenerics, tg: &syn::TypeGenerics| {
            let label = tname.to_string();
            quote! {
                impl #ig ::core::fmt::Debug for #tname #tg #where_c {
                    fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                        f.debug_struct(#label) #( .field(#names_str, &self.#members) )* .finish()
                    }
                }
            }
        };
        let dbg1 = debug_impl(&cols_name, &impl_g, &ty_g);
        let dbg2 = debug_impl(&slices_name, &lt_impl_g, &lt_ty_g);
        let dbg3 = debug_impl(&slices_mut_name, &lt_impl_g, &lt_ty_g);
        let split_impl = |tname: &syn::Ident| {
            let halves: Vec<syn::Ident> = (0..members.len()).map(|i| format_ident!("__h{}", i)).collect();
            quote! {
                impl #lt_impl_g #krate::Split for #tname #lt_ty_g #where_c {
                    #[inline]
                    fn split_at(self, mid: usize) -> (Self, Self) {
                        #( let #halves = #krate::Split::split_at(self.#members, mid); )*
                        (#tname { #( #members: #halves.0 ),* }, #tname { #( #members: #halves.1 ),* })
                    }
                    #[inline]
                    fn mismatch(&self, len: usize) -> ::core::option::Option<usize> {
                        ::core::option::Option::None
                            #( .or_else(|| #krate::Split::mismatch(&self.#members, len)) )*
                    }
                }
            }
        };
        let sp2 = split_impl(&slices_name);
        let sp3 = split_impl(&slices_mut_name);
        decls = quote! {
            #d1
            #d2
            #d3
            #dbg1
            #dbg2
            #dbg3
            impl #impl_g ::core::clone::Clone for #cols_name #ty_g #where_c {
                fn clone(&self) -> Self {
                    #cols_name { #( #members: ::core::clone::Clone::clone(&self.#members) ),* }
                }
            }
            impl #impl_g ::core::cmp::PartialEq for #cols_name #ty_g #where_c {
                fn eq(&self, other: &Self) -> bool {
                    true #( && self.#members == other.#members )*
                }
            }
            impl #lt_impl_g ::core::clone::Clone for #slices_name #lt_ty_g #where_c {
                fn clone(&self) -> Self {
                    *self
                }
            }
            impl #lt_impl_g ::core::marker::Copy for #slices_name #lt_ty_g #where_c {}
            #sp2
            #sp3
        };
    }

    // Builds a value of one of the trees (or `()` when there are no leaves) from per-field
    // expressions.
    let build = |tname: &syn::Ident, exprs: Vec<TokenStream2>| {
        if empty {
            quote!(())
        } else {
            quote!(#tname { #( #members: #exprs ),* })
        }
    };
    let per = |f: &dyn Fn(&Member, &Type) -> TokenStream2| -> Vec<TokenStream2> {
        members.iter().zip(tys.iter()).map(|(m, t)| f(m, t)).collect()
    };

    let with_cap = build(&cols_name, per(&|_, t| quote!(<#t as #inv>::columns_with_capacity(cap))));
    let zeroed = build(&cols_name, per(&|_, t| quote!(<#t as #inv>::columns_zeroed(len))));
    let slices = build(&slices_name, per(&|m, t| quote!(<#t as #inv>::slices(&cols.#m))));
    let slices_mut = build(&slices_mut_name, per(&|m, t| quote!(<#t as #inv>::slices_mut(&mut cols.#m))));
    let from_erased = build(&cols_name, per(&|_, t| quote!(<#t as #inv>::from_erased(it)?)));
    let reads = per(&|m, t| quote!(<#t as #inv>::read(&s.#m, i)));
    let read = quote!(#name { #( #members: #reads ),* });
    let push = per(&|m, t| quote!(<#t as #inv>::push(&mut cols.#m, value.#m);));
    let truncate = per(&|m, t| quote!(<#t as #inv>::truncate(&mut cols.#m, len);));
    let write = per(&|m, t| quote!(<#t as #inv>::write(&mut s.#m, i, value.#m);));
    let lens = per(&|m, t| quote!(<#t as #inv>::column_lens(&cols.#m, out);));
    let visit = per(&|m, t| quote!(<#t as #inv>::visit(&cols.#m, f);));
    let visit_mut = per(&|m, t| quote!(<#t as #inv>::visit_mut(&mut cols.#m, f);));
    let erase = per(&|m, t| quote!(<#t as #inv>::into_erased(cols.#m, out);));
    let _ = Span::call_site();

    Ok(quote! {
        #decls

        #[automatically_derived]
        #[allow(unused_variables, clippy::unused_unit)]
        impl #impl_g #inv for #name #ty_g #where_c {
            type Columns = #cols_ty;
            type Slices<'__a> = #slices_ty;
            type SlicesMut<'__a> = #slices_mut_ty;
            const LEAVES: usize = 0 #( + <#tys as #inv>::LEAVES )*;

            fn leaf_kinds(out: &mut ::std::vec::Vec<#krate::ScalarKind>) {
                #( <#tys as #inv>::leaf_kinds(out); )*
            }
            fn columns_with_capacity(cap: usize) -> Self::Columns {
                #with_cap
            }
            fn columns_zeroed(len: usize) -> Self::Columns {
                #zeroed
            }
            #[inline]
            fn push(cols: &mut Self::Columns, value: Self) {
                #( #push )*
            }
            fn truncate(cols: &mut Self::Columns, len: usize) {
                #( #truncate )*
            }
            #[inline]
            fn slices(cols: &Self::Columns) -> Self::Slices<'_> {
                #slices
            }
            #[inline]
            fn slices_mut(cols: &mut Self::Columns) -> Self::SlicesMut<'_> {
                #slices_mut
            }
            #[inline(always)]
            fn read(s: &Self::Slices<'_>, i: usize) -> Self {
                #read
            }
            #[inline(always)]
            fn write(s: &mut Self::SlicesMut<'_>, i: usize, value: Self) {
                #( #write )*
            }
            fn column_lens(cols: &Self::Columns, out: &mut ::std::vec::Vec<usize>) {
                #( #lens )*
            }
            fn visit<'__v>(cols: &'__v Self::Columns, f: &mut dyn FnMut(#krate::LeafRef<'__v>)) {
                #( #visit )*
            }
            fn visit_mut<'__v>(cols: &'__v mut Self::Columns, f: &mut dyn FnMut(#krate::LeafMut<'__v>)) {
                #( #visit_mut )*
            }
            fn into_erased(cols: Self::Columns, out: &mut ::std::vec::Vec<#krate::ErasedColumn>) {
                #( #erase )*
            }
            fn from_erased(
                it: &mut dyn ::core::iter::Iterator<Item = #krate::ErasedColumn>,
            ) -> ::core::result::Result<Self::Columns, #krate::Error> {
                ::core::result::Result::Ok(#from_erased)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::manifest_mentions;

    #[test]
    fn finds_dependencies_in_manifests() {
        let m = "[dependencies]\nspiral = { path = \"..\" }\nserde.workspace = true\n[dependencies.spiral-rt]\npath = \"x\"\n";
        assert!(manifest_mentions(m, "spiral"));
        assert!(manifest_mentions(m, "serde"));
        assert!(manifest_mentions(m, "spiral-rt"));
        assert!(!manifest_mentions("[dependencies]\nspiral-macros = \"1\"\n", "spiral"));
        assert!(!manifest_mentions("[package]\nname = \"spiral\"\n", "spiral"));
    }
}
