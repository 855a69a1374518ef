/* SPDX-License-Identifier: MIT */
/*
 * Limits on the TCP connections glassboxd serves, HTTP and WebSocket alike:
 *
 * - at most GB_CONNECTIONS_PER_ADDRESS_MAX open at once per client address
 *   (its key, gb_address_key: IPv6 per /64), and at most a total left
 *   by RLIMIT_NOFILE, so that one client cannot use up the file
 *   descriptors everyone needs;
 * - over HTTPS, at most GB_CONNECTIONS_NEW_PER_ADDRESS_MAX per address that
 *   have not sent a complete request yet: glib-networking runs each TLS
 *   handshake as a blocking call on GLib's shared task threads (10 of them,
 *   growing slowly), so more than 10 connections that never send their
 *   ClientHello stall every other client's handshake until they time out.
 *   6 is what a browser opens to one host at most. (Two addresses together
 *   still can stall the handshakes, for up to the time-out below; only
 *   accepting connections ourselves and handing them to libsoup after their
 *   first bytes would avoid that.);
 * - a new connection must send a complete request (head and body) within
 *   GB_REQUEST_HEAD_TIMEOUT_S, and a kept-alive one its next request within
 *   GB_CONNECTION_IDLE_TIMEOUT_S (slowloris: a client that dribbles a
 *   header byte every few seconds would otherwise hold its connection for
 *   ever).
 *
 * libsoup 3.2 has no hook to refuse a connection, but it emits
 * SoupServer::request-started as soon as it accepts one (before any byte,
 * before the TLS handshake), with the connection's GSocket, and again when
 * the first byte of each later request on it arrives. A connection is known
 * by its GSocket. An extra connection, or one over its time, is shut down
 * (both directions): libsoup reads end-of-file and drops it.
 *
 * libsoup 3.2.3 does not drop a kept-alive connection that ends between
 * requests (the client closes it, or we shut it down): it reads
 * end-of-file for a request nobody waits for yet and leaves the connection
 * open for ever, in CLOSE-WAIT, holding its descriptor. So between requests
 * we watch the socket ourselves: end-of-file there, or the idle time-out,
 * and we close it (at low priority, after libsoup's own source has seen it).
 *
 * A connection ends for us when its current message says "disconnected"
 * with the socket closed, when we close it, when relay.c says it closed a
 * WebSocket's (gb_connections_closed), or when the GSocket is finalised,
 * whichever comes first.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "login-limits.h"
#include "daemon.h"
#include "http-private.h"
#include "http.h"
#include "log.h"

/* Descriptors kept for everything else: sessions' sockets, the journal, D-Bus, files. */
#define RESERVED_FDS 256

struct gb_connections {
	struct gb_daemon *daemon;
	GHashTable *by_socket;  /* GSocket * -> struct connection */
	GHashTable *by_address; /* address key -> struct address */
	unsigned total;
	unsigned total_max;
	unsigned per_address_max;
	unsigned fresh_per_address_max;
	unsigned head_timeout_s;
	unsigned idle_timeout_s;
	gulong started_handler, read_handler, finished_handler, aborted_handler;
	bool total_logged; /* the total limit was logged since it was last reached */
};

struct address {
	unsigned open;
	unsigned fresh; /* of which have not sent a complete request yet */
	bool logged;    /* the limit was logged since this address last had room */
};

struct connection {
	struct gb_connections *owner;
	GSocket *socket; /* not a reference: a weak one tells when it goes */
	char *address_key;
	char *peer;
	unsigned requests;
	bool fresh; /* no complete request yet */
	guint timer;
	bool between_requests;  /* a response went out; libsoup waits for the next request */
	GSource *eof_watch;     /* between requests: the client may close */
	guint close_idle;       /* a close of an abandoned connection, queued */
	SoupServerMessage *msg; /* its current request: a weak pointer */
	gulong disconnected_handler;
};

static void watch_message(struct connection *connection, SoupServerMessage *msg);

static void connection_free(gpointer data)
{
	struct connection *connection = data;

	if (connection->timer)
		g_source_remove(connection->timer);
	if (connection->eof_watch) {
		g_source_destroy(connection->eof_watch);
		g_source_unref(connection->eof_watch);
	}
	if (connection->close_idle)
		g_source_remove(connection->close_idle);
	watch_message(connection, NULL);
	g_free(connection->address_key);
	g_free(connection->peer);
	g_free(connection);
}

static void forget(struct gb_connections *connections, struct connection *connection)
{
	struct address *address =
	        g_hash_table_lookup(connections->by_address, connection->address_key);

	if (address && connection->fresh && address->fresh > 0)
		address->fresh--;
	if (address && address->open > 0 && --address->open == 0)
		g_hash_table_remove(connections->by_address, connection->address_key);
	else if (address)
		address->logged = false;
	connections->total--;
	connections->total_logged = false;
	g_hash_table_remove(connections->by_socket, connection->socket);
}

/* The GSocket is being finalised: the connection is closed. */
static void socket_gone(gpointer data, GObject *where_it_was)
{
	struct connection *connection = data;

	forget(connection->owner, connection);
}

static void forget_open(struct gb_connections *connections, struct connection *connection)
{
	g_object_weak_unref(G_OBJECT(connection->socket), socket_gone, connection);
	forget(connections, connection);
}

/* libsoup let go of the connection: closed, or taken over by a WebSocket. */
static void message_disconnected(SoupServerMessage *msg, gpointer data)
{
	struct connection *connection = data;

	if (g_socket_is_closed(connection->socket))
		forget_open(connection->owner, connection);
}

/* Follow @msg (NULL: none) for the connection's "disconnected". */
static void watch_message(struct connection *connection, SoupServerMessage *msg)
{
	if (connection->msg) {
		g_signal_handler_disconnect(connection->msg, connection->disconnected_handler);
		g_object_remove_weak_pointer(G_OBJECT(connection->msg),
		                             (gpointer *)&connection->msg);
	}
	connection->msg = msg;
	connection->disconnected_handler = 0;
	if (!msg)
		return;
	g_object_add_weak_pointer(G_OBJECT(msg), (gpointer *)&connection->msg);
	connection->disconnected_handler = g_signal_connect(
	        msg, "disconnected", G_CALLBACK(message_disconnected), connection);
}

void gb_connections_closed(struct gb_daemon *daemon, GSocket *socket)
{
	struct gb_connections *connections = daemon->http->connections;
	struct connection *connection =
	        connections && socket ? g_hash_table_lookup(connections->by_socket, socket) : NULL;

	if (connection)
		forget_open(connections, connection);
}

static void shut_down(GSocket *socket)
{
	g_autoptr(GError) error = NULL;

	if (!g_socket_shutdown(socket, TRUE, TRUE, &error))
		gb_debug("cannot shut a connection down: %s", error->message);
}

/* libsoup has given up a connection between requests without closing it: close it. */
static gboolean close_abandoned(gpointer data)
{
	struct connection *connection = data;

	connection->close_idle = 0;
	if (!connection->between_requests)
		return G_SOURCE_REMOVE; /* a request came after all */
	if (!g_socket_is_closed(connection->socket))
		g_socket_close(connection->socket, NULL);
	forget_open(connection->owner, connection);
	return G_SOURCE_REMOVE;
}

/* After libsoup's own sources: it must have seen the end-of-file first. */
static void queue_close(struct connection *connection)
{
	if (!connection->close_idle)
		connection->close_idle =
		        g_idle_add_full(G_PRIORITY_LOW, close_abandoned, connection, NULL);
}

static void stop_eof_watch(struct connection *connection)
{
	if (connection->eof_watch) {
		g_source_destroy(connection->eof_watch);
		g_source_unref(connection->eof_watch);
		connection->eof_watch = NULL;
	}
}

/* Between requests the socket is readable: the next request, or the client left. */
static gboolean readable_between_requests(GSocket *socket, GIOCondition condition, gpointer data)
{
	struct connection *connection = data;
	char byte;
	ssize_t n = recv(g_socket_get_fd(socket), &byte, 1, MSG_PEEK | MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return G_SOURCE_CONTINUE;
	g_source_unref(connection->eof_watch);
	connection->eof_watch = NULL;
	if (n <= 0)
		queue_close(connection);
	return G_SOURCE_REMOVE;
}

static gboolean timed_out(gpointer data)
{
	struct connection *connection = data;
	struct gb_connections *connections = connection->owner;

	connection->timer = 0;
	if (connection->between_requests) {
		gb_debug("closing the connection from %s: idle for %u s", connection->peer,
		         connections->idle_timeout_s);
		stop_eof_watch(connection);
		shut_down(connection->socket);
		queue_close(connection);
	} else {
		gb_info("closing the connection from %s: no complete request within %u s",
		        connection->peer, connections->head_timeout_s);
		shut_down(connection->socket);
	}
	return G_SOURCE_REMOVE;
}

/* True when the client has closed this kept-alive connection (end-of-file waits). */
static bool client_left(struct connection *connection)
{
	char byte;

	if (connection->close_idle)
		return true;
	if (!connection->between_requests)
		return false;
	return recv(g_socket_get_fd(connection->socket), &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

/*
 * The connections of address @key that are still in use. A client that makes
 * one request per connection closes each right after its answer; until our
 * low-priority close has run (a busy loop may take a while to get to it),
 * those count as open but must not hold a place against the limit.
 */
static unsigned in_use(struct gb_connections *connections, const char *key, unsigned open)
{
	GHashTableIter iter;
	gpointer value;
	unsigned left = 0;

	g_hash_table_iter_init(&iter, connections->by_socket);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		struct connection *connection = value;

		if (strcmp(connection->address_key, key) == 0 && client_left(connection)) {
			queue_close(connection);
			left++;
		}
	}
	return open > left ? open - left : 0;
}

/* A new connection from @peer: track it, or shut it down when over a limit. */
static struct connection *accept_connection(struct gb_connections *connections, GSocket *socket,
                                            const char *peer)
{
	g_autofree char *key = gb_address_key(peer);
	struct address *address = g_hash_table_lookup(connections->by_address, key);
	struct connection *connection;

	if (connections->total >= connections->total_max) {
		if (!connections->total_logged)
			gb_warning("%u connections open, the most this glassboxd takes "
			           "(RLIMIT_NOFILE); refusing new ones until some close (this "
			           "time from %s)",
			           connections->total, peer);
		connections->total_logged = true;
		shut_down(socket);
		return NULL;
	}
	if (address &&
	    ((address->open >= connections->per_address_max &&
	      in_use(connections, key, address->open) >= connections->per_address_max) ||
	     address->fresh >= connections->fresh_per_address_max)) {
		if (!address->logged)
			gb_warning("client %s has %u connections open (%u without a complete "
			           "request yet), the most one address may have; refusing more "
			           "until some close",
			           peer, address->open, address->fresh);
		address->logged = true;
		shut_down(socket);
		return NULL;
	}
	if (!address) {
		address = g_new0(struct address, 1);
		g_hash_table_insert(connections->by_address, g_strdup(key), address);
	}
	address->open++;
	address->fresh++;
	connections->total++;
	connection = g_new0(struct connection, 1);
	connection->fresh = true;
	connection->owner = connections;
	connection->socket = socket;
	connection->address_key = g_steal_pointer(&key);
	connection->peer = g_strdup(peer);
	g_object_weak_ref(G_OBJECT(socket), socket_gone, connection);
	g_hash_table_insert(connections->by_socket, socket, connection);
	return connection;
}

/* A connection was accepted, or a kept-alive one waits for its next request. */
static void request_started(SoupServer *server, SoupServerMessage *msg, gpointer data)
{
	struct gb_connections *connections = data;
	GSocket *socket = soup_server_message_get_socket(msg);
	struct connection *connection;

	if (!socket)
		return;
	connection = g_hash_table_lookup(connections->by_socket, socket);
	if (!connection)
		connection = accept_connection(connections, socket,
		                               soup_server_message_get_remote_host(msg)
		                                       ? soup_server_message_get_remote_host(msg)
		                                       : "(unknown)");
	if (!connection)
		return;
	watch_message(connection, msg);
	connection->requests++;
	connection->between_requests = false;
	stop_eof_watch(connection);
	if (connection->timer)
		g_source_remove(connection->timer);
	connection->timer =
	        g_timeout_add_seconds(connections->head_timeout_s, timed_out, connection);
}

/* The request is in (head and body): its handler may take its time now. */
static void request_read(SoupServer *server, SoupServerMessage *msg, gpointer data)
{
	struct gb_connections *connections = data;
	GSocket *socket = soup_server_message_get_socket(msg);
	struct connection *connection =
	        socket ? g_hash_table_lookup(connections->by_socket, socket) : NULL;

	if (!connection)
		return;
	if (connection->timer) {
		g_source_remove(connection->timer);
		connection->timer = 0;
	}
	if (connection->fresh) {
		struct address *address =
		        g_hash_table_lookup(connections->by_address, connection->address_key);

		connection->fresh = false;
		if (address && address->fresh > 0 &&
		    address->fresh-- == connections->fresh_per_address_max)
			address->logged = false;
	}
}

void gb_connections_request_progress(struct gb_daemon *daemon, SoupServerMessage *msg)
{
	struct gb_connections *connections = daemon->http ? daemon->http->connections : NULL;
	GSocket *socket = soup_server_message_get_socket(msg);
	struct connection *connection =
	        connections && socket ? g_hash_table_lookup(connections->by_socket, socket) : NULL;

	if (!connection || !connection->timer || connection->between_requests)
		return;
	g_source_remove(connection->timer);
	connection->timer =
	        g_timeout_add_seconds(connections->head_timeout_s, timed_out, connection);
}

/* A response went out (or the request failed): wait for the next one, for so long. */
static void request_done(SoupServer *server, SoupServerMessage *msg, gpointer data)
{
	struct gb_connections *connections = data;
	GSocket *socket = soup_server_message_get_socket(msg);
	struct connection *connection =
	        socket ? g_hash_table_lookup(connections->by_socket, socket) : NULL;

	if (!connection || g_socket_is_closed(socket))
		return;
	connection->between_requests = true;
	if (connection->timer)
		g_source_remove(connection->timer);
	connection->timer =
	        g_timeout_add_seconds(connections->idle_timeout_s, timed_out, connection);
	if (!connection->eof_watch) {
		connection->eof_watch =
		        g_socket_create_source(socket, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
		g_source_set_callback(connection->eof_watch,
		                      G_SOURCE_FUNC(readable_between_requests), connection, NULL);
		g_source_attach(connection->eof_watch, NULL);
	}
}

/* The most connections the descriptors allow: the soft RLIMIT_NOFILE less a reserve. */
static unsigned total_from_rlimit(void)
{
	struct rlimit limit;

	if (getrlimit(RLIMIT_NOFILE, &limit) < 0 || limit.rlim_cur == RLIM_INFINITY ||
	    limit.rlim_cur > 1000000)
		return 1000000;
	if (limit.rlim_cur <= 2 * RESERVED_FDS)
		return (unsigned)limit.rlim_cur / 2;
	return (unsigned)limit.rlim_cur - RESERVED_FDS;
}

int gb_connections_init(struct gb_daemon *daemon)
{
	struct gb_connections *connections = g_new0(struct gb_connections, 1);

	connections->daemon = daemon;
	connections->by_socket = g_hash_table_new_full(NULL, NULL, NULL, connection_free);
	connections->by_address = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	connections->total_max = total_from_rlimit();
	connections->per_address_max = gb_daemon_limit_from_environment(
	        "GB_TEST_CONNECTIONS_PER_ADDRESS", GB_CONNECTIONS_PER_ADDRESS_MAX, 100000);
	connections->fresh_per_address_max =
	        daemon->http->https
	                ? MIN(GB_CONNECTIONS_NEW_PER_ADDRESS_MAX, connections->per_address_max)
	                : connections->per_address_max;
	connections->head_timeout_s = gb_daemon_limit_from_environment(
	        "GB_TEST_REQUEST_HEAD_TIMEOUT_S", GB_REQUEST_HEAD_TIMEOUT_S, 3600);
	connections->idle_timeout_s = gb_daemon_limit_from_environment(
	        "GB_TEST_CONNECTION_IDLE_TIMEOUT_S", GB_CONNECTION_IDLE_TIMEOUT_S, 3600);
	connections->started_handler = g_signal_connect(daemon->http->server, "request-started",
	                                                G_CALLBACK(request_started), connections);
	connections->read_handler = g_signal_connect(daemon->http->server, "request-read",
	                                             G_CALLBACK(request_read), connections);
	connections->finished_handler = g_signal_connect(daemon->http->server, "request-finished",
	                                                 G_CALLBACK(request_done), connections);
	connections->aborted_handler = g_signal_connect(daemon->http->server, "request-aborted",
	                                                G_CALLBACK(request_done), connections);
	gb_debug("connections: at most %u per client address (%u new) and %u in all; %u s for a "
	         "request, %u s idle",
	         connections->per_address_max, connections->fresh_per_address_max,
	         connections->total_max, connections->head_timeout_s, connections->idle_timeout_s);
	daemon->http->connections = connections;
	return 0;
}

void gb_connections_fini(struct gb_daemon *daemon)
{
	struct gb_connections *connections = daemon->http->connections;
	GHashTableIter iter;
	gpointer key, value;

	if (!connections)
		return;
	if (daemon->http->server) {
		g_signal_handler_disconnect(daemon->http->server, connections->started_handler);
		g_signal_handler_disconnect(daemon->http->server, connections->read_handler);
		g_signal_handler_disconnect(daemon->http->server, connections->finished_handler);
		g_signal_handler_disconnect(daemon->http->server, connections->aborted_handler);
	}
	/* WebSockets may outlive the server: their sockets must not call back. */
	g_hash_table_iter_init(&iter, connections->by_socket);
	while (g_hash_table_iter_next(&iter, &key, &value))
		g_object_weak_unref(G_OBJECT(key), socket_gone, value);
	connections->total = 0;
	g_hash_table_destroy(connections->by_socket);
	g_hash_table_destroy(connections->by_address);
	g_free(connections);
	daemon->http->connections = NULL;
}
