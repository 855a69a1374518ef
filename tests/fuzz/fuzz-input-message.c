/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the data channel input messages: every input goes through
 * gb_input_message_parse(), and then through a fresh viewer (stubbed
 * session), so the apply and release paths run on whatever parses.
 *
 * Built as a libFuzzer binary (fuzz-input-message) when the compiler is
 * clang, and always linked with fuzz-driver.c into fuzz-input-message-replay,
 * which the unit suite runs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/input-event-codes.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "input-message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t pressed[KEY_MAX + 1];

/* Stubs of input.c and resize.c, with their argument checks: a parsed
 * message that one of them would refuse points at a parser bug. */
int gb_input_key(struct gb_session *session, uint32_t evdev_code, bool down)
{
	if (evdev_code == 0 || evdev_code > KEY_MAX ||
	    (evdev_code >= BTN_MISC && evdev_code < KEY_OK))
		abort();
	pressed[evdev_code] = down;
	return 0;
}

int gb_input_button(struct gb_session *session, uint32_t button_code, bool down)
{
	if (button_code < BTN_MOUSE || button_code > BTN_TASK)
		abort();
	pressed[button_code] = down;
	return 0;
}

int gb_input_pointer_motion(struct gb_session *session, double x, double y)
{
	if (!isfinite(x) || !isfinite(y))
		abort();
	return x < 0 || y < 0 || x >= 1280 || y >= 720 ? -ERANGE : 0;
}

int gb_input_axis(struct gb_session *session, enum gb_axis axis, double value)
{
	if (!isfinite(value) || fabs(value) > 1500)
		abort();
	return 0;
}

int gb_output_resize(struct gb_session *session, int width, int height)
{
	if (width < 1 || height < 1 || width > GB_INPUT_RESIZE_MAX || height > GB_INPUT_RESIZE_MAX)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gb_session session;
	struct gb_input_message message;
	struct gb_input_viewer *viewer;
	int r;

	r = gb_input_message_parse((const char *)data, size, &message);
	if (r != 0 && r != -EMSGSIZE && r != -EBADMSG && r != -EINVAL && r != -ERANGE &&
	    r != -ENOENT)
		abort();
	if (r == 0 && size > GB_INPUT_MESSAGE_MAX)
		abort();

	session.seat = (struct weston_seat *)&session;
	viewer = gb_input_viewer_create(&session);
	if (!viewer)
		abort();
	if ((gb_input_viewer_handle(viewer, (const char *)data, size) == 0) != (r == 0) &&
	    !(r == 0 && message.type == GB_INPUT_MESSAGE_MOVE))
		abort(); /* only a position can parse and still be refused */
	gb_input_viewer_destroy(viewer);
	/* the viewer let go of everything it pressed */
	for (size_t i = 0; i < sizeof(pressed); i++)
		if (pressed[i])
			abort();
	return 0;
}
