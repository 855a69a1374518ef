/* SPDX-License-Identifier: MIT */
/*
 * capture-weston's RGB -> I420 converter (plugins/capture-weston/
 * colour-convert.c): exact BT.601 limited-range values for known colours,
 * every colour within one step of the exact formula, a round trip through
 * the decoder's formula within two, odd frame edges, rectangles that touch
 * only their own pixels, bottom-up rows, and the vectorised blocks agreeing
 * with the scalar edges.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "unit-test.h"

#include "colour-convert.h"

/* A frame with its own storage, strides wider than the picture to catch stride mix-ups. */
struct test_frame {
	struct gb_i420_frame frame;
	uint8_t *data;
	size_t size;
};

static void test_frame_init(struct test_frame *t, uint32_t width, uint32_t height)
{
	size_t y_stride = width + 5, uv_stride = (width + 1) / 2 + 3;
	size_t y_size = y_stride * height, uv_size = uv_stride * ((height + 1) / 2);

	t->size = y_size + 2 * uv_size;
	t->data = malloc(t->size);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t->data);
	memset(t->data, 0x5a, t->size);
	t->frame = (struct gb_i420_frame){
		.y = t->data,
		.u = t->data + y_size,
		.v = t->data + y_size + uv_size,
		.y_stride = y_stride,
		.uv_stride = uv_stride,
		.width = width,
		.height = height,
	};
}

static void test_frame_fini(struct test_frame *t)
{
	free(t->data);
	t->data = NULL;
}

static uint32_t pack(enum gb_pixel_layout layout, uint8_t r, uint8_t g, uint8_t b)
{
	if (layout == GB_PIXEL_XRGB8888)
		return 0xff000000u | (uint32_t)r << 16 | (uint32_t)g << 8 | b;
	return 0xff000000u | (uint32_t)b << 16 | (uint32_t)g << 8 | r;
}

static void unpack(enum gb_pixel_layout layout, uint32_t p, int rgb[3])
{
	rgb[0] = (int)((p >> (layout == GB_PIXEL_XRGB8888 ? 16 : 0)) & 0xff);
	rgb[1] = (int)((p >> 8) & 0xff);
	rgb[2] = (int)((p >> (layout == GB_PIXEL_XRGB8888 ? 0 : 16)) & 0xff);
}

static uint32_t random_state = 1;

static uint32_t next_random(void)
{
	random_state = random_state * 1664525u + 1013904223u;
	return random_state;
}

static uint32_t *random_picture(uint32_t width, uint32_t height)
{
	uint32_t *pixels = malloc((size_t)width * height * 4);

	CU_ASSERT_PTR_NOT_NULL_FATAL(pixels);
	for (size_t i = 0; i < (size_t)width * height; i++)
		pixels[i] = next_random();
	return pixels;
}

/* The textbook formulas, in floating point. */
static void exact_yuv(double r, double g, double b, double yuv[3])
{
	yuv[0] = 16 + (0.299 * r + 0.587 * g + 0.114 * b) * 219 / 255;
	yuv[1] = 128 + (-0.168736 * r - 0.331264 * g + 0.5 * b) * 224 / 255;
	yuv[2] = 128 + (0.5 * r - 0.418688 * g - 0.081312 * b) * 224 / 255;
}

/* What a browser's decoder does with BT.601 limited range. */
static void decode_rgb(const uint8_t yuv[3], double rgb[3])
{
	double y = (yuv[0] - 16) * 255.0 / 219, u = (yuv[1] - 128) * 255.0 / 224,
	       v = (yuv[2] - 128) * 255.0 / 224;

	rgb[0] = y + 1.402 * v;
	rgb[1] = y - 0.344136 * u - 0.714136 * v;
	rgb[2] = y + 1.772 * u;
}

/*
 * Check @frame against the formulas for @pixels (a top-down picture of the
 * frame's size) inside @rect: every Y within one step of the exact value of
 * its pixel, every U and V within one of the exact value of its block's
 * average, where the block is the pixels of the 2x2 square that exist.
 */
static int check_rect_against_formula(const struct gb_i420_frame *frame, const uint32_t *pixels,
                                      enum gb_pixel_layout layout, const struct gb_rect *rect)
{
	int failures = 0;

	for (int32_t y = rect->y; y < rect->y + rect->height; y++) {
		for (int32_t x = rect->x; x < rect->x + rect->width; x++) {
			int rgb[3];
			double yuv[3];

			unpack(layout, pixels[(size_t)y * frame->width + (size_t)x], rgb);
			exact_yuv(rgb[0], rgb[1], rgb[2], yuv);
			if (fabs(frame->y[(size_t)y * frame->y_stride + (size_t)x] - yuv[0]) > 1.5)
				failures++;
		}
	}
	for (int32_t y = rect->y; y < rect->y + rect->height; y += 2) {
		for (int32_t x = rect->x; x < rect->x + rect->width; x += 2) {
			double sum[3] = { 0, 0, 0 }, yuv[3];
			int count = 0;
			size_t chroma = (size_t)y / 2 * frame->uv_stride + (size_t)x / 2;

			for (int dy = 0; dy < 2; dy++) {
				for (int dx = 0; dx < 2; dx++) {
					/* A missing neighbour repeats the pixel beside it. */
					uint32_t px = (uint32_t)x + (uint32_t)dx < frame->width
					                      ? (uint32_t)(x + dx)
					                      : (uint32_t)x;
					uint32_t py = (uint32_t)y + (uint32_t)dy < frame->height
					                      ? (uint32_t)(y + dy)
					                      : (uint32_t)y;
					int rgb[3];

					unpack(layout, pixels[(size_t)py * frame->width + px],
					       rgb);
					for (int c = 0; c < 3; c++)
						sum[c] += rgb[c];
					count++;
				}
			}
			exact_yuv(sum[0] / count, sum[1] / count, sum[2] / count, yuv);
			if (fabs(frame->u[chroma] - yuv[1]) > 1.5 ||
			    fabs(frame->v[chroma] - yuv[2]) > 1.5)
				failures++;
		}
	}
	return failures;
}

static void test_colour_convert__known_colours(void)
{
	static const struct {
		const char *name;
		uint8_t rgb[3];
		uint8_t yuv[3];
	} colours[] = {
		{ "black", { 0, 0, 0 }, { 16, 128, 128 } },
		{ "white", { 255, 255, 255 }, { 235, 128, 128 } },
		{ "red", { 255, 0, 0 }, { 81, 90, 240 } },
		{ "green", { 0, 255, 0 }, { 145, 54, 34 } },
		{ "blue", { 0, 0, 255 }, { 41, 240, 110 } },
		{ "grey 50%", { 128, 128, 128 }, { 126, 128, 128 } },
		{ "yellow", { 255, 255, 0 }, { 210, 16, 146 } },
		{ "cyan", { 0, 255, 255 }, { 170, 166, 16 } },
		{ "magenta", { 255, 0, 255 }, { 106, 202, 222 } },
	};
	static const enum gb_pixel_layout layouts[] = { GB_PIXEL_XRGB8888, GB_PIXEL_XBGR8888 };

	for (size_t i = 0; i < sizeof(colours) / sizeof(colours[0]); i++) {
		uint8_t yuv[3];

		gb_colour_rgb_to_yuv(colours[i].rgb[0], colours[i].rgb[1], colours[i].rgb[2], yuv);
		if (memcmp(yuv, colours[i].yuv, 3) != 0)
			fprintf(stderr, "\n    %s: got %u %u %u\n", colours[i].name, yuv[0],
			        yuv[1], yuv[2]);
		CU_ASSERT_EQUAL(memcmp(yuv, colours[i].yuv, 3), 0);

		/* And through the frame converter, both layouts, every sample. */
		for (size_t l = 0; l < 2; l++) {
			const uint32_t width = 38, height = 6; /* blocks and a scalar edge */
			uint32_t pixels[38 * 6];
			struct gb_rect all = { 0, 0, (int32_t)width, (int32_t)height };
			struct test_frame t;
			int wrong = 0;

			for (size_t p = 0; p < width * height; p++)
				pixels[p] = pack(layouts[l], colours[i].rgb[0], colours[i].rgb[1],
				                 colours[i].rgb[2]);
			test_frame_init(&t, width, height);
			CU_ASSERT_EQUAL(
			        gb_colour_convert(&t.frame, &all, pixels, width * 4, layouts[l]),
			        0);
			for (uint32_t y = 0; y < height; y++)
				for (uint32_t x = 0; x < width; x++)
					wrong += t.frame.y[y * t.frame.y_stride + x] !=
					         colours[i].yuv[0];
			for (uint32_t y = 0; y < height / 2; y++)
				for (uint32_t x = 0; x < width / 2; x++)
					wrong += t.frame.u[y * t.frame.uv_stride + x] !=
					                 colours[i].yuv[1] ||
					         t.frame.v[y * t.frame.uv_stride + x] !=
					                 colours[i].yuv[2];
			CU_ASSERT_EQUAL(wrong, 0);
			test_frame_fini(&t);
		}
	}
}

/* All 2^24 colours: within one step of the formula, and rarely off at all. */
static void test_colour_convert__every_colour_within_one_step(void)
{
	long off_by_one = 0, worse = 0;

	for (int r = 0; r < 256; r++) {
		for (int g = 0; g < 256; g++) {
			for (int b = 0; b < 256; b++) {
				uint8_t yuv[3];
				double exact[3];

				gb_colour_rgb_to_yuv((uint8_t)r, (uint8_t)g, (uint8_t)b, yuv);
				exact_yuv(r, g, b, exact);
				for (int c = 0; c < 3; c++) {
					long difference = yuv[c] - lround(exact[c]);

					off_by_one += difference == 1 || difference == -1;
					worse += difference > 1 || difference < -1;
				}
			}
		}
	}
	CU_ASSERT_EQUAL(worse, 0);
	/* Only values within a hair of .5 may round the other way: under 0.1%. */
	CU_ASSERT(off_by_one < 3L * 16777216 / 1000);
}

/* What a browser decodes comes back within 2 of what was drawn, for every colour. */
static void test_colour_convert__round_trip_within_two(void)
{
	double worst = 0;

	for (int r = 0; r < 256; r++) {
		for (int g = 0; g < 256; g++) {
			for (int b = 0; b < 256; b += 3) {
				uint8_t yuv[3];
				double rgb[3];
				const int original[3] = { r, g, b };

				gb_colour_rgb_to_yuv((uint8_t)r, (uint8_t)g, (uint8_t)b, yuv);
				decode_rgb(yuv, rgb);
				for (int c = 0; c < 3; c++) {
					double decoded = rgb[c] < 0     ? 0
					                 : rgb[c] > 255 ? 255
					                                : rgb[c];
					double error = fabs(round(decoded) - original[c]);

					if (error > worst)
						worst = error;
				}
			}
		}
	}
	if (worst > 2)
		fprintf(stderr, "\n    worst round trip error %.0f\n", worst);
	CU_ASSERT(worst <= 2);
}

/* Random pictures of every width 1..40 and odd heights, both layouts. */
static void test_colour_convert__odd_edges_and_sizes(void)
{
	static const enum gb_pixel_layout layouts[] = { GB_PIXEL_XRGB8888, GB_PIXEL_XBGR8888 };
	static const uint32_t heights[] = { 1, 2, 3, 5, 8 };

	for (uint32_t width = 1; width <= 40; width++) {
		for (size_t h = 0; h < sizeof(heights) / sizeof(heights[0]); h++) {
			for (size_t l = 0; l < 2; l++) {
				uint32_t height = heights[h];
				uint32_t *pixels = random_picture(width, height);
				struct gb_rect all = { 0, 0, (int32_t)width, (int32_t)height };
				struct test_frame t;

				test_frame_init(&t, width, height);
				CU_ASSERT_EQUAL(gb_colour_convert(&t.frame, &all, pixels,
				                                  (ptrdiff_t)width * 4,
				                                  layouts[l]),
				                0);
				CU_ASSERT_EQUAL(check_rect_against_formula(&t.frame, pixels,
				                                           layouts[l], &all),
				                0);
				test_frame_fini(&t);
				free(pixels);
			}
		}
	}
}

/*
 * The same picture converted in one go (16-pixel blocks) and as 2-pixel
 * columns (the scalar edge code only) must agree byte for byte.
 */
static void test_colour_convert__blocks_match_scalar_edges(void)
{
	const uint32_t width = 64, height = 6;
	uint32_t *pixels = random_picture(width, height);
	struct gb_rect all = { 0, 0, (int32_t)width, (int32_t)height };
	struct test_frame whole, columns;

	test_frame_init(&whole, width, height);
	test_frame_init(&columns, width, height);
	CU_ASSERT_EQUAL(
	        gb_colour_convert(&whole.frame, &all, pixels, width * 4, GB_PIXEL_XRGB8888), 0);
	for (int32_t x = 0; x < (int32_t)width; x += 2) {
		struct gb_rect column = { x, 0, 2, (int32_t)height };

		CU_ASSERT_EQUAL(gb_colour_convert(&columns.frame, &column, pixels + x, width * 4,
		                                  GB_PIXEL_XRGB8888),
		                0);
	}
	CU_ASSERT_EQUAL(memcmp(whole.data, columns.data, whole.size), 0);
	test_frame_fini(&whole);
	test_frame_fini(&columns);
	free(pixels);
}

/* A damaged rectangle changes its own samples and nothing else. */
static void test_colour_convert__rect_changes_only_its_pixels(void)
{
	const uint32_t width = 101, height = 67;
	uint32_t *before = random_picture(width, height);
	uint32_t *after = random_picture(width, height);
	struct gb_rect all = { 0, 0, (int32_t)width, (int32_t)height };
	struct gb_rect damage = { 13, 7, 35, 20 }; /* odd: grows to 12,6 .. 48,28 */
	struct test_frame t, reference;

	gb_rect_align_to_chroma(&damage, width, height);
	CU_ASSERT_EQUAL(damage.x, 12);
	CU_ASSERT_EQUAL(damage.y, 6);
	CU_ASSERT_EQUAL(damage.width, 36);
	CU_ASSERT_EQUAL(damage.height, 22);

	test_frame_init(&t, width, height);
	test_frame_init(&reference, width, height);
	CU_ASSERT_EQUAL(gb_colour_convert(&t.frame, &all, before, width * 4, GB_PIXEL_XRGB8888),
	                0);
	CU_ASSERT_EQUAL(
	        gb_colour_convert(&reference.frame, &all, before, width * 4, GB_PIXEL_XRGB8888),
	        0);
	CU_ASSERT_EQUAL(gb_colour_convert(&t.frame, &damage,
	                                  after + (size_t)damage.y * width + (size_t)damage.x,
	                                  width * 4, GB_PIXEL_XRGB8888),
	                0);
	CU_ASSERT_EQUAL(check_rect_against_formula(&t.frame, after, GB_PIXEL_XRGB8888, &damage),
	                0);

	/* Outside the rectangle (and in the stride padding) nothing moved. */
	for (uint32_t y = 0; y < height; y++) {
		for (size_t x = 0; x < t.frame.y_stride; x++) {
			bool inside =
			        (int32_t)x >= damage.x && (int32_t)x < damage.x + damage.width &&
			        (int32_t)y >= damage.y && (int32_t)y < damage.y + damage.height;
			size_t i = y * t.frame.y_stride + x;

			if (!inside)
				CU_ASSERT_EQUAL_FATAL(t.frame.y[i], reference.frame.y[i]);
		}
	}
	for (uint32_t y = 0; y < (height + 1) / 2; y++) {
		for (size_t x = 0; x < t.frame.uv_stride; x++) {
			bool inside = (int32_t)x >= damage.x / 2 &&
			              (int32_t)x < (damage.x + damage.width) / 2 &&
			              (int32_t)y >= damage.y / 2 &&
			              (int32_t)y < (damage.y + damage.height) / 2;
			size_t i = y * t.frame.uv_stride + x;

			if (!inside) {
				CU_ASSERT_EQUAL_FATAL(t.frame.u[i], reference.frame.u[i]);
				CU_ASSERT_EQUAL_FATAL(t.frame.v[i], reference.frame.v[i]);
			}
		}
	}

	/* Converting "after" everywhere else too gives the full conversion of "after". */
	{
		struct test_frame full;

		test_frame_init(&full, width, height);
		CU_ASSERT_EQUAL(
		        gb_colour_convert(&full.frame, &all, after, width * 4, GB_PIXEL_XRGB8888),
		        0);
		gb_i420_copy_rect(&reference.frame, &full.frame, &damage);
		CU_ASSERT_EQUAL(memcmp(reference.data, t.data, t.size), 0);
		test_frame_fini(&full);
	}
	test_frame_fini(&t);
	test_frame_fini(&reference);
	free(before);
	free(after);
}

/* GL reads rows bottom-up: a negative stride must give the same frame. */
static void test_colour_convert__bottom_up_rows(void)
{
	const uint32_t width = 50, height = 9;
	uint32_t *pixels = random_picture(width, height);
	uint32_t *flipped = malloc((size_t)width * height * 4);
	struct gb_rect all = { 0, 0, (int32_t)width, (int32_t)height };
	struct test_frame top_down, bottom_up;

	CU_ASSERT_PTR_NOT_NULL_FATAL(flipped);
	for (uint32_t y = 0; y < height; y++)
		memcpy(flipped + (size_t)(height - 1 - y) * width, pixels + (size_t)y * width,
		       width * 4);
	test_frame_init(&top_down, width, height);
	test_frame_init(&bottom_up, width, height);
	CU_ASSERT_EQUAL(
	        gb_colour_convert(&top_down.frame, &all, pixels, width * 4, GB_PIXEL_XBGR8888), 0);
	CU_ASSERT_EQUAL(gb_colour_convert(&bottom_up.frame, &all,
	                                  flipped + (size_t)(height - 1) * width,
	                                  -(ptrdiff_t)width * 4, GB_PIXEL_XBGR8888),
	                0);
	CU_ASSERT_EQUAL(memcmp(top_down.data, bottom_up.data, top_down.size), 0);
	test_frame_fini(&top_down);
	test_frame_fini(&bottom_up);
	free(pixels);
	free(flipped);
}

static void test_colour_convert__bad_rects_are_refused(void)
{
	const uint32_t width = 20, height = 10;
	uint32_t pixels[20 * 10];
	static const struct gb_rect bad[] = {
		{ 1, 0, 4, 4 },  /* odd x */
		{ 0, 1, 4, 4 },  /* odd y */
		{ 0, 0, 3, 4 },  /* odd width inside the frame */
		{ 0, 0, 4, 3 },  /* odd height inside the frame */
		{ 18, 0, 4, 2 }, /* past the right edge */
		{ 0, 8, 2, 4 },  /* past the bottom */
		{ -2, 0, 4, 4 }, /* negative */
		{ 0, 0, -2, 4 }, /* negative width */
	};
	struct test_frame t;

	memset(pixels, 0x80, sizeof(pixels));
	test_frame_init(&t, width, height);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_EQUAL(
		        gb_colour_convert(&t.frame, &bad[i], pixels, width * 4, GB_PIXEL_XRGB8888),
		        -EINVAL);
	CU_ASSERT_EQUAL(gb_colour_convert(&t.frame, &(struct gb_rect){ 0, 0, 2, 2 }, pixels,
	                                  width * 4, (enum gb_pixel_layout)7),
	                -EINVAL);
	/* Nothing was written. */
	for (size_t i = 0; i < t.size; i++)
		CU_ASSERT_EQUAL_FATAL(t.data[i], 0x5a);
	test_frame_fini(&t);
}

static void test_colour_convert__align_to_chroma(void)
{
	static const struct {
		struct gb_rect in, out;
		uint32_t width, height;
	} cases[] = {
		{ { 3, 5, 1, 1 }, { 2, 4, 2, 2 }, 100, 100 },
		{ { 0, 0, 100, 100 }, { 0, 0, 100, 100 }, 100, 100 },
		{ { 98, 98, 10, 10 }, { 98, 98, 2, 2 }, 100, 100 },
		{ { 97, 97, 10, 10 }, { 96, 96, 5, 5 }, 101, 101 }, /* odd frame edge stays */
		{ { -5, -5, 8, 8 }, { 0, 0, 4, 4 }, 100, 100 },
		{ { 120, 0, 8, 8 }, { 0, 0, 0, 0 }, 100, 100 },
		{ { 10, 10, 0, 5 }, { 0, 0, 0, 0 }, 100, 100 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct gb_rect rect = cases[i].in;

		gb_rect_align_to_chroma(&rect, cases[i].width, cases[i].height);
		if (memcmp(&rect, &cases[i].out, sizeof(rect)) != 0)
			fprintf(stderr, "\n    case %zu: got %d,%d %dx%d\n", i, rect.x, rect.y,
			        rect.width, rect.height);
		CU_ASSERT_EQUAL(memcmp(&rect, &cases[i].out, sizeof(rect)), 0);
	}
}

static const struct gb_unit_test tests[] = {
	GB_UNIT_TEST(test_colour_convert__known_colours),
	GB_UNIT_TEST(test_colour_convert__every_colour_within_one_step),
	GB_UNIT_TEST(test_colour_convert__round_trip_within_two),
	GB_UNIT_TEST(test_colour_convert__odd_edges_and_sizes),
	GB_UNIT_TEST(test_colour_convert__blocks_match_scalar_edges),
	GB_UNIT_TEST(test_colour_convert__rect_changes_only_its_pixels),
	GB_UNIT_TEST(test_colour_convert__bottom_up_rows),
	GB_UNIT_TEST(test_colour_convert__bad_rects_are_refused),
	GB_UNIT_TEST(test_colour_convert__align_to_chroma),
};

int main(void)
{
	return GB_UNIT_RUN("colour-convert", NULL, NULL, tests);
}
