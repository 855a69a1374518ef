/* SPDX-License-Identifier: MIT */
/* A storage plugin of ABI 1.3 without the vtable that 1.3 requires. */
#include <glassbox/plugin.h>

static const struct gb_plugin_descriptor noops_descriptor = {
	GB_PLUGIN_ABI_INIT,
	.kind = GB_PLUGIN_KIND_STORAGE,
	.name = "noops",
	.version = "0.0.1",
};

GB_PLUGIN_DEFINE(noops_descriptor)
