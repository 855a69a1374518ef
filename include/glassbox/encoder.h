/* SPDX-License-Identifier: MIT */
/*
 * Glassbox encoder plugins: turn the session's raw frames into a compressed
 * stream for WebRTC. An encoder is a GStreamer bin made by the plugin; the
 * host puts it between the capture source and the RTP payloaders, one per
 * session, shared by every viewer.
 */
#ifndef GLASSBOX_ENCODER_H
#define GLASSBOX_ENCODER_H

#include <glassbox/plugin.h>
#include <gst/gst.h>

#ifdef __cplusplus
extern "C" {
#endif

/** What an encoder produces. */
enum gb_codec {
	GB_CODEC_H264 = 1, /* video/x-h264, stream-format=byte-stream, alignment=au */
	GB_CODEC_VP8 = 2,  /* video/x-vp8 */
	GB_CODEC_VP9 = 3,  /* video/x-vp9 */
	GB_CODEC_AV1 = 4,  /* video/x-av1 */
};

enum gb_encoder_flags {
	GB_ENCODER_HARDWARE = 1u << 0, /* preferred over software when both are available */
};

/** What the host asks of a new encoder bin. */
struct gb_encoder_params {
	uint32_t struct_size;
	uint32_t width; /* of the first frame; later frames may renegotiate the size */
	uint32_t height;
	uint32_t max_fps;
	uint32_t bitrate_kbps;
};

struct gb_encoder_ops {
	uint32_t struct_size;
	uint32_t codec;   /* enum gb_codec */
	uint32_t flags;   /* enum gb_encoder_flags */
	int32_t priority; /* among encoders of the same codec and flags, higher wins */

	/*
	 * Can this encoder run on this machine now? Return 0, or a negative
	 * errno and one line in @error saying why not ("no CUDA driver:
	 * libcuda.so.1: cannot open shared object file"). May open and close a
	 * real encoder to find out. Called on the session's main loop.
	 */
	int (*probe)(void *state, char *error, size_t error_size);

	/*
	 * Make a new encoder: a GstBin with an always "sink" pad accepting
	 * video/x-raw,format=I420 and an always "src" pad producing @codec
	 * (see enum gb_codec). The bin must emit a keyframe on an upstream
	 * GstForceKeyUnit event arriving at its src pad, must not add latency
	 * (no lookahead, no B-frames) and must accept a change of caps
	 * (size) at any frame. Return a floating reference, or NULL with one
	 * line in @error.
	 */
	GstElement *(*create_bin)(void *state, const struct gb_encoder_params *params, char *error,
	                          size_t error_size);

	/* Change the target bitrate of a bin made by create_bin(). May be NULL. */
	int (*set_bitrate)(void *state, GstElement *bin, uint32_t bitrate_kbps);
};

/** "H264", "VP8", ... as in SDP; NULL for an unknown codec. */
static inline const char *gb_codec_name(uint32_t codec)
{
	switch (codec) {
	case GB_CODEC_H264:
		return "H264";
	case GB_CODEC_VP8:
		return "VP8";
	case GB_CODEC_VP9:
		return "VP9";
	case GB_CODEC_AV1:
		return "AV1";
	}
	return NULL;
}

#ifdef __cplusplus
}
#endif

#endif /* GLASSBOX_ENCODER_H */
