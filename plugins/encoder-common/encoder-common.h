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

#include <glassbox/encoder.h>

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

/**
 * Whether the host's @params hold every member this ABI has (up to
 * bitrate_kbps): 0, or -EINVAL with one line in @error.
 */
int gb_encoder_check_params(const struct gb_encoder_params *params, char *error,
                            size_t error_size);

/** The bitrate to start at: the drop-in's @configured, else the host's @requested, else @fallback.
 */
uint32_t gb_encoder_start_bitrate(uint32_t configured, uint32_t requested, uint32_t fallback);

/** A capsfilter (a floating reference) letting through @caps_text only; NULL on failure. */
GstElement *gb_encoder_capsfilter_new(const char *caps_text);

/**
 * A new bin (a floating reference) of the @count @elements linked in that
 * order: the first one's "sink" pad is the bin's "sink", the last one's
 * "src" the bin's "src". It takes every element's floating reference, also
 * when it fails: an element that is NULL ("cannot make @description") or a
 * link that fails ("cannot link @description") drops them all and returns
 * NULL with one line in @error.
 */
GstElement *gb_encoder_bin_new(GstElement *const *elements, size_t count, const char *description,
                               char *error, size_t error_size);

/** The encoder element of a plugin's bins, and how its bitrate is set. */
struct gb_encoder_element {
	const char *name;             /* its name in the bin */
	const char *type_name;        /* the name of its GType */
	const char *bitrate_property; /* an integer property */
	uint32_t bitrate_scale;       /* property units per kbit/s: 1, or 1000 for bit/s */
	uint32_t max_kbps;
};

/**
 * set_bitrate() of the encoder ABI for a bin made with @element: nothing
 * (0) when the drop-in pins a bitrate (@configured), -ERANGE for a
 * @bitrate_kbps of 0 or over element->max_kbps, -EINVAL when @bin is not
 * one of the plugin's (no element of that name and type), else 0 once the
 * running encoder has the new target.
 */
int gb_encoder_set_bitrate(const struct gb_encoder_element *element, GstElement *bin,
                           uint32_t configured, uint32_t bitrate_kbps);

#endif
