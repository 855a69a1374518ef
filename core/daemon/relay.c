/* SPDX-License-Identifier: MIT */
/*
 * GET /api/session: the signalling WebSocket. Before the upgrade the
 * request must carry a valid login cookie (401) and our own or an allowed
 * Origin (403); a user without a session gets one if the box has room
 * (503). After it, every message must be a JSON object with a string
 * "type", at most 64 KiB and 100 a second; it is re-serialised compactly
 * and written to the session as one line. Lines from the session go back
 * as text messages. Both directions are bounded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib-unix.h>
#include <json-glib/json-glib.h>

#include "json-depth.h"
#include "daemon.h"
#include "auth.h"
#include "http.h"
#include "relay.h"
#include "sessions.h"
#include "frame-limit.h"
#include "log.h"
#include "session-socket.h"

/* Every open WebSocket, through gb_relay.all_link. One daemon per process. */
static GQueue relays = G_QUEUE_INIT;

/* libsoup 3.2 sends only these; 1013 (try again later) it turns into 1002. */
#define CLOSE_NORMAL       1000
#define CLOSE_GOING_AWAY   1001
#define CLOSE_POLICY       1008
#define CLOSE_TOO_BIG      1009
#define CLOSE_SERVER_ERROR 1011

#define CONNECT_ATTEMPTS_MAX 50
#define CONNECT_RETRY_MS     100
#define READ_CHUNK           16384
#define EOF_GRACE_MS         1000
#define KEEPALIVE_S          30
/* Frames of any kind (fragments, pings) a client may send in a second. */
#define FRAMES_PER_SECOND_MAX 1000

/** One WebSocket on /api/session, relayed to one connection to the session. */
struct gb_relay {
	struct gb_daemon *daemon;
	struct gb_session_relay in_session; /* its session (in_session.session), if any */
	SoupWebsocketConnection *ws;
	char *login_key; /* the login it was opened with */
	char *peer;      /* client address, for logs */
	char *user;      /* for logs, also after the session is gone */
	char session_id[GB_SESSION_ID_LENGTH + 1];
	gulong message_handler, closed_handler, error_handler, closing_handler;
	bool closing;

	/* the connection to the session's signal socket; -1 until it is up */
	int fd;
	guint read_source;
	GByteArray *to_session;   /* lines waiting to be written, bounded */
	GByteArray *from_session; /* a partial line, bounded */
	/* bytes handed to the WebSocket, framing included; dropped: it did not read them */
	guint64 queued_to_browser;
	bool dropped;

	/* rate limit on incoming messages: a one-second window */
	gint64 window_start_us;
	unsigned window_count;

	guint connect_retry; /* the signal socket's backlog was full */
	unsigned connect_attempts;
	guint write_source;
	guint eof_timeout; /* the session hung up on us: close soon */

	GList all_link; /* in gb_daemon.relays */
};

static void relay_close(struct gb_relay *relay, gushort code, const char *reason);
static void relay_connect(struct gb_relay *relay);
static void disconnect_handlers(struct gb_relay *relay);
static void detach(struct gb_relay *relay);

static const char *relay_user(const struct gb_relay *relay)
{
	return relay->user ? relay->user : "?";
}

static const char *relay_session_id(const struct gb_relay *relay)
{
	return relay->session_id[0] ? relay->session_id : "-";
}

/*
 * Send one text message, unless the browser is not reading: libsoup queues
 * what the socket does not take, without bound, so a client that never
 * reads while its session talks would grow our memory. Past
 * GB_TO_BROWSER_BUFFER_MAX waiting, the connection is shut down (a close
 * frame could not get through either) and the viewer ends as it closes.
 */
static void send_text(struct gb_relay *relay, const char *text)
{
	GIOStream *stream = soup_websocket_connection_get_io_stream(relay->ws);
	gsize length = strlen(text);
	guint64 written = gb_frame_limit_stream_bytes_written(stream);
	guint64 waiting;
	GSocket *socket;

	if (relay->dropped ||
	    soup_websocket_connection_get_state(relay->ws) != SOUP_WEBSOCKET_STATE_OPEN)
		return;
	/* A server frame's header: 2 bytes, 4 past 125 bytes, 10 past 65535. */
	relay->queued_to_browser += length + (length < 126 ? 2 : length < 65536 ? 4 : 10);
	/* libsoup's own frames (pings, pongs) are written but not counted here. */
	waiting = relay->queued_to_browser > written ? relay->queued_to_browser - written : 0;
	if (waiting <= GB_TO_BROWSER_BUFFER_MAX) {
		soup_websocket_connection_send_text(relay->ws, text);
		return;
	}
	relay->dropped = true;
	gb_warning("user '%s' from %s (session %s) does not read its WebSocket: %" G_GUINT64_FORMAT
	           " bytes waiting, more than %d; dropping the connection",
	           relay_user(relay), relay->peer, relay_session_id(relay), waiting,
	           GB_TO_BROWSER_BUFFER_MAX);
	detach(relay);
	relay->closing = true;
	/* The socket itself: the stream we handed libsoup wraps the one stolen from it. */
	socket = stream ? g_object_get_data(G_OBJECT(stream), "GSocket") : NULL;
	if (socket)
		g_socket_shutdown(socket, TRUE, TRUE, NULL);
	else
		g_io_stream_close(stream, NULL, NULL);
}

/* Send one JSON object built from @builder. */
static void send_builder(struct gb_relay *relay, JsonBuilder *builder)
{
	g_autoptr(JsonGenerator) generator = json_generator_new();
	g_autoptr(JsonNode) root = json_builder_get_root(builder);
	g_autofree char *text = NULL;

	if (soup_websocket_connection_get_state(relay->ws) != SOUP_WEBSOCKET_STATE_OPEN)
		return;
	json_generator_set_root(generator, root);
	text = json_generator_to_data(generator, NULL);
	send_text(relay, text);
}

static void send_error(struct gb_relay *relay, const char *message)
{
	g_autoptr(JsonBuilder) builder = json_builder_new();

	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "type");
	json_builder_add_string_value(builder, "error");
	json_builder_set_member_name(builder, "message");
	json_builder_add_string_value(builder, message);
	json_builder_end_object(builder);
	send_builder(relay, builder);
}

static void close_session_socket(struct gb_relay *relay)
{
	if (relay->read_source)
		g_source_remove(relay->read_source);
	relay->read_source = 0;
	if (relay->write_source)
		g_source_remove(relay->write_source);
	relay->write_source = 0;
	if (relay->connect_retry)
		g_source_remove(relay->connect_retry);
	relay->connect_retry = 0;
	if (relay->fd >= 0)
		close(relay->fd);
	relay->fd = -1;
}

static void detach(struct gb_relay *relay)
{
	close_session_socket(relay);
	if (relay->eof_timeout)
		g_source_remove(relay->eof_timeout);
	relay->eof_timeout = 0;
	if (relay->in_session.session)
		gb_session_remove_relay(relay->in_session.session, &relay->in_session);
}

/* The WebSocket's connection, which libsoup no longer counts, is done with: close and
 * uncount it (connections.c). */
static void closed_connection(struct gb_relay *relay)
{
	GIOStream *stream = soup_websocket_connection_get_io_stream(relay->ws);
	GSocket *socket = stream ? g_object_get_data(G_OBJECT(stream), "GSocket") : NULL;

	if (!socket)
		return;
	if (!g_socket_is_closed(socket))
		g_socket_close(socket, NULL);
	gb_connections_closed(relay->daemon, socket);
}

static void relay_free(struct gb_relay *relay)
{
	struct gb_daemon *daemon = relay->daemon;

	detach(relay);
	g_queue_unlink(&relays, &relay->all_link);
	disconnect_handlers(relay);
	closed_connection(relay);
	g_object_unref(relay->ws);
	g_byte_array_unref(relay->to_session);
	g_byte_array_unref(relay->from_session);
	g_free(relay->login_key);
	g_free(relay->peer);
	g_free(relay->user);
	g_free(relay);
	gb_events_emit_relay_gone(&daemon->events);
}

static void relay_close(struct gb_relay *relay, gushort code, const char *reason)
{
	SoupWebsocketState state = soup_websocket_connection_get_state(relay->ws);

	if (relay->closing)
		return;
	relay->closing = true;
	if (code != CLOSE_NORMAL && code != CLOSE_GOING_AWAY)
		gb_info("closing the WebSocket of user '%s' (session %s, %s): %u %s",
		        relay_user(relay), relay_session_id(relay), relay->peer, code, reason);
	detach(relay);
	if (state == SOUP_WEBSOCKET_STATE_OPEN)
		soup_websocket_connection_close(relay->ws, code, reason);
}

static void relay_end(struct gb_relay *relay, const char *reason, gushort code)
{
	g_autoptr(JsonBuilder) builder = json_builder_new();

	detach(relay);
	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "type");
	json_builder_add_string_value(builder, "ended");
	json_builder_set_member_name(builder, "reason");
	json_builder_add_string_value(builder, reason);
	json_builder_end_object(builder);
	if (!relay->closing)
		send_builder(relay, builder);
	relay_close(relay, code, code == CLOSE_NORMAL ? "the session ended" : reason);
}

static void close_login(struct gb_daemon *daemon, const char *login_key)
{
	for (GList *link = relays.head; link;) {
		struct gb_relay *relay = link->data;

		link = link->next; /* a close may free the viewer at once */
		if (strcmp(relay->login_key, login_key) == 0)
			relay_close(relay, CLOSE_NORMAL, "logged out");
	}
}

static void revoke_login(struct gb_daemon *daemon, const char *login_key, const char *reason)
{
	for (GList *link = relays.head; link;) {
		struct gb_relay *relay = link->data;

		link = link->next;
		/* No "ended" message: the page asks /api/whoami, gets 401 and
		 * shows the login form, rather than a final "session ended". */
		if (strcmp(relay->login_key, login_key) == 0)
			relay_close(relay, CLOSE_POLICY, reason);
	}
}

/* A login ended: its WebSockets close (a logout: 1000; revoked: 1008 and why). */
static void login_ended(void *data, const char *key, const char *reason)
{
	if (reason)
		revoke_login(data, key, reason);
	else
		close_login(data, key);
}

const struct gb_events_listener gb_relay_events = {
	.login_ended = login_ended,
};

static void disconnect_handlers(struct gb_relay *relay)
{
	gulong *handlers[] = { &relay->message_handler, &relay->closed_handler,
		               &relay->error_handler, &relay->closing_handler };

	for (size_t i = 0; i < G_N_ELEMENTS(handlers); i++) {
		if (*handlers[i])
			g_signal_handler_disconnect(relay->ws, *handlers[i]);
		*handlers[i] = 0;
	}
}

void gb_relays_destroy_all(struct gb_daemon *daemon)
{
	GList *link;

	while ((link = g_queue_peek_head_link(&relays))) {
		struct gb_relay *relay = link->data;

		/* Nothing may call back into a viewer being freed. */
		disconnect_handlers(relay);
		relay_close(relay, CLOSE_GOING_AWAY, "glassboxd stopped");
		relay_free(relay);
	}
}

/* Session side: write what is queued; stop watching for room once it is all out. */
static gboolean session_writable(gint fd, GIOCondition condition, gpointer data)
{
	struct gb_relay *relay = data;

	while (relay->to_session->len) {
		ssize_t n = send(fd, relay->to_session->data, relay->to_session->len,
		                 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return G_SOURCE_CONTINUE;
		if (n < 0) {
			relay->write_source = 0;
			relay_end(relay, "lost the connection to the session", CLOSE_SERVER_ERROR);
			return G_SOURCE_REMOVE;
		}
		g_byte_array_remove_range(relay->to_session, 0, (guint)n);
	}
	relay->write_source = 0;
	return G_SOURCE_REMOVE;
}

static void flush_to_session(struct gb_relay *relay)
{
	if (relay->fd < 0 || relay->write_source || relay->to_session->len == 0)
		return;
	relay->write_source = g_unix_fd_add(relay->fd, G_IO_OUT, session_writable, relay);
}

static gboolean close_after_eof(gpointer data)
{
	struct gb_relay *relay = data;

	relay->eof_timeout = 0;
	relay_close(relay, CLOSE_NORMAL, "the session closed the connection");
	return G_SOURCE_REMOVE;
}

/* Relay each complete line from the session as one text message. */
static bool relay_lines(struct gb_relay *relay)
{
	GByteArray *buffer = relay->from_session;
	guint8 *newline;

	while ((newline = memchr(buffer->data, '\n', buffer->len))) {
		gsize length = (gsize)(newline - buffer->data);
		g_autofree char *line = NULL;

		if (length > GB_MESSAGE_MAX)
			return false;
		if (length && g_utf8_validate((const char *)buffer->data, (gssize)length, NULL)) {
			line = g_strndup((const char *)buffer->data, length);
			send_text(relay, line);
		} else if (length) {
			gb_warning("session %s sent a line that is not UTF-8; dropped",
			           relay_session_id(relay));
		}
		g_byte_array_remove_range(buffer, 0, (guint)length + 1);
	}
	return buffer->len <= GB_MESSAGE_MAX;
}

static gboolean session_readable(gint fd, GIOCondition condition, gpointer data)
{
	struct gb_relay *relay = data;
	guint8 chunk[READ_CHUNK];
	ssize_t n;

	n = recv(fd, chunk, sizeof(chunk), MSG_DONTWAIT);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return G_SOURCE_CONTINUE;
	if (n <= 0) {
		/*
		 * The session hung up on this viewer: it refused it (after an
		 * "error" message) or it is ending. Give its exit a moment to
		 * arrive so the viewer hears "ended" rather than a bare close.
		 */
		relay->read_source = 0;
		close_session_socket(relay);
		/* A session we are stopping gets its grace period to exit. */
		if (!relay->eof_timeout &&
		    !(relay->in_session.session &&
		      relay->in_session.session->state == GB_SESSION_STOPPING))
			relay->eof_timeout = g_timeout_add(EOF_GRACE_MS, close_after_eof, relay);
		return G_SOURCE_REMOVE;
	}
	g_byte_array_append(relay->from_session, chunk, (guint)n);
	if (!relay_lines(relay)) {
		relay->read_source = 0;
		gb_warning("session %s sent a line longer than %d bytes; closing its viewer",
		           relay_session_id(relay), GB_MESSAGE_MAX);
		relay_close(relay, CLOSE_SERVER_ERROR, "the session sent a message too long");
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

static gboolean retry_connect(gpointer data)
{
	struct gb_relay *relay = data;

	relay->connect_retry = 0;
	relay_connect(relay);
	return G_SOURCE_REMOVE;
}

static void relay_connect(struct gb_relay *relay)
{
	int fd;

	if (relay->closing || !relay->in_session.session || relay->fd >= 0)
		return;
	/* Checked to be the session's own socket before anything is written to it. */
	fd = gb_session_socket_connect(relay->in_session.session,
	                               relay->in_session.session->socket_path, "signal");
	if (fd < 0) {
		/* A full backlog says "later", not "never". */
		if (fd == -EAGAIN && ++relay->connect_attempts < CONNECT_ATTEMPTS_MAX) {
			relay->connect_retry =
			        g_timeout_add(CONNECT_RETRY_MS, retry_connect, relay);
			return;
		}
		if (fd != -EPERM) /* a refused peer is logged already */
			gb_error("session %s of user '%s': cannot connect to %s: %s",
			         relay->in_session.session->id, relay->in_session.session->user,
			         relay->in_session.session->socket_path, strerror(-fd));
		relay_end(relay, "cannot reach the session", CLOSE_SERVER_ERROR);
		return;
	}
	relay->fd = fd;
	relay->read_source =
	        g_unix_fd_add(fd, G_IO_IN | G_IO_HUP | G_IO_ERR, session_readable, relay);
	flush_to_session(relay);
}

static struct gb_relay *relay_of(struct gb_session_relay *in_session)
{
	return (struct gb_relay *)((char *)in_session - offsetof(struct gb_relay, in_session));
}

static void session_ready(struct gb_session_relay *in_session)
{
	relay_connect(relay_of(in_session));
}

static void session_ended(struct gb_session_relay *in_session, const char *reason,
                          unsigned short code)
{
	relay_end(relay_of(in_session), reason, code);
}

static const struct gb_session_relay_ops session_relay_ops = {
	.ready = session_ready,
	.ended = session_ended,
};

/* The message as one compact line, or NULL when it is not an object with a string "type". */
static char *message_to_line(const char *text, gsize length)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(JsonGenerator) generator = json_generator_new();
	JsonNode *root, *type;
	char *compact, *line;

	if (!gb_json_depth_within(text, length, GB_JSON_DEPTH_MAX) ||
	    !json_parser_load_from_data(parser, text, (gssize)length, NULL))
		return NULL;
	root = json_parser_get_root(parser);
	if (!root || !JSON_NODE_HOLDS_OBJECT(root))
		return NULL;
	type = json_object_get_member(json_node_get_object(root), "type");
	if (!type || !JSON_NODE_HOLDS_VALUE(type) ||
	    json_node_get_value_type(type) != G_TYPE_STRING)
		return NULL;
	json_generator_set_pretty(generator, FALSE);
	json_generator_set_root(generator, root);
	compact = json_generator_to_data(generator, NULL);
	line = g_strconcat(compact, "\n", NULL);
	g_free(compact);
	return line;
}

static void websocket_message(SoupWebsocketConnection *ws, gint type, GBytes *message,
                              gpointer data)
{
	struct gb_relay *relay = data;
	gint64 now = g_get_monotonic_time();
	g_autofree char *line = NULL;
	gsize length;
	const char *text = g_bytes_get_data(message, &length);

	if (relay->closing)
		return;
	if (now - relay->window_start_us >= G_USEC_PER_SEC) {
		relay->window_start_us = now;
		relay->window_count = 0;
	}
	if (++relay->window_count > GB_MESSAGES_PER_SECOND) {
		relay_close(relay, CLOSE_POLICY, "more than 100 messages in a second");
		return;
	}
	if (length > GB_MESSAGE_MAX) {
		relay_close(relay, CLOSE_TOO_BIG, "message larger than 64 KiB");
		return;
	}
	if (type != SOUP_WEBSOCKET_DATA_TEXT || !(line = message_to_line(text, length))) {
		relay_close(relay, CLOSE_POLICY, "expected a JSON object with a string \"type\"");
		return;
	}
	if (relay->to_session->len + strlen(line) > GB_TO_SESSION_BUFFER_MAX) {
		relay_close(relay, CLOSE_POLICY, "the session is not keeping up");
		return;
	}
	g_byte_array_append(relay->to_session, (const guint8 *)line, (guint)strlen(line));
	flush_to_session(relay);
}

/* The browser started the close: it stops counting as a viewer now. */
static void websocket_closing(SoupWebsocketConnection *ws, gpointer data)
{
	struct gb_relay *relay = data;

	relay->closing = true;
	detach(relay);
}

static void websocket_closed(SoupWebsocketConnection *ws, gpointer data)
{
	struct gb_relay *relay = data;

	gb_info("user '%s' left session %s from %s (close code %u)", relay_user(relay),
	        relay_session_id(relay), relay->peer,
	        soup_websocket_connection_get_close_code(ws));
	relay_free(relay);
}

static void websocket_error(SoupWebsocketConnection *ws, GError *error, gpointer data)
{
	struct gb_relay *relay = data;

	const char *reason = NULL;
	unsigned short code = gb_frame_limit_stream_violation(
	        soup_websocket_connection_get_io_stream(ws), &reason);

	/*
	 * libsoup drops the connection on a read error or a frame over its
	 * limit without a close frame; send ours first (it is written at
	 * once), so the browser learns why.
	 */
	if (!code && g_error_matches(error, SOUP_WEBSOCKET_ERROR, SOUP_WEBSOCKET_CLOSE_TOO_BIG)) {
		code = CLOSE_TOO_BIG;
		reason = "message larger than 64 KiB";
	}
	if (code && !relay->closing) {
		relay_close(relay, code, reason);
		return;
	}
	gb_debug("WebSocket of user '%s' (%s): %s", relay_user(relay), relay->peer,
	         error->message);
}

static void send_session_message(struct gb_relay *relay, const struct gb_daemon_session *session,
                                 bool joined)
{
	g_autoptr(JsonBuilder) builder = json_builder_new();

	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "type");
	json_builder_add_string_value(builder, "session");
	json_builder_set_member_name(builder, "id");
	json_builder_add_string_value(builder, session->id);
	json_builder_set_member_name(builder, "user");
	json_builder_add_string_value(builder, session->user);
	/* Whose "alice": the same name through two auth plugins is two people. */
	json_builder_set_member_name(builder, "identity");
	json_builder_add_string_value(builder, session->identity);
	json_builder_set_member_name(builder, "joined");
	json_builder_add_boolean_value(builder, joined);
	json_builder_end_object(builder);
	send_builder(relay, builder);
}

static char *full_message(struct gb_daemon *daemon)
{
	return g_strdup_printf("this box runs its maximum of %d sessions; try again later",
	                       daemon->config->server.max_sessions);
}

/* After the upgrade: find or start the user's session and join it. */
static void websocket_opened(struct gb_daemon *daemon, SoupServerMessage *msg,
                             SoupWebsocketConnection *ws)
{
	const char *key = g_object_get_data(G_OBJECT(msg), "gb-login-key");
	struct gb_login *login = gb_auth_lookup_key(daemon, key);
	struct gb_daemon_session *session;
	struct gb_relay *relay;
	bool joined;

	relay = g_new0(struct gb_relay, 1);
	relay->daemon = daemon;
	relay->ws = g_object_ref(ws);
	relay->in_session.ops = &session_relay_ops;
	relay->fd = -1;
	relay->login_key = g_strdup(key ? key : "");
	relay->peer = g_strdup(gb_http_peer(msg));
	relay->to_session = g_byte_array_new();
	relay->from_session = g_byte_array_new();
	relay->all_link.data = relay;
	g_queue_push_tail_link(&relays, &relay->all_link);
	soup_websocket_connection_set_max_incoming_payload_size(ws, GB_MESSAGE_MAX);
	soup_websocket_connection_set_keepalive_interval(ws, KEEPALIVE_S);
	relay->message_handler =
	        g_signal_connect(ws, "message", G_CALLBACK(websocket_message), relay);
	relay->closed_handler =
	        g_signal_connect(ws, "closed", G_CALLBACK(websocket_closed), relay);
	relay->error_handler = g_signal_connect(ws, "error", G_CALLBACK(websocket_error), relay);
	relay->closing_handler =
	        g_signal_connect(ws, "closing", G_CALLBACK(websocket_closing), relay);

	if (!login || daemon->stopping) {
		relay_close(relay, CLOSE_POLICY,
		            login ? "glassboxd is stopping" : "not logged in");
		return;
	}
	session = gb_session_find(daemon, login->identity_namespace, login->user);
	/* A session started at login, before any page connected, is not "joined". */
	joined = session != NULL && session->viewed;
	if (!session) {
		session = gb_session_start(daemon, login);
		if (!session) {
			bool is_full = errno == EAGAIN;
			g_autofree char *full = full_message(daemon);

			if (is_full)
				gb_warning("user '%s' from %s: no room for a session (%d running)",
				           login->user, relay->peer,
				           daemon->config->server.max_sessions);
			send_error(relay, is_full ? full : "cannot start a session; see the log");
			relay_close(relay, is_full ? CLOSE_POLICY : CLOSE_SERVER_ERROR,
			            is_full ? "no room for a session" : "cannot start a session");
			return;
		}
	} else if (session->relays.length >= (guint)daemon->config->session.max_viewers) {
		gb_warning("user '%s' from %s: session %s already has %u viewers", login->user,
		           relay->peer, session->id, session->relays.length);
		send_error(relay, "too many viewers of this session");
		relay_close(relay, CLOSE_POLICY, "too many viewers");
		return;
	}
	relay->user = g_strdup(login->user);
	g_strlcpy(relay->session_id, session->id, sizeof(relay->session_id));
	/* First, as the protocol says; adding the viewer may already end it. */
	send_session_message(relay, session, joined);
	gb_info("user '%s' %s session %s from %s (%u viewer%s)", login->user,
	        joined ? "joined" : "opened", session->id, relay->peer, session->relays.length + 1,
	        session->relays.length ? "s" : "");
	gb_session_add_relay(session, &relay->in_session);
}

/*
 * The 101 went out: take the connection over. This is what
 * soup_server_add_websocket_handler() would do, plus the frame limit
 * wrapped around the stream (see frame-limit.h), and with no extension
 * (permessage-deflate would let 64 KiB on the wire inflate into far more).
 */
static void complete_upgrade(SoupServerMessage *msg, gpointer data)
{
	struct gb_daemon *daemon = data;
	g_autoptr(GIOStream) stream = NULL;
	g_autoptr(GIOStream) limited = NULL;
	g_autoptr(SoupWebsocketConnection) ws = NULL;
	SoupMessageHeaders *headers = soup_server_message_get_request_headers(msg);

	g_object_ref(msg);
	stream = soup_server_message_steal_connection(msg);
	limited = gb_frame_limit_stream_new(stream, GB_MESSAGE_MAX, FRAMES_PER_SECOND_MAX);
	/* libsoup hangs the socket on the stolen stream; send_text() needs it too. */
	if (g_object_get_data(G_OBJECT(stream), "GSocket"))
		g_object_set_data_full(
		        G_OBJECT(limited), "GSocket",
		        g_object_ref(g_object_get_data(G_OBJECT(stream), "GSocket")),
		        g_object_unref);
	ws = soup_websocket_connection_new(
	        limited, soup_server_message_get_uri(msg), SOUP_WEBSOCKET_CONNECTION_SERVER,
	        soup_message_headers_get_one(headers, "Origin"), NULL, NULL);
	websocket_opened(daemon, msg, ws);
	g_object_unref(msg);
}

/* Before the upgrade: the checks a refusal must come from with an HTTP status. */
static void websocket_precheck(SoupServer *server, SoupServerMessage *msg, const char *path,
                               GHashTable *query, gpointer data)
{
	struct gb_daemon *daemon = data;
	struct gb_login *login;

	if (strcmp(path, "/api/session") != 0) {
		gb_http_reply_error(msg, SOUP_STATUS_NOT_FOUND, "no such API");
		return;
	}
	if (soup_server_message_get_method(msg) != SOUP_METHOD_GET) {
		soup_message_headers_replace(soup_server_message_get_response_headers(msg),
		                             "Allow", "GET");
		gb_http_reply_error(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "use GET with Upgrade");
		return;
	}
	login = gb_auth_find_login(daemon, msg);
	if (!login) {
		gb_http_reply_error(msg, SOUP_STATUS_UNAUTHORIZED, "not logged in");
		return;
	}
	if (!gb_http_origin_allowed(daemon, msg, true)) {
		const char *origin = soup_message_headers_get_one(
		        soup_server_message_get_request_headers(msg), "Origin");
		g_autofree char *shown = g_strescape(origin ? origin : "(none)", NULL);

		gb_warning("user '%s' from %s: WebSocket from origin \"%.100s\" refused; list it "
		           "in server.allowed_origins if it is yours",
		           login->user, gb_http_peer(msg), shown);
		gb_http_reply_error(msg, SOUP_STATUS_FORBIDDEN,
		                    "this origin may not connect here");
		return;
	}
	if (daemon->stopping) {
		gb_http_reply_error(msg, SOUP_STATUS_SERVICE_UNAVAILABLE, "glassboxd is stopping");
		return;
	}
	if (!gb_session_find(daemon, login->identity_namespace, login->user) &&
	    gb_sessions_count(daemon) >= (unsigned)daemon->config->server.max_sessions) {
		g_autofree char *full = full_message(daemon);

		gb_warning("user '%s' from %s: no room for a session (%d running)", login->user,
		           gb_http_peer(msg), daemon->config->server.max_sessions);
		gb_http_reply_error(msg, SOUP_STATUS_SERVICE_UNAVAILABLE, full);
		return;
	}
	gb_http_add_common_headers(msg);
	/* Sets 101, or an error status for a request that is no handshake. */
	if (!soup_websocket_server_process_handshake(msg, NULL, NULL, NULL, NULL))
		return;
	g_object_set_data_full(G_OBJECT(msg), "gb-login-key", g_strdup(login->key), g_free);
	g_signal_connect(msg, "wrote-informational", G_CALLBACK(complete_upgrade), daemon);
}

void gb_relay_add_routes(struct gb_daemon *daemon)
{
	gb_http_add_route(daemon, "/api/session", websocket_precheck, daemon, 0);
}

unsigned gb_relays_count(struct gb_daemon *daemon)
{
	return relays.length;
}
