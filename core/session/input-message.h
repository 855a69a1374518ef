/* SPDX-License-Identifier: MIT */
/*
 * Remote input: the messages of the WebRTC data channel "input" (see the
 * "Data channel input" table in docs/streaming-protocol.md), parsed and
 * checked, then applied for one viewer on top of core/session/input.c.
 */
#ifndef GB_INPUT_MESSAGE_H
#define GB_INPUT_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "input.h"
#include "session.h"

/* Largest message accepted, in bytes. */
#define GB_INPUT_MESSAGE_MAX 1024
/* Messages read per viewer and second (token bucket, burst of as many). */
#define GB_INPUT_RATE_PER_SECOND 2000
/* Wheel deltas, in pixels, each way. */
#define GB_INPUT_WHEEL_MAX 10000
/*
 * Wheel pixels to wl_pointer axis units: Chromium reports one wheel notch as
 * 120 pixels, and Weston's own libinput backend sends 10 axis units for a
 * notch, so 120 pixels become 10 units. 10000 pixels are 833 units, within
 * what gb_input_axis() takes.
 */
#define GB_INPUT_WHEEL_UNITS_PER_PIXEL (10.0 / 120.0)
/* Sanity bounds checked while parsing; the real limits come at apply time. */
#define GB_INPUT_COORDINATE_MAX 65536.0 /* x < this; apply: x < output width */
#define GB_INPUT_RESIZE_MAX     16384   /* 1..this; apply: clamp to 64..max_* */

enum gb_input_message_type {
	GB_INPUT_MESSAGE_KEY,
	GB_INPUT_MESSAGE_MOVE,
	GB_INPUT_MESSAGE_BUTTON,
	GB_INPUT_MESSAGE_WHEEL,
	GB_INPUT_MESSAGE_RELEASE_ALL,
	GB_INPUT_MESSAGE_RESIZE,
};

struct gb_input_message {
	enum gb_input_message_type type;
	union {
		struct {
			uint32_t evdev_code; /* KEY_*, from the KeyboardEvent.code */
			bool down;
		} key;
		struct {
			double x, y; /* 0 <= x, y < GB_INPUT_COORDINATE_MAX */
		} move;
		struct {
			uint32_t dom_button; /* MouseEvent.button, 0..4 */
			uint32_t evdev_code; /* BTN_LEFT, BTN_MIDDLE, BTN_RIGHT, BTN_SIDE,
			                        BTN_EXTRA */
			bool down;
		} button;
		struct {
			double dx, dy; /* pixels, -GB_INPUT_WHEEL_MAX..GB_INPUT_WHEEL_MAX */
		} wheel;
		struct {
			int width, height; /* 1..GB_INPUT_RESIZE_MAX, not yet clamped */
		} resize;
	};
};

/**
 * Parse and check one data channel message: @size bytes at @data (no NUL
 * terminator needed; embedded NULs are refused). Exactly one JSON object
 * with a string "type" and exactly that type's members; no nesting, no
 * duplicate or unknown members. Returns 0 and fills @out, or:
 *   -EMSGSIZE  over GB_INPUT_MESSAGE_MAX bytes
 *   -EBADMSG   not JSON (syntax, invalid UTF-8, trailing bytes)
 *   -EINVAL    JSON of the wrong shape (not an object, unknown type or
 *              member, missing or duplicate member, wrong member type)
 *   -ERANGE    a number out of range, too long, or not finite
 *   -ENOENT    a key code with no evdev key
 */
int gb_input_message_parse(const char *data, size_t size, struct gb_input_message *out);

/** A short reason for a negative errno from the functions here. */
const char *gb_input_message_strerror(int error);

struct gb_input_viewer;

/** Input state of one viewer; NULL with errno set on failure. */
struct gb_input_viewer *gb_input_viewer_create(struct gb_session *session);

/** Releases every key and button this viewer still holds; NULL is fine. */
void gb_input_viewer_destroy(struct gb_input_viewer *viewer);

/**
 * Apply one data channel message for @viewer: 0 when applied (a repeated
 * press or a release of something not held counts as applied), or a
 * negative errno when dropped (as gb_input_message_parse(), plus -EBUSY
 * over the rate limit and -ERANGE for a position outside the output);
 * every drop adds one to session->input_dropped.
 */
int gb_input_viewer_handle(struct gb_input_viewer *viewer, const char *data, size_t size);

/** Release every key and button this viewer holds (held by another viewer: kept). */
void gb_input_viewer_release_all(struct gb_input_viewer *viewer);

/* resize.c */

/**
 * Ask for a new output size: clamped to 64..session.max_width/max_height,
 * rounded down to even. The change happens shortly after, on the event
 * loop; requests that come faster than the output can follow are
 * coalesced into the latest, and a request for the current size does
 * nothing. Returns 0, or -EINVAL for a size <= 0, -ENODEV without an
 * output, -ENOMEM.
 */
int gb_output_resize(struct gb_session *session, int width, int height);

#endif
