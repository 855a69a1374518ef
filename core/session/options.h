/* SPDX-License-Identifier: MIT */
/* glassbox-session's command line (options.c). */
#ifndef GB_SESSION_OPTIONS_H
#define GB_SESSION_OPTIONS_H

#include <stdbool.h>

#include "session-params.h"

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

/**
 * Parse the command line into @options (zeroed by the caller), reading the
 * --params file if given. Returns 0 to go on, 1 to exit successfully (after
 * --help or --version), -1 on a usage error (said on stderr). Call
 * gb_options_clear() in every case.
 */
int gb_options_parse(int argc, char *argv[], struct options *options);
void gb_options_clear(struct options *options);

#endif
