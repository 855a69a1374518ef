/* SPDX-License-Identifier: MIT */
/*
 * glassbox-session: the libweston host of one user session. Everything runs
 * on libweston's wl_event_loop; nothing here is thread-safe.
 */
#ifndef GB_SESSION_H
#define GB_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include <pixman.h>
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

/**
 * Called after every repaint of the output, on the event loop, with the
 * region that was repainted (global coordinates) and the time the frame was
 * rendered (CLOCK_MONOTONIC). Capture plugins hang off this.
 */
struct gb_frame_listener {
	void (*frame)(struct gb_frame_listener *listener, struct weston_output *output,
	              const pixman_region32_t *damage, const struct timespec *time);
	struct wl_list link; /* gb_session.frame_listeners */
};

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

/* compositor.c */
int gb_compositor_create(struct gb_session *session);
void gb_compositor_destroy(struct gb_session *session);
void gb_session_add_frame_listener(struct gb_session *session, struct gb_frame_listener *listener);

/* shell.c */
int gb_shell_create(struct gb_session *session);
void gb_shell_destroy(struct gb_shell *shell);

/* xwayland.c */
int gb_xwayland_start(struct gb_session *session);
void gb_xwayland_destroy(struct gb_xwayland *xwayland);
/**
 * Soon (on the event loop), ask libweston's X11 window manager to make every
 * X11 main window (managed, not transient, not a popup type) fill the
 * output without a frame: fullscreen, or maximized when the application
 * draws its own decorations. @xwayland may be NULL.
 */
void gb_xwayland_fill_output(struct gb_xwayland *xwayland);

/* app.c */
void gb_session_watch_child(struct gb_session *session, struct gb_child *child);
int gb_app_spawn(struct gb_session *session, char *const argv[]);
void gb_app_terminate(struct gb_session *session);
/** After the main loop: stop and reap whatever is left of the application. */
void gb_app_cleanup(struct gb_session *session);
int gb_session_reap_children(int signal_number, void *data);

/* input.c: every call checks its arguments and returns 0 or -errno. */
enum gb_axis {
	GB_AXIS_VERTICAL = 0,
	GB_AXIS_HORIZONTAL = 1,
};
int gb_input_key(struct gb_session *session, uint32_t evdev_code, bool pressed);
int gb_input_pointer_motion(struct gb_session *session, double x, double y);
int gb_input_button(struct gb_session *session, uint32_t button_code, bool pressed);
int gb_input_axis(struct gb_session *session, enum gb_axis axis, double value);
/** Release every key and button still held. */
void gb_input_release_all(struct gb_session *session);

/* screenshot.c */
typedef void (*gb_screenshot_done_func)(void *data, int result);
/**
 * Write the next frame of the output to @path as PNG, then call @done with
 * 0 or a negative errno. Forces a repaint, so it works on an idle screen.
 */
int gb_screenshot_request(struct gb_session *session, const char *path,
                          gb_screenshot_done_func done, void *data);
void gb_screenshot_cancel_all(struct gb_session *session);

/* control.c */
int gb_control_create(struct gb_session *session, const char *path);
void gb_control_destroy(struct gb_control *control);

#endif
