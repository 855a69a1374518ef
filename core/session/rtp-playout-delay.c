/* SPDX-License-Identifier: MIT */
/*
 * The playout-delay RTP header extension
 * (http://www.webrtc.org/experiments/rtp-hdrext/playout-delay): the sender
 * tells the receiver the least and most time to hold a frame before showing
 * it. Browsers otherwise size their jitter buffer for smooth video; a remote
 * desktop wants every frame shown at once, so we send min = max = 0.
 *
 * GStreamer 1.22 has no element for it, hence this small
 * GstRTPHeaderExtension. Payload, 3 bytes:
 *
 *    0                   1                   2
 *   |0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3|
 *   |       MIN delay       |       MAX delay       |   (units of 10 ms)
 */
#include <string.h>

#include "rtp-playout-delay.h"

#define PLAYOUT_DELAY_SIZE 3

GType gb_rtp_playout_delay_get_type(void);

typedef struct {
	GstRTPHeaderExtension parent;
	guint min_10ms;
	guint max_10ms;
} GbRtpPlayoutDelay;

typedef struct {
	GstRTPHeaderExtensionClass parent_class;
} GbRtpPlayoutDelayClass;

G_DEFINE_TYPE(GbRtpPlayoutDelay, gb_rtp_playout_delay, GST_TYPE_RTP_HEADER_EXTENSION)

static GstRTPHeaderExtensionFlags playout_delay_get_supported_flags(GstRTPHeaderExtension *ext)
{
	return GST_RTP_HEADER_EXTENSION_ONE_BYTE | GST_RTP_HEADER_EXTENSION_TWO_BYTE;
}

static gsize playout_delay_get_max_size(GstRTPHeaderExtension *ext, const GstBuffer *input_meta)
{
	return PLAYOUT_DELAY_SIZE;
}

static gssize playout_delay_write(GstRTPHeaderExtension *ext, const GstBuffer *input_meta,
                                  GstRTPHeaderExtensionFlags write_flags, GstBuffer *output,
                                  guint8 *data, gsize size)
{
	GbRtpPlayoutDelay *self = (GbRtpPlayoutDelay *)ext;

	if (size < PLAYOUT_DELAY_SIZE)
		return -1;
	data[0] = (guint8)(self->min_10ms >> 4);
	data[1] = (guint8)(((self->min_10ms & 0xf) << 4) | (self->max_10ms >> 8));
	data[2] = (guint8)(self->max_10ms & 0xff);
	return PLAYOUT_DELAY_SIZE;
}

/* We only send it; reading is accepted so that a looped-back stream does not fail. */
static gboolean playout_delay_read(GstRTPHeaderExtension *ext,
                                   GstRTPHeaderExtensionFlags read_flags, const guint8 *data,
                                   gsize size, GstBuffer *buffer)
{
	return size == PLAYOUT_DELAY_SIZE;
}

static void gb_rtp_playout_delay_class_init(GbRtpPlayoutDelayClass *klass)
{
	GstRTPHeaderExtensionClass *extension_class = GST_RTP_HEADER_EXTENSION_CLASS(klass);
	GstElementClass *element_class = GST_ELEMENT_CLASS(klass);

	extension_class->get_supported_flags = playout_delay_get_supported_flags;
	extension_class->get_max_size = playout_delay_get_max_size;
	extension_class->write = playout_delay_write;
	extension_class->read = playout_delay_read;

	gst_element_class_set_static_metadata(
	        element_class, "Glassbox RTP playout delay", GST_RTP_HDREXT_ELEMENT_CLASS,
	        "Asks the receiver to show frames without delay", "Glassbox");
	gst_rtp_header_extension_class_set_uri(extension_class, GB_RTP_PLAYOUT_DELAY_URI);
}

static void gb_rtp_playout_delay_init(GbRtpPlayoutDelay *self)
{
	self->min_10ms = 0;
	self->max_10ms = 0;
}

GstRTPHeaderExtension *gb_rtp_playout_delay_new(guint id)
{
	GstRTPHeaderExtension *ext = g_object_new(gb_rtp_playout_delay_get_type(), NULL);

	/* A plain reference: the payloader's "add-extension" takes its own. */
	gst_object_ref_sink(ext);
	gst_rtp_header_extension_set_id(ext, id);
	return ext;
}
