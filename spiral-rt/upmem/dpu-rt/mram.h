/* Spiral UPMEM emulator: MRAM <-> WRAM DMA (<mram.h> of the DPU runtime). Every call is
 * checked: size a multiple of 8 in 8..=2048, both addresses 8-byte aligned, the MRAM range
 * inside this DPU's MRAM, the WRAM range inside this DPU's WRAM. A violation faults the DPU. */
#ifndef SPI_DPU_MRAM_H
#define SPI_DPU_MRAM_H
#include "spi_emu_abi.h"
#include "attributes.h"

/* The start of the free MRAM (64 MiB per DPU in the emulator). */
#define DPU_MRAM_HEAP_POINTER ((__mram_ptr void *)__spi_emu_hooks.mram)

static inline void
mram_read(const __mram_ptr void *from, void *to, unsigned int nb_of_bytes)
{
    __spi_emu_hooks.dma(__spi_emu_hooks.dpu, 0, from, to, nb_of_bytes);
}

static inline void
mram_write(const void *from, __mram_ptr void *to, unsigned int nb_of_bytes)
{
    __spi_emu_hooks.dma(__spi_emu_hooks.dpu, 1, to, (void *)from, nb_of_bytes);
}
#endif
