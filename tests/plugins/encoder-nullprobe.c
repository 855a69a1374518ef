/* SPDX-License-Identifier: MIT */
/* An encoder vtable of the full size without probe(): refused. */
#include <stddef.h>

#include <glassbox/encoder.h>

static GstElement *nullprobe_create_bin(void *state, const struct gb_encoder_params *params,
                                        char *error, size_t error_size)
{
	return NULL;
}

static const struct gb_encoder_ops nullprobe_ops = {
	.struct_size = sizeof(struct gb_encoder_ops),
	.codec = GB_CODEC_VP8,
	.flags = 0,
	.priority = 0,
	.probe = NULL,
	.create_bin = nullprobe_create_bin,
	.set_bitrate = NULL,
};

static const struct gb_plugin_descriptor nullprobe_descriptor = {
	GB_PLUGIN_ABI_INIT, .kind = GB_PLUGIN_KIND_ENCODER, .name = "nullprobe",
	.version = "1.0.0", .ops = &nullprobe_ops,
};

GB_PLUGIN_DEFINE(nullprobe_descriptor)
