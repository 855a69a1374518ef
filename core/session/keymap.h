/* SPDX-License-Identifier: MIT */
/*
 * KeyboardEvent.code (UI Events KeyboardEvent code values, PC keyboard) to
 * Linux evdev key codes. Pure data: no libweston, no allocation.
 */
#ifndef GB_KEYMAP_H
#define GB_KEYMAP_H

#include <stddef.h>
#include <stdint.h>

struct gb_keymap_entry {
	const char *code; /* KeyboardEvent.code, e.g. "KeyA" */
	uint16_t evdev;   /* linux/input-event-codes.h KEY_*, e.g. KEY_A (30) */
};

/**
 * The evdev key code for a KeyboardEvent.code value, or -ENOENT when the
 * code is unknown or has no evdev key. Position-based, so the user's own
 * layout in the session decides which character a key gives.
 */
int gb_keymap_code_to_evdev(const char *code);

/** The whole table, sorted by code (strcmp), for tests. */
const struct gb_keymap_entry *gb_keymap_entries(size_t *count);

#endif
