//! `cargo xtask fuzz [--target parse|eval|infer] --seconds N`: libFuzzer over the tokenizer and
//! parsers (`parse`), over the whole pipeline, evaluator and C backend included (`eval`), or
//! over top-down parsing and type inference (`infer`).
//!
//! cargo-fuzz needs nightly features (`-Zsanitizer`); on stable they are enabled with
//! `RUSTC_BOOTSTRAP=1`. `cargo install cargo-fuzz` runs first when it is missing. New corpus
//! entries go to `target/fuzz-corpus/<target>` (the committed seeds in `fuzz/seeds` are only
//! read); crash inputs go to `target/fuzz-artifacts/<target>/`.

use std::process::Command;

/// Options of `cargo xtask fuzz`.
#[derive(clap::Args, Clone, Debug)]
pub struct Options {
    /// How long to fuzz.
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// Which target of `fuzz/fuzz_targets/`: `parse` (tokenizer, parsers), `eval` (the
    /// whole pipeline: loading, prepass, partial evaluator, C backend) or `infer` (top-down
    /// parsing and type inference).
    #[arg(long, default_value = "parse", value_parser = ["parse", "eval", "infer"])]
    pub target: String,
    /// Parallel fuzzing jobs.
    #[arg(long, default_value_t = 1)]
    pub jobs: u32,
    /// Build without AddressSanitizer (faster; Rust code is memory safe anyway).
    #[arg(long)]
    pub no_sanitizer: bool,
}

fn have_cargo_fuzz() -> bool {
    Command::new("cargo").args(["fuzz", "--version"]).output().is_ok_and(|o| o.status.success())
}

/// Builds and runs the chosen fuzz target; returns whether no crash was found.
pub fn run(o: &Options) -> bool {
    if !have_cargo_fuzz() && !crate::run(crate::cargo().args(["install", "cargo-fuzz", "--locked"])) {
        return false;
    }
    let root = crate::workspace_root();
    let corpus = root.join("target/fuzz-corpus").join(&o.target);
    let artifacts = root.join("target/fuzz-artifacts").join(&o.target);
    for d in [&corpus, &artifacts] {
        if let Err(e) = std::fs::create_dir_all(d) {
            eprintln!("cannot create {}: {e}", d.display());
            return false;
        }
    }
    let mut cmd = crate::cargo();
    cmd.current_dir(root.join("fuzz")).env("RUSTC_BOOTSTRAP", "1").args(["fuzz", "run", &o.target]);
    if o.no_sanitizer {
        cmd.args(["--sanitizer", "none"]);
    }
    cmd.arg(&corpus).arg(root.join("fuzz/seeds"));
    if o.target == "eval" {
        // Whole programs that compile make the best starting points for the evaluator.
        cmd.arg(root.join("tests/conformance"));
        // Kernel programs (inv/kernel library) and the C backend's runtime programs.
        cmd.arg(root.join("tests/kernels")).arg(root.join("spiral-cli/tests/c_programs")).arg(root.join("examples/build-demo/spiral"));
    }
    if o.target == "infer" {
        // Well- and ill-typed top-down programs, and ones that run (type passing, prototypes).
        cmd.arg(root.join("spiral-compiler/tests/infer_errors")).arg(root.join("spiral-compiler/tests/inputs")).arg(root.join("tests/conformance_top_down"));
    }
    cmd.arg("--").arg(format!("-max_total_time={}", o.seconds));
    cmd.arg(format!("-artifact_prefix={}/", artifacts.display())).arg("-timeout=10").arg("-print_final_stats=1");
    if o.jobs > 1 {
        cmd.arg(format!("-fork={}", o.jobs));
    }
    crate::run(&mut cmd)
}
