//! A builder for `build.rs` that compiles a crate's Spiral packages.
//!
//! ```no_run
//! // build.rs
//! let report = spiral_build::Builder::from_env()
//!     .source_dir("spiral") // relative to CARGO_MANIFEST_DIR
//!     .build()
//!     .unwrap_or_else(|e| panic!("{e}"));
//! println!("{report}");
//! // src/lib.rs:
//! //   use spiral::{Device, Error, InvArray};
//! //   include!(concat!(env!("OUT_DIR"), "/spiral/<unit>.rs"));
//! ```
//!
//! A Spiral file declares what it exports with lines `// export: [pub] fn name(dev: &Device,
//! ...) -> Result<T, Error>;` (the same signatures `spiral!` takes; see `examples/build-demo`).
//!
//! For every compilation unit (a folder with a `package.spiproj`, or a lone `.spi`/`.spir` file
//! under the source folder) the builder:
//! 1. hashes the unit's sources (and the compiler version);
//! 2. if the hash matches the one stored in the stamp `OUT_DIR/spiral/<unit>.hash` and every
//!    output the stamp lists still has the size and content hash it records, does nothing more
//!    (the unit is *cached*);
//! 3. otherwise deletes the stamp, runs the [`Pipeline`] (by default the Spiral compiler),
//!    writes the kernel C source to `OUT_DIR/spiral/<unit>.c` and the typed Rust wrappers to
//!    `OUT_DIR/spiral/<unit>.rs`, compiles the C with `cc` into the static library
//!    `OUT_DIR/libspiral_<unit>.a`, and writes the stamp last. Every output is written to a
//!    temporary file beside it and renamed into place, so an interrupted build leaves either
//!    no stamp or intact outputs, and the next build redoes the unit;
//! 4. in both cases prints `cargo:rerun-if-changed` for every source and the link directives.
//!
//! [`BuildReport`] says which units were compiled and which were cached, so a test can assert
//! that a second build with no source change recompiles no kernel.

use std::fmt;
use std::path::{Path, PathBuf};

pub mod signature;

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
    /// For units with `// targets: ... cuda`: one CUDA C++ translation unit per export, as
    /// (file stem, source). The builder writes `OUT_DIR/spiral/<stem>.cu` and, from it,
    /// `<stem>.kernels`: PTX when nvcc is found, else the source itself (for NVRTC at the
    /// first launch); the wrappers `include_str!` the `.kernels` file.
    pub cuda_units: Vec<(String, String)>,
}

/// How many times this process ran nvcc (for tests of the cache: a build with no change runs
/// none).
pub static NVCC_RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Turns a unit into kernel C source and Rust wrappers. The default is [`SpiralPipeline`]; tests
/// and tools may substitute their own.
pub trait Pipeline {
    /// Compiles `unit`; on failure returns the rendered diagnostics.
    fn compile(&self, unit: &Unit) -> Result<Generated, String>;

    /// Every kernel of `unit` alone, as (file name, complete translation unit) pairs, for
    /// [`Builder::kernels_dir`]; none by default.
    fn kernel_files(&self, unit: &Unit) -> Result<Vec<(String, String)>, String> {
        let _ = unit;
        Ok(Vec::new())
    }
}

/// The Spiral compiler as a [`Pipeline`].
#[derive(Clone, Copy, Debug, Default)]
pub struct SpiralPipeline;

impl Pipeline for SpiralPipeline {
    fn compile(&self, unit: &Unit) -> Result<Generated, String> {
        use spiral_compiler::driver::{compile_graph_exports_c, CompileError};
        use spiral_compiler::diagnostics::{render, SourceMap};
        let LoadedUnit { mut sm, base, name, directives } = load_unit(unit)?;
        let Directives { sigs, exports, structs, cuda: cuda_target, upmem: upmem_target } = directives;
        let failed = |sm: &SourceMap, e: CompileError| match e {
            CompileError::Spiral(d) => render(sm, &d),
            CompileError::MissingExport(i) => format!("{name}: `{}` is exported but not defined by a top-level `inl` or `let`", exports[i].name),
        };
        let (bodies, c_source) = match compile_graph_exports_c(&mut sm, &base, &exports, &unit.name) {
            Ok(x) => x,
            Err(e) => return Err(failed(&sm, e)),
        };
        let cuda = if cuda_target {
            match spiral_compiler::driver::compile_graph_exports_cuda(&mut sm, &base, &exports) {
                Ok(x) => Some(x),
                Err(e) => return Err(failed(&sm, e)),
            }
        } else {
            None
        };
        let upmem = if upmem_target {
            match spiral_compiler::driver::compile_graph_exports_upmem(&mut sm, &base, &exports) {
                Ok(x) => Some(x),
                Err(e) => return Err(failed(&sm, e)),
            }
        } else {
            None
        };
        let mut rust = format!("// Generated by spiral-build from {name}. Do not edit.\n");
        let mut cuda_units = Vec::new();
        for item in &structs {
            use quote::ToTokens;
            rust.push_str(&format!("{}\n", item.to_token_stream()));
        }
        for (k, ((vis, sig), body)) in sigs.iter().zip(bodies).enumerate() {
            use quote::ToTokens;
            let dev = match sig.inputs.first() {
                Some(syn::FnArg::Typed(pt)) => pt.pat.to_token_stream().to_string(),
                _ => "dev".into(),
            };
            let fn_name = sig.ident.to_string();
            let sig = sig.to_token_stream().to_string();
            let vis = vis.to_token_stream().to_string();
            // With UPMEM, the body dispatches on the device: the DPU programs (inline, compiled
            // for the device's tasklet count at the first launch) on an UPMEM device.
            let body = match &upmem {
                Some(units) => {
                    let (upmem_body, programs) = &units[k];
                    let list: Vec<String> = programs.iter().map(|p| format!("{p:?}")).collect();
                    format!(
                        "match ::spiral::Device::kind({dev}) {{\n::spiral::DeviceKind::Upmem => {{\nstatic __SPIRAL_UPMEM: [&str; {}] = [{}];\n{upmem_body}}}\n_ => {{\n{body}}}\n}}\n",
                        list.len(),
                        list.join(", ")
                    )
                }
                None => body,
            };
            // With CUDA, the body dispatches on the device: CUDA kernels on a CUDA device, the
            // C kernels otherwise.
            let body = match &cuda {
                Some(units) => {
                    let (cuda_body, cu) = &units[k];
                    let stem = format!("{}_{fn_name}", unit.name);
                    cuda_units.push((stem.clone(), cu.clone()));
                    format!(
                        "match ::spiral::Device::kind({dev}) {{\n::spiral::DeviceKind::Cuda => {{\nlet __SPIRAL_CUDA = ::spiral::KernelSource::detect(include_str!(concat!(env!(\"OUT_DIR\"), \"/spiral/{stem}.kernels\")));\n{cuda_body}}}\n_ => {{\n{body}}}\n}}\n"
                    )
                }
                None => body,
            };
            rust.push_str(&format!(
                "#[allow(unused_variables, unused_mut, unused_parens, unused_unsafe, unreachable_code, non_snake_case, clippy::all)]\n{vis} {sig} {{\n{body}}}\n"
            ));
        }
        Ok(Generated { c_source, rust_wrappers: rust, cuda_units })
    }

    /// `spiral_compiler::driver::kernel_files` of the unit: `<unit>_<export>.kernel<i>.cpu.c`
    /// per CPU kernel and, with a `// targets: ... cuda` line, `<unit>_<export>.kernel<i>.cu`
    /// (with `upmem`, `<unit>_<export>.kernel<i>.dpu.c`, a whole DPU program).
    fn kernel_files(&self, unit: &Unit) -> Result<Vec<(String, String)>, String> {
        use spiral_compiler::driver::CompileError;
        let LoadedUnit { mut sm, base, name, directives } = load_unit(unit)?;
        let exports = &directives.exports;
        spiral_compiler::driver::kernel_files(&mut sm, &base, exports, &unit.name, spiral_compiler::driver::ExportTargets { cpu: true, cuda: directives.cuda, upmem: directives.upmem }).map_err(|e| match e {
            CompileError::Spiral(d) => spiral_compiler::diagnostics::render(&sm, &d),
            CompileError::MissingExport(i) => format!("{name}: `{}` is exported but not defined", exports[i].name),
        })
    }
}

/// A unit's sources loaded with the library, and the directives of its `// export:` and
/// `// targets:` lines (from any of its Spiral files).
struct LoadedUnit {
    sm: spiral_compiler::diagnostics::SourceMap,
    base: spiral_compiler::project::ProjectGraph,
    /// The unit's root path, for messages.
    name: String,
    directives: Directives,
}

fn load_unit(unit: &Unit) -> Result<LoadedUnit, String> {
    use spiral_compiler::driver::{load_package_with_library, load_with_library};
    let mut sm = spiral_compiler::diagnostics::SourceMap::new();
    let mut directives = Directives { sigs: Vec::new(), exports: Vec::new(), structs: Vec::new(), cuda: false, upmem: false };
    for src in unit.sources.iter().filter(|p| is_spiral(p)) {
        let text = std::fs::read_to_string(src).map_err(|e| format!("{}: {e}", src.display()))?;
        let d = export_directives(&src.to_string_lossy(), &text)?;
        directives.sigs.extend(d.sigs);
        directives.exports.extend(d.exports);
        directives.structs.extend(d.structs);
        directives.cuda |= d.cuda;
        directives.upmem |= d.upmem;
    }
    if directives.exports.is_empty() {
        return Err(format!("{}: no `// export: fn ...;` line, so nothing to build", unit.root.display()));
    }
    let name = unit.root.to_string_lossy().into_owned();
    let loaded = if unit.root.is_dir() {
        load_package_with_library(&mut sm, &unit.root)
    } else {
        let text = std::fs::read_to_string(&unit.root).map_err(|e| format!("{name}: {e}"))?;
        load_with_library(&mut sm, &name, &text)
    };
    let base = loaded.map_err(|d| spiral_compiler::diagnostics::render(&sm, &d))?;
    Ok(LoadedUnit { sm, base, name, directives })
}

/// The signatures of a Spiral file's exports, with their visibilities.
pub type Signatures = Vec<(syn::Visibility, syn::Signature)>;

/// What a Spiral file's `// export:` lines declare.
pub struct Directives {
    /// The exported signatures, with their visibilities.
    pub sigs: Signatures,
    /// The same as export descriptions.
    pub exports: Vec<spiral_compiler::codegen::rust::Export>,
    /// Structs (`// export: #[derive(.., spiral::Inverse)] pub struct Name { fields }`, on one
    /// line) that the signatures may use; the wrappers define them.
    pub structs: Vec<syn::ItemStruct>,
    /// A `// targets: cpu, cuda` line asks for CUDA kernels too (the wrappers then dispatch on
    /// the device kind).
    pub cuda: bool,
    /// A `// targets: cpu, upmem` line asks for UPMEM DPU kernels too.
    pub upmem: bool,
}

/// The exported signatures of a Spiral file: every line `// export: [pub] fn ...;`, and the
/// structs they use (`// export: ... struct Name { .. }`, declared before their first use).
/// Errors name the file, line and column.
pub fn export_directives(name: &str, text: &str) -> Result<Directives, String> {
    let mut d = Directives { sigs: Vec::new(), exports: Vec::new(), structs: Vec::new(), cuda: false, upmem: false };
    let mut defs = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if let Some(rest) = line.trim_start().strip_prefix("// targets:") {
            for t in rest.split(',').map(str::trim) {
                match t {
                    "cpu" => {}
                    "cuda" => d.cuda = true,
                    "upmem" => d.upmem = true,
                    other => return Err(format!("{name}:{}: unknown kernel target `{other}` (the targets are `cpu`, `cuda` and `upmem`)", i + 1)),
                }
            }
            continue;
        }
        let Some(rest) = line.trim_start().strip_prefix("// export:") else { continue };
        let col = line.len() - rest.len() + 1;
        let at = |span: proc_macro2::Span, msg: String| {
            let c = span.start().column + col + (rest.len() - rest.trim_start().len());
            format!("{name}:{}:{c}: {msg}", i + 1)
        };
        if let Ok(item) = syn::parse_str::<syn::ItemStruct>(rest.trim()) {
            defs.push(signature::struct_def(&item, &defs).map_err(|(span, msg)| at(span, msg))?);
            d.structs.push(item);
            continue;
        }
        let item: syn::ForeignItemFn = syn::parse_str(rest.trim())
            .map_err(|e| format!("{name}:{}:{col}: cannot read the exported signature: {e}", i + 1))?;
        let e = signature::export_of_with(&item.sig, &defs).map_err(|(span, msg)| at(span, msg))?;
        d.sigs.push((item.vis, item.sig));
        d.exports.push(e);
    }
    Ok(d)
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
    /// Two units would write the same outputs (`OUT_DIR/spiral/<name>.rs`, `.c`,
    /// `libspiral_<name>.a`): their file or folder names give the same unit name.
    NameClash {
        /// The unit name both map to.
        name: String,
        /// The first unit's root (file or package folder).
        first: PathBuf,
        /// The second unit's root.
        second: PathBuf,
    },
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::MissingEnv(v) => write!(f, "spiral-build: environment variable {v} is not set (run from build.rs)"),
            BuildError::Io(p, e) => write!(f, "spiral-build: {}: {e}", p.display()),
            BuildError::Spiral { unit, rendered } => write!(f, "spiral-build: Spiral errors in `{unit}`:\n{rendered}"),
            BuildError::Cc(m) => write!(f, "spiral-build: compiling the generated C failed: {m}"),
            BuildError::NameClash { name, first, second } => write!(
                f,
                "error: spiral-build: `{}` and `{}` are both named unit `{name}`, so their outputs \
                 (OUT_DIR/spiral/{name}.rs, {name}.c, libspiral_{name}.a) would overwrite each other; \
                 rename one of them",
                first.display(),
                second.display()
            ),
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
    /// The kernel files written into [`Builder::kernels_dir`] (none without it).
    pub kernel_files: Vec<PathBuf>,
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
    kernels_dir: Option<PathBuf>,
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
            kernels_dir: None,
        }
    }

    /// Also writes every kernel's device source into `dir` (relative to the manifest folder
    /// unless absolute) on every build, one file per kernel and backend:
    /// `<unit>_<export>.kernel<i>.cpu.c` (C, the CPU kernel) and, for units with
    /// `// targets: cpu, cuda`, `<unit>_<export>.kernel<i>.cu` (CUDA C++, compilable alone with
    /// `nvcc -ptx`), so a kernel can be read and compiled by hand. What `spiral build
    /// --kernels-dir` does for a program.
    pub fn kernels_dir(mut self, dir: impl Into<PathBuf>) -> Builder {
        self.kernels_dir = Some(dir.into());
        self
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

    /// Finds the units under the source folders, in a stable order. Fails with
    /// [`BuildError::NameClash`] when two units have the same name (e.g. `spiral/x/k.spir` and
    /// `spiral/y/k.spir`), since their outputs would overwrite each other.
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
        // Outputs are named by the unit name alone; refuse two units that share one.
        let mut seen: std::collections::HashMap<&str, &Path> = std::collections::HashMap::new();
        for u in &units {
            if let Some(first) = seen.insert(&u.name, &u.root) {
                return Err(BuildError::NameClash { name: u.name.clone(), first: first.to_path_buf(), second: u.root.clone() });
            }
        }
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
            let archive = self.out_dir.join(format!("lib{lib_name}.a"));
            let cached = Stamp::read(&hash_file).filter(|st| st.inputs == hash).and_then(|st| st.validate(&self.out_dir));
            let has_kernels = if let Some(has_archive) = cached {
                report.cached.push(unit.name.clone());
                has_archive
            } else {
                // The stamp goes first: an interrupted rebuild must not leave the old stamp
                // beside new (or half-written) outputs.
                match std::fs::remove_file(&hash_file) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(BuildError::Io(hash_file, e)),
                    _ => {}
                }
                let generated = self
                    .pipeline
                    .compile(&unit)
                    .map_err(|rendered| BuildError::Spiral { unit: unit.name.clone(), rendered })?;
                write_atomic(&c_file, generated.c_source.as_bytes())?;
                write_atomic(&rs_file, generated.rust_wrappers.as_bytes())?;
                let has = !generated.c_source.is_empty();
                let mut outputs = vec![c_file.clone(), rs_file.clone()];
                for (stem, cu) in &generated.cuda_units {
                    outputs.extend(self.compile_cuda(&out, stem, cu)?);
                }
                if has {
                    self.compile_c(&c_file, &lib_name, &out)?;
                    outputs.push(archive.clone());
                }
                let stamp = Stamp::of(hash, &self.out_dir, &outputs)?;
                write_atomic(&hash_file, stamp.to_string().as_bytes())?;
                report.compiled.push(unit.name.clone());
                has
            };
            if let Some(dir) = &self.kernels_dir {
                let dir = self.manifest_dir.join(dir);
                std::fs::create_dir_all(&dir).map_err(|e| BuildError::Io(dir.clone(), e))?;
                let files = self
                    .pipeline
                    .kernel_files(&unit)
                    .map_err(|rendered| BuildError::Spiral { unit: unit.name.clone(), rendered })?;
                for (file, text) in files {
                    let path = dir.join(file);
                    write_atomic(&path, text.as_bytes())?;
                    report.kernel_files.push(path);
                }
            }
            if has_kernels && self.cargo_output {
                println!("cargo:rustc-link-search=native={}", self.out_dir.display());
                println!("cargo:rustc-link-lib=static={lib_name}");
            }
            report.outputs.push(c_file);
            report.outputs.push(rs_file);
        }
        Ok(report)
    }

    /// Writes `<stem>.cu` and `<stem>.kernels`: PTX from nvcc (see
    /// `spiral_compiler::codegen::cuda::nvcc::find_nvcc`; `SPIRAL_CUDA_ARCH` picks the target,
    /// `compute_75` by default), or the CUDA source itself when there is no nvcc, with a
    /// `cargo:warning` that the kernels are compiled with NVRTC at their first launch. Counts
    /// every nvcc run in [`NVCC_RUNS`].
    fn compile_cuda(&self, out: &Path, stem: &str, cu: &str) -> Result<Vec<PathBuf>, BuildError> {
        use spiral_compiler::codegen::cuda::nvcc;
        let cu_file = out.join(format!("{stem}.cu"));
        let kernels = out.join(format!("{stem}.kernels"));
        write_atomic(&cu_file, cu.as_bytes())?;
        match nvcc::find_nvcc() {
            Some(path) => {
                NVCC_RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let (ptx, _) = nvcc::compile_ptx(&path, cu, &nvcc::arch(), None).map_err(BuildError::Cc)?;
                write_atomic(&kernels, ptx.as_bytes())?;
            }
            None => {
                if self.cargo_output {
                    println!("cargo:warning=spiral-build: no CUDA compiler (nvcc) found; the CUDA kernels of `{stem}` are compiled with NVRTC at their first launch (set SPIRAL_NVCC or install nvidia-cuda-nvcc to embed PTX)");
                }
                write_atomic(&kernels, cu.as_bytes())?;
            }
        }
        Ok(vec![cu_file, kernels])
    }

    fn announce(&self, p: &Path, report: &mut BuildReport) {
        if self.cargo_output {
            println!("cargo:rerun-if-changed={}", p.display());
        }
        report.rerun_if_changed.push(p.to_path_buf());
    }

    /// Compiles `c_file` into `OUT_DIR/lib<lib_name>.a`. `cc` works in a fresh folder under
    /// `scratch_parent`; the finished archive is then renamed into place, so an interrupted
    /// compilation never leaves a partial archive under the final name.
    fn compile_c(&self, c_file: &Path, lib_name: &str, scratch_parent: &Path) -> Result<(), BuildError> {
        let staging = temp_path(scratch_parent, &format!("cc-{lib_name}"));
        std::fs::create_dir_all(&staging).map_err(|e| BuildError::Io(staging.clone(), e))?;
        let result = (|| {
            let mut b = cc::Build::new();
            b.file(c_file).out_dir(&staging).cargo_metadata(false).warnings(false).flag_if_supported("-std=c11");
            if let Some(s) = &self.cc_settings {
                b.target(&s.target).host(&s.host).opt_level(s.opt_level);
            }
            b.try_compile(lib_name).map_err(|e| BuildError::Cc(e.to_string()))?;
            let built = staging.join(format!("lib{lib_name}.a"));
            let dest = self.out_dir.join(format!("lib{lib_name}.a"));
            sync(&built)?;
            std::fs::rename(&built, &dest).map_err(|e| BuildError::Io(dest.clone(), e))
        })();
        let _ = std::fs::remove_dir_all(&staging);
        result
    }
}

/// A fresh path in `dir` (same file system, so a rename from it is atomic).
fn temp_path(dir: &Path, tag: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(".{tag}.tmp-{}-{n}", std::process::id()))
}

fn sync(p: &Path) -> Result<(), BuildError> {
    std::fs::File::open(p).and_then(|f| f.sync_all()).map_err(|e| BuildError::Io(p.to_path_buf(), e))
}

/// Writes `p` atomically: the bytes go to a temporary file in the same folder, which is then
/// renamed over `p`. A reader (or the next build, after an interrupted one) sees the old
/// content or the new, never a prefix.
fn write_atomic(p: &Path, bytes: &[u8]) -> Result<(), BuildError> {
    use std::io::Write;
    let dir = p.parent().unwrap_or(Path::new("."));
    let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = temp_path(dir, &name);
    let result = std::fs::File::create(&tmp)
        .and_then(|mut f| {
            f.write_all(bytes)?;
            f.sync_all()
        })
        .and_then(|()| std::fs::rename(&tmp, p));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(|e| BuildError::Io(p.to_path_buf(), e))
}

/// The cache stamp `OUT_DIR/spiral/<unit>.hash`, written last: the hash of the unit's
/// inputs and, for every output (`.c`, `.rs`, the static library when there are kernels),
/// its size and content hash. The unit is cached only when the inputs hash matches and every
/// output still has the recorded size and hash.
#[derive(Debug, PartialEq, Eq)]
struct Stamp {
    inputs: String,
    /// (path relative to OUT_DIR, size, FNV-1a of the content)
    outputs: Vec<(String, u64, String)>,
}

const STAMP_HEADER: &str = "spiral-build stamp 1";

impl Stamp {
    fn of(inputs: String, out_dir: &Path, outputs: &[PathBuf]) -> Result<Stamp, BuildError> {
        let mut v = Vec::new();
        for p in outputs {
            let bytes = std::fs::read(p).map_err(|e| BuildError::Io(p.clone(), e))?;
            let rel = p.strip_prefix(out_dir).unwrap_or(p).to_string_lossy().replace('\\', "/");
            v.push((rel, bytes.len() as u64, fnv_hex(&bytes)));
        }
        Ok(Stamp { inputs, outputs: v })
    }

    /// `None` when missing or unreadable (an older format included).
    fn read(p: &Path) -> Option<Stamp> {
        let text = std::fs::read_to_string(p).ok()?;
        let mut lines = text.lines();
        if lines.next()? != STAMP_HEADER {
            return None;
        }
        let inputs = lines.next()?.strip_prefix("inputs ")?.to_string();
        let mut outputs = Vec::new();
        for l in lines {
            let mut parts = l.strip_prefix("output ")?.splitn(3, ' ');
            let size = parts.next()?.parse().ok()?;
            let hash = parts.next()?.to_string();
            let rel = parts.next()?.to_string();
            outputs.push((rel, size, hash));
        }
        Some(Stamp { inputs, outputs })
    }

    /// Whether every recorded output is intact: `Some(has_archive)` if so.
    fn validate(&self, out_dir: &Path) -> Option<bool> {
        let mut has_c = false;
        let mut has_rs = false;
        let mut has_archive = false;
        for (rel, size, hash) in &self.outputs {
            let p = out_dir.join(rel);
            if std::fs::metadata(&p).ok()?.len() != *size || fnv_hex(&std::fs::read(&p).ok()?) != *hash {
                return None;
            }
            match p.extension().and_then(|e| e.to_str()) {
                Some("c") => has_c = true,
                Some("rs") => has_rs = true,
                Some("a") => has_archive = true,
                _ => {}
            }
        }
        (has_c && has_rs).then_some(has_archive)
    }
}

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{STAMP_HEADER}")?;
        writeln!(f, "inputs {}", self.inputs)?;
        for (rel, size, hash) in &self.outputs {
            writeln!(f, "output {size} {hash} {rel}")?;
        }
        Ok(())
    }
}

fn fnv_hex(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
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

/// FNV-1a over the compiler version and executable, then each source's path (relative to the
/// unit) and bytes.
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
    // The compiler itself: the running build script embeds it, so a rebuilt compiler (a new
    // executable) invalidates the cache.
    if let Some(m) = std::env::current_exe().ok().and_then(|p| std::fs::metadata(p).ok()) {
        feed(&m.len().to_le_bytes());
        let t = m.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).unwrap_or_default();
        feed(&t.as_nanos().to_le_bytes());
    }
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
                cuda_units: Vec::new(),
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

    const MAP_SPIR: &str = "// export: pub fn map_kernel(dev: &Device, input: &InvArray<(i32, i32, i32)>) -> Result<InvArray<(i32, i32)>, Error>;\nopen inv\nopen kernel\ninl map_kernel input = map (fun a,b,c => a+b+c, a*b*c) input\n";

    fn real_builder(root: &Path) -> Builder {
        let target = format!("{}-unknown-linux-gnu", std::env::consts::ARCH);
        Builder::new(root, root.join("out"))
            .cargo_output(false)
            .cc_settings(CcSettings { target: target.clone(), host: target, opt_level: 2 })
    }

    #[test]
    fn real_pipeline_writes_c_kernels_and_wrappers_then_caches() {
        let root = tmp("real");
        std::fs::create_dir_all(root.join("spiral")).unwrap();
        std::fs::write(root.join("spiral/map.spir"), MAP_SPIR).unwrap();
        let r1 = real_builder(&root).build().unwrap();
        assert_eq!(r1.compiled, vec!["map".to_string()]);
        let c = std::fs::read_to_string(root.join("out/spiral/map.c")).unwrap();
        assert!(c.contains("int32_t spiral_map_map_kernel_kernel0(int32_t __chunk_from, int32_t __chunk_to"), "{c}");
        let rs = std::fs::read_to_string(root.join("out/spiral/map.rs")).unwrap();
        assert!(rs.contains("pub fn map_kernel"), "{rs}");
        assert!(rs.contains("#[link_name = \"spiral_map_map_kernel_kernel0\"]"), "{rs}");
        assert!(root.join("out/libspiral_map.a").exists());
        let r2 = real_builder(&root).build().unwrap();
        assert!(r2.compiled.is_empty() && r2.cached == vec!["map".to_string()], "{r2}");
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn real_pipeline_compiles_a_package() {
        let root = tmp("real-pkg");
        std::fs::create_dir_all(root.join("spiral/kernels")).unwrap();
        std::fs::write(root.join("spiral/kernels/package.spiproj"), "packages: |core-\nmodules:\n    helpers*\n    maps*\n").unwrap();
        std::fs::write(root.join("spiral/kernels/helpers.spir"), "inl cube x = x * x * x\n").unwrap();
        std::fs::write(
            root.join("spiral/kernels/maps.spir"),
            "// export: pub fn cubes(dev: &Device, input: &InvArray<i64>) -> Result<InvArray<i64>, Error>;\nopen inv\nopen kernel\nopen helpers\ninl cubes input = map cube input\n",
        )
        .unwrap();
        let r = real_builder(&root).build().unwrap();
        assert_eq!(r.compiled, vec!["kernels".to_string()]);
        let c = std::fs::read_to_string(root.join("out/spiral/kernels.c")).unwrap();
        assert!(c.contains("int32_t spiral_kernels_cubes_kernel0("), "{c}");
        assert!(root.join("out/libspiral_kernels.a").exists());
        let r2 = real_builder(&root).build().unwrap();
        assert_eq!(r2.cached, vec!["kernels".to_string()]);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn spiral_errors_in_a_file_name_file_line_and_column() {
        let root = tmp("real-err");
        std::fs::create_dir_all(root.join("spiral")).unwrap();
        let bad = MAP_SPIR.replace("a*b*c", "a*b*true");
        std::fs::write(root.join("spiral/map.spir"), bad).unwrap();
        let e = real_builder(&root).build().unwrap_err().to_string();
        assert!(e.contains("map.spir:4:"), "{e}");
        std::fs::write(root.join("spiral/map.spir"), "// export: fn f(dev: &Device, x: String) -> Result<i32, Error>;\ninl f x = 1i32\n").unwrap();
        let e = real_builder(&root).build().unwrap_err().to_string();
        assert!(e.contains("map.spir:1:") && e.contains("unsupported type `String`"), "{e}");
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn unit_names_are_identifiers() {
        assert_eq!(ident_of(Path::new("a/my-kernels.spir")), "my_kernels");
        assert_eq!(ident_of(Path::new("9lives.spi")), "_9lives");
    }
}
