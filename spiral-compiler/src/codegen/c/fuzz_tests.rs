//! Randomised tests of the C backend's reference counting: deterministic pseudo-random residual
//! programs that create, copy, store, overwrite and drop strings through unions (stack and heap),
//! arrays, mutable layouts, closures, methods with several results, `if`, `match` and `while`.
//! The generator evaluates each program as it builds it, so the expected output is known; each
//! program is compiled under `-Wall -Werror` with AddressSanitizer/UBSan and leak checking (when
//! available) and must print exactly the expected strings.

use super::tests::{run_program, sanitizers_enabled};
use super::*;
use std::cell::RefCell;
use std::rc::Rc as Shared;

/// xorshift64*: small, deterministic, good enough to pick operations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The value a variable holds, computed while generating.
#[derive(Clone)]
enum Val {
    Str(String),
    /// A value of union `u` (0: stack, 1: heap): `None` or `Some s`.
    Opt(#[allow(dead_code)] u32, Option<String>),
    Arr(Shared<RefCell<Vec<String>>>),
    /// A `mut` layout holding one string.
    Lay(Shared<RefCell<String>>),
    /// Closure 0 with its captured prefix.
    Clo(String),
}

fn string() -> Ty {
    Ty::Prim(PrimTy::String)
}
fn arr_ty() -> Ty {
    Ty::Array(string().into())
}
fn lay_ty() -> Ty {
    Ty::Layout(LayoutKind::Mut, string().into())
}
fn counter_ty() -> Ty {
    Ty::Layout(LayoutKind::Mut, Ty::pair(Ty::i32(), string()).into())
}
fn fun_ty() -> Ty {
    Ty::Fun(string().into(), string().into())
}
fn lit(s: &str) -> Atom {
    Atom::Lit(Lit::String(s.into()))
}
fn st(vars: Vec<Var>, expr: Expr) -> Stmt {
    Stmt::new(vars, expr)
}
fn a(v: &Var) -> Atom {
    Atom::Var(v.clone())
}

struct Gen {
    rng: Rng,
    next: u32,
    env: Vec<(Var, Val)>,
}

impl Gen {
    fn var(&mut self, ty: Ty) -> Var {
        let v = Var { id: self.next, ty };
        self.next += 1;
        v
    }
    fn pick(&mut self, want: fn(&Val) -> bool) -> Option<(Var, Val)> {
        let c: Vec<&(Var, Val)> = self.env.iter().filter(|(_, x)| want(x)).collect();
        if c.is_empty() {
            return None;
        }
        let i = self.rng.below(c.len());
        Some(c[i].clone())
    }
    fn pick_str(&mut self, out: &mut Vec<Stmt>) -> (Var, String) {
        if let Some((v, Val::Str(s))) = self.pick(|x| matches!(x, Val::Str(_))) {
            return (v, s);
        }
        let s = format!("s{}", self.next);
        let v = self.var(string());
        out.push(st(vec![v.clone()], Expr::Atoms(vec![lit(&s)])));
        self.env.push((v.clone(), Val::Str(s.clone())));
        (v, s)
    }
    /// A string to store: an existing variable, or (half the time) a fresh temporary that is
    /// read nowhere else, so the backend moves its reference into the store.
    fn store_src(&mut self, out: &mut Vec<Stmt>) -> (Var, String) {
        let (x, s) = self.pick_str(out);
        if self.rng.below(2) == 0 {
            return (x, s);
        }
        let t = self.var(string());
        out.push(st(vec![t.clone()], Expr::Prim(PrimOp::StringConcat, vec![a(&x), lit("t")])));
        (t, s + "t")
    }
    fn bind(&mut self, out: &mut Vec<Stmt>, ty: Ty, expr: Expr, val: Val) -> Var {
        let v = self.var(ty);
        out.push(st(vec![v.clone()], expr));
        self.env.push((v.clone(), val));
        v
    }

    /// Appends one random operation to `out`.
    fn op(&mut self, out: &mut Vec<Stmt>) {
        match self.rng.below(13) {
            0 => {
                let s = format!("L{}", self.next);
                self.bind(out, string(), Expr::Atoms(vec![lit(&s)]), Val::Str(s.clone()));
            }
            1 => {
                let (x, s) = self.pick_str(out);
                self.bind(out, string(), Expr::Atoms(vec![a(&x)]), Val::Str(s));
            }
            2 => {
                let (x, s) = self.pick_str(out);
                let (y, t) = self.pick_str(out);
                self.bind(out, string(), Expr::Prim(PrimOp::StringConcat, vec![a(&x), a(&y)]), Val::Str(s + &t));
            }
            3 => {
                let u = self.rng.below(2) as u32;
                if self.rng.below(3) == 0 {
                    self.bind(out, Ty::Union(u), Expr::Box { union: u, case: 0, args: vec![] }, Val::Opt(u, None));
                } else {
                    let (x, s) = self.store_src(out);
                    self.bind(out, Ty::Union(u), Expr::Box { union: u, case: 1, args: vec![a(&x)] }, Val::Opt(u, Some(s)));
                }
            }
            4 => {
                let Some((x, Val::Opt(_, o))) = self.pick(|v| matches!(v, Val::Opt(..))) else { return self.op(out) };
                let payload = Var { id: self.next, ty: string() };
                self.next += 1;
                let cat = self.var(string());
                let arms = vec![
                    MatchArm { case: 0, vars: vec![], body: Block { stmts: vec![], result: vec![lit("none")] } },
                    MatchArm {
                        case: 1,
                        vars: vec![payload.clone()],
                        body: Block {
                            stmts: vec![st(vec![cat.clone()], Expr::Prim(PrimOp::StringConcat, vec![a(&payload), lit("!")]))],
                            result: vec![a(&cat)],
                        },
                    },
                ];
                let val = match o {
                    None => "none".to_string(),
                    Some(s) => s + "!",
                };
                self.bind(out, string(), Expr::Match { scrut: a(&x), arms, default: None }, Val::Str(val));
            }
            5 => {
                let (x, s) = self.pick_str(out);
                let (y, t) = self.pick_str(out);
                let c = self.var(Ty::Prim(PrimTy::Bool));
                out.push(st(vec![c.clone()], Expr::Prim(PrimOp::Eq, vec![a(&x), a(&y)])));
                let r = self.var(string());
                let then = Block { stmts: vec![], result: vec![a(&x)] };
                let els = Block {
                    stmts: vec![st(vec![r.clone()], Expr::Prim(PrimOp::StringConcat, vec![a(&y), a(&x)]))],
                    result: vec![a(&r)],
                };
                let val = if s == t { s } else { t + &s };
                self.bind(out, string(), Expr::If { cond: a(&c), then, els }, Val::Str(val));
            }
            6 => {
                let n = 1 + self.rng.below(3);
                self.bind(out, arr_ty(), Expr::ArrayNew { ty: arr_ty(), len: Atom::Lit(Lit::I32(n as i32)) }, Val::Arr(Shared::new(RefCell::new(vec![String::new(); n]))));
            }
            7 => {
                let Some((arr, Val::Arr(cells))) = self.pick(|v| matches!(v, Val::Arr(_))) else { return self.op(out) };
                let i = self.rng.below(cells.borrow().len());
                let (x, s) = self.store_src(out);
                out.push(st(vec![], Expr::ArraySet { array: a(&arr), index: Atom::Lit(Lit::I32(i as i32)), value: vec![a(&x)] }));
                cells.borrow_mut()[i] = s;
            }
            8 => {
                let Some((arr, Val::Arr(cells))) = self.pick(|v| matches!(v, Val::Arr(_))) else { return self.op(out) };
                let i = self.rng.below(cells.borrow().len());
                let s = cells.borrow()[i].clone();
                self.bind(out, string(), Expr::ArrayGet { array: a(&arr), index: Atom::Lit(Lit::I32(i as i32)) }, Val::Str(s));
            }
            9 => match self.pick(|v| matches!(v, Val::Lay(_))) {
                Some((l, Val::Lay(cell))) if self.rng.below(2) == 0 => {
                    let (x, s) = self.store_src(out);
                    out.push(st(vec![], Expr::LayoutSet { layout: a(&l), field: 0, value: a(&x) }));
                    *cell.borrow_mut() = s;
                }
                Some((l, Val::Lay(cell))) => {
                    let s = cell.borrow().clone();
                    self.bind(out, string(), Expr::LayoutGet { layout: a(&l), field: 0 }, Val::Str(s));
                }
                _ => {
                    let (x, s) = self.store_src(out);
                    self.bind(out, lay_ty(), Expr::LayoutNew { ty: lay_ty(), args: vec![a(&x)] }, Val::Lay(Shared::new(RefCell::new(s))));
                }
            },
            10 => match self.pick(|v| matches!(v, Val::Clo(_))) {
                Some((f, Val::Clo(prefix))) => {
                    let (x, s) = self.pick_str(out);
                    self.bind(out, string(), Expr::ClosureCall { fun: a(&f), args: vec![a(&x)] }, Val::Str(prefix + &s));
                }
                _ => {
                    let (x, s) = self.store_src(out);
                    self.bind(out, fun_ty(), Expr::ClosureNew { closure: 0, captured: vec![a(&x)] }, Val::Clo(s));
                }
            },
            11 => {
                // method 0: s -> (s + s, s)
                let (x, s) = self.pick_str(out);
                let d = self.var(string());
                let e = self.var(string());
                out.push(st(vec![d.clone(), e.clone()], Expr::Call { method: 0, args: vec![a(&x)] }));
                self.env.push((d, Val::Str(s.clone() + &s)));
                self.env.push((e, Val::Str(s)));
            }
            _ => {
                // A loop appending "w" to a string three times through a (counter, string) layout.
                let (x, s) = self.pick_str(out);
                let l = self.var(counter_ty());
                out.push(st(vec![l.clone()], Expr::LayoutNew { ty: counter_ty(), args: vec![Atom::Lit(Lit::I32(0)), a(&x)] }));
                let (i, c) = (self.var(Ty::i32()), self.var(Ty::Prim(PrimTy::Bool)));
                let (i2, old, new, i3) = (self.var(Ty::i32()), self.var(string()), self.var(string()), self.var(Ty::i32()));
                out.push(st(
                    vec![],
                    Expr::While {
                        cond: Block {
                            stmts: vec![
                                st(vec![i.clone()], Expr::LayoutGet { layout: a(&l), field: 0 }),
                                st(vec![c.clone()], Expr::Prim(PrimOp::Lt, vec![a(&i), Atom::Lit(Lit::I32(3))])),
                            ],
                            result: vec![a(&c)],
                        },
                        body: Block {
                            stmts: vec![
                                st(vec![i2.clone()], Expr::LayoutGet { layout: a(&l), field: 0 }),
                                st(vec![old.clone()], Expr::LayoutGet { layout: a(&l), field: 1 }),
                                st(vec![new.clone()], Expr::Prim(PrimOp::StringConcat, vec![a(&old), lit("w")])),
                                st(vec![], Expr::LayoutSet { layout: a(&l), field: 1, value: a(&new) }),
                                st(vec![i3.clone()], Expr::Prim(PrimOp::Add, vec![a(&i2), Atom::Lit(Lit::I32(1))])),
                                st(vec![], Expr::LayoutSet { layout: a(&l), field: 0, value: a(&i3) }),
                            ],
                            result: vec![],
                        },
                    },
                ));
                self.bind(out, string(), Expr::LayoutGet { layout: a(&l), field: 1 }, Val::Str(s + "www"));
            }
        }
    }
}

fn option_union(heap: bool) -> UnionDef {
    UnionDef {
        name: if heap { "heap option string".into() } else { "option string".into() },
        cases: vec![("None".into(), Ty::Unit), ("Some".into(), string())],
        heap,
        decl: 0,
        args: vec![],
    }
}

/// One random program and the output it must print.
fn program(seed: u64, ops: usize) -> (Program, String) {
    let mut g = Gen { rng: Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1), next: 0, env: Vec::new() };
    let mut stmts = Vec::new();
    for _ in 0..ops {
        g.op(&mut stmts);
    }
    let mut expected = String::new();
    for (v, val) in g.env.clone() {
        if let Val::Str(s) = val {
            stmts.push(st(
                vec![],
                Expr::Macro(vec![MacroPart::Text("spi_print_string(".into()), MacroPart::Atom(a(&v)), MacroPart::Text("); putchar('\\n')".into())]),
            ));
            expected.push_str(&s);
            expected.push('\n');
        }
    }
    // method 0: s -> (s + s, s); closure 0: [c] p -> c + p
    let (s, d) = (Var { id: 0, ty: string() }, Var { id: 1, ty: string() });
    let method = Method {
        name: "twice".into(),
        backend: "C".into(),
        params: vec![s.clone()],
        ret: vec![string(), string()],
        body: Block { stmts: vec![st(vec![d.clone()], Expr::Prim(PrimOp::StringConcat, vec![a(&s), a(&s)]))], result: vec![a(&d), a(&s)] },
    };
    let (c, p, r) = (Var { id: 0, ty: string() }, Var { id: 1, ty: string() }, Var { id: 2, ty: string() });
    let closure = Closure {
        ty: fun_ty(),
        captured: vec![c.clone()],
        params: vec![p.clone()],
        ret: vec![string()],
        body: Block { stmts: vec![st(vec![r.clone()], Expr::Prim(PrimOp::StringConcat, vec![a(&c), a(&p)]))], result: vec![a(&r)] },
    };
    let prog = Program {
        types: Types { unions: vec![option_union(false), option_union(true)], nominals: vec![] },
        methods: vec![method],
        closures: vec![closure],
        main: Block { stmts, result: vec![] },
        main_ret: vec![],
        ..Program::default()
    };
    (prog, expected)
}

#[test]
fn random_refcounting_programs_are_memory_safe_and_correct() {
    let seeds: u64 = std::env::var("SPIRAL_C_FUZZ_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(24);
    for seed in 0..seeds {
        let (p, expected) = program(seed, 12 + (seed as usize % 3) * 8);
        let (stdout, code) = run_program(&p);
        assert_eq!(code, 0, "seed {seed}");
        assert_eq!(stdout, expected, "seed {seed}:\n{}", emit_c(&p).unwrap());
    }
    // The sanitizers are what make this test meaningful; say so when they are missing.
    if !sanitizers_enabled() {
        eprintln!("note: AddressSanitizer is not available; only outputs were checked");
    }
}
