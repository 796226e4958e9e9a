/* Spiral UPMEM emulator: the host library (the functions of <dpu.h> and <dpu_emu.h>).
 *
 * A DPU program is a host shared object built from DPU C with the headers of ../dpu-rt (see
 * spi_emu_abi.h). Every DPU loads its own physical copy of it (glibc's dlopen shares one
 * mapping per inode, so each DPU gets a fresh file), which gives it its own globals (its
 * WRAM); its MRAM is a 64 MiB slice of one anonymous mapping per allocation, zero until
 * written. A launch runs each DPU's NR_TASKLETS tasklets as threads calling main().
 *
 * The emulator enforces the rules of the hardware and of the SDK's host library (see
 * enum dpu_emu_rule); a violation is recorded with a message and fails the call with the
 * SDK's error code, and a violation on the DPU side faults the DPU (its tasklets stop and
 * dpu_launch returns DPU_ERR_DPU_FAULT).
 *
 * Build: cc -shared -fPIC -O2 -std=gnu11 -pthread dpu_emu.c -o libdpu_emu.so -ldl */
#define _GNU_SOURCE
#define SPI_EMU_HOST_SIDE

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../dpu-rt/spi_emu_abi.h"
#include "../include/dpu.h"
#include "../include/dpu_emu.h"

#define EMU_EXPORT __attribute__((visibility("default")))

#define MRAM_SIZE ((size_t)64 << 20)
#define WRAM_SIZE 65536u
#define MAX_TASKLETS 24u
#define LOG_SIZE ((size_t)1 << 20)
#define DPUS_PER_RANK 64u
#define MAX_DPUS (40u * DPUS_PER_RANK)
#define DMA_MAX 2048u
#define MAX_BARRIERS 64
#define MSG_LEN 512

enum section_kind { SEC_OTHER, SEC_WRAM, SEC_HOST, SEC_MRAM };

struct section {
    enum section_kind kind;
    uint64_t addr, size;
};

/* A program as loaded by one dpu_load call; shared by the DPUs it was loaded into. */
struct emu_program {
    int refs;
    char *path;
    unsigned char *image;
    size_t image_len;
    struct section *sections;
    size_t nr_sections;
    uint32_t wram_static, wram_host;
    uint32_t nr_tasklets, stack_size;
};

struct dpu_t;

struct tasklet {
    struct dpu_t *dpu;
    uint32_t id;
    uintptr_t stack_lo, stack_hi;
    jmp_buf stop;
};

struct emu_alloc;

struct dpu_t {
    struct emu_alloc *alloc;
    uint32_t index;
    unsigned char *mram;
    /* The loaded copy. */
    struct emu_program *program;
    void *handle;
    char *copy_path;
    uintptr_t base;
    struct spi_emu_hooks *hooks;
    void (*entry)(uint32_t);
    int has_stdio;
    /* Host transfers. */
    void *prepared;
    /* Run state. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_int faulted;
    uint32_t live, waiting;
    struct spi_emu_barrier *barriers[MAX_BARRIERS];
    int nr_barriers;
    /* WRAM heap. */
    unsigned char *wram_heap;
    uint32_t heap_cap, heap_used;
    /* Log. */
    char *log;
    size_t log_len;
    int log_overflow;
    /* First rule violation since the last call on this DPU. */
    int has_violation;
    uint32_t rule;
    char message[MSG_LEN];
    /* Counters. */
    uint64_t bytes_to, bytes_from, launches;
    atomic_uint_fast64_t dma_bytes;
};

struct dpu_rank_t {
    struct emu_alloc *alloc;
    uint32_t nr_dpus;
    struct dpu_t **dpus;
};

struct emu_alloc {
    uint32_t nr_dpus, nr_ranks;
    struct dpu_t *dpus;
    struct dpu_t **dpu_ptrs;
    struct dpu_rank_t *rank_storage;
    struct dpu_rank_t **ranks;
    unsigned char *mram;
    struct emu_alloc *next;
};

/* Every live allocation, to tell an access to another DPU's MRAM from one outside any. */
static pthread_mutex_t allocs_mu = PTHREAD_MUTEX_INITIALIZER;
static struct emu_alloc *allocs;
static atomic_uint copy_counter;

static __thread struct tasklet *current_tasklet;

/* ---------------------------------------------------------------------------------------- */
/* Sets                                                                                     */

/* The DPUs of a set, in DPU_FOREACH order; *n receives their count. NULL (n = 0) for an
 * empty or malformed set. The array is the caller's to free. */
static struct dpu_t **
set_dpus(struct dpu_set_t set, uint32_t *n)
{
    *n = 0;
    if (set.kind == DPU_SET_DPU) {
        if (set.dpu == NULL)
            return NULL;
        struct dpu_t **v = malloc(sizeof *v);
        if (v == NULL)
            return NULL;
        v[0] = set.dpu;
        *n = 1;
        return v;
    }
    if (set.kind != DPU_SET_RANKS || set.list.ranks == NULL)
        return NULL;
    uint32_t total = 0;
    for (uint32_t r = 0; r < set.list.nr_ranks; r++)
        total += set.list.ranks[r]->nr_dpus;
    if (total == 0)
        return NULL;
    struct dpu_t **v = malloc(total * sizeof *v);
    if (v == NULL)
        return NULL;
    uint32_t k = 0;
    for (uint32_t r = 0; r < set.list.nr_ranks; r++)
        for (uint32_t i = 0; i < set.list.ranks[r]->nr_dpus; i++)
            v[k++] = set.list.ranks[r]->dpus[i];
    *n = total;
    return v;
}

static void
clear_violations(struct dpu_t **dpus, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        pthread_mutex_lock(&dpus[i]->mu);
        dpus[i]->has_violation = 0;
        pthread_mutex_unlock(&dpus[i]->mu);
    }
}

static void
record_locked(struct dpu_t *d, uint32_t rule, const char *message)
{
    if (d->has_violation)
        return;
    d->has_violation = 1;
    d->rule = rule;
    snprintf(d->message, sizeof d->message, "%s", message);
}

__attribute__((format(printf, 3, 4))) static void
record(struct dpu_t *d, uint32_t rule, const char *format, ...)
{
    char message[MSG_LEN];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    pthread_mutex_lock(&d->mu);
    record_locked(d, rule, message);
    pthread_mutex_unlock(&d->mu);
}

/* ---------------------------------------------------------------------------------------- */
/* Allocation                                                                               */

static dpu_error_t
allocate(uint32_t nr_dpus, struct dpu_set_t *dpu_set)
{
    if (dpu_set == NULL || nr_dpus == 0 || nr_dpus > MAX_DPUS)
        return DPU_ERR_ALLOCATION;
    struct emu_alloc *a = calloc(1, sizeof *a);
    if (a == NULL)
        return DPU_ERR_SYSTEM;
    a->nr_dpus = nr_dpus;
    a->nr_ranks = (nr_dpus + DPUS_PER_RANK - 1) / DPUS_PER_RANK;
    a->dpus = calloc(nr_dpus, sizeof *a->dpus);
    a->dpu_ptrs = calloc(nr_dpus, sizeof *a->dpu_ptrs);
    a->rank_storage = calloc(a->nr_ranks, sizeof *a->rank_storage);
    a->ranks = calloc(a->nr_ranks, sizeof *a->ranks);
    void *mram = mmap(NULL, (size_t)nr_dpus * MRAM_SIZE, PROT_READ | PROT_WRITE,
        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (a->dpus == NULL || a->dpu_ptrs == NULL || a->rank_storage == NULL || a->ranks == NULL
        || mram == MAP_FAILED) {
        if (mram != MAP_FAILED)
            munmap(mram, (size_t)nr_dpus * MRAM_SIZE);
        free(a->dpus);
        free(a->dpu_ptrs);
        free(a->rank_storage);
        free(a->ranks);
        free(a);
        return DPU_ERR_ALLOCATION;
    }
    a->mram = mram;
    for (uint32_t i = 0; i < nr_dpus; i++) {
        struct dpu_t *d = &a->dpus[i];
        d->alloc = a;
        d->index = i;
        d->mram = a->mram + (size_t)i * MRAM_SIZE;
        pthread_mutex_init(&d->mu, NULL);
        pthread_cond_init(&d->cv, NULL);
        a->dpu_ptrs[i] = d;
    }
    for (uint32_t r = 0; r < a->nr_ranks; r++) {
        struct dpu_rank_t *rank = &a->rank_storage[r];
        rank->alloc = a;
        rank->dpus = &a->dpu_ptrs[r * DPUS_PER_RANK];
        uint32_t left = nr_dpus - r * DPUS_PER_RANK;
        rank->nr_dpus = left < DPUS_PER_RANK ? left : DPUS_PER_RANK;
        a->ranks[r] = rank;
    }
    pthread_mutex_lock(&allocs_mu);
    a->next = allocs;
    allocs = a;
    pthread_mutex_unlock(&allocs_mu);
    dpu_set->kind = DPU_SET_RANKS;
    dpu_set->list.nr_ranks = a->nr_ranks;
    dpu_set->list.ranks = a->ranks;
    return DPU_OK;
}

EMU_EXPORT dpu_error_t
dpu_alloc(uint32_t nr_dpus, const char *profile, struct dpu_set_t *dpu_set)
{
    (void)profile;
    if (nr_dpus == DPU_ALLOCATE_ALL)
        nr_dpus = DPUS_PER_RANK;
    return allocate(nr_dpus, dpu_set);
}

EMU_EXPORT dpu_error_t
dpu_alloc_ranks(uint32_t nr_ranks, const char *profile, struct dpu_set_t *dpu_set)
{
    (void)profile;
    if (nr_ranks == DPU_ALLOCATE_ALL)
        nr_ranks = 1;
    if (nr_ranks == 0 || nr_ranks > MAX_DPUS / DPUS_PER_RANK)
        return DPU_ERR_ALLOCATION;
    return allocate(nr_ranks * DPUS_PER_RANK, dpu_set);
}

static void unload(struct dpu_t *d);

EMU_EXPORT dpu_error_t
dpu_free(struct dpu_set_t dpu_set)
{
    if (dpu_set.kind != DPU_SET_RANKS || dpu_set.list.ranks == NULL || dpu_set.list.nr_ranks == 0)
        return DPU_ERR_INVALID_DPU_SET;
    struct emu_alloc *a = dpu_set.list.ranks[0]->alloc;
    if (a == NULL || a->ranks != dpu_set.list.ranks)
        return DPU_ERR_INVALID_DPU_SET;
    pthread_mutex_lock(&allocs_mu);
    for (struct emu_alloc **p = &allocs; *p != NULL; p = &(*p)->next) {
        if (*p == a) {
            *p = a->next;
            break;
        }
    }
    pthread_mutex_unlock(&allocs_mu);
    for (uint32_t i = 0; i < a->nr_dpus; i++) {
        struct dpu_t *d = &a->dpus[i];
        unload(d);
        free(d->wram_heap);
        free(d->log);
        pthread_mutex_destroy(&d->mu);
        pthread_cond_destroy(&d->cv);
    }
    munmap(a->mram, (size_t)a->nr_dpus * MRAM_SIZE);
    free(a->dpus);
    free(a->dpu_ptrs);
    free(a->rank_storage);
    free(a->ranks);
    free(a);
    return DPU_OK;
}

EMU_EXPORT dpu_error_t
dpu_get_nr_ranks(struct dpu_set_t dpu_set, uint32_t *nr_ranks)
{
    if (nr_ranks == NULL)
        return DPU_ERR_INTERNAL;
    if (dpu_set.kind == DPU_SET_DPU) {
        *nr_ranks = 1;
        return DPU_OK;
    }
    if (dpu_set.kind != DPU_SET_RANKS)
        return DPU_ERR_INVALID_DPU_SET;
    *nr_ranks = dpu_set.list.nr_ranks;
    return DPU_OK;
}

EMU_EXPORT dpu_error_t
dpu_get_nr_dpus(struct dpu_set_t dpu_set, uint32_t *nr_dpus)
{
    if (nr_dpus == NULL)
        return DPU_ERR_INTERNAL;
    if (dpu_set.kind == DPU_SET_DPU) {
        *nr_dpus = 1;
        return DPU_OK;
    }
    if (dpu_set.kind != DPU_SET_RANKS)
        return DPU_ERR_INVALID_DPU_SET;
    uint32_t n = 0;
    for (uint32_t r = 0; r < dpu_set.list.nr_ranks; r++)
        n += dpu_set.list.ranks[r]->nr_dpus;
    *nr_dpus = n;
    return DPU_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Iterators                                                                                */

static void
rank_iterator_fill(struct dpu_set_rank_iterator_t *it)
{
    struct dpu_set_t *set = it->set;
    memset(&it->next, 0, sizeof it->next);
    if (set->kind == DPU_SET_DPU) {
        it->has_next = it->next_idx == 0 && set->dpu != NULL;
        if (it->has_next)
            it->next = *set;
        return;
    }
    it->has_next = set->kind == DPU_SET_RANKS && it->next_idx < set->list.nr_ranks;
    if (it->has_next) {
        it->next.kind = DPU_SET_RANKS;
        it->next.list.nr_ranks = 1;
        it->next.list.ranks = &set->list.ranks[it->next_idx];
    }
}

EMU_EXPORT struct dpu_set_rank_iterator_t
dpu_set_rank_iterator_from(struct dpu_set_t *set)
{
    struct dpu_set_rank_iterator_t it;
    memset(&it, 0, sizeof it);
    it.set = set;
    rank_iterator_fill(&it);
    return it;
}

EMU_EXPORT void
dpu_set_rank_iterator_next(struct dpu_set_rank_iterator_t *iterator)
{
    iterator->count++;
    iterator->next_idx++;
    rank_iterator_fill(iterator);
}

static void
dpu_iterator_settle(struct dpu_set_dpu_iterator_t *it)
{
    while (it->rank_iterator.has_next) {
        struct dpu_set_t rank = it->rank_iterator.next;
        if (rank.kind == DPU_SET_DPU) {
            if (it->next_idx == 0) {
                it->next = rank;
                it->has_next = true;
                return;
            }
        } else {
            struct dpu_rank_t *r = rank.list.ranks[0];
            if (it->next_idx < r->nr_dpus) {
                memset(&it->next, 0, sizeof it->next);
                it->next.kind = DPU_SET_DPU;
                it->next.dpu = r->dpus[it->next_idx];
                it->has_next = true;
                return;
            }
        }
        dpu_set_rank_iterator_next(&it->rank_iterator);
        it->next_idx = 0;
    }
    it->has_next = false;
}

EMU_EXPORT struct dpu_set_dpu_iterator_t
dpu_set_dpu_iterator_from(struct dpu_set_t *set)
{
    struct dpu_set_dpu_iterator_t it;
    memset(&it, 0, sizeof it);
    it.rank_iterator = dpu_set_rank_iterator_from(set);
    dpu_iterator_settle(&it);
    return it;
}

EMU_EXPORT void
dpu_set_dpu_iterator_next(struct dpu_set_dpu_iterator_t *iterator)
{
    iterator->count++;
    iterator->next_idx++;
    dpu_iterator_settle(iterator);
}

/* ---------------------------------------------------------------------------------------- */
/* Programs                                                                                 */

static int
starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Reads the file and classifies its allocated sections. Returns DPU_OK or an error with a
 * message in err. */
static dpu_error_t
program_open(const char *path, struct emu_program **out, char *err, size_t err_len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, err_len, "cannot open the DPU program `%s`: %s", path, strerror(errno));
        return DPU_ERR_ELF_NO_SUCH_FILE;
    }
    struct emu_program *p = calloc(1, sizeof *p);
    size_t cap = 1 << 16, len = 0;
    unsigned char *buf = malloc(cap);
    if (p == NULL || buf == NULL) {
        fclose(f);
        free(p);
        free(buf);
        snprintf(err, err_len, "out of memory");
        return DPU_ERR_SYSTEM;
    }
    for (;;) {
        if (len == cap) {
            unsigned char *bigger = realloc(buf, cap * 2);
            if (bigger == NULL)
                break;
            buf = bigger;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        if (got == 0)
            break;
        len += got;
    }
    fclose(f);
    p->image = buf;
    p->image_len = len;
    p->refs = 1;
    p->path = strdup(path);
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)buf;
    int ok = len >= sizeof *eh && memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 && eh->e_ident[EI_CLASS] == ELFCLASS64
        && eh->e_type == ET_DYN && eh->e_shentsize == sizeof(Elf64_Shdr) && eh->e_shoff < len
        && eh->e_shnum > 0 && eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) <= len
        && eh->e_shstrndx < eh->e_shnum;
    const Elf64_Shdr *sh = ok ? (const Elf64_Shdr *)(buf + eh->e_shoff) : NULL;
    ok = ok && sh[eh->e_shstrndx].sh_offset + sh[eh->e_shstrndx].sh_size <= len;
    if (!ok) {
        snprintf(err, err_len,
            "`%s` is not a DPU program for the emulator (a 64-bit ELF shared object built with "
            "the emulator's DPU headers)",
            path);
        free(p->path);
        free(p->image);
        free(p);
        return DPU_ERR_ELF_INVALID_FILE;
    }
    const char *names = (const char *)buf + sh[eh->e_shstrndx].sh_offset;
    uint64_t names_len = sh[eh->e_shstrndx].sh_size;
    p->sections = calloc(eh->e_shnum, sizeof *p->sections);
    /* Per section index: 0 not WRAM, 1 WRAM data/bss/__host (counted by its objects when there
     * is a symbol table), 2 read-only data (counted whole: literals have no symbols). */
    unsigned char *wram_class = calloc(eh->e_shnum, 1);
    uint64_t by_section = 0;
    for (uint32_t i = 0; p->sections != NULL && wram_class != NULL && i < eh->e_shnum; i++) {
        if (!(sh[i].sh_flags & SHF_ALLOC) || sh[i].sh_name >= names_len || sh[i].sh_size == 0)
            continue;
        const char *name = names + sh[i].sh_name;
        enum section_kind kind = SEC_OTHER;
        if (strcmp(name, "dpu_host") == 0)
            kind = SEC_HOST;
        else if (starts_with(name, "dpu_mram"))
            kind = SEC_MRAM;
        else if (starts_with(name, ".data") || starts_with(name, ".bss") || starts_with(name, ".rodata"))
            kind = SEC_WRAM;
        if (kind == SEC_OTHER)
            continue;
        p->sections[p->nr_sections].kind = kind;
        p->sections[p->nr_sections].addr = sh[i].sh_addr;
        p->sections[p->nr_sections].size = sh[i].sh_size;
        p->nr_sections++;
        if (kind == SEC_HOST || kind == SEC_WRAM) {
            wram_class[i] = starts_with(name, ".rodata") ? 2 : 1;
            by_section += sh[i].sh_size;
        }
        if (kind == SEC_HOST)
            p->wram_host += (uint32_t)sh[i].sh_size;
    }
    /* Static WRAM: the objects of the data, bss and __host sections (their symbols' sizes,
     * so that a sanitizer's redzones and metadata do not count), plus the read-only data.
     * Without a symbol table: the sections' sizes. */
    uint64_t by_symbol = 0;
    int have_symtab = 0;
    for (uint32_t i = 0; wram_class != NULL && i < eh->e_shnum && !have_symtab; i++) {
        if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_entsize != sizeof(Elf64_Sym) || sh[i].sh_link >= eh->e_shnum
            || sh[i].sh_offset + sh[i].sh_size > len)
            continue;
        const Elf64_Shdr *strs = &sh[sh[i].sh_link];
        if (strs->sh_offset + strs->sh_size > len)
            continue;
        have_symtab = 1;
        const Elf64_Sym *syms = (const Elf64_Sym *)(buf + sh[i].sh_offset);
        size_t count = sh[i].sh_size / sizeof(Elf64_Sym);
        for (size_t k = 0; k < count; k++) {
            const Elf64_Sym *y = &syms[k];
            if (ELF64_ST_TYPE(y->st_info) != STT_OBJECT || y->st_shndx >= eh->e_shnum || wram_class[y->st_shndx] != 1)
                continue;
            const char *name = y->st_name < strs->sh_size ? (const char *)buf + strs->sh_offset + y->st_name : "";
            if (starts_with(name, "__asan") || starts_with(name, "__odr_asan") || starts_with(name, "__ubsan"))
                continue;
            /* An alias of an object already counted (same address) counts once. */
            int seen = 0;
            for (size_t j = 0; j < k && !seen; j++)
                seen = ELF64_ST_TYPE(syms[j].st_info) == STT_OBJECT && syms[j].st_shndx == y->st_shndx
                    && syms[j].st_value == y->st_value && syms[j].st_size > 0;
            if (!seen)
                by_symbol += y->st_size;
        }
    }
    if (have_symtab) {
        for (uint32_t i = 0; i < eh->e_shnum; i++)
            if (wram_class[i] == 2)
                by_symbol += sh[i].sh_size;
    }
    uint64_t wram = have_symtab ? by_symbol : by_section;
    p->wram_static = (uint32_t)(wram > 16u * WRAM_SIZE ? 16u * WRAM_SIZE : wram);
    free(wram_class);
    *out = p;
    return DPU_OK;
}

static void
program_release(struct emu_program *p)
{
    if (p == NULL || --p->refs > 0)
        return;
    free(p->path);
    free(p->image);
    free(p->sections);
    free(p);
}

static void
unload(struct dpu_t *d)
{
    if (d->handle != NULL)
        dlclose(d->handle);
    if (d->copy_path != NULL) {
        unlink(d->copy_path);
        free(d->copy_path);
    }
    d->handle = NULL;
    d->copy_path = NULL;
    d->hooks = NULL;
    d->entry = NULL;
    d->base = 0;
    d->has_stdio = 0;
    d->nr_barriers = 0;
    program_release(d->program);
    d->program = NULL;
}

/* Writes a private copy of the program for one DPU and opens it. */
static dpu_error_t
load_copy(struct dpu_t *d, struct emu_program *p, char *err, size_t err_len)
{
    const char *tmp = getenv("TMPDIR");
    if (tmp == NULL || *tmp == '\0')
        tmp = "/tmp";
    char path[4096];
    int fd = -1;
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        snprintf(path, sizeof path, "%s/spiral-dpu-%ld-%u-%u.so", tmp, (long)getpid(), d->index,
            atomic_fetch_add(&copy_counter, 1u));
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0700);
    }
    if (fd < 0) {
        snprintf(err, err_len, "cannot create a copy of the DPU program in %s: %s", tmp, strerror(errno));
        return DPU_ERR_SYSTEM;
    }
    size_t done = 0;
    while (done < p->image_len) {
        ssize_t w = write(fd, p->image + done, p->image_len - done);
        if (w <= 0) {
            close(fd);
            unlink(path);
            snprintf(err, err_len, "cannot write a copy of the DPU program to %s: %s", path, strerror(errno));
            return DPU_ERR_SYSTEM;
        }
        done += (size_t)w;
    }
    close(fd);
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        const char *why = dlerror();
        snprintf(err, err_len, "cannot load the DPU program `%s`: %s", p->path, why ? why : "dlopen failed");
        unlink(path);
        return DPU_ERR_ELF_INVALID_FILE;
    }
    struct spi_emu_hooks *hooks = dlsym(handle, "__spi_emu_hooks");
    void (*entry)(uint32_t) = (void (*)(uint32_t))dlsym(handle, "__spi_emu_tasklet");
    uint32_t *version = dlsym(handle, "__spi_emu_abi_version");
    struct link_map *lm = NULL;
    if (hooks == NULL || entry == NULL || version == NULL || *version != SPI_EMU_ABI_VERSION
        || dlinfo(handle, RTLD_DI_LINKMAP, &lm) != 0 || lm == NULL) {
        snprintf(err, err_len,
            "`%s` was not built with the emulator's DPU headers (spi_emu_abi.h version %u): "
            "compile it with -include spi_emu_abi.h and -I <dpu-rt>",
            p->path, SPI_EMU_ABI_VERSION);
        dlclose(handle);
        unlink(path);
        return DPU_ERR_ELF_INVALID_FILE;
    }
    d->handle = handle;
    d->copy_path = strdup(path);
    d->hooks = hooks;
    d->entry = entry;
    d->base = (uintptr_t)lm->l_addr;
    d->has_stdio = dlsym(handle, "__spi_emu_stdio") != NULL;
    return DPU_OK;
}

static void hook_dma(void *dpu, int write, const void *mram, void *wram, uint32_t size);
static void hook_barrier_wait(void *dpu, struct spi_emu_barrier *barrier);
static void *hook_mem_alloc(void *dpu, size_t size);
static void *hook_mem_reset(void *dpu);
static int hook_vprintf(void *dpu, const char *format, va_list args);
static void hook_halt(void *dpu);
static void hook_yield(void *dpu);
static void hook_fault(void *dpu, uint32_t rule, const char *message);
static uint64_t hook_clock_ns(void *dpu);

static void
reset_dpu_state(struct dpu_t *d)
{
    struct spi_emu_hooks *h = d->hooks;
    h->abi_version = SPI_EMU_ABI_VERSION;
    h->dpu = d;
    h->mram = d->mram;
    h->dma = hook_dma;
    h->barrier_wait = hook_barrier_wait;
    h->mem_alloc = hook_mem_alloc;
    h->mem_reset = hook_mem_reset;
    h->vprintf = hook_vprintf;
    h->halt = hook_halt;
    h->yield = hook_yield;
    h->fault = hook_fault;
    h->clock_ns = hook_clock_ns;
    madvise(d->mram, MRAM_SIZE, MADV_DONTNEED);
    uint32_t used = d->program->wram_static + d->program->nr_tasklets * d->program->stack_size;
    d->heap_cap = used < WRAM_SIZE ? WRAM_SIZE - used : 0;
    d->heap_used = 0;
    d->log_len = 0;
    d->log_overflow = 0;
    d->nr_barriers = 0;
    atomic_store(&d->faulted, 0);
}

EMU_EXPORT dpu_error_t
dpu_load(struct dpu_set_t dpu_set, const char *binary_path, struct dpu_program_t **program)
{
    uint32_t n;
    struct dpu_t **dpus = set_dpus(dpu_set, &n);
    if (dpus == NULL)
        return DPU_ERR_INVALID_DPU_SET;
    clear_violations(dpus, n);
    char err[MSG_LEN];
    struct emu_program *p = NULL;
    dpu_error_t status = binary_path == NULL ? DPU_ERR_ELF_NO_SUCH_FILE : program_open(binary_path, &p, err, sizeof err);
    if (binary_path == NULL)
        snprintf(err, sizeof err, "dpu_load without a path");
    for (uint32_t i = 0; i < n; i++)
        unload(dpus[i]);
    if (status == DPU_OK)
        status = load_copy(dpus[0], p, err, sizeof err);
    uint32_t rule = DPU_EMU_RULE_INVALID_PROGRAM;
    if (status == DPU_OK) {
        uint32_t *tasklets = dlsym(dpus[0]->handle, "__spi_emu_nr_tasklets");
        uint32_t *stack = dlsym(dpus[0]->handle, "__spi_emu_stack_size");
        p->nr_tasklets = tasklets ? *tasklets : 1;
        p->stack_size = stack ? *stack : 1024;
        uint64_t need = (uint64_t)p->wram_static + (uint64_t)p->nr_tasklets * p->stack_size;
        if (p->nr_tasklets == 0 || p->nr_tasklets > MAX_TASKLETS) {
            status = DPU_ERR_TOO_MANY_TASKLETS;
            rule = DPU_EMU_RULE_TOO_MANY_TASKLETS;
            snprintf(err, sizeof err,
                "too many tasklets: the program has NR_TASKLETS = %u, a DPU runs 1 to %u tasklets",
                p->nr_tasklets, MAX_TASKLETS);
        } else if (p->stack_size % 8 != 0 || p->stack_size == 0) {
            status = DPU_ERR_INVALID_WRAM_ACCESS;
            rule = DPU_EMU_RULE_WRAM_BUDGET;
            snprintf(err, sizeof err, "WRAM budget: STACK_SIZE_DEFAULT = %u must be a positive multiple of 8",
                p->stack_size);
        } else if (need > WRAM_SIZE) {
            status = DPU_ERR_INVALID_WRAM_ACCESS;
            rule = DPU_EMU_RULE_WRAM_BUDGET;
            snprintf(err, sizeof err,
                "WRAM budget exceeded: %u bytes of static data (of which %u __host) + %u tasklets x %u-byte "
                "stacks = %llu bytes, but a DPU has %u bytes of WRAM",
                p->wram_static, p->wram_host, p->nr_tasklets, p->stack_size, (unsigned long long)need, WRAM_SIZE);
        }
        if (status != DPU_OK) {
            dlclose(dpus[0]->handle);
            unlink(dpus[0]->copy_path);
            free(dpus[0]->copy_path);
            dpus[0]->handle = NULL;
            dpus[0]->copy_path = NULL;
            dpus[0]->hooks = NULL;
        }
    }
    if (status == DPU_OK) {
        dpus[0]->program = p;
        for (uint32_t i = 1; i < n && status == DPU_OK; i++) {
            status = load_copy(dpus[i], p, err, sizeof err);
            if (status == DPU_OK) {
                p->refs++;
                dpus[i]->program = p;
            }
        }
        if (status != DPU_OK) {
            for (uint32_t i = 0; i < n; i++)
                unload(dpus[i]);
            p = NULL;
        }
    } else {
        program_release(p);
        p = NULL;
    }
    if (status != DPU_OK) {
        for (uint32_t i = 0; i < n; i++)
            record(dpus[i], rule, "%s", err);
        free(dpus);
        return status;
    }
    for (uint32_t i = 0; i < n; i++) {
        struct dpu_t *d = dpus[i];
        if (d->wram_heap == NULL)
            d->wram_heap = aligned_alloc(8, WRAM_SIZE);
        if (d->wram_heap == NULL) {
            free(dpus);
            return DPU_ERR_SYSTEM;
        }
        reset_dpu_state(d);
    }
    if (program != NULL)
        *program = (struct dpu_program_t *)p;
    free(dpus);
    return DPU_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* DPU side                                                                                 */

static _Noreturn void
stop_tasklet(struct dpu_t *d)
{
    struct tasklet *t = current_tasklet;
    if (t == NULL || t->dpu != d) {
        fprintf(stderr, "spiral upmem emulator: a DPU hook ran outside its DPU's tasklets\n");
        abort();
    }
    longjmp(t->stop, 1);
}

__attribute__((format(printf, 3, 4))) static _Noreturn void
dpu_fault(struct dpu_t *d, uint32_t rule, const char *format, ...)
{
    char message[MSG_LEN];
    int k = snprintf(message, sizeof message, "DPU %u, tasklet %u: ", d->index,
        current_tasklet ? current_tasklet->id : 0u);
    va_list args;
    va_start(args, format);
    vsnprintf(message + k, sizeof message - (size_t)k, format, args);
    va_end(args);
    pthread_mutex_lock(&d->mu);
    record_locked(d, rule, message);
    atomic_store(&d->faulted, 1);
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
    stop_tasklet(d);
}

static void
check_running(struct dpu_t *d)
{
    if (atomic_load_explicit(&d->faulted, memory_order_relaxed))
        stop_tasklet(d);
}

static int
in_range(uintptr_t lo, uintptr_t hi, uintptr_t start, uintptr_t end)
{
    return start >= lo && end <= hi && start <= end;
}

/* Which DPU (of any allocation) owns the MRAM byte at p; NULL for none. */
static struct dpu_t *
mram_owner(uintptr_t p)
{
    struct dpu_t *owner = NULL;
    pthread_mutex_lock(&allocs_mu);
    for (struct emu_alloc *a = allocs; a != NULL && owner == NULL; a = a->next) {
        uintptr_t lo = (uintptr_t)a->mram, hi = lo + (uintptr_t)a->nr_dpus * MRAM_SIZE;
        if (p >= lo && p < hi)
            owner = &a->dpus[(p - lo) / MRAM_SIZE];
    }
    pthread_mutex_unlock(&allocs_mu);
    return owner;
}

static int
in_sections(struct dpu_t *d, int mram, uintptr_t start, uintptr_t end)
{
    struct emu_program *p = d->program;
    for (size_t i = 0; i < p->nr_sections; i++) {
        struct section *s = &p->sections[i];
        int is_mram = s->kind == SEC_MRAM;
        if (is_mram != mram)
            continue;
        uintptr_t lo = d->base + s->addr;
        if (in_range(lo, lo + s->size, start, end))
            return 1;
    }
    return 0;
}

static void
hook_dma(void *dpu, int write, const void *mram, void *wram, uint32_t size)
{
    struct dpu_t *d = dpu;
    const char *op = write ? "mram_write" : "mram_read";
    check_running(d);
    if (size < 8 || size > DMA_MAX || size % 8 != 0)
        dpu_fault(d, DPU_EMU_RULE_DMA_SIZE,
            "%s of %u bytes: a DMA moves a multiple of 8 bytes from 8 to %u", op, size, DMA_MAX);
    uintptr_t m = (uintptr_t)mram, w = (uintptr_t)wram;
    uintptr_t heap = (uintptr_t)d->mram;
    if (m % 8 != 0) {
        if (m >= heap && m < heap + MRAM_SIZE)
            dpu_fault(d, DPU_EMU_RULE_DMA_ALIGNMENT,
                "%s of %u bytes: MRAM address DPU_MRAM_HEAP_POINTER + %zu is not 8-byte aligned", op, size,
                (size_t)(m - heap));
        dpu_fault(d, DPU_EMU_RULE_DMA_ALIGNMENT, "%s of %u bytes: MRAM address %p is not 8-byte aligned", op,
            size, mram);
    }
    if (w % 8 != 0)
        dpu_fault(d, DPU_EMU_RULE_DMA_ALIGNMENT, "%s of %u bytes: WRAM address %p is not 8-byte aligned", op,
            size, wram);
    if (!in_range(heap, heap + MRAM_SIZE, m, m + size) && !in_sections(d, 1, m, m + size)) {
        struct dpu_t *owner = mram_owner(m);
        if (owner != NULL && owner != d)
            dpu_fault(d, DPU_EMU_RULE_DPU_ISOLATION,
                "%s of %u bytes at offset %zu of the MRAM of another DPU (DPU %u of %s allocation): a DPU "
                "can only access its own MRAM",
                op, size, (size_t)(m - (uintptr_t)owner->mram), owner->index,
                owner->alloc == d->alloc ? "this" : "another");
        if (m >= heap && m < heap + MRAM_SIZE)
            dpu_fault(d, DPU_EMU_RULE_MRAM_BOUNDS,
                "%s of %u bytes at DPU_MRAM_HEAP_POINTER + %zu ends past the %zu-byte MRAM", op, size,
                (size_t)(m - heap), (size_t)MRAM_SIZE);
        dpu_fault(d, DPU_EMU_RULE_MRAM_BOUNDS,
            "%s of %u bytes at %p (DPU_MRAM_HEAP_POINTER %+lld): outside this DPU's %zu-byte MRAM", op, size,
            mram, (long long)((intptr_t)m - (intptr_t)heap), (size_t)MRAM_SIZE);
    }
    struct tasklet *t = current_tasklet;
    uintptr_t hp = (uintptr_t)d->wram_heap;
    int wram_ok = in_sections(d, 0, w, w + size) || in_range(hp, hp + WRAM_SIZE, w, w + size)
        || (t != NULL && in_range(t->stack_lo, t->stack_hi, w, w + size));
    if (!wram_ok)
        dpu_fault(d, DPU_EMU_RULE_WRAM_BOUNDS,
            "%s of %u bytes: WRAM address %p is not in this DPU's WRAM (its globals, mem_alloc heap or the "
            "tasklet's stack)",
            op, size, wram);
    if (write)
        memmove((void *)mram, wram, size);
    else
        memmove(wram, mram, size);
    atomic_fetch_add_explicit(&d->dma_bytes, size, memory_order_relaxed);
}

/* With d->mu held: faults the DPU if every live tasklet waits (nobody can release them). */
static int
deadlocked_locked(struct dpu_t *d)
{
    return d->live > 0 && d->waiting == d->live;
}

static void
hook_barrier_wait(void *dpu, struct spi_emu_barrier *barrier)
{
    struct dpu_t *d = dpu;
    pthread_mutex_lock(&d->mu);
    if (atomic_load(&d->faulted)) {
        pthread_mutex_unlock(&d->mu);
        stop_tasklet(d);
    }
    int known = 0;
    for (int i = 0; i < d->nr_barriers; i++)
        known |= d->barriers[i] == barrier;
    if (!known && d->nr_barriers < MAX_BARRIERS)
        d->barriers[d->nr_barriers++] = barrier;
    barrier->arrived++;
    if ((int32_t)barrier->arrived >= barrier->count) {
        /* The waiters are released now: they stop counting as waiting before they wake up. */
        d->waiting -= barrier->arrived - 1;
        barrier->arrived = 0;
        barrier->generation++;
        pthread_cond_broadcast(&d->cv);
        pthread_mutex_unlock(&d->mu);
        return;
    }
    uint32_t generation = barrier->generation;
    d->waiting++;
    if (deadlocked_locked(d)) {
        char message[MSG_LEN];
        snprintf(message, sizeof message,
            "DPU %u, tasklet %u: barrier deadlock: all %u live tasklets wait at barriers, and this one needs %d "
            "tasklets but %u arrived",
            d->index, current_tasklet ? current_tasklet->id : 0u, d->live, barrier->count, barrier->arrived);
        record_locked(d, DPU_EMU_RULE_BARRIER_DEADLOCK, message);
        atomic_store(&d->faulted, 1);
        pthread_cond_broadcast(&d->cv);
    }
    while (barrier->generation == generation && !atomic_load(&d->faulted))
        pthread_cond_wait(&d->cv, &d->mu);
    int released = barrier->generation != generation;
    if (!released)
        d->waiting--;
    pthread_mutex_unlock(&d->mu);
    if (!released)
        stop_tasklet(d);
}

static void *
hook_mem_alloc(void *dpu, size_t size)
{
    struct dpu_t *d = dpu;
    check_running(d);
    size_t rounded = (size + 7) & ~(size_t)7;
    pthread_mutex_lock(&d->mu);
    if (size > WRAM_SIZE || d->heap_used + rounded > d->heap_cap) {
        uint32_t used = d->heap_used, cap = d->heap_cap;
        pthread_mutex_unlock(&d->mu);
        dpu_fault(d, DPU_EMU_RULE_WRAM_BUDGET,
            "WRAM budget exceeded: mem_alloc(%zu) with %u of the heap's %u bytes free (64 KiB WRAM - %u "
            "static - %u tasklets x %u-byte stacks)",
            size, cap - used, cap, d->program->wram_static, d->program->nr_tasklets, d->program->stack_size);
    }
    void *p = d->wram_heap + d->heap_used;
    d->heap_used += (uint32_t)rounded;
    pthread_mutex_unlock(&d->mu);
    return p;
}

static void *
hook_mem_reset(void *dpu)
{
    struct dpu_t *d = dpu;
    check_running(d);
    pthread_mutex_lock(&d->mu);
    d->heap_used = 0;
    pthread_mutex_unlock(&d->mu);
    return d->wram_heap;
}

static int
hook_vprintf(void *dpu, const char *format, va_list args)
{
    struct dpu_t *d = dpu;
    check_running(d);
    char small[512];
    va_list copy;
    va_copy(copy, args);
    int n = vsnprintf(small, sizeof small, format, copy);
    va_end(copy);
    if (n < 0)
        return n;
    char *text = small;
    if ((size_t)n >= sizeof small) {
        text = malloc((size_t)n + 1);
        if (text == NULL)
            return -1;
        vsnprintf(text, (size_t)n + 1, format, args);
    }
    pthread_mutex_lock(&d->mu);
    if (d->log == NULL)
        d->log = malloc(LOG_SIZE);
    if (d->log != NULL) {
        size_t room = LOG_SIZE - d->log_len;
        size_t take = (size_t)n < room ? (size_t)n : room;
        memcpy(d->log + d->log_len, text, take);
        d->log_len += take;
        if (take < (size_t)n)
            d->log_overflow = 1;
    }
    pthread_mutex_unlock(&d->mu);
    if (text != small)
        free(text);
    return n;
}

static void
hook_halt(void *dpu)
{
    stop_tasklet(dpu);
}

static void
hook_yield(void *dpu)
{
    check_running(dpu);
    sched_yield();
}

static void
hook_fault(void *dpu, uint32_t rule, const char *message)
{
    dpu_fault(dpu, rule, "%s", message ? message : "fault");
}

static uint64_t
hook_clock_ns(void *dpu)
{
    (void)dpu;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---------------------------------------------------------------------------------------- */
/* Launches                                                                                 */

static void *
tasklet_main(void *arg)
{
    struct tasklet *t = arg;
    struct dpu_t *d = t->dpu;
    current_tasklet = t;
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        void *addr = NULL;
        size_t size = 0;
        if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
            t->stack_lo = (uintptr_t)addr;
            t->stack_hi = (uintptr_t)addr + size;
        }
        pthread_attr_destroy(&attr);
    }
    if (setjmp(t->stop) == 0)
        d->entry(t->id);
    pthread_mutex_lock(&d->mu);
    d->live--;
    if (deadlocked_locked(d) && !atomic_load(&d->faulted)) {
        char message[MSG_LEN];
        snprintf(message, sizeof message,
            "DPU %u: barrier deadlock: tasklet %u ended while the %u other live tasklets wait at barriers",
            d->index, t->id, d->live);
        record_locked(d, DPU_EMU_RULE_BARRIER_DEADLOCK, message);
        atomic_store(&d->faulted, 1);
        pthread_cond_broadcast(&d->cv);
    }
    pthread_mutex_unlock(&d->mu);
    current_tasklet = NULL;
    return NULL;
}

static size_t
tasklet_stack_bytes(void)
{
    const char *v = getenv("SPIRAL_UPMEM_TASKLET_STACK_KIB");
    long kib = v ? strtol(v, NULL, 10) : 0;
    if (kib < 64)
        kib = 1024;
    return (size_t)kib << 10;
}

static void
run_dpu(struct dpu_t *d)
{
    uint32_t n = d->program->nr_tasklets;
    struct tasklet tasklets[MAX_TASKLETS];
    pthread_t threads[MAX_TASKLETS];
    int started[MAX_TASKLETS] = {0};
    pthread_mutex_lock(&d->mu);
    atomic_store(&d->faulted, 0);
    d->live = n;
    d->waiting = 0;
    for (int i = 0; i < d->nr_barriers; i++)
        d->barriers[i]->arrived = 0;
    d->log_len = 0;
    d->log_overflow = 0;
    d->launches++;
    pthread_mutex_unlock(&d->mu);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, tasklet_stack_bytes());
    for (uint32_t i = 0; i < n; i++) {
        memset(&tasklets[i], 0, sizeof tasklets[i]);
        tasklets[i].dpu = d;
        tasklets[i].id = i;
        started[i] = pthread_create(&threads[i], &attr, tasklet_main, &tasklets[i]) == 0;
        if (!started[i]) {
            pthread_mutex_lock(&d->mu);
            record_locked(d, DPU_EMU_RULE_NONE, "the emulator could not start a tasklet thread");
            atomic_store(&d->faulted, 1);
            d->live--;
            pthread_cond_broadcast(&d->cv);
            pthread_mutex_unlock(&d->mu);
        }
    }
    pthread_attr_destroy(&attr);
    for (uint32_t i = 0; i < n; i++)
        if (started[i])
            pthread_join(threads[i], NULL);
}

struct launch_work {
    struct dpu_t **dpus;
    uint32_t n;
    atomic_uint next;
};

static void *
launch_worker(void *arg)
{
    struct launch_work *w = arg;
    for (;;) {
        uint32_t i = atomic_fetch_add(&w->next, 1u);
        if (i >= w->n)
            break;
        run_dpu(w->dpus[i]);
    }
    return NULL;
}

static uint32_t
launch_workers(uint32_t n)
{
    const char *v = getenv("SPIRAL_UPMEM_EMU_THREADS");
    long k = v ? strtol(v, NULL, 10) : 0;
    if (k <= 0) {
        k = sysconf(_SC_NPROCESSORS_ONLN);
        if (k < 2)
            k = 2;
        if (k > 8)
            k = 8;
    }
    return (uint32_t)k < n ? (uint32_t)k : n;
}

EMU_EXPORT dpu_error_t
dpu_launch(struct dpu_set_t dpu_set, dpu_launch_policy_t policy)
{
    uint32_t n;
    struct dpu_t **dpus = set_dpus(dpu_set, &n);
    if (dpus == NULL)
        return DPU_ERR_INVALID_DPU_SET;
    clear_violations(dpus, n);
    if (policy != DPU_SYNCHRONOUS && policy != DPU_ASYNCHRONOUS) {
        free(dpus);
        return DPU_ERR_INVALID_LAUNCH_POLICY;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (dpus[i]->program == NULL) {
            record(dpus[i], DPU_EMU_RULE_NO_PROGRAM, "dpu_launch: DPU %u has no program loaded", dpus[i]->index);
            free(dpus);
            return DPU_ERR_NO_PROGRAM_LOADED;
        }
    }
    struct launch_work work = { .dpus = dpus, .n = n };
    atomic_init(&work.next, 0u);
    uint32_t workers = launch_workers(n);
    pthread_t threads[8 + 56];
    uint32_t started = 0;
    for (uint32_t i = 1; i < workers && i < 64; i++)
        if (pthread_create(&threads[started], NULL, launch_worker, &work) == 0)
            started++;
    launch_worker(&work);
    for (uint32_t i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    int fault = 0;
    for (uint32_t i = 0; i < n; i++)
        fault |= atomic_load(&dpus[i]->faulted);
    free(dpus);
    if (policy == DPU_ASYNCHRONOUS)
        return DPU_OK;
    return fault ? DPU_ERR_DPU_FAULT : DPU_OK;
}

EMU_EXPORT dpu_error_t
dpu_status(struct dpu_set_t dpu_set, bool *done, bool *fault)
{
    uint32_t n;
    struct dpu_t **dpus = set_dpus(dpu_set, &n);
    if (dpus == NULL)
        return DPU_ERR_INVALID_DPU_SET;
    int any = 0;
    for (uint32_t i = 0; i < n; i++)
        any |= atomic_load(&dpus[i]->faulted);
    free(dpus);
    if (done != NULL)
        *done = true;
    if (fault != NULL)
        *fault = any != 0;
    return DPU_OK;
}

EMU_EXPORT dpu_error_t
dpu_sync(struct dpu_set_t dpu_set)
{
    bool done, fault;
    dpu_error_t status = dpu_status(dpu_set, &done, &fault);
    if (status != DPU_OK)
        return status;
    return fault ? DPU_ERR_DPU_FAULT : DPU_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Host transfers                                                                           */

struct symbol {
    unsigned char *addr;
    uint64_t size;
    int mram;
};

static dpu_error_t
resolve(struct dpu_t *d, const char *name, struct symbol *s)
{
    if (d->program == NULL) {
        record(d, DPU_EMU_RULE_NO_PROGRAM, "DPU %u has no program loaded", d->index);
        return DPU_ERR_NO_PROGRAM_LOADED;
    }
    if (name == NULL) {
        record(d, DPU_EMU_RULE_UNKNOWN_SYMBOL, "unknown symbol: no name given");
        return DPU_ERR_UNKNOWN_SYMBOL;
    }
    if (strcmp(name, DPU_MRAM_HEAP_POINTER_NAME) == 0) {
        s->addr = d->mram;
        s->size = MRAM_SIZE;
        s->mram = 1;
        return DPU_OK;
    }
    void *addr = dlsym(d->handle, name);
    if (addr == NULL) {
        record(d, DPU_EMU_RULE_UNKNOWN_SYMBOL, "unknown symbol `%s`: the DPU program does not define it", name);
        return DPU_ERR_UNKNOWN_SYMBOL;
    }
    Dl_info info;
    const ElfW(Sym) *entry = NULL;
    uint64_t size = 0;
    if (dladdr1(addr, &info, (void **)&entry, RTLD_DL_SYMENT) != 0 && entry != NULL)
        size = entry->st_size;
    uintptr_t a = (uintptr_t)addr;
    struct emu_program *p = d->program;
    for (size_t i = 0; i < p->nr_sections; i++) {
        struct section *sec = &p->sections[i];
        uintptr_t lo = d->base + sec->addr;
        if (a < lo || a >= lo + sec->size || (sec->kind != SEC_HOST && sec->kind != SEC_MRAM))
            continue;
        s->addr = addr;
        s->size = size;
        s->mram = sec->kind == SEC_MRAM;
        return DPU_OK;
    }
    record(d, DPU_EMU_RULE_UNKNOWN_SYMBOL,
        "unknown symbol `%s`: it is not visible to the host (declare it __host, __mram or __mram_noinit)", name);
    return DPU_ERR_UNKNOWN_SYMBOL;
}

/* Checks one DPU's side of a host transfer (the SDK's symbol, WRAM and MRAM rules). */
static dpu_error_t
check_transfer(struct dpu_t *d, const char *name, uint32_t offset, size_t length, struct symbol *s)
{
    dpu_error_t status = resolve(d, name, s);
    if (status != DPU_OK)
        return status;
    if ((uint64_t)offset + length > s->size) {
        record(d, DPU_EMU_RULE_SYMBOL_BOUNDS,
            "invalid symbol access: offset %u + length %zu > size %llu of `%s`", offset, length,
            (unsigned long long)s->size, name);
        return DPU_ERR_INVALID_SYMBOL_ACCESS;
    }
    if (s->mram) {
        uintptr_t at = (uintptr_t)s->addr + offset;
        if (at % 8 != 0 || length % 8 != 0) {
            record(d, DPU_EMU_RULE_HOST_MRAM_ALIGNMENT,
                "invalid MRAM access: host transfers to MRAM (`%s`) need an 8-byte-aligned offset and size, "
                "got offset %u and size %zu",
                name, offset, length);
            return DPU_ERR_INVALID_MRAM_ACCESS;
        }
    } else if (offset % 4 != 0 || length % 4 != 0) {
        record(d, DPU_EMU_RULE_HOST_WRAM_ALIGNMENT,
            "invalid WRAM access: host transfers to WRAM (`%s`) need offset and size multiples of 4, got offset "
            "%u and size %zu",
            name, offset, length);
        return DPU_ERR_INVALID_WRAM_ACCESS;
    }
    return DPU_OK;
}

static dpu_error_t
same_program(struct dpu_t **dpus, uint32_t n)
{
    for (uint32_t i = 1; i < n; i++) {
        if (dpus[i]->program != NULL && dpus[0]->program != NULL && dpus[i]->program != dpus[0]->program
            && strcmp(dpus[i]->program->path, dpus[0]->program->path) != 0) {
            record(dpus[i], DPU_EMU_RULE_DIFFERENT_PROGRAMS,
                "a transfer by symbol name needs one program on every DPU: DPU %u runs `%s`, DPU %u `%s`",
                dpus[0]->index, dpus[0]->program->path, dpus[i]->index, dpus[i]->program->path);
            return DPU_ERR_DIFFERENT_DPU_PROGRAMS;
        }
    }
    return DPU_OK;
}

static dpu_error_t
broadcast(struct dpu_set_t dpu_set, const char *name, uint32_t offset, const void *src, size_t length)
{
    uint32_t n;
    struct dpu_t **dpus = set_dpus(dpu_set, &n);
    if (dpus == NULL)
        return DPU_ERR_INVALID_DPU_SET;
    clear_violations(dpus, n);
    dpu_error_t status = same_program(dpus, n);
    struct symbol *syms = calloc(n, sizeof *syms);
    if (syms == NULL)
        status = DPU_ERR_SYSTEM;
    for (uint32_t i = 0; i < n && status == DPU_OK; i++)
        status = check_transfer(dpus[i], name, offset, length, &syms[i]);
    for (uint32_t i = 0; i < n && status == DPU_OK; i++) {
        if (length > 0)
            memcpy(syms[i].addr + offset, src, length);
        dpus[i]->bytes_to += length;
    }
    free(syms);
    free(dpus);
    return status;
}

EMU_EXPORT dpu_error_t
dpu_copy_to(struct dpu_set_t dpu_set, const char *symbol_name, uint32_t symbol_offset, const void *src, size_t length)
{
    return broadcast(dpu_set, symbol_name, symbol_offset, src, length);
}

EMU_EXPORT dpu_error_t
dpu_broadcast_to(struct dpu_set_t dpu_set,
    const char *symbol_name,
    uint32_t symbol_offset,
    const void *src,
    size_t length,
    dpu_xfer_flags_t flags)
{
    (void)flags;
    return broadcast(dpu_set, symbol_name, symbol_offset, src, length);
}

EMU_EXPORT dpu_error_t
dpu_copy_from(struct dpu_set_t dpu_set, const char *symbol_name, uint32_t symbol_offset, void *dst, size_t length)
{
    uint32_t n;
    struct dpu_t **dpus = set_dpus(dpu_set, &n);
    if (dpus == NULL)
        return DPU_ERR_INVALID_DPU_SET;
    clear_violations(dpus, n);
    if (n != 1) {
        for (uint32_t i = 0; i < n; i++)
            record(dpus[i], DPU_EMU_RULE_INVALID_DPU_SET,
                "dpu_copy_from reads one DPU, but the set has %u DPUs (use DPU_FOREACH, or dpu_push_xfer)", n);
        free(dpus);
        return DPU_ERR_INVALID_DPU_SET;
    }
    struct symbol s;
    dpu_error_t status = check_transfer(dpus[0], symbol_name, symbol_offset, length, &s);
    if (status == DPU_OK) {
        if (length > 0)
            memcpy(dst, s.addr + symbol_offset, length);
        dpus[0]->bytes_from += length;
    }
    free(dpus);
    return status;
}

EMU_EXPORT dpu_error_t
dpu_prepare_xfer(struct dpu_set_t dpu_set, void *buffer)
{
    uint32_t n;
    struct dpu_t **dpus = set_dpus(dpu_set, &n);
    if (dpus == NULL)
        return DPU_ERR_INVALID_DPU_SET;
    clear_violations(dpus, n);
    for (uint32_t i = 0; i < n; i++)
        dpus[i]->prepared = buffer;
    free(dpus);
    return DPU_OK;
}

EMU_EXPORT dpu_error_t
dpu_push_xfer(struct dpu_set_t dpu_set,
    dpu_xfer_t xfer,
    const char *symbol_name,
    uint32_t symbol_offset,
    size_t length,
    dpu_xfer_flags_t flags)
{
    uint32_t n;
    struct dpu_t **dpus = set_dpus(dpu_set, &n);
    if (dpus == NULL)
        return DPU_ERR_INVALID_DPU_SET;
    clear_violations(dpus, n);
    dpu_error_t status = DPU_OK;
    if (xfer != DPU_XFER_TO_DPU && xfer != DPU_XFER_FROM_DPU)
        status = DPU_ERR_INVALID_MEMORY_TRANSFER;
    if (status == DPU_OK)
        status = same_program(dpus, n);
    uint32_t prepared = 0;
    for (uint32_t i = 0; i < n; i++)
        prepared += dpus[i]->prepared != NULL;
    if (status == DPU_OK && prepared != n) {
        for (uint32_t i = 0; i < n; i++)
            if (dpus[i]->prepared == NULL)
                record(dpus[i], DPU_EMU_RULE_UNEQUAL_TRANSFER,
                    "dpu_push_xfer of %zu bytes to `%s`: DPU %u has no prepared buffer (%u of the set's %u DPUs "
                    "have one); every DPU moves the same length, so prepare a buffer for each",
                    length, symbol_name ? symbol_name : "(null)", dpus[i]->index, prepared, n);
        status = DPU_ERR_INVALID_MEMORY_TRANSFER;
    }
    struct symbol *syms = calloc(n, sizeof *syms);
    if (syms == NULL && status == DPU_OK)
        status = DPU_ERR_SYSTEM;
    for (uint32_t i = 0; i < n && status == DPU_OK; i++)
        status = check_transfer(dpus[i], symbol_name, symbol_offset, length, &syms[i]);
    for (uint32_t i = 0; i < n && status == DPU_OK; i++) {
        if (length > 0) {
            if (xfer == DPU_XFER_TO_DPU)
                memcpy(syms[i].addr + symbol_offset, dpus[i]->prepared, length);
            else
                memcpy(dpus[i]->prepared, syms[i].addr + symbol_offset, length);
        }
        if (xfer == DPU_XFER_TO_DPU)
            dpus[i]->bytes_to += length;
        else
            dpus[i]->bytes_from += length;
    }
    if (!(flags & DPU_XFER_NO_RESET))
        for (uint32_t i = 0; i < n; i++)
            dpus[i]->prepared = NULL;
    free(syms);
    free(dpus);
    return status;
}

EMU_EXPORT dpu_error_t
dpu_log_read(struct dpu_set_t set, FILE *stream)
{
    uint32_t n;
    struct dpu_t **dpus = set_dpus(set, &n);
    if (dpus == NULL)
        return DPU_ERR_INVALID_DPU_SET;
    clear_violations(dpus, n);
    dpu_error_t status = DPU_OK;
    for (uint32_t i = 0; i < n && status == DPU_OK; i++) {
        struct dpu_t *d = dpus[i];
        if (d->program == NULL) {
            record(d, DPU_EMU_RULE_NO_PROGRAM, "dpu_log_read: DPU %u has no program loaded", d->index);
            status = DPU_ERR_NO_PROGRAM_LOADED;
        } else if (!d->has_stdio) {
            status = DPU_ERR_LOG_CONTEXT_MISSING;
        } else {
            if (d->log_len > 0 && stream != NULL)
                fwrite(d->log, 1, d->log_len, stream);
            if (d->log_overflow)
                status = DPU_ERR_LOG_BUFFER_TOO_SMALL;
        }
    }
    if (stream != NULL)
        fflush(stream);
    free(dpus);
    return status;
}

EMU_EXPORT const char *
dpu_error_to_string(dpu_error_t status)
{
    switch (status) {
    case DPU_OK: return "success";
    case DPU_ERR_INTERNAL: return "internal error";
    case DPU_ERR_SYSTEM: return "system error (a system call or an allocation failed)";
    case DPU_ERR_DRIVER: return "driver error";
    case DPU_ERR_ALLOCATION: return "the DPUs could not be allocated";
    case DPU_ERR_INVALID_DPU_SET: return "invalid DPU set for this operation";
    case DPU_ERR_INVALID_THREAD_ID: return "invalid thread id";
    case DPU_ERR_INVALID_NOTIFY_ID: return "invalid notify id";
    case DPU_ERR_INVALID_WRAM_ACCESS: return "invalid WRAM access";
    case DPU_ERR_INVALID_IRAM_ACCESS: return "invalid IRAM access";
    case DPU_ERR_INVALID_MRAM_ACCESS: return "invalid MRAM access";
    case DPU_ERR_INVALID_SYMBOL_ACCESS: return "invalid memory symbol access";
    case DPU_ERR_MRAM_BUSY: return "MRAM is busy";
    case DPU_ERR_TRANSFER_ALREADY_SET: return "a transfer buffer is already set";
    case DPU_ERR_NO_PROGRAM_LOADED: return "no program is loaded";
    case DPU_ERR_DIFFERENT_DPU_PROGRAMS: return "the DPUs run different programs";
    case DPU_ERR_CORRUPTED_MEMORY: return "corrupted memory";
    case DPU_ERR_DPU_DISABLED: return "the DPU is disabled";
    case DPU_ERR_DPU_ALREADY_RUNNING: return "the DPU is already running";
    case DPU_ERR_INVALID_MEMORY_TRANSFER: return "invalid memory transfer";
    case DPU_ERR_INVALID_LAUNCH_POLICY: return "invalid launch policy";
    case DPU_ERR_DPU_FAULT: return "the DPU is in fault";
    case DPU_ERR_ELF_INVALID_FILE: return "invalid ELF file";
    case DPU_ERR_ELF_NO_SUCH_FILE: return "no such ELF file";
    case DPU_ERR_ELF_NO_SUCH_SECTION: return "no such ELF section";
    case DPU_ERR_TIMEOUT: return "timeout";
    case DPU_ERR_INVALID_PROFILE: return "invalid profile";
    case DPU_ERR_UNKNOWN_SYMBOL: return "undefined symbol";
    case DPU_ERR_LOG_FORMAT: return "bad log format";
    case DPU_ERR_LOG_CONTEXT_MISSING: return "logging context missing (the program does not use printf)";
    case DPU_ERR_LOG_BUFFER_TOO_SMALL: return "the log buffer was too small for every message";
    case DPU_ERR_VPD_INVALID_FILE: return "invalid VPD file";
    case DPU_ERR_VPD_NO_REPAIR: return "no VPD repair";
    case DPU_ERR_NO_THREAD_PER_RANK: return "no thread per rank";
    case DPU_ERR_INVALID_BUFFER_SIZE: return "invalid buffer size";
    case DPU_ERR_NONBLOCKING_SYNC_CALLBACK: return "non-blocking synchronous callback";
    case DPU_ERR_TOO_MANY_TASKLETS: return "the program uses more tasklets than the DPU has threads";
    case DPU_ERR_SG_TOO_MANY_BLOCKS: return "too many scatter/gather blocks";
    case DPU_ERR_SG_LENGTH_MISMATCH: return "scatter/gather length mismatch";
    case DPU_ERR_SG_NOT_ACTIVATED: return "scatter/gather not activated";
    case DPU_ERR_SG_NOT_MRAM_SYMBOL: return "scatter/gather on a symbol that is not in MRAM";
    case DPU_ERR_ASYNC_JOBS: return "asynchronous job error";
    }
    return "unknown error";
}

/* ---------------------------------------------------------------------------------------- */
/* Extensions                                                                               */

EMU_EXPORT int
dpu_emu_violation(struct dpu_set_t set, uint32_t *rule, char *msg, size_t msg_len)
{
    uint32_t n;
    struct dpu_t **dpus = set_dpus(set, &n);
    int found = 0;
    for (uint32_t i = 0; i < n && !found; i++) {
        struct dpu_t *d = dpus[i];
        pthread_mutex_lock(&d->mu);
        if (d->has_violation) {
            found = 1;
            if (rule != NULL)
                *rule = d->rule;
            if (msg != NULL && msg_len > 0)
                snprintf(msg, msg_len, "%s", d->message);
        }
        pthread_mutex_unlock(&d->mu);
    }
    free(dpus);
    return found;
}

EMU_EXPORT int
dpu_emu_stats(struct dpu_set_t set, struct dpu_emu_stats *stats)
{
    uint32_t n;
    struct dpu_t **dpus = set_dpus(set, &n);
    if (stats == NULL)
        return DPU_ERR_INTERNAL;
    memset(stats, 0, sizeof *stats);
    for (uint32_t i = 0; i < n; i++) {
        stats->bytes_to_dpus += dpus[i]->bytes_to;
        stats->bytes_from_dpus += dpus[i]->bytes_from;
        stats->dma_bytes += atomic_load(&dpus[i]->dma_bytes);
        stats->dpu_launches += dpus[i]->launches;
    }
    int status = dpus == NULL ? DPU_ERR_INVALID_DPU_SET : DPU_OK;
    free(dpus);
    return status;
}
