/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>

#include "encoder-common.h"

int gb_encoder_ensure_gstreamer(char *error, size_t error_size)
{
	GError *gerror = NULL;

	if (gst_is_initialized())
		return 0;
	if (!gst_init_check(NULL, NULL, &gerror)) {
		snprintf(error, error_size, "GStreamer does not initialise: %s",
		         gerror ? gerror->message : "unknown error");
		g_clear_error(&gerror);
		return -ENODEV;
	}
	return 0;
}

int gb_encoder_probe_element(const char *factory, const char *package, char *error,
                             size_t error_size)
{
	GstElement *element = gst_element_factory_make(factory, NULL);

	if (!element) {
		snprintf(error, error_size, "GStreamer element %s is missing (%s)", factory,
		         package);
		return -ENOENT;
	}
	gst_object_unref(gst_object_ref_sink(element));
	return 0;
}

bool gb_encoder_add_ghost_pad(GstElement *bin, GstElement *element, const char *element_pad,
                              const char *name)
{
	GstPad *target = gst_element_get_static_pad(element, element_pad);
	GstPad *ghost;

	if (!target)
		return false;
	ghost = gst_ghost_pad_new(name, target);
	gst_object_unref(target);
	if (!ghost)
		return false;
	gst_pad_set_active(ghost, TRUE);
	return gst_element_add_pad(bin, ghost);
}

uint32_t gb_encoder_thread_count(uint32_t configured, uint32_t max_auto)
{
	uint32_t cores;

	if (configured > 0)
		return configured;
	cores = g_get_num_processors();
	return cores < max_auto ? cores : max_auto;
}
