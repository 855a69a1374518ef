/* SPDX-License-Identifier: MIT */
/* Built for ABI 2.0: the host (1.x) must refuse it. */
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
	.abi_major = 2,
	.abi_minor = 0,
	.struct_size = sizeof(struct gb_plugin_descriptor),
	.kind = GB_PLUGIN_KIND_AUTH,
	.name = "abi2",
	.version = "2.0.0",
	.ops = &refused_ops,
};

GB_PLUGIN_DEFINE(refused_descriptor)
