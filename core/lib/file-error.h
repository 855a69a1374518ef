/* SPDX-License-Identifier: MIT */
#ifndef GB_FILE_ERROR_H
#define GB_FILE_ERROR_H

#include <stddef.h>

/**
 * Write "FILE:LINE: message" (or "FILE: message" when @line is 0) into
 * @error, @error_size bytes. Names and values quoted in messages come from the
 * file and may hold control characters; they are replaced with '?' so that
 * the error stays on one line. @error may be NULL.
 */
void gb_file_error(char *error, size_t error_size, const char *file, int line, const char *format,
                   ...) __attribute__((format(printf, 5, 6)));

#endif
