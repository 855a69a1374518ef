/* SPDX-License-Identifier: MIT */
/*
 * What the two users of systemd's manager over sd-bus share: the systemd
 * spawner's session units (spawner-systemd.c) and storage's sidecar units
 * (storage-unit.c). Reading a unit's properties, how its service ended,
 * listing units by pattern, and following their jobs and state changes.
 */
#ifndef GB_SYSTEMD_BUS_H
#define GB_SYSTEMD_BUS_H

#include <systemd/sd-bus.h>

#define GB_SYSTEMD_SERVICE    "org.freedesktop.systemd1"
#define GB_SYSTEMD_PATH       "/org/freedesktop/systemd1"
#define GB_SYSTEMD_MANAGER    "org.freedesktop.systemd1.Manager"
#define GB_SYSTEMD_UNIT       "org.freedesktop.systemd1.Unit"
#define GB_SYSTEMD_SERVICE_IF "org.freedesktop.systemd1.Service"
#define GB_DBUS_PROPERTIES    "org.freedesktop.DBus.Properties"
#define GB_SYSTEMD_UNIT_PATH  "/org/freedesktop/systemd1/unit"

/** The error of a method reply, for a log line; @fallback (an errno) when it has none. */
const char *gb_bus_error_text(sd_bus_message *reply, int fallback);

/* Read (or skip) the variant of the property @name; < 0 stops the walk. */
typedef int (*gb_property_reader)(sd_bus_message *message, const char *name, void *data);

/**
 * Walk the a{sv} at @message's position, handing each property to @read:
 * 0, or the first error. Bounded by the message: every round consumes one
 * entry.
 */
int gb_bus_read_properties(sd_bus_message *message, gb_property_reader read, void *data);

/** A property reader: ActiveState into *(char **)@data (g_malloc'd). */
int gb_bus_read_active_state(sd_bus_message *message, const char *name, void *data);

/** How a service's main process ended (GetAll of org.freedesktop.systemd1.Service). */
struct gb_service_end {
	char *result; /* Result=, g_malloc'd */
	int code;     /* ExecMainCode: CLD_EXITED, CLD_KILLED, ... */
	int status;   /* ExecMainStatus */
};

/** A property reader filling the struct gb_service_end at @data. */
int gb_service_end_read(sd_bus_message *message, const char *name, void *data);
/** ", status 3", ", signal 9 (Killed)", or NULL: the end's detail for a message. */
char *gb_service_end_detail(const struct gb_service_end *end);

/** Called by gb_systemd_list_units() for each unit listed. */
typedef void (*gb_unit_func)(void *data, const char *name, const char *active_state);

/**
 * ListUnitsByPatterns: @func for each loaded unit named like @pattern whose
 * ActiveState is one of @states (NULL: any), @max at most. The number
 * listed, or a negative errno after logging why with @what ("the running
 * session units").
 */
int gb_systemd_list_units(sd_bus *bus, const char *const *states, const char *pattern,
                          unsigned max, const char *what, gb_unit_func func, void *data);

/**
 * Follow systemd's jobs and units on @bus: JobRemoved to @job_removed,
 * PropertiesChanged of any unit's org.freedesktop.systemd1.Unit interface to
 * @unit_changed (one match for all: the system bus allows a connection few
 * match rules), and Subscribe (answered to @subscribed), all with @data.
 * Installed before any StartUnit goes out on @bus, so no change can slip
 * between. 0 or a negative errno.
 */
int gb_systemd_follow(sd_bus *bus, sd_bus_slot **job_removed_slot,
                      sd_bus_message_handler_t job_removed, sd_bus_slot **unit_changed_slot,
                      sd_bus_message_handler_t unit_changed, sd_bus_slot **subscribe_slot,
                      sd_bus_message_handler_t subscribed, void *data);

#endif
