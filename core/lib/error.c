/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "error.h"

void gb_error_setv(char *error, size_t error_size, const char *format, va_list args)
{
	if (!error || error_size == 0)
		return;
	vsnprintf(error, error_size, format, args);
	/* One line: text quoted from a file or a peer may hold anything. */
	for (char *p = error; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

void gb_error_set(char *error, size_t error_size, const char *format, ...)
{
	va_list args;

	va_start(args, format);
	gb_error_setv(error, error_size, format, args);
	va_end(args);
}
