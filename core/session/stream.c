/* SPDX-License-Identifier: MIT */
/*
 * The session's stream: one pipeline, built when the first viewer says
 * hello, with the capture plugin's source, the chosen encoder plugin's bin
 * and a tee every viewer's branch hangs off (see stream.h). Nothing is
 * captured or encoded while no viewer is attached.
 *
 * GStreamer's threads hand work back through the hand-off (handoff.h). The
 * pipeline's bus is read through the fd GstBus offers for other main loops
 * (gst_bus_get_pollfd()). No GMainLoop runs in this process. Latency is
 * measured by latency.c, on probes this file puts on the pipeline.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gst/video/video.h>
#include <libweston/libweston.h>

#include <glassbox/capture.h>

#include "capture-target.h"
#include "compositor.h"
#include "encoder-choice.h"
#include "error.h"
#include "gst-util.h"
#include "handoff.h"
#include "latency.h"
#include "log.h"
#include "stream.h"

#define STATS_INTERVAL_MS 1000

struct gb_stream {
	struct gb_session *session;
	struct gb_handoff *handoff;

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

	struct wl_list listeners; /* gb_stream_listener.link: one per viewer */
	int n_listeners;
	int n_attached; /* branches on the tee */
	struct wl_list dying_branches;
	uint64_t next_branch_id;

	struct wl_event_source *idle_timer;
	struct wl_event_source *stats_timer;

	struct gb_frame_listener size_listener;
	int width, height;

	struct gb_latency_meter *latency;

	/* written on streaming threads */
	_Atomic int64_t last_push_ns;
	_Atomic uint64_t frames_captured;
	_Atomic uint64_t frames_encoded;
	_Atomic uint64_t bytes_encoded;
	_Atomic uint64_t keyframes_encoded;
	_Atomic uint64_t keyframe_requests; /* from viewers: PLI, FIR */

	/* main loop */
	double fps;
	double bitrate_kbps;
	uint64_t sample_frames, sample_bytes;
	int64_t sample_ns;
};

/*
 * The part of a branch that GStreamer's threads may see. It is reference
 * counted (every probe, signal handler and promise holds a reference) so
 * that it outlives them whatever the order of teardown; @branch is read and
 * written on the main loop only, and is NULL once the branch is detached.
 */
struct gb_branch_shared {
	gatomicrefcount refs;
	struct gb_stream *stream;
	struct gb_branch *branch; /* main loop only */
	struct gb_latency_probe *latency;

	/*
	 * Buffers entering the branch: GATE_FIRST lets the first one through
	 * (webrtcbin needs its caps to make an offer) then closes; once the
	 * peer is connected, GATE_KEYFRAME opens it at the next keyframe. In
	 * between, nothing queues up that would reach the browser late, and
	 * the browser never starts on a frame it cannot decode.
	 */
	gint gate;
	/* round-trip time from webrtcbin's remote-inbound-rtp stats, -1 unknown */
	_Atomic int64_t rtt_us;
};

enum gate {
	GATE_FIRST = 0,
	GATE_CLOSED = 1,
	GATE_KEYFRAME = 2, /* connected: open at the next keyframe */
	GATE_OPEN = 3,
};

/* What the stream's GStreamer callbacks hand to the main loop. */
struct stream_event {
	struct gb_handoff_item item;
	enum stream_event_type {
		EVENT_BRANCH_UNLINKED, /* branch_id is off the tee */
		EVENT_BRANCH_OVERRUN,  /* shared's queue overran */
	} type;
	struct gb_stream *stream;
	uint64_t branch_id;
	struct gb_branch_shared *shared; /* a reference, or NULL */
};

static int64_t now_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

/* --- branches' shared part and the hand-off --------------------------------------------- */

static GQuark branch_quark(void)
{
	return g_quark_from_static_string("glassbox-branch");
}

static struct gb_branch_shared *branch_shared_new(struct gb_stream *stream)
{
	struct gb_branch_shared *shared = g_try_new0(struct gb_branch_shared, 1);

	if (!shared)
		return NULL;
	g_atomic_ref_count_init(&shared->refs);
	shared->stream = stream;
	shared->gate = GATE_FIRST;
	atomic_init(&shared->rtt_us, -1);
	shared->latency = gb_latency_probe_new(stream->latency);
	if (!shared->latency) {
		g_free(shared);
		return NULL;
	}
	return shared;
}

static gpointer branch_shared_ref(gpointer data)
{
	struct gb_branch_shared *shared = data;

	g_atomic_ref_count_inc(&shared->refs);
	return shared;
}

static void branch_shared_unref(gpointer data)
{
	struct gb_branch_shared *shared = data;

	if (!shared || !g_atomic_ref_count_dec(&shared->refs))
		return;
	gb_latency_probe_unref(shared->latency);
	g_free(shared);
}

static void finish_branch(struct gb_stream *stream, uint64_t branch_id);

static void stream_event_run(struct gb_handoff_item *item)
{
	struct stream_event *event = wl_container_of(item, event, item);
	struct gb_branch *branch = event->shared ? event->shared->branch : NULL;

	if (event->type == EVENT_BRANCH_UNLINKED)
		finish_branch(event->stream, event->branch_id);
	else if (branch && branch->events->overrun)
		branch->events->overrun(branch->data);
}

static void stream_event_free(struct gb_handoff_item *item)
{
	struct stream_event *event = wl_container_of(item, event, item);

	branch_shared_unref(event->shared);
	g_free(event);
}

/* Any thread. */
static void post(struct gb_stream *stream, enum stream_event_type type, uint64_t branch_id,
                 struct gb_branch_shared *shared)
{
	struct stream_event *event = g_new0(struct stream_event, 1);

	event->item.run = stream_event_run;
	event->item.free = stream_event_free;
	event->type = type;
	event->stream = stream;
	event->branch_id = branch_id;
	event->shared = shared ? branch_shared_ref(shared) : NULL;
	gb_handoff_post(stream->handoff, &event->item);
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

/* Raw frames entering the encoder: that one came, for the idle refresh and the figures. */
static GstPadProbeReturn on_raw_frame(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	struct gb_stream *stream = data;

	if (info->type & (GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST)) {
		atomic_store(&stream->last_push_ns, now_ns());
		atomic_fetch_add(&stream->frames_captured, 1);
	}
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
	gb_gst_probe_foreach_buffer(info, count_encoded, data);
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

/* The queue's sink pad: see enum gate. */
static GstPadProbeReturn on_branch_buffer(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	struct gb_branch_shared *shared = data;
	GstBuffer *buffer;

	switch (g_atomic_int_get(&shared->gate)) {
	case GATE_OPEN:
		return GST_PAD_PROBE_OK;
	case GATE_FIRST:
		if (g_atomic_int_compare_and_exchange(&shared->gate, GATE_FIRST, GATE_CLOSED))
			return GST_PAD_PROBE_OK;
		return GST_PAD_PROBE_DROP;
	case GATE_KEYFRAME:
		buffer = gb_gst_probe_first_buffer(info);
		if (buffer && !GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT) &&
		    g_atomic_int_compare_and_exchange(&shared->gate, GATE_KEYFRAME, GATE_OPEN)) {
			/* Frames held back while connecting would count their wait. */
			gb_latency_probe_start(shared->latency);
			return GST_PAD_PROBE_OK;
		}
		return GST_PAD_PROBE_DROP;
	default:
		return GST_PAD_PROBE_DROP;
	}
}

static void on_queue_overrun(GstElement *queue, gpointer data)
{
	struct gb_branch_shared *shared = data;

	post(shared->stream, EVENT_BRANCH_OVERRUN, 0, shared);
}

static void closure_unref_shared(gpointer data, GClosure *closure)
{
	branch_shared_unref(data);
}

/* --- branches (main loop) ------------------------------------------------------------------ */

struct gb_branch *gb_stream_branch_new(struct gb_stream *stream,
                                       const struct gb_branch_events *events, void *data)
{
	struct gb_branch *branch = calloc(1, sizeof(*branch));

	if (!branch)
		return NULL;
	branch->shared = branch_shared_new(stream);
	if (!branch->shared) {
		free(branch);
		errno = ENOMEM;
		return NULL;
	}
	branch->shared->branch = branch;
	branch->latency = branch->shared->latency;
	branch->stream = stream;
	branch->events = events;
	branch->data = data;
	wl_list_init(&branch->link);
	return branch;
}

void gb_stream_watch_branch(struct gb_stream *stream, struct gb_branch *branch)
{
	GstPad *pad;

	g_object_set_qdata_full(G_OBJECT(branch->webrtcbin), branch_quark(),
	                        branch_shared_ref(branch->shared), branch_shared_unref);
	pad = gst_element_get_static_pad(branch->queue, "sink");
	if (pad) {
		gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
		                  on_branch_buffer, branch_shared_ref(branch->shared),
		                  branch_shared_unref);
		gst_object_unref(pad);
	}
	gb_latency_probe_watch(branch->latency, branch->payloader, branch->webrtcbin);
	g_signal_connect_data(branch->queue, "overrun", G_CALLBACK(on_queue_overrun),
	                      branch_shared_ref(branch->shared), closure_unref_shared, 0);
}

void gb_stream_open_branch(struct gb_branch *branch)
{
	g_atomic_int_set(&branch->shared->gate, GATE_KEYFRAME);
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
	struct gb_stream_listener *listener, *next;

	if (stream->failed)
		return;
	stream->failed = true;
	gb_error("stream: %s; closing every viewer", what);
	wl_list_for_each_safe (listener, next, &stream->listeners, link)
		listener->events->failed(listener->data);
}

static void handle_bus_message(struct gb_stream *stream, GstMessage *message)
{
	struct gb_branch_shared *shared;
	GError *error = NULL;
	gchar *debug = NULL;
	char what[512];

	switch (GST_MESSAGE_TYPE(message)) {
	case GST_MESSAGE_ERROR:
		gst_message_parse_error(message, &error, &debug);
		shared = gb_gst_find_qdata(GST_MESSAGE_SRC(message), branch_quark(),
		                           branch_shared_ref);
		snprintf(what, sizeof(what), "%s: %s", GST_MESSAGE_SRC_NAME(message),
		         error ? error->message : "error");
		gb_debug("stream: error details: %s", debug ? debug : "none");
		if (shared && shared->branch && shared->branch->events->error)
			shared->branch->events->error(shared->branch->data, what);
		else if (!shared)
			fail_stream(stream, what);
		branch_shared_unref(shared);
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
	struct gb_branch_shared *shared = data;
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
		struct gb_branch_shared *shared =
		        g_object_get_qdata(G_OBJECT(element), branch_quark());

		if (shared && shared->branch) {
			GstPromise *promise = gst_promise_new_with_change_func(
			        rtt_received, branch_shared_ref(shared), branch_shared_unref);

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
		struct gb_branch_shared *shared =
		        g_object_get_qdata(G_OBJECT(g_value_get_object(&item)), branch_quark());
		int64_t rtt = shared && shared->branch ? atomic_load(&shared->rtt_us) : -1;

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
	branch_shared_unref(branch->shared);
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
		gb_latency_meter_unwatch_pipeline(stream->latency, stream->pipeline);
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

/* The capture plugin's source, in the pipeline as *@source. */
static int start_capture(struct gb_stream *stream, GstElement **source, char *error,
                         size_t error_size)
{
	char plugin_error[256] = "";

	*source = NULL;
	stream->capture = stream->capture_ops->start(stream->capture_plugin->state,
	                                             gb_capture_host_target(stream->capture_host),
	                                             source, plugin_error, sizeof(plugin_error));
	plugin_error[sizeof(plugin_error) - 1] = '\0';
	if (!stream->capture || !*source) {
		gb_error("stream: capture plugin %s cannot start: %s",
		         stream->capture_plugin->descriptor->name,
		         plugin_error[0] ? plugin_error : "no reason");
		gb_error_set(error, error_size, "the capture cannot start");
		if (*source)
			gst_object_unref(gst_object_ref_sink(*source));
		return -EIO;
	}
	gst_bin_add(GST_BIN(stream->pipeline), *source);
	return 0;
}

/* The chosen encoder plugin's bin for @params, in the pipeline as *@encoder. */
static int start_encoder(struct gb_stream *stream, const struct gb_encoder_params *params,
                         GstElement **encoder, char *error, size_t error_size)
{
	const struct gb_encoder_choice *choice = &stream->choice;
	char plugin_error[256] = "";

	*encoder = choice->ops->create_bin(choice->plugin->state, params, plugin_error,
	                                   sizeof(plugin_error));
	plugin_error[sizeof(plugin_error) - 1] = '\0';
	if (!*encoder) {
		gb_error("stream: encoder %s cannot start: %s", choice->plugin->descriptor->name,
		         plugin_error[0] ? plugin_error : "no reason");
		gb_error_set(error, error_size, "the encoder cannot start");
		return -EIO;
	}
	gst_bin_add(GST_BIN(stream->pipeline), *encoder);
	stream->encoders_created++;
	return 0;
}

/* The tee the viewers' branches hang off, linked after @encoder. */
static int add_tee(struct gb_stream *stream, GstElement *source, GstElement *encoder, char *error,
                   size_t error_size)
{
	stream->tee = gst_element_factory_make("tee", "tee");
	if (!stream->tee) {
		gb_error_set(error, error_size, "no tee element");
		return -EIO;
	}
	/* Viewers come and go; the encoder must not stop when none is linked. */
	g_object_set(stream->tee, "allow-not-linked", TRUE, NULL);
	gst_bin_add(GST_BIN(stream->pipeline), stream->tee);

	if (!gst_element_link(source, encoder) || !gst_element_link(encoder, stream->tee)) {
		gb_error("stream: cannot link capture %s -> encoder %s -> tee",
		         stream->capture_plugin->descriptor->name,
		         stream->choice.plugin->descriptor->name);
		gb_error_set(error, error_size, "the capture and the encoder do not fit together");
		return -EIO;
	}
	return 0;
}

/* The figures' probes around the encoder and the tee, and the latency measurement. */
static int watch_encoder(struct gb_stream *stream, GstElement *encoder, char *error,
                         size_t error_size)
{
	GstPad *encoder_sink = NULL;

	if (!add_probe(encoder, "sink", GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
	               on_raw_frame, stream, &encoder_sink) ||
	    !add_probe(encoder, "src", GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
	               on_encoded, stream, &stream->encoder_src) ||
	    !add_probe(stream->tee, "sink", GST_PAD_PROBE_TYPE_EVENT_UPSTREAM, on_upstream_event,
	               stream, NULL)) {
		if (encoder_sink)
			gst_object_unref(encoder_sink);
		gb_error_set(error, error_size, "the encoder bin has no sink or src pad");
		return -EIO;
	}
	gb_latency_meter_watch_encoder(stream->latency, encoder_sink);
	gst_object_unref(encoder_sink);
	gb_latency_meter_watch_pipeline(stream->latency, stream->pipeline);
	return 0;
}

/* The pipeline's bus, read on the main loop through its fd. */
static int watch_bus(struct gb_stream *stream, char *error, size_t error_size)
{
	GPollFD poll_fd;

	stream->bus = gst_pipeline_get_bus(GST_PIPELINE(stream->pipeline));
	gst_bus_get_pollfd(stream->bus, &poll_fd);
	stream->bus_source = wl_event_loop_add_fd(stream->session->loop, poll_fd.fd,
	                                          WL_EVENT_READABLE, bus_readable, stream);
	if (!stream->bus_source) {
		gb_error_set(error, error_size, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static int build_pipeline(struct gb_stream *stream, char *error, size_t error_size)
{
	struct gb_session *session = stream->session;
	const struct gb_webrtc_config *webrtc = &session->config->webrtc;
	struct gb_encoder_params params = { .struct_size = sizeof(params) };
	const struct gb_encoder_choice *choice = &stream->choice;
	GstElement *source, *encoder;

	stream->capture_plugin = find_capture_plugin(session->plugins);
	if (!stream->capture_plugin) {
		gb_error("stream: no capture plugin loaded (a drop-in with kind = capture)");
		gb_error_set(error, error_size, "this session has no capture plugin");
		return -ENOENT;
	}
	stream->capture_ops = stream->capture_plugin->descriptor->ops;
	stream->pipeline = gst_pipeline_new("glassbox-stream");
	stream->capture_host = gb_capture_host_create(session);
	stream->idle_timer = wl_event_loop_add_timer(session->loop, idle_tick, stream);
	stream->stats_timer = wl_event_loop_add_timer(session->loop, stats_tick, stream);
	if (!stream->pipeline || !stream->capture_host || !stream->idle_timer ||
	    !stream->stats_timer) {
		gb_error_set(error, error_size, "out of memory");
		goto fail;
	}

	params.width = (uint32_t)session->output->width;
	params.height = (uint32_t)session->output->height;
	params.max_fps = (uint32_t)webrtc->max_fps;
	params.bitrate_kbps = (uint32_t)webrtc->bitrate_kbps;
	if (start_capture(stream, &source, error, error_size) < 0 ||
	    start_encoder(stream, &params, &encoder, error, error_size) < 0 ||
	    add_tee(stream, source, encoder, error, error_size) < 0 ||
	    watch_encoder(stream, encoder, error, error_size) < 0 ||
	    watch_bus(stream, error, error_size) < 0)
		goto fail;

	atomic_store(&stream->last_push_ns, now_ns());
	if (gst_element_set_state(stream->pipeline, GST_STATE_PLAYING) ==
	    GST_STATE_CHANGE_FAILURE) {
		gb_error("stream: the pipeline does not start (capture %s, encoder %s)",
		         stream->capture_plugin->descriptor->name,
		         choice->plugin->descriptor->name);
		bus_readable(-1, 0, stream); /* log what the elements said */
		gb_error_set(error, error_size, "the stream cannot start");
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
			gb_error_set(error, error_size, "the stream is restarting; try again");
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
	GstPad *peer = gst_pad_get_peer(pad);

	if (peer) {
		gst_pad_unlink(pad, peer);
		gst_object_unref(peer);
	}
	post(branch->stream, EVENT_BRANCH_UNLINKED, branch->id, NULL);
	return GST_PAD_PROBE_REMOVE;
}

void gb_stream_detach_branch(struct gb_stream *stream, struct gb_branch *branch)
{
	/* Its owner is gone: nothing more is told. */
	branch->shared->branch = NULL;
	branch->events = NULL;
	branch->data = NULL;
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
	branch->id = ++stream->next_branch_id;
	post(stream, EVENT_BRANCH_UNLINKED, branch->id, NULL);
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

void gb_stream_add_listener(struct gb_stream *stream, struct gb_stream_listener *listener,
                            const struct gb_stream_events *events, void *data)
{
	listener->events = events;
	listener->data = data;
	wl_list_insert(stream->listeners.prev, &listener->link);
	stream->n_listeners++;
}

void gb_stream_remove_listener(struct gb_stream *stream, struct gb_stream_listener *listener)
{
	wl_list_remove(&listener->link);
	wl_list_init(&listener->link);
	stream->n_listeners--;
}

/* After every repaint: tell the viewers when the output changed size. */
static void size_frame(struct gb_frame_listener *frame_listener, struct weston_output *output,
                       const pixman_region32_t *damage, const struct timespec *time)
{
	struct gb_stream *stream = wl_container_of(frame_listener, stream, size_listener);
	struct gb_stream_listener *listener, *next;

	if (output->width == stream->width && output->height == stream->height)
		return;
	gb_info("stream: output now %dx%d", output->width, output->height);
	stream->width = output->width;
	stream->height = output->height;
	wl_list_for_each_safe (listener, next, &stream->listeners, link)
		listener->events->resized(listener->data);
}

size_t gb_stream_format_stats(struct gb_stream *stream, char *buffer, size_t size)
{
	static const unsigned bounds[] = { GB_LATENCY_REPORT_BOUNDS_MS };
	struct gb_latency *latency;
	double rtt;
	int n;

	if (size == 0)
		return 0;
	buffer[0] = '\0';
	if (!stream)
		return 0;
	latency = gb_latency_meter_total(stream->latency);
	n = snprintf(
	        buffer, size,
	        " viewers=%d codec=%s encoder=%s encoders=%d frames_encoded=%llu "
	        "keyframes=%llu keyframe_requests=%llu fps=%.1f bitrate_kbps=%.0f "
	        "latency_p50_ms=%.2f latency_p95_ms=%.2f latency_frames=%llu",
	        stream->n_listeners, stream->chosen ? gb_codec_name(stream->choice.codec) : "none",
	        encoder_name(stream), stream->encoders_created,
	        (unsigned long long)atomic_load(&stream->frames_encoded),
	        (unsigned long long)atomic_load(&stream->keyframes_encoded),
	        (unsigned long long)atomic_load(&stream->keyframe_requests),
	        stream->n_attached ? stream->fps : 0.0,
	        stream->n_attached ? stream->bitrate_kbps : 0.0,
	        gb_latency_percentile_ms(latency, 0.5), gb_latency_percentile_ms(latency, 0.95),
	        (unsigned long long)gb_latency_count(latency));
	if (n < 0) {
		buffer[0] = '\0';
		return 0;
	}
	/* For /metrics: cumulative counts below fixed bounds, their sum, and the RTT. */
	for (size_t i = 0; i < G_N_ELEMENTS(bounds) && (size_t)n < size; i++) {
		int m = snprintf(buffer + n, size - (size_t)n, "%s%u:%llu",
		                 i ? "," : " latency_buckets_ms=", bounds[i],
		                 (unsigned long long)gb_latency_count_below(latency, bounds[i]));
		if (m < 0)
			break;
		n += m;
	}
	if ((size_t)n < size) {
		int m = snprintf(buffer + n, size - (size_t)n, " latency_sum_ms=%.3f",
		                 (double)atomic_load(&latency->sum_ns) / 1e6);
		n += m > 0 ? m : 0;
	}
	rtt = rtt_ms(stream);
	if (rtt >= 0 && (size_t)n < size) {
		int m = snprintf(buffer + n, size - (size_t)n, " rtt_ms=%.3f", rtt);
		n += m > 0 ? m : 0;
	}
	return (size_t)n < size ? (size_t)n : size - 1;
}

int gb_stream_create(struct gb_session *session, struct gb_handoff *handoff)
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
	stream->handoff = handoff;
	wl_list_init(&stream->listeners);
	wl_list_init(&stream->dying_branches);
	wl_list_init(&stream->size_listener.link);
	session->stream = stream;

	stream->latency = gb_latency_meter_new();
	if (!stream->latency)
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

	if (!stream)
		return;
	if (stream->n_listeners > 0)
		gb_warning("stream: %d viewers still there at shutdown", stream->n_listeners);
	wl_list_remove(&stream->size_listener.link);
	teardown_pipeline(stream);
	if (stream->warm_up)
		g_thread_join(stream->warm_up);
	gb_latency_meter_free(stream->latency);
	session->stream = NULL;
	free(stream);
}
