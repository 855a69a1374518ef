/* SPDX-License-Identifier: MIT */
/*
 * glassboxd: the manager. One GLib main loop; everything here runs on it
 * except the password checks, which run one at a time on a worker thread
 * (auth.c) so that a slow hash does not stall every viewer's signalling.
 */
#ifndef GB_DAEMON_H
#define GB_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <glib.h>
#include <libsoup/soup.h>

#include <glassbox/auth.h>

#include "config.h"
#include "events.h"
#include "login.h"
#include "login-store.h"
#include "plugin-loader.h"
#include "secret.h"
#include "session-id.h"
#include "text.h"

/* Limits on what a remote user controls. */
#define GB_LOGIN_BODY_MAX         4096          /* POST /api/login body */
#define GB_MESSAGE_MAX            65536         /* one WebSocket message or relayed line */
#define GB_MESSAGES_PER_SECOND    100           /* WebSocket messages from one viewer */
#define GB_JSON_DEPTH_MAX         32            /* nesting accepted in a WebSocket message */
#define GB_TO_SESSION_BUFFER_MAX  (1024 * 1024) /* bytes queued for a session, per viewer */
#define GB_LOGINS_PER_USER_MAX    32            /* a 33rd login pushes out the oldest */
#define GB_LOGINS_PENDING_MAX     64            /* password checks waiting at once */
#define GB_LOGIN_FAILURES_MAX     10            /* failed logins per client address per minute */
#define GB_USER_FAILURES_MAX      5             /* per user name and address per minute */
#define GB_LOGIN_FAILURE_WINDOW_S 60
#define GB_LOGIN_FAILURE_DELAY_MS 700 /* a failed login answers this long after it came */

/* Failed logins per user name, from all addresses together, per minute. */
#define GB_USER_FAILURES_CEILING 100
/* Connections (connections.c) and what waits for a browser (relay.c). */
#define GB_CONNECTIONS_PER_ADDRESS_MAX     64 /* open HTTP/WebSocket connections per address */
#define GB_CONNECTIONS_NEW_PER_ADDRESS_MAX 6  /* HTTPS: of which without a complete request */
#define GB_REQUEST_HEAD_TIMEOUT_S          10 /* a new connection's first request, head and body */
#define GB_CONNECTION_IDLE_TIMEOUT_S       60 /* a kept-alive connection's next request */
#define GB_TO_BROWSER_BUFFER_MAX           (1024 * 1024) /* bytes queued for a viewer's WebSocket */

#define GB_SESSION_READY_TIMEOUT_S 10
#define GB_TOKEN_LENGTH            (GB_RANDOM_TOKEN_SIZE - 1) /* gb_random_token() */
#define GB_COOKIE_NAME             "glassbox_session"

/* Text a user chose, in one log line: 64 bytes, or 64 and "..." (gb_printable). */
#define GB_PRINTABLE_SIZE 68

/** gb_printable() of @text in a g_malloc'd string, for the log. */
static inline char *gb_printable_dup(const char *text)
{
	char out[GB_PRINTABLE_SIZE];

	gb_printable(out, sizeof(out), text);
	return g_strdup(out);
}

struct gb_connections;
struct gb_daemon_session;
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

/** One WebSocket on /api/session, relayed to one connection to the session. */
struct gb_relay {
	struct gb_daemon *daemon;
	struct gb_session_relay in_session; /* its session (in_session.session), if any */
	SoupWebsocketConnection *ws;
	char *login_key; /* the login it was opened with */
	char *peer;      /* client address, for logs */
	char *user;      /* for logs, also after the session is gone */
	char session_id[GB_SESSION_ID_LENGTH + 1];
	gulong message_handler, closed_handler, error_handler, closing_handler;
	bool closing;

	/* the connection to the session's signal socket; -1 until it is up */
	int fd;
	guint read_source;
	GByteArray *to_session;   /* lines waiting to be written, bounded */
	GByteArray *from_session; /* a partial line, bounded */
	/* bytes handed to the WebSocket, framing included; dropped: it did not read them */
	guint64 queued_to_browser;
	bool dropped;

	/* rate limit on incoming messages: a one-second window */
	gint64 window_start_us;
	unsigned window_count;

	guint connect_retry; /* the signal socket's backlog was full */
	unsigned connect_attempts;
	guint write_source;
	guint eof_timeout; /* the session hung up on us: close soon */

	GList all_link; /* in gb_daemon.relays */
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
	guint idle_timeout;
	const char *stop_reason; /* why we stopped it; NULL when it ended by itself */
	GQueue relays;           /* struct gb_session_relay, through link */
	void *spawner_data;      /* the spawner's own per-session state (spawner.h) */
};

struct gb_daemon {
	char *config_path; /* absolute: handed to every session */
	struct gb_config *config;
	struct gb_host host;
	struct gb_plugin_registry registry;
	GMainLoop *loop;
	struct gb_events events; /* listeners of sessions and relays (events.h) */
	int exit_code;

	/* HTTP */
	SoupServer *server;
	bool https;
	int web_dir_fd; /* O_PATH of server.web_dir; -1 when it cannot be opened */
	struct gb_connections *connections; /* connections.c */

	/* logins (auth.c) */
	struct gb_plugin **auth_plugins; /* the loaded auth plugins, in drop-in order */
	size_t n_auth_plugins;
	GThreadPool *auth_pool; /* one thread: plugins are called one at a time */
	/* Held around every call into an auth plugin's ops, from any thread
	 * (the login worker, D-Bus user management): the ABI promises a plugin
	 * never sees two calls at once. */
	GMutex auth_lock;
	GHashTable *logins;                   /* key -> struct gb_login */
	GHashTable *login_bindings;           /* redirect logins under way (auth-redirect.c) */
	struct gb_login_limits *login_limits; /* failed logins (login-limits.h) */
	struct gb_metrics *metrics;           /* metrics.c */
	unsigned pending_logins; /* HTTP jobs on the worker, at most GB_LOGINS_PENDING_MAX */
	unsigned work_in_flight; /* everything on the worker (gb_auth_queue_work()) */
	guint sweep_timer;
	guint expiry_timer;   /* at the next login's expiry (gb_auth_schedule_expiry) */
	gint64 expiry_due_us; /* the expiry expiry_timer is set for */

	/* sessions (sessions.c, through a spawner: spawner.h) and their viewers (relay.c) */
	const struct gb_spawner_ops *spawner; /* fixed at start: server.spawner */
	void *spawner_state;
	GHashTable *sessions; /* id -> struct gb_daemon_session, running or not */
	GQueue relays;        /* every open WebSocket, through gb_relay.all_link */
	bool stopping;
	guint stop_timeout;

	/* systemd (notify.c, reload.c, login-store.c) */
	guint watchdog_timer;     /* WATCHDOG=1 every WATCHDOG_USEC / 2; 0 when not asked */
	bool log_level_from_args; /* --log-level given: a reload keeps it */
	guint login_store_idle;   /* a save of the logins table is queued */
};

/* reload.c */
/**
 * Re-read glassbox.conf and plugins.d (SIGHUP, `systemctl reload`, D-Bus
 * Reload). All or nothing: on failure nothing changes, "reload refused: ..."
 * is logged, and -errno is returned with one line in @error naming the
 * file, line and key. Running sessions are untouched; new ones get the new
 * session.* values.
 */
int gb_daemon_reload(struct gb_daemon *daemon, char *error, size_t error_size);
/**
 * Load the auth plugins that @config's plugins.d enables into @registry
 * (zeroed or cleared) and list them in a new *@plugins array (free()). On
 * failure the caller clears @registry; *@error is a g_malloc'd line.
 */
int gb_daemon_load_auth_plugins(const struct gb_config *config, const struct gb_host *host,
                                struct gb_plugin_registry *registry, struct gb_plugin ***plugins,
                                size_t *n_plugins, char **error);

/* http.c */
/** The server, TLS and the web client (static.c); nothing listens yet. */
int gb_http_init(struct gb_daemon *daemon);
/**
 * Serve @path (and below) with @handler. @body_max: the request body a POST
 * to exactly @path may carry (bigger: 413, or "gb-body-too-big" set on the
 * message); 0: bodies are dropped unread.
 */
void gb_http_add_route(struct gb_daemon *daemon, const char *path, SoupServerCallback handler,
                       gpointer data, size_t body_max);
/** Listen on server.listen, with the connection limits (connections.c). */
int gb_http_listen(struct gb_daemon *daemon);
void gb_http_stop(struct gb_daemon *daemon);
/** Security and caching headers every answer carries. */
void gb_http_add_common_headers(SoupServerMessage *msg);
/** Answer with a JSON body (may be NULL: no body). */
void gb_http_reply_json(SoupServerMessage *msg, guint status, const char *json);
/** Answer {"error": @message}. */
void gb_http_reply_error(SoupServerMessage *msg, guint status, const char *message);
/** True when the request has no Origin, or its Origin is ours or allowed. */
bool gb_http_origin_allowed(struct gb_daemon *daemon, SoupServerMessage *msg, bool required);
/** The client's address, for logs and limits. */
const char *gb_http_peer(SoupServerMessage *msg);
/** True when the client's address is a loopback one (127.0.0.0/8, ::1, ::ffff:127.x). */
bool gb_http_peer_is_loopback(SoupServerMessage *msg);

/* connections.c: per-address and total limits on open connections, and
 * time-outs for a request's head and for idle kept-alive connections. */
int gb_connections_init(struct gb_daemon *daemon);
void gb_connections_fini(struct gb_daemon *daemon);
/** A connection libsoup gave up (a WebSocket's) is closed: it no longer counts. */
void gb_connections_closed(struct gb_daemon *daemon, GSocket *socket);

/**
 * @value, or the environment variable @name when it holds a number 1..@max
 * (tests lower limits this way; a warning is logged). Never set in production.
 */
unsigned gb_daemon_limit_from_environment(const char *name, unsigned value, unsigned max);

/* tls.c */
/**
 * The certificate to serve: the configured pair, or a self-signed one made
 * (and kept, 0600) in state_dir on first use. NULL after logging an error
 * that names the file.
 */
GTlsCertificate *gb_tls_load_certificate(const struct gb_config *config,
                                         GInetAddress *listen_address);

/* auth.c */
int gb_auth_init(struct gb_daemon *daemon);
void gb_auth_fini(struct gb_daemon *daemon);
/** POST /api/login, POST /api/logout, GET /api/whoami (gb_http_add_route()). */
void gb_auth_add_routes(struct gb_daemon *daemon);
/** GET /api/auth/methods, /api/login/redirect, /api/login/callback/NAME (auth-redirect.c). */
void gb_auth_redirect_add_routes(struct gb_daemon *daemon);
/** The login the request's cookie stands for, or NULL (none, unknown, expired). */
struct gb_login *gb_auth_find_login(struct gb_daemon *daemon, SoupServerMessage *msg);
struct gb_login *gb_auth_lookup_key(struct gb_daemon *daemon, const char *key);
/** The identity namespace of the auth plugin @plugin: its drop-in's, or its name. */
const char *gb_auth_plugin_namespace(const struct gb_plugin *plugin);
/** The namespace of the enabled auth plugin named @plugin now, or NULL (none such). */
const char *gb_auth_namespace_of(struct gb_daemon *daemon, const char *plugin);
/**
 * Revoke: end every login of @user (NULL: anyone's) in @identity_namespace
 * (NULL: any) that auth plugin @plugin (NULL: any) vouched for, close their
 * WebSockets with @reason (short: it goes in the close frame) and save the
 * logins table. Returns how many.
 */
unsigned gb_auth_end_logins(struct gb_daemon *daemon, const char *identity_namespace,
                            const char *user, const char *plugin, const char *reason);
/** True when auth plugin @name is loaded (enabled in plugins.d). */
bool gb_auth_plugin_is_enabled(struct gb_daemon *daemon, const char *name);
/** After a reload: end the logins whose auth plugin is no longer enabled. */
unsigned gb_auth_end_orphaned_logins(struct gb_daemon *daemon);
/** Arm the timer that ends logins (and closes their WebSockets) at expiry. */
void gb_auth_schedule_expiry(struct gb_daemon *daemon);

/** Work on the worker thread: the plugins as they are under the lock, which is held. */
typedef void (*gb_auth_work_run)(void *data, struct gb_plugin *const *plugins, size_t n_plugins);
/** Its end, back on the main loop. */
typedef void (*gb_auth_work_done)(void *data);
/**
 * Queue @run(@data) on the one worker thread that calls the auth plugins
 * (one call at a time, as the ABI promises), then @done(@data) on the main
 * loop. Every plugin call goes this way: HTTP and redirect logins, the
 * D-Bus user management. -ESHUTDOWN when the worker is gone (stopping).
 */
int gb_auth_queue_work(struct gb_daemon *daemon, gb_auth_work_run run, gb_auth_work_done done,
                       void *data);
/**
 * After a reload: the plugins of @registry (taken over; the old registry is
 * cleared) are the ones in force, listed in @plugins (taken over, free()).
 * Swapped under the lock: no plugin call can be in an old plugin after it.
 */
void gb_auth_replace_plugins(struct gb_daemon *daemon, struct gb_plugin_registry *registry,
                             struct gb_plugin **plugins, size_t n_plugins);

/* static.c */
/** The web client under server.web_dir, on every path no other route takes. */
void gb_static_add_routes(struct gb_daemon *daemon);
/** Close server.web_dir. */
void gb_static_stop(struct gb_daemon *daemon);

/* sessions.c */
/**
 * The session of the identity (@identity_namespace, @user) that is starting
 * or running (not stopping), or NULL. A bare user name never finds one: the
 * same name from two namespaces is two people.
 */
struct gb_daemon_session *gb_session_find(struct gb_daemon *daemon, const char *identity_namespace,
                                          const char *user);
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
/** The spawner of server.spawner: connect, adopt the sessions a previous
 * glassboxd left running. 0 or a negative errno, logged. */
int gb_sessions_init(struct gb_daemon *daemon);
/** True when sessions outlive glassboxd (systemd): stopping glassboxd then
 * leaves them running and only closes the WebSockets. */
bool gb_sessions_survive_restart(struct gb_daemon *daemon);
/** Viewers of every session detached, for a stop that keeps the sessions. */
void gb_sessions_detach_relays(struct gb_daemon *daemon);

/* auth-store.c: the logins table kept in <runtime_dir>/logins (0600), so
 * that relays reconnect with their cookie after a restart. */
/** Save soon (from an idle callback); call whenever a login is added or removed. */
void gb_login_store_changed(struct gb_daemon *daemon);
/** Save now; 0 or a negative errno (logged). */
int gb_login_store_save(struct gb_daemon *daemon);
/**
 * What a previous glassboxd saved (login-store.h), less the expired logins
 * and those @check refuses: NULL when there is nothing to restore.
 */
GPtrArray *gb_login_store_load(struct gb_daemon *daemon, gb_login_store_check check, void *data,
                               unsigned *skipped);
/** <runtime_dir>/logins (g_free it). */
char *gb_login_store_path(struct gb_daemon *daemon);
void gb_login_store_fini(struct gb_daemon *daemon);
/** Restore the logins a previous glassboxd saved (auth.c). */
void gb_auth_restore_logins(struct gb_daemon *daemon);

/* relay.c */
/** GET /api/session, the signalling WebSocket (gb_http_add_route()). */
void gb_relay_add_routes(struct gb_daemon *daemon);
/** Closes the WebSockets of a login that ended; register it with the daemon as data. */
extern const struct gb_events_listener gb_relay_events;
/** After the main loop: free the viewers whose close did not complete. */
void gb_relays_destroy_all(struct gb_daemon *daemon);

#endif
