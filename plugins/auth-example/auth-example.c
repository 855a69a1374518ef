/* SPDX-License-Identifier: MIT */
/*
 * auth-example: the smallest real auth plugin, the one docs/plugin-abi.md
 * walks through. It accepts exactly one user, whose name and password come
 * from its drop-in. Nothing here reads a file: the host parsed the drop-in
 * and hands over typed settings.
 *
 * It is documentation, not a way to run an appliance: a clear-text password
 * in a drop-in is only acceptable in a demo. See auth-local for real users.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <glassbox/auth.h>

#include "secret.h"

struct example {
	/* Point into the host's copy of the settings, valid until fini(). */
	const char *user;
	const char *password;
	size_t user_length;
	bool admin;
};

static const struct gb_option example_options[] = {
	{ .key = "user",
	  .type = GB_VALUE_STRING,
	  .default_value = NULL,
	  .help = "the one user name accepted (required)" },
	{ .key = "password",
	  .type = GB_VALUE_STRING,
	  .default_value = NULL,
	  .help = "that user's password, in clear text (required)" },
	{ .key = "admin",
	  .type = GB_VALUE_BOOL,
	  .default_value = "false",
	  .help = "give the user the admin role" },
	{ .key = NULL },
};

static int example_init(const struct gb_host *host, const struct gb_settings *settings,
                        void **state)
{
	struct example *example;

	example = calloc(1, sizeof(*example));
	if (!example)
		return -ENOMEM;
	/* Both are required options: the host refused the drop-in if either was missing. */
	example->user = gb_settings_get_string(settings, "user");
	example->password = gb_settings_get_string(settings, "password");
	example->admin = gb_settings_get_bool(settings, "admin", false);

	/*
	 * An empty password would let anyone in who knows the name, and a
	 * name that does not fit struct gb_identity could not be reported.
	 */
	if (!example->user || !example->password || !example->user[0] || !example->password[0] ||
	    strlen(example->user) >= GB_IDENTITY_NAME_MAX) {
		/* The host's log handle: a line tagged with this plugin's name. */
		gb_plugin_log(host, GB_LOG_ERROR,
		              "settings.user must be 1..%d characters and settings.password "
		              "must not be empty",
		              GB_IDENTITY_NAME_MAX - 1);
		free(example);
		return -EINVAL;
	}
	example->user_length = strlen(example->user);

	*state = example;
	return 0;
}

static void example_fini(void *state)
{
	free(state);
}

static int example_verify_password(void *state, const char *user, const char *password,
                                   struct gb_identity *identity)
{
	struct example *example = state;
	bool user_ok, password_ok;

	if (!user || !password || !identity)
		return -EINVAL;
	/* The host says how much of struct gb_identity it has; 1.0 needs all of it. */
	if (identity->struct_size < offsetof(struct gb_identity, roles) + sizeof(identity->roles))
		return -EINVAL;

	/*
	 * Check both, always: the caller must not learn which one was wrong.
	 * gb_equal_in_constant_time() has no early exit, so the time taken
	 * does not tell an attacker how many leading characters were right.
	 */
	user_ok = gb_equal_in_constant_time(user, example->user);
	password_ok = gb_equal_in_constant_time(password, example->password);
	if (!(user_ok & password_ok))
		return -EACCES;

	memcpy(identity->user, example->user, example->user_length + 1);
	identity->has_system_account = false;
	identity->uid = 0;
	identity->gid = 0;
	identity->roles = GB_ROLE_USER | (example->admin ? GB_ROLE_ADMIN : 0);
	return 0;
}

static const struct gb_auth_ops example_ops = {
	.struct_size = sizeof(struct gb_auth_ops),
	.verify_password = example_verify_password,
};

static const struct gb_plugin_descriptor example_descriptor = {
	GB_PLUGIN_ABI_INIT,
	.kind = GB_PLUGIN_KIND_AUTH,
	.name = "example",
	.version = "1.0.0",
	.description = "one user from the drop-in; an example, not for production",
	.options = example_options,
	.init = example_init,
	.fini = example_fini,
	.ops = &example_ops,
};

GB_PLUGIN_DEFINE(example_descriptor)
