/* SPDX-License-Identifier: MIT */
/*
 * Glassbox capture plugins: the session's video source. The host hands the
 * plugin its compositor and output; the plugin hands back a GStreamer source
 * element producing raw frames for the encoder.
 */
#ifndef GLASSBOX_CAPTURE_H
#define GLASSBOX_CAPTURE_H

#include <time.h>
#include <glassbox/plugin.h>
#include <gst/gst.h>
#include <pixman.h>

#ifdef __cplusplus
extern "C" {
#endif

struct weston_compositor;
struct weston_output;

/*
 * Every buffer a capture source pushes carries a GstReferenceTimestampMeta
 * with these caps, whose timestamp is the CLOCK_MONOTONIC time (ns) the frame
 * was rendered. The host measures latency from it.
 */
#define GB_CAPTURE_TIMESTAMP_CAPS "timestamp/x-glassbox-capture"

typedef void (*gb_capture_frame_func)(void *data, struct weston_output *output,
                                      const pixman_region32_t *damage,
                                      const struct timespec *time);

/** What the host gives a capture plugin. Check struct_size before using a member. */
struct gb_capture_target {
	uint32_t struct_size;
	struct weston_compositor *compositor;
	struct weston_output *output;

	/*
	 * Call @frame after every repaint of the output, on the session's
	 * main loop, with the region repainted (global coordinates) and the
	 * time it was rendered (CLOCK_MONOTONIC). Returns a handle for
	 * remove_frame_listener(), or NULL when out of memory.
	 */
	void *(*add_frame_listener)(const struct gb_capture_target *target,
	                            gb_capture_frame_func frame, void *data);
	void (*remove_frame_listener)(const struct gb_capture_target *target, void *handle);

	/* Damage the whole output, so that the next repaint covers all of it. */
	void (*damage_all)(const struct gb_capture_target *target);
};

struct gb_capture_ops {
	uint32_t struct_size;

	/*
	 * Start capturing @target. Store in *source a GStreamer element (a
	 * floating reference) with an always "src" pad producing
	 * video/x-raw,format=I420,colorimetry=bt601 at the output's size,
	 * framerate 0/1, live, buffers timestamped in running time and
	 * carrying the capture meta above. Return an opaque capture handle,
	 * or NULL with one line in @error.
	 */
	void *(*start)(void *state, const struct gb_capture_target *target, GstElement **source,
	               char *error, size_t error_size);

	/*
	 * Frames are only captured and pushed while active (someone is
	 * watching). Sources start inactive.
	 */
	void (*set_active)(void *capture, bool active);

	/*
	 * Push the last frame again now, with a new timestamp: the screen is
	 * idle but a late joiner or a lossy link needs a picture. Does nothing
	 * before the first frame.
	 */
	void (*repeat_frame)(void *capture);

	/* Stop capturing; the host has already set the source to NULL state. */
	void (*stop)(void *capture);
};

#ifdef __cplusplus
}
#endif

#endif /* GLASSBOX_CAPTURE_H */
