/* SPDX-License-Identifier: MIT */
/*
 * org.glassbox.Manager1's plugins and configuration: ListPlugins,
 * SetPluginEnabled (an override drop-in written through dropin-edit.h, then
 * a reload, undone when the reload refuses it) and Reload.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "daemon.h"
#include "auth.h"
#include "reload.h"
#include "dbus-private.h"
#include "dropin-edit.h"
#include "log.h"
#include "printable.h"

static int load_dropins(struct gb_daemon *daemon, struct gb_dropin_set *set, sd_bus_error *error)
{
	const struct gb_plugins_config *plugins = &daemon->config->plugins;
	char message[GB_DROPIN_ERROR_MAX];
	int r;

	r = gb_dropin_set_load(set, plugins->vendor_dir, plugins->config_dir, message,
	                       sizeof(message));
	if (r < 0)
		return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED, "%s", message);
	return 0;
}

int gb_dbus_list_plugins(sd_bus_message *call, void *data, sd_bus_error *error)
{
	struct gb_dbus *state = data;
	struct gb_daemon *daemon = state->daemon;
	struct gb_dropin_set set = { 0 };
	sd_bus_message *reply = NULL;
	int r;

	r = load_dropins(daemon, &set, error);
	if (r < 0)
		return r;
	r = sd_bus_message_new_method_return(call, &reply);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "(sssbs)");
	for (size_t i = 0; r >= 0 && i < set.count; i++) {
		const struct gb_dropin *dropin = &set.items[i];
		/* Only glassboxd's own (auth) plugins are loaded here; the sessions
		 * load the others, so their version is not known to us. */
		struct gb_plugin *plugin = gb_auth_find_plugin(daemon, dropin->kind, dropin->name);
		const char *version =
		        plugin && plugin->descriptor->version ? plugin->descriptor->version : "";

		r = sd_bus_message_append(reply, "(sssbs)", dropin->name,
		                          gb_plugin_kind_to_string(dropin->kind), version,
		                          (int)dropin->enabled, dropin->path);
	}
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r >= 0)
		r = sd_bus_send(NULL, reply, NULL);
	sd_bus_message_unref(reply);
	gb_dropin_set_clear(&set);
	return r < 0 ? r : 1;
}

int gb_dbus_set_plugin_enabled(sd_bus_message *call, void *data, sd_bus_error *error)
{
	struct gb_dbus *state = data;
	struct gb_daemon *daemon = state->daemon;
	struct gb_dropin_set set = { 0 };
	const struct gb_dropin *dropin;
	g_autofree char *args = NULL;
	g_autofree char *name_text = NULL;
	g_autofree char *target = NULL;
	g_autofree char *previous = NULL;
	char message[GB_DROPIN_ERROR_MAX];
	const char *name;
	int enabled, r;
	uid_t uid;

	r = sd_bus_message_read(call, "sb", &name, &enabled);
	if (r < 0)
		return r;
	name_text = gb_printable_dup(name);
	args = g_strdup_printf("%s, %s", name_text, enabled ? "true" : "false");
	r = gb_dbus_require_admin(call, "SetPluginEnabled", args, &uid, error);
	if (r < 0)
		return r;
	r = gb_dbus_check_name("plugin name", name, NAME_MAX_BYTES, error);
	if (r < 0)
		goto out;
	r = load_dropins(daemon, &set, error);
	if (r < 0)
		goto out;
	r = gb_dropin_find_by_name(&set, name, &dropin);
	if (r < 0) {
		if (r == -ENOENT)
			sd_bus_error_setf(error, ERROR_NO_SUCH_PLUGIN,
			                  "no drop-in configures a plugin '%s' (see ListPlugins)",
			                  name_text);
		else
			sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
			                  "plugin name '%s' is ambiguous: say KIND-NAME "
			                  "(encoder-x264)",
			                  name_text);
		r = -sd_bus_error_get_errno(error);
		goto out;
	}
	if (dropin->enabled == (bool)enabled) {
		gb_info("D-Bus: plugin %s %s is %s already (%s); nothing to change",
		        gb_plugin_kind_to_string(dropin->kind), dropin->name,
		        enabled ? "enabled" : "disabled", dropin->path);
		r = sd_bus_reply_method_return(call, NULL);
		goto out;
	}

	r = gb_dropin_set_enabled(daemon->config->plugins.vendor_dir,
	                          daemon->config->plugins.config_dir, dropin, enabled, &target,
	                          &previous, message, sizeof(message));
	if (r < 0) {
		gb_error("D-Bus: %s", message);
		r = sd_bus_error_setf(error, SD_BUS_ERROR_FAILED, "%s", message);
		goto out;
	}
	gb_info("D-Bus: plugin %s %s %s: %s %s", gb_plugin_kind_to_string(dropin->kind),
	        dropin->name, enabled ? "enabled" : "disabled",
	        g_file_test(target, G_FILE_TEST_EXISTS) ? "wrote" : "removed", target);

	r = gb_daemon_reload(daemon, message, sizeof(message));
	if (r < 0) {
		char undo[GB_DROPIN_ERROR_MAX];

		/* Leave no file behind that the next start would refuse. */
		if (gb_dropin_restore_override(target, previous, undo, sizeof(undo)) < 0)
			gb_error("D-Bus: cannot undo the change: %s", undo);
		else
			gb_info("D-Bus: reload refused; %s put back as it was", target);
		r = sd_bus_error_setf(error, ERROR_RELOAD_REFUSED, "%s (the drop-in was put back)",
		                      message);
		goto out;
	}
	r = sd_bus_reply_method_return(call, NULL);
out:
	gb_dropin_set_clear(&set);
	gb_dbus_admin_done(uid, "SetPluginEnabled", args, r);
	return r;
}

int gb_dbus_reload(sd_bus_message *call, void *data, sd_bus_error *error)
{
	struct gb_dbus *state = data;
	char message[GB_DROPIN_ERROR_MAX];
	uid_t uid;
	int r;

	r = gb_dbus_require_admin(call, "Reload", "", &uid, error);
	if (r < 0)
		return r;
	r = gb_daemon_reload(state->daemon, message, sizeof(message));
	if (r < 0)
		r = sd_bus_error_setf(error, ERROR_RELOAD_REFUSED, "%s", message);
	else
		r = sd_bus_reply_method_return(call, NULL);
	gb_dbus_admin_done(uid, "Reload", "", r);
	return r;
}
