//! Package graphs on disk: module order, package resolution, and the errors for missing
//! files, missing packages, foreign folders and cycles.

use spiral_compiler::diagnostics::{render, SourceMap};
use spiral_compiler::project::{
    bundled_packages, load_inline, load_package_dir, load_package_dir_lenient, load_single_file, owning_package_dir, PackageSource,
};
use spiral_compiler::syntax::Segment;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh scratch folder, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(files: &[(&str, &str)]) -> Scratch {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!("spiral-project-test-{}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst)));
        let _ = std::fs::remove_dir_all(&dir);
        for (path, text) in files {
            let p = dir.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        Scratch(dir)
    }
    fn path(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const MAIN: &str = "inl main () = 1i32\n";
const REAL: &str = "inl f x = x\n";

fn errors(dir: &Path) -> (SourceMap, Vec<spiral_compiler::diagnostics::Diagnostic>) {
    let mut sm = SourceMap::new();
    let loaded = load_package_dir_lenient(dir, &mut sm);
    (sm, loaded.diagnostics)
}

#[test]
fn modules_load_in_listed_order_with_names_scopes_and_segments() {
    let s = Scratch::new(&[
        ("app/package.spiproj", "packages: |core-\nmodules:\n    a\n    b-\n    c*\n    d*-\n    sub/\n        z\n        x*\n    y\n"),
        ("app/a.spi", MAIN),
        ("app/b.spi", MAIN),
        ("app/c.spir", REAL),
        ("app/d.spir", REAL),
        ("app/sub/z.spi", MAIN),
        ("app/sub/x.spir", REAL),
        ("app/y.spi", MAIN),
    ]);
    let mut sm = SourceMap::new();
    let g = load_package_dir(&s.path("app"), &mut sm).unwrap_or_else(|d| panic!("{}", render(&sm, &d)));
    let root = g.root_package();
    assert_eq!(g.root, g.packages.len() - 1, "the root comes last");
    assert_eq!(root.name, "app");
    let got: Vec<(Option<&str>, Vec<&str>, Segment)> =
        root.modules.iter().map(|m| (m.name.as_deref(), m.scope.iter().map(String::as_str).collect(), m.segment)).collect();
    assert_eq!(
        got,
        vec![
            (Some("a"), vec![], Segment::TopDown),
            (None, vec![], Segment::TopDown),
            (Some("c"), vec![], Segment::BottomUp),
            (None, vec![], Segment::BottomUp),
            (Some("z"), vec!["sub"], Segment::TopDown),
            (Some("x"), vec!["sub"], Segment::BottomUp),
            (Some("y"), vec![], Segment::TopDown),
        ]
    );
    assert!(root.modules[5].path.ends_with("sub/x.spir"));
    assert_eq!(sm.text(root.modules[0].file), MAIN);
    // `|core-` resolves to the bundled core, opened.
    assert_eq!(root.dependencies.len(), 1);
    let dep = &root.dependencies[0];
    assert!(dep.include);
    assert_eq!(g.packages[dep.package].source, PackageSource::Bundled("core".into()));
    assert!(dep.package < g.root);
}

#[test]
fn diamond_dependencies_load_once_in_dependency_order() {
    let s = Scratch::new(&[
        ("a/package.spiproj", "packages: b c-\nmodules: m\n"),
        ("a/m.spi", MAIN),
        ("b/package.spiproj", "packages: d\nmodules: m\n"),
        ("b/m.spi", MAIN),
        ("c/package.spiproj", "packages: d-\nmodules: m\n"),
        ("c/m.spi", MAIN),
        ("d/package.spiproj", "modules: m\n"),
        ("d/m.spi", MAIN),
    ]);
    let mut sm = SourceMap::new();
    let g = load_package_dir(&s.path("a"), &mut sm).unwrap_or_else(|d| panic!("{}", render(&sm, &d)));
    let names: Vec<&str> = g.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, vec!["d", "b", "c", "a"]);
    let a = g.root_package();
    let deps: Vec<(&str, bool)> = a.dependencies.iter().map(|d| (g.packages[d.package].name.as_str(), d.include)).collect();
    assert_eq!(deps, vec![("b", false), ("c", true)]);
    assert_eq!(g.packages[1].dependencies[0].package, 0);
    assert_eq!(g.packages[2].dependencies[0].package, 0);
    assert_eq!(g.modules().count(), 4);
}

#[test]
fn package_dir_and_module_dir_are_relative_to_the_package() {
    let s = Scratch::new(&[
        ("proj/package.spiproj", "packageDir: ../libs\nmoduleDir: src\npackages: util\nmodules: main\n"),
        ("proj/src/main.spi", MAIN),
        ("libs/util/package.spiproj", "modules: u*\n"),
        ("libs/util/u.spir", REAL),
    ]);
    let mut sm = SourceMap::new();
    let g = load_package_dir(&s.path("proj"), &mut sm).unwrap_or_else(|d| panic!("{}", render(&sm, &d)));
    assert_eq!(g.packages.len(), 2);
    assert_eq!(g.packages[0].name, "util");
    assert!(g.root_package().modules[0].path.ends_with("src/main.spi"));
}

#[test]
fn missing_module_file_points_at_its_entry() {
    let s = Scratch::new(&[("p/package.spiproj", "modules:\n    a\n    gone*\n"), ("p/a.spi", MAIN)]);
    let (sm, d) = errors(&s.path("p"));
    assert_eq!(d.len(), 1, "{}", render(&sm, &d));
    assert_eq!(d[0].line_col(&sm), (3, 5));
    assert!(d[0].message.contains("gone.spir"), "{}", d[0].message);
    let text = render(&sm, &d);
    assert!(text.contains("package.spiproj:3:5"), "{text}");
    assert!(text.contains("    gone*"), "{text}");
}

#[test]
fn missing_package_points_at_its_reference() {
    let s = Scratch::new(&[("p/package.spiproj", "packages: |core- nowhere\nmodules: a\n"), ("p/a.spi", MAIN)]);
    let (sm, d) = errors(&s.path("p"));
    assert_eq!(d.len(), 1, "{}", render(&sm, &d));
    assert_eq!(d[0].line_col(&sm), (1, 18));
    assert!(d[0].message.contains("package `nowhere` not found"), "{}", d[0].message);
}

#[test]
fn unknown_bundled_package_is_an_error() {
    let s = Scratch::new(&[("p/package.spiproj", "packages: |nope\n")]);
    let (sm, d) = errors(&s.path("p"));
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].line_col(&sm), (1, 11));
    assert!(d[0].message.contains("no bundled package `nope`"));
}

#[test]
fn package_cycles_are_reported() {
    let s = Scratch::new(&[
        ("a/package.spiproj", "packages: b\n"),
        ("b/package.spiproj", "packages: c\n"),
        ("c/package.spiproj", "modules: m\npackages: a\n"),
        ("c/m.spi", MAIN),
    ]);
    let (sm, d) = errors(&s.path("a"));
    assert_eq!(d.len(), 1, "{}", render(&sm, &d));
    assert!(d[0].message.contains("package cycle"), "{}", d[0].message);
    assert_eq!(d[0].line_col(&sm), (2, 11));
    assert!(sm.name(d[0].span.file).ends_with("c/package.spiproj"));
    assert_eq!(d[0].notes, vec!["cycle: a -> b -> c -> a".to_string()]);

    let s = Scratch::new(&[("a/package.spiproj", "packages: a\n")]);
    let (_, d) = errors(&s.path("a"));
    assert_eq!(d.len(), 1);
    assert!(d[0].message.contains("package cycle"));
}

#[test]
fn folder_owned_by_another_package_is_rejected() {
    let s = Scratch::new(&[
        ("p/package.spiproj", "modules:\n    inner/\n        x\n"),
        ("p/inner/package.spiproj", ""),
        ("p/inner/x.spi", MAIN),
    ]);
    let (sm, d) = errors(&s.path("p"));
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].line_col(&sm), (2, 5));
    assert!(d[0].message.contains("belongs to another package"));
}

#[test]
fn spiproj_syntax_errors_surface_with_location() {
    let s = Scratch::new(&[("p/package.spiproj", "modules:\n    a\n\tb\n"), ("p/a.spi", MAIN)]);
    let (sm, d) = errors(&s.path("p"));
    assert!(!d.is_empty());
    assert_eq!(d[0].line_col(&sm), (3, 1));
}

#[test]
fn folder_without_spiproj_is_an_error() {
    let s = Scratch::new(&[("p/a.spi", MAIN)]);
    let mut sm = SourceMap::new();
    let d = load_package_dir(&s.path("p"), &mut sm).unwrap_err();
    assert_eq!(d.len(), 1);
    assert!(d[0].message.contains("package.spiproj"), "{}", d[0].message);
    assert!(render(&sm, &d).contains("error"));
}

#[test]
fn lone_files_and_inline_text_open_the_bundled_core() {
    assert!(bundled_packages().contains(&"core"));
    let s = Scratch::new(&[("x/prog.spir", REAL)]);
    let mut sm = SourceMap::new();
    let g = load_single_file(&s.path("x/prog.spir"), &mut sm).unwrap_or_else(|d| panic!("{}", render(&sm, &d)));
    let root = g.root_package();
    assert_eq!(root.modules.len(), 1);
    assert_eq!(root.modules[0].segment, Segment::BottomUp);
    assert_eq!(root.modules[0].name.as_deref(), Some("prog"));
    assert_eq!(root.dependencies.len(), 1);
    assert!(root.dependencies[0].include);
    assert_eq!(g.packages[root.dependencies[0].package].source, PackageSource::Bundled("core".into()));

    let mut sm = SourceMap::new();
    let g = load_inline("inline.spi", MAIN, Segment::TopDown, &mut sm).unwrap_or_else(|d| panic!("{}", render(&sm, &d)));
    assert_eq!(g.packages.len(), 2);
    assert_eq!(g.root_package().modules[0].segment, Segment::TopDown);

    let mut sm = SourceMap::new();
    let d = load_single_file(&s.path("x/missing.spi"), &mut sm).unwrap_err();
    assert!(d[0].message.contains("cannot read"));
}

#[test]
fn owning_package_is_found_outwards() {
    let s = Scratch::new(&[("p/package.spiproj", ""), ("p/deep/er/f.spi", MAIN)]);
    let owner = owning_package_dir(&s.path("p/deep/er/f.spi")).unwrap();
    assert_eq!(owner, std::fs::canonicalize(s.path("p")).unwrap());
}
