//! `cargo xtask peer run <dir>`: compiles and runs the public Spiral v2 test packages whose
//! reference C output runs, with `spiral run`, and compares exit code and stdout with the
//! results the reference implementation's C gave (recorded in [`TESTS`]).
//!
//! Three groups: the bottom-up packages (`.spir` main file), which must all pass; the top-down
//! packages whose programs were portable to the bottom-up front end; and the other top-down
//! packages, which need type inference's results or top-down core modules. The last two are
//! best effort (the totals count every group). `signaloid` is left out: its reference result is
//! an error from opening a data file the suite does not ship.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Which group a peer test belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    /// A bottom-up (`.spir`) package: required to pass.
    BottomUp,
    /// A top-down package whose program the bottom-up front end may handle: best effort.
    Portable,
    /// A top-down package that needs inference or top-down core modules: best effort.
    TopDown,
}

impl Group {
    fn index(self) -> usize {
        match self {
            Group::BottomUp => 0,
            Group::Portable => 1,
            Group::TopDown => 2,
        }
    }
    fn label(self) -> &'static str {
        match self {
            Group::BottomUp => "bottom-up",
            Group::Portable => "portable",
            Group::TopDown => "top-down",
        }
    }
}

/// One peer test: the package folder under `compilation_tests/`, its main file and the exit
/// code and stdout that running the reference C output gave.
#[derive(Clone, Copy, Debug)]
pub struct PeerTest {
    /// Package folder name.
    pub name: &'static str,
    /// The file holding `main`, relative to the package folder.
    pub main: &'static str,
    /// Expected exit code.
    pub exit: i32,
    /// Expected standard output.
    pub stdout: &'static str,
    /// Its group.
    pub group: Group,
}

/// The table of peer tests (facts recorded from running the reference outputs).
pub const TESTS: &[PeerTest] = &[
    PeerTest { name: "test10a", main: "test.spir", exit: 0, stdout: "", group: Group::BottomUp },
    PeerTest { name: "test10b", main: "test.spir", exit: 0, stdout: "", group: Group::BottomUp },
    PeerTest { name: "test16", main: "test.spir", exit: 12, stdout: "", group: Group::BottomUp },
    PeerTest { name: "test29", main: "test.spir", exit: 0, stdout: "", group: Group::BottomUp },
    PeerTest { name: "test30", main: "test.spir", exit: 0, stdout: "", group: Group::BottomUp },
    PeerTest { name: "test32", main: "test.spir", exit: 0, stdout: "", group: Group::BottomUp },
    PeerTest { name: "test33", main: "test.spir", exit: 0, stdout: "", group: Group::BottomUp },
    PeerTest { name: "test34", main: "test.spir", exit: 0, stdout: "", group: Group::BottomUp },
    PeerTest { name: "test35", main: "test.spir", exit: 13, stdout: "", group: Group::BottomUp },
    PeerTest { name: "test36", main: "test.spir", exit: 3, stdout: "", group: Group::BottomUp },
    PeerTest { name: "test55", main: "test.spir", exit: 5, stdout: "", group: Group::BottomUp },
    PeerTest { name: "test56", main: "test.spir", exit: 1, stdout: "", group: Group::BottomUp },
    PeerTest { name: "test1", main: "test.spi", exit: 0, stdout: "", group: Group::Portable },
    PeerTest { name: "test2", main: "test.spi", exit: 2, stdout: "", group: Group::Portable },
    PeerTest { name: "test4", main: "test.spi", exit: 3, stdout: "", group: Group::Portable },
    PeerTest { name: "test5", main: "test.spi", exit: 3, stdout: "", group: Group::Portable },
    PeerTest { name: "test6", main: "test.spi", exit: 10, stdout: "", group: Group::Portable },
    PeerTest { name: "test8a", main: "test.spi", exit: 2, stdout: "", group: Group::Portable },
    PeerTest { name: "test9", main: "test.spi", exit: 3, stdout: "", group: Group::Portable },
    PeerTest { name: "test11", main: "test.spi", exit: 0, stdout: "", group: Group::Portable },
    PeerTest { name: "test12", main: "test.spi", exit: 154, stdout: "", group: Group::Portable },
    PeerTest { name: "test13", main: "test.spi", exit: 6, stdout: "", group: Group::Portable },
    PeerTest { name: "test14", main: "test.spi", exit: 0, stdout: "", group: Group::Portable },
    PeerTest { name: "test15", main: "test.spi", exit: 55, stdout: "", group: Group::Portable },
    PeerTest { name: "test17b", main: "test.spi", exit: 123, stdout: "", group: Group::Portable },
    PeerTest { name: "test18", main: "test.spi", exit: 9, stdout: "", group: Group::Portable },
    PeerTest { name: "test19", main: "test.spi", exit: 0, stdout: "", group: Group::Portable },
    PeerTest { name: "test20", main: "test.spi", exit: 0, stdout: "", group: Group::Portable },
    PeerTest { name: "test22", main: "test.spi", exit: 0, stdout: "", group: Group::Portable },
    PeerTest { name: "test23", main: "test.spi", exit: 0, stdout: "", group: Group::Portable },
    PeerTest { name: "test24", main: "test.spi", exit: 0, stdout: "", group: Group::Portable },
    PeerTest { name: "test25", main: "test.spi", exit: 0, stdout: "", group: Group::Portable },
    PeerTest { name: "test26", main: "test.spi", exit: 0, stdout: "", group: Group::Portable },
    PeerTest { name: "test28", main: "test.spi", exit: 0, stdout: "", group: Group::Portable },
    PeerTest { name: "test53", main: "test.spi", exit: 3, stdout: "", group: Group::Portable },
    PeerTest { name: "test54", main: "test.spi", exit: 3, stdout: "", group: Group::Portable },
    PeerTest { name: "test61", main: "test.spi", exit: 6, stdout: "", group: Group::Portable },
    PeerTest { name: "test65", main: "test.spi", exit: 0, stdout: "", group: Group::Portable },
    PeerTest { name: "test70", main: "main.spi", exit: 0, stdout: "", group: Group::Portable },
    PeerTest { name: "test72", main: "main.spi", exit: 0, stdout: "", group: Group::Portable },
    PeerTest { name: "test76", main: "main.spi", exit: 0, stdout: "", group: Group::Portable },
    PeerTest { name: "typelit1", main: "main.spi", exit: 0, stdout: "", group: Group::Portable },
    PeerTest { name: "serialization4", main: "main.spi", exit: 0, stdout: "", group: Group::TopDown },
    PeerTest { name: "test3a", main: "test.spi", exit: 3, stdout: "", group: Group::TopDown },
    PeerTest { name: "test7", main: "test.spi", exit: 4, stdout: "", group: Group::TopDown },
    PeerTest { name: "test17c", main: "test.spi", exit: 0, stdout: "", group: Group::TopDown },
    PeerTest { name: "test21", main: "test.spi", exit: 0, stdout: "", group: Group::TopDown },
    PeerTest { name: "test27", main: "test.spi", exit: 0, stdout: "", group: Group::TopDown },
    PeerTest { name: "test37", main: "test.spi", exit: 3, stdout: "", group: Group::TopDown },
    PeerTest { name: "test38", main: "test.spi", exit: 0, stdout: "", group: Group::TopDown },
    PeerTest { name: "test39", main: "test.spi", exit: 4, stdout: "", group: Group::TopDown },
    PeerTest { name: "test40", main: "test.spi", exit: 1, stdout: "", group: Group::TopDown },
    PeerTest { name: "test41", main: "test.spi", exit: 0, stdout: "At least three elements.\n23\n", group: Group::TopDown },
    PeerTest { name: "test42", main: "test.spi", exit: 0, stdout: "", group: Group::TopDown },
    PeerTest { name: "test43", main: "test.spi", exit: 6, stdout: "", group: Group::TopDown },
    PeerTest { name: "test44", main: "test.spi", exit: 0, stdout: "1 a 1\n1 b 1\n2 a 1\n2 b 1\n3 a 1\n3 b 1\n", group: Group::TopDown },
    PeerTest { name: "test45a", main: "test.spi", exit: 0, stdout: "", group: Group::TopDown },
    PeerTest { name: "test45b", main: "test.spi", exit: 0, stdout: "", group: Group::TopDown },
    PeerTest { name: "test45c", main: "test.spi", exit: 0, stdout: "Initing\nStarting\nPrinting\nDOWN\nDOWN\nRIGHT\nRIGHT\nRIGHT\n", group: Group::TopDown },
    PeerTest { name: "test47", main: "test.spi", exit: 0, stdout: "", group: Group::TopDown },
    PeerTest { name: "test48", main: "test.spi", exit: 0, stdout: "", group: Group::TopDown },
    PeerTest { name: "test49", main: "test.spi", exit: 0, stdout: "", group: Group::TopDown },
    PeerTest { name: "test50", main: "test.spi", exit: 0, stdout: "", group: Group::TopDown },
    PeerTest { name: "test57", main: "test.spi", exit: 0, stdout: "", group: Group::TopDown },
    PeerTest { name: "test59", main: "test.spi", exit: 113, stdout: "", group: Group::TopDown },
    PeerTest { name: "test60", main: "test.spi", exit: 3, stdout: "", group: Group::TopDown },
    PeerTest { name: "test63", main: "test.spi", exit: 21, stdout: "", group: Group::TopDown },
    PeerTest { name: "test66", main: "test.spi", exit: 0, stdout: "", group: Group::TopDown },
    PeerTest { name: "test67", main: "test.spi", exit: 4, stdout: "", group: Group::TopDown },
    PeerTest { name: "test68", main: "test.spi", exit: 0, stdout: "", group: Group::TopDown },
    PeerTest { name: "test69", main: "main.spi", exit: 3, stdout: "", group: Group::TopDown },
    PeerTest { name: "test71", main: "main.spi", exit: 0, stdout: "", group: Group::TopDown },
    PeerTest { name: "test73", main: "main.spi", exit: 0, stdout: "", group: Group::TopDown },
    PeerTest { name: "test74", main: "main.spi", exit: 4, stdout: "", group: Group::TopDown },
    PeerTest { name: "test91", main: "main.spi", exit: 0, stdout: "", group: Group::TopDown },
];

/// Tests whose macros name C++ types: the reference implementation's output for them was C++,
/// and the C++ declarations the macros use came from outside the package. Each entry is the
/// test name and the declarations; the generated C (which is also valid C++) is compiled with
/// `c++ -x c++`, the declarations force-included.
const CXX_TESTS: &[(&str, &str)] = &[("typelit1", "template <int dim, typename el> struct array { el v[dim]; };\n")];

/// C flags of `--sanitize`: warnings are errors, AddressSanitizer and UBSan (leak checking on).
const SANITIZE_CFLAGS: &str =
    "-std=c11 -O1 -g -Wall -Werror -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all";

/// Builds `spiral` and returns the path of the binary.
fn build_spiral(root: &Path) -> Option<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let ok = Command::new(cargo)
        .current_dir(root)
        .args(["build", "-q", "-p", "spiral-cli"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        eprintln!("xtask: building spiral-cli failed");
        return None;
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
    let target = if target.is_absolute() { target } else { root.join(target) };
    let exe = target.join("debug").join(format!("spiral{}", std::env::consts::EXE_SUFFIX));
    if exe.is_file() {
        Some(exe)
    } else {
        eprintln!("xtask: `{}` not found after the build", exe.display());
        None
    }
}

/// Runs one test; `Ok(())` or the reason it failed.
fn run_one(spiral: &Path, dir: &Path, t: &PeerTest, sanitize: bool) -> Result<(), String> {
    let file = dir.join("compilation_tests").join(t.name).join(t.main);
    if !file.is_file() {
        return Err(format!("missing `{}`", file.display()));
    }
    let mut cmd = Command::new(spiral);
    if let Some((_, decls)) = CXX_TESTS.iter().find(|(n, _)| *n == t.name) {
        let dir = std::env::temp_dir().join(format!("xtask-peer-{}", std::process::id()));
        let header = dir.join(format!("{}.hpp", t.name));
        std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(&header, decls))
            .map_err(|e| format!("cannot write `{}`: {e}", header.display()))?;
        let base = if sanitize {
            "-x c++ -std=c++17 -O1 -g -Wall -Werror -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
        } else {
            "-x c++ -std=c++17 -O2 -Wall"
        };
        cmd.env("SPIRAL_CC", "c++").env("SPIRAL_CFLAGS", format!("{base} -include {}", header.display()));
        if sanitize {
            cmd.env("SPIRAL_LDFLAGS", "-fsanitize=address,undefined")
                .env("ASAN_OPTIONS", "detect_leaks=1")
                .env("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1");
        }
    } else if sanitize {
        cmd.env("SPIRAL_CFLAGS", SANITIZE_CFLAGS)
            .env("SPIRAL_LDFLAGS", "-fsanitize=address,undefined")
            .env("ASAN_OPTIONS", "detect_leaks=1")
            .env("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1");
    }
    let mut child = cmd
        .arg("run")
        .arg(&file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start spiral: {e}"))?;
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let to = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut so, &mut v);
        v
    });
    let te = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut se, &mut v);
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().map_err(|e| e.to_string())? {
            break s;
        }
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            return Err("timed out after 120 s".into());
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stdout = String::from_utf8_lossy(&to.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&te.join().unwrap_or_default()).into_owned();
    let code = status.code().unwrap_or(-1);
    let mut why = Vec::new();
    if ["AddressSanitizer", "LeakSanitizer", ": runtime error:"].iter().any(|m| stderr.contains(m)) {
        why.push("sanitizer report".to_string());
    }
    if code != (t.exit & 0xff) {
        why.push(format!("exit code {code}, expected {}", t.exit & 0xff));
    }
    if stdout != t.stdout {
        why.push(format!("stdout {:?}, expected {:?}", stdout, t.stdout));
    }
    if why.is_empty() {
        Ok(())
    } else {
        let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_string();
        Err(format!("{}{}", why.join("; "), if first.is_empty() { String::new() } else { format!(" | {first}") }))
    }
}

/// Runs the table against the suites under `dir`; prints one line per test and the totals.
/// Succeeds when every bottom-up test passes.
/// With `sanitize`, the generated C is compiled with [`SANITIZE_CFLAGS`] and any sanitizer report
/// fails the test.
pub fn run(root: &Path, dir: &Path, verbose: bool, sanitize: bool) -> bool {
    if !dir.join("compilation_tests").is_dir() {
        eprintln!("xtask: `{}` has no compilation_tests/ folder", dir.display());
        return false;
    }
    let Some(spiral) = build_spiral(root) else { return false };
    let mut totals = [(0usize, 0usize); 3];
    for t in TESTS {
        let gi = t.group.index();
        match run_one(&spiral, dir, t, sanitize) {
            Ok(()) => {
                totals[gi].0 += 1;
                println!("PASS {:<14} {}", t.name, t.group.label());
            }
            Err(why) => {
                totals[gi].1 += 1;
                let why = if verbose { why } else { why.chars().take(200).collect() };
                println!("FAIL {:<14} {} {why}", t.name, t.group.label());
            }
        }
    }
    for g in [Group::BottomUp, Group::Portable, Group::TopDown] {
        let (p, f) = totals[g.index()];
        println!("{}: {p} passed, {f} failed", g.label());
    }
    let passed: usize = totals.iter().map(|t| t.0).sum();
    let failed: usize = totals.iter().map(|t| t.1).sum();
    println!("{passed} passed, {failed} failed");
    totals[0].1 == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_the_twelve_bottom_up_tests() {
        assert_eq!(TESTS.iter().filter(|t| t.group == Group::BottomUp).count(), 12);
        assert_eq!(TESTS.len(), 75);
        let mut names: Vec<_> = TESTS.iter().map(|t| t.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), TESTS.len(), "no duplicates");
    }
}
