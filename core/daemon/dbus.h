/* SPDX-License-Identifier: MIT */
/*
 * org.glassbox.Manager1 on the system bus: the administration API that
 * glassboxctl speaks. See docs/dbus-api.md.
 */
#ifndef GB_DBUS_H
#define GB_DBUS_H

#include "daemon.h"

#define GB_DBUS_NAME        "org.glassbox.Manager1"
#define GB_DBUS_PATH        "/org/glassbox/Manager1"
#define GB_DBUS_INTERFACE   "org.glassbox.Manager1"
#define GB_DBUS_ADMIN_GROUP "glassbox-admin"

/** What glassboxd does about the bus (--dbus=). */
enum gb_dbus_mode {
	GB_DBUS_AUTO,     /* connect; without a bus, warn once and go on */
	GB_DBUS_REQUIRED, /* without the bus and the name, refuse to start */
	GB_DBUS_OFF,      /* never connect */
};

/** "auto", "required", "off"; -EINVAL when unknown. */
int gb_dbus_mode_from_string(const char *text, enum gb_dbus_mode *mode);

/**
 * Connect to the system bus (DBUS_SYSTEM_BUS_ADDRESS wins), export the
 * object and request the name. Returns 0 (also when it went on without a
 * bus in GB_DBUS_AUTO) or a negative errno after logging why.
 */
int gb_dbus_start(struct gb_daemon *daemon, enum gb_dbus_mode mode);

/** Release the name and close the bus; answers pending calls. Safe to call twice. */
void gb_dbus_stop(struct gb_daemon *daemon);

/**
 * The signals SessionNew and SessionRemoved, and PropertiesChanged of
 * SessionCount and MaxSessions; register it with the daemon as data. Does
 * nothing without a bus.
 */
extern const struct gb_events_listener gb_dbus_events;

#endif
