/* SPDX-License-Identifier: MIT */
/*
 * Reload: SIGHUP (`systemctl reload glassbox`, whose ExecReload sends it) or
 * the D-Bus Reload method. glassbox.conf and plugins.d are read again into
 * a new configuration and a new set of auth plugins, built aside; only when
 * both are complete are they swapped in, so a broken file costs one log
 * line and nothing else. The auth worker calls the plugins under its lock,
 * so the swap (gb_auth_replace_plugins()) takes that lock and the old
 * plugins are unloaded once no call can be in them.
 *
 * Running sessions are left alone: a session reads glassbox.conf itself
 * when it starts, so new sessions get the new session.* values. Logins
 * that an auth plugin no longer enabled vouched for end, and their
 * WebSockets close.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "auth.h"
#include "reload.h"
#include "sessions.h"
#include "error.h"
#include "log.h"
#include "spawner.h"

static bool same_string(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/* Keep @key at its running value in @next, with a warning, when it changed. */
static void keep_string(struct gb_daemon *daemon, const char *key, char **next,
                        const char *running)
{
	if (same_string(*next, running))
		return;
	gb_warning("reload: %s changed from \"%s\" to \"%s\" in %s; it takes effect at the next "
	           "restart (systemctl restart glassbox), the running value stays",
	           key, running, *next, daemon->config_path);
	free(*next);
	*next = strdup(running);
}

static void keep_restart_only_keys(struct gb_daemon *daemon, struct gb_config *next)
{
	const struct gb_server_config *running = &daemon->config->server;

	keep_string(daemon, "server.listen", &next->server.listen, running->listen);
	keep_string(daemon, "server.tls_certificate", &next->server.tls_certificate,
	            running->tls_certificate);
	keep_string(daemon, "server.tls_key", &next->server.tls_key, running->tls_key);
	keep_string(daemon, "server.state_dir", &next->server.state_dir, running->state_dir);
	keep_string(daemon, "server.runtime_dir", &next->server.runtime_dir, running->runtime_dir);
	keep_string(daemon, "server.web_dir", &next->server.web_dir, running->web_dir);
	if (next->server.spawner != running->spawner) {
		gb_warning("reload: server.spawner changed in %s; it takes effect at the next "
		           "restart, the running spawner (%s) stays",
		           daemon->config_path, gb_sessions_spawner_name(daemon));
		next->server.spawner = running->spawner;
	}
}

static int refuse(const char *reason, int r, char *error, size_t error_size)
{
	gb_error("reload refused: %s; the configuration in force is unchanged", reason);
	gb_error_set(error, error_size, "%s", reason);
	return r < 0 ? r : -EINVAL;
}

static char *plugin_names(struct gb_plugin *const *plugins, size_t n)
{
	GString *names = g_string_new(NULL);

	for (size_t i = 0; i < n; i++)
		g_string_append_printf(names, "%s%s", i ? ", " : "", plugins[i]->descriptor->name);
	return g_string_free(names, FALSE);
}

int gb_daemon_reload(struct gb_daemon *daemon, char *error, size_t error_size)
{
	char config_error[GB_CONFIG_ERROR_MAX];
	struct gb_plugin_registry registry = { 0 };
	struct gb_plugin **plugins = NULL;
	struct gb_config *config, *old_config;
	char plugin_error[GB_DROPIN_ERROR_MAX];
	g_autofree char *names = NULL;
	size_t n_plugins = 0;
	bool check;
	int r;

	gb_error_set(error, error_size, "reload refused");
	if (daemon->stopping)
		return refuse("glassboxd is stopping", -EBUSY, error, error_size);
	gb_info("reloading %s and the plugin drop-ins", daemon->config_path);
	gb_events_emit_reload_started(&daemon->events);

	config = gb_config_load(daemon->config_path, config_error, sizeof(config_error));
	if (!config) {
		r = refuse(config_error, -errno, error, error_size);
		gb_events_emit_reload_ended(&daemon->events, false);
		return r;
	}
	keep_restart_only_keys(daemon, config);
	check = !config->server.listen || !config->server.tls_certificate ||
	        !config->server.tls_key || !config->server.state_dir ||
	        !config->server.runtime_dir || !config->server.web_dir;
	if (check) {
		gb_config_free(config);
		r = refuse("out of memory", -ENOMEM, error, error_size);
		gb_events_emit_reload_ended(&daemon->events, false);
		return r;
	}

	r = gb_auth_load_plugins(config, &daemon->host, &registry, &plugins, &n_plugins,
	                         plugin_error, sizeof(plugin_error));
	if (r < 0) {
		gb_plugin_registry_clear(&registry);
		free(plugins);
		gb_config_free(config);
		r = refuse(plugin_error, r, error, error_size);
		gb_events_emit_reload_ended(&daemon->events, false);
		return r;
	}

	/* The swap: the plugins under auth's lock, the configuration (which the
	 * worker does not read) on the main loop. */
	gb_auth_replace_plugins(daemon, &registry, plugins, n_plugins);
	old_config = daemon->config;
	daemon->config = config;
	gb_config_free(old_config);

	if (!daemon->log_level_from_args)
		gb_log_set_level(daemon->config->log_level);
	names = plugin_names(gb_auth_plugins(daemon, &n_plugins), n_plugins);
	gb_info("reloaded %s: auth plugins %s; %u running session%s kept as they are",
	        daemon->config_path, names, gb_sessions_count(daemon),
	        gb_sessions_count(daemon) == 1 ? "" : "s");
	/* A plugin that is gone vouches for nobody any more. */
	gb_auth_end_orphaned_logins(daemon);
	gb_events_emit_reload_ended(&daemon->events, true);
	return 0;
}
