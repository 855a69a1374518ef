/* SPDX-License-Identifier: MIT */
/*
 * Logins: POST /api/login checks the credentials with each enabled auth
 * plugin in turn and hands out a cookie; POST /api/logout and GET
 * /api/whoami use it. Logins through a provider (OpenID Connect) are in
 * auth-redirect.c and end in the same gb_auth_add_login().
 *
 * A cookie is 32 random bytes in base64url. The server keeps only its
 * SHA-256, with the user, the roles and an expiry of its own, so a stolen
 * memory dump or a timing side channel in the table lookup does not give a
 * cookie away.
 *
 * Password hashes are slow on purpose, so the plugins run on one worker
 * thread (auth-worker.c), one job at a time, while the main loop keeps
 * relaying. A failed
 * login is answered GB_LOGIN_FAILURE_DELAY_MS after it arrived, whatever
 * the reason. Failures are counted in fixed windows, per client address
 * (GB_LOGIN_FAILURES_MAX), per user name tried from one address
 * (GB_USER_FAILURES_MAX) and per user name from all addresses together
 * (GB_USER_FAILURES_CEILING, much higher: a flood from one address must
 * not lock the user out everywhere); over any, the request is answered 429
 * with Retry-After before any password is checked.
 *
 * An attempt is counted as a failure when it is let through, before its
 * password is checked, and given back if it succeeds: the attempts still
 * on the worker count too, so that 64 at once get no more checks than 64
 * one after the other.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "audit.h"
#include "auth-private.h"
#include "daemon.h"
#include "auth.h"
#include "http.h"
#include "sessions.h"
#include "log.h"
#include "printable.h"
#include "login-store.h"

#define WRONG_CREDENTIALS "wrong user name or password"
#define USER_NAME_MAX     256
#define PASSWORD_MAX      1024

struct login_request {
	struct gb_auth_job job; /* first */
	char *user;
	char *password;
	int result;
	const char *plugin; /* the plugin that said yes, or the first that failed */
	char plugin_name[64];
	struct gb_identity identity;
};

static char *token_key(const char *token)
{
	return g_compute_checksum_for_string(G_CHECKSUM_SHA256, token, -1);
}

static bool token_is_well_formed(const char *token, size_t length)
{
	if (length != GB_TOKEN_LENGTH)
		return false;
	for (size_t i = 0; i < length; i++)
		if (!g_ascii_isalnum(token[i]) && token[i] != '-' && token[i] != '_')
			return false;
	return true;
}

/* The glassbox_session token of the Cookie header, or NULL. */
static char *cookie_token(SoupServerMessage *msg)
{
	SoupMessageHeaders *headers = soup_server_message_get_request_headers(msg);
	const char *cookie = soup_message_headers_get_list(headers, "Cookie");
	const char *prefix = GB_COOKIE_NAME "=";
	g_auto(GStrv) items = NULL;

	if (!cookie || strlen(cookie) > 8192)
		return NULL;
	items = g_strsplit_set(cookie, ";,", 128);
	for (size_t i = 0; items[i]; i++) {
		const char *item = g_strstrip(items[i]);

		if (g_str_has_prefix(item, prefix) &&
		    token_is_well_formed(item + strlen(prefix), strlen(item + strlen(prefix))))
			return g_strdup(item + strlen(prefix));
	}
	return NULL;
}

/*
 * The one way a login ends early or at expiry: its WebSockets close with
 * @reason (1008), the table and its saved copy forget it. @iter, when not
 * NULL, is positioned on it.
 */
static void end_login(struct gb_daemon *daemon, struct gb_login *login, GHashTableIter *iter,
                      const char *reason)
{
	gb_audit_logout(login->identity_namespace, login->user, NULL, reason);
	gb_events_emit_login_ended(&daemon->events, login->key, reason);
	if (iter)
		g_hash_table_iter_remove(iter);
	else
		g_hash_table_remove(daemon->auth->logins, login->key);
	gb_login_store_changed(daemon);
}

struct gb_login *gb_auth_lookup_key(struct gb_daemon *daemon, const char *key)
{
	struct gb_login *login = key ? g_hash_table_lookup(daemon->auth->logins, key) : NULL;

	if (login && login->expires_us <= g_get_monotonic_time()) {
		gb_info("login of user '%s' expired", login->user);
		end_login(daemon, login, NULL, "login expired");
		return NULL;
	}
	return login;
}

unsigned gb_auth_end_logins(struct gb_daemon *daemon, const char *identity_namespace,
                            const char *user, const char *plugin, const char *reason)
{
	GHashTableIter iter;
	gpointer value;
	unsigned ended = 0;

	g_hash_table_iter_init(&iter, daemon->auth->logins);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		struct gb_login *login = value;

		if ((identity_namespace &&
		     strcmp(login->identity_namespace, identity_namespace) != 0) ||
		    (user && strcmp(login->user, user) != 0) ||
		    (plugin && strcmp(login->plugin, plugin) != 0))
			continue;
		end_login(daemon, login, &iter, reason);
		ended++;
	}
	if (ended)
		gb_info("ended %u login%s of %s%s%s%s%s (auth plugin %s): %s", ended,
		        ended == 1 ? "" : "s", user ? "user '" : "every user",
		        identity_namespace ? identity_namespace : "",
		        identity_namespace ? ":" : "", user ? user : "", user ? "'" : "",
		        plugin ? plugin : "any", reason);
	return ended;
}

/* Only the roles this host knows; an identity with none is a user. */
static uint32_t login_roles(uint32_t roles)
{
	roles &= GB_ROLE_USER | GB_ROLE_ADMIN;
	return roles ? roles : GB_ROLE_USER;
}

unsigned gb_auth_end_orphaned_logins(struct gb_daemon *daemon)
{
	g_autoptr(GHashTable) by_plugin = gb_auth_list_users(daemon);
	GHashTableIter iter;
	gpointer value;
	unsigned ended = 0;

	g_hash_table_iter_init(&iter, daemon->auth->logins);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		struct gb_login *login = value;
		GHashTable *users = g_hash_table_lookup(by_plugin, login->plugin);
		const char *identity_namespace = gb_auth_namespace_of(daemon, login->plugin);
		gpointer roles;

		/* NULL: the plugin is no longer enabled. */
		if (!identity_namespace) {
			gb_info("login of user '%s' ended: auth plugin '%s' is no longer enabled",
			        login->user, login->plugin);
			end_login(daemon, login, &iter,
			          "login ended: its auth plugin was disabled");
			ended++;
		} else if (strcmp(identity_namespace, login->identity_namespace) != 0) {
			/* Another namespace makes it another identity, with another session. */
			gb_info("login of user '%s:%s' ended: auth plugin '%s' vouches in "
			        "namespace "
			        "'%s' now",
			        login->identity_namespace, login->user, login->plugin,
			        identity_namespace);
			end_login(daemon, login, &iter,
			          "logged out: the auth plugin's namespace changed");
			ended++;
		} else if (users &&
		           !g_hash_table_lookup_extended(users, login->user, NULL, &roles)) {
			gb_info("login of user '%s' ended: auth plugin '%s' no longer has that "
			        "user",
			        login->user, login->plugin);
			end_login(daemon, login, &iter, "logged out: the user was removed");
			ended++;
		} else if (users && login_roles(GPOINTER_TO_UINT(roles)) != login->roles) {
			gb_info("login of user '%s' ended: auth plugin '%s' gives the user other "
			        "roles now",
			        login->user, login->plugin);
			end_login(daemon, login, &iter, "logged out: the user's roles changed");
			ended++;
		}
	}
	return ended;
}

/* --- logins kept across restarts (auth-store.c) ------------------------------------------ */

/*
 * Why a restored login no longer stands for who it was, or NULL: the
 * operator may have disabled its plugin or moved it to another namespace.
 */
static const char *no_longer_valid(void *data, const struct gb_login *login)
{
	struct gb_daemon *daemon = data;
	const char *now = gb_auth_namespace_of(daemon, login->plugin);

	if (!now)
		return "its auth plugin is not enabled now";
	if (strcmp(now, login->identity_namespace) != 0)
		return "its auth plugin's namespace changed";
	return NULL;
}

void gb_auth_restore_logins(struct gb_daemon *daemon)
{
	const gint64 lifetime_us =
	        (gint64)daemon->config->server.login_lifetime_s * G_USEC_PER_SEC;
	gint64 now = g_get_monotonic_time();
	unsigned loaded = 0, skipped = 0;
	g_autoptr(GPtrArray) logins =
	        gb_login_store_load(daemon, no_longer_valid, daemon, &skipped);
	g_autofree char *path = NULL;

	if (!logins)
		return;
	for (guint i = 0; i < logins->len; i++) {
		struct gb_login *login = logins->pdata[i];

		/* A shorter login_lifetime_s since then applies to the old logins too. */
		if (login->expires_us - login->created_us > lifetime_us)
			login->expires_us = login->created_us + lifetime_us;
		if (login->expires_us <= now) {
			skipped++;
			continue;
		}
		/* The table owns it now. */
		logins->pdata[i] = NULL;
		g_hash_table_replace(daemon->auth->logins, login->key, login);
		loaded++;
	}
	path = gb_login_store_path(daemon);
	gb_info("restored %u login%s from %s (%u expired or skipped)", loaded,
	        loaded == 1 ? "" : "s", path, skipped);
	gb_auth_schedule_expiry(daemon);
}

/* --- expiry -------------------------------------------------------------------------------- */

/* A timer a day away at most: it simply fires, finds nothing, and is set again. */
#define EXPIRY_TIMER_MAX_MS (24u * 3600u * 1000u)

static gboolean expiry_due(gpointer data);

void gb_auth_schedule_expiry(struct gb_daemon *daemon)
{
	gint64 next = G_MAXINT64, now = g_get_monotonic_time(), delay_ms;
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, daemon->auth->logins);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		next = MIN(next, ((struct gb_login *)value)->expires_us);
	if (daemon->auth->expiry_timer && daemon->auth->expiry_due_us <= next)
		return;
	if (daemon->auth->expiry_timer)
		g_source_remove(daemon->auth->expiry_timer);
	daemon->auth->expiry_timer = 0;
	if (next == G_MAXINT64)
		return;
	/* Rounded up: firing a little late is fine, early would find nothing due. */
	delay_ms = next > now ? (next - now + 999) / 1000 : 0;
	delay_ms = MIN(delay_ms, (gint64)EXPIRY_TIMER_MAX_MS);
	/* The expiry it is for (not the rounded-up firing time), so that a
	 * later login does not set the same timer again. */
	daemon->auth->expiry_due_us = MIN(next, now + delay_ms * 1000);
	daemon->auth->expiry_timer = g_timeout_add((guint)delay_ms, expiry_due, daemon);
}

static void end_expired_logins(struct gb_daemon *daemon)
{
	gint64 now = g_get_monotonic_time();
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, daemon->auth->logins);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		struct gb_login *login = value;

		if (login->expires_us > now)
			continue;
		gb_info("login of user '%s' expired", login->user);
		end_login(daemon, login, &iter, "login expired");
	}
}

static gboolean expiry_due(gpointer data)
{
	struct gb_daemon *daemon = data;

	daemon->auth->expiry_timer = 0;
	end_expired_logins(daemon);
	gb_auth_schedule_expiry(daemon);
	return G_SOURCE_REMOVE;
}

struct gb_login *gb_auth_find_login(struct gb_daemon *daemon, SoupServerMessage *msg)
{
	g_autofree char *token = cookie_token(msg);
	g_autofree char *key = token ? token_key(token) : NULL;

	return gb_auth_lookup_key(daemon, key);
}

/* Keep at most GB_LOGINS_PER_USER_MAX logins per identity: the oldest goes. */
static void limit_user_logins(struct gb_daemon *daemon, const char *identity_namespace,
                              const char *user)
{
	struct gb_login *oldest = NULL;
	GHashTableIter iter;
	gpointer value;
	unsigned count = 0;

	g_hash_table_iter_init(&iter, daemon->auth->logins);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		struct gb_login *login = value;

		if (strcmp(login->user, user) != 0 ||
		    strcmp(login->identity_namespace, identity_namespace) != 0)
			continue;
		count++;
		if (!oldest || login->created_us < oldest->created_us)
			oldest = login;
	}
	if (count >= GB_LOGINS_PER_USER_MAX && oldest) {
		gb_info("user '%s:%s' has %u logins; ending the oldest", identity_namespace, user,
		        count);
		gb_events_emit_login_ended(&daemon->events, oldest->key, NULL);
		g_hash_table_remove(daemon->auth->logins, oldest->key);
	}
}

/* {"user":"…"} and, with @roles, "roles":["admin","user"]. */
static char *json_user(const char *user, const uint32_t *roles)
{
	g_autoptr(JsonBuilder) builder = json_builder_new();
	g_autoptr(JsonGenerator) generator = json_generator_new();
	g_autoptr(JsonNode) root = NULL;

	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "user");
	json_builder_add_string_value(builder, user);
	if (roles) {
		json_builder_set_member_name(builder, "roles");
		json_builder_begin_array(builder);
		if (*roles & GB_ROLE_ADMIN)
			json_builder_add_string_value(builder, "admin");
		if (*roles & GB_ROLE_USER)
			json_builder_add_string_value(builder, "user");
		json_builder_end_array(builder);
	}
	json_builder_end_object(builder);
	root = json_builder_get_root(builder);
	json_generator_set_root(generator, root);
	return json_generator_to_data(generator, NULL);
}

/* --- failure limits ---------------------------------------------------------------------- */

bool gb_auth_refuse_if_throttled(struct gb_daemon *daemon, SoupServerMessage *msg,
                                 const char *address_key, const char *user)
{
	struct gb_login_throttled throttled;
	enum gb_login_throttle verdict = gb_login_limits_check(
	        daemon->auth->limits, address_key, user, g_get_monotonic_time(), &throttled);
	bool by_user = verdict != GB_LOGIN_THROTTLED_ADDRESS;
	bool from_here = verdict == GB_LOGIN_THROTTLED_USER_HERE;
	g_autofree char *shown = NULL;
	g_autofree char *message = NULL;
	g_autofree char *retry = NULL;

	if (verdict == GB_LOGIN_ALLOWED)
		return false;
	shown = gb_printable_dup(user);
	if (by_user)
		message = g_strdup_printf("too many failed logins for user '%s'%s; try again in "
		                          "%u s",
		                          shown, from_here ? " from this address" : "",
		                          throttled.seconds_left);
	else
		message = g_strdup_printf("too many failed logins from this address; try again in "
		                          "%u s",
		                          throttled.seconds_left);
	retry = g_strdup_printf("%u", throttled.seconds_left);
	soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Retry-After",
	                             retry);
	gb_http_reply_error(msg, 429 /* Too Many Requests */, message);
	gb_events_emit_login_failed(&daemon->events, by_user ? GB_LOGIN_FAILURE_THROTTLED_USER
	                                                     : GB_LOGIN_FAILURE_THROTTLED_ADDRESS);
	/* Once per window: a client hammering away must not flood the log. */
	if (!throttled.first)
		return true;
	if (by_user)
		gb_warning("logins for user '%s'%s%s refused for %u s: %u failed logins "
		           "(last from %s); further refusals in this window are not logged",
		           shown, from_here ? " from " : "", from_here ? address_key : "",
		           throttled.seconds_left, throttled.failures, gb_http_peer(msg));
	else
		gb_warning("logins from %s refused for %u s: %u failed logins; further "
		           "refusals in this window are not logged",
		           gb_http_peer(msg), throttled.seconds_left, throttled.failures);
	gb_audit_login(GB_AUDIT_LOGIN_THROTTLED, user, gb_http_peer(msg), NULL,
	               by_user ? "too many failed logins for this user name"
	                       : "too many failed logins from this address");
	return true;
}

/* --- logins ------------------------------------------------------------------------------- */

struct gb_login *gb_auth_add_login(struct gb_daemon *daemon, SoupServerMessage *msg,
                                   const struct gb_identity *identity, const char *plugin,
                                   const char *peer)
{
	const int lifetime = daemon->config->server.login_lifetime_s;
	SoupMessageHeaders *headers = soup_server_message_get_response_headers(msg);
	char token[GB_RANDOM_TOKEN_SIZE];
	g_autofree char *cookie = NULL;
	g_autofree char *key = NULL;
	g_autofree char *who = NULL;
	/* NULL when a reload took the plugin away while its check ran. */
	const char *identity_namespace = gb_auth_namespace_of(daemon, plugin);
	struct gb_login *login;
	int r;

	r = gb_random_token(token, sizeof(token));
	if (r < 0) {
		gb_error("cannot get random bytes for a cookie: %s", strerror(-r));
		errno = -r;
		return NULL;
	}
	if (!identity_namespace) {
		gb_warning("login of user '%s' from %s refused: auth plugin %s was disabled while "
		           "it checked",
		           identity->user, peer, plugin ? plugin : "?");
		errno = ENOENT;
		return NULL;
	}
	limit_user_logins(daemon, identity_namespace, identity->user);
	login = g_new0(struct gb_login, 1);
	login->key = token_key(token);
	g_strlcpy(login->user, identity->user, sizeof(login->user));
	g_strlcpy(login->plugin, plugin, sizeof(login->plugin));
	g_strlcpy(login->identity_namespace, identity_namespace,
	          sizeof(login->identity_namespace));
	who = gb_identity_format(login->identity_namespace, login->user);
	login->roles = login_roles(identity->roles);
	login->system_account = identity->has_system_account;
	login->created_us = g_get_monotonic_time();
	login->expires_us = login->created_us + (gint64)lifetime * G_USEC_PER_SEC;
	g_hash_table_replace(daemon->auth->logins, login->key, login);
	gb_login_store_changed(daemon);
	gb_auth_schedule_expiry(daemon);

	cookie = g_strdup_printf(GB_COOKIE_NAME "=%s; Path=/; HttpOnly; SameSite=Strict%s; "
	                                        "Max-Age=%d",
	                         token, gb_http_is_https(daemon) ? "; Secure" : "", lifetime);
	soup_message_headers_append(headers, "Set-Cookie", cookie);
	gb_info("user '%s' logged in from %s (auth plugin %s, identity %s, roles %s)", login->user,
	        peer, plugin, who, login->roles & GB_ROLE_ADMIN ? "admin,user" : "user");
	gb_audit_login(GB_AUDIT_LOGIN_SUCCESS, login->user, peer, plugin, NULL);
	gb_events_emit_login_made(&daemon->events, plugin);
	/* The user got in: their name's failures no longer matter, from anywhere or
	 * from here (the address's do, and the name's from other addresses). */
	if (peer) {
		g_autofree char *address_key = gb_address_key(peer);

		gb_login_limits_forget_user(daemon->auth->limits, address_key, login->user);
	} else {
		gb_login_limits_forget_user(daemon->auth->limits, NULL, login->user);
	}
	/*
	 * Start the user's session now rather than when the page opens its
	 * WebSocket: its start-up (compositor, application, the DTLS
	 * certificate) then overlaps the page's, which takes it off the time
	 * to first frame. A failure here is logged and retried by the
	 * WebSocket, which reports it to the browser.
	 */
	if (!gb_session_find(daemon, login->identity_namespace, login->user) &&
	    !gb_session_start(daemon, login))
		gb_warning("user '%s': cannot start a session at login: %s", who, strerror(errno));
	return login;
}

static void login_request_free(struct gb_auth_job *job)
{
	struct login_request *request = (struct login_request *)job;

	g_free(request->user);
	if (request->password) {
		explicit_bzero(request->password, strlen(request->password));
		g_free(request->password);
	}
	g_free(request);
}

/* Back on the main loop with the plugins' answer. */
static void login_checked(struct gb_auth_job *job)
{
	struct login_request *request = (struct login_request *)job;
	struct gb_daemon *daemon = job->daemon;
	g_autofree char *user = gb_printable_dup(request->user);
	g_autofree char *body = NULL;
	struct gb_login *login;

	if (!gb_http_serving(daemon)) {
		/* Stopping: nobody to answer. */
		gb_auth_job_finish(job);
		return;
	}
	if (request->result == 0) {
		gb_auth_refund_attempt(job);
		login = gb_auth_add_login(daemon, job->msg, &request->identity, request->plugin,
		                          job->peer);
		if (login) {
			body = json_user(login->user, NULL);
			gb_http_reply_json(job->msg, SOUP_STATUS_OK, body);
		} else {
			gb_http_reply_error(job->msg, SOUP_STATUS_INTERNAL_SERVER_ERROR,
			                    "cannot log in now");
		}
		gb_auth_job_finish(job);
		return;
	}
	if (request->result == -EACCES) {
		gb_warning("failed login for user '%s' from %s", user, job->peer);
		gb_audit_login(GB_AUDIT_LOGIN_FAILURE, request->user, job->peer, NULL,
		               WRONG_CREDENTIALS);
		gb_events_emit_login_failed(&daemon->events, GB_LOGIN_FAILURE_WRONG_CREDENTIALS);
	} else {
		g_autofree char *reason = g_strdup_printf("auth plugin %s: %s",
		                                          request->plugin ? request->plugin : "?",
		                                          strerror(-request->result));

		gb_error("failed login for user '%s' from %s: %s", user, job->peer, reason);
		gb_audit_login(GB_AUDIT_LOGIN_FAILURE, request->user, job->peer, request->plugin,
		               reason);
		gb_events_emit_login_failed(&daemon->events, GB_LOGIN_FAILURE_ERROR);
	}
	/* Counted already, when it was let through (gb_auth_charge_attempt). */
	gb_http_reply_error(job->msg, SOUP_STATUS_UNAUTHORIZED, WRONG_CREDENTIALS);
	gb_auth_job_finish_at(job, job->started_us + GB_LOGIN_FAILURE_DELAY_MS * 1000);
}

/* On the worker thread: each enabled password plugin in turn. */
static void check_password(struct gb_auth_job *job, struct gb_plugin *const *plugins,
                           size_t n_plugins)
{
	struct login_request *request = (struct login_request *)job;

	request->result = -EACCES;
	for (size_t i = 0; i < n_plugins; i++) {
		const struct gb_plugin *plugin = plugins[i];
		const struct gb_auth_ops *ops = plugin->descriptor->ops;
		struct gb_identity identity = { .struct_size = sizeof(identity) };
		int r;

		/* Redirect plugins (OpenID Connect) take no passwords. */
		if (!ops->verify_password)
			continue;
		r = ops->verify_password(plugin->state, request->user, request->password,
		                         &identity);
		if (r == 0 && identity.user[0] &&
		    memchr(identity.user, '\0', sizeof(identity.user))) {
			request->identity = identity;
			g_strlcpy(request->plugin_name, plugin->descriptor->name,
			          sizeof(request->plugin_name));
			request->plugin = request->plugin_name;
			request->result = 0;
			break;
		}
		/* A plugin that failed (not a wrong password) is reported, but
		 * the next plugin may still know the user. */
		if (r < 0 && r != -EACCES && request->result == -EACCES) {
			request->result = r;
			g_strlcpy(request->plugin_name, plugin->descriptor->name,
			          sizeof(request->plugin_name));
			request->plugin = request->plugin_name;
		}
	}
	explicit_bzero(request->password, strlen(request->password));
}

static bool parse_credentials(SoupServerMessage *msg, char **user, char **password)
{
	SoupMessageBody *body = soup_server_message_get_request_body(msg);
	g_autoptr(GBytes) bytes = soup_message_body_flatten(body);
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonObject *object;
	JsonNode *root, *user_node, *password_node;
	gsize size;
	const char *data = g_bytes_get_data(bytes, &size);

	if (size == 0 || !json_parser_load_from_data(parser, data, (gssize)size, NULL))
		return false;
	root = json_parser_get_root(parser);
	if (!root || !JSON_NODE_HOLDS_OBJECT(root))
		return false;
	object = json_node_get_object(root);
	user_node = json_object_get_member(object, "username");
	password_node = json_object_get_member(object, "password");
	if (!user_node || !password_node || !JSON_NODE_HOLDS_VALUE(user_node) ||
	    !JSON_NODE_HOLDS_VALUE(password_node) ||
	    json_node_get_value_type(user_node) != G_TYPE_STRING ||
	    json_node_get_value_type(password_node) != G_TYPE_STRING)
		return false;
	*user = g_strndup(json_node_get_string(user_node), USER_NAME_MAX);
	*password = g_strndup(json_node_get_string(password_node), PASSWORD_MAX);
	return true;
}

/*
 * The checks /api/login and /api/logout share: the exact path, POST, and
 * the page's own Origin. Answers the request and returns false otherwise.
 */
static bool accept_post(struct gb_daemon *daemon, SoupServerMessage *msg, const char *path,
                        const char *expected, const char *refusal)
{
	if (strcmp(path, expected) != 0) {
		gb_http_reply_error(msg, SOUP_STATUS_NOT_FOUND, "no such API");
		return false;
	}
	if (soup_server_message_get_method(msg) != SOUP_METHOD_POST) {
		soup_message_headers_replace(soup_server_message_get_response_headers(msg),
		                             "Allow", "POST");
		gb_http_reply_error(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "use POST");
		return false;
	}
	if (!gb_http_origin_allowed(daemon, msg, false)) {
		gb_http_reply_error(msg, SOUP_STATUS_FORBIDDEN, refusal);
		return false;
	}
	return true;
}

static void handle_login(SoupServer *server, SoupServerMessage *msg, const char *path,
                         GHashTable *query, gpointer data)
{
	struct gb_daemon *daemon = data;
	struct login_request *request;
	g_autofree char *address_key = NULL;
	char *user = NULL, *password = NULL;

	if (!accept_post(daemon, msg, path, "/api/login", "this origin may not log in here"))
		return;
	if (g_object_get_data(G_OBJECT(msg), "gb-body-too-big")) {
		gb_http_reply_error(msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE,
		                    "the request body is larger than 4 KiB");
		return;
	}
	if (!parse_credentials(msg, &user, &password)) {
		gb_http_reply_error(msg, SOUP_STATUS_BAD_REQUEST,
		                    "expected {\"username\":\"...\",\"password\":\"...\"}");
		return;
	}
	address_key = gb_address_key(gb_http_peer(msg));
	if (gb_auth_refuse_if_throttled(daemon, msg, address_key, user)) {
		explicit_bzero(password, strlen(password));
		g_free(password);
		g_free(user);
		return;
	}

	request = g_new0(struct login_request, 1);
	request->job.run = check_password;
	request->job.done = login_checked;
	request->job.free = login_request_free;
	request->job.address_key = g_steal_pointer(&address_key);
	request->job.daemon = daemon;
	request->user = user;
	request->password = password;
	gb_auth_charge_attempt(&request->job, user);
	gb_auth_job_queue(&request->job, daemon, msg);
}

static void clear_cookie(struct gb_daemon *daemon, SoupServerMessage *msg)
{
	g_autofree char *cookie =
	        g_strdup_printf(GB_COOKIE_NAME "=; Path=/; HttpOnly; SameSite=Strict%s; Max-Age=0",
	                        gb_http_is_https(daemon) ? "; Secure" : "");

	soup_message_headers_append(soup_server_message_get_response_headers(msg), "Set-Cookie",
	                            cookie);
}

static void handle_logout(SoupServer *server, SoupServerMessage *msg, const char *path,
                          GHashTable *query, gpointer data)
{
	struct gb_daemon *daemon = data;
	struct gb_login *login;

	if (!accept_post(daemon, msg, path, "/api/logout", "this origin may not log out here"))
		return;
	login = gb_auth_find_login(daemon, msg);
	if (login) {
		gb_info("user '%s' logged out from %s (namespace %s)", login->user,
		        gb_http_peer(msg), login->identity_namespace);
		gb_audit_logout(login->identity_namespace, login->user, gb_http_peer(msg),
		                "logout");
		gb_events_emit_login_ended(&daemon->events, login->key, NULL);
		g_hash_table_remove(daemon->auth->logins, login->key);
		gb_login_store_changed(daemon);
	}
	clear_cookie(daemon, msg);
	gb_http_reply_json(msg, SOUP_STATUS_NO_CONTENT, NULL);
}

static void handle_whoami(SoupServer *server, SoupServerMessage *msg, const char *path,
                          GHashTable *query, gpointer data)
{
	struct gb_daemon *daemon = data;
	struct gb_login *login;
	g_autofree char *body = NULL;

	if (strcmp(path, "/api/whoami") != 0) {
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
	body = json_user(login->user, &login->roles);
	gb_http_reply_json(msg, SOUP_STATUS_OK, body);
}

/* Forget old failure counts, once a minute (logins end on their own timer). */
static gboolean sweep(gpointer data)
{
	struct gb_daemon *daemon = data;
	gint64 now = g_get_monotonic_time();

	gb_login_limits_sweep(daemon->auth->limits, now);
	return G_SOURCE_CONTINUE;
}

int gb_auth_init(struct gb_daemon *daemon)
{
	unsigned per_address = gb_daemon_limit_from_environment(
	        "GB_TEST_LOGIN_FAILURES_PER_ADDRESS", GB_LOGIN_FAILURES_MAX, 100000);
	unsigned per_user = gb_daemon_limit_from_environment("GB_TEST_LOGIN_FAILURES_PER_USER",
	                                                     GB_USER_FAILURES_MAX, 100000);
	unsigned per_user_total = gb_daemon_limit_from_environment(
	        "GB_TEST_LOGIN_FAILURES_PER_USER_TOTAL", GB_USER_FAILURES_CEILING, 100000);
	gint64 window_us =
	        (gint64)gb_daemon_limit_from_environment("GB_TEST_LOGIN_FAILURE_WINDOW_S",
	                                                 GB_LOGIN_FAILURE_WINDOW_S, 86400) *
	        G_USEC_PER_SEC;

	daemon->auth->limits =
	        gb_login_limits_new(per_address, per_user, per_user_total, window_us);
	daemon->auth->logins = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
	                                             (GDestroyNotify)gb_login_free);
	if (gb_auth_worker_start(daemon) < 0)
		return -ENOMEM;
	daemon->auth->sweep_timer = g_timeout_add_seconds(60, sweep, daemon);
	return 0;
}

void gb_auth_fini(struct gb_daemon *daemon)
{
	struct gb_auth *auth = daemon->auth;

	if (!auth)
		return;
	if (auth->logins)
		gb_login_store_fini(daemon);
	gb_auth_worker_stop(daemon);
	if (daemon->auth->sweep_timer)
		g_source_remove(daemon->auth->sweep_timer);
	daemon->auth->sweep_timer = 0;
	if (daemon->auth->expiry_timer)
		g_source_remove(daemon->auth->expiry_timer);
	daemon->auth->expiry_timer = 0;
	if (daemon->auth->logins)
		g_hash_table_destroy(daemon->auth->logins);
	gb_login_limits_free(daemon->auth->limits);
	gb_auth_free(daemon);
}

void gb_auth_add_routes(struct gb_daemon *daemon)
{
	gb_http_add_route(daemon, "/api/login", handle_login, daemon, GB_LOGIN_BODY_MAX);
	gb_http_add_route(daemon, "/api/logout", handle_logout, daemon, 0);
	gb_http_add_route(daemon, "/api/whoami", handle_whoami, daemon, 0);
}
