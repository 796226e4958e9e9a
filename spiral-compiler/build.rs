//! Embeds the bundled Spiral packages (`src/lib/<package>/...`) into the compiler.
//!
//! Writes `$OUT_DIR/bundled_packages.rs`: a sorted table of `(relative path, contents)` pairs,
//! each contents an `include_str!` of the file, so adding a file under `src/lib/` needs no
//! Rust change.

use std::fs;
use std::path::{Path, PathBuf};

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if matches!(p.extension().and_then(|x| x.to_str()), Some("spi" | "spir" | "spiproj")) {
            out.push(p);
        }
    }
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR")).join("src/lib");
    println!("cargo:rerun-if-changed=src/lib");
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    let mut code = String::from("/// Files of the bundled packages: (path relative to `src/lib`, contents).\npub(crate) static BUNDLED_FILES: &[(&str, &str)] = &[\n");
    for f in &files {
        let rel = f.strip_prefix(&root).expect("walked under root").to_string_lossy().replace('\\', "/");
        code.push_str(&format!("    ({:?}, include_str!({:?})),\n", rel, f.to_string_lossy()));
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("bundled_packages.rs");
    fs::write(out, code).expect("write bundled_packages.rs");
}
