//! Tests of the C backend on hand-built residual programs. Each program is printed, compiled
//! with the system C compiler under `-Wall -Werror` and AddressSanitizer/UBSan with leak
//! checking (when the toolchain supports them), run, and its stdout and exit code checked.

use super::*;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

fn v(id: u32, ty: Ty) -> Var {
    Var { id, ty }
}
fn var(x: &Var) -> Atom {
    Atom::Var(x.clone())
}
fn i32l(x: i32) -> Atom {
    Atom::Lit(Lit::I32(x))
}
fn strl(s: &str) -> Atom {
    Atom::Lit(Lit::String(s.into()))
}
fn st(vars: Vec<Var>, expr: Expr) -> Stmt {
    Stmt::new(vars, expr)
}
fn string() -> Ty {
    Ty::Prim(PrimTy::String)
}
fn text(s: &str) -> MacroPart {
    MacroPart::Text(s.into())
}
/// `printf("%s\n", x->ptr)` as a macro statement.
fn print_str(x: Atom) -> Stmt {
    st(vec![], Expr::Macro(vec![text("printf(\"%s\\n\", spi_cstr("), MacroPart::Atom(x), text("))")]))
}
fn print_i32(x: Atom) -> Stmt {
    st(vec![], Expr::Macro(vec![text("printf(\"%d\\n\", (int)"), MacroPart::Atom(x), text(")")]))
}
fn main_prog(stmts: Vec<Stmt>, result: Vec<Atom>) -> Program {
    let main_ret = if result.is_empty() { vec![] } else { vec![Ty::i32()] };
    Program { main: Block { stmts, result }, main_ret, ..Program::default() }
}

fn scratch(tag: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let d = std::env::temp_dir().join(format!("spiral-cgen-{tag}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn sanitizers_work() -> bool {
    static ONCE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ONCE.get_or_init(|| {
        let d = scratch("probe");
        let c = d.join("p.c");
        std::fs::write(&c, "int main(void){return 0;}\n").unwrap();
        let ok = Command::new("cc")
            .args(["-fsanitize=address,undefined"])
            .arg(&c)
            .arg("-o")
            .arg(d.join("p"))
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
            && Command::new(d.join("p")).status().map(|s| s.success()).unwrap_or(false);
        let _ = std::fs::remove_dir_all(&d);
        ok
    })
}

/// Prints, compiles (warnings are errors) and runs `p`; returns (stdout, exit code).
fn run(p: &Program) -> (String, i32) {
    let c = emit_c(p).unwrap_or_else(|e| panic!("C backend failed: {e:?}"));
    assert_eq!(c, emit_c(p).unwrap(), "output must be deterministic");
    let d = scratch("run");
    let file = d.join("prog.c");
    std::fs::write(&file, &c).unwrap();
    let exe = d.join("prog");
    // Portability: when clang is installed, the same C must also compile warning-free with it.
    if Command::new("clang").arg("--version").output().is_ok_and(|o| o.status.success()) {
        let out = Command::new("clang")
            .args(["-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-c"])
            .arg(&file)
            .arg("-o")
            .arg(d.join("prog_clang.o"))
            .output()
            .unwrap();
        assert!(out.status.success(), "clang rejected the C:\n{}\n---\n{c}", String::from_utf8_lossy(&out.stderr));
    }
    let mut cmd = Command::new("cc");
    cmd.args(["-std=c11", "-O1", "-g", "-Wall", "-Wextra", "-Werror"]);
    let san = sanitizers_work();
    if san {
        cmd.args(["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-fno-sanitize-recover=all"]);
    }
    cmd.arg(&file).arg("-o").arg(&exe).arg("-lm");
    let out = cmd.output().expect("a C compiler (cc) is needed for the C backend tests");
    assert!(out.status.success(), "C compile failed:\n{}\n---\n{c}", String::from_utf8_lossy(&out.stderr));
    let out = Command::new(&exe).env("ASAN_OPTIONS", "detect_leaks=1").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("Sanitizer") && !stderr.contains("runtime error"),
        "sanitizer report:\n{stderr}\n---\n{c}"
    );
    let _ = std::fs::remove_dir_all(&d);
    (String::from_utf8_lossy(&out.stdout).into_owned(), out.status.code().unwrap_or(-1))
}

#[test]
fn main_result_is_the_exit_code() {
    let a = v(0, Ty::i32());
    let p = main_prog(vec![st(vec![a.clone()], Expr::Prim(PrimOp::Add, vec![i32l(1), i32l(2)]))], vec![var(&a)]);
    assert_eq!(run(&p), (String::new(), 3));
}

#[test]
fn integer_arithmetic_wraps_without_ub() {
    let a = v(0, Ty::i32());
    let b = v(1, Ty::i32());
    let c = v(2, Ty::Prim(PrimTy::Bool));
    let r = v(3, Ty::i32());
    let p = main_prog(
        vec![
            st(vec![a.clone()], Expr::Atoms(vec![i32l(i32::MAX)])),
            st(vec![b.clone()], Expr::Prim(PrimOp::Add, vec![var(&a), i32l(1)])),
            st(vec![c.clone()], Expr::Prim(PrimOp::Eq, vec![var(&b), i32l(i32::MIN)])),
            st(
                vec![r.clone()],
                Expr::If {
                    cond: var(&c),
                    then: Block { stmts: vec![], result: vec![i32l(7)] },
                    els: Block { stmts: vec![], result: vec![i32l(8)] },
                },
            ),
        ],
        vec![var(&r)],
    );
    assert_eq!(run(&p), (String::new(), 7));
}

#[test]
fn strings_concat_and_compare_without_leaks() {
    let s = v(0, string());
    let t = v(1, string());
    let eq = v(2, Ty::Prim(PrimTy::Bool));
    let n = v(3, Ty::i32());
    let p = main_prog(
        vec![
            st(vec![s.clone()], Expr::Atoms(vec![strl("qwe")])),
            st(vec![t.clone()], Expr::Prim(PrimOp::StringConcat, vec![var(&s), strl(" joined")])),
            print_str(var(&t)),
            st(vec![eq.clone()], Expr::Prim(PrimOp::Eq, vec![var(&t), strl("qwe joined")])),
            st(vec![n.clone()], Expr::Prim(PrimOp::StringLength, vec![var(&t)])),
            print_i32(var(&n)),
        ],
        vec![i32l(0)],
    );
    assert_eq!(run(&p), ("qwe joined\n10\n".into(), 0));
}

/// A method returning two leaves (one a string) uses a Tuple struct; the caller destructures it.
#[test]
fn methods_return_several_leaves_through_a_tuple() {
    let x = v(0, Ty::i32());
    let y = v(1, Ty::i32());
    let s = v(2, string());
    let m = Method {
        name: "pair".into(),
        backend: "C".into(),
        params: vec![x.clone()],
        ret: vec![Ty::i32(), string()],
        body: Block {
            stmts: vec![
                st(vec![y.clone()], Expr::Prim(PrimOp::Mul, vec![var(&x), i32l(2)])),
                st(vec![s.clone()], Expr::Atoms(vec![strl("hi")])),
            ],
            result: vec![var(&y), var(&s)],
        },
    };
    let a = v(0, Ty::i32());
    let b = v(1, string());
    let p = Program {
        methods: vec![m],
        main: Block {
            stmts: vec![st(vec![a.clone(), b.clone()], Expr::Call { method: 0, args: vec![i32l(21)] }), print_str(var(&b))],
            result: vec![var(&a)],
        },
        main_ret: vec![Ty::i32()],
        ..Program::default()
    };
    let c = emit_c(&p).unwrap();
    assert!(c.contains("Tuple0 pair_0(int32_t v0)"), "{c}");
    assert_eq!(run(&p), ("hi\n".into(), 42));
}

fn option_string_union(heap: bool) -> Types {
    Types {
        unions: vec![UnionDef {
            name: "option string".into(),
            cases: vec![("None".into(), Ty::Unit), ("Some".into(), string())],
            heap,
            decl: 0,
            args: vec![],
        }],
        nominals: vec![],
    }
}

#[test]
fn stack_unions_with_refcounted_payloads() {
    let u = Ty::Union(0);
    let a = v(0, u.clone());
    let b = v(1, u.clone());
    let r = v(2, Ty::i32());
    let x = v(3, string());
    let match_on = |scrut: &Var, res: &Var, id_base: u32| {
        let _ = id_base;
        st(
            vec![res.clone()],
            Expr::Match {
                scrut: var(scrut),
                arms: vec![
                    MatchArm { case: 0, vars: vec![], body: Block { stmts: vec![], result: vec![i32l(1)] } },
                    MatchArm {
                        case: 1,
                        vars: vec![x.clone()],
                        body: Block { stmts: vec![print_str(var(&x))], result: vec![i32l(10)] },
                    },
                ],
                default: None,
            },
        )
    };
    let r2 = v(4, Ty::i32());
    let sum = v(5, Ty::i32());
    let mut p = main_prog(
        vec![
            st(vec![a.clone()], Expr::Box { union: 0, case: 1, args: vec![strl("payload")] }),
            st(vec![b.clone()], Expr::Box { union: 0, case: 0, args: vec![] }),
            match_on(&a, &r, 0),
            match_on(&b, &r2, 0),
            st(vec![sum.clone()], Expr::Prim(PrimOp::Add, vec![var(&r), var(&r2)])),
        ],
        vec![var(&sum)],
    );
    p.types = option_string_union(false);
    assert_eq!(run(&p), ("payload\n".into(), 11));
}

/// A recursive heap union (a list of i32) built in a loop and summed by a recursive method.
#[test]
fn heap_recursive_union_list_is_freed() {
    let list = Ty::Union(0);
    let types = Types {
        unions: vec![UnionDef {
            name: "list i32".into(),
            cases: vec![("Nil".into(), Ty::Unit), ("Cons".into(), Ty::pair(Ty::i32(), list.clone()))],
            heap: true,
            decl: 0,
            args: vec![],
        }],
        nominals: vec![],
    };
    // method sum(l) = match l with Nil => 0 | Cons(x, rest) => x + sum rest
    let l = v(0, list.clone());
    let r = v(1, Ty::i32());
    let hx = v(2, Ty::i32());
    let tl = v(3, list.clone());
    let sub = v(4, Ty::i32());
    let add = v(5, Ty::i32());
    let sum = Method {
        name: "sum".into(),
        backend: "C".into(),
        params: vec![l.clone()],
        ret: vec![Ty::i32()],
        body: Block {
            stmts: vec![st(
                vec![r.clone()],
                Expr::Match {
                    scrut: var(&l),
                    arms: vec![
                        MatchArm { case: 0, vars: vec![], body: Block { stmts: vec![], result: vec![i32l(0)] } },
                        MatchArm {
                            case: 1,
                            vars: vec![hx.clone(), tl.clone()],
                            body: Block {
                                stmts: vec![
                                    st(vec![sub.clone()], Expr::Call { method: 0, args: vec![var(&tl)] }),
                                    st(vec![add.clone()], Expr::Prim(PrimOp::Add, vec![var(&hx), var(&sub)])),
                                ],
                                result: vec![var(&add)],
                            },
                        },
                    ],
                    default: None,
                },
            )],
            result: vec![var(&r)],
        },
    };
    // main: cell = mut (Nil, 0); while i < 5 { cell.0 <- Cons(i, cell.0); i++ }; sum cell.0
    let cell_ty = Ty::Layout(LayoutKind::Mut, (Ty::pair(list.clone(), Ty::i32())).into());
    let nil = v(0, list.clone());
    let cell = v(1, cell_ty.clone());
    let i = v(2, Ty::i32());
    let c = v(3, Ty::Prim(PrimTy::Bool));
    let i2 = v(4, Ty::i32());
    let old = v(5, list.clone());
    let new = v(6, list.clone());
    let i3 = v(7, Ty::i32());
    let fin = v(8, list.clone());
    let total = v(9, Ty::i32());
    let p = Program {
        types,
        methods: vec![sum],
        main: Block {
            stmts: vec![
                st(vec![nil.clone()], Expr::Box { union: 0, case: 0, args: vec![] }),
                st(vec![cell.clone()], Expr::LayoutNew { ty: cell_ty.clone(), args: vec![var(&nil), i32l(1)] }),
                st(
                    vec![],
                    Expr::While {
                        cond: Block {
                            stmts: vec![
                                st(vec![i.clone()], Expr::LayoutGet { layout: var(&cell), field: 1 }),
                                st(vec![c.clone()], Expr::Prim(PrimOp::Le, vec![var(&i), i32l(5)])),
                            ],
                            result: vec![var(&c)],
                        },
                        body: Block {
                            stmts: vec![
                                st(vec![i2.clone()], Expr::LayoutGet { layout: var(&cell), field: 1 }),
                                st(vec![old.clone()], Expr::LayoutGet { layout: var(&cell), field: 0 }),
                                st(vec![new.clone()], Expr::Box { union: 0, case: 1, args: vec![var(&i2), var(&old)] }),
                                st(vec![], Expr::LayoutSet { layout: var(&cell), field: 0, value: var(&new) }),
                                st(vec![i3.clone()], Expr::Prim(PrimOp::Add, vec![var(&i2), i32l(1)])),
                                st(vec![], Expr::LayoutSet { layout: var(&cell), field: 1, value: var(&i3) }),
                            ],
                            result: vec![],
                        },
                    },
                ),
                st(vec![fin.clone()], Expr::LayoutGet { layout: var(&cell), field: 0 }),
                st(vec![total.clone()], Expr::Call { method: 0, args: vec![var(&fin)] }),
            ],
            result: vec![var(&total)],
        },
        main_ret: vec![Ty::i32()],
        ..Program::default()
    };
    assert_eq!(run(&p), (String::new(), 15));
}

/// A closure capturing a string, called twice through its function type.
#[test]
fn closures_capture_and_release() {
    let fty = Ty::Fun(string().into(), string().into());
    let cap = v(0, string());
    let arg = v(1, string());
    let res = v(2, string());
    let clo = Closure {
        ty: fty.clone(),
        captured: vec![cap.clone()],
        params: vec![arg.clone()],
        ret: vec![string()],
        body: Block {
            stmts: vec![st(vec![res.clone()], Expr::Prim(PrimOp::StringConcat, vec![var(&cap), var(&arg)]))],
            result: vec![var(&res)],
        },
    };
    let prefix = v(0, string());
    let f = v(1, fty.clone());
    let a = v(2, string());
    let b = v(3, string());
    let p = Program {
        closures: vec![clo],
        main: Block {
            stmts: vec![
                st(vec![prefix.clone()], Expr::Atoms(vec![strl("hello ")])),
                st(vec![f.clone()], Expr::ClosureNew { closure: 0, captured: vec![var(&prefix)] }),
                st(vec![a.clone()], Expr::ClosureCall { fun: var(&f), args: vec![strl("world")] }),
                st(vec![b.clone()], Expr::ClosureCall { fun: var(&f), args: vec![var(&a)] }),
                print_str(var(&a)),
                print_str(var(&b)),
            ],
            result: vec![],
        },
        main_ret: vec![],
        ..Program::default()
    };
    assert_eq!(run(&p), ("hello world\nhello hello world\n".into(), 0));
}

/// An array whose element has two leaves (i32, string): elements are `Tuple` structs.
#[test]
fn arrays_of_tuples_set_get_and_release() {
    let aty = Ty::Array((Ty::pair(Ty::i32(), string())).into());
    let arr = v(0, aty.clone());
    let x = v(1, Ty::i32());
    let s = v(2, string());
    let len = v(3, Ty::i32());
    let lit = v(4, Ty::Array(Ty::i32().into()));
    let y = v(5, Ty::i32());
    let sum = v(6, Ty::i32());
    let sum2 = v(7, Ty::i32());
    let p = main_prog(
        vec![
            st(vec![arr.clone()], Expr::ArrayNew { ty: aty.clone(), len: i32l(3) }),
            st(vec![], Expr::ArraySet { array: var(&arr), index: i32l(1), value: vec![i32l(5), strl("one")] }),
            st(vec![], Expr::ArraySet { array: var(&arr), index: i32l(1), value: vec![i32l(6), strl("uno")] }),
            st(vec![x.clone(), s.clone()], Expr::ArrayGet { array: var(&arr), index: i32l(1) }),
            print_str(var(&s)),
            st(vec![len.clone()], Expr::Prim(PrimOp::ArrayLength, vec![var(&arr)])),
            st(vec![lit.clone()], Expr::ArrayLit { ty: Ty::Array(Ty::i32().into()), elems: vec![vec![i32l(10)], vec![i32l(20)]] }),
            st(vec![y.clone()], Expr::ArrayGet { array: var(&lit), index: i32l(1) }),
            st(vec![sum.clone()], Expr::Prim(PrimOp::Add, vec![var(&x), var(&len)])),
            st(vec![sum2.clone()], Expr::Prim(PrimOp::Add, vec![var(&sum), var(&y)])),
        ],
        vec![var(&sum2)],
    );
    assert_eq!(run(&p), ("uno\n".into(), 29));
}

#[test]
fn out_of_bounds_index_aborts_with_a_message() {
    let aty = Ty::Array(Ty::i32().into());
    let arr = v(0, aty.clone());
    let x = v(1, Ty::i32());
    let p = main_prog(
        vec![
            st(vec![arr.clone()], Expr::ArrayNew { ty: aty, len: i32l(2) }),
            st(vec![x.clone()], Expr::ArrayGet { array: var(&arr), index: i32l(2) }),
        ],
        vec![var(&x)],
    );
    let c = emit_c(&p).unwrap();
    let d = scratch("oob");
    std::fs::write(d.join("p.c"), &c).unwrap();
    let ok = Command::new("cc").args(["-std=c11", "-Wall", "-Werror"]).arg(d.join("p.c")).arg("-o").arg(d.join("p")).arg("-lm").status().unwrap();
    assert!(ok.success());
    let out = Command::new(d.join("p")).output().unwrap();
    let _ = std::fs::remove_dir_all(&d);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("out of bounds"));
}

#[test]
fn records_are_flattened_and_static_parts_vanish() {
    // A method taking a record {a: i32; b: .sym; c: f64} receives two leaves.
    let mut rec = BTreeMap::new();
    rec.insert("a".into(), Ty::i32());
    rec.insert("b".into(), Ty::Symbol("sym".into()));
    rec.insert("c".into(), Ty::Prim(PrimTy::F64));
    let types = Types::default();
    let leaves = types.leaves(&Ty::Record(rec.into()));
    assert_eq!(leaves, vec![Ty::i32(), Ty::Prim(PrimTy::F64)]);
    let a = v(0, Ty::i32());
    let c = v(1, Ty::Prim(PrimTy::F64));
    let r = v(2, Ty::i32());
    let m = Method {
        name: "f".into(),
        backend: "C".into(),
        params: vec![a.clone(), c.clone()],
        ret: vec![Ty::i32()],
        body: Block { stmts: vec![st(vec![r.clone()], Expr::Prim(PrimOp::Conv(PrimTy::I32), vec![var(&c)]))], result: vec![var(&r)] },
    };
    let out = v(0, Ty::i32());
    let p = Program {
        methods: vec![m],
        main: Block {
            stmts: vec![st(vec![out.clone()], Expr::Call { method: 0, args: vec![i32l(1), Atom::Lit(Lit::F64(4.5))] })],
            result: vec![var(&out)],
        },
        main_ret: vec![Ty::i32()],
        ..Program::default()
    };
    let c_src = emit_c(&p).unwrap();
    assert!(c_src.contains("int32_t f_0(int32_t v0, double v1)"), "{c_src}");
    assert!(!c_src.contains("struct Tuple"), "no struct needed for single leaves:\n{c_src}");
    assert_eq!(run(&p), (String::new(), 4));
}

#[test]
fn main_returning_a_string_is_a_diagnostic() {
    let s = v(0, string());
    let p = Program {
        main: Block { stmts: vec![st(vec![s.clone()], Expr::Atoms(vec![strl("x")]))], result: vec![var(&s)] },
        main_ret: vec![string()],
        ..Program::default()
    };
    let e = emit_c(&p).unwrap_err();
    assert!(e[0].message.contains("must return `i32`"), "{:?}", e);
}

#[test]
fn dump_helpers_print_like_rust_debug() {
    let mut stmts = Vec::new();
    for x in [12.0f64, 0.1, 1e-7, 1e16, 1e15, -2.5, 1.0 / 3.0] {
        stmts.push(st(vec![], Expr::Macro(vec![text("spi_print_f64("), MacroPart::Atom(Atom::Lit(Lit::F64(x))), text("); putchar('\\n')")])));
    }
    stmts.push(st(vec![], Expr::Macro(vec![text("spi_print_string_quoted("), MacroPart::Atom(strl("a\"b\n")), text("); putchar('\\n')")])));
    stmts.push(st(vec![], Expr::Macro(vec![text("spi_print_char_quoted("), MacroPart::Atom(Atom::Lit(Lit::Char('\''))), text("); putchar('\\n')")])));
    let p = main_prog(stmts, vec![]);
    let expected = "12.0\n0.1\n1e-7\n1e16\n1000000000000000.0\n-2.5\n0.3333333333333333\n\"a\\\"b\\n\"\n'\\''\n";
    assert_eq!(run(&p), (expected.into(), 0));
}

/// The generated code without the fixed runtime prelude, for snapshots.
fn body_of(p: &Program) -> String {
    let c = emit_c(p).unwrap();
    c.strip_prefix(PRELUDE).expect("output starts with the prelude").to_string()
}

#[test]
fn snapshot_tuple_return_and_flattened_arguments() {
    let x = v(0, Ty::i32());
    let y = v(1, Ty::Prim(PrimTy::F64));
    let m = Method {
        name: "swap".into(),
        backend: "C".into(),
        params: vec![x.clone(), y.clone()],
        ret: vec![Ty::Prim(PrimTy::F64), Ty::i32()],
        body: Block { stmts: vec![], result: vec![var(&y), var(&x)] },
    };
    let a = v(0, Ty::Prim(PrimTy::F64));
    let b = v(1, Ty::i32());
    let p = Program {
        methods: vec![m],
        main: Block {
            stmts: vec![st(vec![a.clone(), b.clone()], Expr::Call { method: 0, args: vec![i32l(1), Atom::Lit(Lit::F64(2.0))] })],
            result: vec![var(&b)],
        },
        main_ret: vec![Ty::i32()],
        ..Program::default()
    };
    insta::assert_snapshot!(body_of(&p));
}

#[test]
fn snapshot_stack_union_tags_and_refcounting() {
    let u = Ty::Union(0);
    let a = v(0, u.clone());
    let r = v(1, Ty::i32());
    let x = v(2, string());
    let n = v(3, Ty::i32());
    let mut p = main_prog(
        vec![
            st(vec![a.clone()], Expr::Box { union: 0, case: 1, args: vec![strl("abc")] }),
            st(
                vec![r.clone()],
                Expr::Match {
                    scrut: var(&a),
                    arms: vec![MatchArm {
                        case: 1,
                        vars: vec![x.clone()],
                        body: Block {
                            stmts: vec![st(vec![n.clone()], Expr::Prim(PrimOp::StringLength, vec![var(&x)]))],
                            result: vec![var(&n)],
                        },
                    }],
                    default: Some(Block { stmts: vec![], result: vec![i32l(0)] }),
                },
            ),
        ],
        vec![var(&r)],
    );
    p.types = option_string_union(false);
    insta::assert_snapshot!(body_of(&p));
    assert_eq!(run(&p), (String::new(), 3));
}

#[test]
fn snapshot_closure_and_heap_union() {
    let fty = Ty::Fun(Ty::i32().into(), (Ty::Union(0)).into());
    let cap = v(0, string());
    let arg = v(1, Ty::i32());
    let res = v(2, Ty::Union(0));
    let clo = Closure {
        ty: fty.clone(),
        captured: vec![cap.clone()],
        params: vec![arg.clone()],
        ret: vec![Ty::Union(0)],
        body: Block { stmts: vec![st(vec![res.clone()], Expr::Box { union: 0, case: 1, args: vec![var(&cap)] })], result: vec![var(&res)] },
    };
    let s = v(0, string());
    let f = v(1, fty.clone());
    let o = v(2, Ty::Union(0));
    let p = Program {
        types: option_string_union(true),
        closures: vec![clo],
        main: Block {
            stmts: vec![
                st(vec![s.clone()], Expr::Atoms(vec![strl("captured")])),
                st(vec![f.clone()], Expr::ClosureNew { closure: 0, captured: vec![var(&s)] }),
                st(vec![o.clone()], Expr::ClosureCall { fun: var(&f), args: vec![i32l(1)] }),
            ],
            result: vec![],
        },
        main_ret: vec![],
        ..Program::default()
    };
    insta::assert_snapshot!(body_of(&p));
    assert_eq!(run(&p), (String::new(), 0));
}

#[test]
fn a_stack_union_containing_itself_is_a_diagnostic_not_a_hang() {
    let u = Ty::Union(0);
    let a = v(0, u.clone());
    let mut p = main_prog(vec![st(vec![a.clone()], Expr::Box { union: 0, case: 0, args: vec![] })], vec![]);
    p.types = Types {
        unions: vec![UnionDef {
            name: "bad".into(),
            cases: vec![("Nil".into(), Ty::Unit), ("Cons".into(), u.clone())],
            heap: false,
            decl: 0,
            args: vec![],
        }],
        nominals: vec![],
    };
    let e = emit_c(&p).unwrap_err();
    assert!(e[0].message.contains("heap union"), "{e:?}");
}

#[test]
fn backslash_v_macros_declare_their_results() {
    // $"`i32 \v, \v = 4;" : i32 * i32 — the macro declares both results itself.
    let a = v(0, Ty::i32());
    let b = v(1, Ty::i32());
    let r = v(2, Ty::i32());
    let p = main_prog(
        vec![
            st(vec![a.clone(), b.clone()], Expr::Macro(vec![MacroPart::Type(Ty::i32()), text(" \\v = 3, \\v = 4")])),
            st(vec![r.clone()], Expr::Prim(PrimOp::Add, vec![var(&a), var(&b)])),
        ],
        vec![var(&r)],
    );
    let c = emit_c(&p).unwrap();
    assert!(c.contains("int32_t v0 = 3, v1 = 4;"), "{c}");
    assert_eq!(run(&p), (String::new(), 7));
    // The count must match.
    let bad = main_prog(vec![st(vec![a.clone(), b.clone()], Expr::Macro(vec![text("int \\v;")]))], vec![]);
    assert!(emit_c(&bad).unwrap_err()[0].message.contains("one `\\v` per bound variable"));
}

/// [`run`] for the other test modules.
pub(super) fn run_program(p: &Program) -> (String, i32) {
    run(p)
}

/// Whether the generated programs are compiled with AddressSanitizer/UBSan.
pub(super) fn sanitizers_enabled() -> bool {
    sanitizers_work()
}

/// Every primitive operation on every type it applies to, on runtime operands: the C must compile
/// without warnings (`-Wall -Werror`) and run clean under the sanitizers.
#[test]
fn every_primitive_operation_compiles_cleanly() {
    let mut stmts = Vec::new();
    let mut id = 0u32;
    let mut fresh = |ty: Ty| {
        id += 1;
        v(id, ty)
    };
    let lits: Vec<(PrimTy, Lit, Lit)> = vec![
        (PrimTy::I8, Lit::I8(-7), Lit::I8(3)),
        (PrimTy::I16, Lit::I16(-7), Lit::I16(3)),
        (PrimTy::I32, Lit::I32(-7), Lit::I32(3)),
        (PrimTy::I64, Lit::I64(-7), Lit::I64(3)),
        (PrimTy::U8, Lit::U8(250), Lit::U8(3)),
        (PrimTy::U16, Lit::U16(65000), Lit::U16(3)),
        (PrimTy::U32, Lit::U32(7), Lit::U32(3)),
        (PrimTy::U64, Lit::U64(7), Lit::U64(3)),
        (PrimTy::F32, Lit::F32(2.5), Lit::F32(0.5)),
        (PrimTy::F64, Lit::F64(2.5), Lit::F64(-0.5)),
        (PrimTy::Bool, Lit::Bool(true), Lit::Bool(false)),
        (PrimTy::Char, Lit::Char('a'), Lit::Char('\u{e9}')),
        (PrimTy::String, Lit::String("abc".into()), Lit::String("ab".into())),
    ];
    let numeric = [PrimTy::I8, PrimTy::I16, PrimTy::I32, PrimTy::I64, PrimTy::U8, PrimTy::U16, PrimTy::U32, PrimTy::U64, PrimTy::F32, PrimTy::F64];
    for (p, x, y) in lits {
        let t = Ty::Prim(p);
        let (a, b) = (fresh(t.clone()), fresh(t.clone()));
        stmts.push(st(vec![a.clone()], Expr::Atoms(vec![Atom::Lit(x)])));
        stmts.push(st(vec![b.clone()], Expr::Atoms(vec![Atom::Lit(y)])));
        let bool_t = Ty::Prim(PrimTy::Bool);
        let mut ops: Vec<(PrimOp, Vec<Atom>, Ty)> = Vec::new();
        for op in [PrimOp::Eq, PrimOp::Ne, PrimOp::Lt, PrimOp::Le, PrimOp::Gt, PrimOp::Ge] {
            ops.push((op, vec![var(&a), var(&b)], bool_t.clone()));
        }
        if p.is_int() {
            for op in [PrimOp::Add, PrimOp::Sub, PrimOp::Mul, PrimOp::Div, PrimOp::Rem, PrimOp::BitAnd, PrimOp::BitOr, PrimOp::BitXor, PrimOp::Shl, PrimOp::Shr] {
                ops.push((op, vec![var(&a), var(&b)], t.clone()));
            }
            ops.push((PrimOp::Neg, vec![var(&a)], t.clone()));
            ops.push((PrimOp::BitNot, vec![var(&a)], t.clone()));
        }
        if p.is_float() {
            for op in [PrimOp::Add, PrimOp::Sub, PrimOp::Mul, PrimOp::Div, PrimOp::Rem, PrimOp::Pow] {
                ops.push((op, vec![var(&a), var(&b)], t.clone()));
            }
            ops.push((PrimOp::Neg, vec![var(&a)], t.clone()));
            ops.push((PrimOp::IsNan, vec![var(&a)], bool_t.clone()));
            for f in ["sqrt", "log", "exp", "sin", "cos", "tan", "tanh", "abs", "floor", "ceil", "round"] {
                ops.push((PrimOp::FloatFn(f.into()), vec![var(&a)], t.clone()));
            }
        }
        if p.is_int() || p.is_float() || p == PrimTy::Char {
            for to in numeric.iter().copied().chain([PrimTy::Char]) {
                ops.push((PrimOp::Conv(to), vec![var(&a)], Ty::Prim(to)));
            }
        }
        if p == PrimTy::Bool {
            for op in [PrimOp::BitAnd, PrimOp::BitOr, PrimOp::BitXor] {
                ops.push((op, vec![var(&a), var(&b)], t.clone()));
            }
            ops.push((PrimOp::Not, vec![var(&a)], t.clone()));
            ops.push((PrimOp::BitNot, vec![var(&a)], t.clone()));
        }
        if p == PrimTy::String {
            ops.push((PrimOp::StringLength, vec![var(&a)], Ty::i32()));
            ops.push((PrimOp::StringIndex, vec![var(&a), i32l(1)], Ty::Prim(PrimTy::Char)));
            ops.push((PrimOp::StringSlice, vec![var(&a), i32l(1), i32l(3)], string()));
            ops.push((PrimOp::StringConcat, vec![var(&a), var(&b)], string()));
        }
        for (op, args, rt) in ops {
            let r = fresh(rt);
            stmts.push(st(vec![r], Expr::Prim(op, args)));
        }
    }
    let p = main_prog(stmts, vec![]);
    let c = emit_c(&p).unwrap();
    let d = scratch("prims");
    std::fs::write(d.join("p.c"), &c).unwrap();
    let out = Command::new("cc").args(["-std=c11", "-O2", "-Wall", "-Wextra", "-Werror"]).arg(d.join("p.c")).arg("-o").arg(d.join("p")).arg("-lm").output().unwrap();
    let _ = std::fs::remove_dir_all(&d);
    assert!(out.status.success(), "{}\n---\n{c}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(run(&p), (String::new(), 0));
}
