/* SPDX-License-Identifier: MIT */
/* A login of glassboxd: what a cookie stands for (auth.c), and its saved form (login-store.h). */
#ifndef GB_LOGIN_H
#define GB_LOGIN_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include <glassbox/auth.h>

/* An auth plugin's name, or the [plugin] namespace of its drop-in, with the NUL. */
#define GB_NAMESPACE_MAX 65

/**
 * One successful login: what the cookie stands for. The identity is the
 * pair (identity_namespace, user): the namespace is the name of the auth
 * plugin that vouched for the user, unless its drop-in maps it into a
 * shared one ([plugin] namespace = ...). Sessions, unit instances and homes
 * are keyed by the pair, never by the bare user name.
 */
struct gb_login {
	char *key; /* SHA-256 of the token, hex: the token itself is never kept */
	char user[GB_IDENTITY_NAME_MAX];
	char plugin[GB_NAMESPACE_MAX];             /* the auth plugin that vouched for the user */
	char identity_namespace[GB_NAMESPACE_MAX]; /* its namespace: the plugin's name by default
	                                            */
	uint32_t roles;
	bool system_account; /* identity.has_system_account: the session runs as that user */
	gint64 created_us;   /* g_get_monotonic_time() */
	gint64 expires_us;
};

/** Free a login (g_new0'd, key g_malloc'd); accepts NULL. */
void gb_login_free(struct gb_login *login);

#endif
