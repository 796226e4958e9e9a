/* Spiral UPMEM emulator: printf/puts/putchar write to the DPU's log (a 1 MiB buffer per DPU,
 * emptied at each launch, printed by dpu_log_read). The C library's stdio.h is included too. */
#ifndef SPI_DPU_STDIO_H
#define SPI_DPU_STDIO_H
/* The C library's stdio.h (a GNU extension: keep -Wpedantic quiet about it). */
#pragma GCC system_header
#include_next <stdio.h>
#include "spi_emu_abi.h"

/* Tells dpu_log_read that the program has a log. */
__attribute__((weak, used, section("dpu_emu"))) uint32_t __spi_emu_stdio = 1;

__attribute__((format(printf, 1, 2), unused)) static int
__spi_emu_printf(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    int n = __spi_emu_hooks.vprintf(__spi_emu_hooks.dpu, format, args);
    va_end(args);
    return n;
}

__attribute__((unused)) static int
__spi_emu_puts(const char *s)
{
    return __spi_emu_printf("%s\n", s);
}

__attribute__((unused)) static int
__spi_emu_putchar(int c)
{
    __spi_emu_printf("%c", c);
    return (unsigned char)c;
}

#undef printf
#undef puts
#undef putchar
#define printf __spi_emu_printf
#define puts __spi_emu_puts
#define putchar __spi_emu_putchar
#endif
