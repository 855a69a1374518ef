/* SPDX-License-Identifier: MIT */
/* A capture plugin with every member of the ABI 1.0 vtable; it never captures anything. */
#include <stddef.h>

#include <glassbox/capture.h>

static void *good_start(void *state, const struct gb_capture_target *target, GstElement **source,
                        char *error, size_t error_size)
{
	return NULL;
}

static void good_set_active(void *capture, bool active)
{
}

static void good_repeat_frame(void *capture)
{
}

static void good_stop(void *capture)
{
}

static const struct gb_capture_ops good_ops = {
	.struct_size = sizeof(struct gb_capture_ops),
	.start = good_start,
	.set_active = good_set_active,
	.repeat_frame = good_repeat_frame,
	.stop = good_stop,
};

static const struct gb_plugin_descriptor good_descriptor = {
	GB_PLUGIN_ABI_INIT, .kind = GB_PLUGIN_KIND_CAPTURE, .name = "good", .version = "1.0.0",
	.ops = &good_ops,
};

GB_PLUGIN_DEFINE(good_descriptor)
