/* Spiral UPMEM emulator: the types of the UPMEM host API (SDK 2023.2 layout). */
#ifndef SPIRAL_UPMEM_DPU_TYPES_H
#define SPIRAL_UPMEM_DPU_TYPES_H

#include <stddef.h>
#include <stdint.h>

/** Name of the symbol whose address is the start of the free MRAM (`DPU_MRAM_HEAP_POINTER`). */
#define DPU_MRAM_HEAP_POINTER_NAME "__sys_used_mram_end"

typedef uint32_t mram_addr_t;
typedef uint32_t mram_size_t;
typedef uint32_t wram_addr_t;
typedef uint32_t wram_size_t;
typedef mram_addr_t dpu_mem_max_addr_t;
typedef mram_size_t dpu_mem_max_size_t;

struct dpu_rank_t;
struct dpu_t;
struct dpu_program_t;

/** What a `struct dpu_set_t` holds. */
typedef enum _dpu_set_kind_t {
    /** A list of ranks (what dpu_alloc returns). */
    DPU_SET_RANKS,
    /** A single DPU (what DPU_FOREACH yields). */
    DPU_SET_DPU,
} dpu_set_kind_t;

/** A set of DPUs: a list of ranks, or one DPU. */
struct dpu_set_t {
    dpu_set_kind_t kind;
    union {
        struct {
            uint32_t nr_ranks;
            struct dpu_rank_t **ranks;
        } list;
        struct dpu_t *dpu;
    };
};

/** A resolved program symbol. */
struct dpu_symbol_t {
    dpu_mem_max_addr_t address;
    dpu_mem_max_size_t size;
};

/** A program embedded in the host binary. */
struct dpu_incbin_t {
    uint8_t *buffer;
    size_t size;
    const char *path;
};

#endif
