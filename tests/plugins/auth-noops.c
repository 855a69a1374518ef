/* SPDX-License-Identifier: MIT */
/* An auth plugin without a vtable: the host has nothing to call. */
#include <glassbox/plugin.h>

static const struct gb_plugin_descriptor noops_descriptor = {
	GB_PLUGIN_ABI_INIT, .kind = GB_PLUGIN_KIND_AUTH, .name = "noops", .version = "1.0.0",
	.ops = NULL,
};

GB_PLUGIN_DEFINE(noops_descriptor)
