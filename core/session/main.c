/* SPDX-License-Identifier: MIT */
/*
 * glassbox-session: one user session. A libweston compositor on the
 * headless backend, a kiosk-like shell, Xwayland, the application, and the
 * hooks the streaming pipeline hangs off.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <libweston/libweston.h>

#include "app.h"
#include "compositor.h"
#include "config.h"
#include "control.h"
#include "handoff.h"
#include "log.h"
#include "options.h"
#include "peer.h"
#include "plugin-loader.h"
#include "screenshot.h"
#include "session.h"
#include "shell.h"
#include "signal-socket.h"
#include "stream.h"
#include "xwayland.h"

/* Tell whoever started us that the session is up: "READY\n", then close. */
static void signal_ready(int *fd)
{
	static const char ready[] = "READY\n";
	ssize_t n;

	if (*fd < 0)
		return;
	do
		n = write(*fd, ready, sizeof(ready) - 1);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(ready) - 1)
		gb_warning("cannot write READY to --ready-fd %d: %s", *fd,
		           n < 0 ? strerror(errno) : "short write");
	close(*fd);
	*fd = -1;
}

/*
 * Under systemd (glassbox-session@.service, Type=notify): READY=1. The
 * socket is taken from NOTIFY_SOCKET at start and the variable removed, so
 * that neither the application nor anything it starts can speak for us.
 */
static char notify_socket[sizeof(((struct sockaddr_un *)0)->sun_path)];

static void take_notify_socket(void)
{
	const char *path = getenv("NOTIFY_SOCKET");

	if (path && (path[0] == '/' || path[0] == '@') && strlen(path) < sizeof(notify_socket))
		snprintf(notify_socket, sizeof(notify_socket), "%s", path);
	unsetenv("NOTIFY_SOCKET");
}

static void notify_systemd(const char *state)
{
	struct sockaddr_un address = { .sun_family = AF_UNIX };
	size_t length = strlen(notify_socket);
	int fd;

	if (length == 0)
		return;
	memcpy(address.sun_path, notify_socket, length);
	if (address.sun_path[0] == '@')
		address.sun_path[0] = '\0'; /* an abstract socket */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&address,
	                     (socklen_t)(offsetof(struct sockaddr_un, sun_path) + length)) < 0)
		gb_warning("cannot tell systemd %s (NOTIFY_SOCKET %s): %s", state, notify_socket,
		           strerror(errno));
	if (fd >= 0)
		close(fd);
}

static int handle_stop_signal(int signal_number, void *data)
{
	struct gb_session *session = data;

	gb_info("received %s", strsignal(signal_number));
	gb_app_terminate(session);
	return 1;
}

/* --screenshot: save the first frame that shows the application. */
struct first_frame_shot {
	struct gb_frame_listener listener;
	struct gb_session *session;
	const char *path;
	bool exit_after;
	bool requested;
};

static void first_frame_saved(void *data, int result)
{
	struct first_frame_shot *shot = data;

	if (result < 0) {
		gb_error("cannot save the first frame to %s: %s", shot->path, strerror(-result));
		shot->session->failed = true;
	} else {
		gb_info("saved the first frame showing the application to %s", shot->path);
	}
	if (shot->exit_after || result < 0)
		gb_app_terminate(shot->session);
}

static void first_frame(struct gb_frame_listener *listener, struct weston_output *output,
                        const pixman_region32_t *damage, const struct timespec *time)
{
	struct first_frame_shot *shot = wl_container_of(listener, shot, listener);

	if (shot->requested || shot->session->first_app_frame_ms < 0)
		return;
	shot->requested = true;
	wl_list_remove(&listener->link);
	wl_list_init(&listener->link);
	if (gb_screenshot_request(shot->session, shot->path, first_frame_saved, shot) < 0)
		first_frame_saved(shot, -ENOMEM);
}

/*
 * Streaming: each connection on the signal socket is one viewer, served by
 * a WebRTC peer on the stream. Neither knows the other; this is where they
 * meet.
 */
struct streaming {
	struct gb_session *session;
	struct gb_handoff *handoff;
};

static void peer_send(void *data, JsonNode *message)
{
	gb_signal_client_send(data, message);
}

static void peer_close(void *data, const char *error)
{
	gb_signal_client_close(data, error);
}

static const struct gb_peer_events peer_events = {
	.send = peer_send,
	.close = peer_close,
};

static void *viewer_connected(void *data, struct gb_signal_client *client)
{
	struct streaming *streaming = data;

	return gb_peer_create(streaming->session->stream, streaming->handoff,
	                      gb_signal_client_id(client), &peer_events, client);
}

static void viewer_message(void *data, void *viewer, JsonObject *message)
{
	gb_peer_handle_message(viewer, message);
}

static void viewer_disconnected(void *data, void *viewer)
{
	gb_peer_destroy(viewer);
}

static const struct gb_signal_events signal_events = {
	.connected = viewer_connected,
	.message = viewer_message,
	.disconnected = viewer_disconnected,
};

static int streaming_start(struct streaming *streaming, struct gb_session *session,
                           const char *signal_path)
{
	int r;

	streaming->session = session;
	streaming->handoff = gb_handoff_create(session->loop);
	if (!streaming->handoff) {
		r = -errno;
		gb_error("cannot start streaming: %s", strerror(-r));
		return r;
	}
	r = gb_stream_create(session, streaming->handoff);
	if (r < 0) {
		gb_error("cannot start streaming: %s", strerror(-r));
		return r;
	}
	r = gb_signal_create(session, signal_path, &signal_events, streaming);
	if (r < 0) {
		gb_error("cannot create the signal socket %s: %s", signal_path, strerror(-r));
		return r;
	}
	return 0;
}

/* Viewers first: they release their keys while the seat still exists. */
static void streaming_stop(struct streaming *streaming, struct gb_session *session)
{
	gb_signal_destroy(session->signal);
	gb_stream_destroy(session);
	gb_handoff_destroy(streaming->handoff);
	streaming->handoff = NULL;
}

/* The plugins a session hosts; auth and storage plugins belong to glassboxd
 * (storage holds credentials the session's user must not read). */
#define SESSION_PLUGIN_KINDS                                                                      \
	(GB_PLUGIN_KIND_BIT(GB_PLUGIN_KIND_CAPTURE) | GB_PLUGIN_KIND_BIT(GB_PLUGIN_KIND_ENCODER))

/* What main() sets up, in this order, and takes down in the reverse one. */
struct setup {
	struct options options;
	struct gb_session session;
	struct gb_config *config;
	struct gb_plugin_registry registry;
	struct gb_host host;
	struct wl_event_source *signals[3];
	struct streaming streaming;
	struct first_frame_shot shot;
	const char *runtime_dir;
	char socket_name[128];
	char control_path[4096];
};

static void session_init(struct gb_session *session)
{
	clock_gettime(CLOCK_MONOTONIC, &session->start_time);
	session->first_app_frame_ms = -1;
	session->exit_code = 1;
	wl_list_init(&session->children);
	wl_list_init(&session->frame_listeners);
	wl_list_init(&session->screenshots);
}

/* The configuration, with the command line's overrides; -1 after saying why. */
static int load_config(struct setup *setup)
{
	const struct options *options = &setup->options;
	char config_error[GB_CONFIG_ERROR_MAX];
	struct gb_config *config;
	enum gb_log_level level;

	config = gb_config_load(options->config_path, config_error, sizeof(config_error));
	if (!config) {
		gb_error("%s", config_error);
		gb_error("refusing to start with a broken configuration");
		return -1;
	}
	setup->config = config;
	setup->session.config = config;
	gb_log_set_level(config->log_level);
	if (options->log_level) {
		if (gb_log_level_from_string(options->log_level, &level) < 0) {
			gb_error("--log-level=%s: expected error, warning, info or debug",
			         options->log_level);
			return -1;
		}
		gb_log_set_level(level);
	}
	if (options->width)
		config->session.width = options->width;
	if (options->height)
		config->session.height = options->height;
	if (options->xwayland >= 0)
		config->session.xwayland = options->xwayland;
	if (!options->command && !config->session.command) {
		gb_error("no application to run: set session.command in %s or give one after --",
		         options->config_path);
		return -1;
	}
	return 0;
}

/* The Wayland socket's name and the control socket's path; -1 after saying why. */
static int name_sockets(struct setup *setup)
{
	const struct options *options = &setup->options;
	const char *id = setup->session.id;

	setup->runtime_dir = getenv("XDG_RUNTIME_DIR");
	if (!setup->runtime_dir || setup->runtime_dir[0] != '/') {
		gb_error("XDG_RUNTIME_DIR is not set to an absolute path; the Wayland socket "
		         "lives there");
		return -1;
	}
	if (options->socket_name)
		snprintf(setup->socket_name, sizeof(setup->socket_name), "%s",
		         options->socket_name);
	else
		snprintf(setup->socket_name, sizeof(setup->socket_name), "glassbox-%s", id);
	if (options->control_path)
		snprintf(setup->control_path, sizeof(setup->control_path), "%s",
		         options->control_path);
	else
		snprintf(setup->control_path, sizeof(setup->control_path),
		         "%s/glassbox-%s.control", setup->runtime_dir, id);
	return 0;
}

static int load_plugins(struct setup *setup)
{
	const struct gb_config *config = setup->config;
	int r;

	gb_host_init(&setup->host, setup->session.id);
	r = gb_plugin_registry_init(&setup->registry, &setup->host, config->plugins.plugin_dir);
	if (r < 0 || gb_plugin_registry_load_dropins(&setup->registry, config->plugins.vendor_dir,
	                                             config->plugins.config_dir,
	                                             SESSION_PLUGIN_KINDS) < 0) {
		gb_error("refusing to start: a required plugin failed to load");
		return -1;
	}
	setup->session.plugins = &setup->registry;
	return 0;
}

/*
 * Children must come back to us to be reaped, even when the application
 * abandons them, so that nothing outlives the session. Block the signals we
 * take through signalfd before anything can start a thread, so that every
 * thread inherits the mask.
 */
static void block_signals(void)
{
	sigset_t blocked;

	prctl(PR_SET_CHILD_SUBREAPER, 1);
	sigemptyset(&blocked);
	sigaddset(&blocked, SIGUSR1);
	sigaddset(&blocked, SIGCHLD);
	sigaddset(&blocked, SIGTERM);
	sigaddset(&blocked, SIGINT);
	sigprocmask(SIG_BLOCK, &blocked, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* The Wayland display, its loop, and the signals the loop takes. */
static int create_display(struct setup *setup)
{
	struct gb_session *session = &setup->session;

	session->display = wl_display_create();
	if (!session->display)
		return -1;
	session->loop = wl_display_get_event_loop(session->display);
	setup->signals[0] =
	        wl_event_loop_add_signal(session->loop, SIGTERM, handle_stop_signal, session);
	setup->signals[1] =
	        wl_event_loop_add_signal(session->loop, SIGINT, handle_stop_signal, session);
	setup->signals[2] = wl_event_loop_add_signal(session->loop, SIGCHLD,
	                                             gb_session_reap_children, session);
	if (!setup->signals[0] || !setup->signals[1] || !setup->signals[2])
		return -1;
	return 0;
}

static void destroy_display(struct setup *setup)
{
	for (int i = 2; i >= 0; i--)
		if (setup->signals[i])
			wl_event_source_remove(setup->signals[i]);
	if (setup->session.display)
		wl_display_destroy(setup->session.display);
}

/*
 * What the application will find: the compositor and its Wayland socket,
 * the shell, Xwayland, the control socket, streaming, and --screenshot.
 */
static int start_compositor(struct setup *setup)
{
	struct gb_session *session = &setup->session;
	const struct options *options = &setup->options;
	const struct gb_config *config = setup->config;

	if (gb_compositor_create(session) < 0) {
		gb_error("cannot create the compositor");
		return -1;
	}
	if (wl_display_add_socket(session->display, setup->socket_name) < 0) {
		gb_error("cannot create Wayland socket %s/%s: %s", setup->runtime_dir,
		         setup->socket_name, strerror(errno));
		return -1;
	}
	session->socket_name = setup->socket_name;
	gb_info("Wayland display %s, output %dx%d, %s renderer", setup->socket_name,
	        config->session.width, config->session.height,
	        config->session.renderer == GB_RENDERER_GL ? "gl" : "pixman");

	if (gb_shell_create(session) < 0) {
		gb_error("cannot create the shell");
		return -1;
	}
	if (config->session.xwayland && gb_xwayland_start(session) < 0)
		return -1;
	if (gb_control_create(session, setup->control_path) < 0)
		return -1;
	if (options->signal_path &&
	    streaming_start(&setup->streaming, session, options->signal_path) < 0)
		return -1;
	if (options->screenshot_path) {
		setup->shot.session = session;
		setup->shot.path = options->screenshot_path;
		setup->shot.exit_after = options->exit_after_screenshot;
		setup->shot.listener.frame = first_frame;
		gb_session_add_frame_listener(session, &setup->shot.listener);
	}
	return 0;
}

static void stop_compositor(struct setup *setup)
{
	struct gb_session *session = &setup->session;

	streaming_stop(&setup->streaming, session);
	gb_control_destroy(session->control);
	gb_screenshot_cancel_all(session);
	wl_list_remove(&setup->shot.listener.link);
	gb_app_cleanup(session);
	/* Clients (Xwayland among them) go while the shell can still see their
	 * surfaces leave; wl_display_destroy() would leave them allocated. */
	if (session->display)
		wl_display_destroy_clients(session->display);
	gb_shell_destroy(session->shell);
	gb_compositor_destroy(session);
	gb_xwayland_destroy(session->xwayland);
}

/* Start the application and run until the session ends. */
static void run(struct setup *setup)
{
	struct gb_session *session = &setup->session;
	char *const *command =
	        setup->options.command ? setup->options.command : setup->config->session.command;
	int r;

	weston_compositor_wake(session->compositor);
	r = gb_app_spawn(session, command);
	if (r < 0) {
		gb_error("cannot start the application: %s", strerror(-r));
		return;
	}
	signal_ready(&setup->options.ready_fd);
	notify_systemd("READY=1");
	wl_display_run(session->display);
	notify_systemd("STOPPING=1");
}

int main(int argc, char *argv[])
{
	static struct setup setup;
	struct options *options = &setup.options;
	int r;

	session_init(&setup.session);
	wl_list_init(&setup.shot.listener.link);
	take_notify_socket();
	r = gb_options_parse(argc, argv, options);
	if (r != 0) {
		gb_options_clear(options);
		return r > 0 ? EXIT_SUCCESS : 2;
	}

	gb_log_init("glassbox-session", GB_LOG_INFO);
	gb_log_set_session(options->session_id);
	if (options->params_path)
		gb_info("parameters from %s: session %s of user '%s'", options->params_path,
		        options->params.session_id, options->params.user);
	setup.session.id = options->session_id;

	if (load_config(&setup) < 0 || name_sockets(&setup) < 0)
		goto out_config;
	if (load_plugins(&setup) < 0)
		goto out_plugins;
	block_signals();
	if (create_display(&setup) < 0)
		goto out_display;
	if (start_compositor(&setup) == 0)
		run(&setup);
	stop_compositor(&setup);
out_display:
	destroy_display(&setup);
out_plugins:
	gb_plugin_registry_clear(&setup.registry);
out_config:
	gb_config_free(setup.config);
	if (options->ready_fd >= 0)
		close(options->ready_fd); /* never READY: the reader sees end of file */
	gb_options_clear(options);
	return setup.session.failed ? 1 : setup.session.exit_code;
}
