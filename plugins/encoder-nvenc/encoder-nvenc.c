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
#include "error.h"

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
	GstElement *elements[2];
	uint32_t bitrate;
	GType type;

	if (gb_encoder_check_params(params, error, error_size) < 0)
		return NULL;
	if (!gst_is_initialized()) {
		gb_error_set(error, error_size, "GStreamer is not initialised");
		return NULL;
	}
	type = gb_nvenc_h264_enc_get_type();
	if (type == G_TYPE_INVALID) {
		gb_error_set(error, error_size, "cannot register the GType %s",
		             GB_NVENC_H264_ENC_TYPE_NAME);
		return NULL;
	}
	bitrate = gb_encoder_start_bitrate(plugin->bitrate_kbps, params->bitrate_kbps,
	                                   DEFAULT_BITRATE_KBPS);

	elements[0] = gb_encoder_capsfilter_new("video/x-raw,format=I420");
	elements[1] = g_object_new(
	        type, "name", ENCODER_NAME, "bitrate", (guint)bitrate, "device",
	        (gint)plugin->device, "max-fps",
	        (guint)(params->max_fps >= 1 && params->max_fps <= 240 ? params->max_fps : 60),
	        NULL);
	return gb_encoder_bin_new(elements, 2, "capsfilter ! NVENC", error, error_size);
}

static const struct gb_encoder_element nvenc_element = {
	.name = ENCODER_NAME,
	.type_name = GB_NVENC_H264_ENC_TYPE_NAME,
	.bitrate_property = "bitrate",
	.bitrate_scale = 1,
	.max_kbps = MAX_BITRATE_KBPS,
};

/* Applied with nvEncReconfigureEncoder before the next frame. */
static int nvenc_set_bitrate(void *state, GstElement *bin, uint32_t bitrate_kbps)
{
	const struct nvenc_plugin *plugin = state;

	return gb_encoder_set_bitrate(&nvenc_element, bin, plugin->bitrate_kbps, bitrate_kbps);
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
