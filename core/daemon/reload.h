/* SPDX-License-Identifier: MIT */
/*
 * Reload: glassbox.conf and plugins.d read again, all or nothing
 * (reload.c), and the loading of the auth plugins it shares with the
 * start.
 */
#ifndef GB_RELOAD_H
#define GB_RELOAD_H

#include <stddef.h>

#include "config.h"
#include "plugin-loader.h"

struct gb_daemon;

/**
 * Re-read glassbox.conf and plugins.d (SIGHUP, `systemctl reload`, D-Bus
 * Reload). All or nothing: on failure nothing changes, "reload refused: ..."
 * is logged, and -errno is returned with one line in @error naming the
 * file, line and key. Running sessions are untouched; new ones get the new
 * session.* values.
 */
int gb_daemon_reload(struct gb_daemon *daemon, char *error, size_t error_size);
#endif
