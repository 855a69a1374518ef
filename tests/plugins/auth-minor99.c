/* SPDX-License-Identifier: MIT */
/* Built for ABI 1.99, newer than the host: it may use members the host lacks. */
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

static const struct gb_plugin_descriptor refused_descriptor = {
	.abi_major = GB_PLUGIN_ABI_MAJOR,
	.abi_minor = 99,
	.struct_size = sizeof(struct gb_plugin_descriptor),
	.kind = GB_PLUGIN_KIND_AUTH,
	.name = "minor99",
	.version = "1.99.0",
	.ops = &refused_ops,
};

GB_PLUGIN_DEFINE(refused_descriptor)
