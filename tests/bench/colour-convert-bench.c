/* SPDX-License-Identifier: MIT */
/*
 * How long capture-weston's BGRx -> I420 conversion takes per frame, at
 * 1280x720 and 1920x1080, for the whole frame and for a typical 10% damage,
 * next to GStreamer's videoconvert doing the same conversion (the baseline
 * the converter replaces). Also the cost of one full I420 frame copy, which
 * is what pushing a frame costs when nothing is reused.
 *
 * Prints figures; never fails on a time. Run from a build:
 *   meson test -C build --benchmark colour-convert-bench -v
 * or directly: build/plugins/capture-weston/colour-convert-bench [ITERATIONS]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include "colour-convert.h"

static double now_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)now.tv_sec * 1e3 + (double)now.tv_nsec / 1e6;
}

/* Something like a desktop: gradients and edges, not one flat colour. */
static void fill_picture(uint32_t *pixels, uint32_t width, uint32_t height)
{
	uint32_t seed = 12345;

	for (uint32_t y = 0; y < height; y++) {
		for (uint32_t x = 0; x < width; x++) {
			uint32_t r = (x * 255 / width) & 0xff, g = (y * 255 / height) & 0xff;
			uint32_t b = ((x / 32 + y / 32) & 1) ? 0xe0 : 0x20;

			seed = seed * 1103515245u + 12345u;
			if ((seed >> 24) < 16)
				b ^= 0x3f;
			pixels[(size_t)y * width + x] = 0xff000000u | r << 16 | g << 8 | b;
		}
	}
}

struct frame_storage {
	struct gb_i420_frame frame;
	uint8_t *data;
};

static int frame_storage_init(struct frame_storage *storage, uint32_t width, uint32_t height)
{
	size_t y_size = (size_t)width * height;
	size_t uv_stride = (width + 1) / 2, uv_size = uv_stride * ((height + 1) / 2);

	storage->data = malloc(y_size + 2 * uv_size);
	if (!storage->data)
		return -ENOMEM;
	storage->frame = (struct gb_i420_frame){
		.y = storage->data,
		.u = storage->data + y_size,
		.v = storage->data + y_size + uv_size,
		.y_stride = width,
		.uv_stride = uv_stride,
		.width = width,
		.height = height,
	};
	return 0;
}

/* ms per call of gb_colour_convert() on @rect, best of 3 runs of @iterations. */
static double time_converter(const struct gb_i420_frame *frame, const uint32_t *pixels,
                             const struct gb_rect *rect, int iterations)
{
	const uint32_t *start = pixels + (size_t)rect->y * frame->width + (size_t)rect->x;
	double best = 1e9;

	for (int run = 0; run < 3; run++) {
		double t0 = now_ms();

		for (int i = 0; i < iterations; i++)
			if (gb_colour_convert(frame, rect, start, (ptrdiff_t)frame->width * 4,
			                      GB_PIXEL_XRGB8888) < 0)
				return -1;
		double t = (now_ms() - t0) / iterations;
		if (t < best)
			best = t;
	}
	return best;
}

static double time_frame_copy(const struct gb_i420_frame *source, int iterations)
{
	size_t size = source->y_stride * source->height +
	              2 * source->uv_stride * ((source->height + 1) / 2);
	uint8_t *copy = malloc(size);
	double best = 1e9;

	if (!copy)
		return -1;
	for (int run = 0; run < 3; run++) {
		double t0 = now_ms();

		for (int i = 0; i < iterations; i++) {
			memcpy(copy, source->y, size);
			/* Keep the copy from being optimised away. */
			__asm__ volatile("" : : "r"(copy) : "memory");
		}
		double t = (now_ms() - t0) / iterations;
		if (t < best)
			best = t;
	}
	free(copy);
	return best;
}

/*
 * appsrc ! videoconvert ! I420 ! fakesink, pushing the same BGRx picture
 * @iterations times as fast as it goes: ms per frame, or < 0 on failure.
 * videoconvert runs with its defaults (one thread), as a pipeline would.
 */
static double time_videoconvert(const uint32_t *pixels, uint32_t width, uint32_t height,
                                int iterations)
{
	char description[512];
	GstElement *pipeline;
	GstElement *source;
	GstBuffer *buffer;
	GstMessage *message;
	GstBus *bus;
	double t0, result = -1;

	snprintf(description, sizeof(description),
	         "appsrc name=src is-live=false format=time block=true max-buffers=2 max-bytes=0 "
	         "caps=video/x-raw,format=BGRx,width=%u,height=%u,framerate=0/1 ! "
	         "videoconvert ! video/x-raw,format=I420,colorimetry=bt601 ! "
	         "fakesink sync=false",
	         width, height);
	pipeline = gst_parse_launch(description, NULL);
	if (!pipeline)
		return -1;
	source = gst_bin_get_by_name(GST_BIN(pipeline), "src");
	buffer = gst_buffer_new_memdup(pixels, (size_t)width * height * 4);
	gst_element_set_state(pipeline, GST_STATE_PLAYING);

	/* One frame first, so that negotiation is not timed. */
	gst_app_src_push_buffer(GST_APP_SRC(source), gst_buffer_ref(buffer));
	g_usleep(200000);
	t0 = now_ms();
	for (int i = 0; i < iterations; i++) {
		GstBuffer *frame = gst_buffer_copy(buffer); /* shares the memory: no copy */

		GST_BUFFER_PTS(frame) = (GstClockTime)(i + 1) * GST_MSECOND;
		if (gst_app_src_push_buffer(GST_APP_SRC(source), frame) != GST_FLOW_OK)
			goto out;
	}
	gst_app_src_end_of_stream(GST_APP_SRC(source));
	bus = gst_element_get_bus(pipeline);
	message = gst_bus_timed_pop_filtered(bus, 60 * GST_SECOND,
	                                     GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
	if (message && GST_MESSAGE_TYPE(message) == GST_MESSAGE_EOS)
		result = (now_ms() - t0) / iterations;
	if (message)
		gst_message_unref(message);
	gst_object_unref(bus);
out:
	gst_element_set_state(pipeline, GST_STATE_NULL);
	gst_buffer_unref(buffer);
	gst_object_unref(source);
	gst_object_unref(pipeline);
	return result;
}

int main(int argc, char **argv)
{
	static const uint32_t sizes[][2] = { { 1280, 720 }, { 1920, 1080 } };
	int iterations = argc > 1 ? atoi(argv[1]) : 100;

	if (iterations < 1 || iterations > 100000) {
		fprintf(stderr, "usage: %s [ITERATIONS 1..100000]\n", argv[0]);
		return 2;
	}
	gst_init(NULL, NULL);
	printf("BGRx -> I420 BT.601 limited range, ms per frame (best of 3 x %d; one core)\n",
	       iterations);
	printf("%-10s %16s %16s %16s %16s\n", "size", "converter full", "converter 10%",
	       "videoconvert", "I420 frame copy");

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		uint32_t width = sizes[s][0], height = sizes[s][1];
		struct frame_storage storage;
		uint32_t *pixels;
		/* A window-sized change: sqrt(10%) of each side, centred. */
		struct gb_rect full = { 0, 0, (int32_t)width, (int32_t)height };
		struct gb_rect damage = { (int32_t)width / 3, (int32_t)height / 3,
			                  (int32_t)(width * 316 / 1000),
			                  (int32_t)(height * 316 / 1000) };
		double full_ms, damage_ms, videoconvert_ms, copy_ms;

		pixels = malloc((size_t)width * height * 4);
		if (!pixels || frame_storage_init(&storage, width, height) < 0) {
			fprintf(stderr, "out of memory\n");
			return 1;
		}
		fill_picture(pixels, width, height);
		gb_rect_align_to_chroma(&damage, width, height);

		full_ms = time_converter(&storage.frame, pixels, &full, iterations);
		damage_ms = time_converter(&storage.frame, pixels, &damage, iterations * 10);
		copy_ms = time_frame_copy(&storage.frame, iterations);
		videoconvert_ms = time_videoconvert(pixels, width, height, iterations);

		printf("%4ux%-5u %16.3f %16.3f %16.3f %16.3f\n", width, height, full_ms, damage_ms,
		       videoconvert_ms, copy_ms);
		free(storage.data);
		free(pixels);
	}
	printf("(videoconvert cannot convert a part of a frame: a 10%% damage costs it a full "
	       "frame)\n");
	return 0;
}
