/* SPDX-License-Identifier: MIT */
/*
 * Text helpers shared by libglassbox, the programs and the plugins (libc
 * only: plugins link them from the small glassbox-helpers library).
 */
#ifndef GB_TEXT_H
#define GB_TEXT_H

#include <stddef.h>

/**
 * Copy @text into @out (@out_size bytes) for a log line: every byte that is
 * not printable ASCII (0x20..0x7e) becomes '?', and text that does not fit
 * is cut and ends in "...". NULL gives "". Nothing is written when
 * @out_size is 0.
 */
void gb_printable(char *out, size_t out_size, const char *text);

/** Enough for any text of gb_exit_status_text(). */
#define GB_EXIT_STATUS_TEXT_MAX 64

/**
 * What a wait() status says, to follow "the session ...": "exited with
 * status 3", "was killed by signal 9 (Killed)", or "ended".
 */
void gb_exit_status_text(int status, char out[GB_EXIT_STATUS_TEXT_MAX]);

#endif
