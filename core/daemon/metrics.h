/* SPDX-License-Identifier: MIT */
/*
 * /metrics (Prometheus text format 0.0.4) and GET /api/admin: figures about
 * glassboxd and, asked on each running session's control socket, about
 * the sessions. See README.md "METRICS".
 */
#ifndef GB_METRICS_H
#define GB_METRICS_H

#include "daemon.h"

/* glassbox_login_failures_total{reason=...}; the names are in metrics.c. */
enum gb_login_failure_reason {
	GB_LOGIN_FAILURE_WRONG_CREDENTIALS, /* a password plugin said no */
	GB_LOGIN_FAILURE_REFUSED,           /* a redirect login was refused */
	GB_LOGIN_FAILURE_ERROR,             /* a plugin could not check */
	GB_LOGIN_FAILURE_THROTTLED_ADDRESS, /* 429: too many failures from the address */
	GB_LOGIN_FAILURE_THROTTLED_USER,    /* 429: too many failures for the user name */
	GB_LOGIN_FAILURE_REASONS
};

int gb_metrics_init(struct gb_daemon *daemon);
void gb_metrics_fini(struct gb_daemon *daemon);
/** GET /metrics and GET /api/admin (gb_http_add_route()). */
void gb_metrics_add_routes(struct gb_daemon *daemon);

/** A login succeeded through @plugin. */
void gb_metrics_count_login(struct gb_daemon *daemon, const char *plugin);
void gb_metrics_count_login_failure(struct gb_daemon *daemon, enum gb_login_failure_reason reason);

#endif
