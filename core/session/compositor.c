/* SPDX-License-Identifier: MIT */
/*
 * The libweston compositor of a session: headless backend, one output of
 * the configured size, one seat with keyboard and pointer, and the repaint
 * hook that capture plugins and screenshots hang off.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libweston/libweston.h>
#include <libweston/backend-headless.h>
#include <libweston/weston-log.h>
#include <libweston/windowed-output-api.h>

#include "compositor.h"
#include "log.h"
#include "session.h"
#include "weston-private.h"

struct gb_seat {
	struct weston_seat base;
	struct wl_listener compositor_destroy;
};

/*
 * libweston logs through one global handler. Its lines end in '\n' and may
 * come in pieces (the "continue" handler), so collect them until a newline.
 * Most of what it says is start-up chatter: keep it at debug, but let
 * anything that reads like a problem through.
 */
static char weston_line[1024];
static size_t weston_line_length;

static void weston_line_flush(void)
{
	enum gb_log_level level = GB_LOG_DEBUG;

	if (weston_line_length == 0)
		return;
	if (strcasestr(weston_line, "error") || strcasestr(weston_line, "fail") ||
	    strcasestr(weston_line, "fatal") || strcasestr(weston_line, "warning"))
		level = GB_LOG_WARNING;
	gb_log_full(level, "libweston", "%s", weston_line);
	weston_line_length = 0;
	weston_line[0] = '\0';
}

static int weston_log_append(const char *format, va_list args)
        __attribute__((format(printf, 1, 0)));

static int weston_log_append(const char *format, va_list args)
{
	char text[1024];
	int n = vsnprintf(text, sizeof(text), format, args);
	const char *p = text;

	for (; *p; p++) {
		if (*p == '\n') {
			weston_line_flush();
			continue;
		}
		if (weston_line_length + 1 < sizeof(weston_line)) {
			weston_line[weston_line_length++] = *p;
			weston_line[weston_line_length] = '\0';
		}
	}
	return n;
}

static int weston_log_handler(const char *format, va_list args)
        __attribute__((format(printf, 1, 0)));

static int weston_log_handler(const char *format, va_list args)
{
	weston_line_flush();
	return weston_log_append(format, args);
}

double gb_session_elapsed_ms(const struct gb_session *session)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - session->start_time.tv_sec) * 1e3 +
	       (double)(now.tv_nsec - session->start_time.tv_nsec) / 1e6;
}

static void output_frame(struct wl_listener *listener, void *data)
{
	struct gb_session *session = wl_container_of(listener, session, output_frame_listener);
	const pixman_region32_t *damage = data;
	struct gb_frame_listener *frame_listener, *next;
	struct timespec now;

	session->frame_count++;
	clock_gettime(CLOCK_MONOTONIC, &now);

	if (session->app_mapped && session->first_app_frame_ms < 0) {
		session->first_app_frame_ms = gb_session_elapsed_ms(session);
		gb_info("first frame showing the application after %.1f ms",
		        session->first_app_frame_ms);
	}

	/* A listener may remove itself (a finished screenshot does). */
	wl_list_for_each_safe (frame_listener, next, &session->frame_listeners, link)
		frame_listener->frame(frame_listener, session->output, damage, &now);
}

void gb_session_add_frame_listener(struct gb_session *session, struct gb_frame_listener *listener)
{
	wl_list_insert(session->frame_listeners.prev, &listener->link);
}

static void handle_compositor_exit(struct weston_compositor *compositor)
{
	wl_display_terminate(compositor->wl_display);
}

static int load_backend(struct gb_session *session)
{
	const struct gb_session_config *config = &session->config->session;
	struct weston_headless_backend_config backend_config;

	memset(&backend_config, 0, sizeof(backend_config));
	backend_config.base.struct_version = WESTON_HEADLESS_BACKEND_CONFIG_VERSION;
	backend_config.base.struct_size = sizeof(backend_config);
	backend_config.use_pixman = config->renderer == GB_RENDERER_PIXMAN;
	backend_config.use_gl = config->renderer == GB_RENDERER_GL;

	if (weston_compositor_load_backend(session->compositor, WESTON_BACKEND_HEADLESS,
	                                   &backend_config.base) < 0) {
		gb_error("cannot start the headless backend with the %s renderer "
		         "(session.renderer in %s)",
		         config->renderer == GB_RENDERER_GL ? "gl" : "pixman",
		         session->config->path ? session->config->path : "defaults");
		return -ENODEV;
	}
	return 0;
}

static int create_output(struct gb_session *session)
{
	const struct gb_session_config *config = &session->config->session;
	const struct weston_windowed_output_api *api;
	struct weston_head *head;
	struct weston_output *output;

	api = weston_windowed_output_get_api(session->compositor);
	if (!api || api->create_head(session->compositor, "headless") < 0) {
		gb_error("the headless backend offers no output API");
		return -ENOTSUP;
	}

	head = weston_compositor_iterate_heads(session->compositor, NULL);
	if (!head)
		return -ENODEV;

	output = weston_compositor_create_output_with_head(session->compositor, head);
	if (!output)
		return -ENOMEM;

	weston_output_set_scale(output, 1);
	weston_output_set_transform(output, WL_OUTPUT_TRANSFORM_NORMAL);
	if (api->output_set_size(output, config->width, config->height) < 0 ||
	    weston_output_enable(output) < 0) {
		gb_error("cannot enable a %dx%d output", config->width, config->height);
		weston_output_destroy(output);
		return -EINVAL;
	}

	session->output = output;
	session->output_frame_listener.notify = output_frame;
	wl_signal_add(&output->frame_signal, &session->output_frame_listener);
	return 0;
}

/*
 * The seat is released when the compositor goes away, after the shell and
 * Xwayland (whose destroy listeners were added earlier) are gone, and before
 * libweston frees its keymap.
 */
static void seat_compositor_destroyed(struct wl_listener *listener, void *data)
{
	struct gb_seat *seat = wl_container_of(listener, seat, compositor_destroy);

	wl_list_remove(&seat->compositor_destroy.link);
	weston_seat_release(&seat->base);
	free(seat);
}

/* libweston owns (and frees) the rule names: hand it copies; NULL for empty. */
static char *xkb_name(const char *value)
{
	return value && value[0] ? strdup(value) : NULL;
}

static int create_seat(struct gb_session *session)
{
	const struct gb_session_config *config = &session->config->session;
	struct xkb_rule_names names = {
		.rules = xkb_name("evdev"),
		.model = xkb_name(config->keyboard_model),
		.layout = xkb_name(config->keyboard_layout),
		.variant = xkb_name(config->keyboard_variant),
		.options = xkb_name(config->keyboard_options),
	};
	struct gb_seat *seat;

	if (weston_compositor_set_xkb_rule_names(session->compositor, &names) < 0)
		return -ENOMEM;

	seat = calloc(1, sizeof(*seat));
	if (!seat)
		return -ENOMEM;
	weston_seat_init(&seat->base, session->compositor, "default");
	seat->compositor_destroy.notify = seat_compositor_destroyed;
	wl_signal_add(&session->compositor->destroy_signal, &seat->compositor_destroy);
	session->seat = &seat->base;

	if (weston_seat_init_keyboard(&seat->base, NULL) < 0) {
		gb_error("keyboard layout '%s' variant '%s' model '%s' options '%s' does not "
		         "compile (session.keyboard in %s)",
		         config->keyboard_layout, config->keyboard_variant, config->keyboard_model,
		         config->keyboard_options,
		         session->config->path ? session->config->path : "defaults");
		return -EINVAL;
	}
	if (weston_seat_init_pointer(&seat->base) < 0)
		return -ENOMEM;
	return 0;
}

int gb_compositor_create(struct gb_session *session)
{
	int r;

	session->log_context = weston_log_ctx_create();
	if (!session->log_context)
		return -ENOMEM;
	weston_log_set_handler(weston_log_handler, weston_log_append);

	session->compositor =
	        weston_compositor_create(session->display, session->log_context, session, NULL);
	if (!session->compositor)
		return -ENOMEM;
	session->compositor->exit = handle_compositor_exit;
	session->compositor->default_pointer_grab = NULL;
	/* Nobody sits in front of a headless output: never blank it. */
	session->compositor->idle_time = 0;

	r = load_backend(session);
	if (r < 0)
		return r;
	r = create_output(session);
	if (r < 0)
		return r;
	return create_seat(session);
}

void gb_compositor_destroy(struct gb_session *session)
{
	if (session->output)
		wl_list_remove(&session->output_frame_listener.link);
	session->output = NULL;
	if (session->compositor)
		weston_compositor_destroy(session->compositor);
	session->compositor = NULL;
	session->seat = NULL;
	weston_line_flush();
	if (session->log_context)
		weston_log_ctx_destroy(session->log_context);
	session->log_context = NULL;
}
