/* Spiral UPMEM emulator: the performance counter (<perfcounter.h> of the DPU runtime). The
 * emulator counts host nanoseconds, not DPU cycles or instructions. */
#ifndef SPI_DPU_PERFCOUNTER_H
#define SPI_DPU_PERFCOUNTER_H
#include <stdbool.h>
#include "spi_emu_abi.h"

typedef uint64_t perfcounter_t;
typedef enum _perfcounter_config_t {
    COUNT_SAME = 0,
    COUNT_CYCLES = 1,
    COUNT_INSTRUCTIONS = 2,
    COUNT_NOTHING = 3,
} perfcounter_config_t;

#define CLOCKS_PER_SEC 1000000000ull

__attribute__((weak, section("dpu_emu"))) uint64_t __spi_emu_perf_base;

static inline perfcounter_t
perfcounter_get(void)
{
    return __spi_emu_hooks.clock_ns(__spi_emu_hooks.dpu) - __spi_emu_perf_base;
}

static inline perfcounter_t
perfcounter_config(perfcounter_config_t config, bool reset_value)
{
    perfcounter_t now = perfcounter_get();
    (void)config;
    if (reset_value)
        __spi_emu_perf_base += now;
    return now;
}
#endif
