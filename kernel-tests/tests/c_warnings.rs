//! The C that spiral-build generated for the corpus compiles cleanly with every warning on:
//! `-std=c11 -Wall -Wextra -Werror`, with `cc` and, when installed, `clang`.

use std::path::Path;
use std::process::Command;

#[test]
fn generated_kernel_c_compiles_with_all_warnings_as_errors() {
    let dir = Path::new(env!("OUT_DIR")).join("spiral");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "c")).collect();
    files.sort();
    assert!(files.len() >= 30, "expected the corpus's C files in {}", dir.display());
    let compilers: Vec<&str> = ["cc", "clang"].into_iter().filter(|c| Command::new(c).arg("--version").output().is_ok_and(|o| o.status.success())).collect();
    assert!(compilers.contains(&"cc"));
    for cc in compilers {
        for f in &files {
            let out = Command::new(cc).args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-fsyntax-only"]).arg(f).output().unwrap();
            assert!(out.status.success(), "{cc} {}:\n{}", f.display(), String::from_utf8_lossy(&out.stderr));
        }
    }
}
