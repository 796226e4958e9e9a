//! The CUDA runtime: device-resident inverse arrays, kernels loaded from PTX or compiled from
//! CUDA source with NVRTC, and launches that turn a kernel's failure status into an [`Error`].
//!
//! The API exists in every build so that generated wrappers compile either way; only with the
//! crate feature `cuda` can [`Device::cuda`] succeed. Without it, or on a machine without
//! libcuda or a GPU, `Device::cuda` returns [`Error::DeviceMissing`], and every transfer or
//! launch on a non-CUDA device returns [`Error::Unsupported`]. Nothing here panics.
//!
//! # The kernel ABI
//! A kernel is
//!
//! ```c
//! extern "C" __global__ void NAME(int32_t __len, int32_t *__status, params...)
//! ```
//!
//! where every array leaf is a pair `T *ptr, size_t len` (in the order the leaves are added to
//! [`KernelArgs`]; a leaf with no elements passes a null pointer) and every scalar is passed by
//! value. The kernel covers `0..__len` with a grid-stride loop (the grid is sized from the
//! device, not from `__len`, see [`LaunchConfig`]) and stores a non-zero code into `*__status`
//! when it fails: [`STATUS_OUT_OF_BOUNDS`], [`STATUS_FAILWITH`], [`STATUS_DIVISION_BY_ZERO`].
//! [`Device::launch`] reads the status back and returns [`Error::KernelFailed`] naming the kernel.
//!
//! ```no_run
//! use spiral_rt::{Device, DeviceInvArray, InvArray, Kernel, KernelArgs};
//!
//! // Generated at build time: PTX from nvcc, or the CUDA source (`Kernel::cuda`) for NVRTC.
//! const ADD: Kernel<'static> = Kernel::ptx("entry0", "// PTX text");
//!
//! fn add(dev: &Device, a: &InvArray<(i32, i32)>) -> Result<InvArray<i32>, spiral_rt::Error> {
//!     let input = DeviceInvArray::to_device(dev, a)?;
//!     let mut output = DeviceInvArray::<i32>::zeroed(dev, a.len())?;
//!     let mut args = KernelArgs::new();
//!     args.array(&input).array_mut(&mut output).scalar(1i32);
//!     dev.launch(&ADD, a.len(), &args)?;
//!     output.to_host()
//! }
//! ```

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use crate::{Device, Error, InvArray, Inverse, Scalar, ScalarKind};

#[cfg(feature = "cuda")]
mod driver;
#[cfg(feature = "cuda")]
pub(crate) use driver::{CudaBackend, LeafBuf};

#[cfg(not(feature = "cuda"))]
mod stub;
#[cfg(not(feature = "cuda"))]
pub(crate) use stub::{CudaBackend, LeafBuf};

/// `*__status` of a kernel that indexed an array out of bounds.
pub const STATUS_OUT_OF_BOUNDS: i32 = 1;
/// `*__status` of a kernel that called `failwith`.
pub const STATUS_FAILWITH: i32 = 2;
/// `*__status` of a kernel that divided an integer by zero.
pub const STATUS_DIVISION_BY_ZERO: i32 = 3;

/// Threads per block of [`LaunchConfig::default`].
pub const DEFAULT_THREADS_PER_BLOCK: u32 = 256;
/// Blocks per multiprocessor of [`LaunchConfig::default`].
pub const DEFAULT_BLOCKS_PER_SM: u32 = 4;

/// How a CUDA device sizes the grid of a launch (see [`Device::with_launch_config`]).
///
/// A launch of `len` elements gets `threads_per_block` threads per block and
/// `min(sm_count * blocks_per_sm, ceil(len / threads_per_block), max_blocks)` blocks (at least
/// one; `max_blocks == 0` means no cap): enough blocks to fill the device, never more than the
/// elements need. Kernels therefore loop grid-stride over `0..__len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LaunchConfig {
    /// Threads per block (default [`DEFAULT_THREADS_PER_BLOCK`]); a launch checks it against
    /// the device's maximum and returns [`Error::DeviceLimit`] above it or at 0.
    pub threads_per_block: u32,
    /// Blocks per multiprocessor (default [`DEFAULT_BLOCKS_PER_SM`]; 0 is taken as 1).
    pub blocks_per_sm: u32,
    /// The most blocks of one launch; 0 (the default) means no cap.
    pub max_blocks: u32,
}

impl Default for LaunchConfig {
    fn default() -> Self {
        LaunchConfig { threads_per_block: DEFAULT_THREADS_PER_BLOCK, blocks_per_sm: DEFAULT_BLOCKS_PER_SM, max_blocks: 0 }
    }
}

impl LaunchConfig {
    /// `(blocks, threads_per_block)` of a launch of `len` elements on a device with `sm_count`
    /// multiprocessors (see the type's documentation). `threads_per_block` is returned as is,
    /// even 0; the launch checks it.
    pub fn grid(&self, sm_count: u32, len: usize) -> (u32, u32) {
        let threads = self.threads_per_block;
        let fill = sm_count.max(1).saturating_mul(self.blocks_per_sm.max(1));
        let needed = len.div_ceil(threads.max(1) as usize);
        let mut blocks = u32::try_from(needed).unwrap_or(u32::MAX).min(fill);
        if self.max_blocks > 0 {
            blocks = blocks.min(self.max_blocks);
        }
        (blocks.max(1), threads)
    }
}

/// Where a kernel's device code comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelSource<'a> {
    /// PTX text (from nvcc at build time). Loaded once per process and device: modules are
    /// cached by a hash of the text.
    Ptx(&'a str),
    /// CUDA C++ source, compiled with NVRTC at first use (once per process and GPU
    /// architecture; the PTX is cached by a hash of the source), for builds where no nvcc
    /// was found. Needs libnvrtc at run time.
    Cuda(&'a str),
}

impl<'a> KernelSource<'a> {
    /// PTX or CUDA source, told apart by their text (CUDA source declares `__global__`
    /// functions; PTX never contains that word): how spiral-build's wrappers load the file it
    /// wrote, which is PTX when nvcc was found at build time and the CUDA source otherwise.
    pub fn detect(text: &'a str) -> KernelSource<'a> {
        if text.contains("__global__") {
            KernelSource::Cuda(text)
        } else {
            KernelSource::Ptx(text)
        }
    }
}

/// A kernel: its `extern "C"` name and its device code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kernel<'a> {
    /// The `extern "C" __global__` function's name.
    pub name: &'a str,
    /// The module holding it.
    pub source: KernelSource<'a>,
}

impl<'a> Kernel<'a> {
    /// A kernel in PTX text.
    pub const fn ptx(name: &'a str, ptx: &'a str) -> Self {
        Kernel { name, source: KernelSource::Ptx(ptx) }
    }

    /// A kernel in CUDA source, compiled with NVRTC at first use.
    pub const fn cuda(name: &'a str, source: &'a str) -> Self {
        Kernel { name, source: KernelSource::Cuda(source) }
    }
}

/// What [`Device::cuda_info`] reports about a CUDA device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CudaInfo {
    /// The device ordinal.
    pub ordinal: usize,
    /// The device's name, e.g. `"NVIDIA H200"`.
    pub name: String,
    /// The compute capability `(major, minor)`, e.g. `(9, 0)`.
    pub compute_capability: (i32, i32),
    /// The number of multiprocessors.
    pub sm_count: u32,
    /// The most threads one block may have.
    pub max_threads_per_block: u32,
    /// Bytes of device memory.
    pub total_mem: usize,
}

/// One leaf of a [`DeviceInvArray`] in device memory: a buffer of `len` elements of `kind`.
pub struct DeviceLeaf {
    kind: ScalarKind,
    len: usize,
    buf: LeafBuf,
}

impl DeviceLeaf {
    /// The kind of the elements.
    pub fn kind(&self) -> ScalarKind {
        self.kind
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the leaf has no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The number of bytes (`len * kind.size()`).
    pub fn byte_len(&self) -> usize {
        self.len * self.kind.size()
    }

    /// Copies one host column to `device` (what generated wrappers do with each array a CUDA
    /// kernel takes).
    ///
    /// Errors as [`DeviceInvArray::to_device`] does.
    pub fn from_slice<S: Scalar>(device: &Device, host: &[S]) -> Result<DeviceLeaf, Error> {
        let cuda = device.cuda_backend("copy a column to device memory")?;
        let leaf = S::leaf_ref(host);
        Ok(DeviceLeaf { kind: leaf.kind(), len: leaf.len(), buf: cuda.upload(0, &leaf)? })
    }

    /// Copies the leaf back into `out` (of the same kind and length): how a wrapper brings back
    /// a column a CUDA kernel wrote.
    ///
    /// Errors with [`Error::ShapeMismatch`] or [`Error::LengthMismatch`] when `out` differs,
    /// otherwise as [`DeviceInvArray::to_host`] does.
    pub fn copy_to_slice<S: Scalar>(&self, out: &mut [S]) -> Result<(), Error> {
        if S::KIND != self.kind {
            return Err(Error::ShapeMismatch {
                from: format!("a device column of {}", self.kind),
                to: format!("a host column of {}", S::KIND),
                reason: "the element kinds differ".into(),
            });
        }
        if out.len() != self.len {
            return Err(Error::LengthMismatch { what: "a column copied back from device memory".into(), expected: self.len, found: out.len() });
        }
        self.buf.download(0, &mut S::leaf_mut(out))
    }
}

impl fmt::Debug for DeviceLeaf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceLeaf").field("kind", &self.kind).field("len", &self.len).finish()
    }
}

/// An [`InvArray`] in device memory: one device buffer per leaf, in the same order (depth
/// first, left to right), so a kernel gets the same columns a CPU kernel gets.
///
/// Made with [`to_device`](Self::to_device) or [`zeroed`](Self::zeroed) on a CUDA device;
/// [`to_host`](Self::to_host) copies it back. Every transfer waits for the device.
pub struct DeviceInvArray<T: Inverse> {
    device: Device,
    len: usize,
    leaves: Vec<DeviceLeaf>,
    _t: PhantomData<fn() -> T>,
}

impl<T: Inverse> fmt::Debug for DeviceInvArray<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceInvArray")
            .field("type", &std::any::type_name::<T>())
            .field("device", &self.device.to_string())
            .field("len", &self.len)
            .field("leaves", &self.leaves)
            .finish()
    }
}

impl<T: Inverse> DeviceInvArray<T> {
    /// Copies `host` to `device`, one buffer per leaf.
    ///
    /// Errors with [`Error::Unsupported`] when `device` is not a CUDA device, with
    /// [`Error::DeviceLimit`] when device memory runs out and with [`Error::DeviceFailed`]
    /// when the driver fails otherwise.
    pub fn to_device(device: &Device, host: &InvArray<T>) -> Result<Self, Error> {
        let cuda = device.cuda_backend("copy an array to device memory")?;
        let leaves = host
            .leaves()
            .iter()
            .enumerate()
            .map(|(i, leaf)| Ok(DeviceLeaf { kind: leaf.kind(), len: leaf.len(), buf: cuda.upload(i, leaf)? }))
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(DeviceInvArray { device: device.clone(), len: host.len(), leaves, _t: PhantomData })
    }

    /// `len` elements in device memory, every leaf zero (`false` for `bool`): a kernel's output.
    ///
    /// Errors as [`to_device`](Self::to_device) does.
    pub fn zeroed(device: &Device, len: usize) -> Result<Self, Error> {
        let cuda = device.cuda_backend("allocate an array in device memory")?;
        let leaves = InvArray::<T>::leaf_kinds()
            .into_iter()
            .enumerate()
            .map(|(i, kind)| Ok(DeviceLeaf { kind, len, buf: cuda.zeroed(i, kind, len)? }))
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(DeviceInvArray { device: device.clone(), len, leaves, _t: PhantomData })
    }

    /// Copies the array back to the host (waits for every launch before it on the device).
    ///
    /// Errors with [`Error::DeviceFailed`] when the driver fails (a kernel that faulted before
    /// is reported here too) and with [`Error::ShapeMismatch`] when a `bool` leaf holds a byte
    /// other than 0 or 1.
    pub fn to_host(&self) -> Result<InvArray<T>, Error> {
        let mut out = InvArray::<T>::zeroed(self.len);
        self.copy_to_host(&mut out)?;
        Ok(out)
    }

    /// Copies the array into `out`, which must have the same length (for `&mut` parameters).
    ///
    /// Errors with [`Error::LengthMismatch`] on another length, otherwise as
    /// [`to_host`](Self::to_host) does.
    pub fn copy_to_host(&self, out: &mut InvArray<T>) -> Result<(), Error> {
        if out.len() != self.len {
            return Err(Error::LengthMismatch { what: "copying a device array to the host".into(), expected: self.len, found: out.len() });
        }
        for (i, (leaf, mut dst)) in self.leaves.iter().zip(out.leaves_mut()).enumerate() {
            leaf.buf.download(i, &mut dst)?;
        }
        Ok(())
    }

    /// Overwrites the array with `host`, which must have the same length.
    ///
    /// Errors with [`Error::LengthMismatch`] on another length, otherwise as
    /// [`to_device`](Self::to_device) does.
    pub fn copy_from_host(&mut self, host: &InvArray<T>) -> Result<(), Error> {
        if host.len() != self.len {
            return Err(Error::LengthMismatch { what: "copying a host array to the device".into(), expected: self.len, found: host.len() });
        }
        for (i, (leaf, src)) in self.leaves.iter_mut().zip(host.leaves()).enumerate() {
            leaf.buf.upload_from(i, &src)?;
        }
        Ok(())
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The device the array lives on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The leaves, in storage order.
    pub fn leaves(&self) -> &[DeviceLeaf] {
        &self.leaves
    }

    /// The leaves, in storage order, for a kernel that writes them.
    pub fn leaves_mut(&mut self) -> &mut [DeviceLeaf] {
        &mut self.leaves
    }
}

/// One C parameter group of a launch.
#[cfg_attr(not(feature = "cuda"), allow(dead_code))]
pub(crate) enum KernelArg<'a> {
    /// `T *ptr, size_t len`.
    Leaf(&'a DeviceLeaf),
    /// A scalar by value: its bytes at the start of a `u64` (what the driver copies from).
    Value { kind: ScalarKind, bits: u64 },
}

/// The parameters of a launch after `__len` and `__status`, in order.
///
/// ```
/// use spiral_rt::KernelArgs;
/// let mut args = KernelArgs::new();
/// args.scalar(3i32).scalar(2.5f64).scalar(true);
/// assert_eq!(args.c_params(), 3);
/// ```
#[derive(Default)]
pub struct KernelArgs<'a> {
    items: Vec<KernelArg<'a>>,
}

impl fmt::Debug for KernelArgs<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut l = f.debug_list();
        for item in &self.items {
            match item {
                KernelArg::Leaf(leaf) => l.entry(&format_args!("{}* ptr, size_t len ({} elements)", leaf.kind.c_type(), leaf.len)),
                KernelArg::Value { kind, .. } => l.entry(&format_args!("{}", kind.c_type())),
            };
        }
        l.finish()
    }
}

impl<'a> KernelArgs<'a> {
    /// No parameters.
    pub fn new() -> Self {
        KernelArgs { items: Vec::new() }
    }

    /// Every leaf of an input array, each as `const T *ptr, size_t len`.
    pub fn array<T: Inverse>(&mut self, a: &'a DeviceInvArray<T>) -> &mut Self {
        self.items.extend(a.leaves.iter().map(KernelArg::Leaf));
        self
    }

    /// Every leaf of an array the kernel writes, each as `T *ptr, size_t len`.
    pub fn array_mut<T: Inverse>(&mut self, a: &'a mut DeviceInvArray<T>) -> &mut Self {
        self.items.extend(a.leaves.iter().map(KernelArg::Leaf));
        self
    }

    /// One leaf, as `T *ptr, size_t len`.
    pub fn leaf(&mut self, leaf: &'a DeviceLeaf) -> &mut Self {
        self.items.push(KernelArg::Leaf(leaf));
        self
    }

    /// A scalar by value (`bool` as one byte, 0 or 1).
    pub fn scalar<S: Scalar>(&mut self, value: S) -> &mut Self {
        let bytes = S::leaf_ref(std::slice::from_ref(&value)).as_bytes();
        let mut word = [0u8; 8];
        word[..bytes.len()].copy_from_slice(bytes);
        self.items.push(KernelArg::Value { kind: S::KIND, bits: u64::from_ne_bytes(word) });
        self
    }

    /// The number of C parameters after `__len` and `__status` (two per leaf, one per scalar).
    pub fn c_params(&self) -> usize {
        self.items.iter().map(|a| if matches!(a, KernelArg::Leaf(_)) { 2 } else { 1 }).sum()
    }

    #[cfg_attr(not(feature = "cuda"), allow(dead_code))]
    pub(crate) fn items(&self) -> &[KernelArg<'a>] {
        &self.items
    }
}

impl Device {
    /// The same device with another launch configuration (CUDA only; other devices are
    /// returned unchanged).
    pub fn with_launch_config(self, config: LaunchConfig) -> Device {
        self.map_cuda(|b| b.with_config(config))
    }

    /// The launch configuration of a CUDA device; `None` for other devices.
    pub fn launch_config(&self) -> Option<LaunchConfig> {
        self.cuda_backend("").ok().map(|b| b.config())
    }

    /// What the driver reports about a CUDA device; `None` for other devices.
    pub fn cuda_info(&self) -> Option<CudaInfo> {
        self.cuda_backend("").ok().map(|b| b.info())
    }

    /// Launches `kernel` over `0..len` on this CUDA device with `args` after `__len` and
    /// `__status` (see the [module documentation](crate::cuda)), waits for it and reads its
    /// status. A launch of 0 elements does nothing.
    ///
    /// Errors with [`Error::Unsupported`] on a non-CUDA device or with an array of another
    /// device; [`Error::DeviceLimit`] when `len` exceeds `i32::MAX` or the block size the
    /// device's maximum; [`Error::Toolchain`] (tool `"nvrtc"`) when CUDA source cannot be
    /// compiled; [`Error::KernelFailed`] naming the kernel when the module does not load, the
    /// kernel is missing, the driver refuses the launch, the device faults, or the kernel
    /// stores a non-zero status.
    pub fn launch(&self, kernel: &Kernel<'_>, len: usize, args: &KernelArgs<'_>) -> Result<(), Error> {
        let cuda = self.cuda_backend(&format!("launch the CUDA kernel `{}`", kernel.name))?;
        cuda.launch(kernel, len, args)
    }

    /// Launches `kernel` on `blocks` blocks of the [`LaunchConfig`]'s `threads_per_block`
    /// threads (which must be a multiple of 32), so that every thread runs the body once:
    /// `__len` is the number of threads, and the threads of a block cooperate through shared
    /// memory, `__syncthreads` and warp shuffles (the library's `parallel_blocks`, which its
    /// CUDA `reduce` uses). Waits for it and reads its status; 0 blocks do nothing.
    ///
    /// Errors as [`launch`](Self::launch) does, and with [`Error::Unsupported`] when the block
    /// size is not a multiple of 32.
    pub fn launch_blocks(&self, kernel: &Kernel<'_>, blocks: usize, args: &KernelArgs<'_>) -> Result<(), Error> {
        let cuda = self.cuda_backend(&format!("launch the CUDA kernel `{}`", kernel.name))?;
        cuda.launch_blocks(kernel, blocks, args)
    }
}

/// Compiles CUDA C++ `source` to PTX with NVRTC, once per process for each source and `arch`
/// (e.g. `Some("compute_90")`, passed as `--gpu-architecture`; `None` is NVRTC's default).
/// [`Device::launch`] calls it for [`KernelSource::Cuda`] with the device's architecture.
///
/// Needs no GPU, only libnvrtc (`libnvrtc.so.13`, `.12` or `.11` on the library path).
/// Errors with [`Error::Toolchain`] (tool `"nvrtc"`) when libnvrtc is missing, the crate was
/// built without the `cuda` feature, or the compilation fails (the message holds NVRTC's log);
/// a failure is cached like a success.
pub fn nvrtc_compile(source: &str, arch: Option<&str>) -> Result<Arc<str>, Error> {
    #[cfg(feature = "cuda")]
    {
        driver::nvrtc_compile(source, arch)
    }
    #[cfg(not(feature = "cuda"))]
    {
        let _ = (source, arch);
        Err(Error::Toolchain { tool: "nvrtc".into(), message: stub::NO_FEATURE.into() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_fills_the_device_but_not_more_than_the_elements_need() {
        let c = LaunchConfig::default();
        assert_eq!(c.grid(132, 1), (1, 256));
        assert_eq!(c.grid(132, 256), (1, 256));
        assert_eq!(c.grid(132, 257), (2, 256));
        assert_eq!(c.grid(132, 1 << 30), (528, 256));
        assert_eq!(c.grid(0, 1 << 30), (4, 256));
        assert_eq!(LaunchConfig { max_blocks: 7, ..c }.grid(132, 1 << 30), (7, 256));
        assert_eq!(LaunchConfig { threads_per_block: 0, ..c }.grid(132, 10), (10, 0));
        assert_eq!(c.grid(u32::MAX, usize::MAX), (u32::MAX, 256));
    }

    #[test]
    fn scalars_travel_as_their_bytes() {
        let mut args = KernelArgs::new();
        args.scalar(-1i8).scalar(true).scalar(1.5f32).scalar(u64::MAX);
        let bits: Vec<u64> = args.items().iter().map(|a| match a { KernelArg::Value { bits, .. } => *bits, _ => 0 }).collect();
        assert_eq!(bits[0].to_ne_bytes()[..1], [0xff]);
        assert_eq!(bits[0].to_ne_bytes()[1..], [0; 7]);
        assert_eq!(bits[1].to_ne_bytes()[..1], [1]);
        assert_eq!(bits[2].to_ne_bytes()[..4], 1.5f32.to_ne_bytes());
        assert_eq!(bits[3], u64::MAX);
        assert_eq!(args.c_params(), 4);
        assert_eq!(format!("{args:?}"), "[int8_t, bool, float, uint64_t]");
    }
}
