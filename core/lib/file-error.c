/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>

#include "file-error.h"

void gb_file_error(char *error, size_t error_size, const char *file, int line, const char *format,
                   ...)
{
	va_list args;
	int n;

	if (!error || error_size == 0)
		return;

	if (line > 0)
		n = snprintf(error, error_size, "%s:%d: ", file, line);
	else
		n = snprintf(error, error_size, "%s: ", file);
	if (n < 0)
		n = 0;
	if ((size_t)n < error_size) {
		va_start(args, format);
		vsnprintf(error + n, error_size - (size_t)n, format, args);
		va_end(args);
	}

	for (char *p = error; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}
