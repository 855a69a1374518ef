/* SPDX-License-Identifier: MIT */
/*
 * The saved form of the logins table, <runtime_dir>/logins (see
 * login-store.c for the format): written by auth-store.c after every
 * change so that a restarted glassboxd still knows its cookies.
 */
#ifndef GB_LOGIN_STORE_H
#define GB_LOGIN_STORE_H

#include <glib.h>

#include "login.h"

/**
 * The logins of @logins (key -> struct gb_login) that have not expired at
 * @now_mono, as the file's text (g_free it; *@length its size, may be NULL).
 * Monotonic times become wall-clock ones through @now_mono and @now_real.
 */
char *gb_login_store_format(GHashTable *logins, gint64 now_mono, gint64 now_real, gsize *length);

/** Why @login may not be restored now (NULL: it may). */
typedef const char *(*gb_login_store_check)(void *data, const struct gb_login *login);

/**
 * The logins in @text (the file @path, for the log): a new array of struct
 * gb_login (it frees them), with their times back on the monotonic clock.
 * Expired ones are left out quietly, broken ones with a warning; both count
 * in *@skipped, as do those @check (may be NULL) refuses, logged with its
 * reason. NULL, after a warning, when the file as a whole is not one
 * this glassboxd reads (not JSON, another version).
 */
GPtrArray *gb_login_store_parse(const char *path, const char *text, gsize length, gint64 now_mono,
                                gint64 now_real, gb_login_store_check check, void *data,
                                unsigned *skipped);

#endif
