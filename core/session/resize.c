/* SPDX-License-Identifier: MIT */
/*
 * Changing the headless output's size while the session runs.
 *
 * libweston 10 has one way to change an enabled output's size that keeps
 * everything else consistent: weston_output_mode_set_native(). It switches
 * the mode through output->switch_mode, recomputes the output's region and
 * matrix, sends wl_output mode events to clients (Xwayland included),
 * reflows the outputs and emits the compositor's output_resized_signal,
 * on which our shell re-sizes the background and sends the maximized
 * application a configure of the new size.
 *
 * The headless backend sets switch_mode to NULL (its set_size() can only
 * run once, before enable), so we lend it one for the duration of the call:
 * the new size is written into the output's only mode (the one in its mode
 * list, so wl_output clients see one consistent mode), then the backend's
 * own disable() and enable() drop and rebuild its renderer buffers (pixman
 * image or GL pbuffer) from current_mode. Disabling and re-enabling the
 * whole weston_output instead would unmap every view and lose the shell's
 * placement; this keeps views, focus and the application untouched.
 *
 * The backend's disable() also removes its frame-finish timer, which must
 * not happen while a frame is in flight (REPAINT_AWAITING_COMPLETION: the
 * repaint loop would wait forever for a finish_frame that never comes), so
 * the switch waits for the output to leave that state. Requests are applied
 * from a timer: at most one change every GB_RESIZE_INTERVAL_MS, the latest
 * request wins, and a request for the current size does nothing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include <libweston/libweston.h>
#include <libweston/version.h>

#include "input-message.h"
#include "log.h"

#if WESTON_VERSION_MAJOR != 10
#error "resize.c relies on libweston 10's headless backend; re-check it against the new sources"
#endif

/*
 * Exported by libweston-10.so but declared only in its private backend.h,
 * which Debian does not install; these match libweston 10.0's declarations.
 * (They belong with the others in weston-private.h.)
 */
int weston_output_mode_set_native(struct weston_output *output, struct weston_mode *mode,
                                  int32_t scale);
void weston_output_damage(struct weston_output *output);

#define GB_RESIZE_MIN         64
#define GB_RESIZE_INTERVAL_MS 100 /* at most ten output size changes a second */
#define GB_RESIZE_RETRY_MS    2   /* while a frame is in flight (16 ms at most) */
#define GB_RESIZE_RETRIES_MAX 500 /* a second of frames in flight: give up */

struct gb_resize {
	struct gb_session *session;
	struct wl_listener compositor_destroy;
	struct wl_event_source *timer;
	bool pending;
	int width, height; /* the latest request, clamped */
	bool applied_once;
	struct timespec applied; /* CLOCK_MONOTONIC of the last change */
	int retries;
};

static void resize_compositor_destroyed(struct wl_listener *listener, void *data)
{
	struct gb_resize *resize = wl_container_of(listener, resize, compositor_destroy);

	wl_list_remove(&resize->compositor_destroy.link);
	if (resize->timer)
		wl_event_source_remove(resize->timer);
	free(resize);
}

/*
 * output->switch_mode for the headless backend, lent only for the length of
 * weston_output_mode_set_native(). @mode is output->current_mode, already
 * holding the new size; the backend's enable() sizes its buffers from it.
 */
static int headless_switch_mode(struct weston_output *output, struct weston_mode *mode)
{
	if (mode != output->current_mode)
		return -1;
	output->disable(output);
	return output->enable(output) < 0 ? -1 : 0;
}

static double ms_since(const struct timespec *then)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - then->tv_sec) * 1e3 +
	       (double)(now.tv_nsec - then->tv_nsec) / 1e6;
}

static int apply(struct gb_resize *resize)
{
	struct gb_session *session = resize->session;
	struct weston_output *output = session->output;
	struct weston_mode *mode = output->current_mode;
	int old_width = mode->width, old_height = mode->height;
	int ret;

	/* A temporary mode (only fullscreen-shell sets one) would make
	 * weston_output_mode_set_native() skip the switch. */
	if (output->original_mode)
		return -EBUSY;
	mode->width = resize->width;
	mode->height = resize->height;
	output->switch_mode = headless_switch_mode;
	ret = weston_output_mode_set_native(output, mode, output->current_scale);
	output->switch_mode = NULL;
	if (ret < 0) {
		/* enable() failed (out of memory for the new buffers) and left
		 * the backend disabled: bring it back at the old size. */
		mode->width = old_width;
		mode->height = old_height;
		if (output->enable(output) < 0) {
			gb_error("output resize to %dx%d failed and the %dx%d output cannot be "
			         "restored; ending the session",
			         resize->width, resize->height, old_width, old_height);
			session->failed = true;
			wl_display_terminate(session->display);
			return -ENOMEM;
		}
		gb_warning("cannot resize the output to %dx%d (out of memory?); it stays %dx%d",
		           resize->width, resize->height, old_width, old_height);
		weston_output_damage(output);
		return -ENOMEM;
	}
	/* The new buffers hold nothing yet: paint all of them. */
	weston_output_damage(output);
	gb_info("output resized from %dx%d to %dx%d", old_width, old_height, output->width,
	        output->height);
	return 0;
}

static int resize_timer(void *data)
{
	struct gb_resize *resize = data;
	struct weston_output *output = resize->session->output;

	if (!resize->pending || !output)
		return 0;
	if (output->repaint_status == REPAINT_AWAITING_COMPLETION) {
		if (++resize->retries > GB_RESIZE_RETRIES_MAX) {
			gb_warning("output resize to %dx%d given up: the output never went idle",
			           resize->width, resize->height);
			resize->pending = false;
			resize->retries = 0;
			return 0;
		}
		if (resize->retries == 1)
			gb_debug("output resize to %dx%d waits for the frame in flight",
			         resize->width, resize->height);
		wl_event_source_timer_update(resize->timer, GB_RESIZE_RETRY_MS);
		return 0;
	}
	resize->pending = false;
	resize->retries = 0;
	clock_gettime(CLOCK_MONOTONIC, &resize->applied);
	resize->applied_once = true;
	if (resize->width != output->current_mode->width ||
	    resize->height != output->current_mode->height)
		apply(resize);
	return 0;
}

static struct gb_resize *resize_get(struct gb_session *session)
{
	struct wl_listener *listener;
	struct gb_resize *resize;

	listener =
	        wl_signal_get(&session->compositor->destroy_signal, resize_compositor_destroyed);
	if (listener)
		return wl_container_of(listener, resize, compositor_destroy);

	resize = calloc(1, sizeof(*resize));
	if (!resize)
		return NULL;
	resize->session = session;
	resize->timer = wl_event_loop_add_timer(session->loop, resize_timer, resize);
	if (!resize->timer) {
		free(resize);
		return NULL;
	}
	/* Freed with the compositor, before the event loop goes. */
	resize->compositor_destroy.notify = resize_compositor_destroyed;
	wl_signal_add(&session->compositor->destroy_signal, &resize->compositor_destroy);
	return resize;
}

static int clamp_even(int value, int max)
{
	if (value > max)
		value = max;
	if (value < GB_RESIZE_MIN)
		value = GB_RESIZE_MIN;
	return value & ~1;
}

int gb_output_resize(struct gb_session *session, int width, int height)
{
	struct weston_output *output;
	struct gb_resize *resize;
	double wait_ms;

	if (!session || !session->compositor || !session->output || !session->output->current_mode)
		return -ENODEV;
	if (width <= 0 || height <= 0)
		return -EINVAL;
	output = session->output;
	width = clamp_even(width, session->config->session.max_width);
	height = clamp_even(height, session->config->session.max_height);

	resize = resize_get(session);
	if (!resize)
		return -ENOMEM;
	if (width == output->current_mode->width && height == output->current_mode->height) {
		/* Already this size; forget a change still waiting, it is outdated. */
		resize->pending = false;
		return 0;
	}
	if (resize->pending) {
		resize->width = width; /* the timer is armed: coalesce */
		resize->height = height;
		return 0;
	}
	resize->pending = true;
	resize->width = width;
	resize->height = height;
	resize->retries = 0;
	gb_debug("output resize to %dx%d requested", width, height);
	/* Never from inside the caller (which may be a repaint or an input
	 * handler); soon, but no sooner than GB_RESIZE_INTERVAL_MS after the
	 * last change. A timer of 0 ms would disarm it, so at least 1. */
	wait_ms = resize->applied_once ? GB_RESIZE_INTERVAL_MS - ms_since(&resize->applied) : 0;
	wl_event_source_timer_update(resize->timer, wait_ms < 1 ? 1 : (int)wait_ms + 1);
	return 0;
}
