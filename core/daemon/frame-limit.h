/* SPDX-License-Identifier: MIT */
/*
 * A GIOStream that watches the WebSocket frames a client sends and fails the
 * read once a message, summed over its fragments, grows past a limit, or
 * frames come faster than a rate. libsoup 3.2 checks each frame against
 * max-incoming-payload-size but keeps appending fragments of one message
 * without bound, so a client could grow our memory at will.
 */
#ifndef GB_FRAME_LIMIT_H
#define GB_FRAME_LIMIT_H

#include <gio/gio.h>

/**
 * Wrap @base (the stream stolen from the upgraded HTTP connection). Reads
 * fail with G_IO_ERROR_MESSAGE_TOO_LARGE once a message exceeds
 * @message_max bytes, and with G_IO_ERROR_BUSY past @frames_per_second.
 */
GIOStream *gb_frame_limit_stream_new(GIOStream *base, guint64 message_max,
                                     unsigned frames_per_second);

/**
 * The WebSocket close code the violation calls for (1009 too big, 1008
 * rate), with a reason; 0 when the client stayed within the limits or
 * @stream is not one of ours.
 */
unsigned short gb_frame_limit_stream_violation(GIOStream *stream, const char **reason);

/**
 * The bytes written to the base stream so far (frames, headers included):
 * what was queued less this is still waiting in libsoup, which queues
 * without bound. 0 when @stream is not one of ours.
 */
guint64 gb_frame_limit_stream_bytes_written(GIOStream *stream);

#endif
