/* SPDX-License-Identifier: MIT */
/*
 * The session's stream (stream.c): one pipeline shared by every viewer.
 *
 *   capture source -> encoder bin -> tee -+-> queue -> payloader -> webrtcbin  (branch 1)
 *   (capture plugin)  (encoder plugin)    +-> queue -> payloader -> webrtcbin  (branch 2)
 *
 * The stream owns the pipeline up to the tee and takes branches on and off
 * it; whoever builds a branch (peer.c) owns its elements' settings. The
 * stream never names its users: they register a struct gb_stream_events
 * (one listener per viewer) and each branch a struct gb_branch_events.
 *
 * Threads: libweston's wl_event_loop is the only main loop. Everything here
 * is for the main loop; the stream's own GStreamer callbacks come back
 * through the hand-off (handoff.h) it is given.
 */
#ifndef GB_STREAM_H
#define GB_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* GStreamer calls its WebRTC library unstable; we pin 1.22 in packaging. */
#ifndef GST_USE_UNSTABLE_API
#define GST_USE_UNSTABLE_API
#endif
#include <gst/gst.h>
#include <gst/webrtc/webrtc.h>
#include <json-glib/json-glib.h>
#include <wayland-server-core.h>

#include "session.h"

struct gb_stream;
struct gb_handoff;
struct gb_branch_shared;
struct gb_latency_probe;

/* --- life cycle, for main.c and the control socket ----------------------------------- */

/**
 * Start GStreamer and get ready for viewers (session->stream); nothing is
 * captured until one comes. @handoff must outlive the stream.
 */
int gb_stream_create(struct gb_session *session, struct gb_handoff *handoff);
/** Stop the pipeline; every viewer must be gone. Accepts a session without a stream. */
void gb_stream_destroy(struct gb_session *session);
/**
 * Write the streaming figures as " key=value" pairs (each with a leading
 * space) for the control socket's `stats` answer: viewers, codec, encoder,
 * encoders, frames_encoded, keyframes, keyframe_requests, fps,
 * bitrate_kbps, latency_p50_ms, latency_p95_ms, latency_frames, the
 * latency histogram and rtt_ms. Writes "" when @stream is NULL. Never more
 * than @size - 1 bytes; returns the length written.
 */
size_t gb_stream_format_stats(struct gb_stream *stream, char *buffer, size_t size);

/* --- viewers ----------------------------------------------------------------------------- */

/** What the stream tells each viewer; on the main loop. */
struct gb_stream_events {
	/** The pipeline failed: the viewer must go. */
	void (*failed)(void *data);
	/** The output changed size. */
	void (*resized)(void *data);
};

struct gb_stream_listener {
	const struct gb_stream_events *events;
	void *data;
	struct wl_list link; /* the stream's */
};

/** Count a viewer in (the `viewers` figure) and tell it what happens. */
void gb_stream_add_listener(struct gb_stream *stream, struct gb_stream_listener *listener,
                            const struct gb_stream_events *events, void *data);
void gb_stream_remove_listener(struct gb_stream *stream, struct gb_stream_listener *listener);

struct gb_session *gb_stream_session(struct gb_stream *stream);

/**
 * Get the pipeline ready for a viewer decoding @codecs. The first viewer's
 * choice of encoder holds for the session: later viewers must decode its
 * codec. Returns 0, or a negative errno with a line for the viewer in @error.
 */
int gb_stream_prepare(struct gb_stream *stream, uint32_t codecs, char *error, size_t error_size);

uint32_t gb_stream_codec(struct gb_stream *stream);
GstElement *gb_stream_pipeline(struct gb_stream *stream);

/** Ask the encoder for a keyframe now (an upstream GstForceKeyUnit). */
void gb_stream_request_keyframe(struct gb_stream *stream);
/** Push a picture now: repeat the last frame and repaint the whole output. */
void gb_stream_refresh(struct gb_stream *stream);

/** Add the "info" members (codec, encoder, width, height, fallback) to @builder. */
void gb_stream_build_info(struct gb_stream *stream, JsonBuilder *builder);

/* --- branches ---------------------------------------------------------------------------- */

/** What the stream tells a branch's owner; on the main loop, until it is detached. */
struct gb_branch_events {
	/** An element of the branch posted an error; @what names it and says what. */
	void (*error)(void *data, const char *what);
	/** The branch's queue overran (a slow viewer lost frames): a keyframe would help. */
	void (*overrun)(void *data);
};

/** One viewer's elements; the stream tears them down after the owner detached it. */
struct gb_branch {
	struct gb_stream *stream;
	uint64_t id;
	const struct gb_branch_events *events;
	void *data;
	/* made by the owner */
	GstElement *queue;
	GstElement *payloader;
	GstElement *webrtcbin;
	GstWebRTCDataChannel *channel;
	gulong channel_handlers[5];
	/* the stream's */
	GstPad *tee_pad;
	struct gb_branch_shared *shared;  /* what GStreamer's threads see */
	struct gb_latency_probe *latency; /* this viewer's frames */
	struct wl_list link;              /* gb_stream.dying_branches */
};

/** A branch with no elements yet; NULL with errno on failure. */
struct gb_branch *gb_stream_branch_new(struct gb_stream *stream,
                                       const struct gb_branch_events *events, void *data);
/**
 * Put the probes on a branch whose elements are made, before they are added
 * to the pipeline: the gate on the queue's sink pad (the first buffer
 * passes, for webrtcbin's caps; then nothing until gb_stream_open_branch()),
 * the queue's overrun, and the latency measurement.
 */
void gb_stream_watch_branch(struct gb_stream *stream, struct gb_branch *branch);
/** Add @branch's queue sink to the tee and count the viewer in. */
int gb_stream_attach_branch(struct gb_stream *stream, struct gb_branch *branch);
/** The viewer is connected: let frames through from the next keyframe on. */
void gb_stream_open_branch(struct gb_branch *branch);
/**
 * Take @branch over (its owner is gone; no more events): unlink it from the
 * tee when the tee is not pushing, then stop and free its elements on the
 * main loop.
 */
void gb_stream_detach_branch(struct gb_stream *stream, struct gb_branch *branch);

#endif
