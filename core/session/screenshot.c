/* SPDX-License-Identifier: MIT */
/*
 * Save the output to a PNG. The pixels are read in the frame hook, right
 * after the renderer drew them, which is the one moment every renderer
 * (the GL one included) can read them back. The file is written next to
 * its final name and renamed, so nobody sees half a PNG.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libweston/libweston.h>

#include "compositor.h"
#include "log.h"
#include "screenshot.h"
#include "session.h"

struct gb_screenshot_request {
	struct gb_session *session;
	struct gb_frame_listener frame_listener;
	struct wl_list link; /* gb_session.screenshots */
	struct wl_event_source *kick;
	char *path;
	gb_screenshot_done_func done;
	void *data;
};

/* Convert one row of the renderer's format to RGB. */
static void row_to_rgb(const uint32_t *in, uint8_t *out, int width, pixman_format_code_t format)
{
	bool abgr = format == PIXMAN_a8b8g8r8 || format == PIXMAN_x8b8g8r8;

	for (int x = 0; x < width; x++) {
		uint32_t p = in[x];
		uint8_t r = (p >> 16) & 0xff, g = (p >> 8) & 0xff, b = p & 0xff;

		if (abgr) {
			uint8_t t = r;
			r = b;
			b = t;
		}
		out[3 * x + 0] = r;
		out[3 * x + 1] = g;
		out[3 * x + 2] = b;
	}
}

/* libpng reports errors by longjmp: keep that away from the file handling. */
static int encode_png(FILE *file, const uint32_t *pixels, uint8_t *row, int width, int height,
                      pixman_format_code_t format, bool y_flip)
{
	png_structp png;
	png_infop info;

	png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	if (!png)
		return -ENOMEM;
	info = png_create_info_struct(png);
	if (!info) {
		png_destroy_write_struct(&png, NULL);
		return -ENOMEM;
	}
	if (setjmp(png_jmpbuf(png))) {
		png_destroy_write_struct(&png, &info);
		return -EIO;
	}
	png_init_io(png, file);
	/* Screenshots are for looking at and comparing: favour speed. */
	png_set_compression_level(png, 1);
	png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, PNG_COLOR_TYPE_RGB,
	             PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (int y = 0; y < height; y++) {
		int source_row = y_flip ? height - 1 - y : y;
		row_to_rgb(pixels + (size_t)source_row * (size_t)width, row, width, format);
		png_write_row(png, row);
	}
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &info);
	return 0;
}

static int write_png(const char *path, const uint32_t *pixels, int width, int height,
                     pixman_format_code_t format, bool y_flip)
{
	uint8_t *row = NULL;
	char *temp_path = NULL;
	FILE *file;
	int fd, r;

	if (asprintf(&temp_path, "%s.tmp", path) < 0)
		return -ENOMEM;
	row = malloc((size_t)width * 3);
	if (!row) {
		r = -ENOMEM;
		goto out;
	}
	fd = open(temp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	file = fdopen(fd, "wb");
	if (!file) {
		r = -errno;
		close(fd);
		goto out_unlink;
	}
	r = encode_png(file, pixels, row, width, height, format, y_flip);
	if (fclose(file) != 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(temp_path, path) < 0)
		r = -errno;
out_unlink:
	if (r < 0)
		unlink(temp_path);
out:
	free(row);
	free(temp_path);
	return r;
}

static void request_free(struct gb_screenshot_request *request)
{
	if (request->kick)
		wl_event_source_remove(request->kick);
	wl_list_remove(&request->frame_listener.link);
	wl_list_remove(&request->link);
	free(request->path);
	free(request);
}

static void screenshot_frame(struct gb_frame_listener *listener, struct weston_output *output,
                             const pixman_region32_t *damage, const struct timespec *time)
{
	struct gb_screenshot_request *request = wl_container_of(listener, request, frame_listener);
	struct weston_compositor *compositor = output->compositor;
	pixman_format_code_t format = compositor->read_format;
	int width = output->current_mode->width, height = output->current_mode->height;
	uint32_t *pixels;
	int r;

	pixels = malloc((size_t)width * (size_t)height * 4);
	if (!pixels) {
		r = -ENOMEM;
	} else if (compositor->renderer->read_pixels(output, format, pixels, 0, 0, (uint32_t)width,
	                                             (uint32_t)height) < 0) {
		r = -EIO;
	} else {
		r = write_png(request->path, pixels, width, height, format,
		              compositor->capabilities & WESTON_CAP_CAPTURE_YFLIP);
	}
	free(pixels);

	if (r < 0)
		gb_warning("screenshot to %s failed: %s", request->path, strerror(-r));
	else
		gb_debug("screenshot %dx%d written to %s", width, height, request->path);
	if (request->done)
		request->done(request->data, r);
	request_free(request);
}

/* Repaints even with no damage, so an idle screen is captured too. */
static void kick_repaint(void *data)
{
	struct gb_screenshot_request *request = data;

	request->kick = NULL; /* idle sources go away after they run */
	weston_output_schedule_repaint(request->session->output);
}

int gb_screenshot_request(struct gb_session *session, const char *path,
                          gb_screenshot_done_func done, void *data)
{
	struct gb_screenshot_request *request;

	request = calloc(1, sizeof(*request));
	if (!request)
		return -ENOMEM;
	request->path = strdup(path);
	if (!request->path) {
		free(request);
		return -ENOMEM;
	}
	request->session = session;
	request->done = done;
	request->data = data;
	request->frame_listener.frame = screenshot_frame;
	gb_session_add_frame_listener(session, &request->frame_listener);
	wl_list_insert(&session->screenshots, &request->link);
	/* A repaint asked for from inside a frame hook would be lost when that
	 * repaint finishes, so ask from an idle callback instead. */
	request->kick = wl_event_loop_add_idle(session->loop, kick_repaint, request);
	if (!request->kick) {
		request_free(request);
		return -ENOMEM;
	}
	return 0;
}

void gb_screenshot_cancel_all(struct gb_session *session)
{
	struct gb_screenshot_request *request, *next;

	wl_list_for_each_safe (request, next, &session->screenshots, link) {
		if (request->done)
			request->done(request->data, -ECANCELED);
		request_free(request);
	}
}
