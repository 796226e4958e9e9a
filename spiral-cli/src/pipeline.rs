//! The compilation pipeline as the CLI drives it: locate the package, run the front end and the
//! partial evaluator, print with a backend. Errors come back already rendered.

use std::path::{Path, PathBuf};

/// The directory of the nearest `package.spiproj` at or above the directory holding `file`.
pub fn find_package_root(file: &Path) -> Option<PathBuf> {
    let abs = std::fs::canonicalize(file).ok()?;
    let mut dir = abs.parent()?.to_path_buf();
    loop {
        if dir.join("package.spiproj").is_file() {
            return Some(dir);
        }
        if !dir.pop() {
            return None;
        }
    }
}

/// Compiles the program whose `main` lives in `file` to C source text.
pub fn compile_file_to_c(file: &Path) -> Result<String, String> {
    if !file.is_file() {
        return Err(format!("error: cannot read `{}`: no such file\n", file.display()));
    }
    let _package = find_package_root(file);
    Err(format!(
        "error: `{}`: the front end is not wired into the CLI yet\n",
        file.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_enclosing_package() {
        let base = std::env::temp_dir().join(format!("spiral-pkg-test-{}", std::process::id()));
        let sub = base.join("a").join("b");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(base.join("package.spiproj"), "modules: a/b/m\n").unwrap();
        let f = sub.join("m.spir");
        std::fs::write(&f, "inl main () = 0i32\n").unwrap();
        let root = find_package_root(&f).unwrap();
        assert_eq!(root, std::fs::canonicalize(&base).unwrap());
        std::fs::remove_dir_all(&base).unwrap();
    }
}
