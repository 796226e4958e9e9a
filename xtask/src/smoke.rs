//! A stable, dependency-free smoke fuzzer for the tokenizer and the parsers.
//!
//! Inputs are the Spiral files committed to the repository (parser test inputs, the bundled
//! packages, the fuzz seeds, the examples). Each case applies one to four deterministic
//! pseudo-random mutations (byte flips, truncation, splices from another input, deletions,
//! duplications, inserted tokens, re-indentation) to one input and feeds the result to the
//! tokenizer, the parser in both segments and the `package.spiproj` parser, on a worker thread
//! with a time limit. A panic or a timeout fails the run; the input is saved under
//! `target/smoke-fuzz/`.

use spiral_compiler::diagnostics::FileId;
use spiral_compiler::project::spiproj::parse_spiproj;
use spiral_compiler::syntax::{self, Segment};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Cases run by `cargo xtask test`.
pub const DEFAULT_CASES: u64 = 3000;

/// Options of `cargo xtask smoke-fuzz`.
#[derive(clap::Args, Clone, Debug)]
pub struct Options {
    /// Number of mutated inputs.
    #[arg(long, default_value_t = DEFAULT_CASES)]
    pub cases: u64,
    /// Seed of the pseudo-random generator (same seed, same inputs).
    #[arg(long, default_value_t = 0x5EED)]
    pub seed: u64,
    /// Time limit per input, in milliseconds, before it counts as a hang.
    #[arg(long, default_value_t = 5000)]
    pub timeout_ms: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options { cases: DEFAULT_CASES, seed: 0x5EED, timeout_ms: 5000 }
    }
}

/// SplitMix64: small, fast, deterministic.
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// A number in `0..n` (`0` when `n == 0`).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Fragments that tend to reach deep parser states.
const TOKENS: &[&str] = &[
    "(", ")", "[", "]", "{", "}", "\"", "'", "`", "$\"", "!", "!!!!", "=>", "->", "|", "::", ",", ";", ".", "..", "\n", "\n    ",
    "\n        ", "inl ", "let ", "fun ", "match ", "with ", "function ", "if ", "then ", "else ", "elif ", "union ", "nominal ",
    "type ", "forall ", "open ", "real ", "typecase ", "when ", "as ", "and ", "join ", "~", "1i32", "2.5f64", "0x1F", "x", "_",
    "(* ", " *)", "// ", "=", "$\"!x\"", "\\", "\u{3bb}", "\r\n", "\t", "modules:\n    a/\n", "packages: |core-\n", "*-",
];

/// Repository files used as fuzz inputs, sorted.
pub fn committed_inputs(root: &Path) -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                if !p.ends_with("target") {
                    walk(&p, out);
                }
            } else if matches!(p.extension().and_then(|e| e.to_str()), Some("spi" | "spir" | "spiproj")) {
                out.push(p);
            }
        }
    }
    let mut paths = Vec::new();
    for d in ["spiral-compiler/tests", "spiral-compiler/src/lib", "fuzz/seeds", "examples", "tests"] {
        walk(&root.join(d), &mut paths);
    }
    paths.sort();
    paths.into_iter().filter_map(|p| std::fs::read_to_string(&p).ok().map(|t| (p, t))).collect()
}

fn char_floor(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Applies one random mutation to `s`; `other` is a second input to splice from.
pub fn mutate(rng: &mut Rng, s: &str, other: &str) -> String {
    let at = char_floor(s, rng.below(s.len() + 1));
    match rng.below(8) {
        0 => {
            // Flip one byte; invalid UTF-8 is replaced, as a file read lossily would be.
            let mut b = s.as_bytes().to_vec();
            if !b.is_empty() {
                let i = rng.below(b.len());
                b[i] ^= 1 << rng.below(8);
            }
            String::from_utf8_lossy(&b).into_owned()
        }
        1 => s[..at].to_string(),
        2 => {
            let a = char_floor(other, rng.below(other.len() + 1));
            let b = char_floor(other, a + rng.below(200));
            format!("{}{}{}", &s[..at], &other[a..b], &s[at..])
        }
        3 => {
            let end = char_floor(s, at + rng.below(64));
            format!("{}{}", &s[..at], &s[end..])
        }
        4 => {
            let end = char_floor(s, at + rng.below(64));
            format!("{}{}{}", &s[..end], &s[at..end], &s[at..])
        }
        5 => format!("{}{}{}", &s[..at], TOKENS[rng.below(TOKENS.len())], &s[at..]),
        6 => {
            // Re-indent one line by a few spaces either way.
            let line = s[..at].rfind('\n').map(|i| i + 1).unwrap_or(0);
            if rng.below(2) == 0 {
                format!("{}{}{}", &s[..line], " ".repeat(1 + rng.below(5)), &s[line..])
            } else {
                let spaces = s[line..].bytes().take_while(|&b| b == b' ').count().min(1 + rng.below(4));
                format!("{}{}", &s[..line], &s[line + spaces..])
            }
        }
        _ => {
            // Nest deeply: a stress test for recursion limits.
            let open = ["(", "[", "{", "fun x => ", "match x with | "][rng.below(5)];
            format!("{}{}{}", &s[..at], open.repeat(1 + rng.below(300)), &s[at..])
        }
    }
}

static PANIC_MESSAGE: Mutex<Option<String>> = Mutex::new(None);

/// Feeds one input to every front-end entry point.
pub fn exercise(text: &str) {
    let f = FileId(0);
    let _ = syntax::token::tokenize(f, text);
    let _ = syntax::parse_module(f, text, Segment::TopDown);
    let _ = syntax::parse_module(f, text, Segment::BottomUp);
    let _ = parse_spiproj(f, text);
}

enum Verdict {
    Ok,
    Panic(String),
    Hang,
}

fn run_one(text: String, timeout: Duration) -> Verdict {
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new().stack_size(64 << 20).spawn(move || {
        let r = std::panic::catch_unwind(|| exercise(&text));
        let _ = tx.send(r.is_ok());
    });
    if spawned.is_err() {
        return Verdict::Panic("cannot spawn a worker thread".into());
    }
    match rx.recv_timeout(timeout) {
        Ok(true) => Verdict::Ok,
        Ok(false) | Err(mpsc::RecvTimeoutError::Disconnected) => {
            Verdict::Panic(PANIC_MESSAGE.lock().map(|m| m.clone()).ok().flatten().unwrap_or_else(|| "panic".into()))
        }
        Err(mpsc::RecvTimeoutError::Timeout) => Verdict::Hang,
    }
}

/// Runs the smoke fuzzer; returns whether no input crashed or hung.
pub fn run(o: &Options) -> bool {
    let root = crate::workspace_root();
    let inputs = committed_inputs(&root);
    if inputs.is_empty() {
        eprintln!("smoke fuzz: no committed inputs found under {}", root.display());
        return false;
    }
    std::panic::set_hook(Box::new(|info| {
        if let Ok(mut m) = PANIC_MESSAGE.lock() {
            *m = Some(info.to_string());
        }
    }));
    let out_dir = root.join("target/smoke-fuzz");
    let start = Instant::now();
    let mut rng = Rng::new(o.seed);
    let (mut crashes, mut bytes) = (0u64, 0usize);
    // Every committed input once, unmutated, then the mutations.
    let originals = inputs.iter().map(|(_, t)| t.clone());
    let mutated = (0..o.cases).map(|_| {
        let (_, base) = &inputs[rng.below(inputs.len())];
        let (_, other) = &inputs[rng.below(inputs.len())];
        let mut s = base.clone();
        for _ in 0..1 + rng.below(4) {
            s = mutate(&mut rng, &s, other);
        }
        s
    });
    let all: Vec<String> = originals.chain(mutated).collect();
    for (i, text) in all.into_iter().enumerate() {
        bytes += text.len();
        let saved = text.clone();
        match run_one(text, Duration::from_millis(o.timeout_ms)) {
            Verdict::Ok => {}
            verdict => {
                crashes += 1;
                let _ = std::fs::create_dir_all(&out_dir);
                let path = out_dir.join(format!("case-{i}.txt"));
                let _ = std::fs::write(&path, &saved);
                match verdict {
                    Verdict::Panic(msg) => println!("CRASH case {i} (saved to {}): {msg}", path.display()),
                    _ => {
                        println!("HANG case {i}: no result within {} ms (saved to {})", o.timeout_ms, path.display());
                        // The stuck worker cannot be stopped; report and stop here.
                        println!("smoke fuzz: stopped after a hang");
                        return false;
                    }
                }
            }
        }
    }
    let _ = std::panic::take_hook();
    println!(
        "smoke fuzz: {} inputs ({} committed files + {} mutations, seed {:#x}, {} KiB), {crashes} crashes, 0 hangs in {:.1} s",
        inputs.len() as u64 + o.cases,
        inputs.len(),
        o.cases,
        o.seed,
        bytes / 1024,
        start.elapsed().as_secs_f64()
    );
    crashes == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_deterministic() {
        let a: Vec<u64> = {
            let mut r = Rng::new(7);
            (0..4).map(|_| r.next()).collect()
        };
        let mut r = Rng::new(7);
        assert_eq!(a, (0..4).map(|_| r.next()).collect::<Vec<_>>());
        assert_ne!(a[0], a[1]);
    }

    #[test]
    fn mutations_keep_valid_utf8_and_are_reproducible() {
        let src = "inl main () =\n    let λ = 1\n    λ + 2\n";
        let run = || {
            let mut r = Rng::new(1);
            (0..500).map(|_| mutate(&mut r, src, "match x with | _ => ()")).collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        assert!(a.iter().any(|m| m != src));
    }
}
