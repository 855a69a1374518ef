/* SPDX-License-Identifier: MIT */
/*
 * Relays: GET /api/session, the signalling WebSocket of a browser tab,
 * relayed line by line to the session's signal socket (relay.c).
 */
#ifndef GB_RELAY_H
#define GB_RELAY_H

#include "events.h"

struct gb_daemon;

/** GET /api/session, the signalling WebSocket (gb_http_add_route()). */
void gb_relay_add_routes(struct gb_daemon *daemon);
/** Closes the WebSockets of a login that ended; register it with the daemon as data. */
extern const struct gb_events_listener gb_relay_events;
/** Signalling WebSockets open now. */
unsigned gb_relays_count(struct gb_daemon *daemon);
/** After the main loop: free the viewers whose close did not complete. */
void gb_relays_destroy_all(struct gb_daemon *daemon);

#endif
