/* SPDX-License-Identifier: MIT */
/* Input into the seat (input.c): every call checks its arguments and returns 0 or -errno. */
#ifndef GB_INPUT_H
#define GB_INPUT_H

#include <stdbool.h>
#include <stdint.h>

#include "session.h"

enum gb_axis {
	GB_AXIS_VERTICAL = 0,
	GB_AXIS_HORIZONTAL = 1,
};
int gb_input_key(struct gb_session *session, uint32_t evdev_code, bool pressed);
int gb_input_pointer_motion(struct gb_session *session, double x, double y);
int gb_input_button(struct gb_session *session, uint32_t button_code, bool pressed);
int gb_input_axis(struct gb_session *session, enum gb_axis axis, double value);
/** Release every key and button still held. */
void gb_input_release_all(struct gb_session *session);

#endif
