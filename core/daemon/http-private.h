/* SPDX-License-Identifier: MIT */
/* The state of the HTTP object (daemon->http), shared by http.c and connections.c. */
#ifndef GB_HTTP_PRIVATE_H
#define GB_HTTP_PRIVATE_H

#include <stdbool.h>

#include <libsoup/soup.h>

struct gb_connections;

struct gb_http {
	SoupServer *server; /* NULL once stopped */
	bool https;
	struct gb_connections *connections; /* connections.c */
};

#endif
