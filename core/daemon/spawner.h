/* SPDX-License-Identifier: MIT */
/*
 * Spawners: how glassboxd starts and stops a session's process. sessions.c
 * keeps what every spawner shares (the table, READY, viewers, the idle
 * timer, the end and why); a spawner only makes the process run and tells
 * its owner, through the struct gb_spawner_events sessions.c sets, when it
 * is ready and when it ended. A spawner never calls sessions.c by name.
 *
 *   direct   fork/exec of glassbox-session (spawner-direct.c)
 *   systemd  StartUnit of glassbox-session@<instance>.service over sd-bus
 *            (spawner-systemd.c)
 */
#ifndef GB_SPAWNER_H
#define GB_SPAWNER_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon.h"
#include "sessions.h"
#include "spawner-names.h"

/* Where glassbox-session@.service's RuntimeDirectory=glassbox-session/%i is. */
#define GB_SESSION_UNIT_RUNTIME_DIR "/run/glassbox-session"

struct gb_spawner_ops {
	const char *name; /* as server.spawner spells it */
	/* Sessions outlive glassboxd: a stop leaves them, the next start adopts them. */
	bool keeps_sessions;
	/* Connect and adopt; 0 or a negative errno after logging why. May be NULL. */
	int (*init)(struct gb_daemon *daemon);
	void (*fini)(struct gb_daemon *daemon);
	/*
	 * Who @session will run as, before it starts: set session->uid, gid and
	 * home when the spawner knows them now (storage mounts its folders
	 * first). 0, or a negative errno after logging why. May be NULL.
	 */
	int (*account)(struct gb_daemon_session *session, const struct gb_login *login);
	/*
	 * Make @session run. 0, and later the events ready() and ended(); or a
	 * negative errno after logging why, and then neither is called.
	 */
	int (*start)(struct gb_daemon_session *session, const struct gb_login *login);
	/* Ask it to end; the event ended() follows. */
	void (*stop)(struct gb_daemon_session *session);
	/* The session is over (or glassboxd leaves it running): free spawner_data. */
	void (*release)(struct gb_daemon_session *session, bool ended);
	/* After the main loop, with the session still running: make it go (direct) or
	 * leave it to the next glassboxd (systemd). */
	void (*abandon)(struct gb_daemon_session *session);
};

/**
 * What a spawner tells the sessions object that owns it. sessions.c sets
 * them (struct gb_sessions.events) before the spawner's init().
 */
struct gb_spawner_events {
	/* @session said READY. */
	void (*ready)(struct gb_daemon_session *session);
	/*
	 * @session's process is gone. @how completes "the session ...": "exited
	 * with status 3", "unit glassbox-session@alice.service failed
	 * (Result=core-dump)". Tells the viewers, removes it from the table, frees it.
	 */
	void (*ended)(struct gb_daemon_session *session, const char *how);
	/* @session cannot go on: stop it, logging @reason (a string constant). */
	void (*failed)(struct gb_daemon_session *session, const char *reason);
	/*
	 * A session an earlier glassboxd left running: a new record, not yet in
	 * the table, or NULL (logged) when its id or identity is known already.
	 */
	struct gb_daemon_session *(*adopt)(struct gb_daemon *daemon, const char *id,
	                                   const char *identity_namespace, const char *user);
	/* Put an adopt()ed session in the table, RUNNING when @running. */
	void (*adopted)(struct gb_daemon_session *session, bool running);
	/* Free an adopt()ed session that never made it into the table. */
	void (*discard)(struct gb_daemon_session *session);
};

/* The sessions object's state (daemon->sessions), shared with the spawners. */
struct gb_sessions {
	const struct gb_spawner_ops *spawner;   /* fixed at start: server.spawner */
	const struct gb_spawner_events *events; /* what the spawner tells sessions.c */
	void *spawner_state;                    /* the spawner's own (its init() sets it) */
	GHashTable *table;                      /* id -> struct gb_daemon_session */
	const struct gb_session_hooks *hooks;   /* main.c's (storage), or NULL */
	void *hooks_data;
};

/** How the spawner of @daemon reports to its owner. */
static inline const struct gb_spawner_events *gb_spawner_events(const struct gb_daemon *daemon)
{
	return daemon->sessions->events;
}

extern const struct gb_spawner_ops gb_spawner_direct;
extern const struct gb_spawner_ops gb_spawner_systemd;

#endif
