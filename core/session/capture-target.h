/* SPDX-License-Identifier: MIT */
/* What capture plugins hang off (capture-target.c). */
#ifndef GB_CAPTURE_TARGET_H
#define GB_CAPTURE_TARGET_H

#include <glassbox/capture.h>

#include "session.h"

struct gb_capture_host;

/** The struct gb_capture_target handed to capture plugins; NULL on ENOMEM. */
struct gb_capture_host *gb_capture_host_create(struct gb_session *session);
/** Removes every frame listener a plugin left behind. NULL is fine. */
void gb_capture_host_destroy(struct gb_capture_host *host);
const struct gb_capture_target *gb_capture_host_target(struct gb_capture_host *host);

#endif
