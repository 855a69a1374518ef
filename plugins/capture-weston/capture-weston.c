/* SPDX-License-Identifier: MIT */
/*
 * capture-weston: the session's output as a live GStreamer source.
 *
 * After every repaint the host calls us with the region that was repainted.
 * We read back only that region from libweston's renderer, convert it to
 * I420 straight into the buffer we are about to push, and copy the rest of
 * that buffer from the previous frame only where the buffer is out of date.
 * At 1080p a full BGRx -> I420 conversion costs about as much as the x264
 * encode itself, and a typing user repaints a few percent of the screen, so
 * most frames cost a few percent of a full conversion and no full copy.
 *
 * Buffers come from a small ring of our own. Each keeps the region where it
 * differs from the screen; a buffer can be written again once downstream
 * has let go of it (GStreamer's writability says so), and then only that
 * region is brought up to date. What we push is a shallow copy (shares the
 * memory) carrying the timestamps, so the ring buffers never hold metadata.
 *
 * Everything runs on the session's main loop; appsrc's push is thread-safe.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <libweston/libweston.h>

#include <glassbox/capture.h>

#include "colour-convert.h"
#include "error.h"

#define PLUGIN_NAME "weston"

/* Buffers in the ring: appsrc queues 2, the encoder holds 1, one is ours. */
#define RING_SIZE 5
/* More damage rectangles than this are read as their bounding box: every
 * read_pixels is a round trip to the renderer (a GPU sync with GL). */
#define MAX_RECTANGLES 16
/* Outputs bigger than this are refused (8K). */
#define MAX_DIMENSION 8192
/* While the pipeline has no clock yet, retry a pending push this often, this many times. */
#define CLOCK_RETRY_MS    10
#define CLOCK_RETRY_LIMIT 200

struct plugin {
	const struct gb_host *host;
	uint32_t max_fps;
};

struct ring_buffer {
	GstBuffer *buffer;       /* our one reference; no metadata */
	pixman_region32_t stale; /* where it differs from the screen */
};

struct capture {
	struct plugin *plugin;
	const struct gb_capture_target *target;
	void *listener;
	GstElement *source; /* our own reference to the appsrc */
	GstCaps *timestamp_caps;
	struct wl_event_source *timer;

	bool active;
	bool need_full; /* the next frame converts the whole output */

	/* The current format; the ring is reallocated when it changes. */
	uint32_t width, height;
	GstVideoInfo info;
	enum gb_pixel_layout layout;
	pixman_format_code_t read_format;
	bool y_flip;

	struct ring_buffer ring[RING_SIZE];
	int newest;        /* ring index of the newest complete frame, or -1 */
	bool newest_shown; /* it was pushed (false: throttled, or no clock yet) */
	int clock_retries;

	uint8_t *scratch; /* read_pixels lands here, one rectangle at a time */
	size_t scratch_size;

	uint64_t newest_ns;    /* CLOCK_MONOTONIC when the newest frame was rendered */
	uint64_t last_push_ns; /* CLOCK_MONOTONIC */
	GstClockTime last_pts;

	/* figures, logged at stop */
	uint64_t frames_pushed, frames_repeated, frames_converted;
	uint64_t pixels_converted, pixels_copied, pixels_total;
	uint64_t convert_ns;
	bool warned_unsupported;
};

static const struct gb_option capture_options[] = {
	{ .key = "max_fps",
	  .type = GB_VALUE_INT,
	  .default_value = "0",
	  .min = 0,
	  .max = 240,
	  .help = "push at most this many frames a second (0: every repaint); the last "
	          "state is always pushed" },
	{ .key = NULL },
};

static uint64_t monotonic_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

static int layout_from_pixman(pixman_format_code_t format, enum gb_pixel_layout *layout)
{
	switch (format) {
	case PIXMAN_x8r8g8b8:
	case PIXMAN_a8r8g8b8:
		*layout = GB_PIXEL_XRGB8888;
		return 0;
	case PIXMAN_x8b8g8r8:
	case PIXMAN_a8b8g8r8:
		*layout = GB_PIXEL_XBGR8888;
		return 0;
	default:
		return -ENOTSUP;
	}
}

static void ring_clear(struct capture *capture)
{
	for (int i = 0; i < RING_SIZE; i++) {
		if (capture->ring[i].buffer)
			gst_buffer_unref(capture->ring[i].buffer);
		capture->ring[i].buffer = NULL;
		pixman_region32_clear(&capture->ring[i].stale);
	}
	capture->newest = -1;
	capture->newest_shown = true;
}

static void frame_from_map(struct gb_i420_frame *frame, const GstVideoInfo *info,
                           const GstMapInfo *map)
{
	frame->y = map->data + GST_VIDEO_INFO_PLANE_OFFSET(info, 0);
	frame->u = map->data + GST_VIDEO_INFO_PLANE_OFFSET(info, 1);
	frame->v = map->data + GST_VIDEO_INFO_PLANE_OFFSET(info, 2);
	frame->y_stride = (size_t)GST_VIDEO_INFO_PLANE_STRIDE(info, 0);
	frame->uv_stride = (size_t)GST_VIDEO_INFO_PLANE_STRIDE(info, 1);
	frame->width = GST_VIDEO_INFO_WIDTH(info);
	frame->height = GST_VIDEO_INFO_HEIGHT(info);
}

/*
 * Take on the output's current size and the renderer's read format: new
 * caps (appsrc queues them in order with the buffers), a new ring, and a
 * full conversion next.
 */
static int capture_configure(struct capture *capture, uint32_t width, uint32_t height)
{
	struct weston_compositor *compositor = capture->target->compositor;
	enum gb_pixel_layout layout;
	GstVideoInfo info;
	GstCaps *caps;
	uint8_t *scratch;
	size_t scratch_size;

	if (width == 0 || height == 0 || width > MAX_DIMENSION || height > MAX_DIMENSION)
		return -E2BIG;
	if (layout_from_pixman(compositor->read_format, &layout) < 0)
		return -ENOTSUP;

	gst_video_info_init(&info);
	if (!gst_video_info_set_format(&info, GST_VIDEO_FORMAT_I420, width, height))
		return -EINVAL;
	/* BT.601 limited range, what colour-convert.c produces. */
	if (!gst_video_colorimetry_from_string(&info.colorimetry, GST_VIDEO_COLORIMETRY_BT601))
		return -EINVAL;
	GST_VIDEO_INFO_FPS_N(&info) = 0;
	GST_VIDEO_INFO_FPS_D(&info) = 1;
	GST_VIDEO_INFO_PAR_N(&info) = 1;
	GST_VIDEO_INFO_PAR_D(&info) = 1;
	caps = gst_video_info_to_caps(&info);
	if (!caps)
		return -ENOMEM;

	scratch_size = (size_t)width * height * 4;
	if (scratch_size > capture->scratch_size) {
		scratch = realloc(capture->scratch, scratch_size);
		if (!scratch) {
			gst_caps_unref(caps);
			return -ENOMEM;
		}
		capture->scratch = scratch;
		capture->scratch_size = scratch_size;
	}

	gst_app_src_set_caps(GST_APP_SRC(capture->source), caps);
	gst_caps_unref(caps);
	ring_clear(capture);
	capture->info = info;
	capture->width = width;
	capture->height = height;
	capture->layout = layout;
	capture->read_format = compositor->read_format;
	capture->y_flip = (compositor->capabilities & WESTON_CAP_CAPTURE_YFLIP) != 0;
	capture->need_full = true;
	gb_plugin_log(capture->plugin->host, GB_LOG_INFO,
	              "capturing %" PRIu32 "x%" PRIu32 " as I420%s", width, height,
	              capture->y_flip ? " (rows read bottom-up)" : "");
	return 0;
}

/* A ring buffer nobody downstream holds, other than @avoid; allocated on first use. */
static int ring_take(struct capture *capture, int avoid)
{
	for (int i = 0; i < RING_SIZE; i++) {
		struct ring_buffer *slot = &capture->ring[i];

		if (i == avoid)
			continue;
		if (!slot->buffer) {
			slot->buffer = gst_buffer_new_allocate(
			        NULL, GST_VIDEO_INFO_SIZE(&capture->info), NULL);
			if (!slot->buffer)
				return -ENOMEM;
			pixman_region32_fini(&slot->stale);
			pixman_region32_init_rect(&slot->stale, 0, 0, capture->width,
			                          capture->height);
			return i;
		}
		/*
		 * Pushed buffers are shallow copies sharing this memory: it is
		 * writable again once every one of them is gone.
		 */
		if (gst_mini_object_is_writable(GST_MINI_OBJECT_CAST(slot->buffer)) &&
		    gst_buffer_is_all_memory_writable(slot->buffer))
			return i;
	}
	return -EBUSY;
}

/* Running time now, on the pipeline's clock, of CLOCK_MONOTONIC @frame_ns. */
static bool running_time_of(struct capture *capture, uint64_t frame_ns, GstClockTime *pts)
{
	GstClock *clock = gst_element_get_clock(capture->source);
	GstClockTime base_time, clock_now, capture_time;
	uint64_t now_ns, age;

	if (!clock)
		return false;
	base_time = gst_element_get_base_time(capture->source);
	clock_now = gst_clock_get_time(clock);
	now_ns = monotonic_ns();
	gst_object_unref(clock);
	/* The pipeline's clock need not be CLOCK_MONOTONIC: carry over the frame's age. */
	age = now_ns > frame_ns ? now_ns - frame_ns : 0;
	capture_time = clock_now > age ? clock_now - age : 0;
	*pts = capture_time > base_time ? capture_time - base_time : 0;
	/* Timestamps never go backwards, whatever the clocks did. */
	if (GST_CLOCK_TIME_IS_VALID(capture->last_pts) && *pts <= capture->last_pts)
		*pts = capture->last_pts + 1;
	return true;
}

/*
 * Push the newest frame, timestamped @frame_ns. Returns false when the
 * pipeline is not running yet (no clock): the frame stays pending.
 */
static bool push_newest(struct capture *capture, uint64_t frame_ns)
{
	GstBuffer *buffer;
	GstClockTime pts;

	if (capture->newest < 0)
		return true;
	if (!running_time_of(capture, frame_ns, &pts))
		return false;
	/* Shares the memory: no copy. */
	buffer = gst_buffer_copy(capture->ring[capture->newest].buffer);
	if (!buffer)
		return false;
	GST_BUFFER_PTS(buffer) = pts;
	GST_BUFFER_DTS(buffer) = GST_CLOCK_TIME_NONE;
	GST_BUFFER_DURATION(buffer) = GST_CLOCK_TIME_NONE;
	gst_buffer_add_reference_timestamp_meta(buffer, capture->timestamp_caps, frame_ns,
	                                        GST_CLOCK_TIME_NONE);
	/* Takes the buffer; leaky appsrc drops the oldest queued one when full. */
	gst_app_src_push_buffer(GST_APP_SRC(capture->source), buffer);
	capture->last_pts = pts;
	capture->last_push_ns = monotonic_ns();
	capture->newest_shown = true;
	capture->clock_retries = 0;
	capture->frames_pushed++;
	return true;
}

static void arm_timer(struct capture *capture, uint64_t delay_ns)
{
	int ms = (int)((delay_ns + 999999) / 1000000);

	if (capture->timer)
		wl_event_source_timer_update(capture->timer, ms > 0 ? ms : 1);
}

/* Push now, or later when throttled or before the pipeline runs. */
static void push_or_defer(struct capture *capture, uint64_t frame_ns)
{
	uint32_t max_fps = capture->plugin->max_fps;
	uint64_t now = monotonic_ns();

	capture->newest_shown = false;
	if (max_fps > 0 && capture->frames_pushed > 0) {
		uint64_t interval = 1000000000u / max_fps;

		if (now - capture->last_push_ns < interval) {
			/* The timer pushes whatever is newest then. */
			arm_timer(capture, interval - (now - capture->last_push_ns));
			return;
		}
	}
	if (!push_newest(capture, frame_ns) && capture->clock_retries < CLOCK_RETRY_LIMIT) {
		capture->clock_retries++;
		arm_timer(capture, CLOCK_RETRY_MS * 1000000u);
	}
}

static int timer_fired(void *data)
{
	struct capture *capture = data;

	if (capture->active && !capture->newest_shown)
		push_or_defer(capture, capture->newest_ns);
	return 0;
}

/* Read @rect (output coordinates) from the renderer and convert it into @frame. */
static int convert_rect(struct capture *capture, const struct gb_i420_frame *frame,
                        const struct gb_rect *rect)
{
	struct weston_compositor *compositor = capture->target->compositor;
	struct weston_output *output = capture->target->output;
	uint32_t read_y = (uint32_t)rect->y;
	const uint8_t *pixels = capture->scratch;
	ptrdiff_t stride = (ptrdiff_t)rect->width * 4;

	/* GL reads from the bottom-left corner, rows bottom-up. */
	if (capture->y_flip) {
		read_y = capture->height - (uint32_t)(rect->y + rect->height);
		pixels += (size_t)(rect->height - 1) * (size_t)stride;
		stride = -stride;
	}
	if (compositor->renderer->read_pixels(output, capture->read_format, capture->scratch,
	                                      (uint32_t)rect->x, read_y, (uint32_t)rect->width,
	                                      (uint32_t)rect->height) < 0)
		return -EIO;
	return gb_colour_convert(frame, rect, pixels, stride, capture->layout);
}

/*
 * The damage the frame brings, in output coordinates, grown to whole chroma
 * blocks. Rotated or scaled outputs are read whole: their damage would need
 * transforming to framebuffer coordinates, and the session uses neither.
 */
static void frame_damage(struct capture *capture, struct weston_output *output,
                         const pixman_region32_t *damage, pixman_region32_t *aligned)
{
	pixman_region32_t local;
	pixman_box32_t *boxes;
	int n;

	pixman_region32_init(aligned);
	if (capture->need_full || !damage || output->transform != WL_OUTPUT_TRANSFORM_NORMAL ||
	    output->current_scale != 1) {
		pixman_region32_init_rect(aligned, 0, 0, capture->width, capture->height);
		return;
	}
	pixman_region32_init(&local);
	pixman_region32_copy(&local, damage);
	pixman_region32_translate(&local, -output->x, -output->y);
	pixman_region32_intersect_rect(&local, &local, 0, 0, capture->width, capture->height);
	boxes = pixman_region32_rectangles(&local, &n);
	if (n > MAX_RECTANGLES) {
		boxes = pixman_region32_extents(&local);
		n = 1;
	}
	for (int i = 0; i < n; i++) {
		struct gb_rect rect = { boxes[i].x1, boxes[i].y1, boxes[i].x2 - boxes[i].x1,
			                boxes[i].y2 - boxes[i].y1 };

		gb_rect_align_to_chroma(&rect, capture->width, capture->height);
		if (rect.width > 0 && rect.height > 0)
			pixman_region32_union_rect(aligned, aligned, rect.x, rect.y,
			                           (unsigned)rect.width, (unsigned)rect.height);
	}
	pixman_region32_fini(&local);
}

static uint64_t region_area(pixman_region32_t *region)
{
	pixman_box32_t *boxes;
	uint64_t area = 0;
	int n;

	boxes = pixman_region32_rectangles(region, &n);
	for (int i = 0; i < n; i++)
		area += (uint64_t)(boxes[i].x2 - boxes[i].x1) *
		        (uint64_t)(boxes[i].y2 - boxes[i].y1);
	return area;
}

/*
 * Bring ring buffer @index up to date: copy from the newest frame what it
 * lacks outside @damage, then convert @damage from the renderer.
 */
static int fill_buffer(struct capture *capture, int index, pixman_region32_t *damage)
{
	struct ring_buffer *slot = &capture->ring[index];
	struct gb_i420_frame frame, newest_frame;
	GstMapInfo map, newest_map;
	pixman_region32_t to_copy;
	pixman_box32_t *boxes;
	int n, r = 0;

	if (!gst_buffer_map(slot->buffer, &map, GST_MAP_WRITE))
		return -ENOMEM;
	frame_from_map(&frame, &capture->info, &map);

	pixman_region32_init(&to_copy);
	pixman_region32_subtract(&to_copy, &slot->stale, damage);
	if (pixman_region32_not_empty(&to_copy)) {
		/* Only the newest frame is up to date outside this damage. */
		if (capture->newest < 0 || !gst_buffer_map(capture->ring[capture->newest].buffer,
		                                           &newest_map, GST_MAP_READ)) {
			r = -EIO;
			goto out;
		}
		frame_from_map(&newest_frame, &capture->info, &newest_map);
		boxes = pixman_region32_rectangles(&to_copy, &n);
		for (int i = 0; i < n; i++) {
			struct gb_rect rect = { boxes[i].x1, boxes[i].y1,
				                boxes[i].x2 - boxes[i].x1,
				                boxes[i].y2 - boxes[i].y1 };

			gb_i420_copy_rect(&frame, &newest_frame, &rect);
		}
		capture->pixels_copied += region_area(&to_copy);
		gst_buffer_unmap(capture->ring[capture->newest].buffer, &newest_map);
	}

	boxes = pixman_region32_rectangles(damage, &n);
	for (int i = 0; i < n && r == 0; i++) {
		struct gb_rect rect = { boxes[i].x1, boxes[i].y1, boxes[i].x2 - boxes[i].x1,
			                boxes[i].y2 - boxes[i].y1 };

		r = convert_rect(capture, &frame, &rect);
	}
	capture->pixels_converted += region_area(damage);
	if (r == 0)
		pixman_region32_clear(&slot->stale);
out:
	pixman_region32_fini(&to_copy);
	gst_buffer_unmap(slot->buffer, &map);
	return r;
}

static void capture_frame(void *data, struct weston_output *output,
                          const pixman_region32_t *damage, const struct timespec *time)
{
	struct capture *capture = data;
	pixman_region32_t aligned;
	uint64_t frame_ns, start_ns;
	uint32_t width, height;
	int index, r;

	if (!capture->active || output != capture->target->output || !output->current_mode)
		return;
	width = (uint32_t)output->current_mode->width;
	height = (uint32_t)output->current_mode->height;
	if (width != capture->width || height != capture->height ||
	    capture->target->compositor->read_format != capture->read_format) {
		r = capture_configure(capture, width, height);
		if (r < 0) {
			if (!capture->warned_unsupported)
				gb_plugin_log(capture->plugin->host, GB_LOG_ERROR,
				              "cannot capture a %" PRIu32 "x%" PRIu32
				              " output read as pixman format 0x%x: %s",
				              width, height,
				              (unsigned)capture->target->compositor->read_format,
				              strerror(-r));
			capture->warned_unsupported = true;
			capture->width = capture->height = 0;
			return;
		}
	}

	frame_damage(capture, output, damage, &aligned);
	if (!pixman_region32_not_empty(&aligned)) {
		pixman_region32_fini(&aligned);
		return;
	}
	for (int i = 0; i < RING_SIZE; i++)
		if (capture->ring[i].buffer)
			pixman_region32_union(&capture->ring[i].stale, &capture->ring[i].stale,
			                      &aligned);

	/*
	 * A frame that was never pushed (throttled) is still ours: update it
	 * in place. Otherwise take a buffer downstream is done with.
	 */
	index = -EBUSY;
	if (capture->newest >= 0 && !capture->newest_shown) {
		struct ring_buffer *newest = &capture->ring[capture->newest];

		if (gst_mini_object_is_writable(GST_MINI_OBJECT_CAST(newest->buffer)) &&
		    gst_buffer_is_all_memory_writable(newest->buffer))
			index = capture->newest;
	}
	if (index < 0)
		index = ring_take(capture, capture->newest);
	if (index < 0) {
		/*
		 * Downstream holds every buffer: the damage is remembered in
		 * each buffer's stale region, but the renderer's pixels are
		 * lost, so convert everything next time.
		 */
		gb_plugin_log(capture->plugin->host, GB_LOG_DEBUG,
		              "every capture buffer is in use");
		capture->need_full = true;
		pixman_region32_fini(&aligned);
		return;
	}

	start_ns = monotonic_ns();
	r = fill_buffer(capture, index, &aligned);
	capture->convert_ns += monotonic_ns() - start_ns;
	capture->pixels_total += (uint64_t)capture->width * capture->height;
	capture->frames_converted++;
	pixman_region32_fini(&aligned);
	if (r < 0) {
		gb_plugin_log(capture->plugin->host, GB_LOG_WARNING,
		              "reading the output failed: %s", strerror(-r));
		capture->need_full = true;
		/* What was there is no longer the newest frame: it is out of date now. */
		if (capture->newest == index)
			capture->newest = -1;
		return;
	}
	capture->need_full = false;
	capture->newest = index;

	frame_ns = (uint64_t)time->tv_sec * 1000000000u + (uint64_t)time->tv_nsec;
	capture->newest_ns = frame_ns;
	push_or_defer(capture, frame_ns);
}

static int capture_init(const struct gb_host *host, const struct gb_settings *settings,
                        void **state)
{
	struct plugin *plugin = calloc(1, sizeof(*plugin));

	if (!plugin)
		return -ENOMEM;
	plugin->host = host;
	plugin->max_fps = (uint32_t)gb_settings_get_int(settings, "max_fps", 0);
	*state = plugin;
	return 0;
}

static void capture_fini(void *state)
{
	free(state);
}

static void capture_free(struct capture *capture)
{
	if (!capture)
		return;
	if (capture->listener)
		capture->target->remove_frame_listener(capture->target, capture->listener);
	if (capture->timer)
		wl_event_source_remove(capture->timer);
	for (int i = 0; i < RING_SIZE; i++) {
		if (capture->ring[i].buffer)
			gst_buffer_unref(capture->ring[i].buffer);
		pixman_region32_fini(&capture->ring[i].stale);
	}
	if (capture->source)
		gst_object_unref(capture->source);
	if (capture->timestamp_caps)
		gst_caps_unref(capture->timestamp_caps);
	free(capture->scratch);
	free(capture);
}

static void *capture_start(void *state, const struct gb_capture_target *target,
                           GstElement **source, char *error, size_t error_size)
{
	struct plugin *plugin = state;
	struct capture *capture = NULL;
	struct wl_event_loop *loop;
	struct weston_output *output;
	int r;

	if (!target || !source ||
	    target->struct_size <
	            offsetof(struct gb_capture_target, damage_all) + sizeof(target->damage_all) ||
	    !target->compositor || !target->output || !target->add_frame_listener ||
	    !target->remove_frame_listener || !target->damage_all) {
		gb_error_set(error, error_size, "the host's capture target lacks a member");
		return NULL;
	}
	output = target->output;
	if (!output->current_mode || !target->compositor->renderer ||
	    !target->compositor->renderer->read_pixels) {
		gb_error_set(error, error_size,
		             "the output has no mode or the renderer cannot read");
		return NULL;
	}

	capture = calloc(1, sizeof(*capture));
	if (!capture)
		goto out_of_memory;
	for (int i = 0; i < RING_SIZE; i++)
		pixman_region32_init(&capture->ring[i].stale);
	capture->plugin = plugin;
	capture->target = target;
	capture->newest = -1;
	capture->newest_shown = true;
	capture->last_pts = GST_CLOCK_TIME_NONE;

	capture->timestamp_caps = gst_caps_from_string(GB_CAPTURE_TIMESTAMP_CAPS);
	capture->source = gst_element_factory_make("appsrc", NULL);
	if (!capture->timestamp_caps || !capture->source) {
		gb_error_set(error, error_size,
		             "cannot make an appsrc (gst-plugins-base missing?)");
		goto fail;
	}
	/* Ours; the host gets a second, floating, reference on success. */
	gst_object_ref_sink(capture->source);
	g_object_set(capture->source, "is-live", TRUE, "format", GST_FORMAT_TIME, "do-timestamp",
	             FALSE, "block", FALSE, "emit-signals", FALSE, "max-bytes", (guint64)0,
	             "max-buffers", (guint64)2, "leaky-type", GST_APP_LEAKY_TYPE_DOWNSTREAM,
	             "min-latency", (gint64)0, NULL);

	r = capture_configure(capture, (uint32_t)output->current_mode->width,
	                      (uint32_t)output->current_mode->height);
	if (r < 0) {
		gb_error_set(error, error_size,
		             "cannot capture a %dx%d output read as pixman format 0x%x: %s",
		             output->current_mode->width, output->current_mode->height,
		             (unsigned)target->compositor->read_format, strerror(-r));
		goto fail;
	}

	loop = wl_display_get_event_loop(target->compositor->wl_display);
	capture->timer = loop ? wl_event_loop_add_timer(loop, timer_fired, capture) : NULL;
	if (!capture->timer)
		goto out_of_memory;
	capture->listener = target->add_frame_listener(target, capture_frame, capture);
	if (!capture->listener)
		goto out_of_memory;

	*source = GST_ELEMENT(gst_object_ref(capture->source));
	g_object_force_floating(G_OBJECT(*source));
	return capture;

out_of_memory:
	gb_error_set(error, error_size, "out of memory");
fail:
	capture_free(capture);
	return NULL;
}

static void capture_set_active(void *data, bool active)
{
	struct capture *capture = data;

	if (active == capture->active)
		return;
	capture->active = active;
	if (active) {
		/* Nothing was tracked while inactive: start from a whole frame. */
		capture->need_full = true;
		capture->clock_retries = 0;
		capture->target->damage_all(capture->target);
	} else {
		capture->newest_shown = true;
		wl_event_source_timer_update(capture->timer, 0);
	}
}

static void capture_repeat_frame(void *data)
{
	struct capture *capture = data;

	if (!capture->active || capture->newest < 0)
		return;
	if (push_newest(capture, monotonic_ns()))
		capture->frames_repeated++;
}

static void capture_stop(void *data)
{
	struct capture *capture = data;

	if (!capture)
		return;
	if (capture->frames_converted > 0)
		gb_plugin_log(
		        capture->plugin->host, GB_LOG_INFO,
		        "%" PRIu64 " frames pushed (%" PRIu64 " repeats), %" PRIu64
		        " converted in %.3f ms each on average, converting %.1f%% and "
		        "copying %.1f%% of their pixels",
		        capture->frames_pushed, capture->frames_repeated,
		        capture->frames_converted,
		        (double)capture->convert_ns / 1e6 / (double)capture->frames_converted,
		        100.0 * (double)capture->pixels_converted / (double)capture->pixels_total,
		        100.0 * (double)capture->pixels_copied / (double)capture->pixels_total);
	capture_free(capture);
}

static const struct gb_capture_ops capture_ops = {
	.struct_size = sizeof(struct gb_capture_ops),
	.start = capture_start,
	.set_active = capture_set_active,
	.repeat_frame = capture_repeat_frame,
	.stop = capture_stop,
};

static const struct gb_plugin_descriptor capture_descriptor = {
	GB_PLUGIN_ABI_INIT,
	.kind = GB_PLUGIN_KIND_CAPTURE,
	.name = PLUGIN_NAME,
	.version = "1.0.0",
	.description = "the session's libweston output as I420 video, converting only what "
	               "was repainted",
	.options = capture_options,
	.init = capture_init,
	.fini = capture_fini,
	.ops = &capture_ops,
};

GB_PLUGIN_DEFINE(capture_descriptor)
