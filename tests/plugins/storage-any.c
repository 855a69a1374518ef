/* SPDX-License-Identifier: MIT */
/*
 * A storage plugin with no vtable, init or fini. ABI 1.0 defines no storage
 * vtable yet, so the host must accept it as it is.
 */
#include <glassbox/plugin.h>

static const struct gb_plugin_descriptor any_descriptor = {
	GB_PLUGIN_ABI_INIT,
	.kind = GB_PLUGIN_KIND_STORAGE,
	.name = "any",
	.version = "0.0.1",
};

GB_PLUGIN_DEFINE(any_descriptor)
