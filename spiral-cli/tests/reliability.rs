//! The CLI under hostile conditions: closed pipes, outputs that are inputs, files outside
//! their package, directories, signals.

mod common;

use common::*;
use std::path::PathBuf;
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

#[test]
fn an_output_path_that_is_an_input_is_refused() {
    let d = scratch("out-is-in");
    let src = "inl main () = dyn 3i32 + 4\n";
    let f = d.join("a.spir");
    std::fs::write(&f, src).unwrap();
    let dot = format!("{}/./a.spir", d.display());
    let cases: Vec<Vec<String>> = vec![
        vec!["build".into(), f.display().to_string(), "-o".into(), f.display().to_string()],
        vec!["build".into(), f.display().to_string(), "-o".into(), dot.clone()],
        vec!["run".into(), f.display().to_string(), "--emit-c".into(), dot.clone()],
    ];
    for args in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = spiral(&args, &[], LIMIT);
        assert_eq!(out.code, Some(1), "{args:?}: {}", out.stderr);
        assert!(out.stderr.starts_with("error: "), "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains("a.spir") && out.stderr.contains("overwrite"), "{args:?}: {}", out.stderr);
        assert_eq!(std::fs::read_to_string(&f).unwrap(), src, "{args:?} overwrote its input");
    }
    // `spiral build prog.c`: the default output (`prog.c`) is the input.
    let c = d.join("prog.c");
    std::fs::write(&c, src).unwrap();
    let out = spiral(&["build", c.to_str().unwrap()], &[], LIMIT);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(&c).unwrap(), src);
    // Another module of the package, spelled relative to the current directory.
    let p = d.join("pkg");
    std::fs::create_dir_all(&p).unwrap();
    std::fs::write(p.join("package.spiproj"), "packages: |core-\nmodules:\n    helpers*\n    main*\n").unwrap();
    let helpers = "open real_core\ninl twice x = x + x\n";
    std::fs::write(p.join("helpers.spir"), helpers).unwrap();
    std::fs::write(p.join("main.spir"), "open real_core\ninl main () = helpers.twice (dyn 21i32)\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_spiral"))
        .args(["build", "main.spir", "-o", "../pkg/helpers.spir"])
        .current_dir(&p)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("helpers.spir"), "{stderr}");
    assert_eq!(std::fs::read_to_string(p.join("helpers.spir")).unwrap(), helpers);
    let _ = std::fs::remove_dir_all(&d);
}

/// A package `pkg` whose only module `main.spir` returns 42, and a stray `b.spir` beside it.
fn package_with_a_stray_file(tag: &str) -> PathBuf {
    let d = scratch(tag);
    let p = d.join("pkg");
    std::fs::create_dir_all(&p).unwrap();
    std::fs::write(p.join("package.spiproj"), "packages: |core-\nmodules:\n    main*\n").unwrap();
    std::fs::write(p.join("main.spir"), "inl main () = dyn 42i32\n").unwrap();
    std::fs::write(p.join("b.spir"), "inl main () = dyn 5i32\n").unwrap();
    d
}

#[test]
fn a_file_in_a_package_folder_that_the_package_does_not_list_is_refused() {
    let d = package_with_a_stray_file("stray");
    let b = d.join("pkg").join("b.spir");
    let b = b.to_str().unwrap();
    for args in [vec!["run", b], vec!["build", b, "-o", "-"], vec!["check", b]] {
        let out = spiral(&args, &[], LIMIT);
        assert_eq!(out.code, Some(1), "{args:?} ran another module's main: {}", out.stderr);
        assert!(out.stderr.starts_with("error: "), "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains("b.spir") && out.stderr.contains("is not a module of the package"), "{}", out.stderr);
        assert!(out.stderr.contains("package.spiproj") && out.stderr.contains("move the file out"), "{}", out.stderr);
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
    }
    // A listed module still runs the package.
    let out = spiral(&["run", d.join("pkg").join("main.spir").to_str().unwrap()], &[], LIMIT);
    assert_eq!(out.code, Some(42), "{}", out.stderr);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_package_directory_runs_the_package() {
    let d = package_with_a_stray_file("dir");
    let p = d.join("pkg");
    let out = spiral(&["run", p.to_str().unwrap()], &[], LIMIT);
    assert_eq!(out.code, Some(42), "{}", out.stderr);
    let out = spiral(&["check", p.to_str().unwrap()], &[], LIMIT);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let out = spiral(&["build", p.to_str().unwrap(), "-o", "-"], &[], LIMIT);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("int main(void)"), "{}", out.stdout);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_directory_without_a_package_is_a_clear_error() {
    let d = scratch("plain-dir");
    for cmd in ["run", "build", "check"] {
        let out = spiral(&[cmd, d.to_str().unwrap()], &[], LIMIT);
        assert_eq!(out.code, Some(1), "{cmd}: {}", out.stderr);
        assert!(out.stderr.starts_with("error: "), "{cmd}: {}", out.stderr);
        assert!(out.stderr.contains("is a directory with no package.spiproj"), "{cmd}: {}", out.stderr);
        assert!(!out.stderr.contains("no such file"), "{cmd}: {}", out.stderr);
    }
    let _ = std::fs::remove_dir_all(&d);
}

/// Pids of the processes whose executable lies under `dir`.
#[cfg(target_os = "linux")]
fn processes_under(dir: &std::path::Path) -> Vec<u32> {
    let mut pids = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
        if let Ok(exe) = std::fs::read_link(e.path().join("exe")) {
            if exe.starts_with(dir) {
                pids.push(pid);
            }
        }
    }
    pids
}

/// SIGTERM or SIGINT to `spiral run` while the program runs: the program is killed, the
/// scratch directory removed, and `spiral` exits with 128 + the signal.
#[cfg(target_os = "linux")]
#[test]
fn a_signal_to_spiral_run_kills_the_program_and_removes_its_scratch_directory() {
    let d = scratch("signal");
    let f = d.join("forever.spir");
    std::fs::write(
        &f,
        "inl main () =\n    inl acc = mut {i = dyn 0i32}\n    while (fun () => (*acc).i >= 0) (fun () =>\n        acc.i <- ((*acc).i + 1) % 1000\n        )\n    (*acc).i\n",
    )
    .unwrap();
    for (name, number) in [("TERM", 15), ("INT", 2)] {
        let tmp = d.join(format!("tmp-{name}"));
        std::fs::create_dir_all(&tmp).unwrap();
        let tmp = std::fs::canonicalize(&tmp).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_spiral"))
            .args(["run", f.to_str().unwrap()])
            .env("TMPDIR", &tmp)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Wait until the compiled program runs.
        let start = std::time::Instant::now();
        while processes_under(&tmp).is_empty() {
            if let Some(st) = child.try_wait().unwrap() {
                panic!("spiral ended before the program ran: {st}");
            }
            assert!(start.elapsed() < LIMIT, "the program never started");
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(300));
        let st = Command::new("kill").args([&format!("-{name}"), &child.id().to_string()]).status().unwrap();
        assert!(st.success());
        let start = std::time::Instant::now();
        let status = loop {
            if let Some(st) = child.try_wait().unwrap() {
                break Some(st);
            }
            if start.elapsed() > Duration::from_secs(20) {
                let _ = child.kill();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // Give a killed program a moment to be reaped, then look for it (and end it: it holds
        // the stderr pipe open).
        std::thread::sleep(Duration::from_millis(200));
        let left = processes_under(&tmp);
        for pid in &left {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
        }
        let mut stderr = String::new();
        let _ = std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr);
        let status = status.unwrap_or_else(|| panic!("SIG{name}: spiral did not exit"));
        assert!(left.is_empty(), "SIG{name}: the program is still running: {left:?}");
        assert!(!panicked(&stderr), "{stderr}");
        assert_eq!(status.code(), Some(128 + number), "SIG{name}: {status} {stderr}");
        let remaining: Vec<_> = std::fs::read_dir(&tmp).unwrap().map(|e| e.unwrap().path()).collect();
        assert!(remaining.is_empty(), "SIG{name}: left behind {remaining:?}");
    }
    let _ = std::fs::remove_dir_all(&d);
}
