/* SPDX-License-Identifier: MIT */
/*
 * RGB to I420, BT.601 limited range, in integer arithmetic.
 *
 *   Y  =  16 + ( 0.256788 R + 0.504129 G + 0.097906 B)
 *   Cb = 128 + (-0.148223 R - 0.290993 G + 0.439216 B)
 *   Cr = 128 + ( 0.439216 R - 0.367788 G - 0.071427 B)
 *
 * The coefficients are scaled by 2^16 and rounded so that each row of
 * chroma coefficients sums to exactly 0 (grey stays at 128) and white gives
 * exactly 235: the eight-bit coefficients libyuv-style converters use are
 * off by one for pure red and green, which shows as a tint on flat colours.
 * Chroma comes from the sum of each 2x2 block (a box filter, as libyuv does
 * for WebRTC).
 *
 * Speed: at 1080p this runs for every damaged rectangle of every frame on
 * the session's main loop, so it has to vectorise, with plain C that gcc
 * vectorises at -O2 for any target:
 * - the inner loops have a fixed trip count and restrict pointers, which is
 *   what gcc's -O2 ("very cheap") vectoriser cost model needs to vectorise
 *   without runtime checks;
 * - luma works in 16-bit lanes, 8 pixels per SSE2 register, with high-half
 *   multiplies (pmulhuw): each term is R * 256 * coefficient / 65536, exact
 *   to 1/256, and the three truncations are biased back to the centre, so a
 *   value is off by one only within 0.008 of a rounding boundary;
 * - chroma sums each 2x2 block with two 64-bit loads (two pixels each) and
 *   masks that keep red and blue in separate 16-bit fields, then applies the
 *   exact 32-bit formula. gcc leaves this loop scalar, and that is the
 *   faster choice on SSE2: its vectorised form of the plain per-channel
 *   loop emulates 32-bit multiplies and ran twice as slow.
 * Together about 14 instructions a pixel (callgrind, x86-64 baseline);
 * tests/bench/colour-convert-bench.c measures it against videoconvert.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "colour-convert.h"

#define Y_R 16829
#define Y_G 33039
#define Y_B 6416
#define U_R (-9714)
#define U_G (-19070)
#define U_B 28784
#define V_R 28784
#define V_G (-24103)
#define V_B (-4681)

/* Offset and rounding, added before the shift; keeps every sum positive. */
#define CHROMA_BIAS ((128 << 18) + (1 << 17)) /* for the sum of 4 pixels: shift 18 */

/* Pixels per step of the vectorised loops: 8 chroma samples. */
#define BLOCK 16

#define ALWAYS_INLINE inline __attribute__((always_inline))

/* The high 16 bits of a 16x16-bit product: one pmulhuw when vectorised. */
static ALWAYS_INLINE uint16_t multiply_high(uint16_t a, uint16_t b)
{
	return (uint16_t)(((uint32_t)a * b) >> 16);
}

/*
 * Luma from the colour channels shifted to the top of 16 bits (R << 8):
 * (R << 8) * Y_R >> 16 is R * Y_R / 256, Y in units of 1/256. The bias adds
 * 16, rounds, and adds back one unit of the truncations.
 */
static ALWAYS_INLINE uint8_t luma_high(uint16_t r8, uint16_t g8, uint16_t b8)
{
	uint16_t y = (uint16_t)(multiply_high(r8, Y_R) + multiply_high(g8, Y_G) +
	                        multiply_high(b8, Y_B) + (16 << 8) + 128 + 1);

	return (uint8_t)(y >> 8);
}

static ALWAYS_INLINE uint8_t luma(uint8_t r, uint8_t g, uint8_t b)
{
	return luma_high((uint16_t)(r << 8), (uint16_t)(g << 8), (uint16_t)(b << 8));
}

/* Chroma of a 2x2 block from its channel sums (each 0..1020). */
static ALWAYS_INLINE uint8_t chroma_u(int32_t red, int32_t green, int32_t blue)
{
	return (uint8_t)((U_R * red + U_G * green + U_B * blue + CHROMA_BIAS) >> 18);
}

static ALWAYS_INLINE uint8_t chroma_v(int32_t red, int32_t green, int32_t blue)
{
	return (uint8_t)((V_R * red + V_G * green + V_B * blue + CHROMA_BIAS) >> 18);
}

void gb_colour_rgb_to_yuv(uint8_t r, uint8_t g, uint8_t b, uint8_t yuv[3])
{
	yuv[0] = luma(r, g, b);
	yuv[1] = chroma_u(4 * r, 4 * g, 4 * b);
	yuv[2] = chroma_v(4 * r, 4 * g, 4 * b);
}

/*
 * Red and blue swap places between the two layouts; green is always bits
 * 8..15. The shifts are compile-time constants in each instantiation below,
 * so the vectoriser sees plain masks and shifts.
 */
static ALWAYS_INLINE void luma_block(const uint32_t *restrict in, uint8_t *restrict out,
                                     unsigned red_shift, unsigned blue_shift)
{
	for (int i = 0; i < BLOCK; i++) {
		uint32_t p = in[i];

		uint16_t r8 = (uint16_t)((p >> red_shift) << 8);
		uint16_t g8 = (uint16_t)(p & 0xff00);
		uint16_t b8 = (uint16_t)((p >> blue_shift) << 8);

		out[i] = luma_high(r8, g8, b8);
	}
}

/*
 * Two pixels at once. Rows are only 4-byte aligned (an odd-width rectangle
 * has an odd number of pixels per row), so say so to the compiler.
 */
typedef uint64_t pixel_pair __attribute__((aligned(4), may_alias));

static ALWAYS_INLINE void chroma_block(const uint32_t *restrict top,
                                       const uint32_t *restrict bottom, uint8_t *restrict u,
                                       uint8_t *restrict v, unsigned red_shift,
                                       unsigned blue_shift)
{
	const pixel_pair *restrict top_pairs = (const pixel_pair *)(const void *)top;
	const pixel_pair *restrict bottom_pairs = (const pixel_pair *)(const void *)bottom;

	for (int i = 0; i < BLOCK / 2; i++) {
		uint64_t t = top_pairs[i], b = bottom_pairs[i];
		/*
		 * Red and blue of both pixels in four 16-bit fields, green in
		 * two 32-bit ones; each sum fits its field. Adding the two
		 * 32-bit halves sums the left and right pixels, whatever the
		 * byte order.
		 */
		uint64_t rb = (t & 0x00ff00ff00ff00ffu) + (b & 0x00ff00ff00ff00ffu);
		uint64_t g = ((t >> 8) & 0x000000ff000000ffu) + ((b >> 8) & 0x000000ff000000ffu);
		uint32_t rb_sum = (uint32_t)(rb + (rb >> 32));
		uint32_t g_sum = (uint32_t)(g + (g >> 32));
		int32_t red = (int32_t)((rb_sum >> red_shift) & 0x3ff);
		int32_t green = (int32_t)(g_sum & 0x3ff);
		int32_t blue = (int32_t)((rb_sum >> blue_shift) & 0x3ff);

		u[i] = chroma_u(red, green, blue);
		v[i] = chroma_v(red, green, blue);
	}
}

/*
 * The edges the blocks do not cover: @bottom may equal @top (the last row
 * of an odd-height frame, whose chroma comes from that row alone), and
 * @y_bottom is then NULL. An odd last column takes its chroma from its own
 * two pixels.
 */
static void convert_pair_scalar(const uint32_t *top, const uint32_t *bottom, uint8_t *y_top,
                                uint8_t *y_bottom, uint8_t *u, uint8_t *v, int32_t width,
                                unsigned red_shift, unsigned blue_shift)
{
	for (int32_t x = 0; x < width; x += 2) {
		int32_t right = x + 1 < width ? x + 1 : x;
		const uint32_t p[4] = { top[x], top[right], bottom[x], bottom[right] };
		int32_t red = 0, green = 0, blue = 0;

		for (int i = 0; i < 4; i++) {
			red += (int32_t)((p[i] >> red_shift) & 0xff);
			green += (int32_t)((p[i] >> 8) & 0xff);
			blue += (int32_t)((p[i] >> blue_shift) & 0xff);
		}
		for (int32_t column = x; column <= right; column++) {
			y_top[column] = luma((uint8_t)(top[column] >> red_shift),
			                     (uint8_t)(top[column] >> 8),
			                     (uint8_t)(top[column] >> blue_shift));
			if (y_bottom)
				y_bottom[column] = luma((uint8_t)(bottom[column] >> red_shift),
				                        (uint8_t)(bottom[column] >> 8),
				                        (uint8_t)(bottom[column] >> blue_shift));
		}
		u[x / 2] = chroma_u(red, green, blue);
		v[x / 2] = chroma_v(red, green, blue);
	}
}

static ALWAYS_INLINE void convert_rect(const struct gb_i420_frame *frame,
                                       const struct gb_rect *rect, const uint8_t *pixels,
                                       ptrdiff_t stride, unsigned red_shift, unsigned blue_shift)
{
	int32_t blocks_width = rect->width - rect->width % BLOCK;
	int32_t row;

	for (row = 0; row + 1 < rect->height; row += 2) {
		const uint32_t *top = (const uint32_t *)(const void *)(pixels + row * stride);
		const uint32_t *bottom =
		        (const uint32_t *)(const void *)(pixels + (row + 1) * stride);
		size_t frame_row = (size_t)(rect->y + row);
		uint8_t *y_top = frame->y + frame_row * frame->y_stride + rect->x;
		uint8_t *y_bottom = y_top + frame->y_stride;
		uint8_t *u = frame->u + frame_row / 2 * frame->uv_stride + rect->x / 2;
		uint8_t *v = frame->v + frame_row / 2 * frame->uv_stride + rect->x / 2;
		int32_t x;

		for (x = 0; x < blocks_width; x += BLOCK) {
			luma_block(top + x, y_top + x, red_shift, blue_shift);
			luma_block(bottom + x, y_bottom + x, red_shift, blue_shift);
			chroma_block(top + x, bottom + x, u + x / 2, v + x / 2, red_shift,
			             blue_shift);
		}
		if (x < rect->width)
			convert_pair_scalar(top + x, bottom + x, y_top + x, y_bottom + x,
			                    u + x / 2, v + x / 2, rect->width - x, red_shift,
			                    blue_shift);
	}
	if (row < rect->height) {
		/* The last row of an odd-height frame. */
		const uint32_t *top = (const uint32_t *)(const void *)(pixels + row * stride);
		size_t frame_row = (size_t)(rect->y + row);

		convert_pair_scalar(top, top, frame->y + frame_row * frame->y_stride + rect->x,
		                    NULL,
		                    frame->u + frame_row / 2 * frame->uv_stride + rect->x / 2,
		                    frame->v + frame_row / 2 * frame->uv_stride + rect->x / 2,
		                    rect->width, red_shift, blue_shift);
	}
}

static bool rect_is_valid(const struct gb_i420_frame *frame, const struct gb_rect *rect)
{
	if (rect->x < 0 || rect->y < 0 || rect->width < 0 || rect->height < 0)
		return false;
	if ((rect->x | rect->y) & 1)
		return false;
	if ((uint32_t)rect->x + (uint32_t)rect->width > frame->width ||
	    (uint32_t)rect->y + (uint32_t)rect->height > frame->height)
		return false;
	if ((rect->width & 1) && (uint32_t)(rect->x + rect->width) != frame->width)
		return false;
	if ((rect->height & 1) && (uint32_t)(rect->y + rect->height) != frame->height)
		return false;
	return true;
}

int gb_colour_convert(const struct gb_i420_frame *frame, const struct gb_rect *rect,
                      const void *pixels, ptrdiff_t stride, enum gb_pixel_layout layout)
{
	if (!frame || !rect || !pixels || !rect_is_valid(frame, rect))
		return -EINVAL;
	if (rect->width == 0 || rect->height == 0)
		return 0;

	switch (layout) {
	case GB_PIXEL_XRGB8888:
		convert_rect(frame, rect, pixels, stride, 16, 0);
		return 0;
	case GB_PIXEL_XBGR8888:
		convert_rect(frame, rect, pixels, stride, 0, 16);
		return 0;
	}
	return -EINVAL;
}

void gb_rect_align_to_chroma(struct gb_rect *rect, uint32_t frame_width, uint32_t frame_height)
{
	int64_t x1 = rect->x, y1 = rect->y;
	int64_t x2 = x1 + rect->width, y2 = y1 + rect->height;

	x1 = x1 < 0 ? 0 : x1 & ~(int64_t)1;
	y1 = y1 < 0 ? 0 : y1 & ~(int64_t)1;
	x2 = (x2 + 1) & ~(int64_t)1;
	y2 = (y2 + 1) & ~(int64_t)1;
	if (x2 > (int64_t)frame_width)
		x2 = frame_width;
	if (y2 > (int64_t)frame_height)
		y2 = frame_height;
	if (x2 <= x1 || y2 <= y1) {
		*rect = (struct gb_rect){ 0, 0, 0, 0 };
		return;
	}
	*rect = (struct gb_rect){ (int32_t)x1, (int32_t)y1, (int32_t)(x2 - x1),
		                  (int32_t)(y2 - y1) };
}

static void copy_plane(uint8_t *destination, const uint8_t *source, size_t stride, size_t x,
                       size_t y, size_t width, size_t height)
{
	for (size_t row = y; row < y + height; row++)
		memcpy(destination + row * stride + x, source + row * stride + x, width);
}

void gb_i420_copy_rect(const struct gb_i420_frame *destination, const struct gb_i420_frame *source,
                       const struct gb_rect *rect)
{
	size_t chroma_x = (size_t)rect->x / 2, chroma_y = (size_t)rect->y / 2;
	size_t chroma_width = ((size_t)rect->width + 1) / 2;
	size_t chroma_height = ((size_t)rect->height + 1) / 2;

	if (rect->width <= 0 || rect->height <= 0)
		return;
	copy_plane(destination->y, source->y, source->y_stride, (size_t)rect->x, (size_t)rect->y,
	           (size_t)rect->width, (size_t)rect->height);
	copy_plane(destination->u, source->u, source->uv_stride, chroma_x, chroma_y, chroma_width,
	           chroma_height);
	copy_plane(destination->v, source->v, source->uv_stride, chroma_x, chroma_y, chroma_width,
	           chroma_height);
}
