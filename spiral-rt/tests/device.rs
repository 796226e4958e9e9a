//! The CPU device: deterministic chunking, identical results on any thread count, and typed
//! errors for panicking kernels, wrong lengths and missing devices.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use spiral_rt::{Device, DeviceKind, Error, InvArray, Inverse, Split, MAX_CPU_THREADS};

#[derive(Inverse, Debug, Clone, Copy, PartialEq)]
struct Xyz {
    x: i32,
    y: i32,
    z: i32,
}

fn input(n: i32) -> InvArray<(i32, i32, i32)> {
    (0..n).map(|i| (i, i.wrapping_mul(7) - 3, 1000 - i)).collect()
}

fn kernel((a, b, c): (i32, i32, i32)) -> (i32, i32) {
    (a.wrapping_add(b).wrapping_add(c), a.wrapping_mul(b).wrapping_mul(c))
}

#[test]
fn map_gives_identical_results_on_1_2_and_7_threads() {
    let inp = input(10_001);
    let expected: Vec<(i32, i32)> = inp.iter().map(kernel).collect();
    for threads in [1, 2, 7] {
        let dev = Device::cpu_with_threads(threads);
        let out = dev.map(&inp, kernel).unwrap();
        assert_eq!(out.len(), 10_001);
        assert_eq!(out.to_vec(), expected, "{threads} threads");
    }
}

#[test]
fn chunked_slices_kernel_writes_disjoint_outputs() {
    let inp: InvArray<Xyz> = input(10_001).rezip().unwrap();
    let mut results = Vec::new();
    for threads in [1, 2, 7] {
        let dev = Device::cpu_with_threads(threads);
        let mut out = InvArray::<(i32, i32)>::zeroed(inp.len());
        dev.for_each_chunk_with(inp.len(), (inp.columns(), out.columns_mut()), |_range, (i, (s, p))| {
            for k in 0..i.x.len() {
                (s[k], p[k]) = kernel((i.x[k], i.y[k], i.z[k]));
            }
        })
        .unwrap();
        results.push(out);
    }
    assert_eq!(results[0], results[1]);
    assert_eq!(results[0], results[2]);
    assert_eq!(results[0].get(10_000), Some(kernel((10_000, 69_997, -9_000))));
}

#[test]
fn chunks_cover_the_range_in_order() {
    for threads in 1..9 {
        let dev = Device::cpu_with_threads(threads);
        for len in [0, 1, 2, 5, 7, 8, 100, 10_001] {
            let chunks = dev.chunks(len);
            let per = if threads > 1 { spiral_rt::CHUNKS_PER_THREAD } else { 1 };
            assert_eq!(chunks.len(), (threads * per).min(len));
            let mut next = 0;
            for c in &chunks {
                assert_eq!(c.start, next);
                assert!(!c.is_empty());
                next = c.end;
            }
            assert_eq!(next, len);
            let (min, max) = (chunks.iter().map(|c| c.len()).min(), chunks.iter().map(|c| c.len()).max());
            if let (Some(min), Some(max)) = (min, max) {
                assert!(max - min <= 1);
            }
        }
    }
}

#[test]
fn for_each_chunk_visits_every_index_once() {
    let dev = Device::cpu_with_threads(3);
    let seen = Mutex::new(vec![0u8; 1000]);
    let calls = AtomicUsize::new(0);
    dev.for_each_chunk(1000, |r| {
        calls.fetch_add(1, Ordering::SeqCst);
        let mut s = seen.lock().unwrap();
        for i in r {
            s[i] += 1;
        }
    })
    .unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 3 * spiral_rt::CHUNKS_PER_THREAD);
    assert!(seen.into_inner().unwrap().iter().all(|&c| c == 1));
    dev.for_each_chunk(0, |_| panic!("no chunk for an empty range")).unwrap();
}

#[test]
fn a_panicking_chunk_is_a_kernel_failure() {
    for threads in [1, 2, 4] {
        let dev = Device::cpu_with_threads(threads);
        let e = dev
            .for_each_chunk(100, |r| {
                if r.contains(&99) {
                    panic!("boom at {}", r.end);
                }
            })
            .unwrap_err();
        match &e {
            Error::KernelFailed { kernel, message } => {
                assert_eq!(kernel, spiral_rt::CPU_CLOSURE);
                assert!(message.contains("boom at 100"), "{message}");
            }
            other => panic!("expected KernelFailed, got {other:?}"),
        }
        let named = e.with_kernel("map_kernel");
        assert!(named.to_string().starts_with("kernel `map_kernel` failed"), "{named}");
    }
    let inp = input(50);
    let e = Device::cpu_with_threads(2).map(&inp, |(a, _, _)| if a == 30 { panic!("bad element") } else { a }).unwrap_err();
    assert!(matches!(e, Error::KernelFailed { ref message, .. } if message.contains("bad element")), "{e:?}");
}

#[test]
fn slices_of_the_wrong_length_are_rejected_before_launch() {
    let a: InvArray<(i32, i32)> = (0..10).map(|i| (i, i)).collect();
    let mut out = InvArray::<i32>::zeroed(9);
    let e = Device::cpu_with_threads(2)
        .for_each_chunk_with(10, (a.columns(), out.columns_mut()), |_, _| panic!("must not run"))
        .unwrap_err();
    assert_eq!(e, Error::LengthMismatch { what: "a leaf of the slices handed to a CPU kernel".into(), expected: 10, found: 9 });
    assert!(a.columns().has_len(10));
}

#[test]
fn missing_devices_are_typed_errors() {
    assert!(matches!(Device::cuda(0), Err(Error::DeviceMissing { ref device, .. }) if device == "cuda:0"));
    assert!(matches!(Device::upmem(64), Err(Error::DeviceMissing { .. })));
    let cpu = Device::cpu();
    assert_eq!(cpu.kind(), DeviceKind::Cpu);
    assert!(cpu.threads() >= 1);
    assert_eq!(Device::cpu_with_threads(0).threads(), 1);
    assert_eq!(Device::cpu_with_threads(2).to_string(), "cpu (2 threads)");
}

#[test]
fn send_ptr_lets_chunks_write_through_raw_pointers() {
    // The shape of a generated wrapper around an `extern "C"` kernel: pointer + length per leaf.
    let input: InvArray<(i32, i32)> = (0..1000).map(|i| (i, 2 * i)).collect();
    let mut out = InvArray::<i32>::zeroed(1000);
    let (a, b) = input.columns();
    let (pa, pb) = (spiral_rt::SendPtr::from_const(a.as_ptr()), spiral_rt::SendPtr::from_const(b.as_ptr()));
    let po = spiral_rt::SendPtr::new(out.columns_mut().as_mut_ptr());
    Device::cpu_with_threads(3)
        .for_each_chunk(1000, move |r| {
            for i in r {
                // SAFETY: i < 1000 = every leaf's length, and chunks are disjoint.
                unsafe { *po.get().add(i) = *pa.get().add(i) + *pb.get().add(i) };
            }
        })
        .unwrap();
    assert_eq!(out.to_vec(), (0..1000).map(|i| 3 * i).collect::<Vec<i32>>());
}

#[test]
fn chunks_run_on_the_calling_thread_and_the_pool() {
    let ids = Mutex::new(Vec::new());
    Device::cpu_with_threads(3)
        .for_each_chunk(30, |r| {
            let t = std::thread::current();
            ids.lock().unwrap().push((r.start, t.id(), t.name().map(str::to_owned)));
        })
        .unwrap();
    let mut ids = ids.into_inner().unwrap();
    ids.sort_by_key(|x| x.0);
    assert_eq!(ids.len(), 3 * spiral_rt::CHUNKS_PER_THREAD);
    // Chunks run on the calling thread or on the device's persistent pool threads, which
    // take them in turn.
    let me = std::thread::current().id();
    for (_, id, name) in &ids {
        assert!(*id == me || name.as_deref().is_some_and(|n| n.starts_with("spiral-cpu-")), "{name:?}");
    }
    let distinct: std::collections::BTreeSet<String> = ids.iter().map(|x| format!("{:?}", x.1)).collect();
    assert!(distinct.len() <= 3, "at most one thread per device thread");
}

#[test]
fn min_chunk_limits_the_number_of_chunks() {
    let dev = Device::cpu_with_threads(4).with_min_chunk(100);
    assert_eq!(dev.min_chunk(), 100);
    assert_eq!(dev.chunks(0), Vec::<std::ops::Range<usize>>::new());
    assert_eq!(dev.chunks(50), vec![0..50]);
    assert_eq!(dev.chunks(250), vec![0..125, 125..250]);
    assert_eq!(dev.chunks(10_000).len(), 4 * spiral_rt::CHUNKS_PER_THREAD);
    assert_eq!(Device::cpu_with_threads(4).with_min_chunk(0).chunks(3), vec![0..1, 1..2, 2..3]);
    let inp = input(1_000);
    let out = dev.map(&inp, kernel).unwrap();
    assert_eq!(out.to_vec(), inp.iter().map(kernel).collect::<Vec<_>>());
}

/// A huge thread count is clamped to `MAX_CPU_THREADS` instead of spawning threads until the
/// process aborts.
#[test]
fn a_huge_thread_count_is_capped_and_still_maps_correctly() {
    let dev = Device::cpu_with_threads(usize::MAX);
    assert!(dev.threads() <= MAX_CPU_THREADS, "{}", dev.threads());
    assert_eq!(Device::cpu_with_threads(MAX_CPU_THREADS + 1).threads(), MAX_CPU_THREADS);
    assert_eq!(Device::cpu_with_threads(3).threads(), 3);
    assert_eq!(Device::cpu_with_threads(0).threads(), 1);
    let inp = input(100_000);
    let expected: Vec<(i32, i32)> = inp.iter().map(kernel).collect();
    let out = dev.map(&inp, kernel).unwrap();
    assert_eq!(out.to_vec(), expected);
    assert!(dev.chunks(100_000).len() <= MAX_CPU_THREADS * spiral_rt::CHUNKS_PER_THREAD);
}
