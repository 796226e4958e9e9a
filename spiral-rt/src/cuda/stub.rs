//! The CUDA backend of a build without the `cuda` feature: no value of these types exists, so
//! no device is a CUDA device and every CUDA operation stops at `Device::cuda_backend`.

use crate::scalar::{LeafMut, LeafRef};
use crate::{Error, ScalarKind};

use super::{CudaInfo, Kernel, KernelArgs, LaunchConfig};

/// Why `Device::cuda` and `nvrtc_compile` fail in this build.
pub(crate) const NO_FEATURE: &str =
    "spiral-rt was built without its `cuda` feature; enable it (`spiral = { features = [\"cuda\"] }`, or `cargo run --features cuda`) to use CUDA GPUs, or use Device::cpu()";

/// A CUDA device (uninhabited in this build).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CudaBackend {}

/// A leaf's device buffer (uninhabited in this build).
pub(crate) enum LeafBuf {}

impl CudaBackend {
    pub(crate) fn open(ordinal: usize) -> Result<CudaBackend, Error> {
        Err(Error::DeviceMissing { device: format!("cuda:{ordinal}"), reason: NO_FEATURE.into() })
    }
    pub(crate) fn describe(&self) -> String {
        match *self {}
    }
    pub(crate) fn with_config(self, _: LaunchConfig) -> CudaBackend {
        match self {}
    }
    pub(crate) fn config(&self) -> LaunchConfig {
        match *self {}
    }
    pub(crate) fn info(&self) -> CudaInfo {
        match *self {}
    }
    pub(crate) fn threads(&self) -> usize {
        match *self {}
    }
    pub(crate) fn upload(&self, _: usize, _: &LeafRef<'_>) -> Result<LeafBuf, Error> {
        match *self {}
    }
    pub(crate) fn zeroed(&self, _: usize, _: ScalarKind, _: usize) -> Result<LeafBuf, Error> {
        match *self {}
    }
    pub(crate) fn launch(&self, _: &Kernel<'_>, _: usize, _: &KernelArgs<'_>) -> Result<(), Error> {
        match *self {}
    }
    pub(crate) fn launch_blocks(&self, _: &Kernel<'_>, _: usize, _: &KernelArgs<'_>) -> Result<(), Error> {
        match *self {}
    }
}

impl LeafBuf {
    pub(crate) fn download(&self, _: usize, _: &mut LeafMut<'_>) -> Result<(), Error> {
        match *self {}
    }
    pub(crate) fn upload_from(&mut self, _: usize, _: &LeafRef<'_>) -> Result<(), Error> {
        match *self {}
    }
}
