/* SPDX-License-Identifier: MIT */
/*
 * What a capture plugin gets from the session (struct gb_capture_target):
 * the compositor, the output, a frame hook on top of the session's frame
 * listeners, and a way to have the whole output repainted.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>

#include <libweston/libweston.h>

#include "capture-target.h"
#include "compositor.h"
#include "log.h"

struct capture_listener {
	struct gb_frame_listener base;
	struct gb_capture_host *host;
	gb_capture_frame_func frame;
	void *data;
	struct wl_list link; /* gb_capture_host.listeners */
};

struct gb_capture_host {
	struct gb_capture_target target; /* first: plugins get a pointer to it */
	struct gb_session *session;
	struct wl_list listeners;
	struct wl_event_source *damage_idle;
};

static struct gb_capture_host *host_from_target(const struct gb_capture_target *target)
{
	return (struct gb_capture_host *)target;
}

static void listener_frame(struct gb_frame_listener *base, struct weston_output *output,
                           const pixman_region32_t *damage, const struct timespec *time)
{
	struct capture_listener *listener = wl_container_of(base, listener, base);

	listener->frame(listener->data, output, damage, time);
}

static void *add_frame_listener(const struct gb_capture_target *target,
                                gb_capture_frame_func frame, void *data)
{
	struct gb_capture_host *host = host_from_target(target);
	struct capture_listener *listener;

	if (!frame)
		return NULL;
	listener = calloc(1, sizeof(*listener));
	if (!listener)
		return NULL;
	listener->host = host;
	listener->frame = frame;
	listener->data = data;
	listener->base.frame = listener_frame;
	gb_session_add_frame_listener(host->session, &listener->base);
	wl_list_insert(&host->listeners, &listener->link);
	return listener;
}

static void listener_free(struct capture_listener *listener)
{
	wl_list_remove(&listener->base.link);
	wl_list_remove(&listener->link);
	free(listener);
}

static void remove_frame_listener(const struct gb_capture_target *target, void *handle)
{
	struct gb_capture_host *host = host_from_target(target);
	struct capture_listener *listener;

	if (!handle)
		return;
	/* Only free what we handed out: a stale handle must not free random memory. */
	wl_list_for_each (listener, &host->listeners, link) {
		if (listener == handle) {
			listener_free(listener);
			return;
		}
	}
	gb_warning("capture: a plugin removed a frame listener it does not own");
}

static void damage_all_now(void *data)
{
	struct gb_capture_host *host = data;

	host->damage_idle = NULL; /* idle sources are gone once they ran */
	weston_compositor_damage_all(host->session->compositor);
}

/*
 * Damage asked for from inside a frame hook would be swallowed by the
 * repaint that is finishing, so it is applied from an idle callback;
 * several requests before it runs make one repaint.
 */
static void damage_all(const struct gb_capture_target *target)
{
	struct gb_capture_host *host = host_from_target(target);

	if (host->damage_idle)
		return;
	host->damage_idle = wl_event_loop_add_idle(host->session->loop, damage_all_now, host);
	if (!host->damage_idle)
		weston_compositor_damage_all(host->session->compositor);
}

struct gb_capture_host *gb_capture_host_create(struct gb_session *session)
{
	struct gb_capture_host *host;

	host = calloc(1, sizeof(*host));
	if (!host)
		return NULL;
	host->session = session;
	wl_list_init(&host->listeners);
	host->target.struct_size = sizeof(host->target);
	host->target.compositor = session->compositor;
	host->target.output = session->output;
	host->target.add_frame_listener = add_frame_listener;
	host->target.remove_frame_listener = remove_frame_listener;
	host->target.damage_all = damage_all;
	return host;
}

const struct gb_capture_target *gb_capture_host_target(struct gb_capture_host *host)
{
	return &host->target;
}

void gb_capture_host_destroy(struct gb_capture_host *host)
{
	struct capture_listener *listener, *next;

	if (!host)
		return;
	wl_list_for_each_safe (listener, next, &host->listeners, link)
		listener_free(listener);
	if (host->damage_idle)
		wl_event_source_remove(host->damage_idle);
	free(host);
}
