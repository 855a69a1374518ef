/* SPDX-License-Identifier: MIT */
/*
 * glassbox-session: the libweston host of one user session. Everything runs
 * on libweston's wl_event_loop; nothing here is thread-safe.
 *
 * struct gb_session is the object list: main.c creates each object and
 * keeps it here. Each object's functions are in its own header
 * (compositor.h, shell.h, xwayland.h, app.h, input.h, screenshot.h,
 * control.h, stream.h, signal-socket.h); see README.md, SOURCE.
 */
#ifndef GB_SESSION_H
#define GB_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include <wayland-server-core.h>

#include "config.h"

struct weston_compositor;
struct weston_output;
struct weston_seat;
struct gb_shell;
struct gb_xwayland;
struct gb_control;
struct gb_screenshot_request;
struct gb_plugin_registry;
struct gb_stream;
struct gb_signal;

/** A child process the session watches (the application, Xwayland). */
struct gb_child {
	pid_t pid;
	void (*exited)(struct gb_child *child, int wait_status);
	struct wl_list link; /* gb_session.children */
};

struct gb_session {
	const struct gb_config *config;
	const char *id;
	struct timespec start_time; /* CLOCK_MONOTONIC at main() */

	struct wl_display *display;
	struct wl_event_loop *loop;
	struct weston_log_context *log_context;
	struct weston_compositor *compositor;
	struct weston_output *output;
	struct weston_seat *seat;
	const char *socket_name;

	struct gb_shell *shell;
	struct gb_xwayland *xwayland;
	struct gb_control *control;

	/* the plugins loaded for this session (capture, encoder, storage) */
	struct gb_plugin_registry *plugins;
	/* streaming (stream.h, signal-socket.h); NULL without --signal-socket */
	struct gb_stream *stream;
	struct gb_signal *signal;

	struct wl_list children; /* gb_child.link */
	struct wl_list frame_listeners;
	struct wl_listener output_frame_listener;

	/* the application */
	struct gb_child app;
	bool app_running;
	struct wl_event_source *kill_timer; /* SIGKILL after the grace period */
	bool stopping;                      /* SIGTERM/SIGINT received */

	/* figures */
	uint64_t frame_count;
	bool app_mapped;
	double first_app_frame_ms; /* < 0 until the first frame showing the app */

	/* remote input messages dropped as malformed, out of range or over the rate */
	uint64_t input_dropped;

	/* pressed keys and buttons, so that nothing stays stuck */
	uint8_t key_state[0x300 / 8];

	struct wl_list screenshots; /* gb_screenshot_request.link */

	int exit_code;
	bool failed; /* exit 1 whatever the application did */
};

double gb_session_elapsed_ms(const struct gb_session *session);

#endif
