/* SPDX-License-Identifier: MIT */
/* Small GStreamer helpers that stream.c and latency.c share. */
#ifndef GB_GST_UTIL_H
#define GB_GST_UTIL_H

#include <gst/gst.h>

/**
 * The @quark qdata of @object or of its nearest ancestor that has one,
 * passed through @ref while that element is still held (so it cannot go
 * away meanwhile); NULL when none has it. Any thread.
 */
static inline gpointer gb_gst_find_qdata(GstObject *object, GQuark quark,
                                         gpointer (*ref)(gpointer data))
{
	GstObject *current = object ? gst_object_ref(object) : NULL;

	while (current) {
		gpointer data = g_object_get_qdata(G_OBJECT(current), quark);
		GstObject *parent;

		if (data) {
			data = ref(data);
			gst_object_unref(current);
			return data;
		}
		parent = gst_object_get_parent(current);
		gst_object_unref(current);
		current = parent;
	}
	return NULL;
}

/** A buffer probe's buffer, or the first of its list; NULL for other probes. */
static inline GstBuffer *gb_gst_probe_first_buffer(GstPadProbeInfo *info)
{
	if (info->type & GST_PAD_PROBE_TYPE_BUFFER)
		return GST_PAD_PROBE_INFO_BUFFER(info);
	if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST)
		return gst_buffer_list_get(GST_PAD_PROBE_INFO_BUFFER_LIST(info), 0);
	return NULL;
}

/** Call @func on a buffer probe's buffer, or on each buffer of its list. */
static inline void gb_gst_probe_foreach_buffer(GstPadProbeInfo *info, GstBufferListFunc func,
                                               gpointer data)
{
	if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
		GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER(info);

		func(&buffer, 0, data);
	} else if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
		gst_buffer_list_foreach(GST_PAD_PROBE_INFO_BUFFER_LIST(info), func, data);
	}
}

#endif
