//! The inbuilt operations `!!!!Name(args)`: constant folding and residual primitive ops.
use super::eval::{collect_vars, lit_text, Frame, PE, R};
use super::ir::{Atom, AtomicOp, Block, Expr as IExpr, GpuOp, LayoutKind, Lit, PrimOp, PrimTy, Ty};
use super::value::Value;
use crate::diagnostics::Span;
use crate::prepass::core::{Expr, Name};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;

macro_rules! int_lits {
    ($a:expr, $b:expr, |$x:ident, $y:ident| $e:expr) => {
        match ($a, $b) {
            (Lit::I8(x), Lit::I8(y)) => { let ($x, $y) = (*x, *y); Some(Lit::I8($e)) }
            (Lit::I16(x), Lit::I16(y)) => { let ($x, $y) = (*x, *y); Some(Lit::I16($e)) }
            (Lit::I32(x), Lit::I32(y)) => { let ($x, $y) = (*x, *y); Some(Lit::I32($e)) }
            (Lit::I64(x), Lit::I64(y)) => { let ($x, $y) = (*x, *y); Some(Lit::I64($e)) }
            (Lit::U8(x), Lit::U8(y)) => { let ($x, $y) = (*x, *y); Some(Lit::U8($e)) }
            (Lit::U16(x), Lit::U16(y)) => { let ($x, $y) = (*x, *y); Some(Lit::U16($e)) }
            (Lit::U32(x), Lit::U32(y)) => { let ($x, $y) = (*x, *y); Some(Lit::U32($e)) }
            (Lit::U64(x), Lit::U64(y)) => { let ($x, $y) = (*x, *y); Some(Lit::U64($e)) }
            _ => None,
        }
    };
}

macro_rules! float_lits {
    ($a:expr, $b:expr, $g:expr) => {
        match ($a, $b) {
            (Lit::F32(x), Lit::F32(y)) => Some(Lit::F32($g(*x as f64, *y as f64) as f32)),
            (Lit::F64(x), Lit::F64(y)) => Some(Lit::F64($g(*x, *y))),
            _ => None,
        }
    };
}

/// Folds an arithmetic/bitwise binary operation on two literals of the same type.
/// `Err` carries a message (division by zero); `Ok(None)` means "not applicable".
fn fold_arith(op: &PrimOp, a: &Lit, b: &Lit) -> Result<Option<Lit>, String> {
    macro_rules! ints {
        ($method:ident) => {
            int_lits!(a, b, |x, y| x.$method(y))
        };
    }
    let r = match op {
        PrimOp::Add => {
            if let (Lit::String(x), Lit::String(y)) = (a, b) {
                return Ok(Some(Lit::String(format!("{x}{y}").into())));
            }
            ints!(wrapping_add).or_else(|| float_lits!(a, b, |x: f64, y: f64| x + y))
        }
        PrimOp::Sub => ints!(wrapping_sub).or_else(|| float_lits!(a, b, |x: f64, y: f64| x - y)),
        PrimOp::Mul => ints!(wrapping_mul).or_else(|| float_lits!(a, b, |x: f64, y: f64| x * y)),
        PrimOp::Div | PrimOp::Rem => {
            if a.ty().is_int() {
                if b.is_int_zero() {
                    return Err("integer division by zero during constant folding".into());
                }
                if let PrimOp::Div = op {
                    ints!(wrapping_div)
                } else {
                    ints!(wrapping_rem)
                }
            } else if let PrimOp::Div = op {
                float_lits!(a, b, |x: f64, y: f64| x / y)
            } else {
                float_lits!(a, b, |x: f64, y: f64| x % y)
            }
        }
        PrimOp::Pow => match (a, b) {
            (Lit::F32(x), Lit::F32(y)) => Some(Lit::F32(x.powf(*y))),
            (Lit::F64(x), Lit::F64(y)) => Some(Lit::F64(x.powf(*y))),
            _ => None,
        },
        PrimOp::BitAnd => match (a, b) {
            (Lit::Bool(x), Lit::Bool(y)) => Some(Lit::Bool(*x & *y)),
            _ => int_lits!(a, b, |x, y| x & y),
        },
        PrimOp::BitOr => match (a, b) {
            (Lit::Bool(x), Lit::Bool(y)) => Some(Lit::Bool(*x | *y)),
            _ => int_lits!(a, b, |x, y| x | y),
        },
        PrimOp::BitXor => match (a, b) {
            (Lit::Bool(x), Lit::Bool(y)) => Some(Lit::Bool(*x ^ *y)),
            _ => int_lits!(a, b, |x, y| x ^ y),
        },
        _ => None,
    };
    Ok(r)
}

fn shift(op: &PrimOp, a: &Lit, n: u32) -> Option<Lit> {
    let left = matches!(op, PrimOp::Shl);
    macro_rules! sh {
        ($x:expr, $c:ident) => {
            Some(Lit::$c(if left { $x.wrapping_shl(n) } else { $x.wrapping_shr(n) }))
        };
    }
    match a {
        Lit::I8(x) => sh!(x, I8),
        Lit::I16(x) => sh!(x, I16),
        Lit::I32(x) => sh!(x, I32),
        Lit::I64(x) => sh!(x, I64),
        Lit::U8(x) => sh!(x, U8),
        Lit::U16(x) => sh!(x, U16),
        Lit::U32(x) => sh!(x, U32),
        Lit::U64(x) => sh!(x, U64),
        _ => None,
    }
}

fn cmp_lits(op: &PrimOp, a: &Lit, b: &Lit) -> Option<bool> {
    use std::cmp::Ordering;
    let ord: Option<Ordering> = match (a, b) {
        (Lit::I8(x), Lit::I8(y)) => x.partial_cmp(y),
        (Lit::I16(x), Lit::I16(y)) => x.partial_cmp(y),
        (Lit::I32(x), Lit::I32(y)) => x.partial_cmp(y),
        (Lit::I64(x), Lit::I64(y)) => x.partial_cmp(y),
        (Lit::U8(x), Lit::U8(y)) => x.partial_cmp(y),
        (Lit::U16(x), Lit::U16(y)) => x.partial_cmp(y),
        (Lit::U32(x), Lit::U32(y)) => x.partial_cmp(y),
        (Lit::U64(x), Lit::U64(y)) => x.partial_cmp(y),
        (Lit::F32(x), Lit::F32(y)) => x.partial_cmp(y),
        (Lit::F64(x), Lit::F64(y)) => x.partial_cmp(y),
        (Lit::Bool(x), Lit::Bool(y)) => x.partial_cmp(y),
        (Lit::Char(x), Lit::Char(y)) => x.partial_cmp(y),
        (Lit::String(x), Lit::String(y)) => x.partial_cmp(y),
        _ => return None,
    };
    Some(match ord {
        None => matches!(op, PrimOp::Ne), // NaN: everything false except <>
        Some(o) => match op {
            PrimOp::Eq => o == Ordering::Equal,
            PrimOp::Ne => o != Ordering::Equal,
            PrimOp::Lt => o == Ordering::Less,
            PrimOp::Le => o != Ordering::Greater,
            PrimOp::Gt => o == Ordering::Greater,
            PrimOp::Ge => o != Ordering::Less,
            _ => return None,
        },
    })
}

/// Converts a literal to another primitive type as a C cast would (saturating for
/// float-to-int, as Rust's `as`).
fn conv_lit(l: &Lit, to: PrimTy) -> Option<Lit> {
    enum N {
        I(i128),
        F(f64),
    }
    let n = match l {
        Lit::I8(x) => N::I(*x as i128),
        Lit::I16(x) => N::I(*x as i128),
        Lit::I32(x) => N::I(*x as i128),
        Lit::I64(x) => N::I(*x as i128),
        Lit::U8(x) => N::I(*x as i128),
        Lit::U16(x) => N::I(*x as i128),
        Lit::U32(x) => N::I(*x as i128),
        Lit::U64(x) => N::I(*x as i128),
        Lit::F32(x) => N::F(*x as f64),
        Lit::F64(x) => N::F(*x),
        Lit::Char(c) => N::I(*c as i128),
        Lit::Bool(b) => N::I(*b as i128),
        Lit::String(_) => return None,
    };
    Some(match (n, to) {
        (N::I(x), PrimTy::I8) => Lit::I8(x as i8),
        (N::I(x), PrimTy::I16) => Lit::I16(x as i16),
        (N::I(x), PrimTy::I32) => Lit::I32(x as i32),
        (N::I(x), PrimTy::I64) => Lit::I64(x as i64),
        (N::I(x), PrimTy::U8) => Lit::U8(x as u8),
        (N::I(x), PrimTy::U16) => Lit::U16(x as u16),
        (N::I(x), PrimTy::U32) => Lit::U32(x as u32),
        (N::I(x), PrimTy::U64) => Lit::U64(x as u64),
        (N::I(x), PrimTy::F32) => Lit::F32(x as f32),
        (N::I(x), PrimTy::F64) => Lit::F64(x as f64),
        (N::I(x), PrimTy::Char) => Lit::Char(char::from_u32(x as u32)?),
        (N::I(x), PrimTy::Bool) => Lit::Bool(x != 0),
        (N::F(x), PrimTy::I8) => Lit::I8(x as i8),
        (N::F(x), PrimTy::I16) => Lit::I16(x as i16),
        (N::F(x), PrimTy::I32) => Lit::I32(x as i32),
        (N::F(x), PrimTy::I64) => Lit::I64(x as i64),
        (N::F(x), PrimTy::U8) => Lit::U8(x as u8),
        (N::F(x), PrimTy::U16) => Lit::U16(x as u16),
        (N::F(x), PrimTy::U32) => Lit::U32(x as u32),
        (N::F(x), PrimTy::U64) => Lit::U64(x as u64),
        (N::F(x), PrimTy::F32) => Lit::F32(x as f32),
        (N::F(x), PrimTy::F64) => Lit::F64(x),
        _ => return None,
    })
}

fn prim_of(v: &Value) -> Option<PrimTy> {
    match v {
        Value::Lit(l) => Some(l.ty()),
        Value::Var(x) => match x.ty {
            Ty::Prim(p) => Some(p),
            _ => None,
        },
        _ => None,
    }
}

fn atom_of(v: &Value) -> Option<Atom> {
    match v {
        Value::Lit(l) => Some(Atom::Lit(l.clone())),
        Value::Var(x) => Some(Atom::Var(x.clone())),
        _ => None,
    }
}

impl PE<'_> {
    fn args(&mut self, args: &[Expr], n: usize, name: &str, s: Span, f: &mut Frame) -> R<Vec<Value>> {
        if args.len() != n {
            return self.err(s, format!("`{name}` takes {n} arguments, got {}", args.len()));
        }
        let mut out = Vec::new();
        for a in args {
            let v = self.eval(a, f)?;
            out.push(self.known_value(v));
        }
        Ok(out)
    }

    /// An `i32` literal or runtime variable as an atom; `msg` (with the value shown) otherwise.
    /// The array operand of a kernel-only array operation (`chunk_set`, the atomics): a runtime
    /// array whose one leaf satisfies `leaf_ok` (described by `want`), with its element type.
    fn kernel_array(&self, v: &Value, lib: &str, leaf_ok: impl Fn(PrimTy) -> bool, want: &str, s: Span) -> R<(Atom, Ty)> {
        match v {
            Value::Var(x) => match &x.ty {
                Ty::Array(el) if matches!(&**el, Ty::Prim(p) if leaf_ok(*p)) => Ok((Atom::Var(x.clone()), (**el).clone())),
                other => {
                    let shown = self.out.types.show(other);
                    self.err(s, format!("`{lib}` needs {want}; got `{shown}`"))
                }
            },
            other => {
                let shown = self.show(other);
                self.err(s, format!("`{lib}` needs a runtime array\nGot: {shown}"))
            }
        }
    }

    /// A value operand of element type `el` (`what`: "`op` takes values"); with
    /// `literal_hint`, a literal of another type gets the suffix to write.
    fn element_operand(&self, v: &Value, el: &Ty, what: &str, literal_hint: bool, s: Span) -> R<Atom> {
        match v {
            Value::Lit(l) if Ty::Prim(l.ty()) == *el => Ok(Atom::Lit(l.clone())),
            Value::Var(x) if x.ty == *el => Ok(Atom::Var(x.clone())),
            other => {
                let (shown, want) = (self.show(other), self.out.types.show(el));
                let hint = match (other, el) {
                    (Value::Lit(_), Ty::Prim(p)) if literal_hint => format!(" (write the literal with its type, e.g. `1{}`)", p.name()),
                    _ => String::new(),
                };
                self.err(s, format!("{what} of the element type `{want}`{hint}\nGot: {shown}"))
            }
        }
    }

    fn i32_atom(&self, v: &Value, msg: &str, s: Span) -> R<Atom> {
        match v {
            Value::Lit(l @ Lit::I32(_)) => Ok(Atom::Lit(l.clone())),
            Value::Var(x) if x.ty == Ty::i32() => Ok(Atom::Var(x.clone())),
            other => {
                let shown = self.show(other);
                self.err(s, format!("{msg}\nGot: {shown}"))
            }
        }
    }

    fn type_arg(&mut self, v: &Value, s: Span) -> R<Ty> {
        match self.as_type(v, s)? {
            Some(t) => Ok(t),
            None => {
                let shown = self.show(v);
                self.err(s, format!("expected a type argument\nGot: {shown}"))
            }
        }
    }

    /// The error of `function_term_slots_get`/`_set` on what is not a compile-time closure.
    fn function_slots_error<T>(&self, v: &Value, s: Span) -> R<T> {
        match v {
            Value::Var(x) if matches!(x.ty, Ty::Fun(..)) => self.err(s, "expected a compile-time function; got a runtime one"),
            other => {
                let shown = self.show(other);
                self.err(s, format!("expected a compile-time function (a closure)\nGot: {shown}"))
            }
        }
    }
    fn string_lit(&self, v: &Value, s: Span) -> R<Arc<str>> {
        match v {
            Value::Lit(Lit::String(x)) => Ok(x.clone()),
            other => {
                let shown = self.show(other);
                self.err(s, format!("expected a string literal\nGot: {shown}"))
            }
        }
    }

    /// A binary arithmetic/bitwise operation.
    fn arith(&mut self, op: PrimOp, a: Value, b: Value, s: Span) -> R<Value> {
        let (pa, pb) = (prim_of(&a), prim_of(&b));
        let (pa, pb) = match (pa, pb) {
            (Some(x), Some(y)) => (x, y),
            _ => {
                let (x, y) = (self.show(&a), self.show(&b));
                return self.err(s, format!("`{}` expects two primitive values\nGot: {x} and {y}", op.name()));
            }
        };
        if pa != pb {
            return self.err(s, format!("the operands of `{}` must have the same type\nGot: {} and {}{}", op.name(), pa.name(), pb.name(), literal_hint(&a, &b)));
        }
        let ok = match op {
            PrimOp::Add => pa.is_int() || pa.is_float() || pa == PrimTy::String,
            PrimOp::Sub | PrimOp::Mul | PrimOp::Div | PrimOp::Rem => pa.is_int() || pa.is_float(),
            PrimOp::Pow => pa.is_float(),
            PrimOp::BitAnd | PrimOp::BitOr | PrimOp::BitXor => pa.is_int() || pa == PrimTy::Bool,
            _ => true,
        };
        if !ok {
            return self.err(s, format!("`{}` is not defined on {}", op.name(), pa.name()));
        }
        if let (Value::Lit(Lit::String(x)), Value::Lit(Lit::String(y))) = (&a, &b) {
            let len = x.len() + y.len();
            if op == PrimOp::Add && len > self.limits.max_string_bytes {
                return self.err(
                    s,
                    format!(
                        "a string built at compile time would be {len} bytes long, past the limit of {} bytes; make one operand dynamic (`dyn`) to build it at run time",
                        self.limits.max_string_bytes
                    ),
                );
            }
        }
        if let (Value::Lit(x), Value::Lit(y)) = (&a, &b) {
            match fold_arith(&op, x, y) {
                Ok(Some(l)) => return Ok(Value::Lit(l)),
                Ok(None) => {}
                Err(m) => return self.err(s, m),
            }
        }
        let op = if pa == PrimTy::String && op == PrimOp::Add { PrimOp::StringConcat } else { op };
        let (x, y) = (atom_of(&a).expect("atom"), atom_of(&b).expect("atom"));
        Ok(self.prim(op, vec![x, y], Ty::Prim(pa)))
    }

    /// A comparison; structural on pairs, records, unit and symbols.
    fn compare(&mut self, op: PrimOp, a: Value, b: Value, s: Span) -> R<Value> {
        match (&a, &b) {
            (Value::Unit, Value::Unit) => return Ok(Value::Lit(Lit::Bool(matches!(op, PrimOp::Eq | PrimOp::Le | PrimOp::Ge)))),
            (Value::Symbol(x), Value::Symbol(y)) if matches!(op, PrimOp::Eq | PrimOp::Ne) => {
                return Ok(Value::Lit(Lit::Bool((x == y) == (op == PrimOp::Eq))))
            }
            (Value::Pair(..) | Value::Record(..), _) if matches!(op, PrimOp::Eq | PrimOp::Ne) => {
                let (ta, tb) = (self.ty_of(&a, s)?, self.ty_of(&b, s)?);
                if ta != tb {
                    let (x, y) = (self.show(&a), self.show(&b));
                    return self.err(s, format!("the values compared must have the same type\nGot: {x} and {y}"));
                }
                let mut la = Vec::new();
                let mut lb = Vec::new();
                leaves_of(&a, &mut la);
                leaves_of(&b, &mut lb);
                let mut acc = Value::Lit(Lit::Bool(true));
                for (x, y) in la.into_iter().zip(lb) {
                    let e = self.compare(PrimOp::Eq, x, y, s)?;
                    acc = self.arith(PrimOp::BitAnd, acc, e, s)?;
                }
                if op == PrimOp::Ne {
                    return self.not(acc, s);
                }
                return Ok(acc);
            }
            _ => {}
        }
        let (pa, pb) = match (prim_of(&a), prim_of(&b)) {
            (Some(x), Some(y)) => (x, y),
            _ => {
                let (x, y) = (self.show(&a), self.show(&b));
                return self.err(s, format!("`{}` expects two primitive values\nGot: {x} and {y}", op.name()));
            }
        };
        if pa != pb {
            return self.err(s, format!("the operands of `{}` must have the same type\nGot: {} and {}{}", op.name(), pa.name(), pb.name(), literal_hint(&a, &b)));
        }
        if let (Value::Lit(x), Value::Lit(y)) = (&a, &b) {
            if let Some(r) = cmp_lits(&op, x, y) {
                return Ok(Value::Lit(Lit::Bool(r)));
            }
        }
        if let (Value::Var(x), Value::Var(y)) = (&a, &b) {
            if x.id == y.id && !pa.is_float() {
                return Ok(Value::Lit(Lit::Bool(matches!(op, PrimOp::Eq | PrimOp::Le | PrimOp::Ge))));
            }
        }
        let (x, y) = (atom_of(&a).expect("atom"), atom_of(&b).expect("atom"));
        Ok(self.prim(op, vec![x, y], Ty::Prim(PrimTy::Bool)))
    }

    fn not(&mut self, a: Value, s: Span) -> R<Value> {
        match a {
            Value::Lit(Lit::Bool(b)) => Ok(Value::Lit(Lit::Bool(!b))),
            Value::Var(ref x) if x.ty == Ty::Prim(PrimTy::Bool) => Ok(self.prim(PrimOp::Not, vec![Atom::Var(x.clone())], Ty::Prim(PrimTy::Bool))),
            other => {
                let shown = self.show(&other);
                self.err(s, format!("expected a bool\nGot: {shown}"))
            }
        }
    }

    fn unary_float(&mut self, name: &str, a: Value, s: Span) -> R<Value> {
        let p = prim_of(&a);
        match (p, &a) {
            (Some(p), _) if p.is_float() => {
                if let Value::Lit(l) = &a {
                    let x = match l {
                        Lit::F32(x) => *x as f64,
                        Lit::F64(x) => *x,
                        _ => 0.0,
                    };
                    let r = match name {
                        "sqrt" => x.sqrt(),
                        "log" => x.ln(),
                        "exp" => x.exp(),
                        "sin" => x.sin(),
                        "cos" => x.cos(),
                        "tan" => x.tan(),
                        "tanh" => x.tanh(),
                        _ => x,
                    };
                    return Ok(Value::Lit(if p == PrimTy::F32 { Lit::F32(r as f32) } else { Lit::F64(r) }));
                }
                Ok(self.prim(PrimOp::FloatFn(name.into()), vec![atom_of(&a).expect("atom")], Ty::Prim(p)))
            }
            _ => {
                let shown = self.show(&a);
                self.err(s, format!("`{name}` expects a float\nGot: {shown}"))
            }
        }
    }

    /// Evaluates `!!!!Name(args)`.
    pub(crate) fn eval_op(&mut self, name: &Name, args: &[Expr], s: Span, f: &mut Frame) -> R<Value> {
        let bin = |n: &str| -> Option<PrimOp> {
            Some(match n {
                "Add" => PrimOp::Add,
                "Sub" => PrimOp::Sub,
                "Mult" => PrimOp::Mul,
                "Div" => PrimOp::Div,
                "Mod" => PrimOp::Rem,
                "Pow" => PrimOp::Pow,
                "BitwiseAnd" => PrimOp::BitAnd,
                "BitwiseOr" => PrimOp::BitOr,
                "BitwiseXor" => PrimOp::BitXor,
                _ => return None,
            })
        };
        let cmp = |n: &str| -> Option<PrimOp> {
            Some(match n {
                "LT" => PrimOp::Lt,
                "LTE" => PrimOp::Le,
                "EQ" => PrimOp::Eq,
                "NEQ" => PrimOp::Ne,
                "GT" => PrimOp::Gt,
                "GTE" => PrimOp::Ge,
                _ => return None,
            })
        };
        if let Some(op) = bin(name) {
            let v = self.args(args, 2, name, s, f)?;
            let mut it = v.into_iter();
            let (a, b) = (it.next().unwrap_or(Value::Unit), it.next().unwrap_or(Value::Unit));
            return self.arith(op, a, b, s);
        }
        if let Some(op) = cmp(name) {
            let v = self.args(args, 2, name, s, f)?;
            let mut it = v.into_iter();
            let (a, b) = (it.next().unwrap_or(Value::Unit), it.next().unwrap_or(Value::Unit));
            return self.compare(op, a, b, s);
        }
        match &**name {
            "ShiftLeft" | "ShiftRight" => {
                let v = self.args(args, 2, name, s, f)?;
                let op = if &**name == "ShiftLeft" { PrimOp::Shl } else { PrimOp::Shr };
                let (a, b) = (v[0].clone(), v[1].clone());
                match (prim_of(&a), prim_of(&b)) {
                    (Some(pa), Some(pb)) if pa.is_int() && pb.is_int() => {
                        if let (Value::Lit(x), Value::Lit(y)) = (&a, &b) {
                            if let Some(Lit::U32(n)) = conv_lit(y, PrimTy::U32) {
                                if let Some(r) = shift(&op, x, n) {
                                    return Ok(Value::Lit(r));
                                }
                            }
                        }
                        Ok(self.prim(op, vec![atom_of(&a).expect("atom"), atom_of(&b).expect("atom")], Ty::Prim(pa)))
                    }
                    _ => self.err(s, "shifts expect integers"),
                }
            }
            "BoolAnd" | "BoolOr" => {
                let v = self.args(args, 2, name, s, f)?;
                let op = if &**name == "BoolAnd" { PrimOp::BitAnd } else { PrimOp::BitOr };
                self.arith(op, v[0].clone(), v[1].clone(), s)
            }
            "BitwiseComplement" => {
                let v = self.args(args, 1, name, s, f)?;
                match &v[0] {
                    Value::Lit(l) => Ok(Value::Lit(match l {
                        Lit::I8(x) => Lit::I8(!x),
                        Lit::I16(x) => Lit::I16(!x),
                        Lit::I32(x) => Lit::I32(!x),
                        Lit::I64(x) => Lit::I64(!x),
                        Lit::U8(x) => Lit::U8(!x),
                        Lit::U16(x) => Lit::U16(!x),
                        Lit::U32(x) => Lit::U32(!x),
                        Lit::U64(x) => Lit::U64(!x),
                        Lit::Bool(x) => Lit::Bool(!x),
                        _ => return self.err(s, "`~~~` expects an integer"),
                    })),
                    Value::Var(x) if matches!(x.ty, Ty::Prim(p) if p.is_int()) => {
                        let t = x.ty.clone();
                        Ok(self.prim(PrimOp::BitNot, vec![Atom::Var(x.clone())], t))
                    }
                    other => {
                        let shown = self.show(other);
                        self.err(s, format!("`~~~` expects an integer\nGot: {shown}"))
                    }
                }
            }
            "Neg" => {
                let v = self.args(args, 1, name, s, f)?;
                match &v[0] {
                    Value::Lit(l) => Ok(Value::Lit(match l {
                        Lit::I8(x) => Lit::I8(x.wrapping_neg()),
                        Lit::I16(x) => Lit::I16(x.wrapping_neg()),
                        Lit::I32(x) => Lit::I32(x.wrapping_neg()),
                        Lit::I64(x) => Lit::I64(x.wrapping_neg()),
                        Lit::F32(x) => Lit::F32(-x),
                        Lit::F64(x) => Lit::F64(-x),
                        _ => return self.err(s, format!("negation expects a signed number\nGot: {}", l.ty().name())),
                    })),
                    Value::Var(x) if matches!(x.ty, Ty::Prim(p) if p.is_signed_int() || p.is_float()) => {
                        let t = x.ty.clone();
                        Ok(self.prim(PrimOp::Neg, vec![Atom::Var(x.clone())], t))
                    }
                    other => {
                        let shown = self.show(other);
                        self.err(s, format!("negation expects a signed number\nGot: {shown}"))
                    }
                }
            }
            "Not" => {
                let v = self.args(args, 1, name, s, f)?;
                self.not(v[0].clone(), s)
            }
            "Tanh" | "Log" | "Exp" | "Sin" | "Cos" | "Sqrt" | "Tan" => {
                let v = self.args(args, 1, name, s, f)?;
                let n = name.to_lowercase();
                self.unary_float(&n, v[0].clone(), s)
            }
            "NanIs" => {
                let v = self.args(args, 1, name, s, f)?;
                match &v[0] {
                    Value::Lit(Lit::F32(x)) => Ok(Value::Lit(Lit::Bool(x.is_nan()))),
                    Value::Lit(Lit::F64(x)) => Ok(Value::Lit(Lit::Bool(x.is_nan()))),
                    Value::Var(x) if matches!(x.ty, Ty::Prim(p) if p.is_float()) => {
                        Ok(self.prim(PrimOp::IsNan, vec![Atom::Var(x.clone())], Ty::Prim(PrimTy::Bool)))
                    }
                    _ => self.err(s, "`nan_is` expects a float"),
                }
            }
            "ProtoRegister" => {
                // An instance's declaration: (prototype id, nominal id, how many of the
                // nominal's arguments the instance names, its function).
                let v = self.args(args, 4, name, s, f)?;
                if let [Value::Lit(Lit::I32(p)), Value::Lit(Lit::I32(d)), Value::Lit(Lit::I32(k)), inst] = &v[..] {
                    self.proto_instances.insert((*p as u32, *d as u32), (*k as u32, inst.clone()));
                }
                Ok(Value::Unit)
            }
            "ProtoHas" => {
                // `!!!!PrototypeHas(proto, `t)`: whether the type's nominal has an instance
                let v = self.args(args, 2, name, s, f)?;
                let Value::Lit(Lit::I32(p)) = v[0] else { return self.err(s, "internal error: ProtoHas expects a prototype id") };
                let d = match &v[1] {
                    Value::NominalFn(d, _) => Some(*d),
                    Value::Type(t) => self.nominal_parts(t).map(|x| x.0),
                    _ => None,
                };
                Ok(Value::Lit(Lit::Bool(d.is_some_and(|d| self.proto_instances.contains_key(&(p as u32, d))))))
            }
            "ProtoSelect" => {
                // A prototype's use (the prepass's type passing, or a bottom-up call with the
                // selector type given): the instance of the selector type's nominal, applied to
                // the type arguments the instance names.
                let v = self.args(args, 2, name, s, f)?;
                let Value::Lit(Lit::I32(p)) = v[0] else { return self.err(s, "internal error: ProtoSelect expects a prototype id") };
                let (d, targs) = match &v[1] {
                    Value::NominalFn(d, a) => (*d, a.clone()),
                    Value::Type(t) => match self.nominal_parts(t) {
                        Some(x) => x,
                        None => {
                            let shown = self.out.types.show(t);
                            return self.err(s, format!("the type {shown} is not a nominal, so it has no instance of this prototype"));
                        }
                    },
                    other => {
                        let shown = self.show(other);
                        return self.err(s, format!("internal error: a prototype's selector must be a type\nGot: {shown}"));
                    }
                };
                match self.proto_instances.get(&(p as u32, d)).cloned() {
                    Some((k, inst)) => {
                        let mut r = inst;
                        for t in targs.iter().take(k as usize) {
                            r = self.apply(r, Value::Type(t.clone()), s)?;
                        }
                        Ok(r)
                    }
                    None => {
                        let n = self.prog.nominals[d as usize].name.clone();
                        self.err(s, format!("the nominal `{n}` has no instance of this prototype"))
                    }
                }
            }
            "TypedLit" => {
                // An unsuffixed literal whose type inference left as a passed type parameter
                // (the prepass's type passing): the number text at the type given.
                let v = self.args(args, 2, name, s, f)?;
                let to = match self.type_arg(&v[0], s)? {
                    Ty::Prim(p) => p,
                    t => {
                        let shown = self.out.types.show(&t);
                        return self.err(s, format!("a number literal cannot have the type {shown}"));
                    }
                };
                let text = match &v[1] {
                    Value::Lit(Lit::String(t)) => t.clone(),
                    _ => return self.err(s, "internal error: TypedLit expects the number's text"),
                };
                match crate::prepass::typed_lit(&text, to) {
                    Some(l) => Ok(Value::Lit(l)),
                    None => self.err(s, format!("the number `{text}` does not fit its type `{}`", to.name())),
                }
            }
            "Conv" => {
                let v = self.args(args, 2, name, s, f)?;
                let to = match self.type_arg(&v[0], s)? {
                    Ty::Prim(p) => p,
                    t => {
                        let shown = self.out.types.show(&t);
                        return self.err(s, format!("`conv` converts to primitive types only\nGot: {shown}"));
                    }
                };
                match &v[1] {
                    Value::Lit(l) => match conv_lit(l, to) {
                        Some(r) => Ok(Value::Lit(r)),
                        None => self.err(s, format!("cannot convert {} to {}", l.ty().name(), to.name())),
                    },
                    Value::Var(x) if matches!(x.ty, Ty::Prim(_)) => {
                        if x.ty == Ty::Prim(to) {
                            return Ok(v[1].clone());
                        }
                        Ok(self.prim(PrimOp::Conv(to), vec![Atom::Var(x.clone())], Ty::Prim(to)))
                    }
                    other => {
                        let shown = self.show(other);
                        self.err(s, format!("`conv` expects a primitive value\nGot: {shown}"))
                    }
                }
            }
            "Infinity" | "Pi" => {
                let v = self.args(args, 1, name, s, f)?;
                let x = if &**name == "Pi" { std::f64::consts::PI } else { f64::INFINITY };
                match self.type_arg(&v[0], s)? {
                    Ty::Prim(PrimTy::F32) => Ok(Value::Lit(Lit::F32(x as f32))),
                    Ty::Prim(PrimTy::F64) => Ok(Value::Lit(Lit::F64(x))),
                    _ => self.err(s, "expected f32 or f64"),
                }
            }
            "SizeOf" => {
                let v = self.args(args, 1, name, s, f)?;
                let n = match self.type_arg(&v[0], s)? {
                    Ty::Prim(PrimTy::I8 | PrimTy::U8 | PrimTy::Bool) => 1,
                    Ty::Prim(PrimTy::I16 | PrimTy::U16) => 2,
                    Ty::Prim(PrimTy::I32 | PrimTy::U32 | PrimTy::F32 | PrimTy::Char) => 4,
                    Ty::Prim(PrimTy::I64 | PrimTy::U64 | PrimTy::F64) => 8,
                    _ => return self.err(s, "`sizeof` expects a number type"),
                };
                Ok(Value::Lit(Lit::I32(n)))
            }
            "Dyn" => {
                let v = self.args(args, 1, name, s, f)?;
                self.dyn_value(&v[0], s)
            }
            "PrintStatic" => {
                let v = self.args(args, 1, name, s, f)?;
                let shown = self.show_static(&v[0]);
                self.out.compile_log.push(shown);
                Ok(Value::Unit)
            }
            "ErrorType" => {
                let v = self.args(args, 1, name, s, f)?;
                let msg = match &v[0] {
                    Value::Lit(Lit::String(m)) => m.to_string(),
                    other => self.show(other),
                };
                self.err(s, msg)
            }
            "FailWith" => {
                let v = self.args(args, 2, name, s, f)?;
                let t = self.type_arg(&v[0], s)?;
                let msg = match &v[1] {
                    Value::Lit(l @ Lit::String(_)) => Atom::Lit(l.clone()),
                    Value::Var(x) if x.ty == Ty::Prim(PrimTy::String) => Atom::Var(x.clone()),
                    other => {
                        let shown = self.show(other);
                        return self.err(s, format!("`failwith` expects a string message\nGot: {shown}"));
                    }
                };
                Ok(self.emit_value(IExpr::Failwith(msg), &t))
            }
            "KernelIndex" => {
                if !args.is_empty() {
                    return self.err(s, "`KernelIndex` takes no arguments");
                }
                if self.in_host_code() {
                    return self.err(s, "`KernelIndex` is only meaningful inside a kernel (`join_backend`)");
                }
                Ok(self.emit_value(IExpr::KernelIndex, &Ty::i32()))
            }
            "LengthCheck" => {
                let v = self.args(args, 3, name, s, f)?;
                let what = self.string_lit(&v[2], s)?;
                let expected = self.i32_atom(&v[0], "`LengthCheck` expects i32 lengths", s)?;
                let found = self.i32_atom(&v[1], "`LengthCheck` expects i32 lengths", s)?;
                match (&expected, &found) {
                    (a, b) if a == b => {}
                    (Atom::Lit(Lit::I32(a)), Atom::Lit(Lit::I32(b))) => {
                        return self.err(s, format!("{what}: expected {a} elements, found {b}"));
                    }
                    _ => self.push_stmt_effect(IExpr::LengthCheck { expected, found, what: what.into() }),
                }
                Ok(Value::Unit)
            }
            "ChunkSet" => {
                let v = self.args(args, 4, name, s, f)?;
                if self.in_host_code() {
                    return self.err(s, "`chunk_set` is for kernels: it writes into the range of an array that the kernel's index owns");
                }
                let (array, el) = self.kernel_array(&v[0], "chunk_set", |p| p != PrimTy::String, "an array of one primitive leaf", s)?;
                let index = self.i32_atom(&v[1], "`chunk_set` needs an i32 index", s)?;
                let value = self.element_operand(&v[2], &el, "`chunk_set` writes a value", false, s)?;
                let chunks = self.i32_atom(&v[3], "`chunk_set` needs an i32 chunk count", s)?;
                self.push_stmt_effect(IExpr::ChunkSet { array, index, value, chunks });
                Ok(Value::Unit)
            }
            "AtomicAdd" | "AtomicMin" | "AtomicMax" | "AtomicCas" => {
                let cas = &**name == "AtomicCas";
                let lib = match &**name {
                    "AtomicAdd" => "atomic_add",
                    "AtomicMin" => "atomic_min",
                    "AtomicMax" => "atomic_max",
                    _ => "atomic_cas",
                };
                let v = self.args(args, if cas { 4 } else { 3 }, name, s, f)?;
                if self.in_host_code() {
                    return self.err(s, format!("`{lib}` is for kernels (`parallel_for`, `map`): host code runs on one thread, so read and set the element directly"));
                }
                let (array, el) = self.kernel_array(&v[0], lib, |p| p.is_int(), "an array of one integer leaf (an `inv_array` of i32, u64...)", s)?;
                let index = self.i32_atom(&v[1], &format!("`{lib}` needs an i32 index"), s)?;
                let mut operands = Vec::new();
                for x in &v[2..] {
                    operands.push(self.element_operand(x, &el, &format!("`{lib}` takes values"), true, s)?);
                }
                if cas {
                    let desired = operands.pop().unwrap_or(Atom::Lit(Lit::I32(0)));
                    let expected = operands.pop().unwrap_or(Atom::Lit(Lit::I32(0)));
                    return Ok(self.emit_value(IExpr::AtomicCas { array, index, expected, desired }, &el));
                }
                let op = match &**name {
                    "AtomicMin" => AtomicOp::Min,
                    "AtomicMax" => AtomicOp::Max,
                    _ => AtomicOp::Add,
                };
                let value = operands.pop().unwrap_or(Atom::Lit(Lit::I32(0)));
                self.push_stmt_effect(IExpr::Atomic { op, array, index, value });
                Ok(Value::Unit)
            }
            "ThreadIndex" | "BlockIndex" | "ThreadsPerBlock" | "SyncThreads" => {
                let op = match &**name {
                    "ThreadIndex" => GpuOp::ThreadIndex,
                    "BlockIndex" => GpuOp::BlockIndex,
                    "ThreadsPerBlock" => GpuOp::ThreadsPerBlock,
                    _ => GpuOp::SyncThreads,
                };
                if !args.is_empty() {
                    return self.err(s, format!("`{}` takes no arguments", op.name()));
                }
                self.gpu_kernel_only(op, s)?;
                if op == GpuOp::SyncThreads {
                    self.push_stmt_effect(IExpr::Gpu { op, args: Vec::new() });
                    return Ok(Value::Unit);
                }
                Ok(self.emit_value(IExpr::Gpu { op, args: Vec::new() }, &Ty::i32()))
            }
            "ShuffleDown" | "ShuffleUp" => {
                let op = if &**name == "ShuffleUp" { GpuOp::ShuffleUp } else { GpuOp::ShuffleDown };
                let v = self.args(args, 2, name, s, f)?;
                self.gpu_kernel_only(op, s)?;
                let delta = self.i32_atom(&v[1], &format!("`{}` needs an i32 lane offset", op.name()), s)?;
                match &v[0] {
                    // Every lane holds the same literal: the shuffle is the literal.
                    Value::Lit(l) if !matches!(l, Lit::String(_)) => Ok(v[0].clone()),
                    Value::Var(x) if matches!(x.ty, Ty::Prim(p) if p != PrimTy::String) => {
                        let t = x.ty.clone();
                        Ok(self.emit_value(IExpr::Gpu { op, args: vec![Atom::Var(x.clone()), delta] }, &t))
                    }
                    other => {
                        let shown = self.show(other);
                        self.err(s, format!("`{}` exchanges one primitive value (not a string) between the lanes of a warp; shuffle a tuple or record leaf by leaf\nGot: {shown}", op.name()))
                    }
                }
            }
            "SharedArray" => {
                let v = self.args(args, 2, name, s, f)?;
                let op_name = GpuOp::SharedArray { len: 0 }.name();
                let et = self.type_arg(&v[0], s)?;
                let size = match et {
                    Ty::Prim(p) if p != PrimTy::String => prim_bytes(p),
                    _ => {
                        let shown = self.out.types.show(&et);
                        return self.err(s, format!("`{op_name}` holds one primitive type (not a string); an inverse array of shared arrays holds tuples and records\nGot: {shown}"));
                    }
                };
                let len = match &v[1] {
                    Value::Lit(Lit::I32(n)) if *n > 0 => *n as u32,
                    other => {
                        let shown = self.show(other);
                        return self.err(s, format!("`{op_name}` needs a positive i32 literal length: shared memory is sized when the kernel is compiled\nGot: {shown}"));
                    }
                };
                // CUDA's static shared memory per block.
                const SHARED_BYTES: u64 = 48 * 1024;
                if u64::from(len) * size as u64 > SHARED_BYTES {
                    return self.err(
                        s,
                        format!("`{op_name}` of {len} elements of {size} bytes exceeds the {SHARED_BYTES} bytes of static shared memory a CUDA block has"),
                    );
                }
                let op = GpuOp::SharedArray { len };
                self.gpu_kernel_only(op, s)?;
                let t = Ty::Array(Arc::new(et));
                Ok(self.emit_value(IExpr::Gpu { op, args: Vec::new() }, &t))
            }
            "TaskletArray" => {
                let v = self.args(args, 2, name, s, f)?;
                let op_name = GpuOp::TaskletArray { len: 0 }.name();
                let et = self.type_arg(&v[0], s)?;
                if !matches!(et, Ty::Prim(p) if p != PrimTy::String) {
                    let shown = self.out.types.show(&et);
                    return self.err(s, format!("`{op_name}` holds one primitive type (not a string); an inverse array of tasklet arrays holds tuples and records\nGot: {shown}"));
                }
                let len = match &v[1] {
                    Value::Lit(Lit::I32(n)) if *n > 0 => *n as u32,
                    other => {
                        let shown = self.show(other);
                        return self.err(s, format!("`{op_name}` needs a positive i32 literal length: WRAM is sized when the DPU program is compiled\nGot: {shown}"));
                    }
                };
                let op = GpuOp::TaskletArray { len };
                self.gpu_kernel_only(op, s)?;
                let t = Ty::Array(Arc::new(et));
                Ok(self.emit_value(IExpr::Gpu { op, args: Vec::new() }, &t))
            }
            "MramRead" | "MramWrite" => {
                let read = &**name == "MramRead";
                let op = if read { GpuOp::MramRead } else { GpuOp::MramWrite };
                let lib = op.name();
                let v = self.args(args, 4, name, s, f)?;
                self.gpu_kernel_only(op, s)?;
                // mram_read mram from n wram / mram_write wram mram from n
                let (first, second, from, n) = if read { (&v[0], &v[3], &v[1], &v[2]) } else { (&v[0], &v[1], &v[2], &v[3]) };
                let (a, ea) = self.kernel_array(first, lib, |p| p != PrimTy::String, "an array of one primitive leaf", s)?;
                let (b, eb) = self.kernel_array(second, lib, |p| p != PrimTy::String, "an array of one primitive leaf", s)?;
                if ea != eb {
                    let (x, y) = (self.out.types.show(&ea), self.out.types.show(&eb));
                    return self.err(s, format!("`{lib}` copies between arrays of one element type; got `{x}` and `{y}`"));
                }
                let from = self.i32_atom(from, &format!("`{lib}` needs an i32 first element"), s)?;
                let n = self.i32_atom(n, &format!("`{lib}` needs an i32 element count"), s)?;
                let args = if read { vec![a, from, n, b] } else { vec![a, b, from, n] };
                self.push_stmt_effect(IExpr::Gpu { op, args });
                Ok(Value::Unit)
            }
            "UpmemDpus" => {
                if !args.is_empty() {
                    return self.err(s, "`upmem_dpus` takes no arguments");
                }
                if !self.in_host_code() || self.kernel_target() != super::KernelTarget::Upmem {
                    return self.err(s, "`upmem_dpus ()` is the DPU count of the device, in the host code of an UPMEM compilation (`kernel_switch`'s `UPMEM_C_Kernel` case)");
                }
                Ok(self.emit_value(IExpr::Gpu { op: GpuOp::Dpus, args: Vec::new() }, &Ty::i32()))
            }
            "UpmemBlockElems" => {
                // The elements one tasklet moves per DMA block for a kernel whose WRAM buffers
                // hold one element of each of the two types given: a multiple of 8 (so every block starts on
                // an 8-byte boundary in MRAM), at most 2048 bytes per leaf (the DMA limit), and
                // at most UPMEM_TASKLET_WRAM bytes over all leaves, so that 24 tasklets fit.
                let v = self.args(args, 2, name, s, f)?;
                let mut leaves = Vec::new();
                for x in &v {
                    let t = self.type_arg(x, s)?;
                    leaves.extend(self.out.types.leaves(&t));
                }
                let mut sum = 0usize;
                let mut max = 1usize;
                for l in &leaves {
                    match l {
                        Ty::Prim(p) if *p != PrimTy::String => {
                            sum += prim_bytes(*p);
                            max = max.max(prim_bytes(*p));
                        }
                        other => {
                            let shown = self.out.types.show(other);
                            return self.err(s, format!("an UPMEM kernel moves primitive leaves (not strings) between MRAM and WRAM\nGot: {shown}"));
                        }
                    }
                }
                const UPMEM_TASKLET_WRAM: usize = 1024;
                let by_wram = UPMEM_TASKLET_WRAM / sum.max(1);
                let by_dma = 2048 / max;
                let n = (by_wram.min(by_dma) / 8 * 8).max(8);
                Ok(Value::Lit(Lit::I32(n as i32)))
            }
            "KernelLaunch" | "KernelLaunchBlocks" => {
                let blocks = &**name == "KernelLaunchBlocks";
                let v = self.args(args, 3, name, s, f)?;
                let kernel = match &v[0] {
                    Value::Lit(Lit::I32(k)) if *k >= 0 && (*k as usize) < self.out.kernels.len() => *k as u32,
                    other => {
                        let shown = self.show(other);
                        return self.err(s, format!("`KernelLaunch` expects the kernel id that `join_backend` returned\nGot: {shown}"));
                    }
                };
                let len = self.i32_atom(&v[1], "`KernelLaunch` expects an i32 length", s)?;
                let (_, args) = self.abstract_value(&v[2], s)?;
                let want = self.out.kernels[kernel as usize].params.len();
                if args.len() != want {
                    return self.err(s, format!("`KernelLaunch` passes {} arguments, but kernel {kernel} takes {want}", args.len()));
                }
                let backend = &*self.out.kernels[kernel as usize].backend;
                if blocks && backend != crate::codegen::CUDA_KERNEL_BACKEND && backend != crate::codegen::UPMEM_KERNEL_BACKEND {
                    return self.err(
                        s,
                        format!(
                            "a block launch (`parallel_blocks`, `parallel_tasklets`) runs CUDA kernels (`join_backend {}`) or UPMEM kernels (`join_backend {}`) only",
                            crate::codegen::CUDA_KERNEL_BACKEND,
                            crate::codegen::UPMEM_KERNEL_BACKEND
                        ),
                    );
                }
                self.push_stmt_effect(IExpr::KernelLaunch { kernel, len, args, blocks });
                Ok(Value::Unit)
            }
            "Global" => {
                let v = self.args(args, 1, name, s, f)?;
                let g = self.string_lit(&v[0], s)?;
                if !self.out.globals.contains(&g) {
                    self.out.globals.push(g);
                }
                Ok(Value::Unit)
            }
            "TypeEq" => {
                let v = self.args(args, 2, name, s, f)?;
                let (a, b) = (self.type_arg(&v[0], s)?, self.type_arg(&v[1], s)?);
                Ok(Value::Lit(Lit::Bool(a == b)))
            }
            "LitIs" | "PrimIs" | "SymbolIs" | "VarIs" | "UnionIs" | "HeapUnionIs" | "LayoutIs" | "NominalIs" | "FunctionIs" => {
                let v = self.args(args, 1, name, s, f)?;
                let x = &v[0];
                let union_heap = |pe: &Self, t: &Ty| match t {
                    Ty::Union(u) => Some(pe.out.types.unions[*u as usize].heap),
                    _ => None,
                };
                let r = match &**name {
                    "LitIs" => matches!(x, Value::Lit(_)),
                    "PrimIs" => prim_of(x).is_some(),
                    "SymbolIs" => matches!(x, Value::Symbol(_)),
                    "VarIs" => matches!(x, Value::Var(_)),
                    "UnionIs" => match x {
                        Value::Union(..) => true,
                        Value::Var(v) => union_heap(self, &v.ty).is_some(),
                        _ => false,
                    },
                    "HeapUnionIs" => match x {
                        Value::Union(t, ..) => union_heap(self, t) == Some(true),
                        Value::Var(v) => union_heap(self, &v.ty) == Some(true),
                        _ => false,
                    },
                    "LayoutIs" => matches!(x, Value::Var(v) if matches!(v.ty, Ty::Layout(..))),
                    "NominalIs" => matches!(x, Value::Nominal(..)),
                    _ => matches!(x, Value::Closure(..) | Value::Rec(..)) || matches!(x, Value::Var(v) if matches!(v.ty, Ty::Fun(..))),
                };
                Ok(Value::Lit(Lit::Bool(r)))
            }
            "PrimTypeIs" | "SymbolTypeIs" | "UnionTypeIs" | "HeapUnionTypeIs" | "LayoutTypeIs" | "NominalTypeIs" => {
                let v = self.args(args, 1, name, s, f)?;
                let t = self.type_arg(&v[0], s)?;
                let r = match &**name {
                    "PrimTypeIs" => matches!(t, Ty::Prim(_)),
                    "SymbolTypeIs" => matches!(t, Ty::Symbol(_)),
                    "UnionTypeIs" => matches!(t, Ty::Union(_)),
                    "HeapUnionTypeIs" => matches!(t, Ty::Union(u) if self.out.types.unions[u as usize].heap),
                    "LayoutTypeIs" => matches!(t, Ty::Layout(..)),
                    _ => matches!(t, Ty::Nominal(_)),
                };
                Ok(Value::Lit(Lit::Bool(r)))
            }
            "NominalStrip" => {
                let v = self.args(args, 1, name, s, f)?;
                match &v[0] {
                    Value::Nominal(_, x) => Ok((**x).clone()),
                    other => Ok(other.clone()),
                }
            }
            "NominalCreate" => {
                let v = self.args(args, 2, name, s, f)?;
                let t = self.type_arg(&v[1], s)?;
                self.nominal_from(v[0].clone(), t, s)
            }
            "LayoutToHeap" | "LayoutToHeapMutable" => {
                let v = self.args(args, 1, name, s, f)?;
                let kind = if &**name == "LayoutToHeap" { LayoutKind::Heap } else { LayoutKind::Mut };
                let inner = self.ty_of(&v[0], s)?;
                let t = Ty::Layout(kind, Arc::new(inner));
                let atoms = self.abstract_atoms(&v[0], s)?;
                Ok(self.emit_value(IExpr::LayoutNew { ty: t.clone(), args: atoms }, &t))
            }
            "LayoutIndex" => {
                let v = self.args(args, 1, name, s, f)?;
                match &v[0] {
                    Value::Var(x) => match &x.ty {
                        Ty::Layout(_, inner) => {
                            let inner = (**inner).clone();
                            let leaves = self.out.types.leaves(&inner);
                            let mut vars = Vec::new();
                            for (i, lt) in leaves.into_iter().enumerate() {
                                let nv = self.new_var(lt);
                                self.emit(vec![nv.clone()], IExpr::LayoutGet { layout: Atom::Var(x.clone()), field: i as u32 });
                                vars.push(nv);
                            }
                            Ok(self.value_from_leaves(&inner, vars))
                        }
                        _ => self.err(s, "expected a layout value"),
                    },
                    other => {
                        let shown = self.show(other);
                        self.err(s, format!("expected a layout value\nGot: {shown}"))
                    }
                }
            }
            "StringLength" => {
                let v = self.args(args, 1, name, s, f)?;
                match &v[0] {
                    Value::Lit(Lit::String(x)) => Ok(Value::Lit(Lit::I32(x.len() as i32))),
                    Value::Var(x) if x.ty == Ty::Prim(PrimTy::String) => {
                        Ok(self.prim(PrimOp::StringLength, vec![Atom::Var(x.clone())], Ty::i32()))
                    }
                    _ => self.err(s, "`string_length` expects a string"),
                }
            }
            "StringIndex" => {
                let v = self.args(args, 2, name, s, f)?;
                if let (Value::Lit(Lit::String(x)), Value::Lit(i)) = (&v[0], &v[1]) {
                    if let Some(Lit::I64(i)) = conv_lit(i, PrimTy::I64) {
                        return match x.as_bytes().get(i as usize) {
                            Some(b) if i >= 0 => Ok(Value::Lit(Lit::Char(*b as char))),
                            _ => self.err(s, format!("string index {i} is out of bounds")),
                        };
                    }
                }
                let sa = atom_of(&v[0]).filter(|_| prim_of(&v[0]) == Some(PrimTy::String));
                let sa = match sa {
                    Some(a) => a,
                    None => return self.err(s, "string indexing expects a string"),
                };
                let i = self.int_atom(&v[1], s)?;
                Ok(self.prim(PrimOp::StringIndex, vec![sa, i], Ty::Prim(PrimTy::Char)))
            }
            "StringSlice" => {
                let v = self.args(args, 3, name, s, f)?;
                if let (Value::Lit(Lit::String(x)), Value::Lit(a), Value::Lit(b)) = (&v[0], &v[1], &v[2]) {
                    if let (Some(Lit::I64(a)), Some(Lit::I64(b))) = (conv_lit(a, PrimTy::I64), conv_lit(b, PrimTy::I64)) {
                        return match x.get(a.max(0) as usize..b.max(0) as usize) {
                            Some(sub) if a <= b => Ok(Value::Lit(Lit::String(sub.into()))),
                            _ => self.err(s, format!("string slice {a}..{b} is out of bounds for a string of length {}", x.len())),
                        };
                    }
                }
                let sa = match atom_of(&v[0]).filter(|_| prim_of(&v[0]) == Some(PrimTy::String)) {
                    Some(a) => a,
                    None => return self.err(s, "`string_slice` expects a string"),
                };
                let a = self.int_atom(&v[1], s)?;
                let b = self.int_atom(&v[2], s)?;
                Ok(self.prim(PrimOp::StringSlice, vec![sa, a, b], Ty::Prim(PrimTy::String)))
            }
            "StaticStringConcat" => {
                let v = self.args(args, 2, name, s, f)?;
                let (a, b) = (self.string_lit(&v[0], s)?, self.string_lit(&v[1], s)?);
                Ok(Value::Lit(Lit::String(format!("{a}{b}").into())))
            }
            "ArrayCreate" => {
                let v = self.args(args, 2, name, s, f)?;
                let et = self.type_arg(&v[0], s)?;
                let len = self.int_atom(&v[1], s)?;
                let t = Ty::Array(Arc::new(et));
                Ok(self.emit_value(IExpr::ArrayNew { ty: t.clone(), len }, &t))
            }
            // An array literal `;[a; b]` (top-down syntax): the element type is the first
            // element's; every element must have it.
            "ArrayLiteral" => {
                let v = self.args(args, args.len(), name, s, f)?;
                let Some(first) = v.first() else {
                    return self.err(s, "cannot infer the element type of an empty array literal; use `array_create` with a type");
                };
                let et = self.ty_of(first, s)?;
                let mut elems = Vec::with_capacity(v.len());
                for (i, x) in v.iter().enumerate() {
                    let x = self.coerce(x.clone(), &et, s)?;
                    let xt = self.ty_of(&x, s)?;
                    if xt != et {
                        let (a, b) = (self.out.types.show(&xt), self.out.types.show(&et));
                        return self.err(
                            s,
                            format!("the elements of an array literal must have one type: element {i} differs\nGot: {a}\nExpected: {b}"),
                        );
                    }
                    elems.push(self.abstract_atoms(&x, s)?);
                }
                let t = Ty::Array(Arc::new(et));
                Ok(self.emit_value(IExpr::ArrayLit { ty: t.clone(), elems }, &t))
            }
            "ArrayLength" => {
                let v = self.args(args, 1, name, s, f)?;
                match &v[0] {
                    Value::Var(x) if matches!(x.ty, Ty::Array(_)) => {
                        Ok(self.prim(PrimOp::ArrayLength, vec![Atom::Var(x.clone())], Ty::i32()))
                    }
                    other => {
                        let shown = self.show(other);
                        self.err(s, format!("expected an array\nGot: {shown}"))
                    }
                }
            }
            "ArrayIndex" => {
                let v = self.args(args, 2, name, s, f)?;
                match &v[0] {
                    Value::Var(x) => match &x.ty {
                        Ty::Array(et) => {
                            let et = (**et).clone();
                            let i = self.int_atom(&v[1], s)?;
                            Ok(self.emit_value(IExpr::ArrayGet { array: Atom::Var(x.clone()), index: i }, &et))
                        }
                        _ => self.err(s, "expected an array"),
                    },
                    other => {
                        let shown = self.show(other);
                        self.err(s, format!("expected an array\nGot: {shown}"))
                    }
                }
            }
            "ArrayIndexSet" => {
                let v = self.args(args, 3, name, s, f)?;
                match &v[0] {
                    Value::Var(x) => match &x.ty {
                        Ty::Array(et) => {
                            let et = (**et).clone();
                            let val = self.coerce(v[2].clone(), &et, s)?;
                            let vt = self.ty_of(&val, s)?;
                            if vt != et {
                                let (a, b) = (self.out.types.show(&vt), self.out.types.show(&et));
                                return self.err(s, format!("the array element has the wrong type\nGot: {a}\nExpected: {b}"));
                            }
                            let i = self.int_atom(&v[1], s)?;
                            let atoms = self.abstract_atoms(&val, s)?;
                            self.emit(vec![], IExpr::ArraySet { array: Atom::Var(x.clone()), index: i, value: atoms });
                            Ok(Value::Unit)
                        }
                        _ => self.err(s, "expected an array"),
                    },
                    other => {
                        let shown = self.show(other);
                        self.err(s, format!("expected an array\nGot: {shown}"))
                    }
                }
            }
            "RecordMap" | "RecordIter" | "RecordFilter" => {
                let v = self.args(args, 2, name, s, f)?;
                let m = self.record_arg(&v[1], s)?;
                let mut out = BTreeMap::new();
                for (k, x) in m.iter() {
                    let arg = rec(&[("key", Value::Symbol(k.clone())), ("value", x.clone())]);
                    let r = self.apply(v[0].clone(), arg, s)?;
                    match &**name {
                        "RecordMap" => {
                            out.insert(k.clone(), r);
                        }
                        "RecordFilter" => match r {
                            Value::Lit(Lit::Bool(true)) => {
                                out.insert(k.clone(), x.clone());
                            }
                            Value::Lit(Lit::Bool(false)) => {}
                            _ => return self.err(s, "`record_filter` expects a function returning a literal bool"),
                        },
                        _ => {}
                    }
                }
                if &**name == "RecordIter" {
                    Ok(Value::Unit)
                } else {
                    Ok(Value::Record(Rc::new(out)))
                }
            }
            "RecordFold" | "RecordFoldBack" => {
                let v = self.args(args, 3, name, s, f)?;
                let m = self.record_arg(&v[2], s)?;
                let mut state = v[1].clone();
                let items: Vec<(Name, Value)> = if &**name == "RecordFold" {
                    m.iter().map(|(k, x)| (k.clone(), x.clone())).collect()
                } else {
                    m.iter().rev().map(|(k, x)| (k.clone(), x.clone())).collect()
                };
                for (k, x) in items {
                    let arg = rec(&[("state", state), ("key", Value::Symbol(k)), ("value", x)]);
                    state = self.apply(v[0].clone(), arg, s)?;
                }
                Ok(state)
            }
            "RecordLength" => {
                let v = self.args(args, 1, name, s, f)?;
                let m = self.record_arg(&v[0], s)?;
                Ok(Value::Lit(Lit::I32(m.len() as i32)))
            }
            "RecordTypeMap" | "RecordTypeIter" | "RecordTypeFold" | "RecordTypeFoldBack" | "RecordTypeLength" => {
                let n = args.len();
                let v = self.args(args, n, name, s, f)?;
                let t = self.type_arg(&v[n - 1], s)?;
                let m = match t {
                    Ty::Record(m) => m,
                    other => {
                        let shown = self.out.types.show(&other);
                        return self.err(s, format!("expected a record type\nGot: {shown}"));
                    }
                };
                match &**name {
                    "RecordTypeLength" => Ok(Value::Lit(Lit::I32(m.len() as i32))),
                    // as v2: `f .key` is applied to the field's type (`f` returns a `forall`)
                    "RecordTypeMap" | "RecordTypeIter" => {
                        let mut out = BTreeMap::new();
                        for (k, t) in m.iter() {
                            let g = self.apply(v[0].clone(), Value::Symbol(k.clone()), s)?;
                            let r = self.apply(g, Value::Type(t.clone()), s)?;
                            if &**name == "RecordTypeIter" && !matches!(r, Value::Unit) {
                                let shown = self.show(&r);
                                return self.err(s, format!("`record_type_iter`'s function must return ()\nGot: {shown}"));
                            }
                            out.insert(k.clone(), r);
                        }
                        if &**name == "RecordTypeIter" {
                            Ok(Value::Unit)
                        } else {
                            Ok(Value::Record(Rc::new(out)))
                        }
                    }
                    _ => {
                        // as v2: fold is `f state .key` applied to the field's type; fold back
                        // is `f .key` applied to the field's type, then to the state
                        let mut state = v[1].clone();
                        if &**name == "RecordTypeFold" {
                            for (k, t) in m.iter() {
                                let g = self.apply(v[0].clone(), state, s)?;
                                let g = self.apply(g, Value::Symbol(k.clone()), s)?;
                                state = self.apply(g, Value::Type(t.clone()), s)?;
                            }
                        } else {
                            for (k, t) in m.iter().rev() {
                                let g = self.apply(v[0].clone(), Value::Symbol(k.clone()), s)?;
                                let g = self.apply(g, Value::Type(t.clone()), s)?;
                                state = self.apply(g, state, s)?;
                            }
                        }
                        Ok(state)
                    }
                }
            }
            "While" => {
                if args.len() != 2 {
                    return self.err(s, "`While` takes a condition and a body");
                }
                let fc = &mut *f;
                let (cstmts, c) = self.block(|pe| pe.eval(&args[0], fc))?;
                let c = match c {
                    Value::Lit(Lit::Bool(b)) => Atom::Lit(Lit::Bool(b)),
                    Value::Var(x) if x.ty == Ty::Prim(PrimTy::Bool) => Atom::Var(x),
                    other => {
                        let shown = self.show(&other);
                        return self.err(s, format!("the loop condition must be a bool\nGot: {shown}"));
                    }
                };
                let fb = &mut *f;
                let (bstmts, b) = self.block(|pe| pe.eval(&args[1], fb))?;
                match b {
                    Value::Unit => {}
                    other => {
                        let shown = self.show(&other);
                        return self.err(s, format!("the loop body must return ()\nGot: {shown}"));
                    }
                }
                self.emit(
                    vec![],
                    IExpr::While { cond: Block { stmts: cstmts, result: vec![c] }, body: Block { stmts: bstmts, result: vec![] } },
                );
                Ok(Value::Unit)
            }
            "Unbox" => {
                let v = self.args(args, 2, name, s, f)?;
                let k = v[1].clone();
                self.case_split(&v[0], s, &mut |pe, _, cname, payload| {
                    pe.apply(k.clone(), Value::pair(Value::Symbol(cname), payload), s)
                })
            }
            "Unbox2" => {
                // both unions at once: on_succ (key, payload_a, payload_b) when the cases agree,
                // on_fail () otherwise
                let v = self.args(args, 4, name, s, f)?;
                let (b, on_succ, on_fail) = (v[1].clone(), v[2].clone(), v[3].clone());
                self.case_split(&v[0], s, &mut |pe, ca, cname, pa| {
                    let (on_succ, on_fail) = (on_succ.clone(), on_fail.clone());
                    pe.case_split(&b, s, &mut |pe, cb, _, pb| {
                        if ca == cb {
                            pe.apply(on_succ.clone(), Value::pair(Value::Symbol(cname.clone()), Value::pair(pa.clone(), pb)), s)
                        } else {
                            pe.apply(on_fail.clone(), Value::Unit, s)
                        }
                    })
                })
            }
            "UnionTag" => {
                let v = self.args(args, 1, name, s, f)?;
                self.case_split(&v[0], s, &mut |_, c, _, _| Ok(Value::Lit(Lit::I32(c as i32))))
            }
            "RecordTypeTryFind" => {
                // RecordTypeTryFind(`r, .key, on_succ, on_fail): on_succ `field_type, or on_fail ()
                let v = self.args(args, 4, name, s, f)?;
                let t = self.type_arg(&v[0], s)?;
                let found = match (&t, &v[1]) {
                    (Ty::Record(m), Value::Symbol(k)) => m.get(k).cloned(),
                    _ => return self.err(s, "`record_type_try_find` expects a record type and a symbol"),
                };
                match found {
                    Some(ft) => self.apply(v[2].clone(), Value::Type(ft), s),
                    None => self.apply(v[3].clone(), Value::Unit, s),
                }
            }
            "UnionToRecord" => {
                // UnionToRecord(`u, on_succ): on_succ `{case : payload type; ...}
                let v = self.args(args, 2, name, s, f)?;
                let t = self.type_arg(&v[0], s)?;
                match t {
                    Ty::Union(u) => {
                        let m: BTreeMap<Name, Ty> = self.out.types.unions[u as usize].cases.iter().cloned().collect();
                        self.apply(v[1].clone(), Value::Type(Ty::Record(Arc::new(m))), s)
                    }
                    other => {
                        let shown = self.out.types.show(&other);
                        self.err(s, format!("expected a union type\nGot: {shown}"))
                    }
                }
            }
            "TypeToVar" => {
                // a value of the given type, for type computations (`` ``t + 1 ``); its
                // runtime leaves are unbound, so it must not reach the residual program
                let v = self.args(args, 1, name, s, f)?;
                let t = self.type_arg(&v[0], s)?;
                Ok(self.fresh_value_of(&t))
            }
            "TypeToSymbol" => {
                let v = self.args(args, 1, name, s, f)?;
                match self.type_arg(&v[0], s)? {
                    Ty::Symbol(n) => Ok(Value::Symbol(n)),
                    _ => self.err(s, "expected a symbol type"),
                }
            }
            "TypeLitToLit" => {
                let v = self.args(args, 1, name, s, f)?;
                match self.type_arg(&v[0], s)? {
                    Ty::TypeLit(n) => Ok(Value::Lit(if let Ok(i) = n.parse::<i32>() {
                        Lit::I32(i)
                    } else if let Ok(i) = n.parse::<i64>() {
                        Lit::I64(i)
                    } else if let (true, Ok(x)) = (n.contains('.'), n.parse::<f64>()) {
                        Lit::F64(x)
                    } else if &*n == "true" || &*n == "false" {
                        Lit::Bool(&*n == "true")
                    } else {
                        Lit::String(n)
                    })),
                    Ty::Symbol(n) => Ok(Value::Symbol(n)),
                    _ => self.err(s, "expected a type literal"),
                }
            }
            "LitToTypeLit" => {
                let v = self.args(args, 1, name, s, f)?;
                match &v[0] {
                    Value::Lit(l) => Ok(Value::Type(Ty::TypeLit(lit_text(l).into()))),
                    Value::Symbol(n) => Ok(Value::Type(Ty::Symbol(n.clone()))),
                    _ => self.err(s, "expected a literal"),
                }
            }
            "SymbolToString" => {
                let v = self.args(args, 1, name, s, f)?;
                match &v[0] {
                    Value::Symbol(n) => Ok(Value::Lit(Lit::String(n.clone()))),
                    _ => self.err(s, "expected a symbol"),
                }
            }
            "StringLitToSymbol" | "LitToSymbol" => {
                let v = self.args(args, 1, name, s, f)?;
                match &v[0] {
                    Value::Lit(l) => Ok(Value::Symbol(lit_text(l).into())),
                    _ => self.err(s, "expected a literal"),
                }
            }
            "PrintRaw" => {
                let v = self.args(args, 1, name, s, f)?;
                let shown = self.show(&v[0]);
                self.out.compile_log.push(shown);
                Ok(Value::Unit)
            }
            "VarTag" => {
                let v = self.args(args, 1, name, s, f)?;
                // a runtime variable, or a nominal around one (as v2)
                let x = match &v[0] {
                    Value::Nominal(_, x) => &**x,
                    x => x,
                };
                match x {
                    Value::Var(x) => Ok(Value::Lit(Lit::I32(x.id as i32))),
                    _ => {
                        let shown = self.show(&v[0]);
                        self.err(s, format!("`VarTag` expects a runtime variable\nGot: {shown}"))
                    }
                }
            }
            "TagToSymbol" => {
                let v = self.args(args, 1, name, s, f)?;
                match &v[0] {
                    Value::Lit(Lit::I32(i)) => Ok(Value::Symbol(i.to_string().into())),
                    other => {
                        let shown = self.show(other);
                        self.err(s, format!("`TagToSymbol` expects an i32 literal\nGot: {shown}"))
                    }
                }
            }
            // A closure's captured values as a tuple ending in `()`, and the closure rebuilt
            // with new ones (v2's `function_term_slots_get`/`_set`).
            "FunctionTermSlotsGet" => {
                let v = self.args(args, 1, name, s, f)?;
                match &v[0] {
                    Value::Closure(_, env) => Ok(env.iter().rev().fold(Value::Unit, |t, x| Value::pair(x.clone(), t))),
                    other => self.function_slots_error(other, s),
                }
            }
            "FunctionTermSlotsSet" => {
                let v = self.args(args, 2, name, s, f)?;
                match &v[0] {
                    Value::Closure(lambda, env) => {
                        let mut slots = Vec::with_capacity(env.len());
                        let mut rest = &v[1];
                        for _ in 0..env.len() {
                            match rest {
                                Value::Pair(a, b) => {
                                    slots.push((**a).clone());
                                    rest = b;
                                }
                                Value::Unit => return self.err(s, format!("`function_term_slots_set`: the closure has {} slots, the tuple {}", env.len(), slots.len())),
                                other => {
                                    let shown = self.show(other);
                                    return self.err(s, format!("`function_term_slots_set` expects a tuple ending in `()`\nGot: {shown}"));
                                }
                            }
                        }
                        match rest {
                            Value::Unit => Ok(Value::Closure(lambda.clone(), slots.into())),
                            other => {
                                let shown = self.show(other);
                                self.err(s, format!("`function_term_slots_set`: the closure has {} slots; the tuple goes on with {shown}", env.len()))
                            }
                        }
                    }
                    other => self.function_slots_error(other, s),
                }
            }
            "FreeVars" => {
                let v = self.args(args, 1, name, s, f)?;
                let mut vars = Vec::new();
                collect_vars(&v[0], &mut vars);
                let mut t = Value::Unit;
                for x in vars.into_iter().rev() {
                    t = if let Value::Unit = t { Value::Var(x) } else { Value::pair(Value::Var(x), t) };
                }
                Ok(t)
            }
            "BackendSwitch" => {
                let v = self.args(args, 1, name, s, f)?;
                let backend = self.current_backend();
                match &v[0] {
                    Value::Record(m) => match m.get(&backend) {
                        Some(x) => self.apply(x.clone(), Value::Unit, s),
                        None => self.err(s, format!("`backend_switch` has no case for the backend {backend}")),
                    },
                    _ => self.err(s, "`backend_switch` expects a record of functions"),
                }
            }
            "KernelSwitch" => {
                let v = self.args(args, 1, name, s, f)?;
                let target = self.kernel_target().backend_name();
                match &v[0] {
                    Value::Record(m) => match m.get(target) {
                        Some(x) => self.apply(x.clone(), Value::Unit, s),
                        None => self.err(s, format!("`kernel_switch` has no case for the kernel target {target}")),
                    },
                    _ => self.err(s, "`kernel_switch` expects a record of functions"),
                }
            }
            other => self.err(s, format!("the inbuilt operation `{other}` is not supported by this compiler")),
        }
    }

    /// The `print_static` rendering: literals with their type suffix, runtime variables as
    /// their type, records as `{k : v}`.
    fn show_static(&self, v: &Value) -> String {
        match v {
            Value::Lit(l) => l.to_string(),
            Value::Var(x) => self.out.types.show(&x.ty),
            Value::Pair(a, b) => format!("{}, {}", self.show_static(a), self.show_static(b)),
            Value::Record(m) => {
                let f: Vec<String> = m.iter().map(|(k, x)| format!("{k} : {}", self.show_static(x))).collect();
                format!("{{{}}}", f.join("; "))
            }
            other => self.show(other),
        }
    }

    /// Calls `k(tag, case name, payload)` for the case of a union value: once for a known case,
    /// once per case (inside the arms of an emitted `match`, with the case known) for a runtime
    /// union, whose results are then merged.
    pub(crate) fn case_split(
        &mut self,
        x: &Value,
        s: Span,
        k: &mut dyn FnMut(&mut Self, u32, Name, Value) -> R<Value>,
    ) -> R<Value> {
        match self.known_value(x.clone()) {
            Value::Union(t, c, p) => {
                let cname = match &t {
                    Ty::Union(u) => self.out.types.unions[*u as usize].cases[c as usize].0.clone(),
                    _ => return self.err(s, "expected a union"),
                };
                k(self, c, cname, (*p).clone())
            }
            Value::Var(var) if matches!(var.ty, Ty::Union(_)) => {
                let uid = match var.ty {
                    Ty::Union(u) => u,
                    _ => unreachable!(),
                };
                let cases = self.out.types.unions[uid as usize].cases.clone();
                let mut results = Vec::new();
                let mut arm_vars = Vec::new();
                for (c, (cname, pty)) in cases.iter().enumerate() {
                    let (stmts, (pv, r)) = self.block(|pe| {
                        let leaves = pe.out.types.leaves(pty);
                        let vars: Vec<_> = leaves.into_iter().map(|t| pe.new_var(t)).collect();
                        let payload = pe.value_from_leaves(pty, vars.clone());
                        pe.assume_case(&var, c as u32, payload.clone());
                        let r = k(pe, c as u32, cname.clone(), payload)?;
                        Ok((vars, r))
                    })?;
                    arm_vars.push(pv);
                    results.push((stmts, r));
                }
                let scrut = Atom::Var(var.clone());
                self.merge(results, s, move |bs| IExpr::Match {
                    scrut,
                    arms: bs
                        .into_iter()
                        .zip(arm_vars)
                        .enumerate()
                        .map(|(c, (body, vars))| super::ir::MatchArm { case: c as u32, vars, body })
                        .collect(),
                    default: None,
                })
            }
            other => {
                let shown = self.show(&other);
                self.err(s, format!("expected a union\nGot: {shown}"))
            }
        }
    }

    fn record_arg(&self, v: &Value, s: Span) -> R<Rc<BTreeMap<Name, Value>>> {
        match v {
            Value::Record(m) => Ok(m.clone()),
            Value::Unit => Ok(Rc::new(BTreeMap::new())),
            other => {
                let shown = self.show(other);
                self.err(s, format!("expected a record\nGot: {shown}"))
            }
        }
    }
}

fn rec(fields: &[(&str, Value)]) -> Value {
    Value::Record(Rc::new(fields.iter().map(|(k, v)| (Arc::from(*k), v.clone())).collect()))
}

fn leaves_of(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Pair(a, b) => {
            leaves_of(a, out);
            leaves_of(b, out);
        }
        Value::Record(m) => m.values().for_each(|x| leaves_of(x, out)),
        Value::Nominal(_, x) => leaves_of(x, out),
        _ => out.push(v.clone()),
    }
}

/// For two operands of different primitive types where one is a literal: how to write the
/// literal in the other's type (`2` next to an `f32` is `2.0f32`).
fn literal_hint(a: &Value, b: &Value) -> String {
    let (lit, other) = match (a, b) {
        (Value::Lit(l), other) | (other, Value::Lit(l)) if !matches!(other, Value::Lit(_)) => (l, other),
        _ => return String::new(),
    };
    let Some(want) = prim_of(other) else { return String::new() };
    let text = lit.to_string();
    let number = match lit {
        Lit::String(_) | Lit::Char(_) | Lit::Bool(_) => return String::new(),
        l => super::eval::lit_text(l),
    };
    let suggestion = if want.is_float() {
        let n = if number.contains('.') || number.contains('e') || number.contains("inf") || number.contains("NaN") { number } else { format!("{number}.0") };
        format!("{n}{}", want.name())
    } else if want.is_int() && !number.contains('.') {
        format!("{number}{}", want.name())
    } else {
        return String::new();
    };
    format!("\nhelp: the literal `{text}` has type {}; write `{suggestion}` for a literal of type {}", lit.ty().name(), want.name())
}

/// The bytes of one value of a primitive type in a kernel's memory (C's `sizeof`).
pub(crate) fn prim_bytes(p: PrimTy) -> usize {
    match p {
        PrimTy::I8 | PrimTy::U8 | PrimTy::Bool => 1,
        PrimTy::I16 | PrimTy::U16 => 2,
        PrimTy::I64 | PrimTy::U64 | PrimTy::F64 | PrimTy::String => 8,
        _ => 4,
    }
}
