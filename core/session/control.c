/* SPDX-License-Identifier: MIT */
/*
 * The control socket: a unix stream socket (mode 0600) taking one command
 * per line and answering each with one line, "ok ..." or "error REASON".
 * Operators and tests use it to inject input and save frames:
 *
 *   key CODE down|up            evdev keycode (1..767, not buttons)
 *   button CODE down|up         BTN_LEFT (272) .. BTN_TASK (279)
 *   motion X Y                  absolute, output pixels
 *   axis vertical|horizontal V  wheel, wl_pointer units (15 per notch)
 *   release-all                 release every held key and button
 *   input JSON                  one data channel input message, applied exactly as
 *                               a viewer's (docs/streaming-protocol.md)
 *   screenshot PATH             save the next frame as PNG (absolute path)
 *   stats                       "ok frames=N first_app_frame_ms=X ... input_dropped=D"
 *
 * Lines are at most GB_CONTROL_LINE_MAX bytes; a longer one closes the
 * connection. At most GB_CONTROL_CLIENTS_MAX connections at a time. Each
 * connection that sends "input" gets its own input viewer, destroyed (its
 * keys and buttons released) when the connection closes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libweston/libweston.h>

#include "control.h"
#include "input-message.h"
#include "input.h"
#include "listen-socket.h"
#include "log.h"
#include "screenshot.h"
#include "session.h"
#include "stream.h"

#define GB_CONTROL_LINE_MAX    1024
#define GB_CONTROL_CLIENTS_MAX 4

struct gb_control_client {
	struct gb_control *control;
	int fd;
	struct wl_event_source *source;
	char buffer[GB_CONTROL_LINE_MAX];
	size_t length;
	bool busy;                      /* waiting for a screenshot */
	bool closing;                   /* free once the screenshot is done */
	struct gb_input_viewer *viewer; /* made by the first "input" command */
	struct wl_list link;
};

struct gb_control {
	struct gb_session *session;
	struct gb_listen_socket *listen_socket;
	struct wl_list clients;
	int n_clients;
	uint64_t rejected; /* malformed or refused commands */
};

static void client_destroy(struct gb_control_client *client);
static void client_process(struct gb_control_client *client);

static void reply(struct gb_control_client *client, const char *format, ...)
        __attribute__((format(printf, 2, 3)));

static void reply(struct gb_control_client *client, const char *format, ...)
{
	char line[GB_CONTROL_LINE_MAX + 2];
	va_list args;
	int n;

	va_start(args, format);
	n = vsnprintf(line, sizeof(line) - 1, format, args);
	va_end(args);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* Answers are short; a client that does not read them loses them. */
	if (send(client->fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		gb_debug("control: cannot answer: %s", strerror(errno));
}

static bool parse_uint(const char *text, uint32_t max, uint32_t *value)
{
	char *end;
	unsigned long v;

	if (!text || !*text || *text == '-' || *text == '+')
		return false;
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || *end || v > max)
		return false;
	*value = (uint32_t)v;
	return true;
}

static bool parse_double(const char *text, double *value)
{
	char *end;

	if (!text || !*text)
		return false;
	errno = 0;
	*value = strtod(text, &end);
	return !errno && !*end && isfinite(*value);
}

static bool parse_state(const char *text, bool *pressed)
{
	if (text && strcmp(text, "down") == 0)
		*pressed = true;
	else if (text && strcmp(text, "up") == 0)
		*pressed = false;
	else
		return false;
	return true;
}

static void screenshot_done(void *data, int result)
{
	struct gb_control_client *client = data;

	client->busy = false;
	if (client->closing) {
		client_destroy(client);
		return;
	}
	if (result < 0)
		reply(client, "error screenshot failed: %s", strerror(-result));
	else
		reply(client, "ok");
	wl_event_source_fd_update(client->source, WL_EVENT_READABLE);
	client_process(client);
}

/* "input JSON": the rest of the line, spaces and all, is the message. */
static const char *run_input(struct gb_control_client *client, const char *json)
{
	int r;

	json += strspn(json, " \t");
	if (!client->viewer) {
		client->viewer = gb_input_viewer_create(client->control->session);
		if (!client->viewer)
			return "out of memory";
	}
	r = gb_input_viewer_handle(client->viewer, json, strlen(json));
	if (r < 0)
		return gb_input_message_strerror(r);
	reply(client, "ok");
	return NULL;
}

/* Returns NULL when done, or the reason for an error. */
static const char *run_command(struct gb_control_client *client, char *line)
{
	struct gb_session *session = client->control->session;
	char *save = NULL;
	char *command, *a, *b, *extra;
	uint32_t code;
	bool pressed;
	double x, y;
	int r;

	if (strncmp(line, "input", 5) == 0 && (line[5] == ' ' || line[5] == '\t'))
		return run_input(client, line + 6);
	command = strtok_r(line, " \t", &save);
	a = strtok_r(NULL, " \t", &save);
	b = strtok_r(NULL, " \t", &save);
	extra = strtok_r(NULL, " \t", &save);
	if (!command)
		return "empty command";
	if (extra)
		return "too many arguments";

	if (strcmp(command, "key") == 0 || strcmp(command, "button") == 0) {
		if (!parse_uint(a, 0xffff, &code) || !parse_state(b, &pressed))
			return "usage: key|button CODE down|up";
		r = command[0] == 'k' ? gb_input_key(session, code, pressed)
		                      : gb_input_button(session, code, pressed);
		if (r < 0)
			return command[0] == 'k' ? "not a keyboard key code" : "not a button code";
	} else if (strcmp(command, "motion") == 0) {
		if (!parse_double(a, &x) || !parse_double(b, &y))
			return "usage: motion X Y";
		if (gb_input_pointer_motion(session, x, y) < 0)
			return "position outside the output";
	} else if (strcmp(command, "axis") == 0) {
		enum gb_axis axis;

		if (a && strcmp(a, "vertical") == 0)
			axis = GB_AXIS_VERTICAL;
		else if (a && strcmp(a, "horizontal") == 0)
			axis = GB_AXIS_HORIZONTAL;
		else
			return "usage: axis vertical|horizontal VALUE";
		if (!parse_double(b, &x))
			return "usage: axis vertical|horizontal VALUE";
		if (gb_input_axis(session, axis, x) < 0)
			return "axis value out of range";
	} else if (strcmp(command, "release-all") == 0) {
		if (a)
			return "too many arguments";
		gb_input_release_all(session);
	} else if (strcmp(command, "screenshot") == 0) {
		if (!a || a[0] != '/' || b)
			return "usage: screenshot /ABSOLUTE/PATH.png";
		if (gb_screenshot_request(session, a, screenshot_done, client) < 0)
			return "out of memory";
		client->busy = true;
		/* Answered from screenshot_done(); stop reading until then. */
		wl_event_source_fd_update(client->source, 0);
		return NULL;
	} else if (strcmp(command, "stats") == 0) {
		char streaming[800]; /* the stream's figures (stream.c), "" without one */

		if (a)
			return "too many arguments";
		y = session->first_app_frame_ms;
		gb_stream_format_stats(session->stream, streaming, sizeof(streaming));
		reply(client,
		      "ok frames=%llu first_app_frame_ms=%.1f width=%d height=%d app_pid=%d "
		      "rejected=%llu input_dropped=%llu%s",
		      (unsigned long long)session->frame_count, y, session->output->width,
		      session->output->height, session->app_running ? (int)session->app.pid : 0,
		      (unsigned long long)client->control->rejected,
		      (unsigned long long)session->input_dropped, streaming);
		return NULL;
	} else if (strcmp(command, "input") == 0) {
		return "usage: input JSON";
	} else {
		return "unknown command";
	}
	reply(client, "ok");
	return NULL;
}

/* Run every complete line in the buffer, unless a screenshot is pending. */
static void client_process(struct gb_control_client *client)
{
	char *newline;

	while (!client->busy && (newline = memchr(client->buffer, '\n', client->length))) {
		size_t line_length = (size_t)(newline - client->buffer);
		bool has_nul = memchr(client->buffer, '\0', line_length) != NULL;
		const char *error;

		*newline = '\0';
		if (line_length > 0 && client->buffer[line_length - 1] == '\r')
			client->buffer[line_length - 1] = '\0';
		error = has_nul ? "NUL byte in command" : run_command(client, client->buffer);
		if (error) {
			client->control->rejected++;
			reply(client, "error %s", error);
		}
		memmove(client->buffer, newline + 1, client->length - line_length - 1);
		client->length -= line_length + 1;
	}
}

static int client_readable(int fd, uint32_t mask, void *data)
{
	struct gb_control_client *client = data;
	ssize_t n;

	if (mask & (WL_EVENT_HANGUP | WL_EVENT_ERROR)) {
		client_destroy(client);
		return 0;
	}
	n = recv(fd, client->buffer + client->length, sizeof(client->buffer) - client->length,
	         MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		client_destroy(client);
		return 0;
	}
	if (n < 0)
		return 0;
	client->length += (size_t)n;
	client_process(client);
	if (client->length == sizeof(client->buffer) && !client->busy) {
		client->control->rejected++;
		reply(client, "error line longer than %d bytes", GB_CONTROL_LINE_MAX - 1);
		client_destroy(client);
	}
	return 0;
}

static void client_destroy(struct gb_control_client *client)
{
	if (client->source) {
		wl_event_source_remove(client->source);
		client->source = NULL;
		close(client->fd);
		client->fd = -1;
		wl_list_remove(&client->link);
		client->control->n_clients--;
		/* Whatever this connection still holds is let go now. */
		gb_input_viewer_destroy(client->viewer);
		client->viewer = NULL;
	}
	/* A pending screenshot still points at us: free when it is done. */
	if (client->busy) {
		client->closing = true;
		return;
	}
	free(client);
}

static void control_accept(void *data, int client_fd)
{
	struct gb_control *control = data;
	struct gb_control_client *client;

	if (control->n_clients >= GB_CONTROL_CLIENTS_MAX) {
		gb_warning("control: refusing a connection, %d already open", control->n_clients);
		close(client_fd);
		return;
	}
	client = calloc(1, sizeof(*client));
	if (!client) {
		close(client_fd);
		return;
	}
	client->control = control;
	client->fd = client_fd;
	client->source = wl_event_loop_add_fd(control->session->loop, client_fd, WL_EVENT_READABLE,
	                                      client_readable, client);
	if (!client->source) {
		close(client_fd);
		free(client);
		return;
	}
	wl_list_insert(&control->clients, &client->link);
	control->n_clients++;
}

int gb_control_create(struct gb_session *session, const char *path)
{
	struct gb_control *control;

	control = calloc(1, sizeof(*control));
	if (!control)
		return -ENOMEM;
	wl_list_init(&control->clients);
	control->session = session;
	session->control = control;

	control->listen_socket = gb_listen_socket_create(
	        session->loop, path, "control", GB_CONTROL_CLIENTS_MAX, control_accept, control);
	if (!control->listen_socket)
		return -errno;
	gb_info("control socket %s", path);
	return 0;
}

void gb_control_destroy(struct gb_control *control)
{
	struct gb_control_client *client, *next;

	if (!control)
		return;
	wl_list_for_each_safe (client, next, &control->clients, link)
		client_destroy(client);
	gb_listen_socket_destroy(control->listen_socket);
	control->session->control = NULL;
	free(control);
}
