/* SPDX-License-Identifier: MIT */
/*
 * Latency measurement: from the time a frame was rendered (the capture
 * plugin's GstReferenceTimestampMeta, CLOCK_MONOTONIC) to the time the RTP
 * packet carrying its last bytes enters a viewer's nicesink (see latency.c).
 *
 * A meter is the stream's part: when each raw frame entering the encoder
 * was rendered, and the histogram of every viewer's frames. A probe is one
 * branch's part: which RTP timestamp carries which frame, and that viewer's
 * histogram. Their probes run on GStreamer's threads; everything here is
 * thread-safe unless marked "main loop".
 */
#ifndef GB_LATENCY_H
#define GB_LATENCY_H

#include <stdatomic.h>
#include <stdint.h>

#include <gst/gst.h>

/* --- the histogram ------------------------------------------------------------------------ */

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

/* --- the stream's meter --------------------------------------------------------------- */

struct gb_latency_meter;

/** NULL with errno set on failure. */
struct gb_latency_meter *gb_latency_meter_new(void);
/** Once nothing streams any more (the pipeline is stopped). NULL is fine. */
void gb_latency_meter_free(struct gb_latency_meter *meter);
/** Every viewer's frames. */
struct gb_latency *gb_latency_meter_total(struct gb_latency_meter *meter);
/** Main loop: note when each raw frame reaching @encoder_sink (a pad) was rendered. */
void gb_latency_meter_watch_encoder(struct gb_latency_meter *meter, GstPad *encoder_sink);
/** Main loop: find the nicesinks webrtcbins make inside @pipeline, for their probes. */
void gb_latency_meter_watch_pipeline(struct gb_latency_meter *meter, GstElement *pipeline);
void gb_latency_meter_unwatch_pipeline(struct gb_latency_meter *meter, GstElement *pipeline);

/* --- a branch's probe ------------------------------------------------------------------- */

/* Reference counted: the pad probes that use it hold references. */
struct gb_latency_probe;

/** NULL on failure; @meter must outlive it and every pad it watches. */
struct gb_latency_probe *gb_latency_probe_new(struct gb_latency_meter *meter);
struct gb_latency_probe *gb_latency_probe_ref(struct gb_latency_probe *probe);
/** A GDestroyNotify; NULL is fine. */
void gb_latency_probe_unref(gpointer probe);
/**
 * Main loop, before any buffer flows: measure the frames leaving @payloader
 * (its src pad) until they enter the nicesink @webrtcbin makes.
 */
void gb_latency_probe_watch(struct gb_latency_probe *probe, GstElement *payloader,
                            GstElement *webrtcbin);
/**
 * Count the frames from now on; before, frames held back while the viewer
 * connected would count their wait as latency.
 */
void gb_latency_probe_start(struct gb_latency_probe *probe);
/** This branch's frames; a @probe of NULL has none. */
struct gb_latency *gb_latency_probe_latency(struct gb_latency_probe *probe);
/** Frames whose last packet reached the network. */
int gb_latency_probe_frames(struct gb_latency_probe *probe);

#endif
