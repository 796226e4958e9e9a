//! The UPMEM emulator end to end: hand-written DPU C kernels following the launcher's ABI (see
//! `spiral_rt::upmem`), the raw bindgen API, and one test per rule the emulator enforces.
#![cfg(feature = "upmem")]

use std::ffi::{c_int, c_void, CStr};

use spiral_rt::upmem::{compile_emulator_program, emulator_library, rule_error, sys};
use spiral_rt::{Device, DeviceKind, Error, UpmemArgs, UpmemKernel, UpmemRule};

/// out[i] = 2 * in[i] + k over i32 leaves: params (in, out, k), so `__spi_args` has
/// 4 + 2 + 2 + 1 slots. Tasklets take contiguous 8-element-aligned ranges of the DPU's share
/// and move them through WRAM in blocks of at most 256 elements (1024 bytes); the tail block
/// is rounded up to 8 bytes, which stays inside the leaf's padded MRAM block. k == -999 makes
/// tasklet 0 of the last DPU report status 2 (failwith).
const MAP: &str = r#"
#include <stdint.h>
#include <stdbool.h>
#include <defs.h>
#include <mram.h>

#define BLOCK 256
__host uint64_t __spi_args[9];
__host uint64_t __spi_status[NR_TASKLETS];
__dma_aligned int32_t in_buf[NR_TASKLETS][BLOCK];
__dma_aligned int32_t out_buf[NR_TASKLETS][BLOCK];

int main(void) {
    const uint32_t t = me();
    const uint32_t n = (uint32_t)__spi_args[2];
    __mram_ptr int32_t *in = (__mram_ptr int32_t *)((__mram_ptr uint8_t *)DPU_MRAM_HEAP_POINTER + (uint32_t)__spi_args[4]);
    const uint32_t in_len = (uint32_t)__spi_args[5];
    __mram_ptr int32_t *out = (__mram_ptr int32_t *)((__mram_ptr uint8_t *)DPU_MRAM_HEAP_POINTER + (uint32_t)__spi_args[6]);
    int32_t k;
    { uint64_t bits = __spi_args[8]; __builtin_memcpy(&k, &bits, sizeof k); }
    __spi_status[t] = 0;
    if (in_len != n || (uint32_t)__spi_args[7] != n) { __spi_status[t] = 1; return 0; }
    if (k == -999 && t == 0 && __spi_args[0] + 1 == __spi_args[1]) { __spi_status[t] = 2; return 0; }
    const uint32_t per = ((n + NR_TASKLETS - 1) / NR_TASKLETS + 7) / 8 * 8;
    const uint32_t lo = t * per < n ? t * per : n;
    const uint32_t hi = n - lo < per ? n : lo + per;
    for (uint32_t i = lo; i < hi; i += BLOCK) {
        const uint32_t cnt = hi - i < BLOCK ? hi - i : BLOCK;
        const uint32_t bytes = (cnt * 4 + 7) & ~7u;
        mram_read(&in[i], in_buf[t], bytes);
        for (uint32_t j = 0; j < cnt; j++)
            out_buf[t][j] = (int32_t)((uint32_t)in_buf[t][j] * 2u + (uint32_t)k);
        mram_write(out_buf[t], &out[i], bytes);
    }
    return 0;
}
"#;

/// A tasklet kernel: each DPU sums its share of an i64 leaf (params: in, out) into out's one
/// element on that DPU: every tasklet sums a strided set of 64-element blocks into a shared
/// WRAM array, then tasklet 0 adds them up after a barrier. The barrier is used twice per
/// launch (it must re-arm).
const SUM: &str = r#"
#include <stdint.h>
#include <defs.h>
#include <mram.h>
#include <barrier.h>
#include <alloc.h>

#define BLOCK 64
__host uint64_t __spi_args[8];
__host uint64_t __spi_status[NR_TASKLETS];
BARRIER_INIT(bar, NR_TASKLETS);
int64_t partial[NR_TASKLETS];

int main(void) {
    const uint32_t t = me();
    if (t == 0)
        mem_reset();
    barrier_wait(&bar);
    int64_t *buf = mem_alloc(BLOCK * sizeof(int64_t));
    __mram_ptr int64_t *in = (__mram_ptr int64_t *)((__mram_ptr uint8_t *)DPU_MRAM_HEAP_POINTER + (uint32_t)__spi_args[4]);
    const uint32_t n = (uint32_t)__spi_args[5];
    __mram_ptr int64_t *out = (__mram_ptr int64_t *)((__mram_ptr uint8_t *)DPU_MRAM_HEAP_POINTER + (uint32_t)__spi_args[6]);
    const uint32_t out_len = (uint32_t)__spi_args[7];
    int64_t s = 0;
    for (uint32_t b = t * BLOCK; b < n; b += BLOCK * NR_TASKLETS) {
        const uint32_t cnt = n - b < BLOCK ? n - b : BLOCK;
        mram_read(&in[b], buf, cnt * 8);
        for (uint32_t j = 0; j < cnt; j++)
            s += buf[j];
    }
    partial[t] = s;
    barrier_wait(&bar);
    if (t == 0 && out_len == 1) {
        int64_t total = 0;
        for (uint32_t i = 0; i < NR_TASKLETS; i++)
            total += partial[i];
        buf[0] = total;
        mram_write(buf, &out[0], 8);
    }
    __spi_status[t] = 0;
    return 0;
}
"#;

fn map_kernel() -> UpmemKernel<'static> {
    UpmemKernel { name: "map", source: MAP }
}

fn run_map(dev: &Device, input: &[i32], k: i32) -> Result<Vec<i32>, Error> {
    let mut out = vec![0i32; input.len()];
    let mut args = UpmemArgs::new();
    args.input(input).output(&mut out[..]).scalar(k);
    dev.upmem_launch(&map_kernel(), input.len(), false, &mut args)?;
    drop(args);
    Ok(out)
}

#[test]
fn map_kernel_matches_a_rust_loop_over_dpus_tasklets_and_lengths() {
    for dpus in [1usize, 4, 64] {
        for tasklets in [1usize, 11, 16] {
            let dev = Device::upmem_emulator(dpus, tasklets).unwrap();
            for len in [0usize, 1, 1000, 100_003] {
                let input: Vec<i32> = (0..len as i64).map(|i| ((i * 7919) % 20011 - 10000) as i32).collect();
                let k = 17 - len as i32;
                let out = run_map(&dev, &input, k).unwrap();
                let expected: Vec<i32> = input.iter().map(|&x| x.wrapping_mul(2).wrapping_add(k)).collect();
                assert_eq!(out, expected, "{dpus} DPUs, {tasklets} tasklets, {len} elements");
            }
            let stats = dev.upmem_stats().unwrap();
            assert_eq!(stats.launches, 3, "a launch of 0 elements does not run");
            assert_eq!(stats.program_loads, 1);
            assert_eq!(stats.leaf_bytes_pushed, 4 * (1 + 1000 + 100_003));
            assert_eq!(stats.leaf_bytes_pulled, stats.leaf_bytes_pushed);
            assert!(stats.bytes_transferred > 2 * stats.leaf_bytes_pushed);
        }
    }
}

#[test]
fn inout_leaves_are_pushed_and_pulled_and_state_persists() {
    // An in-out leaf: x[i] = 2 * x[i] + 1, applied twice.
    const INOUT: &str = r#"
#include <stdint.h>
#include <defs.h>
#include <mram.h>
__host uint64_t __spi_args[6];
__host uint64_t __spi_status[NR_TASKLETS];
__host uint32_t launches;
__dma_aligned int64_t buf[NR_TASKLETS][8];
int main(void) {
    const uint32_t t = me();
    __mram_ptr int64_t *x = (__mram_ptr int64_t *)((__mram_ptr uint8_t *)DPU_MRAM_HEAP_POINTER + (uint32_t)__spi_args[4]);
    const uint32_t n = (uint32_t)__spi_args[5];
    for (uint32_t i = t * 8; i < n; i += 8 * NR_TASKLETS) {
        const uint32_t cnt = n - i < 8 ? n - i : 8;
        mram_read(&x[i], buf[t], cnt * 8);
        for (uint32_t j = 0; j < cnt; j++) buf[t][j] = 2 * buf[t][j] + 1;
        mram_write(buf[t], &x[i], cnt * 8);
    }
    if (t == 0) launches++;
    __spi_status[t] = 0;
    return 0;
}
"#;
    let dev = Device::upmem_emulator(3, 4).unwrap();
    let kernel = UpmemKernel { name: "inout", source: INOUT };
    let mut x: Vec<i64> = (0..77).collect();
    for _ in 0..2 {
        let mut args = UpmemArgs::new();
        args.inout(&mut x[..]);
        dev.upmem_launch(&kernel, 77, false, &mut args).unwrap();
    }
    assert_eq!(x, (0..77).map(|i| 4 * i + 3).collect::<Vec<i64>>());
    // The WRAM global `launches` persisted across the two launches of one program.
    let stats = dev.upmem_stats().unwrap();
    assert_eq!((stats.launches, stats.program_loads), (2, 1));
    dev.upmem_reset_stats();
    assert_eq!(dev.upmem_stats().unwrap(), Default::default());
}

#[test]
fn tasklet_kernel_sums_with_barriers_and_shared_wram() {
    for (dpus, tasklets) in [(1usize, 1usize), (4, 16), (7, 11)] {
        let dev = Device::upmem_emulator(dpus, tasklets).unwrap();
        for n in [0usize, 5, 4096, 100_003] {
            let input: Vec<i64> = (0..n as i64).map(|i| i * i - 3 * i).collect();
            let mut partials = vec![0i64; dpus];
            let mut args = UpmemArgs::new();
            args.input(&input[..]).output(&mut partials[..]);
            dev.upmem_launch(&UpmemKernel { name: "sum", source: SUM }, dpus, true, &mut args).unwrap();
            drop(args);
            let expected: Vec<i64> = (0..dpus).map(|d| input[spiral_rt::upmem::dpu_share(n, dpus, d)].iter().sum()).collect();
            assert_eq!(partials, expected, "{dpus} DPUs, {tasklets} tasklets, {n} elements");
            assert_eq!(partials.iter().sum::<i64>(), input.iter().sum::<i64>());
        }
    }
}

#[test]
fn device_identity_display_and_errors() {
    let dev = Device::upmem_emulator(4, 16).unwrap();
    assert_eq!(dev.to_string(), "upmem emulator (4 DPUs, 16 tasklets)");
    assert_eq!(Device::upmem_emulator(1, 1).unwrap().to_string(), "upmem emulator (1 DPU, 1 tasklet)");
    assert_eq!(dev.kind(), DeviceKind::Upmem);
    assert_eq!(dev.upmem_dpus(), 4);
    assert_eq!(dev.threads(), 64);
    assert_eq!(Device::cpu_with_threads(2).upmem_dpus(), 0);
    assert_eq!(Device::cpu_with_threads(2).upmem_stats(), None);
    let clone = dev.clone();
    assert_eq!(clone, dev);
    assert_ne!(Device::upmem_emulator(4, 16).unwrap(), dev);
    assert!(matches!(Device::upmem_emulator(0, 16), Err(Error::DeviceLimit { requested: 0, .. })));
    assert!(matches!(dev.for_each_chunk(4, |_| ()), Err(Error::Unsupported { .. })));

    // An element kernel needs every leaf of the launch's length.
    let input = [1i32; 10];
    let mut out = [0i32; 9];
    let mut args = UpmemArgs::new();
    args.input(&input[..]).output(&mut out[..]).scalar(0i32);
    let e = dev.upmem_launch(&map_kernel(), 10, false, &mut args).unwrap_err();
    assert!(matches!(e, Error::LengthMismatch { expected: 10, found: 9, .. }), "{e}");

    // The leaves must fit the MRAM.
    let big = vec![0u8; 300 << 20];
    let mut args = UpmemArgs::new();
    args.input(&big[..]);
    let e = dev.upmem_launch(&map_kernel(), 0, true, &mut args).unwrap_err();
    assert!(matches!(e, Error::DeviceLimit { limit, .. } if limit == 64 << 20), "{e}");

    // A tasklet's status becomes KernelFailed naming the DPU and tasklet.
    let e = run_map(&dev, &[1, 2, 3, 4, 5], -999).unwrap_err();
    match e {
        Error::KernelFailed { kernel, message } => {
            assert_eq!(kernel, "map");
            assert!(message.contains("DPU 3, tasklet 0") && message.contains("failwith"), "{message}");
        }
        e => panic!("{e}"),
    }
    // And the device still works afterwards.
    assert_eq!(run_map(&dev, &[1, 2, 3], 1).unwrap(), [3, 5, 7]);

    // A program that does not compile is a toolchain error with the compiler's output.
    let mut args = UpmemArgs::new();
    let e = dev.upmem_launch(&UpmemKernel { name: "bad", source: "int main(void) { return nope; }" }, 0, true, &mut args).unwrap_err();
    assert!(matches!(&e, Error::Toolchain { message, .. } if message.contains("nope")), "{e}");
    // Launching on a CPU device is unsupported.
    let e = Device::cpu_with_threads(1).upmem_launch(&map_kernel(), 0, true, &mut UpmemArgs::new()).unwrap_err();
    assert!(matches!(e, Error::Unsupported { .. }));
}

#[test]
fn the_sdk_device_needs_upmem_home() {
    if std::env::var_os("UPMEM_HOME").is_none() {
        let e = Device::upmem(2).unwrap_err();
        assert!(matches!(&e, Error::DeviceMissing { reason, .. } if reason.contains("UPMEM_HOME")), "{e}");
    }
}

// ------------------------------------------------------------------------------------------
// The raw bindgen API: the same host code that would run on the SDK.

fn api() -> sys::DpuApi {
    let path = emulator_library().unwrap();
    unsafe { sys::DpuApi::new(path.to_str().unwrap()) }.unwrap()
}

fn dpus_of(api: &sys::DpuApi, set: &mut sys::dpu_set_t) -> Vec<sys::dpu_set_t> {
    let mut v = Vec::new();
    unsafe {
        let mut it = api.dpu_set_dpu_iterator_from(set);
        while it.has_next {
            v.push(it.next);
            api.dpu_set_dpu_iterator_next(&mut it);
        }
    }
    v
}

const TINY: &str = r#"
#include <stdint.h>
#include <defs.h>
__host uint32_t x;
__host uint32_t y;
int main(void) { if (me() == 0) y = 3 * x + 1; return 0; }
"#;

fn load(api: &sys::DpuApi, set: sys::dpu_set_t, source: &str, tasklets: usize) -> sys::dpu_error_t {
    let path = compile_emulator_program(source, tasklets).unwrap();
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    unsafe { api.dpu_load(set, c.as_ptr(), std::ptr::null_mut()) }
}

#[test]
fn raw_api_runs_a_program_end_to_end() {
    let api = api();
    unsafe {
        let mut set = sys::dpu_set_t::default();
        assert_eq!(api.dpu_alloc(4, std::ptr::null(), &mut set), sys::DPU_OK);
        let mut n = 0u32;
        assert_eq!(api.dpu_get_nr_dpus(set, &mut n), sys::DPU_OK);
        assert_eq!(n, 4);
        assert_eq!(load(&api, set, TINY, 2), sys::DPU_OK);
        let x = 5u32;
        assert_eq!(api.dpu_copy_to(set, c"x".as_ptr(), 0, (&x as *const u32).cast(), 4), sys::DPU_OK);
        assert_eq!(api.dpu_launch(set, sys::DPU_SYNCHRONOUS), sys::DPU_OK);
        let dpus = dpus_of(&api, &mut set);
        assert_eq!(dpus.len(), 4);
        for dpu in &dpus {
            let mut y = 0u32;
            assert_eq!(api.dpu_copy_from(*dpu, c"y".as_ptr(), 0, (&mut y as *mut u32).cast(), 4), sys::DPU_OK);
            assert_eq!(y, 16);
        }
        let msg = CStr::from_ptr(api.dpu_error_to_string(sys::DPU_ERR_INVALID_MRAM_ACCESS));
        assert!(msg.to_string_lossy().contains("MRAM"));
        assert_eq!(api.dpu_free(set), sys::DPU_OK);
    }
}

extern "C" {
    fn tmpfile() -> *mut sys::FILE;
    fn rewind(f: *mut sys::FILE);
    fn fread(p: *mut c_void, size: usize, n: usize, f: *mut sys::FILE) -> usize;
    fn fclose(f: *mut sys::FILE) -> c_int;
}

#[test]
fn printf_goes_to_the_dpu_log() {
    const PRINT: &str = r#"
#include <stdint.h>
#include <stdio.h>
#include <defs.h>
#include <barrier.h>
__host uint32_t id;
BARRIER_INIT(b, NR_TASKLETS);
int main(void) {
    for (uint32_t i = 0; i < NR_TASKLETS; i++) {
        if (me() == i) printf("dpu %u tasklet %u\n", id, me());
        barrier_wait(&b);
    }
    if (me() == 0) puts("done");
    return 0;
}
"#;
    let api = api();
    unsafe {
        let mut set = sys::dpu_set_t::default();
        assert_eq!(api.dpu_alloc(2, std::ptr::null(), &mut set), sys::DPU_OK);
        assert_eq!(load(&api, set, PRINT, 3), sys::DPU_OK);
        let dpus = dpus_of(&api, &mut set);
        let ids = [10u32, 11];
        for (dpu, id) in dpus.iter().zip(&ids) {
            assert_eq!(api.dpu_prepare_xfer(*dpu, (id as *const u32).cast_mut().cast()), sys::DPU_OK);
        }
        assert_eq!(api.dpu_push_xfer(set, sys::DPU_XFER_TO_DPU, c"id".as_ptr(), 0, 4, sys::DPU_XFER_DEFAULT), sys::DPU_OK);
        assert_eq!(api.dpu_launch(set, sys::DPU_SYNCHRONOUS), sys::DPU_OK);
        for (k, dpu) in dpus.iter().enumerate() {
            let f = tmpfile();
            assert!(!f.is_null());
            assert_eq!(api.dpu_log_read(*dpu, f), sys::DPU_OK);
            rewind(f);
            let mut buf = vec![0u8; 4096];
            let n = fread(buf.as_mut_ptr().cast(), 1, buf.len(), f);
            fclose(f);
            let text = String::from_utf8_lossy(&buf[..n]);
            let id = 10 + k;
            assert_eq!(text, format!("dpu {id} tasklet 0\ndpu {id} tasklet 1\ndpu {id} tasklet 2\ndone\n"));
        }
        // A program without printf has no log.
        assert_eq!(load(&api, set, TINY, 1), sys::DPU_OK);
        assert_eq!(api.dpu_log_read(dpus[0], std::ptr::null_mut()), sys::DPU_ERR_LOG_CONTEXT_MISSING);
        assert_eq!(api.dpu_free(set), sys::DPU_OK);
    }
}

// ------------------------------------------------------------------------------------------
// One test per rule.

/// Runs a one-shot DPU program (taking no parameters) on `dpus` DPUs and returns the error.
fn launch_err(source: &str, dpus: usize, tasklets: usize) -> Error {
    let dev = Device::upmem_emulator(dpus, tasklets).unwrap();
    let mut args = UpmemArgs::new();
    dev.upmem_launch(&UpmemKernel { name: "rule", source }, 0, true, &mut args).unwrap_err()
}

fn assert_rule(e: &Error, rule: UpmemRule, words: &[&str]) {
    match e {
        Error::UpmemRule { rule: r, message } => {
            assert_eq!(*r, rule, "{message}");
            for w in words {
                assert!(message.contains(w), "`{w}` is not in: {message}");
            }
            assert!(e.to_string().contains(rule.name()));
        }
        e => panic!("expected the rule {rule:?}, got: {e}"),
    }
}

/// A program body run by tasklet 0 of DPU 0, with `buf` an 8-aligned WRAM buffer of 4096 bytes
/// and `heap` the MRAM heap pointer.
fn dpu0(body: &str) -> String {
    format!(
        r#"
#include <stdint.h>
#include <defs.h>
#include <mram.h>
__host uint64_t __spi_args[4];
__host uint64_t __spi_status[NR_TASKLETS];
__dma_aligned uint8_t buf[4096];
int main(void) {{
    __mram_ptr uint8_t *heap = (__mram_ptr uint8_t *)DPU_MRAM_HEAP_POINTER;
    (void)heap;
    if (me() == 0 && __spi_args[0] == 0) {{ {body} }}
    return 0;
}}
"#
    )
}

#[test]
fn rule_unaligned_dma() {
    let e = launch_err(&dpu0("mram_read(heap + 4, buf, 8);"), 1, 4);
    assert_rule(&e, UpmemRule::DmaAlignment, &["DPU 0, tasklet 0", "mram_read", "+ 4", "kernel `rule`"]);
    let e = launch_err(&dpu0("mram_write(buf + 4, heap, 8);"), 1, 1);
    assert_rule(&e, UpmemRule::DmaAlignment, &["mram_write", "WRAM address"]);
}

#[test]
fn rule_oversized_dma() {
    let e = launch_err(&dpu0("mram_read(heap, buf, 4096);"), 2, 16);
    assert_rule(&e, UpmemRule::DmaSize, &["mram_read of 4096 bytes", "2048"]);
    let e = launch_err(&dpu0("mram_write(buf, heap, 12);"), 1, 1);
    assert_rule(&e, UpmemRule::DmaSize, &["mram_write of 12 bytes"]);
}

#[test]
fn rule_too_many_tasklets() {
    let e = launch_err(&dpu0(""), 1, 25);
    assert_rule(&e, UpmemRule::TooManyTasklets, &["25", "24"]);
    let e = launch_err(&dpu0(""), 1, 0);
    assert_rule(&e, UpmemRule::TooManyTasklets, &["NR_TASKLETS = 0"]);
}

#[test]
fn rule_wram_budget() {
    let src = dpu0("big[5] = 1; mram_write(big, heap, 8);").replace("int main", "__dma_aligned uint8_t big[70000];\nint main");
    let e = launch_err(&src, 1, 1);
    assert_rule(&e, UpmemRule::WramBudget, &["65536", "1 tasklets x 1024-byte stacks"]);
    // mem_alloc past the end of WRAM faults the DPU.
    let src = dpu0("for (int i = 0; i < 100; i++) { uint8_t *p = mem_alloc(4096); p[0] = 1; }").replace("#include <mram.h>", "#include <mram.h>\n#include <alloc.h>");
    let e = launch_err(&src, 1, 1);
    assert_rule(&e, UpmemRule::WramBudget, &["mem_alloc(4096)"]);
}

#[test]
fn rule_mram_out_of_bounds() {
    let e = launch_err(&dpu0("mram_read(heap + (64 << 20) - 8, buf, 16);"), 1, 2);
    assert_rule(&e, UpmemRule::MramBounds, &["67108856", "67108864"]);
}

#[test]
fn rule_no_access_to_another_dpus_mram() {
    // The DPUs of one allocation have adjacent MRAMs in the emulator: DPU 0's heap + 64 MiB
    // is DPU 1's MRAM.
    let e = launch_err(&dpu0("mram_read(heap + (64 << 20), buf, 8);"), 2, 2);
    assert_rule(&e, UpmemRule::DpuIsolation, &["DPU 1", "its own MRAM"]);
}

#[test]
fn rule_dma_wram_side_is_the_dpus_wram() {
    let e = launch_err(&dpu0("mram_read(heap, (void *)heap, 8);"), 1, 1);
    assert_rule(&e, UpmemRule::WramBounds, &["WRAM address"]);
}

#[test]
fn rule_barrier_deadlock_faults_instead_of_hanging() {
    let src = r#"
#include <stdint.h>
#include <defs.h>
#include <barrier.h>
__host uint64_t __spi_args[4];
__host uint64_t __spi_status[NR_TASKLETS];
BARRIER_INIT(b, NR_TASKLETS);
int main(void) { if (me() != 1) barrier_wait(&b); return 0; }
"#;
    let e = launch_err(src, 2, 4);
    assert_rule(&e, UpmemRule::BarrierDeadlock, &["barrier deadlock"]);
}

#[test]
fn rule_unknown_symbol() {
    // The launcher's ABI needs `__spi_status`; this program has none.
    let src = "#include <stdint.h>\n#include <attributes.h>\n__host uint64_t __spi_args[4];\nint main(void) { return 0; }\n";
    let e = launch_err(src, 2, 1);
    assert_rule(&e, UpmemRule::UnknownSymbol, &["`__spi_status`"]);
    // A global that is not `__host` is not visible to the host.
    let api = api();
    unsafe {
        let mut set = sys::dpu_set_t::default();
        assert_eq!(api.dpu_alloc(1, std::ptr::null(), &mut set), sys::DPU_OK);
        assert_eq!(load(&api, set, &dpu0(""), 1), sys::DPU_OK);
        let x = 0u64;
        let st = api.dpu_copy_to(set, c"buf".as_ptr(), 0, (&x as *const u64).cast(), 8);
        assert_eq!(st, sys::DPU_ERR_UNKNOWN_SYMBOL);
        assert_rule(&rule_error(set, st, "copy").unwrap_err(), UpmemRule::UnknownSymbol, &["`buf`", "__host"]);
        assert_eq!(api.dpu_free(set), sys::DPU_OK);
    }
}

#[test]
fn rules_of_host_transfers_through_the_raw_api() {
    let api = api();
    unsafe {
        let mut set = sys::dpu_set_t::default();
        assert_eq!(api.dpu_alloc(2, std::ptr::null(), &mut set), sys::DPU_OK);
        let x = [0u64; 4];
        let src = (&x as *const [u64; 4]).cast::<c_void>();
        // No program yet.
        let st = api.dpu_copy_to(set, c"__spi_args".as_ptr(), 0, src, 8);
        assert_eq!(st, sys::DPU_ERR_NO_PROGRAM_LOADED);
        assert_rule(&rule_error(set, st, "copy").unwrap_err(), UpmemRule::NoProgram, &[]);
        assert_eq!(load(&api, set, &dpu0(""), 1), sys::DPU_OK);
        let heap = sys::DPU_MRAM_HEAP_POINTER_NAME.as_ptr().cast();
        // Unaligned MRAM offset, then size.
        let st = api.dpu_copy_to(set, heap, 4, src, 8);
        assert_eq!(st, sys::DPU_ERR_INVALID_MRAM_ACCESS);
        assert_rule(&rule_error(set, st, "copy").unwrap_err(), UpmemRule::HostMramAlignment, &["offset 4 and size 8"]);
        let st = api.dpu_copy_to(set, heap, 8, src, 12);
        assert_rule(&rule_error(set, st, "copy").unwrap_err(), UpmemRule::HostMramAlignment, &["size 12"]);
        // Past the 64 MiB heap symbol.
        let st = api.dpu_copy_to(set, heap, (64 << 20) - 8, src, 16);
        assert_eq!(st, sys::DPU_ERR_INVALID_SYMBOL_ACCESS);
        assert_rule(&rule_error(set, st, "copy").unwrap_err(), UpmemRule::SymbolBounds, &["67108856", "67108864"]);
        // WRAM: multiples of 4, inside the symbol (__spi_args is 32 bytes).
        let st = api.dpu_copy_to(set, c"__spi_args".as_ptr(), 2, src, 4);
        assert_eq!(st, sys::DPU_ERR_INVALID_WRAM_ACCESS);
        assert_rule(&rule_error(set, st, "copy").unwrap_err(), UpmemRule::HostWramAlignment, &["offset 2"]);
        let st = api.dpu_copy_to(set, c"__spi_args".as_ptr(), 8, src, 32);
        assert_rule(&rule_error(set, st, "copy").unwrap_err(), UpmemRule::SymbolBounds, &["8 + length 32 > size 32"]);
        // dpu_copy_from reads one DPU.
        let mut y = [0u64; 4];
        let st = api.dpu_copy_from(set, c"__spi_args".as_ptr(), 0, y.as_mut_ptr().cast(), 8);
        assert_eq!(st, sys::DPU_ERR_INVALID_DPU_SET);
        assert_rule(&rule_error(set, st, "copy").unwrap_err(), UpmemRule::InvalidDpuSet, &["2 DPUs"]);
        // push_xfer needs a buffer for every DPU.
        let dpus = dpus_of(&api, &mut set);
        assert_eq!(api.dpu_prepare_xfer(dpus[0], y.as_mut_ptr().cast()), sys::DPU_OK);
        let st = api.dpu_push_xfer(set, sys::DPU_XFER_FROM_DPU, c"__spi_args".as_ptr(), 0, 8, sys::DPU_XFER_DEFAULT);
        assert_rule(&rule_error(set, st, "push").unwrap_err(), UpmemRule::UnequalTransfer, &["DPU 1"]);
        // Every call clears the last call's record: a good transfer has none.
        let st = api.dpu_copy_to(set, heap, 8, src, 16);
        assert_eq!(st, sys::DPU_OK);
        assert!(spiral_rt::upmem::emulator_violation(set).is_none());
        assert_eq!(api.dpu_free(set), sys::DPU_OK);
    }
}
