/* SPDX-License-Identifier: MIT */
/*
 * glassboxd: the web client, logins through the auth plugins, the
 * signalling WebSocket and the sessions behind it. See README.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib-unix.h>

#include "gb-build-config.h"
#include "daemon.h"
#include "auth.h"
#include "http.h"
#include "relay.h"
#include "reload.h"
#include "sessions.h"
#include "storage.h"
#include "spawner.h"
#include "dbus.h"
#include "audit.h"
#include "dropin.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "remotes.h"
#include "transfer.h"

struct options {
	const char *config_path;
	const char *log_level;
	enum gb_dbus_mode dbus_mode;
};

static void usage(FILE *out)
{
	fprintf(out,
	        "Usage: glassboxd [OPTION...]\n"
	        "\n"
	        "The Glassbox manager: serves the web client, logs users in through the\n"
	        "auth plugins and starts one glassbox-session per user.\n"
	        "\n"
	        "  -c, --config=FILE      configuration file (default %s)\n"
	        "      --log-level=LEVEL  error, warning, info or debug (default: log.level)\n"
	        "      --dbus=MODE        the org.glassbox.Manager1 API: auto (default: without\n"
	        "                         a system bus, warn and go on), required, off\n"
	        "  -h, --help             show this help and exit\n"
	        "  -V, --version          show the version and exit\n"
	        "\n"
	        "Exit status: 0 after SIGTERM or SIGINT stopped it; 1 if it could not start\n"
	        "(configuration, plugins, TLS, listen address); 2 on a usage error.\n"
	        "See core/daemon/README.md.\n",
	        GB_DEFAULT_CONFIG);
}

/* Returns 0 to go on, 1 to exit successfully, -1 on a usage error. */
static int parse_options(int argc, char *argv[], struct options *options)
{
	enum {
		OPT_LOG_LEVEL = 256,
		OPT_DBUS,
	};
	static const struct option long_options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
		{ "dbus", required_argument, NULL, OPT_DBUS },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	options->config_path = GB_DEFAULT_CONFIG;
	while ((c = getopt_long(argc, argv, "c:hV", long_options, NULL)) != -1) {
		switch (c) {
		case 'c':
			options->config_path = optarg;
			break;
		case OPT_LOG_LEVEL:
			options->log_level = optarg;
			break;
		case OPT_DBUS:
			if (gb_dbus_mode_from_string(optarg, &options->dbus_mode) < 0) {
				fprintf(stderr,
				        "glassboxd: --dbus=%s: expected auto, required or off\n",
				        optarg);
				return -1;
			}
			break;
		case 'h':
			usage(stdout);
			return 1;
		case 'V':
			printf("glassboxd %s\n", GB_VERSION);
			return 1;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "glassboxd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return -1;
	}
	return 0;
}

/* A folder we own: made with @mode when missing, refused when not a folder. */
static int ensure_folder(const char *path, mode_t mode, const char *key)
{
	struct stat st;

	if (mkdir(path, mode) < 0 && errno != EEXIST) {
		int r = -errno;
		gb_error("cannot create %s (%s): %s", path, key, strerror(-r));
		return r;
	}
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		gb_error("%s (%s) is not a folder", path, key);
		return -ENOTDIR;
	}
	return 0;
}

static int prepare_folders(struct gb_daemon *daemon)
{
	const struct gb_server_config *server = &daemon->config->server;
	char *sessions;
	int r;

	r = ensure_folder(server->state_dir, 0700, "server.state_dir");
	if (r < 0)
		return r;
	r = ensure_folder(server->runtime_dir, 0755, "server.runtime_dir");
	if (r < 0)
		return r;
	sessions = g_build_filename(server->runtime_dir, "sessions", NULL);
	r = ensure_folder(sessions, 0700, "server.runtime_dir");
	if (r == 0 && chmod(sessions, 0700) < 0)
		r = -errno;
	g_free(sessions);
	return r;
}

static gboolean stop_timed_out(gpointer data)
{
	struct gb_daemon *daemon = data;

	daemon->stop_timeout = 0;
	gb_warning("sessions did not stop in time; exiting anyway");
	g_main_loop_quit(daemon->loop);
	return G_SOURCE_REMOVE;
}

/* Stopping ends when every session has exited and every WebSocket has closed. */
static void quit_if_done(struct gb_daemon *daemon)
{
	if (daemon->stopping && gb_sessions_count(daemon) == 0 && gb_relays_count(daemon) == 0 &&
	    !gb_storage_busy(daemon))
		g_main_loop_quit(daemon->loop);
}

static void session_gone(void *data, const struct gb_daemon_session *session, const char *reason)
{
	quit_if_done(data);
}

static void relay_gone(void *data)
{
	quit_if_done(data);
}

static void storage_idle(void *data)
{
	quit_if_done(data);
}

/* main.c's own interest in the events: the end of a stop. */
static const struct gb_events_listener stop_events = {
	.session_removed = session_gone,
	.relay_gone = relay_gone,
	.storage_idle = storage_idle,
};

/* sessions.c's hooks: a session's mounts before its process (storage.h). */
static const struct gb_session_hooks session_hooks = {
	.prepare = gb_storage_prepare,
	.adopted = gb_storage_adopted,
};

static void audit_session_added(void *data, const struct gb_daemon_session *session)
{
	gb_audit_session_start(session->id, session->identity_namespace, session->user);
}

static void audit_session_removed(void *data, const struct gb_daemon_session *session,
                                  const char *reason)
{
	gb_audit_session_stop(session->id, session->identity_namespace, session->user, reason);
}

/* The audit trail's sessions (audit.h knows no session objects). */
static const struct gb_events_listener audit_events = {
	.session_added = audit_session_added,
	.session_removed = audit_session_removed,
};

static gboolean handle_stop_signal(gpointer data)
{
	struct gb_daemon *daemon = data;

	if (daemon->stopping) {
		gb_info("stopping already; waiting for the sessions to end");
		return G_SOURCE_CONTINUE;
	}
	daemon->stopping = true;
	gb_notify_stopping(daemon);
	if (gb_sessions_survive_restart(daemon)) {
		/* The units keep running; the next glassboxd adopts them and the
		 * pages reconnect to it (their logins are in runtime_dir/logins). */
		gb_info("stopping: %u session%s keep running for the next glassboxd",
		        gb_sessions_count(daemon), gb_sessions_count(daemon) == 1 ? "" : "s");
		gb_http_stop(daemon);
		gb_sessions_detach_relays(daemon);
		g_main_loop_quit(daemon->loop);
		return G_SOURCE_CONTINUE;
	}
	gb_info("stopping: ending %u session%s", gb_sessions_count(daemon),
	        gb_sessions_count(daemon) == 1 ? "" : "s");
	gb_http_stop(daemon);
	gb_sessions_stop_all(daemon);
	/* The sessions get their grace period, SIGKILL, and a little more; their
	 * mounts, the time to upload what was written. */
	daemon->stop_timeout = g_timeout_add(daemon->config->session.stop_grace_ms + 5000 +
	                                             GB_STORAGE_FLUSH_TIMEOUT_S * 1000,
	                                     stop_timed_out, daemon);
	quit_if_done(daemon);
	return G_SOURCE_CONTINUE;
}

/* SIGHUP: `systemctl reload glassbox`. A refusal is logged by the reload. */
static gboolean handle_hangup(gpointer data)
{
	struct gb_daemon *daemon = data;

	gb_daemon_reload(daemon, NULL, 0);
	return G_SOURCE_CONTINUE;
}

/* The spawner server.spawner names (spawner.h). */
static const struct gb_spawner_ops *spawner_of(const struct gb_config *config)
{
	switch (config->server.spawner) {
	case GB_SPAWNER_SYSTEMD:
		return &gb_spawner_systemd;
	case GB_SPAWNER_DIRECT:
	default:
		return &gb_spawner_direct;
	}
}

/* Who hears of what (events.h). @hooks: N_LISTENERS of them. */
#define N_LISTENERS 8
static void add_listeners(struct gb_daemon *daemon, struct gb_events_hook *hooks)
{
	/* In this order: D-Bus signals first, then the audit trail, then STATUS=. */
	gb_events_add_listener(&daemon->events, &hooks[0], &gb_dbus_events, daemon);
	gb_events_add_listener(&daemon->events, &hooks[1], &audit_events, daemon);
	gb_events_add_listener(&daemon->events, &hooks[2], &gb_notify_events, daemon);
	gb_events_add_listener(&daemon->events, &hooks[3], &stop_events, daemon);
	gb_events_add_listener(&daemon->events, &hooks[4], &gb_metrics_events, daemon);
	gb_events_add_listener(&daemon->events, &hooks[5], &gb_relay_events, daemon);
	/* After the relays: a session's viewers hear of its end before its mounts flush. */
	gb_events_add_listener(&daemon->events, &hooks[6], &gb_storage_events, daemon);
	gb_events_add_listener(&daemon->events, &hooks[7], &gb_transfer_events, daemon);
}

/* The objects, in the order they depend on each other; 0, or < 0 after logging why. */
static int start_objects(struct gb_daemon *daemon, enum gb_dbus_mode dbus_mode)
{
	gb_host_init(&daemon->host, NULL);
	/* Only auth plugins belong to glassboxd; the others are the sessions'. */
	if (gb_auth_new(daemon) < 0) {
		gb_error("refusing to start without its auth plugins");
		return -1;
	}
	if (prepare_folders(daemon) < 0)
		return -1;
	if (gb_metrics_init(daemon) < 0 || gb_auth_init(daemon) < 0 || gb_remotes_init(daemon) < 0)
		return -1;
	gb_auth_redirect_init(daemon);
	gb_auth_restore_logins(daemon);
	if (gb_storage_init(daemon) < 0)
		return -1;
	if (gb_sessions_init(daemon, spawner_of(daemon->config)) < 0)
		return -1;
	gb_sessions_set_hooks(daemon, &session_hooks, daemon);
	if (gb_http_init(daemon) < 0)
		return -1;
	gb_static_add_routes(daemon);
	gb_auth_add_routes(daemon);
	gb_auth_redirect_add_routes(daemon);
	gb_metrics_add_routes(daemon);
	gb_relay_add_routes(daemon);
	gb_storage_add_routes(daemon);
	gb_remotes_add_routes(daemon);
	if (gb_transfer_init(daemon) < 0)
		return -1;
	gb_transfer_add_routes(daemon);
	if (gb_http_listen(daemon) < 0)
		return -1;
	return gb_dbus_start(daemon, dbus_mode) < 0 ? -1 : 0;
}

/* In reverse; each accepts what start_objects() did not get to. */
static void stop_objects(struct gb_daemon *daemon)
{
	gb_notify_fini(daemon);
	gb_http_stop(daemon);
	gb_static_stop(daemon);
	gb_dbus_stop(daemon);
	/* Only left when they outlived the stop's deadline. */
	gb_sessions_destroy_all(daemon);
	gb_relays_destroy_all(daemon);
	gb_storage_fini(daemon);
	gb_transfer_fini(daemon);
	if (daemon->stop_timeout)
		g_source_remove(daemon->stop_timeout);
	if (daemon->auth)
		gb_auth_redirect_fini(daemon);
	gb_remotes_fini(daemon);
	gb_auth_fini(daemon);
	gb_metrics_fini(daemon);
	gb_http_free(daemon);
}

int main(int argc, char *argv[])
{
	struct options options = { 0 };
	struct gb_daemon daemon = { .exit_code = 1 };
	char config_error[GB_CONFIG_ERROR_MAX];
	enum gb_log_level level;
	guint signal_sources[3] = { 0 };
	struct gb_events_hook hooks[N_LISTENERS];
	int r;

	r = parse_options(argc, argv, &options);
	if (r != 0)
		return r > 0 ? EXIT_SUCCESS : 2;

	gb_log_init("glassboxd", GB_LOG_INFO);
	if (options.log_level && gb_log_level_from_string(options.log_level, &level) < 0) {
		gb_error("--log-level=%s: expected error, warning, info or debug",
		         options.log_level);
		return 2;
	}

	daemon.config = gb_config_load(options.config_path, config_error, sizeof(config_error));
	if (!daemon.config) {
		gb_error("%s", config_error);
		gb_error("refusing to start with a broken configuration");
		return 1;
	}
	gb_log_set_level(options.log_level ? level : daemon.config->log_level);
	daemon.log_level_from_args = options.log_level != NULL;
	daemon.config_path = g_canonicalize_filename(options.config_path, NULL);

	/* A peer that goes away mid-write must cost an error, not the process. */
	signal(SIGPIPE, SIG_IGN);
	daemon.loop = g_main_loop_new(NULL, FALSE);
	signal_sources[0] = g_unix_signal_add(SIGTERM, handle_stop_signal, &daemon);
	signal_sources[1] = g_unix_signal_add(SIGINT, handle_stop_signal, &daemon);
	signal_sources[2] = g_unix_signal_add(SIGHUP, handle_hangup, &daemon);

	add_listeners(&daemon, hooks);
	if (start_objects(&daemon, options.dbus_mode) == 0) {
		daemon.exit_code = 0;
		gb_notify_init(&daemon);
		gb_notify_ready(&daemon);
		g_main_loop_run(daemon.loop);
		gb_info("stopped");
	}
	stop_objects(&daemon);
	for (int i = 2; i >= 0; i--)
		if (signal_sources[i])
			g_source_remove(signal_sources[i]);
	gb_events_clear(&daemon.events);
	g_main_loop_unref(daemon.loop);
	g_free(daemon.config_path);
	gb_config_free(daemon.config);
	return daemon.exit_code;
}
