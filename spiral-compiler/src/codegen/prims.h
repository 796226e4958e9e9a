/* Spiral's primitive operations in C: the helpers behind codegen/c_family.rs. Shared by the host
   C backend and the C kernels; also valid C++ and CUDA C++. */
#ifndef SPI_PRIMS_H
#define SPI_PRIMS_H
#if !defined(__CUDACC_RTC__) /* NVRTC has no standard headers; the CUDA header defines the types */
#include <stdbool.h>
#include <stdint.h>
#if !defined(SPI_NO_MATH_H) /* the UPMEM DPU toolchain has no math.h */
#include <math.h>
#endif
#endif
#ifndef SPI_FN
#if defined(__GNUC__)
#define SPI_FN static inline __attribute__((unused))
#else
#define SPI_FN static inline
#endif
#endif
/* Integer division and remainder for a non-zero divisor, wrapping like Rust's wrapping_div and
   wrapping_rem: MIN / -1 = MIN and MIN % -1 = 0 (plain C is undefined there). */
#define SPI_DIVW_SIGNED(T, U, N) \
    SPI_FN T spi_divw_##N(T a, T b){ return b == -1 ? (T)(0u - (U)a) : (T)(a / b); } \
    SPI_FN T spi_remw_##N(T a, T b){ return b == -1 ? (T)0 : (T)(a % b); }
#define SPI_DIVW_UNSIGNED(T, N) \
    SPI_FN T spi_divw_##N(T a, T b){ return (T)(a / b); } \
    SPI_FN T spi_remw_##N(T a, T b){ return (T)(a % b); }
SPI_DIVW_SIGNED(int8_t, uint32_t, i8)
SPI_DIVW_SIGNED(int16_t, uint32_t, i16)
SPI_DIVW_SIGNED(int32_t, uint32_t, i32)
SPI_DIVW_SIGNED(int64_t, uint64_t, i64)
SPI_DIVW_UNSIGNED(uint8_t, u8)
SPI_DIVW_UNSIGNED(uint16_t, u16)
SPI_DIVW_UNSIGNED(uint32_t, u32)
SPI_DIVW_UNSIGNED(uint64_t, u64)
/* Float to integer, saturating, NaN to 0 (Rust's `as`; plain C is undefined out of range). The
   bounds are exact powers of two, so the comparisons are exact in double. */
#define SPI_F2I(T, N, LO, HI, MINV, MAXV) \
    SPI_FN T spi_f2i_##N(double x){ \
        if (x != x) { return (T)0; } \
        if (x <= (LO)) { return (MINV); } \
        if (x >= (HI)) { return (MAXV); } \
        return (T)x; \
    }
SPI_F2I(int8_t, i8, -128.0, 128.0, INT8_MIN, INT8_MAX)
SPI_F2I(int16_t, i16, -32768.0, 32768.0, INT16_MIN, INT16_MAX)
SPI_F2I(int32_t, i32, -2147483648.0, 2147483648.0, INT32_MIN, INT32_MAX)
SPI_F2I(int64_t, i64, -9223372036854775808.0, 9223372036854775808.0, INT64_MIN, INT64_MAX)
SPI_F2I(uint8_t, u8, 0.0, 256.0, 0, UINT8_MAX)
SPI_F2I(uint16_t, u16, 0.0, 65536.0, 0, UINT16_MAX)
SPI_F2I(uint32_t, u32, 0.0, 4294967296.0, 0u, UINT32_MAX)
SPI_F2I(uint64_t, u64, 0.0, 18446744073709551616.0, 0u, UINT64_MAX)
#endif
