/* SPDX-License-Identifier: MIT */
/*
 * What the GStreamer-based encoder plugins share. Linked statically into
 * each plugin (hidden symbols), so every .so still exports only its entry.
 */
#ifndef GB_ENCODER_COMMON_H
#define GB_ENCODER_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gst/gst.h>

/** Initialise GStreamer if the host has not. 0, or -ENODEV with one line in @error. */
int gb_encoder_ensure_gstreamer(char *error, size_t error_size);

/**
 * Make and drop one @factory element: loading it, not only finding it in
 * the registry, proves its library loads. 0, or -ENOENT with one line in @error
 * naming the Debian @package that provides it.
 */
int gb_encoder_probe_element(const char *factory, const char *package, char *error,
                             size_t error_size);

/** Expose @element's @element_pad on @bin as @name. */
bool gb_encoder_add_ghost_pad(GstElement *bin, GstElement *element, const char *element_pad,
                              const char *name);

/** @configured threads, or with 0 one per core, at most @max_auto. */
uint32_t gb_encoder_thread_count(uint32_t configured, uint32_t max_auto);

#endif
