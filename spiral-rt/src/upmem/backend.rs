//! The UPMEM backend (crate feature `upmem`): the host library (the SDK's or the emulator's)
//! loaded through the bindgen bindings, DPU programs compiled at first use into the cache, and
//! launches following the kernel ABI of the [module documentation](super).

use std::collections::HashMap;
use std::ffi::{c_char, c_int, CStr, CString};
use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use super::sys;
use super::{dpu_share, UpmemArg, UpmemArgs, UpmemKernel, UpmemRule, UpmemStats, MRAM_BYTES};
use crate::Error;

/// The emulator's sources, embedded so that the runtime needs nothing but a C compiler.
const RT_FILES: &[(&str, &str)] = &[
    ("include/dpu.h", include_str!("../../upmem/include/dpu.h")),
    ("include/dpu_types.h", include_str!("../../upmem/include/dpu_types.h")),
    ("include/dpu_error.h", include_str!("../../upmem/include/dpu_error.h")),
    ("include/dpu_emu.h", include_str!("../../upmem/include/dpu_emu.h")),
    ("dpu-rt/spi_emu_abi.h", include_str!("../../upmem/dpu-rt/spi_emu_abi.h")),
    ("dpu-rt/attributes.h", include_str!("../../upmem/dpu-rt/attributes.h")),
    ("dpu-rt/defs.h", include_str!("../../upmem/dpu-rt/defs.h")),
    ("dpu-rt/mram.h", include_str!("../../upmem/dpu-rt/mram.h")),
    ("dpu-rt/barrier.h", include_str!("../../upmem/dpu-rt/barrier.h")),
    ("dpu-rt/alloc.h", include_str!("../../upmem/dpu-rt/alloc.h")),
    ("dpu-rt/mutex.h", include_str!("../../upmem/dpu-rt/mutex.h")),
    ("dpu-rt/perfcounter.h", include_str!("../../upmem/dpu-rt/perfcounter.h")),
    ("dpu-rt/stdio.h", include_str!("../../upmem/dpu-rt/stdio.h")),
    ("emu/dpu_emu.c", include_str!("../../upmem/emu/dpu_emu.c")),
];

// ------------------------------------------------------------------------------------------
// Compilation and the cache

/// A 128-bit FNV-1a digest (two 64-bit lanes) of length-prefixed parts, in hex: the cache key.
fn digest(parts: &[&[u8]]) -> String {
    let mut a: u64 = 0xcbf2_9ce4_8422_2325;
    let mut b: u64 = 0x6c62_272e_07bb_0142;
    let mut eat = |bytes: &[u8]| {
        for &x in bytes {
            a = (a ^ u64::from(x)).wrapping_mul(0x0000_0100_0000_01b3);
            b = (b ^ u64::from(x)).wrapping_mul(0x0000_0100_0000_01b3).rotate_left(7);
        }
    };
    for p in parts {
        eat(&(p.len() as u64).to_le_bytes());
        eat(p);
    }
    format!("{a:016x}{b:016x}")
}

/// A name no other writer in this or another process uses, next to `path`.
fn temp_name(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut name = path.file_name().map(|f| f.to_os_string()).unwrap_or_default();
    name.push(format!(".tmp-{}-{n}", std::process::id()));
    path.with_file_name(name)
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::Toolchain { tool: "spiral-upmem cache".into(), message: format!("cannot {what} {}: {e}", path.display()) }
}

/// Writes `bytes` to `path` through a temporary file and a rename (a no-op when it exists).
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    if path.exists() {
        return Ok(());
    }
    let tmp = temp_name(path);
    let mut f = fs::File::create(&tmp).map_err(|e| io_error("create", &tmp, e))?;
    f.write_all(bytes).map_err(|e| io_error("write", &tmp, e))?;
    drop(f);
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        io_error("rename a file to", path, e)
    })
}

/// The cache folder (`SPIRAL_UPMEM_CACHE`, else `<temp dir>/spiral-upmem-<user>`), created.
fn cache_dir() -> Result<PathBuf, Error> {
    let dir = match std::env::var_os("SPIRAL_UPMEM_CACHE").filter(|v| !v.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => {
            let user = ["USER", "LOGNAME", "USERNAME"]
                .iter()
                .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty() && u.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))))
                .unwrap_or_else(|| "user".into());
            std::env::temp_dir().join(format!("spiral-upmem-{user}"))
        }
    };
    fs::create_dir_all(&dir).map_err(|e| io_error("create the folder", &dir, e))?;
    Ok(dir)
}

/// The host C compiler and the extra flags for the emulator and its DPU programs.
fn host_compiler() -> (String, Vec<String>) {
    let cc = ["SPIRAL_UPMEM_CC", "CC"]
        .iter()
        .find_map(|v| std::env::var(v).ok().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "cc".into());
    let flags = std::env::var("SPIRAL_UPMEM_CFLAGS").map(|f| f.split_whitespace().map(String::from).collect()).unwrap_or_default();
    (cc, flags)
}

/// The emulator's sources written out under the cache (`rt-<hash>/`), once.
fn rt_dir() -> Result<PathBuf, Error> {
    static DIR: OnceLock<Result<PathBuf, Error>> = OnceLock::new();
    DIR.get_or_init(|| {
        let parts: Vec<&[u8]> = RT_FILES.iter().flat_map(|(n, t)| [n.as_bytes(), t.as_bytes()]).collect();
        let dir = cache_dir()?.join(format!("rt-{}", digest(&parts)));
        if dir.join("emu").join("dpu_emu.c").is_file() {
            return Ok(dir);
        }
        let tmp = temp_name(&dir);
        for (name, text) in RT_FILES {
            let path = tmp.join(name);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).map_err(|e| io_error("create the folder", parent, e))?;
            }
            fs::write(&path, text).map_err(|e| io_error("write", &path, e))?;
        }
        if let Err(e) = fs::rename(&tmp, &dir) {
            let _ = fs::remove_dir_all(&tmp);
            // Another process may have won the race; its copy is identical.
            if !dir.join("emu").join("dpu_emu.c").is_file() {
                return Err(io_error("rename a folder to", &dir, e));
            }
        }
        Ok(dir)
    })
    .clone()
}

/// Runs a compiler into a temporary output, then renames it to `out`.
fn run_compiler(tool: &str, args: &[String], out: &Path) -> Result<(), Error> {
    let tmp = temp_name(out);
    let mut cmd = Command::new(tool);
    cmd.args(args).arg("-o").arg(&tmp);
    // A process run with a preloaded sanitizer runtime (tests of DPU programs under ASan) must
    // not hand it to the compiler, whose own leaks it would report.
    cmd.env_remove("LD_PRELOAD");
    let output = cmd.output().map_err(|e| Error::Toolchain {
        tool: tool.into(),
        message: format!("cannot run it ({e}); set SPIRAL_UPMEM_CC (or CC) to a C compiler"),
    })?;
    if !output.status.success() {
        let _ = fs::remove_file(&tmp);
        let mut message = format!("`{tool} {}` exited with {}", args.join(" "), output.status);
        for s in [&output.stdout, &output.stderr] {
            let s = String::from_utf8_lossy(s);
            if !s.trim().is_empty() {
                message.push('\n');
                message.push_str(s.trim_end());
            }
        }
        return Err(Error::Toolchain { tool: tool.into(), message });
    }
    fs::rename(&tmp, out).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        io_error("rename a file to", out, e)
    })
}

/// The emulator library (`libdpu_emu-<hash>.so` in the cache), compiled with the host C
/// compiler at first use (`SPIRAL_UPMEM_CC`/`CC`/`cc`, with `SPIRAL_UPMEM_CFLAGS`).
///
/// Errors with [`Error::Toolchain`] when the compiler is missing or fails.
pub fn emulator_library() -> Result<PathBuf, Error> {
    static LIB: OnceLock<Result<PathBuf, Error>> = OnceLock::new();
    LIB.get_or_init(|| {
        let rt = rt_dir()?;
        let (cc, flags) = host_compiler();
        let key = digest(&[rt.to_string_lossy().as_bytes(), cc.as_bytes(), flags.join(" ").as_bytes()]);
        let out = cache_dir()?.join(format!("libdpu_emu-{key}.so"));
        if !out.is_file() {
            let mut args: Vec<String> = ["-shared", "-fPIC", "-O2", "-g", "-std=gnu11", "-pthread"].map(String::from).to_vec();
            args.extend(flags);
            args.push(rt.join("emu").join("dpu_emu.c").to_string_lossy().into_owned());
            args.push("-ldl".into());
            run_compiler(&cc, &args, &out)?;
        }
        Ok(out)
    })
    .clone()
}

/// Compiles DPU C `source` for the emulator with `tasklets` tasklets into a shared object in
/// the cache (`dpu-<hash>.so`, next to its source `dpu-<hash>.c`), or returns the cached one.
/// The command is `cc -shared -fPIC -O2 -std=gnu11 -DNR_TASKLETS=<tasklets> -I <dpu-rt>
/// -include spi_emu_abi.h -Wl,-Bsymbolic $SPIRAL_UPMEM_CFLAGS dpu-<hash>.c`.
///
/// Errors with [`Error::Toolchain`] (with the compiler's output) when it does not compile.
pub fn compile_emulator_program(source: &str, tasklets: usize) -> Result<PathBuf, Error> {
    let rt = rt_dir()?;
    let (cc, flags) = host_compiler();
    let t = tasklets.to_string();
    let key = digest(&[b"emulator", source.as_bytes(), rt.to_string_lossy().as_bytes(), cc.as_bytes(), flags.join(" ").as_bytes(), t.as_bytes()]);
    let dir = cache_dir()?;
    let out = dir.join(format!("dpu-{key}.so"));
    if out.is_file() {
        return Ok(out);
    }
    let src = dir.join(format!("dpu-{key}.c"));
    write_atomic(&src, source.as_bytes())?;
    let mut args: Vec<String> = ["-shared", "-fPIC", "-O2", "-g", "-std=gnu11"].map(String::from).to_vec();
    args.push(format!("-DNR_TASKLETS={tasklets}"));
    args.push("-I".into());
    args.push(rt.join("dpu-rt").to_string_lossy().into_owned());
    args.extend(["-include", "spi_emu_abi.h", "-Wl,-Bsymbolic"].map(String::from));
    args.extend(flags);
    args.push(src.to_string_lossy().into_owned());
    run_compiler(&cc, &args, &out)?;
    Ok(out)
}

/// Compiles DPU C `source` with the SDK's DPU compiler into the cache (`dpu-<hash>.dpu`).
fn compile_sdk_program(home: &Path, source: &str, tasklets: usize) -> Result<PathBuf, Error> {
    let clang = home.join("bin").join("dpu-upmem-dpurte-clang");
    let t = tasklets.to_string();
    let key = digest(&[b"sdk", source.as_bytes(), clang.to_string_lossy().as_bytes(), t.as_bytes()]);
    let dir = cache_dir()?;
    let out = dir.join(format!("dpu-{key}.dpu"));
    if out.is_file() {
        return Ok(out);
    }
    let src = dir.join(format!("dpu-{key}.c"));
    write_atomic(&src, source.as_bytes())?;
    let args = vec!["-O2".to_string(), format!("-DNR_TASKLETS={tasklets}"), src.to_string_lossy().into_owned()];
    run_compiler(&clang.to_string_lossy(), &args, &out)?;
    Ok(out)
}

// ------------------------------------------------------------------------------------------
// Host libraries

type ViolationFn = unsafe extern "C" fn(sys::dpu_set_t, *mut u32, *mut c_char, usize) -> c_int;

/// A loaded host library: the SDK's `libdpu.so` or the emulator.
struct HostLibrary {
    api: sys::DpuApi,
    /// `dpu_emu_violation`, in the emulator only.
    violation: Option<ViolationFn>,
    /// Keeps `violation` loaded.
    _ext: Option<libloading::Library>,
    /// `UPMEM_HOME` for the SDK; `None` for the emulator.
    sdk: Option<PathBuf>,
}

impl HostLibrary {
    /// Opens the library at `path` (and the emulator's extension when `sdk` is `None`).
    fn open(path: &Path, sdk: Option<PathBuf>, device: &str) -> Result<HostLibrary, Error> {
        let missing = |e: &dyn fmt::Display| Error::DeviceMissing { device: device.into(), reason: format!("cannot load {}: {e}", path.display()) };
        let path_str = path.to_str().ok_or_else(|| missing(&"the path is not UTF-8"))?;
        // SAFETY: loading a C library runs its initialisers; the SDK's and the emulator's are
        // ordinary C libraries.
        let api = unsafe { sys::DpuApi::new(path_str) }.map_err(|e| missing(&e))?;
        for (name, ok) in [
            ("dpu_alloc", api.dpu_alloc.is_ok()),
            ("dpu_free", api.dpu_free.is_ok()),
            ("dpu_load", api.dpu_load.is_ok()),
            ("dpu_launch", api.dpu_launch.is_ok()),
            ("dpu_copy_to", api.dpu_copy_to.is_ok()),
            ("dpu_prepare_xfer", api.dpu_prepare_xfer.is_ok()),
            ("dpu_push_xfer", api.dpu_push_xfer.is_ok()),
            ("dpu_get_nr_dpus", api.dpu_get_nr_dpus.is_ok()),
            ("dpu_set_dpu_iterator_from", api.dpu_set_dpu_iterator_from.is_ok()),
            ("dpu_set_dpu_iterator_next", api.dpu_set_dpu_iterator_next.is_ok()),
            ("dpu_error_to_string", api.dpu_error_to_string.is_ok()),
        ] {
            if !ok {
                return Err(missing(&format_args!("it has no `{name}`")));
            }
        }
        let (violation, ext) = if sdk.is_none() {
            // SAFETY: the same library again (dlopen counts references); the symbol has the
            // signature of dpu_emu.h's `dpu_emu_violation`.
            unsafe {
                let lib = libloading::Library::new(path_str).map_err(|e| missing(&e))?;
                let f = *lib.get::<ViolationFn>(b"dpu_emu_violation\0").map_err(|e| missing(&e))?;
                (Some(f), Some(lib))
            }
        } else {
            (None, None)
        };
        Ok(HostLibrary { api, violation, _ext: ext, sdk })
    }

    /// The process's emulator library (compiled and loaded once).
    fn emulator() -> Result<Arc<HostLibrary>, Error> {
        static LIB: OnceLock<Result<Arc<HostLibrary>, Error>> = OnceLock::new();
        LIB.get_or_init(|| {
            let path = emulator_library()?;
            HostLibrary::open(&path, None, "upmem emulator").map(Arc::new)
        })
        .clone()
    }

    /// The process's SDK library (`$UPMEM_HOME/lib/libdpu.so`, loaded once).
    fn sdk() -> Result<Arc<HostLibrary>, Error> {
        static LIB: OnceLock<Result<Arc<HostLibrary>, Error>> = OnceLock::new();
        LIB.get_or_init(|| {
            let home = std::env::var_os("UPMEM_HOME").filter(|h| !h.is_empty()).map(PathBuf::from).ok_or_else(|| Error::DeviceMissing {
                device: "upmem".into(),
                reason: "UPMEM_HOME is not set: install the UPMEM SDK and set UPMEM_HOME to its prefix, or use Device::upmem_emulator".into(),
            })?;
            let path = home.join("lib").join("libdpu.so");
            HostLibrary::open(&path, Some(home), "upmem").map(Arc::new)
        })
        .clone()
    }

    /// The first rule violation the emulator recorded on `set` by the last call (none on the SDK).
    fn violation(&self, set: sys::dpu_set_t) -> Option<(UpmemRule, String)> {
        let f = self.violation?;
        let mut rule = 0u32;
        let mut msg = vec![0u8; 1024];
        // SAFETY: `msg` has `msg.len()` bytes; the emulator NUL-terminates within them.
        let found = unsafe { f(set, &mut rule, msg.as_mut_ptr().cast(), msg.len()) };
        if found == 0 {
            return None;
        }
        let message = CStr::from_bytes_until_nul(&msg).map(|m| m.to_string_lossy().into_owned()).unwrap_or_default();
        Some((UpmemRule::from_id(rule)?, message))
    }

    /// The SDK's description of `status`, with its number.
    fn describe(&self, status: sys::dpu_error_t) -> String {
        // SAFETY: dpu_error_to_string returns a static string (or NULL).
        let text = unsafe {
            let p = self.api.dpu_error_to_string(status);
            if p.is_null() {
                String::from("unknown error")
            } else {
                CStr::from_ptr(p).to_string_lossy().into_owned()
            }
        };
        format!("{text} (dpu_error_t {status})")
    }
}

/// The rule the emulator library of this process recorded on `set` by the last call on it,
/// as [`Error::UpmemRule`]; `None` when there is none. For tests and host code calling the raw
/// [`sys::DpuApi`] of the emulator ([`emulator_library`]): pass the set the failing call took.
pub fn emulator_violation(set: sys::dpu_set_t) -> Option<Error> {
    let lib = HostLibrary::emulator().ok()?;
    lib.violation(set).map(|(rule, message)| Error::UpmemRule { rule, message })
}

/// The error for a raw API call on the emulator that returned `status` on `set`: `Ok(())` for
/// `DPU_OK`, [`Error::UpmemRule`] when the emulator recorded a broken rule, else
/// [`Error::DeviceFailed`] with the SDK's description of `status`.
pub fn rule_error(set: sys::dpu_set_t, status: sys::dpu_error_t, operation: &str) -> Result<(), Error> {
    if status == sys::DPU_OK {
        return Ok(());
    }
    if let Some(e) = emulator_violation(set) {
        return Err(e);
    }
    let message = HostLibrary::emulator().map(|l| l.describe(status)).unwrap_or_else(|_| format!("dpu_error_t {status}"));
    Err(Error::DeviceFailed { device: "upmem emulator".into(), operation: operation.into(), message })
}

// ------------------------------------------------------------------------------------------
// Devices

/// An UPMEM device: an allocated DPU set. Clones share it; it is freed with the last one.
#[derive(Clone)]
pub(crate) struct UpmemBackend(Arc<Inner>);

struct Inner {
    lib: Arc<HostLibrary>,
    set: sys::dpu_set_t,
    /// The single-DPU sets of `set`, in DPU_FOREACH order.
    dpus: Vec<sys::dpu_set_t>,
    tasklets: usize,
    run: Mutex<RunState>,
}

#[derive(Default)]
struct RunState {
    /// The program loaded on every DPU.
    loaded: Option<PathBuf>,
    /// Compiled programs by kernel source.
    programs: HashMap<String, PathBuf>,
    stats: UpmemStats,
}

// SAFETY: the DPU set is only used through `run`'s lock (launches) or once the last clone is
// dropped (dpu_free); the host libraries are thread-safe for calls on distinct sets.
unsafe impl Send for Inner {}
// SAFETY: as above.
unsafe impl Sync for Inner {}

impl Drop for Inner {
    fn drop(&mut self) {
        // SAFETY: `set` came from dpu_alloc and no clone of the device is left.
        unsafe {
            self.lib.api.dpu_free(self.set);
        }
    }
}

impl fmt::Debug for UpmemBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl PartialEq for UpmemBackend {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for UpmemBackend {}

/// Where one array leaf lives on every DPU.
struct LeafPlan {
    size: usize,
    len: usize,
    offset: usize,
    cap: usize,
}

impl UpmemBackend {
    pub(crate) fn open_sdk(dpus: usize, tasklets: usize) -> Result<UpmemBackend, Error> {
        check_dpus("upmem", dpus)?;
        UpmemBackend::alloc(HostLibrary::sdk()?, dpus, tasklets)
    }

    pub(crate) fn open_emulator(dpus: usize, tasklets: usize) -> Result<UpmemBackend, Error> {
        check_dpus("upmem emulator", dpus)?;
        UpmemBackend::alloc(HostLibrary::emulator()?, dpus, tasklets)
    }

    fn alloc(lib: Arc<HostLibrary>, dpus: usize, tasklets: usize) -> Result<UpmemBackend, Error> {
        let name = if lib.sdk.is_some() { "upmem" } else { "upmem emulator" };
        let device = format!("{name} ({dpus} DPUs)");
        let n = u32::try_from(dpus).map_err(|_| Error::DeviceLimit { what: "DPUs of an UPMEM device".into(), limit: u64::from(u32::MAX), requested: dpus as u64 })?;
        let mut set = sys::dpu_set_t::default();
        // SAFETY: `set` is written by dpu_alloc; a NULL profile is the default one.
        let status = unsafe { lib.api.dpu_alloc(n, std::ptr::null(), &mut set) };
        if status != sys::DPU_OK {
            return Err(Error::DeviceMissing { device, reason: format!("dpu_alloc({dpus}) failed: {}", lib.describe(status)) });
        }
        let mut list = Vec::with_capacity(dpus);
        // SAFETY: the DPU_FOREACH iteration of the SDK's header, over a live set.
        unsafe {
            let mut it = lib.api.dpu_set_dpu_iterator_from(&mut set);
            while it.has_next {
                list.push(it.next);
                lib.api.dpu_set_dpu_iterator_next(&mut it);
            }
        }
        let inner = Inner { lib, set, dpus: list, tasklets, run: Mutex::new(RunState::default()) };
        if inner.dpus.len() != dpus {
            let found = inner.dpus.len();
            drop(inner);
            return Err(Error::DeviceMissing { device, reason: format!("dpu_alloc({dpus}) gave {found} DPUs") });
        }
        Ok(UpmemBackend(Arc::new(inner)))
    }

    pub(crate) fn describe(&self) -> String {
        let i = &self.0;
        let name = if i.lib.sdk.is_some() { "upmem" } else { "upmem emulator" };
        let d = i.dpus.len();
        let t = i.tasklets;
        format!("{name} ({d} DPU{}, {t} tasklet{})", if d == 1 { "" } else { "s" }, if t == 1 { "" } else { "s" })
    }

    pub(crate) fn dpus(&self) -> usize {
        self.0.dpus.len()
    }

    pub(crate) fn threads(&self) -> usize {
        self.0.dpus.len() * self.0.tasklets
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RunState> {
        self.0.run.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn stats(&self) -> UpmemStats {
        self.lock().stats
    }

    pub(crate) fn reset_stats(&self) {
        self.lock().stats = UpmemStats::default();
    }

    /// `Ok` for `DPU_OK`; else the emulator's rule violation on `set`, or
    /// [`Error::DeviceFailed`] saying what `operation` was.
    fn check(&self, status: sys::dpu_error_t, set: sys::dpu_set_t, operation: impl FnOnce() -> String) -> Result<(), Error> {
        if status == sys::DPU_OK {
            return Ok(());
        }
        if let Some((rule, message)) = self.0.lib.violation(set) {
            return Err(Error::UpmemRule { rule, message });
        }
        Err(Error::DeviceFailed { device: self.describe(), operation: operation(), message: self.0.lib.describe(status) })
    }

    /// Pushes or pulls `bytes` bytes per DPU between `buffers[d]` and `symbol + offset`.
    fn xfer(&self, to_dpu: bool, symbol: &CStr, offset: usize, bytes: usize, buffers: &[*mut u8]) -> Result<(), Error> {
        let i = &self.0;
        let what = || format!("{} {bytes} bytes per DPU {} `{}` at offset {offset}", if to_dpu { "push" } else { "pull" }, if to_dpu { "to" } else { "from" }, symbol.to_string_lossy());
        let offset32 = u32::try_from(offset).map_err(|_| Error::DeviceLimit { what: "MRAM offset".into(), limit: MRAM_BYTES as u64, requested: offset as u64 })?;
        for (dpu, &buf) in i.dpus.iter().zip(buffers) {
            // SAFETY: `buf` points to at least `bytes` bytes that live until the push below.
            let status = unsafe { i.lib.api.dpu_prepare_xfer(*dpu, buf.cast()) };
            self.check(status, *dpu, what)?;
        }
        let dir = if to_dpu { sys::DPU_XFER_TO_DPU } else { sys::DPU_XFER_FROM_DPU };
        // SAFETY: every DPU has a prepared buffer of `bytes` bytes.
        let status = unsafe { i.lib.api.dpu_push_xfer(i.set, dir, symbol.as_ptr(), offset32, bytes, sys::DPU_XFER_DEFAULT) };
        self.check(status, i.set, what)
    }

    /// Compiles (once per source) and loads `kernel`'s program unless it is the one loaded.
    fn load(&self, state: &mut RunState, kernel: &UpmemKernel<'_>) -> Result<(), Error> {
        let i = &self.0;
        let path = match state.programs.get(kernel.source) {
            Some(p) => p.clone(),
            None => {
                let p = match &i.lib.sdk {
                    Some(home) => compile_sdk_program(home, kernel.source, i.tasklets),
                    None => compile_emulator_program(kernel.source, i.tasklets),
                }
                .map_err(|e| match e {
                    Error::Toolchain { tool, message } => Error::Toolchain { tool, message: format!("compiling the DPU program of kernel `{}`: {message}", kernel.name) },
                    e => e,
                })?;
                state.programs.insert(kernel.source.to_string(), p.clone());
                p
            }
        };
        if state.loaded.as_ref() == Some(&path) {
            return Ok(());
        }
        state.loaded = None;
        let c_path = CString::new(path.to_string_lossy().into_owned()).map_err(|_| Error::Toolchain { tool: "spiral-upmem cache".into(), message: format!("the path {} has a NUL byte", path.display()) })?;
        // SAFETY: a live set and a NUL-terminated path; the program handle is not wanted.
        let status = unsafe { i.lib.api.dpu_load(i.set, c_path.as_ptr(), std::ptr::null_mut()) };
        self.check(status, i.set, || format!("load the DPU program of kernel `{}` ({})", kernel.name, path.display()))?;
        state.loaded = Some(path);
        state.stats.program_loads += 1;
        Ok(())
    }

    pub(crate) fn launch(&self, kernel: &UpmemKernel<'_>, len: usize, tasklet_kernel: bool, args: &mut UpmemArgs<'_>) -> Result<(), Error> {
        let i = &self.0;
        let d = i.dpus.len();
        // Lengths (an element kernel's leaves all have the launch's length) and the MRAM plan.
        let mut plans = Vec::new();
        let mut end = 0usize;
        for (k, a) in args.items.iter().enumerate() {
            let Some((kind, n)) = a.leaf() else { continue };
            if !tasklet_kernel && n != len {
                return Err(Error::LengthMismatch {
                    what: format!("array leaf {k} of UPMEM kernel `{}` (an element kernel: every array has the launch's length)", kernel.name),
                    expected: len,
                    found: n,
                });
            }
            let size = kind.size();
            let largest = n.div_ceil(d.max(1));
            let cap = largest.checked_mul(size).and_then(crate::pack::round_up8).unwrap_or(usize::MAX);
            plans.push(LeafPlan { size, len: n, offset: end, cap });
            end = end.saturating_add(cap);
        }
        if end > MRAM_BYTES {
            return Err(Error::DeviceLimit { what: format!("MRAM bytes per DPU for the leaves of UPMEM kernel `{}`", kernel.name), limit: MRAM_BYTES as u64, requested: end as u64 });
        }
        if !tasklet_kernel && len == 0 {
            return Ok(());
        }
        let mut state = self.lock();
        self.load(&mut state, kernel)?;
        let mut moved = 0u64;

        // __spi_args: one row of slots per DPU.
        let slots = args.slots();
        let mut rows = vec![0u64; slots * d];
        for (dpu, row) in rows.chunks_mut(slots).enumerate() {
            let r = dpu_share(len, d, dpu);
            row[..4].copy_from_slice(&[dpu as u64, d as u64, r.len() as u64, r.start as u64]);
            let mut s = 4;
            let mut leaf = 0;
            for a in &args.items {
                if let UpmemArg::Scalar { bits, .. } = a {
                    row[s] = *bits;
                    s += 1;
                } else {
                    let p = &plans[leaf];
                    row[s] = p.offset as u64;
                    row[s + 1] = dpu_share(p.len, d, dpu).len() as u64;
                    s += 2;
                    leaf += 1;
                }
            }
        }
        let ptrs: Vec<*mut u8> = rows.chunks_mut(slots).map(|r| r.as_mut_ptr().cast::<u8>()).collect();
        self.xfer(true, c"__spi_args", 0, slots * 8, &ptrs)?;
        moved += (slots * 8 * d) as u64;

        // __spi_status: zeroed on every DPU.
        let t = i.tasklets;
        let zeros = vec![0u64; t.max(1)];
        // SAFETY: `zeros` holds `t * 8` bytes.
        let status = unsafe { i.lib.api.dpu_copy_to(i.set, c"__spi_status".as_ptr(), 0, zeros.as_ptr().cast(), t * 8) };
        self.check(status, i.set, || format!("zero `__spi_status` ({t} slots) before kernel `{}`", kernel.name))?;
        moved += (t * 8 * d) as u64;

        // Inputs and in-outs: each DPU's share, pointed at in place when its padded block lies
        // inside the host slice, else copied into a zero-padded staging row.
        let heap = c"__sys_used_mram_end";
        let mut leaf = 0;
        for a in &args.items {
            let bytes: &[u8] = match a {
                UpmemArg::Input(l) => l.as_bytes(),
                UpmemArg::Inout(l) => l.as_ref().as_bytes(),
                UpmemArg::Output(_) => {
                    leaf += 1;
                    continue;
                }
                UpmemArg::Scalar { .. } => continue,
            };
            let p = &plans[leaf];
            leaf += 1;
            if p.cap == 0 {
                continue;
            }
            let mut staging = vec![0u8; 0];
            let mut ptrs = vec![std::ptr::null_mut::<u8>(); d];
            let needs_staging: Vec<bool> = (0..d).map(|dpu| dpu_share(p.len, d, dpu).start * p.size + p.cap > bytes.len()).collect();
            let staged = needs_staging.iter().filter(|&&s| s).count();
            staging.resize(staged * p.cap, 0);
            let mut row = 0;
            for dpu in 0..d {
                let r = dpu_share(p.len, d, dpu);
                let (lo, hi) = (r.start * p.size, r.end * p.size);
                if needs_staging[dpu] {
                    let dst = &mut staging[row * p.cap..(row + 1) * p.cap];
                    dst[..hi - lo].copy_from_slice(&bytes[lo..hi]);
                    ptrs[dpu] = dst.as_mut_ptr();
                    row += 1;
                } else {
                    // The library only reads through this pointer (a push to the DPUs).
                    ptrs[dpu] = bytes[lo..lo + p.cap].as_ptr().cast_mut();
                }
            }
            self.xfer(true, heap, p.offset, p.cap, &ptrs)?;
            moved += (p.cap * d) as u64;
            state.stats.leaf_bytes_pushed += (p.len * p.size) as u64;
        }

        // The launch.
        // SAFETY: a live set with a loaded program.
        let status = unsafe { i.lib.api.dpu_launch(i.set, sys::DPU_SYNCHRONOUS) };
        state.stats.launches += 1;
        if status != sys::DPU_OK {
            if let Some((rule, message)) = i.lib.violation(i.set) {
                return Err(Error::UpmemRule { rule, message: format!("kernel `{}`: {message}", kernel.name) });
            }
            return Err(Error::KernelFailed { kernel: kernel.name.into(), message: format!("dpu_launch failed: {}", i.lib.describe(status)) });
        }

        // The tasklets' status.
        let mut codes = vec![0u64; t.max(1) * d];
        let ptrs: Vec<*mut u8> = codes.chunks_mut(t.max(1)).map(|r| r.as_mut_ptr().cast::<u8>()).collect();
        self.xfer(false, c"__spi_status", 0, t * 8, &ptrs)?;
        moved += (t * 8 * d) as u64;
        for (dpu, row) in codes.chunks(t.max(1)).enumerate() {
            if let Some((tasklet, &code)) = row.iter().take(t).enumerate().find(|(_, &c)| c != 0) {
                state.stats.bytes_transferred += moved;
                let reason = i32::try_from(code).map(crate::private::status_reason).unwrap_or("unknown status");
                return Err(Error::KernelFailed { kernel: kernel.name.into(), message: format!("DPU {dpu}, tasklet {tasklet}: status {code}: {reason}") });
            }
        }

        // Outputs and in-outs: pulled into staging rows, then each DPU's share copied out.
        let mut leaf = 0;
        for a in args.items.iter_mut() {
            let l = match a {
                UpmemArg::Output(l) | UpmemArg::Inout(l) => l,
                UpmemArg::Input(_) => {
                    leaf += 1;
                    continue;
                }
                UpmemArg::Scalar { .. } => continue,
            };
            let p = &plans[leaf];
            leaf += 1;
            if p.cap == 0 {
                continue;
            }
            let mut staging = vec![0u8; p.cap * d];
            let ptrs: Vec<*mut u8> = staging.chunks_mut(p.cap).map(|r| r.as_mut_ptr()).collect();
            self.xfer(false, heap, p.offset, p.cap, &ptrs)?;
            moved += (p.cap * d) as u64;
            for (dpu, row) in staging.chunks(p.cap).enumerate() {
                let r = dpu_share(p.len, d, dpu);
                l.copy_from_bytes_at(r.start, &row[..r.len() * p.size])?;
            }
            state.stats.leaf_bytes_pulled += (p.len * p.size) as u64;
        }
        state.stats.bytes_transferred += moved;
        Ok(())
    }
}

fn check_dpus(name: &str, dpus: usize) -> Result<(), Error> {
    if dpus == 0 {
        return Err(Error::DeviceLimit { what: format!("DPUs of an {name} device (at least 1)"), limit: 1, requested: 0 });
    }
    Ok(())
}
