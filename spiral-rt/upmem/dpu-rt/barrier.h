/* Spiral UPMEM emulator: barriers (<barrier.h> of the DPU runtime). A barrier releases its
 * waiters once `counter` tasklets have arrived, then re-arms. If every live tasklet of the
 * DPU waits and none can release, the DPU faults (barrier deadlock) instead of hanging. */
#ifndef SPI_DPU_BARRIER_H
#define SPI_DPU_BARRIER_H
#include "spi_emu_abi.h"

typedef struct spi_emu_barrier barrier_t;

#define BARRIER_INIT(name, counter)                                                                    \
    _Static_assert((counter) >= -127 && (counter) < 128, "barrier counter out of range");             \
    barrier_t name = { (counter), 0, 0, 0 }

static inline void
barrier_wait(barrier_t *barrier)
{
    __spi_emu_hooks.barrier_wait(__spi_emu_hooks.dpu, barrier);
}
#endif
