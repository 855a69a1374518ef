/* SPDX-License-Identifier: MIT */
/*
 * An auth vtable whose struct_size stops before verify_password, as if built
 * against a header that did not have it yet: the host must not call past it.
 */
#include <stdint.h>

#include <glassbox/auth.h>

static const struct {
	uint32_t struct_size;
} tiny_ops = {
	.struct_size = sizeof(uint32_t),
};

static const struct gb_plugin_descriptor tiny_descriptor = {
	GB_PLUGIN_ABI_INIT, .kind = GB_PLUGIN_KIND_AUTH, .name = "tinyvtable", .version = "1.0.0",
	.ops = &tiny_ops,
};

GB_PLUGIN_DEFINE(tiny_descriptor)
