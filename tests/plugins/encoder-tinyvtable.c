/* SPDX-License-Identifier: MIT */
/* An encoder vtable whose struct_size stops just before create_bin(): refused. Built
 * against the real header, it pins the host's restated layout too. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>

#include <glassbox/encoder.h>

static int tinyvtable_probe(void *state, char *error, size_t error_size)
{
	snprintf(error, error_size, "test plugin: never available");
	return -ENODEV;
}

static GstElement *tinyvtable_create_bin(void *state, const struct gb_encoder_params *params,
                                         char *error, size_t error_size)
{
	return NULL;
}

static const struct gb_encoder_ops tinyvtable_ops = {
	.struct_size = offsetof(struct gb_encoder_ops, create_bin),
	.codec = GB_CODEC_H264,
	.flags = 0,
	.priority = 0,
	.probe = tinyvtable_probe,
	.create_bin = tinyvtable_create_bin,
	.set_bitrate = NULL,
};

static const struct gb_plugin_descriptor tinyvtable_descriptor = {
	GB_PLUGIN_ABI_INIT, .kind = GB_PLUGIN_KIND_ENCODER, .name = "tinyvtable",
	.version = "1.0.0", .ops = &tinyvtable_ops,
};

GB_PLUGIN_DEFINE(tinyvtable_descriptor)
