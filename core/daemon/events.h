/* SPDX-License-Identifier: MIT */
/*
 * Events of glassboxd: a session started or ended, the relays of a session
 * changed, a relay (a signalling WebSocket) is gone, a reload, a login
 * made, refused or ended. Whoever cares (the D-Bus signals, sd_notify's
 * STATUS line, the audit log, metrics, the relays, main.c's stop) registers
 * a struct of callbacks with gb_events_add_listener(); the emitters
 * (sessions.c, relay.c, reload.c, auth.c) call gb_events_emit_*() and never
 * name who listens. Everything here runs on the main loop.
 */
#ifndef GB_EVENTS_H
#define GB_EVENTS_H

#include <stdbool.h>

#include <glib.h>

struct gb_daemon_session;

/* Why a login failed or was refused (glassbox_login_failures_total{reason=...}). */
enum gb_login_failure_reason {
	GB_LOGIN_FAILURE_WRONG_CREDENTIALS, /* a password plugin said no */
	GB_LOGIN_FAILURE_REFUSED,           /* a redirect login was refused */
	GB_LOGIN_FAILURE_ERROR,             /* a plugin could not check */
	GB_LOGIN_FAILURE_THROTTLED_ADDRESS, /* 429: too many failures from the address */
	GB_LOGIN_FAILURE_THROTTLED_USER,    /* 429: too many failures for the user name */
	GB_LOGIN_FAILURE_REASONS
};

/** What a listener wants to hear of; any member may be NULL. */
struct gb_events_listener {
	/* A session is in the table (started, or adopted from a previous glassboxd). */
	void (*session_added)(void *data, const struct gb_daemon_session *session);
	/* A session left the table; @reason is why it ended. */
	void (*session_removed)(void *data, const struct gb_daemon_session *session,
	                        const char *reason);
	/* A relay joined or left a session. */
	void (*relays_changed)(void *data);
	/* A relay was freed: its WebSocket is closed. */
	void (*relay_gone)(void *data);
	/* A reload of the configuration began. */
	void (*reload_started)(void *data);
	/* It ended: @applied, the new configuration is in force; else the old one stays. */
	void (*reload_ended)(void *data, bool applied);
	/* A login was made through the auth plugin @plugin. */
	void (*login_made)(void *data, const char *plugin);
	/* A login failed or was refused before any check. */
	void (*login_failed)(void *data, enum gb_login_failure_reason reason);
	/* The login @key (the SHA-256 of its cookie) ended: @reason says why it
	 * was revoked (expiry, an administrator, a plugin gone), NULL for a
	 * logout of the user's own. */
	void (*login_ended)(void *data, const char *key, const char *reason);
	/* The last mount of an ended session has stopped (storage.h). */
	void (*storage_idle)(void *data);
};

/** The listener list; zero-initialised is empty. */
struct gb_events {
	GList *hooks; /* struct gb_events_hook */
};

/** One registration, owned by the listener (embed it, keep it until removed). */
struct gb_events_hook {
	const struct gb_events_listener *listener;
	void *data;
};

/** Register @listener with @data; @hook must stay valid until gb_events_remove_listener(). */
void gb_events_add_listener(struct gb_events *events, struct gb_events_hook *hook,
                            const struct gb_events_listener *listener, void *data);
void gb_events_remove_listener(struct gb_events *events, struct gb_events_hook *hook);
/** Forget every listener (at exit). */
void gb_events_clear(struct gb_events *events);

void gb_events_emit_session_added(struct gb_events *events,
                                  const struct gb_daemon_session *session);
void gb_events_emit_session_removed(struct gb_events *events,
                                    const struct gb_daemon_session *session, const char *reason);
void gb_events_emit_relays_changed(struct gb_events *events);
void gb_events_emit_storage_idle(struct gb_events *events);
void gb_events_emit_relay_gone(struct gb_events *events);
void gb_events_emit_reload_started(struct gb_events *events);
void gb_events_emit_reload_ended(struct gb_events *events, bool applied);
void gb_events_emit_login_made(struct gb_events *events, const char *plugin);
void gb_events_emit_login_failed(struct gb_events *events, enum gb_login_failure_reason reason);
void gb_events_emit_login_ended(struct gb_events *events, const char *key, const char *reason);

#endif
