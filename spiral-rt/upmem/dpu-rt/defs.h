/* Spiral UPMEM emulator: tasklet identity (<defs.h> of the DPU runtime). */
#ifndef SPI_DPU_DEFS_H
#define SPI_DPU_DEFS_H
#include "spi_emu_abi.h"
#include "attributes.h"

typedef uint32_t sysname_t;

/* The calling tasklet's id, 0..NR_TASKLETS-1. */
static inline sysname_t
me(void)
{
    return __spi_emu_tid;
}

/* Ends the calling tasklet. */
static inline void
halt(void)
{
    __spi_emu_hooks.halt(__spi_emu_hooks.dpu);
}

/* The emulator does not model stack use: always "plenty left". */
static inline int
check_stack(void)
{
    return STACK_SIZE_DEFAULT / 4;
}
#endif
