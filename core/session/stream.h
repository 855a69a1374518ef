/* SPDX-License-Identifier: MIT */
/*
 * The streaming half of glassbox-session, private to core/session:
 *
 *   capture source -> encoder bin -> tee -+-> queue -> payloader -> webrtcbin  (viewer 1)
 *   (capture plugin)  (encoder plugin)    +-> queue -> payloader -> webrtcbin  (viewer 2)
 *
 * stream.c owns the pipeline, the shared part (one encoder per session)
 * and the hand-off from GStreamer's threads; peer.c a viewer's WebRTC peer: its branch and
 * its WebRTC negotiation; signal.c the signalling socket; encoder-choice.c
 * picks the encoder; capture-target.c is what capture plugins hang off;
 * rtp-playout-delay.c the RTP header extension asking for no playout delay.
 *
 * Threads: libweston's wl_event_loop is the only main loop. GStreamer and
 * webrtcbin call back on their own threads; those callbacks only touch the
 * thread-safe parts below (marked "any thread") and hand everything else to
 * the main loop with gb_stream_post(), which wakes it through an eventfd.
 */
#ifndef GB_STREAM_H
#define GB_STREAM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* GStreamer calls its WebRTC library unstable; we pin 1.22 in packaging. */
#ifndef GST_USE_UNSTABLE_API
#define GST_USE_UNSTABLE_API
#endif
#include <gst/gst.h>
#include <gst/rtp/rtp.h>
#include <gst/webrtc/webrtc.h>
#include <json-glib/json-glib.h>

#include <glassbox/capture.h>
#include <glassbox/encoder.h>

#include "plugin-loader.h"
#include "session.h"

struct gb_peer;
struct gb_signal_client;

/* --- latency histogram (any thread) --------------------------------------- */

/* 0.25 ms buckets up to 256 ms; the last one collects everything slower. */
#define GB_LATENCY_BUCKET_US 250
#define GB_LATENCY_BUCKETS   1024

struct gb_latency {
	gint buckets[GB_LATENCY_BUCKETS]; /* g_atomic_int_* */
	_Atomic uint64_t sum_ns;          /* of every sample, for the /metrics histogram */
};

/* The bounds of the cumulative buckets in `stats` (latency_buckets_ms=1:N,2:N,...):
 * fixed, so that a scraper's histogram keeps its buckets. */
#define GB_LATENCY_REPORT_BOUNDS_MS 1, 2, 5, 10, 16, 25, 33, 50, 100, 250

void gb_latency_add(struct gb_latency *latency, int64_t nanoseconds);
uint64_t gb_latency_count(struct gb_latency *latency);
/** Samples below @bound_ms (a multiple of GB_LATENCY_BUCKET_US). */
uint64_t gb_latency_count_below(struct gb_latency *latency, unsigned bound_ms);
/** The @fraction (0..1) percentile in ms, or -1 when nothing was recorded. */
double gb_latency_percentile_ms(struct gb_latency *latency, double fraction);

/* --- encoder-choice.c ---------------------------------------------------------- */

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

/* --- capture-target.c ------------------------------------------------------------ */

struct gb_capture_host;

/** The struct gb_capture_target handed to capture plugins; NULL on ENOMEM. */
struct gb_capture_host *gb_capture_host_create(struct gb_session *session);
/** Removes every frame listener a plugin left behind. NULL is fine. */
void gb_capture_host_destroy(struct gb_capture_host *host);
const struct gb_capture_target *gb_capture_host_target(struct gb_capture_host *host);

/* --- rtp-playout-delay.c -------------------------------------------------------- */

#define GB_RTP_PLAYOUT_DELAY_URI "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay"

/**
 * A new RTP header extension writing playout delay min = max = 0 into every
 * packet, with id @id (1..14, one-byte form). A full reference, not
 * floating: the payloader's "add-extension" takes a reference of its own.
 */
GstRTPHeaderExtension *gb_rtp_playout_delay_new(guint id);

/* --- stream.c: the hand-off from GStreamer's threads ----------------------- */

/*
 * The part of a viewer that GStreamer's threads may see. It is reference
 * counted (every signal handler, probe and promise holds a reference) so
 * that it outlives them whatever the order of teardown; @viewer is read and
 * written on the main loop only, and is NULL once the viewer is gone.
 */
struct gb_peer_shared {
	gatomicrefcount refs;
	struct gb_stream *stream;
	uint64_t id;
	struct gb_peer *peer; /* main loop only */

	/*
	 * Buffers entering the branch: GB_GATE_FIRST lets the first one
	 * through (webrtcbin needs its caps to make an offer) then closes;
	 * once the peer is connected, GB_GATE_KEYFRAME opens it at the next
	 * keyframe. In between, nothing queues up that would reach the
	 * browser late, and the browser never starts on a frame it cannot
	 * decode.
	 */
	gint gate;
	/* data channel messages posted and not yet handled, and the ones dropped */
	gint pending_messages;
	gint dropped_messages;

	/* RTP timestamp -> capture time of the last frames sent, for latency */
	GMutex lock;
	struct {
		uint32_t rtp_timestamp;
		int64_t capture_ns; /* 0: free */
	} sent[64];
	unsigned sent_next;
	struct gb_latency latency;
	gint frames_sent; /* last packets of frames that reached the network */
	/* round-trip time from webrtcbin's remote-inbound-rtp stats, -1 unknown */
	_Atomic int64_t rtt_us;
};

enum gb_gate {
	GB_GATE_FIRST = 0,
	GB_GATE_CLOSED = 1,
	GB_GATE_KEYFRAME = 2, /* connected: open at the next keyframe */
	GB_GATE_OPEN = 3,
};

struct gb_peer_shared *gb_peer_shared_new(struct gb_stream *stream, uint64_t id);
struct gb_peer_shared *gb_peer_shared_ref(struct gb_peer_shared *shared); /* any thread */
void gb_peer_shared_unref(gpointer shared); /* any thread; a GDestroyNotify */

enum gb_stream_event_type {
	GB_EVENT_NEGOTIATION_NEEDED,
	GB_EVENT_OFFER_CREATED,    /* promise */
	GB_EVENT_REMOTE_SET,       /* promise */
	GB_EVENT_ICE_CANDIDATE,    /* mline, text */
	GB_EVENT_CONNECTION_STATE, /* state: GstWebRTCPeerConnectionState */
	GB_EVENT_CHANNEL_OPEN,
	GB_EVENT_CHANNEL_CLOSED,  /* text: why */
	GB_EVENT_CHANNEL_MESSAGE, /* text, size */
	GB_EVENT_BRANCH_UNLINKED, /* branch_id */
	GB_EVENT_KEYFRAME,        /* a viewer's queue overran: resynchronise */
};

struct gb_branch;

struct gb_stream_event {
	enum gb_stream_event_type type;
	struct gb_peer_shared *shared; /* a reference; NULL for stream events */
	uint64_t branch_id;
	GstPromise *promise; /* a reference */
	guint mline;
	int state;
	char *text; /* g_malloc'd */
	size_t size;
	struct gb_stream_event *next;
};

/**
 * Hand @event (g_new0'd, owned by the stream from now on) to the main loop.
 * Any thread.
 */
void gb_stream_post(struct gb_stream *stream, struct gb_stream_event *event);

/* --- stream.c: what viewers use (main loop) --------------------------------- */

/** A viewer's elements; the stream tears them down after the viewer is gone. */
struct gb_branch {
	struct gb_stream *stream;
	uint64_t id;
	GstElement *queue;
	GstElement *payloader;
	GstElement *webrtcbin;
	GstPad *tee_pad;
	GstWebRTCDataChannel *channel;
	struct gb_peer_shared *shared;
	gulong channel_handlers[5];
	struct wl_list link; /* gb_stream.dying_branches */
};

struct gb_session *gb_stream_session(struct gb_stream *stream);

/**
 * Get the pipeline ready for a viewer decoding @codecs. The first viewer's
 * choice of encoder holds for the session: later viewers must decode its
 * codec. Returns 0, or a negative errno with a line for the viewer in @error.
 */
int gb_stream_prepare(struct gb_stream *stream, uint32_t codecs, char *error, size_t error_size);

uint32_t gb_stream_codec(struct gb_stream *stream);
GstElement *gb_stream_pipeline(struct gb_stream *stream);

/** The qdata key holding a webrtcbin's struct gb_peer_shared (a reference). */
GQuark gb_peer_shared_quark(void);

/**
 * Put the probes on a built branch: the gate on the queue's sink pad, and
 * the latency bookkeeping on the payloader's source pad (the network end
 * is watched as webrtcbin creates its nicesink).
 */
void gb_stream_watch_branch(struct gb_stream *stream, struct gb_branch *branch);

/** Add @branch's queue sink to the tee and count the viewer in. */
int gb_stream_attach_branch(struct gb_stream *stream, struct gb_branch *branch);
/**
 * Take @branch over (the viewer is gone): unlink it from the tee when the
 * tee is not pushing, then stop and free its elements on the main loop.
 */
void gb_stream_detach_branch(struct gb_stream *stream, struct gb_branch *branch);

/** Ask the encoder for a keyframe now (an upstream GstForceKeyUnit). */
void gb_stream_request_keyframe(struct gb_stream *stream);
/** Push a picture now: repeat the last frame and repaint the whole output. */
void gb_stream_refresh(struct gb_stream *stream);

/** Add the "info" members (codec, encoder, width, height, fallback) to @builder. */
void gb_stream_build_info(struct gb_stream *stream, JsonBuilder *builder);

/* The stream keeps the list of viewers, for "info" and stats. */
struct gb_peer_entry {
	struct gb_peer *peer;
	struct wl_list link; /* gb_stream's viewers */
};
void gb_stream_add_peer(struct gb_stream *stream, struct gb_peer_entry *entry);
void gb_stream_remove_peer(struct gb_stream *stream, struct gb_peer_entry *entry);

/* --- peer.c ----------------------------------------------------------------------------- */

/** A new viewer on a signalling connection; NULL with errno on failure. */
struct gb_peer *gb_peer_create(struct gb_stream *stream, struct gb_signal_client *client);
/** Close @viewer: release its input, take its branch down, log its figures. */
void gb_peer_destroy(struct gb_peer *peer);
/** One message from the browser (an object with a string "type"). */
void gb_peer_handle_message(struct gb_peer *peer, JsonObject *message);
/** One event from GStreamer's threads, on the main loop. */
void gb_peer_handle_event(struct gb_peer *peer, struct gb_stream_event *event);
/** Send "info" again (the output size changed). */
void gb_peer_send_info(struct gb_peer *peer);
/** Close @viewer's connection, telling the browser why (@error may be NULL). */
void gb_peer_close(struct gb_peer *peer, const char *error);

/* --- signal.c ----------------------------------------------------------------------- */

/** The connection's number, for the log: "viewer 3". */
uint64_t gb_signal_client_id(struct gb_signal_client *client);
/** Queue one message as a line for the browser. */
void gb_signal_client_send(struct gb_signal_client *client, JsonNode *message);
/**
 * Close the connection once what is queued is written (at most a short
 * while), sending {"type":"error","message":@error} first unless NULL.
 * The viewer is destroyed from the main loop, never from inside this call.
 */
void gb_signal_client_close(struct gb_signal_client *client, const char *error);

#endif
