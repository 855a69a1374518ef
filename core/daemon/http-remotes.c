/* SPDX-License-Identifier: MIT */
/*
 * /api/storage/remotes: a user's own storage remotes, for the login's
 * identity only. GET lists them with their types and the parameters that
 * are no secret; POST {name, type, params} adds or replaces one; DELETE
 * /api/storage/remotes/NAME removes one. Changes need the page's own
 * Origin (always sent by browsers on POST and DELETE), are limited per user
 * and minute, audited, and apply from the user's next session.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "daemon.h"
#include "audit.h"
#include "auth.h"
#include "http.h"
#include "log.h"
#include "printable.h"
#include "remotes-check.h"
#include "remotes.h"

#define ROUTE        "/api/storage/remotes"
#define BODY_MAX     (16 * 1024)
#define NEXT_SESSION "changes apply from your next session"
#define UNREADABLE                                                                                \
	"your stored remotes cannot be read, so nothing was changed; ask the "                    \
	"operator (the server's log names the file)"

/* What one request is about: whose, and the identity its file is keyed by. */
struct request {
	struct gb_daemon *daemon;
	SoupServerMessage *msg;
	const struct gb_login *login;
	char *identity;         /* "namespace:user": the file's key */
	char *identity_printed; /* the same, for the log */
};

static void add_string_list(JsonBuilder *builder, char *const *strings)
{
	json_builder_begin_array(builder);
	for (size_t i = 0; strings && strings[i]; i++)
		json_builder_add_string_value(builder, strings[i]);
	json_builder_end_array(builder);
}

static bool type_allowed(const struct gb_config *config, const char *type)
{
	for (char **t = config->storage.user_remote_types; t && *t; t++)
		if (strcmp(*t, type) == 0)
			return true;
	return false;
}

static void add_remote(JsonBuilder *builder, const struct gb_config *config,
                       const struct gb_user_remote *remote)
{
	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "name");
	json_builder_add_string_value(builder, remote->name);
	json_builder_set_member_name(builder, "type");
	json_builder_add_string_value(builder, remote->type);
	/* A type the operator no longer allows stays stored but is not mounted. */
	json_builder_set_member_name(builder, "allowed");
	json_builder_add_boolean_value(builder, type_allowed(config, remote->type));
	json_builder_set_member_name(builder, "params");
	json_builder_begin_object(builder);
	for (guint j = 0; j < remote->keys->len; j++) {
		if (gb_remote_key_is_secret(remote->type, remote->keys->pdata[j]))
			continue;
		json_builder_set_member_name(builder, remote->keys->pdata[j]);
		json_builder_add_string_value(builder, remote->values->pdata[j]);
	}
	json_builder_end_object(builder);
	/* Which secrets are set, so the page can say so without showing them. */
	json_builder_set_member_name(builder, "secrets_set");
	json_builder_begin_array(builder);
	for (guint j = 0; j < remote->keys->len; j++)
		if (gb_remote_key_is_secret(remote->type, remote->keys->pdata[j]))
			json_builder_add_string_value(builder, remote->keys->pdata[j]);
	json_builder_end_array(builder);
	json_builder_end_object(builder);
}

/* {"allowed_types":[...],"max_remotes":N,"remotes":[...],"message":...}, secrets left out. */
static void reply_list(struct request *request, guint status, GPtrArray *remotes,
                       const char *message)
{
	const struct gb_config *config = request->daemon->config;
	g_autoptr(JsonBuilder) builder = json_builder_new();
	g_autoptr(JsonGenerator) generator = json_generator_new();
	g_autoptr(JsonNode) root = NULL;
	g_autofree char *json = NULL;

	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "allowed_types");
	add_string_list(builder, config->storage.user_remote_types);
	json_builder_set_member_name(builder, "max_remotes");
	json_builder_add_int_value(builder, config->storage.max_user_remotes);
	json_builder_set_member_name(builder, "remotes");
	json_builder_begin_array(builder);
	for (guint i = 0; i < remotes->len; i++)
		add_remote(builder, config, remotes->pdata[i]);
	json_builder_end_array(builder);
	if (message) {
		json_builder_set_member_name(builder, "message");
		json_builder_add_string_value(builder, message);
	}
	json_builder_end_object(builder);
	root = json_builder_get_root(builder);
	json_generator_set_root(generator, root);
	json = json_generator_to_data(generator, NULL);
	gb_http_reply_json(request->msg, status, json);
}

/* The identity's remotes, or an answer saying they cannot be read (logged with the file). */
static GPtrArray *read_or_reply(struct request *request)
{
	GPtrArray *remotes = NULL;
	char error[512];

	if (gb_remotes_read(request->daemon, request->identity, &remotes, error, sizeof(error)) <
	    0) {
		gb_error("storage remotes of %s: %s", request->identity_printed, error);
		gb_http_reply_error(request->msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, UNREADABLE);
		return NULL;
	}
	return remotes;
}

static bool save_or_reply(struct request *request, GPtrArray *remotes)
{
	char error[512];

	if (gb_remotes_save(request->daemon, request->identity, remotes, error, sizeof(error)) <
	    0) {
		gb_error("storage remotes of %s: %s", request->identity_printed, error);
		gb_http_reply_error(request->msg, SOUP_STATUS_INTERNAL_SERVER_ERROR,
		                    "your remotes could not be stored; ask the operator");
		return false;
	}
	return true;
}

static void handle_list(struct request *request)
{
	g_autoptr(GPtrArray) remotes = read_or_reply(request);

	if (remotes)
		reply_list(request, SOUP_STATUS_OK, remotes, NULL);
}

/* A change: the page's own Origin, and within the user's changes per minute. */
static bool accept_change(struct request *request)
{
	unsigned retry_s = 0;
	g_autofree char *retry = NULL;
	g_autofree char *message = NULL;

	if (!gb_http_origin_allowed(request->daemon, request->msg, true)) {
		gb_http_reply_error(request->msg, SOUP_STATUS_FORBIDDEN,
		                    "this origin may not change storage remotes here");
		return false;
	}
	if (gb_remotes_charge_change(request->daemon, request->identity, &retry_s))
		return true;
	retry = g_strdup_printf("%u", retry_s);
	message = g_strdup_printf("too many changes to your remotes; try again in %u s", retry_s);
	soup_message_headers_replace(soup_server_message_get_response_headers(request->msg),
	                             "Retry-After", retry);
	gb_http_reply_error(request->msg, 429 /* Too Many Requests */, message);
	return false;
}

/*
 * json-glib takes "\u0000" and hands back the string cut before it: "a\u0000b"
 * would be stored as "a", not refused. A NUL, raw or escaped, is refused here.
 */
static bool has_nul(const char *data, size_t size)
{
	for (size_t i = 0; i < size; i++) {
		if (data[i] == '\0')
			return true;
		if (data[i] != '\\' || i + 1 >= size)
			continue;
		i++; /* the escaped character, so "\\u0000" is no NUL */
		if (data[i] == 'u' && i + 4 < size && memcmp(data + i + 1, "0000", 4) == 0)
			return true;
	}
	return false;
}

/* {"name":..., "type":..., "params":{KEY: "VALUE", ...}} into a remote, or NULL and @error. */
static struct gb_user_remote *parse_body(SoupServerMessage *msg, const struct gb_config *config,
                                         guint *status, char *error, size_t error_size)
{
	SoupMessageBody *body = soup_server_message_get_request_body(msg);
	g_autoptr(GBytes) bytes = soup_message_body_flatten(body);
	g_autoptr(JsonParser) parser = json_parser_new_immutable();
	g_autoptr(GList) members = NULL;
	struct gb_user_remote *remote;
	const char *name, *type;
	JsonObject *object, *params;
	gsize size;
	const char *data = g_bytes_get_data(bytes, &size);

	*status = SOUP_STATUS_BAD_REQUEST;
	g_strlcpy(error, "expected {\"name\":\"...\",\"type\":\"...\",\"params\":{...}}",
	          error_size);
	if (!data || has_nul(data, size) ||
	    !json_parser_load_from_data(parser, data, (gssize)size, NULL) ||
	    !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser)))
		return NULL;
	object = json_node_get_object(json_parser_get_root(parser));
	name = json_object_get_string_member_with_default(object, "name", NULL);
	type = json_object_get_string_member_with_default(object, "type", NULL);
	if (!name || !type || json_object_get_size(object) != 3 ||
	    !json_object_has_member(object, "params") ||
	    !JSON_NODE_HOLDS_OBJECT(json_object_get_member(object, "params")))
		return NULL;
	if (!gb_remote_name_is_valid(name)) {
		g_strlcpy(error, "a remote's name is 1 to 32 of a-z, 0-9, '_' and '-'",
		          error_size);
		return NULL;
	}
	if (!gb_remote_type_is_known(type) || !type_allowed(config, type)) {
		g_autofree char *allowed = g_strjoinv(", ", config->storage.user_remote_types);

		*status = SOUP_STATUS_FORBIDDEN;
		/* The type is the user's: named only when it is one we know. */
		g_snprintf(error, error_size,
		           "this server does not let users add remotes of type %s; it allows %s",
		           gb_remote_type_is_known(type) ? type : "that", allowed);
		return NULL;
	}
	params = json_object_get_object_member(object, "params");
	remote = gb_user_remote_new(name, type);
	members = json_object_get_members(params);
	for (GList *item = members; item; item = item->next) {
		JsonNode *value = json_object_get_member(params, item->data);

		if (!JSON_NODE_HOLDS_VALUE(value) ||
		    json_node_get_value_type(value) != G_TYPE_STRING) {
			g_strlcpy(error, "every parameter's value is a string", error_size);
			gb_user_remote_free(remote);
			return NULL;
		}
		gb_user_remote_add(remote, item->data, json_node_get_string(value));
	}
	if (gb_remote_check_params(type, (const char *const *)remote->keys->pdata,
	                           (const char *const *)remote->values->pdata, remote->keys->len,
	                           error, error_size) < 0) {
		gb_user_remote_free(remote);
		return NULL;
	}
	return remote;
}

static int find_remote(GPtrArray *remotes, const char *name)
{
	for (guint i = 0; i < remotes->len; i++)
		if (strcmp(((struct gb_user_remote *)remotes->pdata[i])->name, name) == 0)
			return (int)i;
	return -1;
}

static void audit_change(struct request *request, const char *action,
                         const struct gb_user_remote *remote)
{
	gb_info("user '%s' from %s: %s of storage remote '%s' (%s)", request->identity_printed,
	        gb_http_peer(request->msg), action, remote->name, remote->type);
	gb_audit_user_remote(request->login->identity_namespace, request->login->user,
	                     gb_http_peer(request->msg), action, remote->name, remote->type);
}

static void handle_add(struct request *request)
{
	const struct gb_config *config = request->daemon->config;
	g_autoptr(GPtrArray) remotes = NULL;
	struct gb_user_remote *remote;
	char error[256];
	guint status;
	int index;

	if (!config->storage.user_remote_types[0]) {
		gb_http_reply_error(request->msg, SOUP_STATUS_FORBIDDEN,
		                    "this server does not let users add storage remotes");
		return;
	}
	if (g_object_get_data(G_OBJECT(request->msg), "gb-body-too-big")) {
		gb_http_reply_error(request->msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE,
		                    "the request body is larger than 16 KiB");
		return;
	}
	remote = parse_body(request->msg, config, &status, error, sizeof(error));
	if (!remote) {
		gb_http_reply_error(request->msg, status, error);
		return;
	}
	if (!accept_change(request) || !(remotes = read_or_reply(request)))
		goto out;
	index = find_remote(remotes, remote->name);
	if (index < 0 && remotes->len >= (guint)config->storage.max_user_remotes) {
		g_snprintf(error, sizeof(error),
		           "you have %u remotes, the most this server allows; delete one first",
		           remotes->len);
		gb_http_reply_error(request->msg, SOUP_STATUS_CONFLICT, error);
		goto out;
	}
	if (index >= 0)
		g_ptr_array_remove_index(remotes, (guint)index);
	g_ptr_array_add(remotes, remote);
	if (!save_or_reply(request, remotes)) {
		g_ptr_array_steal_index(remotes, remotes->len - 1);
		goto out;
	}
	audit_change(request, index >= 0 ? "replace" : "add", remote);
	reply_list(request, index >= 0 ? SOUP_STATUS_OK : SOUP_STATUS_CREATED, remotes,
	           NEXT_SESSION);
	return;
out:
	gb_user_remote_free(remote);
}

static void handle_delete(struct request *request, const char *name)
{
	g_autoptr(GPtrArray) remotes = NULL;
	struct gb_user_remote *remote;
	int index;

	if (!gb_remote_name_is_valid(name)) {
		gb_http_reply_error(request->msg, SOUP_STATUS_NOT_FOUND, "no such remote");
		return;
	}
	if (!accept_change(request) || !(remotes = read_or_reply(request)))
		return;
	index = find_remote(remotes, name);
	if (index < 0) {
		gb_http_reply_error(request->msg, SOUP_STATUS_NOT_FOUND, "no such remote");
		return;
	}
	remote = g_ptr_array_steal_index(remotes, (guint)index);
	if (save_or_reply(request, remotes)) {
		audit_change(request, "delete", remote);
		reply_list(request, SOUP_STATUS_OK, remotes, NEXT_SESSION);
	}
	gb_user_remote_free(remote);
}

static void refuse_method(SoupServerMessage *msg, const char *allow)
{
	soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Allow",
	                             allow);
	gb_http_reply_error(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "method not allowed here");
}

static void handle_remotes(SoupServer *server, SoupServerMessage *msg, const char *path,
                           GHashTable *query, gpointer data)
{
	struct request request = { .daemon = data, .msg = msg };
	const char *method = soup_server_message_get_method(msg);
	const char *name = NULL;

	if (g_str_has_prefix(path, ROUTE "/")) {
		name = path + strlen(ROUTE "/");
	} else if (strcmp(path, ROUTE) != 0) {
		gb_http_reply_error(msg, SOUP_STATUS_NOT_FOUND, "no such API");
		return;
	}
	if (name ? method != SOUP_METHOD_DELETE
	         : (method != SOUP_METHOD_GET && method != SOUP_METHOD_HEAD &&
	            method != SOUP_METHOD_POST)) {
		refuse_method(msg, name ? "DELETE" : "GET, HEAD, POST");
		return;
	}
	request.login = gb_auth_find_login(request.daemon, msg);
	if (!request.login) {
		gb_http_reply_error(msg, SOUP_STATUS_UNAUTHORIZED, "not logged in");
		return;
	}
	request.identity =
	        g_strdup_printf("%s:%s", request.login->identity_namespace, request.login->user);
	request.identity_printed = gb_printable_dup(request.identity);
	if (name)
		handle_delete(&request, name);
	else if (method == SOUP_METHOD_POST)
		handle_add(&request);
	else
		handle_list(&request);
	g_free(request.identity);
	g_free(request.identity_printed);
}

void gb_remotes_add_routes(struct gb_daemon *daemon)
{
	gb_http_add_route(daemon, ROUTE, handle_remotes, daemon, BODY_MAX);
}
