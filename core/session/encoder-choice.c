/* SPDX-License-Identifier: MIT */
/*
 * Which encoder a session uses: the codecs the browser decodes crossed with
 * the encoder plugins that can run here (probe()), hardware first, then
 * H.264, then VP8, then by the plugins' priority. The operator may pin a
 * codec (webrtc.codec) or an encoder (webrtc.encoder).
 *
 * Every better encoder that was skipped is named with its probe's reason,
 * in the log and in "info", so that an operator who expected NVENC sees at
 * once why the session runs x264.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"
#include "log.h"
#include "encoder-choice.h"

/* More encoder plugins than this in one session is a configuration mistake. */
#define CANDIDATES_MAX 32

uint32_t gb_codec_from_name(const char *name)
{
	static const uint32_t codecs[] = { GB_CODEC_H264, GB_CODEC_VP8, GB_CODEC_VP9,
		                           GB_CODEC_AV1 };

	if (!name)
		return 0;
	for (size_t i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++)
		if (strcasecmp(name, gb_codec_name(codecs[i])) == 0)
			return codecs[i];
	return 0;
}

/* The design's order between codecs: H.264 (the cheapest to decode everywhere), then VP8. */
static int codec_rank(uint32_t codec)
{
	switch (codec) {
	case GB_CODEC_H264:
		return 0;
	case GB_CODEC_VP8:
		return 1;
	case GB_CODEC_VP9:
		return 2;
	case GB_CODEC_AV1:
		return 3;
	}
	return 4;
}

static const struct gb_encoder_ops *encoder_ops(const struct gb_plugin *plugin)
{
	return plugin->descriptor->ops;
}

/* qsort: the better encoder first. */
static int compare_candidates(const void *a, const void *b)
{
	const struct gb_plugin *pa = *(struct gb_plugin *const *)a;
	const struct gb_plugin *pb = *(struct gb_plugin *const *)b;
	const struct gb_encoder_ops *oa = encoder_ops(pa), *ob = encoder_ops(pb);
	bool hardware_a = oa->flags & GB_ENCODER_HARDWARE,
	     hardware_b = ob->flags & GB_ENCODER_HARDWARE;

	if (hardware_a != hardware_b)
		return hardware_a ? -1 : 1;
	if (codec_rank(oa->codec) != codec_rank(ob->codec))
		return codec_rank(oa->codec) - codec_rank(ob->codec);
	if (oa->priority != ob->priority)
		return oa->priority > ob->priority ? -1 : 1;
	return strcmp(pa->descriptor->name, pb->descriptor->name);
}

static uint32_t pinned_codec(const struct gb_webrtc_config *config)
{
	switch (config->codec) {
	case GB_CODEC_CHOICE_H264:
		return GB_CODEC_H264;
	case GB_CODEC_CHOICE_VP8:
		return GB_CODEC_VP8;
	case GB_CODEC_CHOICE_AUTO:
		break;
	}
	return 0;
}

/* "H264, VP8" for messages. */
static void codecs_text(uint32_t codecs, char *text, size_t size)
{
	size_t length = 0;

	text[0] = '\0';
	for (uint32_t codec = GB_CODEC_H264; codec <= GB_CODEC_AV1; codec++) {
		int n;

		if (!(codecs & GB_CODEC_BIT(codec)))
			continue;
		n = snprintf(text + length, size - length, "%s%s", length ? ", " : "",
		             gb_codec_name(codec));
		if (n < 0 || (size_t)n >= size - length)
			return;
		length += (size_t)n;
	}
	if (length == 0)
		snprintf(text, size, "none");
}

/* Append to @text, cutting (never overflowing) when it is full. */
static void append(char *text, size_t size, const char *format, ...)
        __attribute__((format(printf, 3, 4)));

static void append(char *text, size_t size, const char *format, ...)
{
	size_t length = strlen(text);
	va_list args;

	if (length + 1 >= size)
		return;
	va_start(args, format);
	vsnprintf(text + length, size - length, format, args);
	va_end(args);
}

int gb_encoder_choose(struct gb_plugin_registry *registry, const struct gb_webrtc_config *config,
                      uint32_t codecs, struct gb_encoder_choice *choice, char *error,
                      size_t error_size)
{
	struct gb_plugin *candidates[CANDIDATES_MAX];
	const char *pinned_name = config->encoder && config->encoder[0] ? config->encoder : NULL;
	uint32_t pinned = pinned_codec(config);
	uint32_t made = 0; /* codecs some loaded encoder makes */
	size_t n = 0;
	char wanted[64], have[64];
	char skipped[512] = ""; /* for the log: "nvenc unavailable (REASON), " */

	memset(choice, 0, sizeof(*choice));
	for (size_t i = 0; registry && i < registry->count; i++) {
		struct gb_plugin *plugin = registry->plugins[i];
		const struct gb_encoder_ops *ops;

		if (plugin->descriptor->kind != GB_PLUGIN_KIND_ENCODER)
			continue;
		ops = encoder_ops(plugin);
		if (!gb_codec_name(ops->codec))
			continue; /* the loader refuses these; be safe anyway */
		made |= GB_CODEC_BIT(ops->codec);
		if (pinned_name && strcmp(plugin->descriptor->name, pinned_name) != 0)
			continue;
		if (pinned && ops->codec != pinned)
			continue;
		if (!(codecs & GB_CODEC_BIT(ops->codec)))
			continue;
		if (n == CANDIDATES_MAX) {
			gb_warning("encoder: more than %d encoder plugins, ignoring %s",
			           CANDIDATES_MAX, plugin->descriptor->name);
			continue;
		}
		candidates[n++] = plugin;
	}

	codecs_text(codecs, wanted, sizeof(wanted));
	codecs_text(made, have, sizeof(have));
	if (n == 0) {
		if (pinned_name &&
		    !gb_plugin_registry_find(registry, GB_PLUGIN_KIND_ENCODER, pinned_name))
			gb_error_set(error, error_size,
			             "no encoder: webrtc.encoder is '%s', which is not loaded",
			             pinned_name);
		else if (pinned && !(codecs & GB_CODEC_BIT(pinned)))
			gb_error_set(error, error_size,
			             "no common codec: webrtc.codec is %s, the browser decodes %s",
			             gb_codec_name(pinned), wanted);
		else
			gb_error_set(error, error_size,
			             "no common codec: the browser decodes %s, the session's "
			             "encoders make %s",
			             wanted, have);
		return -ENOENT;
	}

	qsort(candidates, n, sizeof(candidates[0]), compare_candidates);
	for (size_t i = 0; i < n; i++) {
		const struct gb_encoder_ops *ops = encoder_ops(candidates[i]);
		const char *name = candidates[i]->descriptor->name;
		char plugin_error[256] = "";
		int r;

		r = ops->probe(candidates[i]->state, plugin_error, sizeof(plugin_error));
		if (r != 0) { /* anything but 0 is a failure, even a buggy positive value */
			const char *problem;

			plugin_error[sizeof(plugin_error) - 1] = '\0';
			problem = plugin_error[0] ? plugin_error : strerror(r < 0 ? -r : EIO);
			append(choice->fallback, sizeof(choice->fallback), "%s%s: %s",
			       choice->fallback[0] ? "; " : "", name, problem);
			append(skipped, sizeof(skipped), "%s unavailable (%s), ", name, problem);
			continue;
		}
		choice->plugin = candidates[i];
		choice->ops = ops;
		choice->codec = ops->codec;
		if (skipped[0])
			gb_info("encoder: %susing %s (%s)", skipped, name,
			        gb_codec_name(ops->codec));
		else
			gb_info("encoder: using %s (%s)%s; the browser decodes %s", name,
			        gb_codec_name(ops->codec),
			        pinned_name  ? ", pinned by webrtc.encoder"
			        : pinned     ? ", pinned by webrtc.codec"
			        : i + 1 == n ? ""
			                     : ", the best available",
			        wanted);
		return 0;
	}
	gb_warning("encoder: %sno encoder left for %s", skipped, wanted);
	gb_error_set(error, error_size, "no encoder available: %s", choice->fallback);
	return -ENOENT;
}
