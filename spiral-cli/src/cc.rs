//! The system C toolchain: finding the compiler, compiling generated C, running the result.
//!
//! The compiler is `cc` unless `SPIRAL_CC` names another; the flags are `-std=c11 -O2 -Wall`
//! unless `SPIRAL_CFLAGS` replaces them (split on whitespace). `SPIRAL_LDFLAGS` adds flags
//! after the sources (for example `-fsanitize=address`).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

/// The default C flags used when `SPIRAL_CFLAGS` is not set.
pub const DEFAULT_CFLAGS: &str = "-std=c11 -O2 -Wall";

/// The C compiler command and its flags, as configured by the environment.
#[derive(Clone, Debug)]
pub struct CToolchain {
    /// The compiler program (`cc` by default).
    pub cc: String,
    /// Flags placed before the source file.
    pub cflags: Vec<String>,
    /// Flags placed after the source file (libraries).
    pub ldflags: Vec<String>,
}

impl CToolchain {
    /// Reads `SPIRAL_CC`, `SPIRAL_CFLAGS` and `SPIRAL_LDFLAGS`.
    pub fn from_env() -> CToolchain {
        let cc = std::env::var("SPIRAL_CC").ok().filter(|s| !s.trim().is_empty()).unwrap_or_else(|| "cc".to_string());
        let cflags = std::env::var("SPIRAL_CFLAGS").unwrap_or_else(|_| DEFAULT_CFLAGS.to_string());
        let mut ldflags: Vec<String> = std::env::var("SPIRAL_LDFLAGS")
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect();
        ldflags.push("-lm".to_string());
        CToolchain { cc, cflags: cflags.split_whitespace().map(str::to_string).collect(), ldflags }
    }

    /// Compiles `c_file` into the executable `exe`. On failure returns a message that
    /// includes the compiler's output.
    pub fn compile(&self, c_file: &Path, exe: &Path) -> Result<(), String> {
        let mut cmd = Command::new(&self.cc);
        cmd.args(&self.cflags).arg(c_file).arg("-o").arg(exe).args(&self.ldflags);
        cmd.stdin(Stdio::null());
        let out = match cmd.output() {
            Ok(o) => o,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(format!(
                    "no C compiler found: `{}` is not on PATH; install gcc or clang, or set SPIRAL_CC to a C compiler",
                    self.cc
                ))
            }
            Err(e) => return Err(format!("could not start the C compiler `{}`: {e}", self.cc)),
        };
        if !out.status.success() {
            return Err(format!(
                "the C compiler `{}` rejected the generated C ({}):\n{}{}",
                self.cc,
                describe_status(out.status),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        // Warnings are not errors, but the user should see them.
        if !out.stderr.is_empty() {
            eprint!("{}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(())
    }
}

/// A scratch directory removed when dropped.
pub struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    /// Creates a fresh directory under the system temporary directory.
    pub fn new(tag: &str) -> std::io::Result<ScratchDir> {
        use std::sync::atomic::{AtomicU32, Ordering};
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!("spiral-{tag}-{}-{n}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path)?;
        Ok(ScratchDir { path })
    }
    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Maps a child's exit status to the code `spiral run` exits with: the program's own code,
/// or 128 + signal number when it was killed by a signal (as shells do).
pub fn exit_code_of(status: ExitStatus) -> i32 {
    if let Some(c) = status.code() {
        return c;
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return 128 + sig;
        }
    }
    1
}

fn describe_status(status: ExitStatus) -> String {
    match status.code() {
        Some(c) => format!("exit code {c}"),
        None => "killed by a signal".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiles_and_runs_a_c_program() {
        let tc = CToolchain::from_env();
        let dir = ScratchDir::new("cc-test").unwrap();
        let c = dir.path().join("t.c");
        std::fs::write(&c, "#include <stdio.h>\nint main(void){ puts(\"hi\"); return 7; }\n").unwrap();
        let exe = dir.path().join("t");
        tc.compile(&c, &exe).unwrap();
        let out = Command::new(&exe).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "hi\n");
        assert_eq!(exit_code_of(out.status), 7);
    }

    #[test]
    fn missing_compiler_is_a_clear_error() {
        let tc = CToolchain { cc: "definitely-not-a-c-compiler-xyz".into(), cflags: vec![], ldflags: vec![] };
        let dir = ScratchDir::new("cc-test").unwrap();
        let c = dir.path().join("t.c");
        std::fs::write(&c, "int main(void){return 0;}\n").unwrap();
        let err = tc.compile(&c, &dir.path().join("t")).unwrap_err();
        assert!(err.contains("no C compiler found"), "{err}");
    }

    #[test]
    fn bad_c_reports_compiler_output() {
        let tc = CToolchain::from_env();
        let dir = ScratchDir::new("cc-test").unwrap();
        let c = dir.path().join("t.c");
        std::fs::write(&c, "int main(void){ return nope; }\n").unwrap();
        let err = tc.compile(&c, &dir.path().join("t")).unwrap_err();
        assert!(err.contains("nope"), "{err}");
    }
}
