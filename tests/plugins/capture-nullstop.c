/* SPDX-License-Identifier: MIT */
/* A capture vtable of the full size with stop() NULL: the host would call it. */
#include <stddef.h>

#include <glassbox/capture.h>

static void *nullstop_start(void *state, const struct gb_capture_target *target,
                            GstElement **source, char *error, size_t error_size)
{
	return NULL;
}

static void nullstop_set_active(void *capture, bool active)
{
}

static void nullstop_repeat_frame(void *capture)
{
}

static const struct gb_capture_ops nullstop_ops = {
	.struct_size = sizeof(struct gb_capture_ops),
	.start = nullstop_start,
	.set_active = nullstop_set_active,
	.repeat_frame = nullstop_repeat_frame,
	.stop = NULL,
};

static const struct gb_plugin_descriptor nullstop_descriptor = {
	GB_PLUGIN_ABI_INIT, .kind = GB_PLUGIN_KIND_CAPTURE, .name = "nullstop",
	.version = "1.0.0", .ops = &nullstop_ops,
};

GB_PLUGIN_DEFINE(nullstop_descriptor)
