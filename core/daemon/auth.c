/* SPDX-License-Identifier: MIT */
/*
 * Logins: POST /api/login checks the credentials with each enabled auth
 * plugin in turn and hands out a cookie; POST /api/logout and GET
 * /api/whoami use it.
 *
 * A cookie is 32 random bytes in base64url. The server keeps only its
 * SHA-256, with the user and an expiry of its own, so a stolen memory dump
 * or a timing side channel in the table lookup does not give a cookie away.
 *
 * Password hashes are slow on purpose, so the plugins run on one worker
 * thread, one check at a time, while the main loop keeps relaying. A
 * failed login is answered GB_LOGIN_FAILURE_DELAY_MS after it arrived,
 * whatever the reason, and each client address gets GB_LOGIN_FAILURES_MAX
 * failures a minute.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include <json-glib/json-glib.h>

#include "daemon.h"
#include "log.h"

#define WRONG_CREDENTIALS "wrong user name or password"
#define USER_NAME_MAX     256
#define PASSWORD_MAX      1024

struct login_failures {
	gint64 window_start_us;
	unsigned count;
};

struct login_request {
	struct gb_daemon *daemon;
	SoupServerMessage *msg;
	char *user;
	char *password;
	char *peer;
	char *failure_key;
	gint64 started_us;
	int result;
	const char *plugin; /* the plugin that said yes, or the first that failed */
	struct gb_identity identity;
	gulong finished_handler;
	bool gone; /* the client went away while its check ran */
};

static void login_free(gpointer data)
{
	struct gb_login *login = data;

	g_free(login->key);
	g_free(login);
}

static void login_request_free(struct login_request *request)
{
	g_signal_handler_disconnect(request->msg, request->finished_handler);
	g_object_unref(request->msg);
	g_free(request->user);
	if (request->password) {
		explicit_bzero(request->password, strlen(request->password));
		g_free(request->password);
	}
	g_free(request->peer);
	g_free(request->failure_key);
	g_free(request);
}

/* Text the client chose, made safe for one log line. */
static char *printable(const char *text)
{
	GString *out = g_string_new(NULL);

	for (size_t i = 0; text[i] && i < 64; i++)
		g_string_append_c(out, g_ascii_isprint(text[i]) ? text[i] : '?');
	if (strlen(text) > 64)
		g_string_append(out, "...");
	return g_string_free(out, FALSE);
}

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

struct gb_login *gb_auth_lookup_key(struct gb_daemon *daemon, const char *key)
{
	struct gb_login *login = key ? g_hash_table_lookup(daemon->logins, key) : NULL;

	if (login && login->expires_us <= g_get_monotonic_time()) {
		gb_info("login of user '%s' expired", login->user);
		g_hash_table_remove(daemon->logins, key);
		return NULL;
	}
	return login;
}

struct gb_login *gb_auth_find_login(struct gb_daemon *daemon, SoupServerMessage *msg)
{
	g_autofree char *token = cookie_token(msg);
	g_autofree char *key = token ? token_key(token) : NULL;

	return gb_auth_lookup_key(daemon, key);
}

static char *new_token(void)
{
	unsigned char bytes[32];
	size_t done = 0;
	char *token;

	while (done < sizeof(bytes)) {
		ssize_t n = getrandom(bytes + done, sizeof(bytes) - done, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return NULL;
		done += (size_t)n;
	}
	token = g_base64_encode(bytes, sizeof(bytes));
	explicit_bzero(bytes, sizeof(bytes));
	/* base64 to base64url, without the padding */
	for (char *c = token; *c; c++) {
		if (*c == '+')
			*c = '-';
		else if (*c == '/')
			*c = '_';
		else if (*c == '=')
			*c = '\0';
	}
	return token;
}

/* Keep at most GB_LOGINS_PER_USER_MAX logins per user: the oldest goes. */
static void limit_user_logins(struct gb_daemon *daemon, const char *user)
{
	struct gb_login *oldest = NULL;
	GHashTableIter iter;
	gpointer value;
	unsigned count = 0;

	g_hash_table_iter_init(&iter, daemon->logins);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		struct gb_login *login = value;

		if (strcmp(login->user, user) != 0)
			continue;
		count++;
		if (!oldest || login->created_us < oldest->created_us)
			oldest = login;
	}
	if (count >= GB_LOGINS_PER_USER_MAX && oldest) {
		gb_info("user '%s' has %u logins; ending the oldest", user, count);
		gb_viewers_close_login(daemon, oldest->key);
		g_hash_table_remove(daemon->logins, oldest->key);
	}
}

static char *json_user(const char *user)
{
	g_autoptr(JsonBuilder) builder = json_builder_new();
	g_autoptr(JsonGenerator) generator = json_generator_new();
	g_autoptr(JsonNode) root = NULL;

	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "user");
	json_builder_add_string_value(builder, user);
	json_builder_end_object(builder);
	root = json_builder_get_root(builder);
	json_generator_set_root(generator, root);
	return json_generator_to_data(generator, NULL);
}

/* Failures are counted per address; IPv6 per /64, which one client holds. */
static char *failure_key(const char *peer)
{
	g_autoptr(GInetAddress) address = g_inet_address_new_from_string(peer);
	const guint8 *bytes;

	if (!address || g_inet_address_get_family(address) != G_SOCKET_FAMILY_IPV6)
		return g_strdup(peer);
	bytes = g_inet_address_to_bytes(address);
	return g_strdup_printf("%02x%02x:%02x%02x:%02x%02x:%02x%02x::/64", bytes[0], bytes[1],
	                       bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7]);
}

static bool failures_exceeded(struct gb_daemon *daemon, const char *key, gint64 now)
{
	struct login_failures *failures = g_hash_table_lookup(daemon->failures, key);

	return failures &&
	       now - failures->window_start_us < GB_LOGIN_FAILURE_WINDOW_S * G_USEC_PER_SEC &&
	       failures->count >= GB_LOGIN_FAILURES_MAX;
}

static void count_failure(struct gb_daemon *daemon, const char *key, gint64 now)
{
	struct login_failures *failures = g_hash_table_lookup(daemon->failures, key);

	if (!failures) {
		/* A full table (many addresses at once) stops remembering new
		 * ones; the fixed delay still holds for them. */
		if (g_hash_table_size(daemon->failures) >= GB_LOGIN_FAILURE_TABLE_MAX)
			return;
		failures = g_new0(struct login_failures, 1);
		g_hash_table_insert(daemon->failures, g_strdup(key), failures);
	}
	if (now - failures->window_start_us >= GB_LOGIN_FAILURE_WINDOW_S * G_USEC_PER_SEC) {
		failures->window_start_us = now;
		failures->count = 0;
	}
	failures->count++;
}

static void finish_request(struct login_request *request)
{
	struct gb_daemon *daemon = request->daemon;

	daemon->pending_logins--;
	if (daemon->server && !request->gone)
		soup_server_message_unpause(request->msg);
	login_request_free(request);
}

static gboolean send_failure(gpointer data)
{
	struct login_request *request = data;

	gb_http_reply_error(request->msg, SOUP_STATUS_UNAUTHORIZED, WRONG_CREDENTIALS);
	finish_request(request);
	return G_SOURCE_REMOVE;
}

static void login_succeeded(struct login_request *request)
{
	struct gb_daemon *daemon = request->daemon;
	const int lifetime = daemon->config->server.login_lifetime_s;
	SoupMessageHeaders *headers = soup_server_message_get_response_headers(request->msg);
	g_autofree char *token = new_token();
	g_autofree char *cookie = NULL;
	g_autofree char *body = NULL;
	struct gb_login *login;

	if (!token) {
		gb_error("cannot get random bytes for a cookie: %s", strerror(errno));
		gb_http_reply_error(request->msg, SOUP_STATUS_INTERNAL_SERVER_ERROR,
		                    "cannot log in now");
		finish_request(request);
		return;
	}
	limit_user_logins(daemon, request->identity.user);
	login = g_new0(struct gb_login, 1);
	login->key = token_key(token);
	g_strlcpy(login->user, request->identity.user, sizeof(login->user));
	login->roles = request->identity.roles;
	login->created_us = g_get_monotonic_time();
	login->expires_us = login->created_us + (gint64)lifetime * G_USEC_PER_SEC;
	g_hash_table_replace(daemon->logins, login->key, login);

	cookie = g_strdup_printf(GB_COOKIE_NAME "=%s; Path=/; HttpOnly; SameSite=Strict%s; "
	                                        "Max-Age=%d",
	                         token, daemon->https ? "; Secure" : "", lifetime);
	soup_message_headers_append(headers, "Set-Cookie", cookie);
	body = json_user(login->user);
	gb_http_reply_json(request->msg, SOUP_STATUS_OK, body);
	gb_info("user '%s' logged in from %s (auth plugin %s)", login->user, request->peer,
	        request->plugin);
	/*
	 * Start the user's session now rather than when the page opens its
	 * WebSocket: its start-up (compositor, application, the DTLS
	 * certificate) then overlaps the page's, which takes it off the time
	 * to first frame. A failure here is logged and retried by the
	 * WebSocket, which reports it to the browser.
	 */
	if (!gb_session_find(daemon, login->user) && !gb_session_start(daemon, login->user))
		gb_warning("user '%s': cannot start a session at login: %s", login->user,
		           strerror(errno));
	finish_request(request);
}

/* Back on the main loop with the plugins' answer. */
static gboolean login_checked(gpointer data)
{
	struct login_request *request = data;
	struct gb_daemon *daemon = request->daemon;
	g_autofree char *user = printable(request->user);
	gint64 now = g_get_monotonic_time();
	gint64 due = request->started_us + GB_LOGIN_FAILURE_DELAY_MS * 1000;

	if (!daemon->server) {
		/* Stopping: nobody to answer. */
		finish_request(request);
		return G_SOURCE_REMOVE;
	}
	if (request->result == 0) {
		login_succeeded(request);
		return G_SOURCE_REMOVE;
	}
	if (request->result == -EACCES)
		gb_warning("failed login for user '%s' from %s", user, request->peer);
	else
		gb_error("failed login for user '%s' from %s: auth plugin %s: %s", user,
		         request->peer, request->plugin ? request->plugin : "?",
		         strerror(-request->result));
	count_failure(daemon, request->failure_key, now);
	if (due > now)
		g_timeout_add((guint)((due - now) / 1000), send_failure, request);
	else
		send_failure(request);
	return G_SOURCE_REMOVE;
}

/* On the worker thread: each enabled auth plugin in turn, one request at a time. */
static void check_password(gpointer data, gpointer pool_data)
{
	struct login_request *request = data;
	struct gb_daemon *daemon = pool_data;

	request->result = -EACCES;
	g_mutex_lock(&daemon->auth_lock);
	for (size_t i = 0; i < daemon->n_auth_plugins; i++) {
		const struct gb_plugin *plugin = daemon->auth_plugins[i];
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
			request->plugin = plugin->descriptor->name;
			request->result = 0;
			break;
		}
		/* A plugin that failed (not a wrong password) is reported, but
		 * the next plugin may still know the user. */
		if (r < 0 && r != -EACCES && request->result == -EACCES) {
			request->result = r;
			request->plugin = plugin->descriptor->name;
		}
	}
	g_mutex_unlock(&daemon->auth_lock);
	explicit_bzero(request->password, strlen(request->password));
	g_idle_add(login_checked, request);
}

static void request_finished(SoupServerMessage *msg, gpointer data)
{
	struct login_request *request = data;

	request->gone = true;
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
	g_autofree char *key = NULL;
	char *user = NULL, *password = NULL;

	if (!accept_post(daemon, msg, path, "/api/login", "this origin may not log in here"))
		return;
	if (g_object_get_data(G_OBJECT(msg), "gb-body-too-big")) {
		gb_http_reply_error(msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE,
		                    "the request body is larger than 4 KiB");
		return;
	}
	key = failure_key(gb_http_peer(msg));
	if (failures_exceeded(daemon, key, g_get_monotonic_time())) {
		soup_message_headers_replace(soup_server_message_get_response_headers(msg),
		                             "Retry-After", "60");
		gb_http_reply_error(msg, 429 /* Too Many Requests */,
		                    "too many failed logins; try again in a minute");
		return;
	}
	if (daemon->pending_logins >= GB_LOGINS_PENDING_MAX) {
		gb_http_reply_error(msg, SOUP_STATUS_SERVICE_UNAVAILABLE,
		                    "too many logins at once; try again");
		return;
	}
	if (!parse_credentials(msg, &user, &password)) {
		gb_http_reply_error(msg, SOUP_STATUS_BAD_REQUEST,
		                    "expected {\"username\":\"...\",\"password\":\"...\"}");
		return;
	}

	request = g_new0(struct login_request, 1);
	request->daemon = daemon;
	request->msg = g_object_ref(msg);
	request->user = user;
	request->password = password;
	request->peer = g_strdup(gb_http_peer(msg));
	request->failure_key = g_steal_pointer(&key);
	request->started_us = g_get_monotonic_time();
	request->finished_handler =
	        g_signal_connect(msg, "finished", G_CALLBACK(request_finished), request);
	daemon->pending_logins++;
	soup_server_message_pause(msg);
	g_thread_pool_push(daemon->auth_pool, request, NULL);
}

static void clear_cookie(struct gb_daemon *daemon, SoupServerMessage *msg)
{
	g_autofree char *cookie =
	        g_strdup_printf(GB_COOKIE_NAME "=; Path=/; HttpOnly; SameSite=Strict%s; Max-Age=0",
	                        daemon->https ? "; Secure" : "");

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
		gb_info("user '%s' logged out from %s", login->user, gb_http_peer(msg));
		gb_viewers_close_login(daemon, login->key);
		g_hash_table_remove(daemon->logins, login->key);
	}
	clear_cookie(daemon, msg);
	gb_http_reply_json(msg, SOUP_STATUS_NO_CONTENT, NULL);
}

static void handle_whoami(SoupServer *server, SoupServerMessage *msg, const char *path,
                          GHashTable *query, gpointer data)
{
	struct gb_daemon *daemon = data;
	const char *method = soup_server_message_get_method(msg);
	struct gb_login *login;
	g_autofree char *body = NULL;

	if (strcmp(path, "/api/whoami") != 0) {
		gb_http_reply_error(msg, SOUP_STATUS_NOT_FOUND, "no such API");
		return;
	}
	if (method != SOUP_METHOD_GET && method != SOUP_METHOD_HEAD) {
		soup_message_headers_replace(soup_server_message_get_response_headers(msg),
		                             "Allow", "GET, HEAD");
		gb_http_reply_error(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "use GET");
		return;
	}
	login = gb_auth_find_login(daemon, msg);
	if (!login) {
		gb_http_reply_error(msg, SOUP_STATUS_UNAUTHORIZED, "not logged in");
		return;
	}
	body = json_user(login->user);
	gb_http_reply_json(msg, SOUP_STATUS_OK, body);
}

/* Forget expired logins and old failure counts, once a minute. */
static gboolean sweep(gpointer data)
{
	struct gb_daemon *daemon = data;
	gint64 now = g_get_monotonic_time();
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, daemon->logins);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		if (((struct gb_login *)value)->expires_us <= now)
			g_hash_table_iter_remove(&iter);
	g_hash_table_iter_init(&iter, daemon->failures);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		if (now - ((struct login_failures *)value)->window_start_us >=
		    GB_LOGIN_FAILURE_WINDOW_S * G_USEC_PER_SEC)
			g_hash_table_iter_remove(&iter);
	return G_SOURCE_CONTINUE;
}

int gb_auth_init(struct gb_daemon *daemon)
{
	g_autoptr(GError) error = NULL;

	g_mutex_init(&daemon->auth_lock);
	daemon->logins = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, login_free);
	daemon->failures = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	daemon->auth_pool = g_thread_pool_new(check_password, daemon, 1, TRUE, &error);
	if (!daemon->auth_pool) {
		gb_error("cannot start the password-checking thread: %s", error->message);
		return -ENOMEM;
	}
	daemon->sweep_timer = g_timeout_add_seconds(60, sweep, daemon);
	return 0;
}

void gb_auth_fini(struct gb_daemon *daemon)
{
	if (daemon->auth_pool) {
		/* Finish the queued checks (at most GB_LOGINS_PENDING_MAX), then
		 * let their answers, queued on the main loop, free them. */
		g_thread_pool_free(daemon->auth_pool, FALSE, TRUE);
		daemon->auth_pool = NULL;
		for (int i = 0; daemon->pending_logins && i < 10000; i++)
			g_main_context_iteration(NULL, TRUE);
	}
	if (daemon->sweep_timer)
		g_source_remove(daemon->sweep_timer);
	daemon->sweep_timer = 0;
	if (daemon->logins)
		g_hash_table_destroy(daemon->logins);
	if (daemon->failures)
		g_hash_table_destroy(daemon->failures);
	daemon->logins = daemon->failures = NULL;
}

void gb_auth_add_handlers(struct gb_daemon *daemon)
{
	soup_server_add_handler(daemon->server, "/api/login", handle_login, daemon, NULL);
	soup_server_add_handler(daemon->server, "/api/logout", handle_logout, daemon, NULL);
	soup_server_add_handler(daemon->server, "/api/whoami", handle_whoami, daemon, NULL);
}
