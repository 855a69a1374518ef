/* SPDX-License-Identifier: MIT */
/* An option whose default does not parse as its type: a plugin bug. */
#include <errno.h>

#include <glassbox/auth.h>

static int refused_verify_password(void *state, const char *user, const char *password,
                                   struct gb_identity *identity)
{
	return -EACCES;
}

static const struct gb_auth_ops refused_ops = {
	.struct_size = sizeof(struct gb_auth_ops),
	.verify_password = refused_verify_password,
};

static const struct gb_option baddefault_options[] = {
	{ .key = "limit", .type = GB_VALUE_INT, .default_value = "lots", .min = 0, .max = 10 },
	{ .key = NULL },
};

static const struct gb_plugin_descriptor refused_descriptor = {
	GB_PLUGIN_ABI_INIT, .kind = GB_PLUGIN_KIND_AUTH,   .name = "baddefault",
	.version = "1.0.0", .options = baddefault_options, .ops = &refused_ops,
};

GB_PLUGIN_DEFINE(refused_descriptor)
