/* SPDX-License-Identifier: MIT */
#include "bus-glib.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>

#include "log.h"

/* sd_bus_process() may have more queued work than one call does; stop after
 * this many rounds in one dispatch so a flood cannot starve the main loop. */
#define GB_SD_BUS_PROCESS_MAX 64

struct gb_sd_bus_source {
	GSource source;
	sd_bus *bus;
	GPollFD pollfd;
};

static void update_poll(struct gb_sd_bus_source *s)
{
	int events = sd_bus_get_events(s->bus);
	int fd = sd_bus_get_fd(s->bus);
	unsigned short want = 0;

	if (events > 0) {
		if (events & POLLIN)
			want |= G_IO_IN;
		if (events & POLLOUT)
			want |= G_IO_OUT;
	}
	want |= G_IO_ERR | G_IO_HUP;
	if (fd >= 0 && fd != s->pollfd.fd) {
		/* Only if the bus changed its fd (it does not, after connecting). */
		if (s->pollfd.fd >= 0)
			g_source_remove_poll(&s->source, &s->pollfd);
		s->pollfd.fd = fd;
		s->pollfd.revents = 0;
		g_source_add_poll(&s->source, &s->pollfd);
	}
	s->pollfd.events = want;
}

static gboolean bus_prepare(GSource *source, gint *timeout_ms)
{
	struct gb_sd_bus_source *s = (struct gb_sd_bus_source *)source;
	uint64_t usec = UINT64_MAX;

	update_poll(s);
	*timeout_ms = -1;
	if (sd_bus_get_timeout(s->bus, &usec) < 0 || usec == UINT64_MAX)
		return FALSE;
	/* sd_bus_get_timeout() gives an absolute CLOCK_MONOTONIC time, the
	 * clock g_get_monotonic_time() reads too. */
	gint64 now = g_get_monotonic_time();
	if (usec == 0 || (gint64)usec <= now) {
		*timeout_ms = 0;
		return TRUE;
	}
	uint64_t left_ms = ((uint64_t)usec - (uint64_t)now + 999) / 1000;
	*timeout_ms = left_ms > G_MAXINT ? G_MAXINT : (gint)left_ms;
	return FALSE;
}

static gboolean bus_check(GSource *source)
{
	struct gb_sd_bus_source *s = (struct gb_sd_bus_source *)source;
	uint64_t usec = UINT64_MAX;

	if (s->pollfd.revents & (G_IO_IN | G_IO_OUT | G_IO_ERR | G_IO_HUP))
		return TRUE;
	if (sd_bus_get_timeout(s->bus, &usec) >= 0 && usec != UINT64_MAX &&
	    (usec == 0 || (gint64)usec <= g_get_monotonic_time()))
		return TRUE;
	return FALSE;
}

static gboolean bus_dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
	struct gb_sd_bus_source *s = (struct gb_sd_bus_source *)source;
	(void)callback;
	(void)user_data;

	for (int i = 0; i < GB_SD_BUS_PROCESS_MAX; i++) {
		int r = sd_bus_process(s->bus, NULL);
		if (r == 0)
			break;
		if (r < 0) {
			if (r != -ECONNRESET && r != -ENOTCONN)
				gb_warning("D-Bus: processing the bus connection failed: %s",
				           g_strerror(-r));
			else
				gb_warning("D-Bus: the bus connection was closed");
			/* A dead connection would poll as readable forever. */
			return G_SOURCE_REMOVE;
		}
	}
	s->pollfd.revents = 0;
	return G_SOURCE_CONTINUE;
}

static void bus_finalize(GSource *source)
{
	struct gb_sd_bus_source *s = (struct gb_sd_bus_source *)source;

	s->bus = sd_bus_unref(s->bus);
}

static GSourceFuncs bus_source_funcs = {
	.prepare = bus_prepare,
	.check = bus_check,
	.dispatch = bus_dispatch,
	.finalize = bus_finalize,
};

int gb_sd_bus_attach(sd_bus *bus, GMainContext *context, GSource **out)
{
	if (!bus || !out)
		return -EINVAL;
	int fd = sd_bus_get_fd(bus);
	if (fd < 0)
		return fd;

	GSource *source = g_source_new(&bus_source_funcs, sizeof(struct gb_sd_bus_source));
	struct gb_sd_bus_source *s = (struct gb_sd_bus_source *)source;
	s->bus = sd_bus_ref(bus);
	s->pollfd.fd = -1;
	g_source_set_name(source, "sd-bus");
	update_poll(s);
	g_source_attach(source, context);
	*out = source;
	return 0;
}

void gb_sd_bus_detach(GSource *source)
{
	if (!source)
		return;
	g_source_destroy(source);
	g_source_unref(source);
}
