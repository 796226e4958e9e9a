//! What every C-family printer shares: primitive type names, literals, and the C spelling of
//! Spiral's primitive operations with their defined semantics.
//!
//! The host C backend (`codegen/c`) and the CPU-kernel C printer (`codegen/rust/c_kernel.rs`)
//! both print primitive operations through [`prim_expr`], so an operation means the same on
//! both paths, and the same as the evaluator's constant folding (`peval/ops.rs`) and the Rust
//! printer (which uses Rust's `wrapping_*`, saturating `as`, and `%` on floats):
//!
//! | operation | semantics |
//! | --- | --- |
//! | integer `+ - *`, unary `-` | wrap around (two's complement) |
//! | integer `/ %` by 0 | a runtime error (`integer division by zero`); a compile-time error when folded |
//! | `MIN / -1`, `MIN % -1` | wrap: `MIN` and `0` |
//! | `<<<`, `>>>` | the amount is taken modulo the type's width; `>>>` is arithmetic on signed types |
//! | float `%` | `fmod` (the sign of the dividend) |
//! | float to integer | saturating, `NaN` gives 0 (Rust's `as`) |
//! | integer to integer | truncating (two's complement) |
//!
//! The helpers these expressions call are in [`PRIMS_H`], pasted into every generated C file.

use crate::peval::ir::{Lit, PrimOp, PrimTy};
use std::fmt::Write;

/// The C helpers behind [`prim_expr`] (wrapping division, saturating float-to-integer
/// conversion). Both C printers paste it in; it is also valid C++ and CUDA C++.
pub const PRIMS_H: &str = include_str!("prims.h");

/// The kernel status a C kernel returns for an integer division by zero.
pub const STATUS_DIV_ZERO: i32 = 3;

/// The C spelling of a primitive type.
pub fn prim_cty(p: PrimTy) -> &'static str {
    match p {
        PrimTy::I8 => "int8_t",
        PrimTy::I16 => "int16_t",
        PrimTy::I32 => "int32_t",
        PrimTy::I64 => "int64_t",
        PrimTy::U8 => "uint8_t",
        PrimTy::U16 => "uint16_t",
        PrimTy::U32 => "uint32_t",
        PrimTy::U64 => "uint64_t",
        PrimTy::F32 => "float",
        PrimTy::F64 => "double",
        PrimTy::Bool => "bool",
        PrimTy::Char => "uint32_t",
        PrimTy::String => "SpiString *",
    }
}

/// The unsigned type that wrapping arithmetic on `p` is computed in (after C's promotions).
fn unsigned_of(p: PrimTy) -> &'static str {
    match p {
        PrimTy::I64 | PrimTy::U64 => "uint64_t",
        _ => "uint32_t",
    }
}

/// The width of an integer type in bits.
pub fn bit_width(p: PrimTy) -> u32 {
    match p {
        PrimTy::I8 | PrimTy::U8 => 8,
        PrimTy::I16 | PrimTy::U16 => 16,
        PrimTy::I64 | PrimTy::U64 => 64,
        _ => 32,
    }
}

/// The suffix of the per-type helpers in [`PRIMS_H`] (`spi_divw_i32`, `spi_f2i_u8`, ...).
fn helper_suffix(p: PrimTy) -> &'static str {
    p.name()
}

/// A float literal in C: shortest round-trip digits, `NAN`/`INFINITY` for the special values.
pub fn float_lit(x: f64, single: bool) -> String {
    if x.is_nan() {
        return if single { "((float)NAN)".into() } else { "((double)NAN)".into() };
    }
    if x.is_infinite() {
        let s = if x > 0.0 { "INFINITY" } else { "(-INFINITY)" };
        return if single { format!("((float){s})") } else { format!("((double){s})") };
    }
    let mut s = if single { format!("{:?}", x as f32) } else { format!("{x:?}") };
    if !s.contains('.') && !s.contains('e') {
        s.push_str(".0");
    }
    if single {
        s.push('f');
    }
    if s.starts_with('-') {
        format!("({s})")
    } else {
        s
    }
}

/// Escapes bytes for a C string literal (octal escapes for anything unusual, `?` escaped
/// against trigraphs).
pub fn c_string_literal(s: &str) -> String {
    let mut out = String::from("\"");
    for &b in s.as_bytes() {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\r' => out.push_str("\\r"),
            b'?' => out.push_str("\\?"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\{:03o}", b);
            }
        }
    }
    out.push('"');
    out
}

/// The C expression of a literal (strings as a `spi_string_lit` call of the host runtime).
pub fn lit_c(l: &Lit) -> String {
    match l {
        Lit::I8(x) => format!("((int8_t){x})"),
        Lit::I16(x) => format!("((int16_t){x})"),
        Lit::I32(x) => {
            if *x == i32::MIN {
                "INT32_MIN".into()
            } else if *x < 0 {
                format!("({x})")
            } else {
                format!("{x}")
            }
        }
        Lit::I64(x) => {
            if *x == i64::MIN {
                "INT64_MIN".into()
            } else {
                format!("INT64_C({x})")
            }
        }
        Lit::U8(x) => format!("((uint8_t){x}u)"),
        Lit::U16(x) => format!("((uint16_t){x}u)"),
        Lit::U32(x) => format!("{x}u"),
        Lit::U64(x) => format!("UINT64_C({x})"),
        Lit::F32(x) => float_lit(*x as f64, true),
        Lit::F64(x) => float_lit(*x, false),
        Lit::Bool(b) => (if *b { "true" } else { "false" }).into(),
        Lit::Char(c) => {
            let c = *c;
            if c.is_ascii_graphic() && c != '\'' && c != '\\' || c == ' ' {
                format!("((uint32_t)'{c}')")
            } else {
                format!("{}u", c as u32)
            }
        }
        Lit::String(s) => format!("spi_string_lit({}, {})", s.len(), c_string_literal(s)),
    }
}

/// The C operator of a comparison (`None` for other operations).
pub fn comparison_symbol(op: &PrimOp) -> Option<&'static str> {
    Some(match op {
        PrimOp::Eq => "==",
        PrimOp::Ne => "!=",
        PrimOp::Lt => "<",
        PrimOp::Le => "<=",
        PrimOp::Gt => ">",
        PrimOp::Ge => ">=",
        _ => return None,
    })
}

/// How a printer handles an integer division whose divisor may be zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DivByZero {
    /// Host C: the checked helper (`spi_div_i32`), which stops the program with
    /// `spiral: integer division by zero`.
    RuntimeError,
    /// Kernels: the caller has already emitted a check of the divisor (see
    /// [`divisor_to_check`]) that returns [`STATUS_DIV_ZERO`]; the expression itself wraps.
    CheckedByCaller,
}

/// For an integer `/` or `%` whose divisor is not a non-zero literal: the divisor, which the
/// caller must test against 0 before the operation (when it uses
/// [`DivByZero::CheckedByCaller`]).
pub fn divisor_to_check<'a>(op: &PrimOp, arg_ty: Option<PrimTy>, args: &'a [String], divisor_is_nonzero_lit: bool) -> Option<&'a str> {
    match (op, arg_ty) {
        (PrimOp::Div | PrimOp::Rem, Some(p)) if p.is_int() && !divisor_is_nonzero_lit => args.get(1).map(|s| s.as_str()),
        _ => None,
    }
}

/// The C expression of a numeric or boolean primitive operation, with the semantics in the
/// module docs. `arg_ty` is the type of the first operand, `res` the result's. String and
/// array operations are the host printer's; for those (and float functions it does not know)
/// this returns `Err` with a message.
pub fn prim_expr(op: &PrimOp, args: &[String], arg_ty: Option<PrimTy>, res: Option<PrimTy>, div: DivByZero) -> Result<String, String> {
    let arg = |i: usize| args.get(i).cloned().unwrap_or_else(|| "0".into());
    let bin = |sym: &str| format!("({} {sym} {})", arg(0), arg(1));
    let res_c = res.map(prim_cty).unwrap_or("int");
    // Wrapping integer arithmetic: compute in the unsigned type, convert back.
    let wrap = |sym: &str, p: PrimTy| {
        let u = unsigned_of(p);
        format!("(({})(({u}){} {sym} ({u}){}))", prim_cty(p), arg(0), arg(1))
    };
    Ok(match op {
        PrimOp::Add | PrimOp::Sub | PrimOp::Mul => {
            let sym = match op {
                PrimOp::Add => "+",
                PrimOp::Sub => "-",
                _ => "*",
            };
            match arg_ty {
                Some(p) if p.is_int() => wrap(sym, p),
                _ => bin(sym),
            }
        }
        PrimOp::Div | PrimOp::Rem => {
            let div_op = matches!(op, PrimOp::Div);
            match arg_ty {
                Some(p) if p.is_int() => {
                    let checked = div == DivByZero::RuntimeError;
                    let name = match (div_op, checked) {
                        (true, true) => "div",
                        (true, false) => "divw",
                        (false, true) => "rem",
                        (false, false) => "remw",
                    };
                    format!("spi_{name}_{}({}, {})", helper_suffix(p), arg(0), arg(1))
                }
                Some(PrimTy::F32) if !div_op => format!("fmodf({}, {})", arg(0), arg(1)),
                Some(PrimTy::F64) if !div_op => format!("fmod({}, {})", arg(0), arg(1)),
                _ if div_op => bin("/"),
                _ => return Err("`%` needs numeric operands".into()),
            }
        }
        PrimOp::Pow => match arg_ty {
            Some(PrimTy::F32) => format!("powf({}, {})", arg(0), arg(1)),
            _ => format!("pow({}, {})", arg(0), arg(1)),
        },
        PrimOp::Neg => match arg_ty {
            Some(p) if p.is_int() => {
                let u = unsigned_of(p);
                format!("(({})(0u - ({u}){}))", prim_cty(p), arg(0))
            }
            _ => format!("(-{})", arg(0)),
        },
        PrimOp::Eq | PrimOp::Ne | PrimOp::Lt | PrimOp::Le | PrimOp::Gt | PrimOp::Ge => bin(comparison_symbol(op).unwrap_or("==")),
        PrimOp::Not => format!("(!{})", arg(0)),
        PrimOp::BitAnd => format!("(({res_c})({} & {}))", arg(0), arg(1)),
        PrimOp::BitOr => format!("(({res_c})({} | {}))", arg(0), arg(1)),
        PrimOp::BitXor => format!("(({res_c})({} ^ {}))", arg(0), arg(1)),
        // `~` on a C `bool` is a warning (and not a logical complement).
        PrimOp::BitNot if arg_ty == Some(PrimTy::Bool) => format!("(!{})", arg(0)),
        PrimOp::BitNot => format!("(({res_c})(~{}))", arg(0)),
        PrimOp::Shl | PrimOp::Shr => {
            let p = arg_ty.unwrap_or(PrimTy::I32);
            let w = bit_width(p);
            let amount = format!("((uint32_t){} & {}u)", arg(1), w - 1);
            if matches!(op, PrimOp::Shl) {
                let u = unsigned_of(p);
                format!("(({})(({u}){} << {amount}))", prim_cty(p), arg(0))
            } else {
                format!("(({})({} >> {amount}))", prim_cty(p), arg(0))
            }
        }
        PrimOp::Conv(t) => match (arg_ty, *t) {
            (Some(from), to) if from.is_float() && to.is_int() => format!("spi_f2i_{}((double){})", helper_suffix(to), arg(0)),
            (_, PrimTy::String) => return Err("conversion to a string is not a C-family primitive".into()),
            (_, to) => format!("(({}){})", prim_cty(to), arg(0)),
        },
        PrimOp::FloatFn(name) => {
            let single = arg_ty == Some(PrimTy::F32);
            let base = match &**name {
                "abs" => "fabs",
                "sqrt" | "log" | "exp" | "sin" | "cos" | "tan" | "tanh" | "floor" | "ceil" | "round" | "asin" | "acos" | "atan" | "sinh" | "cosh"
                | "log10" | "log2" | "trunc" => name,
                other => return Err(format!("the C backends do not know the float function `{other}`")),
            };
            format!("{base}{}({})", if single { "f" } else { "" }, arg(0))
        }
        PrimOp::IsNan => format!("(isnan({}) != 0)", arg(0)),
        PrimOp::StringLength | PrimOp::StringIndex | PrimOp::StringSlice | PrimOp::StringConcat | PrimOp::ArrayLength => {
            return Err(format!("`{}` is not a numeric primitive", op.name()))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn division_is_checked_on_the_host_and_wraps_in_kernels() {
        let xs = ["a".to_string(), "b".to_string()];
        assert_eq!(prim_expr(&PrimOp::Div, &xs, Some(PrimTy::I32), Some(PrimTy::I32), DivByZero::RuntimeError).unwrap(), "spi_div_i32(a, b)");
        assert_eq!(prim_expr(&PrimOp::Rem, &xs, Some(PrimTy::U8), Some(PrimTy::U8), DivByZero::CheckedByCaller).unwrap(), "spi_remw_u8(a, b)");
        assert_eq!(divisor_to_check(&PrimOp::Div, Some(PrimTy::I64), &xs, false), Some("b"));
        assert_eq!(divisor_to_check(&PrimOp::Div, Some(PrimTy::I64), &xs, true), None);
        assert_eq!(divisor_to_check(&PrimOp::Div, Some(PrimTy::F64), &xs, false), None);
    }

    #[test]
    fn float_remainder_shift_and_conversion_spellings() {
        let xs = ["a".to_string(), "b".to_string()];
        assert_eq!(prim_expr(&PrimOp::Rem, &xs, Some(PrimTy::F32), Some(PrimTy::F32), DivByZero::RuntimeError).unwrap(), "fmodf(a, b)");
        assert_eq!(prim_expr(&PrimOp::Shl, &xs, Some(PrimTy::I32), Some(PrimTy::I32), DivByZero::RuntimeError).unwrap(), "((int32_t)((uint32_t)a << ((uint32_t)b & 31u)))");
        assert_eq!(prim_expr(&PrimOp::Conv(PrimTy::I32), &xs, Some(PrimTy::F32), Some(PrimTy::I32), DivByZero::RuntimeError).unwrap(), "spi_f2i_i32((double)a)");
        assert_eq!(float_lit(f64::INFINITY, true), "((float)INFINITY)");
    }
}
