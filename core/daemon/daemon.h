/* SPDX-License-Identifier: MIT */
/*
 * glassboxd: the manager. One GLib main loop; everything runs on it except
 * the auth plugins' calls, which run one at a time on a worker thread
 * (auth-worker.c) so that a slow hash does not stall every relay. This is
 * the list of objects main.c creates (README.md, "Source layout") and the
 * limits they share.
 */
#ifndef GB_DAEMON_H
#define GB_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <glib.h>

#include <glassbox/auth.h>

#include "config.h"
#include "events.h"
#include "plugin-loader.h"
#include "secret.h"

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

struct gb_http;
struct gb_sessions;
struct gb_login_limits;
struct gb_metrics;
struct gb_auth;
struct gb_storage;
struct gb_remotes;
struct gb_transfer;

struct gb_daemon {
	char *config_path; /* absolute: handed to every session */
	struct gb_config *config;
	struct gb_host host;
	GMainLoop *loop;
	struct gb_events events; /* listeners of sessions and relays (events.h) */
	int exit_code;

	struct gb_http *http; /* the server, TLS, the connection limits (http.h) */

	struct gb_auth *auth;       /* the auth plugins, the worker, the logins (auth.h) */
	struct gb_metrics *metrics; /* metrics.c */

	struct gb_sessions *sessions; /* the sessions and their spawner (sessions.h) */
	struct gb_storage *storage;   /* the sessions' mounts and sidecars (storage.h) */
	struct gb_remotes *remotes;   /* the users' own storage remotes (remotes.h) */
	struct gb_transfer *transfer; /* files in the browser (transfer.h) */

	/* main.c: a stop under way, and the options a reload keeps */
	bool stopping;
	guint stop_timeout;
	bool log_level_from_args; /* --log-level given: a reload keeps it */
};

/**
 * @value, or the environment variable @name when it holds a number 1..@max
 * (tests lower limits this way; a warning is logged). Never set in production.
 */
unsigned gb_daemon_limit_from_environment(const char *name, unsigned value, unsigned max);

#endif
