/* SPDX-License-Identifier: MIT */
/*
 * Spawners: how glassboxd starts and stops a session's process. sessions.c
 * keeps what every spawner shares (the table, READY, viewers, the idle
 * timer, the end and why); a spawner only makes the process run and tells
 * sessions.c when it is ready and when it ended.
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
	 * Make @session run. 0, and later gb_session_mark_ready() and
	 * gb_session_ended(); or a negative errno after logging why, and then
	 * neither is called.
	 */
	int (*start)(struct gb_daemon_session *session, const struct gb_login *login);
	/* Ask it to end; gb_session_ended() follows. */
	void (*stop)(struct gb_daemon_session *session);
	/* The session is over (or glassboxd leaves it running): free spawner_data. */
	void (*release)(struct gb_daemon_session *session, bool ended);
	/* After the main loop, with the session still running: make it go (direct) or
	 * leave it to the next glassboxd (systemd). */
	void (*abandon)(struct gb_daemon_session *session);
};

/* The sessions object's state (daemon->sessions), shared with the spawners. */
struct gb_sessions {
	const struct gb_spawner_ops *spawner; /* fixed at start: server.spawner */
	void *spawner_state;                  /* the spawner's own (its init() sets it) */
	GHashTable *table;                    /* id -> struct gb_daemon_session, running or not */
};

extern const struct gb_spawner_ops gb_spawner_direct;
extern const struct gb_spawner_ops gb_spawner_systemd;

/* sessions.c, for the spawners */
/** A new session in the table, STARTING (or RUNNING when @running), with no process yet. */
struct gb_daemon_session *gb_session_new(struct gb_daemon *daemon, const char *id,
                                         const char *identity_namespace, const char *user);
void gb_session_mark_ready(struct gb_daemon_session *session);
/**
 * The session's process is gone. @how completes "the session ...": "exited
 * with status 3", "unit glassbox-session@alice.service failed (Result=core-dump)".
 * Tells the viewers, removes it from the table and frees it.
 */
void gb_session_ended(struct gb_daemon_session *session, const char *how);
/** Put an adopted session (a unit left running by an earlier glassboxd) in the table. */
void gb_session_adopted(struct gb_daemon_session *session, bool running);
/** Free a session that never made it into the table. */
void gb_session_discard(struct gb_daemon_session *session);
/** rm -rf of a folder glassboxd made; never follows a link out of it. */
void gb_remove_tree(const char *path);
/** 16 random hex digits. */
int gb_session_make_id(char id[GB_SESSION_ID_LENGTH + 1]);

#endif
