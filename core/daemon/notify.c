/* SPDX-License-Identifier: MIT */
/*
 * sd_notify(3): glassbox.service is Type=notify with WatchdogSec=.
 *
 *   READY=1            once HTTP listens (and after a reload)
 *   STATUS=...         "2 sessions, 3 viewers", kept current through events.c
 *   WATCHDOG=1         every WATCHDOG_USEC / 2, from a timer on the main loop,
 *                      so that a loop that hangs stops the pings and systemd
 *                      restarts us
 *   RELOADING=1        while a reload runs (with MONOTONIC_USEC=, as systemd
 *                      asks of reloads)
 *   STOPPING=1         once a stop begins
 *
 * Without NOTIFY_SOCKET (not started by systemd, or by the direct spawner's
 * parent) every call is a no-op: sd_notify() returns 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "daemon.h"
#include "sessions.h"
#include "log.h"
#include "notify.h"

/* WATCHDOG=1 every WATCHDOG_USEC / 2; 0 when not asked. One daemon per process. */
static guint watchdog_timer;

static void notify(const char *state)
{
	int r = sd_notify(0, state);

	if (r < 0)
		gb_debug("sd_notify(\"%s\"): %s", state, strerror(-r));
}

static unsigned count_relays(struct gb_daemon *daemon)
{
	GHashTableIter iter;
	gpointer value;
	unsigned relays = 0;

	if (!gb_sessions_iter_init(&iter, daemon))
		return 0;
	while (g_hash_table_iter_next(&iter, NULL, &value))
		relays += ((struct gb_daemon_session *)value)->relays.length;
	return relays;
}

static char *status_line(struct gb_daemon *daemon)
{
	unsigned sessions = gb_sessions_count(daemon);
	unsigned relays = count_relays(daemon);

	return g_strdup_printf("STATUS=%u session%s, %u viewer%s", sessions,
	                       sessions == 1 ? "" : "s", relays, relays == 1 ? "" : "s");
}

static void notify_status(struct gb_daemon *daemon)
{
	g_autofree char *status = status_line(daemon);

	notify(status);
}

void gb_notify_ready(struct gb_daemon *daemon)
{
	g_autofree char *status = status_line(daemon);
	g_autofree char *state = g_strdup_printf("READY=1\n%s", status);

	notify(state);
}

static void notify_reloading(struct gb_daemon *daemon)
{
	struct timespec now;
	g_autofree char *state = NULL;

	clock_gettime(CLOCK_MONOTONIC, &now);
	state = g_strdup_printf("RELOADING=1\nSTATUS=reloading the configuration\n"
	                        "MONOTONIC_USEC=%llu",
	                        (unsigned long long)now.tv_sec * 1000000ULL +
	                                (unsigned long long)now.tv_nsec / 1000ULL);
	notify(state);
}

void gb_notify_stopping(struct gb_daemon *daemon)
{
	notify("STOPPING=1\nSTATUS=stopping");
}

static gboolean watchdog_ping(gpointer data)
{
	notify("WATCHDOG=1");
	return G_SOURCE_CONTINUE;
}

void gb_notify_init(struct gb_daemon *daemon)
{
	uint64_t usec = 0;
	int r = sd_watchdog_enabled(0, &usec);

	if (r < 0)
		gb_warning("the watchdog settings systemd passed are not valid (WATCHDOG_USEC, "
		           "WATCHDOG_PID): %s; not sending keep-alives",
		           strerror(-r));
	if (r <= 0 || usec == 0)
		return;
	/* Half the period, as sd_watchdog_enabled(3) advises; at least 1 ms. */
	watchdog_timer = g_timeout_add(usec / 2000 ? (guint)MIN(usec / 2000, G_MAXUINT) : 1,
	                               watchdog_ping, daemon);
	gb_info("systemd watchdog: a keep-alive every %llu ms", (unsigned long long)usec / 2000);
	notify("WATCHDOG=1");
}

void gb_notify_fini(struct gb_daemon *daemon)
{
	if (watchdog_timer)
		g_source_remove(watchdog_timer);
	watchdog_timer = 0;
}

static void status_changed(void *data)
{
	notify_status(data);
}

static void session_added(void *data, const struct gb_daemon_session *session)
{
	notify_status(data);
}

static void session_removed(void *data, const struct gb_daemon_session *session,
                            const char *reason)
{
	notify_status(data);
}

static void reload_started(void *data)
{
	notify_reloading(data);
}

static void reload_ended(void *data, bool applied)
{
	gb_notify_ready(data);
}

const struct gb_events_listener gb_notify_events = {
	.session_added = session_added,
	.session_removed = session_removed,
	.relays_changed = status_changed,
	.reload_started = reload_started,
	.reload_ended = reload_ended,
};
