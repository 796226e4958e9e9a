//! A deterministic, readable dump of the AST as an indented s-expression tree.
//!
//! Short subtrees are printed on one line; longer ones put each child on its own line,
//! indented by two spaces. Spans are not printed, so dumps are stable under edits that only
//! move code around.

use super::ast::*;

/// A generic tree used for printing.
struct Node {
    head: String,
    kids: Vec<Node>,
}

fn n(head: impl Into<String>, kids: Vec<Node>) -> Node {
    Node { head: head.into(), kids }
}

fn leaf(head: impl Into<String>) -> Node {
    n(head, Vec::new())
}

const WIDTH: usize = 90;

impl Node {
    fn flat(&self, out: &mut String) {
        if self.kids.is_empty() {
            out.push_str(&self.head);
            return;
        }
        out.push('(');
        out.push_str(&self.head);
        for k in &self.kids {
            out.push(' ');
            k.flat(out);
        }
        out.push(')');
    }
    fn print(&self, indent: usize, out: &mut String) {
        let mut flat = String::new();
        self.flat(&mut flat);
        if self.kids.is_empty() || indent + flat.len() <= WIDTH {
            out.push_str(&flat);
            return;
        }
        out.push('(');
        out.push_str(&self.head);
        for k in &self.kids {
            out.push('\n');
            out.push_str(&" ".repeat(indent + 2));
            k.print(indent + 2, out);
        }
        out.push(')');
    }
}

/// Prints a module; one top-level statement per paragraph.
pub fn dump_module(m: &Module) -> String {
    let mut out = String::new();
    for item in &m.items {
        top(item).print(0, &mut out);
        out.push('\n');
    }
    out
}

fn q(s: &str) -> String {
    format!("{s:?}")
}

fn ident(i: &Ident) -> Node {
    leaf(i.name.clone())
}

fn lit(l: &Literal) -> String {
    match l {
        Literal::I8(x) => format!("{x}i8"),
        Literal::I16(x) => format!("{x}i16"),
        Literal::I32(x) => format!("{x}i32"),
        Literal::I64(x) => format!("{x}i64"),
        Literal::U8(x) => format!("{x}u8"),
        Literal::U16(x) => format!("{x}u16"),
        Literal::U32(x) => format!("{x}u32"),
        Literal::U64(x) => format!("{x}u64"),
        Literal::F32(x) => format!("{x:?}f32"),
        Literal::F64(x) => format!("{x:?}f64"),
        Literal::Bool(b) => format!("{b}"),
        Literal::String(s) => q(s),
        Literal::Char(c) => format!("{c:?}"),
    }
}

fn kind(k: &Kind) -> String {
    match k {
        Kind::Wildcard => "_".into(),
        Kind::Star => "*".into(),
        Kind::Fun(a, b) => format!("({} -> {})", kind(a), kind(b)),
    }
}

fn hovar(h: &HoVar) -> Node {
    match h.kind {
        Kind::Wildcard => ident(&h.name),
        _ => leaf(format!("{}:{}", h.name.name, kind(&h.kind))),
    }
}

fn typevar(t: &TypeVar) -> Node {
    if t.constraints.is_empty() {
        hovar(&t.var)
    } else {
        let mut kids = vec![hovar(&t.var)];
        kids.extend(t.constraints.iter().map(ident));
        n("constrained", kids)
    }
}

fn macro_parts(head: &str, parts: &[MacroPart]) -> Node {
    n(
        head,
        parts
            .iter()
            .map(|p| match p {
                MacroPart::Text(t, _) => leaf(q(t)),
                MacroPart::Term(e) => n("!", vec![expr(e)]),
                MacroPart::Type(t) => n("`", vec![ty(t)]),
                MacroPart::TypeLit(t) => n("@", vec![ty(t)]),
            })
            .collect(),
    )
}

fn top(t: &TopItem) -> Node {
    match &t.kind {
        TopKind::And(x) => n("and", vec![top(x)]),
        TopKind::Inl { name, body, rec, top_down } => {
            let head = match (rec, top_down) {
                (false, true) => "inl",
                (true, true) => "inl-rec",
                (false, false) => "inl-real",
                (true, false) => "inl-rec-real",
            };
            n(head, vec![ident(name), expr(body)])
        }
        TopKind::Nominal { name, params, body, rec } => {
            let mut kids = vec![ident(name), n("params", params.iter().map(hovar).collect())];
            kids.push(ty(body));
            n(if *rec { "nominal-rec" } else { "nominal" }, kids)
        }
        TopKind::Type { name, params, body } => {
            n("type", vec![ident(name), n("params", params.iter().map(hovar).collect()), ty(body)])
        }
        TopKind::Prototype { name, self_var, params, ty: t } => n(
            "prototype",
            vec![ident(name), ident(self_var), n("params", params.iter().map(typevar).collect()), ty(t)],
        ),
        TopKind::Instance { prototype, nominal, params, body } => n(
            "instance",
            vec![ident(prototype), ident(nominal), n("params", params.iter().map(typevar).collect()), expr(body)],
        ),
        TopKind::Open { module, path } => {
            let mut kids = vec![ident(module)];
            kids.extend(path.iter().map(|s| leaf(format!(".{}", s.name))));
            n("open", kids)
        }
    }
}

fn clauses(cs: &[(Pattern, Expr)]) -> Vec<Node> {
    cs.iter().map(|(p, e)| n("=>", vec![pat(p), expr(e)])).collect()
}

fn expr(e: &Expr) -> Node {
    match &e.kind {
        ExprKind::Unit => leaf("()"),
        ExprKind::Var { name, tvar_applied } => {
            if name.contains(' ') {
                leaf(q(name))
            } else if *tvar_applied {
                leaf(name.clone())
            } else {
                leaf(format!("`${name}"))
            }
        }
        ExprKind::Lit(l) => leaf(lit(l)),
        ExprKind::DefaultLit(s) => leaf(s.clone()),
        ExprKind::Symbol(s) => leaf(format!(".{s}")),
        ExprKind::Type(t) => n("type", vec![ty(t)]),
        ExprKind::Match { scrutinee, clauses: cs } => {
            let mut kids = vec![expr(scrutinee)];
            kids.extend(clauses(cs));
            n("match", kids)
        }
        ExprKind::Fun(cs) => n("fun", clauses(cs)),
        ExprKind::Forall(v, b) => n("forall", vec![typevar(v), expr(b)]),
        ExprKind::Exists { types, body } => {
            let mut kids = Vec::new();
            if let Some(ts) = types {
                kids.push(n("types", ts.iter().map(ty).collect()));
            }
            kids.push(expr(body));
            n("exists", kids)
        }
        ExprKind::RecBlock { bindings, body } => {
            let mut kids: Vec<Node> = bindings.iter().map(|(i, b)| n("rec", vec![ident(i), expr(b)])).collect();
            kids.push(expr(body));
            n("rec-block", kids)
        }
        ExprKind::RecordWith { bases, with, without } => {
            let mut kids = Vec::new();
            if !bases.is_empty() {
                kids.push(n("base", bases.iter().map(expr).collect()));
            }
            for w in with {
                kids.push(match w {
                    RecordWith::Symbol(i, e) => n(format!("{} =", i.name), vec![expr(e)]),
                    RecordWith::SymbolModify(i, e) => n(format!("{} #=", i.name), vec![expr(e)]),
                    RecordWith::InjectVar(i, e) => n(format!("${} =", i.name), vec![expr(e)]),
                    RecordWith::InjectVarModify(i, e) => n(format!("${} #=", i.name), vec![expr(e)]),
                });
            }
            for w in without {
                kids.push(match w {
                    RecordWithout::Symbol(i) => leaf(format!("-{}", i.name)),
                    RecordWithout::InjectVar(i) => leaf(format!("-${}", i.name)),
                });
            }
            n("record", kids)
        }
        ExprKind::Op { name, args } => n(format!("op:{}", name.name), args.iter().map(expr).collect()),
        ExprKind::JoinPoint { backend, body, name } => {
            let mut head = String::from("join");
            if let Some(b) = backend {
                head.push_str(&format!(":{}", b.name));
            }
            if let Some(nm) = name {
                head.push_str(&format!("[{nm}]"));
            }
            n(head, vec![expr(body)])
        }
        ExprKind::Annot(a, t) => n(":", vec![expr(a), ty(t)]),
        ExprKind::Typecase { scrutinee, clauses: cs } => {
            let mut kids = vec![ty(scrutinee)];
            kids.extend(cs.iter().map(|(p, e)| n("=>", vec![ty(p), expr(e)])));
            n("typecase", kids)
        }
        ExprKind::Open { module, path, body } => {
            let mut kids = vec![ident(module)];
            kids.extend(path.iter().map(|s| leaf(format!(".{}", s.name))));
            kids.push(expr(body));
            n("open", kids)
        }
        ExprKind::Apply(f, x) => {
            // Flatten curried applications for readability.
            let mut args = vec![x.as_ref()];
            let mut head = f.as_ref();
            while let ExprKind::Apply(f2, x2) = &head.kind {
                args.push(x2);
                head = f2;
            }
            args.reverse();
            let mut kids = vec![expr(head)];
            kids.extend(args.into_iter().map(expr));
            n("app", kids)
        }
        ExprKind::IfThenElse(c, t, f) => n("if", vec![expr(c), expr(t), expr(f)]),
        ExprKind::IfThen(c, t) => n("if", vec![expr(c), expr(t)]),
        ExprKind::Pair(a, b) => n(",", vec![expr(a), expr(b)]),
        ExprKind::Seq(a, b) => n("seq", vec![expr(a), expr(b)]),
        ExprKind::HeapMutableSet { target, path, value } => {
            let mut kids = vec![expr(target)];
            kids.extend(path.iter().map(expr));
            kids.push(expr(value));
            n("<-", kids)
        }
        ExprKind::Real(e) => n("real", vec![expr(e)]),
        ExprKind::Macro(ps) => macro_parts("macro", ps),
        ExprKind::Array(es) => n("array", es.iter().map(expr).collect()),
        ExprKind::MissingBody => leaf("<missing>"),
    }
}

fn ty(t: &TypeExpr) -> Node {
    match &t.kind {
        TypeKind::Wildcard => leaf("_"),
        TypeKind::Unit => leaf("()"),
        TypeKind::MetaVar(v) => leaf(format!("~{v}")),
        TypeKind::Lit(l) => leaf(format!("@{}", lit(l))),
        TypeKind::DefaultLit(s) => leaf(format!("@{s}")),
        TypeKind::Var(v) => leaf(v.clone()),
        TypeKind::Pair(a, b) => n("*", vec![ty(a), ty(b)]),
        TypeKind::Fun(a, b) => n("->", vec![ty(a), ty(b)]),
        TypeKind::Record(fs) => n("record-type", fs.iter().map(|(i, t)| n(format!("{} :", i.name), vec![ty(t)])).collect()),
        TypeKind::Symbol(s) => leaf(format!(".{s}")),
        TypeKind::Apply(a, b) => n("tapp", vec![ty(a), ty(b)]),
        TypeKind::Forall(v, b) => n("forall", vec![typevar(v), ty(b)]),
        TypeKind::Exists(vs, b) => {
            let mut kids: Vec<Node> = vs.iter().map(typevar).collect();
            kids.push(ty(b));
            n("exists", kids)
        }
        TypeKind::Term(e) => n("term", vec![expr(e)]),
        TypeKind::Macro(ps) => macro_parts("type-macro", ps),
        TypeKind::Union { cases, layout, this } => {
            let mut kids = vec![n("this", vec![ty(this)])];
            for c in cases {
                let head = if c.gadt { format!("{} ::", c.name.name) } else { format!("{} :", c.name.name) };
                kids.push(n(head, vec![ty(&c.ty)]));
            }
            n(if *layout == UnionLayout::Heap { "union-heap" } else { "union" }, kids)
        }
    }
}

fn pat(p: &Pattern) -> Node {
    match &p.kind {
        PatternKind::Unit => leaf("()"),
        PatternKind::Wildcard => leaf("_"),
        PatternKind::Var(v) if v.contains(' ') => leaf(q(v)),
        PatternKind::Var(v) => leaf(v.clone()),
        PatternKind::Dyn(p) => n("~", vec![pat(p)]),
        PatternKind::Unbox(s, p) => n(format!("unbox:{s}"), vec![pat(p)]),
        PatternKind::Exists(vs, p) => {
            let mut kids: Vec<Node> = vs.iter().map(ident).collect();
            kids.push(pat(p));
            n("exists", kids)
        }
        PatternKind::Annot(p, t) => n(":", vec![pat(p), ty(t)]),
        PatternKind::Pair(a, b) => n(",", vec![pat(a), pat(b)]),
        PatternKind::Symbol(s) => leaf(format!(".{s}")),
        PatternKind::Record(ms) => n(
            "record",
            ms.iter()
                .map(|m| match m {
                    PatRecordMember::Symbol(i, p) => n(format!("{} =", i.name), vec![pat(p)]),
                    PatRecordMember::InjectVar(i, p) => n(format!("${} =", i.name), vec![pat(p)]),
                })
                .collect(),
        ),
        PatternKind::Or(a, b) => n("|", vec![pat(a), pat(b)]),
        PatternKind::And(a, b) => n("&", vec![pat(a), pat(b)]),
        PatternKind::Lit(l) => leaf(lit(l)),
        PatternKind::DefaultLit(s) => leaf(s.clone()),
        PatternKind::When(p, e) => n("when", vec![pat(p), expr(e)]),
        PatternKind::Nominal { name, path, pat: p } => {
            let mut kids = vec![ident(name)];
            kids.extend(path.iter().map(|s| leaf(format!(".{}", s.name))));
            kids.push(pat(p));
            n("nominal", kids)
        }
        PatternKind::Array(ps) => n("array", ps.iter().map(pat).collect()),
    }
}
