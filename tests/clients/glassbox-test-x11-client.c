/*
 * glassbox-test-x11-client - a minimal X11 (xcb) client for the integration
 * tests, run through Xwayland.
 *
 * It maps one window whose background is a solid colour and reports input
 * and size changes on stdout, one line per event, in the same formats as
 * glassbox-test-client.  The formats are a contract with tests/integration.
 *
 * SPDX-License-Identifier: MIT
 */

#define _GNU_SOURCE

#include <errno.h>
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
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <linux/input-event-codes.h>
#include <xcb/xcb.h>

#include "client-common.h"

#define PROGRAM_NAME "glassbox-test-x11-client"

/* X keycodes are evdev codes shifted by 8 (the xf86-input-evdev convention). */
#define X_KEYCODE_OFFSET 8

/* Keeps the window within what any X server and the tests can handle. */
#define MAX_DIMENSION 16384

/* WM_NAME is one X request; keep it far below the request size limit. */
#define MAX_STRING_LENGTH 1024

struct options {
	uint32_t color;
	unsigned long width;
	unsigned long height;
	const char *title;
	unsigned long exit_after_ms;
	int exit_code;
	unsigned long unfullscreen_key; /* evdev code; 0 off */
};

struct client {
	const struct options *options;
	xcb_connection_t *connection;
	xcb_screen_t *screen;
	xcb_window_t window;
	xcb_atom_t wm_protocols;
	xcb_atom_t wm_delete_window;
	xcb_atom_t net_wm_state;
	xcb_atom_t net_wm_state_fullscreen;
	int width;
	int height;
	bool ready_sent;
	int signal_fd;
	int timer_fd;
	bool running;
	int exit_status;
};

static void fail(struct client *client, const char *format, ...)
        __attribute__((format(printf, 2, 3)));

/* Stops the main loop with a failure status; the reason goes to stderr. */
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

static xcb_screen_t *find_screen(xcb_connection_t *connection, int number)
{
	xcb_screen_iterator_t it = xcb_setup_roots_iterator(xcb_get_setup(connection));

	for (; it.rem > 0; xcb_screen_next(&it)) {
		if (number-- == 0)
			return it.data;
	}
	return NULL;
}

static xcb_visualtype_t *find_visual(xcb_screen_t *screen, xcb_visualid_t id)
{
	xcb_depth_iterator_t depth = xcb_screen_allowed_depths_iterator(screen);

	for (; depth.rem > 0; xcb_depth_next(&depth)) {
		xcb_visualtype_iterator_t visual = xcb_depth_visuals_iterator(depth.data);

		for (; visual.rem > 0; xcb_visualtype_next(&visual)) {
			if (visual.data->visual_id == id)
				return visual.data;
		}
	}
	return NULL;
}

/* Scales an 8-bit channel into wherever the visual keeps that channel. */
static uint32_t channel_to_pixel(uint32_t value, uint32_t mask)
{
	uint32_t shift = 0;
	uint32_t max;

	if (mask == 0)
		return 0;
	while (!(mask & (1u << shift)))
		shift++;
	max = mask >> shift;
	return ((value * max + 127) / 255) << shift;
}

/*
 * The root visual is TrueColor on every server the tests use (Xwayland,
 * Xvfb), where a pixel is computed from the masks; anything else asks the
 * server to allocate the colour.
 */
static int color_to_pixel(struct client *client, uint32_t rgb, uint32_t *pixel)
{
	xcb_screen_t *screen = client->screen;
	xcb_visualtype_t *visual = find_visual(screen, screen->root_visual);
	uint32_t red = (rgb >> 16) & 0xff;
	uint32_t green = (rgb >> 8) & 0xff;
	uint32_t blue = rgb & 0xff;
	xcb_alloc_color_reply_t *reply;

	if (visual && (visual->_class == XCB_VISUAL_CLASS_TRUE_COLOR ||
	               visual->_class == XCB_VISUAL_CLASS_DIRECT_COLOR)) {
		*pixel = channel_to_pixel(red, visual->red_mask) |
		         channel_to_pixel(green, visual->green_mask) |
		         channel_to_pixel(blue, visual->blue_mask);
		return 0;
	}

	reply = xcb_alloc_color_reply(client->connection,
	                              xcb_alloc_color(client->connection, screen->default_colormap,
	                                              (uint16_t)(red * 257),
	                                              (uint16_t)(green * 257),
	                                              (uint16_t)(blue * 257)),
	                              NULL);
	if (!reply)
		return -ENOMEM;
	*pixel = reply->pixel;
	free(reply);
	return 0;
}

static xcb_atom_t intern_atom(xcb_connection_t *connection, const char *name)
{
	xcb_intern_atom_reply_t *reply;
	xcb_atom_t atom;

	reply = xcb_intern_atom_reply(
	        connection, xcb_intern_atom(connection, 0, (uint16_t)strlen(name), name), NULL);
	if (!reply)
		return XCB_ATOM_NONE;
	atom = reply->atom;
	free(reply);
	return atom;
}

static void set_string_property(struct client *client, xcb_atom_t property, xcb_atom_t type,
                                const char *value, size_t length)
{
	xcb_change_property(client->connection, XCB_PROP_MODE_REPLACE, client->window, property,
	                    type, 8, (uint32_t)length, value);
}

static int window_create(struct client *client)
{
	static const char wm_class[] = PROGRAM_NAME "\0" PROGRAM_NAME;
	const struct options *options = client->options;
	xcb_connection_t *connection = client->connection;
	xcb_void_cookie_t cookie;
	xcb_generic_error_t *error;
	xcb_atom_t net_wm_name;
	xcb_atom_t utf8_string;
	uint32_t values[2];

	if (color_to_pixel(client, options->color, &values[0]) < 0) {
		fprintf(stderr, PROGRAM_NAME ": cannot allocate colour %06x\n", options->color);
		return -1;
	}
	values[1] = XCB_EVENT_MASK_EXPOSURE | XCB_EVENT_MASK_STRUCTURE_NOTIFY |
	            XCB_EVENT_MASK_KEY_PRESS | XCB_EVENT_MASK_KEY_RELEASE |
	            XCB_EVENT_MASK_BUTTON_PRESS;

	client->window = xcb_generate_id(connection);
	if (client->window == (xcb_window_t)-1) {
		/* Cleanup must not destroy an id that was never ours. */
		client->window = XCB_WINDOW_NONE;
		fprintf(stderr, PROGRAM_NAME ": cannot allocate an X resource id\n");
		return -1;
	}
	client->width = (int)options->width;
	client->height = (int)options->height;
	/*
	 * With a background pixel and the default ForgetGravity, the server
	 * itself fills the window on every expose and resize: nothing to draw.
	 */
	cookie = xcb_create_window_checked(
	        connection, XCB_COPY_FROM_PARENT, client->window, client->screen->root, 0, 0,
	        (uint16_t)client->width, (uint16_t)client->height, 0,
	        XCB_WINDOW_CLASS_INPUT_OUTPUT, client->screen->root_visual,
	        XCB_CW_BACK_PIXEL | XCB_CW_EVENT_MASK, values);
	error = xcb_request_check(connection, cookie);
	if (error) {
		fprintf(stderr, PROGRAM_NAME ": cannot create the window: X error %u\n",
		        error->error_code);
		free(error);
		return -1;
	}

	set_string_property(client, XCB_ATOM_WM_NAME, XCB_ATOM_STRING, options->title,
	                    strlen(options->title));
	/* WM_CLASS is two NUL-terminated strings: instance, then class. */
	set_string_property(client, XCB_ATOM_WM_CLASS, XCB_ATOM_STRING, wm_class,
	                    sizeof(wm_class));

	/* Modern window managers read the title from _NET_WM_NAME first. */
	net_wm_name = intern_atom(connection, "_NET_WM_NAME");
	utf8_string = intern_atom(connection, "UTF8_STRING");
	if (net_wm_name != XCB_ATOM_NONE && utf8_string != XCB_ATOM_NONE)
		set_string_property(client, net_wm_name, utf8_string, options->title,
		                    strlen(options->title));

	/* Without WM_DELETE_WINDOW a window manager's close would kill the connection. */
	client->wm_protocols = intern_atom(connection, "WM_PROTOCOLS");
	client->wm_delete_window = intern_atom(connection, "WM_DELETE_WINDOW");
	if (client->wm_protocols != XCB_ATOM_NONE && client->wm_delete_window != XCB_ATOM_NONE)
		xcb_change_property(connection, XCB_PROP_MODE_REPLACE, client->window,
		                    client->wm_protocols, XCB_ATOM_ATOM, 32, 1,
		                    &client->wm_delete_window);

	client->net_wm_state = intern_atom(connection, "_NET_WM_STATE");
	client->net_wm_state_fullscreen = intern_atom(connection, "_NET_WM_STATE_FULLSCREEN");

	xcb_map_window(connection, client->window);
	xcb_flush(connection);
	return 0;
}

/* Leave fullscreen as an application does (EWMH: a _NET_WM_STATE remove
 * message to the root window, which the window manager handles). */
static void leave_fullscreen(struct client *client)
{
	xcb_client_message_event_t message = {
		.response_type = XCB_CLIENT_MESSAGE,
		.format = 32,
		.window = client->window,
		.type = client->net_wm_state,
		.data.data32 = { 0 /* _NET_WM_STATE_REMOVE */, client->net_wm_state_fullscreen, 0,
		                 1 /* an application */, 0 },
	};

	xcb_send_event(client->connection, 0, client->screen->root,
	               XCB_EVENT_MASK_SUBSTRUCTURE_NOTIFY | XCB_EVENT_MASK_SUBSTRUCTURE_REDIRECT,
	               (const char *)&message);
	emit("unfullscreen requested");
}

/* Linux BTN_ codes for the core X buttons; 4 to 7 are scrolling, not buttons. */
static uint32_t x_button_to_evdev(xcb_button_t button)
{
	switch (button) {
	case 1:
		return BTN_LEFT;
	case 2:
		return BTN_MIDDLE;
	case 3:
		return BTN_RIGHT;
	case 8:
		return BTN_SIDE;
	case 9:
		return BTN_EXTRA;
	default:
		return 0;
	}
}

static void handle_event(struct client *client, xcb_generic_event_t *event)
{
	switch (event->response_type & ~0x80) {
	case 0: {
		xcb_generic_error_t *error = (xcb_generic_error_t *)event;

		fail(client, "X error %u on request %u.%u, resource 0x%x", error->error_code,
		     error->major_code, error->minor_code, error->resource_id);
		break;
	}
	case XCB_EXPOSE: {
		xcb_expose_event_t *expose = (xcb_expose_event_t *)event;

		/* count 0 is the last of a series: the whole window is drawn. */
		if (expose->window == client->window && expose->count == 0 &&
		    !client->ready_sent) {
			client->ready_sent = true;
			emit("ready %d %d", client->width, client->height);
		}
		break;
	}
	case XCB_CONFIGURE_NOTIFY: {
		xcb_configure_notify_event_t *configure = (xcb_configure_notify_event_t *)event;

		if (configure->window != client->window)
			break;
		if (configure->width == client->width && configure->height == client->height)
			break;
		client->width = configure->width;
		client->height = configure->height;
		/* Repaint everything in the background colour, not just new areas. */
		xcb_clear_area(client->connection, 0, client->window, 0, 0, 0, 0);
		emit("configure %d %d", client->width, client->height);
		break;
	}
	case XCB_KEY_PRESS:
	case XCB_KEY_RELEASE: {
		xcb_key_press_event_t *key = (xcb_key_press_event_t *)event;
		bool pressed = (event->response_type & ~0x80) == XCB_KEY_PRESS;

		if (key->detail < X_KEYCODE_OFFSET)
			break;
		emit("key %u %s", key->detail - X_KEYCODE_OFFSET,
		     pressed ? "pressed" : "released");
		if (pressed && client->options->unfullscreen_key != 0 &&
		    (unsigned long)(key->detail - X_KEYCODE_OFFSET) ==
		            client->options->unfullscreen_key)
			leave_fullscreen(client);
		break;
	}
	case XCB_BUTTON_PRESS: {
		xcb_button_press_event_t *button = (xcb_button_press_event_t *)event;
		uint32_t code = x_button_to_evdev(button->detail);

		if (code != 0)
			emit("pointer button %u pressed %d %d", code, button->event_x,
			     button->event_y);
		break;
	}
	case XCB_CLIENT_MESSAGE: {
		xcb_client_message_event_t *message = (xcb_client_message_event_t *)event;

		if (message->type == client->wm_protocols && message->format == 32 &&
		    message->data.data32[0] == client->wm_delete_window)
			client->running = false;
		break;
	}
	default:
		break;
	}
}

static void run_main_loop(struct client *client)
{
	enum {
		POLL_X,
		POLL_SIGNAL,
		POLL_TIMER,
		POLL_COUNT
	};
	struct pollfd fds[POLL_COUNT] = {
		[POLL_X] = { .fd = xcb_get_file_descriptor(client->connection), .events = POLLIN },
		[POLL_SIGNAL] = { .fd = client->signal_fd, .events = POLLIN },
		/* poll() skips a negative fd, so no timer means no entry. */
		[POLL_TIMER] = { .fd = client->timer_fd, .events = POLLIN },
	};
	xcb_generic_event_t *event;

	while (client->running) {
		/* Also reads from the socket, so poll() below never misses queued events. */
		while (client->running && (event = xcb_poll_for_event(client->connection))) {
			handle_event(client, event);
			free(event);
		}
		if (!client->running)
			break;
		/* The server going away is how a test may end us: not an error. */
		if (xcb_connection_has_error(client->connection)) {
			client->running = false;
			break;
		}
		if (xcb_flush(client->connection) <= 0) {
			client->running = false;
			break;
		}

		if (poll(fds, POLL_COUNT, -1) < 0) {
			if (errno == EINTR)
				continue;
			fail(client, "poll failed: %s", strerror(errno));
			break;
		}
		if (fds[POLL_SIGNAL].revents & POLLIN) {
			client->running = false;
			client->exit_status = EXIT_SUCCESS;
		} else if (fds[POLL_TIMER].revents & POLLIN) {
			client->running = false;
			client->exit_status = client->options->exit_code;
		}
	}
}

static void print_usage(FILE *stream)
{
	fprintf(stream,
	        "Usage: " PROGRAM_NAME " [OPTION]...\n"
	        "Map one X11 window in a solid colour on $DISPLAY and print its size\n"
	        "changes and input on stdout, one line each.\n"
	        "\n"
	        "Options:\n"
	        "  --color RRGGBB        background colour (default 00ff00)\n"
	        "  --width N             initial width, 1 to %d (default 640)\n"
	        "  --height N            initial height, 1 to %d (default 480)\n"
	        "  --title TEXT          WM_NAME (default " PROGRAM_NAME ")\n"
	        "  --exit-after-ms N     exit on our own after N ms; 0 never (default 0)\n"
	        "  --exit-code N         status for that exit, 0 to 255 (default 0)\n"
	        "  --unfullscreen-key CODE  evdev key code that asks the window manager\n"
	        "                        to leave fullscreen; 0 off (default 0)\n"
	        "  -h, --help            show this help and exit\n"
	        "\n"
	        "Output lines: ready W H, configure W H, key CODE pressed|released,\n"
	        "pointer button CODE pressed X Y (codes are evdev codes),\n"
	        "unfullscreen requested.\n"
	        "SIGTERM, SIGINT or the X connection closing exit with status 0.\n",
	        MAX_DIMENSION, MAX_DIMENSION);
}

/* Returns 0 to run, 1 after --help, or a negative errno for a bad command line. */
static int parse_options(int argc, char *argv[], struct options *options)
{
	enum {
		OPTION_COLOR = 256,
		OPTION_WIDTH,
		OPTION_HEIGHT,
		OPTION_TITLE,
		OPTION_EXIT_AFTER_MS,
		OPTION_EXIT_CODE,
		OPTION_UNFULLSCREEN_KEY,
	};
	static const struct option long_options[] = {
		{ "color", required_argument, NULL, OPTION_COLOR },
		{ "width", required_argument, NULL, OPTION_WIDTH },
		{ "height", required_argument, NULL, OPTION_HEIGHT },
		{ "title", required_argument, NULL, OPTION_TITLE },
		{ "exit-after-ms", required_argument, NULL, OPTION_EXIT_AFTER_MS },
		{ "exit-code", required_argument, NULL, OPTION_EXIT_CODE },
		{ "unfullscreen-key", required_argument, NULL, OPTION_UNFULLSCREEN_KEY },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long value;
	int opt;
	int r = 0;

	*options = (struct options){
		.color = 0x00ff00,
		.width = 640,
		.height = 480,
		.title = PROGRAM_NAME,
		.exit_after_ms = 0,
		.exit_code = 0,
	};

	while ((opt = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
		switch (opt) {
		case OPTION_COLOR:
			r = parse_color("--color", optarg, &options->color);
			break;
		case OPTION_WIDTH:
			r = parse_unsigned("--width", optarg, 1, MAX_DIMENSION, &options->width);
			break;
		case OPTION_HEIGHT:
			r = parse_unsigned("--height", optarg, 1, MAX_DIMENSION, &options->height);
			break;
		case OPTION_TITLE:
			if (strlen(optarg) > MAX_STRING_LENGTH) {
				fprintf(stderr, PROGRAM_NAME ": --title is longer than %d bytes\n",
				        MAX_STRING_LENGTH);
				r = -EINVAL;
			}
			options->title = optarg;
			break;
		case OPTION_EXIT_AFTER_MS:
			r = parse_unsigned("--exit-after-ms", optarg, 0, INT_MAX,
			                   &options->exit_after_ms);
			break;
		case OPTION_EXIT_CODE:
			r = parse_unsigned("--exit-code", optarg, 0, 255, &value);
			options->exit_code = (int)value;
			break;
		case OPTION_UNFULLSCREEN_KEY:
			r = parse_unsigned("--unfullscreen-key", optarg, 0, 247,
			                   &options->unfullscreen_key);
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
	int screen_number = 0;
	int status = EXIT_FAILURE;
	int r;

	r = parse_options(argc, argv, &options);
	if (r != 0)
		return r > 0 ? EXIT_SUCCESS : 2;

	/* Tests read stdout through a pipe and need every line as it happens. */
	setvbuf(stdout, NULL, _IOLBF, 0);

	r = main_loop_fds_open(options.exit_after_ms, &client.signal_fd, &client.timer_fd);
	if (r < 0)
		goto out;

	/* Even a failed connect returns an object that must be disconnected. */
	client.connection = xcb_connect(NULL, &screen_number);
	if (xcb_connection_has_error(client.connection)) {
		const char *name = getenv("DISPLAY");

		fprintf(stderr, PROGRAM_NAME ": cannot connect to X display '%s'\n",
		        name ? name : "(DISPLAY unset)");
		goto out;
	}
	client.screen = find_screen(client.connection, screen_number);
	if (!client.screen) {
		fprintf(stderr, PROGRAM_NAME ": X display has no screen %d\n", screen_number);
		goto out;
	}
	if (window_create(&client) < 0)
		goto out;

	run_main_loop(&client);
	status = client.exit_status;

out:
	if (client.connection) {
		if (client.window && !xcb_connection_has_error(client.connection)) {
			xcb_destroy_window(client.connection, client.window);
			xcb_flush(client.connection);
		}
		xcb_disconnect(client.connection);
	}
	if (client.timer_fd >= 0)
		close(client.timer_fd);
	if (client.signal_fd >= 0)
		close(client.signal_fd);
	return status;
}
