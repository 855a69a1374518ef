/* SPDX-License-Identifier: MIT */
/*
 * What auth.c (password logins, cookies, limits) shares with
 * auth-redirect.c (logins through a provider) and metrics.c: the jobs that
 * run on the login worker, making a login, and the failure limits.
 */
#ifndef GB_AUTH_PRIVATE_H
#define GB_AUTH_PRIVATE_H

#include <stdbool.h>

#include <libsoup/soup.h>

#include "daemon.h"
#include "login-limits.h"

/* The auth object's state (daemon->auth). */
struct gb_auth {
	struct gb_plugin_registry registry; /* the auth plugins' */
	struct gb_plugin **plugins;         /* the loaded auth plugins, in drop-in order */
	size_t n_plugins;
	GThreadPool *pool; /* one thread: plugins are called one at a time */
	/* Held around every call into an auth plugin's ops (the worker,
	 * run_work()) and while a reload swaps them: the ABI promises a plugin
	 * never sees two calls at once. Taken in auth.c only. */
	GMutex lock;
	GHashTable *logins;             /* key -> struct gb_login */
	GHashTable *bindings;           /* redirect logins under way (auth-redirect.c) */
	struct gb_login_limits *limits; /* failed logins (login-limits.h) */
	unsigned pending_logins; /* HTTP jobs on the worker, at most GB_LOGINS_PENDING_MAX */
	unsigned work_in_flight; /* everything on the worker (gb_auth_queue_work()) */
	guint sweep_timer;
	guint expiry_timer;   /* at the next login's expiry (gb_auth_schedule_expiry) */
	gint64 expiry_due_us; /* the expiry expiry_timer is set for */
	guint store_idle;     /* a save of the logins table is queued (auth-store.c) */
};

/*
 * One piece of work for the login worker thread: a plugin call, with the
 * request it answers paused meanwhile. Embed it first in a bigger struct.
 */
struct gb_auth_job {
	struct gb_daemon *daemon;
	SoupServerMessage *msg; /* a reference; paused while the job is out */
	char *peer;             /* the client's address, for logs and limits */
	char *address_key;      /* its key in the per-address failure table */
	gint64 started_us;
	gulong finished_handler;
	bool gone; /* the client went away: nobody to answer */
	/* Counted as a failure before it ran (gb_auth_charge_attempt). */
	bool charged;
	gint64 charged_us;
	char *charged_user; /* may be NULL: the address only */

	/* On the worker thread, with the lock held: the plugins are these. */
	void (*run)(struct gb_auth_job *job, struct gb_plugin *const *plugins, size_t n_plugins);
	/* Back on the main loop, also while stopping (daemon->server NULL: do
	 * not answer). Ends with gb_auth_job_finish() or _finish_at(). */
	void (*done)(struct gb_auth_job *job);
	/* Frees what the bigger struct holds, not the job's own members. */
	void (*free)(struct gb_auth_job *job);
};

/* auth-worker.c */
/** The worker thread (gb_auth_queue_work()); < 0 after logging why. */
int gb_auth_worker_start(struct gb_daemon *daemon);
/** Finish what is queued (its answers run on the main loop), then end the thread. */
void gb_auth_worker_stop(struct gb_daemon *daemon);
/** Free daemon->auth: the plugins, their registry, the lock. */
void gb_auth_free(struct gb_daemon *daemon);
/**
 * The users of each plugin that can list them (auth-local's users file, as a
 * reload read it again): plugin name -> (user name -> roles). A plugin that
 * cannot list them, or fails to, has no table.
 */
GHashTable *gb_auth_list_users(struct gb_daemon *daemon);

/**
 * Pause @msg and queue @job. Returns 0, or -EAGAIN after answering 503 when
 * GB_LOGINS_PENDING_MAX jobs are waiting already (then @job is freed).
 */
int gb_auth_job_queue(struct gb_auth_job *job, struct gb_daemon *daemon, SoupServerMessage *msg);
/** Unpause the answer set on job->msg and free @job. */
void gb_auth_job_finish(struct gb_auth_job *job);
/** The same, but not before @due_us (g_get_monotonic_time()): failures all take as long. */
void gb_auth_job_finish_at(struct gb_auth_job *job, gint64 due_us);

/**
 * Answer 429 with Retry-After and return true when the client's address
 * (@address_key), or the user name tried (@user, may be NULL), has used up
 * its failures in the current window. Logs and audits it once per window.
 */
bool gb_auth_refuse_if_throttled(struct gb_daemon *daemon, SoupServerMessage *msg,
                                 const char *address_key, const char *user);
/**
 * Count one failed login against @address_key and, when not NULL, @user
 * (from any address, and from this one).
 */
void gb_auth_count_failure(struct gb_daemon *daemon, const char *address_key, const char *user);
/**
 * Count the attempt @job stands for as a failure of job->address_key and
 * @user (may be NULL) now, before it is checked, so that attempts in flight
 * count against the limits; job->daemon and job->address_key must be set.
 */
void gb_auth_charge_attempt(struct gb_auth_job *job, const char *user);
/** Take the charge back: the attempt succeeded or was never checked. */
void gb_auth_refund_attempt(struct gb_auth_job *job);

/**
 * Make a login for @identity (checked by @plugin): the cookie goes on @msg's
 * response headers, the login is audited and counted, and the user's
 * session is started. NULL (errno set) when no random token could be made;
 * nothing is answered either way.
 */
struct gb_login *gb_auth_add_login(struct gb_daemon *daemon, SoupServerMessage *msg,
                                   const struct gb_identity *identity, const char *plugin,
                                   const char *peer);

#endif
