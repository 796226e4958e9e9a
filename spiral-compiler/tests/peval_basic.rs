//! End-to-end tests of the prepass and the partial evaluator on small bottom-up programs:
//! they assert on the printed residual IR or on the rendered diagnostics.
use spiral_compiler::diagnostics::{render, SourceMap};
use spiral_compiler::peval::Limits;
use spiral_compiler::prepass::compile_graph;
use spiral_compiler::project::load_inline;
use spiral_compiler::syntax::Segment;

/// Compiles `src` as a lone bottom-up file: `Ok(printed IR)` or `Err(rendered diagnostics)`.
fn compile(src: &str) -> Result<String, String> {
    let mut sm = SourceMap::new();
    let graph = load_inline("test.spir", src, Segment::BottomUp, &mut sm).map_err(|d| render(&sm, &d))?;
    compile_graph(&graph, Limits::default()).map(|p| p.to_string()).map_err(|d| render(&sm, &d))
}

#[test]
fn literals_fold() {
    let ir = compile("inl main () = 1 + 2 * 3").unwrap();
    assert_eq!(ir, "main : (i32) =\n    return (7i32)\n");
}

/// Developer aid: `PEVAL_FILE=path cargo test --test peval_basic dev_file -- --ignored --nocapture`
/// prints the residual IR (or the diagnostics) of a file.
#[test]
#[ignore]
fn dev_file() {
    let path = std::env::var("PEVAL_FILE").expect("PEVAL_FILE");
    let src = std::fs::read_to_string(&path).expect("read");
    match compile(&src) {
        Ok(ir) => println!("{ir}"),
        Err(e) => println!("ERROR:\n{e}"),
    }
}

/// Developer aid: compiles every `tests/conformance/*.spir` through the C backend, runs it and
/// prints a pass/fail report (`cargo test --test peval_basic dev_conformance -- --ignored --nocapture`).
#[test]
#[ignore]
fn dev_conformance() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance");
    let filter = std::env::var("PEVAL_FILTER").unwrap_or_default();
    let mut names: Vec<_> = std::fs::read_dir(&dir).unwrap().filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "spir")).collect();
    names.sort();
    let (mut pass, mut fail, mut skip) = (0, 0, 0);
    let tmp = std::env::temp_dir().join("peval_conf");
    std::fs::create_dir_all(&tmp).unwrap();
    for p in names {
        let name = p.file_stem().unwrap().to_string_lossy().to_string();
        if !name.contains(&filter) {
            continue;
        }
        let src = std::fs::read_to_string(&p).unwrap();
        let header: Vec<&str> = src.lines().take_while(|l| l.starts_with("//")).collect();
        if header.iter().any(|l| l.starts_with("// skip:")) {
            skip += 1;
            continue;
        }
        let expect: Vec<String> = header.iter().filter_map(|l| l.strip_prefix("// expect-stdout:")).map(|s| s.strip_prefix(' ').unwrap_or(s).trim_end().to_string()).collect();
        let exit: i32 = header.iter().find_map(|l| l.strip_prefix("// expect-exit: ")).map(|s| s.trim().parse().unwrap()).unwrap_or(0);
        let mut sm = SourceMap::new();
        let graph = match load_inline(&p.to_string_lossy(), &src, Segment::BottomUp, &mut sm) {
            Ok(g) => g,
            Err(d) => {
                fail += 1;
                println!("FAIL {name}: parse\n{}", render(&sm, &d));
                continue;
            }
        };
        let prog = match compile_graph(&graph, Limits::default()) {
            Ok(p) => p,
            Err(d) => {
                fail += 1;
                println!("FAIL {name}: peval\n{}", render(&sm, &d));
                continue;
            }
        };
        let problems = prog.validate();
        if !problems.is_empty() {
            fail += 1;
            println!("FAIL {name}: invalid residual program {problems:?}");
            continue;
        }
        let c = match spiral_compiler::codegen::c::emit_c(&prog) {
            Ok(c) => c,
            Err(d) => {
                fail += 1;
                println!("FAIL {name}: cgen\n{}", render(&sm, &d));
                continue;
            }
        };
        let cf = tmp.join(format!("{name}.c"));
        let exe = tmp.join(&name);
        std::fs::write(&cf, &c).unwrap();
        let st = std::process::Command::new("cc").arg("-w").arg("-o").arg(&exe).arg(&cf).arg("-lm").output().unwrap();
        if !st.status.success() {
            fail += 1;
            println!("FAIL {name}: cc\n{}", String::from_utf8_lossy(&st.stderr).lines().take(8).collect::<Vec<_>>().join("\n"));
            continue;
        }
        let out = std::process::Command::new(&exe).output().unwrap();
        let got = String::from_utf8_lossy(&out.stdout).to_string();
        let want = if expect.is_empty() { String::new() } else { expect.join("\n") + "\n" };
        if got == want && out.status.code() == Some(exit) {
            pass += 1;
        } else {
            fail += 1;
            println!("FAIL {name}: output\n  want {want:?} exit {exit}\n  got  {got:?} exit {:?}", out.status.code());
        }
    }
    println!("conformance: {pass} passed, {fail} failed, {skip} skipped");
}
