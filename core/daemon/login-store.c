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
 * The file is written whole (0600, rename over the old one) from an idle
 * callback after every change, and once more at exit.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "daemon.h"
#include "dropin.h"
#include "log.h"

#define STORE_NAME       "logins"
#define STORE_VERSION    2
#define STORE_SIZE_MAX   (16 * 1024 * 1024) /* bytes read back */
#define STORE_LOGINS_MAX 100000
#define ROLES_KNOWN      (GB_ROLE_USER | GB_ROLE_ADMIN)
#define KEY_HEX_LENGTH   64

static char *store_path(struct gb_daemon *daemon)
{
	return g_build_filename(daemon->config->server.runtime_dir, STORE_NAME, NULL);
}

static void free_login(gpointer data)
{
	struct gb_login *login = data;

	g_free(login->key);
	g_free(login);
}

int gb_login_store_save(struct gb_daemon *daemon)
{
	g_autofree char *path = NULL;
	g_autoptr(JsonBuilder) builder = NULL;
	g_autoptr(JsonGenerator) generator = NULL;
	g_autoptr(JsonNode) root = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *text = NULL;
	gint64 now_mono = g_get_monotonic_time();
	gint64 now_real = g_get_real_time();
	GHashTableIter iter;
	gpointer value;
	gsize length;

	if (!daemon->logins || !daemon->config)
		return 0;
	path = store_path(daemon);
	builder = json_builder_new();
	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "version");
	json_builder_add_int_value(builder, STORE_VERSION);
	json_builder_set_member_name(builder, "logins");
	json_builder_begin_array(builder);
	g_hash_table_iter_init(&iter, daemon->logins);
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
	generator = json_generator_new();
	json_generator_set_root(generator, root);
	text = json_generator_to_data(generator, &length);

	/* Atomic and 0600 from the first byte: a temporary file renamed over. */
	if (!g_file_set_contents_full(path, text, (gssize)length, G_FILE_SET_CONTENTS_CONSISTENT,
	                              0600, &error)) {
		gb_error("cannot save the logins to %s: %s; a restart would log everybody out",
		         path, error->message);
		return -EIO;
	}
	gb_debug("saved %u logins to %s", g_hash_table_size(daemon->logins), path);
	return 0;
}

static gboolean save_now(gpointer data)
{
	struct gb_daemon *daemon = data;

	daemon->login_store_idle = 0;
	gb_login_store_save(daemon);
	return G_SOURCE_REMOVE;
}

void gb_login_store_changed(struct gb_daemon *daemon)
{
	if (!daemon->login_store_idle)
		daemon->login_store_idle = g_idle_add(save_now, daemon);
}

void gb_login_store_fini(struct gb_daemon *daemon)
{
	if (daemon->login_store_idle) {
		g_source_remove(daemon->login_store_idle);
		daemon->login_store_idle = 0;
	}
	gb_login_store_save(daemon);
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

void gb_login_store_load(struct gb_daemon *daemon)
{
	g_autofree char *path = store_path(daemon);
	g_autofree char *text = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonParser) parser = json_parser_new();
	gint64 now_mono = g_get_monotonic_time();
	gint64 now_real = g_get_real_time();
	const gint64 lifetime_us =
	        (gint64)daemon->config->server.login_lifetime_s * G_USEC_PER_SEC;
	unsigned loaded = 0, skipped = 0;
	JsonObject *object;
	JsonArray *array;
	JsonNode *root;
	gsize length;

	if (!g_file_get_contents(path, &text, &length, &error)) {
		if (!g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			gb_warning("cannot read the saved logins %s: %s; everybody logs in again",
			           path, error->message);
		return;
	}
	if (length > STORE_SIZE_MAX) {
		gb_warning("%s is larger than %d bytes; ignoring it", path, STORE_SIZE_MAX);
		return;
	}
	if (!json_parser_load_from_data(parser, text, (gssize)length, &error)) {
		gb_warning("%s: %s; ignoring the saved logins", path, error->message);
		return;
	}
	root = json_parser_get_root(parser);
	if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
		gb_warning("%s: not a JSON object; ignoring the saved logins", path);
		return;
	}
	object = json_node_get_object(root);
	if (json_object_get_int_member_with_default(object, "version", 0) == 1) {
		gb_warning("%s was saved by an older glassboxd, which did not record the auth "
		           "plugin of each login; ignoring it: everybody logs in again",
		           path);
		return;
	}
	if (json_object_get_int_member_with_default(object, "version", 0) != STORE_VERSION ||
	    !json_object_has_member(object, "logins") ||
	    !JSON_NODE_HOLDS_ARRAY(json_object_get_member(object, "logins"))) {
		gb_warning("%s: not a version %d logins file; ignoring it", path, STORE_VERSION);
		return;
	}
	array = json_object_get_array_member(object, "logins");
	for (guint i = 0; i < json_array_get_length(array) && i < STORE_LOGINS_MAX; i++) {
		const char *why = NULL;
		struct gb_login *login =
		        parse_login(json_array_get_element(array, i), now_mono, now_real, &why);

		if (login) {
			/* The operator may have disabled the plugin or moved it to
			 * another namespace since: that login is no longer who it was. */
			const char *now = gb_auth_namespace_of(daemon, login->plugin);

			if (!now)
				why = "its auth plugin is not enabled now";
			else if (strcmp(now, login->identity_namespace) != 0)
				why = "its auth plugin's namespace changed";
			if (why) {
				gb_info("%s: login %u of user '%s:%s' skipped: %s", path, i + 1,
				        login->identity_namespace, login->user, why);
				free_login(login);
				skipped++;
				continue;
			}
		}
		if (!login) {
			if (why)
				gb_warning("%s: login %u skipped: %s", path, i + 1, why);
			skipped++;
			continue;
		}
		/* A shorter login_lifetime_s since then applies to the old logins too. */
		if (login->expires_us - login->created_us > lifetime_us)
			login->expires_us = login->created_us + lifetime_us;
		if (login->expires_us <= now_mono) {
			free_login(login);
			skipped++;
			continue;
		}
		g_hash_table_replace(daemon->logins, login->key, login);
		loaded++;
	}
	gb_info("restored %u login%s from %s (%u expired or skipped)", loaded,
	        loaded == 1 ? "" : "s", path, skipped);
	gb_auth_schedule_expiry(daemon);
}
