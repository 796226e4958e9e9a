/* Spiral UPMEM emulator: extensions that only the emulator library has (not in the SDK).
 * Include after <dpu.h>; load these functions optionally (dlsym) so host code also runs on
 * the SDK. */
#ifndef SPIRAL_UPMEM_DPU_EMU_H
#define SPIRAL_UPMEM_DPU_EMU_H

#include <stddef.h>
#include <stdint.h>

#include "dpu_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The rules the emulator enforces; dpu_emu_violation reports which one was broken. */
enum dpu_emu_rule {
    DPU_EMU_RULE_NONE = 0,
    /** mram_read/mram_write size not a multiple of 8 in 8..=2048 bytes. */
    DPU_EMU_RULE_DMA_SIZE = 1,
    /** mram_read/mram_write MRAM or WRAM address not 8-byte aligned. */
    DPU_EMU_RULE_DMA_ALIGNMENT = 2,
    /** A DMA outside this DPU's 64 MiB MRAM (and its __mram variables). */
    DPU_EMU_RULE_MRAM_BOUNDS = 3,
    /** A DMA into another DPU's MRAM. */
    DPU_EMU_RULE_DPU_ISOLATION = 4,
    /** Static WRAM + stacks over 64 KiB at load, or mem_alloc past the end of WRAM. */
    DPU_EMU_RULE_WRAM_BUDGET = 5,
    /** NR_TASKLETS outside 1..=24 at load. */
    DPU_EMU_RULE_TOO_MANY_TASKLETS = 6,
    /** A host MRAM transfer whose offset or size is not a multiple of 8. */
    DPU_EMU_RULE_HOST_MRAM_ALIGNMENT = 7,
    /** A host WRAM (__host) transfer whose offset or size is not a multiple of 4. */
    DPU_EMU_RULE_HOST_WRAM_ALIGNMENT = 8,
    /** A host transfer past the end of its symbol. */
    DPU_EMU_RULE_SYMBOL_BOUNDS = 9,
    /** A host transfer naming an unknown or non-host-visible symbol. */
    DPU_EMU_RULE_UNKNOWN_SYMBOL = 10,
    /** dpu_push_xfer on a set where some DPU has no prepared buffer. */
    DPU_EMU_RULE_UNEQUAL_TRANSFER = 11,
    /** A DMA whose WRAM side is outside this DPU's WRAM (globals, heap, own stack). */
    DPU_EMU_RULE_WRAM_BOUNDS = 12,
    /** Every live tasklet waits at a barrier that cannot complete. */
    DPU_EMU_RULE_BARRIER_DEADLOCK = 13,
    /** dpu_copy_from (or dpu_log_read) on a set of several DPUs. */
    DPU_EMU_RULE_INVALID_DPU_SET = 14,
    /** A transfer or launch on a DPU without a program. */
    DPU_EMU_RULE_NO_PROGRAM = 15,
    /** A by-name transfer on DPUs running different programs. */
    DPU_EMU_RULE_DIFFERENT_PROGRAMS = 16,
    /** The program is not a shared object built with the emulator's DPU headers. */
    DPU_EMU_RULE_INVALID_PROGRAM = 17,
};

/** Fills `*rule` and `msg` (NUL-terminated, truncated to msg_len) with the first rule
 * violation recorded on any DPU of `set` (in DPU order) by the last host API call or launch
 * on it, and returns 1; returns 0 when there is none. Every host API call that takes a set
 * clears its DPUs' records first. */
int
dpu_emu_violation(struct dpu_set_t set, uint32_t *rule, char *msg, size_t msg_len);

/** Cumulative counters of a set's DPUs (since allocation). */
struct dpu_emu_stats {
    /** Bytes the host wrote to DPU memories (WRAM and MRAM). */
    uint64_t bytes_to_dpus;
    /** Bytes the host read from DPU memories. */
    uint64_t bytes_from_dpus;
    /** Bytes moved by mram_read/mram_write on the DPUs. */
    uint64_t dma_bytes;
    /** Launches (counted once per DPU). */
    uint64_t dpu_launches;
};

/** Adds up the counters of the DPUs of `set` into `*stats`; returns DPU_OK. */
int
dpu_emu_stats(struct dpu_set_t set, struct dpu_emu_stats *stats);

#ifdef __cplusplus
}
#endif

#endif
