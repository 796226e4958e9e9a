/* Spiral UPMEM emulator: the host API of the UPMEM SDK (the subset Spiral uses, with the
 * signatures, types, enums and error codes of SDK 2023.2's <dpu.h>).
 *
 * The emulator library (emu/dpu_emu.c) implements every function declared here. Host code
 * written against this header also compiles against the SDK's own header; emulator-only
 * extensions are in <dpu_emu.h>, which this header does not include. */
#ifndef SPIRAL_UPMEM_DPU_H
#define SPIRAL_UPMEM_DPU_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "dpu_error.h"
#include "dpu_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/** How dpu_launch synchronises with the DPUs. */
typedef enum _dpu_launch_policy_t {
    /** Return once the DPUs are booted (the emulator runs them to completion first). */
    DPU_ASYNCHRONOUS,
    /** Return when every DPU has finished or one has faulted. */
    DPU_SYNCHRONOUS,
} dpu_launch_policy_t;

/** Direction of dpu_push_xfer. */
typedef enum _dpu_xfer_t {
    DPU_XFER_TO_DPU,
    DPU_XFER_FROM_DPU,
} dpu_xfer_t;

/** Options of dpu_push_xfer and dpu_broadcast_to. */
typedef enum _dpu_xfer_flags_t {
    /** Transfer, then clear the prepared buffers. */
    DPU_XFER_DEFAULT = 0,
    /** Transfer and keep the prepared buffers. */
    DPU_XFER_NO_RESET = 1 << 0,
    /** Transfer asynchronously (the emulator transfers at once). */
    DPU_XFER_ASYNC = 1 << 1,
} dpu_xfer_flags_t;

/** Prints a failing call's error to stderr and runs `on_error`. */
#define DPU_CHECK(statement, on_error)                                                                 \
    do {                                                                                               \
        dpu_error_t __dpu_check_status = (statement);                                                  \
        if (__dpu_check_status != DPU_OK) {                                                            \
            fprintf(stderr, "%s:%d(%s): DPU Error (%s)\n", __FILE__, __LINE__, __func__,               \
                dpu_error_to_string(__dpu_check_status));                                              \
            on_error;                                                                                  \
        }                                                                                              \
    } while (0)

/** DPU_CHECK, exiting the process on an error. */
#define DPU_ASSERT(statement) DPU_CHECK(statement, exit(EXIT_FAILURE))

/** dpu_alloc's "every DPU there is". */
#define DPU_ALLOCATE_ALL (UINT_MAX)

/** Iterator over the ranks of a set (used by DPU_RANK_FOREACH and DPU_FOREACH). */
struct dpu_set_rank_iterator_t {
    struct dpu_set_t *set;
    uint32_t count;
    uint32_t next_idx;
    bool has_next;
    struct dpu_set_t next;
};

/** Iterator over the DPUs of a set (used by DPU_FOREACH). */
struct dpu_set_dpu_iterator_t {
    struct dpu_set_rank_iterator_t rank_iterator;
    uint32_t count;
    uint32_t next_idx;
    bool has_next;
    struct dpu_set_t next;
};

/* DPU_FOREACH(set, dpu) and DPU_FOREACH(set, dpu, i): the third argument, when given, picks
 * the indexed form. */
#define SPI_DPU_PICK3(a, b, form, ...) form
#define SPI_DPU_FOREACH_PLAIN(set, dpu)                                                                \
    for (struct dpu_set_dpu_iterator_t spi_dpu_it = dpu_set_dpu_iterator_from(&(set));                 \
         (dpu) = spi_dpu_it.next, spi_dpu_it.has_next; dpu_set_dpu_iterator_next(&spi_dpu_it))
#define SPI_DPU_FOREACH_INDEXED(set, dpu, i)                                                           \
    for (struct dpu_set_dpu_iterator_t spi_dpu_it = dpu_set_dpu_iterator_from(&(set));                 \
         (i) = spi_dpu_it.count, (dpu) = spi_dpu_it.next, spi_dpu_it.has_next;                         \
         dpu_set_dpu_iterator_next(&spi_dpu_it))
#define SPI_RANK_FOREACH_PLAIN(set, rank)                                                              \
    for (struct dpu_set_rank_iterator_t spi_rank_it = dpu_set_rank_iterator_from(&(set));              \
         (rank) = spi_rank_it.next, spi_rank_it.has_next; dpu_set_rank_iterator_next(&spi_rank_it))
#define SPI_RANK_FOREACH_INDEXED(set, rank, i)                                                         \
    for (struct dpu_set_rank_iterator_t spi_rank_it = dpu_set_rank_iterator_from(&(set));              \
         (i) = spi_rank_it.count, (rank) = spi_rank_it.next, spi_rank_it.has_next;                     \
         dpu_set_rank_iterator_next(&spi_rank_it))

/** Iterates the DPUs of `set` as single-DPU sets, optionally with a uint32_t index. */
#define DPU_FOREACH(set, ...)                                                                          \
    SPI_DPU_PICK3(__VA_ARGS__, SPI_DPU_FOREACH_INDEXED, SPI_DPU_FOREACH_PLAIN, ~)(set, __VA_ARGS__)
/** Iterates the ranks of `set`, optionally with a uint32_t index. */
#define DPU_RANK_FOREACH(set, ...)                                                                     \
    SPI_DPU_PICK3(__VA_ARGS__, SPI_RANK_FOREACH_INDEXED, SPI_RANK_FOREACH_PLAIN, ~)(set, __VA_ARGS__)

dpu_error_t
dpu_alloc(uint32_t nr_dpus, const char *profile, struct dpu_set_t *dpu_set);

dpu_error_t
dpu_alloc_ranks(uint32_t nr_ranks, const char *profile, struct dpu_set_t *dpu_set);

dpu_error_t
dpu_free(struct dpu_set_t dpu_set);

dpu_error_t
dpu_get_nr_ranks(struct dpu_set_t dpu_set, uint32_t *nr_ranks);

dpu_error_t
dpu_get_nr_dpus(struct dpu_set_t dpu_set, uint32_t *nr_dpus);

struct dpu_set_rank_iterator_t
dpu_set_rank_iterator_from(struct dpu_set_t *set);

void
dpu_set_rank_iterator_next(struct dpu_set_rank_iterator_t *iterator);

struct dpu_set_dpu_iterator_t
dpu_set_dpu_iterator_from(struct dpu_set_t *set);

void
dpu_set_dpu_iterator_next(struct dpu_set_dpu_iterator_t *iterator);

dpu_error_t
dpu_load(struct dpu_set_t dpu_set, const char *binary_path, struct dpu_program_t **program);

dpu_error_t
dpu_launch(struct dpu_set_t dpu_set, dpu_launch_policy_t policy);

dpu_error_t
dpu_status(struct dpu_set_t dpu_set, bool *done, bool *fault);

dpu_error_t
dpu_sync(struct dpu_set_t dpu_set);

dpu_error_t
dpu_copy_to(struct dpu_set_t dpu_set, const char *symbol_name, uint32_t symbol_offset, const void *src, size_t length);

dpu_error_t
dpu_copy_from(struct dpu_set_t dpu_set, const char *symbol_name, uint32_t symbol_offset, void *dst, size_t length);

dpu_error_t
dpu_prepare_xfer(struct dpu_set_t dpu_set, void *buffer);

dpu_error_t
dpu_push_xfer(struct dpu_set_t dpu_set,
    dpu_xfer_t xfer,
    const char *symbol_name,
    uint32_t symbol_offset,
    size_t length,
    dpu_xfer_flags_t flags);

dpu_error_t
dpu_broadcast_to(struct dpu_set_t dpu_set,
    const char *symbol_name,
    uint32_t symbol_offset,
    const void *src,
    size_t length,
    dpu_xfer_flags_t flags);

dpu_error_t
dpu_log_read(struct dpu_set_t set, FILE *stream);

#ifdef __cplusplus
}
#endif

#endif
