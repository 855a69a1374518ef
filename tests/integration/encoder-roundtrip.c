/* SPDX-License-Identifier: MIT */
/*
 * The encoder plugins, loaded through the real plugin loader, encoding and
 * decoding back: appsrc (solid I420 colours) ! <plugin's bin> ! decoder !
 * videoconvert ! RGB appsink.
 *
 * For x264 and vp8: every colour (red, green, blue, grey, white) comes back
 * within 8 of what was drawn, a change from 1280x720 to 640x360 mid-stream
 * comes through at the new size (starting with a keyframe), and an upstream
 * GstForceKeyUnit arriving at the bin's src pad after delta frames makes
 * the next frame a keyframe (for H.264 one that carries its SPS and PPS).
 * For nvenc, on machines without an NVIDIA encoder: probe() fails with a
 * negative errno and a reason, and the bin it still makes fails cleanly
 * (an error message, not a crash) when it starts.
 *
 * And the source end: capture-weston on a real headless libweston
 * compositor (pixman, and GL where Mesa is there) showing solid-colour
 * views, through the real loader, into an appsink. Every frame is compared
 * sample by sample with what the renderer drew at that frame (read back
 * whole by the test, converted with the textbook formulas): the first frame
 * whole, then a small view changing colour and place again and again (only
 * it is converted; the rest of each pushed frame comes from the capture's
 * buffer ring), a repeat_frame, nothing while inactive, everything again
 * after set_active(true), and an output resize (new caps). Under pixman the
 * colours drawn are also checked, within 3 of each drawn colour once decoded
 * the way a browser does; max_fps = 5 holds a burst of repaints to one push
 * per 200 ms and still delivers the last state.
 *
 * encoder-nvenc's encode path runs against a fake NVIDIA driver in a test
 * of its own (see test_encoder_roundtrip__nvenc_fake_driver).
 *
 * Runs under `meson test --suite integration`, which sets
 * GB_PLUGIN_BUILD_PATH to the plugins' build folders. No sockets.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <CUnit/Basic.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include <libweston/backend-headless.h>
#include <libweston/libweston.h>
#include <libweston/windowed-output-api.h>

#include <glassbox/capture.h>
#include <glassbox/encoder.h>

#include "dropin.h"
#include "log.h"
#include "plugin-loader.h"

#define TOLERANCE    8
#define PULL_TIMEOUT (10 * GST_SECOND)
/* Frames pushed per colour; the colour is checked on the last. */
#define FRAMES_PER_COLOUR 3

struct colour {
	const char *name;
	uint8_t rgb[3];
};

static const struct colour colours[] = {
	{ "red", { 255, 0, 0 } },      { "green", { 0, 255, 0 } },     { "blue", { 0, 0, 255 } },
	{ "grey", { 128, 128, 128 } }, { "white", { 255, 255, 255 } },
};

static struct gb_host host;
static struct gb_plugin_registry registry;

/* What came out of the encoder, in order: filled by a pad probe, read by the test. */
struct encoded_log {
	GMutex lock;
	unsigned count;
	bool keyframe[4096];
	bool has_sps[4096];
};

struct roundtrip {
	GstElement *pipeline;
	GstElement *source;
	GstElement *sink;
	GstPad *encoded; /* the encoder bin's src pad */
	struct encoded_log log;
	uint64_t pts;
};

/* Annex B: does this access unit hold an SPS (NAL type 7)? */
static bool h264_has_sps(const uint8_t *data, size_t size)
{
	for (size_t i = 0; i + 3 < size; i++)
		if (data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 &&
		    (data[i + 3] & 0x1f) == 7)
			return true;
	return false;
}

static GstPadProbeReturn record_encoded(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	struct encoded_log *log = data;
	GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER(info);
	GstMapInfo map;

	g_mutex_lock(&log->lock);
	if (log->count < G_N_ELEMENTS(log->keyframe)) {
		log->keyframe[log->count] =
		        !GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT);
		log->has_sps[log->count] = false;
		if (gst_buffer_map(buffer, &map, GST_MAP_READ)) {
			log->has_sps[log->count] = h264_has_sps(map.data, map.size);
			gst_buffer_unmap(buffer, &map);
		}
		log->count++;
	}
	g_mutex_unlock(&log->lock);
	return GST_PAD_PROBE_OK;
}

static unsigned encoded_count(struct roundtrip *rt)
{
	unsigned count;

	g_mutex_lock(&rt->log.lock);
	count = rt->log.count;
	g_mutex_unlock(&rt->log.lock);
	return count;
}

static void encoded_at(struct roundtrip *rt, unsigned index, bool *keyframe, bool *has_sps)
{
	g_mutex_lock(&rt->log.lock);
	*keyframe = index < rt->log.count && rt->log.keyframe[index];
	*has_sps = index < rt->log.count && rt->log.has_sps[index];
	g_mutex_unlock(&rt->log.lock);
}

/* BT.601 limited range, computed here independently of capture-weston's converter. */
static void rgb_to_yuv(const uint8_t rgb[3], uint8_t yuv[3])
{
	double r = rgb[0], g = rgb[1], b = rgb[2];

	yuv[0] = (uint8_t)(16.5 + (0.299 * r + 0.587 * g + 0.114 * b) * 219 / 255);
	yuv[1] = (uint8_t)(128.5 + (-0.168736 * r - 0.331264 * g + 0.5 * b) * 224 / 255);
	yuv[2] = (uint8_t)(128.5 + (0.5 * r - 0.418688 * g - 0.081312 * b) * 224 / 255);
}

static GstCaps *i420_caps(int width, int height)
{
	return gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "I420", "width",
	                           G_TYPE_INT, width, "height", G_TYPE_INT, height, "framerate",
	                           GST_TYPE_FRACTION, 0, 1, "pixel-aspect-ratio",
	                           GST_TYPE_FRACTION, 1, 1, "colorimetry", G_TYPE_STRING, "bt601",
	                           NULL);
}

static void push_colour(struct roundtrip *rt, int width, int height, const struct colour *colour)
{
	GstVideoInfo info;
	GstVideoFrame frame;
	GstBuffer *buffer;
	uint8_t yuv[3];

	rgb_to_yuv(colour->rgb, yuv);
	gst_video_info_set_format(&info, GST_VIDEO_FORMAT_I420, (guint)width, (guint)height);
	buffer = gst_buffer_new_allocate(NULL, GST_VIDEO_INFO_SIZE(&info), NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buffer);
	CU_ASSERT_FATAL(gst_video_frame_map(&frame, &info, buffer, GST_MAP_WRITE));
	for (guint plane = 0; plane < 3; plane++) {
		uint8_t *data = GST_VIDEO_FRAME_PLANE_DATA(&frame, plane);
		gint stride = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, plane);
		gint rows = GST_VIDEO_FRAME_COMP_HEIGHT(&frame, plane);

		memset(data, yuv[plane], (size_t)stride * (size_t)rows);
	}
	gst_video_frame_unmap(&frame);
	GST_BUFFER_PTS(buffer) = rt->pts;
	rt->pts += 33 * GST_MSECOND;
	CU_ASSERT_EQUAL(gst_app_src_push_buffer(GST_APP_SRC(rt->source), buffer), GST_FLOW_OK);
}

static void report_bus_error(struct roundtrip *rt)
{
	GstBus *bus = gst_element_get_bus(rt->pipeline);
	GstMessage *message = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);

	if (message) {
		GError *error = NULL;
		gchar *debug = NULL;

		gst_message_parse_error(message, &error, &debug);
		fprintf(stderr, "\n    pipeline error: %s (%s)\n", error->message,
		        debug ? debug : "");
		g_clear_error(&error);
		g_free(debug);
		gst_message_unref(message);
	}
	gst_object_unref(bus);
}

/*
 * Pull one decoded frame: it must be @width x @height and, at its centre
 * and near each corner, within TOLERANCE of @colour.
 */
static void pull_and_check(struct roundtrip *rt, int width, int height,
                           const struct colour *colour, bool check_colour)
{
	static const double points[][2] = {
		{ 0.5, 0.5 }, { 0.1, 0.1 }, { 0.9, 0.1 }, { 0.1, 0.9 }, { 0.9, 0.9 },
	};
	GstSample *sample = gst_app_sink_try_pull_sample(GST_APP_SINK(rt->sink), PULL_TIMEOUT);
	GstVideoInfo info;
	GstVideoFrame frame;

	if (!sample) {
		fprintf(stderr, "\n    no decoded frame within the time limit (%u encoded)\n",
		        encoded_count(rt));
		report_bus_error(rt);
	}
	CU_ASSERT_PTR_NOT_NULL_FATAL(sample);
	CU_ASSERT_FATAL(gst_video_info_from_caps(&info, gst_sample_get_caps(sample)));
	CU_ASSERT_EQUAL(GST_VIDEO_INFO_WIDTH(&info), width);
	CU_ASSERT_EQUAL(GST_VIDEO_INFO_HEIGHT(&info), height);
	if (check_colour &&
	    gst_video_frame_map(&frame, &info, gst_sample_get_buffer(sample), GST_MAP_READ)) {
		const uint8_t *data = GST_VIDEO_FRAME_PLANE_DATA(&frame, 0);
		gint stride = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0);

		for (size_t p = 0; p < G_N_ELEMENTS(points); p++) {
			int x = (int)(points[p][0] * GST_VIDEO_INFO_WIDTH(&info));
			int y = (int)(points[p][1] * GST_VIDEO_INFO_HEIGHT(&info));
			const uint8_t *pixel = data + (size_t)y * (size_t)stride + (size_t)x * 3;
			bool close = true;

			for (int c = 0; c < 3; c++)
				close &= abs((int)pixel[c] - (int)colour->rgb[c]) <= TOLERANCE;
			if (!close)
				fprintf(stderr, "\n    %s at (%d,%d) decoded as %u %u %u\n",
				        colour->name, x, y, pixel[0], pixel[1], pixel[2]);
			CU_ASSERT(close);
		}
		gst_video_frame_unmap(&frame);
	}
	gst_sample_unref(sample);
}

static const struct gb_encoder_ops *load_encoder(const char *name, struct gb_plugin **plugin)
{
	struct gb_dropin dropin = {
		.path = (char *)"encoder-roundtrip.c",
		.kind_name = (char *)"encoder",
		.kind = GB_PLUGIN_KIND_ENCODER,
		.name = (char *)name,
		.enabled = true,
	};

	*plugin = gb_plugin_registry_find(&registry, GB_PLUGIN_KIND_ENCODER, name);
	if (!*plugin) {
		CU_ASSERT_EQUAL_FATAL(gb_plugin_registry_load(&registry, &dropin), 0);
		*plugin = gb_plugin_registry_find(&registry, GB_PLUGIN_KIND_ENCODER, name);
	}
	CU_ASSERT_PTR_NOT_NULL_FATAL(*plugin);
	CU_ASSERT_PTR_NOT_NULL_FATAL((*plugin)->descriptor->ops);
	return (*plugin)->descriptor->ops;
}

static void roundtrip_build(struct roundtrip *rt, const struct gb_encoder_ops *ops, void *state,
                            const char *decoder_name)
{
	struct gb_encoder_params params = {
		.struct_size = sizeof(params),
		.width = 1280,
		.height = 720,
		.max_fps = 30,
		.bitrate_kbps = 4000,
	};
	GstElement *bin, *decoder, *convert, *filter;
	GstCaps *caps;
	char error[256] = "";

	memset(rt, 0, sizeof(*rt));
	g_mutex_init(&rt->log.lock);
	rt->pts = 33 * GST_MSECOND;
	bin = ops->create_bin(state, &params, error, sizeof(error));
	if (!bin)
		fprintf(stderr, "\n    create_bin: %s\n", error);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bin);
	CU_ASSERT_TRUE(g_object_is_floating(bin));

	rt->pipeline = gst_pipeline_new(NULL);
	rt->source = gst_element_factory_make("appsrc", NULL);
	decoder = gst_element_factory_make(decoder_name, NULL);
	convert = gst_element_factory_make("videoconvert", NULL);
	filter = gst_element_factory_make("capsfilter", NULL);
	rt->sink = gst_element_factory_make("appsink", NULL);
	CU_ASSERT_FATAL(rt->pipeline && rt->source && decoder && convert && filter && rt->sink);

	caps = i420_caps(1280, 720);
	g_object_set(rt->source, "caps", caps, "format", GST_FORMAT_TIME, "is-live", FALSE,
	             "block", FALSE, "emit-signals", FALSE, NULL);
	gst_caps_unref(caps);
	/* One decoding thread: each frame pushed comes out before the next goes in. */
	if (g_object_class_find_property(G_OBJECT_GET_CLASS(decoder), "max-threads"))
		g_object_set(decoder, "max-threads", 1, NULL);
	caps = gst_caps_from_string("video/x-raw,format=RGB");
	g_object_set(filter, "caps", caps, NULL);
	gst_caps_unref(caps);
	g_object_set(rt->sink, "sync", FALSE, "emit-signals", FALSE, "max-buffers", 16, NULL);

	gst_bin_add_many(GST_BIN(rt->pipeline), rt->source, bin, decoder, convert, filter,
	                 rt->sink, NULL);
	CU_ASSERT_FATAL(
	        gst_element_link_many(rt->source, bin, decoder, convert, filter, rt->sink, NULL));

	rt->encoded = gst_element_get_static_pad(bin, "src");
	CU_ASSERT_PTR_NOT_NULL_FATAL(rt->encoded);
	gst_pad_add_probe(rt->encoded, GST_PAD_PROBE_TYPE_BUFFER, record_encoded, &rt->log, NULL);
	CU_ASSERT_NOT_EQUAL_FATAL(gst_element_set_state(rt->pipeline, GST_STATE_PLAYING),
	                          GST_STATE_CHANGE_FAILURE);
}

/* @drain: end the stream and wait for it to come out, as a finished test does. */
static void roundtrip_free(struct roundtrip *rt, bool drain)
{
	GstBus *bus;
	GstMessage *message;

	if (!rt->pipeline)
		return;
	if (drain) {
		gst_app_src_end_of_stream(GST_APP_SRC(rt->source));
		bus = gst_element_get_bus(rt->pipeline);
		message = gst_bus_timed_pop_filtered(bus, PULL_TIMEOUT,
		                                     GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
		CU_ASSERT(message && GST_MESSAGE_TYPE(message) == GST_MESSAGE_EOS);
		if (message)
			gst_message_unref(message);
		gst_object_unref(bus);
	}
	gst_element_set_state(rt->pipeline, GST_STATE_NULL);
	if (rt->encoded)
		gst_object_unref(rt->encoded);
	gst_object_unref(rt->pipeline);
	g_mutex_clear(&rt->log.lock);
	memset(rt, 0, sizeof(*rt));
}

/* The running pipeline, global so that teardown can stop it after a failed fatal assert. */
static struct roundtrip current;

static void teardown(void)
{
	roundtrip_free(&current, false);
}

static void run_roundtrip(const char *name, enum gb_codec codec, const char *decoder_name)
{
	const struct gb_encoder_ops *ops;
	struct gb_plugin *plugin;
	struct roundtrip *rt = &current;
	char reason[256] = "";
	unsigned before;
	bool keyframe, has_sps;
	GstCaps *caps;

	ops = load_encoder(name, &plugin);
	CU_ASSERT_EQUAL(ops->codec, codec);
	CU_ASSERT_EQUAL(ops->flags & GB_ENCODER_HARDWARE, 0);
	CU_ASSERT_EQUAL_FATAL(ops->probe(plugin->state, reason, sizeof(reason)), 0);
	roundtrip_build(rt, ops, plugin->state, decoder_name);

	/* Every colour at 1280x720, one frame in, one frame out. */
	for (size_t c = 0; c < G_N_ELEMENTS(colours); c++) {
		for (int i = 0; i < FRAMES_PER_COLOUR; i++) {
			push_colour(rt, 1280, 720, &colours[c]);
			pull_and_check(rt, 1280, 720, &colours[c], i == FRAMES_PER_COLOUR - 1);
		}
	}
	CU_ASSERT_EQUAL(encoded_count(rt), G_N_ELEMENTS(colours) * FRAMES_PER_COLOUR);
	encoded_at(rt, 0, &keyframe, &has_sps);
	CU_ASSERT_TRUE(keyframe);

	/* A few more frames of the same picture: deltas, no keyframe on its own. */
	for (int i = 0; i < 3; i++) {
		push_colour(rt, 1280, 720, &colours[4]);
		pull_and_check(rt, 1280, 720, &colours[4], false);
	}
	before = encoded_count(rt);
	encoded_at(rt, before - 1, &keyframe, &has_sps);
	CU_ASSERT_FALSE(keyframe);

	/* A viewer asks for a keyframe: the event comes upstream into the bin's src pad. */
	CU_ASSERT_TRUE(gst_pad_send_event(rt->encoded, gst_video_event_new_upstream_force_key_unit(
	                                                       GST_CLOCK_TIME_NONE, TRUE, 1)));
	push_colour(rt, 1280, 720, &colours[4]);
	pull_and_check(rt, 1280, 720, &colours[4], true);
	CU_ASSERT_EQUAL_FATAL(encoded_count(rt), before + 1);
	encoded_at(rt, before, &keyframe, &has_sps);
	CU_ASSERT_TRUE(keyframe);
	if (codec == GB_CODEC_H264)
		CU_ASSERT_TRUE(has_sps);
	/* And the frame after it is a delta again. */
	push_colour(rt, 1280, 720, &colours[4]);
	pull_and_check(rt, 1280, 720, &colours[4], false);
	encoded_at(rt, before + 1, &keyframe, &has_sps);
	CU_ASSERT_FALSE(keyframe);

	/* The output shrinks mid-stream: new caps, then frames at the new size. */
	caps = i420_caps(640, 360);
	gst_app_src_set_caps(GST_APP_SRC(rt->source), caps);
	gst_caps_unref(caps);
	before = encoded_count(rt);
	for (size_t c = 0; c < G_N_ELEMENTS(colours); c++) {
		for (int i = 0; i < FRAMES_PER_COLOUR; i++) {
			push_colour(rt, 640, 360, &colours[c]);
			pull_and_check(rt, 640, 360, &colours[c], i == FRAMES_PER_COLOUR - 1);
		}
	}
	/* A decoder cannot start a new size on a delta frame. */
	encoded_at(rt, before, &keyframe, &has_sps);
	CU_ASSERT_TRUE(keyframe);

	/* The bitrate changes while encoding; a foreign element is refused. */
	if (ops->set_bitrate) {
		GstElement *foreign = gst_bin_new(NULL);
		GstElement *bin = gst_pad_get_parent_element(rt->encoded);

		CU_ASSERT_EQUAL(ops->set_bitrate(plugin->state, bin, 2000), 0);
		gst_object_unref(bin);
		push_colour(rt, 640, 360, &colours[0]);
		pull_and_check(rt, 640, 360, &colours[0], false);
		CU_ASSERT_EQUAL(ops->set_bitrate(plugin->state, foreign, 2000), -EINVAL);
		gst_object_unref(gst_object_ref_sink(foreign));
	}
	roundtrip_free(rt, true);
}

static void test_encoder_roundtrip__x264(void)
{
	run_roundtrip("x264", GB_CODEC_H264, "avdec_h264");
}

static void test_encoder_roundtrip__vp8(void)
{
	run_roundtrip("vp8", GB_CODEC_VP8, "vp8dec");
}

/* Without an NVIDIA encoder, probe() says why, and the bin fails without crashing. */
static void test_encoder_roundtrip__nvenc_fails_cleanly(void)
{
	struct gb_encoder_params params = {
		.struct_size = sizeof(params),
		.width = 640,
		.height = 360,
		.max_fps = 30,
		.bitrate_kbps = 2000,
	};
	const struct gb_encoder_ops *ops;
	struct gb_plugin *plugin;
	char reason[256] = "";
	char error[256] = "";
	void *cuda;
	GstElement *pipeline, *source, *bin, *sink;
	GstCaps *caps;
	GstBus *bus;
	GstMessage *message;
	int r;

	ops = load_encoder("nvenc", &plugin);
	CU_ASSERT_EQUAL(ops->codec, GB_CODEC_H264);
	CU_ASSERT_EQUAL(ops->flags & GB_ENCODER_HARDWARE, GB_ENCODER_HARDWARE);

	r = ops->probe(plugin->state, reason, sizeof(reason));
	printf("\n    nvenc probe: %d (%s): %s\n", r, r < 0 ? strerror(-r) : "ok", reason);
	if (r == 0) {
		/* A machine with a working NVENC: nothing to check here. */
		return;
	}
	CU_ASSERT(r < 0 && r >= -4095);
	CU_ASSERT(strlen(reason) > 0);
	CU_ASSERT_PTR_NULL(strchr(reason, '\n'));
	/* Where there is no CUDA driver at all, the reason names the library. */
	cuda = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!cuda) {
		CU_ASSERT_PTR_NOT_NULL(strstr(reason, "libcuda.so.1"));
		CU_ASSERT_EQUAL(r, -ENODEV);
	} else {
		dlclose(cuda);
	}
	/* Probing again gives the same answer (nothing left half-loaded). */
	{
		char again[256] = "";

		CU_ASSERT_EQUAL(ops->probe(plugin->state, again, sizeof(again)), r);
		CU_ASSERT_STRING_EQUAL(again, reason);
	}

	/* The bin itself is made without touching the GPU... */
	bin = ops->create_bin(plugin->state, &params, error, sizeof(error));
	CU_ASSERT_PTR_NOT_NULL_FATAL(bin);
	/* ...and fails to start with an error message, not a crash. */
	pipeline = gst_pipeline_new(NULL);
	source = gst_element_factory_make("appsrc", NULL);
	sink = gst_element_factory_make("fakesink", NULL);
	caps = i420_caps(640, 360);
	g_object_set(source, "caps", caps, "format", GST_FORMAT_TIME, NULL);
	gst_caps_unref(caps);
	gst_bin_add_many(GST_BIN(pipeline), source, bin, sink, NULL);
	CU_ASSERT_FATAL(gst_element_link_many(source, bin, sink, NULL));
	CU_ASSERT_EQUAL(gst_element_set_state(pipeline, GST_STATE_PLAYING),
	                GST_STATE_CHANGE_FAILURE);
	bus = gst_element_get_bus(pipeline);
	message = gst_bus_timed_pop_filtered(bus, PULL_TIMEOUT, GST_MESSAGE_ERROR);
	CU_ASSERT_PTR_NOT_NULL(message);
	if (message) {
		GError *gerror = NULL;

		gst_message_parse_error(message, &gerror, NULL);
		printf("    nvenc element: %s\n", gerror->message);
		CU_ASSERT_PTR_NOT_NULL(strstr(gerror->message, "NVENC"));
		g_clear_error(&gerror);
		gst_message_unref(message);
	}
	gst_object_unref(bus);
	gst_element_set_state(pipeline, GST_STATE_NULL);
	gst_object_unref(pipeline);
}

/*
 * encoder-nvenc against the fake driver (plugins/encoder-nvenc/fake-driver),
 * which checks the plugin's use of the NVENC API and reports, in each fake
 * access unit, the size, plane means, bitrate and frame number it was given.
 * This is as close to running the encode path as a machine without NVENC
 * gets; see encoder-nvenc's README.
 */
struct fake_unit {
	bool keyframe, has_sps;
	unsigned width, height, y, u, v, bitrate_kbps, frame;
};

static bool parse_fake_unit(GstSample *sample, struct fake_unit *unit)
{
	GstBuffer *buffer = gst_sample_get_buffer(sample);
	GstMapInfo map;
	bool found = false;

	memset(unit, 0, sizeof(*unit));
	unit->keyframe = !GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT);
	CU_ASSERT_FATAL(gst_buffer_map(buffer, &map, GST_MAP_READ));
	unit->has_sps = h264_has_sps(map.data, map.size);
	for (size_t i = 0; i + 19 <= map.size && !found; i++) {
		const uint8_t *p = map.data + i;

		if (memcmp(p, "FAKE", 4) != 0)
			continue;
		unit->width = (unsigned)(p[4] | p[5] << 8);
		unit->height = (unsigned)(p[6] | p[7] << 8);
		unit->y = p[8];
		unit->u = p[9];
		unit->v = p[10];
		unit->bitrate_kbps =
		        (unsigned)(p[11] | p[12] << 8 | p[13] << 16 | (unsigned)p[14] << 24);
		unit->frame = (unsigned)(p[15] | p[16] << 8 | p[17] << 16 | (unsigned)p[18] << 24);
		found = true;
	}
	gst_buffer_unmap(buffer, &map);
	return found;
}

static void push_and_pull_fake(struct roundtrip *rt, int width, int height,
                               const struct colour *colour, struct fake_unit *unit)
{
	GstSample *sample;
	uint8_t yuv[3];

	push_colour(rt, width, height, colour);
	sample = gst_app_sink_try_pull_sample(GST_APP_SINK(rt->sink), PULL_TIMEOUT);
	if (!sample)
		report_bus_error(rt);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sample);
	CU_ASSERT_FATAL(parse_fake_unit(sample, unit));
	gst_sample_unref(sample);
	/* The planes reached NVENC's input buffer, at its pitch. */
	rgb_to_yuv(colour->rgb, yuv);
	CU_ASSERT_EQUAL(unit->width, (unsigned)width);
	CU_ASSERT_EQUAL(unit->height, (unsigned)height);
	CU_ASSERT_EQUAL(unit->y, yuv[0]);
	CU_ASSERT_EQUAL(unit->u, yuv[1]);
	CU_ASSERT_EQUAL(unit->v, yuv[2]);
}

static void test_encoder_roundtrip__nvenc_fake_driver(void)
{
	struct gb_encoder_params params = {
		.struct_size = sizeof(params),
		.width = 320,
		.height = 240,
		.max_fps = 30,
		.bitrate_kbps = 4000,
	};
	const struct gb_encoder_ops *ops;
	struct gb_plugin *plugin;
	struct roundtrip *rt = &current;
	struct fake_unit unit;
	GstElement *bin;
	GstCaps *caps;
	char reason[256] = "";
	char error[256] = "";
	int r;

	ops = load_encoder("nvenc", &plugin);
	/* The whole probe goes through: libraries, context, session, preset. */
	r = ops->probe(plugin->state, reason, sizeof(reason));
	if (r < 0)
		fprintf(stderr, "\n    probe: %s\n", reason);
	CU_ASSERT_EQUAL_FATAL(r, 0);

	/* Each failure the driver can report comes back with its name. */
	setenv("FAKE_CUDA_NO_DEVICE", "1", 1);
	CU_ASSERT_EQUAL(ops->probe(plugin->state, reason, sizeof(reason)), -ENODEV);
	CU_ASSERT_STRING_EQUAL(reason, "no CUDA device (cuInit: CUDA_ERROR_NO_DEVICE)");
	unsetenv("FAKE_CUDA_NO_DEVICE");
	setenv("FAKE_NVENC_OPEN_STATUS", "10", 1); /* NV_ENC_ERR_OUT_OF_MEMORY */
	CU_ASSERT_EQUAL(ops->probe(plugin->state, reason, sizeof(reason)), -EBUSY);
	CU_ASSERT_STRING_EQUAL(reason,
	                       "NVENC session on Fake NVENC GPU failed: NV_ENC_ERR_OUT_OF_MEMORY");
	unsetenv("FAKE_NVENC_OPEN_STATUS");

	/* appsrc ! <nvenc bin> ! appsink: the fake access units say what NVENC got. */
	memset(rt, 0, sizeof(*rt));
	g_mutex_init(&rt->log.lock);
	rt->pts = 33 * GST_MSECOND;
	bin = ops->create_bin(plugin->state, &params, error, sizeof(error));
	CU_ASSERT_PTR_NOT_NULL_FATAL(bin);
	rt->pipeline = gst_pipeline_new(NULL);
	rt->source = gst_element_factory_make("appsrc", NULL);
	rt->sink = gst_element_factory_make("appsink", NULL);
	caps = i420_caps(320, 240);
	g_object_set(rt->source, "caps", caps, "format", GST_FORMAT_TIME, "emit-signals", FALSE,
	             NULL);
	gst_caps_unref(caps);
	g_object_set(rt->sink, "sync", FALSE, "emit-signals", FALSE, "max-buffers", 16, NULL);
	gst_bin_add_many(GST_BIN(rt->pipeline), rt->source, bin, rt->sink, NULL);
	CU_ASSERT_FATAL(gst_element_link_many(rt->source, bin, rt->sink, NULL));
	rt->encoded = gst_element_get_static_pad(bin, "src");
	CU_ASSERT_NOT_EQUAL_FATAL(gst_element_set_state(rt->pipeline, GST_STATE_PLAYING),
	                          GST_STATE_CHANGE_FAILURE);

	/* The first frame is an IDR with SPS, then P frames, one out per frame in. */
	push_and_pull_fake(rt, 320, 240, &colours[0], &unit);
	CU_ASSERT_TRUE(unit.keyframe);
	CU_ASSERT_TRUE(unit.has_sps);
	CU_ASSERT_EQUAL(unit.bitrate_kbps, 4000);
	for (size_t c = 1; c < G_N_ELEMENTS(colours); c++) {
		push_and_pull_fake(rt, 320, 240, &colours[c], &unit);
		CU_ASSERT_FALSE(unit.keyframe);
		CU_ASSERT_FALSE(unit.has_sps);
		CU_ASSERT_EQUAL(unit.frame, c);
	}

	/* A viewer asks for a keyframe. */
	CU_ASSERT_TRUE(gst_pad_send_event(rt->encoded, gst_video_event_new_upstream_force_key_unit(
	                                                       GST_CLOCK_TIME_NONE, TRUE, 1)));
	push_and_pull_fake(rt, 320, 240, &colours[1], &unit);
	CU_ASSERT_TRUE(unit.keyframe);
	CU_ASSERT_TRUE(unit.has_sps);
	push_and_pull_fake(rt, 320, 240, &colours[1], &unit);
	CU_ASSERT_FALSE(unit.keyframe);

	/* The bitrate changes on the running session. */
	CU_ASSERT_EQUAL(ops->set_bitrate(plugin->state, bin, 2500), 0);
	push_and_pull_fake(rt, 320, 240, &colours[2], &unit);
	CU_ASSERT_EQUAL(unit.bitrate_kbps, 2500);
	CU_ASSERT_FALSE(unit.keyframe);

	/* A resize: a new session at the new size, starting with an IDR. */
	caps = i420_caps(160, 120);
	gst_app_src_set_caps(GST_APP_SRC(rt->source), caps);
	gst_caps_unref(caps);
	push_and_pull_fake(rt, 160, 120, &colours[3], &unit);
	CU_ASSERT_TRUE(unit.keyframe);
	CU_ASSERT_TRUE(unit.has_sps);
	CU_ASSERT_EQUAL(unit.frame, 0);
	CU_ASSERT_EQUAL(unit.bitrate_kbps, 2500);
	push_and_pull_fake(rt, 160, 120, &colours[4], &unit);
	CU_ASSERT_FALSE(unit.keyframe);

	roundtrip_free(rt, true);
}

/*
 * capture-weston on a headless compositor. ------------------------------
 */

/* Exported by libweston-10.so, declared only in its uninstalled backend.h (as resize.c does). */
int weston_output_mode_set_native(struct weston_output *output, struct weston_mode *mode,
                                  int32_t scale);

/* What the renderer had drawn at a frame, read whole by the test: the reference. */
#define TRUTHS 16
struct truth {
	uint64_t time_ns; /* the frame's time, as the capture meta carries it */
	int width, height;
	uint32_t *pixels; /* top-down, in the renderer's read format */
};

struct test_compositor {
	struct gb_capture_target target; /* first: the plugin gets a pointer to it */
	struct wl_display *display;
	struct weston_log_context *log_context;
	struct weston_compositor *compositor;
	struct weston_output *output;
	struct weston_layer layer;
	struct weston_surface *background, *patch;
	struct weston_view *background_view, *patch_view;
	struct wl_listener frame_listener;
	gb_capture_frame_func frame;
	void *frame_data;
	unsigned frames;
	struct truth truths[TRUTHS];
	unsigned next_truth;
};

static uint64_t monotonic_now_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

/* After the capture has read its part of the frame, read all of it for reference. */
static void record_truth(struct test_compositor *tc, uint64_t time_ns)
{
	struct truth *truth = &tc->truths[tc->next_truth++ % TRUTHS];
	int width = tc->output->current_mode->width, height = tc->output->current_mode->height;
	uint32_t *pixels = malloc((size_t)width * (size_t)height * 4);

	CU_ASSERT_PTR_NOT_NULL_FATAL(pixels);
	CU_ASSERT_EQUAL_FATAL(tc->compositor->renderer->read_pixels(
	                              tc->output, tc->compositor->read_format, pixels, 0, 0,
	                              (uint32_t)width, (uint32_t)height),
	                      0);
	free(truth->pixels);
	truth->pixels = pixels;
	truth->width = width;
	truth->height = height;
	truth->time_ns = time_ns;
	if (tc->compositor->capabilities & WESTON_CAP_CAPTURE_YFLIP) {
		uint32_t *row = malloc((size_t)width * 4);

		CU_ASSERT_PTR_NOT_NULL_FATAL(row);
		for (int y = 0; y < height / 2; y++) {
			uint32_t *top = pixels + (size_t)y * (size_t)width;
			uint32_t *bottom = pixels + (size_t)(height - 1 - y) * (size_t)width;

			memcpy(row, top, (size_t)width * 4);
			memcpy(top, bottom, (size_t)width * 4);
			memcpy(bottom, row, (size_t)width * 4);
		}
		free(row);
	}
}

static void compositor_frame(struct wl_listener *listener, void *data)
{
	struct test_compositor *tc = wl_container_of(listener, tc, frame_listener);
	struct timespec now;

	tc->frames++;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!tc->frame)
		return;
	tc->frame(tc->frame_data, tc->output, data, &now);
	record_truth(tc, (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec);
}

static void *target_add_frame_listener(const struct gb_capture_target *target,
                                       gb_capture_frame_func frame, void *data)
{
	struct test_compositor *tc = (struct test_compositor *)target;

	if (tc->frame)
		return NULL; /* one listener is all this test needs */
	tc->frame = frame;
	tc->frame_data = data;
	return tc;
}

static void target_remove_frame_listener(const struct gb_capture_target *target, void *handle)
{
	struct test_compositor *tc = (struct test_compositor *)target;

	CU_ASSERT_PTR_EQUAL(handle, tc);
	tc->frame = NULL;
	tc->frame_data = NULL;
}

static void target_damage_all(const struct gb_capture_target *target)
{
	struct test_compositor *tc = (struct test_compositor *)target;

	weston_compositor_damage_all(tc->compositor);
}

static int quiet_log(const char *format, va_list args)
{
	return 0;
}

static struct weston_view *solid_view(struct test_compositor *tc, struct weston_surface **surface,
                                      const uint8_t rgb[3], int x, int y, int width, int height)
{
	struct weston_view *view;

	*surface = weston_surface_create(tc->compositor);
	CU_ASSERT_PTR_NOT_NULL_FATAL(*surface);
	weston_surface_set_color(*surface, rgb[0] / 255.0f, rgb[1] / 255.0f, rgb[2] / 255.0f, 1);
	weston_surface_set_size(*surface, width, height);
	pixman_region32_fini(&(*surface)->opaque);
	pixman_region32_init_rect(&(*surface)->opaque, 0, 0, (unsigned)width, (unsigned)height);
	(*surface)->is_mapped = true;
	view = weston_view_create(*surface);
	CU_ASSERT_PTR_NOT_NULL_FATAL(view);
	weston_view_set_position(view, (float)x, (float)y);
	weston_layer_entry_insert(&tc->layer.view_list, &view->layer_link);
	view->is_mapped = true;
	weston_view_update_transform(view);
	weston_surface_damage(*surface);
	return view;
}

/* Returns false when the backend cannot start with this renderer here. */
static bool compositor_start(struct test_compositor *tc, bool gl, const uint8_t background[3],
                             const uint8_t patch[3])
{
	struct weston_headless_backend_config config;
	const struct weston_windowed_output_api *api;
	struct weston_head *head;

	memset(tc, 0, sizeof(*tc));
	weston_log_set_handler(quiet_log, quiet_log);
	tc->display = wl_display_create();
	tc->log_context = weston_log_ctx_create();
	CU_ASSERT_FATAL(tc->display && tc->log_context);
	tc->compositor = weston_compositor_create(tc->display, tc->log_context, tc, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(tc->compositor);

	memset(&config, 0, sizeof(config));
	config.base.struct_version = WESTON_HEADLESS_BACKEND_CONFIG_VERSION;
	config.base.struct_size = sizeof(config);
	config.use_pixman = !gl;
	config.use_gl = gl;
	if (weston_compositor_load_backend(tc->compositor, WESTON_BACKEND_HEADLESS, &config.base) <
	    0)
		return false;
	api = weston_windowed_output_get_api(tc->compositor);
	CU_ASSERT_FATAL(api && api->create_head(tc->compositor, "headless") == 0);
	head = weston_compositor_iterate_heads(tc->compositor, NULL);
	tc->output = weston_compositor_create_output_with_head(tc->compositor, head);
	CU_ASSERT_PTR_NOT_NULL_FATAL(tc->output);
	weston_output_set_scale(tc->output, 1);
	weston_output_set_transform(tc->output, WL_OUTPUT_TRANSFORM_NORMAL);
	CU_ASSERT_FATAL(api->output_set_size(tc->output, 320, 240) == 0);
	CU_ASSERT_FATAL(weston_output_enable(tc->output) == 0);
	tc->frame_listener.notify = compositor_frame;
	wl_signal_add(&tc->output->frame_signal, &tc->frame_listener);

	weston_layer_init(&tc->layer, tc->compositor);
	weston_layer_set_position(&tc->layer, WESTON_LAYER_POSITION_NORMAL);
	/* Each view goes on top of the layer: the background first. */
	tc->background_view = solid_view(tc, &tc->background, background, 0, 0, 1024, 1024);
	tc->patch_view = solid_view(tc, &tc->patch, patch, 51, 61, 41, 31);

	tc->target.struct_size = sizeof(tc->target);
	tc->target.compositor = tc->compositor;
	tc->target.output = tc->output;
	tc->target.add_frame_listener = target_add_frame_listener;
	tc->target.remove_frame_listener = target_remove_frame_listener;
	tc->target.damage_all = target_damage_all;
	return true;
}

static void compositor_stop(struct test_compositor *tc)
{
	if (tc->frame_listener.notify)
		wl_list_remove(&tc->frame_listener.link);
	if (tc->compositor) {
		if (tc->patch_view)
			weston_view_destroy(tc->patch_view);
		if (tc->background_view)
			weston_view_destroy(tc->background_view);
		if (tc->patch)
			weston_surface_destroy(tc->patch);
		if (tc->background)
			weston_surface_destroy(tc->background);
		weston_compositor_destroy(tc->compositor);
	}
	if (tc->log_context)
		weston_log_ctx_destroy(tc->log_context);
	if (tc->display)
		wl_display_destroy(tc->display);
	for (int i = 0; i < TRUTHS; i++)
		free(tc->truths[i].pixels);
	memset(tc, 0, sizeof(*tc));
}

static void set_patch(struct test_compositor *tc, const uint8_t rgb[3], int x, int y)
{
	weston_view_damage_below(tc->patch_view);
	weston_surface_set_color(tc->patch, rgb[0] / 255.0f, rgb[1] / 255.0f, rgb[2] / 255.0f, 1);
	weston_view_set_position(tc->patch_view, (float)x, (float)y);
	weston_view_update_transform(tc->patch_view);
	weston_surface_damage(tc->patch);
}

/* Run the compositor for @ms. */
static void run_for(struct test_compositor *tc, int ms)
{
	struct wl_event_loop *loop = wl_display_get_event_loop(tc->display);
	uint64_t end = monotonic_now_ns() + (uint64_t)ms * 1000000u;

	while (monotonic_now_ns() < end)
		wl_event_loop_dispatch(loop, 2);
}

/*
 * Run the compositor until a frame has come out and the screen has been
 * still for 60 ms, at most @timeout_ms; return the newest frame (NULL if
 * none). Every earlier one is checked against its reference on the way.
 */
static int check_against_truth(struct test_compositor *tc, GstSample *sample);

static GstSample *settle(struct test_compositor *tc, GstElement *sink, int timeout_ms)
{
	struct wl_event_loop *loop = wl_display_get_event_loop(tc->display);
	uint64_t start = monotonic_now_ns(), last_change = start;
	uint64_t deadline = start + (uint64_t)timeout_ms * 1000000u;
	unsigned frames = tc->frames;
	GstSample *newest = NULL;

	while (monotonic_now_ns() < deadline) {
		GstSample *sample;

		while ((sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 0))) {
			if (newest) {
				CU_ASSERT_EQUAL(check_against_truth(tc, newest), 0);
				gst_sample_unref(newest);
			}
			newest = sample;
			last_change = monotonic_now_ns();
		}
		if (tc->frames != frames) {
			frames = tc->frames;
			last_change = monotonic_now_ns();
		}
		if (newest && monotonic_now_ns() - last_change > 60 * 1000000u)
			break;
		wl_event_loop_dispatch(loop, 2);
	}
	return newest;
}

/* An 8-bit value from an exact one, for the formulas below. */
static int to_int(double value)
{
	return (int)(value + 0.5);
}

/*
 * Every sample of @sample against what the renderer drew at the frame its
 * capture meta names, converted here with the textbook BT.601 formulas:
 * within 1 for Y, U and V. The count of wrong samples.
 */
static int check_against_truth(struct test_compositor *tc, GstSample *sample)
{
	GstCaps *meta_caps = gst_caps_from_string(GB_CAPTURE_TIMESTAMP_CAPS);
	GstReferenceTimestampMeta *meta =
	        gst_buffer_get_reference_timestamp_meta(gst_sample_get_buffer(sample), meta_caps);
	bool xrgb = tc->compositor->read_format == PIXMAN_x8r8g8b8 ||
	            tc->compositor->read_format == PIXMAN_a8r8g8b8;
	const struct truth *truth = NULL;
	GstVideoInfo info;
	GstVideoFrame frame;
	int wrong = 0;

	gst_caps_unref(meta_caps);
	CU_ASSERT_PTR_NOT_NULL_FATAL(meta);
	for (int i = 0; i < TRUTHS; i++)
		if (tc->truths[i].pixels && tc->truths[i].time_ns == meta->timestamp)
			truth = &tc->truths[i];
	if (!truth) {
		/* A repeat: its time is when it was repeated, not a frame's. */
		return 0;
	}
	CU_ASSERT_FATAL(gst_video_info_from_caps(&info, gst_sample_get_caps(sample)));
	CU_ASSERT_EQUAL_FATAL(GST_VIDEO_INFO_WIDTH(&info), truth->width);
	CU_ASSERT_EQUAL_FATAL(GST_VIDEO_INFO_HEIGHT(&info), truth->height);
	CU_ASSERT_FATAL(
	        gst_video_frame_map(&frame, &info, gst_sample_get_buffer(sample), GST_MAP_READ));
	for (int y = 0; y < truth->height; y += 2) {
		for (int x = 0; x < truth->width; x += 2) {
			const uint8_t *planes[3] = { GST_VIDEO_FRAME_PLANE_DATA(&frame, 0),
				                     GST_VIDEO_FRAME_PLANE_DATA(&frame, 1),
				                     GST_VIDEO_FRAME_PLANE_DATA(&frame, 2) };
			gint y_stride = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0);
			gint uv_stride = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 1);
			double sum[3] = { 0, 0, 0 };

			for (int dy = 0; dy < 2; dy++) {
				for (int dx = 0; dx < 2; dx++) {
					uint32_t p = truth->pixels[(size_t)(y + dy) *
					                                   (size_t)truth->width +
					                           (size_t)(x + dx)];
					double r = (p >> (xrgb ? 16 : 0)) & 0xff,
					       g = (p >> 8) & 0xff,
					       b = (p >> (xrgb ? 0 : 16)) & 0xff;
					int luma =
					        to_int(16 + (0.299 * r + 0.587 * g + 0.114 * b) *
					                            219 / 255);

					wrong += abs(planes[0][(y + dy) * y_stride + x + dx] -
					             luma) > 1;
					sum[0] += r;
					sum[1] += g;
					sum[2] += b;
				}
			}
			for (int c = 0; c < 3; c++)
				sum[c] /= 4;
			wrong += abs(planes[1][y / 2 * uv_stride + x / 2] -
			             to_int(128 + (-0.168736 * sum[0] - 0.331264 * sum[1] +
			                           0.5 * sum[2]) *
			                                  224 / 255)) > 1;
			wrong += abs(planes[2][y / 2 * uv_stride + x / 2] -
			             to_int(128 + (0.5 * sum[0] - 0.418688 * sum[1] -
			                           0.081312 * sum[2]) *
			                                  224 / 255)) > 1;
		}
	}
	gst_video_frame_unmap(&frame);
	if (wrong)
		fprintf(stderr, "\n    %d samples differ from what the renderer drew\n", wrong);
	return wrong;
}

/* The pixel at (x, y) of an I420 frame, decoded to RGB the way a browser does (BT.601). */
static void frame_rgb(const GstVideoFrame *frame, int x, int y, int rgb[3])
{
	const uint8_t *yp = GST_VIDEO_FRAME_PLANE_DATA(frame, 0);
	const uint8_t *up = GST_VIDEO_FRAME_PLANE_DATA(frame, 1);
	const uint8_t *vp = GST_VIDEO_FRAME_PLANE_DATA(frame, 2);
	gint ys = GST_VIDEO_FRAME_PLANE_STRIDE(frame, 0),
	     us = GST_VIDEO_FRAME_PLANE_STRIDE(frame, 1);
	double l = (yp[y * ys + x] - 16) * 255.0 / 219;
	double u = (up[y / 2 * us + x / 2] - 128) * 255.0 / 224;
	double v = (vp[y / 2 * us + x / 2] - 128) * 255.0 / 224;
	double value[3] = { l + 1.402 * v, l - 0.344136 * u - 0.714136 * v, l + 1.772 * u };

	for (int c = 0; c < 3; c++)
		rgb[c] = (int)(value[c] < 0 ? 0 : value[c] > 255 ? 255 : value[c] + 0.5);
}

struct expected_picture {
	int width, height;
	const uint8_t *background, *patch;
	int patch_x, patch_y, patch_width, patch_height;
};

/*
 * Pixman only (the colours it paints are the colours asked for): every 3rd
 * pixel, away from the patch's edges (where a 2x2 chroma block straddles
 * two colours), decodes to within 3 of the colour drawn there.
 */
static int count_wrong_pixels(GstSample *sample, const struct expected_picture *expected)
{
	GstVideoInfo info;
	GstVideoFrame frame;
	int wrong = 0;

	CU_ASSERT_FATAL(gst_video_info_from_caps(&info, gst_sample_get_caps(sample)));
	CU_ASSERT_EQUAL_FATAL(GST_VIDEO_INFO_WIDTH(&info), expected->width);
	CU_ASSERT_EQUAL_FATAL(GST_VIDEO_INFO_HEIGHT(&info), expected->height);
	CU_ASSERT_FATAL(
	        gst_video_frame_map(&frame, &info, gst_sample_get_buffer(sample), GST_MAP_READ));
	for (int y = 0; y < expected->height; y += 3) {
		for (int x = 0; x < expected->width; x += 3) {
			int px = expected->patch_x, py = expected->patch_y;
			int pw = expected->patch_width, ph = expected->patch_height;
			bool inside = x >= px && x < px + pw && y >= py && y < py + ph;
			bool near_edge = x >= px - 2 && x < px + pw + 2 && y >= py - 2 &&
			                 y < py + ph + 2 &&
			                 !(x >= px + 2 && x < px + pw - 2 && y >= py + 2 &&
			                   y < py + ph - 2);
			const uint8_t *want = inside ? expected->patch : expected->background;
			int rgb[3];

			if (near_edge)
				continue;
			frame_rgb(&frame, x, y, rgb);
			for (int c = 0; c < 3; c++) {
				if (abs(rgb[c] - want[c]) > 3) {
					if (wrong == 0)
						fprintf(stderr,
						        "\n    (%d,%d) is %d %d %d, drawn %u %u "
						        "%u\n",
						        x, y, rgb[0], rgb[1], rgb[2], want[0],
						        want[1], want[2]);
					wrong++;
					break;
				}
			}
		}
	}
	gst_video_frame_unmap(&frame);
	return wrong;
}

/* Both checks on the newest frame; the colours drawn only where they are exact (pixman). */
static void check_frame(struct test_compositor *tc, GstSample *sample,
                        const struct expected_picture *expected, bool exact_colours)
{
	CU_ASSERT_EQUAL(check_against_truth(tc, sample), 0);
	if (exact_colours)
		CU_ASSERT_EQUAL(count_wrong_pixels(sample, expected), 0);
}

/* The capture meta is there and says when, on CLOCK_MONOTONIC, the frame was made. */
static void check_capture_meta(GstSample *sample, uint64_t not_before)
{
	GstBuffer *buffer = gst_sample_get_buffer(sample);
	GstCaps *caps = gst_caps_from_string(GB_CAPTURE_TIMESTAMP_CAPS);
	GstReferenceTimestampMeta *meta = gst_buffer_get_reference_timestamp_meta(buffer, caps);

	CU_ASSERT_PTR_NOT_NULL(meta);
	if (meta) {
		CU_ASSERT(meta->timestamp >= not_before);
		CU_ASSERT(meta->timestamp <= monotonic_now_ns());
	}
	CU_ASSERT(GST_BUFFER_PTS_IS_VALID(buffer));
	gst_caps_unref(caps);
}

/* The headless backend's resize, as core/session/resize.c does it. */
static int headless_resize(struct weston_output *output, struct weston_mode *mode)
{
	output->disable(output);
	return output->enable(output) < 0 ? -1 : 0;
}

static void resize_output(struct test_compositor *tc, int width, int height)
{
	struct weston_mode *mode = tc->output->current_mode;

	/* Never under a frame in flight (resize.c waits the same way). */
	for (int i = 0; i < 500 && tc->output->repaint_status == REPAINT_AWAITING_COMPLETION; i++)
		run_for(tc, 2);
	CU_ASSERT_NOT_EQUAL_FATAL(tc->output->repaint_status, REPAINT_AWAITING_COMPLETION);
	mode->width = width;
	mode->height = height;
	tc->output->switch_mode = headless_resize;
	CU_ASSERT_EQUAL(weston_output_mode_set_native(tc->output, mode, 1), 0);
	tc->output->switch_mode = NULL;
	weston_compositor_damage_all(tc->compositor);
}

static void run_capture(bool gl)
{
	static const uint8_t red[3] = { 255, 0, 0 }, blue[3] = { 0, 0, 255 };
	static const uint8_t patch_colours[][3] = {
		{ 0, 255, 0 }, { 255, 255, 255 }, { 128, 128, 128 }, { 0, 0, 0 }, { 200, 100, 50 },
	};
	struct test_compositor tc;
	struct expected_picture expected = { 320, 240, red, blue, 51, 61, 41, 31 };
	const struct gb_capture_ops *ops;
	struct gb_plugin *plugin;
	struct gb_dropin dropin = {
		.path = (char *)"encoder-roundtrip.c",
		.kind_name = (char *)"capture",
		.kind = GB_PLUGIN_KIND_CAPTURE,
		.name = (char *)"weston",
		.enabled = true,
	};
	GstElement *pipeline, *source = NULL, *sink;
	GstSample *sample;
	GstClockTime last_pts;
	GstCaps *caps;
	char error[256] = "";
	void *capture;
	uint64_t started;

	if (!compositor_start(&tc, gl, red, blue)) {
		printf("\n    the headless backend does not start with the %s renderer here: "
		       "skipped\n",
		       gl ? "GL" : "pixman");
		compositor_stop(&tc);
		CU_ASSERT_TRUE(gl); /* pixman always works */
		return;
	}
	plugin = gb_plugin_registry_find(&registry, GB_PLUGIN_KIND_CAPTURE, "weston");
	if (!plugin) {
		CU_ASSERT_EQUAL_FATAL(gb_plugin_registry_load(&registry, &dropin), 0);
		plugin = gb_plugin_registry_find(&registry, GB_PLUGIN_KIND_CAPTURE, "weston");
	}
	CU_ASSERT_PTR_NOT_NULL_FATAL(plugin);
	ops = plugin->descriptor->ops;

	capture = ops->start(plugin->state, &tc.target, &source, error, sizeof(error));
	if (!capture)
		fprintf(stderr, "\n    start: %s\n", error);
	CU_ASSERT_PTR_NOT_NULL_FATAL(capture);
	CU_ASSERT_PTR_NOT_NULL_FATAL(source);
	CU_ASSERT_TRUE(g_object_is_floating(source));
	CU_ASSERT_PTR_NOT_NULL(tc.frame);

	pipeline = gst_pipeline_new(NULL);
	sink = gst_element_factory_make("appsink", NULL);
	caps = gst_caps_from_string("video/x-raw,format=I420,colorimetry=bt601");
	g_object_set(sink, "sync", FALSE, "emit-signals", FALSE, "max-buffers", 64, "caps", caps,
	             NULL);
	gst_caps_unref(caps);
	gst_bin_add_many(GST_BIN(pipeline), source, sink, NULL);
	CU_ASSERT_FATAL(gst_element_link(source, sink));
	CU_ASSERT_NOT_EQUAL(gst_element_set_state(pipeline, GST_STATE_PLAYING),
	                    GST_STATE_CHANGE_FAILURE);
	CU_ASSERT_NOT_EQUAL(gst_element_get_state(pipeline, NULL, NULL, 5 * GST_SECOND),
	                    GST_STATE_CHANGE_FAILURE);

	/* Inactive: repaints push nothing. */
	weston_compositor_damage_all(tc.compositor);
	run_for(&tc, 200);
	CU_ASSERT(tc.frames > 0);
	sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 0);
	CU_ASSERT_PTR_NULL(sample);

	/* Active: a whole first frame. */
	started = monotonic_now_ns();
	ops->set_active(capture, true);
	sample = settle(&tc, sink, 5000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sample);
	check_frame(&tc, sample, &expected, !gl);
	check_capture_meta(sample, started);
	last_pts = GST_BUFFER_PTS(gst_sample_get_buffer(sample));
	gst_sample_unref(sample);

	/* The patch changes colour and place, again and again: only it is repainted. */
	for (size_t i = 0; i < 2 * G_N_ELEMENTS(patch_colours); i++) {
		const uint8_t *colour = patch_colours[i % G_N_ELEMENTS(patch_colours)];

		expected.patch = colour;
		expected.patch_x = 51 + (int)i * 23;
		expected.patch_y = 61 + (int)i * 9;
		set_patch(&tc, colour, expected.patch_x, expected.patch_y);
		sample = settle(&tc, sink, 5000);
		CU_ASSERT_PTR_NOT_NULL_FATAL(sample);
		check_frame(&tc, sample, &expected, !gl);
		CU_ASSERT(GST_BUFFER_PTS(gst_sample_get_buffer(sample)) > last_pts);
		last_pts = GST_BUFFER_PTS(gst_sample_get_buffer(sample));
		gst_sample_unref(sample);
	}

	/* Nothing changes: repeat_frame sends the same picture, later. */
	ops->repeat_frame(capture);
	sample = settle(&tc, sink, 1000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sample);
	check_frame(&tc, sample, &expected, !gl);
	CU_ASSERT(GST_BUFFER_PTS(gst_sample_get_buffer(sample)) > last_pts);
	gst_sample_unref(sample);

	/* Inactive again: changes are not pushed... */
	ops->set_active(capture, false);
	expected.patch = patch_colours[0];
	expected.patch_x = 11;
	expected.patch_y = 13;
	set_patch(&tc, expected.patch, expected.patch_x, expected.patch_y);
	run_for(&tc, 200);
	sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 0);
	CU_ASSERT_PTR_NULL(sample);
	if (sample)
		gst_sample_unref(sample);
	/* ...and coming back sends the whole current picture. */
	ops->set_active(capture, true);
	sample = settle(&tc, sink, 5000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sample);
	check_frame(&tc, sample, &expected, !gl);
	gst_sample_unref(sample);

	/* The output is resized the way the session does it: new caps, whole frames. */
	resize_output(&tc, 200, 120);
	expected.width = 200;
	expected.height = 120;
	sample = settle(&tc, sink, 5000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sample);
	check_frame(&tc, sample, &expected, !gl);
	gst_sample_unref(sample);
	expected.patch = patch_colours[1];
	set_patch(&tc, expected.patch, expected.patch_x, expected.patch_y);
	sample = settle(&tc, sink, 5000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sample);
	check_frame(&tc, sample, &expected, !gl);
	gst_sample_unref(sample);

	gst_element_set_state(pipeline, GST_STATE_NULL);
	ops->stop(capture);
	CU_ASSERT_PTR_NULL(tc.frame);
	gst_object_unref(pipeline);
	compositor_stop(&tc);
}

static void test_encoder_roundtrip__capture_weston_pixman(void)
{
	run_capture(false);
}

/*
 * max_fps = 5: a burst of repaints pushes at most one frame per 200 ms,
 * and the last state still goes out when the interval is up. A registry of
 * its own, since the shared one has the plugin loaded with its defaults.
 */
static void test_encoder_roundtrip__capture_weston_max_fps(void)
{
	static const uint8_t grey[3] = { 128, 128, 128 }, black[3] = { 0, 0, 0 };
	static const uint8_t burst[][3] = {
		{ 255, 0, 0 },   { 0, 255, 0 },   { 0, 0, 255 },     { 255, 255, 0 },
		{ 0, 255, 255 }, { 255, 0, 255 }, { 255, 255, 255 }, { 40, 80, 120 },
	};
	struct gb_dropin_setting settings[] = {
		{ .key = (char *)"max_fps", .value = (char *)"5", .line = 1 },
	};
	struct gb_dropin dropin = {
		.path = (char *)"encoder-roundtrip.c",
		.kind_name = (char *)"capture",
		.kind = GB_PLUGIN_KIND_CAPTURE,
		.name = (char *)"weston",
		.enabled = true,
		.n_settings = 1,
		.settings = settings,
	};
	struct expected_picture expected = { 320, 240, grey, black, 51, 61, 41, 31 };
	struct gb_plugin_registry throttled;
	struct test_compositor tc;
	const struct gb_capture_ops *ops;
	struct gb_plugin *plugin;
	GstElement *pipeline, *source = NULL, *sink;
	GstSample *sample, *newest = NULL;
	char error[256] = "";
	unsigned pushed = 0;
	void *capture;
	uint64_t burst_start, burst_ms;

	CU_ASSERT_EQUAL_FATAL(gb_plugin_registry_init(&throttled, &host, "/nonexistent"), 0);
	CU_ASSERT_EQUAL_FATAL(gb_plugin_registry_load(&throttled, &dropin), 0);
	plugin = gb_plugin_registry_find(&throttled, GB_PLUGIN_KIND_CAPTURE, "weston");
	CU_ASSERT_PTR_NOT_NULL_FATAL(plugin);
	ops = plugin->descriptor->ops;
	CU_ASSERT_FATAL(compositor_start(&tc, false, grey, black));
	capture = ops->start(plugin->state, &tc.target, &source, error, sizeof(error));
	CU_ASSERT_PTR_NOT_NULL_FATAL(capture);
	pipeline = gst_pipeline_new(NULL);
	sink = gst_element_factory_make("appsink", NULL);
	g_object_set(sink, "sync", FALSE, "emit-signals", FALSE, "max-buffers", 64, NULL);
	gst_bin_add_many(GST_BIN(pipeline), source, sink, NULL);
	CU_ASSERT_FATAL(gst_element_link(source, sink));
	gst_element_set_state(pipeline, GST_STATE_PLAYING);
	gst_element_get_state(pipeline, NULL, NULL, 5 * GST_SECOND);

	ops->set_active(capture, true);
	sample = settle(&tc, sink, 5000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sample);
	check_frame(&tc, sample, &expected, true);
	gst_sample_unref(sample);
	run_for(&tc, 250); /* past the interval of that first frame */

	/* Eight changes as fast as the compositor repaints. */
	burst_start = monotonic_now_ns();
	for (size_t i = 0; i < G_N_ELEMENTS(burst); i++) {
		set_patch(&tc, burst[i], 51, 61);
		run_for(&tc, 20);
		while ((sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 0))) {
			pushed++;
			gst_sample_unref(sample);
		}
	}
	burst_ms = (monotonic_now_ns() - burst_start) / 1000000u;
	/* At most one per 200 ms started, plus the first. */
	CU_ASSERT(pushed <= burst_ms / 200 + 1);
	CU_ASSERT(tc.frames >= G_N_ELEMENTS(burst));

	/* The last colour still arrives, pushed by the timer. */
	run_for(&tc, 450);
	while ((sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 0))) {
		if (newest)
			gst_sample_unref(newest);
		newest = sample;
	}
	CU_ASSERT_PTR_NOT_NULL_FATAL(newest);
	expected.patch = burst[G_N_ELEMENTS(burst) - 1];
	check_frame(&tc, newest, &expected, true);
	gst_sample_unref(newest);

	gst_element_set_state(pipeline, GST_STATE_NULL);
	ops->stop(capture);
	gst_object_unref(pipeline);
	compositor_stop(&tc);
	gb_plugin_registry_clear(&throttled);
}

/*
 * Mesa's GL (llvmpipe here) paints weston_surface_set_color() surfaces with
 * their channels moved for some views, so under GL the frames are compared
 * with what the renderer drew (read back whole by the test), which is what
 * matters: rows bottom-up, damage, the buffer ring.
 */
static void test_encoder_roundtrip__capture_weston_gl(void)
{
	run_capture(true);
}

/*
 * `encoder-roundtrip gl` runs only the GL capture test: meson runs it as a
 * test of its own with leak checking off, because Mesa's driver, unloaded
 * at exit, leaves allocations LeakSanitizer cannot name (as for
 * test-gl-renderer.py). `encoder-roundtrip fake-nvenc` runs only the NVENC
 * test against the fake driver, which meson puts in LD_LIBRARY_PATH for it.
 * Everything else runs by default, with leak checking on.
 */
int main(int argc, char **argv)
{
	/* mode: "" by default, "gl", or "fake-nvenc" (with the fake driver in LD_LIBRARY_PATH). */
	static const struct {
		const char *name;
		CU_TestFunc func;
		const char *mode;
	} tests[] = {
		{ "test_encoder_roundtrip__x264", test_encoder_roundtrip__x264, "" },
		{ "test_encoder_roundtrip__vp8", test_encoder_roundtrip__vp8, "" },
		{ "test_encoder_roundtrip__nvenc_fails_cleanly",
		  test_encoder_roundtrip__nvenc_fails_cleanly, "" },
		{ "test_encoder_roundtrip__capture_weston_pixman",
		  test_encoder_roundtrip__capture_weston_pixman, "" },
		{ "test_encoder_roundtrip__capture_weston_max_fps",
		  test_encoder_roundtrip__capture_weston_max_fps, "" },
		{ "test_encoder_roundtrip__capture_weston_gl",
		  test_encoder_roundtrip__capture_weston_gl, "gl" },
		{ "test_encoder_roundtrip__nvenc_fake_driver",
		  test_encoder_roundtrip__nvenc_fake_driver, "fake-nvenc" },
	};
	const char *mode = argc > 1 ? argv[1] : "";
	const char *plugin_path = getenv("GB_PLUGIN_BUILD_PATH");
	CU_pSuite suite;
	unsigned failures;

	if (!plugin_path || !plugin_path[0]) {
		fprintf(stderr, "run through `meson test`: GB_PLUGIN_BUILD_PATH must name the "
		                "plugins' build folders\n");
		return 1;
	}
	/* The real plugins, not the loader tests' ones. */
	setenv("GLASSBOX_PLUGIN_PATH", plugin_path, 1);
	gst_init(NULL, NULL);
	gb_log_init("encoder-roundtrip", GB_LOG_INFO);
	gb_host_init(&host, NULL);
	if (gb_plugin_registry_init(&registry, &host, "/nonexistent") < 0)
		return 1;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return CU_get_error();
	suite = CU_add_suite_with_setup_and_teardown("encoder-roundtrip", NULL, NULL, NULL,
	                                             teardown);
	if (!suite)
		goto err;
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		if (strcmp(tests[i].mode, mode) == 0 &&
		    !CU_add_test(suite, tests[i].name, tests[i].func))
			goto err;

	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures();
	CU_cleanup_registry();
	/*
	 * No gst_deinit(): after a failed fatal assertion a pipeline may still
	 * be running, and gst_deinit() would wait for it forever.
	 */
	gb_plugin_registry_clear(&registry);
	return failures ? 1 : 0;

err:
	failures = (unsigned)CU_get_error();
	CU_cleanup_registry();
	gb_plugin_registry_clear(&registry);
	return failures ? (int)failures : 1;
}
