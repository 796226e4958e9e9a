//! Exported function signatures: the Rust signature a user writes (in `spiral!` or in a
//! `// export: fn ...;` line of a Spiral file) checked and converted to the backend's
//! [`Export`] description.

use crate::{Export, HostType, Param, Passing, ScalarKind, StructDef};

/// A signature error: where (a `proc_macro2` span) and what.
pub type SigError = (proc_macro2::Span, String);

/// Converts a Rust signature to an export description, checking its shape.
pub fn export_of(sig: &syn::Signature) -> Result<Export, SigError> {
    export_of_with(sig, &[])
}

/// Reads a struct declared next to the exports (named fields of scalars, tuples and structs
/// declared before it) as the record Spiral sees.
pub fn struct_def(item: &syn::ItemStruct, known: &[StructDef]) -> Result<StructDef, SigError> {
    use syn::spanned::Spanned;
    if !item.generics.params.is_empty() {
        return Err((item.generics.span(), "a struct used in an exported signature cannot be generic".into()));
    }
    let syn::Fields::Named(named) = &item.fields else {
        return Err((item.fields.span(), "a struct used in an exported signature must have named fields".into()));
    };
    let mut fields = Vec::new();
    for f in &named.named {
        let name = f.ident.as_ref().map(|i| i.to_string()).unwrap_or_default();
        let ty = host_type_with(&f.ty, known)?;
        if matches!(ty, HostType::InvArray(_) | HostType::Unit) {
            return Err((f.ty.span(), "a struct field must be a scalar, a tuple or another struct declared before it".into()));
        }
        fields.push((name, ty));
    }
    if fields.is_empty() {
        return Err((item.ident.span(), "a struct used in an exported signature needs at least one field".into()));
    }
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(StructDef { name: item.ident.to_string(), fields })
}

/// [`export_of`] where the signature may name the structs in `structs`.
pub fn export_of_with(sig: &syn::Signature, structs: &[StructDef]) -> Result<Export, SigError> {
    use syn::spanned::Spanned;
    let err = |span: proc_macro2::Span, msg: &str| -> SigError { (span, msg.to_string()) };
    if !sig.generics.params.is_empty() {
        return Err(err(sig.generics.span(), "exported functions cannot be generic; Spiral specialises them to the given types"));
    }
    let mut inputs = sig.inputs.iter();
    let device = match inputs.next() {
        Some(syn::FnArg::Typed(pt)) if is_ref_to(&pt.ty, "Device") => match &*pt.pat {
            syn::Pat::Ident(pi) => pi.ident.to_string(),
            other => return Err(err(other.span(), "use a plain identifier for the device parameter")),
        },
        Some(a) => return Err(err(a.span(), "the first parameter of an exported function must be `dev: &Device`")),
        None => return Err(err(sig.span(), "an exported function takes `dev: &Device` as its first parameter")),
    };
    let mut params = Vec::new();
    for a in inputs {
        let syn::FnArg::Typed(pt) = a else {
            return Err(err(a.span(), "exported functions cannot take `self`"));
        };
        let syn::Pat::Ident(pi) = &*pt.pat else {
            return Err(err(pt.pat.span(), "use a plain identifier for exported parameters"));
        };
        let ty = host_type_with(&pt.ty, structs)?;
        if !matches!(ty, HostType::InvArray(_)) && contains_array(&ty) {
            return Err(err(pt.ty.span(), "an inverse array must be a parameter of its own, not part of a tuple"));
        }
        let device_array = |t: &syn::Type| last_segment(t).is_some_and(|s| s.ident == "DeviceInvArray");
        let passing = match &*pt.ty {
            syn::Type::Reference(r) if device_array(&r.elem) && r.mutability.is_some() => Passing::DeviceMut,
            syn::Type::Reference(r) if device_array(&r.elem) => Passing::Device,
            t if device_array(t) => {
                return Err(err(t.span(), "a `DeviceInvArray` stays with its owner: pass `&DeviceInvArray<T>` (kernels read it) or `&mut DeviceInvArray<T>` (kernels write it in place)"));
            }
            syn::Type::Reference(r) if r.mutability.is_some() => Passing::BorrowedMut,
            syn::Type::Reference(_) => Passing::Borrowed,
            t if last_segment(t).is_some_and(|s| s.ident == "InvSlice") => Passing::Borrowed,
            t if last_segment(t).is_some_and(|s| s.ident == "InvSliceMut") => Passing::SliceMut,
            _ => Passing::Moved,
        };
        params.push(Param { name: pi.ident.to_string(), ty, passing });
    }
    let ret = match &sig.output {
        syn::ReturnType::Type(_, ty) => match result_ok_type(ty) {
            Some(t) => {
                if matches!(t, syn::Type::Reference(_)) || last_segment(t).is_some_and(|s| s.ident == "InvSlice" || s.ident == "InvSliceMut") {
                    return Err(err(t.span(), "an exported function returns owned values (`InvArray<T>`, not a reference)"));
                }
                if contains_device_array(t) {
                    return Err(err(t.span(), "an exported function returns host values: an inverse array comes back as an `InvArray<T>` (write into a `&mut DeviceInvArray<T>` parameter to keep results on the GPU)"));
                }
                host_type_with(t, structs)?
            }
            None => return Err(err(ty.span(), "an exported function returns `Result<T, Error>`")),
        },
        syn::ReturnType::Default => return Err(err(sig.span(), "an exported function returns `Result<T, Error>`")),
    };
    Ok(Export { name: sig.ident.to_string(), device, params, ret })
}

/// Whether a Rust type names `DeviceInvArray` anywhere.
fn contains_device_array(t: &syn::Type) -> bool {
    match t {
        syn::Type::Reference(r) => contains_device_array(&r.elem),
        syn::Type::Paren(p) => contains_device_array(&p.elem),
        syn::Type::Group(g) => contains_device_array(&g.elem),
        syn::Type::Tuple(tt) => tt.elems.iter().any(contains_device_array),
        syn::Type::Path(p) => p.path.segments.iter().any(|seg| {
            seg.ident == "DeviceInvArray"
                || matches!(&seg.arguments, syn::PathArguments::AngleBracketed(a) if a.args.iter().any(|g| matches!(g, syn::GenericArgument::Type(t) if contains_device_array(t))))
        }),
        _ => false,
    }
}

fn contains_array(t: &HostType) -> bool {
    match t {
        HostType::InvArray(_) => true,
        HostType::Tuple(ts) => ts.iter().any(contains_array),
        HostType::Struct(d) => d.fields.iter().any(|(_, t)| contains_array(t)),
        HostType::Unit | HostType::Prim(_) | HostType::Usize => false,
    }
}

fn contains_usize(t: &HostType) -> bool {
    match t {
        HostType::Usize => true,
        HostType::Tuple(ts) => ts.iter().any(contains_usize),
        HostType::Struct(d) => d.fields.iter().any(|(_, t)| contains_usize(t)),
        HostType::InvArray(t) => contains_usize(t),
        HostType::Unit | HostType::Prim(_) => false,
    }
}

fn last_segment(ty: &syn::Type) -> Option<&syn::PathSegment> {
    match ty {
        syn::Type::Path(p) if p.qself.is_none() => p.path.segments.last(),
        syn::Type::Group(g) => last_segment(&g.elem),
        syn::Type::Paren(p) => last_segment(&p.elem),
        _ => None,
    }
}

fn is_ref_to(ty: &syn::Type, name: &str) -> bool {
    match ty {
        syn::Type::Reference(r) if r.mutability.is_none() => last_segment(&r.elem).map(|s| s.ident == name).unwrap_or(false),
        _ => false,
    }
}

fn generic_args(seg: &syn::PathSegment) -> Vec<&syn::Type> {
    match &seg.arguments {
        syn::PathArguments::AngleBracketed(a) => a
            .args
            .iter()
            .filter_map(|g| match g {
                syn::GenericArgument::Type(t) => Some(t),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn result_ok_type(ty: &syn::Type) -> Option<&syn::Type> {
    let seg = last_segment(ty)?;
    if seg.ident != "Result" {
        return None;
    }
    let args = generic_args(seg);
    let error_ok = |t: &syn::Type| last_segment(t).map(|s| s.ident == "Error").unwrap_or(false);
    match args.as_slice() {
        [ok, err] if error_ok(err) => Some(ok),
        [ok] => Some(ok),
        _ => None,
    }
}

/// Converts a Rust type to the host type the backend understands.
pub fn host_type(ty: &syn::Type) -> Result<HostType, (proc_macro2::Span, String)> {
    host_type_with(ty, &[])
}

/// [`host_type`] where the type may name the structs in `structs`.
pub fn host_type_with(ty: &syn::Type, structs: &[StructDef]) -> Result<HostType, (proc_macro2::Span, String)> {
    use syn::spanned::Spanned;
    match ty {
        syn::Type::Tuple(t) => {
            let mut v = Vec::new();
            for e in &t.elems {
                v.push(host_type_with(e, structs)?);
            }
            Ok(if v.is_empty() { HostType::Unit } else { HostType::Tuple(v) })
        }
        syn::Type::Paren(p) => host_type_with(&p.elem, structs),
        syn::Type::Group(g) => host_type_with(&g.elem, structs),
        syn::Type::Reference(r) => match host_type_with(&r.elem, structs)? {
            HostType::InvArray(t) => Ok(HostType::InvArray(t)),
            _ => Err((ty.span(), "only `&InvArray<T>` and `&mut InvArray<T>` may be passed by reference".to_string())),
        },
        _ => {
            let Some(seg) = last_segment(ty) else {
                return Err((ty.span(), "unsupported type in an exported signature".to_string()));
            };
            let name = seg.ident.to_string();
            if name == "InvArray" || name == "InvSlice" || name == "InvSliceMut" || name == "DeviceInvArray" {
                let args = generic_args(seg);
                if args.len() != 1 {
                    return Err((ty.span(), format!("`{name}` takes one element type argument")));
                }
                let el = host_type_with(args[0], structs)?;
                if contains_usize(&el) {
                    return Err((args[0].span(), "`usize` is not an element type of an inverse array (its size depends on the machine); use `u64`, `u32` or `i32`".to_string()));
                }
                return Ok(HostType::InvArray(Box::new(el)));
            }
            if name == "usize" && seg.arguments.is_empty() {
                return Ok(HostType::Usize);
            }
            if let Some(d) = structs.iter().find(|d| d.name == name) {
                return Ok(HostType::Struct(d.clone()));
            }
            match ScalarKind::from_rust_name(&name) {
                Some(p) if seg.arguments.is_empty() => Ok(HostType::Prim(p)),
                _ => Err((
                    ty.span(),
                    format!("unsupported type `{name}` in an exported signature (use scalars, `usize`, tuples, `()`, `InvArray<T>`, or a struct with `#[derive(Inverse)]` declared inside the same `spiral!` so its fields are known)"),
                )),
            }
        }
    }
}
