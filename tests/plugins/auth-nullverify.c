/* SPDX-License-Identifier: MIT */
/* An auth vtable big enough for verify_password, with verify_password NULL. */
#include <glassbox/auth.h>

static const struct gb_auth_ops nullverify_ops = {
	.struct_size = sizeof(struct gb_auth_ops),
	.verify_password = NULL,
};

static const struct gb_plugin_descriptor nullverify_descriptor = {
	GB_PLUGIN_ABI_INIT, .kind = GB_PLUGIN_KIND_AUTH, .name = "nullverify",
	.version = "1.0.0", .ops = &nullverify_ops,
};

GB_PLUGIN_DEFINE(nullverify_descriptor)
