//! Inputs and result summaries for the generated corpus tests.

use spiral::{Error, InvArray, Inverse};
use std::fmt::Debug;

/// A deterministic mix of an index and a seed (SplitMix64's finaliser).
fn mix(i: usize, seed: usize) -> u64 {
    let mut z = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (seed as u64).wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A value for element `i` of an input, mostly small numbers with the type's edge values mixed in.
pub trait Sample: Sized {
    /// The value for element `i` of the argument numbered `seed`.
    fn sample(i: usize, seed: usize) -> Self;
}

macro_rules! int_sample {
    ($($t:ty),*) => {$(
        impl Sample for $t {
            fn sample(i: usize, seed: usize) -> Self {
                let h = mix(i, seed);
                match h % 16 {
                    0 => <$t>::MIN,
                    1 => <$t>::MAX,
                    2 => 0,
                    3 => (0 as $t).wrapping_sub(1),
                    _ => (((h >> 8) % 2001) as i64 - 1000) as $t,
                }
            }
        }
    )*};
}
int_sample!(i8, i16, i32, i64, u8, u16, u32, u64);

macro_rules! float_sample {
    ($($t:ty),*) => {$(
        impl Sample for $t {
            fn sample(i: usize, seed: usize) -> Self {
                let h = mix(i, seed);
                match h % 32 {
                    0 => -0.0,
                    1 => <$t>::INFINITY,
                    2 => 1e30,
                    3 => <$t>::NAN,
                    _ => ((h >> 8) % 20001) as $t / 100.0 - 100.0,
                }
            }
        }
    )*};
}
float_sample!(f32, f64);

impl Sample for bool {
    fn sample(i: usize, seed: usize) -> Self {
        mix(i, seed) % 3 == 0
    }
}

impl<A: Sample, B: Sample> Sample for (A, B) {
    fn sample(i: usize, seed: usize) -> Self {
        (A::sample(i, seed * 7 + 1), B::sample(i, seed * 7 + 2))
    }
}

impl<A: Sample, B: Sample, C: Sample> Sample for (A, B, C) {
    fn sample(i: usize, seed: usize) -> Self {
        (A::sample(i, seed * 7 + 1), B::sample(i, seed * 7 + 2), C::sample(i, seed * 7 + 3))
    }
}

/// An export's argument for a launch of `n` elements.
pub trait Arg {
    /// The argument numbered `seed`.
    fn arg(n: usize, seed: usize) -> Self;
}

impl<T: Sample + Inverse> Arg for InvArray<T> {
    fn arg(n: usize, seed: usize) -> Self {
        (0..n).map(|i| T::sample(i, seed)).collect()
    }
}

macro_rules! scalar_arg {
    ($($t:ty),*) => {$(
        impl Arg for $t {
            fn arg(_n: usize, seed: usize) -> Self {
                <$t as Sample>::sample(5, seed + 100)
            }
        }
    )*};
}
scalar_arg!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64, bool);

/// See [`Arg`].
pub fn arg<T: Arg>(n: usize, seed: usize) -> T {
    T::arg(n, seed)
}

/// A result as text for the snapshot.
pub trait Show {
    /// The summary.
    fn show(&self) -> String;
}

impl<T: Inverse + Debug> Show for InvArray<T> {
    fn show(&self) -> String {
        let all: Vec<T> = self.to_vec();
        // FNV-1a over every element's Debug text: exact for floats (shortest round trip).
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for x in &all {
            for b in format!("{x:?};").bytes() {
                h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
            }
        }
        let head: Vec<String> = all.iter().take(6).map(|x| format!("{x:?}")).collect();
        format!("len {} [{}{}] fnv {h:016x}", all.len(), head.join(", "), if all.len() > 6 { ", .." } else { "" })
    }
}

macro_rules! scalar_show {
    ($($t:ty),*) => {$(
        impl Show for $t {
            fn show(&self) -> String {
                format!("{self:?}")
            }
        }
    )*};
}
scalar_show!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64, bool, usize);

impl Show for () {
    fn show(&self) -> String {
        "()".into()
    }
}

/// A result or the kind of its error (messages differ between targets; the kind may not).
pub fn show<T: Show>(r: &Result<T, Error>) -> String {
    match r {
        Ok(v) => v.show(),
        Err(Error::KernelFailed { .. }) => "Err(KernelFailed)".into(),
        Err(e) => format!("Err({e})"),
    }
}

#[cfg(test)]
/// Runs `run` for every length and thread count and compares the summaries with the snapshot
/// `name` (one per export, shared by all targets).
pub fn check(name: &str, run: &dyn Fn(&spiral::Device, usize) -> String) {
    check_on(name, &|threads| spiral::Device::cpu_with_threads(threads), run)
}

#[cfg(test)]
/// [`check`] on the UPMEM emulator: the snapshot's `threads=1` lines run on 1 DPU with 1
/// tasklet, its `threads=2` lines on 4 DPUs with 11 tasklets (so shares, tasklet ranges and
/// DMA blocks have tails), and must give the CPU's results.
pub fn check_upmem(name: &str, run: &dyn Fn(&spiral::Device, usize) -> String) {
    check_on(
        name,
        &|threads| {
            let (dpus, tasklets) = if threads == 1 { (1, 1) } else { (4, 11) };
            spiral::Device::upmem_emulator(dpus, tasklets).unwrap_or_else(|e| panic!("the UPMEM emulator: {e}"))
        },
        run,
    )
}

#[cfg(test)]
fn check_on(name: &str, device: &dyn Fn(usize) -> spiral::Device, run: &dyn Fn(&spiral::Device, usize) -> String) {
    let mut text = String::new();
    for n in [0, 1, 17, 1000] {
        for threads in [1, 2] {
            let dev = device(threads);
            text.push_str(&format!("n={n} threads={threads}: {}\n", run(&dev, n)));
        }
    }
    insta::with_settings!({ snapshot_path => "snapshots", prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!(name, text);
    });
}
