//! Devices: where kernels run. The CPU (one or several threads), with the crate feature
//! `cuda` NVIDIA GPUs (see [`crate::cuda`]), and with the crate feature `upmem` UPMEM DPUs,
//! through the SDK or its emulator (see [`crate::upmem`]).

use std::fmt;
use std::ops::Range;
use std::panic::{self, AssertUnwindSafe};
use std::thread;

use crate::cuda::CudaBackend;
use crate::upmem::UpmemBackend;
use crate::inverse::{Inverse, Split};
use crate::{Error, InvArray};

/// Runs one chunk, turning a panic or Spiral failure into [`Error::KernelFailed`] (the
/// message names the chunk; it is only formatted on failure).
fn run_guarded<S, F>(r: Range<usize>, kernel: &F, s: S) -> Result<(), Error>
where
    F: Fn(Range<usize>, S) + ?Sized,
{
    let (start, end) = (r.start, r.end);
    panic::catch_unwind(AssertUnwindSafe(|| kernel(r, s))).map_err(|payload| Error::KernelFailed {
        kernel: CPU_CLOSURE.into(),
        message: format!("panicked in chunk {start}..{end}: {}", panic_message(&*payload)),
    })
}

/// How many chunks per thread a launch on several threads is split into: enough that threads
/// finishing early take over work from a slowed one, few enough that the per-chunk cost stays
/// negligible.
pub const CHUNKS_PER_THREAD: usize = 4;

/// The kind of a [`Device`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeviceKind {
    /// The host CPU, running kernels on one or several threads.
    Cpu,
    /// An NVIDIA GPU.
    Cuda,
    /// A set of UPMEM processing-in-memory DPUs.
    Upmem,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Backend {
    Cpu { threads: usize, min_chunk: usize },
    /// A CUDA GPU (uninhabited without the `cuda` feature).
    Cuda(CudaBackend),
    /// A set of UPMEM DPUs (uninhabited without the `upmem` feature).
    Upmem(UpmemBackend),
}

/// A device that runs kernels. Cheap to clone; generated wrappers take `&Device`.
///
/// The CPU device splits an index range `0..len` into one contiguous chunk per thread and
/// runs the chunks on a persistent thread pool (rayon; one pool per thread count, started on
/// first use), or inline on the calling thread when one chunk suffices. The partition depends
/// only on `len` and the thread count, so results are deterministic.
///
/// ```
/// use spiral_rt::{Device, InvArray};
///
/// let dev = Device::cpu_with_threads(2);
/// let input: InvArray<(i32, i32, i32)> = (0..8).map(|i| (i, i, i)).collect();
/// let out = dev.map(&input, |(a, b, c)| (a + b + c, a * b * c))?;
/// assert_eq!(out.get(3), Some((9, 27)));
/// # Ok::<(), spiral_rt::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    backend: Backend,
}

impl Default for Device {
    /// The CPU device with [`Device::cpu`]'s thread count.
    fn default() -> Self {
        Device::cpu()
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.backend {
            Backend::Cpu { threads: 1, .. } => f.write_str("cpu (1 thread)"),
            Backend::Cpu { threads, .. } => write!(f, "cpu ({threads} threads)"),
            Backend::Cuda(b) => f.write_str(&b.describe()),
            Backend::Upmem(b) => f.write_str(&b.describe()),
        }
    }
}

/// The persistent rayon pool with `threads` threads (one per thread count, started on first use
/// and kept for the life of the process), so a launch hands chunks to waiting threads instead
/// of starting new ones.
fn cpu_pool(threads: usize) -> Result<std::sync::Arc<rayon::ThreadPool>, Error> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<rayon::ThreadPool>>>> = OnceLock::new();
    let mut pools = POOLS.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = pools.get(&threads) {
        return Ok(p.clone());
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("spiral-cpu-{i}"))
        .build()
        .map_err(|e| Error::KernelFailed { kernel: CPU_CLOSURE.into(), message: format!("could not start the CPU thread pool: {e}") })?;
    let pool = Arc::new(pool);
    pools.insert(threads, pool.clone());
    Ok(pool)
}

/// Turns a panic payload into a message.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    crate::private::payload_message(payload)
}

/// The environment variable that sets [`Device::cpu`]'s thread count.
pub const CPU_THREADS_VAR: &str = "SPIRAL_CPU_THREADS";

/// The most threads a CPU device runs a kernel on. [`Device::cpu_with_threads`] and the
/// [`CPU_THREADS_VAR`] override of [`Device::cpu`] clamp larger counts to it (a pool of far
/// more threads than any machine has cores only exhausts memory: `cpu_with_threads(usize::MAX)`
/// used to abort the process).
pub const MAX_CPU_THREADS: usize = 512;

/// The kernel name [`Error::KernelFailed`] carries for closures run on the CPU device;
/// generated wrappers replace it with [`Error::with_kernel`].
pub const CPU_CLOSURE: &str = "<cpu closure>";

impl Device {
    /// The CPU device with one thread per available core (`std::thread::available_parallelism`,
    /// or 1 when that is unknown). A positive integer in the environment variable
    /// [`CPU_THREADS_VAR`] (`SPIRAL_CPU_THREADS`) overrides the count; any other value is ignored.
    /// Either way the count is at most [`MAX_CPU_THREADS`].
    pub fn cpu() -> Device {
        let from_env = std::env::var(CPU_THREADS_VAR).ok().and_then(|v| v.trim().parse::<usize>().ok()).filter(|&n| n > 0);
        let threads = from_env.unwrap_or_else(|| thread::available_parallelism().map_or(1, |n| n.get()));
        Device::cpu_with_threads(threads)
    }

    /// The CPU device with `threads` threads: 0 is taken as 1, and counts above
    /// [`MAX_CPU_THREADS`] as [`MAX_CPU_THREADS`].
    pub fn cpu_with_threads(threads: usize) -> Device {
        Device { backend: Backend::Cpu { threads: threads.clamp(1, MAX_CPU_THREADS), min_chunk: 1 } }
    }

    /// The same device, but never splitting a launch into chunks smaller than `min_chunk`
    /// elements (0 is taken as 1, the default): a launch of `len` elements uses at most
    /// `len / min_chunk` threads (at least one). Handing a chunk to a pool thread costs a few
    /// microseconds, so very small launches run faster on fewer threads.
    /// CUDA devices are returned unchanged.
    pub fn with_min_chunk(self, min_chunk: usize) -> Device {
        match self.backend {
            Backend::Cpu { threads, .. } => Device { backend: Backend::Cpu { threads, min_chunk: min_chunk.max(1) } },
            backend @ (Backend::Cuda(_) | Backend::Upmem(_)) => Device { backend },
        }
    }

    /// The smallest chunk the device splits a launch into (see [`with_min_chunk`](Self::with_min_chunk)).
    pub fn min_chunk(&self) -> usize {
        match self.backend {
            Backend::Cpu { min_chunk, .. } => min_chunk,
            Backend::Cuda(_) | Backend::Upmem(_) => 1,
        }
    }

    /// The CUDA GPU with this ordinal, with the default [`LaunchConfig`](crate::LaunchConfig).
    ///
    /// With the crate feature `cuda`, libcuda is loaded at run time (cudarc, dynamic loading)
    /// after checking that it exists and has every entry point the runtime calls; the context
    /// is the device's primary context, shared by every `Device` of this ordinal in the process.
    ///
    /// Errors with [`Error::DeviceMissing`], never a panic, when the crate was built without
    /// the `cuda` feature, libcuda is missing or incomplete, the driver cannot start, or there
    /// is no GPU with this ordinal; the reason says which.
    pub fn cuda(ordinal: usize) -> Result<Device, Error> {
        CudaBackend::open(ordinal).map(|b| Device { backend: Backend::Cuda(b) })
    }

    /// This device's CUDA backend, or [`Error::Unsupported`] saying it cannot `operation`.
    pub(crate) fn cuda_backend(&self, operation: &str) -> Result<&CudaBackend, Error> {
        match &self.backend {
            Backend::Cuda(b) => Ok(b),
            Backend::Cpu { .. } | Backend::Upmem(_) => Err(Error::Unsupported {
                device: self.to_string(),
                operation: format!("{operation}: it is not a CUDA device (see Device::cuda)"),
            }),
        }
    }

    /// Applies `f` to a CUDA device's backend; other devices are returned unchanged.
    #[cfg_attr(not(feature = "cuda"), allow(unreachable_code))]
    pub(crate) fn map_cuda(self, f: impl FnOnce(CudaBackend) -> CudaBackend) -> Device {
        match self.backend {
            Backend::Cuda(b) => Device { backend: Backend::Cuda(f(b)) },
            backend => Device { backend },
        }
    }

    /// [`Error::Unsupported`] on a CUDA or UPMEM device: host closures and CPU kernels run on the CPU.
    fn cpu_only(&self) -> Result<(), Error> {
        match self.backend {
            Backend::Cpu { .. } => Ok(()),
            Backend::Cuda(_) => Err(Error::Unsupported {
                device: self.to_string(),
                operation: "run a host closure or CPU kernel (launch CUDA kernels with Device::launch, or use Device::cpu())".into(),
            }),
            Backend::Upmem(_) => Err(Error::Unsupported {
                device: self.to_string(),
                operation: "run a host closure or CPU kernel (launch DPU programs with Device::upmem_launch, or use Device::cpu())".into(),
            }),
        }
    }

    /// `nr_dpus` UPMEM DPUs of the real SDK (found through `UPMEM_HOME`), running DPU programs
    /// with 16 tasklets ([`crate::upmem::DEFAULT_TASKLETS`]).
    ///
    /// Errors with [`Error::DeviceMissing`] (never a panic) when the crate was built without
    /// its `upmem` feature, `UPMEM_HOME` is not set, the SDK's host library cannot be loaded or
    /// the DPUs cannot be allocated; see [`Device::upmem_emulator`] for the emulator.
    pub fn upmem(nr_dpus: usize) -> Result<Device, Error> {
        Device::upmem_with_tasklets(nr_dpus, crate::upmem::DEFAULT_TASKLETS)
    }

    /// [`Device::upmem`] with `tasklets` tasklets per DPU (`-DNR_TASKLETS`). The count is not
    /// checked here: a count the DPU cannot run (0 or more than 24) fails when the first
    /// program is loaded, as the SDK's loader does.
    pub fn upmem_with_tasklets(nr_dpus: usize, tasklets: usize) -> Result<Device, Error> {
        UpmemBackend::open_sdk(nr_dpus, tasklets).map(|b| Device { backend: Backend::Upmem(b) })
    }

    /// `nr_dpus` DPUs of the UPMEM emulator (see [`crate::upmem`]), `tasklets` tasklets each.
    /// The emulator library is compiled with the host C compiler at first use and cached.
    /// As with the SDK, a tasklet count outside 1..=24 fails when a program is loaded, with
    /// [`Error::UpmemRule`] ([`crate::UpmemRule::TooManyTasklets`]).
    ///
    /// Errors with [`Error::DeviceMissing`] without the crate feature `upmem`, and with
    /// [`Error::Toolchain`] when the C compiler fails.
    pub fn upmem_emulator(nr_dpus: usize, tasklets: usize) -> Result<Device, Error> {
        UpmemBackend::open_emulator(nr_dpus, tasklets).map(|b| Device { backend: Backend::Upmem(b) })
    }

    /// The number of DPUs of an UPMEM device; 0 for other devices.
    pub fn upmem_dpus(&self) -> usize {
        match &self.backend {
            Backend::Upmem(b) => b.dpus(),
            _ => 0,
        }
    }

    /// The transfer and launch counters of an UPMEM device since it was created (or last reset
    /// with [`Device::upmem_reset_stats`]); `None` for
    /// other devices. Clones of a device share their counters.
    pub fn upmem_stats(&self) -> Option<crate::UpmemStats> {
        match &self.backend {
            Backend::Upmem(b) => Some(b.stats()),
            _ => None,
        }
    }

    /// Sets an UPMEM device's counters back to zero (nothing on other devices).
    pub fn upmem_reset_stats(&self) {
        if let Backend::Upmem(b) = &self.backend {
            b.reset_stats();
        }
    }

    /// This device's UPMEM backend, or [`Error::Unsupported`] saying it cannot `operation`.
    pub(crate) fn upmem_backend(&self, operation: &str) -> Result<&UpmemBackend, Error> {
        match &self.backend {
            Backend::Upmem(b) => Ok(b),
            _ => Err(Error::Unsupported {
                device: self.to_string(),
                operation: format!("{operation}: it is not an UPMEM device (see Device::upmem and Device::upmem_emulator)"),
            }),
        }
    }

    /// The kind of the device.
    pub fn kind(&self) -> DeviceKind {
        match self.backend {
            Backend::Cpu { .. } => DeviceKind::Cpu,
            Backend::Cuda(_) => DeviceKind::Cuda,
            Backend::Upmem(_) => DeviceKind::Upmem,
        }
    }

    /// How many threads the device runs a kernel on (on a CUDA device: the threads of a full
    /// grid, multiprocessors × blocks per multiprocessor × threads per block; on an UPMEM device,
    /// DPUs × tasklets).
    pub fn threads(&self) -> usize {
        match &self.backend {
            Backend::Cpu { threads, .. } => *threads,
            Backend::Cuda(b) => b.threads(),
            Backend::Upmem(b) => b.threads(),
        }
    }

    /// The chunks `0..len` is split into: [`CHUNKS_PER_THREAD`] contiguous, non-empty ranges
    /// per thread (fewer when `len` is smaller than that many times
    /// [`min_chunk`](Self::min_chunk), none when `len` is 0), in order, covering `0..len`
    /// exactly. With `n` chunks, the first `len % n` are one element longer. The threads take
    /// chunks in turn as they finish, so a thread slowed down (by another process, say) does
    /// not hold the launch up; the partition itself depends only on `len` and the device.
    pub fn chunks(&self, len: usize) -> Vec<Range<usize>> {
        let per = if self.threads() > 1 { CHUNKS_PER_THREAD } else { 1 };
        let n = (self.threads() * per).min(len / self.min_chunk()).max(usize::from(len > 0));
        if n == 0 {
            return Vec::new();
        }
        let (base, rem) = (len / n, len % n);
        let mut start = 0;
        (0..n)
            .map(|i| {
                let size = base + usize::from(i < rem);
                let r = start..start + size;
                start += size;
                r
            })
            .collect()
    }

    /// Runs `kernel(range)` for every chunk of `0..len` (see [`chunks`](Self::chunks)), one
    /// chunk per thread, and waits for all of them.
    ///
    /// A panic inside a chunk becomes [`Error::KernelFailed`] (the first failing chunk in
    /// index order is reported); the other chunks still run to completion. With
    /// `panic = "abort"` a panic aborts the process instead, as Rust cannot catch it then.
    /// On a CUDA device this is [`Error::Unsupported`]: closures run on the host.
    pub fn for_each_chunk<F>(&self, len: usize, kernel: F) -> Result<(), Error>
    where
        F: Fn(Range<usize>) + Sync,
    {
        self.cpu_only()?;
        // The common small launch (one chunk): no allocation, no hand-off.
        if len <= self.min_chunk() || self.threads() == 1 {
            return if len == 0 { Ok(()) } else { run_guarded(0..len, &|r, ()| kernel(r), ()) };
        }
        self.run_chunks(self.chunks(len), kernel)
    }

    /// Like [`for_each_chunk`](Self::for_each_chunk), but also hands each chunk its own piece
    /// of `data`: a [`Split`] tree of slices (for example `(input.columns(),
    /// output.columns_mut())`) cut at the chunk boundaries. The piece for `range` holds
    /// elements `range.start..range.end` of every leaf, re-indexed from 0, so threads write
    /// to disjoint parts of the outputs with no locking and no `unsafe`.
    ///
    /// Errors with [`Error::LengthMismatch`] when a leaf of `data` does not have `len`
    /// elements, with [`Error::KernelFailed`] when a chunk panics, and with
    /// [`Error::Unsupported`] on a CUDA device.
    pub fn for_each_chunk_with<S, F>(&self, len: usize, data: S, kernel: F) -> Result<(), Error>
    where
        S: Split + Send,
        F: Fn(Range<usize>, S) + Sync,
    {
        self.cpu_only()?;
        if let Some(found) = data.mismatch(len) {
            return Err(Error::LengthMismatch {
                what: "a leaf of the slices handed to a CPU kernel".into(),
                expected: len,
                found,
            });
        }
        let chunks = self.chunks(len);
        let mut pieces = Vec::with_capacity(chunks.len());
        let mut rest = data;
        for r in &chunks {
            let (head, tail) = rest.split_at(r.len());
            pieces.push((r.clone(), head));
            rest = tail;
        }
        self.run_pieces(pieces, &kernel)
    }

    /// Maps `f` over every element of `input` into a new array, chunked over the device's
    /// threads. Each element is gathered from the input leaves and scattered into the output
    /// leaves; no array-of-structs copy is made.
    ///
    /// Errors with [`Error::KernelFailed`] when `f` panics, and with [`Error::Unsupported`] on a
    /// CUDA device.
    pub fn map<T, U, F>(&self, input: &InvArray<T>, f: F) -> Result<InvArray<U>, Error>
    where
        T: Inverse,
        U: Inverse,
        F: Fn(T) -> U + Sync,
    {
        let len = input.len();
        let mut out = InvArray::<U>::zeroed(len);
        self.for_each_chunk_with(len, (input.columns(), out.columns_mut()), |range, (i, mut o)| {
            let n = range.len();
            // Lets the optimiser drop the per-element bounds checks below.
            if !(i.has_len(n) && o.has_len(n)) {
                return;
            }
            for k in 0..n {
                U::write(&mut o, k, f(T::read(&i, k)));
            }
        })?;
        Ok(out)
    }

    fn run_chunks<F>(&self, chunks: Vec<Range<usize>>, kernel: F) -> Result<(), Error>
    where
        F: Fn(Range<usize>) + Sync,
    {
        let pieces: Vec<(Range<usize>, ())> = chunks.into_iter().map(|r| (r, ())).collect();
        self.run_pieces(pieces, &|r, ()| kernel(r))
    }

    fn run_pieces<S, F>(&self, pieces: Vec<(Range<usize>, S)>, kernel: &F) -> Result<(), Error>
    where
        S: Send,
        F: Fn(Range<usize>, S) + Sync,
    {
        let run = |(r, s): (Range<usize>, S)| -> Result<(), Error> { run_guarded(r, kernel, s) };
        if pieces.len() <= 1 {
            // One chunk (or none): run it on the calling thread, no hand-off.
            return pieces.into_iter().map(run).collect();
        }
        // Several chunks: the calling thread and `threads - 1` workers of the device's
        // persistent pool (started once per thread count and process) take the chunks in
        // order from a shared counter until none is left, each writing its own result slot.
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Mutex;
        let n = pieces.len();
        let pool = cpu_pool(self.threads().saturating_sub(1).max(1))?;
        let slots: Vec<Mutex<Option<(Range<usize>, S)>>> = pieces.into_iter().map(|p| Mutex::new(Some(p))).collect();
        let results: Vec<Mutex<Option<Result<(), Error>>>> = (0..n).map(|_| Mutex::new(None)).collect();
        let next = AtomicUsize::new(0);
        let work = || loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(slot) = slots.get(i) else { break };
            // A chunk's failure is caught inside `run`: no lock is ever poisoned.
            let piece = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(piece) = piece {
                let r = run(piece);
                *results[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
            }
        };
        let work = &work;
        let helpers = self.threads().saturating_sub(1).min(n - 1);
        pool.in_place_scope(|scope| {
            for _ in 0..helpers {
                scope.spawn(move |_| work());
            }
            work();
        });
        results
            .into_iter()
            .map(|r| {
                r.into_inner()
                    .unwrap_or_else(|e| e.into_inner())
                    .unwrap_or_else(|| Err(Error::KernelFailed { kernel: CPU_CLOSURE.into(), message: "a chunk did not run".into() }))
            })
            .collect()
    }
}

impl Error {
    /// Names the kernel in a [`Error::KernelFailed`] (other errors are returned unchanged).
    /// Generated wrappers use it to report their kernel's name instead of [`CPU_CLOSURE`].
    pub fn with_kernel(self, name: &str) -> Error {
        match self {
            Error::KernelFailed { message, .. } => Error::KernelFailed { kernel: name.into(), message },
            e => e,
        }
    }
}

/// A raw pointer that chunk kernels may capture although they run on several threads.
///
/// Raw pointers are neither `Send` nor `Sync`, so a closure holding the leaf pointers of an
/// array cannot be passed to [`Device::for_each_chunk`]. Generated wrappers that call an
/// `extern "C"` kernel with pointers wrap them in `SendPtr` and read them back with
/// [`get`](SendPtr::get) inside the chunk. Creating one is safe; dereferencing the pointer
/// stays `unsafe`, and the caller must make the chunks touch disjoint elements (each chunk
/// writes only its own `range`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendPtr<T>(*mut T);

// SAFETY: `SendPtr` only carries the address; every access goes through `get()` and an
// `unsafe` dereference whose caller guarantees that chunks access disjoint elements.
unsafe impl<T> Send for SendPtr<T> {}
// SAFETY: as above: sharing the address itself is harmless.
unsafe impl<T> Sync for SendPtr<T> {}

impl<T> SendPtr<T> {
    /// Wraps a mutable pointer (an output leaf's [`LeafMut::as_mut_ptr`](crate::LeafMut::as_mut_ptr)).
    pub fn new(ptr: *mut T) -> Self {
        SendPtr(ptr)
    }

    /// Wraps a read-only pointer (an input leaf's [`LeafRef::as_ptr`](crate::LeafRef::as_ptr)).
    pub fn from_const(ptr: *const T) -> Self {
        SendPtr(ptr as *mut T)
    }

    /// The pointer.
    pub fn get(self) -> *mut T {
        self.0
    }
}
