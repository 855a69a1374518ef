/* SPDX-License-Identifier: MIT */
/*
 * Input injection: what the browser sends ends up here, so every value is
 * checked before it reaches libweston. Key and button state is tracked, so
 * that a viewer that goes away mid-press does not leave anything held.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/input-event-codes.h>
#include <math.h>

#include <libweston/libweston.h>

#include "input.h"
#include "log.h"
#include "session.h"
#include "weston-private.h"

/* Largest wheel step we pass on, in wl_pointer axis units (15 per notch). */
#define GB_AXIS_MAX 1500.0

static bool state_get(const struct gb_session *session, uint32_t code)
{
	return session->key_state[code / 8] & (1u << (code % 8));
}

static void state_set(struct gb_session *session, uint32_t code, bool pressed)
{
	if (pressed)
		session->key_state[code / 8] |= (uint8_t)(1u << (code % 8));
	else
		session->key_state[code / 8] &= (uint8_t) ~(1u << (code % 8));
}

static bool is_button(uint32_t code)
{
	return code >= BTN_MOUSE && code <= BTN_TASK;
}

int gb_input_key(struct gb_session *session, uint32_t evdev_code, bool pressed)
{
	struct timespec now;

	/* Keyboard keys only: 1..KEY_MAX, never the BTN_ range. */
	if (evdev_code == 0 || evdev_code > KEY_MAX ||
	    (evdev_code >= BTN_MISC && evdev_code < KEY_OK))
		return -EINVAL;
	if (state_get(session, evdev_code) == pressed)
		return 0; /* a repeat, or a release of a key that is not held */
	state_set(session, evdev_code, pressed);
	weston_compositor_get_time(&now);
	notify_key(session->seat, &now, evdev_code,
	           pressed ? WL_KEYBOARD_KEY_STATE_PRESSED : WL_KEYBOARD_KEY_STATE_RELEASED,
	           STATE_UPDATE_AUTOMATIC);
	return 0;
}

int gb_input_pointer_motion(struct gb_session *session, double x, double y)
{
	struct weston_output *output = session->output;
	struct timespec now;

	if (!isfinite(x) || !isfinite(y) || x < 0 || y < 0 || x >= output->width ||
	    y >= output->height)
		return -ERANGE;
	weston_compositor_get_time(&now);
	notify_motion_absolute(session->seat, &now, output->x + x, output->y + y);
	notify_pointer_frame(session->seat);
	return 0;
}

int gb_input_button(struct gb_session *session, uint32_t button_code, bool pressed)
{
	struct timespec now;

	if (!is_button(button_code))
		return -EINVAL;
	if (state_get(session, button_code) == pressed)
		return 0;
	state_set(session, button_code, pressed);
	weston_compositor_get_time(&now);
	notify_button(session->seat, &now, (int32_t)button_code,
	              pressed ? WL_POINTER_BUTTON_STATE_PRESSED
	                      : WL_POINTER_BUTTON_STATE_RELEASED);
	notify_pointer_frame(session->seat);
	return 0;
}

int gb_input_axis(struct gb_session *session, enum gb_axis axis, double value)
{
	struct weston_pointer_axis_event event = { 0 };
	struct timespec now;

	if (axis != GB_AXIS_VERTICAL && axis != GB_AXIS_HORIZONTAL)
		return -EINVAL;
	if (!isfinite(value) || fabs(value) > GB_AXIS_MAX)
		return -ERANGE;
	if (value == 0)
		return 0;
	event.axis = axis == GB_AXIS_VERTICAL ? WL_POINTER_AXIS_VERTICAL_SCROLL
	                                      : WL_POINTER_AXIS_HORIZONTAL_SCROLL;
	event.value = value;
	weston_compositor_get_time(&now);
	notify_axis_source(session->seat, WL_POINTER_AXIS_SOURCE_WHEEL);
	notify_axis(session->seat, &now, &event);
	notify_pointer_frame(session->seat);
	return 0;
}

void gb_input_release_all(struct gb_session *session)
{
	for (uint32_t code = 1; code <= KEY_MAX; code++) {
		if (!state_get(session, code))
			continue;
		if (is_button(code))
			gb_input_button(session, code, false);
		else
			gb_input_key(session, code, false);
	}
}
