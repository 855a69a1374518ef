/* SPDX-License-Identifier: MIT */
/*
 * GET /api/storage/status: what the logged-in user's session has mounted,
 * what failed and why, and what the user should hear from earlier sessions
 * ("3 files not yet uploaded, kept in the cache"), each told once. The page
 * shows it.
 */
#include <string.h>

#include <json-glib/json-glib.h>

#include "daemon.h"
#include "auth.h"
#include "http.h"
#include "login.h"
#include "sessions.h"
#include "storage.h"

#define STATUS_PATH "/api/storage/status"

static void add_mount(void *data, const struct gb_mount_info *mount)
{
	JsonBuilder *builder = data;

	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "name");
	json_builder_add_string_value(builder, mount->name);
	json_builder_set_member_name(builder, "state");
	json_builder_add_string_value(builder, gb_mount_state_name(mount->state));
	json_builder_set_member_name(builder, "files_waiting");
	json_builder_add_int_value(builder, (gint64)mount->files_waiting);
	json_builder_set_member_name(builder, "upload_errors");
	json_builder_add_int_value(builder, (gint64)mount->upload_errors);
	if (mount->problem) {
		json_builder_set_member_name(builder, "problem");
		json_builder_add_string_value(builder, mount->problem);
	}
	json_builder_end_object(builder);
}

static char *status_json(struct gb_daemon *daemon, const struct gb_login *login)
{
	g_autoptr(JsonBuilder) builder = json_builder_new();
	g_autoptr(JsonGenerator) generator = json_generator_new();
	g_autoptr(JsonNode) root = NULL;
	struct gb_daemon_session *session =
	        gb_session_find(daemon, login->identity_namespace, login->user);
	g_auto(GStrv) notices = NULL;
	g_autofree char *identity = gb_identity_format(login->identity_namespace, login->user);

	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "mounts");
	json_builder_begin_array(builder);
	if (session)
		gb_storage_foreach_mount(daemon, session->id, add_mount, builder);
	json_builder_end_array(builder);
	json_builder_set_member_name(builder, "notices");
	json_builder_begin_array(builder);
	notices = gb_storage_take_notices(daemon, identity);
	for (size_t i = 0; notices[i]; i++)
		json_builder_add_string_value(builder, notices[i]);
	json_builder_end_array(builder);
	json_builder_end_object(builder);
	root = json_builder_get_root(builder);
	json_generator_set_root(generator, root);
	return json_generator_to_data(generator, NULL);
}

static void handle_status(SoupServer *server, SoupServerMessage *msg, const char *path,
                          GHashTable *query, gpointer data)
{
	struct gb_daemon *daemon = data;
	struct gb_login *login;
	g_autofree char *body = NULL;

	if (strcmp(path, STATUS_PATH) != 0) {
		gb_http_reply_error(msg, SOUP_STATUS_NOT_FOUND, "no such API");
		return;
	}
	if (!gb_http_accept_get(msg))
		return;
	login = gb_auth_find_login(daemon, msg);
	if (!login) {
		gb_http_reply_error(msg, SOUP_STATUS_UNAUTHORIZED, "not logged in");
		return;
	}
	body = status_json(daemon, login);
	gb_http_reply_json(msg, SOUP_STATUS_OK, body);
}

void gb_storage_add_routes(struct gb_daemon *daemon)
{
	gb_http_add_route(daemon, STATUS_PATH, handle_status, daemon, 0);
}
