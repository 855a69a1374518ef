/*
 * glassbox-test-client - a minimal xdg-shell client for the integration tests.
 *
 * It shows one toplevel filled with a solid colour and reports every input and
 * configure event it receives on stdout, one line per event, so that a test
 * can drive the compositor and check what a real client sees.  Optional keys
 * open a child toplevel (a dialog) and a popup, for tests of window stacking
 * and focus.  With --clock it redraws on every frame callback and writes the
 * wall-clock time into a corner of its pixels, for glass-to-glass latency
 * figures (tests/bench, web/js/probe.js).  The line formats are a contract
 * with tests/integration and tests/e2e: change them only together.
 *
 * SPDX-License-Identifier: MIT
 */

/* memfd_create() and the F_SEAL_* flags are GNU extensions. */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <linux/input-event-codes.h>
#include <wayland-client.h>
#include <xkbcommon/xkbcommon.h>

#include "client-common.h"

#include "xdg-shell-client-protocol.h"

#define PROGRAM_NAME "glassbox-test-client"

/* Size used when the compositor leaves the choice to us (a 0 in configure). */
#define DEFAULT_WIDTH  640
#define DEFAULT_HEIGHT 480

/*
 * A compositor-controlled size must not make us allocate without bound: at
 * 16384x16384 the pool is 1 GiB, which still fits the int32 pool size.
 */
#define MAX_DIMENSION 16384

/* Title and app id travel in one Wayland message, which is limited to 4 KiB. */
#define MAX_STRING_LENGTH 1024

/* Highest interface versions whose events this client handles. */
#define COMPOSITOR_VERSION 4
#define WM_BASE_VERSION    5
#define SEAT_VERSION       7

/* Double buffering: one buffer on screen, one being drawn. */
#define BUFFER_COUNT 2

/* Size of the --dialog-key toplevel when the compositor leaves it to us. */
#define DIALOG_WIDTH  200
#define DIALOG_HEIGHT 100

/* Placement of the --popup-key popup, relative to the main window. */
#define POPUP_WIDTH    120
#define POPUP_HEIGHT   60
#define POPUP_ANCHOR_X 40
#define POPUP_ANCHOR_Y 50

/*
 * The --clock pattern, which web/js/probe.js reads back: a grid of
 * CLOCK_COLUMNS x CLOCK_ROWS blocks of CLOCK_BLOCK pixels at (CLOCK_X,
 * CLOCK_Y), white for 1 and black for 0.  Row 0 is a marker (white on even
 * columns); rows 1-3 hold CLOCK_REALTIME in ms, CLOCK_BITS bits with the most
 * significant first; rows 4-6 the same bits inverted, so that a block the
 * encoder got wrong shows as an unreadable frame rather than a wrong time.
 * Blocks of 16 pixels line up with the codecs' macroblocks and survive lossy
 * encoding.
 */
#define CLOCK_X       16
#define CLOCK_Y       16
#define CLOCK_BLOCK   16
#define CLOCK_COLUMNS 16
#define CLOCK_ROWS    7
#define CLOCK_BITS    48
#define CLOCK_WIDTH   (CLOCK_COLUMNS * CLOCK_BLOCK)
#define CLOCK_HEIGHT  (CLOCK_ROWS * CLOCK_BLOCK)

struct options {
	uint32_t color;
	uint32_t alt_color;
	uint32_t switch_key;
	/* 0 turns the key off. */
	uint32_t dialog_key;
	uint32_t dialog_color;
	uint32_t popup_key;
	uint32_t popup_color;
	const char *title;
	const char *app_id;
	unsigned long exit_after_ms;
	int exit_code;
	/* Redraw every frame with the time in the pixels. */
	bool clock;
};

struct client;
struct child;

struct shm_buffer {
	struct client *client;
	/* The dialog or popup this buffer belongs to; NULL for the main window. */
	struct child *child;
	struct wl_buffer *wl_buffer;
	void *data;
	size_t size;
	int width;
	int height;
	/* Held by the compositor until wl_buffer.release. */
	bool busy;
	/* The whole buffer holds fill_color: a --clock redraw only draws the clock. */
	bool filled;
	uint32_t fill_color;
};

/* Which of our surfaces an input device is on; names the lines it prints. */
enum focus {
	FOCUS_NONE,
	FOCUS_MAIN,
	FOCUS_DIALOG,
	FOCUS_POPUP,
};

/*
 * A second window: the child toplevel of --dialog-key or the popup of
 * --popup-key.  It exists while surface is not NULL.
 */
struct child {
	struct client *client;
	/* "dialog" or "popup": the first word of its lines. */
	const char *name;
	uint32_t color;

	struct wl_surface *surface;
	struct xdg_surface *xdg_surface;
	/* Exactly one of these is set. */
	struct xdg_toplevel *toplevel;
	struct xdg_popup *popup;
	struct shm_buffer buffers[BUFFER_COUNT];

	/* From the last role configure, applied on xdg_surface.configure. */
	int pending_x;
	int pending_y;
	int pending_width;
	int pending_height;
	bool role_configure_pending;
	int width;
	int height;
	bool configured;
	bool redraw_pending;
	bool ready_sent;
};

struct client {
	const struct options *options;

	struct wl_display *display;
	struct wl_registry *registry;
	struct wl_compositor *compositor;
	uint32_t compositor_version;
	struct wl_shm *shm;
	struct xdg_wm_base *wm_base;

	struct wl_seat *seat;
	uint32_t seat_global_name;
	uint32_t seat_version;
	struct wl_keyboard *keyboard;
	struct wl_pointer *pointer;
	struct xkb_context *xkb_context;
	int pointer_x;
	int pointer_y;
	enum focus keyboard_focus;
	enum focus pointer_focus;

	struct wl_surface *surface;
	struct xdg_surface *xdg_surface;
	struct xdg_toplevel *toplevel;
	struct shm_buffer buffers[BUFFER_COUNT];

	/* Size from the last xdg_toplevel.configure, applied on xdg_surface.configure. */
	int pending_width;
	int pending_height;
	bool toplevel_configure_pending;
	int width;
	int height;
	bool configured;
	/* Every buffer was busy when a repaint was due; repaint on release. */
	bool redraw_pending;
	bool ready_sent;

	bool use_alt_color;
	bool color_shown;
	uint32_t shown_color;

	/* --clock: the frame callback asked for, at most one at a time */
	struct wl_callback *frame_callback;

	struct child dialog;
	struct child popup;

	int signal_fd;
	int timer_fd;
	bool running;
	int exit_status;
};

/* Stops the main loop with a failure status; the reason goes to stderr. */
static void fail(struct client *client, const char *format, ...)
        __attribute__((format(printf, 2, 3)));

static void fail(struct client *client, const char *format, ...)
{
	va_list args;

	fprintf(stderr, PROGRAM_NAME ": ");
	va_start(args, format);
	vfprintf(stderr, format, args);
	va_end(args);
	fputc('\n', stderr);
	client->running = false;
	client->exit_status = EXIT_FAILURE;
}

/* Surface coordinates as the nearest integer, so 10.5 reads as 11, not 10. */
static int fixed_to_rounded_int(wl_fixed_t value)
{
	double d = wl_fixed_to_double(value);

	return (int)(d < 0 ? d - 0.5 : d + 0.5);
}

static uint32_t current_color(const struct client *client)
{
	return client->use_alt_color ? client->options->alt_color : client->options->color;
}

static void shm_buffer_release(struct shm_buffer *buffer)
{
	if (buffer->wl_buffer)
		wl_buffer_destroy(buffer->wl_buffer);
	if (buffer->data)
		munmap(buffer->data, buffer->size);
	buffer->wl_buffer = NULL;
	buffer->data = NULL;
	buffer->size = 0;
	buffer->width = 0;
	buffer->height = 0;
	buffer->busy = false;
	buffer->filled = false;
}

static void handle_buffer_release(void *data, struct wl_buffer *wl_buffer);

static const struct wl_buffer_listener buffer_listener = {
	.release = handle_buffer_release,
};

static int shm_buffer_allocate(struct client *client, struct shm_buffer *buffer, int width,
                               int height)
{
	int32_t stride = width * 4;
	size_t size = (size_t)stride * (size_t)height;
	struct wl_shm_pool *pool;
	void *data;
	int fd;
	int r;

	fd = memfd_create(PROGRAM_NAME, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0) {
		r = -errno;
		goto err_close;
	}
	/*
	 * If the file could shrink, the compositor would take SIGBUS reading
	 * it; the seal promises it cannot.  Old kernels may refuse sealing,
	 * which only loses that promise, so a failure here is not fatal.
	 */
	(void)fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_SEAL);

	data = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (data == MAP_FAILED) {
		r = -errno;
		goto err_close;
	}

	pool = wl_shm_create_pool(client->shm, fd, (int32_t)size);
	if (!pool) {
		r = -ENOMEM;
		goto err_unmap;
	}
	buffer->wl_buffer =
	        wl_shm_pool_create_buffer(pool, 0, width, height, stride, WL_SHM_FORMAT_XRGB8888);
	/* The buffer keeps the pool's memory alive; the pool object is not needed. */
	wl_shm_pool_destroy(pool);
	if (!buffer->wl_buffer) {
		r = -ENOMEM;
		goto err_unmap;
	}
	/* libwayland sent its own duplicate of the fd; ours can go. */
	close(fd);

	wl_buffer_add_listener(buffer->wl_buffer, &buffer_listener, buffer);
	buffer->client = client;
	buffer->data = data;
	buffer->size = size;
	buffer->width = width;
	buffer->height = height;
	buffer->busy = false;
	return 0;

err_unmap:
	munmap(data, size);
err_close:
	close(fd);
	return r;
}

/*
 * Returns one of buffers, of width x height, that the compositor does not
 * hold, reallocating one whose size is stale; NULL with errno EAGAIN when both
 * are busy, or with another errno when allocation failed.
 */
static struct shm_buffer *next_buffer(struct client *client, struct shm_buffer *buffers, int width,
                                      int height)
{
	struct shm_buffer *buffer = NULL;
	int r;

	for (int i = 0; i < BUFFER_COUNT; i++) {
		if (buffers[i].busy)
			continue;
		buffer = &buffers[i];
		/* Prefer a buffer that can be reused as it is. */
		if (buffer->wl_buffer && buffer->width == width && buffer->height == height)
			return buffer;
	}
	if (!buffer) {
		errno = EAGAIN;
		return NULL;
	}

	shm_buffer_release(buffer);
	r = shm_buffer_allocate(client, buffer, width, height);
	if (r < 0) {
		errno = -r;
		return NULL;
	}
	return buffer;
}

static void fill(struct shm_buffer *buffer, uint32_t color)
{
	uint32_t *pixels = buffer->data;
	size_t count = (size_t)buffer->width * (size_t)buffer->height;

	for (size_t i = 0; i < count; i++)
		pixels[i] = 0xff000000u | color;
	buffer->filled = true;
	buffer->fill_color = color;
}

static void damage(struct client *client, struct wl_surface *surface, int32_t x, int32_t y,
                   int32_t width, int32_t height)
{
	/* Buffer and surface coordinates are the same: scale 1, no transform. */
	if (client->compositor_version >= WL_SURFACE_DAMAGE_BUFFER_SINCE_VERSION)
		wl_surface_damage_buffer(surface, x, y, width, height);
	else
		wl_surface_damage(surface, x, y, width, height);
}

static void fill_and_commit(struct client *client, struct wl_surface *surface,
                            struct shm_buffer *buffer, uint32_t color)
{
	fill(buffer, color);
	wl_surface_attach(surface, buffer->wl_buffer, 0, 0);
	damage(client, surface, 0, 0, INT32_MAX, INT32_MAX);
	wl_surface_commit(surface);
	buffer->busy = true;
}

static uint64_t realtime_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
}

static void draw_clock_block(struct shm_buffer *buffer, int column, int row, bool white)
{
	uint32_t *pixels = buffer->data;
	uint32_t value = white ? 0xffffffffu : 0xff000000u;
	int x0 = CLOCK_X + column * CLOCK_BLOCK;
	int y0 = CLOCK_Y + row * CLOCK_BLOCK;

	/* A window smaller than the pattern shows the part that fits. */
	for (int y = y0; y < y0 + CLOCK_BLOCK && y < buffer->height; y++) {
		for (int x = x0; x < x0 + CLOCK_BLOCK && x < buffer->width; x++)
			pixels[(size_t)y * (size_t)buffer->width + (size_t)x] = value;
	}
}

static void draw_clock(struct shm_buffer *buffer, uint64_t time_ms)
{
	for (int column = 0; column < CLOCK_COLUMNS; column++)
		draw_clock_block(buffer, column, 0, column % 2 == 0);
	for (int i = 0; i < CLOCK_BITS; i++) {
		bool bit = (time_ms >> (CLOCK_BITS - 1 - i)) & 1;
		int column = i % CLOCK_COLUMNS;
		int row = 1 + i / CLOCK_COLUMNS;

		draw_clock_block(buffer, column, row, bit);
		draw_clock_block(buffer, column, row + 3, !bit);
	}
}

static void handle_frame_done(void *data, struct wl_callback *callback, uint32_t time);

static const struct wl_callback_listener frame_listener = {
	.done = handle_frame_done,
};

/*
 * --clock: the whole window only when its colour or size changed, else just
 * the clock, so that the damage (and the capture and encoder work it causes)
 * stays what a mostly still application would cause.
 */
static void clock_commit(struct client *client, struct shm_buffer *buffer, uint32_t color)
{
	struct wl_surface *surface = client->surface;
	bool whole = !buffer->filled || buffer->fill_color != color;

	if (whole)
		fill(buffer, color);
	draw_clock(buffer, realtime_ms());

	wl_surface_attach(surface, buffer->wl_buffer, 0, 0);
	if (whole)
		damage(client, surface, 0, 0, INT32_MAX, INT32_MAX);
	else
		damage(client, surface, CLOCK_X, CLOCK_Y, CLOCK_WIDTH, CLOCK_HEIGHT);
	if (!client->frame_callback) {
		client->frame_callback = wl_surface_frame(surface);
		if (client->frame_callback)
			wl_callback_add_listener(client->frame_callback, &frame_listener, client);
		else
			fail(client, "cannot ask for a frame callback: out of memory");
	}
	wl_surface_commit(surface);
	buffer->busy = true;
}

static void redraw(struct client *client)
{
	uint32_t color = current_color(client);
	struct shm_buffer *buffer;

	/* A toplevel must not have a buffer before its first configure is acked. */
	if (!client->configured)
		return;

	buffer = next_buffer(client, client->buffers, client->width, client->height);
	if (!buffer) {
		if (errno == EAGAIN) {
			client->redraw_pending = true;
			return;
		}
		fail(client, "cannot allocate a %dx%d shm buffer: %s", client->width,
		     client->height, strerror(errno));
		return;
	}
	client->redraw_pending = false;

	if (client->options->clock)
		clock_commit(client, buffer, color);
	else
		fill_and_commit(client, client->surface, buffer, color);

	if (!client->color_shown || client->shown_color != color) {
		client->color_shown = true;
		client->shown_color = color;
		emit("color %06x", color);
	}

	if (!client->ready_sent) {
		/*
		 * A test reacts to "ready" by acting on the surface, so the
		 * compositor must already have the commit when it reads it.
		 */
		if (wl_display_flush(client->display) < 0 && errno != EAGAIN) {
			fail(client, "cannot flush the Wayland connection: %s", strerror(errno));
			return;
		}
		client->ready_sent = true;
		emit("ready %d %d", client->width, client->height);
	}
}

static void handle_frame_done(void *data, struct wl_callback *callback, uint32_t time)
{
	struct client *client = data;

	wl_callback_destroy(callback);
	client->frame_callback = NULL;
	/* The next frame, with the time as of now. */
	redraw(client);
}

static void child_redraw(struct child *child)
{
	struct client *client = child->client;
	struct shm_buffer *buffer;

	if (!child->surface || !child->configured)
		return;

	buffer = next_buffer(client, child->buffers, child->width, child->height);
	if (!buffer) {
		if (errno == EAGAIN) {
			child->redraw_pending = true;
			return;
		}
		fail(client, "cannot allocate a %dx%d shm buffer for the %s: %s", child->width,
		     child->height, child->name, strerror(errno));
		return;
	}
	child->redraw_pending = false;

	fill_and_commit(client, child->surface, buffer, child->color);

	if (!child->ready_sent) {
		/* As for the main window: the commit is out before the line. */
		if (wl_display_flush(client->display) < 0 && errno != EAGAIN) {
			fail(client, "cannot flush the Wayland connection: %s", strerror(errno));
			return;
		}
		child->ready_sent = true;
		emit("%s ready %d %d", child->name, child->width, child->height);
	}
}

static void handle_buffer_release(void *data, struct wl_buffer *wl_buffer)
{
	struct shm_buffer *buffer = data;
	struct client *client = buffer->client;
	struct child *child = buffer->child;

	buffer->busy = false;
	if (child) {
		if (child->redraw_pending)
			child_redraw(child);
	} else if (client->redraw_pending) {
		redraw(client);
	}
}

static void handle_wm_base_ping(void *data, struct xdg_wm_base *wm_base, uint32_t serial)
{
	xdg_wm_base_pong(wm_base, serial);
}

static const struct xdg_wm_base_listener wm_base_listener = {
	.ping = handle_wm_base_ping,
};

static void handle_xdg_surface_configure(void *data, struct xdg_surface *xdg_surface,
                                         uint32_t serial)
{
	struct client *client = data;

	xdg_surface_ack_configure(xdg_surface, serial);
	client->configured = true;
	if (client->toplevel_configure_pending) {
		client->toplevel_configure_pending = false;
		client->width = client->pending_width;
		client->height = client->pending_height;
		emit("configure %d %d", client->width, client->height);
	}
	/* The ack only takes effect with the next commit, so always commit. */
	redraw(client);
}

static const struct xdg_surface_listener xdg_surface_listener = {
	.configure = handle_xdg_surface_configure,
};

static int configured_dimension(int32_t value, int fallback, const char *name)
{
	if (value <= 0)
		return fallback;
	if (value > MAX_DIMENSION) {
		fprintf(stderr, PROGRAM_NAME ": configured %s %d is above %d, using %d\n", name,
		        value, MAX_DIMENSION, MAX_DIMENSION);
		return MAX_DIMENSION;
	}
	return value;
}

static void handle_toplevel_configure(void *data, struct xdg_toplevel *toplevel, int32_t width,
                                      int32_t height, struct wl_array *states)
{
	struct client *client = data;

	client->pending_width = configured_dimension(width, DEFAULT_WIDTH, "width");
	client->pending_height = configured_dimension(height, DEFAULT_HEIGHT, "height");
	client->toplevel_configure_pending = true;
}

static void handle_toplevel_close(void *data, struct xdg_toplevel *toplevel)
{
	struct client *client = data;

	/* Being asked to close is a normal end, not a failure. */
	client->running = false;
}

static void handle_toplevel_configure_bounds(void *data, struct xdg_toplevel *toplevel,
                                             int32_t width, int32_t height)
{
}

static void handle_toplevel_wm_capabilities(void *data, struct xdg_toplevel *toplevel,
                                            struct wl_array *capabilities)
{
}

static const struct xdg_toplevel_listener toplevel_listener = {
	.configure = handle_toplevel_configure,
	.close = handle_toplevel_close,
	.configure_bounds = handle_toplevel_configure_bounds,
	.wm_capabilities = handle_toplevel_wm_capabilities,
};

/* Also takes a child that was never created or only half built. */
static void child_destroy(struct child *child)
{
	for (int i = 0; i < BUFFER_COUNT; i++)
		shm_buffer_release(&child->buffers[i]);
	if (child->toplevel)
		xdg_toplevel_destroy(child->toplevel);
	if (child->popup)
		xdg_popup_destroy(child->popup);
	if (child->xdg_surface)
		xdg_surface_destroy(child->xdg_surface);
	if (child->surface)
		wl_surface_destroy(child->surface);
	*child = (struct child){ 0 };
}

static void handle_child_xdg_surface_configure(void *data, struct xdg_surface *xdg_surface,
                                               uint32_t serial)
{
	struct child *child = data;

	xdg_surface_ack_configure(xdg_surface, serial);
	child->configured = true;
	if (child->role_configure_pending) {
		child->role_configure_pending = false;
		child->width = child->pending_width;
		child->height = child->pending_height;
		if (child->popup)
			emit("popup configure %d %d %d %d", child->pending_x, child->pending_y,
			     child->width, child->height);
		else
			emit("dialog configure %d %d", child->width, child->height);
	}
	/* The ack only takes effect with the next commit, so always commit. */
	child_redraw(child);
}

static const struct xdg_surface_listener child_xdg_surface_listener = {
	.configure = handle_child_xdg_surface_configure,
};

static void handle_dialog_configure(void *data, struct xdg_toplevel *toplevel, int32_t width,
                                    int32_t height, struct wl_array *states)
{
	struct child *dialog = data;

	dialog->pending_width = configured_dimension(width, DIALOG_WIDTH, "dialog width");
	dialog->pending_height = configured_dimension(height, DIALOG_HEIGHT, "dialog height");
	dialog->role_configure_pending = true;
}

static void handle_dialog_close(void *data, struct xdg_toplevel *toplevel)
{
	struct child *dialog = data;

	/* Closing the dialog leaves the main window running. */
	emit("dialog close");
	child_destroy(dialog);
}

static const struct xdg_toplevel_listener dialog_toplevel_listener = {
	.configure = handle_dialog_configure,
	.close = handle_dialog_close,
	.configure_bounds = handle_toplevel_configure_bounds,
	.wm_capabilities = handle_toplevel_wm_capabilities,
};

static void handle_popup_configure(void *data, struct xdg_popup *xdg_popup, int32_t x, int32_t y,
                                   int32_t width, int32_t height)
{
	struct child *popup = data;

	popup->pending_x = x;
	popup->pending_y = y;
	popup->pending_width = configured_dimension(width, POPUP_WIDTH, "popup width");
	popup->pending_height = configured_dimension(height, POPUP_HEIGHT, "popup height");
	popup->role_configure_pending = true;
}

static void handle_popup_done(void *data, struct xdg_popup *xdg_popup)
{
	struct child *popup = data;

	emit("popup done");
	child_destroy(popup);
}

static void handle_popup_repositioned(void *data, struct xdg_popup *xdg_popup, uint32_t token)
{
}

static const struct xdg_popup_listener popup_listener = {
	.configure = handle_popup_configure,
	.popup_done = handle_popup_done,
	.repositioned = handle_popup_repositioned,
};

/* Starts a child's surface; the caller gives it its role. */
static int child_init(struct client *client, struct child *child, const char *name, uint32_t color)
{
	*child = (struct child){
		.client = client,
		.name = name,
		.color = color,
	};
	for (int i = 0; i < BUFFER_COUNT; i++)
		child->buffers[i].child = child;

	child->surface = wl_compositor_create_surface(client->compositor);
	if (!child->surface)
		return -ENOMEM;
	child->xdg_surface = xdg_wm_base_get_xdg_surface(client->wm_base, child->surface);
	if (!child->xdg_surface)
		return -ENOMEM;
	xdg_surface_add_listener(child->xdg_surface, &child_xdg_surface_listener, child);
	return 0;
}

/* Opens the --dialog-key toplevel, a child of the main window. */
static void dialog_create(struct client *client)
{
	struct child *dialog = &client->dialog;

	/* One dialog at a time. */
	if (dialog->surface)
		return;
	if (child_init(client, dialog, "dialog", client->options->dialog_color) < 0)
		goto err_oom;
	dialog->toplevel = xdg_surface_get_toplevel(dialog->xdg_surface);
	if (!dialog->toplevel)
		goto err_oom;
	xdg_toplevel_add_listener(dialog->toplevel, &dialog_toplevel_listener, dialog);
	xdg_toplevel_set_parent(dialog->toplevel, client->toplevel);
	xdg_toplevel_set_title(dialog->toplevel, "dialog");
	xdg_toplevel_set_app_id(dialog->toplevel, client->options->app_id);
	/* An empty commit asks the compositor for the first configure. */
	wl_surface_commit(dialog->surface);
	return;

err_oom:
	child_destroy(dialog);
	fail(client, "cannot create the dialog: out of memory");
}

/*
 * Opens the --popup-key popup on the main window, without a grab.  The main
 * window sets no window geometry, so the anchor rectangle is in its surface
 * coordinates and the popup's top-left corner lands on the anchor point.
 */
static void popup_create(struct client *client)
{
	struct child *popup = &client->popup;
	struct xdg_positioner *positioner;

	/* One popup at a time, and only on a mapped parent. */
	if (popup->surface || !client->ready_sent)
		return;
	if (child_init(client, popup, "popup", client->options->popup_color) < 0)
		goto err_oom;
	positioner = xdg_wm_base_create_positioner(client->wm_base);
	if (!positioner)
		goto err_oom;
	xdg_positioner_set_size(positioner, POPUP_WIDTH, POPUP_HEIGHT);
	xdg_positioner_set_anchor_rect(positioner, POPUP_ANCHOR_X, POPUP_ANCHOR_Y, 1, 1);
	xdg_positioner_set_anchor(positioner, XDG_POSITIONER_ANCHOR_TOP_LEFT);
	xdg_positioner_set_gravity(positioner, XDG_POSITIONER_GRAVITY_BOTTOM_RIGHT);
	xdg_positioner_set_constraint_adjustment(positioner,
	                                         XDG_POSITIONER_CONSTRAINT_ADJUSTMENT_NONE);
	popup->popup = xdg_surface_get_popup(popup->xdg_surface, client->xdg_surface, positioner);
	xdg_positioner_destroy(positioner);
	if (!popup->popup)
		goto err_oom;
	xdg_popup_add_listener(popup->popup, &popup_listener, popup);
	wl_surface_commit(popup->surface);
	return;

err_oom:
	child_destroy(popup);
	fail(client, "cannot create the popup: out of memory");
}

static enum focus focus_of(const struct client *client, struct wl_surface *surface)
{
	if (!surface)
		return FOCUS_NONE;
	if (surface == client->surface)
		return FOCUS_MAIN;
	if (client->dialog.surface && surface == client->dialog.surface)
		return FOCUS_DIALOG;
	if (client->popup.surface && surface == client->popup.surface)
		return FOCUS_POPUP;
	return FOCUS_NONE;
}

/* What goes before an input line: nothing for the main window. */
static const char *focus_prefix(enum focus focus)
{
	switch (focus) {
	case FOCUS_DIALOG:
		return "dialog ";
	case FOCUS_POPUP:
		return "popup ";
	default:
		return "";
	}
}

/*
 * The surface a leave event names, or, when it was destroyed on our side and
 * arrives as NULL, the one that last had the focus.
 */
static enum focus leave_focus(const struct client *client, struct wl_surface *surface,
                              enum focus last)
{
	enum focus focus = focus_of(client, surface);

	return focus != FOCUS_NONE ? focus : last;
}

static void handle_keyboard_keymap(void *data, struct wl_keyboard *keyboard, uint32_t format,
                                   int32_t fd, uint32_t size)
{
	struct client *client = data;
	struct xkb_keymap *keymap;
	char *map;

	if (format != WL_KEYBOARD_KEYMAP_FORMAT_XKB_V1 || size == 0) {
		fprintf(stderr, PROGRAM_NAME ": ignoring keymap of format %u, size %u\n", format,
		        size);
		close(fd);
		return;
	}

	/* From wl_seat version 7 on the fd must be mapped private. */
	map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		fprintf(stderr, PROGRAM_NAME ": cannot map the keymap: %s\n", strerror(errno));
		return;
	}

	/*
	 * Key codes are reported raw, so the keymap is only compiled to catch
	 * a compositor that sends a broken one.
	 */
	keymap =
	        xkb_keymap_new_from_buffer(client->xkb_context, map, strnlen(map, size),
	                                   XKB_KEYMAP_FORMAT_TEXT_V1, XKB_KEYMAP_COMPILE_NO_FLAGS);
	if (!keymap)
		fprintf(stderr, PROGRAM_NAME ": the compositor sent an invalid keymap\n");
	xkb_keymap_unref(keymap);
	munmap(map, size);
}

static void handle_keyboard_enter(void *data, struct wl_keyboard *keyboard, uint32_t serial,
                                  struct wl_surface *surface, struct wl_array *keys)
{
	struct client *client = data;

	client->keyboard_focus = focus_of(client, surface);
	emit("%skeyboard enter", focus_prefix(client->keyboard_focus));
}

static void handle_keyboard_leave(void *data, struct wl_keyboard *keyboard, uint32_t serial,
                                  struct wl_surface *surface)
{
	struct client *client = data;

	emit("%skeyboard leave",
	     focus_prefix(leave_focus(client, surface, client->keyboard_focus)));
	client->keyboard_focus = FOCUS_NONE;
}

static void handle_keyboard_key(void *data, struct wl_keyboard *keyboard, uint32_t serial,
                                uint32_t time, uint32_t key, uint32_t state)
{
	struct client *client = data;
	const struct options *options = client->options;
	bool pressed = state == WL_KEYBOARD_KEY_STATE_PRESSED;

	emit("key %u %s", key, pressed ? "pressed" : "released");
	if (pressed && key == options->switch_key) {
		client->use_alt_color = !client->use_alt_color;
		redraw(client);
	}
	/* The dialog and popup keys act on the main window only. */
	if (pressed && client->keyboard_focus == FOCUS_MAIN) {
		if (options->dialog_key != 0 && key == options->dialog_key)
			dialog_create(client);
		if (options->popup_key != 0 && key == options->popup_key)
			popup_create(client);
	}
}

static void handle_keyboard_modifiers(void *data, struct wl_keyboard *keyboard, uint32_t serial,
                                      uint32_t depressed, uint32_t latched, uint32_t locked,
                                      uint32_t group)
{
	emit("modifiers %u %u %u %u", depressed, latched, locked, group);
}

static void handle_keyboard_repeat_info(void *data, struct wl_keyboard *keyboard, int32_t rate,
                                        int32_t delay)
{
}

static const struct wl_keyboard_listener keyboard_listener = {
	.keymap = handle_keyboard_keymap,
	.enter = handle_keyboard_enter,
	.leave = handle_keyboard_leave,
	.key = handle_keyboard_key,
	.modifiers = handle_keyboard_modifiers,
	.repeat_info = handle_keyboard_repeat_info,
};

static void handle_pointer_enter(void *data, struct wl_pointer *pointer, uint32_t serial,
                                 struct wl_surface *surface, wl_fixed_t x, wl_fixed_t y)
{
	struct client *client = data;

	client->pointer_focus = focus_of(client, surface);
	client->pointer_x = fixed_to_rounded_int(x);
	client->pointer_y = fixed_to_rounded_int(y);
	emit("%spointer enter %d %d", focus_prefix(client->pointer_focus), client->pointer_x,
	     client->pointer_y);
}

static void handle_pointer_leave(void *data, struct wl_pointer *pointer, uint32_t serial,
                                 struct wl_surface *surface)
{
	struct client *client = data;

	emit("%spointer leave", focus_prefix(leave_focus(client, surface, client->pointer_focus)));
	client->pointer_focus = FOCUS_NONE;
}

static void handle_pointer_motion(void *data, struct wl_pointer *pointer, uint32_t time,
                                  wl_fixed_t x, wl_fixed_t y)
{
	struct client *client = data;

	client->pointer_x = fixed_to_rounded_int(x);
	client->pointer_y = fixed_to_rounded_int(y);
	emit("%spointer motion %d %d", focus_prefix(client->pointer_focus), client->pointer_x,
	     client->pointer_y);
}

static void handle_pointer_button(void *data, struct wl_pointer *pointer, uint32_t serial,
                                  uint32_t time, uint32_t button, uint32_t state)
{
	struct client *client = data;

	emit("%spointer button %u %s %d %d", focus_prefix(client->pointer_focus), button,
	     state == WL_POINTER_BUTTON_STATE_PRESSED ? "pressed" : "released", client->pointer_x,
	     client->pointer_y);
}

static void handle_pointer_axis(void *data, struct wl_pointer *pointer, uint32_t time,
                                uint32_t axis, wl_fixed_t value)
{
	struct client *client = data;
	const char *name;

	switch (axis) {
	case WL_POINTER_AXIS_VERTICAL_SCROLL:
		name = "vertical";
		break;
	case WL_POINTER_AXIS_HORIZONTAL_SCROLL:
		name = "horizontal";
		break;
	default:
		fprintf(stderr, PROGRAM_NAME ": ignoring unknown pointer axis %u\n", axis);
		return;
	}
	emit("%spointer axis %s %.2f", focus_prefix(client->pointer_focus), name,
	     wl_fixed_to_double(value));
}

static void handle_pointer_frame(void *data, struct wl_pointer *pointer)
{
}

static void handle_pointer_axis_source(void *data, struct wl_pointer *pointer, uint32_t source)
{
}

static void handle_pointer_axis_stop(void *data, struct wl_pointer *pointer, uint32_t time,
                                     uint32_t axis)
{
}

static void handle_pointer_axis_discrete(void *data, struct wl_pointer *pointer, uint32_t axis,
                                         int32_t discrete)
{
}

/* axis_value120 (version 8) and later are never sent: the seat is bound at 7. */
static const struct wl_pointer_listener pointer_listener = {
	.enter = handle_pointer_enter,
	.leave = handle_pointer_leave,
	.motion = handle_pointer_motion,
	.button = handle_pointer_button,
	.axis = handle_pointer_axis,
	.frame = handle_pointer_frame,
	.axis_source = handle_pointer_axis_source,
	.axis_stop = handle_pointer_axis_stop,
	.axis_discrete = handle_pointer_axis_discrete,
};

static void keyboard_destroy(struct client *client)
{
	if (!client->keyboard)
		return;
	if (client->seat_version >= WL_KEYBOARD_RELEASE_SINCE_VERSION)
		wl_keyboard_release(client->keyboard);
	else
		wl_keyboard_destroy(client->keyboard);
	client->keyboard = NULL;
}

static void pointer_destroy(struct client *client)
{
	if (!client->pointer)
		return;
	if (client->seat_version >= WL_POINTER_RELEASE_SINCE_VERSION)
		wl_pointer_release(client->pointer);
	else
		wl_pointer_destroy(client->pointer);
	client->pointer = NULL;
}

static void seat_destroy(struct client *client)
{
	keyboard_destroy(client);
	pointer_destroy(client);
	if (!client->seat)
		return;
	if (client->seat_version >= WL_SEAT_RELEASE_SINCE_VERSION)
		wl_seat_release(client->seat);
	else
		wl_seat_destroy(client->seat);
	client->seat = NULL;
}

static void handle_seat_capabilities(void *data, struct wl_seat *seat, uint32_t capabilities)
{
	struct client *client = data;
	bool has_keyboard = capabilities & WL_SEAT_CAPABILITY_KEYBOARD;
	bool has_pointer = capabilities & WL_SEAT_CAPABILITY_POINTER;

	if (has_keyboard && !client->keyboard) {
		client->keyboard = wl_seat_get_keyboard(seat);
		if (!client->keyboard) {
			fail(client, "cannot create a wl_keyboard: out of memory");
			return;
		}
		wl_keyboard_add_listener(client->keyboard, &keyboard_listener, client);
	} else if (!has_keyboard && client->keyboard) {
		keyboard_destroy(client);
	}

	if (has_pointer && !client->pointer) {
		client->pointer = wl_seat_get_pointer(seat);
		if (!client->pointer) {
			fail(client, "cannot create a wl_pointer: out of memory");
			return;
		}
		wl_pointer_add_listener(client->pointer, &pointer_listener, client);
	} else if (!has_pointer && client->pointer) {
		pointer_destroy(client);
	}
}

static void handle_seat_name(void *data, struct wl_seat *seat, const char *name)
{
}

static const struct wl_seat_listener seat_listener = {
	.capabilities = handle_seat_capabilities,
	.name = handle_seat_name,
};

static uint32_t min_version(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

static void handle_registry_global(void *data, struct wl_registry *registry, uint32_t name,
                                   const char *interface, uint32_t version)
{
	struct client *client = data;

	if (strcmp(interface, wl_compositor_interface.name) == 0 && !client->compositor) {
		client->compositor_version = min_version(version, COMPOSITOR_VERSION);
		client->compositor = wl_registry_bind(registry, name, &wl_compositor_interface,
		                                      client->compositor_version);
		if (!client->compositor)
			fail(client, "cannot bind wl_compositor: out of memory");
	} else if (strcmp(interface, wl_shm_interface.name) == 0 && !client->shm) {
		client->shm = wl_registry_bind(registry, name, &wl_shm_interface, 1);
		if (!client->shm)
			fail(client, "cannot bind wl_shm: out of memory");
	} else if (strcmp(interface, xdg_wm_base_interface.name) == 0 && !client->wm_base) {
		client->wm_base = wl_registry_bind(registry, name, &xdg_wm_base_interface,
		                                   min_version(version, WM_BASE_VERSION));
		if (!client->wm_base) {
			fail(client, "cannot bind xdg_wm_base: out of memory");
			return;
		}
		xdg_wm_base_add_listener(client->wm_base, &wm_base_listener, client);
	} else if (strcmp(interface, wl_seat_interface.name) == 0 && !client->seat) {
		/* The tests drive a single seat; further seats are ignored. */
		client->seat_version = min_version(version, SEAT_VERSION);
		client->seat =
		        wl_registry_bind(registry, name, &wl_seat_interface, client->seat_version);
		if (!client->seat) {
			fail(client, "cannot bind wl_seat: out of memory");
			return;
		}
		client->seat_global_name = name;
		wl_seat_add_listener(client->seat, &seat_listener, client);
	}
}

static void handle_registry_global_remove(void *data, struct wl_registry *registry, uint32_t name)
{
	struct client *client = data;

	if (client->seat && name == client->seat_global_name)
		seat_destroy(client);
}

static const struct wl_registry_listener registry_listener = {
	.global = handle_registry_global,
	.global_remove = handle_registry_global_remove,
};

/* Says why the connection broke, naming the object for a protocol error. */
static void report_display_error(struct client *client)
{
	const struct wl_interface *interface = NULL;
	uint32_t object_id = 0;
	uint32_t code;
	int error;

	error = wl_display_get_error(client->display);
	if (error == EPROTO) {
		code = wl_display_get_protocol_error(client->display, &interface, &object_id);
		fail(client, "Wayland protocol error %u on %s@%u", code,
		     interface ? interface->name : "unknown interface", object_id);
	} else if (error != 0) {
		fail(client, "Wayland connection error: %s", strerror(error));
	} else {
		fail(client, "Wayland connection lost");
	}
}

static int client_connect(struct client *client)
{
	const char *missing = NULL;

	client->display = wl_display_connect(NULL);
	if (!client->display) {
		const char *name = getenv("WAYLAND_DISPLAY");

		fprintf(stderr, PROGRAM_NAME ": cannot connect to Wayland display '%s': %s\n",
		        name ? name : "wayland-0", strerror(errno));
		return -1;
	}

	client->xkb_context = xkb_context_new(XKB_CONTEXT_NO_FLAGS);
	if (!client->xkb_context) {
		fprintf(stderr, PROGRAM_NAME ": cannot create an xkb context\n");
		return -1;
	}

	client->registry = wl_display_get_registry(client->display);
	if (!client->registry) {
		fprintf(stderr, PROGRAM_NAME ": cannot get the registry: out of memory\n");
		return -1;
	}
	wl_registry_add_listener(client->registry, &registry_listener, client);
	if (wl_display_roundtrip(client->display) < 0) {
		report_display_error(client);
		return -1;
	}
	if (!client->running)
		return -1;

	if (!client->compositor)
		missing = "wl_compositor";
	else if (!client->shm)
		missing = "wl_shm";
	else if (!client->wm_base)
		missing = "xdg_wm_base";
	if (missing) {
		fprintf(stderr, PROGRAM_NAME ": the compositor lacks %s\n", missing);
		return -1;
	}
	return 0;
}

static int window_create(struct client *client)
{
	const struct options *options = client->options;

	client->surface = wl_compositor_create_surface(client->compositor);
	if (!client->surface)
		goto err_oom;
	client->xdg_surface = xdg_wm_base_get_xdg_surface(client->wm_base, client->surface);
	if (!client->xdg_surface)
		goto err_oom;
	xdg_surface_add_listener(client->xdg_surface, &xdg_surface_listener, client);
	client->toplevel = xdg_surface_get_toplevel(client->xdg_surface);
	if (!client->toplevel)
		goto err_oom;
	xdg_toplevel_add_listener(client->toplevel, &toplevel_listener, client);
	xdg_toplevel_set_title(client->toplevel, options->title);
	xdg_toplevel_set_app_id(client->toplevel, options->app_id);
	/* An empty commit asks the compositor for the first configure. */
	wl_surface_commit(client->surface);
	return 0;

err_oom:
	fprintf(stderr, PROGRAM_NAME ": cannot create the window: out of memory\n");
	return -1;
}

/* Also takes half-built clients, so every error path can end here. */
static void client_destroy(struct client *client)
{
	/* Children go before the window they belong to. */
	child_destroy(&client->popup);
	child_destroy(&client->dialog);
	if (client->frame_callback)
		wl_callback_destroy(client->frame_callback);
	for (int i = 0; i < BUFFER_COUNT; i++)
		shm_buffer_release(&client->buffers[i]);
	if (client->toplevel)
		xdg_toplevel_destroy(client->toplevel);
	if (client->xdg_surface)
		xdg_surface_destroy(client->xdg_surface);
	if (client->surface)
		wl_surface_destroy(client->surface);
	seat_destroy(client);
	if (client->wm_base)
		xdg_wm_base_destroy(client->wm_base);
	if (client->shm)
		wl_shm_destroy(client->shm);
	if (client->compositor)
		wl_compositor_destroy(client->compositor);
	if (client->registry)
		wl_registry_destroy(client->registry);
	xkb_context_unref(client->xkb_context);
	if (client->display) {
		/* Let the compositor see the destruction before the socket closes. */
		wl_display_flush(client->display);
		wl_display_disconnect(client->display);
	}
	if (client->timer_fd >= 0)
		close(client->timer_fd);
	if (client->signal_fd >= 0)
		close(client->signal_fd);
}

/*
 * SIGTERM and SIGINT arrive through a signalfd, so that they are handled in
 * the main loop where it is safe to tear the Wayland objects down.
 */
static void run_main_loop(struct client *client)
{
	enum {
		POLL_DISPLAY,
		POLL_SIGNAL,
		POLL_TIMER,
		POLL_COUNT
	};
	struct pollfd fds[POLL_COUNT] = {
		[POLL_DISPLAY] = { .fd = wl_display_get_fd(client->display), .events = POLLIN },
		[POLL_SIGNAL] = { .fd = client->signal_fd, .events = POLLIN },
		/* poll() skips a negative fd, so no timer means no entry. */
		[POLL_TIMER] = { .fd = client->timer_fd, .events = POLLIN },
	};

	while (client->running) {
		while (wl_display_prepare_read(client->display) != 0) {
			if (wl_display_dispatch_pending(client->display) < 0) {
				report_display_error(client);
				return;
			}
		}
		if (!client->running) {
			wl_display_cancel_read(client->display);
			break;
		}

		/* A full socket is flushed once poll says it is writable again. */
		fds[POLL_DISPLAY].events = POLLIN;
		if (wl_display_flush(client->display) < 0) {
			if (errno != EAGAIN) {
				wl_display_cancel_read(client->display);
				report_display_error(client);
				return;
			}
			fds[POLL_DISPLAY].events |= POLLOUT;
		}

		if (poll(fds, POLL_COUNT, -1) < 0) {
			wl_display_cancel_read(client->display);
			if (errno == EINTR)
				continue;
			fail(client, "poll failed: %s", strerror(errno));
			return;
		}

		if (fds[POLL_DISPLAY].revents & (POLLIN | POLLERR | POLLHUP)) {
			if (wl_display_read_events(client->display) < 0) {
				report_display_error(client);
				return;
			}
		} else {
			wl_display_cancel_read(client->display);
		}
		if (wl_display_dispatch_pending(client->display) < 0) {
			report_display_error(client);
			return;
		}

		if (fds[POLL_SIGNAL].revents & POLLIN) {
			/* A clean end, whoever asked for it. */
			client->running = false;
			client->exit_status = EXIT_SUCCESS;
		}
		if (fds[POLL_TIMER].revents & POLLIN) {
			client->running = false;
			client->exit_status = client->options->exit_code;
		}
	}
}

static void print_usage(FILE *stream)
{
	fprintf(stream,
	        "Usage: " PROGRAM_NAME " [OPTION]...\n"
	        "Show one xdg-shell toplevel in a solid colour and print every configure\n"
	        "and input event on stdout, one line each.\n"
	        "\n"
	        "Options:\n"
	        "  --color RRGGBB        colour to show first (default ff0000)\n"
	        "  --alt-color RRGGBB    colour the switch key toggles to (default 0000ff)\n"
	        "  --switch-key CODE     evdev key code that toggles the colour\n"
	        "                        (default 57, KEY_SPACE)\n"
	        "  --dialog-key CODE     evdev key code that, on the main window, opens a\n"
	        "                        child toplevel titled dialog; 0 off (default 0)\n"
	        "  --dialog-color RRGGBB colour of that dialog (default 00ff00)\n"
	        "  --popup-key CODE      evdev key code that, on the main window, opens a\n"
	        "                        120x60 popup at 40,50 of it; 0 off (default 0)\n"
	        "  --popup-color RRGGBB  colour of that popup (default ffff00)\n"
	        "  --title TEXT          toplevel title (default " PROGRAM_NAME ")\n"
	        "  --app-id ID           toplevel app id (default " PROGRAM_NAME ")\n"
	        "  --exit-after-ms N     exit on our own after N ms; 0 never (default 0)\n"
	        "  --exit-code N         status for that exit, 0 to 255 (default 0)\n"
	        "  --clock               redraw on every frame and write the wall-clock time\n"
	        "                        (CLOCK_REALTIME, ms) as 16x7 blocks of 16 pixels at\n"
	        "                        16,16 of the window (see web/js/probe.js)\n"
	        "  -h, --help            show this help and exit\n"
	        "\n"
	        "Output lines: configure W H, color RRGGBB, ready W H, keyboard enter|leave,\n"
	        "key CODE pressed|released, modifiers DEPRESSED LATCHED LOCKED GROUP,\n"
	        "pointer enter X Y, pointer leave, pointer motion X Y,\n"
	        "pointer button CODE pressed|released X Y,\n"
	        "pointer axis vertical|horizontal VALUE.\n"
	        "The dialog adds dialog configure W H, dialog ready W H, dialog close, and\n"
	        "its keyboard and pointer lines with a leading \"dialog \"; the popup adds\n"
	        "popup configure X Y W H, popup ready W H, popup done, and its pointer\n"
	        "lines with a leading \"popup \".  Key lines name no surface.\n"
	        "SIGTERM or SIGINT exit with status 0.\n");
}

static int parse_string(const char *option, const char *text, const char **result)
{
	if (strlen(text) > MAX_STRING_LENGTH) {
		fprintf(stderr, PROGRAM_NAME ": %s is longer than %d bytes\n", option,
		        MAX_STRING_LENGTH);
		return -EINVAL;
	}
	*result = text;
	return 0;
}

/* Returns 0 to run, 1 after --help, or a negative errno for a bad command line. */
static int parse_options(int argc, char *argv[], struct options *options)
{
	enum {
		OPTION_COLOR = 256,
		OPTION_ALT_COLOR,
		OPTION_SWITCH_KEY,
		OPTION_DIALOG_KEY,
		OPTION_DIALOG_COLOR,
		OPTION_POPUP_KEY,
		OPTION_POPUP_COLOR,
		OPTION_TITLE,
		OPTION_APP_ID,
		OPTION_EXIT_AFTER_MS,
		OPTION_EXIT_CODE,
		OPTION_CLOCK,
	};
	static const struct option long_options[] = {
		{ "color", required_argument, NULL, OPTION_COLOR },
		{ "alt-color", required_argument, NULL, OPTION_ALT_COLOR },
		{ "switch-key", required_argument, NULL, OPTION_SWITCH_KEY },
		{ "dialog-key", required_argument, NULL, OPTION_DIALOG_KEY },
		{ "dialog-color", required_argument, NULL, OPTION_DIALOG_COLOR },
		{ "popup-key", required_argument, NULL, OPTION_POPUP_KEY },
		{ "popup-color", required_argument, NULL, OPTION_POPUP_COLOR },
		{ "title", required_argument, NULL, OPTION_TITLE },
		{ "app-id", required_argument, NULL, OPTION_APP_ID },
		{ "exit-after-ms", required_argument, NULL, OPTION_EXIT_AFTER_MS },
		{ "exit-code", required_argument, NULL, OPTION_EXIT_CODE },
		{ "clock", no_argument, NULL, OPTION_CLOCK },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long value;
	int opt;
	int r = 0;

	*options = (struct options){
		.color = 0xff0000,
		.alt_color = 0x0000ff,
		.switch_key = KEY_SPACE,
		.dialog_key = 0,
		.dialog_color = 0x00ff00,
		.popup_key = 0,
		.popup_color = 0xffff00,
		.title = PROGRAM_NAME,
		.app_id = PROGRAM_NAME,
		.exit_after_ms = 0,
		.exit_code = 0,
		.clock = false,
	};

	while ((opt = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
		switch (opt) {
		case OPTION_COLOR:
			r = parse_color("--color", optarg, &options->color);
			break;
		case OPTION_ALT_COLOR:
			r = parse_color("--alt-color", optarg, &options->alt_color);
			break;
		case OPTION_SWITCH_KEY:
			r = parse_unsigned("--switch-key", optarg, 0, KEY_MAX, &value);
			options->switch_key = (uint32_t)value;
			break;
		case OPTION_DIALOG_KEY:
			r = parse_unsigned("--dialog-key", optarg, 0, KEY_MAX, &value);
			options->dialog_key = (uint32_t)value;
			break;
		case OPTION_DIALOG_COLOR:
			r = parse_color("--dialog-color", optarg, &options->dialog_color);
			break;
		case OPTION_POPUP_KEY:
			r = parse_unsigned("--popup-key", optarg, 0, KEY_MAX, &value);
			options->popup_key = (uint32_t)value;
			break;
		case OPTION_POPUP_COLOR:
			r = parse_color("--popup-color", optarg, &options->popup_color);
			break;
		case OPTION_TITLE:
			r = parse_string("--title", optarg, &options->title);
			break;
		case OPTION_APP_ID:
			r = parse_string("--app-id", optarg, &options->app_id);
			break;
		case OPTION_EXIT_AFTER_MS:
			r = parse_unsigned("--exit-after-ms", optarg, 0, INT_MAX,
			                   &options->exit_after_ms);
			break;
		case OPTION_EXIT_CODE:
			r = parse_unsigned("--exit-code", optarg, 0, 255, &value);
			options->exit_code = (int)value;
			break;
		case OPTION_CLOCK:
			options->clock = true;
			break;
		case 'h':
			print_usage(stdout);
			return 1;
		default:
			/* getopt_long() has already said what was wrong. */
			r = -EINVAL;
			break;
		}
		if (r < 0)
			goto err_usage;
	}
	if (optind < argc) {
		fprintf(stderr, PROGRAM_NAME ": unexpected argument '%s'\n", argv[optind]);
		goto err_usage;
	}
	return 0;

err_usage:
	fprintf(stderr, "Try '" PROGRAM_NAME " --help' for more information.\n");
	return -EINVAL;
}

int main(int argc, char *argv[])
{
	struct options options;
	struct client client = {
		.options = &options,
		.signal_fd = -1,
		.timer_fd = -1,
		.running = true,
		.exit_status = EXIT_SUCCESS,
	};
	int r;

	r = parse_options(argc, argv, &options);
	if (r != 0)
		return r > 0 ? EXIT_SUCCESS : 2;

	/* Tests read stdout through a pipe and need every line as it happens. */
	setvbuf(stdout, NULL, _IOLBF, 0);

	r = main_loop_fds_open(options.exit_after_ms, &client.signal_fd, &client.timer_fd);
	if (r < 0)
		goto out;
	if (client_connect(&client) < 0 || window_create(&client) < 0) {
		r = -1;
		goto out;
	}

	run_main_loop(&client);
	r = 0;

out:
	client_destroy(&client);
	if (r < 0)
		return EXIT_FAILURE;
	return client.exit_status;
}
