/* SPDX-License-Identifier: MIT */
/* A descriptor claiming to be smaller than the ABI 1.0 layout. */
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
	.abi_minor = GB_PLUGIN_ABI_MINOR,
	.struct_size = 16,
	.kind = GB_PLUGIN_KIND_AUTH,
	.name = "smalldesc",
	.version = "1.0.0",
	.ops = &refused_ops,
};

GB_PLUGIN_DEFINE(refused_descriptor)
