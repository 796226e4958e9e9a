//! A builder for `build.rs` that compiles a crate's Spiral packages.
//!
//! ```no_run
//! // build.rs
//! fn main() {
//!     let report = spiral_build::Builder::from_env()
//!         .source_dir("spiral")          // relative to CARGO_MANIFEST_DIR
//!         .build()
//!         .unwrap_or_else(|e| panic!("{e}"));
//!     eprintln!("{report}");
//! }
//! // src/lib.rs:  include!(concat!(env!("OUT_DIR"), "/spiral/<unit>.rs"));
//! ```
//!
//! For every compilation unit (a folder with a `package.spiproj`, or a lone `.spi`/`.spir` file
//! under the source folder) the builder:
//! 1. hashes the unit's sources (and the compiler version);
//! 2. if the hash matches the one stored in `OUT_DIR/spiral/<unit>.hash` and the outputs exist,
//!    does nothing more (the unit is *cached*);
//! 3. otherwise runs the [`Pipeline`] (by default the Spiral compiler), writes the kernel C
//!    source to `OUT_DIR/spiral/<unit>.c` and the typed Rust wrappers to
//!    `OUT_DIR/spiral/<unit>.rs`, and compiles the C with `cc` into a static library;
//! 4. in both cases prints `cargo:rerun-if-changed` for every source and the link directives.
//!
//! [`BuildReport`] says which units were compiled and which were cached, so a test can assert
//! that a second build with no source change recompiles no kernel.

use std::fmt;
use std::path::{Path, PathBuf};

/// One compilation unit: a package folder or a lone Spiral file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unit {
    /// A Rust-identifier-safe name (the folder or file stem).
    pub name: String,
    /// The package folder, or the lone file.
    pub root: PathBuf,
    /// Every source file of the unit (`package.spiproj`, `.spi`, `.spir`), sorted.
    pub sources: Vec<PathBuf>,
}

/// What a [`Pipeline`] produces for one unit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Generated {
    /// The kernels as one C translation unit (empty when the unit has no kernels).
    pub c_source: String,
    /// The typed Rust wrappers, for `include!`.
    pub rust_wrappers: String,
}

/// Turns a unit into kernel C source and Rust wrappers. The default is [`SpiralPipeline`]; tests
/// and tools may substitute their own.
pub trait Pipeline {
    /// Compiles `unit`; on failure returns the rendered diagnostics.
    fn compile(&self, unit: &Unit) -> Result<Generated, String>;
}

/// The Spiral compiler as a [`Pipeline`].
#[derive(Clone, Copy, Debug, Default)]
pub struct SpiralPipeline;

impl Pipeline for SpiralPipeline {
    fn compile(&self, unit: &Unit) -> Result<Generated, String> {
        use spiral_compiler::diagnostics::{render, SourceMap};
        let mut sm = SourceMap::new();
        let loaded = if unit.root.is_dir() {
            spiral_compiler::project::load_package_dir(&unit.root, &mut sm)
        } else {
            spiral_compiler::project::load_single_file(&unit.root, &mut sm)
        };
        match loaded {
            Err(d) => Err(render(&sm, &d)),
            Ok(_graph) => Err(format!(
                "{}: the partial evaluator is not connected to spiral-build yet; the sources parse",
                unit.root.display()
            )),
        }
    }
}

/// Why a build failed.
#[derive(Debug)]
pub enum BuildError {
    /// A required environment variable (set by cargo for build scripts) is missing.
    MissingEnv(&'static str),
    /// Reading sources or writing outputs failed.
    Io(PathBuf, std::io::Error),
    /// Spiral reported errors for a unit (rendered with file, line, column and snippet).
    Spiral {
        /// The unit.
        unit: String,
        /// The rendered diagnostics.
        rendered: String,
    },
    /// The C compiler failed on the generated kernels.
    Cc(String),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::MissingEnv(v) => write!(f, "spiral-build: environment variable {v} is not set (run from build.rs)"),
            BuildError::Io(p, e) => write!(f, "spiral-build: {}: {e}", p.display()),
            BuildError::Spiral { unit, rendered } => write!(f, "spiral-build: Spiral errors in `{unit}`:\n{rendered}"),
            BuildError::Cc(m) => write!(f, "spiral-build: compiling the generated C failed: {m}"),
        }
    }
}

impl std::error::Error for BuildError {}

/// What a build did, per unit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BuildReport {
    /// Units whose kernels and wrappers were (re)generated and compiled.
    pub compiled: Vec<String>,
    /// Units whose inputs had not changed: nothing was regenerated or recompiled.
    pub cached: Vec<String>,
    /// Every path announced with `cargo:rerun-if-changed`.
    pub rerun_if_changed: Vec<PathBuf>,
    /// The generated files (`.c`, `.rs`) per unit, compiled or cached.
    pub outputs: Vec<PathBuf>,
}

impl fmt::Display for BuildReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "spiral-build: {} unit(s) compiled {:?}, {} cached {:?}", self.compiled.len(), self.compiled, self.cached.len(), self.cached)
    }
}

/// The build.rs builder. See the crate documentation.
pub struct Builder {
    manifest_dir: PathBuf,
    out_dir: PathBuf,
    source_dirs: Vec<PathBuf>,
    pipeline: Box<dyn Pipeline>,
    cargo_output: bool,
    cc_settings: Option<CcSettings>,
}

/// Explicit C compiler settings, for running outside a build script (tests).
#[derive(Clone, Debug)]
pub struct CcSettings {
    /// Target triple.
    pub target: String,
    /// Host triple.
    pub host: String,
    /// Optimisation level (0..3).
    pub opt_level: u32,
}

impl Builder {
    /// A builder for the current build script: `CARGO_MANIFEST_DIR` and `OUT_DIR` from cargo.
    pub fn from_env() -> Builder {
        let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from).unwrap_or_default();
        let out_dir = std::env::var_os("OUT_DIR").map(PathBuf::from).unwrap_or_default();
        Builder::new(manifest_dir, out_dir)
    }

    /// A builder with explicit folders (no environment needed).
    pub fn new(manifest_dir: impl Into<PathBuf>, out_dir: impl Into<PathBuf>) -> Builder {
        Builder {
            manifest_dir: manifest_dir.into(),
            out_dir: out_dir.into(),
            source_dirs: Vec::new(),
            pipeline: Box::new(SpiralPipeline),
            cargo_output: true,
            cc_settings: None,
        }
    }

    /// Adds a folder (relative to the manifest folder) whose Spiral units are compiled.
    /// Defaults to `spiral` when none is given.
    pub fn source_dir(mut self, dir: impl AsRef<Path>) -> Builder {
        self.source_dirs.push(dir.as_ref().to_path_buf());
        self
    }

    /// Replaces the compiler pipeline.
    pub fn pipeline(mut self, p: impl Pipeline + 'static) -> Builder {
        self.pipeline = Box::new(p);
        self
    }

    /// Whether to print `cargo:` directives (on by default; off for tests).
    pub fn cargo_output(mut self, on: bool) -> Builder {
        self.cargo_output = on;
        self
    }

    /// Explicit C compiler settings (otherwise `cc` reads cargo's environment).
    pub fn cc_settings(mut self, s: CcSettings) -> Builder {
        self.cc_settings = Some(s);
        self
    }

    /// Finds the units under the source folders, in a stable order.
    pub fn discover(&self) -> Result<Vec<Unit>, BuildError> {
        let dirs = if self.source_dirs.is_empty() { vec![PathBuf::from("spiral")] } else { self.source_dirs.clone() };
        let mut units = Vec::new();
        for d in dirs {
            let dir = self.manifest_dir.join(d);
            if dir.is_dir() {
                discover_in(&dir, &mut units)?;
            }
        }
        units.sort_by(|a, b| a.root.cmp(&b.root));
        Ok(units)
    }

    /// Compiles every unit whose inputs changed, and reports what it did.
    pub fn build(self) -> Result<BuildReport, BuildError> {
        let out = self.out_dir.join("spiral");
        if self.out_dir.as_os_str().is_empty() {
            return Err(BuildError::MissingEnv("OUT_DIR"));
        }
        std::fs::create_dir_all(&out).map_err(|e| BuildError::Io(out.clone(), e))?;
        let mut report = BuildReport::default();
        let dirs = if self.source_dirs.is_empty() { vec![PathBuf::from("spiral")] } else { self.source_dirs.clone() };
        for d in &dirs {
            let p = self.manifest_dir.join(d);
            self.announce(&p, &mut report);
        }
        for unit in self.discover()? {
            for s in &unit.sources {
                self.announce(s, &mut report);
            }
            let hash = hash_unit(&unit)?;
            let hash_file = out.join(format!("{}.hash", unit.name));
            let c_file = out.join(format!("{}.c", unit.name));
            let rs_file = out.join(format!("{}.rs", unit.name));
            let lib_name = format!("spiral_{}", unit.name);
            let fresh = std::fs::read_to_string(&hash_file).map(|h| h.trim() == hash).unwrap_or(false)
                && rs_file.exists()
                && c_file.exists();
            let has_kernels = if fresh {
                report.cached.push(unit.name.clone());
                std::fs::metadata(&c_file).map(|m| m.len() > 0).unwrap_or(false)
            } else {
                let generated = self
                    .pipeline
                    .compile(&unit)
                    .map_err(|rendered| BuildError::Spiral { unit: unit.name.clone(), rendered })?;
                write(&c_file, &generated.c_source)?;
                write(&rs_file, &generated.rust_wrappers)?;
                let has = !generated.c_source.is_empty();
                if has {
                    self.compile_c(&c_file, &lib_name)?;
                }
                write(&hash_file, &hash)?;
                report.compiled.push(unit.name.clone());
                has
            };
            if has_kernels && self.cargo_output {
                println!("cargo:rustc-link-search=native={}", self.out_dir.display());
                println!("cargo:rustc-link-lib=static={lib_name}");
            }
            report.outputs.push(c_file);
            report.outputs.push(rs_file);
        }
        Ok(report)
    }

    fn announce(&self, p: &Path, report: &mut BuildReport) {
        if self.cargo_output {
            println!("cargo:rerun-if-changed={}", p.display());
        }
        report.rerun_if_changed.push(p.to_path_buf());
    }

    fn compile_c(&self, c_file: &Path, lib_name: &str) -> Result<(), BuildError> {
        let mut b = cc::Build::new();
        b.file(c_file).out_dir(&self.out_dir).cargo_metadata(false).warnings(false).flag_if_supported("-std=c11");
        if let Some(s) = &self.cc_settings {
            b.target(&s.target).host(&s.host).opt_level(s.opt_level);
        }
        b.try_compile(lib_name).map_err(|e| BuildError::Cc(e.to_string()))
    }
}

fn write(p: &Path, text: &str) -> Result<(), BuildError> {
    std::fs::write(p, text).map_err(|e| BuildError::Io(p.to_path_buf(), e))
}

fn is_spiral(p: &Path) -> bool {
    matches!(p.extension().and_then(|e| e.to_str()), Some("spi") | Some("spir"))
}

fn ident_of(p: &Path) -> String {
    let stem = p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let mut s: String = stem.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    s
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, BuildError> {
    let rd = std::fs::read_dir(dir).map_err(|e| BuildError::Io(dir.to_path_buf(), e))?;
    let mut v: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    v.sort();
    Ok(v)
}

/// A folder with a `package.spiproj` is one unit (all Spiral files below it); otherwise each
/// Spiral file is a unit and sub-folders are searched.
fn discover_in(dir: &Path, units: &mut Vec<Unit>) -> Result<(), BuildError> {
    if dir.join("package.spiproj").is_file() {
        let mut sources = Vec::new();
        collect_sources(dir, &mut sources)?;
        sources.sort();
        units.push(Unit { name: ident_of(dir), root: dir.to_path_buf(), sources });
        return Ok(());
    }
    for p in sorted_entries(dir)? {
        if p.is_dir() {
            discover_in(&p, units)?;
        } else if is_spiral(&p) {
            units.push(Unit { name: ident_of(&p), root: p.clone(), sources: vec![p] });
        }
    }
    Ok(())
}

fn collect_sources(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), BuildError> {
    for p in sorted_entries(dir)? {
        if p.is_dir() {
            collect_sources(&p, out)?;
        } else if is_spiral(&p) || p.file_name().map(|n| n == "package.spiproj").unwrap_or(false) {
            out.push(p);
        }
    }
    Ok(())
}

/// FNV-1a over the compiler version, then each source's path (relative to the unit) and bytes.
fn hash_unit(unit: &Unit) -> Result<String, BuildError> {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            h ^= *b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        // separator so that ("ab","c") and ("a","bc") differ
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    };
    feed(env!("CARGO_PKG_VERSION").as_bytes());
    let base = if unit.root.is_dir() { unit.root.as_path() } else { unit.root.parent().unwrap_or(Path::new("")) };
    for s in &unit.sources {
        let rel = s.strip_prefix(base).unwrap_or(s);
        feed(rel.to_string_lossy().as_bytes());
        let bytes = std::fs::read(s).map_err(|e| BuildError::Io(s.clone(), e))?;
        feed(&bytes);
    }
    Ok(format!("{h:016x}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;

    /// A pipeline that emits a fixed C kernel and counts its invocations.
    struct Fake(Rc<Cell<usize>>);
    impl Pipeline for Fake {
        fn compile(&self, unit: &Unit) -> Result<Generated, String> {
            self.0.set(self.0.get() + 1);
            Ok(Generated {
                c_source: format!(
                    "#include <stdint.h>\nvoid spiral_{}_kernel0(uint64_t from, uint64_t to, int32_t *a) {{ for (uint64_t i = from; i < to; i++) a[i] += 1; }}\n",
                    unit.name
                ),
                rust_wrappers: "// wrappers\n".into(),
            })
        }
    }

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("spiral-build-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn builder(root: &Path, counter: &Rc<Cell<usize>>) -> Builder {
        let target = format!("{}-unknown-linux-gnu", std::env::consts::ARCH);
        Builder::new(root, root.join("out"))
            .pipeline(Fake(counter.clone()))
            .cargo_output(false)
            .cc_settings(CcSettings { target: target.clone(), host: target, opt_level: 0 })
    }

    #[test]
    fn second_build_without_changes_recompiles_nothing() {
        let root = tmp("cache");
        std::fs::create_dir_all(root.join("spiral/pkg")).unwrap();
        std::fs::write(root.join("spiral/pkg/package.spiproj"), "modules:\n    main\n").unwrap();
        std::fs::write(root.join("spiral/pkg/main.spir"), "inl main () = 0i32\n").unwrap();
        std::fs::write(root.join("spiral/lone.spir"), "inl main () = 1i32\n").unwrap();
        let n = Rc::new(Cell::new(0));

        let r1 = builder(&root, &n).build().unwrap();
        assert_eq!(r1.compiled, vec!["lone".to_string(), "pkg".to_string()]);
        assert!(r1.cached.is_empty());
        assert_eq!(n.get(), 2);
        assert!(root.join("out/libspiral_pkg.a").exists(), "cc produced the static library");
        assert!(r1.rerun_if_changed.iter().any(|p| p.ends_with("spiral/pkg/main.spir")));
        assert!(r1.rerun_if_changed.iter().any(|p| p.ends_with("spiral/pkg/package.spiproj")));

        let r2 = builder(&root, &n).build().unwrap();
        assert!(r2.compiled.is_empty(), "nothing changed, nothing recompiled: {r2}");
        assert_eq!(r2.cached, vec!["lone".to_string(), "pkg".to_string()]);
        assert_eq!(n.get(), 2, "the pipeline did not run again");

        std::fs::write(root.join("spiral/pkg/main.spir"), "inl main () = 2i32\n").unwrap();
        let r3 = builder(&root, &n).build().unwrap();
        assert_eq!(r3.compiled, vec!["pkg".to_string()]);
        assert_eq!(r3.cached, vec!["lone".to_string()]);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn deleted_output_forces_a_rebuild() {
        let root = tmp("deleted");
        std::fs::create_dir_all(root.join("spiral")).unwrap();
        std::fs::write(root.join("spiral/k.spir"), "inl main () = 0i32\n").unwrap();
        let n = Rc::new(Cell::new(0));
        builder(&root, &n).build().unwrap();
        std::fs::remove_file(root.join("out/spiral/k.rs")).unwrap();
        let r = builder(&root, &n).build().unwrap();
        assert_eq!(r.compiled, vec!["k".to_string()]);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn spiral_errors_are_reported_not_panicked() {
        struct Failing;
        impl Pipeline for Failing {
            fn compile(&self, _: &Unit) -> Result<Generated, String> {
                Err("m.spir:1:5: error".into())
            }
        }
        let root = tmp("failing");
        std::fs::create_dir_all(root.join("spiral")).unwrap();
        std::fs::write(root.join("spiral/m.spir"), "inl main () = )\n").unwrap();
        let e = Builder::new(&root, root.join("out")).pipeline(Failing).cargo_output(false).build().unwrap_err();
        assert!(e.to_string().contains("m.spir:1:5"), "{e}");
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn unit_names_are_identifiers() {
        assert_eq!(ident_of(Path::new("a/my-kernels.spir")), "my_kernels");
        assert_eq!(ident_of(Path::new("9lives.spi")), "_9lives");
    }
}
