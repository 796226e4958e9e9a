//! The CUDA backend through cudarc (feature `cuda`).
//!
//! cudarc resolves libcuda and libnvrtc lazily and **panics** when a library or a symbol is
//! missing. So before the first cudarc call into a library, [`check_library`] opens the same
//! library cudarc would (the first of `cudarc::get_lib_name_candidates` that loads) and checks
//! that every symbol the runtime can reach exists; a failure is a typed error. As a second line
//! of defence every cudarc call runs under [`guard`], which turns a panic into an error (with
//! `panic = "unwind"`; the panic hook still prints in that unexpected case).

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex, OnceLock};

use cudarc::driver::sys::{CUdevice_attribute, CUresult};
use cudarc::driver::{CudaContext, CudaFunction, CudaModule, CudaSlice, CudaStream, DriverError, PushKernelArg};
use cudarc::nvrtc::{CompileError, CompileOptions, Ptx};

use super::{CudaInfo, Kernel, KernelArg, KernelArgs, KernelSource, LaunchConfig};
use crate::private::{payload_message, status_reason};
use crate::scalar::{LeafMut, LeafRef};
use crate::{Error, ScalarKind};

/// Every libcuda entry point the safe cudarc calls below can reach (context setup, device
/// attributes, allocation, copies, modules, launches, events, error strings).
const DRIVER_SYMBOLS: &[&str] = &[
    "cuInit",
    "cuDeviceGet",
    "cuDeviceGetCount",
    "cuDeviceGetAttribute",
    "cuDeviceGetName",
    "cuDeviceTotalMem_v2",
    "cuDevicePrimaryCtxRetain",
    "cuDevicePrimaryCtxRelease_v2",
    "cuCtxSetCurrent",
    "cuCtxGetCurrent",
    "cuCtxSynchronize",
    "cuStreamSynchronize",
    "cuStreamWaitEvent",
    "cuEventCreate",
    "cuEventRecord",
    "cuEventDestroy_v2",
    "cuMemAlloc_v2",
    "cuMemAllocAsync",
    "cuMemFree_v2",
    "cuMemFreeAsync",
    "cuMemsetD8Async",
    "cuMemcpyHtoDAsync_v2",
    "cuMemcpyDtoHAsync_v2",
    "cuModuleLoadData",
    "cuModuleGetFunction",
    "cuModuleUnload",
    "cuLaunchKernel",
    "cuGetErrorName",
    "cuGetErrorString",
];

/// Every libnvrtc entry point `cudarc::nvrtc::compile_ptx_with_opts` calls.
const NVRTC_SYMBOLS: &[&str] = &[
    "nvrtcCreateProgram",
    "nvrtcCompileProgram",
    "nvrtcGetProgramLogSize",
    "nvrtcGetProgramLog",
    "nvrtcGetPTXSize",
    "nvrtcGetPTX",
    "nvrtcDestroyProgram",
];

/// Opens the library cudarc would load for `libs` (the first candidate name that loads) and
/// checks that it has `symbols`. `Ok` holds the file name; `Err` a reason a user can act on.
fn check_library(libs: &[&str], symbols: &[&str]) -> Result<String, String> {
    let candidates: Vec<String> = libs.iter().flat_map(|l| cudarc::get_lib_name_candidates(l)).collect();
    for name in &candidates {
        // SAFETY: loading a library runs its initialisers; these are the very libraries cudarc
        // itself loads (same names, same order), so this adds no library the runtime would
        // not load anyway.
        let Ok(lib) = (unsafe { libloading::Library::new(name.as_str()) }) else { continue };
        // SAFETY: the symbol is only looked up, never called or dereferenced.
        let missing: Vec<&str> =
            symbols.iter().copied().filter(|s| unsafe { lib.get::<*const ()>(*s) }.is_err()).collect();
        return if missing.is_empty() {
            Ok(name.clone())
        } else {
            Err(format!("{name} was found but lacks {missing:?}; it is too old or not the real library"))
        };
    }
    Err(format!(
        "none of the library names {candidates:?} could be loaded; install the NVIDIA driver or CUDA toolkit, or add its directory to LD_LIBRARY_PATH"
    ))
}

/// [`check_library`] for libcuda, once per process.
fn driver_library() -> Result<&'static str, String> {
    static DRIVER: OnceLock<Result<String, String>> = OnceLock::new();
    DRIVER.get_or_init(|| check_library(&["cuda", "nvcuda"], DRIVER_SYMBOLS)).as_deref().map_err(|e| format!("libcuda: {e}"))
}

/// [`check_library`] for libnvrtc, once per process.
fn nvrtc_library() -> Result<&'static str, String> {
    static NVRTC: OnceLock<Result<String, String>> = OnceLock::new();
    NVRTC.get_or_init(|| check_library(&["nvrtc"], NVRTC_SYMBOLS)).as_deref().map_err(|e| format!("libnvrtc: {e}"))
}

/// Runs `f`; a panic inside (a cudarc `unwrap` we did not foresee) becomes `on_panic(message)`.
fn guard<R>(f: impl FnOnce() -> Result<R, Error>, on_panic: impl FnOnce(String) -> Error) -> Result<R, Error> {
    panic::catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| Err(on_panic(format!("cudarc panicked: {}", payload_message(&*payload)))))
}

/// A driver error in words: `CUDA_ERROR_NAME (code N): description`.
fn describe(e: &DriverError) -> String {
    let code = e.0 as i32;
    let name = e.error_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|_| "CUDA error".into());
    match e.error_string() {
        Ok(s) => format!("{name} (code {code}): {}", s.to_string_lossy()),
        Err(_) => format!("{name} (code {code})"),
    }
}

/// A hash of a module's text (PTX or CUDA source), the key of the per-process caches.
fn text_hash(text: &str) -> u64 {
    let mut h = DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

/// Locks a cache even if a panic poisoned it (the maps stay consistent: entries are inserted whole).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One CUDA device of the process: its primary context, default stream and properties.
struct Context {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    info: CudaInfo,
}

/// A CUDA [`Device`](crate::Device): the shared [`Context`] and this handle's launch config.
#[derive(Clone)]
pub(crate) struct CudaBackend {
    context: Arc<Context>,
    config: LaunchConfig,
}

impl fmt::Debug for CudaBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CudaBackend").field("info", &self.context.info).field("config", &self.config).finish()
    }
}

impl PartialEq for CudaBackend {
    fn eq(&self, other: &Self) -> bool {
        self.context.info.ordinal == other.context.info.ordinal && self.config == other.config
    }
}

impl Eq for CudaBackend {}

/// A leaf's device buffer: `None` for a leaf with no elements (CUDA cannot allocate 0 bytes;
/// the kernel gets a null pointer).
pub(crate) struct LeafBuf {
    ordinal: usize,
    buf: Option<CudaSlice<u8>>,
}

impl CudaBackend {
    pub(crate) fn open(ordinal: usize) -> Result<CudaBackend, Error> {
        let device = format!("cuda:{ordinal}");
        let missing = |reason: String| Error::DeviceMissing { device: device.clone(), reason };
        driver_library().map_err(missing)?;
        static CONTEXTS: OnceLock<Mutex<HashMap<usize, Arc<Context>>>> = OnceLock::new();
        let mut contexts = lock(CONTEXTS.get_or_init(Default::default));
        if let Some(c) = contexts.get(&ordinal) {
            return Ok(CudaBackend { context: c.clone(), config: LaunchConfig::default() });
        }
        let context = guard(
            || {
                let count = CudaContext::device_count()
                    .map_err(|e| missing(format!("the CUDA driver could not start: {}", describe(&e))))?;
                if ordinal >= usize::try_from(count).unwrap_or(0) {
                    return Err(missing(format!("the CUDA driver reports {count} device(s)")));
                }
                let ctx = CudaContext::new(ordinal)
                    .map_err(|e| missing(format!("could not create its context: {}", describe(&e))))?;
                let attr = |a: CUdevice_attribute, what: &str| {
                    ctx.attribute(a).map_err(|e| missing(format!("could not read its {what}: {}", describe(&e))))
                };
                let sm_count = attr(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, "multiprocessor count")?;
                let max_threads =
                    attr(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK, "threads per block")?;
                let compute_capability = ctx
                    .compute_capability()
                    .map_err(|e| missing(format!("could not read its compute capability: {}", describe(&e))))?;
                let name = ctx.name().unwrap_or_else(|_| "unknown CUDA device".into());
                let total_mem = ctx.total_mem().unwrap_or(0);
                let stream = ctx.default_stream();
                let info = CudaInfo {
                    ordinal,
                    name,
                    compute_capability,
                    sm_count: u32::try_from(sm_count).unwrap_or(1).max(1),
                    max_threads_per_block: u32::try_from(max_threads).unwrap_or(0),
                    total_mem,
                };
                Ok(Arc::new(Context { ctx, stream, info }))
            },
            missing,
        )?;
        contexts.insert(ordinal, context.clone());
        Ok(CudaBackend { context, config: LaunchConfig::default() })
    }

    fn ordinal(&self) -> usize {
        self.context.info.ordinal
    }

    fn device(&self) -> String {
        format!("cuda:{}", self.ordinal())
    }

    pub(crate) fn describe(&self) -> String {
        format!("cuda:{} ({})", self.ordinal(), self.context.info.name)
    }

    pub(crate) fn with_config(self, config: LaunchConfig) -> CudaBackend {
        CudaBackend { config, ..self }
    }

    pub(crate) fn config(&self) -> LaunchConfig {
        self.config
    }

    pub(crate) fn info(&self) -> CudaInfo {
        self.context.info.clone()
    }

    pub(crate) fn threads(&self) -> usize {
        let c = self.config;
        (self.context.info.sm_count as usize) * (c.blocks_per_sm.max(1) as usize) * (c.threads_per_block as usize)
    }

    /// The error of a failed allocation of `bytes` bytes.
    fn alloc_error(&self, e: &DriverError, bytes: usize, what: &str) -> Error {
        if e.0 == CUresult::CUDA_ERROR_OUT_OF_MEMORY {
            Error::DeviceLimit {
                what: format!("device memory bytes of {} (allocating {what})", self.device()),
                limit: self.context.info.total_mem as u64,
                requested: bytes as u64,
            }
        } else {
            Error::DeviceFailed { device: self.device(), operation: format!("allocate {what}"), message: describe(e) }
        }
    }

    fn panicked(&self, operation: String) -> impl FnOnce(String) -> Error {
        let device = self.device();
        move |message| Error::DeviceFailed { device, operation, message }
    }

    pub(crate) fn upload(&self, index: usize, leaf: &LeafRef<'_>) -> Result<LeafBuf, Error> {
        let mut buf = self.zeroed_bytes(index, leaf.kind(), leaf.len(), false)?;
        buf.upload_from(index, leaf)?;
        Ok(buf)
    }

    pub(crate) fn zeroed(&self, index: usize, kind: ScalarKind, len: usize) -> Result<LeafBuf, Error> {
        self.zeroed_bytes(index, kind, len, true)
    }

    fn zeroed_bytes(&self, index: usize, kind: ScalarKind, len: usize, zero: bool) -> Result<LeafBuf, Error> {
        let what = format!("leaf {index} ({kind}, {len} elements)");
        let bytes = len.checked_mul(kind.size()).ok_or_else(|| Error::DeviceLimit {
            what: format!("device memory bytes of {} (allocating {what})", self.device()),
            limit: self.context.info.total_mem as u64,
            requested: u64::MAX,
        })?;
        if bytes == 0 {
            return Ok(LeafBuf { ordinal: self.ordinal(), buf: None });
        }
        let stream = &self.context.stream;
        guard(
            || {
                let buf = if zero {
                    stream.alloc_zeros::<u8>(bytes)
                } else {
                    // SAFETY: the buffer is fully overwritten by `upload_from` before any read.
                    unsafe { stream.alloc::<u8>(bytes) }
                };
                let buf = buf.map_err(|e| self.alloc_error(&e, bytes, &what))?;
                Ok(LeafBuf { ordinal: self.ordinal(), buf: Some(buf) })
            },
            self.panicked(format!("allocate {what}")),
        )
    }

    /// The function `name` of the module `ptx`, loading the module once per process and device.
    fn function(&self, ptx: &str, name: &str) -> Result<CudaFunction, Error> {
        let fail = |message: String| Error::KernelFailed { kernel: name.into(), message };
        if ptx.contains('\0') {
            return Err(fail("its PTX contains a NUL byte".into()));
        }
        if name.contains('\0') {
            return Err(fail("its name contains a NUL byte".into()));
        }
        type Modules = HashMap<(usize, u64), Vec<(Arc<str>, Arc<CudaModule>)>>;
        static MODULES: OnceLock<Mutex<Modules>> = OnceLock::new();
        let key = (self.ordinal(), text_hash(ptx));
        let module = {
            let mut modules = lock(MODULES.get_or_init(Default::default));
            let same = modules.get(&key).and_then(|v| v.iter().find(|(text, _)| &**text == ptx)).map(|(_, m)| m.clone());
            match same {
                Some(m) => m,
                None => {
                    let ctx = &self.context.ctx;
                    let m = guard(
                        || {
                            ctx.load_module(Ptx::from_src(ptx)).map_err(|e| {
                                fail(format!("{} could not load its module: {}", self.device(), describe(&e)))
                            })
                        },
                        fail,
                    )?;
                    modules.entry(key).or_default().push((Arc::from(ptx), m.clone()));
                    m
                }
            }
        };
        guard(
            || {
                module
                    .load_function(name)
                    .map_err(|e| fail(format!("its module has no kernel of that name: {}", describe(&e))))
            },
            fail,
        )
    }

    pub(crate) fn launch(&self, kernel: &Kernel<'_>, len: usize, args: &KernelArgs<'_>) -> Result<(), Error> {
        self.launch_grid(kernel, len, false, args)
    }

    /// A launch of `blocks` blocks (each thread runs the body once): see `Device::launch_blocks`.
    pub(crate) fn launch_blocks(&self, kernel: &Kernel<'_>, blocks: usize, args: &KernelArgs<'_>) -> Result<(), Error> {
        self.launch_grid(kernel, blocks, true, args)
    }

    /// `len` elements (a grid sized by the configuration) or, with `by_blocks`, `len` blocks of
    /// the configuration's block size, with `__len` their thread count.
    fn launch_grid(&self, kernel: &Kernel<'_>, len: usize, by_blocks: bool, args: &KernelArgs<'_>) -> Result<(), Error> {
        let name = kernel.name;
        let fail = |message: String| Error::KernelFailed { kernel: name.into(), message };
        for item in args.items() {
            if let KernelArg::Leaf(leaf) = item {
                if leaf.buf.ordinal != self.ordinal() {
                    return Err(Error::Unsupported {
                        device: self.device(),
                        operation: format!("launch `{name}` with an array on cuda:{}", leaf.buf.ordinal),
                    });
                }
            }
        }
        if len == 0 {
            return Ok(());
        }
        let info = &self.context.info;
        let (blocks, threads) = if by_blocks {
            let blocks = u32::try_from(len).ok().filter(|b| *b <= i32::MAX as u32).ok_or_else(|| Error::DeviceLimit {
                what: format!("blocks in one launch of `{name}`"),
                limit: i32::MAX as u64,
                requested: len as u64,
            })?;
            (blocks, self.config.threads_per_block)
        } else {
            self.config.grid(info.sm_count, len)
        };
        if by_blocks && threads % 32 != 0 {
            return Err(Error::Unsupported {
                device: self.device(),
                operation: format!("a block launch of `{name}` with {threads} threads per block (block kernels need a multiple of the warp, 32)"),
            });
        }
        let threads_total = if by_blocks { len.saturating_mul(threads as usize) } else { len };
        let len32 = i32::try_from(threads_total).map_err(|_| Error::DeviceLimit {
            what: format!("{} in one launch of `{name}` (int32_t __len)", if by_blocks { "threads" } else { "elements" }),
            limit: i32::MAX as u64,
            requested: threads_total as u64,
        })?;
        if threads == 0 || threads > info.max_threads_per_block {
            return Err(Error::DeviceLimit {
                what: format!("threads per block of {} (launching `{name}`)", self.device()),
                limit: u64::from(info.max_threads_per_block),
                requested: u64::from(threads),
            });
        }
        let ptx: Arc<str> = match kernel.source {
            KernelSource::Ptx(p) => Arc::from(p),
            KernelSource::Cuda(src) => {
                let (major, minor) = info.compute_capability;
                nvrtc_compile(src, Some(&format!("compute_{major}{minor}")))?
            }
        };
        let func = self.function(&ptx, name)?;
        let stream = &self.context.stream;
        guard(
            || {
                // Each parameter's storage must outlive the builder: values first, then pointers.
                enum Slot<'b> {
                    Buf(&'b CudaSlice<u8>),
                    Value(usize),
                }
                let mut values: Vec<u64> = Vec::new();
                let mut slots: Vec<Slot<'_>> = Vec::new();
                for item in args.items() {
                    match item {
                        KernelArg::Leaf(leaf) => {
                            match &leaf.buf.buf {
                                Some(b) => slots.push(Slot::Buf(b)),
                                None => {
                                    values.push(0); // a null pointer
                                    slots.push(Slot::Value(values.len() - 1));
                                }
                            }
                            values.push(leaf.len as u64);
                            slots.push(Slot::Value(values.len() - 1));
                        }
                        KernelArg::Value { bits, .. } => {
                            values.push(*bits);
                            slots.push(Slot::Value(values.len() - 1));
                        }
                    }
                }
                let mut status = stream
                    .alloc_zeros::<i32>(1)
                    .map_err(|e| fail(format!("could not allocate its status word: {}", describe(&e))))?;
                {
                    let mut b = stream.launch_builder(&func);
                    b.arg(&len32);
                    b.arg(&mut status);
                    for slot in &slots {
                        match slot {
                            Slot::Buf(buf) => b.arg(*buf),
                            Slot::Value(i) => b.arg(&values[*i]),
                        };
                    }
                    let cfg = cudarc::driver::LaunchConfig {
                        grid_dim: (blocks, 1, 1),
                        block_dim: (threads, 1, 1),
                        shared_mem_bytes: 0,
                    };
                    // SAFETY: the parameters follow the kernel ABI of `crate::cuda` (the
                    // generated wrapper and kernel agree on it); every buffer outlives the
                    // launch (cudarc records events that `CudaSlice::drop` waits for), and the
                    // status word is read back below after the stream finishes.
                    unsafe { b.launch(cfg) }.map_err(|e| {
                        fail(format!("{} refused the launch ({blocks} blocks of {threads} threads): {}", self.device(), describe(&e)))
                    })?;
                }
                let status = stream.clone_dtoh(&status).map_err(|e| {
                    fail(format!("{} reported a fault while running it: {}", self.device(), describe(&e)))
                })?;
                match status.first().copied().unwrap_or(0) {
                    0 => Ok(()),
                    s => Err(fail(format!("CUDA kernel failed with status {s}: {}", status_reason(s)))),
                }
            },
            fail,
        )
    }
}

impl LeafBuf {
    fn device(&self) -> String {
        format!("cuda:{}", self.ordinal)
    }

    pub(crate) fn download(&self, index: usize, dst: &mut LeafMut<'_>) -> Result<(), Error> {
        let Some(buf) = &self.buf else {
            return dst.copy_from_bytes(&[]);
        };
        let operation = format!("copy leaf {index} ({}, {} elements) to the host", dst.kind(), dst.len());
        let failed = |message: String| Error::DeviceFailed { device: self.device(), operation: operation.clone(), message };
        // Staged through bytes so a `bool` leaf is checked (0 or 1) before it is written.
        let bytes = guard(|| buf.stream().clone_dtoh(buf).map_err(|e| failed(describe(&e))), failed)?;
        dst.copy_from_bytes(&bytes)
    }

    pub(crate) fn upload_from(&mut self, index: usize, src: &LeafRef<'_>) -> Result<(), Error> {
        let device = self.device();
        let operation = format!("copy leaf {index} ({}, {} elements) to the device", src.kind(), src.len());
        let failed = |message: String| Error::DeviceFailed { device: device.clone(), operation: operation.clone(), message };
        let bytes = src.as_bytes();
        let Some(buf) = &mut self.buf else {
            return if bytes.is_empty() {
                Ok(())
            } else {
                Err(Error::LengthMismatch { what: operation.clone(), expected: 0, found: bytes.len() })
            };
        };
        if buf.len() != bytes.len() {
            return Err(Error::LengthMismatch { what: operation.clone(), expected: buf.len(), found: bytes.len() });
        }
        let stream = buf.stream().clone();
        guard(|| stream.memcpy_htod(bytes, buf).map_err(|e| failed(describe(&e))), failed)
    }
}

/// See [`crate::cuda::nvrtc_compile`].
pub(crate) fn nvrtc_compile(source: &str, arch: Option<&str>) -> Result<Arc<str>, Error> {
    let failed = |message: String| Error::Toolchain { tool: "nvrtc".into(), message };
    if source.contains('\0') {
        return Err(failed("the CUDA source contains a NUL byte".into()));
    }
    if arch.is_some_and(|a| a.contains('\0')) {
        return Err(failed("the architecture contains a NUL byte".into()));
    }
    type Compiled = HashMap<(u64, Option<String>), Vec<(Arc<str>, Result<Arc<str>, Error>)>>;
    static COMPILED: OnceLock<Mutex<Compiled>> = OnceLock::new();
    let key = (text_hash(source), arch.map(str::to_owned));
    // The lock is held while compiling, so each source is compiled once per process.
    let mut compiled = lock(COMPILED.get_or_init(Default::default));
    if let Some((_, r)) = compiled.get(&key).and_then(|v| v.iter().find(|(text, _)| &**text == source)) {
        return r.clone();
    }
    let result = nvrtc_library().map_err(&failed).and_then(|_| {
        let opts = CompileOptions {
            options: arch.map(|a| vec![format!("--gpu-architecture={a}")]).unwrap_or_default(),
            ..Default::default()
        };
        guard(
            || match cudarc::nvrtc::compile_ptx_with_opts(source, opts) {
                Ok(ptx) => Ok(Arc::from(ptx.to_src())),
                Err(CompileError::CompileError { log, options, .. }) => Err(failed(format!(
                    "compiling with options {options:?} failed:\n{}",
                    log.to_string_lossy().trim_end()
                ))),
                Err(e) => Err(failed(format!("{e}"))),
            },
            failed,
        )
    });
    compiled.entry(key).or_default().push((Arc::from(source), result.clone()));
    result
}
