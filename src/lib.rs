//! Spiral for Rust: Spiral kernels specialised at `cargo build` time and called through typed
//! Rust functions that move data as inverse arrays ([`InvArray`], one buffer per leaf).
//!
//! Spiral is a staged functional language whose compiler is a partial evaluator: everything
//! known at compile time (types, tuple shapes, literal arguments, inlined functions) is computed
//! away, and what is left is straight-line code over the runtime values. [`spiral!`] runs that
//! compiler when your crate builds and turns each exported Spiral function into a Rust function;
//! `spiral-build` does the same from a `build.rs`, with the kernels compiled as C.
//!
//! ```
//! use spiral::{spiral, Device, Error, InvArray};
//!
//! spiral! {
//!     /// `(a + b + c, a * b * c)` for every element.
//!     fn sums_and_products(dev: &Device, input: &InvArray<(i32, i32, i32)>) -> Result<InvArray<(i32, i32)>, Error>;
//!     r#"
//! open inv
//! open kernel
//! inl sums_and_products input = map (fun a, b, c => a + b + c, a * b * c) input
//!     "#
//! }
//!
//! let input: InvArray<(i32, i32, i32)> = (0..8).map(|i| (i, i, i)).collect();
//! let out = sums_and_products(&Device::cpu_with_threads(2), &input)?;
//! assert_eq!(out.get(3), Some((9, 27)));
//! # Ok::<(), Error>(())
//! ```
//!
//! # The forms of `spiral!`
//!
//! Export signatures come first, each ending in `;` (with `///` docs and attributes if you
//! like: they are passed to the generated function), then the Spiral source in one of three
//! forms:
//!
//! - a string literal, usually raw (`r#"..."#`): any Spiral, including `'c'` chars and
//!   `create'`-style names that Rust's lexer rejects;
//! - `file = "src/kernels/k.spir"`: a file relative to `CARGO_MANIFEST_DIR` (else to the calling
//!   file's folder); cargo rebuilds when it changes;
//! - plain tokens, where Rust's lexer accepts the Spiral:
//!
//! ```
//! use spiral::{spiral, Device, Error};
//!
//! spiral! { fn answer(dev: &Device) -> Result<i32, Error>; inl answer () = 6i32 * 7i32 }
//!
//! assert_eq!(answer(&Device::cpu())?, 42);
//! # Ok::<(), Error>(())
//! ```
//!
//! # Exports and the types they take
//!
//! An export is the Spiral top-level function of the same name, applied to the parameters after
//! `dev: &Device` (a function of none is `inl f () = ...`). It returns `Result<T, Error>`.
//!
//! | Rust | Spiral sees |
//! | --- | --- |
//! | `i8` .. `i64`, `u8` .. `u64`, `f32`, `f64`, `bool` | the same primitive, a runtime value |
//! | `(A, B, C)` | the pair `a * (b * c)` (write `a, b, c`) |
//! | `()` | `()` |
//! | `&InvArray<T>` | an inverse array of `T` whose columns are lent (read-only) or copied |
//! | `InvArray<T>` | an inverse array of `T` moved in: a column returned unchanged keeps its buffer |
//!
//! The result type must have exactly the leaves the Spiral function returns (one per scalar, the
//! elements of a tuple, one array per leaf of an `InvArray`), and the number of parameters must
//! match: otherwise the macro stops with a compile error that says which.
//!
//! # The library: `inv` and `kernel`
//!
//! `open inv` gives inverse arrays, `{len; arrays}` records whose `arrays` is a tree of arrays
//! with the shape of the element type. Regrouping it costs nothing:
//!
//! | function | what it does |
//! | --- | --- |
//! | `create `t n` / `inv_create` | `n` zeroed elements of type `t` |
//! | `index a i` / `inv_index` | element `i` (a tuple or record of its leaves) |
//! | `set a i v` / `inv_set` | writes element `i` |
//! | `length a` / `inv_length` | the number of elements (`i32`) |
//! | `zip a b` / `inv_zip` | pairs two arrays of the same length, no copy (`Error::LengthMismatch` otherwise) |
//! | `rezip f a` / `inv_rezip` | regroups the leaves, e.g. `fun x, y => {x y}` for records, no copy |
//!
//! `open kernel` gives the kernels. A kernel body runs for every index on the device's threads:
//!
//! | function | what it does |
//! | --- | --- |
//! | `map f a` | a new inverse array of `f (index a i)` |
//! | `map_inp f a out` | writes `f (index a i)` into `out` (same length, else `Error::LengthMismatch`) |
//! | `parallel_for n body` | runs `body i` for `i` in `0..n` |
//! | `atomic_add a i v` | inside a kernel: adds `v` to integer element `i` atomically |
//! | `reduce f init a` | folds the elements on the host (sequentially for now) |
//!
//! ```
//! use spiral::{spiral, Device, Error, InvArray};
//!
//! spiral! {
//!     fn norms(dev: &Device, input: &InvArray<(f64, f64)>) -> Result<InvArray<f64>, Error>;
//!     fn saxpy(dev: &Device, a: f32, x: &InvArray<f32>, y: InvArray<f32>) -> Result<InvArray<f32>, Error>;
//!     fn histogram(dev: &Device, input: &InvArray<i32>) -> Result<InvArray<u32>, Error>;
//!     fn total(dev: &Device, counts: &InvArray<u32>) -> Result<i64, Error>;
//!     r#"
//! open inv
//! open kernel
//! // Records by regrouping the columns (no copy), then a map.
//! inl norms input = map (fun {x y} => sqrt (x * x + y * y)) (rezip (fun x, y => {x y}) input)
//! // In place: `y` is moved in, written by `map_inp` and returned in the same buffer.
//! inl saxpy a x y =
//!     map_inp (fun x, y => a * x + y) (zip x y) y
//!     y
//! // Threads counting into shared buckets must use `atomic_add`; `reduce` folds on the host.
//! inl histogram input =
//!     inl counts = create `u32 4i32
//!     parallel_for (length input) fun i => atomic_add counts (index input i % 4i32) 1u32
//!     counts
//! inl total counts = reduce (fun s x => s + x) 0i64 (map (fun c => conv `i64 c) counts)
//!     "#
//! }
//!
//! let dev = Device::cpu_with_threads(2);
//! let xy: InvArray<(f64, f64)> = vec![(3.0, 4.0), (5.0, 12.0)].into_iter().collect();
//! assert_eq!(norms(&dev, &xy)?.to_vec(), vec![5.0, 13.0]);
//!
//! let x: InvArray<f32> = (0..4).map(|i| i as f32).collect();
//! let y: InvArray<f32> = InvArray::from_columns(vec![1.0; 4])?;
//! assert_eq!(saxpy(&dev, 2.0, &x, y)?.to_vec(), vec![1.0, 3.0, 5.0, 7.0]);
//!
//! let values: InvArray<i32> = (0..1000).collect();
//! let counts = histogram(&dev, &values)?;
//! assert_eq!(counts.to_vec(), vec![250; 4]);
//! assert_eq!(total(&dev, &counts)?, 1000);
//! # Ok::<(), Error>(())
//! ```
//!
//! Kernels are checked for data races when they compile: a kernel writes an array only at its
//! own index, reads an array it writes only at that index, and updates shared elements only with
//! `atomic_add` (then it does not otherwise touch that array). Anything else is a compile error
//! at the offending line, so a generated safe function never has a data race.
//!
//! # Literals
//!
//! | literal | type |
//! | --- | --- |
//! | `1i8` `1i16` `1i32` `1i64` `1u8` `1u16` `1u32` `1u64` | that integer type |
//! | `1` (no suffix) | `i32` |
//! | `1.5f32` `1.5f64` | that float type |
//! | `1.5` (no suffix) | `f64` |
//! | `true`, `false` | `bool` |
//! | `'c'`, `'\u{e9}'` | `char` |
//! | `"text"`, `"\u{e9}\x41\n"` | `string` |
//!
//! Operands of an operator must have the same type: with `x : f32`, write `x * 2.0f32`, not
//! `x * 2` (the error says so).
//!
//! # Errors
//!
//! A Spiral error is a `compile_error!` that names the Rust file, line and column of the Spiral
//! code, shows the line and the evaluation trace, and (inside the library) points at your call:
//!
//! ```text
//! error: Spiral error at src/main.rs:9:38: the operands of `add` must have the same type
//!        Got: i32 and bool
//! ```
//!
//! At run time every failure is an [`Error`], never a panic or undefined behaviour: `failwith`,
//! an index out of bounds and an integer division by zero are [`Error::KernelFailed`] naming the
//! export; mismatched lengths are [`Error::LengthMismatch`].
//!
//! ```
//! use spiral::{spiral, Device, Error, InvArray};
//!
//! spiral! {
//!     fn ratios(dev: &Device, input: &InvArray<(i32, i32)>) -> Result<InvArray<i32>, Error>;
//!     fn add_into(dev: &Device, a: &InvArray<i32>, out: InvArray<i32>) -> Result<InvArray<i32>, Error>;
//!     r#"
//! open inv
//! open kernel
//! inl ratios input = map (fun a, b => a / b) input
//! inl add_into a out =
//!     map_inp (fun x => x + 1i32) a out
//!     out
//!     "#
//! }
//!
//! let dev = Device::cpu();
//! let ok: InvArray<(i32, i32)> = vec![(7, 2), (i32::MIN, -1)].into_iter().collect();
//! assert_eq!(ratios(&dev, &ok)?.to_vec(), vec![3, i32::MIN]); // MIN / -1 wraps
//! let zero: InvArray<(i32, i32)> = vec![(1, 0)].into_iter().collect();
//! assert!(matches!(ratios(&dev, &zero), Err(Error::KernelFailed { kernel, .. }) if kernel == "ratios"));
//!
//! let a: InvArray<i32> = (0..3).collect();
//! let short: InvArray<i32> = InvArray::zeroed(2);
//! assert!(matches!(add_into(&dev, &a, short), Err(Error::LengthMismatch { expected: 3, found: 2, .. })));
//! # Ok::<(), Error>(())
//! ```
//!
//! The semantics of every primitive operation (wrapping integers, division by zero, shifts,
//! float-to-integer conversion) are the same at compile time, under `spiral run` and in both
//! kernel paths; the README has the table.

pub use spiral_macros::spiral;
pub use spiral_rt::*;
