//! The Spiral runtime: inverse arrays (struct-of-arrays), devices, launches and typed errors.
//!
//! Spiral kernels are called through typed Rust functions generated at build time. Those
//! functions take and return [`InvArray`]s, which store an array of tuples or structs as one
//! contiguous buffer per primitive leaf, the same layout the kernel sees on the device, and
//! they run on a [`Device`]. Every failure is an [`Error`], never a panic.
//!
//! ```
//! use spiral_rt::{Device, InvArray, Inverse};
//!
//! #[derive(Inverse, Debug, Clone, Copy, PartialEq)]
//! struct Xyz { x: i32, y: i32, z: i32 }
//!
//! // Three columns, zipped and regrouped as a struct without copying a single element.
//! let n = 16;
//! let xs: InvArray<i32> = (0..n).collect();
//! let yz: InvArray<(i32, i32)> = (0..n).map(|i| (i, i)).collect();
//! let input: InvArray<Xyz> = InvArray::zip(xs, yz)?.rezip()?;
//!
//! // A map kernel on the CPU device, chunked over two threads.
//! let dev = Device::cpu_with_threads(2);
//! let out = dev.map(&input, |Xyz { x, y, z }| (x + y + z, x * y * z))?;
//! assert_eq!(out.get(3), Some((9, 27)));
//! assert_eq!(out.display_columns().limit(4).to_string(), "[0 3 6 9 ...]\n[0 1 8 27 ...]");
//!
//! // Mismatched lengths are a typed error, not a panic.
//! let short: InvArray<i32> = (0..3).collect();
//! assert!(InvArray::zip(short, out).is_err());
//! # Ok::<(), spiral_rt::Error>(())
//! ```
//!
//! # Layout and the kernel ABI
//! Leaves are stored depth first, left to right: `(a, (b, c))` and `{x, y, z}` both have
//! three leaves. [`InvArray::leaves`] and [`InvArray::leaves_mut`] give them type-erased
//! ([`LeafRef`], [`LeafMut`]) with their [`ScalarKind`]; a C kernel receives, per leaf, a
//! pointer ([`LeafRef::as_ptr`], [`LeafMut::as_mut_ptr`]) and the length. The [`pack`] module
//! lays leaves out for device transfers (one buffer per leaf for CUDA, 8-byte-aligned MRAM
//! blocks per DPU for UPMEM).
//!
//! # What a generated wrapper does
//! A wrapper checks lengths, hands each leaf to the kernel (on the CPU: a pointer), launches on
//! the device's threads and returns the outputs. Here the "kernel" is an `extern "C"` function
//! written in Rust with the signature a C kernel has: the chunk's range, then one pointer per
//! leaf.
//!
//! ```
//! use spiral_rt::{check_lengths, Device, Error, InvArray, SendPtr};
//!
//! /// for i in start..end: (s[i], p[i]) = (a[i] + b[i] + c[i], a[i] * b[i] * c[i])
//! unsafe extern "C" fn kernel0(start: usize, end: usize, a: *const i32, b: *const i32,
//!                              c: *const i32, s: *mut i32, p: *mut i32) {
//!     for i in start..end {
//!         let (a, b, c) = unsafe { (*a.add(i), *b.add(i), *c.add(i)) };
//!         unsafe { *s.add(i) = a + b + c; *p.add(i) = a * b * c; }
//!     }
//! }
//!
//! pub fn map_kernel(dev: &Device, input: &InvArray<(i32, i32, i32)>) -> Result<InvArray<(i32, i32)>, Error> {
//!     let n = check_lengths("map_kernel", &[("input", input.len())])?;
//!     let mut output = InvArray::<(i32, i32)>::zeroed(n);
//!     let (a, b, c) = input.columns();
//!     let (a, b, c) = (SendPtr::from_const(a.as_ptr()), SendPtr::from_const(b.as_ptr()), SendPtr::from_const(c.as_ptr()));
//!     let (s, p) = output.columns_mut();
//!     let (s, p) = (SendPtr::new(s.as_mut_ptr()), SendPtr::new(p.as_mut_ptr()));
//!     dev.for_each_chunk(n, move |r| unsafe { kernel0(r.start, r.end, a.get(), b.get(), c.get(), s.get(), p.get()) })
//!         .map_err(|e| e.with_kernel("map_kernel"))?;
//!     Ok(output)
//! }
//!
//! let input: InvArray<(i32, i32, i32)> = (0..10).map(|i| (i, i, i)).collect();
//! let out = map_kernel(&Device::cpu_with_threads(2), &input)?;
//! assert_eq!(out.display_columns().to_string(), "[0 3 6 9 12 15 18 21 24 27]\n[0 1 8 27 64 125 216 343 512 729]");
//! # Ok::<(), spiral_rt::Error>(())
//! ```
//!
//! # Features
//! * `cuda` (off by default): NVIDIA GPUs through [cudarc](https://docs.rs/cudarc/0.19.10)
//!   0.19.10 with dynamic loading (bindings of CUDA 13.0, feature `cuda-13000`; libcuda and
//!   libnvrtc 13, 12 or 11 are found at run time, so building needs no CUDA toolkit).
//!   [`Device::cuda`] opens a GPU, [`DeviceInvArray`] holds one device buffer per leaf, and
//!   [`Device::launch`] runs a [`Kernel`] given as PTX or as CUDA source compiled once per
//!   process with NVRTC ([`nvrtc_compile`]); see the [`cuda`] module for the kernel ABI. A
//!   missing library, symbol or GPU is [`Error::DeviceMissing`], never a panic. Without the
//!   feature the same API exists (so generated wrappers compile) but `Device::cuda` returns
//!   [`Error::DeviceMissing`] saying so, and the default build does not depend on cudarc.
//!
//! # Deriving `Inverse`
//! `#[derive(Inverse)]` works on structs with named fields, tuple structs and unit structs
//! whose fields are themselves [`Inverse`] (scalars, tuples, fixed-size arrays, other derived
//! structs). For a
//! struct `Foo` it also defines `FooColumns` (owned `Vec`s), `FooSlices<'a>` and
//! `FooSlicesMut<'a>` (slices), with the same field names and visibility, so that
//! `array.columns().x` is the `x` column. The generated code names the runtime as
//! `::spiral_rt`, or `::spiral` when the crate depends on `spiral` and not on `spiral-rt`;
//! `#[inverse(crate = "path")]` overrides it.

#![warn(missing_docs)]

// Lets `#[derive(Inverse)]` (which names `::spiral_rt`) be used inside this crate too.
extern crate self as spiral_rt;

mod array;
pub mod cuda;
mod device;
mod error;
mod inverse;
pub mod pack;
#[doc(hidden)]
pub mod __private {
    //! Support for generated wrappers; not a public API.
    pub use crate::private::*;
}
mod private;
mod scalar;
pub mod upmem;

pub use cuda::{nvrtc_compile, CudaInfo, DeviceInvArray, DeviceLeaf, Kernel, KernelArgs, KernelSource, LaunchConfig};
pub use array::{check_lengths, zip, ColumnsDisplay, IntoIter, InvArray, InvSlice, InvSliceMut, Iter};
pub use device::{Device, DeviceKind, SendPtr, CHUNKS_PER_THREAD, CPU_CLOSURE, CPU_THREADS_VAR, MAX_CPU_THREADS};
pub use error::Error;
pub use inverse::{ErasedColumn, Inverse, Split};
pub use scalar::{LeafMut, LeafRef, Scalar, ScalarKind};
pub use spiral_rt_derive::Inverse;
pub use upmem::{UpmemArgs, UpmemKernel, UpmemRule, UpmemStats};
