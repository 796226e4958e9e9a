//! The race check of kernels on whole programs with the `inv`/`kernel` library: what the
//! library's parallel functions generate passes, and each way of sharing an element between
//! kernel indices without atomics or owned ranges is a compile error at the Spiral line.
use spiral_compiler::diagnostics::{render, SourceMap};
use spiral_compiler::driver::{load_with_library, Driver};
use spiral_compiler::peval::HostTarget;

fn check(body: &str) -> Result<(), String> {
    let src = format!("open inv\nopen kernel\ninl main () =\n    inl a = inv_create `i64 (dyn 100i32)\n    inl b = inv_create `i64 (dyn 100i32)\n{body}\n    ()\n");
    let mut sm = SourceMap::new();
    let graph = load_with_library(&mut sm, "t.spir", &src).map_err(|d| render(&sm, &d))?;
    Driver::new(HostTarget::C).evaluate(&graph).map(|_| ()).map_err(|d| render(&sm, &d))
}

#[test]
fn the_library_parallel_functions_pass_the_check() {
    let ok = [
        "    inl _ = reduce (fun x y => x + y) 0i64 a",
        "    inl _ = scan_inclusive (fun x y => x + y) 0i64 a",
        "    inl _ = scan_exclusive (fun x y => x + y) 0i64 a",
        "    inl _ = filter (fun x => x > 3i64) a",
        "    inl _ = histogram 4i32 (fun x => conv `i32 (x &&& 3i64)) a",
        "    parallel_for 100i32 fun i => atomic_max b 0i32 (inv_index a i)",
    ];
    for body in ok {
        if let Err(e) = check(body) {
            panic!("{body}\n{e}");
        }
    }
}

#[test]
fn shared_elements_without_atomics_or_owned_ranges_are_refused() {
    let cases = [
        // read-modify-write of a shared cell
        ("    parallel_for 100i32 fun i => inv_set b 0i32 (inv_index b 0i32 + 1i64)", "data race"),
        // an owned-range write mixed with a plain read of the same array
        ("    parallel_for 4i32 fun c =>\n        chunk_set b 4i32 (c * 25i32) (inv_index b 99i32)", "chunk_set"),
        // two chunk counts for one array
        ("    parallel_for 4i32 fun c =>\n        chunk_set b 4i32 (c * 25i32) 1i64\n        chunk_set b 2i32 (c * 25i32) 1i64", "two different chunk counts"),
        // an atomic array also read plainly
        ("    parallel_for 100i32 fun i =>\n        atomic_min b 0i32 (inv_index a i)\n        inv_set a i (inv_index b 1i32)", "without atomics"),
    ];
    for (body, want) in cases {
        match check(body) {
            Ok(()) => panic!("accepted:\n{body}"),
            Err(e) => assert!(e.contains(want), "{body}\nexpected `{want}` in:\n{e}"),
        }
    }
}

#[test]
fn atomics_and_chunk_writes_are_for_kernels() {
    let e = check("    atomic_cas b 0i32 0i64 1i64 |> ignore").unwrap_err();
    assert!(e.contains("`atomic_cas` is for kernels"), "{e}");
    let e = check("    chunk_set b 1i32 0i32 1i64").unwrap_err();
    assert!(e.contains("`chunk_set` is for kernels"), "{e}");
}
