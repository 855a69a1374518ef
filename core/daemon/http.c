/* SPDX-License-Identifier: MIT */
/*
 * The HTTP side of glassboxd: the listen address, TLS, the headers every
 * answer carries and the limits on request bodies. The handlers themselves
 * live in static.c (the web client), auth.c (/api/login, logout, whoami)
 * and viewer.c (/api/session).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	g_autofree char *escaped = g_strescape(message, NULL);
	g_autofree char *json = g_strdup_printf("{\"error\":\"%s\"}", escaped);

	gb_http_reply_json(msg, status, json);
}

const char *gb_http_peer(SoupServerMessage *msg)
{
	const char *host = soup_server_message_get_remote_host(msg);

	return host ? host : "(unknown)";
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
	for (const char *const *p = (const char *const[]){ "/api/login", "/api/logout",
	                                                   "/api/whoami", "/api/session", NULL };
	     *p; p++)
		soup_server_add_early_handler(daemon->server, *p, early_handler, daemon, NULL);

	socket_address = g_inet_socket_address_new(address, port);
	if (!soup_server_listen(daemon->server, socket_address,
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
		g_clear_object(&daemon->server);
	}
	if (daemon->web_dir_fd >= 0) {
		close(daemon->web_dir_fd);
		daemon->web_dir_fd = -1;
	}
}
