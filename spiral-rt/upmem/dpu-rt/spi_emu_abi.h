/* Spiral UPMEM emulator: the interface between the emulator library and a DPU program built
 * as a host shared object. Included (first, through `-include`) by every DPU translation unit
 * and by the emulator itself; not part of the SDK.
 *
 * Each loaded copy of a program (one per DPU) has its own `__spi_emu_hooks`, which the
 * emulator fills right after dlopen: the DPU it belongs to, the start of that DPU's MRAM and
 * the functions that check and perform DMA, barriers, the WRAM heap and the log. Everything
 * the emulator keeps inside the program lives in the section `dpu_emu` (or in thread-local
 * storage) and is not counted as WRAM. */
#ifndef SPI_EMU_ABI_H
#define SPI_EMU_ABI_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define SPI_EMU_ABI_VERSION 1u

/* The host's view of `barrier_t` (see barrier.h). */
struct spi_emu_barrier {
    int32_t count;
    uint32_t arrived;
    uint32_t generation;
    uint32_t reserved;
};

struct spi_emu_hooks {
    uint32_t abi_version;
    /* The emulator's DPU. */
    void *dpu;
    /* DPU_MRAM_HEAP_POINTER: the start of this DPU's 64 MiB MRAM. */
    unsigned char *mram;
    /* mram_read (write == 0) / mram_write (write == 1): checks the DMA rules, then copies. */
    void (*dma)(void *dpu, int write, const void *mram, void *wram, uint32_t size);
    void (*barrier_wait)(void *dpu, struct spi_emu_barrier *barrier);
    void *(*mem_alloc)(void *dpu, size_t size);
    void *(*mem_reset)(void *dpu);
    int (*vprintf)(void *dpu, const char *format, va_list args);
    /* Ends the calling tasklet (halt()). */
    void (*halt)(void *dpu);
    /* Stops the calling tasklet if the DPU has faulted, and lets other tasklets run. */
    void (*yield)(void *dpu);
    /* A DPU fault with one of dpu_emu.h's rule ids. */
    void (*fault)(void *dpu, uint32_t rule, const char *message);
    /* Nanoseconds of the host's monotonic clock (perfcounter.h). */
    uint64_t (*clock_ns)(void *dpu);
};

#ifndef SPI_EMU_HOST_SIDE

#ifndef NR_TASKLETS
#define NR_TASKLETS 1
#endif
/* The WRAM the load-time budget reserves per tasklet for its stack (the SDK's option). */
#ifndef STACK_SIZE_DEFAULT
#define STACK_SIZE_DEFAULT 1024
#endif

#define SPI_EMU_INTERNAL __attribute__((weak, used, section("dpu_emu")))

SPI_EMU_INTERNAL struct spi_emu_hooks __spi_emu_hooks;
SPI_EMU_INTERNAL uint32_t __spi_emu_nr_tasklets = NR_TASKLETS;
SPI_EMU_INTERNAL uint32_t __spi_emu_stack_size = STACK_SIZE_DEFAULT;
SPI_EMU_INTERNAL uint32_t __spi_emu_abi_version = SPI_EMU_ABI_VERSION;
__attribute__((weak)) __thread uint32_t __spi_emu_tid;

int main(void);

/* A tasklet's entry: the emulator calls it on the tasklet's own thread. */
__attribute__((weak, used)) void
__spi_emu_tasklet(uint32_t id)
{
    __spi_emu_tid = id;
    (void)main();
}

#endif /* SPI_EMU_HOST_SIDE */
#endif
