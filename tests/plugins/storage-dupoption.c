/* SPDX-License-Identifier: MIT */
/* Declares the option "fps" twice: which one would a drop-in set? A plugin bug. */
#include <glassbox/plugin.h>

static const struct gb_option dupoption_options[] = {
	{ .key = "fps", .type = GB_VALUE_INT, .default_value = "30", .min = 1, .max = 240 },
	{ .key = "fps", .type = GB_VALUE_INT, .default_value = "60", .min = 1, .max = 240 },
	{ .key = NULL },
};

static const struct gb_plugin_descriptor dupoption_descriptor = {
	/* ABI 1.2, before storage had a vtable: the duplicate is what refuses it. */
	.abi_major = GB_PLUGIN_ABI_MAJOR,
	.abi_minor = 2,
	.struct_size = sizeof(struct gb_plugin_descriptor),
	.kind = GB_PLUGIN_KIND_STORAGE,
	.name = "dupoption",
	.version = "1.0.0",
	.options = dupoption_options,
};

GB_PLUGIN_DEFINE(dupoption_descriptor)
