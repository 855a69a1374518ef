/* SPDX-License-Identifier: MIT */
/* Which encoder plugin a session streams with (encoder-choice.c). */
#ifndef GB_ENCODER_CHOICE_H
#define GB_ENCODER_CHOICE_H

#include <stddef.h>
#include <stdint.h>

#include <glassbox/encoder.h>

#include "config.h"
#include "plugin-loader.h"

/** A set of codecs: bit (1u << GB_CODEC_*). */
#define GB_CODEC_BIT(codec) (1u << (codec))

/** GB_CODEC_* for "H264", "vp8", ... (case does not matter), 0 when unknown. */
uint32_t gb_codec_from_name(const char *name);

struct gb_encoder_choice {
	struct gb_plugin *plugin;
	const struct gb_encoder_ops *ops;
	uint32_t codec; /* GB_CODEC_* */
	/* Better encoders that were skipped, "nvenc: REASON; ...", or "". */
	char fallback[512];
};

/**
 * Pick the encoder for a viewer decoding @codecs: among the loaded encoder
 * plugins making one of them (and the codec and encoder webrtc.codec and
 * webrtc.encoder pin, if they do), hardware first, then H.264, then VP8,
 * then by priority, the first whose probe() succeeds. Logs the choice and
 * why each better one was skipped. Returns 0, or -ENOENT with one line in
 * @error.
 */
int gb_encoder_choose(struct gb_plugin_registry *registry, const struct gb_webrtc_config *config,
                      uint32_t codecs, struct gb_encoder_choice *choice, char *error,
                      size_t error_size);

#endif
