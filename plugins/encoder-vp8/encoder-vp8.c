/* SPDX-License-Identifier: MIT */
/*
 * encoder-vp8: VP8 in software with GStreamer's vp8enc (libvpx), set up the
 * way WebRTC uses it: the realtime deadline, constant bitrate, no lag (no
 * frames held back for lookahead or alt-ref), error-resilient partitions,
 * and keyframes only when a viewer asks for one.
 *
 * The bin is capsfilter (I420) ! vp8enc, without queues. vp8enc is a
 * GstVideoEncoder: an upstream GstForceKeyUnit event reaching the bin's src
 * pad makes the next frame a keyframe, and new input caps (a resize) drain
 * and re-create the libvpx encoder at that frame.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gst/gst.h>

#include "encoder-common.h"

#include <glassbox/encoder.h>

#define PLUGIN_NAME "vp8"

/* "Never on its own": libvpx counts frames in an int. */
#define KEYFRAME_DISTANCE_INFINITE (1 << 30)
#define MAX_AUTO_THREADS           4
#define DEFAULT_BITRATE_KBPS       6000
/* vp8enc's target-bitrate is a gint in bit/s. */
#define MAX_BITRATE_KBPS (G_MAXINT / 1000)
#define ENCODER_NAME     "glassbox-vp8enc"

struct vp8_plugin {
	const struct gb_host *host;
	uint32_t bitrate_kbps; /* 0: the host's */
	int32_t cpu_used;
	uint32_t keyframe_max_dist; /* 0: only on request */
	uint32_t threads;           /* 0: one per core, at most MAX_AUTO_THREADS */
};

static const struct gb_option vp8_options[] = {
	{ .key = "bitrate_kbps",
	  .type = GB_VALUE_INT,
	  .default_value = "0",
	  .min = 0,
	  .max = 100000,
	  .help = "target bitrate in kbit/s; 0: the host's (webrtc.bitrate_kbps)" },
	{ .key = "cpu_used",
	  .type = GB_VALUE_INT,
	  .default_value = "8",
	  .min = -16,
	  .max = 16,
	  .help = "libvpx speed for the realtime deadline: higher is faster and worse "
	          "(WebRTC uses 6 to 12)" },
	{ .key = "keyframe_max_dist",
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
	  .help = "encoder threads (and token partitions); 0: one per core, at most 4" },
	{ .key = NULL },
};

static int vp8_init(const struct gb_host *host, const struct gb_settings *settings, void **state)
{
	struct vp8_plugin *plugin;

	plugin = calloc(1, sizeof(*plugin));
	if (!plugin)
		return -ENOMEM;
	plugin->host = host;
	plugin->bitrate_kbps = (uint32_t)gb_settings_get_int(settings, "bitrate_kbps", 0);
	plugin->cpu_used = (int32_t)gb_settings_get_int(settings, "cpu_used", 8);
	plugin->keyframe_max_dist =
	        (uint32_t)gb_settings_get_int(settings, "keyframe_max_dist", 0);
	plugin->threads = (uint32_t)gb_settings_get_int(settings, "threads", 0);
	*state = plugin;
	return 0;
}

static void vp8_fini(void *state)
{
	free(state);
}

/* Loading the element, not only finding it in the registry, proves libvpx loads. */
static int vp8_probe(void *state, char *error, size_t error_size)
{
	int r;

	r = gb_encoder_ensure_gstreamer(error, error_size);
	if (r < 0)
		return r;
	return gb_encoder_probe_element("vp8enc", "gstreamer1.0-plugins-good", error, error_size);
}

/* Token partitions let the decoder (and encoder) use threads: log2, at most 8. */
static const char *token_partitions(uint32_t threads)
{
	if (threads >= 8)
		return "8";
	if (threads >= 4)
		return "4";
	if (threads >= 2)
		return "2";
	return "1";
}

static GstElement *vp8_create_bin(void *state, const struct gb_encoder_params *params, char *error,
                                  size_t error_size)
{
	struct vp8_plugin *plugin = state;
	GstElement *elements[2];
	uint32_t bitrate, threads;

	if (gb_encoder_check_params(params, error, error_size) < 0 ||
	    gb_encoder_ensure_gstreamer(error, error_size) < 0)
		return NULL;
	bitrate = gb_encoder_start_bitrate(plugin->bitrate_kbps, params->bitrate_kbps,
	                                   DEFAULT_BITRATE_KBPS);
	threads = gb_encoder_thread_count(plugin->threads, MAX_AUTO_THREADS);

	elements[0] = gb_encoder_capsfilter_new("video/x-raw,format=I420");
	elements[1] = gst_element_factory_make("vp8enc", ENCODER_NAME);
	if (elements[1]) {
		GObject *encoder = G_OBJECT(elements[1]);

		g_object_set(encoder, "deadline", (gint64)1, "cpu-used", (gint)plugin->cpu_used,
		             "target-bitrate", (gint)(bitrate * 1000), "lag-in-frames", 0,
		             "keyframe-max-dist",
		             (gint)(plugin->keyframe_max_dist ? plugin->keyframe_max_dist
		                                              : KEYFRAME_DISTANCE_INFINITE),
		             "threads", (gint)threads, NULL);
		gst_util_set_object_arg(encoder, "end-usage", "cbr");
		/* Partitions decode independently: a lost packet spoils less. */
		gst_util_set_object_arg(encoder, "error-resilient", "default+partitions");
		gst_util_set_object_arg(encoder, "token-partitions", token_partitions(threads));
		/* Only forced keyframes (and the first), unless the drop-in sets a distance. */
		gst_util_set_object_arg(encoder, "keyframe-mode",
		                        plugin->keyframe_max_dist ? "auto" : "disabled");
	}
	return gb_encoder_bin_new(elements, 2, "capsfilter ! vp8enc", error, error_size);
}

static const struct gb_encoder_element vp8_element = {
	.name = ENCODER_NAME,
	.type_name = "GstVP8Enc",
	.bitrate_property = "target-bitrate",
	.bitrate_scale = 1000,
	.max_kbps = MAX_BITRATE_KBPS,
};

/* vp8enc hands a new target bitrate to the running libvpx encoder. */
static int vp8_set_bitrate(void *state, GstElement *bin, uint32_t bitrate_kbps)
{
	const struct vp8_plugin *plugin = state;

	return gb_encoder_set_bitrate(&vp8_element, bin, plugin->bitrate_kbps, bitrate_kbps);
}

static const struct gb_encoder_ops vp8_ops = {
	.struct_size = sizeof(struct gb_encoder_ops),
	.codec = GB_CODEC_VP8,
	.flags = 0,
	.priority = 0,
	.probe = vp8_probe,
	.create_bin = vp8_create_bin,
	.set_bitrate = vp8_set_bitrate,
};

static const struct gb_plugin_descriptor vp8_descriptor = {
	GB_PLUGIN_ABI_INIT,
	.kind = GB_PLUGIN_KIND_ENCODER,
	.name = PLUGIN_NAME,
	.version = "1.0.0",
	.description = "VP8 in software (libvpx), realtime, constant bitrate",
	.options = vp8_options,
	.init = vp8_init,
	.fini = vp8_fini,
	.ops = &vp8_ops,
};

GB_PLUGIN_DEFINE(vp8_descriptor)
