//! The CLI under hostile conditions: closed pipes, outputs that are inputs, files outside
//! their package, directories, signals.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(120);

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("spiral-rel-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs `spiral args` with stdout a pipe whose read end is closed before it writes anything.
fn with_closed_stdout(args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_spiral"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn writing_to_a_closed_pipe_ends_quietly() {
    let d = scratch("pipe");
    let f = d.join("prog.spir");
    std::fs::write(&f, "inl main () = dyn 3i32 + 4\n").unwrap();
    let f = f.to_str().unwrap();
    for args in [vec!["build", f, "-o", "-"], vec!["check", "--ir", f], vec!["parse", "--dump", f]] {
        let (code, stderr) = with_closed_stdout(&args);
        assert!(!panicked(&stderr), "{args:?}: {stderr}");
        assert_ne!(code, Some(101), "{args:?}: {stderr}");
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
    }
    let _ = std::fs::remove_dir_all(&d);
}
