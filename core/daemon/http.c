/* SPDX-License-Identifier: MIT */
/*
 * The HTTP side of glassboxd: the listen address, TLS, the headers every
 * answer carries and the limits on request bodies. The handlers themselves
 * live in static.c (the web client), auth.c (/api/login, logout, whoami),
 * auth-redirect.c (/api/auth/methods, /api/login/redirect and callback),
 * metrics.c (/metrics, /api/admin) and viewer.c (/api/session).
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

static bool port_valid(const char *text)
{
	size_t length = strlen(text);
	unsigned long value = 0;

	if (length < 1 || length > 5)
		return false;
	for (size_t i = 0; i < length; i++) {
		if (!g_ascii_isdigit(text[i]))
			return false;
		value = value * 10 + (unsigned long)(text[i] - '0');
	}
	return value >= 1 && value <= 65535;
}

/* Labels of letters, digits and '-' (not at either end), 1..63 each, dots between. */
static bool host_name_valid(const char *name, size_t length)
{
	size_t label = 0;

	if (length == 0)
		return false;
	for (size_t i = 0; i < length; i++) {
		char c = name[i];

		if (c == '.') {
			if (label == 0 || name[i - 1] == '-')
				return false;
			label = 0;
		} else if (g_ascii_isalnum(c) || (c == '-' && label > 0)) {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return label > 0 && name[length - 1] != '-';
}

bool gb_http_host_valid(const char *host)
{
	const char *port = NULL;
	size_t length = host ? strlen(host) : 0;

	if (length == 0 || length > 255)
		return false;
	if (host[0] == '[') {
		const char *close = strchr(host, ']');
		g_autofree char *literal = NULL;
		g_autoptr(GInetAddress) address = NULL;

		if (!close || (close[1] && close[1] != ':'))
			return false;
		literal = g_strndup(host + 1, (gsize)(close - host - 1));
		address = g_inet_address_new_from_string(literal);
		if (!address || g_inet_address_get_family(address) != G_SOCKET_FAMILY_IPV6)
			return false;
		return close[1] == '\0' || port_valid(close + 2);
	}
	port = strchr(host, ':');
	if (port && !port_valid(port + 1))
		return false;
	return host_name_valid(host, port ? (size_t)(port - host) : length);
}

/* "http://host:80" and "http://host" are the same origin. */
static char *normalise_origin(const char *origin)
{
	char *lower = g_ascii_strdown(origin, -1);
	size_t length = strlen(lower);

	if (g_str_has_prefix(lower, "http://") && g_str_has_suffix(lower, ":80"))
		lower[length - 3] = '\0';
	else if (g_str_has_prefix(lower, "https://") && g_str_has_suffix(lower, ":443"))
		lower[length - 4] = '\0';
	return lower;
}

bool gb_http_origin_allowed(struct gb_daemon *daemon, SoupServerMessage *msg, bool required)
{
	SoupMessageHeaders *headers = soup_server_message_get_request_headers(msg);
	const char *origin = soup_message_headers_get_one(headers, "Origin");
	const char *host = soup_message_headers_get_one(headers, "Host");
	g_autofree char *given = NULL;
	char **allowed = daemon->config->server.allowed_origins;

	if (!origin)
		return !required;
	given = normalise_origin(origin);
	if (host && host[0]) {
		g_autofree char *own_text =
		        g_strdup_printf("%s://%s", daemon->https ? "https" : "http", host);
		g_autofree char *own = normalise_origin(own_text);

		if (strcmp(given, own) == 0)
			return true;
	}
	for (size_t i = 0; allowed && allowed[i]; i++) {
		g_autofree char *listed = normalise_origin(allowed[i]);

		if (strcmp(given, listed) == 0)
			return true;
	}
	return false;
}

/*
 * libsoup reads a whole request body into memory before a handler sees it,
 * whatever its size. Only POST /api/login takes a body: everywhere else it is
 * dropped as it arrives, and for the login it is kept up to
 * GB_LOGIN_BODY_MAX, after which it is dropped and the request marked.
 */
static void count_body_chunk(SoupServerMessage *msg, GBytes *chunk, gpointer data)
{
	SoupMessageBody *body = soup_server_message_get_request_body(msg);
	gsize total = GPOINTER_TO_SIZE(g_object_get_data(G_OBJECT(msg), "gb-body-size"));

	total += g_bytes_get_size(chunk);
	g_object_set_data(G_OBJECT(msg), "gb-body-size", GSIZE_TO_POINTER(total));
	if (total > GB_LOGIN_BODY_MAX) {
		soup_message_body_set_accumulate(body, FALSE);
		soup_message_body_truncate(body);
		g_object_set_data(G_OBJECT(msg), "gb-body-too-big", GINT_TO_POINTER(1));
	}
}

static void early_handler(SoupServer *server, SoupServerMessage *msg, const char *path,
                          GHashTable *query, gpointer data)
{
	SoupMessageBody *body = soup_server_message_get_request_body(msg);
	SoupMessageHeaders *headers = soup_server_message_get_request_headers(msg);

	if (soup_server_message_get_method(msg) == SOUP_METHOD_POST &&
	    strcmp(path, "/api/login") == 0) {
		if (soup_message_headers_get_encoding(headers) == SOUP_ENCODING_CONTENT_LENGTH &&
		    soup_message_headers_get_content_length(headers) > GB_LOGIN_BODY_MAX) {
			soup_message_body_set_accumulate(body, FALSE);
			gb_http_reply_error(msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE,
			                    "the request body is larger than 4 KiB");
			return;
		}
		g_signal_connect(msg, "got-chunk", G_CALLBACK(count_body_chunk), NULL);
		return;
	}
	soup_message_body_set_accumulate(body, FALSE);
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
 * (IPv4 clients then arrive as ::ffff:a.b.c.d; gb_auth_address_key keys
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

static void open_web_dir(struct gb_daemon *daemon)
{
	const char *web_dir = daemon->config->server.web_dir;

	daemon->web_dir_fd = open(web_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (daemon->web_dir_fd < 0)
		gb_warning("cannot open the web client folder %s (server.web_dir): %s; only "
		           "/api/ is served",
		           web_dir, strerror(errno));
}

int gb_http_start(struct gb_daemon *daemon)
{
	const struct gb_server_config *config = &daemon->config->server;
	g_autoptr(GInetAddress) address = NULL;
	g_autoptr(GSocketAddress) socket_address = NULL;
	g_autoptr(GSocket) socket = NULL;
	g_autoptr(GTlsCertificate) certificate = NULL;
	g_autoptr(GError) error = NULL;
	GSList *uris;
	guint16 port;

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
	daemon->https = !g_inet_address_get_is_loopback(address) || config->tls_certificate[0];
	if (daemon->https) {
		if (!g_tls_backend_supports_tls(g_tls_backend_get_default())) {
			gb_error("HTTPS needs GLib's TLS backend, which is missing: install "
			         "glib-networking");
			return -ENOTSUP;
		}
		certificate = gb_tls_load_certificate(daemon->config, address);
		if (!certificate)
			return -EINVAL;
	}

	daemon->server =
	        soup_server_new("server-header", "glassbox", "tls-certificate", certificate, NULL);
	if (!daemon->server)
		return -ENOMEM;

	open_web_dir(daemon);
	soup_server_add_early_handler(daemon->server, NULL, early_handler, daemon, NULL);
	soup_server_add_handler(daemon->server, NULL, gb_static_handler, daemon, NULL);
	gb_auth_add_handlers(daemon);
	gb_viewer_add_handlers(daemon);
	/* Every handler path gets the body limits too. */
	for (const char *const *p =
	             (const char *const[]){ "/api/login", "/api/logout", "/api/whoami",
	                                    "/api/session", "/api/auth/methods",
	                                    "/api/login/redirect", "/api/login/callback",
	                                    "/api/admin", "/metrics", NULL };
	     *p; p++)
		soup_server_add_early_handler(daemon->server, *p, early_handler, daemon, NULL);

	if (gb_connections_init(daemon) < 0)
		return -ENOMEM;
	socket_address = g_inet_socket_address_new(address, port);
	socket = listen_socket(socket_address, &error);
	if (!socket ||
	    !soup_server_listen_socket(daemon->server, socket,
	                               daemon->https ? SOUP_SERVER_LISTEN_HTTPS : 0, &error)) {
		gb_error("cannot listen on %s (key 'server.listen' in %s): %s", config->listen,
		         daemon->config_path, error->message);
		return -EADDRNOTAVAIL;
	}
	uris = soup_server_get_uris(daemon->server);
	for (GSList *item = uris; item; item = item->next) {
		g_autofree char *text = g_uri_to_string(item->data);
		gb_info("listening on %s", text);
	}
	g_slist_free_full(uris, (GDestroyNotify)g_uri_unref);
	return 0;
}

void gb_http_stop(struct gb_daemon *daemon)
{
	if (daemon->server) {
		soup_server_disconnect(daemon->server);
		gb_connections_fini(daemon);
		g_clear_object(&daemon->server);
	}
	if (daemon->web_dir_fd >= 0) {
		close(daemon->web_dir_fd);
		daemon->web_dir_fd = -1;
	}
}
