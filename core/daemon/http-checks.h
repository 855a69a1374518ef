/* SPDX-License-Identifier: MIT */
/*
 * The checks of a request's Host and Origin headers, without libsoup: what
 * a URL may be built from (the redirect logins' callback URL) and which
 * pages may log in and open the signalling WebSocket.
 */
#ifndef GB_HTTP_CHECKS_H
#define GB_HTTP_CHECKS_H

#include <stdbool.h>

/** A Host header we may build a URL from: a host name or IP literal, optional port, <= 255. */
bool gb_http_host_valid(const char *host);

/**
 * Whether a request with @origin (NULL: the header is absent) and @host
 * (the Host header, may be NULL) comes from our own page (@https says which
 * scheme that is) or from one of @allowed (server.allowed_origins, NULL
 * terminated, may be NULL). Without an Origin: true unless @required.
 * "http://host:80" and "http://host" are the same origin; case does not
 * matter.
 */
bool gb_http_origin_matches(const char *origin, const char *host, bool https, char *const *allowed,
                            bool required);

#endif
