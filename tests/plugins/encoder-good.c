/* SPDX-License-Identifier: MIT */
/* An encoder plugin with every ABI 1.0 member the host needs (set_bitrate is optional). */
#include <stddef.h>

#include <glassbox/encoder.h>

static int good_probe(void *state, char *error, size_t error_size)
{
	return 0;
}

static GstElement *good_create_bin(void *state, const struct gb_encoder_params *params,
                                   char *error, size_t error_size)
{
	return NULL;
}

static const struct gb_encoder_ops good_ops = {
	.struct_size = sizeof(struct gb_encoder_ops),
	.codec = GB_CODEC_H264,
	.flags = 0,
	.priority = 0,
	.probe = good_probe,
	.create_bin = good_create_bin,
	.set_bitrate = NULL,
};

static const struct gb_plugin_descriptor good_descriptor = {
	GB_PLUGIN_ABI_INIT, .kind = GB_PLUGIN_KIND_ENCODER, .name = "good", .version = "1.0.0",
	.ops = &good_ops,
};

GB_PLUGIN_DEFINE(good_descriptor)
