/* SPDX-License-Identifier: MIT */
/*
 * The session's stream: one pipeline, built when the first viewer says
 * hello, with the capture plugin's source, the chosen encoder plugin's bin
 * and a tee every viewer's branch hangs off (see stream.h). Nothing is
 * captured or encoded while no viewer is attached.
 *
 * GStreamer's threads hand work back through gb_stream_post(): a locked
 * list and an eventfd the wl_event_loop watches, as Weston's remoting
 * plugin does. The pipeline's bus is read the same way, through the fd
 * GstBus offers for other main loops (gst_bus_get_pollfd()). No GMainLoop
 * runs in this process.
 *
 * Latency is measured from the time the frame was rendered (the capture
 * plugin's GstReferenceTimestampMeta, CLOCK_MONOTONIC) to the time the RTP
 * packet carrying its last bytes enters webrtcbin's nicesink, after RTP
 * session, SRTP and the DTLS element's queue: the last point where
 * GStreamer still holds it before the kernel. The payloader's source pad
 * would miss dtlssrtpenc's thread hand-off; the packets are SRTP there,
 * but RTP headers stay in the clear, so the marker bit and timestamp still
 * identify a frame's last packet.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <gst/video/video.h>
#include <libweston/libweston.h>

#include "log.h"
#include "stream.h"

#define CAPTURED_MAX      64
#define STATS_INTERVAL_MS 1000

struct gb_stream {
	struct gb_session *session;

	/* the hand-off from GStreamer's threads */
	int wake_fd;
	struct wl_event_source *wake_source;
	GMutex events_lock;
	struct gb_stream_event *events_head, *events_tail;

	GThread *warm_up;

	/* the first viewer's choice holds for the session */
	bool chosen;
	struct gb_encoder_choice choice;
	int encoders_created;

	GstElement *pipeline;
	GstElement *tee;
	GstPad *encoder_src;
	GstBus *bus;
	struct wl_event_source *bus_source;
	bool failed;

	struct gb_plugin *capture_plugin;
	const struct gb_capture_ops *capture_ops;
	void *capture;
	struct gb_capture_host *capture_host;
	bool capture_active;

	struct wl_list peers; /* gb_peer_entry.link */
	int n_peers;
	int n_attached; /* branches on the tee */
	struct wl_list dying_branches;
	uint64_t next_branch_id;

	struct wl_event_source *idle_timer;
	struct wl_event_source *stats_timer;

	struct gb_frame_listener size_listener;
	int width, height;

	GstCaps *capture_meta_caps;

	/* written on streaming threads */
	_Atomic int64_t last_push_ns;
	_Atomic uint64_t frames_captured;
	_Atomic uint64_t frames_encoded;
	_Atomic uint64_t bytes_encoded;
	_Atomic uint64_t keyframes_encoded;
	_Atomic uint64_t keyframe_requests; /* from viewers: PLI, FIR */
	struct gb_latency latency;
	GMutex captured_lock;
	struct {
		GstClockTime running_time;
		int64_t capture_ns;
	} captured[CAPTURED_MAX];
	unsigned captured_next;

	/* main loop */
	double fps;
	double bitrate_kbps;
	uint64_t sample_frames, sample_bytes;
	int64_t sample_ns;
};

static int64_t now_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

/* --- latency histogram ----------------------------------------------------------------- */

void gb_latency_add(struct gb_latency *latency, int64_t nanoseconds)
{
	int64_t bucket = nanoseconds / (GB_LATENCY_BUCKET_US * 1000);

	if (bucket < 0)
		bucket = 0;
	if (bucket >= GB_LATENCY_BUCKETS)
		bucket = GB_LATENCY_BUCKETS - 1;
	g_atomic_int_inc(&latency->buckets[bucket]);
	atomic_fetch_add(&latency->sum_ns, nanoseconds > 0 ? (uint64_t)nanoseconds : 0);
}

uint64_t gb_latency_count_below(struct gb_latency *latency, unsigned bound_ms)
{
	uint64_t count = 0;
	int end = (int)(bound_ms * 1000 / GB_LATENCY_BUCKET_US);

	for (int i = 0; i < end && i < GB_LATENCY_BUCKETS; i++)
		count += (uint64_t)g_atomic_int_get(&latency->buckets[i]);
	return count;
}

uint64_t gb_latency_count(struct gb_latency *latency)
{
	uint64_t count = 0;

	for (int i = 0; i < GB_LATENCY_BUCKETS; i++)
		count += (uint64_t)g_atomic_int_get(&latency->buckets[i]);
	return count;
}

double gb_latency_percentile_ms(struct gb_latency *latency, double fraction)
{
	uint64_t count = gb_latency_count(latency), seen = 0, rank;

	if (count == 0)
		return -1;
	rank = (uint64_t)(fraction * (double)count);
	if (rank >= count)
		rank = count - 1;
	for (int i = 0; i < GB_LATENCY_BUCKETS; i++) {
		seen += (uint64_t)g_atomic_int_get(&latency->buckets[i]);
		if (seen > rank) /* the middle of the bucket */
			return (i + 0.5) * GB_LATENCY_BUCKET_US / 1000.0;
	}
	return GB_LATENCY_BUCKETS * GB_LATENCY_BUCKET_US / 1000.0;
}

/* --- viewers' shared part and the hand-off ---------------------------------------------- */

GQuark gb_peer_shared_quark(void)
{
	return g_quark_from_static_string("glassbox-peer-shared");
}

struct gb_peer_shared *gb_peer_shared_new(struct gb_stream *stream, uint64_t id)
{
	struct gb_peer_shared *shared = g_try_new0(struct gb_peer_shared, 1);

	if (!shared)
		return NULL;
	g_atomic_ref_count_init(&shared->refs);
	shared->stream = stream;
	shared->id = id;
	shared->gate = GB_GATE_FIRST;
	atomic_init(&shared->rtt_us, -1);
	g_mutex_init(&shared->lock);
	return shared;
}

struct gb_peer_shared *gb_peer_shared_ref(struct gb_peer_shared *shared)
{
	g_atomic_ref_count_inc(&shared->refs);
	return shared;
}

void gb_peer_shared_unref(gpointer data)
{
	struct gb_peer_shared *shared = data;

	if (!shared || !g_atomic_ref_count_dec(&shared->refs))
		return;
	g_mutex_clear(&shared->lock);
	g_free(shared);
}

static void event_free(struct gb_stream_event *event)
{
	if (event->shared)
		gb_peer_shared_unref(event->shared);
	if (event->promise)
		gst_promise_unref(event->promise);
	g_free(event->text);
	g_free(event);
}

void gb_stream_post(struct gb_stream *stream, struct gb_stream_event *event)
{
	uint64_t one = 1;

	event->next = NULL;
	g_mutex_lock(&stream->events_lock);
	if (stream->events_tail)
		stream->events_tail->next = event;
	else
		stream->events_head = event;
	stream->events_tail = event;
	g_mutex_unlock(&stream->events_lock);
	/* Only fails when the counter would overflow: the loop is awake then anyway. */
	if (write(stream->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		g_warning("glassbox: cannot wake the main loop: %s", g_strerror(errno));
}

static struct gb_stream_event *take_events(struct gb_stream *stream)
{
	struct gb_stream_event *events;

	g_mutex_lock(&stream->events_lock);
	events = stream->events_head;
	stream->events_head = stream->events_tail = NULL;
	g_mutex_unlock(&stream->events_lock);
	return events;
}

static void finish_branch(struct gb_stream *stream, uint64_t branch_id);

static void dispatch(struct gb_stream *stream, struct gb_stream_event *event)
{
	struct gb_peer *peer = event->shared ? event->shared->peer : NULL;

	if (event->type == GB_EVENT_BRANCH_UNLINKED)
		finish_branch(stream, event->branch_id);
	else if (peer)
		gb_peer_handle_event(peer, event);
	else if (event->type == GB_EVENT_CHANNEL_MESSAGE && event->shared)
		g_atomic_int_add(&event->shared->pending_messages, -1);
}

static int stream_wake(int fd, uint32_t mask, void *data)
{
	struct gb_stream *stream = data;
	struct gb_stream_event *event, *next;
	uint64_t count;

	if (read(fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		gb_debug("stream: eventfd: %s", strerror(errno));
	for (event = take_events(stream); event; event = next) {
		next = event->next;
		dispatch(stream, event);
		event_free(event);
	}
	return 0;
}

/*
 * The first offer in a process generates webrtcbin's DTLS certificate
 * (an RSA key: 0.2-1 s). dtlsdec makes it once per process, the first time
 * one is created, and keeps it: make one on a thread at start-up, so that
 * no viewer waits for it.
 */
static gpointer warm_up_dtls(gpointer data)
{
	int64_t start = now_ns();
	GstElement *dtls = gst_element_factory_make("dtlsdec", NULL);

	if (!dtls) {
		gb_warning("stream: no dtlsdec element (gstreamer1.0-plugins-bad): WebRTC will "
		           "not work");
		return NULL;
	}
	gst_object_unref(dtls);
	gb_debug("stream: DTLS certificate ready in %.1f ms", (double)(now_ns() - start) / 1e6);
	return NULL;
}

/* --- probes (streaming threads) --------------------------------------------------------- */

/*
 * Frames are known by their running time: it survives the encoder, which
 * may shift timestamps (x264enc's output starts at 1000 hours) and drops
 * the capture meta.
 */
static GstClockTime running_time_of(GstPad *pad, GstBuffer *buffer)
{
	GstEvent *event;
	const GstSegment *segment;
	GstClockTime running_time = GST_CLOCK_TIME_NONE;

	if (!GST_BUFFER_PTS_IS_VALID(buffer))
		return GST_CLOCK_TIME_NONE;
	event = gst_pad_get_sticky_event(pad, GST_EVENT_SEGMENT, 0);
	if (!event)
		return GST_CLOCK_TIME_NONE;
	gst_event_parse_segment(event, &segment);
	if (segment->format == GST_FORMAT_TIME)
		running_time = gst_segment_to_running_time(segment, GST_FORMAT_TIME,
		                                           GST_BUFFER_PTS(buffer));
	gst_event_unref(event);
	return running_time;
}

/* Raw frames entering the encoder: when they were rendered, and that one came. */
static void note_raw_frame(struct gb_stream *stream, GstPad *pad, GstBuffer *buffer)
{
	GstReferenceTimestampMeta *meta;
	int64_t now = now_ns(), capture_ns = now;
	GstClockTime running_time;

	meta = gst_buffer_get_reference_timestamp_meta(buffer, stream->capture_meta_caps);
	if (meta && meta->timestamp != GST_CLOCK_TIME_NONE && (int64_t)meta->timestamp <= now)
		capture_ns = (int64_t)meta->timestamp;
	atomic_store(&stream->last_push_ns, now);
	atomic_fetch_add(&stream->frames_captured, 1);
	running_time = running_time_of(pad, buffer);
	if (running_time == GST_CLOCK_TIME_NONE)
		return;
	g_mutex_lock(&stream->captured_lock);
	stream->captured[stream->captured_next % CAPTURED_MAX].running_time = running_time;
	stream->captured[stream->captured_next % CAPTURED_MAX].capture_ns = capture_ns;
	stream->captured_next++;
	g_mutex_unlock(&stream->captured_lock);
}

static int64_t capture_time_of(struct gb_stream *stream, GstClockTime running_time)
{
	int64_t capture_ns = 0;

	if (running_time == GST_CLOCK_TIME_NONE)
		return 0;
	g_mutex_lock(&stream->captured_lock);
	for (unsigned i = 0; i < CAPTURED_MAX && i < stream->captured_next; i++) {
		unsigned slot = (stream->captured_next - 1 - i) % CAPTURED_MAX;

		if (stream->captured[slot].running_time == running_time) {
			capture_ns = stream->captured[slot].capture_ns;
			break;
		}
	}
	g_mutex_unlock(&stream->captured_lock);
	return capture_ns;
}

static GstPadProbeReturn on_raw_frame(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	if (info->type & GST_PAD_PROBE_TYPE_BUFFER)
		note_raw_frame(data, pad, GST_PAD_PROBE_INFO_BUFFER(info));
	else if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST)
		note_raw_frame(data, pad,
		               gst_buffer_list_get(GST_PAD_PROBE_INFO_BUFFER_LIST(info), 0));
	return GST_PAD_PROBE_OK;
}

static gboolean count_encoded(GstBuffer **buffer, guint index, gpointer data)
{
	struct gb_stream *stream = data;

	atomic_fetch_add(&stream->frames_encoded, 1);
	atomic_fetch_add(&stream->bytes_encoded, gst_buffer_get_size(*buffer));
	if (!GST_BUFFER_FLAG_IS_SET(*buffer, GST_BUFFER_FLAG_DELTA_UNIT))
		atomic_fetch_add(&stream->keyframes_encoded, 1);
	return TRUE;
}

static GstPadProbeReturn on_encoded(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
		GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER(info);

		count_encoded(&buffer, 0, data);
	} else if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
		gst_buffer_list_foreach(GST_PAD_PROBE_INFO_BUFFER_LIST(info), count_encoded, data);
	}
	return GST_PAD_PROBE_OK;
}

/*
 * Keyframe requests from viewers (webrtcbin turns PLI and FIR into an
 * upstream GstForceKeyUnit) pass the tee on their way to the encoder;
 * ours go straight to the encoder and are not counted here.
 */
static GstPadProbeReturn on_upstream_event(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	struct gb_stream *stream = data;
	GstEvent *event = GST_PAD_PROBE_INFO_EVENT(info);

	if (event && gst_video_event_is_force_key_unit(event))
		atomic_fetch_add(&stream->keyframe_requests, 1);
	return GST_PAD_PROBE_OK;
}

/* The queue's sink pad: see enum gb_gate. */
static GstPadProbeReturn on_branch_buffer(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	struct gb_peer_shared *shared = data;
	GstBuffer *buffer = NULL;

	switch (g_atomic_int_get(&shared->gate)) {
	case GB_GATE_OPEN:
		return GST_PAD_PROBE_OK;
	case GB_GATE_FIRST:
		if (g_atomic_int_compare_and_exchange(&shared->gate, GB_GATE_FIRST,
		                                      GB_GATE_CLOSED))
			return GST_PAD_PROBE_OK;
		return GST_PAD_PROBE_DROP;
	case GB_GATE_KEYFRAME:
		if (info->type & GST_PAD_PROBE_TYPE_BUFFER)
			buffer = GST_PAD_PROBE_INFO_BUFFER(info);
		else if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST)
			buffer = gst_buffer_list_get(GST_PAD_PROBE_INFO_BUFFER_LIST(info), 0);
		if (buffer && !GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT) &&
		    g_atomic_int_compare_and_exchange(&shared->gate, GB_GATE_KEYFRAME,
		                                      GB_GATE_OPEN))
			return GST_PAD_PROBE_OK;
		return GST_PAD_PROBE_DROP;
	default:
		return GST_PAD_PROBE_DROP;
	}
}

struct payloaded {
	struct gb_peer_shared *shared;
	GstPad *pad;
};

/* The payloader's output: remember which RTP timestamp carries which frame. */
static gboolean note_rtp_packet(GstBuffer **buffer, guint index, gpointer data)
{
	struct payloaded *payloaded = data;
	struct gb_peer_shared *shared = payloaded->shared;
	GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
	uint32_t timestamp;
	int64_t capture_ns;
	bool marker;

	if (!gst_rtp_buffer_map(*buffer, GST_MAP_READ, &rtp))
		return TRUE;
	marker = gst_rtp_buffer_get_marker(&rtp);
	timestamp = gst_rtp_buffer_get_timestamp(&rtp);
	gst_rtp_buffer_unmap(&rtp);
	/* Frames held back while connecting would count their wait as latency. */
	if (!marker || g_atomic_int_get(&shared->gate) != GB_GATE_OPEN)
		return TRUE;
	capture_ns = capture_time_of(shared->stream, running_time_of(payloaded->pad, *buffer));
	if (capture_ns == 0)
		return TRUE;
	g_mutex_lock(&shared->lock);
	shared->sent[shared->sent_next % G_N_ELEMENTS(shared->sent)].rtp_timestamp = timestamp;
	shared->sent[shared->sent_next % G_N_ELEMENTS(shared->sent)].capture_ns = capture_ns;
	shared->sent_next++;
	g_mutex_unlock(&shared->lock);
	return TRUE;
}

static GstPadProbeReturn on_payloaded(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	struct payloaded payloaded = { data, pad };

	if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
		GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER(info);

		note_rtp_packet(&buffer, 0, &payloaded);
	} else if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
		gst_buffer_list_foreach(GST_PAD_PROBE_INFO_BUFFER_LIST(info), note_rtp_packet,
		                        &payloaded);
	}
	return GST_PAD_PROBE_OK;
}

/* Packets entering nicesink: (S)RTP, RTCP, DTLS and STUN all come this way. */
static gboolean note_network_packet(GstBuffer **buffer, guint index, gpointer data)
{
	struct gb_peer_shared *shared = data;
	int64_t capture_ns = 0, now;
	uint8_t header[8];
	uint32_t timestamp;

	if (gst_buffer_extract(*buffer, 0, header, sizeof(header)) != sizeof(header))
		return TRUE;
	/* RTP version 2; payload types 64..95 with the marker bit are RTCP (RFC 5761). */
	if ((header[0] & 0xc0) != 0x80 || !(header[1] & 0x80) ||
	    ((header[1] & 0x7f) >= 64 && (header[1] & 0x7f) <= 95))
		return TRUE;
	timestamp = (uint32_t)header[4] << 24 | (uint32_t)header[5] << 16 |
	            (uint32_t)header[6] << 8 | header[7];
	g_mutex_lock(&shared->lock);
	for (size_t i = 0; i < G_N_ELEMENTS(shared->sent); i++) {
		if (shared->sent[i].capture_ns && shared->sent[i].rtp_timestamp == timestamp) {
			capture_ns = shared->sent[i].capture_ns;
			shared->sent[i].capture_ns = 0; /* a retransmission is not a new frame */
			break;
		}
	}
	g_mutex_unlock(&shared->lock);
	if (capture_ns == 0)
		return TRUE;
	now = now_ns();
	gb_latency_add(&shared->latency, now - capture_ns);
	gb_latency_add(&shared->stream->latency, now - capture_ns);
	g_atomic_int_inc(&shared->frames_sent);
	return TRUE;
}

static GstPadProbeReturn on_network_packet(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
		GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER(info);

		note_network_packet(&buffer, 0, data);
	} else if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
		gst_buffer_list_foreach(GST_PAD_PROBE_INFO_BUFFER_LIST(info), note_network_packet,
		                        data);
	}
	return GST_PAD_PROBE_OK;
}

/* The viewer a webrtcbin, or anything inside one, belongs to; a new reference or NULL. */
static struct gb_peer_shared *shared_of(GstObject *object)
{
	GstObject *current = object ? gst_object_ref(object) : NULL;

	while (current) {
		struct gb_peer_shared *shared =
		        g_object_get_qdata(G_OBJECT(current), gb_peer_shared_quark());
		GstObject *parent;

		if (shared) {
			gb_peer_shared_ref(shared);
			gst_object_unref(current);
			return shared;
		}
		parent = gst_object_get_parent(current);
		gst_object_unref(current);
		current = parent;
	}
	return NULL;
}

/* Any thread: webrtcbin makes its nicesink when it makes the offer. */
static void on_deep_element_added(GstBin *bin, GstBin *sub_bin, GstElement *element, gpointer data)
{
	GstElementFactory *factory = gst_element_get_factory(element);
	struct gb_peer_shared *shared;
	GstPad *pad;

	if (!factory ||
	    strcmp(gst_plugin_feature_get_name(GST_PLUGIN_FEATURE(factory)), "nicesink") != 0)
		return;
	shared = shared_of(GST_OBJECT(element));
	if (!shared)
		return;
	pad = gst_element_get_static_pad(element, "sink");
	if (pad) {
		gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
		                  on_network_packet, gb_peer_shared_ref(shared),
		                  gb_peer_shared_unref);
		gst_object_unref(pad);
	}
	gb_peer_shared_unref(shared);
}

static void on_queue_overrun(GstElement *queue, gpointer data)
{
	struct gb_peer_shared *shared = data;
	struct gb_stream_event *event = g_new0(struct gb_stream_event, 1);

	event->type = GB_EVENT_KEYFRAME;
	event->shared = gb_peer_shared_ref(shared);
	gb_stream_post(shared->stream, event);
}

static void closure_unref_shared(gpointer data, GClosure *closure)
{
	gb_peer_shared_unref(data);
}

void gb_stream_watch_branch(struct gb_stream *stream, struct gb_branch *branch)
{
	GstPad *pad;

	pad = gst_element_get_static_pad(branch->queue, "sink");
	if (pad) {
		gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
		                  on_branch_buffer, gb_peer_shared_ref(branch->shared),
		                  gb_peer_shared_unref);
		gst_object_unref(pad);
	}
	pad = gst_element_get_static_pad(branch->payloader, "src");
	if (pad) {
		gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
		                  on_payloaded, gb_peer_shared_ref(branch->shared),
		                  gb_peer_shared_unref);
		gst_object_unref(pad);
	}
	g_signal_connect_data(branch->queue, "overrun", G_CALLBACK(on_queue_overrun),
	                      gb_peer_shared_ref(branch->shared), closure_unref_shared, 0);
}

/* --- the pipeline ---------------------------------------------------------------------- */

struct gb_session *gb_stream_session(struct gb_stream *stream)
{
	return stream->session;
}

uint32_t gb_stream_codec(struct gb_stream *stream)
{
	return stream->chosen ? stream->choice.codec : 0;
}

GstElement *gb_stream_pipeline(struct gb_stream *stream)
{
	return stream->pipeline;
}

static const char *encoder_name(struct gb_stream *stream)
{
	return stream->chosen ? stream->choice.plugin->descriptor->name : "none";
}

static void fail_stream(struct gb_stream *stream, const char *what)
{
	struct gb_peer_entry *entry;

	if (stream->failed)
		return;
	stream->failed = true;
	gb_error("stream: %s; closing every viewer", what);
	wl_list_for_each (entry, &stream->peers, link)
		gb_peer_close(entry->peer, "the stream failed");
}

static void handle_bus_message(struct gb_stream *stream, GstMessage *message)
{
	struct gb_peer_shared *shared;
	GError *error = NULL;
	gchar *debug = NULL;
	char what[512];

	switch (GST_MESSAGE_TYPE(message)) {
	case GST_MESSAGE_ERROR:
		gst_message_parse_error(message, &error, &debug);
		shared = shared_of(GST_MESSAGE_SRC(message));
		snprintf(what, sizeof(what), "%s: %s", GST_MESSAGE_SRC_NAME(message),
		         error ? error->message : "error");
		gb_debug("stream: error details: %s", debug ? debug : "none");
		if (shared && shared->peer) {
			gb_warning("viewer %llu: %s", (unsigned long long)shared->id, what);
			gb_peer_close(shared->peer, "WebRTC error");
		} else if (!shared) {
			fail_stream(stream, what);
		}
		if (shared)
			gb_peer_shared_unref(shared);
		g_clear_error(&error);
		g_free(debug);
		break;
	case GST_MESSAGE_WARNING:
		gst_message_parse_warning(message, &error, &debug);
		gb_warning("stream: %s: %s", GST_MESSAGE_SRC_NAME(message),
		           error ? error->message : "warning");
		g_clear_error(&error);
		g_free(debug);
		break;
	case GST_MESSAGE_LATENCY:
		gst_bin_recalculate_latency(GST_BIN(stream->pipeline));
		break;
	case GST_MESSAGE_STATE_CHANGED:
		if (GST_MESSAGE_SRC(message) == GST_OBJECT(stream->pipeline)) {
			GstState old_state, new_state;

			gst_message_parse_state_changed(message, &old_state, &new_state, NULL);
			gb_debug("stream: pipeline %s -> %s",
			         gst_element_state_get_name(old_state),
			         gst_element_state_get_name(new_state));
		}
		break;
	default:
		break;
	}
}

static int bus_readable(int fd, uint32_t mask, void *data)
{
	struct gb_stream *stream = data;
	GstMessage *message;

	/* Bounded: a flood of messages must not starve the compositor. */
	for (int i = 0; i < 256 && stream->bus && (message = gst_bus_pop(stream->bus)); i++) {
		handle_bus_message(stream, message);
		gst_message_unref(message);
	}
	return 0;
}

/* Repeat the last frame when nothing was pushed for webrtc.idle_refresh_ms. */
static int idle_tick(void *data)
{
	struct gb_stream *stream = data;
	int64_t idle_ms = stream->session->config->webrtc.idle_refresh_ms;
	int64_t since_ms = (now_ns() - atomic_load(&stream->last_push_ns)) / 1000000;
	int64_t next_ms = idle_ms;

	if (!stream->capture_active)
		return 0;
	if (since_ms >= idle_ms - 5)
		stream->capture_ops->repeat_frame(stream->capture);
	else
		next_ms = idle_ms - since_ms;
	wl_event_source_timer_update(stream->idle_timer, (int)next_ms);
	return 0;
}

/* webrtcbin's get-stats answer, on its thread: the RTT the browser's receiver reports. */
static void rtt_received(GstPromise *promise, gpointer data)
{
	struct gb_peer_shared *shared = data;
	const GstStructure *reply;
	int n;

	if (gst_promise_wait(promise) != GST_PROMISE_RESULT_REPLIED)
		return;
	reply = gst_promise_get_reply(promise);
	n = reply ? gst_structure_n_fields(reply) : 0;
	for (int i = 0; i < n && i < 256; i++) {
		const GValue *value =
		        gst_structure_get_value(reply, gst_structure_nth_field_name(reply, i));
		const GstStructure *stats;
		GstWebRTCStatsType type;
		double rtt;

		if (!value || !GST_VALUE_HOLDS_STRUCTURE(value))
			continue;
		stats = gst_value_get_structure(value);
		if (gst_structure_get(stats, "type", GST_TYPE_WEBRTC_STATS_TYPE, &type, NULL) &&
		    type == GST_WEBRTC_STATS_REMOTE_INBOUND_RTP &&
		    gst_structure_get_double(stats, "round-trip-time", &rtt) && rtt >= 0) {
			atomic_store(&shared->rtt_us, (int64_t)(rtt * 1e6));
			break;
		}
	}
}

/* Ask every viewer's webrtcbin for its stats; the answers come back in rtt_received(). */
static void request_rtt(struct gb_stream *stream)
{
	GstIterator *it;
	GValue item = G_VALUE_INIT;
	int guard = 0;

	if (!stream->pipeline)
		return;
	it = gst_bin_iterate_elements(GST_BIN(stream->pipeline));
	while (guard++ < 1024 && gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
		GstElement *element = g_value_get_object(&item);
		struct gb_peer_shared *shared =
		        g_object_get_qdata(G_OBJECT(element), gb_peer_shared_quark());

		if (shared && shared->peer) {
			GstPromise *promise = gst_promise_new_with_change_func(
			        rtt_received, gb_peer_shared_ref(shared), gb_peer_shared_unref);

			g_signal_emit_by_name(element, "get-stats", NULL, promise);
			gst_promise_unref(promise);
		}
		g_value_reset(&item);
	}
	g_value_unset(&item);
	gst_iterator_free(it);
}

/* The mean RTT of the viewers that have one, in ms; -1 when none has. */
static double rtt_ms(struct gb_stream *stream)
{
	GstIterator *it;
	GValue item = G_VALUE_INIT;
	int64_t sum = 0;
	int n = 0, guard = 0;

	if (!stream->pipeline)
		return -1;
	it = gst_bin_iterate_elements(GST_BIN(stream->pipeline));
	while (guard++ < 1024 && gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
		struct gb_peer_shared *shared = g_object_get_qdata(
		        G_OBJECT(g_value_get_object(&item)), gb_peer_shared_quark());
		int64_t rtt = shared && shared->peer ? atomic_load(&shared->rtt_us) : -1;

		if (rtt >= 0) {
			sum += rtt;
			n++;
		}
		g_value_reset(&item);
	}
	g_value_unset(&item);
	gst_iterator_free(it);
	return n ? (double)sum / n / 1000.0 : -1;
}

static int stats_tick(void *data)
{
	struct gb_stream *stream = data;
	int64_t now = now_ns();
	uint64_t frames = atomic_load(&stream->frames_encoded);
	uint64_t bytes = atomic_load(&stream->bytes_encoded);
	double seconds = (double)(now - stream->sample_ns) / 1e9;

	if (stream->sample_ns && seconds > 0) {
		stream->fps = (double)(frames - stream->sample_frames) / seconds;
		stream->bitrate_kbps = (double)(bytes - stream->sample_bytes) * 8 / 1000 / seconds;
	}
	stream->sample_ns = now;
	stream->sample_frames = frames;
	stream->sample_bytes = bytes;
	request_rtt(stream);
	wl_event_source_timer_update(stream->stats_timer, STATS_INTERVAL_MS);
	return 0;
}

static void set_capture_active(struct gb_stream *stream, bool active)
{
	if (stream->capture_active == active || !stream->capture)
		return;
	stream->capture_active = active;
	stream->capture_ops->set_active(stream->capture, active);
	gb_info("stream: capture %s", active ? "started" : "stopped: no viewer left");
	if (stream->idle_timer)
		wl_event_source_timer_update(
		        stream->idle_timer,
		        active ? stream->session->config->webrtc.idle_refresh_ms : 0);
	/* No viewer, no wake-ups: an idle session uses no CPU. */
	if (stream->stats_timer) {
		stream->sample_ns = 0;
		if (active)
			stats_tick(stream);
		else
			wl_event_source_timer_update(stream->stats_timer, 0);
	}
}

static void branch_free(struct gb_branch *branch)
{
	if (branch->channel) {
		for (size_t i = 0; i < G_N_ELEMENTS(branch->channel_handlers); i++)
			if (branch->channel_handlers[i])
				g_signal_handler_disconnect(branch->channel,
				                            branch->channel_handlers[i]);
		g_object_unref(branch->channel);
	}
	if (branch->tee_pad)
		gst_object_unref(branch->tee_pad);
	if (branch->queue)
		gst_object_unref(branch->queue);
	if (branch->payloader)
		gst_object_unref(branch->payloader);
	if (branch->webrtcbin)
		gst_object_unref(branch->webrtcbin);
	if (branch->shared)
		gb_peer_shared_unref(branch->shared);
	wl_list_remove(&branch->link);
	free(branch);
}

/* Stop everything: the viewers must be gone (or going) already. */
static void teardown_pipeline(struct gb_stream *stream)
{
	struct gb_branch *branch, *next;

	if (stream->pipeline)
		gst_element_set_state(stream->pipeline, GST_STATE_NULL);
	if (stream->capture)
		stream->capture_ops->stop(stream->capture);
	stream->capture = NULL;
	stream->capture_active = false;
	wl_list_for_each_safe (branch, next, &stream->dying_branches, link)
		branch_free(branch);
	if (stream->bus_source)
		wl_event_source_remove(stream->bus_source);
	stream->bus_source = NULL;
	if (stream->bus) {
		gst_bus_set_flushing(stream->bus, TRUE);
		gst_object_unref(stream->bus);
	}
	stream->bus = NULL;
	if (stream->encoder_src)
		gst_object_unref(stream->encoder_src);
	stream->encoder_src = NULL;
	if (stream->pipeline) {
		g_signal_handlers_disconnect_by_data(stream->pipeline, stream);
		gst_object_unref(stream->pipeline);
	}
	stream->pipeline = NULL;
	stream->tee = NULL;
	gb_capture_host_destroy(stream->capture_host);
	stream->capture_host = NULL;
	if (stream->idle_timer)
		wl_event_source_remove(stream->idle_timer);
	stream->idle_timer = NULL;
	if (stream->stats_timer)
		wl_event_source_remove(stream->stats_timer);
	stream->stats_timer = NULL;
	stream->n_attached = 0;
	stream->failed = false;
}

static struct gb_plugin *find_capture_plugin(struct gb_plugin_registry *registry)
{
	for (size_t i = 0; registry && i < registry->count; i++)
		if (registry->plugins[i]->descriptor->kind == GB_PLUGIN_KIND_CAPTURE)
			return registry->plugins[i];
	return NULL;
}

static bool add_probe(GstElement *element, const char *pad_name, GstPadProbeType type,
                      GstPadProbeCallback callback, struct gb_stream *stream, GstPad **keep)
{
	GstPad *pad = gst_element_get_static_pad(element, pad_name);

	if (!pad)
		return false;
	gst_pad_add_probe(pad, type, callback, stream, NULL);
	if (keep)
		*keep = pad;
	else
		gst_object_unref(pad);
	return true;
}

static int build_pipeline(struct gb_stream *stream, char *error, size_t error_size)
{
	struct gb_session *session = stream->session;
	const struct gb_webrtc_config *webrtc = &session->config->webrtc;
	struct gb_encoder_params params = { .struct_size = sizeof(params) };
	const struct gb_encoder_choice *choice = &stream->choice;
	GstElement *source = NULL, *encoder;
	char reason[256] = "";
	GPollFD poll_fd;

	stream->capture_plugin = find_capture_plugin(session->plugins);
	if (!stream->capture_plugin) {
		gb_error("stream: no capture plugin loaded (a drop-in with kind = capture)");
		snprintf(error, error_size, "this session has no capture plugin");
		return -ENOENT;
	}
	stream->capture_ops = stream->capture_plugin->descriptor->ops;
	stream->pipeline = gst_pipeline_new("glassbox-stream");
	stream->capture_host = gb_capture_host_create(session);
	stream->idle_timer = wl_event_loop_add_timer(session->loop, idle_tick, stream);
	stream->stats_timer = wl_event_loop_add_timer(session->loop, stats_tick, stream);
	if (!stream->pipeline || !stream->capture_host || !stream->idle_timer ||
	    !stream->stats_timer) {
		snprintf(error, error_size, "out of memory");
		goto fail;
	}

	stream->capture = stream->capture_ops->start(stream->capture_plugin->state,
	                                             gb_capture_host_target(stream->capture_host),
	                                             &source, reason, sizeof(reason));
	reason[sizeof(reason) - 1] = '\0';
	if (!stream->capture || !source) {
		gb_error("stream: capture plugin %s cannot start: %s",
		         stream->capture_plugin->descriptor->name,
		         reason[0] ? reason : "no reason");
		snprintf(error, error_size, "the capture cannot start");
		if (source)
			gst_object_unref(gst_object_ref_sink(source));
		goto fail;
	}
	gst_bin_add(GST_BIN(stream->pipeline), source);

	params.width = (uint32_t)session->output->width;
	params.height = (uint32_t)session->output->height;
	params.max_fps = (uint32_t)webrtc->max_fps;
	params.bitrate_kbps = (uint32_t)webrtc->bitrate_kbps;
	encoder = choice->ops->create_bin(choice->plugin->state, &params, reason, sizeof(reason));
	reason[sizeof(reason) - 1] = '\0';
	if (!encoder) {
		gb_error("stream: encoder %s cannot start: %s", choice->plugin->descriptor->name,
		         reason[0] ? reason : "no reason");
		snprintf(error, error_size, "the encoder cannot start");
		goto fail;
	}
	gst_bin_add(GST_BIN(stream->pipeline), encoder);
	stream->encoders_created++;

	stream->tee = gst_element_factory_make("tee", "tee");
	if (!stream->tee) {
		snprintf(error, error_size, "no tee element");
		goto fail;
	}
	/* Viewers come and go; the encoder must not stop when none is linked. */
	g_object_set(stream->tee, "allow-not-linked", TRUE, NULL);
	gst_bin_add(GST_BIN(stream->pipeline), stream->tee);

	if (!gst_element_link(source, encoder) || !gst_element_link(encoder, stream->tee)) {
		gb_error("stream: cannot link capture %s -> encoder %s -> tee",
		         stream->capture_plugin->descriptor->name,
		         choice->plugin->descriptor->name);
		snprintf(error, error_size, "the capture and the encoder do not fit together");
		goto fail;
	}
	if (!add_probe(encoder, "sink", GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
	               on_raw_frame, stream, NULL) ||
	    !add_probe(encoder, "src", GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
	               on_encoded, stream, &stream->encoder_src) ||
	    !add_probe(stream->tee, "sink", GST_PAD_PROBE_TYPE_EVENT_UPSTREAM, on_upstream_event,
	               stream, NULL)) {
		snprintf(error, error_size, "the encoder bin has no sink or src pad");
		goto fail;
	}

	stream->bus = gst_pipeline_get_bus(GST_PIPELINE(stream->pipeline));
	gst_bus_get_pollfd(stream->bus, &poll_fd);
	stream->bus_source = wl_event_loop_add_fd(session->loop, poll_fd.fd, WL_EVENT_READABLE,
	                                          bus_readable, stream);
	if (!stream->bus_source) {
		snprintf(error, error_size, "out of memory");
		goto fail;
	}
	g_signal_connect(stream->pipeline, "deep-element-added", G_CALLBACK(on_deep_element_added),
	                 stream);

	atomic_store(&stream->last_push_ns, now_ns());
	if (gst_element_set_state(stream->pipeline, GST_STATE_PLAYING) ==
	    GST_STATE_CHANGE_FAILURE) {
		gb_error("stream: the pipeline does not start (capture %s, encoder %s)",
		         stream->capture_plugin->descriptor->name,
		         choice->plugin->descriptor->name);
		bus_readable(-1, 0, stream); /* log what the elements said */
		snprintf(error, error_size, "the stream cannot start");
		goto fail;
	}
	gb_info("stream: capture %s -> encoder %s (%s) -> %d viewers at most; %ux%u, at most %u "
	        "fps, %u kbit/s",
	        stream->capture_plugin->descriptor->name, choice->plugin->descriptor->name,
	        gb_codec_name(choice->codec), session->config->session.max_viewers, params.width,
	        params.height, params.max_fps, params.bitrate_kbps);
	return 0;

fail:
	teardown_pipeline(stream);
	return -EIO;
}

int gb_stream_prepare(struct gb_stream *stream, uint32_t codecs, char *error, size_t error_size)
{
	char wanted[64];
	int r;

	if (stream->failed) {
		if (stream->n_attached > 0 || !wl_list_empty(&stream->dying_branches)) {
			snprintf(error, error_size, "the stream is restarting; try again");
			return -EAGAIN;
		}
		teardown_pipeline(stream);
	}
	if (!stream->chosen) {
		r = gb_encoder_choose(stream->session->plugins, &stream->session->config->webrtc,
		                      codecs, &stream->choice, error, error_size);
		if (r < 0) {
			gb_warning("stream: refusing a viewer: %s", error);
			return r;
		}
		stream->chosen = true;
	} else if (!(codecs & GB_CODEC_BIT(stream->choice.codec))) {
		snprintf(wanted, sizeof(wanted), "%s", gb_codec_name(stream->choice.codec));
		snprintf(
		        error, error_size,
		        "this session streams %s (chosen by its first viewer), which this browser "
		        "does not decode",
		        wanted);
		gb_warning("stream: refusing a viewer: %s", error);
		return -ENOENT;
	}
	if (!stream->pipeline)
		return build_pipeline(stream, error, error_size);
	return 0;
}

int gb_stream_attach_branch(struct gb_stream *stream, struct gb_branch *branch)
{
	GstPad *sink = gst_element_get_static_pad(branch->queue, "sink");
	GstPadLinkReturn link;

	if (!sink)
		return -EIO;
	branch->id = ++stream->next_branch_id;
	branch->tee_pad = gst_element_request_pad_simple(stream->tee, "src_%u");
	if (!branch->tee_pad) {
		gst_object_unref(sink);
		return -EIO;
	}
	link = gst_pad_link(branch->tee_pad, sink);
	gst_object_unref(sink);
	if (link != GST_PAD_LINK_OK) {
		gst_element_release_request_pad(stream->tee, branch->tee_pad);
		gst_object_unref(branch->tee_pad);
		branch->tee_pad = NULL;
		return -EIO;
	}
	stream->n_attached++;
	set_capture_active(stream, true);
	/* The new viewer needs a picture now, and one it can decode. */
	gb_stream_request_keyframe(stream);
	gb_stream_refresh(stream);
	return 0;
}

/* Idle probe: the tee is between two pushes on this pad. */
static GstPadProbeReturn unlink_branch(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	struct gb_branch *branch = data;
	struct gb_stream_event *event = g_new0(struct gb_stream_event, 1);
	GstPad *peer = gst_pad_get_peer(pad);

	if (peer) {
		gst_pad_unlink(pad, peer);
		gst_object_unref(peer);
	}
	event->type = GB_EVENT_BRANCH_UNLINKED;
	event->branch_id = branch->id;
	gb_stream_post(branch->stream, event);
	return GST_PAD_PROBE_REMOVE;
}

void gb_stream_detach_branch(struct gb_stream *stream, struct gb_branch *branch)
{
	struct gb_stream_event *event;

	wl_list_insert(&stream->dying_branches, &branch->link);
	if (branch->tee_pad) {
		stream->n_attached--;
		if (stream->n_attached == 0)
			set_capture_active(stream, false);
		gst_pad_add_probe(branch->tee_pad, GST_PAD_PROBE_TYPE_IDLE, unlink_branch, branch,
		                  NULL);
		return;
	}
	/* Never on the tee: nothing streams through it, finish on the main loop. */
	event = g_new0(struct gb_stream_event, 1);
	event->type = GB_EVENT_BRANCH_UNLINKED;
	event->branch_id = branch->id = ++stream->next_branch_id;
	gb_stream_post(stream, event);
}

/* Main loop: the branch is off the tee; stop its elements and let it go. */
static void finish_branch(struct gb_stream *stream, uint64_t branch_id)
{
	struct gb_branch *branch, *found = NULL;

	wl_list_for_each (branch, &stream->dying_branches, link) {
		if (branch->id == branch_id) {
			found = branch;
			break;
		}
	}
	if (!found)
		return; /* the pipeline was torn down meanwhile */
	branch = found;
	if (branch->tee_pad && stream->tee)
		gst_element_release_request_pad(stream->tee, branch->tee_pad);
	if (!branch->webrtcbin) { /* never made it into the pipeline */
		branch_free(branch);
		return;
	}
	/*
	 * webrtcbin first: the queue's thread may be blocked in it (webrtcbin
	 * holds buffers until negotiation is done), and stopping webrtcbin
	 * releases it, so that stopping the queue does not wait forever.
	 */
	gst_element_set_state(branch->webrtcbin, GST_STATE_NULL);
	gst_element_set_state(branch->payloader, GST_STATE_NULL);
	gst_element_set_state(branch->queue, GST_STATE_NULL);
	if (stream->pipeline)
		gst_bin_remove_many(GST_BIN(stream->pipeline), branch->webrtcbin,
		                    branch->payloader, branch->queue, NULL);
	branch_free(branch);
}

void gb_stream_request_keyframe(struct gb_stream *stream)
{
	if (!stream->encoder_src)
		return;
	gst_pad_send_event(stream->encoder_src, gst_video_event_new_upstream_force_key_unit(
	                                                GST_CLOCK_TIME_NONE, TRUE, 0));
}

void gb_stream_refresh(struct gb_stream *stream)
{
	const struct gb_capture_target *target;

	if (!stream->capture_active)
		return;
	stream->capture_ops->repeat_frame(stream->capture);
	target = gb_capture_host_target(stream->capture_host);
	target->damage_all(target);
}

void gb_stream_build_info(struct gb_stream *stream, JsonBuilder *builder)
{
	json_builder_set_member_name(builder, "codec");
	json_builder_add_string_value(builder, gb_codec_name(stream->choice.codec));
	json_builder_set_member_name(builder, "encoder");
	json_builder_add_string_value(builder, encoder_name(stream));
	json_builder_set_member_name(builder, "width");
	json_builder_add_int_value(builder, stream->session->output->width);
	json_builder_set_member_name(builder, "height");
	json_builder_add_int_value(builder, stream->session->output->height);
	if (stream->choice.fallback[0]) {
		json_builder_set_member_name(builder, "fallback");
		json_builder_add_string_value(builder, stream->choice.fallback);
	}
}

void gb_stream_add_peer(struct gb_stream *stream, struct gb_peer_entry *entry)
{
	wl_list_insert(stream->peers.prev, &entry->link);
	stream->n_peers++;
}

void gb_stream_remove_peer(struct gb_stream *stream, struct gb_peer_entry *entry)
{
	wl_list_remove(&entry->link);
	stream->n_peers--;
}

/* After every repaint: tell the viewers when the output changed size. */
static void size_frame(struct gb_frame_listener *listener, struct weston_output *output,
                       const pixman_region32_t *damage, const struct timespec *time)
{
	struct gb_stream *stream = wl_container_of(listener, stream, size_listener);
	struct gb_peer_entry *entry;

	if (output->width == stream->width && output->height == stream->height)
		return;
	gb_info("stream: output now %dx%d", output->width, output->height);
	stream->width = output->width;
	stream->height = output->height;
	wl_list_for_each (entry, &stream->peers, link)
		gb_peer_send_info(entry->peer);
}

size_t gb_stream_format_stats(struct gb_session *session, char *buffer, size_t size)
{
	static const unsigned bounds[] = { GB_LATENCY_REPORT_BOUNDS_MS };
	struct gb_stream *stream = session->stream;
	double rtt;
	int n;

	if (size == 0)
		return 0;
	buffer[0] = '\0';
	if (!stream)
		return 0;
	n = snprintf(buffer, size,
	             " viewers=%d codec=%s encoder=%s encoders=%d frames_encoded=%llu "
	             "keyframes=%llu keyframe_requests=%llu fps=%.1f bitrate_kbps=%.0f "
	             "latency_p50_ms=%.2f latency_p95_ms=%.2f latency_frames=%llu",
	             stream->n_peers,
	             stream->chosen ? gb_codec_name(stream->choice.codec) : "none",
	             encoder_name(stream), stream->encoders_created,
	             (unsigned long long)atomic_load(&stream->frames_encoded),
	             (unsigned long long)atomic_load(&stream->keyframes_encoded),
	             (unsigned long long)atomic_load(&stream->keyframe_requests),
	             stream->n_attached ? stream->fps : 0.0,
	             stream->n_attached ? stream->bitrate_kbps : 0.0,
	             gb_latency_percentile_ms(&stream->latency, 0.5),
	             gb_latency_percentile_ms(&stream->latency, 0.95),
	             (unsigned long long)gb_latency_count(&stream->latency));
	if (n < 0) {
		buffer[0] = '\0';
		return 0;
	}
	/* For /metrics: cumulative counts below fixed bounds, their sum, and the RTT. */
	for (size_t i = 0; i < G_N_ELEMENTS(bounds) && (size_t)n < size; i++) {
		int m = snprintf(
		        buffer + n, size - (size_t)n, "%s%u:%llu",
		        i ? "," : " latency_buckets_ms=", bounds[i],
		        (unsigned long long)gb_latency_count_below(&stream->latency, bounds[i]));
		if (m < 0)
			break;
		n += m;
	}
	if ((size_t)n < size) {
		int m = snprintf(buffer + n, size - (size_t)n, " latency_sum_ms=%.3f",
		                 (double)atomic_load(&stream->latency.sum_ns) / 1e6);
		n += m > 0 ? m : 0;
	}
	rtt = rtt_ms(stream);
	if (rtt >= 0 && (size_t)n < size) {
		int m = snprintf(buffer + n, size - (size_t)n, " rtt_ms=%.3f", rtt);
		n += m > 0 ? m : 0;
	}
	return (size_t)n < size ? (size_t)n : size - 1;
}

int gb_stream_create(struct gb_session *session)
{
	static bool gstreamer_ready;
	struct gb_stream *stream;
	GError *error = NULL;

	if (!gstreamer_ready) {
		if (!gst_init_check(NULL, NULL, &error)) {
			gb_error("cannot start GStreamer: %s", error ? error->message : "?");
			g_clear_error(&error);
			return -EIO;
		}
		gstreamer_ready = true;
	}
	stream = calloc(1, sizeof(*stream));
	if (!stream)
		return -ENOMEM;
	stream->session = session;
	stream->wake_fd = -1;
	g_mutex_init(&stream->events_lock);
	g_mutex_init(&stream->captured_lock);
	wl_list_init(&stream->peers);
	wl_list_init(&stream->dying_branches);
	wl_list_init(&stream->size_listener.link);
	session->stream = stream;

	stream->capture_meta_caps = gst_caps_from_string(GB_CAPTURE_TIMESTAMP_CAPS);
	stream->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (stream->wake_fd < 0 || !stream->capture_meta_caps)
		return -errno ? -errno : -ENOMEM;
	stream->wake_source = wl_event_loop_add_fd(session->loop, stream->wake_fd,
	                                           WL_EVENT_READABLE, stream_wake, stream);
	if (!stream->wake_source)
		return -ENOMEM;

	stream->width = session->output->width;
	stream->height = session->output->height;
	stream->size_listener.frame = size_frame;
	gb_session_add_frame_listener(session, &stream->size_listener);

	stream->warm_up = g_thread_try_new("gb-dtls-warm-up", warm_up_dtls, NULL, NULL);
	if (!stream->warm_up)
		gb_warning("stream: cannot start the DTLS warm-up thread; the first viewer waits "
		           "for the certificate");
	return 0;
}

void gb_stream_destroy(struct gb_session *session)
{
	struct gb_stream *stream = session->stream;
	struct gb_stream_event *event, *next;

	if (!stream)
		return;
	if (stream->n_peers > 0)
		gb_warning("stream: %d viewers still there at shutdown", stream->n_peers);
	wl_list_remove(&stream->size_listener.link);
	teardown_pipeline(stream);
	for (event = take_events(stream); event; event = next) {
		next = event->next;
		event_free(event);
	}
	if (stream->warm_up)
		g_thread_join(stream->warm_up);
	if (stream->wake_source)
		wl_event_source_remove(stream->wake_source);
	if (stream->wake_fd >= 0)
		close(stream->wake_fd);
	if (stream->capture_meta_caps)
		gst_caps_unref(stream->capture_meta_caps);
	g_mutex_clear(&stream->events_lock);
	g_mutex_clear(&stream->captured_lock);
	session->stream = NULL;
	free(stream);
}
