/* SPDX-License-Identifier: MIT */
/*
 * Drive an sd-bus connection from a GLib main context: a GSource that polls
 * the bus fd with the events and time-out sd-bus asks for, and dispatches
 * with sd_bus_process() until it has nothing left to do.
 */
#ifndef GB_BUS_GLIB_H
#define GB_BUS_GLIB_H

#include <glib.h>
#include <systemd/sd-bus.h>

/**
 * Attach @bus to @context (NULL: the default context). The source holds a
 * reference on @bus. On success *@out is the attached source (the caller
 * owns one reference; pass it to gb_sd_bus_detach()). Returns 0 or a
 * negative errno.
 */
int gb_sd_bus_attach(sd_bus *bus, GMainContext *context, GSource **out);

/** Destroy and unref a source from gb_sd_bus_attach(). Accepts NULL. */
void gb_sd_bus_detach(GSource *source);

#endif
