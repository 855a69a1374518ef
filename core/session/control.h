/* SPDX-License-Identifier: MIT */
/* The control socket (control.c). */
#ifndef GB_CONTROL_H
#define GB_CONTROL_H

#include "session.h"

int gb_control_create(struct gb_session *session, const char *path);
void gb_control_destroy(struct gb_control *control);

#endif
