/* SPDX-License-Identifier: MIT */
/*
 * encoder-x264: H.264 in software with GStreamer's x264enc, tuned for
 * interactive streaming: no lookahead, no B-frames, sliced threads (which
 * add no frame of delay, unlike x264's frame threads), constrained
 * baseline (what every WebRTC H.264 decoder takes), and keyframes only
 * when a viewer asks for one.
 *
 * The bin is capsfilter (I420) ! capssetter (framerate) ! x264enc !
 * capsfilter (H.264 byte-stream, one access unit per buffer), without
 * queues: the host's pipeline decides where threads go.
 *
 * The capssetter matters: capture sources say framerate=0/1 (frames come
 * when the screen changes), and for such variable-rate input x264enc turns
 * on x264's b_vfr_input, which makes x264 hold every frame back until the
 * next one arrives (it needs the next timestamp for the duration): a
 * whole frame of latency, and on an idle screen the last change would not
 * leave the encoder until the next repaint. Claiming the session's maximum
 * frame rate instead removes that delay; rate control then budgets for
 * that many frames a second, so an idle screen simply uses less. x264enc is a GstVideoEncoder, so
 * an upstream GstForceKeyUnit event reaching the bin's src pad makes the next frame an IDR, and
 * new input caps (a resize) re-initialise x264 at that frame. In byte-stream mode x264 repeats SPS
 * and PPS before every IDR, so a viewer can start decoding at any keyframe.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gst/gst.h>

#include "encoder-common.h"

#include <glassbox/encoder.h>

#define PLUGIN_NAME "x264"

/* x264's own "infinite" keyframe interval (X264_KEYINT_MAX_INFINITE). */
#define KEYINT_INFINITE (1u << 30)
/* Sliced threads beyond 4 cost quality for little speed at these sizes. */
#define MAX_AUTO_THREADS 4
/* When neither the drop-in nor the host says (webrtc.bitrate_kbps's default). */
#define DEFAULT_BITRATE_KBPS 6000
/* When the host gives no maximum frame rate (webrtc.max_fps's default). */
#define DEFAULT_FPS 60
/* x264enc's own limit on its bitrate property. */
#define MAX_BITRATE_KBPS 2048000
/* The x264enc in our bins, found again by set_bitrate(). */
#define ENCODER_NAME "glassbox-x264enc"

struct x264_plugin {
	const struct gb_host *host;
	uint32_t bitrate_kbps; /* 0: the host's */
	const char *speed_preset;
	bool zerolatency;
	uint32_t bframes;
	uint32_t key_int_max; /* 0: only on request */
	uint32_t threads;     /* 0: one per core, at most MAX_AUTO_THREADS */
	bool sliced_threads;
};

static const char *const speed_presets[] = {
	"ultrafast", "superfast", "veryfast", "faster",   "fast",
	"medium",    "slow",      "slower",   "veryslow", "placebo",
};

static const struct gb_option x264_options[] = {
	{ .key = "bitrate_kbps",
	  .type = GB_VALUE_INT,
	  .default_value = "0",
	  .min = 0,
	  .max = 100000,
	  .help = "target bitrate in kbit/s; 0: the host's (webrtc.bitrate_kbps)" },
	{ .key = "speed_preset",
	  .type = GB_VALUE_STRING,
	  .default_value = "ultrafast",
	  .help = "x264 preset: ultrafast, superfast, veryfast, faster, fast, medium, ..." },
	{ .key = "zerolatency",
	  .type = GB_VALUE_BOOL,
	  .default_value = "true",
	  .help = "x264's zerolatency tune: no lookahead, no frame threads (false only to "
	          "measure)" },
	{ .key = "bframes",
	  .type = GB_VALUE_INT,
	  .default_value = "0",
	  .min = 0,
	  .max = 4,
	  .help = "B-frames between references; each adds a frame of delay (non-zero only to "
	          "measure; switches the profile to main)" },
	{ .key = "key_int_max",
	  .type = GB_VALUE_INT,
	  .default_value = "0",
	  .min = 0,
	  .max = 1000000,
	  .help = "a keyframe at least every this many frames; 0: only when a viewer asks" },
	{ .key = "threads",
	  .type = GB_VALUE_INT,
	  .default_value = "0",
	  .min = 0,
	  .max = 16,
	  .help = "encoder threads; 0: one per core, at most 4" },
	{ .key = "sliced_threads",
	  .type = GB_VALUE_BOOL,
	  .default_value = "true",
	  .help = "split each frame into slices, one per thread (adds no delay)" },
	{ .key = NULL },
};

static int x264_init(const struct gb_host *host, const struct gb_settings *settings, void **state)
{
	struct x264_plugin *plugin;
	bool preset_known = false;

	plugin = calloc(1, sizeof(*plugin));
	if (!plugin)
		return -ENOMEM;
	plugin->host = host;
	plugin->bitrate_kbps = (uint32_t)gb_settings_get_int(settings, "bitrate_kbps", 0);
	plugin->speed_preset = gb_settings_get_string(settings, "speed_preset");
	plugin->zerolatency = gb_settings_get_bool(settings, "zerolatency", true);
	plugin->bframes = (uint32_t)gb_settings_get_int(settings, "bframes", 0);
	plugin->key_int_max = (uint32_t)gb_settings_get_int(settings, "key_int_max", 0);
	plugin->threads = (uint32_t)gb_settings_get_int(settings, "threads", 0);
	plugin->sliced_threads = gb_settings_get_bool(settings, "sliced_threads", true);

	for (size_t i = 0; plugin->speed_preset && i < G_N_ELEMENTS(speed_presets); i++)
		preset_known |= strcmp(plugin->speed_preset, speed_presets[i]) == 0;
	if (!preset_known) {
		gb_plugin_log(host, GB_LOG_ERROR,
		              "settings.speed_preset '%s' is not an x264 preset (ultrafast, "
		              "superfast, veryfast, faster, fast, medium, slow, slower, "
		              "veryslow, placebo)",
		              plugin->speed_preset ? plugin->speed_preset : "");
		free(plugin);
		return -EINVAL;
	}
	*state = plugin;
	return 0;
}

static void x264_fini(void *state)
{
	free(state);
}

/* Loading the element, not only finding it in the registry, proves libx264 loads. */
static int x264_probe(void *state, char *error, size_t error_size)
{
	int r;

	r = gb_encoder_ensure_gstreamer(error, error_size);
	if (r < 0)
		return r;
	r = gb_encoder_probe_element("x264enc", "gstreamer1.0-plugins-ugly", error, error_size);
	if (r < 0)
		return r;
	return gb_encoder_probe_element("capssetter", "gstreamer1.0-plugins-good", error,
	                                error_size);
}

static GstElement *x264_create_bin(void *state, const struct gb_encoder_params *params,
                                   char *error, size_t error_size)
{
	struct x264_plugin *plugin = state;
	GstElement *elements[4], *rate, *encoder;
	GstCaps *rate_caps;
	uint32_t bitrate, fps;
	char output_caps[160];

	if (gb_encoder_check_params(params, error, error_size) < 0 ||
	    gb_encoder_ensure_gstreamer(error, error_size) < 0)
		return NULL;
	bitrate = gb_encoder_start_bitrate(plugin->bitrate_kbps, params->bitrate_kbps,
	                                   DEFAULT_BITRATE_KBPS);
	fps = params->max_fps >= 1 && params->max_fps <= 240 ? params->max_fps : DEFAULT_FPS;

	/* B-frames are not allowed in constrained baseline. */
	snprintf(output_caps, sizeof(output_caps),
	         "video/x-h264,profile=%s,stream-format=byte-stream,alignment=au",
	         plugin->bframes > 0 ? "main" : "constrained-baseline");

	elements[0] = gb_encoder_capsfilter_new("video/x-raw,format=I420");
	elements[1] = rate = gst_element_factory_make("capssetter", NULL);
	elements[2] = encoder = gst_element_factory_make("x264enc", ENCODER_NAME);
	elements[3] = gb_encoder_capsfilter_new(output_caps);
	if (rate) {
		rate_caps = gst_caps_new_simple("video/x-raw", "framerate", GST_TYPE_FRACTION,
		                                (gint)fps, 1, NULL);
		g_object_set(rate, "caps", rate_caps, "join", TRUE, "replace", FALSE, NULL);
		gst_caps_unref(rate_caps);
	}
	if (encoder) {
		g_object_set(encoder, "bitrate", (guint)bitrate, "bframes", (guint)plugin->bframes,
		             "key-int-max",
		             (guint)(plugin->key_int_max ? plugin->key_int_max : KEYINT_INFINITE),
		             "threads",
		             (guint)gb_encoder_thread_count(plugin->threads, MAX_AUTO_THREADS),
		             "sliced-threads", (gboolean)plugin->sliced_threads, NULL);
		gst_util_set_object_arg(G_OBJECT(encoder), "speed-preset", plugin->speed_preset);
		gst_util_set_object_arg(G_OBJECT(encoder), "tune",
		                        plugin->zerolatency ? "zerolatency" : "");
	}
	return gb_encoder_bin_new(elements, 4, "capsfilter ! capssetter ! x264enc ! capsfilter",
	                          error, error_size);
}

static const struct gb_encoder_element x264_element = {
	.name = ENCODER_NAME,
	.type_name = "GstX264Enc",
	.bitrate_property = "bitrate",
	.bitrate_scale = 1,
	.max_kbps = MAX_BITRATE_KBPS,
};

/* x264enc applies a new bitrate to the running encoder (x264_encoder_reconfig). */
static int x264_set_bitrate(void *state, GstElement *bin, uint32_t bitrate_kbps)
{
	const struct x264_plugin *plugin = state;

	return gb_encoder_set_bitrate(&x264_element, bin, plugin->bitrate_kbps, bitrate_kbps);
}

static const struct gb_encoder_ops x264_ops = {
	.struct_size = sizeof(struct gb_encoder_ops),
	.codec = GB_CODEC_H264,
	.flags = 0,
	.priority = 0,
	.probe = x264_probe,
	.create_bin = x264_create_bin,
	.set_bitrate = x264_set_bitrate,
};

static const struct gb_plugin_descriptor x264_descriptor = {
	GB_PLUGIN_ABI_INIT,
	.kind = GB_PLUGIN_KIND_ENCODER,
	.name = PLUGIN_NAME,
	.version = "1.0.0",
	.description = "H.264 in software (x264), constrained baseline, tuned for low latency",
	.options = x264_options,
	.init = x264_init,
	.fini = x264_fini,
	.ops = &x264_ops,
};

GB_PLUGIN_DEFINE(x264_descriptor)
