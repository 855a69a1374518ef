/* SPDX-License-Identifier: MIT */
/*
 * Sessions: one glassbox-session per identity, started through a spawner
 * (spawner.h), with the relays (browser tabs) that view it. sessions.c owns
 * the table of sessions and what every spawner shares; it tells each relay
 * through struct gb_session_relay_ops and everyone else through events.
 */
#ifndef GB_SESSIONS_H
#define GB_SESSIONS_H

#include <stdbool.h>
#include <sys/types.h>

#include <glib.h>

#include "login.h"
#include "session-id.h"

struct gb_daemon;
struct gb_spawner_ops;

struct gb_session_relay;

/** What a session tells a relay of it (sessions.c calls, relay.c implements). */
struct gb_session_relay_ops {
	/* The session is running: connect to its signal socket and flush. */
	void (*ready)(struct gb_session_relay *relay);
	/* The session is gone: tell the browser why and close with @code. */
	void (*ended)(struct gb_session_relay *relay, const char *reason, unsigned short code);
};

/** A relay's place in a session; the relay embeds it. */
struct gb_session_relay {
	const struct gb_session_relay_ops *ops;
	struct gb_daemon_session *session; /* NULL once detached */
	GList link;                        /* in gb_daemon_session.relays */
};

enum gb_session_state {
	GB_SESSION_STARTING, /* spawned (or its unit started), waiting for READY */
	GB_SESSION_RUNNING,
	GB_SESSION_STOPPING, /* SIGTERM sent, or StopUnit */
	GB_SESSION_EXITED,
};

/** One glassbox-session process (or unit): one per user. */
struct gb_daemon_session {
	struct gb_daemon *daemon;
	char id[GB_SESSION_ID_LENGTH + 1];
	char *user;                 /* the user name, for people: "alice" */
	char *identity_namespace;   /* whose "alice" (struct gb_login) */
	char *identity;             /* "namespace:user", for logs, D-Bus and audit */
	bool system_account;        /* it runs as the user's own account (systemd spawner) */
	char *dir;                  /* direct: <runtime_dir>/sessions/<id>, 0700; else NULL */
	char *unit;                 /* systemd: glassbox-session@<instance>.service; else NULL */
	char *socket_path;          /* the session's signal socket */
	char *control_path;         /* the session's control socket (stats, screenshot) */
	gint64 started_realtime_us; /* g_get_real_time() at start */
	enum gb_session_state state;
	bool was_ready; /* it said READY at some point */
	bool viewed;    /* a viewer has joined it: the next one "joins" */
	GPid pid;       /* direct: the child; systemd: the unit's MainPID once known, else 0 */
	uid_t uid;      /* the uid pid runs as; (uid_t)-1: not known (session-socket.h) */
	gid_t gid;      /* its primary group; (gid_t)-1: not known */
	char *home;     /* its HOME, absolute; NULL: not known */
	guint idle_timeout;
	const char *stop_reason; /* why we stopped it; NULL when it ended by itself */
	GQueue relays;           /* struct gb_session_relay, through link */
	bool preparing; /* waiting for its hooks' prepare (its mounts) before the spawner */
	struct gb_login *login; /* while preparing: what the spawner will start it for */
	void *spawner_data;     /* the spawner's own per-session state (spawner.h) */
};

/**
 * What runs before a session's process starts: main.c sets them (storage's
 * mounts). prepare() returns true when it has work, and then calls
 * gb_session_prepared() once done (the session waits, STARTING, meanwhile);
 * false to let the spawner start the session at once.
 */
struct gb_session_hooks {
	bool (*prepare)(void *data, struct gb_daemon_session *session);
	/* A session an earlier glassboxd left running is in the table now. May be NULL. */
	void (*adopted)(void *data, struct gb_daemon_session *session);
};

/** Set the hooks (before the first session). */
void gb_sessions_set_hooks(struct gb_daemon *daemon, const struct gb_session_hooks *hooks,
                           void *data);
/** What prepare() started is done: the spawner starts @session now. */
void gb_session_prepared(struct gb_daemon_session *session);

/**
 * The session of the identity (@identity_namespace, @user) that is starting
 * or running (not stopping), or NULL. A bare user name never finds one: the
 * same name from two namespaces is two people.
 */
struct gb_daemon_session *gb_session_find(struct gb_daemon *daemon, const char *identity_namespace,
                                          const char *user);
/** The name of the spawner in use ("direct", "systemd"). */
const char *gb_sessions_spawner_name(struct gb_daemon *daemon);
/**
 * Walk the sessions table (id -> struct gb_daemon_session, running or not)
 * with g_hash_table_iter_next(); false when there is none (not started, or
 * gone at exit). Do not add or remove sessions meanwhile.
 */
bool gb_sessions_iter_init(GHashTableIter *iter, struct gb_daemon *daemon);
/** The session with this id, in any state, or NULL. */
struct gb_daemon_session *gb_session_lookup(struct gb_daemon *daemon, const char *id);
/** "starting", "running", "stopping", "exited": as /metrics, /api/admin and D-Bus say. */
const char *gb_session_state_name(enum gb_session_state state);
/** "namespace:user" (g_free it): namespaces are plugin names, which hold no ':'. */
char *gb_identity_format(const char *identity_namespace, const char *user);
/**
 * Start a session for the user of @login, through the configured spawner;
 * NULL with errno (EAGAIN: max_sessions reached; EBUSY: the user's previous
 * session is still stopping).
 */
struct gb_daemon_session *gb_session_start(struct gb_daemon *daemon, const struct gb_login *login);
/** @relay joins @session: told ready() now if it runs, or once it does. */
void gb_session_add_relay(struct gb_daemon_session *session, struct gb_session_relay *relay);
void gb_session_remove_relay(struct gb_daemon_session *session, struct gb_session_relay *relay);
/** Direct: SIGTERM now, SIGKILL after session.stop_grace_ms. systemd: StopUnit. */
void gb_session_stop(struct gb_daemon_session *session, const char *reason);
void gb_sessions_stop_all(struct gb_daemon *daemon);
unsigned gb_sessions_count(struct gb_daemon *daemon);
/** Remove session folders a previous glassboxd left in runtime_dir/sessions. */
void gb_sessions_clean_stale(struct gb_daemon *daemon);
/** After the main loop: kill and reap whatever session is left (direct), or
 * leave the units running for the next glassboxd (systemd). */
void gb_sessions_destroy_all(struct gb_daemon *daemon);
/** Sessions through @spawner (main.c picks server.spawner's): connect, adopt
 * the sessions a previous glassboxd left running. 0 or a negative errno, logged. */
int gb_sessions_init(struct gb_daemon *daemon, const struct gb_spawner_ops *spawner);
/** True when sessions outlive glassboxd (systemd): stopping glassboxd then
 * leaves them running and only closes the WebSockets. */
bool gb_sessions_survive_restart(struct gb_daemon *daemon);
/** Viewers of every session detached, for a stop that keeps the sessions. */
void gb_sessions_detach_relays(struct gb_daemon *daemon);

#endif
