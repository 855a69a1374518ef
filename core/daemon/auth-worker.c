/* SPDX-License-Identifier: MIT */
/*
 * The auth plugins and the one worker thread that calls them: loading them
 * (at start and for a reload), swapping them, and the queue every plugin
 * call goes through (gb_auth_queue_work()): HTTP and redirect logins
 * (struct gb_auth_job, answered on the main loop), the D-Bus user
 * management, the users a reload checks the logins against. The lock
 * around the calls is taken here only: the ABI promises a plugin never
 * sees two calls at once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "auth-private.h"
#include "auth.h"
#include "daemon.h"
#include "dropin.h"
#include "error.h"
#include "http.h"
#include "log.h"
#include "login-limits.h"

#define LISTED_USERS_MAX 100000 /* more, and a reload does not check logins against them */

int gb_auth_load_plugins(const struct gb_config *config, const struct gb_host *host,
                         struct gb_plugin_registry *registry, struct gb_plugin ***plugins,
                         size_t *n_plugins, char *error, size_t error_size)
{
	char dropin_error[GB_DROPIN_ERROR_MAX];
	struct gb_dropin_set set = { 0 };
	struct gb_plugin **list = NULL;
	size_t count = 0;
	int r;

	*plugins = NULL;
	*n_plugins = 0;
	r = gb_plugin_registry_init(registry, host, config->plugins.plugin_dir);
	if (r < 0) {
		gb_error_set(error, error_size,
		             "cannot set up the plugin registry (plugins.plugin_dir "
		             "%s): %s",
		             config->plugins.plugin_dir, strerror(-r));
		return r;
	}
	r = gb_dropin_set_load(&set, config->plugins.vendor_dir, config->plugins.config_dir,
	                       dropin_error, sizeof(dropin_error));
	if (r < 0) {
		gb_error_set(error, error_size, "%s", dropin_error);
		return r;
	}
	/* As gb_plugin_registry_load_all(), one drop-in at a time, so that the
	 * error can name the one that failed; the loader has logged why. */
	for (size_t i = 0; i < set.count; i++) {
		const struct gb_dropin *dropin = &set.items[i];

		if (dropin->kind != GB_PLUGIN_KIND_AUTH || !dropin->enabled)
			continue;
		r = gb_plugin_registry_load(registry, dropin);
		if (r >= 0)
			continue;
		if (dropin->optional) {
			gb_log_full(GB_LOG_WARNING, dropin->name,
			            "optional plugin auth-%s skipped (drop-in %s): %s",
			            dropin->name, dropin->path ? dropin->path : "?", strerror(-r));
			continue;
		}
		gb_error_set(error, error_size,
		             "%s: plugin auth-%s could not be loaded: %s (the "
		             "line before says why)",
		             dropin->path ? dropin->path : "?", dropin->name, strerror(-r));
		goto out;
	}

	list = calloc(registry->count ? registry->count : 1, sizeof(*list));
	if (!list) {
		r = -ENOMEM;
		gb_error_set(error, error_size, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < registry->count; i++)
		if (registry->plugins[i]->descriptor->kind == GB_PLUGIN_KIND_AUTH)
			list[count++] = registry->plugins[i];
	if (count == 0) {
		free(list);
		r = -ENOENT;
		gb_error_set(error, error_size,
		             "no auth plugin is enabled in %s or %s: nobody could "
		             "log in",
		             config->plugins.vendor_dir, config->plugins.config_dir);
		goto out;
	}
	*plugins = list;
	*n_plugins = count;
	r = 0;
out:
	gb_dropin_set_clear(&set);
	return r;
}

struct gb_plugin *const *gb_auth_plugins(struct gb_daemon *daemon, size_t *n_plugins)
{
	*n_plugins = daemon->auth->n_plugins;
	return daemon->auth->plugins;
}

struct gb_plugin *gb_auth_find_plugin(struct gb_daemon *daemon, enum gb_plugin_kind kind,
                                      const char *name)
{
	return gb_plugin_registry_find(&daemon->auth->registry, kind, name);
}

unsigned gb_auth_login_count(struct gb_daemon *daemon)
{
	return daemon->auth->logins ? g_hash_table_size(daemon->auth->logins) : 0;
}

int gb_auth_new(struct gb_daemon *daemon)
{
	struct gb_auth *auth = g_new0(struct gb_auth, 1);
	char error[GB_DROPIN_ERROR_MAX];
	int r;

	g_mutex_init(&auth->lock);
	daemon->auth = auth;
	r = gb_auth_load_plugins(daemon->config, &daemon->host, &auth->registry, &auth->plugins,
	                         &auth->n_plugins, error, sizeof(error));
	if (r < 0) {
		gb_error("%s", error);
		gb_auth_free(daemon);
	}
	return r;
}

void gb_auth_free(struct gb_daemon *daemon)
{
	struct gb_auth *auth = daemon->auth;

	free(auth->plugins);
	gb_plugin_registry_clear(&auth->registry);
	g_mutex_clear(&auth->lock);
	g_free(auth);
	daemon->auth = NULL;
}

const char *gb_auth_plugin_namespace(const struct gb_plugin *plugin)
{
	return plugin->identity_namespace ? plugin->identity_namespace : plugin->descriptor->name;
}

const char *gb_auth_namespace_of(struct gb_daemon *daemon, const char *plugin)
{
	for (size_t i = 0; plugin && i < daemon->auth->n_plugins; i++)
		if (strcmp(daemon->auth->plugins[i]->descriptor->name, plugin) == 0)
			return gb_auth_plugin_namespace(daemon->auth->plugins[i]);
	return NULL;
}

bool gb_auth_plugin_is_enabled(struct gb_daemon *daemon, const char *name)
{
	for (size_t i = 0; i < daemon->auth->n_plugins; i++)
		if (strcmp(daemon->auth->plugins[i]->descriptor->name, name) == 0)
			return true;
	return false;
}

static void collect_user(void *data, const char *user, uint32_t roles)
{
	GHashTable *users = data;

	if (user && g_hash_table_size(users) < LISTED_USERS_MAX)
		g_hash_table_insert(users, g_strdup(user), GUINT_TO_POINTER(roles));
}

/*
 * The users of each plugin that can list them (auth-local's users file, as
 * the reload read it again): name -> roles, in a table per plugin name. A
 * plugin that cannot list them, or fails to, has no table: its logins stay.
 */
GHashTable *gb_auth_list_users(struct gb_daemon *daemon)
{
	GHashTable *by_plugin = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
	                                              (GDestroyNotify)g_hash_table_unref);

	g_mutex_lock(&daemon->auth->lock);
	for (size_t i = 0; i < daemon->auth->n_plugins; i++) {
		const struct gb_plugin *plugin = daemon->auth->plugins[i];
		const struct gb_auth_ops *ops = plugin->descriptor->ops;
		GHashTable *users;

		if (!ops || !GB_AUTH_OPS_HAS(ops, list_users))
			continue;
		users = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
		if (ops->list_users(plugin->state, collect_user, users) < 0 ||
		    g_hash_table_size(users) >= LISTED_USERS_MAX) {
			g_hash_table_unref(users);
			continue;
		}
		g_hash_table_insert(by_plugin, g_strdup(plugin->descriptor->name), users);
	}
	g_mutex_unlock(&daemon->auth->lock);
	return by_plugin;
}

/* --- jobs on the login worker --------------------------------------------------------- */

/* Attempts are counted as failures when let through, before the check, and
 * given back when they succeed or are never checked (login-limits.h). */
void gb_auth_count_failure(struct gb_daemon *daemon, const char *address_key, const char *user)
{
	gb_login_limits_count(daemon->auth->limits, address_key, user, g_get_monotonic_time());
}

void gb_auth_charge_attempt(struct gb_auth_job *job, const char *user)
{
	gb_auth_count_failure(job->daemon, job->address_key, user);
	job->charged = true;
	job->charged_us = g_get_monotonic_time();
	g_free(job->charged_user);
	job->charged_user = g_strdup(user);
}

void gb_auth_refund_attempt(struct gb_auth_job *job)
{
	struct gb_daemon *daemon = job->daemon;

	if (!job->charged || !daemon->auth->limits)
		return;
	job->charged = false;
	gb_login_limits_uncount(daemon->auth->limits, job->address_key, job->charged_user,
	                        job->charged_us);
}

static void job_free(struct gb_auth_job *job)
{
	if (job->finished_handler)
		g_signal_handler_disconnect(job->msg, job->finished_handler);
	g_object_unref(job->msg);
	g_free(job->peer);
	g_free(job->address_key);
	g_free(job->charged_user);
	job->free(job);
}

void gb_auth_job_finish(struct gb_auth_job *job)
{
	struct gb_daemon *daemon = job->daemon;

	daemon->auth->pending_logins--;
	if (gb_http_serving(daemon) && !job->gone)
		soup_server_message_unpause(job->msg);
	job_free(job);
}

static gboolean finish_later(gpointer data)
{
	gb_auth_job_finish(data);
	return G_SOURCE_REMOVE;
}

void gb_auth_job_finish_at(struct gb_auth_job *job, gint64 due_us)
{
	gint64 now = g_get_monotonic_time();

	if (due_us > now && gb_http_serving(job->daemon))
		g_timeout_add((guint)((due_us - now) / 1000), finish_later, job);
	else
		gb_auth_job_finish(job);
}

/* --- the worker ------------------------------------------------------------------------ */

/* One piece of work for the worker thread, and its end on the main loop. */
struct work {
	struct gb_daemon *daemon;
	gb_auth_work_run run;
	gb_auth_work_done done;
	void *data;
};

/* Back on the main loop. */
static gboolean work_ran(gpointer data)
{
	struct work *work = data;

	work->daemon->auth->work_in_flight--;
	work->done(work->data);
	g_free(work);
	return G_SOURCE_REMOVE;
}

/*
 * The worker thread: one piece of work at a time, with the plugins as they
 * are under the lock. The lock is taken here and only here off the main
 * loop: the ABI promises a plugin never sees two calls at once, and a
 * reload swaps the plugins under it (gb_auth_replace_plugins()).
 */
static void run_work(gpointer data, gpointer pool_data)
{
	struct work *work = data;
	struct gb_daemon *daemon = work->daemon;

	g_mutex_lock(&daemon->auth->lock);
	work->run(work->data, daemon->auth->plugins, daemon->auth->n_plugins);
	g_mutex_unlock(&daemon->auth->lock);
	g_idle_add(work_ran, work);
}

int gb_auth_queue_work(struct gb_daemon *daemon, gb_auth_work_run run, gb_auth_work_done done,
                       void *data)
{
	struct work *work;

	if (!daemon->auth->pool)
		return -ESHUTDOWN;
	work = g_new0(struct work, 1);
	work->daemon = daemon;
	work->run = run;
	work->done = done;
	work->data = data;
	daemon->auth->work_in_flight++;
	g_thread_pool_push(daemon->auth->pool, work, NULL);
	return 0;
}

int gb_auth_worker_start(struct gb_daemon *daemon)
{
	g_autoptr(GError) error = NULL;

	daemon->auth->pool = g_thread_pool_new(run_work, daemon, 1, TRUE, &error);
	if (!daemon->auth->pool) {
		gb_error("cannot start the password-checking thread: %s", error->message);
		return -ENOMEM;
	}
	return 0;
}

void gb_auth_worker_stop(struct gb_daemon *daemon)
{
	if (!daemon->auth->pool)
		return;
	/* Finish the queued jobs (at most GB_LOGINS_PENDING_MAX), then let their
	 * answers, queued on the main loop, free them. */
	g_thread_pool_free(daemon->auth->pool, FALSE, TRUE);
	daemon->auth->pool = NULL;
	for (int i = 0; daemon->auth->work_in_flight && i < 10000; i++)
		g_main_context_iteration(NULL, TRUE);
}

void gb_auth_replace_plugins(struct gb_daemon *daemon, struct gb_plugin_registry *registry,
                             struct gb_plugin **plugins, size_t n_plugins)
{
	struct gb_plugin_registry old_registry;
	struct gb_plugin **old_plugins;

	/* No plugin call can be running once we hold the lock. */
	g_mutex_lock(&daemon->auth->lock);
	old_registry = daemon->auth->registry;
	old_plugins = daemon->auth->plugins;
	daemon->auth->registry = *registry;
	daemon->auth->plugins = plugins;
	daemon->auth->n_plugins = n_plugins;
	g_mutex_unlock(&daemon->auth->lock);
	gb_plugin_registry_clear(&old_registry);
	free(old_plugins);
}

/* An HTTP job through the worker. */
static void job_run(void *data, struct gb_plugin *const *plugins, size_t n_plugins)
{
	struct gb_auth_job *job = data;

	job->run(job, plugins, n_plugins);
}

static void job_done(void *data)
{
	struct gb_auth_job *job = data;

	job->done(job);
}

static void job_request_finished(SoupServerMessage *msg, gpointer data)
{
	struct gb_auth_job *job = data;

	job->gone = true;
}

int gb_auth_job_queue(struct gb_auth_job *job, struct gb_daemon *daemon, SoupServerMessage *msg)
{
	job->daemon = daemon;
	job->msg = g_object_ref(msg);
	if (!job->peer)
		job->peer = g_strdup(gb_http_peer(msg));
	if (!job->address_key)
		job->address_key = gb_address_key(job->peer);
	job->started_us = g_get_monotonic_time();
	if (daemon->auth->pending_logins >= GB_LOGINS_PENDING_MAX || !daemon->auth->pool) {
		gb_http_reply_error(msg, SOUP_STATUS_SERVICE_UNAVAILABLE,
		                    "too many logins at once; try again");
		gb_auth_refund_attempt(job); /* never checked: not a failure */
		job_free(job);
		return -EAGAIN;
	}
	job->finished_handler =
	        g_signal_connect(msg, "finished", G_CALLBACK(job_request_finished), job);
	daemon->auth->pending_logins++;
	soup_server_message_pause(msg);
	gb_auth_queue_work(daemon, job_run, job_done, job);
	return 0;
}
