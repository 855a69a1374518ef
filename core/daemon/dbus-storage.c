/* SPDX-License-Identifier: MIT */
/*
 * org.glassbox.Manager1's ListMounts: the sessions' storage mounts
 * (storage.h), for `glassboxctl session list`. Administrators only: a
 * mount's target names a home, its problem may name a server.
 */
#include <glib.h>

#include "daemon.h"
#include "dbus-private.h"
#include "storage.h"

static void append_mount(void *data, const struct gb_mount_info *mount)
{
	sd_bus_message *reply = data;

	sd_bus_message_append(reply, "(ssssssttt)", mount->session_id, mount->identity,
	                      mount->name, gb_mount_state_name(mount->state),
	                      mount->target ? mount->target : "",
	                      mount->problem ? mount->problem : "", (uint64_t)mount->files_waiting,
	                      (uint64_t)mount->bytes_uploading, (uint64_t)mount->upload_errors);
}

int gb_dbus_list_mounts(sd_bus_message *call, void *data, sd_bus_error *error)
{
	struct gb_dbus *state = data;
	sd_bus_message *reply = NULL;
	uid_t uid;
	int r;

	r = gb_dbus_require_admin(call, "ListMounts", "", &uid, error);
	if (r < 0)
		return r;
	r = sd_bus_message_new_method_return(call, &reply);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "(ssssssttt)");
	if (r >= 0)
		gb_storage_foreach_mount(state->daemon, NULL, append_mount, reply);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r >= 0)
		r = sd_bus_send(NULL, reply, NULL);
	sd_bus_message_unref(reply);
	return r < 0 ? r : 1;
}
