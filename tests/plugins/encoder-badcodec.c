/* SPDX-License-Identifier: MIT */
/* An encoder claiming codec 99, which no browser knows by any name: refused. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>

#include <glassbox/encoder.h>

static int badcodec_probe(void *state, char *error, size_t error_size)
{
	snprintf(error, error_size, "test plugin: never available");
	return -ENODEV;
}

static GstElement *badcodec_create_bin(void *state, const struct gb_encoder_params *params,
                                       char *error, size_t error_size)
{
	return NULL;
}

static const struct gb_encoder_ops badcodec_ops = {
	.struct_size = sizeof(struct gb_encoder_ops),
	.codec = 99,
	.flags = 0,
	.priority = 0,
	.probe = badcodec_probe,
	.create_bin = badcodec_create_bin,
	.set_bitrate = NULL,
};

static const struct gb_plugin_descriptor badcodec_descriptor = {
	GB_PLUGIN_ABI_INIT, .kind = GB_PLUGIN_KIND_ENCODER, .name = "badcodec",
	.version = "1.0.0", .ops = &badcodec_ops,
};

GB_PLUGIN_DEFINE(badcodec_descriptor)
