//! Compiles `corpus/*.spir` with spiral-build (the C kernel target) and generates
//! `OUT_DIR/corpus.rs`: for every program a module with the C wrappers (`c`), the same program
//! through `spiral!` (`rust`, the Rust kernel target) and, for every export and target, a test
//! that runs it on generated inputs and compares the outputs with one shared snapshot per
//! export, so every target must give identical results. A new target (CUDA, UPMEM) adds one
//! entry to `TARGETS`.
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
    let mut g = String::new();
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
        let _ = writeln!(g, "    #[cfg(test)]\n    mod tests {{\n        #[allow(unused_imports)]\n        use spiral::InvArray;");
        for s in &sigs {
            let (name, params) = parse_sig(s);
            for (suffix, module) in TARGETS {
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
                    "        #[test]\n        fn {name}__{suffix}() {{\n            crate::support::check(\"{unit}__{name}\", &|dev: &spiral::Device, n: usize| {{ {lets}let r = super::{module}::{name}({}); crate::support::show(&r){after} }});\n        }}",
                    args.join(", ")
                );
            }
        }
        let _ = writeln!(g, "    }}\n}}");
        println!("cargo:rerun-if-changed={}", f.display());
    }
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
