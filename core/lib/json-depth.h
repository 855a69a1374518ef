/* SPDX-License-Identifier: MIT */
#ifndef GB_JSON_DEPTH_H
#define GB_JSON_DEPTH_H

#include <stdbool.h>
#include <stddef.h>

/**
 * Whether JSON @text nests arrays and objects at most @max_depth deep,
 * counting brackets outside strings. json-glib parses recursively: remote
 * text (a 64 KiB line of "[[[[...") is checked with this before it gets
 * that far. Does not validate anything else.
 */
bool gb_json_depth_within(const char *text, size_t length, int max_depth);

#endif
