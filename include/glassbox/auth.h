/* SPDX-License-Identifier: MIT */
/* Glassbox auth plugins: verify credentials and return an identity. */
#ifndef GLASSBOX_AUTH_H
#define GLASSBOX_AUTH_H

#include <glassbox/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GB_IDENTITY_NAME_MAX 64

enum gb_role {
	GB_ROLE_USER = 1u << 0,
	GB_ROLE_ADMIN = 1u << 1,
};

/** Who logged in. uid/gid are meaningful only when has_system_account. */
struct gb_identity {
	uint32_t struct_size;
	char user[GB_IDENTITY_NAME_MAX];
	bool has_system_account;
	uint32_t uid;
	uint32_t gid;
	uint32_t roles; /* enum gb_role bits */
};

/** What a login page offers for a plugin (ABI 1.1). */
enum gb_auth_method {
	GB_AUTH_METHOD_PASSWORD = 1, /* a user name and password form */
	GB_AUTH_METHOD_REDIRECT = 2, /* a button that sends the browser to a provider */
};

/** Called once per user by list_users (ABI 1.1). */
typedef void (*gb_auth_user_func)(void *data, const char *user, uint32_t roles);

/*
 * The host never calls two ops of one plugin at the same time, but it may
 * call them from a thread other than the one that called init: password
 * hashes and a provider's token endpoint are slow, and glassboxd keeps them
 * off its main loop.
 */
struct gb_auth_ops {
	uint32_t struct_size;
	/*
	 * Check a user name and password. Return 0 and fill *identity on
	 * success, -EACCES for wrong credentials (never saying which part was
	 * wrong), or another negative errno when the check itself failed.
	 * Since ABI 1.1 it may be NULL in a plugin that sets begin_login.
	 */
	int (*verify_password)(void *state, const char *user, const char *password,
	                       struct gb_identity *identity);

	/* ---- ABI 1.1 ---- */

	/*
	 * Logins through a redirect (OpenID Connect). begin_login writes into
	 * @url (NUL-terminated, at most @url_size bytes) where to send the
	 * browser, and remembers what the answer must match (state, nonce, PKCE
	 * verifier); the provider is to send the browser back to
	 * @redirect_uri. finish_login takes the callback's `code` and `state`
	 * parameters (either may be NULL when the browser sent none) and
	 * returns 0 with *identity, -EACCES when the answer is refused (with one
	 * line for the log in @error, never shown to the browser), or another
	 * negative errno when the check itself failed (the provider cannot be
	 * reached, say). Both NULL in a password plugin.
	 */
	int (*begin_login)(void *state, const char *redirect_uri, char *url, size_t url_size);
	int (*finish_login)(void *state, const char *redirect_uri, const char *code,
	                    const char *login_state, struct gb_identity *identity, char *error,
	                    size_t error_size);

	/* The login page's words for this plugin ("Sign in with Example"); NULL
	 * or a NULL member: the plugin's name. */
	const char *(*label)(void *state);

	/*
	 * User management, for plugins that keep their own users (auth-local);
	 * NULL where the accounts live elsewhere. 0 or a negative errno:
	 * -EEXIST (add_user of a user that exists), -ENOENT (no such user),
	 * -EINVAL (a name or password the plugin refuses; the plugin logs why).
	 */
	int (*list_users)(void *state, gb_auth_user_func func, void *data);
	int (*add_user)(void *state, const char *user, const char *password, uint32_t roles);
	int (*set_password)(void *state, const char *user, const char *password);
	int (*remove_user)(void *state, const char *user);
};

/** The login method of a plugin, from which of its members are set. */
static inline enum gb_auth_method gb_auth_ops_method(const struct gb_auth_ops *ops)
{
	if (ops->struct_size > offsetof(struct gb_auth_ops, begin_login) && ops->begin_login)
		return GB_AUTH_METHOD_REDIRECT;
	return GB_AUTH_METHOD_PASSWORD;
}

/** True when @ops is big enough to hold @member and it is set. */
#define GB_AUTH_OPS_HAS(ops, member)                                                              \
	((ops)->struct_size >= offsetof(struct gb_auth_ops, member) + sizeof((ops)->member) &&    \
	 (ops)->member != NULL)

#ifdef __cplusplus
}
#endif

#endif /* GLASSBOX_AUTH_H */
