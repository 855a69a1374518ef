/* SPDX-License-Identifier: MIT */
/*
 * A storage plugin built for ABI 1.2, before storage had a vtable: no ops,
 * no init or fini. The host still accepts it; it gives no mounts.
 */
#include <glassbox/plugin.h>

static const struct gb_plugin_descriptor any_descriptor = {
	.abi_major = GB_PLUGIN_ABI_MAJOR,
	.abi_minor = 2,
	.struct_size = sizeof(struct gb_plugin_descriptor),
	.kind = GB_PLUGIN_KIND_STORAGE,
	.name = "any",
	.version = "0.0.1",
};

GB_PLUGIN_DEFINE(any_descriptor)
