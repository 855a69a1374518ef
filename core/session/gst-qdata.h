/* SPDX-License-Identifier: MIT */
/* Finding what the session hung on a GStreamer element from anything inside it. */
#ifndef GB_GST_QDATA_H
#define GB_GST_QDATA_H

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

#endif
