/* SPDX-License-Identifier: MIT */
/*
 * Sessions: one per user; every browser tab of that user is a viewer of it.
 * A session with no viewer ends after session.idle_timeout_s; one that ends
 * by itself is reported to its viewers. This file keeps that bookkeeping;
 * how the session's process is started and stopped is the spawner's
 * (spawner.h): fork/exec (spawner-direct.c) or a systemd unit
 * (spawner-systemd.c), chosen by server.spawner.
 *
 * Nothing here blocks: the spawners report READY and the end from the main
 * loop.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "sessions.h"
#include "log.h"
#include "remove-tree.h"
#include "spawner.h"

static int make_id(char id[GB_SESSION_ID_LENGTH + 1])
{
	unsigned char bytes[GB_SESSION_ID_LENGTH / 2];

	int r = gb_random_bytes(bytes, sizeof(bytes));

	if (r < 0)
		return r;
	for (size_t i = 0; i < sizeof(bytes); i++)
		snprintf(id + 2 * i, 3, "%02x", bytes[i]);
	return 0;
}

void gb_sessions_clean_stale(struct gb_daemon *daemon)
{
	g_autofree char *path =
	        g_build_filename(daemon->config->server.runtime_dir, "sessions", NULL);
	DIR *dir = opendir(path);
	struct dirent *entry;

	if (!dir)
		return;
	while ((entry = readdir(dir))) {
		if (!gb_session_id_valid(entry->d_name))
			continue;
		gb_info("removing %s/%s, left by an earlier glassboxd", path, entry->d_name);
		gb_remove_tree_at(dirfd(dir), entry->d_name);
	}
	closedir(dir);
}

const char *gb_sessions_spawner_name(struct gb_daemon *daemon)
{
	return daemon->sessions ? daemon->sessions->spawner->name : "direct";
}

bool gb_sessions_iter_init(GHashTableIter *iter, struct gb_daemon *daemon)
{
	if (!daemon->sessions)
		return false;
	g_hash_table_iter_init(iter, daemon->sessions->table);
	return true;
}

struct gb_daemon_session *gb_session_lookup(struct gb_daemon *daemon, const char *id)
{
	return daemon->sessions ? g_hash_table_lookup(daemon->sessions->table, id) : NULL;
}

const char *gb_session_state_name(enum gb_session_state state)
{
	switch (state) {
	case GB_SESSION_STARTING:
		return "starting";
	case GB_SESSION_RUNNING:
		return "running";
	case GB_SESSION_STOPPING:
		return "stopping";
	case GB_SESSION_EXITED:
	default:
		return "exited";
	}
}

unsigned gb_sessions_count(struct gb_daemon *daemon)
{
	return daemon->sessions ? g_hash_table_size(daemon->sessions->table) : 0;
}

char *gb_identity_format(const char *identity_namespace, const char *user)
{
	return g_strdup_printf("%s:%s", identity_namespace, user);
}

struct gb_daemon_session *gb_session_find(struct gb_daemon *daemon, const char *identity_namespace,
                                          const char *user)
{
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, daemon->sessions->table);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		struct gb_daemon_session *session = value;

		if ((session->state == GB_SESSION_STARTING ||
		     session->state == GB_SESSION_RUNNING) &&
		    strcmp(session->user, user) == 0 &&
		    strcmp(session->identity_namespace, identity_namespace) == 0)
			return session;
	}
	return NULL;
}

static struct gb_daemon_session *session_new(struct gb_daemon *daemon, const char *id,
                                             const char *identity_namespace, const char *user)
{
	struct gb_daemon_session *session = g_new0(struct gb_daemon_session, 1);

	session->daemon = daemon;
	g_strlcpy(session->id, id, sizeof(session->id));
	session->user = g_strdup(user);
	session->identity_namespace = g_strdup(identity_namespace);
	session->identity = gb_identity_format(identity_namespace, user);
	session->state = GB_SESSION_STARTING;
	session->uid = (uid_t)-1;
	session->gid = (gid_t)-1;
	session->started_realtime_us = g_get_real_time();
	g_queue_init(&session->relays);
	return session;
}

static void session_free(struct gb_daemon_session *session)
{
	if (session->idle_timeout)
		g_source_remove(session->idle_timeout);
	g_free(session->user);
	g_free(session->identity_namespace);
	g_free(session->identity);
	g_free(session->dir);
	g_free(session->unit);
	g_free(session->socket_path);
	g_free(session->control_path);
	g_free(session->home);
	gb_login_free(session->login);
	g_free(session);
}

static void session_discard(struct gb_daemon_session *session)
{
	if (session->spawner_data)
		session->daemon->sessions->spawner->release(session, false);
	session_free(session);
}

static void end_relays(struct gb_daemon_session *session, const char *reason, gushort code)
{
	GList *link;

	while ((link = g_queue_peek_head_link(&session->relays))) {
		struct gb_session_relay *relay = link->data;

		relay->ops->ended(relay, reason, code);
	}
}

static void session_ended(struct gb_daemon_session *session, const char *how)
{
	struct gb_daemon *daemon = session->daemon;
	bool started = session->was_ready;
	g_autofree char *reason = NULL;

	session->state = GB_SESSION_EXITED;
	if (session->stop_reason)
		reason = g_strdup(session->stop_reason);
	else if (!started)
		reason = g_strdup_printf("the session could not start (it %s)", how);
	else
		reason = g_strdup_printf("the session %s", how);
	if (session->stop_reason)
		gb_info("session %s of user '%s' %s after it was stopped: %s", session->id,
		        session->user, how, session->stop_reason);
	else
		gb_info("session %s of user '%s' %s%s", session->id, session->user, how,
		        started ? "" : " before it was ready");
	/* A session that never became ready failed; one that did just ended. */
	end_relays(session, reason, started ? 1000 : 1011 /* server error */);

	g_hash_table_remove(daemon->sessions->table, session->id);
	gb_events_emit_session_removed(&daemon->events, session, reason);
	daemon->sessions->spawner->release(session, true);
	session_free(session);
}

void gb_session_stop(struct gb_daemon_session *session, const char *reason)
{
	if (session->state == GB_SESSION_STOPPING || session->state == GB_SESSION_EXITED)
		return;
	gb_info("stopping session %s of user '%s': %s", session->id, session->user, reason);
	session->state = GB_SESSION_STOPPING;
	session->stop_reason = reason;
	if (session->idle_timeout)
		g_source_remove(session->idle_timeout);
	session->idle_timeout = 0;
	if (session->preparing) {
		/* No process yet: it ends here; its mounts stop when it leaves the table. */
		session_ended(session, "was stopped before it started");
		return;
	}
	session->daemon->sessions->spawner->stop(session);
}

void gb_sessions_stop_all(struct gb_daemon *daemon)
{
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, daemon->sessions->table);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		gb_session_stop(value, "glassboxd is stopping");
}

static gboolean idle_expired(gpointer data)
{
	struct gb_daemon_session *session = data;

	session->idle_timeout = 0;
	gb_session_stop(session, "no viewer for session.idle_timeout_s");
	return G_SOURCE_REMOVE;
}

static void start_idle_timer(struct gb_daemon_session *session)
{
	int timeout = session->daemon->config->session.idle_timeout_s;

	if (timeout <= 0 || session->idle_timeout || session->state != GB_SESSION_RUNNING ||
	    session->daemon->stopping)
		return;
	gb_info("session %s of user '%s' has no viewer; ending it in %d s unless one comes",
	        session->id, session->user, timeout);
	session->idle_timeout = g_timeout_add_seconds((guint)timeout, idle_expired, session);
}

static void mark_ready(struct gb_daemon_session *session)
{
	if (session->state != GB_SESSION_STARTING)
		return;
	session->state = GB_SESSION_RUNNING;
	session->was_ready = true;
	if (session->unit)
		gb_info("session %s of user '%s' is ready (unit %s, %u viewer%s)", session->id,
		        session->user, session->unit, session->relays.length,
		        session->relays.length == 1 ? "" : "s");
	else
		gb_info("session %s of user '%s' is ready (pid %d, %u viewer%s)", session->id,
		        session->user, (int)session->pid, session->relays.length,
		        session->relays.length == 1 ? "" : "s");
	for (GList *link = session->relays.head; link;) {
		GList *next = link->next;
		struct gb_session_relay *relay = link->data;

		relay->ops->ready(relay);
		link = next;
	}
	if (session->relays.length == 0)
		start_idle_timer(session);
}

static void log_starting(struct gb_daemon_session *session)
{
	struct gb_daemon *daemon = session->daemon;

	if (session->preparing)
		gb_info("session %s: preparing for user '%s' (its mounts first; identity %s, %u "
		        "of %d sessions)",
		        session->id, session->user, session->identity, gb_sessions_count(daemon),
		        daemon->config->server.max_sessions);
	else if (session->unit)
		gb_info("session %s: starting for user '%s' (unit %s, identity %s, %u of %d "
		        "sessions)",
		        session->id, session->user, session->unit, session->identity,
		        gb_sessions_count(daemon), daemon->config->server.max_sessions);
	else
		gb_info("session %s: starting for user '%s' (pid %d, identity %s, %u of %d "
		        "sessions)",
		        session->id, session->user, (int)session->pid, session->identity,
		        gb_sessions_count(daemon), daemon->config->server.max_sessions);
}

void gb_sessions_set_hooks(struct gb_daemon *daemon, const struct gb_session_hooks *hooks,
                           void *data)
{
	daemon->sessions->hooks = hooks;
	daemon->sessions->hooks_data = data;
}

void gb_session_prepared(struct gb_daemon_session *session)
{
	struct gb_login *login = session->login;
	int r;

	if (!session->preparing)
		return;
	session->preparing = false;
	session->login = NULL;
	r = session->daemon->sessions->spawner->start(session, login);
	gb_login_free(login);
	if (r < 0) {
		g_autofree char *how = g_strdup_printf("could not be started (%s)", strerror(-r));

		session_ended(session, how);
		return;
	}
	log_starting(session);
}

/* A copy of @login for a session that starts later; the token's hash is not kept. */
static struct gb_login *login_copy(const struct gb_login *login)
{
	struct gb_login *copy = g_new0(struct gb_login, 1);

	*copy = *login;
	copy->key = NULL;
	return copy;
}

struct gb_daemon_session *gb_session_start(struct gb_daemon *daemon, const struct gb_login *login)
{
	struct gb_sessions *sessions = daemon->sessions;
	struct gb_daemon_session *session;
	char id[GB_SESSION_ID_LENGTH + 1];
	int r;

	if (gb_sessions_count(daemon) >= (unsigned)daemon->config->server.max_sessions) {
		errno = EAGAIN;
		return NULL;
	}
	r = make_id(id);
	if (r < 0) {
		gb_error("user '%s': cannot get random bytes for a session id: %s", login->user,
		         strerror(-r));
		errno = -r;
		return NULL;
	}
	session = session_new(daemon, id, login->identity_namespace, login->user);
	session->system_account = login->system_account;
	r = sessions->spawner->account ? sessions->spawner->account(session, login) : 0;
	if (r == 0 && sessions->hooks && sessions->hooks->prepare) {
		/* In the table first: prepare() may find it there. */
		g_hash_table_insert(sessions->table, session->id, session);
		session->preparing = true;
		session->login = login_copy(login);
		if (!sessions->hooks->prepare(sessions->hooks_data, session)) {
			g_hash_table_steal(sessions->table, session->id);
			session->preparing = false;
			gb_login_free(session->login);
			session->login = NULL;
		} else {
			gb_events_emit_session_added(&daemon->events, session);
			log_starting(session);
			return session;
		}
	}
	if (r == 0)
		r = sessions->spawner->start(session, login);
	if (r < 0) {
		session_discard(session);
		errno = -r;
		return NULL;
	}
	g_hash_table_insert(sessions->table, session->id, session);
	gb_events_emit_session_added(&daemon->events, session);
	log_starting(session);
	return session;
}

static void session_adopted(struct gb_daemon_session *session, bool running)
{
	struct gb_daemon *daemon = session->daemon;

	g_hash_table_insert(daemon->sessions->table, session->id, session);
	gb_events_emit_session_added(&daemon->events, session);
	gb_info("session %s of user '%s': adopted %s unit %s (%u of %d sessions)", session->id,
	        session->user, running ? "running" : "starting", session->unit,
	        gb_sessions_count(daemon), daemon->config->server.max_sessions);
	if (running) {
		/* It was ready before we came: it has been viewed, its viewers rejoin. */
		session->viewed = true;
		mark_ready(session);
	}
	if (daemon->sessions->hooks && daemon->sessions->hooks->adopted)
		daemon->sessions->hooks->adopted(daemon->sessions->hooks_data, session);
}

void gb_session_add_relay(struct gb_daemon_session *session, struct gb_session_relay *relay)
{
	relay->session = session;
	relay->link.data = relay;
	g_queue_push_tail_link(&session->relays, &relay->link);
	session->viewed = true;
	gb_events_emit_relays_changed(&session->daemon->events);
	if (session->idle_timeout) {
		g_source_remove(session->idle_timeout);
		session->idle_timeout = 0;
	}
	if (session->state == GB_SESSION_RUNNING)
		relay->ops->ready(relay);
}

void gb_session_remove_relay(struct gb_daemon_session *session, struct gb_session_relay *relay)
{
	g_queue_unlink(&session->relays, &relay->link);
	relay->session = NULL;
	gb_events_emit_relays_changed(&session->daemon->events);
	if (session->relays.length == 0)
		start_idle_timer(session);
}

bool gb_sessions_survive_restart(struct gb_daemon *daemon)
{
	return daemon->sessions && daemon->sessions->spawner->keeps_sessions;
}

/* No "ended" for its relays: the pages reconnect to the next glassboxd. */
static void detach_relays(struct gb_daemon_session *session)
{
	GList *link;

	while ((link = g_queue_peek_head_link(&session->relays)))
		gb_session_remove_relay(session, link->data);
}

void gb_sessions_detach_relays(struct gb_daemon *daemon)
{
	GHashTableIter iter;
	gpointer value;

	if (!daemon->sessions)
		return;
	/* Their WebSockets stay open until glassboxd exits and then close. */
	g_hash_table_iter_init(&iter, daemon->sessions->table);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		detach_relays(value);
}

static struct gb_daemon_session *adopt(struct gb_daemon *daemon, const char *id,
                                       const char *identity_namespace, const char *user)
{
	if (g_hash_table_contains(daemon->sessions->table, id) ||
	    gb_session_find(daemon, identity_namespace, user)) {
		gb_warning("session %s of user '%s' is known already; not adopting it twice", id,
		           user);
		return NULL;
	}
	return session_new(daemon, id, identity_namespace, user);
}

static void session_failed(struct gb_daemon_session *session, const char *reason)
{
	gb_session_stop(session, reason);
}

static const struct gb_spawner_events spawner_events = {
	.ready = mark_ready,
	.ended = session_ended,
	.failed = session_failed,
	.adopt = adopt,
	.adopted = session_adopted,
	.discard = session_discard,
};

int gb_sessions_init(struct gb_daemon *daemon, const struct gb_spawner_ops *spawner)
{
	daemon->sessions = g_new0(struct gb_sessions, 1);
	daemon->sessions->spawner = spawner;
	daemon->sessions->events = &spawner_events;
	daemon->sessions->table = g_hash_table_new(g_str_hash, g_str_equal);
	gb_sessions_clean_stale(daemon);
	gb_info("sessions are started by the %s spawner (server.spawner)",
	        daemon->sessions->spawner->name);
	return daemon->sessions->spawner->init ? daemon->sessions->spawner->init(daemon) : 0;
}

void gb_sessions_destroy_all(struct gb_daemon *daemon)
{
	GHashTableIter iter;
	gpointer value;

	if (!daemon->sessions)
		return;
	g_hash_table_iter_init(&iter, daemon->sessions->table);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		struct gb_daemon_session *session = value;

		if (daemon->sessions->spawner->keeps_sessions) {
			gb_info("session %s of user '%s' (unit %s) keeps running", session->id,
			        session->user, session->unit);
			detach_relays(session);
			daemon->sessions->spawner->release(session, false);
		} else {
			gb_warning("session %s of user '%s' is still running; killing it",
			           session->id, session->user);
			daemon->sessions->spawner->abandon(session);
			end_relays(session, "glassboxd stopped", 1001);
			daemon->sessions->spawner->release(session, true);
		}
		g_hash_table_iter_remove(&iter);
		session_free(session);
	}
	g_hash_table_destroy(daemon->sessions->table);
	daemon->sessions->table = NULL;
	if (daemon->sessions->spawner->fini)
		daemon->sessions->spawner->fini(daemon);
	g_free(daemon->sessions);
	daemon->sessions = NULL;
}
