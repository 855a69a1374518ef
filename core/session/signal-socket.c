/* SPDX-License-Identifier: MIT */
/*
 * The signalling socket (--signal-socket): a unix stream socket, mode
 * 0600, where every connection is one viewer. Each line is one JSON object
 * of docs/streaming-protocol.md, both ways. glassboxd relays the browser's
 * WebSocket here; tests connect directly.
 *
 * Everything a connection can make us hold is bounded: at most
 * session.max_viewers connections (more get an "error" line and are
 * closed), lines of at most 64 KiB (a longer one drops the connection), and
 * at most GB_SIGNAL_OUTPUT_MAX bytes queued for a connection that does not read
 * (then it is dropped too).
 *
 * What the messages mean is not this file's business: each connection's
 * messages go to whatever the owner's gb_signal_events.connected returned.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "json-depth.h"
#include "listen-socket.h"
#include "log.h"
#include "session.h"
#include "signal-socket.h"

#define GB_SIGNAL_LINE_MAX      (64 * 1024)
#define GB_SIGNAL_OUTPUT_MAX    (1024 * 1024)
#define GB_SIGNAL_LINGER_MS     2000 /* to flush a last "error" line */
#define GB_SIGNAL_BACKLOG       16
#define GB_SIGNAL_BAD_LINES_MAX 64 /* malformed lines before we give up on a connection */
#define GB_SIGNAL_DEPTH_MAX     32 /* JSON nesting: the protocol needs 3 */

struct gb_signal_client {
	struct gb_signal *signal;
	uint64_t id;
	int fd;
	struct wl_event_source *source;
	struct wl_event_source *destroy_idle;
	struct wl_event_source *linger_timer;
	void *viewer; /* the owner's, from gb_signal_events.connected */

	char *input; /* GB_SIGNAL_LINE_MAX + 1 bytes */
	size_t input_length;
	char *output;
	size_t output_length;
	size_t output_capacity;
	unsigned bad_lines;

	bool closing;        /* reads nothing more; goes once the output is written */
	struct wl_list link; /* gb_signal.clients */
};

struct gb_signal {
	struct gb_session *session;
	const struct gb_signal_events *events;
	void *data;
	struct gb_listen_socket *listen_socket;
	struct wl_list clients;
	int n_clients;
	uint64_t next_id;
};

static void client_destroy(struct gb_signal_client *client);

static void client_update_mask(struct gb_signal_client *client)
{
	uint32_t mask = 0;

	if (!client->source)
		return;
	if (!client->closing)
		mask |= WL_EVENT_READABLE;
	if (client->output_length > 0)
		mask |= WL_EVENT_WRITABLE;
	wl_event_source_fd_update(client->source, mask);
}

static void destroy_idle(void *data)
{
	struct gb_signal_client *client = data;

	client->destroy_idle = NULL; /* gone once it ran */
	client_destroy(client);
}

/* Destroy from the main loop, never from inside a caller that still uses the client. */
static void client_destroy_later(struct gb_signal_client *client)
{
	client->closing = true;
	if (client->destroy_idle)
		return;
	client->destroy_idle =
	        wl_event_loop_add_idle(client->signal->session->loop, destroy_idle, client);
	if (!client->destroy_idle) {
		/* Out of memory: stop listening at least; the linger timer or exit frees it. */
		client->output_length = 0;
		client_update_mask(client);
	}
}

/* Write what we can; returns false when the other end is gone. */
static bool client_flush(struct gb_signal_client *client)
{
	while (client->output_length > 0) {
		ssize_t n = send(client->fd, client->output, client->output_length,
		                 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			gb_debug("signal: viewer %llu: cannot write: %s",
			         (unsigned long long)client->id, strerror(errno));
			client->output_length = 0;
			return false;
		}
		memmove(client->output, client->output + n, client->output_length - (size_t)n);
		client->output_length -= (size_t)n;
	}
	client_update_mask(client);
	if (client->closing && client->output_length == 0)
		client_destroy_later(client);
	return true;
}

static void client_queue(struct gb_signal_client *client, const char *text, size_t length)
{
	size_t needed;

	if (client->destroy_idle)
		return;
	needed = client->output_length + length + 1;
	if (needed > GB_SIGNAL_OUTPUT_MAX) {
		gb_warning("signal: viewer %llu does not read its messages (%zu bytes queued); "
		           "dropping it",
		           (unsigned long long)client->id, client->output_length);
		client->output_length = 0;
		client_destroy_later(client);
		return;
	}
	if (needed > client->output_capacity) {
		size_t capacity = client->output_capacity ? client->output_capacity : 4096;
		char *output;

		while (capacity < needed)
			capacity *= 2;
		output = realloc(client->output, capacity);
		if (!output) {
			gb_warning("signal: viewer %llu: out of memory; dropping it",
			           (unsigned long long)client->id);
			client_destroy_later(client);
			return;
		}
		client->output = output;
		client->output_capacity = capacity;
	}
	memcpy(client->output + client->output_length, text, length);
	client->output[client->output_length + length] = '\n';
	client->output_length += length + 1;
	if (!client_flush(client))
		client_destroy_later(client);
}

void gb_signal_client_send(struct gb_signal_client *client, JsonNode *message)
{
	/* Compact: JSON escapes every control character, so no raw newline can appear. */
	char *text = json_to_string(message, FALSE);

	if (!text) {
		client_destroy_later(client);
		return;
	}
	client_queue(client, text, strlen(text));
	g_free(text);
}

static JsonNode *error_message(const char *text)
{
	JsonBuilder *builder = json_builder_new();
	JsonNode *node;

	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "type");
	json_builder_add_string_value(builder, "error");
	json_builder_set_member_name(builder, "message");
	json_builder_add_string_value(builder, text);
	json_builder_end_object(builder);
	node = json_builder_get_root(builder);
	g_object_unref(builder);
	return node;
}

static int linger_expired(void *data)
{
	struct gb_signal_client *client = data;

	gb_debug("signal: viewer %llu: last message not read in time",
	         (unsigned long long)client->id);
	client->output_length = 0;
	client_destroy_later(client);
	return 0;
}

void gb_signal_client_close(struct gb_signal_client *client, const char *error)
{
	if (client->closing)
		return;
	if (error) {
		JsonNode *node = error_message(error);

		gb_signal_client_send(client, node);
		json_node_unref(node);
	}
	client->closing = true;
	client_update_mask(client);
	if (client->output_length == 0) {
		client_destroy_later(client);
		return;
	}
	client->linger_timer =
	        wl_event_loop_add_timer(client->signal->session->loop, linger_expired, client);
	if (!client->linger_timer ||
	    wl_event_source_timer_update(client->linger_timer, GB_SIGNAL_LINGER_MS) < 0) {
		client->output_length = 0;
		client_destroy_later(client);
	}
}

/* Read and drop what the other end sent, so that closing does not reset the connection. */
static void drain(int fd)
{
	char buffer[4096];

	for (int i = 0; i < 16; i++)
		if (recv(fd, buffer, sizeof(buffer), MSG_DONTWAIT) <= 0)
			break;
}

/* One line from the other end: a JSON object with a string "type", or it is ignored. */
static void client_handle_line(struct gb_signal_client *client, const char *line, size_t length)
{
	JsonParser *parser = json_parser_new_immutable();
	GError *error = NULL;
	JsonNode *root;
	JsonObject *object;

	if (memchr(line, '\0', length)) {
		gb_debug("signal: viewer %llu: NUL byte in a line",
		         (unsigned long long)client->id);
		goto bad;
	}
	if (!gb_json_depth_within(line, length, GB_SIGNAL_DEPTH_MAX)) {
		gb_debug("signal: viewer %llu: JSON nested deeper than %d",
		         (unsigned long long)client->id, GB_SIGNAL_DEPTH_MAX);
		goto bad;
	}
	if (!json_parser_load_from_data(parser, line, (gssize)length, &error)) {
		gb_debug("signal: viewer %llu: not JSON: %s", (unsigned long long)client->id,
		         error->message);
		g_error_free(error);
		goto bad;
	}
	root = json_parser_get_root(parser);
	if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
		gb_debug("signal: viewer %llu: not a JSON object", (unsigned long long)client->id);
		goto bad;
	}
	object = json_node_get_object(root);
	if (!json_object_has_member(object, "type") ||
	    json_node_get_value_type(json_object_get_member(object, "type")) != G_TYPE_STRING) {
		gb_debug("signal: viewer %llu: message without a string \"type\"",
		         (unsigned long long)client->id);
		goto bad;
	}
	client->signal->events->message(client->signal->data, client->viewer, object);
	g_object_unref(parser);
	return;

bad:
	g_object_unref(parser);
	/* A connection that only sends garbage is not a browser behind glassboxd. */
	if (++client->bad_lines > GB_SIGNAL_BAD_LINES_MAX) {
		gb_warning("signal: viewer %llu: too many malformed messages; dropping it",
		           (unsigned long long)client->id);
		client_destroy_later(client);
	}
}

static void client_process(struct gb_signal_client *client)
{
	char *newline;
	size_t start = 0;

	while (!client->closing &&
	       (newline = memchr(client->input + start, '\n', client->input_length - start))) {
		size_t length = (size_t)(newline - (client->input + start));

		if (length > 0 && client->input[start + length - 1] == '\r')
			client_handle_line(client, client->input + start, length - 1);
		else if (length > 0)
			client_handle_line(client, client->input + start, length);
		start += length + 1;
	}
	memmove(client->input, client->input + start, client->input_length - start);
	client->input_length -= start;
}

static int client_event(int fd, uint32_t mask, void *data)
{
	struct gb_signal_client *client = data;
	ssize_t n;

	if (mask & WL_EVENT_WRITABLE) {
		if (!client_flush(client)) {
			client_destroy_later(client);
			return 0;
		}
	}
	if (!(mask & WL_EVENT_READABLE) || client->closing) {
		if (mask & (WL_EVENT_HANGUP | WL_EVENT_ERROR))
			client_destroy_later(client);
		return 0;
	}
	n = recv(fd, client->input + client->input_length,
	         GB_SIGNAL_LINE_MAX + 1 - client->input_length, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		gb_debug("signal: viewer %llu: connection closed", (unsigned long long)client->id);
		client->output_length = 0;
		client_destroy_later(client);
		return 0;
	}
	client->input_length += (size_t)n;
	client_process(client);
	if (client->input_length > GB_SIGNAL_LINE_MAX) {
		gb_warning("signal: viewer %llu sent a line over %d bytes; dropping it",
		           (unsigned long long)client->id, GB_SIGNAL_LINE_MAX);
		client->output_length = 0;
		client_destroy_later(client);
	}
	return 0;
}

static void client_destroy(struct gb_signal_client *client)
{
	struct gb_signal *signal = client->signal;

	/* First the viewer: it must not send anything on a half-freed client. */
	if (client->viewer)
		signal->events->disconnected(signal->data, client->viewer);
	client->viewer = NULL;
	if (client->destroy_idle)
		wl_event_source_remove(client->destroy_idle);
	if (client->linger_timer)
		wl_event_source_remove(client->linger_timer);
	if (client->source)
		wl_event_source_remove(client->source);
	if (client->fd >= 0) {
		drain(client->fd);
		close(client->fd);
	}
	wl_list_remove(&client->link);
	signal->n_clients--;
	gb_info("signal: viewer %llu disconnected, %d left", (unsigned long long)client->id,
	        signal->n_clients);
	free(client->input);
	free(client->output);
	free(client);
}

/* Refuse a connection over the limit with one line; it is short, so a plain send does. */
static void refuse(int fd, const char *text)
{
	JsonNode *node = error_message(text);
	char *line = json_to_string(node, FALSE);

	json_node_unref(node);
	if (line) {
		char *with_newline = g_strconcat(line, "\n", NULL);

		if (send(fd, with_newline, strlen(with_newline), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			gb_debug("signal: cannot send the refusal: %s", strerror(errno));
		g_free(with_newline);
		g_free(line);
	}
	drain(fd);
	close(fd);
}

static void signal_accept(void *data, int client_fd)
{
	struct gb_signal *signal = data;
	struct gb_session *session = signal->session;
	int max = session->config->session.max_viewers;
	struct gb_signal_client *client;
	char text[128];

	if (signal->n_clients >= max) {
		gb_warning("signal: refusing a viewer: %d already connected (session.max_viewers)",
		           signal->n_clients);
		snprintf(text, sizeof(text), "too many viewers: this session takes at most %d",
		         max);
		refuse(client_fd, text);
		return;
	}
	client = calloc(1, sizeof(*client));
	if (!client) {
		close(client_fd);
		return;
	}
	client->signal = signal;
	client->fd = client_fd;
	client->id = ++signal->next_id;
	wl_list_insert(signal->clients.prev, &client->link);
	signal->n_clients++;
	client->input = malloc(GB_SIGNAL_LINE_MAX + 1);
	client->source = wl_event_loop_add_fd(session->loop, client_fd, WL_EVENT_READABLE,
	                                      client_event, client);
	if (client->input && client->source)
		client->viewer = signal->events->connected(signal->data, client);
	if (!client->viewer) {
		gb_warning("signal: cannot take a viewer: %s", strerror(errno ? errno : ENOMEM));
		client_destroy(client);
		return;
	}
	gb_info("signal: viewer %llu connected, %d of at most %d", (unsigned long long)client->id,
	        signal->n_clients, max);
}

uint64_t gb_signal_client_id(struct gb_signal_client *client)
{
	return client->id;
}

int gb_signal_create(struct gb_session *session, const char *path,
                     const struct gb_signal_events *events, void *data)
{
	struct gb_signal *signal;

	signal = calloc(1, sizeof(*signal));
	if (!signal)
		return -ENOMEM;
	wl_list_init(&signal->clients);
	signal->session = session;
	signal->events = events;
	signal->data = data;
	session->signal = signal;

	signal->listen_socket = gb_listen_socket_create(session->loop, path, "signal",
	                                                GB_SIGNAL_BACKLOG, signal_accept, signal);
	if (!signal->listen_socket)
		return -errno;
	gb_info("signal socket %s, at most %d viewers", path,
	        session->config->session.max_viewers);
	return 0;
}

void gb_signal_destroy(struct gb_signal *signal)
{
	struct gb_signal_client *client, *next;

	if (!signal)
		return;
	wl_list_for_each_safe (client, next, &signal->clients, link)
		client_destroy(client);
	gb_listen_socket_destroy(signal->listen_socket);
	signal->session->signal = NULL;
	free(signal);
}
