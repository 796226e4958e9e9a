#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

/* Spiral C runtime. Every heap object starts with a reference count; a count reaching zero
   releases the object's fields and frees it. Strings are immutable, NUL-terminated byte arrays
   whose `len` excludes the NUL. */
typedef struct SpiString { int32_t refc; uint32_t len; char ptr[]; } SpiString;

/* Runtime and generated helpers: a program uses only some of them. */
#if defined(__GNUC__)
#define SPI_FN static inline __attribute__((unused))
#else
#define SPI_FN static inline
#endif
/* Objects are released through a function the C compiler does not inline, so its use-after-free
   analysis (which cannot see reference counts) does not report the refcounting pattern. */
#if defined(__GNUC__)
#define SPI_OUTLINE __attribute__((noinline, unused))
#else
#define SPI_OUTLINE
#endif
static SPI_OUTLINE void spi_free(void * p){
    free(p);
}
/* The runtime is also valid C++ (a macro may name a C++ type, e.g. a template). */
#if defined(__cplusplus)
#define SPI_NORETURN [[noreturn]]
#else
#define SPI_NORETURN _Noreturn
#endif
/* A runtime error ends the program at once with status 1: `_Exit` (after flushing) runs no
   exit handlers, so a leak checker does not report the objects still live at that point. */
SPI_NORETURN SPI_FN void spi_exit_failure(void){
    fflush(stdout);
    fflush(stderr);
    _Exit(1);
}
SPI_NORETURN SPI_FN void spi_panic(const char * msg){
    fflush(stdout);
    fprintf(stderr, "spiral: %s\n", msg);
    spi_exit_failure();
}
/* Integer division and remainder: a divisor of 0 stops the program; otherwise they wrap
   (prims.h). */
#define SPI_DIV_CHECKED(T, N) \
    SPI_FN T spi_div_##N(T a, T b){ if (b == 0) { spi_panic("integer division by zero"); } return spi_divw_##N(a, b); } \
    SPI_FN T spi_rem_##N(T a, T b){ if (b == 0) { spi_panic("integer division by zero"); } return spi_remw_##N(a, b); }
SPI_DIV_CHECKED(int8_t, i8)
SPI_DIV_CHECKED(int16_t, i16)
SPI_DIV_CHECKED(int32_t, i32)
SPI_DIV_CHECKED(int64_t, i64)
SPI_DIV_CHECKED(uint8_t, u8)
SPI_DIV_CHECKED(uint16_t, u16)
SPI_DIV_CHECKED(uint32_t, u32)
SPI_DIV_CHECKED(uint64_t, u64)
SPI_FN void * spi_alloc(size_t size){
    void * p = calloc(1, size);
    if (p == NULL) { spi_panic("out of memory"); }
    return p;
}
/* Releasing an object whose count reached zero goes through one worklist, so that freeing a
   long chain (a list of a million cells) takes constant C stack: a release function that drops
   a child's last reference queues the child instead of recursing into it. */
typedef void (*SpiRelease)(void *);
typedef struct SpiPending { void * obj; SpiRelease release; } SpiPending;
static SpiPending * spi_pending = NULL;
static size_t spi_pending_len = 0, spi_pending_cap = 0;
static bool spi_releasing = false;
static SPI_OUTLINE void spi_release_later(void * obj, SpiRelease release){
    if (spi_pending_len == spi_pending_cap) {
        size_t cap = spi_pending_cap == 0 ? 64 : spi_pending_cap * 2;
        SpiPending * p = (SpiPending *)realloc(spi_pending, cap * sizeof(SpiPending));
        if (p == NULL) { spi_panic("out of memory"); }
        spi_pending = p;
        spi_pending_cap = cap;
    }
    spi_pending[spi_pending_len].obj = obj;
    spi_pending[spi_pending_len].release = release;
    spi_pending_len++;
    if (spi_releasing) { return; }
    spi_releasing = true;
    while (spi_pending_len > 0) {
        spi_pending_len--;
        SpiPending next = spi_pending[spi_pending_len];
        next.release(next.obj);
    }
    spi_releasing = false;
}
/* Deep recursion at run time ends with a message rather than a bare SIGSEGV: the handler runs
   on its own stack (not under AddressSanitizer, which reports stack overflows itself). */
#if defined(__unix__) && !defined(__SANITIZE_ADDRESS__) && !defined(SPI_NO_STACK_GUARD) && !defined(__cplusplus)
#include <signal.h>
#include <unistd.h>
static void spi_on_segv(int sig){
    static const char msg[] = "spiral: the program crashed (segmentation fault), most likely a stack overflow from deep recursion\n";
    ssize_t ignored = write(2, msg, sizeof msg - 1);
    (void)ignored;
    signal(sig, SIG_DFL);
    raise(sig);
}
SPI_FN void spi_install_stack_guard(void){
    static char stack[1 << 16];
    stack_t ss;
    ss.ss_sp = stack;
    ss.ss_size = sizeof stack;
    ss.ss_flags = 0;
    if (sigaltstack(&ss, NULL) != 0) { return; }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = spi_on_segv;
    sa.sa_flags = SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);
}
#else
SPI_FN void spi_install_stack_guard(void){}
#endif
SPI_FN void spi_bounds(int64_t i, uint32_t len){
    if (i < 0 || i >= (int64_t)len) { spi_panic("array index out of bounds"); }
}
SPI_FN uint32_t spi_length(int64_t len){
    if (len < 0 || len > (int64_t)UINT32_MAX) { spi_panic("invalid array length"); }
    return (uint32_t)len;
}
SPI_FN SpiString * spi_string_new(uint32_t len){
    SpiString * s = (SpiString *)spi_alloc(sizeof(SpiString) + (size_t)len + 1);
    s->refc = 1;
    s->len = len;
    return s;
}
SPI_FN SpiString * spi_string_lit(uint32_t len, const char * text){
    SpiString * s = spi_string_new(len);
    memcpy(s->ptr, text, len);
    return s;
}
SPI_FN void SpiString_incref(SpiString * s){
    if (s != NULL) { s->refc++; }
}
SPI_FN void SpiString_decref(SpiString * s){
    if (s != NULL && --(s->refc) == 0) { spi_free(s); }
}
SPI_FN const char * spi_cstr(SpiString * s){
    return s != NULL ? s->ptr : "";
}
SPI_FN uint32_t spi_string_len(SpiString * s){
    return s != NULL ? s->len : 0;
}
SPI_FN int spi_string_cmp(SpiString * a, SpiString * b){
    uint32_t la = spi_string_len(a), lb = spi_string_len(b);
    int c = memcmp(spi_cstr(a), spi_cstr(b), la < lb ? la : lb);
    if (c != 0) { return c; }
    return la < lb ? -1 : (la > lb ? 1 : 0);
}
/* Strings are at most INT32_MAX bytes long (`string_length` is an i32). */
SPI_FN SpiString * spi_string_concat(SpiString * a, SpiString * b){
    uint32_t la = spi_string_len(a), lb = spi_string_len(b);
    if ((uint64_t)la + (uint64_t)lb > (uint64_t)INT32_MAX) { spi_panic("string too long: a concatenation would exceed 2147483647 bytes"); }
    SpiString * s = spi_string_new(la + lb);
    memcpy(s->ptr, spi_cstr(a), la);
    memcpy(s->ptr + la, spi_cstr(b), lb);
    return s;
}
SPI_FN SpiString * spi_string_slice(SpiString * a, int64_t from, int64_t near_to){
    int64_t len = spi_string_len(a);
    if (from < 0 || near_to > len || near_to < from) { spi_panic("string_slice: the range is out of bounds of the string"); }
    SpiString * s = spi_string_new((uint32_t)(near_to - from));
    memcpy(s->ptr, spi_cstr(a) + from, (size_t)(near_to - from));
    return s;
}
SPI_FN uint32_t spi_string_index(SpiString * a, int64_t i){
    spi_bounds(i, spi_string_len(a));
    return (uint32_t)(unsigned char)a->ptr[i];
}
/* Two lengths that must be equal are not (`LengthCheck`). */
SPI_NORETURN SPI_FN void spi_length_mismatch(const char * what, int64_t expected, int64_t found){
    fflush(stdout);
    fprintf(stderr, "spiral: %s: expected %lld elements, found %lld\n", what, (long long)expected, (long long)found);
    spi_exit_failure();
}
/* A CPU kernel returned a non-zero status (see the kernel dialect in codegen/c). */
SPI_NORETURN SPI_FN void spi_kernel_failed(int32_t status){
    switch (status) {
        case 1: spi_panic("a kernel read or wrote an array out of bounds");
        case 2: spi_panic("failwith was called inside a kernel");
        case 3: spi_panic("integer division by zero");
        default: spi_panic("a kernel failed");
    }
}
SPI_NORETURN SPI_FN void spi_failwith(SpiString * msg){
    fflush(stdout);
    fprintf(stderr, "%s\n", spi_cstr(msg));
    spi_exit_failure();
}

/* Printing helpers with the formats of `dump`: floats as shortest round-trip decimals with a
   decimal point or exponent, strings and chars quoted and escaped. */
SPI_FN void spi_print_float_digits(double x, int max_prec, bool single){
    if (isnan(x)) { fputs("NaN", stdout); return; }
    if (isinf(x)) { fputs(x > 0 ? "inf" : "-inf", stdout); return; }
    if (x == 0) { fputs(signbit(x) ? "-0.0" : "0.0", stdout); return; }
    char buf[64];
    int prec = 0;
    for (prec = 0; prec < max_prec; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec, x);
        if (single ? (strtof(buf, NULL) == (float)x) : (strtod(buf, NULL) == x)) { break; }
    }
    snprintf(buf, sizeof buf, "%.*e", prec, x);
    /* buf: [-]d[.ddd]e[+-]xx */
    char digits[32]; int nd = 0; const char * p = buf; bool neg = false;
    if (*p == '-') { neg = true; p++; }
    while (*p && *p != 'e') { if (*p != '.') { digits[nd++] = *p; } p++; }
    while (nd > 1 && digits[nd - 1] == '0') { nd--; }
    int exp10 = atoi(p + 1);
    if (neg) { putchar('-'); }
    if (exp10 < -4 || exp10 >= 16) {
        putchar(digits[0]);
        if (nd > 1) { putchar('.'); fwrite(digits + 1, 1, (size_t)(nd - 1), stdout); }
        printf("e%d", exp10);
    } else if (exp10 < 0) {
        fputs("0.", stdout);
        for (int i = 0; i < -exp10 - 1; i++) { putchar('0'); }
        fwrite(digits, 1, (size_t)nd, stdout);
    } else {
        for (int i = 0; i <= exp10; i++) { putchar(i < nd ? digits[i] : '0'); }
        putchar('.');
        if (nd > exp10 + 1) { fwrite(digits + exp10 + 1, 1, (size_t)(nd - exp10 - 1), stdout); } else { putchar('0'); }
    }
}
SPI_FN void spi_print_f64(double x){ spi_print_float_digits(x, 17, false); }
SPI_FN void spi_print_f32(float x){ spi_print_float_digits((double)x, 9, true); }
SPI_FN void spi_print_char(uint32_t c){
    if (c < 0x80) { putchar((int)c); }
    else if (c < 0x800) { putchar((int)(0xC0 | (c >> 6))); putchar((int)(0x80 | (c & 0x3F))); }
    else if (c < 0x10000) { putchar((int)(0xE0 | (c >> 12))); putchar((int)(0x80 | ((c >> 6) & 0x3F))); putchar((int)(0x80 | (c & 0x3F))); }
    else { putchar((int)(0xF0 | (c >> 18))); putchar((int)(0x80 | ((c >> 12) & 0x3F))); putchar((int)(0x80 | ((c >> 6) & 0x3F))); putchar((int)(0x80 | (c & 0x3F))); }
}
SPI_FN bool spi_print_escape(uint32_t c, uint32_t quote){
    switch (c) {
        case '\\': fputs("\\\\", stdout); return true;
        case '\n': fputs("\\n", stdout); return true;
        case '\r': fputs("\\r", stdout); return true;
        case '\t': fputs("\\t", stdout); return true;
        default: if (c == quote) { putchar('\\'); putchar((int)c); return true; } return false;
    }
}
SPI_FN void spi_print_char_quoted(uint32_t c){
    putchar('\'');
    if (!spi_print_escape(c, '\'')) { spi_print_char(c); }
    putchar('\'');
}
SPI_FN void spi_print_string(SpiString * s){
    fwrite(spi_cstr(s), 1, spi_string_len(s), stdout);
}
SPI_FN void spi_print_string_quoted(SpiString * s){
    putchar('"');
    for (uint32_t i = 0; i < spi_string_len(s); i++) {
        unsigned char c = (unsigned char)s->ptr[i];
        if (!spi_print_escape(c, '"')) { putchar(c); }
    }
    putchar('"');
}
