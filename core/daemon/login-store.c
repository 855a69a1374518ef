/* SPDX-License-Identifier: MIT */
/*
 * The logins table, kept in <runtime_dir>/logins so that a restarted
 * glassboxd (systemctl restart glassbox, the watchdog) still knows the
 * cookies it handed out, and the pages reconnect to the sessions that kept
 * running. Only what the table holds is written: the SHA-256 of each token
 * (never a token), the identity (the user and the namespace of the auth
 * plugin that vouched for them, and that plugin), roles, whether it is a
 * system account, and the wall-clock creation and expiry (monotonic time
 * does not survive the process). runtime_dir is a tmpfs: nothing outlives a
 * reboot.
 *
 *   {"version":2,"logins":[{"key":"<64 hex>","user":"alice","plugin":"local",
 *    "namespace":"local","roles":1,"system_account":false,"created_us":...,
 *    "expires_us":...}]}
 *
 * Version 1 files (glassboxd before identities had a namespace) do not say
 * which plugin vouched for each login; they are not read, and those users
 * log in again.
 *
 * This file holds the format, without files or the daemon: auth-store.c
 * reads and writes it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "dropin.h"
#include "log.h"
#include "login-store.h"

#define STORE_VERSION    2
#define STORE_LOGINS_MAX 100000
#define ROLES_KNOWN      (GB_ROLE_USER | GB_ROLE_ADMIN)
#define KEY_HEX_LENGTH   64

void gb_login_free(struct gb_login *login)
{
	if (!login)
		return;
	g_free(login->key);
	g_free(login);
}

char *gb_login_store_format(GHashTable *logins, gint64 now_mono, gint64 now_real, gsize *length)
{
	g_autoptr(JsonBuilder) builder = json_builder_new();
	g_autoptr(JsonGenerator) generator = json_generator_new();
	g_autoptr(JsonNode) root = NULL;
	GHashTableIter iter;
	gpointer value;

	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "version");
	json_builder_add_int_value(builder, STORE_VERSION);
	json_builder_set_member_name(builder, "logins");
	json_builder_begin_array(builder);
	g_hash_table_iter_init(&iter, logins);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		const struct gb_login *login = value;

		if (login->expires_us <= now_mono)
			continue;
		json_builder_begin_object(builder);
		json_builder_set_member_name(builder, "key");
		json_builder_add_string_value(builder, login->key);
		json_builder_set_member_name(builder, "user");
		json_builder_add_string_value(builder, login->user);
		json_builder_set_member_name(builder, "plugin");
		json_builder_add_string_value(builder, login->plugin);
		json_builder_set_member_name(builder, "namespace");
		json_builder_add_string_value(builder, login->identity_namespace);
		json_builder_set_member_name(builder, "roles");
		json_builder_add_int_value(builder, login->roles);
		json_builder_set_member_name(builder, "system_account");
		json_builder_add_boolean_value(builder, login->system_account);
		json_builder_set_member_name(builder, "plugin");
		json_builder_add_string_value(builder, login->plugin);
		json_builder_set_member_name(builder, "created_us");
		json_builder_add_int_value(builder, now_real - (now_mono - login->created_us));
		json_builder_set_member_name(builder, "expires_us");
		json_builder_add_int_value(builder, now_real + (login->expires_us - now_mono));
		json_builder_end_object(builder);
	}
	json_builder_end_array(builder);
	json_builder_end_object(builder);
	root = json_builder_get_root(builder);
	json_generator_set_root(generator, root);
	return json_generator_to_data(generator, length);
}

static bool is_key(const char *text)
{
	return text && strlen(text) == KEY_HEX_LENGTH &&
	       strspn(text, "0123456789abcdef") == KEY_HEX_LENGTH;
}

/* One entry, or NULL with the reason in @why. */
static struct gb_login *parse_login(JsonNode *node, gint64 now_mono, gint64 now_real,
                                    const char **why)
{
	JsonObject *object;
	const char *key, *user, *plugin, *identity_namespace;
	gint64 roles, created, expires;
	struct gb_login *login;

	if (!JSON_NODE_HOLDS_OBJECT(node)) {
		*why = "not an object";
		return NULL;
	}
	object = json_node_get_object(node);
	key = json_object_get_string_member_with_default(object, "key", NULL);
	user = json_object_get_string_member_with_default(object, "user", NULL);
	plugin = json_object_get_string_member_with_default(object, "plugin", NULL);
	identity_namespace = json_object_get_string_member_with_default(object, "namespace", NULL);
	roles = json_object_get_int_member_with_default(object, "roles", -1);
	created = json_object_get_int_member_with_default(object, "created_us", -1);
	expires = json_object_get_int_member_with_default(object, "expires_us", -1);
	if (!is_key(key)) {
		*why = "no key of 64 hex digits";
		return NULL;
	}
	if (!user || !user[0] || strlen(user) >= GB_IDENTITY_NAME_MAX) {
		*why = "no user, or a user name too long";
		return NULL;
	}
	if (!plugin || !gb_plugin_name_is_valid(plugin) || !identity_namespace ||
	    !gb_plugin_name_is_valid(identity_namespace)) {
		*why = "no valid plugin or namespace";
		return NULL;
	}
	if (roles < 0 || (roles & ~(gint64)ROLES_KNOWN)) {
		*why = "unknown roles";
		return NULL;
	}
	if (created < 0 || expires < 0) {
		*why = "no created_us or expires_us";
		return NULL;
	}
	if (expires <= now_real) {
		*why = NULL; /* expired: skipped quietly */
		return NULL;
	}
	login = g_new0(struct gb_login, 1);
	login->key = g_strdup(key);
	g_strlcpy(login->user, user, sizeof(login->user));
	g_strlcpy(login->plugin, plugin, sizeof(login->plugin));
	g_strlcpy(login->identity_namespace, identity_namespace,
	          sizeof(login->identity_namespace));
	login->roles = (uint32_t)roles;
	login->system_account =
	        json_object_get_boolean_member_with_default(object, "system_account", FALSE);
	login->created_us = now_mono - MAX(now_real - created, 0);
	login->expires_us = now_mono + (expires - now_real);
	return login;
}

GPtrArray *gb_login_store_parse(const char *path, const char *text, gsize length, gint64 now_mono,
                                gint64 now_real, gb_login_store_check check, void *data,
                                unsigned *skipped)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonParser) parser = json_parser_new();
	GPtrArray *logins;
	JsonObject *object;
	JsonArray *array;
	JsonNode *root;

	*skipped = 0;
	if (!json_parser_load_from_data(parser, text, (gssize)length, &error)) {
		gb_warning("%s: %s; ignoring the saved logins", path, error->message);
		return NULL;
	}
	root = json_parser_get_root(parser);
	if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
		gb_warning("%s: not a JSON object; ignoring the saved logins", path);
		return NULL;
	}
	object = json_node_get_object(root);
	if (json_object_get_int_member_with_default(object, "version", 0) == 1) {
		gb_warning("%s was saved by an older glassboxd, which did not record the auth "
		           "plugin of each login; ignoring it: everybody logs in again",
		           path);
		return NULL;
	}
	if (json_object_get_int_member_with_default(object, "version", 0) != STORE_VERSION ||
	    !json_object_has_member(object, "logins") ||
	    !JSON_NODE_HOLDS_ARRAY(json_object_get_member(object, "logins"))) {
		gb_warning("%s: not a version %d logins file; ignoring it", path, STORE_VERSION);
		return NULL;
	}
	array = json_object_get_array_member(object, "logins");
	logins = g_ptr_array_new_with_free_func((GDestroyNotify)gb_login_free);
	for (guint i = 0; i < json_array_get_length(array) && i < STORE_LOGINS_MAX; i++) {
		const char *why = NULL;
		struct gb_login *login =
		        parse_login(json_array_get_element(array, i), now_mono, now_real, &why);

		if (!login) {
			if (why)
				gb_warning("%s: login %u skipped: %s", path, i + 1, why);
			(*skipped)++;
			continue;
		}
		why = check ? check(data, login) : NULL;
		if (why) {
			gb_info("%s: login %u of user '%s:%s' skipped: %s", path, i + 1,
			        login->identity_namespace, login->user, why);
			gb_login_free(login);
			(*skipped)++;
			continue;
		}
		g_ptr_array_add(logins, login);
	}
	return logins;
}
