/* SPDX-License-Identifier: MIT */
/* Text someone else chose (a user name, a session's answer), shown in one log line. */
#ifndef GB_PRINTABLE_H
#define GB_PRINTABLE_H

#include <glib.h>

#include "text.h"

/* Text a user chose, in one log line: 64 bytes, or 64 and "..." (gb_printable). */
#define GB_PRINTABLE_SIZE 68

/** gb_printable() of @text in a g_malloc'd string, for the log. */
static inline char *gb_printable_dup(const char *text)
{
	char out[GB_PRINTABLE_SIZE];

	gb_printable(out, sizeof(out), text);
	return g_strdup(out);
}

#endif
