/* SPDX-License-Identifier: MIT */
/*
 * The one way Glassbox carries error text.
 *
 * A function that can fail and has something to say returns int (0 or
 * -errno) or a pointer (NULL with errno set), and takes `char *error,
 * size_t error_size` as its last two parameters, always under those names.
 * It fills them with one line through gb_error_set(). GError appears only
 * where a GLib API hands one over (converted at that edge), sd_bus_error
 * only in D-Bus method handlers.
 */
#ifndef GB_ERROR_H
#define GB_ERROR_H

#include <stdarg.h>
#include <stddef.h>

/**
 * Format one line into @error (@error_size bytes): control characters
 * become '?'. Does nothing when @error is NULL or @error_size is 0.
 */
void gb_error_set(char *error, size_t error_size, const char *format, ...)
        __attribute__((format(printf, 3, 4)));

/** gb_error_set() with a va_list, for wrappers. */
void gb_error_setv(char *error, size_t error_size, const char *format, va_list args)
        __attribute__((format(printf, 3, 0)));

#endif
