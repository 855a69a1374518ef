/* SPDX-License-Identifier: MIT */
/* systemd's manager over sd-bus: what its two users share (systemd-bus.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include <glib.h>

#include "log.h"
#include "systemd-bus.h"

const char *gb_bus_error_text(sd_bus_message *reply, int fallback)
{
	const sd_bus_error *error = sd_bus_message_get_error(reply);

	if (error && error->message)
		return error->message;
	if (error && error->name)
		return error->name;
	return strerror(fallback > 0 ? fallback : -fallback);
}

int gb_bus_read_properties(sd_bus_message *message, gb_property_reader read, void *data)
{
	int r = sd_bus_message_enter_container(message, 'a', "{sv}");

	while (r >= 0 && (r = sd_bus_message_enter_container(message, 'e', "sv")) > 0) {
		const char *name;

		r = sd_bus_message_read(message, "s", &name);
		if (r < 0)
			break;
		r = read(message, name, data);
		if (r < 0)
			break;
		r = sd_bus_message_exit_container(message);
	}
	return r < 0 ? r : 0;
}

/* A string property into *@out (g_malloc'd). */
static int read_string(sd_bus_message *message, char **out)
{
	const char *value;
	int r = sd_bus_message_read(message, "v", "s", &value);

	if (r >= 0) {
		g_free(*out);
		*out = g_strdup(value);
	}
	return r;
}

int gb_bus_read_active_state(sd_bus_message *message, const char *name, void *data)
{
	if (strcmp(name, "ActiveState") == 0)
		return read_string(message, data);
	return sd_bus_message_skip(message, "v");
}

int gb_service_end_read(sd_bus_message *message, const char *name, void *data)
{
	struct gb_service_end *end = data;

	if (strcmp(name, "Result") == 0)
		return read_string(message, &end->result);
	if (strcmp(name, "ExecMainCode") == 0)
		return sd_bus_message_read(message, "v", "i", &end->code);
	if (strcmp(name, "ExecMainStatus") == 0)
		return sd_bus_message_read(message, "v", "i", &end->status);
	return sd_bus_message_skip(message, "v");
}

char *gb_service_end_detail(const struct gb_service_end *end)
{
	if (end->code == CLD_EXITED && end->status)
		return g_strdup_printf(", status %d", end->status);
	if ((end->code == CLD_KILLED || end->code == CLD_DUMPED) && end->status > 0)
		return g_strdup_printf(", signal %d (%s)", end->status, strsignal(end->status));
	return NULL;
}

int gb_systemd_list_units(sd_bus *bus, const char *const *states, const char *pattern,
                          unsigned max, const char *what, gb_unit_func func, void *data)
{
	__attribute__((cleanup(sd_bus_error_free))) sd_bus_error error = SD_BUS_ERROR_NULL;
	__attribute__((cleanup(sd_bus_message_unrefp))) sd_bus_message *call = NULL;
	__attribute__((cleanup(sd_bus_message_unrefp))) sd_bus_message *reply = NULL;
	const char *any[] = { NULL };
	const char *patterns[] = { pattern, NULL };
	unsigned count = 0;
	int r;

	r = sd_bus_message_new_method_call(bus, &call, GB_SYSTEMD_SERVICE, GB_SYSTEMD_PATH,
	                                   GB_SYSTEMD_MANAGER, "ListUnitsByPatterns");
	if (r >= 0)
		r = sd_bus_message_append_strv(call, (char **)(states ? states : any));
	if (r >= 0)
		r = sd_bus_message_append_strv(call, (char **)patterns);
	if (r >= 0)
		r = sd_bus_call(bus, call, 0, &error, &reply);
	if (r < 0) {
		gb_error("cannot list %s (ListUnitsByPatterns): %s", what,
		         error.message ? error.message : strerror(-r));
		return r;
	}
	r = sd_bus_message_enter_container(reply, 'a', "(ssssssouso)");
	while (r >= 0 && count < max &&
	       (r = sd_bus_message_enter_container(reply, 'r', "ssssssouso")) > 0) {
		const char *name, *description, *load_state, *active_state, *sub_state;
		const char *following, *unit_path, *job_type, *job_path;
		uint32_t job_id;

		r = sd_bus_message_read(reply, "ssssssouso", &name, &description, &load_state,
		                        &active_state, &sub_state, &following, &unit_path, &job_id,
		                        &job_type, &job_path);
		if (r < 0)
			break;
		r = sd_bus_message_exit_container(reply);
		count++;
		if (func)
			func(data, name, active_state);
	}
	if (r < 0) {
		gb_warning("cannot read the list of %s: %s", what, strerror(-r));
		return r;
	}
	return (int)count;
}

int gb_systemd_follow(sd_bus *bus, sd_bus_slot **job_removed_slot,
                      sd_bus_message_handler_t job_removed, sd_bus_slot **unit_changed_slot,
                      sd_bus_message_handler_t unit_changed, sd_bus_slot **subscribe_slot,
                      sd_bus_message_handler_t subscribed, void *data)
{
	/* A match that fails to install closes the connection (sd-bus's default). */
	int r = sd_bus_match_signal_async(bus, job_removed_slot, GB_SYSTEMD_SERVICE,
	                                  GB_SYSTEMD_PATH, GB_SYSTEMD_MANAGER, "JobRemoved",
	                                  job_removed, NULL, data);

	if (r >= 0)
		r = sd_bus_add_match_async(bus, unit_changed_slot,
		                           "type='signal',sender='" GB_SYSTEMD_SERVICE "',"
		                           "interface='" GB_DBUS_PROPERTIES "',"
		                           "member='PropertiesChanged',"
		                           "path_namespace='" GB_SYSTEMD_UNIT_PATH "',"
		                           "arg0='" GB_SYSTEMD_UNIT "'",
		                           unit_changed, NULL, data);
	/* A slot needs a callback: sd-bus calls it, NULL or not, when the answer comes. */
	if (r >= 0)
		r = sd_bus_call_method_async(bus, subscribe_slot, GB_SYSTEMD_SERVICE,
		                             GB_SYSTEMD_PATH, GB_SYSTEMD_MANAGER, "Subscribe",
		                             subscribed, data, "");
	return r;
}
