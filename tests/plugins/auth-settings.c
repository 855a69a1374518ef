/* SPDX-License-Identifier: MIT */
/*
 * One option of each type, with and without a range, and a required one.
 * init() keeps a pointer to the "token" string and verify_password() accepts
 * exactly that password later: the host must keep setting strings alive
 * until fini(), even after the drop-in they came from is freed.
 */
#include <errno.h>
#include <string.h>

#include <glassbox/auth.h>

static const struct gb_option settings_options[] = {
	{ .key = "greeting",
	  .type = GB_VALUE_STRING,
	  .default_value = "hello",
	  .help = "a string with a default" },
	{ .key = "port",
	  .type = GB_VALUE_INT,
	  .default_value = "8080",
	  .min = 1,
	  .max = 65535,
	  .help = "an integer in 1..65535" },
	{ .key = "offset",
	  .type = GB_VALUE_INT,
	  .default_value = "-3",
	  .min = 1,
	  .max = 0,
	  .help = "an integer, any value (min > max)" },
	{ .key = "verbose", .type = GB_VALUE_BOOL, .default_value = "false", .help = "a boolean" },
	{ .key = "ratio", .type = GB_VALUE_DOUBLE, .default_value = "0.5", .help = "a double" },
	{ .key = "token",
	  .type = GB_VALUE_STRING,
	  .default_value = NULL,
	  .help = "a required string" },
	{ .key = NULL },
};

static int settings_init(const struct gb_host *host, const struct gb_settings *settings,
                         void **state)
{
	const char *token = gb_settings_get_string(settings, "token");

	if (!token)
		return -EINVAL;
	*state = (void *)token;
	return 0;
}

static int settings_verify_password(void *state, const char *user, const char *password,
                                    struct gb_identity *identity)
{
	const char *token = state;

	return strcmp(password, token) == 0 ? 0 : -EACCES;
}

static const struct gb_auth_ops settings_ops = {
	.struct_size = sizeof(struct gb_auth_ops),
	.verify_password = settings_verify_password,
};

static const struct gb_plugin_descriptor settings_descriptor = {
	GB_PLUGIN_ABI_INIT,   .kind = GB_PLUGIN_KIND_AUTH, .name = "settings",
	.version = "1.0.0",   .options = settings_options, .init = settings_init,
	.ops = &settings_ops,
};

GB_PLUGIN_DEFINE(settings_descriptor)
