/* SPDX-License-Identifier: MIT */
/* The RTP header extension asking for no playout delay (rtp-playout-delay.c). */
#ifndef GB_RTP_PLAYOUT_DELAY_H
#define GB_RTP_PLAYOUT_DELAY_H

#include <gst/rtp/rtp.h>

#define GB_RTP_PLAYOUT_DELAY_URI "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay"

/**
 * A new RTP header extension writing playout delay min = max = 0 into every
 * packet, with id @id (1..14, one-byte form). A full reference, not
 * floating: the payloader's "add-extension" takes a reference of its own.
 */
GstRTPHeaderExtension *gb_rtp_playout_delay_new(guint id);

#endif
