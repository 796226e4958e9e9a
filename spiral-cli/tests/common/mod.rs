//! Shared helpers for the corpus harnesses: corpus discovery, header parsing, running `spiral`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The repository root (the parent of `spiral-cli`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// All `*.spir` files of a corpus directory, sorted by name.
pub fn corpus(dir: &str) -> Vec<PathBuf> {
    let d = repo_root().join(dir);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&d)
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|e| e == "spir" || e == "spi"));
    v.sort();
    v
}

/// The directives of a corpus file's header: `(key, value)` in order.
pub fn header(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("//") else { break };
        let rest = rest.strip_prefix(' ').unwrap_or(rest);
        if let Some(i) = rest.find(':') {
            let key = &rest[..i];
            if !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '-') {
                let v = &rest[i + 1..];
                let v = v.strip_prefix(' ').unwrap_or(v).trim_end();
                out.push((key.to_string(), v.to_string()));
            }
        }
    }
    out
}

/// Values of one key, in order.
pub fn values<'a>(h: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    h.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str()).collect()
}

/// The result of one `spiral` invocation.
pub struct RunOutcome {
    /// Exit code (`None` when killed by a signal or timed out).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// Whether it was killed for exceeding the time limit.
    pub timed_out: bool,
}

/// Runs the `spiral` binary with `args` and extra environment, killing it after `limit`.
pub fn spiral(args: &[&str], env: &[(&str, &str)], limit: Duration) -> RunOutcome {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_spiral"));
    cmd.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn spiral");
    // Drain the pipes on threads so a chatty child cannot block.
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let to = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = std::io::Read::read_to_end(&mut so, &mut s);
        s
    });
    let te = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = std::io::Read::read_to_end(&mut se, &mut s);
        s
    });
    let start = Instant::now();
    let mut timed_out = false;
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break Some(st);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            timed_out = true;
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let out = Output {
        status: status.unwrap_or_default(),
        stdout: to.join().unwrap_or_default(),
        stderr: te.join().unwrap_or_default(),
    };
    RunOutcome {
        code: if timed_out { None } else { out.status.code() },
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        timed_out,
    }
}

/// Ids listed in a known-failures file (`id  reason` per line, `#` comments).
pub fn known_failures(file: &str) -> Vec<String> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join(file);
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect()
}

/// The file stem used as a test id.
pub fn id_of(p: &Path) -> String {
    p.file_stem().unwrap().to_string_lossy().into_owned()
}

/// Runs `f` over `items` on a few threads, keeping the input order in the output.
pub fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let n = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).clamp(1, 4);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<std::sync::Mutex<Option<R>>> = items.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..n {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= items.len() {
                    break;
                }
                let r = f(&items[i]);
                *results[i].lock().unwrap() = Some(r);
            });
        }
    });
    results.into_iter().map(|m| m.into_inner().unwrap().unwrap()).collect()
}

/// Whether text shows a Rust panic.
pub fn panicked(stderr: &str) -> bool {
    stderr.contains("panicked at") || stderr.contains("RUST_BACKTRACE")
}
