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
//! Top-down Spiral (v2's `.spi` modules) goes in `spi = r#"..."#` or a `file` ending in `.spi`:
//! it is type-checked first, each export's Rust signature is checked against the inferred type
//! (a mismatch is an error at the Rust parameter or result, naming both types), and unsuffixed
//! literals take the types inference gives them. After `open kernel`, an `InvArray<T>` is an
//! `inv_array t` and the kernels (`map`, `reduce`, `fold`, `filter`, ...) have types:
//!
//! ```
//! use spiral::{spiral, Device, Error, InvArray};
//!
//! spiral! {
//!     fn scaled_total(dev: &Device, xs: &InvArray<f32>, by: f32) -> Result<f32, Error>;
//!     spi = r#"
//! open kernel
//! inl scaled_total xs by = reduce (+) 0 (map (fun x => x * by + 1) xs)
//!     "#
//! }
//!
//! let xs: InvArray<f32> = (0..4).map(|i| i as f32).collect();
//! assert_eq!(scaled_total(&Device::cpu(), &xs, 2.0)?, 16.0);
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
//! | `usize` | an `i32` (lengths and indices); more than `i32::MAX` in is [`Error::DeviceLimit`], a negative result out is an error |
//! | `(A, B, C)` | the pair `a * (b * c)` (write `a, b, c`) |
//! | `()` | `()` |
//! | a struct declared in the same `spiral!` (below) | the record of its fields |
//! | `&InvArray<T>`, [`InvSlice<T>`] | an inverse array of `T` whose columns are lent (read-only) or copied |
//! | `InvArray<T>` | an inverse array of `T` moved in: a column returned unchanged keeps its buffer |
//! | `&mut InvArray<T>`, [`InvSliceMut<T>`] | an inverse array of `T` worked on in place: the caller's buffers |
//!
//! The result type must have exactly the leaves the Spiral function returns (one per scalar, the
//! elements of a tuple, one array per leaf of an `InvArray`), and the number of parameters must
//! match: otherwise the macro stops with a compile error at the signature that says which.
//!
//! In place: a `&mut InvArray<T>` or an `InvSliceMut<T>` (from [`InvArray::slice_mut`]) is
//! written where it lies, so its data pointers never change. A slice view may only be read,
//! written and passed to kernels (not stored or returned); a `&mut InvArray` that the program
//! also returns comes back in the caller's array and the result is a copy.
//!
//! ```
//! use spiral::{spiral, Device, Error, InvArray};
//!
//! spiral! {
//!     fn saxpy(dev: &Device, a: f32, x: &InvArray<f32>, y: &mut InvArray<f32>) -> Result<(), Error>;
//!     fn scale(dev: &Device, k: f32, y: spiral::InvSliceMut<f32>) -> Result<(), Error>;
//!     r#"
//! open inv
//! open kernel
//! inl saxpy a x y = map_inp (fun x, y => a * x + y) (zip x y) y
//! inl scale k y = map_inp (fun y => k * y) y y
//!     "#
//! }
//!
//! let dev = Device::cpu_with_threads(2);
//! let x: InvArray<f32> = (0..4).map(|i| i as f32).collect();
//! let mut y: InvArray<f32> = InvArray::from_columns(vec![1.0; 4])?;
//! let before = y.columns().as_ptr();
//! saxpy(&dev, 2.0, &x, &mut y)?;
//! assert_eq!(y.to_vec(), vec![1.0, 3.0, 5.0, 7.0]);
//! scale(&dev, 10.0, y.slice_mut(2..))?; // only the last two elements
//! assert_eq!(y.to_vec(), vec![1.0, 3.0, 50.0, 70.0]);
//! assert_eq!(y.columns().as_ptr(), before); // the same buffer throughout
//! # Ok::<(), Error>(())
//! ```
//!
//! ## Structs
//!
//! A struct with named fields declared inside the `spiral!` (with `#[derive(Inverse)]`, so an
//! [`InvArray`] stores it as one column per leaf field) may appear in the signatures, by value
//! or as the element type of an inverse array. Spiral sees it as a record, so a `map` can take
//! and return records:
//!
//! ```
//! use spiral::{spiral, Device, Error, InvArray};
//!
//! spiral! {
//!     #[derive(Clone, Copy, Debug, PartialEq, spiral::Inverse)]
//!     pub struct Particle { pub x: f32, pub v: f32 }
//!     fn step(dev: &Device, dt: f32, ps: &mut InvArray<Particle>) -> Result<(), Error>;
//!     r#"
//! open inv
//! open kernel
//! inl step dt ps = map_inp (fun {x v} => {x = x + dt * v; v = v - dt * 9.81f32}) ps ps
//!     "#
//! }
//!
//! let mut ps: InvArray<Particle> = (0..3).map(|i| Particle { x: i as f32, v: 1.0 }).collect();
//! step(&Device::cpu(), 0.5, &mut ps)?;
//! assert_eq!(ps.get(2), Some(Particle { x: 2.5, v: 1.0 - 0.5 * 9.81 }));
//! # Ok::<(), Error>(())
//! ```
//!
//! # The library: `inv` and `kernel`
//!
//! `open inv` gives inverse arrays, `{len; arrays}` records whose `arrays` is a tree of arrays
//! with the shape of the element type. Regrouping it costs nothing:
//!
//! | function | what it does |
//! | --- | --- |
//! | `create `t n` / `inv_create` | `n` zeroed elements of type `t` (a tuple or record type too) |
//! | `index a i` / `inv_index` | element `i` (a tuple or record of its leaves) |
//! | `set a i v` / `inv_set` | writes element `i` |
//! | `length a` / `inv_length` | the number of elements (`i32`) |
//! | `zip a b` / `inv_zip` | pairs two arrays of the same length, no copy (`Error::LengthMismatch` otherwise) |
//! | `rezip f a` / `inv_rezip` | regroups the leaves, e.g. `fun x, y => {x y}` for records, no copy |
//!
//! `open kernel` gives the kernels. A kernel body runs for every index on the device's threads
//! (a persistent pool: nothing is spawned per launch):
//!
//! | function | what it does |
//! | --- | --- |
//! | `map f a` | a new inverse array of `f (index a i)` (`f` may return a tuple or a record) |
//! | `map_inp f a out` | writes `f (index a i)` into `out` (same length, else `Error::LengthMismatch`) |
//! | `parallel_for n body` | runs `body i` for `i` in `0..n` |
//! | `reduce f init a` | `f init (a0 `f` a1 `f` ...)` in parallel: `f` associative, on the element type; an empty array gives `init` |
//! | `fold f init a` | a sequential fold on the host (the accumulator may have another type) |
//! | `scan_inclusive f init a` | a new array of `init `f` a0 `f` .. `f` ai`, in parallel |
//! | `scan_exclusive f init a` | the same up to `a(i-1)` (element 0 is `init`) |
//! | `scan_into exclusive f init a out` | a scan into `out` (same length, another array) |
//! | `filter pred a` | the elements where `pred` holds, in order (stream compaction), in parallel |
//! | `histogram bins bin a` | counts (`i64`) of `bin x` over `0 .. bins`, in parallel |
//! | `atomic_add a i v`, `atomic_min`, `atomic_max` | inside a kernel: updates integer element `i` atomically |
//! | `atomic_cas a i expected desired` | inside a kernel: sets element `i` to `desired` if it is `expected`; returns the old value |
//!
//! `reduce`, the scans and `filter` split the array into at most 256 chunks chosen from its
//! length alone, so a float result is the same on every thread count.
//!
//! ```
//! use spiral::{spiral, Device, Error, InvArray};
//!
//! spiral! {
//!     fn norms(dev: &Device, input: &InvArray<(f64, f64)>) -> Result<InvArray<f64>, Error>;
//!     fn histogram(dev: &Device, input: &InvArray<i32>) -> Result<InvArray<u32>, Error>;
//!     fn stats(dev: &Device, xs: &InvArray<f64>) -> Result<(f64, f64), Error>;
//!     fn prefix(dev: &Device, xs: &InvArray<i64>) -> Result<InvArray<i64>, Error>;
//!     fn positives(dev: &Device, xs: &InvArray<f64>) -> Result<InvArray<f64>, Error>;
//!     fn claim(dev: &Device, n: usize) -> Result<InvArray<i32>, Error>;
//!     r#"
//! open inv
//! open kernel
//! // Records by regrouping the columns (no copy), then a map.
//! inl norms input = map (fun {x y} => sqrt (x * x + y * y)) (rezip (fun x, y => {x y}) input)
//! // Threads counting into shared buckets must use atomics.
//! inl histogram input =
//!     inl counts = create `u32 4i32
//!     parallel_for (length input) fun i => atomic_add counts (index input i % 4i32) 1u32
//!     counts
//! inl stats xs = reduce (fun a b => a + b) 0.0 xs, reduce (fun a b => if a > b then a else b) -1000000.0 xs
//! inl prefix xs = scan_inclusive (fun a b => a + b) 0i64 xs
//! inl positives xs = filter (fun x => x > 0.0) xs
//! // The first index to claim cell 0 wins; the others see its mark.
//! inl claim n =
//!     inl cell = create `i32 1i32
//!     parallel_for n fun i => atomic_cas cell 0i32 0i32 (i + 1i32) |> ignore
//!     cell
//!     "#
//! }
//!
//! let dev = Device::cpu_with_threads(2);
//! let xy: InvArray<(f64, f64)> = vec![(3.0, 4.0), (5.0, 12.0)].into_iter().collect();
//! assert_eq!(norms(&dev, &xy)?.to_vec(), vec![5.0, 13.0]);
//!
//! let values: InvArray<i32> = (0..1000).collect();
//! assert_eq!(histogram(&dev, &values)?.to_vec(), vec![250; 4]);
//!
//! let xs: InvArray<f64> = (0..100).map(|i| i as f64 - 49.5).collect();
//! assert_eq!(stats(&dev, &xs)?, (0.0, 49.5));
//! assert_eq!(positives(&dev, &xs)?.len(), 50);
//! let ones: InvArray<i64> = InvArray::from_columns(vec![1; 5])?;
//! assert_eq!(prefix(&dev, &ones)?.to_vec(), vec![1, 2, 3, 4, 5]);
//! assert!(claim(&dev, 100)?.get(0).unwrap() > 0);
//! # Ok::<(), Error>(())
//! ```
//!
//! Kernels are checked for data races when they compile: a kernel writes an array only at its
//! own index (or, through the library's `chunk_set`, inside the range its index owns, checked
//! at run time), reads an array it writes only at that index, and updates shared elements only
//! with atomics (then it does not otherwise touch that array). Anything else is a compile
//! error at the offending line, so a generated safe function never has a data race. State
//! inside a kernel (a loop counter, an accumulator) is a `mut` record created in the kernel:
//! it lives in registers and never leaves the index's work.
//!
//! # CUDA
//!
//! `targets = [cpu, cuda]` before the signatures compiles every export twice when the crate
//! builds: with Rust kernels for the CPU device and with CUDA kernels (the library's
//! `parallel_for`, and so `map`, `reduce`, the scans..., becomes `join_backend Cuda`: a
//! grid-stride loop). The generated function runs the one that matches the device it is
//! given. The CUDA C++ is compiled to PTX by `nvcc` during the build when one is found
//! (`SPIRAL_NVCC`, `PATH`, `CUDA_HOME`, or the PyPI wheel `nvidia-cuda-nvcc`; `SPIRAL_CUDA_ARCH`
//! picks the target, `compute_75` by default); otherwise the source is embedded and compiled
//! with NVRTC at the first launch, and the build prints a warning saying so. `targets = [cuda]`
//! alone makes CPU devices an [`Error::Unsupported`].
//!
//! GPUs need the `cuda` feature of this crate (cudarc, loaded dynamically: the crate builds and
//! runs without CUDA installed). [`Device::cuda`] returns a typed error when there is no
//! driver or no GPU; nothing panics. Each launch copies the [`InvArray`]s it takes to the device
//! and the ones it writes back. A [`DeviceInvArray`] keeps data resident on the GPU: as a
//! parameter, `&DeviceInvArray<T>` (kernels read it) or `&mut DeviceInvArray<T>` (kernels
//! write it in place) is passed to the kernels with no copy, the Spiral function may only hand
//! its arrays to kernels (anything else is a compile error naming the parameter), and the
//! export returns [`Error::Unsupported`] on a device other than a GPU.
//!
//! ```
//! use spiral::{spiral, Device, Error, InvArray};
//!
//! spiral! {
//!     targets = [cpu, cuda],
//!     fn scale(dev: &Device, k: f32, xs: &mut InvArray<f32>) -> Result<(), Error>;
//!     r#"
//! open inv
//! open kernel
//! inl scale k xs = map_inp (fun x => k * x) xs xs
//!     "#
//! }
//!
//! let mut xs: InvArray<f32> = (0..4).map(|i| i as f32).collect();
//! let dev = Device::cuda(0).unwrap_or_else(|_| Device::cpu()); // a GPU when there is one
//! scale(&dev, 2.0, &mut xs)?;
//! assert_eq!(xs.to_vec(), vec![0.0, 2.0, 4.0, 6.0]);
//! # Ok::<(), Error>(())
//! ```
//!
//! A CUDA kernel has no heap, strings or closures: an allocation, a string or a closure inside
//! one is a compile error at its Spiral line. Its atomics work on 32- and 64-bit integers.
//!
//! On CUDA, `reduce` is a block kernel: each block folds its range of the array with warp
//! shuffles (lanes combined in order) and shared memory, and the host combines one partial per
//! block, so `f` still need only be associative. The scans are two block kernels: the blocks'
//! totals, then (after the host scans those into offsets) each block's scan of its range, with
//! a warp scan of its threads' totals. The block functions they are built from are library
//! functions for CUDA kernels, under v2's names where v2 has them:
//!
//! | function | CUDA |
//! | --- | --- |
//! | `parallel_blocks blocks body` | a launch of `blocks` blocks, `body ()` once on every thread |
//! | `thread_index ()`, `block_index ()`, `threads_per_block ()` | `threadIdx.x`, `blockIdx.x`, `blockDim.x` |
//! | `syncthreads ()` | `__syncthreads()` |
//! | `shuffle_down x delta`, `shuffle_up x delta` | `__shfl_down_sync`, `__shfl_up_sync` over the warp, leaf by leaf |
//! | `` shared_create `t n `` | an inverse array of `n` (a literal) elements in `__shared__` memory |
//! | `warp_reduce f (has, x)` | an in-order reduction of the warp's lanes into lane 0 |
//! | `warp_scan_inclusive f (has, x)` | an in-order inclusive scan over the warp's lanes |
//!
//! Using one outside a CUDA kernel is a compile error that says to choose a CPU version with
//! `kernel_switch`. The race check does not cover shared memory: the `syncthreads` that order
//! its writes and reads are the writer's to place.
//!
//! Without a GPU, the exact generated CUDA is tested on the CPU against a model of CUDA's
//! execution (`spiral-compiler/src/codegen/cuda/cuda_model.h`: blocks in turn, a block's
//! threads as real threads with a barrier, warp shuffles through a barrier per warp, atomics).
//! The model does not reproduce warps running in lockstep, shuffles with partial masks or the
//! finer points of CUDA's memory model.
//!
//! # UPMEM
//!
//! `targets = [cpu, upmem]` compiles every export for UPMEM processing-in-memory DPUs too
//! (`join_backend UPMEM_C_Kernel`, v2's name): each kernel becomes a whole DPU C program,
//! compiled for the device's tasklet count at its first launch (and cached), and the generated
//! function runs it when given an UPMEM device: [`Device::upmem`] (the SDK, found through
//! `UPMEM_HOME`) or [`Device::upmem_emulator`] (an emulator of the SDK's host API that keeps the
//! hardware's rules; see `spiral_rt::upmem`). Both need the `upmem` feature of this crate
//! (bindgen over `dpu.h`, so building needs libclang: `apt-get install libclang-dev`); without
//! it they return [`Error::DeviceMissing`] saying so.
//!
//! Every array leaf is split over the DPUs, a contiguous part each in its MRAM. `map` and
//! `map_inp` stream each tasklet's share through WRAM in DMA blocks; `reduce` folds per tasklet,
//! combines the tasklets after a barrier and the DPUs' partials on the host, in order (so `f`
//! need only be associative); a `parallel_for` body runs for each index of every DPU's part and
//! may read and write arrays at its own index only (a DPU holds only its part). A launch pushes
//! the leaves a kernel reads and pulls back the ones it writes. Atomics, the C math library
//! (`sqrt`, float `%`...), the scans, `filter` and `histogram` are compile errors on UPMEM.
//!
//! ```
//! use spiral::{spiral, Device, Error, InvArray};
//!
//! spiral! {
//!     targets = [cpu, upmem],
//!     fn add10(dev: &Device, input: &InvArray<(i32, i32, i32)>) -> Result<InvArray<i32>, Error>;
//!     fn total(dev: &Device, xs: &InvArray<i64>) -> Result<i64, Error>;
//!     r#"
//! open inv
//! open kernel
//! inl add10 input = map (fun (a, b, c) => a + b + c + 10i32) input
//! inl total xs = reduce (fun a b => a + b) 0i64 xs
//!     "#
//! }
//!
//! let input: InvArray<(i32, i32, i32)> = (0..64).map(|i| (i, i, i)).collect();
//! // 4 DPUs with 16 tasklets each; the CPU when this build has no `upmem` feature.
//! let dev = Device::upmem_emulator(4, 16).unwrap_or_else(|_| Device::cpu());
//! let out = add10(&dev, &input)?;
//! assert_eq!((out.get(0), out.get(1), out.get(63)), (Some(10), Some(13), Some(199)));
//! let xs: InvArray<i64> = (1..=100).collect();
//! assert_eq!(total(&dev, &xs)?, 5050);
//! # Ok::<(), Error>(())
//! ```
//!
//! Inside `parallel_tasklets body` (a tasklet kernel: `body ()` once on every tasklet of every
//! DPU) the library has the DPU's own functions: `tasklet_index ()` (`me()`), `tasklets ()`
//! (`NR_TASKLETS`), `dpu_index ()`, `tasklet_barrier ()` (`barrier_wait`), `` shared_create `t n ``
//! (WRAM shared by the DPU's tasklets), `` tasklet_create `t n `` (a WRAM buffer per tasklet),
//! `mram_read m from n w` and `mram_write w m from n` (DMA between the DPU's part of `m` and the
//! WRAM array `w`), `inv_local_length a` (the DPU's part of `a`), `tasklet_range len` (the
//! tasklet's 8-element-aligned share) and, in host code, `upmem_dpus ()`. Indices there are
//! local to the DPU's part. WRAM use is computed at compile time for 24 tasklets and checked
//! against the DPU's 64 KiB; a kernel over it is a compile error at its Spiral line.
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
//! At run time every failure is an [`Error`], never a panic or undefined behaviour, and nothing
//! is printed: `failwith`, an index out of bounds and an integer division by zero are
//! [`Error::KernelFailed`] naming the export; mismatched lengths are [`Error::LengthMismatch`].
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
