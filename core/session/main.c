/* SPDX-License-Identifier: MIT */
/*
 * glassbox-session: one user session. A libweston compositor on the
 * headless backend, a kiosk-like shell, Xwayland, the application, and the
 * hooks the streaming pipeline hangs off.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <libweston/libweston.h>

#include "gb-build-config.h"
#include "config.h"
#include "dropin.h"
#include "handoff.h"
#include "log.h"
#include "peer.h"
#include "plugin-loader.h"
#include "session-params.h"
#include "session.h"
#include "signal-socket.h"
#include "stream.h"

struct options {
	const char *config_path;
	const char *session_id;
	const char *socket_name;
	const char *control_path;
	const char *signal_path;
	const char *params_path;
	struct gb_session_params params; /* from --params */
	int ready_fd;                    /* -1: none */
	const char *screenshot_path;
	const char *log_level;
	bool exit_after_screenshot;
	int width, height;
	int xwayland; /* -1: as configured */
	char **command;
};

static void usage(FILE *out)
{
	fprintf(out,
	        "Usage: glassbox-session [OPTION...] [-- COMMAND [ARG...]]\n"
	        "\n"
	        "Run one Glassbox session: a headless Wayland compositor (with Xwayland)\n"
	        "running COMMAND, or session.command from the configuration.\n"
	        "\n"
	        "  -c, --config=FILE         configuration file (default %s)\n"
	        "  -i, --session-id=ID       session id, [A-Za-z0-9_.-], at most 64 (default: "
	        "local)\n"
	        "  -s, --socket=NAME         Wayland socket name in $XDG_RUNTIME_DIR\n"
	        "                            (default: glassbox-ID)\n"
	        "      --control=PATH        control socket (default: "
	        "$XDG_RUNTIME_DIR/glassbox-ID.control)\n"
	        "      --signal-socket=PATH  stream to viewers: listen for WebRTC signalling on\n"
	        "                            this unix socket (mode 0600), one connection per\n"
	        "                            viewer, newline-delimited JSON as described in\n"
	        "                            docs/streaming-protocol.md\n"
	        "      --ready-fd=FD         write \"READY\\n\" to FD and close it once the\n"
	        "                            session (and its signal socket) is up\n"
	        "      --params=FILE         session id, configuration, signal and control\n"
	        "                            sockets from FILE (key=value lines, as\n"
	        "                            glassbox-session@.service passes them); not with\n"
	        "                            -c, -i, --control or --signal-socket\n"
	        "      --width=PIXELS        output width, overrides session.width\n"
	        "      --height=PIXELS       output height, overrides session.height\n"
	        "      --no-xwayland         do not offer X11 to the application\n"
	        "      --screenshot=FILE     save the first frame showing the application as PNG\n"
	        "      --exit-after-screenshot\n"
	        "                            stop the session once that PNG is written\n"
	        "      --log-level=LEVEL     error, warning, info or debug (default: log.level)\n"
	        "  -h, --help                show this help and exit\n"
	        "  -V, --version             show the version and exit\n"
	        "\n"
	        "Under systemd (NOTIFY_SOCKET set) it also sends READY=1 once the session is up.\n"
	        "\n"
	        "Exit status: the application's exit status (128+N if signal N killed it);\n"
	        "0 after SIGTERM or SIGINT stopped it; 1 if the session could not start.\n"
	        "The control socket protocol is described in core/session/README.md.\n",
	        GB_DEFAULT_CONFIG);
}

static bool parse_size(const char *text, int *value)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || *end || v < 64 || v > 8192)
		return false;
	*value = (int)v;
	return true;
}

/* An inherited descriptor above stdio that is open; it must not leak to the application. */
static bool parse_fd(const char *text, int *fd)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || *end || end == text || v < 3 || v > 65535)
		return false;
	if (fcntl((int)v, F_SETFD, FD_CLOEXEC) < 0)
		return false;
	*fd = (int)v;
	return true;
}

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

static bool session_id_is_valid(const char *id)
{
	size_t length = strlen(id);

	if (length == 0 || length > 64 || id[0] == '.')
		return false;
	return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
	       length;
}

/* Returns 0 to go on, 1 to exit successfully, -1 on a usage error. */
static int parse_options(int argc, char *argv[], struct options *options)
{
	enum {
		OPT_CONTROL = 256,
		OPT_WIDTH,
		OPT_HEIGHT,
		OPT_NO_XWAYLAND,
		OPT_SCREENSHOT,
		OPT_EXIT_AFTER_SCREENSHOT,
		OPT_LOG_LEVEL,
		OPT_SIGNAL_SOCKET,
		OPT_READY_FD,
		OPT_PARAMS,
	};
	static const struct option long_options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "session-id", required_argument, NULL, 'i' },
		{ "socket", required_argument, NULL, 's' },
		{ "control", required_argument, NULL, OPT_CONTROL },
		{ "width", required_argument, NULL, OPT_WIDTH },
		{ "height", required_argument, NULL, OPT_HEIGHT },
		{ "no-xwayland", no_argument, NULL, OPT_NO_XWAYLAND },
		{ "screenshot", required_argument, NULL, OPT_SCREENSHOT },
		{ "exit-after-screenshot", no_argument, NULL, OPT_EXIT_AFTER_SCREENSHOT },
		{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
		{ "signal-socket", required_argument, NULL, OPT_SIGNAL_SOCKET },
		{ "ready-fd", required_argument, NULL, OPT_READY_FD },
		{ "params", required_argument, NULL, OPT_PARAMS },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	char params_error[GB_SESSION_PARAMS_ERROR_MAX];
	bool placed = false; /* -c, -i, --control or --signal-socket given */
	int c;

	options->config_path = GB_DEFAULT_CONFIG;
	options->session_id = "local";
	options->xwayland = -1;
	options->ready_fd = -1;

	while ((c = getopt_long(argc, argv, "c:i:s:hV", long_options, NULL)) != -1) {
		switch (c) {
		case 'c':
			options->config_path = optarg;
			placed = true;
			break;
		case 'i':
			if (!session_id_is_valid(optarg)) {
				fprintf(stderr,
				        "glassbox-session: invalid session id '%s': use 1 to 64 "
				        "of [A-Za-z0-9_.-], not starting with '.'\n",
				        optarg);
				return -1;
			}
			options->session_id = optarg;
			placed = true;
			break;
		case 's':
			options->socket_name = optarg;
			break;
		case OPT_CONTROL:
			options->control_path = optarg;
			placed = true;
			break;
		case OPT_WIDTH:
		case OPT_HEIGHT:
			if (!parse_size(optarg,
			                c == OPT_WIDTH ? &options->width : &options->height)) {
				fprintf(stderr,
				        "glassbox-session: --%s=%s: expected 64..8192 pixels\n",
				        c == OPT_WIDTH ? "width" : "height", optarg);
				return -1;
			}
			break;
		case OPT_NO_XWAYLAND:
			options->xwayland = 0;
			break;
		case OPT_SCREENSHOT:
			options->screenshot_path = optarg;
			break;
		case OPT_EXIT_AFTER_SCREENSHOT:
			options->exit_after_screenshot = true;
			break;
		case OPT_LOG_LEVEL:
			options->log_level = optarg;
			break;
		case OPT_SIGNAL_SOCKET:
			if (optarg[0] == '\0') {
				fprintf(stderr,
				        "glassbox-session: --signal-socket needs a path\n");
				return -1;
			}
			options->signal_path = optarg;
			placed = true;
			break;
		case OPT_PARAMS:
			options->params_path = optarg;
			break;
		case OPT_READY_FD:
			if (!parse_fd(optarg, &options->ready_fd)) {
				fprintf(stderr,
				        "glassbox-session: --ready-fd=%s: expected an open file "
				        "descriptor above 2\n",
				        optarg);
				return -1;
			}
			break;
		case 'h':
			usage(stdout);
			return 1;
		case 'V':
			printf("glassbox-session %s\n", GB_VERSION);
			return 1;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (options->exit_after_screenshot && !options->screenshot_path) {
		fprintf(stderr, "glassbox-session: --exit-after-screenshot needs --screenshot\n");
		return -1;
	}
	if (optind < argc)
		options->command = &argv[optind];
	if (options->params_path) {
		if (placed) {
			fprintf(stderr, "glassbox-session: --params cannot be combined with -c, "
			                "-i, --control or --signal-socket\n");
			return -1;
		}
		if (gb_session_params_load(&options->params, options->params_path, params_error) <
		    0) {
			fprintf(stderr, "glassbox-session: --params: %s\n", params_error);
			return -1;
		}
		options->config_path = options->params.config;
		options->session_id = options->params.session_id;
		options->control_path = options->params.control;
		options->signal_path = options->params.signal_socket;
	}
	return 0;
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
		gb_error("cannot start streaming: %s", strerror(errno));
		return -errno;
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

/* The plugins a session hosts; auth plugins belong to glassboxd. */
#define SESSION_PLUGIN_KINDS                                                                      \
	(GB_PLUGIN_KIND_BIT(GB_PLUGIN_KIND_CAPTURE) |                                             \
	 GB_PLUGIN_KIND_BIT(GB_PLUGIN_KIND_ENCODER) | GB_PLUGIN_KIND_BIT(GB_PLUGIN_KIND_STORAGE))

int main(int argc, char *argv[])
{
	struct options options = { 0 };
	struct gb_session session = { 0 };
	struct gb_config *config = NULL;
	struct gb_plugin_registry registry = { 0 };
	struct gb_host host;
	struct first_frame_shot shot = { 0 };
	struct streaming streaming = { 0 };
	struct wl_event_source *signals[3] = { NULL };
	char config_error[GB_CONFIG_ERROR_MAX];
	char socket_name[128], control_path[4096];
	enum gb_log_level level;
	const char *runtime_dir;
	sigset_t blocked;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &session.start_time);
	session.first_app_frame_ms = -1;
	session.exit_code = 1;
	wl_list_init(&session.children);
	wl_list_init(&session.frame_listeners);
	wl_list_init(&session.screenshots);

	take_notify_socket();
	r = parse_options(argc, argv, &options);
	if (r != 0) {
		gb_session_params_clear(&options.params);
		return r > 0 ? EXIT_SUCCESS : 2;
	}

	gb_log_init("glassbox-session", GB_LOG_INFO);
	gb_log_set_session(options.session_id);
	if (options.params_path)
		gb_info("parameters from %s: session %s of user '%s'", options.params_path,
		        options.params.session_id, options.params.user);
	session.id = options.session_id;

	config = gb_config_load(options.config_path, config_error);
	if (!config) {
		gb_error("%s", config_error);
		gb_error("refusing to start with a broken configuration");
		goto out_config;
	}
	session.config = config;
	gb_log_set_level(config->log_level);
	if (options.log_level) {
		if (gb_log_level_from_string(options.log_level, &level) < 0) {
			gb_error("--log-level=%s: expected error, warning, info or debug",
			         options.log_level);
			goto out_config;
		}
		gb_log_set_level(level);
	}
	if (options.width)
		config->session.width = options.width;
	if (options.height)
		config->session.height = options.height;
	if (options.xwayland >= 0)
		config->session.xwayland = options.xwayland;
	if (!options.command && !config->session.command) {
		gb_error("no application to run: set session.command in %s or give one after --",
		         options.config_path);
		goto out_config;
	}

	runtime_dir = getenv("XDG_RUNTIME_DIR");
	if (!runtime_dir || runtime_dir[0] != '/') {
		gb_error("XDG_RUNTIME_DIR is not set to an absolute path; the Wayland socket "
		         "lives there");
		goto out_config;
	}
	if (options.socket_name)
		snprintf(socket_name, sizeof(socket_name), "%s", options.socket_name);
	else
		snprintf(socket_name, sizeof(socket_name), "glassbox-%s", session.id);
	if (options.control_path)
		snprintf(control_path, sizeof(control_path), "%s", options.control_path);
	else
		snprintf(control_path, sizeof(control_path), "%s/glassbox-%s.control", runtime_dir,
		         session.id);

	gb_host_init(&host, session.id);
	r = gb_plugin_registry_init(&registry, &host, config->plugins.plugin_dir);
	if (r < 0 || gb_plugin_registry_load_dropins(&registry, config->plugins.vendor_dir,
	                                             config->plugins.config_dir,
	                                             SESSION_PLUGIN_KINDS) < 0) {
		gb_error("refusing to start: a required plugin failed to load");
		goto out_plugins;
	}
	session.plugins = &registry;

	/*
	 * Children must come back to us to be reaped, even when the
	 * application abandons them, so that nothing outlives the session.
	 * Block the signals we take through signalfd before anything can
	 * start a thread, so that every thread inherits the mask.
	 */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	sigemptyset(&blocked);
	sigaddset(&blocked, SIGUSR1);
	sigaddset(&blocked, SIGCHLD);
	sigaddset(&blocked, SIGTERM);
	sigaddset(&blocked, SIGINT);
	sigprocmask(SIG_BLOCK, &blocked, NULL);
	signal(SIGPIPE, SIG_IGN);

	session.display = wl_display_create();
	if (!session.display)
		goto out_plugins;
	session.loop = wl_display_get_event_loop(session.display);
	signals[0] = wl_event_loop_add_signal(session.loop, SIGTERM, handle_stop_signal, &session);
	signals[1] = wl_event_loop_add_signal(session.loop, SIGINT, handle_stop_signal, &session);
	signals[2] = wl_event_loop_add_signal(session.loop, SIGCHLD, gb_session_reap_children,
	                                      &session);
	if (!signals[0] || !signals[1] || !signals[2])
		goto out_display;

	if (gb_compositor_create(&session) < 0) {
		gb_error("cannot create the compositor");
		goto out_compositor;
	}
	if (wl_display_add_socket(session.display, socket_name) < 0) {
		gb_error("cannot create Wayland socket %s/%s: %s", runtime_dir, socket_name,
		         strerror(errno));
		goto out_compositor;
	}
	session.socket_name = socket_name;
	gb_info("Wayland display %s, output %dx%d, %s renderer", socket_name,
	        config->session.width, config->session.height,
	        config->session.renderer == GB_RENDERER_GL ? "gl" : "pixman");

	if (gb_shell_create(&session) < 0) {
		gb_error("cannot create the shell");
		goto out_compositor;
	}
	if (config->session.xwayland && gb_xwayland_start(&session) < 0)
		goto out_compositor;
	if (gb_control_create(&session, control_path) < 0)
		goto out_compositor;
	if (options.signal_path && streaming_start(&streaming, &session, options.signal_path) < 0)
		goto out_compositor;

	if (options.screenshot_path) {
		shot.session = &session;
		shot.path = options.screenshot_path;
		shot.exit_after = options.exit_after_screenshot;
		shot.listener.frame = first_frame;
		gb_session_add_frame_listener(&session, &shot.listener);
	}

	weston_compositor_wake(session.compositor);
	r = gb_app_spawn(&session, options.command ? options.command : config->session.command);
	if (r < 0) {
		gb_error("cannot start the application: %s", strerror(-r));
		goto out_compositor;
	}

	signal_ready(&options.ready_fd);
	notify_systemd("READY=1");
	wl_display_run(session.display);
	notify_systemd("STOPPING=1");

out_compositor:
	streaming_stop(&streaming, &session);
	gb_control_destroy(session.control);
	gb_screenshot_cancel_all(&session);
	if (options.screenshot_path)
		wl_list_remove(&shot.listener.link);
	gb_app_cleanup(&session);
	/* Clients (Xwayland among them) go while the shell can still see their
	 * surfaces leave; wl_display_destroy() would leave them allocated. */
	if (session.display)
		wl_display_destroy_clients(session.display);
	gb_shell_destroy(session.shell);
	gb_compositor_destroy(&session);
	gb_xwayland_destroy(session.xwayland);
out_display:
	for (int i = 2; i >= 0; i--)
		if (signals[i])
			wl_event_source_remove(signals[i]);
	if (session.display)
		wl_display_destroy(session.display);
out_plugins:
	gb_plugin_registry_clear(&registry);
out_config:
	gb_config_free(config);
	if (options.ready_fd >= 0)
		close(options.ready_fd); /* never READY: the reader sees end of file */
	gb_session_params_clear(&options.params);
	return session.failed ? 1 : session.exit_code;
}
