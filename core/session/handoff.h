/* SPDX-License-Identifier: MIT */
/*
 * The hand-off from GStreamer's threads to the session's wl_event_loop. Any
 * thread posts an item; the main loop runs the items in the order they were
 * posted. A locked list and an eventfd the loop watches, as Weston's
 * remoting plugin does: no GMainLoop runs in the session.
 */
#ifndef GB_HANDOFF_H
#define GB_HANDOFF_H

struct wl_event_loop;
struct gb_handoff;

/** Embed this in what is handed over; the poster fills in run and free. */
struct gb_handoff_item {
	/* On the main loop; then free() follows. */
	void (*run)(struct gb_handoff_item *item);
	/* After run(), or instead of it when the hand-off goes away first. */
	void (*free)(struct gb_handoff_item *item);
	struct gb_handoff_item *next; /* the hand-off's */
};

/** A hand-off to @loop; NULL with errno set on failure. */
struct gb_handoff *gb_handoff_create(struct wl_event_loop *loop);
/** Frees what was posted and not yet run, without running it. NULL is fine. */
void gb_handoff_destroy(struct gb_handoff *handoff);
/** Hand @item (owned by the hand-off from now on) to the main loop. Any thread. */
void gb_handoff_post(struct gb_handoff *handoff, struct gb_handoff_item *item);

#endif
