/* SPDX-License-Identifier: MIT */
/* The listener list of glassboxd's events (events.h). */
#include "events.h"

void gb_events_add_listener(struct gb_events *events, struct gb_events_hook *hook,
                            const struct gb_events_listener *listener, void *data)
{
	hook->listener = listener;
	hook->data = data;
	events->hooks = g_list_append(events->hooks, hook);
}

void gb_events_remove_listener(struct gb_events *events, struct gb_events_hook *hook)
{
	events->hooks = g_list_remove(events->hooks, hook);
}

void gb_events_clear(struct gb_events *events)
{
	g_list_free(events->hooks);
	events->hooks = NULL;
}

/* The next link is taken first: a listener may remove itself from its own callback. */
void gb_events_emit_session_added(struct gb_events *events,
                                  const struct gb_daemon_session *session)
{
	for (GList *link = events->hooks, *next; link; link = next) {
		struct gb_events_hook *hook = link->data;

		next = link->next;
		if (hook->listener->session_added)
			hook->listener->session_added(hook->data, session);
	}
}

void gb_events_emit_session_removed(struct gb_events *events,
                                    const struct gb_daemon_session *session, const char *reason)
{
	for (GList *link = events->hooks, *next; link; link = next) {
		struct gb_events_hook *hook = link->data;

		next = link->next;
		if (hook->listener->session_removed)
			hook->listener->session_removed(hook->data, session, reason);
	}
}

void gb_events_emit_relays_changed(struct gb_events *events)
{
	for (GList *link = events->hooks, *next; link; link = next) {
		struct gb_events_hook *hook = link->data;

		next = link->next;
		if (hook->listener->relays_changed)
			hook->listener->relays_changed(hook->data);
	}
}

void gb_events_emit_storage_idle(struct gb_events *events)
{
	for (GList *link = events->hooks, *next; link; link = next) {
		struct gb_events_hook *hook = link->data;

		next = link->next;
		if (hook->listener->storage_idle)
			hook->listener->storage_idle(hook->data);
	}
}

void gb_events_emit_relay_gone(struct gb_events *events)
{
	for (GList *link = events->hooks, *next; link; link = next) {
		struct gb_events_hook *hook = link->data;

		next = link->next;
		if (hook->listener->relay_gone)
			hook->listener->relay_gone(hook->data);
	}
}

void gb_events_emit_reload_started(struct gb_events *events)
{
	for (GList *link = events->hooks, *next; link; link = next) {
		struct gb_events_hook *hook = link->data;

		next = link->next;
		if (hook->listener->reload_started)
			hook->listener->reload_started(hook->data);
	}
}

void gb_events_emit_reload_ended(struct gb_events *events, bool applied)
{
	for (GList *link = events->hooks, *next; link; link = next) {
		struct gb_events_hook *hook = link->data;

		next = link->next;
		if (hook->listener->reload_ended)
			hook->listener->reload_ended(hook->data, applied);
	}
}

void gb_events_emit_login_made(struct gb_events *events, const char *plugin)
{
	for (GList *link = events->hooks, *next; link; link = next) {
		struct gb_events_hook *hook = link->data;

		next = link->next;
		if (hook->listener->login_made)
			hook->listener->login_made(hook->data, plugin);
	}
}

void gb_events_emit_login_failed(struct gb_events *events, enum gb_login_failure_reason reason)
{
	for (GList *link = events->hooks, *next; link; link = next) {
		struct gb_events_hook *hook = link->data;

		next = link->next;
		if (hook->listener->login_failed)
			hook->listener->login_failed(hook->data, reason);
	}
}

void gb_events_emit_login_ended(struct gb_events *events, const char *key, const char *reason)
{
	for (GList *link = events->hooks, *next; link; link = next) {
		struct gb_events_hook *hook = link->data;

		next = link->next;
		if (hook->listener->login_ended)
			hook->listener->login_ended(hook->data, key, reason);
	}
}
