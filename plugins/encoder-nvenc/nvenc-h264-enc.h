/* SPDX-License-Identifier: MIT */
/*
 * A GstVideoEncoder that encodes I420 to H.264 with NVENC, registered by
 * this plugin alone (not a GStreamer plugin feature: no factory, no
 * registry entry), under a type name no GStreamer plugin uses.
 *
 * Properties: "bitrate" (kbit/s, may change while playing), "device" (CUDA
 * device index), "max-fps" (sizes the rate control's one-frame VBV).
 */
#ifndef GB_NVENC_H264_ENC_H
#define GB_NVENC_H264_ENC_H

#include <gst/gst.h>

#define GB_NVENC_H264_ENC_TYPE_NAME "GlassboxNvencH264Enc"

/**
 * The element's type, registered on first use; G_TYPE_INVALID when that
 * fails (another module registered the name). Main loop only.
 */
GType gb_nvenc_h264_enc_get_type(void);

#endif
