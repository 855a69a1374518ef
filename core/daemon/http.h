/* SPDX-License-Identifier: MIT */
/*
 * The HTTP server of glassboxd (http.c): TLS, the listening socket, the
 * routes the objects add, the headers every answer carries and the limits
 * on request bodies; and the connection limits (connections.c).
 */
#ifndef GB_HTTP_H
#define GB_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <libsoup/soup.h>

#include "config.h"

struct gb_daemon;

/** The server, TLS and the web client (static.c); nothing listens yet. */
int gb_http_init(struct gb_daemon *daemon);
/**
 * Serve @path (and below) with @handler. @body_max: the request body a POST
 * to exactly @path may carry (bigger: 413, or "gb-body-too-big" set on the
 * message); 0: bodies are dropped unread.
 */
void gb_http_add_route(struct gb_daemon *daemon, const char *path, SoupServerCallback handler,
                       gpointer data, size_t body_max);
/**
 * Serve @path (and below) with @handler, for requests whose body is
 * streamed (uploads): as soon as a request's head is in, its body is set
 * not to accumulate and @early is called, which may answer at once (a
 * refusal) or connect to "got-chunk" and take the body as it arrives;
 * @handler runs once the whole body is in. Call
 * gb_connections_request_progress() for each piece taken.
 */
void gb_http_add_streaming_route(struct gb_daemon *daemon, const char *path,
                                 SoupServerCallback early, SoupServerCallback handler,
                                 gpointer data);
/** True from gb_http_init() until gb_http_stop(): answers may still be sent. */
bool gb_http_serving(struct gb_daemon *daemon);
/** True when the server speaks HTTPS (cookies get Secure, URLs https://). */
bool gb_http_is_https(struct gb_daemon *daemon);
/** gb_http_stop(), then forget the object (at exit). */
void gb_http_free(struct gb_daemon *daemon);
/** Listen on server.listen, with the connection limits (connections.c). */
int gb_http_listen(struct gb_daemon *daemon);
void gb_http_stop(struct gb_daemon *daemon);
/** Security and caching headers every answer carries. */
void gb_http_add_common_headers(SoupServerMessage *msg);
/** Answer with a JSON body (may be NULL: no body). */
void gb_http_reply_json(SoupServerMessage *msg, guint status, const char *json);
/** Answer {"error": @message}. */
void gb_http_reply_error(SoupServerMessage *msg, guint status, const char *message);
/** True when the request has no Origin, or its Origin is ours or allowed. */
bool gb_http_origin_allowed(struct gb_daemon *daemon, SoupServerMessage *msg, bool required);
/** True for GET and HEAD; else false after answering 405 (Allow: GET, HEAD). */
bool gb_http_accept_get(SoupServerMessage *msg);
/** The client's address, for logs and limits. */
const char *gb_http_peer(SoupServerMessage *msg);
/** True when the client's address is a loopback one (127.0.0.0/8, ::1, ::ffff:127.x). */
bool gb_http_peer_is_loopback(SoupServerMessage *msg);

/* connections.c: per-address and total limits on open connections, and
 * time-outs for a request's head and for idle kept-alive connections. */
int gb_connections_init(struct gb_daemon *daemon);
void gb_connections_fini(struct gb_daemon *daemon);
/**
 * A streamed request body (gb_http_add_streaming_route()) made progress: its
 * connection gets GB_REQUEST_HEAD_TIMEOUT_S again for the next piece, so a
 * large upload may take as long as it keeps moving, a stalled one not.
 */
void gb_connections_request_progress(struct gb_daemon *daemon, SoupServerMessage *msg);
/** A connection libsoup gave up (a WebSocket's) is closed: it no longer counts. */
void gb_connections_closed(struct gb_daemon *daemon, GSocket *socket);

/* tls.c */
/**
 * The certificate to serve: the configured pair, or a self-signed one made
 * (and kept, 0600) in state_dir on first use. NULL after logging an error
 * that names the file.
 */
GTlsCertificate *gb_tls_load_certificate(const struct gb_config *config,
                                         GInetAddress *listen_address);

/* static.c */
/** The web client under server.web_dir, on every path no other route takes. */
void gb_static_add_routes(struct gb_daemon *daemon);
/** Close server.web_dir. */
void gb_static_stop(struct gb_daemon *daemon);

#endif
