//! `spiral parse`: exit codes, rendered diagnostics and the `--dump` tree.

use std::path::PathBuf;
use std::process::Command;

fn write(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("spiral-parse-cmd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write temp file");
    p
}

fn spiral(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_spiral")).args(args).output().expect("run spiral");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn good_file_exits_zero_and_dumps_the_tree() {
    let p = write("good.spi", "inl main () = 1i32 + 2\n");
    let (code, out, err) = spiral(&["parse", p.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.is_empty());
    let (code, out, _) = spiral(&["parse", "--dump", p.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(out, "(inl main (fun (=> () (app + 1i32 2))))\n");
}

#[test]
fn bad_file_exits_one_with_every_error_located() {
    let p = write("bad.spi", "inl f x = )\ninl g y = y\ninl h z = (\n");
    let (code, _, err) = spiral(&["parse", p.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("bad.spi:1:11]"), "{err}");
    assert!(err.contains("bad.spi:3:11]"), "{err}");
    assert!(err.contains("inl f x = )"), "{err}");
    assert!(err.contains("2 syntax error(s)"), "{err}");
}

#[test]
fn spir_files_use_the_bottom_up_segment() {
    let p = write("bu.spir", "inl f x = `i32\n");
    let (code, out, err) = spiral(&["parse", "--dump", p.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("(inl-real f"), "{out}");
    let p = write("td.spi", "inl f x = `i32\n");
    let (code, _, err) = spiral(&["parse", p.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("td.spi:1:11]"), "{err}");
}

#[test]
fn missing_file_is_an_error() {
    let (code, _, err) = spiral(&["parse", "/nonexistent/x.spi"]);
    assert_eq!(code, 1);
    assert!(err.contains("cannot read"), "{err}");
}
