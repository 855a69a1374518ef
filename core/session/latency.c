/* SPDX-License-Identifier: MIT */
/*
 * Latency measurement (latency.h). A frame is known by its running time as
 * it enters the encoder: that survives the encoder, which may shift
 * timestamps (x264enc's output starts at 1000 hours) and drops the capture
 * meta. The payloader's output maps RTP timestamps to those frames; the
 * last packet of a frame is timed as it enters webrtcbin's nicesink, after
 * RTP session, SRTP and the DTLS element's queue: the last point where
 * GStreamer still holds it before the kernel. The payloader's source pad
 * would miss dtlssrtpenc's thread hand-off; the packets are SRTP there,
 * but RTP headers stay in the clear, so the marker bit and timestamp still
 * identify a frame's last packet.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gst/rtp/rtp.h>

#include <glassbox/capture.h>

#include "gst-util.h"
#include "latency.h"

#define CAPTURED_MAX 64
#define SENT_MAX     64

struct gb_latency_meter {
	GstCaps *capture_meta_caps;
	struct gb_latency total;
	GMutex lock;
	struct {
		GstClockTime running_time;
		int64_t capture_ns;
	} captured[CAPTURED_MAX];
	unsigned captured_next;
};

struct gb_latency_probe {
	gatomicrefcount refs;
	struct gb_latency_meter *meter;
	gint counting; /* gb_latency_probe_start() was called */

	/* RTP timestamp -> capture time of the last frames sent */
	GMutex lock;
	struct {
		uint32_t rtp_timestamp;
		int64_t capture_ns; /* 0: free */
	} sent[SENT_MAX];
	unsigned sent_next;
	struct gb_latency latency;
	gint frames_sent; /* last packets of frames that reached the network */
};

static int64_t now_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

/* --- the histogram ------------------------------------------------------------------------ */

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

/* --- probes (streaming threads) --------------------------------------------------------- */

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

/* Raw frames entering the encoder: when they were rendered. */
static GstPadProbeReturn on_raw_frame(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	struct gb_latency_meter *meter = data;
	GstBuffer *buffer = gb_gst_probe_first_buffer(info);
	GstReferenceTimestampMeta *meta;
	int64_t now = now_ns(), capture_ns = now;
	GstClockTime running_time;

	if (!buffer)
		return GST_PAD_PROBE_OK;
	meta = gst_buffer_get_reference_timestamp_meta(buffer, meter->capture_meta_caps);
	if (meta && meta->timestamp != GST_CLOCK_TIME_NONE && (int64_t)meta->timestamp <= now)
		capture_ns = (int64_t)meta->timestamp;
	running_time = running_time_of(pad, buffer);
	if (running_time == GST_CLOCK_TIME_NONE)
		return GST_PAD_PROBE_OK;
	g_mutex_lock(&meter->lock);
	meter->captured[meter->captured_next % CAPTURED_MAX].running_time = running_time;
	meter->captured[meter->captured_next % CAPTURED_MAX].capture_ns = capture_ns;
	meter->captured_next++;
	g_mutex_unlock(&meter->lock);
	return GST_PAD_PROBE_OK;
}

static int64_t capture_time_of(struct gb_latency_meter *meter, GstClockTime running_time)
{
	int64_t capture_ns = 0;

	if (running_time == GST_CLOCK_TIME_NONE)
		return 0;
	g_mutex_lock(&meter->lock);
	for (unsigned i = 0; i < CAPTURED_MAX && i < meter->captured_next; i++) {
		unsigned slot = (meter->captured_next - 1 - i) % CAPTURED_MAX;

		if (meter->captured[slot].running_time == running_time) {
			capture_ns = meter->captured[slot].capture_ns;
			break;
		}
	}
	g_mutex_unlock(&meter->lock);
	return capture_ns;
}

struct payloaded {
	struct gb_latency_probe *probe;
	GstPad *pad;
};

/* The payloader's output: remember which RTP timestamp carries which frame. */
static gboolean note_rtp_packet(GstBuffer **buffer, guint index, gpointer data)
{
	struct payloaded *payloaded = data;
	struct gb_latency_probe *probe = payloaded->probe;
	GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
	uint32_t timestamp;
	int64_t capture_ns;
	bool marker;

	if (!gst_rtp_buffer_map(*buffer, GST_MAP_READ, &rtp))
		return TRUE;
	marker = gst_rtp_buffer_get_marker(&rtp);
	timestamp = gst_rtp_buffer_get_timestamp(&rtp);
	gst_rtp_buffer_unmap(&rtp);
	if (!marker || !g_atomic_int_get(&probe->counting))
		return TRUE;
	capture_ns = capture_time_of(probe->meter, running_time_of(payloaded->pad, *buffer));
	if (capture_ns == 0)
		return TRUE;
	g_mutex_lock(&probe->lock);
	probe->sent[probe->sent_next % SENT_MAX].rtp_timestamp = timestamp;
	probe->sent[probe->sent_next % SENT_MAX].capture_ns = capture_ns;
	probe->sent_next++;
	g_mutex_unlock(&probe->lock);
	return TRUE;
}

static GstPadProbeReturn on_payloaded(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	struct payloaded payloaded = { data, pad };

	gb_gst_probe_foreach_buffer(info, note_rtp_packet, &payloaded);
	return GST_PAD_PROBE_OK;
}

/* Packets entering nicesink: (S)RTP, RTCP, DTLS and STUN all come this way. */
static gboolean note_network_packet(GstBuffer **buffer, guint index, gpointer data)
{
	struct gb_latency_probe *probe = data;
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
	g_mutex_lock(&probe->lock);
	for (size_t i = 0; i < SENT_MAX; i++) {
		if (probe->sent[i].capture_ns && probe->sent[i].rtp_timestamp == timestamp) {
			capture_ns = probe->sent[i].capture_ns;
			probe->sent[i].capture_ns = 0; /* a retransmission is not a new frame */
			break;
		}
	}
	g_mutex_unlock(&probe->lock);
	if (capture_ns == 0)
		return TRUE;
	now = now_ns();
	gb_latency_add(&probe->latency, now - capture_ns);
	gb_latency_add(&probe->meter->total, now - capture_ns);
	g_atomic_int_inc(&probe->frames_sent);
	return TRUE;
}

static GstPadProbeReturn on_network_packet(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	gb_gst_probe_foreach_buffer(info, note_network_packet, data);
	return GST_PAD_PROBE_OK;
}

static GQuark probe_quark(void)
{
	return g_quark_from_static_string("glassbox-latency-probe");
}

static gpointer probe_ref(gpointer probe)
{
	return gb_latency_probe_ref(probe);
}

/* Any thread: webrtcbin makes its nicesink when it makes the offer. */
static void on_deep_element_added(GstBin *bin, GstBin *sub_bin, GstElement *element, gpointer data)
{
	GstElementFactory *factory = gst_element_get_factory(element);
	struct gb_latency_probe *probe;
	GstPad *pad;

	if (!factory ||
	    strcmp(gst_plugin_feature_get_name(GST_PLUGIN_FEATURE(factory)), "nicesink") != 0)
		return;
	probe = gb_gst_find_qdata(GST_OBJECT(element), probe_quark(), probe_ref);
	if (!probe)
		return;
	pad = gst_element_get_static_pad(element, "sink");
	if (pad) {
		gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
		                  on_network_packet, gb_latency_probe_ref(probe),
		                  gb_latency_probe_unref);
		gst_object_unref(pad);
	}
	gb_latency_probe_unref(probe);
}

/* --- the meter and the probes ----------------------------------------------------------- */

struct gb_latency_meter *gb_latency_meter_new(void)
{
	struct gb_latency_meter *meter = calloc(1, sizeof(*meter));

	if (!meter)
		return NULL;
	g_mutex_init(&meter->lock);
	meter->capture_meta_caps = gst_caps_from_string(GB_CAPTURE_TIMESTAMP_CAPS);
	if (!meter->capture_meta_caps) {
		gb_latency_meter_free(meter);
		errno = ENOMEM;
		return NULL;
	}
	return meter;
}

void gb_latency_meter_free(struct gb_latency_meter *meter)
{
	if (!meter)
		return;
	if (meter->capture_meta_caps)
		gst_caps_unref(meter->capture_meta_caps);
	g_mutex_clear(&meter->lock);
	free(meter);
}

struct gb_latency *gb_latency_meter_total(struct gb_latency_meter *meter)
{
	return &meter->total;
}

void gb_latency_meter_watch_encoder(struct gb_latency_meter *meter, GstPad *encoder_sink)
{
	gst_pad_add_probe(encoder_sink, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
	                  on_raw_frame, meter, NULL);
}

void gb_latency_meter_watch_pipeline(struct gb_latency_meter *meter, GstElement *pipeline)
{
	g_signal_connect(pipeline, "deep-element-added", G_CALLBACK(on_deep_element_added), meter);
}

void gb_latency_meter_unwatch_pipeline(struct gb_latency_meter *meter, GstElement *pipeline)
{
	g_signal_handlers_disconnect_by_data(pipeline, meter);
}

struct gb_latency_probe *gb_latency_probe_new(struct gb_latency_meter *meter)
{
	struct gb_latency_probe *probe = g_try_new0(struct gb_latency_probe, 1);

	if (!probe)
		return NULL;
	g_atomic_ref_count_init(&probe->refs);
	probe->meter = meter;
	g_mutex_init(&probe->lock);
	return probe;
}

struct gb_latency_probe *gb_latency_probe_ref(struct gb_latency_probe *probe)
{
	g_atomic_ref_count_inc(&probe->refs);
	return probe;
}

void gb_latency_probe_unref(gpointer data)
{
	struct gb_latency_probe *probe = data;

	if (!probe || !g_atomic_ref_count_dec(&probe->refs))
		return;
	g_mutex_clear(&probe->lock);
	g_free(probe);
}

void gb_latency_probe_watch(struct gb_latency_probe *probe, GstElement *payloader,
                            GstElement *webrtcbin)
{
	GstPad *pad = gst_element_get_static_pad(payloader, "src");

	if (pad) {
		gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
		                  on_payloaded, gb_latency_probe_ref(probe),
		                  gb_latency_probe_unref);
		gst_object_unref(pad);
	}
	g_object_set_qdata_full(G_OBJECT(webrtcbin), probe_quark(), gb_latency_probe_ref(probe),
	                        gb_latency_probe_unref);
}

void gb_latency_probe_start(struct gb_latency_probe *probe)
{
	g_atomic_int_set(&probe->counting, 1);
}

struct gb_latency *gb_latency_probe_latency(struct gb_latency_probe *probe)
{
	return &probe->latency;
}

int gb_latency_probe_frames(struct gb_latency_probe *probe)
{
	return g_atomic_int_get(&probe->frames_sent);
}
