/* Spiral UPMEM emulator: the WRAM heap (<alloc.h> of the DPU runtime). The heap is what is left
 * of the 64 KiB WRAM after the static data and NR_TASKLETS stacks; mem_alloc past its end
 * faults the DPU. It persists across launches; mem_reset empties it. */
#ifndef SPI_DPU_ALLOC_H
#define SPI_DPU_ALLOC_H
#include "spi_emu_abi.h"

/* size bytes of WRAM, 8-byte aligned. Thread-safe. */
static inline void *
mem_alloc(size_t size)
{
    return __spi_emu_hooks.mem_alloc(__spi_emu_hooks.dpu, size);
}

/* Empties the heap; returns its start. */
static inline void *
mem_reset(void)
{
    return __spi_emu_hooks.mem_reset(__spi_emu_hooks.dpu);
}
#endif
