/*
 * glassbox-test-viewer - a WebRTC viewer for the integration tests.
 *
 * It connects to a session's signal socket (--signal-socket), says hello,
 * answers the session's offer with its own webrtcbin (ICE on the given
 * addresses only), decodes the video and prints what it sees, one line per
 * event on stdout. Lines read from stdin go out on the data channel "input",
 * so that a test can type and click. The line formats are a contract with
 * tests/integration (gbstream.py): change them only together.
 *
 *   connected                         hello sent
 *   offer codec=H264 playout-delay=yes t=MS
 *   info codec=H264 encoder=x264 width=640 height=480 fallback=TEXT|-
 *   state connected|failed|... t=MS  the peer connection's state
 *   datachannel open|closed
 *   keyframe N                        the Nth keyframe reached the decoder
 *   rtp playout-delay min=A max=B     the extension, in 10 ms units, in the first packet
 *   frame N WxH rgb=RRGGBB t=MS       a decoded frame: the probed pixel, ms since start
 *   error MESSAGE                     the session refused us (exit 4)
 *   closed                            the session closed the connection
 *   timeout                           --timeout-ms passed
 *
 * Lines on stdin starting with '!' are commands: "!keyframe" asks the
 * session for a keyframe (a PLI, as a browser sends on loss), "!exit"
 * leaves with status 0.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#define GST_USE_UNSTABLE_API

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gst/app/gstappsink.h>
#include <gst/rtp/rtp.h>
#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#include <gst/video/video.h>
#include <gst/webrtc/webrtc.h>
#include <json-glib/json-glib.h>

#define PROGRAM_NAME "glassbox-test-viewer"

#define EXIT_TIMEOUT 3
#define EXIT_REFUSED 4
#define EXIT_CLOSED  5

#define LINE_MAX_BYTES (64 * 1024)
#define PENDING_MAX    1024
#define PLAYOUT_DELAY  "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay"

struct options {
	const char *socket_path;
	const char *codecs;
	const char *ice_address;
	int width, height;    /* 0: not in hello */
	int probe_x, probe_y; /* -1: the centre */
	unsigned frames;      /* exit 0 after this many; 0: never */
	unsigned timeout_ms;
};

struct viewer {
	struct options options;
	GMainLoop *loop;
	gboolean quitting; /* the first reason to leave sets the exit status */
	int exit_code;
	gint64 start_us;

	int fd;
	GIOChannel *socket_channel;
	GMutex write_lock;
	GString *input;

	GstElement *pipeline;
	GstElement *webrtcbin;
	GstWebRTCDataChannel *channel;
	gboolean channel_open;
	GQueue pending; /* stdin lines before the channel opened */
	GMutex channel_lock;

	GstPad *video_sink_pad; /* appsink's, for keyframe requests */
	guint playout_delay_id; /* the offer's extmap id for it; 0: none */
	gint playout_delay_seen;
	guint frames_seen;
	guint keyframes_seen;
};

static GMutex print_lock;

static void say(const char *format, ...) G_GNUC_PRINTF(1, 2);

static void say(const char *format, ...)
{
	va_list args;

	g_mutex_lock(&print_lock);
	va_start(args, format);
	vprintf(format, args);
	va_end(args);
	putchar('\n');
	fflush(stdout);
	g_mutex_unlock(&print_lock);
}

static double elapsed_ms(struct viewer *viewer)
{
	return (double)(g_get_monotonic_time() - viewer->start_us) / 1000.0;
}

struct quit_request {
	struct viewer *viewer;
	int code;
};

static gboolean quit_now(gpointer data)
{
	struct quit_request *request = data;

	if (!request->viewer->quitting) {
		request->viewer->quitting = TRUE;
		request->viewer->exit_code = request->code;
	}
	g_main_loop_quit(request->viewer->loop);
	return G_SOURCE_REMOVE;
}

/* Any thread: leave the main loop with @code (the first request wins). */
static void quit(struct viewer *viewer, int code)
{
	struct quit_request *request = g_new0(struct quit_request, 1);

	request->viewer = viewer;
	request->code = code;
	g_main_context_invoke_full(NULL, G_PRIORITY_HIGH, quit_now, request, g_free);
}

/* --- signalling ------------------------------------------------------------------------ */

static void send_node(struct viewer *viewer, JsonNode *node)
{
	char *text = json_to_string(node, FALSE);
	size_t length = strlen(text), done = 0;

	g_mutex_lock(&viewer->write_lock);
	while (done < length + 1) {
		const char *data = done < length ? text + done : "\n";
		size_t left = done < length ? length - done : 1;
		ssize_t n = send(viewer->fd, data, left, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	g_mutex_unlock(&viewer->write_lock);
	g_free(text);
}

static void send_builder(struct viewer *viewer, JsonBuilder *builder)
{
	JsonNode *node = json_builder_get_root(builder);

	send_node(viewer, node);
	json_node_unref(node);
	g_object_unref(builder);
}

static JsonBuilder *message_begin(const char *type)
{
	JsonBuilder *builder = json_builder_new();

	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "type");
	json_builder_add_string_value(builder, type);
	return builder;
}

static void send_hello(struct viewer *viewer)
{
	JsonBuilder *builder = message_begin("hello");
	char **codecs = g_strsplit(viewer->options.codecs, ",", -1);

	json_builder_set_member_name(builder, "codecs");
	json_builder_begin_array(builder);
	for (char **codec = codecs; *codec; codec++)
		if (**codec)
			json_builder_add_string_value(builder, *codec);
	json_builder_end_array(builder);
	g_strfreev(codecs);
	if (viewer->options.width > 0 && viewer->options.height > 0) {
		json_builder_set_member_name(builder, "width");
		json_builder_add_int_value(builder, viewer->options.width);
		json_builder_set_member_name(builder, "height");
		json_builder_add_int_value(builder, viewer->options.height);
	}
	json_builder_end_object(builder);
	send_builder(viewer, builder);
}

static void on_ice_candidate(GstElement *webrtcbin, guint mline, gchar *candidate, gpointer data)
{
	JsonBuilder *builder = message_begin("ice");

	json_builder_set_member_name(builder, "candidate");
	json_builder_add_string_value(builder, candidate);
	json_builder_set_member_name(builder, "sdpMLineIndex");
	json_builder_add_int_value(builder, mline);
	json_builder_end_object(builder);
	send_builder(data, builder);
}

/* --- video ----------------------------------------------------------------------------------- */

static GstFlowReturn on_sample(GstAppSink *sink, gpointer data)
{
	struct viewer *viewer = data;
	GstSample *sample = gst_app_sink_pull_sample(sink);
	GstVideoInfo info;
	GstVideoFrame frame;
	int x, y;

	if (!sample)
		return GST_FLOW_EOS;
	if (!gst_video_info_from_caps(&info, gst_sample_get_caps(sample)) ||
	    !gst_video_frame_map(&frame, &info, gst_sample_get_buffer(sample), GST_MAP_READ)) {
		gst_sample_unref(sample);
		return GST_FLOW_OK;
	}
	x = viewer->options.probe_x >= 0 ? viewer->options.probe_x : info.width / 2;
	y = viewer->options.probe_y >= 0 ? viewer->options.probe_y : info.height / 2;
	x = CLAMP(x, 0, info.width - 1);
	y = CLAMP(y, 0, info.height - 1);
	{
		const guint8 *pixel = (const guint8 *)GST_VIDEO_FRAME_PLANE_DATA(&frame, 0) +
		                      (gsize)y * GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0) +
		                      (gsize)x * 3;

		viewer->frames_seen++;
		say("frame %u %dx%d rgb=%02x%02x%02x t=%.1f", viewer->frames_seen, info.width,
		    info.height, pixel[0], pixel[1], pixel[2], elapsed_ms(viewer));
	}
	gst_video_frame_unmap(&frame);
	gst_sample_unref(sample);
	if (viewer->options.frames && viewer->frames_seen == viewer->options.frames)
		quit(viewer, EXIT_SUCCESS);
	return GST_FLOW_OK;
}

static GstPadProbeReturn on_encoded_frame(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	struct viewer *viewer = data;
	GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER(info);

	if (buffer && !GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT))
		say("keyframe %u", ++viewer->keyframes_seen);
	return GST_PAD_PROBE_OK;
}

/* The first RTP packet carrying the playout-delay extension: what it asks for. */
static GstPadProbeReturn on_rtp_packet(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	struct viewer *viewer = data;
	GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER(info);
	GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
	gpointer extension;
	guint size;

	if (!buffer || !viewer->playout_delay_id ||
	    g_atomic_int_get(&viewer->playout_delay_seen) ||
	    !gst_rtp_buffer_map(buffer, GST_MAP_READ, &rtp))
		return GST_PAD_PROBE_OK;
	if (gst_rtp_buffer_get_extension_onebyte_header(&rtp, (guint8)viewer->playout_delay_id, 0,
	                                                &extension, &size) &&
	    size == 3 && g_atomic_int_compare_and_exchange(&viewer->playout_delay_seen, 0, 1)) {
		const guint8 *bytes = extension;

		say("rtp playout-delay min=%u max=%u", (bytes[0] << 4) | (bytes[1] >> 4),
		    ((bytes[1] & 0xf) << 8) | bytes[2]);
	}
	gst_rtp_buffer_unmap(&rtp);
	return GST_PAD_PROBE_OK;
}

/* webrtcbin's streaming thread: a new incoming stream; decode it. */
static void on_pad_added(GstElement *webrtcbin, GstPad *pad, gpointer data)
{
	struct viewer *viewer = data;
	const char *depay_name, *decoder_name;
	GstElement *depay, *decoder, *convert, *sink;
	GstCaps *caps, *rgb;
	const char *encoding;
	GstPad *sink_pad, *decoder_sink;

	if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC)
		return;
	caps = gst_pad_get_current_caps(pad);
	if (!caps)
		caps = gst_pad_query_caps(pad, NULL);
	encoding = gst_structure_get_string(gst_caps_get_structure(caps, 0), "encoding-name");
	if (g_strcmp0(encoding, "H264") == 0) {
		depay_name = "rtph264depay";
		decoder_name = "avdec_h264";
	} else if (g_strcmp0(encoding, "VP8") == 0) {
		depay_name = "rtpvp8depay";
		decoder_name = "vp8dec";
	} else {
		say("error unsupported encoding %s", encoding ? encoding : "?");
		gst_caps_unref(caps);
		quit(viewer, EXIT_FAILURE);
		return;
	}
	gst_caps_unref(caps);

	depay = gst_element_factory_make(depay_name, NULL);
	decoder = gst_element_factory_make(decoder_name, NULL);
	convert = gst_element_factory_make("videoconvert", NULL);
	sink = gst_element_factory_make("appsink", NULL);
	if (!depay || !decoder || !convert || !sink) {
		say("error missing GStreamer elements (%s, %s)", depay_name, decoder_name);
		quit(viewer, EXIT_FAILURE);
		return;
	}
	rgb = gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "RGB", NULL);
	g_object_set(sink, "caps", rgb, "sync", FALSE, "emit-signals", TRUE, "max-buffers", 4,
	             NULL);
	gst_caps_unref(rgb);
	g_signal_connect(sink, "new-sample", G_CALLBACK(on_sample), viewer);
	gst_bin_add_many(GST_BIN(viewer->pipeline), depay, decoder, convert, sink, NULL);
	if (!gst_element_link_many(depay, decoder, convert, sink, NULL)) {
		say("error cannot link the decoder");
		quit(viewer, EXIT_FAILURE);
		return;
	}
	decoder_sink = gst_element_get_static_pad(decoder, "sink");
	gst_pad_add_probe(decoder_sink, GST_PAD_PROBE_TYPE_BUFFER, on_encoded_frame, viewer, NULL);
	gst_object_unref(decoder_sink);
	viewer->video_sink_pad = gst_element_get_static_pad(sink, "sink");
	gst_element_sync_state_with_parent(sink);
	gst_element_sync_state_with_parent(convert);
	gst_element_sync_state_with_parent(decoder);
	gst_element_sync_state_with_parent(depay);
	sink_pad = gst_element_get_static_pad(depay, "sink");
	gst_pad_add_probe(sink_pad, GST_PAD_PROBE_TYPE_BUFFER, on_rtp_packet, viewer, NULL);
	if (gst_pad_link(pad, sink_pad) != GST_PAD_LINK_OK) {
		say("error cannot link webrtcbin to the depayloader");
		quit(viewer, EXIT_FAILURE);
	}
	gst_object_unref(sink_pad);
}

/* As a browser does on loss: the session should answer with a keyframe. */
static void request_keyframe(struct viewer *viewer)
{
	if (!viewer->video_sink_pad) {
		say("error no video yet");
		return;
	}
	gst_pad_push_event(viewer->video_sink_pad, gst_video_event_new_upstream_force_key_unit(
	                                                   GST_CLOCK_TIME_NONE, TRUE, 0));
}

/* --- data channel -----------------------------------------------------------------------------
 */

static void send_on_channel(struct viewer *viewer, const char *line)
{
	GError *error = NULL;

	if (!gst_webrtc_data_channel_send_string_full(viewer->channel, line, &error)) {
		say("error data channel: %s", error ? error->message : "?");
		g_clear_error(&error);
	}
}

static void on_channel_open(GstWebRTCDataChannel *channel, gpointer data)
{
	struct viewer *viewer = data;
	char *line;

	g_mutex_lock(&viewer->channel_lock);
	if (viewer->channel_open) { /* already open when we saw it, and then on-open */
		g_mutex_unlock(&viewer->channel_lock);
		return;
	}
	viewer->channel_open = TRUE;
	say("datachannel open");
	while ((line = g_queue_pop_head(&viewer->pending))) {
		send_on_channel(viewer, line);
		g_free(line);
	}
	g_mutex_unlock(&viewer->channel_lock);
}

static void on_channel_close(GstWebRTCDataChannel *channel, gpointer data)
{
	say("datachannel closed");
}

static void on_data_channel(GstElement *webrtcbin, GstWebRTCDataChannel *channel, gpointer data)
{
	struct viewer *viewer = data;
	gchar *label = NULL;
	GstWebRTCDataChannelState state;

	g_object_get(channel, "label", &label, "ready-state", &state, NULL);
	if (g_strcmp0(label, "input") != 0) {
		say("error unexpected data channel '%s'", label ? label : "");
		g_free(label);
		return;
	}
	g_free(label);
	g_mutex_lock(&viewer->channel_lock);
	viewer->channel = g_object_ref(channel);
	g_mutex_unlock(&viewer->channel_lock);
	g_signal_connect(channel, "on-open", G_CALLBACK(on_channel_open), viewer);
	g_signal_connect(channel, "on-close", G_CALLBACK(on_channel_close), viewer);
	if (state == GST_WEBRTC_DATA_CHANNEL_STATE_OPEN)
		on_channel_open(channel, viewer);
}

static gboolean on_stdin(GIOChannel *source, GIOCondition condition, gpointer data)
{
	struct viewer *viewer = data;
	gchar *line = NULL;
	gsize length = 0;
	GIOStatus status = g_io_channel_read_line(source, &line, &length, NULL, NULL);

	if (status == G_IO_STATUS_EOF || status == G_IO_STATUS_ERROR) {
		g_free(line);
		return G_SOURCE_REMOVE; /* keep running: the test ends us */
	}
	if (!line)
		return G_SOURCE_CONTINUE;
	g_strchomp(line);
	if (strcmp(line, "!exit") == 0) {
		quit(viewer, EXIT_SUCCESS);
	} else if (strcmp(line, "!keyframe") == 0) {
		request_keyframe(viewer);
	} else if (line[0]) {
		g_mutex_lock(&viewer->channel_lock);
		if (viewer->channel_open)
			send_on_channel(viewer, line);
		else if (g_queue_get_length(&viewer->pending) < PENDING_MAX)
			g_queue_push_tail(&viewer->pending, g_strdup(line));
		g_mutex_unlock(&viewer->channel_lock);
	}
	g_free(line);
	return G_SOURCE_CONTINUE;
}

/* --- the session's messages ------------------------------------------------------------------ */

static void on_connection_state(GObject *webrtcbin, GParamSpec *pspec, gpointer data)
{
	GstWebRTCPeerConnectionState state;
	GEnumClass *klass = g_type_class_ref(GST_TYPE_WEBRTC_PEER_CONNECTION_STATE);
	GEnumValue *value;

	g_object_get(webrtcbin, "connection-state", &state, NULL);
	value = g_enum_get_value(klass, state);
	say("state %s t=%.1f", value ? value->value_nick : "?", elapsed_ms(data));
	g_type_class_unref(klass);
}

static gboolean start_webrtc(struct viewer *viewer)
{
	GstObject *ice = NULL;
	gboolean added = FALSE;

	viewer->pipeline = gst_pipeline_new("viewer");
	viewer->webrtcbin = gst_element_factory_make("webrtcbin", "webrtcbin");
	if (!viewer->pipeline || !viewer->webrtcbin) {
		say("error no webrtcbin (gstreamer1.0-plugins-bad, gstreamer1.0-nice)");
		return FALSE;
	}
	gst_util_set_object_arg(G_OBJECT(viewer->webrtcbin), "bundle-policy", "max-bundle");
	g_object_set(viewer->webrtcbin, "latency", 0, NULL);
	g_object_get(viewer->webrtcbin, "ice-agent", &ice, NULL);
	if (ice) {
		g_signal_emit_by_name(ice, "add-local-ip-address", viewer->options.ice_address,
		                      &added);
		gst_object_unref(ice);
	}
	if (!added) {
		say("error ICE refuses address %s", viewer->options.ice_address);
		return FALSE;
	}
	g_signal_connect(viewer->webrtcbin, "on-ice-candidate", G_CALLBACK(on_ice_candidate),
	                 viewer);
	g_signal_connect(viewer->webrtcbin, "pad-added", G_CALLBACK(on_pad_added), viewer);
	g_signal_connect(viewer->webrtcbin, "on-data-channel", G_CALLBACK(on_data_channel),
	                 viewer);
	g_signal_connect(viewer->webrtcbin, "notify::connection-state",
	                 G_CALLBACK(on_connection_state), viewer);
	gst_bin_add(GST_BIN(viewer->pipeline), viewer->webrtcbin);
	if (gst_element_set_state(viewer->pipeline, GST_STATE_PLAYING) ==
	    GST_STATE_CHANGE_FAILURE) {
		say("error cannot start webrtcbin");
		return FALSE;
	}
	return TRUE;
}

/*
 * webrtcbin answers on its own thread; we wait. Success may come with no
 * reply at all (set-*-description), so the reply goes to @reply.
 */
static gboolean wait_promise(GstPromise *promise, const char *what, const GstStructure **reply)
{
	const GstStructure *structure;

	if (gst_promise_wait(promise) != GST_PROMISE_RESULT_REPLIED) {
		say("error %s: no reply", what);
		return FALSE;
	}
	structure = gst_promise_get_reply(promise);
	if (structure && gst_structure_has_field(structure, "error")) {
		GError *error = NULL;

		gst_structure_get(structure, "error", G_TYPE_ERROR, &error, NULL);
		say("error %s: %s", what, error ? error->message : "?");
		g_clear_error(&error);
		return FALSE;
	}
	if (reply)
		*reply = structure;
	return TRUE;
}

static void handle_offer(struct viewer *viewer, const char *text)
{
	GstWebRTCSessionDescription *offer, *answer = NULL;
	const GstStructure *reply = NULL;
	gboolean ok;
	GstSDPMessage *sdp = NULL;
	GstPromise *promise;
	const char *codec = "?";
	JsonBuilder *builder;
	char *answer_text;

	if (viewer->webrtcbin) {
		say("error second offer");
		return;
	}
	if (gst_sdp_message_new_from_text(text, &sdp) != GST_SDP_OK) {
		say("error offer is not SDP");
		quit(viewer, EXIT_FAILURE);
		return;
	}
	for (guint i = 0; i < gst_sdp_message_medias_len(sdp); i++) {
		const GstSDPMedia *media = gst_sdp_message_get_media(sdp, i);
		const char *rtpmap = gst_sdp_media_get_attribute_val(media, "rtpmap");

		if (g_strcmp0(gst_sdp_media_get_media(media), "video") == 0 && rtpmap)
			codec = strchr(rtpmap, ' ') ? strchr(rtpmap, ' ') + 1 : rtpmap;
	}
	for (guint i = 0; i < gst_sdp_message_medias_len(sdp); i++) {
		const GstSDPMedia *media = gst_sdp_message_get_media(sdp, i);

		for (guint j = 0; j < gst_sdp_media_attributes_len(media); j++) {
			const GstSDPAttribute *attribute = gst_sdp_media_get_attribute(media, j);
			guint id;
			char uri[128];

			if (g_strcmp0(attribute->key, "extmap") == 0 && attribute->value &&
			    sscanf(attribute->value, "%u %127s", &id, uri) == 2 &&
			    strcmp(uri, PLAYOUT_DELAY) == 0 && id >= 1 && id <= 14)
				viewer->playout_delay_id = id;
		}
	}
	say("offer codec=%.*s playout-delay=%s t=%.1f", (int)strcspn(codec, "/"), codec,
	    strstr(text, PLAYOUT_DELAY) ? "yes" : "no", elapsed_ms(viewer));
	if (!start_webrtc(viewer)) {
		gst_sdp_message_free(sdp);
		quit(viewer, EXIT_FAILURE);
		return;
	}
	offer = gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_OFFER, sdp);
	promise = gst_promise_new();
	g_signal_emit_by_name(viewer->webrtcbin, "set-remote-description", offer, promise);
	ok = wait_promise(promise, "set-remote-description", NULL);
	gst_promise_unref(promise);
	gst_webrtc_session_description_free(offer);
	if (!ok) {
		quit(viewer, EXIT_FAILURE);
		return;
	}

	promise = gst_promise_new();
	g_signal_emit_by_name(viewer->webrtcbin, "create-answer", NULL, promise);
	if (wait_promise(promise, "create-answer", &reply) && reply)
		gst_structure_get(reply, "answer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &answer,
		                  NULL);
	gst_promise_unref(promise);
	if (!answer) {
		say("error no answer from webrtcbin");
		quit(viewer, EXIT_FAILURE);
		return;
	}
	promise = gst_promise_new();
	g_signal_emit_by_name(viewer->webrtcbin, "set-local-description", answer, promise);
	wait_promise(promise, "set-local-description", NULL);
	gst_promise_unref(promise);

	answer_text = gst_sdp_message_as_text(answer->sdp);
	builder = message_begin("answer");
	json_builder_set_member_name(builder, "sdp");
	json_builder_add_string_value(builder, answer_text);
	json_builder_end_object(builder);
	send_builder(viewer, builder);
	g_free(answer_text);
	gst_webrtc_session_description_free(answer);
}

static const char *string_member(JsonObject *object, const char *name, const char *fallback)
{
	JsonNode *node = json_object_get_member(object, name);

	if (!node || json_node_get_value_type(node) != G_TYPE_STRING)
		return fallback;
	return json_node_get_string(node);
}

static gint64 int_member(JsonObject *object, const char *name)
{
	JsonNode *node = json_object_get_member(object, name);

	if (!node || json_node_get_value_type(node) != G_TYPE_INT64)
		return -1;
	return json_node_get_int(node);
}

static void handle_line(struct viewer *viewer, const char *line)
{
	JsonParser *parser = json_parser_new();
	JsonObject *object;
	const char *type;

	if (!json_parser_load_from_data(parser, line, -1, NULL) ||
	    !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser))) {
		say("error session sent something that is not a JSON object");
		g_object_unref(parser);
		quit(viewer, EXIT_FAILURE);
		return;
	}
	object = json_node_get_object(json_parser_get_root(parser));
	type = string_member(object, "type", "");
	if (strcmp(type, "offer") == 0) {
		handle_offer(viewer, string_member(object, "sdp", ""));
	} else if (strcmp(type, "ice") == 0) {
		const char *candidate = string_member(object, "candidate", "");
		gint64 mline = int_member(object, "sdpMLineIndex");

		if (viewer->webrtcbin && candidate[0] && mline >= 0)
			g_signal_emit_by_name(viewer->webrtcbin, "add-ice-candidate", (guint)mline,
			                      candidate);
	} else if (strcmp(type, "info") == 0) {
		say("info codec=%s encoder=%s width=%" G_GINT64_FORMAT " height=%" G_GINT64_FORMAT
		    " fallback=%s",
		    string_member(object, "codec", "?"), string_member(object, "encoder", "?"),
		    int_member(object, "width"), int_member(object, "height"),
		    string_member(object, "fallback", "-"));
	} else if (strcmp(type, "error") == 0) {
		say("error %s", string_member(object, "message", "?"));
		quit(viewer, EXIT_REFUSED);
	} else {
		say("unknown %s", type);
	}
	g_object_unref(parser);
}

static gboolean on_socket(GIOChannel *source, GIOCondition condition, gpointer data)
{
	struct viewer *viewer = data;
	char buffer[4096];
	ssize_t n = recv(viewer->fd, buffer, sizeof(buffer), 0);
	char *newline;

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return G_SOURCE_CONTINUE;
	if (n <= 0) {
		say("closed");
		quit(viewer, EXIT_CLOSED);
		return G_SOURCE_REMOVE;
	}
	g_string_append_len(viewer->input, buffer, n);
	while ((newline = memchr(viewer->input->str, '\n', viewer->input->len))) {
		*newline = '\0';
		handle_line(viewer, viewer->input->str);
		g_string_erase(viewer->input, 0, newline - viewer->input->str + 1);
	}
	if (viewer->input->len > LINE_MAX_BYTES) {
		say("error session sent a line over %d bytes", LINE_MAX_BYTES);
		quit(viewer, EXIT_FAILURE);
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

static gboolean on_timeout(gpointer data)
{
	say("timeout");
	quit(data, EXIT_TIMEOUT);
	return G_SOURCE_REMOVE;
}

/* --- start ------------------------------------------------------------------------------------
 */

static gpointer warm_up_dtls(gpointer data)
{
	GstElement *dtls = gst_element_factory_make("dtlsdec", NULL);

	if (dtls)
		gst_object_unref(dtls);
	return NULL;
}

static void usage(FILE *out)
{
	fprintf(out,
	        "Usage: " PROGRAM_NAME " --signal-socket PATH [OPTION...]\n"
	        "\n"
	        "Watch a Glassbox session over WebRTC and print what arrives, one line per\n"
	        "event; send each stdin line on the data channel \"input\".\n"
	        "\n"
	        "  -s, --signal-socket=PATH  the session's signal socket\n"
	        "  -c, --codecs=LIST         codecs to offer in hello (default H264,VP8)\n"
	        "      --width=W --height=H  size to ask for in hello\n"
	        "  -p, --probe=X,Y           pixel to print for each frame (default: centre)\n"
	        "  -n, --frames=N            exit 0 after N decoded frames (default: never)\n"
	        "  -t, --timeout-ms=MS       give up after MS, exit 3 (default 30000)\n"
	        "      --ice-address=ADDR    the only local ICE address (default 127.0.0.1)\n"
	        "  -h, --help                show this help\n"
	        "\n"
	        "stdin: JSON lines go out on the data channel; \"!keyframe\" requests a\n"
	        "keyframe (PLI), \"!exit\" leaves.\n"
	        "Exit status: 0 done, 1 failure, 2 usage, 3 timeout, 4 refused by the\n"
	        "session (an error message), 5 the session closed the connection.\n");
}

static int parse_options(int argc, char *argv[], struct options *options)
{
	static const struct option long_options[] = {
		{ "signal-socket", required_argument, NULL, 's' },
		{ "codecs", required_argument, NULL, 'c' },
		{ "width", required_argument, NULL, 'W' },
		{ "height", required_argument, NULL, 'H' },
		{ "probe", required_argument, NULL, 'p' },
		{ "frames", required_argument, NULL, 'n' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "ice-address", required_argument, NULL, 'I' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	options->codecs = "H264,VP8";
	options->ice_address = "127.0.0.1";
	options->probe_x = options->probe_y = -1;
	options->timeout_ms = 30000;
	while ((c = getopt_long(argc, argv, "s:c:p:n:t:h", long_options, NULL)) != -1) {
		switch (c) {
		case 's':
			options->socket_path = optarg;
			break;
		case 'c':
			options->codecs = optarg;
			break;
		case 'W':
		case 'H': {
			int *size = c == 'W' ? &options->width : &options->height;

			errno = 0;
			*size = (int)strtol(optarg, &end, 10);
			if (errno || *end || *size <= 0) {
				fprintf(stderr, PROGRAM_NAME ": bad size '%s'\n", optarg);
				return -1;
			}
			break;
		}
		case 'p':
			if (sscanf(optarg, "%d,%d", &options->probe_x, &options->probe_y) != 2 ||
			    options->probe_x < 0 || options->probe_y < 0) {
				fprintf(stderr, PROGRAM_NAME ": --probe wants X,Y\n");
				return -1;
			}
			break;
		case 'n':
			options->frames = (unsigned)strtoul(optarg, &end, 10);
			if (*end) {
				fprintf(stderr, PROGRAM_NAME ": bad --frames '%s'\n", optarg);
				return -1;
			}
			break;
		case 't':
			options->timeout_ms = (unsigned)strtoul(optarg, &end, 10);
			if (*end || options->timeout_ms == 0 || options->timeout_ms > 3600000) {
				fprintf(stderr, PROGRAM_NAME ": --timeout-ms wants 1..3600000\n");
				return -1;
			}
			break;
		case 'I':
			options->ice_address = optarg;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (!options->socket_path || optind < argc) {
		usage(stderr);
		return -1;
	}
	return 0;
}

static int connect_socket(const char *path)
{
	struct sockaddr_un address = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(address.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(address.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&address, sizeof(address)) < 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int main(int argc, char *argv[])
{
	struct viewer viewer = { .exit_code = EXIT_FAILURE, .fd = -1 };
	GIOChannel *stdin_channel;
	int r;

	r = parse_options(argc, argv, &viewer.options);
	if (r != 0)
		return r > 0 ? EXIT_SUCCESS : 2;
	gst_init(NULL, NULL);
	viewer.start_us = g_get_monotonic_time();
	/* Our DTLS certificate, made now rather than while the session waits for the answer. */
	g_thread_unref(g_thread_new("dtls-warm-up", warm_up_dtls, NULL));
	g_mutex_init(&viewer.write_lock);
	g_mutex_init(&viewer.channel_lock);
	g_queue_init(&viewer.pending);
	viewer.input = g_string_new(NULL);
	viewer.loop = g_main_loop_new(NULL, FALSE);

	viewer.fd = connect_socket(viewer.options.socket_path);
	if (viewer.fd < 0) {
		say("error cannot connect to %s: %s", viewer.options.socket_path, strerror(errno));
		return EXIT_FAILURE;
	}
	viewer.socket_channel = g_io_channel_unix_new(viewer.fd);
	g_io_add_watch(viewer.socket_channel, G_IO_IN | G_IO_HUP | G_IO_ERR, on_socket, &viewer);
	stdin_channel = g_io_channel_unix_new(STDIN_FILENO);
	g_io_add_watch(stdin_channel, G_IO_IN | G_IO_HUP, on_stdin, &viewer);
	g_timeout_add(viewer.options.timeout_ms, on_timeout, &viewer);

	send_hello(&viewer);
	say("connected");
	g_main_loop_run(viewer.loop);

	/* Leave without waiting on a peer that may be gone: the test only reads our lines. */
	if (viewer.pipeline)
		gst_element_set_state(viewer.pipeline, GST_STATE_NULL);
	fflush(stdout);
	_exit(viewer.exit_code);
}
