/* SPDX-License-Identifier: MIT */
/*
 * The WebSocket frame limit of glassboxd (core/daemon/frame-limit.c): a
 * message summed over its fragments, the frame rate, and the count of bytes
 * written, on streams of hand-made client frames (RFC 6455 section 5.2).
 */
#include <stdbool.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "unit-test.h"
#include <gio/gio.h>

#include "frame-limit.h"

/* Append a masked client frame: @fin, @opcode, @length bytes of 'x'. */
static void add_frame(GByteArray *out, bool fin, guint8 opcode, gsize length)
{
	static const guint8 mask[4] = { 1, 2, 3, 4 };
	guint8 header[2] = { (guint8)((fin ? 0x80 : 0) | opcode), 0x80 };

	if (length < 126) {
		header[1] |= (guint8)length;
		g_byte_array_append(out, header, 2);
	} else {
		guint8 extended[2] = { (guint8)(length >> 8), (guint8)length };

		header[1] |= 126;
		g_byte_array_append(out, header, 2);
		g_byte_array_append(out, extended, 2);
	}
	g_byte_array_append(out, mask, 4);
	for (gsize i = 0; i < length; i++)
		g_byte_array_append(out, (const guint8 *)"x", 1);
}

/* Read all of @frames through a limited stream; 0, or the GIOErrorEnum code of the failure. */
static int read_through(GByteArray *frames, guint64 message_max, unsigned frames_per_second,
                        unsigned short *violation)
{
	g_autoptr(GInputStream) in =
	        g_memory_input_stream_new_from_data(frames->data, frames->len, NULL);
	g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable();
	g_autoptr(GIOStream) base = g_simple_io_stream_new(in, out);
	g_autoptr(GIOStream) limited =
	        gb_frame_limit_stream_new(base, message_max, frames_per_second);
	GInputStream *input = g_io_stream_get_input_stream(limited);
	g_autoptr(GError) error = NULL;
	guint8 buffer[7]; /* small: headers arrive split across reads */
	gssize n;
	const char *reason = NULL;

	while ((n = g_input_stream_read(input, buffer, sizeof(buffer), NULL, &error)) > 0)
		;
	*violation = gb_frame_limit_stream_violation(limited, &reason);
	if (*violation)
		CU_ASSERT_PTR_NOT_NULL(reason);
	return n < 0 ? error->code : 0;
}

static void test_frame_limit__message_within_limit_reads_through(void)
{
	g_autoptr(GByteArray) frames = g_byte_array_new();
	unsigned short violation;

	add_frame(frames, true, 0x1, 100);
	add_frame(frames, true, 0x1, 100);
	CU_ASSERT_EQUAL(read_through(frames, 100, 1000, &violation), 0);
	CU_ASSERT_EQUAL(violation, 0);
}

static void test_frame_limit__fragments_are_summed_against_the_limit(void)
{
	g_autoptr(GByteArray) frames = g_byte_array_new();
	unsigned short violation;

	/* 60 + 60 bytes in one message: each frame is small, the message is not. */
	add_frame(frames, false, 0x1, 60);
	add_frame(frames, true, 0x0, 60);
	CU_ASSERT_EQUAL(read_through(frames, 100, 1000, &violation), G_IO_ERROR_MESSAGE_TOO_LARGE);
	CU_ASSERT_EQUAL(violation, 1009);
}

static void test_frame_limit__control_frames_do_not_add_to_a_message(void)
{
	g_autoptr(GByteArray) frames = g_byte_array_new();
	unsigned short violation;

	add_frame(frames, false, 0x1, 60);
	add_frame(frames, true, 0x9, 101); /* a ping between the fragments */
	add_frame(frames, true, 0x0, 40);
	/* A new message starts from 0 again. */
	add_frame(frames, true, 0x2, 100);
	CU_ASSERT_EQUAL(read_through(frames, 100, 1000, &violation), 0);
	CU_ASSERT_EQUAL(violation, 0);
}

static void test_frame_limit__control_frames_do_not_end_a_message(void)
{
	g_autoptr(GByteArray) frames = g_byte_array_new();
	unsigned short violation;

	add_frame(frames, false, 0x1, 60);
	add_frame(frames, true, 0xa, 5); /* a pong between the fragments */
	add_frame(frames, true, 0x0, 60);
	CU_ASSERT_EQUAL(read_through(frames, 100, 1000, &violation), G_IO_ERROR_MESSAGE_TOO_LARGE);
	CU_ASSERT_EQUAL(violation, 1009);
}

static void test_frame_limit__extended_length_counts(void)
{
	g_autoptr(GByteArray) frames = g_byte_array_new();
	unsigned short violation;

	add_frame(frames, true, 0x1, 300);
	CU_ASSERT_EQUAL(read_through(frames, 299, 1000, &violation), G_IO_ERROR_MESSAGE_TOO_LARGE);
	CU_ASSERT_EQUAL(violation, 1009);
	CU_ASSERT_EQUAL(read_through(frames, 300, 1000, &violation), 0);
	CU_ASSERT_EQUAL(violation, 0);
}

static void test_frame_limit__frames_over_the_rate_fail(void)
{
	g_autoptr(GByteArray) frames = g_byte_array_new();
	unsigned short violation;

	for (int i = 0; i < 4; i++)
		add_frame(frames, true, 0x1, 1);
	CU_ASSERT_EQUAL(read_through(frames, 100, 4, &violation), 0);
	CU_ASSERT_EQUAL(violation, 0);
	add_frame(frames, true, 0x1, 1);
	CU_ASSERT_EQUAL(read_through(frames, 100, 4, &violation), G_IO_ERROR_BUSY);
	CU_ASSERT_EQUAL(violation, 1008);
}

static void test_frame_limit__bytes_written_are_counted(void)
{
	g_autoptr(GInputStream) in = g_memory_input_stream_new();
	g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable();
	g_autoptr(GIOStream) base = g_simple_io_stream_new(in, out);
	g_autoptr(GIOStream) limited = gb_frame_limit_stream_new(base, 100, 1000);
	GOutputStream *output = g_io_stream_get_output_stream(limited);

	CU_ASSERT_EQUAL(gb_frame_limit_stream_bytes_written(limited), 0);
	CU_ASSERT_EQUAL(g_output_stream_write(output, "hello", 5, NULL, NULL), 5);
	CU_ASSERT_EQUAL(g_output_stream_write(output, "world!", 6, NULL, NULL), 6);
	CU_ASSERT_EQUAL(gb_frame_limit_stream_bytes_written(limited), 11);
	/* Not one of ours: nothing to say. */
	CU_ASSERT_EQUAL(gb_frame_limit_stream_bytes_written(base), 0);
	CU_ASSERT_EQUAL(gb_frame_limit_stream_violation(base, NULL), 0);
}

static const struct gb_unit_test tests[] = {
	GB_UNIT_TEST(test_frame_limit__message_within_limit_reads_through),
	GB_UNIT_TEST(test_frame_limit__fragments_are_summed_against_the_limit),
	GB_UNIT_TEST(test_frame_limit__control_frames_do_not_add_to_a_message),
	GB_UNIT_TEST(test_frame_limit__control_frames_do_not_end_a_message),
	GB_UNIT_TEST(test_frame_limit__extended_length_counts),
	GB_UNIT_TEST(test_frame_limit__frames_over_the_rate_fail),
	GB_UNIT_TEST(test_frame_limit__bytes_written_are_counted),
};

int main(void)
{
	return GB_UNIT_RUN("frame-limit", NULL, NULL, tests);
}
