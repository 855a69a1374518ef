/* SPDX-License-Identifier: MIT */
/*
 * /metrics (Prometheus text format 0.0.4) and GET /api/admin: figures about
 * glassboxd and, asked on each running session's control socket, about
 * the sessions. See README.md "METRICS".
 */
#ifndef GB_METRICS_H
#define GB_METRICS_H

#include "daemon.h"

int gb_metrics_init(struct gb_daemon *daemon);
void gb_metrics_fini(struct gb_daemon *daemon);
/** GET /metrics and GET /api/admin (gb_http_add_route()). */
void gb_metrics_add_routes(struct gb_daemon *daemon);

/** Counts logins and their failures (glassbox_logins_total, glassbox_login_failures_total);
 * register it with the daemon as data. */
extern const struct gb_events_listener gb_metrics_events;

#endif
