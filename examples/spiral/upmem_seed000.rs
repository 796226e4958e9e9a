// Seed 000's UPMEM programs as exports for the CPU and UPMEM (`spiral!`, the Spiral in
// `upmem_seed000.spir`), included by `tests/upmem.rs` and `examples/upmem_seed000.rs`.
spiral! {
    targets = [cpu, upmem],
    file = "examples/spiral/upmem_seed000.spir",
    // test3: the add kernel at i32, u64 and f32.
    pub fn test3(dev: &Device, a: i32, b: i32, c: u64, d: u64, e: f32, f: f32) -> Result<(i32, u64, f32), Error>;
    // test5: scalars in and out of a kernel.
    pub fn test5(dev: &Device, a: i32, b: i32, c: i32, d: i32) -> Result<(i32, i32, i32, i32), Error>;
    // test6: a generic scalar map with several functions.
    pub fn test6(dev: &Device, a: i32, b: i32, c: i32, d: i32) -> Result<(i32, i32, i32, i32), Error>;
    // test7a: arrays in MRAM, one element set.
    pub fn test7a(dev: &Device, a: &mut InvArray<i32>, b: &InvArray<i32>, c: &InvArray<i32>) -> Result<(), Error>;
    // test7b: a loop over the MRAM arrays (an element kernel).
    pub fn test7b(dev: &Device, a: &mut InvArray<i32>, b: &InvArray<i32>, c: &InvArray<i32>) -> Result<(), Error>;
    // test7c: the same through WRAM blocks (`map_inp`: mram_read, compute, mram_write).
    pub fn test7c(dev: &Device, a: &mut InvArray<i32>, b: &InvArray<i32>, c: &InvArray<i32>) -> Result<(), Error>;
    // test8a: an inverse array mapped.
    pub fn test8a(dev: &Device, a: &InvArray<i32>) -> Result<InvArray<i32>, Error>;
    // test8b: a map over three zipped arrays into an existing output.
    pub fn test8b(dev: &Device, input: &InvArray<(i32, i32, i32)>, output: &mut InvArray<i32>) -> Result<(), Error>;
    // test8c: the same into a new array (the quickstart).
    pub fn test8c(dev: &Device, input: &InvArray<(i32, i32, i32)>) -> Result<InvArray<i32>, Error>;
    // reduce: tasklet partials, then DPU partials, combined on the host in order.
    pub fn sum(dev: &Device, input: &InvArray<i64>) -> Result<i64, Error>;
    pub fn compose(dev: &Device, input: &InvArray<(i64, i64)>) -> Result<(i64, i64), Error>;
    pub fn minmax(dev: &Device, input: &InvArray<f64>) -> Result<(f64, f64), Error>;
    // A failing kernel.
    pub fn divide(dev: &Device, input: &InvArray<i32>, by: i32) -> Result<InvArray<i32>, Error>;
}
