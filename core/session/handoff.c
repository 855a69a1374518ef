/* SPDX-License-Identifier: MIT */
/* The hand-off from GStreamer's threads to the main loop (handoff.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <glib.h>
#include <wayland-server-core.h>

#include "handoff.h"
#include "log.h"

struct gb_handoff {
	int wake_fd;
	struct wl_event_source *wake_source;
	GMutex lock;
	struct gb_handoff_item *head, *tail;
};

void gb_handoff_post(struct gb_handoff *handoff, struct gb_handoff_item *item)
{
	uint64_t one = 1;

	item->next = NULL;
	g_mutex_lock(&handoff->lock);
	if (handoff->tail)
		handoff->tail->next = item;
	else
		handoff->head = item;
	handoff->tail = item;
	g_mutex_unlock(&handoff->lock);
	/* Only fails when the counter would overflow: the loop is awake then anyway. */
	if (write(handoff->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		g_warning("glassbox: cannot wake the main loop: %s", g_strerror(errno));
}

static struct gb_handoff_item *take_items(struct gb_handoff *handoff)
{
	struct gb_handoff_item *items;

	g_mutex_lock(&handoff->lock);
	items = handoff->head;
	handoff->head = handoff->tail = NULL;
	g_mutex_unlock(&handoff->lock);
	return items;
}

static int handoff_wake(int fd, uint32_t mask, void *data)
{
	struct gb_handoff *handoff = data;
	struct gb_handoff_item *item, *next;
	uint64_t count;

	if (read(fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		gb_debug("stream: eventfd: %s", strerror(errno));
	for (item = take_items(handoff); item; item = next) {
		next = item->next;
		item->run(item);
		item->free(item);
	}
	return 0;
}

struct gb_handoff *gb_handoff_create(struct wl_event_loop *loop)
{
	struct gb_handoff *handoff = calloc(1, sizeof(*handoff));
	int r;

	if (!handoff)
		return NULL;
	g_mutex_init(&handoff->lock);
	handoff->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (handoff->wake_fd < 0)
		goto fail;
	handoff->wake_source = wl_event_loop_add_fd(loop, handoff->wake_fd, WL_EVENT_READABLE,
	                                            handoff_wake, handoff);
	if (!handoff->wake_source) {
		errno = ENOMEM;
		goto fail;
	}
	return handoff;

fail:
	r = errno;
	gb_handoff_destroy(handoff);
	errno = r;
	return NULL;
}

void gb_handoff_destroy(struct gb_handoff *handoff)
{
	struct gb_handoff_item *item, *next;

	if (!handoff)
		return;
	for (item = take_items(handoff); item; item = next) {
		next = item->next;
		item->free(item);
	}
	if (handoff->wake_source)
		wl_event_source_remove(handoff->wake_source);
	if (handoff->wake_fd >= 0)
		close(handoff->wake_fd);
	g_mutex_clear(&handoff->lock);
	free(handoff);
}
