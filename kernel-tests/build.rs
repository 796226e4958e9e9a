//! Compiles `corpus/*.spir` with spiral-build (the C kernel target) and generates
//! `OUT_DIR/corpus.rs`: for every program a module with the C wrappers (`c`), the same program
//! through `spiral!` (`rust`, the Rust kernel target) and, for every export and target, a test
//! that runs it on generated inputs and compares the outputs with one shared snapshot per
//! export, so every target must give identical results. A new target adds one entry to
//! `TARGETS`.
//!
//! With the feature `upmem`, every program that UPMEM DPUs can hold (it compiles with the
//! library's kernels on UPMEM) also gets a module `upmem` (`spiral!` with `targets = [upmem]`)
//! and tests `<export>__upmem` on the emulator; the others are listed in
//! `UPMEM_NOT_APPLICABLE` with the compiler's reason, which a test checks is one of UPMEM's
//! documented limits.
use std::fmt::Write;
use std::path::Path;

/// (test suffix, module holding that target's functions).
const TARGETS: &[(&str, &str)] = &[("cpu_c", "c"), ("cpu_rust", "rust")];

fn main() {
    if let Err(e) = spiral_build::Builder::from_env().source_dir("corpus").build() {
        eprintln!("{e}");
        std::process::exit(1);
    }
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    let out = std::env::var("OUT_DIR").unwrap();
    let mut files: Vec<_> = std::fs::read_dir(Path::new(&manifest).join("corpus"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "spir"))
        .collect();
    files.sort();
    let upmem = std::env::var_os("CARGO_FEATURE_UPMEM").is_some();
    let mut g = String::new();
    let mut not_applicable = Vec::new();
    for f in &files {
        let unit = f.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(f).unwrap();
        let sigs: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("// export: ")).collect();
        let _ = writeln!(g, "/// `corpus/{unit}.spir` on every target.\npub mod {unit} {{");
        let _ = writeln!(g, "    /// The C kernels (spiral-build).\n    pub mod c {{\n        #[allow(unused_imports)]\n        use spiral::{{Device, Error, InvArray}};\n        include!(concat!(env!(\"OUT_DIR\"), \"/spiral/{unit}.rs\"));\n    }}");
        let _ = writeln!(g, "    /// The Rust kernels (`spiral!`).\n    pub mod rust {{\n        #[allow(unused_imports)]\n        use spiral::{{spiral, Device, Error, InvArray}};\n        spiral! {{\n            file = \"corpus/{unit}.spir\",");
        for s in &sigs {
            let _ = writeln!(g, "            {s}");
        }
        let _ = writeln!(g, "        }}\n    }}");
        let on_upmem = upmem && match upmem_reason(&unit, &text) {
            None => true,
            Some(reason) => {
                not_applicable.push((unit.clone(), reason));
                false
            }
        };
        if on_upmem {
            let _ = writeln!(g, "    /// The UPMEM DPU kernels (`spiral!`, `targets = [upmem]`), run on the emulator.\n    pub mod upmem {{\n        #[allow(unused_imports)]\n        use spiral::{{spiral, Device, Error, InvArray}};\n        spiral! {{\n            targets = [upmem],\n            file = \"corpus/{unit}.spir\",");
            for s in &sigs {
                let _ = writeln!(g, "            {s}");
            }
            let _ = writeln!(g, "        }}\n    }}");
        }
        let _ = writeln!(g, "    #[cfg(test)]\n    mod tests {{\n        #[allow(unused_imports)]\n        use spiral::InvArray;");
        let targets: Vec<(&str, &str)> = TARGETS.iter().copied().chain(on_upmem.then_some(("upmem", "upmem"))).collect();
        for s in &sigs {
            let (name, params) = parse_sig(s);
            for (suffix, module) in &targets {
                let mut lets = String::new();
                let mut args = vec!["dev".to_string()];
                // `&mut` parameters are shown after the result, as the export left them.
                let mut after = String::new();
                for (i, (_, ty)) in params.iter().enumerate() {
                    let (owned_ty, pass) = if let Some(t) = ty.strip_prefix("&mut ") {
                        (t.trim().to_string(), "&mut ")
                    } else if let Some(t) = ty.strip_prefix('&') {
                        (t.trim().to_string(), "&")
                    } else {
                        (ty.clone(), "")
                    };
                    let _ = write!(lets, "#[allow(unused_mut)] let mut p{i}: {owned_ty} = crate::support::arg(n, {i}); ");
                    args.push(if pass.is_empty() { format!("p{i}.clone()") } else { format!("{pass}p{i}") });
                    if pass == "&mut " {
                        let _ = write!(after, " + \" | \" + &crate::support::Show::show(&p{i})");
                    }
                }
                let _ = writeln!(
                    g,
                    "        #[test]\n        fn {name}__{suffix}() {{\n            crate::support::{}(\"{unit}__{name}\", &|dev: &spiral::Device, n: usize| {{ {lets}let r = super::{module}::{name}({}); crate::support::show(&r){after} }});\n        }}",
                    if *suffix == "upmem" { "check_upmem" } else { "check" },
                    args.join(", ")
                );
            }
        }
        let _ = writeln!(g, "    }}\n}}");
        println!("cargo:rerun-if-changed={}", f.display());
    }
    let list: Vec<String> = not_applicable.iter().map(|(u, r)| format!("    ({u:?}, {r:?}),")).collect();
    let _ = writeln!(g, "/// The corpus programs UPMEM DPUs cannot hold (empty without the feature `upmem`), with the\n/// compiler's reason.\npub const UPMEM_NOT_APPLICABLE: &[(&str, &str)] = &[\n{}\n];", list.join("\n"));
    println!("cargo:rerun-if-changed=corpus");
    std::fs::write(Path::new(&out).join("corpus.rs"), g).unwrap();
}

/// The name and the parameters after the device (`(name, type)`) of an export signature.
fn parse_sig(s: &str) -> (String, Vec<(String, String)>) {
    let after_fn = s.split_once("fn ").map(|x| x.1).unwrap_or(s);
    let (name, rest) = after_fn.split_once('(').unwrap();
    // The parameter list ends at the `)` that closes the `(` after the name.
    let mut depth = 1;
    let mut end = 0;
    for (i, c) in rest.char_indices() {
        match c {
            '(' | '<' => depth += 1,
            ')' | '>' => {
                depth -= 1;
                if depth == 0 {
                    end = i;
                    break;
                }
            }
            _ => {}
        }
    }
    let mut params = Vec::new();
    let (mut cur, mut d) = (String::new(), 0);
    for c in rest[..end].chars() {
        match c {
            '(' | '<' => d += 1,
            ')' | '>' => d -= 1,
            ',' if d == 0 => {
                params.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() {
        params.push(cur);
    }
    let params = params
        .iter()
        .skip(1) // the device
        .map(|p| {
            let (n, t) = p.split_once(':').unwrap();
            (n.trim().to_string(), t.trim().to_string())
        })
        .collect();
    (name.trim().to_string(), params)
}

/// Why the program `unit` cannot run on UPMEM (the first line of the compiler's diagnostic), or
/// `None` when all its exports compile with their kernels on UPMEM.
fn upmem_reason(unit: &str, text: &str) -> Option<String> {
    use spiral_compiler::diagnostics::{render, SourceMap};
    let d = match spiral_build::export_directives(unit, text) {
        Ok(d) => d,
        Err(e) => return Some(e),
    };
    let mut sm = SourceMap::new();
    let name = format!("corpus/{unit}.spir");
    let base = match spiral_compiler::driver::load_with_library(&mut sm, &name, text) {
        Ok(b) => b,
        Err(ds) => return Some(render(&sm, &ds)),
    };
    match spiral_compiler::driver::compile_graph_exports_upmem(&mut sm, &base, &d.exports) {
        Ok(_) => None,
        Err(spiral_compiler::driver::CompileError::Spiral(ds)) => Some(ds.first().map(|d| d.message.clone()).unwrap_or_default()),
        Err(spiral_compiler::driver::CompileError::MissingExport(i)) => Some(format!("export {i} is not defined")),
    }
}
