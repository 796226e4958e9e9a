//! How the C backend's cost grows with the size of the residual program: `emit_c` on generated
//! programs of 1x, 4x and 16x the statements (`cargo bench -p spiral-compiler --bench c_emit`).
//! Throughput is reported in statements per second; linear cost shows as a flat throughput.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use spiral_compiler::codegen::c::emit_c;
use spiral_compiler::peval::ir::*;

fn string() -> Ty {
    Ty::Prim(PrimTy::String)
}

/// `methods` methods, each a chain of 10 statements over strings, a union and integers, and a
/// `main` calling them all. Returns the program and its statement count.
fn program(methods: usize) -> (Program, u64) {
    let union = UnionDef {
        name: "option string".into(),
        cases: vec![("None".into(), Ty::Unit), ("Some".into(), string())],
        heap: false,
        decl: 0,
        args: vec![],
    };
    let v = |id: u32, ty: Ty| Var { id, ty };
    let a = |x: &Var| Atom::Var(x.clone());
    let mut ms = Vec::new();
    let mut main = Vec::new();
    let mut count = 0u64;
    for m in 0..methods {
        let (p, n) = (v(0, string()), v(1, Ty::i32()));
        let (s1, s2, u, r, k, k2) = (v(2, string()), v(3, string()), v(4, Ty::Union(0)), v(5, string()), v(6, Ty::i32()), v(7, Ty::i32()));
        let x = v(8, string());
        let cat = v(9, string());
        let stmts = vec![
            Stmt::new(vec![s1.clone()], Expr::Prim(PrimOp::StringConcat, vec![a(&p), Atom::Lit(Lit::String("-".into()))])),
            Stmt::new(vec![s2.clone()], Expr::Prim(PrimOp::StringConcat, vec![a(&s1), a(&p)])),
            Stmt::new(vec![u.clone()], Expr::Box { union: 0, case: 1, args: vec![a(&s2)] }),
            Stmt::new(
                vec![r.clone()],
                Expr::Match {
                    scrut: a(&u),
                    arms: vec![MatchArm {
                        case: 1,
                        vars: vec![x.clone()],
                        body: Block {
                            stmts: vec![Stmt::new(vec![cat.clone()], Expr::Prim(PrimOp::StringConcat, vec![a(&x), a(&p)]))],
                            result: vec![a(&cat)],
                        },
                    }],
                    default: Some(Block { stmts: vec![], result: vec![a(&p)] }),
                },
            ),
            Stmt::new(vec![k.clone()], Expr::Prim(PrimOp::StringLength, vec![a(&r)])),
            Stmt::new(vec![k2.clone()], Expr::Prim(PrimOp::Add, vec![a(&k), a(&n)])),
        ];
        count += 8;
        ms.push(Method { name: format!("step{m}").into(), backend: "C".into(), params: vec![p, n], ret: vec![Ty::i32()], body: Block { stmts, result: vec![a(&k2)] } });
        let out = v(m as u32, Ty::i32());
        main.push(Stmt::new(vec![out], Expr::Call { method: m as u32, args: vec![Atom::Lit(Lit::String("x".into())), Atom::Lit(Lit::I32(m as i32))] }));
        count += 1;
    }
    let prog = Program {
        types: Types { unions: vec![union], nominals: vec![] },
        methods: ms,
        main: Block { stmts: main, result: vec![] },
        main_ret: vec![],
        ..Program::default()
    };
    (prog, count)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("c_emit");
    for methods in [250usize, 1000, 4000] {
        let (p, stmts) = program(methods);
        g.throughput(Throughput::Elements(stmts));
        g.bench_with_input(BenchmarkId::from_parameter(stmts), &p, |b, p| b.iter(|| emit_c(p).expect("emits")));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
