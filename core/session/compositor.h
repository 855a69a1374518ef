/* SPDX-License-Identifier: MIT */
/* The headless libweston compositor, its output and the frame listeners (compositor.c). */
#ifndef GB_COMPOSITOR_H
#define GB_COMPOSITOR_H

#include <time.h>

#include <pixman.h>
#include <wayland-server-core.h>

#include "session.h"

/**
 * Called after every repaint of the output, on the event loop, with the
 * region that was repainted (global coordinates) and the time the frame was
 * rendered (CLOCK_MONOTONIC). Capture plugins hang off this.
 */
struct gb_frame_listener {
	void (*frame)(struct gb_frame_listener *listener, struct weston_output *output,
	              const pixman_region32_t *damage, const struct timespec *time);
	struct wl_list link; /* gb_session.frame_listeners */
};

int gb_compositor_create(struct gb_session *session);
void gb_compositor_destroy(struct gb_session *session);
void gb_session_add_frame_listener(struct gb_session *session, struct gb_frame_listener *listener);

#endif
