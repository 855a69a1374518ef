/* SPDX-License-Identifier: MIT */
/*
 * The HTTP side of glassboxd: the listen address, TLS, the headers every
 * answer carries and the limits on request bodies. It serves whatever
 * routes the other objects (static.c, auth.c, relay.c, ...) add with
 * gb_http_add_route() when main.c asks them to; it names none of them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "daemon.h"
#include "http-private.h"
#include "http.h"
#include "http-checks.h"
#include "log.h"

/*
 * The web client is plain ES modules from this origin, draws the stream
 * from a MediaStream, and talks to the same origin over fetch and a
 * WebSocket ('self' covers ws:/wss: to the same host in CSP 3). WebRTC
 * itself is not governed by CSP. Nothing may frame the page.
 */
#define CONTENT_SECURITY_POLICY                                                                   \
	"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "   \
	"media-src 'self' blob: mediastream:; connect-src 'self'; font-src 'self'; "              \
	"manifest-src 'self'; worker-src 'self'; base-uri 'none'; form-action 'self'; "           \
	"frame-ancestors 'none'"

void gb_http_add_common_headers(SoupServerMessage *msg)
{
	SoupMessageHeaders *headers = soup_server_message_get_response_headers(msg);

	soup_message_headers_replace(headers, "Content-Security-Policy", CONTENT_SECURITY_POLICY);
	soup_message_headers_replace(headers, "X-Content-Type-Options", "nosniff");
	soup_message_headers_replace(headers, "Referrer-Policy", "no-referrer");
	soup_message_headers_replace(headers, "X-Frame-Options", "DENY");
	soup_message_headers_replace(headers, "Cross-Origin-Opener-Policy", "same-origin");
	soup_message_headers_replace(headers, "Cross-Origin-Resource-Policy", "same-origin");
}

void gb_http_reply_json(SoupServerMessage *msg, guint status, const char *json)
{
	SoupMessageHeaders *headers = soup_server_message_get_response_headers(msg);

	gb_http_add_common_headers(msg);
	soup_message_headers_replace(headers, "Cache-Control", "no-store");
	if (json)
		soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_COPY, json,
		                                 strlen(json));
	soup_server_message_set_status(msg, status, NULL);
}

void gb_http_reply_error(SoupServerMessage *msg, guint status, const char *message)
{
	g_autoptr(JsonBuilder) builder = json_builder_new();
	g_autoptr(JsonGenerator) generator = json_generator_new();
	g_autoptr(JsonNode) root = NULL;
	g_autofree char *json = NULL;

	/* json-glib, not g_strescape(): that one writes octal escapes JSON has not. */
	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "error");
	json_builder_add_string_value(builder, message);
	json_builder_end_object(builder);
	root = json_builder_get_root(builder);
	json_generator_set_root(generator, root);
	json = json_generator_to_data(generator, NULL);
	gb_http_reply_json(msg, status, json);
}

bool gb_http_accept_get(SoupServerMessage *msg)
{
	const char *method = soup_server_message_get_method(msg);

	if (method == SOUP_METHOD_GET || method == SOUP_METHOD_HEAD)
		return true;
	soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Allow",
	                             "GET, HEAD");
	gb_http_reply_error(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "use GET");
	return false;
}

const char *gb_http_peer(SoupServerMessage *msg)
{
	const char *host = soup_server_message_get_remote_host(msg);

	return host ? host : "(unknown)";
}

bool gb_http_peer_is_loopback(SoupServerMessage *msg)
{
	GSocketAddress *remote = soup_server_message_get_remote_address(msg);
	GInetAddress *address;
	const guint8 *bytes;
	static const guint8 v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (!remote || !G_IS_INET_SOCKET_ADDRESS(remote))
		return false;
	address = g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(remote));
	if (g_inet_address_get_is_loopback(address))
		return true;
	/* ::ffff:127.0.0.1 on a dual-stack socket */
	if (g_inet_address_get_family(address) != G_SOCKET_FAMILY_IPV6)
		return false;
	bytes = g_inet_address_to_bytes(address);
	return memcmp(bytes, v4_mapped, sizeof(v4_mapped)) == 0 && bytes[12] == 127;
}

bool gb_http_origin_allowed(struct gb_daemon *daemon, SoupServerMessage *msg, bool required)
{
	SoupMessageHeaders *headers = soup_server_message_get_request_headers(msg);

	return gb_http_origin_matches(soup_message_headers_get_one(headers, "Origin"),
	                              soup_message_headers_get_one(headers, "Host"),
	                              daemon->http->https, daemon->config->server.allowed_origins,
	                              required);
}

/* A route and the request body it takes (POST to exactly its path), 0: none. */
struct route {
	char *path;
	size_t body_max;
};

static void route_free(gpointer data)
{
	struct route *route = data;

	g_free(route->path);
	g_free(route);
}

/*
 * libsoup reads a whole request body into memory before a handler sees it,
 * whatever its size. Only a route that takes a body (POST /api/login) keeps
 * one, up to its body_max, after which it is dropped and the request marked
 * "gb-body-too-big"; everywhere else a body is dropped as it arrives.
 */
static void count_body_chunk(SoupServerMessage *msg, GBytes *chunk, gpointer data)
{
	const struct route *route = data;
	SoupMessageBody *body = soup_server_message_get_request_body(msg);
	gsize total = GPOINTER_TO_SIZE(g_object_get_data(G_OBJECT(msg), "gb-body-size"));

	total += g_bytes_get_size(chunk);
	g_object_set_data(G_OBJECT(msg), "gb-body-size", GSIZE_TO_POINTER(total));
	if (total > route->body_max) {
		soup_message_body_set_accumulate(body, FALSE);
		soup_message_body_truncate(body);
		g_object_set_data(G_OBJECT(msg), "gb-body-too-big", GINT_TO_POINTER(1));
	}
}

static void early_handler(SoupServer *server, SoupServerMessage *msg, const char *path,
                          GHashTable *query, gpointer data)
{
	const struct route *route = data;
	SoupMessageBody *body = soup_server_message_get_request_body(msg);
	SoupMessageHeaders *headers = soup_server_message_get_request_headers(msg);

	if (route && route->body_max && soup_server_message_get_method(msg) == SOUP_METHOD_POST &&
	    strcmp(path, route->path) == 0) {
		if (soup_message_headers_get_encoding(headers) == SOUP_ENCODING_CONTENT_LENGTH &&
		    soup_message_headers_get_content_length(headers) > (goffset)route->body_max) {
			g_autofree char *message = g_strdup_printf(
			        "the request body is larger than %zu KiB", route->body_max / 1024);

			soup_message_body_set_accumulate(body, FALSE);
			gb_http_reply_error(msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, message);
			return;
		}
		g_signal_connect(msg, "got-chunk", G_CALLBACK(count_body_chunk), (gpointer)route);
		return;
	}
	soup_message_body_set_accumulate(body, FALSE);
}

void gb_http_add_route(struct gb_daemon *daemon, const char *path, SoupServerCallback handler,
                       gpointer data, size_t body_max)
{
	struct route *route;

	if (!path) {
		/* The default route takes no body (gb_http_init()). */
		soup_server_add_handler(daemon->http->server, NULL, handler, data, NULL);
		return;
	}
	route = g_new0(struct route, 1);
	route->path = g_strdup(path);
	route->body_max = body_max;
	soup_server_add_handler(daemon->http->server, path, handler, data, NULL);
	/* Every route gets the body limits too. */
	soup_server_add_early_handler(daemon->http->server, path, early_handler, route,
	                              route_free);
}

/* A streaming route's early handler and its data (gb_http_add_streaming_route()). */
struct streaming_route {
	SoupServerCallback early;
	gpointer data;
};

static void streaming_early_handler(SoupServer *server, SoupServerMessage *msg, const char *path,
                                    GHashTable *query, gpointer data)
{
	const struct streaming_route *route = data;

	/* Never the whole body in memory: the route takes it piece by piece. */
	soup_message_body_set_accumulate(soup_server_message_get_request_body(msg), FALSE);
	route->early(server, msg, path, query, route->data);
}

void gb_http_add_streaming_route(struct gb_daemon *daemon, const char *path,
                                 SoupServerCallback early, SoupServerCallback handler,
                                 gpointer data)
{
	struct streaming_route *route = g_new0(struct streaming_route, 1);

	route->early = early;
	route->data = data;
	soup_server_add_handler(daemon->http->server, path, handler, data, NULL);
	soup_server_add_early_handler(daemon->http->server, path, streaming_early_handler, route,
	                              g_free);
}

/* "ADDRESS:PORT" or "[IPV6]:PORT". */
static int parse_listen(const char *text, GInetAddress **address, guint16 *port)
{
	g_autofree char *host = NULL;
	const char *colon = strrchr(text, ':');
	char *end;
	long value;

	if (!colon || colon == text)
		return -EINVAL;
	if (text[0] == '[') {
		if (colon[-1] != ']' || colon - text < 3)
			return -EINVAL;
		host = g_strndup(text + 1, (gsize)(colon - text - 2));
		if (!strchr(host, ':'))
			return -EINVAL;
	} else {
		host = g_strndup(text, (gsize)(colon - text));
		if (strchr(host, ':'))
			return -EINVAL; /* IPv6 needs its brackets */
	}
	errno = 0;
	value = strtol(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || value < 0 || value > 65535)
		return -EINVAL;
	*address = g_inet_address_new_from_string(host);
	if (!*address)
		return -EINVAL;
	*port = (guint16)value;
	return 0;
}

/*
 * The listening socket. soup_server_listen() makes every IPv6 socket
 * IPv6-only, so "[::]:PORT" would refuse IPv4 clients: we make it dual-stack
 * (IPv4 clients then arrive as ::ffff:a.b.c.d; gb_address_key keys
 * them by their IPv4 address). Its backlog is nginx's rather than GLib's 10,
 * so a burst of connections does not make the kernel drop others' SYNs.
 */
#define LISTEN_BACKLOG 511

static GSocket *listen_socket(GSocketAddress *address, GError **error)
{
	GInetAddress *host = g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(address));
	GSocketFamily family = g_socket_address_get_family(address);
	g_autoptr(GSocket) socket =
	        g_socket_new(family, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, error);

	if (!socket)
		return NULL;
	if (family == G_SOCKET_FAMILY_IPV6 &&
	    !g_socket_set_option(socket, IPPROTO_IPV6, IPV6_V6ONLY,
	                         !g_inet_address_get_is_any(host), error))
		return NULL;
	g_socket_set_listen_backlog(socket, LISTEN_BACKLOG);
	if (!g_socket_bind(socket, address, TRUE, error) || !g_socket_listen(socket, error))
		return NULL;
	return g_steal_pointer(&socket);
}

int gb_http_init(struct gb_daemon *daemon)
{
	const struct gb_server_config *config = &daemon->config->server;
	g_autoptr(GInetAddress) address = NULL;
	g_autoptr(GTlsCertificate) certificate = NULL;
	guint16 port;

	daemon->http = g_new0(struct gb_http, 1);
	if (parse_listen(config->listen, &address, &port) < 0) {
		gb_error("%s: key 'server.listen': \"%s\" is not ADDRESS:PORT (IPv4, or IPv6 in "
		         "brackets, port 0..65535)",
		         daemon->config_path, config->listen);
		return -EINVAL;
	}
	if (!config->tls_certificate[0] != !config->tls_key[0]) {
		gb_error("%s: keys 'server.tls_certificate' and 'server.tls_key' must be set "
		         "together",
		         daemon->config_path);
		return -EINVAL;
	}
	/* Plain HTTP only where nothing but this machine can listen in. */
	daemon->http->https =
	        !g_inet_address_get_is_loopback(address) || config->tls_certificate[0];
	if (daemon->http->https) {
		if (!g_tls_backend_supports_tls(g_tls_backend_get_default())) {
			gb_error("HTTPS needs GLib's TLS backend, which is missing: install "
			         "glib-networking");
			return -ENOTSUP;
		}
		certificate = gb_tls_load_certificate(daemon->config, address);
		if (!certificate)
			return -EINVAL;
	}

	daemon->http->server =
	        soup_server_new("server-header", "glassbox", "tls-certificate", certificate, NULL);
	if (!daemon->http->server)
		return -ENOMEM;

	/* Every other path: bodies are dropped as they arrive. */
	soup_server_add_early_handler(daemon->http->server, NULL, early_handler, NULL, NULL);
	return 0;
}

int gb_http_listen(struct gb_daemon *daemon)
{
	const struct gb_server_config *config = &daemon->config->server;
	g_autoptr(GInetAddress) address = NULL;
	g_autoptr(GSocketAddress) socket_address = NULL;
	g_autoptr(GSocket) socket = NULL;
	g_autoptr(GError) error = NULL;
	GSList *uris;
	guint16 port;

	/* Checked by gb_http_init() already. */
	if (parse_listen(config->listen, &address, &port) < 0)
		return -EINVAL;
	if (gb_connections_init(daemon) < 0)
		return -ENOMEM;
	socket_address = g_inet_socket_address_new(address, port);
	socket = listen_socket(socket_address, &error);
	if (!socket || !soup_server_listen_socket(
	                       daemon->http->server, socket,
	                       daemon->http->https ? SOUP_SERVER_LISTEN_HTTPS : 0, &error)) {
		gb_error("cannot listen on %s (key 'server.listen' in %s): %s", config->listen,
		         daemon->config_path, error->message);
		return -EADDRNOTAVAIL;
	}
	uris = soup_server_get_uris(daemon->http->server);
	for (GSList *item = uris; item; item = item->next) {
		g_autofree char *text = g_uri_to_string(item->data);
		gb_info("listening on %s", text);
	}
	g_slist_free_full(uris, (GDestroyNotify)g_uri_unref);
	return 0;
}

void gb_http_stop(struct gb_daemon *daemon)
{
	if (daemon->http && daemon->http->server) {
		soup_server_disconnect(daemon->http->server);
		gb_connections_fini(daemon);
		g_clear_object(&daemon->http->server);
	}
}

bool gb_http_serving(struct gb_daemon *daemon)
{
	return daemon->http && daemon->http->server;
}

bool gb_http_is_https(struct gb_daemon *daemon)
{
	return daemon->http && daemon->http->https;
}

void gb_http_free(struct gb_daemon *daemon)
{
	gb_http_stop(daemon);
	g_free(daemon->http);
	daemon->http = NULL;
}
