/* SPDX-License-Identifier: MIT */
/* Named auth-namemismatch.so but declares the name "other". */
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
	GB_PLUGIN_ABI_INIT, .kind = GB_PLUGIN_KIND_AUTH, .name = "other",
	.version = "1.0.0", .ops = &refused_ops,
};

GB_PLUGIN_DEFINE(refused_descriptor)
