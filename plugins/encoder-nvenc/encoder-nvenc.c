/* SPDX-License-Identifier: MIT */
/*
 * encoder-nvenc: H.264 on NVIDIA GPUs through NVENC, driven directly
 * through the NVENC API (the ffnvcodec headers; libcuda and
 * libnvidia-encode are loaded at run time, so the plugin loads and probes
 * on machines without them and says why it cannot run).
 *
 * probe() does what an encode would: load both libraries, create a CUDA
 * context, open an NVENC session, check for H.264 with the low-latency P1
 * preset, and close everything again. Any failure is a negative errno and
 * one line such as "libcuda.so.1: cannot open shared object file: No such
 * file or directory" or "NVENC session on NVIDIA H100 failed:
 * NV_ENC_ERR_UNSUPPORTED_DEVICE", which the host passes on to the viewer
 * as the reason it fell back to a software encoder.
 *
 * THE ENCODE PATH (nvenc-h264-enc.c) HAS NEVER RUN ON NVENC HARDWARE. See
 * README.md.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gst/gst.h>

#include "encoder-common.h"

#include <glassbox/encoder.h>

#include "nvenc-h264-enc.h"
#include "nvenc-library.h"

#define PLUGIN_NAME  "nvenc"
#define ENCODER_NAME "glassbox-nvenc"
/* Ahead of other hardware H.264 encoders that may come (VA-API). */
#define PRIORITY             10
#define DEFAULT_BITRATE_KBPS 6000
#define MAX_BITRATE_KBPS     1000000

struct nvenc_plugin {
	const struct gb_host *host;
	uint32_t bitrate_kbps; /* 0: the host's */
	int32_t device;
};

static const struct gb_option nvenc_options[] = {
	{ .key = "bitrate_kbps",
	  .type = GB_VALUE_INT,
	  .default_value = "0",
	  .min = 0,
	  .max = 100000,
	  .help = "target bitrate in kbit/s; 0: the host's (webrtc.bitrate_kbps)" },
	{ .key = "device",
	  .type = GB_VALUE_INT,
	  .default_value = "0",
	  .min = 0,
	  .max = 63,
	  .help = "CUDA device index of the GPU to encode on" },
	{ .key = NULL },
};

static int nvenc_init(const struct gb_host *host, const struct gb_settings *settings, void **state)
{
	struct nvenc_plugin *plugin = calloc(1, sizeof(*plugin));

	if (!plugin)
		return -ENOMEM;
	plugin->host = host;
	plugin->bitrate_kbps = (uint32_t)gb_settings_get_int(settings, "bitrate_kbps", 0);
	plugin->device = (int32_t)gb_settings_get_int(settings, "device", 0);
	*state = plugin;
	return 0;
}

static void nvenc_fini(void *state)
{
	free(state);
}

static int nvenc_probe(void *state, char *error, size_t error_size)
{
	struct nvenc_plugin *plugin = state;
	struct gb_nvenc_library library;
	struct gb_nvenc_session session;
	int r;

	r = gb_nvenc_library_load(&library, error, error_size);
	if (r < 0)
		return r;
	r = gb_nvenc_session_open(&session, &library, plugin->device, error, error_size);
	if (r == 0) {
		r = gb_nvenc_session_low_latency_h264(&session, NULL, error, error_size);
		gb_nvenc_session_close(&session);
	}
	gb_nvenc_library_unload(&library);
	return r;
}

static GstElement *nvenc_create_bin(void *state, const struct gb_encoder_params *params,
                                    char *error, size_t error_size)
{
	struct nvenc_plugin *plugin = state;
	GstElement *bin = NULL, *input = NULL, *encoder = NULL;
	GstCaps *caps = NULL;
	uint32_t bitrate;
	GType type;

	if (!params || params->struct_size < offsetof(struct gb_encoder_params, bitrate_kbps) +
	                                             sizeof(params->bitrate_kbps)) {
		snprintf(error, error_size, "the host's encoder parameters are too small");
		return NULL;
	}
	if (!gst_is_initialized()) {
		snprintf(error, error_size, "GStreamer is not initialised");
		return NULL;
	}
	type = gb_nvenc_h264_enc_get_type();
	if (type == G_TYPE_INVALID) {
		snprintf(error, error_size, "cannot register the GType %s",
		         GB_NVENC_H264_ENC_TYPE_NAME);
		return NULL;
	}
	bitrate = plugin->bitrate_kbps ? plugin->bitrate_kbps : params->bitrate_kbps;
	if (bitrate == 0)
		bitrate = DEFAULT_BITRATE_KBPS;

	bin = gst_bin_new(NULL);
	input = gst_element_factory_make("capsfilter", NULL);
	encoder = g_object_new(
	        type, "name", ENCODER_NAME, "bitrate", (guint)bitrate, "device",
	        (gint)plugin->device, "max-fps",
	        (guint)(params->max_fps >= 1 && params->max_fps <= 240 ? params->max_fps : 60),
	        NULL);
	caps = gst_caps_from_string("video/x-raw,format=I420");
	if (!bin || !input || !encoder || !caps) {
		snprintf(error, error_size, "cannot make the NVENC element or a capsfilter");
		goto fail;
	}
	g_object_set(input, "caps", caps, NULL);
	gst_bin_add_many(GST_BIN(bin), input, encoder, NULL);
	if (!gst_element_link(input, encoder) ||
	    !gb_encoder_add_ghost_pad(bin, input, "sink", "sink") ||
	    !gb_encoder_add_ghost_pad(bin, encoder, "src", "src")) {
		snprintf(error, error_size, "cannot link capsfilter ! NVENC");
		input = encoder = NULL; /* the bin owns them */
		goto fail;
	}
	gst_caps_unref(caps);
	return bin;

fail:
	if (caps)
		gst_caps_unref(caps);
	if (input)
		gst_object_unref(gst_object_ref_sink(input));
	if (encoder)
		gst_object_unref(gst_object_ref_sink(encoder));
	if (bin)
		gst_object_unref(gst_object_ref_sink(bin));
	return NULL;
}

static int nvenc_set_bitrate(void *state, GstElement *bin, uint32_t bitrate_kbps)
{
	struct nvenc_plugin *plugin = state;
	GType type = gb_nvenc_h264_enc_get_type();
	GstElement *encoder;

	if (plugin->bitrate_kbps)
		return 0;
	if (bitrate_kbps == 0 || bitrate_kbps > MAX_BITRATE_KBPS)
		return -ERANGE;
	if (type == G_TYPE_INVALID || !GST_IS_BIN(bin))
		return -EINVAL;
	encoder = gst_bin_get_by_name(GST_BIN(bin), ENCODER_NAME);
	if (!encoder)
		return -EINVAL;
	if (!G_TYPE_CHECK_INSTANCE_TYPE(encoder, type)) {
		gst_object_unref(encoder);
		return -EINVAL;
	}
	/* Applied with nvEncReconfigureEncoder before the next frame. */
	g_object_set(encoder, "bitrate", (guint)bitrate_kbps, NULL);
	gst_object_unref(encoder);
	return 0;
}

static const struct gb_encoder_ops nvenc_ops = {
	.struct_size = sizeof(struct gb_encoder_ops),
	.codec = GB_CODEC_H264,
	.flags = GB_ENCODER_HARDWARE,
	.priority = PRIORITY,
	.probe = nvenc_probe,
	.create_bin = nvenc_create_bin,
	.set_bitrate = nvenc_set_bitrate,
};

static const struct gb_plugin_descriptor nvenc_descriptor = {
	GB_PLUGIN_ABI_INIT,
	.kind = GB_PLUGIN_KIND_ENCODER,
	.name = PLUGIN_NAME,
	.version = "0.9.0",
	.description = "H.264 on NVIDIA GPUs (NVENC); encode path untested on hardware",
	.options = nvenc_options,
	.init = nvenc_init,
	.fini = nvenc_fini,
	.ops = &nvenc_ops,
};

GB_PLUGIN_DEFINE(nvenc_descriptor)
