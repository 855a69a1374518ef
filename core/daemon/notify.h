/* SPDX-License-Identifier: MIT */
/*
 * sd_notify(3) READY, STATUS, WATCHDOG, RELOADING, STOPPING for
 * glassbox.service (Type=notify). All are no-ops when glassboxd was not
 * started by systemd (no NOTIFY_SOCKET).
 */
#ifndef GB_NOTIFY_H
#define GB_NOTIFY_H

#include "events.h"

struct gb_daemon;

/** Start the watchdog keep-alives when systemd asks for them (WATCHDOG_USEC). */
void gb_notify_init(struct gb_daemon *daemon);
void gb_notify_fini(struct gb_daemon *daemon);
void gb_notify_ready(struct gb_daemon *daemon);
void gb_notify_stopping(struct gb_daemon *daemon);

/**
 * Keeps STATUS= current and says RELOADING=1 / READY=1 around a reload;
 * register it with the daemon as data.
 */
extern const struct gb_events_listener gb_notify_events;

#endif
