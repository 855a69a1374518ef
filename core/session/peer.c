/* SPDX-License-Identifier: MIT */
/*
 * One viewer: its branch of the pipeline (queue -> payloader -> webrtcbin),
 * its WebRTC negotiation with the browser, and its data channel "input".
 *
 *   browser                      session
 *   hello {codecs,width,height} ->      encoder chosen (first viewer), branch built,
 *                                       a first frame flows, webrtcbin wants an offer
 *                               <- offer, info, ice...
 *   answer, ice...              ->
 *                                       connected: the gate opens, a keyframe goes out
 *   data channel "input"        ->      gb_input_viewer_handle()
 *
 * webrtcbin signals arrive on its own threads; they only post events
 * through the hand-off (handoff.h), which come back here on the main loop.
 * The peer reaches the browser through the struct gb_peer_events its owner
 * registered, and hears from the stream through a struct peer_events
 * and its branch's struct gb_branch_events.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gst/sdp/sdp.h>

#include "encoder-choice.h"
#include "handoff.h"
#include "input-message.h"
#include "latency.h"
#include "error.h"
#include "log.h"
#include "peer.h"
#include "rtp-playout-delay.h"
#include "stream.h"

/* Hello's codec list: more names than this is not a browser. */
#define HELLO_CODECS_MAX 64
/* Data channel messages waiting for the main loop, per viewer. */
#define PENDING_MESSAGES_MAX 4096
/* The payloader's payload type and the playout-delay extension's id in our offer. */
#define PAYLOAD_TYPE          96
#define PLAYOUT_DELAY_ID      1
#define RTP_MTU               1200 /* leaves room for TURN and VPN headers */
#define CANDIDATE_MAX         1024
#define REMOTE_CANDIDATES_MAX 256 /* a browser sends a handful */
#define MLINE_MAX             16

/*
 * The part of a peer that GStreamer's threads may see. It is reference
 * counted (every signal handler and promise holds a reference) so that it
 * outlives them whatever the order of teardown; @peer is read and written
 * on the main loop only, and is NULL once the peer is gone.
 */
struct peer_shared {
	gatomicrefcount refs;
	struct gb_handoff *handoff;
	struct gb_peer *peer; /* main loop only */
	/* data channel messages posted and not yet handled, and the ones dropped */
	gint pending_messages;
	gint dropped_messages;
};

/* What webrtcbin's threads hand to the main loop. */
struct peer_event {
	struct gb_handoff_item item;
	enum peer_event_type {
		EVENT_NEGOTIATION_NEEDED,
		EVENT_OFFER_CREATED,    /* promise */
		EVENT_REMOTE_SET,       /* promise */
		EVENT_ICE_CANDIDATE,    /* mline, text */
		EVENT_CONNECTION_STATE, /* state: GstWebRTCPeerConnectionState */
		EVENT_CHANNEL_OPEN,
		EVENT_CHANNEL_CLOSED,  /* text: why */
		EVENT_CHANNEL_MESSAGE, /* text, size */
	} type;
	struct peer_shared *shared; /* a reference */
	GstPromise *promise;        /* a reference */
	guint mline;
	int state;
	char *text; /* g_malloc'd */
	size_t size;
};

struct gb_peer {
	struct gb_stream *stream;
	struct gb_session *session;
	const struct gb_peer_events *events;
	void *data;
	struct peer_shared *shared;
	uint64_t id;
	struct gb_stream_listener stream_listener;

	struct gb_input_viewer *input;
	struct gb_branch *branch;

	bool hello_seen;
	bool offer_requested;
	bool offer_sent;
	bool answer_seen;
	bool connected;
	bool channel_open;
	bool closing;

	/* ms since session start, for the figures logged */
	double created_ms;
	double hello_ms;
	double negotiation_ms; /* create-offer asked */
	double offer_ms;
	double connected_ms;
	unsigned remote_candidates;
	uint64_t messages_applied;
	uint64_t messages_dropped;
};

static const struct gb_branch_events branch_events;

static void peer_close(struct gb_peer *peer, const char *error)
{
	if (peer->closing)
		return;
	peer->closing = true;
	if (error)
		gb_info("viewer %llu: closing: %s", (unsigned long long)peer->id, error);
	peer->events->close(peer->data, error);
}

static void peer_send(struct gb_peer *peer, JsonBuilder *builder)
{
	JsonNode *node = json_builder_get_root(builder);

	if (!peer->closing)
		peer->events->send(peer->data, node);
	json_node_unref(node);
}

static void peer_send_info(struct gb_peer *peer)
{
	JsonBuilder *builder;

	if (!peer->offer_sent || peer->closing)
		return;
	builder = json_builder_new();
	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "type");
	json_builder_add_string_value(builder, "info");
	gb_stream_build_info(peer->stream, builder);
	json_builder_end_object(builder);
	peer_send(peer, builder);
	g_object_unref(builder);
}

/* --- GStreamer's threads: post and return ------------------------------------------------ */

static struct peer_shared *peer_shared_ref(struct peer_shared *shared)
{
	g_atomic_ref_count_inc(&shared->refs);
	return shared;
}

/* A GDestroyNotify; NULL is fine. */
static void peer_shared_unref(gpointer data)
{
	struct peer_shared *shared = data;

	if (!shared || !g_atomic_ref_count_dec(&shared->refs))
		return;
	g_free(shared);
}

static void handle_event(struct gb_peer *peer, struct peer_event *event);

static void peer_event_run(struct gb_handoff_item *item)
{
	struct peer_event *event = wl_container_of(item, event, item);

	if (event->shared->peer)
		handle_event(event->shared->peer, event);
	else if (event->type == EVENT_CHANNEL_MESSAGE)
		g_atomic_int_add(&event->shared->pending_messages, -1);
}

static void peer_event_free(struct gb_handoff_item *item)
{
	struct peer_event *event = wl_container_of(item, event, item);

	peer_shared_unref(event->shared);
	if (event->promise)
		gst_promise_unref(event->promise);
	g_free(event->text);
	g_free(event);
}

static void post(struct peer_shared *shared, enum peer_event_type type, struct peer_event *event)
{
	if (!event)
		event = g_new0(struct peer_event, 1);
	event->item.run = peer_event_run;
	event->item.free = peer_event_free;
	event->type = type;
	event->shared = peer_shared_ref(shared);
	gb_handoff_post(shared->handoff, &event->item);
}

static void on_negotiation_needed(GstElement *webrtcbin, gpointer data)
{
	post(data, EVENT_NEGOTIATION_NEEDED, NULL);
}

static void on_ice_candidate(GstElement *webrtcbin, guint mline, gchar *candidate, gpointer data)
{
	struct peer_event *event = g_new0(struct peer_event, 1);

	event->mline = mline;
	event->text = g_strdup(candidate ? candidate : "");
	post(data, EVENT_ICE_CANDIDATE, event);
}

static void on_connection_state(GObject *webrtcbin, GParamSpec *pspec, gpointer data)
{
	struct peer_event *event = g_new0(struct peer_event, 1);
	GstWebRTCPeerConnectionState state;

	g_object_get(webrtcbin, "connection-state", &state, NULL);
	event->state = (int)state;
	post(data, EVENT_CONNECTION_STATE, event);
}

static void on_promise(GstPromise *promise, gpointer data, enum peer_event_type type)
{
	struct peer_event *event = g_new0(struct peer_event, 1);

	event->promise = gst_promise_ref(promise);
	post(data, type, event);
}

static void on_offer_created(GstPromise *promise, gpointer data)
{
	on_promise(promise, data, EVENT_OFFER_CREATED);
}

static void on_remote_set(GstPromise *promise, gpointer data)
{
	on_promise(promise, data, EVENT_REMOTE_SET);
}

static void on_channel_open(GstWebRTCDataChannel *channel, gpointer data)
{
	post(data, EVENT_CHANNEL_OPEN, NULL);
}

static void on_channel_close(GstWebRTCDataChannel *channel, gpointer data)
{
	struct peer_event *event = g_new0(struct peer_event, 1);

	event->text = g_strdup("the data channel closed");
	post(data, EVENT_CHANNEL_CLOSED, event);
}

static void on_channel_error(GstWebRTCDataChannel *channel, GError *error, gpointer data)
{
	struct peer_event *event = g_new0(struct peer_event, 1);

	event->text = g_strdup_printf("data channel error: %s", error ? error->message : "?");
	post(data, EVENT_CHANNEL_CLOSED, event);
}

static void on_channel_string(GstWebRTCDataChannel *channel, gchar *text, gpointer data)
{
	struct peer_shared *shared = data;
	struct peer_event *event;
	size_t size = text ? strlen(text) : 0;

	/* A flood must not pile up here faster than the main loop drains it. */
	if (g_atomic_int_get(&shared->pending_messages) >= PENDING_MESSAGES_MAX) {
		g_atomic_int_inc(&shared->dropped_messages);
		return;
	}
	/*
	 * Anything over GB_INPUT_MESSAGE_MAX is dropped (and counted) by
	 * gb_input_viewer_handle() on its size alone: hand it one byte over
	 * the limit instead of copying up to 256 KiB.
	 */
	if (size > GB_INPUT_MESSAGE_MAX + 1)
		size = GB_INPUT_MESSAGE_MAX + 1;
	event = g_new0(struct peer_event, 1);
	event->text = g_strndup(text ? text : "", size);
	event->size = size;
	g_atomic_int_inc(&shared->pending_messages);
	post(shared, EVENT_CHANNEL_MESSAGE, event);
}

/* The protocol is JSON text: binary messages are dropped and counted. */
static void on_channel_data(GstWebRTCDataChannel *channel, GBytes *bytes, gpointer data)
{
	struct peer_shared *shared = data;

	g_atomic_int_inc(&shared->dropped_messages);
}

static void closure_unref_shared(gpointer data, GClosure *closure)
{
	peer_shared_unref(data);
}

static gulong connect_shared(gpointer instance, const char *signal, GCallback callback,
                             struct peer_shared *shared)
{
	return g_signal_connect_data(instance, signal, callback, peer_shared_ref(shared),
	                             closure_unref_shared, 0);
}

/* --- building the branch ------------------------------------------------------------------ */

static GstCaps *codec_preferences(struct gb_peer *peer, uint32_t codec)
{
	GstCaps *caps;

	if (codec == GB_CODEC_H264)
		/*
		 * No profile-level-id: x264 says 42c015 in its stream, the
		 * browser answers 42e01f and decodes it; pinning one here would
		 * fail against the payloader's caps.
		 */
		caps = gst_caps_new_simple("application/x-rtp", "media", G_TYPE_STRING, "video",
		                           "encoding-name", G_TYPE_STRING, "H264", "payload",
		                           G_TYPE_INT, PAYLOAD_TYPE, "clock-rate", G_TYPE_INT,
		                           90000, "packetization-mode", G_TYPE_STRING, "1", NULL);
	else
		caps = gst_caps_new_simple("application/x-rtp", "media", G_TYPE_STRING, "video",
		                           "encoding-name", G_TYPE_STRING, gb_codec_name(codec),
		                           "payload", G_TYPE_INT, PAYLOAD_TYPE, "clock-rate",
		                           G_TYPE_INT, 90000, NULL);
	if (caps && peer->session->config->webrtc.playout_delay)
		gst_caps_set_simple(caps, "extmap-" G_STRINGIFY(PLAYOUT_DELAY_ID), G_TYPE_STRING,
		                    GB_RTP_PLAYOUT_DELAY_URI, NULL);
	return caps;
}

static GstElement *make_payloader(struct gb_peer *peer, uint32_t codec)
{
	GstElement *payloader;

	switch (codec) {
	case GB_CODEC_H264:
		payloader = gst_element_factory_make("rtph264pay", NULL);
		/* SPS/PPS before every IDR, and each access unit sent at once. */
		if (payloader)
			gst_util_set_object_arg(G_OBJECT(payloader), "aggregate-mode",
			                        "zero-latency");
		if (payloader)
			g_object_set(payloader, "config-interval", -1, NULL);
		break;
	case GB_CODEC_VP8:
		payloader = gst_element_factory_make("rtpvp8pay", NULL);
		if (payloader)
			gst_util_set_object_arg(G_OBJECT(payloader), "picture-id-mode", "15-bit");
		break;
	case GB_CODEC_VP9:
		payloader = gst_element_factory_make("rtpvp9pay", NULL);
		break;
	default:
		payloader = NULL;
		break;
	}
	if (!payloader)
		return NULL;
	g_object_set(payloader, "pt", PAYLOAD_TYPE, "mtu", RTP_MTU, NULL);
	if (peer->session->config->webrtc.playout_delay) {
		GstRTPHeaderExtension *ext = gb_rtp_playout_delay_new(PLAYOUT_DELAY_ID);

		g_signal_emit_by_name(payloader, "add-extension", ext);
		gst_object_unref(ext);
	}
	return payloader;
}

static void configure_ice(struct gb_peer *peer, GstElement *webrtcbin)
{
	const struct gb_webrtc_config *config = &peer->session->config->webrtc;
	GstObject *ice = NULL;

	if (config->stun_server && config->stun_server[0])
		g_object_set(webrtcbin, "stun-server", config->stun_server, NULL);
	for (char **turn = config->turn_servers; turn && *turn; turn++) {
		gboolean added = FALSE;

		g_signal_emit_by_name(webrtcbin, "add-turn-server", *turn, &added);
		if (!added)
			gb_warning("viewer %llu: webrtcbin refused a TURN server from "
			           "webrtc.turn_servers",
			           (unsigned long long)peer->id);
	}
	/*
	 * libnice skips loopback and may pick interfaces the operator does not
	 * want: with webrtc.ice_addresses set, only those are gathered.
	 */
	g_object_get(webrtcbin, "ice-agent", &ice, NULL);
	for (char **address = config->ice_addresses; ice && address && *address; address++) {
		gboolean added = FALSE;

		g_signal_emit_by_name(ice, "add-local-ip-address", *address, &added);
		if (!added)
			gb_warning(
			        "viewer %llu: ICE cannot use address '%s' (webrtc.ice_addresses)",
			        (unsigned long long)peer->id, *address);
	}
	if (ice)
		gst_object_unref(ice);
}

static int create_channel(struct gb_peer *peer, struct gb_branch *branch)
{
	GstStructure *options =
	        gst_structure_new("options", "ordered", G_TYPE_BOOLEAN, TRUE, NULL);
	GstWebRTCDataChannel *channel = NULL;

	g_signal_emit_by_name(branch->webrtcbin, "create-data-channel", "input", options,
	                      &channel);
	gst_structure_free(options);
	if (!channel)
		return -EIO;
	branch->channel = channel;
	branch->channel_handlers[0] =
	        connect_shared(channel, "on-open", G_CALLBACK(on_channel_open), peer->shared);
	branch->channel_handlers[1] =
	        connect_shared(channel, "on-close", G_CALLBACK(on_channel_close), peer->shared);
	branch->channel_handlers[2] =
	        connect_shared(channel, "on-error", G_CALLBACK(on_channel_error), peer->shared);
	branch->channel_handlers[3] = connect_shared(channel, "on-message-string",
	                                             G_CALLBACK(on_channel_string), peer->shared);
	branch->channel_handlers[4] = connect_shared(channel, "on-message-data",
	                                             G_CALLBACK(on_channel_data), peer->shared);
	return 0;
}

/* The branch's elements, set up and watched, not yet in the pipeline. */
static int make_elements(struct gb_peer *peer, struct gb_branch *branch, uint32_t codec,
                         char *error, size_t error_size)
{
	char name[64];

	snprintf(name, sizeof(name), "viewer%llu", (unsigned long long)peer->id);
	branch->queue = gst_element_factory_make("queue", NULL);
	branch->payloader = make_payloader(peer, codec);
	branch->webrtcbin = gst_element_factory_make("webrtcbin", name);
	if (!branch->queue || !branch->payloader || !branch->webrtcbin) {
		gb_error_set(error, error_size,
		             "cannot make the %s elements (queue, payloader, webrtcbin): "
		             "GStreamer plugins missing",
		             gb_codec_name(codec));
		gst_clear_object(&branch->queue);
		gst_clear_object(&branch->payloader);
		gst_clear_object(&branch->webrtcbin);
		return -ENOENT;
	}
	gb_stream_watch_branch(peer->stream, branch);
	/*
	 * Small and leaky: a viewer that cannot keep up loses frames (and asks
	 * for a keyframe) instead of stalling the encoder for everybody.
	 */
	gst_util_set_object_arg(G_OBJECT(branch->queue), "leaky", "downstream");
	g_object_set(branch->queue, "max-size-buffers", 8, "max-size-bytes", 0, "max-size-time",
	             (guint64)0, NULL);

	gst_util_set_object_arg(G_OBJECT(branch->webrtcbin), "bundle-policy", "max-bundle");
	configure_ice(peer, branch->webrtcbin);
	connect_shared(branch->webrtcbin, "on-negotiation-needed",
	               G_CALLBACK(on_negotiation_needed), peer->shared);
	connect_shared(branch->webrtcbin, "on-ice-candidate", G_CALLBACK(on_ice_candidate),
	               peer->shared);
	connect_shared(branch->webrtcbin, "notify::connection-state",
	               G_CALLBACK(on_connection_state), peer->shared);
	return 0;
}

/* Add the elements to @pipeline and link queue -> payloader -> webrtcbin (sendonly @codec). */
static int link_elements(struct gb_peer *peer, struct gb_branch *branch, GstElement *pipeline,
                         uint32_t codec, char *error, size_t error_size)
{
	GstWebRTCRTPTransceiver *transceiver = NULL;
	GstPad *sink = NULL, *source = NULL;
	GstCaps *caps = NULL;
	int r = -EIO;

	/* The pipeline owns them from here; we keep references until teardown. */
	gst_object_ref(branch->queue);
	gst_object_ref(branch->payloader);
	gst_object_ref(branch->webrtcbin);
	gst_bin_add_many(GST_BIN(pipeline), branch->queue, branch->payloader, branch->webrtcbin,
	                 NULL);
	if (!gst_element_link(branch->queue, branch->payloader)) {
		gb_error_set(error, error_size, "cannot link the queue to the payloader");
		goto out;
	}
	sink = gst_element_request_pad_simple(branch->webrtcbin, "sink_%u");
	if (!sink) {
		gb_error_set(error, error_size,
		             "webrtcbin gives no sink pad (libnice or DTLS missing?)");
		goto out;
	}
	g_object_get(sink, "transceiver", &transceiver, NULL);
	caps = codec_preferences(peer, codec);
	if (!transceiver || !caps) {
		gb_error_set(error, error_size, "webrtcbin gives no transceiver");
		goto out;
	}
	g_object_set(transceiver, "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY,
	             "codec-preferences", caps, NULL);
	source = gst_element_get_static_pad(branch->payloader, "src");
	if (!source || gst_pad_link(source, sink) != GST_PAD_LINK_OK) {
		gb_error_set(error, error_size, "cannot link the payloader to webrtcbin");
		goto out;
	}
	r = 0;
out:
	if (caps)
		gst_caps_unref(caps);
	if (transceiver)
		gst_object_unref(transceiver);
	if (source)
		gst_object_unref(source);
	if (sink)
		gst_object_unref(sink);
	return r;
}

/* Build queue -> payloader -> webrtcbin in the pipeline and start it; the tee comes last. */
static int build_branch(struct gb_peer *peer, char *error, size_t error_size)
{
	uint32_t codec = gb_stream_codec(peer->stream);
	struct gb_branch *branch;
	int r;

	branch = gb_stream_branch_new(peer->stream, &branch_events, peer);
	if (!branch) {
		gb_error_set(error, error_size, "out of memory");
		return -ENOMEM;
	}
	peer->branch = branch;

	r = make_elements(peer, branch, codec, error, error_size);
	if (r < 0)
		return r;
	r = link_elements(peer, branch, gb_stream_pipeline(peer->stream), codec, error,
	                  error_size);
	if (r < 0)
		return r;
	/* Downstream first, so that nothing flows into an element not yet playing. */
	if (!gst_element_sync_state_with_parent(branch->webrtcbin) ||
	    !gst_element_sync_state_with_parent(branch->payloader) ||
	    !gst_element_sync_state_with_parent(branch->queue)) {
		gb_error_set(error, error_size, "cannot start the viewer's elements");
		return -EIO;
	}
	/* Before the offer, so that it carries the data channel's m-line. */
	if (create_channel(peer, branch) < 0) {
		gb_error_set(error, error_size, "cannot create the data channel");
		return -EIO;
	}
	r = gb_stream_attach_branch(peer->stream, branch);
	if (r < 0)
		gb_error_set(error, error_size, "cannot attach to the encoder's tee");
	return r;
}

/* --- messages from the browser --------------------------------------------------------- */

static bool member_int(JsonObject *object, const char *name, int64_t min, int64_t max,
                       int64_t *value)
{
	JsonNode *node = json_object_get_member(object, name);

	if (!node || json_node_get_value_type(node) != G_TYPE_INT64)
		return false;
	*value = json_node_get_int(node);
	return *value >= min && *value <= max;
}

static const char *member_string(JsonObject *object, const char *name)
{
	JsonNode *node = json_object_get_member(object, name);

	if (!node || json_node_get_value_type(node) != G_TYPE_STRING)
		return NULL;
	return json_node_get_string(node);
}

static void handle_hello(struct gb_peer *peer, JsonObject *message)
{
	JsonNode *codecs_node = json_object_get_member(message, "codecs");
	uint32_t codecs = 0;
	int64_t width, height;
	char error[512];
	int r;

	if (peer->hello_seen) {
		gb_debug("viewer %llu: second hello ignored", (unsigned long long)peer->id);
		return;
	}
	peer->hello_seen = true;
	peer->hello_ms = gb_session_elapsed_ms(peer->session);

	if (codecs_node && JSON_NODE_HOLDS_ARRAY(codecs_node)) {
		JsonArray *array = json_node_get_array(codecs_node);
		guint n = json_array_get_length(array);

		for (guint i = 0; i < n && i < HELLO_CODECS_MAX; i++) {
			JsonNode *item = json_array_get_element(array, i);

			if (json_node_get_value_type(item) == G_TYPE_STRING)
				codecs |= GB_CODEC_BIT(
				        gb_codec_from_name(json_node_get_string(item)));
		}
		codecs &= ~GB_CODEC_BIT(0); /* unknown names */
	}

	if (member_int(message, "width", 1, GB_INPUT_RESIZE_MAX, &width) &&
	    member_int(message, "height", 1, GB_INPUT_RESIZE_MAX, &height)) {
		r = gb_output_resize(peer->session, (int)width, (int)height);
		if (r < 0)
			gb_warning("viewer %llu: cannot resize to %lldx%lld: %s",
			           (unsigned long long)peer->id, (long long)width,
			           (long long)height, strerror(-r));
	}

	r = gb_stream_prepare(peer->stream, codecs, error, sizeof(error));
	if (r < 0) {
		peer_close(peer, error);
		return;
	}
	r = build_branch(peer, error, sizeof(error));
	if (r < 0) {
		gb_warning("viewer %llu: %s", (unsigned long long)peer->id, error);
		peer_close(peer, "cannot start the stream for this viewer");
	}
}

static void handle_answer(struct gb_peer *peer, JsonObject *message)
{
	const char *text = member_string(message, "sdp");
	GstWebRTCSessionDescription *answer;
	GstSDPMessage *sdp = NULL;
	GstPromise *promise;

	if (!peer->offer_sent || peer->answer_seen) {
		gb_debug("viewer %llu: unexpected answer ignored", (unsigned long long)peer->id);
		return;
	}
	if (!text || gst_sdp_message_new_from_text(text, &sdp) != GST_SDP_OK) {
		peer_close(peer, "the answer is not SDP");
		return;
	}
	peer->answer_seen = true;
	answer = gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_ANSWER, sdp);
	promise = gst_promise_new_with_change_func(on_remote_set, peer_shared_ref(peer->shared),
	                                           peer_shared_unref);
	g_signal_emit_by_name(peer->branch->webrtcbin, "set-remote-description", answer, promise);
	gst_promise_unref(promise);
	gst_webrtc_session_description_free(answer);
}

static void handle_ice(struct gb_peer *peer, JsonObject *message)
{
	const char *candidate = member_string(message, "candidate");
	int64_t mline;

	if (!peer->branch || !candidate ||
	    !member_int(message, "sdpMLineIndex", 0, MLINE_MAX, &mline)) {
		gb_debug("viewer %llu: malformed or early ice message ignored",
		         (unsigned long long)peer->id);
		return;
	}
	if (candidate[0] == '\0')
		return; /* the end of the browser's candidates; webrtcbin needs no marker */
	if (++peer->remote_candidates > REMOTE_CANDIDATES_MAX) {
		if (peer->remote_candidates == REMOTE_CANDIDATES_MAX + 1)
			gb_warning("viewer %llu: more than %d ICE candidates; ignoring the rest",
			           (unsigned long long)peer->id, REMOTE_CANDIDATES_MAX);
		return;
	}
	if (strlen(candidate) > CANDIDATE_MAX) {
		gb_debug("viewer %llu: over-long candidate ignored", (unsigned long long)peer->id);
		return;
	}
	if (strncmp(candidate, "a=", 2) == 0)
		candidate += 2;
	g_signal_emit_by_name(peer->branch->webrtcbin, "add-ice-candidate", (guint)mline,
	                      candidate);
}

void gb_peer_handle_message(struct gb_peer *peer, JsonObject *message)
{
	const char *type = member_string(message, "type");

	if (peer->closing || !type)
		return;
	if (strcmp(type, "hello") == 0)
		handle_hello(peer, message);
	else if (!peer->hello_seen)
		peer_close(peer, "the first message must be hello");
	else if (strcmp(type, "answer") == 0)
		handle_answer(peer, message);
	else if (strcmp(type, "ice") == 0)
		handle_ice(peer, message);
	else
		gb_debug("viewer %llu: message type '%.32s' ignored", (unsigned long long)peer->id,
		         type);
}

/* --- events from GStreamer, on the main loop ------------------------------------------ */

static void create_offer(struct gb_peer *peer)
{
	GstPromise *promise;

	if (peer->offer_requested) {
		gb_debug("viewer %llu: renegotiation not supported; ignored",
		         (unsigned long long)peer->id);
		return;
	}
	peer->offer_requested = true;
	peer->negotiation_ms = gb_session_elapsed_ms(peer->session);
	promise = gst_promise_new_with_change_func(on_offer_created, peer_shared_ref(peer->shared),
	                                           peer_shared_unref);
	g_signal_emit_by_name(peer->branch->webrtcbin, "create-offer", NULL, promise);
	gst_promise_unref(promise);
}

/*
 * Whether webrtcbin did what @promise was for, logging why not. Success
 * may come without a reply (set-*-description): the reply goes to @reply.
 * The promise is done: this never blocks.
 */
static bool promise_succeeded(struct gb_peer *peer, GstPromise *promise, const char *what,
                              const GstStructure **reply)
{
	const GstStructure *structure;
	GError *error = NULL;

	if (gst_promise_wait(promise) != GST_PROMISE_RESULT_REPLIED) {
		gb_warning("viewer %llu: %s: no answer from webrtcbin",
		           (unsigned long long)peer->id, what);
		return false;
	}
	structure = gst_promise_get_reply(promise);
	if (structure && gst_structure_has_field(structure, "error")) {
		gst_structure_get(structure, "error", G_TYPE_ERROR, &error, NULL);
		gb_warning("viewer %llu: %s: %s", (unsigned long long)peer->id, what,
		           error ? error->message : "failed");
		g_clear_error(&error);
		return false;
	}
	if (reply)
		*reply = structure;
	return true;
}

static void offer_created(struct gb_peer *peer, GstPromise *promise)
{
	const GstStructure *reply = NULL;
	GstWebRTCSessionDescription *offer = NULL;
	JsonBuilder *builder;
	gchar *text;

	if (!promise_succeeded(peer, promise, "create-offer", &reply) || !reply ||
	    !gst_structure_get(reply, "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &offer,
	                       NULL) ||
	    !offer) {
		peer_close(peer, "cannot make an offer");
		return;
	}
	g_signal_emit_by_name(peer->branch->webrtcbin, "set-local-description", offer, NULL);
	text = gst_sdp_message_as_text(offer->sdp);
	gst_webrtc_session_description_free(offer);
	if (!text) {
		peer_close(peer, "cannot make an offer");
		return;
	}
	builder = json_builder_new();
	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "type");
	json_builder_add_string_value(builder, "offer");
	json_builder_set_member_name(builder, "sdp");
	json_builder_add_string_value(builder, text);
	json_builder_end_object(builder);
	peer_send(peer, builder);
	g_object_unref(builder);
	g_free(text);

	peer->offer_sent = true;
	peer->offer_ms = gb_session_elapsed_ms(peer->session);
	gb_info("viewer %llu: offer sent %.1f ms after hello (create-offer took %.1f ms)",
	        (unsigned long long)peer->id, peer->offer_ms - peer->hello_ms,
	        peer->offer_ms - peer->negotiation_ms);
	peer_send_info(peer);
}

static void send_candidate(struct gb_peer *peer, guint mline, const char *candidate)
{
	JsonBuilder *builder;

	if (!peer->offer_sent)
		return; /* cannot happen: candidates follow set-local-description */
	builder = json_builder_new();
	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "type");
	json_builder_add_string_value(builder, "ice");
	json_builder_set_member_name(builder, "candidate");
	json_builder_add_string_value(builder, candidate);
	json_builder_set_member_name(builder, "sdpMLineIndex");
	json_builder_add_int_value(builder, mline);
	json_builder_end_object(builder);
	peer_send(peer, builder);
	g_object_unref(builder);
}

static void connection_state(struct gb_peer *peer, GstWebRTCPeerConnectionState state)
{
	switch (state) {
	case GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED:
		if (peer->connected)
			return;
		peer->connected = true;
		peer->connected_ms = gb_session_elapsed_ms(peer->session);
		gb_info("viewer %llu: connected %.1f ms after hello", (unsigned long long)peer->id,
		        peer->connected_ms - peer->hello_ms);
		/* Now frames reach the browser: let them through, starting with a keyframe. */
		gb_stream_open_branch(peer->branch);
		gb_stream_request_keyframe(peer->stream);
		gb_stream_refresh(peer->stream);
		break;
	case GST_WEBRTC_PEER_CONNECTION_STATE_FAILED:
		peer_close(peer, "the WebRTC connection failed");
		break;
	case GST_WEBRTC_PEER_CONNECTION_STATE_CLOSED:
		peer_close(peer, "the WebRTC connection closed");
		break;
	case GST_WEBRTC_PEER_CONNECTION_STATE_DISCONNECTED:
		gb_info("viewer %llu: WebRTC connection interrupted",
		        (unsigned long long)peer->id);
		break;
	default:
		break;
	}
}

static void channel_message(struct gb_peer *peer, struct peer_event *event)
{
	int r;

	g_atomic_int_add(&peer->shared->pending_messages, -1);
	r = gb_input_viewer_handle(peer->input, event->text, event->size);
	if (r < 0) {
		peer->messages_dropped++;
		gb_debug("viewer %llu: input message dropped: %s", (unsigned long long)peer->id,
		         gb_input_message_strerror(r));
	} else {
		peer->messages_applied++;
	}
}

/* Messages dropped on GStreamer's threads count with those B2's code drops. */
static void collect_dropped(struct gb_peer *peer)
{
	gint dropped = g_atomic_int_exchange(&peer->shared->dropped_messages, 0);

	if (dropped > 0) {
		peer->session->input_dropped += (uint64_t)dropped;
		peer->messages_dropped += (uint64_t)dropped;
	}
}

static void handle_event(struct gb_peer *peer, struct peer_event *event)
{
	collect_dropped(peer);
	if (event->type == EVENT_CHANNEL_MESSAGE) {
		if (peer->closing)
			g_atomic_int_add(&peer->shared->pending_messages, -1);
		else
			channel_message(peer, event);
		return;
	}
	if (peer->closing)
		return;

	switch (event->type) {
	case EVENT_NEGOTIATION_NEEDED:
		create_offer(peer);
		break;
	case EVENT_OFFER_CREATED:
		offer_created(peer, event->promise);
		break;
	case EVENT_REMOTE_SET:
		if (!promise_succeeded(peer, event->promise, "set-remote-description", NULL))
			peer_close(peer, "the answer was refused");
		break;
	case EVENT_ICE_CANDIDATE:
		send_candidate(peer, event->mline, event->text);
		break;
	case EVENT_CONNECTION_STATE:
		connection_state(peer, (GstWebRTCPeerConnectionState)event->state);
		break;
	case EVENT_CHANNEL_OPEN:
		peer->channel_open = true;
		gb_info("viewer %llu: data channel open", (unsigned long long)peer->id);
		break;
	case EVENT_CHANNEL_CLOSED:
		peer_close(peer, event->text);
		break;
	case EVENT_CHANNEL_MESSAGE:
		break;
	}
}

/* --- what the stream tells us ------------------------------------------------------------ */

static void stream_failed(void *data)
{
	peer_close(data, "the stream failed");
}

/* The output changed size: tell the browser. */
static void stream_resized(void *data)
{
	peer_send_info(data);
}

static const struct gb_stream_events stream_events = {
	.failed = stream_failed,
	.resized = stream_resized,
};

static void branch_error(void *data, const char *what)
{
	struct gb_peer *peer = data;

	gb_warning("viewer %llu: %s", (unsigned long long)peer->id, what);
	peer_close(peer, "WebRTC error");
}

/* Our queue overran: we lost frames, a keyframe resynchronises the browser. */
static void branch_overrun(void *data)
{
	struct gb_peer *peer = data;

	collect_dropped(peer);
	if (!peer->closing)
		gb_stream_request_keyframe(peer->stream);
}

static const struct gb_branch_events branch_events = {
	.error = branch_error,
	.overrun = branch_overrun,
};

/* --- life cycle ---------------------------------------------------------------------------- */

struct gb_peer *gb_peer_create(struct gb_stream *stream, struct gb_handoff *handoff, uint64_t id,
                               const struct gb_peer_events *events, void *data)
{
	struct gb_peer *peer;

	peer = calloc(1, sizeof(*peer));
	if (!peer)
		return NULL;
	peer->stream = stream;
	peer->session = gb_stream_session(stream);
	peer->events = events;
	peer->data = data;
	peer->id = id;
	peer->created_ms = gb_session_elapsed_ms(peer->session);
	peer->shared = g_try_new0(struct peer_shared, 1);
	if (peer->shared) {
		g_atomic_ref_count_init(&peer->shared->refs);
		peer->shared->handoff = handoff;
	}
	peer->input = gb_input_viewer_create(peer->session);
	if (!peer->shared || !peer->input) {
		gb_input_viewer_destroy(peer->input);
		peer_shared_unref(peer->shared);
		free(peer);
		errno = ENOMEM;
		return NULL;
	}
	peer->shared->peer = peer;
	gb_stream_add_listener(stream, &peer->stream_listener, &stream_events, peer);
	return peer;
}

void gb_peer_destroy(struct gb_peer *peer)
{
	double now, p50, p95;
	gint frames;

	if (!peer)
		return;
	/* First the keys: whatever happens below, nothing stays pressed. */
	gb_input_viewer_destroy(peer->input);
	peer->input = NULL;
	collect_dropped(peer);

	now = gb_session_elapsed_ms(peer->session);
	frames = 0;
	p50 = p95 = -1;
	if (peer->branch) {
		struct gb_latency *latency = gb_latency_probe_latency(peer->branch->latency);

		frames = gb_latency_probe_frames(peer->branch->latency);
		p50 = gb_latency_percentile_ms(latency, 0.5);
		p95 = gb_latency_percentile_ms(latency, 0.95);
	}
	gb_info("viewer %llu left after %.1f s: %d frames sent, latency p50 %.2f ms p95 %.2f ms "
	        "(capture to network), codec %s, input %llu applied %llu dropped",
	        (unsigned long long)peer->id, (now - peer->created_ms) / 1000.0, frames, p50, p95,
	        peer->branch ? gb_codec_name(gb_stream_codec(peer->stream)) : "none",
	        (unsigned long long)peer->messages_applied,
	        (unsigned long long)peer->messages_dropped);

	peer->shared->peer = NULL;
	gb_stream_remove_listener(peer->stream, &peer->stream_listener);
	if (peer->branch)
		gb_stream_detach_branch(peer->stream, peer->branch);
	peer_shared_unref(peer->shared);
	free(peer);
}
