/* Spiral UPMEM emulator: DPU variable attributes (<attributes.h> of the DPU runtime). */
#ifndef SPI_DPU_ATTRIBUTES_H
#define SPI_DPU_ATTRIBUTES_H
#include "spi_emu_abi.h"

#define __dma_aligned __attribute__((aligned(8)))
/* Host-visible WRAM variable. */
#define __host __attribute__((aligned(8), used, section("dpu_host")))
/* A pointer into MRAM: an ordinary pointer in the emulator. */
#define __mram_ptr
#define __mram __attribute__((section("dpu_mram"), aligned(8), used))
#define __mram_noinit __attribute__((section("dpu_mram_noinit"), aligned(8), used))
#define __mram_keep __mram
#define __mram_noinit_keep __mram_noinit
#define __keep __attribute__((used))
#define __atomic_bit
#ifndef __noinline
#define __noinline __attribute__((noinline))
#endif
#endif
