/* SPDX-License-Identifier: MIT */
/*
 * See frame-limit.h. The input side parses only frame headers (RFC 6455
 * section 5.2) as bytes pass through and skips payloads in bulk; libsoup
 * still does all the real WebSocket work on the same bytes.
 */
#include <stdbool.h>

#include "frame-limit.h"

enum parser_state {
	PARSE_FIRST_BYTE,
	PARSE_LENGTH_BYTE,
	PARSE_EXTENDED_LENGTH,
	PARSE_MASK,
	PARSE_PAYLOAD,
};

struct frame_parser {
	guint64 message_max;
	unsigned frames_per_second;

	enum parser_state state;
	guint8 opcode;
	bool masked;
	unsigned bytes_left; /* of the extended length or the mask */
	guint64 length;      /* of the current frame */
	guint64 payload_left;
	guint64 message_size; /* sum of the data frames of the current message */

	gint64 window_start_us;
	unsigned window_frames;

	unsigned short violation; /* WebSocket close code; 0 while within limits */
};

static void frame_started(struct frame_parser *parser)
{
	gint64 now = g_get_monotonic_time();

	if (now - parser->window_start_us >= G_USEC_PER_SEC) {
		parser->window_start_us = now;
		parser->window_frames = 0;
	}
	if (++parser->window_frames > parser->frames_per_second)
		parser->violation = 1008;
}

static void frame_header_done(struct frame_parser *parser)
{
	/* Control frames (0x8 and up) sit between fragments and do not add to the message. */
	if (parser->opcode < 0x8) {
		if (parser->opcode != 0x0)
			parser->message_size = 0; /* a new message */
		parser->message_size += parser->length;
		if (parser->message_size > parser->message_max)
			parser->violation = 1009;
	}
	parser->payload_left = parser->length;
	parser->state = parser->length ? PARSE_PAYLOAD : PARSE_FIRST_BYTE;
}

/* A client masks every frame; a missing mask is libsoup's to refuse. */
static void mask_next(struct frame_parser *parser)
{
	parser->bytes_left = parser->masked ? 4 : 0;
	parser->state = PARSE_MASK;
	if (!parser->bytes_left)
		frame_header_done(parser);
}

/* Returns false once a limit is crossed. */
static bool parser_feed(struct frame_parser *parser, const guint8 *data, gsize size)
{
	gsize i = 0;

	while (i < size && !parser->violation) {
		guint8 byte = data[i];

		switch (parser->state) {
		case PARSE_FIRST_BYTE:
			frame_started(parser);
			parser->opcode = byte & 0x0f;
			parser->state = PARSE_LENGTH_BYTE;
			i++;
			break;
		case PARSE_LENGTH_BYTE:
			parser->masked = byte & 0x80;
			parser->length = byte & 0x7f;
			i++;
			if (parser->length >= 126) {
				parser->bytes_left = parser->length == 126 ? 2 : 8;
				parser->length = 0;
				parser->state = PARSE_EXTENDED_LENGTH;
			} else {
				mask_next(parser);
			}
			break;
		case PARSE_EXTENDED_LENGTH:
			parser->length = (parser->length << 8) | byte;
			i++;
			if (--parser->bytes_left == 0)
				mask_next(parser);
			break;
		case PARSE_MASK:
			i++;
			if (--parser->bytes_left == 0)
				frame_header_done(parser);
			break;
		case PARSE_PAYLOAD: {
			gsize skip = MIN((guint64)(size - i), parser->payload_left);

			i += skip;
			parser->payload_left -= skip;
			if (parser->payload_left == 0)
				parser->state = PARSE_FIRST_BYTE;
			break;
		}
		}
	}
	return parser->violation == 0;
}

static gssize violation_error(struct frame_parser *parser, GError **error)
{
	if (parser->violation == 1009)
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
		                    "WebSocket message over the size limit");
	else
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_BUSY,
		                    "WebSocket frames over the rate limit");
	return -1;
}

/* The input stream: reads from the base stream, through the parser. */

#define GB_TYPE_FRAME_LIMIT_INPUT (gb_frame_limit_input_get_type())
G_DECLARE_FINAL_TYPE(GbFrameLimitInput, gb_frame_limit_input, GB, FRAME_LIMIT_INPUT, GInputStream)

struct _GbFrameLimitInput {
	GInputStream parent_instance;
	GInputStream *base;
	struct frame_parser parser;
};

static void gb_frame_limit_input_pollable_init(GPollableInputStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE(GbFrameLimitInput, gb_frame_limit_input, G_TYPE_INPUT_STREAM,
                              G_IMPLEMENT_INTERFACE(G_TYPE_POLLABLE_INPUT_STREAM,
                                                    gb_frame_limit_input_pollable_init))

static gssize checked(GbFrameLimitInput *self, gssize count, const void *buffer, GError **error)
{
	if (count > 0 && !parser_feed(&self->parser, buffer, (gsize)count))
		return violation_error(&self->parser, error);
	return count;
}

static gssize input_read(GInputStream *stream, void *buffer, gsize count,
                         GCancellable *cancellable, GError **error)
{
	GbFrameLimitInput *self = GB_FRAME_LIMIT_INPUT(stream);

	if (self->parser.violation)
		return violation_error(&self->parser, error);
	return checked(self, g_input_stream_read(self->base, buffer, count, cancellable, error),
	               buffer, error);
}

static gboolean input_close(GInputStream *stream, GCancellable *cancellable, GError **error)
{
	GbFrameLimitInput *self = GB_FRAME_LIMIT_INPUT(stream);

	/* GInputStream closes an unclosed stream on dispose, after ours. */
	return !self->base || g_input_stream_close(self->base, cancellable, error);
}

static gboolean input_can_poll(GPollableInputStream *stream)
{
	return g_pollable_input_stream_can_poll(
	        G_POLLABLE_INPUT_STREAM(GB_FRAME_LIMIT_INPUT(stream)->base));
}

static gboolean input_is_readable(GPollableInputStream *stream)
{
	GbFrameLimitInput *self = GB_FRAME_LIMIT_INPUT(stream);

	/* After a violation, "readable" so that the reader meets the error. */
	return self->parser.violation ||
	       g_pollable_input_stream_is_readable(G_POLLABLE_INPUT_STREAM(self->base));
}

static GSource *input_create_source(GPollableInputStream *stream, GCancellable *cancellable)
{
	GbFrameLimitInput *self = GB_FRAME_LIMIT_INPUT(stream);
	GSource *base_source, *source;

	base_source = g_pollable_input_stream_create_source(G_POLLABLE_INPUT_STREAM(self->base),
	                                                    cancellable);
	source = g_pollable_source_new_full(stream, base_source, cancellable);
	g_source_unref(base_source);
	return source;
}

static gssize input_read_nonblocking(GPollableInputStream *stream, void *buffer, gsize count,
                                     GError **error)
{
	GbFrameLimitInput *self = GB_FRAME_LIMIT_INPUT(stream);

	if (self->parser.violation)
		return violation_error(&self->parser, error);
	return checked(self,
	               g_pollable_input_stream_read_nonblocking(
	                       G_POLLABLE_INPUT_STREAM(self->base), buffer, count, NULL, error),
	               buffer, error);
}

static void gb_frame_limit_input_pollable_init(GPollableInputStreamInterface *iface)
{
	iface->can_poll = input_can_poll;
	iface->is_readable = input_is_readable;
	iface->create_source = input_create_source;
	iface->read_nonblocking = input_read_nonblocking;
}

static void input_dispose(GObject *object)
{
	g_clear_object(&GB_FRAME_LIMIT_INPUT(object)->base);
	G_OBJECT_CLASS(gb_frame_limit_input_parent_class)->dispose(object);
}

static void gb_frame_limit_input_class_init(GbFrameLimitInputClass *klass)
{
	GInputStreamClass *stream_class = G_INPUT_STREAM_CLASS(klass);

	G_OBJECT_CLASS(klass)->dispose = input_dispose;
	stream_class->read_fn = input_read;
	stream_class->close_fn = input_close;
}

static void gb_frame_limit_input_init(GbFrameLimitInput *self)
{
}

/* The output side only counts what gets written (gb_frame_limit_stream_bytes_written). */

#define GB_TYPE_FRAME_COUNT_OUTPUT (gb_frame_count_output_get_type())
G_DECLARE_FINAL_TYPE(GbFrameCountOutput, gb_frame_count_output, GB, FRAME_COUNT_OUTPUT,
                     GOutputStream)

struct _GbFrameCountOutput {
	GOutputStream parent_instance;
	GOutputStream *base;
	guint64 written;
};

static void gb_frame_count_output_pollable_init(GPollableOutputStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE(GbFrameCountOutput, gb_frame_count_output, G_TYPE_OUTPUT_STREAM,
                              G_IMPLEMENT_INTERFACE(G_TYPE_POLLABLE_OUTPUT_STREAM,
                                                    gb_frame_count_output_pollable_init))

static gssize counted(GbFrameCountOutput *self, gssize count)
{
	if (count > 0)
		self->written += (guint64)count;
	return count;
}

static gssize output_write(GOutputStream *stream, const void *buffer, gsize count,
                           GCancellable *cancellable, GError **error)
{
	GbFrameCountOutput *self = GB_FRAME_COUNT_OUTPUT(stream);

	return counted(self, g_output_stream_write(self->base, buffer, count, cancellable, error));
}

static gboolean output_flush(GOutputStream *stream, GCancellable *cancellable, GError **error)
{
	GbFrameCountOutput *self = GB_FRAME_COUNT_OUTPUT(stream);

	/* GOutputStream closes (and so flushes) an unclosed stream on dispose, after ours. */
	return !self->base || g_output_stream_flush(self->base, cancellable, error);
}

static gboolean output_close(GOutputStream *stream, GCancellable *cancellable, GError **error)
{
	GbFrameCountOutput *self = GB_FRAME_COUNT_OUTPUT(stream);

	return !self->base || g_output_stream_close(self->base, cancellable, error);
}

static gboolean output_can_poll(GPollableOutputStream *stream)
{
	return g_pollable_output_stream_can_poll(
	        G_POLLABLE_OUTPUT_STREAM(GB_FRAME_COUNT_OUTPUT(stream)->base));
}

static gboolean output_is_writable(GPollableOutputStream *stream)
{
	return g_pollable_output_stream_is_writable(
	        G_POLLABLE_OUTPUT_STREAM(GB_FRAME_COUNT_OUTPUT(stream)->base));
}

static GSource *output_create_source(GPollableOutputStream *stream, GCancellable *cancellable)
{
	GbFrameCountOutput *self = GB_FRAME_COUNT_OUTPUT(stream);
	GSource *base_source, *source;

	base_source = g_pollable_output_stream_create_source(G_POLLABLE_OUTPUT_STREAM(self->base),
	                                                     cancellable);
	source = g_pollable_source_new_full(stream, base_source, cancellable);
	g_source_unref(base_source);
	return source;
}

static gssize output_write_nonblocking(GPollableOutputStream *stream, const void *buffer,
                                       gsize count, GError **error)
{
	GbFrameCountOutput *self = GB_FRAME_COUNT_OUTPUT(stream);

	return counted(self,
	               g_pollable_output_stream_write_nonblocking(
	                       G_POLLABLE_OUTPUT_STREAM(self->base), buffer, count, NULL, error));
}

static void gb_frame_count_output_pollable_init(GPollableOutputStreamInterface *iface)
{
	iface->can_poll = output_can_poll;
	iface->is_writable = output_is_writable;
	iface->create_source = output_create_source;
	iface->write_nonblocking = output_write_nonblocking;
}

static void output_dispose(GObject *object)
{
	g_clear_object(&GB_FRAME_COUNT_OUTPUT(object)->base);
	G_OBJECT_CLASS(gb_frame_count_output_parent_class)->dispose(object);
}

static void gb_frame_count_output_class_init(GbFrameCountOutputClass *klass)
{
	GOutputStreamClass *stream_class = G_OUTPUT_STREAM_CLASS(klass);

	G_OBJECT_CLASS(klass)->dispose = output_dispose;
	stream_class->write_fn = output_write;
	stream_class->flush = output_flush;
	stream_class->close_fn = output_close;
}

static void gb_frame_count_output_init(GbFrameCountOutput *self)
{
}

/* The stream pair: our input, our counting output. */

#define GB_TYPE_FRAME_LIMIT_STREAM (gb_frame_limit_stream_get_type())
G_DECLARE_FINAL_TYPE(GbFrameLimitStream, gb_frame_limit_stream, GB, FRAME_LIMIT_STREAM, GIOStream)

struct _GbFrameLimitStream {
	GIOStream parent_instance;
	GIOStream *base;
	GbFrameLimitInput *input;
	GbFrameCountOutput *output;
};

G_DEFINE_FINAL_TYPE(GbFrameLimitStream, gb_frame_limit_stream, G_TYPE_IO_STREAM)

static GInputStream *stream_get_input(GIOStream *stream)
{
	return G_INPUT_STREAM(GB_FRAME_LIMIT_STREAM(stream)->input);
}

static GOutputStream *stream_get_output(GIOStream *stream)
{
	return G_OUTPUT_STREAM(GB_FRAME_LIMIT_STREAM(stream)->output);
}

static gboolean stream_close(GIOStream *stream, GCancellable *cancellable, GError **error)
{
	return g_io_stream_close(GB_FRAME_LIMIT_STREAM(stream)->base, cancellable, error);
}

static void base_closed(GObject *source, GAsyncResult *result, gpointer data)
{
	GTask *task = data;
	GError *error = NULL;

	if (g_io_stream_close_finish(G_IO_STREAM(source), result, &error))
		g_task_return_boolean(task, TRUE);
	else
		g_task_return_error(task, error);
	g_object_unref(task);
}

/*
 * GIOStream's default close_async runs close_fn on a thread; the base
 * stream (a socket or TLS connection) closes asynchronously on the main
 * loop by itself, so hand the close to it.
 */
static void stream_close_async(GIOStream *stream, int priority, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer data)
{
	GTask *task = g_task_new(stream, cancellable, callback, data);

	g_io_stream_close_async(GB_FRAME_LIMIT_STREAM(stream)->base, priority, cancellable,
	                        base_closed, task);
}

static gboolean stream_close_finish(GIOStream *stream, GAsyncResult *result, GError **error)
{
	return g_task_propagate_boolean(G_TASK(result), error);
}

static void stream_dispose(GObject *object)
{
	GbFrameLimitStream *self = GB_FRAME_LIMIT_STREAM(object);

	g_clear_object(&self->input);
	g_clear_object(&self->output);
	g_clear_object(&self->base);
	G_OBJECT_CLASS(gb_frame_limit_stream_parent_class)->dispose(object);
}

static void gb_frame_limit_stream_class_init(GbFrameLimitStreamClass *klass)
{
	GIOStreamClass *stream_class = G_IO_STREAM_CLASS(klass);

	G_OBJECT_CLASS(klass)->dispose = stream_dispose;
	stream_class->get_input_stream = stream_get_input;
	stream_class->get_output_stream = stream_get_output;
	stream_class->close_fn = stream_close;
	stream_class->close_async = stream_close_async;
	stream_class->close_finish = stream_close_finish;
}

static void gb_frame_limit_stream_init(GbFrameLimitStream *self)
{
}

GIOStream *gb_frame_limit_stream_new(GIOStream *base, guint64 message_max,
                                     unsigned frames_per_second)
{
	GbFrameLimitStream *self = g_object_new(GB_TYPE_FRAME_LIMIT_STREAM, NULL);

	self->base = g_object_ref(base);
	self->input = g_object_new(GB_TYPE_FRAME_LIMIT_INPUT, NULL);
	self->input->base = g_object_ref(g_io_stream_get_input_stream(base));
	self->input->parser.message_max = message_max;
	self->input->parser.frames_per_second = frames_per_second;
	self->output = g_object_new(GB_TYPE_FRAME_COUNT_OUTPUT, NULL);
	self->output->base = g_object_ref(g_io_stream_get_output_stream(base));
	return G_IO_STREAM(self);
}

unsigned short gb_frame_limit_stream_violation(GIOStream *stream, const char **reason)
{
	unsigned short violation;

	if (!stream || !G_TYPE_CHECK_INSTANCE_TYPE(stream, GB_TYPE_FRAME_LIMIT_STREAM))
		return 0;
	violation = GB_FRAME_LIMIT_STREAM(stream)->input->parser.violation;
	if (reason)
		*reason = violation == 1009 ? "message larger than 64 KiB"
		                            : "too many WebSocket frames in a second";
	return violation;
}

guint64 gb_frame_limit_stream_bytes_written(GIOStream *stream)
{
	if (!stream || !G_TYPE_CHECK_INSTANCE_TYPE(stream, GB_TYPE_FRAME_LIMIT_STREAM))
		return 0;
	return GB_FRAME_LIMIT_STREAM(stream)->output->written;
}
