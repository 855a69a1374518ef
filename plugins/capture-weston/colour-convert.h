/* SPDX-License-Identifier: MIT */
/*
 * 32-bit RGB (what libweston's renderers read back) to I420, BT.601
 * limited range, the matrix and range browsers assume for WebRTC video
 * that says nothing else.
 *
 * The converter works on rectangles, so that a capture converts only what
 * was repainted into a frame it keeps, instead of the whole output.
 */
#ifndef GB_COLOUR_CONVERT_H
#define GB_COLOUR_CONVERT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Pixel layouts, as 32-bit words in native byte order, like pixman's format
 * codes. The top 8 bits (alpha or padding) are ignored.
 */
enum gb_pixel_layout {
	/* 0xXXRRGGBB: PIXMAN_x8r8g8b8 / a8r8g8b8; bytes B, G, R, X on little-endian */
	GB_PIXEL_XRGB8888 = 1,
	/* 0xXXBBGGRR: PIXMAN_x8b8g8r8 / a8b8g8r8; bytes R, G, B, X on little-endian */
	GB_PIXEL_XBGR8888 = 2,
};

/* An I420 picture: a full-size Y plane, U and V at half size, rounded up. */
struct gb_i420_frame {
	uint8_t *y, *u, *v;
	size_t y_stride, uv_stride; /* bytes */
	uint32_t width, height;
};

/* A rectangle in frame coordinates. */
struct gb_rect {
	int32_t x, y;
	int32_t width, height;
};

/**
 * Grow @rect to even coordinates (chroma covers 2x2 pixels, so a change to
 * one pixel changes the whole 2x2 block) and clip it to the frame. The right
 * and bottom edges stay odd only where the frame's size is odd. An empty
 * result has width or height 0.
 */
void gb_rect_align_to_chroma(struct gb_rect *rect, uint32_t frame_width, uint32_t frame_height);

/**
 * Convert @rect of the picture from @pixels into @frame.
 *
 * @pixels points at the rectangle's top-left pixel, 4-byte aligned; @stride
 * is the distance in bytes from one row of the rectangle to the next, and is
 * negative for pictures stored bottom-up (the GL renderer's read_pixels).
 * @rect must lie inside the frame with even x and y, and an even width and
 * height unless it reaches the frame's odd right or bottom edge
 * (gb_rect_align_to_chroma() makes it so).
 *
 * Returns 0, or -EINVAL (nothing written) for a rectangle that breaks these
 * rules or an unknown @layout.
 */
int gb_colour_convert(const struct gb_i420_frame *frame, const struct gb_rect *rect,
                      const void *pixels, ptrdiff_t stride, enum gb_pixel_layout layout);

/**
 * Copy @rect (aligned as above) of @source's three planes to @destination,
 * a frame of the same size.
 */
void gb_i420_copy_rect(const struct gb_i420_frame *destination, const struct gb_i420_frame *source,
                       const struct gb_rect *rect);

/** The BT.601 limited-range value of one colour, computed the same way. */
void gb_colour_rgb_to_yuv(uint8_t r, uint8_t g, uint8_t b, uint8_t yuv[3]);

#endif
