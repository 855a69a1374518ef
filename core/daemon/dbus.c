/* SPDX-License-Identifier: MIT */
/*
 * org.glassbox.Manager1: the administration API on the system bus, spoken
 * by glassboxctl. See docs/dbus-api.md for the interface.
 *
 * This file is the object: its method table, properties and signals, and
 * the connection. Everything runs on the main loop (bus-glib.c drives
 * sd-bus from it). Who may call what is decided in dbus-caller.c, not by
 * the bus policy; the methods are in dbus-sessions.c, dbus-plugins.c and
 * dbus-users.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-bus.h>

#include "gb-build-config.h"
#include "bus-glib.h"
#include "daemon.h"
#include "sessions.h"
#include "dbus-private.h"
#include "log.h"

/* glassboxd runs one daemon per process, so one API. */
static struct gb_dbus bus_state;

int gb_dbus_mode_from_string(const char *text, enum gb_dbus_mode *mode)
{
	if (strcmp(text, "auto") == 0)
		*mode = GB_DBUS_AUTO;
	else if (strcmp(text, "required") == 0)
		*mode = GB_DBUS_REQUIRED;
	else if (strcmp(text, "off") == 0)
		*mode = GB_DBUS_OFF;
	else
		return -EINVAL;
	return 0;
}

/* ---- properties ---- */

static int get_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                       sd_bus_message *reply, void *data, sd_bus_error *error)
{
	return sd_bus_message_append(reply, "s", GB_VERSION);
}

static int get_session_count(sd_bus *bus, const char *path, const char *interface,
                             const char *property, sd_bus_message *reply, void *data,
                             sd_bus_error *error)
{
	struct gb_dbus *state = data;

	return sd_bus_message_append(reply, "u", (uint32_t)gb_sessions_count(state->daemon));
}

static int get_max_sessions(sd_bus *bus, const char *path, const char *interface,
                            const char *property, sd_bus_message *reply, void *data,
                            sd_bus_error *error)
{
	struct gb_dbus *state = data;

	return sd_bus_message_append(reply, "u",
	                             (uint32_t)state->daemon->config->server.max_sessions);
}

static void session_added(void *data, const struct gb_daemon_session *session)
{
	struct gb_daemon *daemon = data;
	sd_bus *bus = bus_state.bus;

	if (!bus || bus_state.daemon != daemon)
		return;
	sd_bus_emit_signal(bus, GB_DBUS_PATH, GB_DBUS_INTERFACE, "SessionNew", "ss", session->id,
	                   session->identity);
	sd_bus_emit_properties_changed(bus, GB_DBUS_PATH, GB_DBUS_INTERFACE, "SessionCount", NULL);
}

static void session_removed(void *data, const struct gb_daemon_session *session,
                            const char *reason)
{
	struct gb_daemon *daemon = data;
	sd_bus *bus = bus_state.bus;

	if (!bus || bus_state.daemon != daemon)
		return;
	sd_bus_emit_signal(bus, GB_DBUS_PATH, GB_DBUS_INTERFACE, "SessionRemoved", "sss",
	                   session->id, session->identity, reason ? reason : "");
	sd_bus_emit_properties_changed(bus, GB_DBUS_PATH, GB_DBUS_INTERFACE, "SessionCount", NULL);
}

/* MaxSessions may have changed. */
static void reload_ended(void *data, bool applied)
{
	struct gb_daemon *daemon = data;

	if (!applied || !bus_state.bus || bus_state.daemon != daemon)
		return;
	sd_bus_emit_properties_changed(bus_state.bus, GB_DBUS_PATH, GB_DBUS_INTERFACE,
	                               "MaxSessions", NULL);
}

const struct gb_events_listener gb_dbus_events = {
	.session_added = session_added,
	.session_removed = session_removed,
	.reload_ended = reload_ended,
};

/* ---- the object ---- */

static const sd_bus_vtable manager_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("Version", "s", get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("SessionCount", "u", get_session_count, 0,
	                SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("MaxSessions", "u", get_max_sessions, 0,
	                SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_METHOD_WITH_NAMES("ListSessions", "", , "a(ssssuxs)", SD_BUS_PARAM(sessions),
	                         gb_dbus_list_sessions, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_NAMES("TerminateSession", "s", SD_BUS_PARAM(id), "", ,
	                         gb_dbus_terminate_session, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_NAMES("Screenshot", "s", SD_BUS_PARAM(id), "ay", SD_BUS_PARAM(png),
	                         gb_dbus_screenshot, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_NAMES("ListPlugins", "", , "a(sssbs)", SD_BUS_PARAM(plugins),
	                         gb_dbus_list_plugins, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_NAMES("SetPluginEnabled", "sb",
	                         SD_BUS_PARAM(name) SD_BUS_PARAM(enabled), "", ,
	                         gb_dbus_set_plugin_enabled, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("Reload", "", "", gb_dbus_reload, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_NAMES("ListUsers", "", , "a(sss)", SD_BUS_PARAM(users),
	                         gb_dbus_list_users, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_NAMES("AddUser", "ssas",
	                         SD_BUS_PARAM(user) SD_BUS_PARAM(password) SD_BUS_PARAM(roles), "",
	                         , gb_dbus_add_user, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_NAMES("SetPassword", "ss", SD_BUS_PARAM(user) SD_BUS_PARAM(password),
	                         "", , gb_dbus_set_password, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_NAMES("RemoveUser", "s", SD_BUS_PARAM(user), "", , gb_dbus_remove_user,
	                         SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_NAMES("ListMounts", "", , "a(ssssssttt)", SD_BUS_PARAM(mounts),
	                         gb_dbus_list_mounts, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_SIGNAL_WITH_NAMES("SessionNew", "ss", SD_BUS_PARAM(id) SD_BUS_PARAM(user), 0),
	SD_BUS_SIGNAL_WITH_NAMES("SessionRemoved", "sss",
	                         SD_BUS_PARAM(id) SD_BUS_PARAM(user) SD_BUS_PARAM(reason), 0),
	SD_BUS_VTABLE_END,
};

static const char *bus_address_for_log(void)
{
	const char *address = getenv("DBUS_SYSTEM_BUS_ADDRESS");

	return address ? address : "the system bus";
}

int gb_dbus_start(struct gb_daemon *daemon, enum gb_dbus_mode mode)
{
	struct gb_dbus *state = &bus_state;
	const char *step;
	int r;

	if (mode == GB_DBUS_OFF) {
		gb_info("D-Bus: the API is off (--dbus=off); glassboxctl will not reach "
		        "glassboxd");
		return 0;
	}
	memset(state, 0, sizeof(*state));
	state->daemon = daemon;
	g_queue_init(&state->user_ops);
	g_queue_init(&state->screenshots);

	step = "connect to";
	r = sd_bus_open_system_with_description(&state->bus, "glassboxd");
	if (r >= 0) {
		step = "export " GB_DBUS_PATH " on";
		r = sd_bus_add_object_vtable(state->bus, &state->object, GB_DBUS_PATH,
		                             GB_DBUS_INTERFACE, manager_vtable, state);
	}
	if (r >= 0) {
		step = "own the name " GB_DBUS_NAME " on";
		r = sd_bus_request_name(state->bus, GB_DBUS_NAME, 0);
	}
	if (r >= 0) {
		step = "watch";
		r = gb_sd_bus_attach(state->bus, NULL, &state->source);
	}
	if (r < 0) {
		const char *hint = r == -EEXIST ? " (another glassboxd owns it)"
		                   : r == -EACCES
		                           ? " (the bus policy, packaging/dbus/" GB_DBUS_NAME
		                             ".conf, lets only root own it)"
		                           : "";

		if (mode == GB_DBUS_REQUIRED) {
			gb_error("D-Bus: cannot %s %s: %s%s; refusing to start (--dbus=required)",
			         step, bus_address_for_log(), strerror(-r), hint);
		} else {
			gb_warning("D-Bus: cannot %s %s: %s%s; going on without the "
			           "org.glassbox.Manager1 API (glassboxctl will not reach "
			           "glassboxd)",
			           step, bus_address_for_log(), strerror(-r), hint);
			r = 0;
		}
		gb_dbus_stop(daemon);
		state->daemon = NULL;
		return r;
	}

	gb_info("D-Bus: %s on %s", GB_DBUS_NAME, bus_address_for_log());
	return 0;
}

void gb_dbus_stop(struct gb_daemon *daemon)
{
	struct gb_dbus *state = &bus_state;

	if (state->daemon != daemon)
		return;
	gb_dbus_users_stop(state);
	gb_dbus_screenshots_stop(state);
	gb_dbus_caller_fini();
	gb_sd_bus_detach(state->source);
	state->source = NULL;
	state->object = sd_bus_slot_unref(state->object);
	if (state->bus)
		state->bus = sd_bus_flush_close_unref(state->bus);
	state->daemon = NULL;
}
