/* SPDX-License-Identifier: MIT */
/*
 * The parameters glassboxd hands a session started as a systemd unit. A
 * template unit takes only its instance name, so the rest travels in a
 * small file, <runtime_dir>/sessions/<instance>.params (0600), that the unit
 * loads as a credential and glassbox-session reads with --params:
 *
 *   session_id=0123456789abcdef
 *   config=/etc/glassbox/glassbox.conf
 *   signal_socket=/run/glassbox-session/alice/signal.sock
 *   control=/run/glassbox-session/alice/control.sock
 *   user=alice
 *
 * One key=value per line, each key once, all of them required; nothing else.
 */
#ifndef GB_SESSION_PARAMS_H
#define GB_SESSION_PARAMS_H

#include <stddef.h>

#define GB_SESSION_PARAMS_ERROR_MAX 512   /* enough for any error text below */
#define GB_SESSION_PARAMS_SIZE_MAX  16384 /* bytes in a params file */

struct gb_session_params {
	char *session_id;    /* [A-Za-z0-9_.-], 1..64, not starting with '.' */
	char *config;        /* absolute path of glassbox.conf */
	char *signal_socket; /* absolute path of the signal socket to create */
	char *control;       /* absolute path of the control socket to create */
	char *user;          /* who the session is for, for logs */
};

/**
 * Parse @text (@length bytes; @name stands for the file in errors). On
 * failure return -EINVAL (or -ENOMEM), leave @params empty and write one line
 * to @error: "FILE:LINE: key 'config': ...".
 */
int gb_session_params_parse(struct gb_session_params *params, const char *text, size_t length,
                            const char *name, char *error, size_t error_size);

/** Read and parse @path (at most GB_SESSION_PARAMS_SIZE_MAX bytes). Same errors, and
 * the open/read errno. */
int gb_session_params_load(struct gb_session_params *params, const char *path, char *error,
                           size_t error_size);

/**
 * The file's text for @params (malloc'd), or NULL with errno: EINVAL when a
 * value would not parse back (empty, a newline or other control character,
 * a relative path, a bad session id), ENOMEM.
 */
char *gb_session_params_format(const struct gb_session_params *params);

/** Free the strings; @params is empty afterwards. */
void gb_session_params_clear(struct gb_session_params *params);

#endif
