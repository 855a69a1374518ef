/* SPDX-License-Identifier: MIT */
/*
 * The logins table kept in <runtime_dir>/logins (0600), so that a restarted
 * glassboxd (systemctl restart glassbox, the watchdog) still knows the
 * cookies it handed out and the pages reconnect to the sessions that kept
 * running. The format is login-store.c's; runtime_dir is a tmpfs, so
 * nothing outlives a reboot. The file is written whole (0600, rename over
 * the old one) from an idle callback after every change, and once more at
 * exit.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "daemon.h"
#include "auth-private.h"
#include "auth.h"
#include "log.h"
#include "login-store.h"

#define STORE_NAME     "logins"
#define STORE_SIZE_MAX (16 * 1024 * 1024) /* bytes read back */

static char *store_path(struct gb_daemon *daemon)
{
	return g_build_filename(daemon->config->server.runtime_dir, STORE_NAME, NULL);
}

int gb_login_store_save(struct gb_daemon *daemon)
{
	g_autofree char *path = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *text = NULL;
	gsize length;

	if (!daemon->auth->logins || !daemon->config)
		return 0;
	path = store_path(daemon);
	text = gb_login_store_format(daemon->auth->logins, g_get_monotonic_time(),
	                             g_get_real_time(), &length);
	/* Atomic and 0600 from the first byte: a temporary file renamed over. */
	if (!g_file_set_contents_full(path, text, (gssize)length, G_FILE_SET_CONTENTS_CONSISTENT,
	                              0600, &error)) {
		gb_error("cannot save the logins to %s: %s; a restart would log everybody out",
		         path, error->message);
		return -EIO;
	}
	gb_debug("saved %u logins to %s", g_hash_table_size(daemon->auth->logins), path);
	return 0;
}

static gboolean save_now(gpointer data)
{
	struct gb_daemon *daemon = data;

	daemon->auth->store_idle = 0;
	gb_login_store_save(daemon);
	return G_SOURCE_REMOVE;
}

void gb_login_store_changed(struct gb_daemon *daemon)
{
	if (!daemon->auth->store_idle)
		daemon->auth->store_idle = g_idle_add(save_now, daemon);
}

void gb_login_store_fini(struct gb_daemon *daemon)
{
	if (daemon->auth->store_idle) {
		g_source_remove(daemon->auth->store_idle);
		daemon->auth->store_idle = 0;
	}
	gb_login_store_save(daemon);
}

GPtrArray *gb_login_store_load(struct gb_daemon *daemon, gb_login_store_check check, void *data,
                               unsigned *skipped)
{
	g_autofree char *path = store_path(daemon);
	g_autofree char *text = NULL;
	g_autoptr(GError) error = NULL;
	gsize length;

	*skipped = 0;
	if (!g_file_get_contents(path, &text, &length, &error)) {
		if (!g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			gb_warning("cannot read the saved logins %s: %s; everybody logs in again",
			           path, error->message);
		return NULL;
	}
	if (length > STORE_SIZE_MAX) {
		gb_warning("%s is larger than %d bytes; ignoring it", path, STORE_SIZE_MAX);
		return NULL;
	}
	return gb_login_store_parse(path, text, length, g_get_monotonic_time(), g_get_real_time(),
	                            check, data, skipped);
}

char *gb_login_store_path(struct gb_daemon *daemon)
{
	return store_path(daemon);
}
