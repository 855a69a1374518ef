/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "encoder-common.h"
#include "error.h"

int gb_encoder_ensure_gstreamer(char *error, size_t error_size)
{
	GError *gerror = NULL;

	if (gst_is_initialized())
		return 0;
	if (!gst_init_check(NULL, NULL, &gerror)) {
		gb_error_set(error, error_size, "GStreamer does not initialise: %s",
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
		gb_error_set(error, error_size, "GStreamer element %s is missing (%s)", factory,
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

int gb_encoder_check_params(const struct gb_encoder_params *params, char *error, size_t error_size)
{
	if (!params || params->struct_size < offsetof(struct gb_encoder_params, bitrate_kbps) +
	                                             sizeof(params->bitrate_kbps)) {
		gb_error_set(error, error_size, "the host's encoder parameters are too small");
		return -EINVAL;
	}
	return 0;
}

uint32_t gb_encoder_start_bitrate(uint32_t configured, uint32_t requested, uint32_t fallback)
{
	if (configured)
		return configured;
	return requested ? requested : fallback;
}

GstElement *gb_encoder_capsfilter_new(const char *caps_text)
{
	GstElement *filter = gst_element_factory_make("capsfilter", NULL);
	GstCaps *caps = gst_caps_from_string(caps_text);

	if (!filter || !caps) {
		if (filter)
			gst_object_unref(gst_object_ref_sink(filter));
		if (caps)
			gst_caps_unref(caps);
		return NULL;
	}
	g_object_set(filter, "caps", caps, NULL);
	gst_caps_unref(caps);
	return filter;
}

static void drop_elements(GstElement *const *elements, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (elements[i])
			gst_object_unref(gst_object_ref_sink(elements[i]));
}

GstElement *gb_encoder_bin_new(GstElement *const *elements, size_t count, const char *description,
                               char *error, size_t error_size)
{
	GstElement *bin;
	bool linked = count > 0;

	for (size_t i = 0; i < count; i++)
		linked = linked && elements[i];
	bin = linked ? gst_bin_new(NULL) : NULL;
	if (!bin) {
		gb_error_set(error, error_size, "cannot make %s", description);
		drop_elements(elements, count);
		return NULL;
	}
	/* The bin takes the floating references; the pointers stay valid while it lives. */
	for (size_t i = 0; i < count; i++)
		gst_bin_add(GST_BIN(bin), elements[i]);
	for (size_t i = 0; i + 1 < count && linked; i++)
		linked = gst_element_link(elements[i], elements[i + 1]);
	if (!linked || !gb_encoder_add_ghost_pad(bin, elements[0], "sink", "sink") ||
	    !gb_encoder_add_ghost_pad(bin, elements[count - 1], "src", "src")) {
		gb_error_set(error, error_size, "cannot link %s", description);
		gst_object_unref(gst_object_ref_sink(bin));
		return NULL;
	}
	return bin;
}

int gb_encoder_set_bitrate(const struct gb_encoder_element *element, GstElement *bin,
                           uint32_t configured, uint32_t bitrate_kbps)
{
	GstElement *encoder;
	char value[24];

	/* A pinned bitrate in the drop-in wins over the host's adaptation. */
	if (configured)
		return 0;
	if (bitrate_kbps == 0 || bitrate_kbps > element->max_kbps)
		return -ERANGE;
	if (!GST_IS_BIN(bin))
		return -EINVAL;
	encoder = gst_bin_get_by_name(GST_BIN(bin), element->name);
	if (!encoder)
		return -EINVAL;
	if (strcmp(G_OBJECT_TYPE_NAME(encoder), element->type_name) != 0) {
		gst_object_unref(encoder);
		return -EINVAL;
	}
	/* As text: the property is a gint in one encoder and a guint in another. */
	snprintf(value, sizeof(value), "%llu",
	         (unsigned long long)bitrate_kbps * element->bitrate_scale);
	gst_util_set_object_arg(G_OBJECT(encoder), element->bitrate_property, value);
	gst_object_unref(encoder);
	return 0;
}
