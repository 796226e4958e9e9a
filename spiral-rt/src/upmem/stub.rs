//! The UPMEM backend of a build without the `upmem` feature: no value of this type exists, so
//! no device is an UPMEM device, and opening one says how to enable the feature.

use crate::Error;

use super::{UpmemArgs, UpmemKernel, UpmemStats};

/// Why the UPMEM constructors fail in this build.
const NO_FEATURE: &str = "spiral-rt was built without its `upmem` feature; enable it (`spiral-rt = { features = [\"upmem\"] }`, or `cargo run --features upmem`) to use UPMEM DPUs or their emulator, or use Device::cpu()";

/// An UPMEM device (uninhabited in this build).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UpmemBackend {}

fn missing(what: &str, dpus: usize) -> Error {
    Error::DeviceMissing { device: format!("{what} ({dpus} DPUs)"), reason: NO_FEATURE.into() }
}

impl UpmemBackend {
    pub(crate) fn open_sdk(dpus: usize, _tasklets: usize) -> Result<UpmemBackend, Error> {
        Err(missing("upmem", dpus))
    }
    pub(crate) fn open_emulator(dpus: usize, _tasklets: usize) -> Result<UpmemBackend, Error> {
        Err(missing("upmem emulator", dpus))
    }
    pub(crate) fn describe(&self) -> String {
        match *self {}
    }
    pub(crate) fn dpus(&self) -> usize {
        match *self {}
    }
    pub(crate) fn threads(&self) -> usize {
        match *self {}
    }
    pub(crate) fn stats(&self) -> UpmemStats {
        match *self {}
    }
    pub(crate) fn reset_stats(&self) {
        match *self {}
    }
    pub(crate) fn launch(&self, _: &UpmemKernel<'_>, _: usize, _: bool, _: &mut UpmemArgs<'_>) -> Result<(), Error> {
        match *self {}
    }
}
