//! `package.spiproj` files, module order, the package graph and the bundled `core` package.
//!
//! A Spiral program is a graph of packages. Each package is a folder with a `package.spiproj`
//! (see [`spiproj`] for the format) that lists its modules, in order, and the packages it
//! uses. Entry points:
//!
//! - [`load_package_dir`]: a folder with a `package.spiproj`, its package graph and every module
//!   parsed;
//! - [`load_single_file`]: a lone `.spi`/`.spir` file, compiled with `core` opened;
//! - [`load_inline`]: source text that is not on disk (e.g. `spiral!`), with `core` opened.
//!
//! The result, a [`ProjectGraph`], lists the packages in dependency order (every package
//! after all the packages it uses, the root last) and, inside each package, its modules in the
//! order the `modules:` field lists them (folders flattened depth-first, as written).
//!
//! Package references resolve as in Spiral v2: `name` is the folder `packageDir/name`
//! (`packageDir` defaults to the parent of the package folder), `|name` is a package bundled
//! with the compiler. The only bundled package is `core`, embedded from
//! `spiral-compiler/src/lib/core/`; a plain `core` that does not exist on disk also resolves to
//! it. Missing module files, missing packages, folders owned by another package and package
//! cycles are reported as [`Diagnostic`]s pointing into the `package.spiproj`.

pub mod spiproj;

use crate::diagnostics::{Diagnostic, FileId, SourceMap, Span};
use crate::syntax::{self, ParsedModule, Segment};
use spiproj::{parse_spiproj, ModuleEntry, ProjectFile};
use std::collections::HashMap;
use std::sync::Arc;
use std::path::{Component, Path, PathBuf};

mod bundled {
    include!(concat!(env!("OUT_DIR"), "/bundled_packages.rs"));
}

/// The name of the package description file.
pub const SPIPROJ: &str = "package.spiproj";

/// Names of the packages bundled with the compiler (reachable as `|name`).
pub fn bundled_packages() -> Vec<&'static str> {
    let mut names: Vec<&str> = bundled::BUNDLED_FILES
        .iter()
        .filter_map(|(p, _)| p.strip_suffix("/package.spiproj"))
        .filter(|n| !n.contains('/'))
        .collect();
    names.dedup();
    names
}

/// The text of a bundled file, by its path relative to the bundle root (e.g.
/// `core/package.spiproj`).
pub fn bundled_file(path: &str) -> Option<&'static str> {
    bundled::BUNDLED_FILES.iter().find(|(p, _)| *p == path).map(|(_, t)| *t)
}

/// Parses text that lives for the whole process (a bundled file), reusing an earlier parse of
/// the same text under the same file id and segment.
///
/// A parse is a pure function of (file id, text, segment), so the shared result is exactly
/// what [`syntax::parse_module`] would return. Every compilation loads `core` (and `spiral!`
/// the library modules) into a fresh [`SourceMap`] in the same order, so they get the same file
/// ids and a process that compiles many times (a proc macro expanding many `spiral!` calls, a
/// build script with many units) parses them once.
pub fn parse_static(file: FileId, text: &'static str, segment: Segment) -> Arc<ParsedModule> {
    use std::sync::{Mutex, OnceLock};
    type Key = (usize, usize, FileId, bool);
    /// Enough for the bundled files under a few different id layouts; past it, parse afresh.
    const MAX_ENTRIES: usize = 256;
    static CACHE: OnceLock<Mutex<HashMap<Key, Arc<ParsedModule>>>> = OnceLock::new();
    let key = (text.as_ptr() as usize, text.len(), file, segment == Segment::TopDown);
    let cache = CACHE.get_or_init(Default::default);
    let hit = cache.lock().ok().and_then(|m| m.get(&key).cloned());
    if let Some(p) = hit {
        return p;
    }
    let parsed = Arc::new(syntax::parse_module(file, text, segment));
    if let Ok(mut m) = cache.lock() {
        if m.len() < MAX_ENTRIES {
            m.insert(key, parsed.clone());
        }
    }
    parsed
}

/// Where a package's files come from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PackageSource {
    /// A folder on disk (absolute, normalised).
    Dir(PathBuf),
    /// A package embedded in the compiler, by name.
    Bundled(String),
    /// A single file or inline text with no `package.spiproj`.
    Synthetic(String),
}

/// The packages of a program, in dependency order.
#[derive(Debug)]
pub struct ProjectGraph {
    /// Every package after the packages it uses; [`ProjectGraph::root`] is the last one.
    pub packages: Vec<Package>,
    /// Index of the package that was asked for.
    pub root: usize,
}

impl ProjectGraph {
    /// The package that was asked for.
    pub fn root_package(&self) -> &Package {
        &self.packages[self.root]
    }
    /// Every module of every package, in compilation order.
    pub fn modules(&self) -> impl Iterator<Item = (&Package, &Module)> {
        self.packages.iter().flat_map(|p| p.modules.iter().map(move |m| (p, m)))
    }
}

/// One package: its description and its modules, parsed.
#[derive(Debug)]
pub struct Package {
    /// The folder name (or bundled name).
    pub name: String,
    /// Where its files come from.
    pub source: PackageSource,
    /// The `package.spiproj`, when there is one.
    pub spiproj: Option<FileId>,
    /// The parsed `package.spiproj` (empty for synthetic packages).
    pub project: ProjectFile,
    /// The packages it uses, in the listed order (indices into [`ProjectGraph::packages`]).
    pub dependencies: Vec<Dependency>,
    /// Its modules in order.
    pub modules: Vec<Module>,
}

/// A use of one package by another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dependency {
    /// Index of the used package in [`ProjectGraph::packages`].
    pub package: usize,
    /// The name the package is referred to by.
    pub name: String,
    /// `true` for `name-`: the package's contents are opened into the dependent's scope.
    pub include: bool,
    /// The reference in the `package.spiproj` (a zero-length span for implicit `core`).
    pub span: Span,
}

/// One module file.
#[derive(Debug)]
pub struct Module {
    /// Its path (for bundled files: relative to the bundle root).
    pub path: PathBuf,
    /// The file in the [`SourceMap`].
    pub file: FileId,
    /// `.spi` (top-down) or `.spir` (bottom-up).
    pub segment: Segment,
    /// The module name, or `None` for an included (`-`) module whose statements go into the
    /// enclosing scope.
    pub name: Option<String>,
    /// Enclosing folders listed in `modules:` (outermost first); each is a module namespace.
    pub scope: Vec<String>,
    /// The parse result (its diagnostics are also in the load's diagnostics); shared, so
    /// copies of a graph (one per `spiral!` export) and cached bundled parses cost no copy.
    pub parsed: Arc<ParsedModule>,
}

/// A loaded graph together with every diagnostic found while loading and parsing it.
#[derive(Debug)]
pub struct Loaded {
    /// The graph, as complete as the errors allow (missing files and packages are left out).
    pub graph: ProjectGraph,
    /// Project and parse errors, in the order they were found.
    pub diagnostics: Vec<Diagnostic>,
}

impl Loaded {
    /// `Ok(graph)` when there are no diagnostics, else `Err(diagnostics)`.
    pub fn into_result(self) -> Result<ProjectGraph, Vec<Diagnostic>> {
        if self.diagnostics.is_empty() {
            Ok(self.graph)
        } else {
            Err(self.diagnostics)
        }
    }
}

/// Loads the package in `dir` (which must contain a `package.spiproj`), the packages it
/// uses, and parses every module. Fails with every diagnostic found.
pub fn load_package_dir(dir: &Path, sources: &mut SourceMap) -> Result<ProjectGraph, Vec<Diagnostic>> {
    load_package_dir_lenient(dir, sources).into_result()
}

/// Like [`load_package_dir`], but always returns the (possibly partial) graph with the
/// diagnostics beside it.
pub fn load_package_dir_lenient(dir: &Path, sources: &mut SourceMap) -> Loaded {
    let mut l = Loader::new(sources);
    let key = PackageSource::Dir(normalize(dir));
    let root = l.package(key, dir_name(dir), None);
    l.finish(root)
}

/// Loads a lone `.spi` or `.spir` file as a one-module package that opens the bundled `core`.
pub fn load_single_file(path: &Path, sources: &mut SourceMap) -> Result<ProjectGraph, Vec<Diagnostic>> {
    let text = match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| "the file is not valid UTF-8".to_string()),
        Err(e) => Err(e.to_string()),
    };
    let name = path.to_string_lossy().into_owned();
    match text {
        Ok(text) => load_inline(&name, &text, segment_of_path(path), sources),
        Err(e) => {
            let f = sources.add(name.clone(), "");
            Err(vec![Diagnostic::error(Span::new(f, 0, 0), format!("cannot read `{name}`: {e}"))])
        }
    }
}

/// Loads source text that is not on disk (registered in `sources` under `name`) as a
/// one-module package that opens the bundled `core`.
pub fn load_inline(name: &str, text: &str, segment: Segment, sources: &mut SourceMap) -> Result<ProjectGraph, Vec<Diagnostic>> {
    let mut l = Loader::new(sources);
    let core = l.package(PackageSource::Bundled("core".into()), "core".into(), None);
    let file = l.sources.add(name.to_string(), text.to_string());
    let parsed = syntax::parse_module(file, text, segment);
    l.diags.extend(parsed.diagnostics.iter().cloned());
    let stem = Path::new(name).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "main".into());
    let module = Module { path: PathBuf::from(name), file, segment, name: Some(stem.clone()), scope: Vec::new(), parsed: Arc::new(parsed) };
    let dependencies = core
        .map(|i| vec![Dependency { package: i, name: "core".into(), include: true, span: Span::new(file, 0, 0) }])
        .unwrap_or_default();
    l.packages.push(Package {
        name: stem,
        source: PackageSource::Synthetic(name.to_string()),
        spiproj: None,
        project: ProjectFile::default(),
        dependencies,
        modules: vec![module],
    });
    let root = Some(l.packages.len() - 1);
    l.finish(root).into_result()
}

/// The package that owns a source file: the first folder holding a `package.spiproj`,
/// searching outwards from the file's folder (as Spiral v2 does).
pub fn owning_package_dir(file: &Path) -> Option<PathBuf> {
    let abs = normalize(file);
    let mut dir = abs.parent();
    while let Some(d) = dir {
        if d.join(SPIPROJ).is_file() {
            return Some(d.to_path_buf());
        }
        dir = d.parent();
    }
    None
}

/// `.spir` files are bottom-up; everything else is top-down.
pub fn segment_of_path(path: &Path) -> Segment {
    match path.extension().and_then(|e| e.to_str()) {
        Some("spir") => Segment::BottomUp,
        _ => Segment::TopDown,
    }
}

fn dir_name(dir: &Path) -> String {
    normalize(dir).file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "root".into())
}

/// An absolute path with `.` and `..` removed lexically (symlinks resolved when it exists).
fn normalize(p: &Path) -> PathBuf {
    if let Ok(c) = std::fs::canonicalize(p) {
        return c;
    }
    let abs = if p.is_absolute() { p.to_path_buf() } else { std::env::current_dir().unwrap_or_default().join(p) };
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Joins `rel` (relative or absolute) to `base` lexically; bundled paths stay relative.
fn join(base: &Path, rel: &str) -> PathBuf {
    let mut out = base.to_path_buf();
    for c in Path::new(rel).components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::Prefix(_) => out = PathBuf::from(c.as_os_str()),
            Component::Normal(s) => out.push(s),
        }
    }
    out
}

/// The deepest chain of package dependencies the loader follows (it recurses once per level).
pub const MAX_PACKAGE_DEPTH: usize = 200;

struct Loader<'s> {
    sources: &'s mut SourceMap,
    diags: Vec<Diagnostic>,
    packages: Vec<Package>,
    done: HashMap<PackageSource, usize>,
    /// Packages being loaded (the DFS path), with their names, for cycle reports.
    stack: Vec<(PackageSource, String)>,
}

impl<'s> Loader<'s> {
    fn new(sources: &'s mut SourceMap) -> Self {
        Loader { sources, diags: Vec::new(), packages: Vec::new(), done: HashMap::new(), stack: Vec::new() }
    }

    fn finish(self, root: Option<usize>) -> Loaded {
        let mut packages = self.packages;
        let root = match root {
            Some(r) => r,
            None => {
                // The root itself could not be loaded: return an empty stand-in.
                packages.push(Package {
                    name: "root".into(),
                    source: PackageSource::Synthetic("root".into()),
                    spiproj: None,
                    project: ProjectFile::default(),
                    dependencies: Vec::new(),
                    modules: Vec::new(),
                });
                packages.len() - 1
            }
        };
        Loaded { graph: ProjectGraph { packages, root }, diagnostics: self.diags }
    }

    fn read(&self, src: &PackageSource, path: &Path) -> Result<String, String> {
        match src {
            PackageSource::Bundled(_) => {
                let key = path.to_string_lossy().replace('\\', "/");
                bundled_file(&key).map(str::to_string).ok_or_else(|| "no such bundled file".to_string())
            }
            _ => match std::fs::read(path) {
                Ok(b) => String::from_utf8(b).map_err(|_| "the file is not valid UTF-8".to_string()),
                Err(e) => Err(if e.kind() == std::io::ErrorKind::NotFound { "not found".to_string() } else { e.to_string() }),
            },
        }
    }

    fn display(src: &PackageSource, path: &Path) -> String {
        match src {
            PackageSource::Bundled(_) => format!("<bundled>/{}", path.to_string_lossy()),
            _ => path.to_string_lossy().into_owned(),
        }
    }

    /// Loads one package (and, first, its dependencies). Returns its index, or `None` when
    /// its `package.spiproj` cannot be read (already reported, at `from` when given).
    fn package(&mut self, key: PackageSource, name: String, from: Option<Span>) -> Option<usize> {
        if let Some(&i) = self.done.get(&key) {
            return Some(i);
        }
        let base: PathBuf = match &key {
            PackageSource::Dir(d) => d.clone(),
            PackageSource::Bundled(n) => PathBuf::from(n),
            PackageSource::Synthetic(_) => return None,
        };
        let spiproj_path = base.join(SPIPROJ);
        let text = match self.read(&key, &spiproj_path) {
            Ok(t) => t,
            Err(e) => {
                let shown = Self::display(&key, &spiproj_path);
                let span = from.unwrap_or_else(|| Span::new(self.sources.add(shown.clone(), ""), 0, 0));
                self.diags.push(
                    Diagnostic::error(span, format!("package `{name}` not found: cannot read `{shown}` ({e})"))
                        .with_note("a package is a folder with a `package.spiproj` file"),
                );
                return None;
            }
        };
        let file = self.sources.add(Self::display(&key, &spiproj_path), text.clone());
        let parsed = parse_spiproj(file, &text);
        self.diags.extend(parsed.diagnostics);
        let project = parsed.project;

        self.stack.push((key.clone(), name.clone()));
        let package_dir = match &project.package_dir {
            Some(d) if !matches!(key, PackageSource::Bundled(_)) => join(&base, &d.value),
            _ => base.parent().map(Path::to_path_buf).unwrap_or_default(),
        };
        let mut dependencies = Vec::new();
        for r in &project.packages {
            let dep_key = if r.bundled || matches!(key, PackageSource::Bundled(_)) {
                if !bundled_packages().contains(&r.name.as_str()) {
                    self.diags.push(
                        Diagnostic::error(r.span, format!("no bundled package `{}`", r.name))
                            .with_note(format!("the compiler bundles: {}", bundled_packages().join(", "))),
                    );
                    continue;
                }
                PackageSource::Bundled(r.name.clone())
            } else {
                let dir = join(&package_dir, &r.name);
                if !dir.join(SPIPROJ).is_file() && bundled_packages().contains(&r.name.as_str()) {
                    // v2 programs often name the core library as a sibling folder; use ours.
                    PackageSource::Bundled(r.name.clone())
                } else {
                    PackageSource::Dir(normalize(&dir))
                }
            };
            if let Some(pos) = self.stack.iter().position(|(k, _)| *k == dep_key) {
                let mut cycle: Vec<&str> = self.stack[pos..].iter().map(|(_, n)| n.as_str()).collect();
                cycle.push(&r.name);
                self.diags.push(
                    Diagnostic::error(r.span, format!("package cycle: `{}` is already being loaded", r.name))
                        .with_note(format!("cycle: {}", cycle.join(" -> "))),
                );
                continue;
            }
            if self.stack.len() >= MAX_PACKAGE_DEPTH && !self.done.contains_key(&dep_key) {
                self.diags.push(
                    Diagnostic::error(r.span, format!("package dependencies nest deeper than {MAX_PACKAGE_DEPTH} levels at `{}`", r.name))
                        .with_note(format!("the chain starts at `{}`; flatten it by depending on the packages directly", self.stack[0].1)),
                );
                continue;
            }
            if let Some(i) = self.package(dep_key, r.name.clone(), Some(r.span)) {
                dependencies.push(Dependency { package: i, name: r.name.clone(), include: r.include, span: r.span });
            }
        }

        let module_dir = match &project.module_dir {
            Some(d) => join(&base, &d.value),
            None => base.clone(),
        };
        let mut modules = Vec::new();
        let mut scope = Vec::new();
        self.modules(&key, &module_dir, &project.modules, &mut scope, &mut modules);
        self.stack.pop();

        self.packages.push(Package { name, source: key.clone(), spiproj: Some(file), project, dependencies, modules });
        let i = self.packages.len() - 1;
        self.done.insert(key, i);
        Some(i)
    }

    fn modules(&mut self, key: &PackageSource, dir: &Path, entries: &[ModuleEntry], scope: &mut Vec<String>, out: &mut Vec<Module>) {
        for e in entries {
            match e {
                ModuleEntry::Dir { span, name, children } => {
                    let sub = dir.join(name);
                    if !matches!(key, PackageSource::Bundled(_)) && sub.join(SPIPROJ).is_file() {
                        self.diags.push(
                            Diagnostic::error(*span, format!("folder `{name}` belongs to another package"))
                                .with_note(format!("`{}` exists; a package may only list files it owns", sub.join(SPIPROJ).display())),
                        );
                        continue;
                    }
                    scope.push(name.clone());
                    self.modules(key, &sub, children, scope, out);
                    scope.pop();
                }
                ModuleEntry::File { span, name, top_down, include } => {
                    let ext = if *top_down { "spi" } else { "spir" };
                    let path = dir.join(format!("{name}.{ext}"));
                    let shown = Self::display(key, &path);
                    let text = match self.read(key, &path) {
                        Ok(t) => t,
                        Err(e) => {
                            self.diags.push(Diagnostic::error(*span, format!("module file `{shown}`: {e}")).with_note(
                                "every entry of `modules:` must be a file next to the package.spiproj (`a` is a.spi, `a*` is a.spir)",
                            ));
                            continue;
                        }
                    };
                    let file = self.sources.add(shown, text);
                    let segment = if *top_down { Segment::TopDown } else { Segment::BottomUp };
                    let parsed = match key {
                        PackageSource::Bundled(_) => match bundled_file(&path.to_string_lossy().replace('\\', "/")) {
                            Some(t) => parse_static(file, t, segment),
                            None => Arc::new(syntax::parse_module(file, self.sources.text(file), segment)),
                        },
                        _ => Arc::new(syntax::parse_module(file, self.sources.text(file), segment)),
                    };
                    self.diags.extend(parsed.diagnostics.iter().cloned());
                    out.push(Module {
                        path,
                        file,
                        segment,
                        name: if *include { None } else { Some(name.clone()) },
                        scope: scope.clone(),
                        parsed,
                    });
                }
            }
        }
    }
}
