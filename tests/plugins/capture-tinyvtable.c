/* SPDX-License-Identifier: MIT */
/*
 * A capture vtable whose struct_size stops just before stop(), as if built
 * against an older header: the host calls stop(), so it must refuse it.
 * Built against the real header, this also pins the host's idea of the
 * layout (core/lib/plugin-loader.c restates it without GStreamer).
 */
#include <stddef.h>

#include <glassbox/capture.h>

static void *tiny_start(void *state, const struct gb_capture_target *target, GstElement **source,
                        char *error, size_t error_size)
{
	return NULL;
}

static void tiny_set_active(void *capture, bool active)
{
}

static void tiny_repeat_frame(void *capture)
{
}

static void tiny_stop(void *capture)
{
}

static const struct gb_capture_ops tiny_ops = {
	.struct_size = offsetof(struct gb_capture_ops, stop),
	.start = tiny_start,
	.set_active = tiny_set_active,
	.repeat_frame = tiny_repeat_frame,
	.stop = tiny_stop,
};

static const struct gb_plugin_descriptor tiny_descriptor = {
	GB_PLUGIN_ABI_INIT,   .kind = GB_PLUGIN_KIND_CAPTURE,
	.name = "tinyvtable", .version = "1.0.0",
	.ops = &tiny_ops,
};

GB_PLUGIN_DEFINE(tiny_descriptor)
