/* SPDX-License-Identifier: MIT */
/* glassbox-session's command line: options, --params, usage. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gb-build-config.h"
#include "options.h"

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

/* A name for this session's sockets and log: glassbox-session -i may name it freely. */
static bool session_id_is_valid(const char *id)
{
	size_t length = strlen(id);

	if (length == 0 || length > 64 || id[0] == '.')
		return false;
	return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
	       length;
}

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

/*
 * One option @c with its @value. Sets *@placed for the options --params
 * replaces. Returns 0 to go on, 1 to exit successfully, -1 on a usage error.
 */
static int take_option(struct options *options, int c, char *value, bool *placed)
{
	switch (c) {
	case 'c':
		options->config_path = value;
		*placed = true;
		break;
	case 'i':
		if (!session_id_is_valid(value)) {
			fprintf(stderr,
			        "glassbox-session: invalid session id '%s': use 1 to 64 "
			        "of [A-Za-z0-9_.-], not starting with '.'\n",
			        value);
			return -1;
		}
		options->session_id = value;
		*placed = true;
		break;
	case 's':
		options->socket_name = value;
		break;
	case OPT_CONTROL:
		options->control_path = value;
		*placed = true;
		break;
	case OPT_WIDTH:
	case OPT_HEIGHT:
		if (!parse_size(value, c == OPT_WIDTH ? &options->width : &options->height)) {
			fprintf(stderr, "glassbox-session: --%s=%s: expected 64..8192 pixels\n",
			        c == OPT_WIDTH ? "width" : "height", value);
			return -1;
		}
		break;
	case OPT_NO_XWAYLAND:
		options->xwayland = 0;
		break;
	case OPT_SCREENSHOT:
		options->screenshot_path = value;
		break;
	case OPT_EXIT_AFTER_SCREENSHOT:
		options->exit_after_screenshot = true;
		break;
	case OPT_LOG_LEVEL:
		options->log_level = value;
		break;
	case OPT_SIGNAL_SOCKET:
		if (value[0] == '\0') {
			fprintf(stderr, "glassbox-session: --signal-socket needs a path\n");
			return -1;
		}
		options->signal_path = value;
		*placed = true;
		break;
	case OPT_PARAMS:
		options->params_path = value;
		break;
	case OPT_READY_FD:
		if (!parse_fd(value, &options->ready_fd)) {
			fprintf(stderr,
			        "glassbox-session: --ready-fd=%s: expected an open file "
			        "descriptor above 2\n",
			        value);
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
	return 0;
}

/* --params FILE: the session id, configuration and sockets come from FILE. */
static int take_params(struct options *options, bool placed)
{
	char params_error[GB_SESSION_PARAMS_ERROR_MAX];

	if (placed) {
		fprintf(stderr, "glassbox-session: --params cannot be combined with -c, "
		                "-i, --control or --signal-socket\n");
		return -1;
	}
	if (gb_session_params_load(&options->params, options->params_path, params_error,
	                           sizeof(params_error)) < 0) {
		fprintf(stderr, "glassbox-session: --params: %s\n", params_error);
		return -1;
	}
	options->config_path = options->params.config;
	options->session_id = options->params.session_id;
	options->control_path = options->params.control;
	options->signal_path = options->params.signal_socket;
	return 0;
}

int gb_options_parse(int argc, char *argv[], struct options *options)
{
	bool placed = false; /* -c, -i, --control or --signal-socket given */
	int c, r;

	options->config_path = GB_DEFAULT_CONFIG;
	options->session_id = "local";
	options->xwayland = -1;
	options->ready_fd = -1;

	while ((c = getopt_long(argc, argv, "c:i:s:hV", long_options, NULL)) != -1) {
		r = take_option(options, c, optarg, &placed);
		if (r != 0)
			return r;
	}
	if (options->exit_after_screenshot && !options->screenshot_path) {
		fprintf(stderr, "glassbox-session: --exit-after-screenshot needs --screenshot\n");
		return -1;
	}
	if (optind < argc)
		options->command = &argv[optind];
	if (options->params_path)
		return take_params(options, placed);
	return 0;
}

void gb_options_clear(struct options *options)
{
	gb_session_params_clear(&options->params);
}
