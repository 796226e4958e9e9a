/* Spiral UPMEM emulator: mutexes (<mutex.h> of the DPU runtime). */
#ifndef SPI_DPU_MUTEX_H
#define SPI_DPU_MUTEX_H
#include <stdbool.h>
#include "spi_emu_abi.h"

typedef unsigned char *mutex_id_t;

#define MUTEX_INIT(name)                                                                               \
    unsigned char __spi_mutex_bit_##name;                                                              \
    mutex_id_t name = &__spi_mutex_bit_##name

static inline bool
mutex_trylock(mutex_id_t mutex)
{
    return __atomic_exchange_n(mutex, (unsigned char)1, __ATOMIC_ACQUIRE) == 0;
}

static inline void
mutex_lock(mutex_id_t mutex)
{
    while (!mutex_trylock(mutex))
        __spi_emu_hooks.yield(__spi_emu_hooks.dpu);
}

static inline void
mutex_unlock(mutex_id_t mutex)
{
    __atomic_store_n(mutex, (unsigned char)0, __ATOMIC_RELEASE);
}
#endif
