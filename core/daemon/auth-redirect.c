/* SPDX-License-Identifier: MIT */
/*
 * Logins through a provider (auth plugins with begin_login/finish_login,
 * ABI 1.1: OpenID Connect), and the list of login methods the page offers:
 *
 *   GET /api/auth/methods                   {"methods":[{plugin, method, label}, ...]}
 *   GET /api/login/redirect?plugin=NAME     302 to the provider (begin_login)
 *   GET /api/login/callback/NAME?code&state the provider sends the browser back:
 *                                           finish_login, the cookie, 302 to "/"
 *
 * Every plugin call runs on the auth worker (gb_auth_queue_work()), as
 * the password checks do: the provider's token endpoint is slow too.
 *
 * The browser that comes back must be the one that left: the redirect sets
 * a short-lived cookie (glassbox_login, SameSite=Lax so that it comes back
 * with the provider's top-level redirect) bound to the `state` the plugin
 * put in the provider's URL. A callback without it is refused before the
 * plugin sees it, so nobody can log a victim's browser in to an account
 * of theirs by making it open a callback URL they got (login CSRF).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "audit.h"
#include "auth-private.h"
#include "daemon.h"
#include "auth.h"
#include "http.h"
#include "http-checks.h"
#include "log.h"
#include "printable.h"

#define METHODS_PATH       "/api/auth/methods"
#define REDIRECT_PATH      "/api/login/redirect"
#define CALLBACK_PATH      "/api/login/callback"
#define CALLBACK_PREFIX    CALLBACK_PATH "/"
#define QUERY_VALUE_MAX    2048 /* code, state, error */
#define PLUGIN_NAME_MAX    63
#define LABEL_MAX          128
#define URL_MAX            8192
#define ERROR_MAX          256
#define BINDING_COOKIE     "glassbox_login"
#define BINDING_LIFETIME_S 600
#define BINDINGS_MAX       1024
/* Redirects under way from one client address (its key, gb_address_key):
 * a flood from one address pushes out only its own. */
#define BINDINGS_PER_ADDRESS_MAX 16
#define REFUSED_LOCATION         "/?login_error=refused"

enum job_kind {
	JOB_METHODS,
	JOB_BEGIN,
	JOB_FINISH,
};

struct redirect_job {
	struct gb_auth_job job; /* first */
	enum job_kind kind;
	char *plugin; /* its name */
	char *redirect_uri;
	char *code, *state;
	int result;
	char url[URL_MAX];
	char error[ERROR_MAX]; /* the plugin's reason for a refusal */
	struct gb_identity identity;
	char *methods; /* JSON, JOB_METHODS */
};

/* One redirect under way: SHA-256 of the cookie -> this. */
struct binding {
	char *plugin;
	char *state;       /* "" when the plugin's URL had none */
	char *address_key; /* of the client that began it */
	gint64 created_us;
};

static void binding_free(gpointer data)
{
	struct binding *binding = data;

	g_free(binding->plugin);
	g_free(binding->state);
	g_free(binding->address_key);
	g_free(binding);
}

static void redirect_job_free(struct gb_auth_job *job)
{
	struct redirect_job *redirect = (struct redirect_job *)job;

	g_free(redirect->plugin);
	g_free(redirect->redirect_uri);
	g_free(redirect->code);
	g_free(redirect->state);
	g_free(redirect->methods);
	explicit_bzero(redirect->url, sizeof(redirect->url));
	g_free(redirect);
}

/* --- plugins --------------------------------------------------------------------------- */

static bool is_redirect_plugin(const struct gb_auth_ops *ops)
{
	return GB_AUTH_OPS_HAS(ops, begin_login) && GB_AUTH_OPS_HAS(ops, finish_login);
}

/* The plugin called @name in @plugins, or NULL. */
static const struct gb_plugin *find_plugin(struct gb_plugin *const *plugins, size_t n_plugins,
                                           const char *name)
{
	for (size_t i = 0; i < n_plugins; i++)
		if (strcmp(plugins[i]->descriptor->name, name) == 0)
			return plugins[i];
	return NULL;
}

static bool plugin_name_valid(const char *name)
{
	size_t length = name ? strlen(name) : 0;

	if (length == 0 || length > PLUGIN_NAME_MAX)
		return false;
	for (size_t i = 0; i < length; i++)
		if (!g_ascii_isalnum(name[i]) && name[i] != '-' && name[i] != '_' &&
		    name[i] != '.')
			return false;
	return name[0] != '.';
}

/* A plugin's label, for the page: valid UTF-8 without control characters, bounded. */
static char *clean_label(const char *label, const char *fallback)
{
	GString *out;
	const char *p;

	if (!label || !label[0] || !g_utf8_validate(label, -1, NULL))
		return g_strdup(fallback);
	out = g_string_new(NULL);
	for (p = label; *p && g_utf8_strlen(out->str, -1) < LABEL_MAX; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);

		g_string_append_unichar(out, g_unichar_iscntrl(c) ? ' ' : c);
	}
	return g_string_free(out, FALSE);
}

static void add_method(JsonBuilder *builder, const char *plugin, const char *method,
                       const char *label)
{
	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "plugin");
	json_builder_add_string_value(builder, plugin);
	json_builder_set_member_name(builder, "method");
	json_builder_add_string_value(builder, method);
	json_builder_set_member_name(builder, "label");
	json_builder_add_string_value(builder, label);
	json_builder_end_object(builder);
}

/* --- jobs: on the worker ------------------------------------------------------------ */

static void list_methods(struct redirect_job *job, struct gb_plugin *const *plugins,
                         size_t n_plugins)
{
	g_autoptr(JsonBuilder) builder = json_builder_new();
	g_autoptr(JsonGenerator) generator = json_generator_new();
	g_autoptr(JsonNode) root = NULL;

	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "methods");
	json_builder_begin_array(builder);
	for (size_t i = 0; i < n_plugins; i++) {
		const struct gb_plugin *plugin = plugins[i];
		const struct gb_auth_ops *ops = plugin->descriptor->ops;
		const char *name = plugin->descriptor->name;
		g_autofree char *label = clean_label(
		        GB_AUTH_OPS_HAS(ops, label) ? ops->label(plugin->state) : NULL, name);

		if (ops->verify_password)
			add_method(builder, name, "password", label);
		if (is_redirect_plugin(ops))
			add_method(builder, name, "redirect", label);
	}
	json_builder_end_array(builder);
	json_builder_end_object(builder);
	root = json_builder_get_root(builder);
	json_generator_set_root(generator, root);
	job->methods = json_generator_to_data(generator, NULL);
}

/* On the worker, with the lock held. */
static void run_redirect_job(struct gb_auth_job *job, struct gb_plugin *const *plugins,
                             size_t n_plugins)
{
	struct redirect_job *redirect = (struct redirect_job *)job;
	const struct gb_plugin *plugin;
	const struct gb_auth_ops *ops;

	if (redirect->kind == JOB_METHODS) {
		list_methods(redirect, plugins, n_plugins);
		return;
	}
	/* Looked up again here: a reload may have changed the plugins since. */
	plugin = find_plugin(plugins, n_plugins, redirect->plugin);
	ops = plugin ? plugin->descriptor->ops : NULL;
	if (!ops || !is_redirect_plugin(ops)) {
		redirect->result = -ENOENT;
	} else if (redirect->kind == JOB_BEGIN) {
		redirect->result = ops->begin_login(plugin->state, redirect->redirect_uri,
		                                    redirect->url, sizeof(redirect->url));
		redirect->url[sizeof(redirect->url) - 1] = '\0';
	} else {
		redirect->identity =
		        (struct gb_identity){ .struct_size = sizeof(redirect->identity) };
		redirect->result = ops->finish_login(
		        plugin->state, redirect->redirect_uri, redirect->code, redirect->state,
		        &redirect->identity, redirect->error, sizeof(redirect->error));
		redirect->error[sizeof(redirect->error) - 1] = '\0';
	}
}

/* --- answers ------------------------------------------------------------------------------ */

static void reply_redirect(SoupServerMessage *msg, const char *location)
{
	SoupMessageHeaders *headers = soup_server_message_get_response_headers(msg);

	gb_http_add_common_headers(msg);
	soup_message_headers_replace(headers, "Cache-Control", "no-store");
	soup_message_headers_replace(headers, "Location", location);
	soup_server_message_set_status(msg, SOUP_STATUS_FOUND, NULL);
}

static bool wants_html(SoupServerMessage *msg)
{
	const char *accept = soup_message_headers_get_list(
	        soup_server_message_get_request_headers(msg), "Accept");

	return accept && strstr(accept, "text/html");
}

/* A browser that navigated here gets a page it can show; scripts get JSON. */
static void reply_problem(SoupServerMessage *msg, guint status, const char *text)
{
	g_autofree char *escaped = NULL;
	g_autofree char *page = NULL;

	if (!wants_html(msg)) {
		gb_http_reply_error(msg, status, text);
		return;
	}
	escaped = g_markup_escape_text(text, -1);
	page = g_strdup_printf("<!doctype html>\n<html lang=\"en\"><meta charset=\"utf-8\">"
	                       "<title>Glassbox: login failed</title>\n<h1>Login failed</h1>\n"
	                       "<p>%s</p>\n<p><a href=\"/\">Back to the login page</a></p>\n",
	                       escaped);
	gb_http_add_common_headers(msg);
	soup_message_headers_replace(soup_server_message_get_response_headers(msg),
	                             "Cache-Control", "no-store");
	soup_server_message_set_response(msg, "text/html; charset=utf-8", SOUP_MEMORY_COPY, page,
	                                 strlen(page));
	soup_server_message_set_status(msg, status, NULL);
}

/* "<scheme>://<Host>/api/login/callback/NAME", or NULL after answering 400. */
static char *redirect_uri(struct gb_daemon *daemon, SoupServerMessage *msg, const char *plugin)
{
	const char *host =
	        soup_message_headers_get_one(soup_server_message_get_request_headers(msg), "Host");

	if (!gb_http_host_valid(host)) {
		gb_http_reply_error(msg, SOUP_STATUS_BAD_REQUEST,
		                    "the Host header is not a host name or address with an "
		                    "optional port");
		return NULL;
	}
	return g_strdup_printf("%s://%s" CALLBACK_PREFIX "%s",
	                       gb_http_is_https(daemon) ? "https" : "http", host, plugin);
}

/* The provider's URL must be one the browser can go to, and one header line. */
static bool url_acceptable(const char *url)
{
	if (!g_str_has_prefix(url, "https://") && !g_str_has_prefix(url, "http://"))
		return false;
	for (const char *c = url; *c; c++)
		if ((unsigned char)*c < 0x21 || *c == 0x7f)
			return false;
	return g_uri_is_valid(url, G_URI_FLAGS_NONE, NULL);
}

/* The `state` parameter of the provider's URL, or "". */
static char *url_state(const char *url)
{
	g_autoptr(GUri) uri = g_uri_parse(url, G_URI_FLAGS_ENCODED_QUERY, NULL);
	g_autoptr(GHashTable) params = NULL;
	const char *query = uri ? g_uri_get_query(uri) : NULL;
	const char *state;

	if (!query)
		return g_strdup("");
	params = g_uri_parse_params(query, -1, "&", G_URI_PARAMS_WWW_FORM, NULL);
	state = params ? g_hash_table_lookup(params, "state") : NULL;
	return g_strdup(state ? state : "");
}

/*
 * Make room for a binding of @address_key: forget bindings older than their
 * cookie; an address at BINDINGS_PER_ADDRESS_MAX loses its own oldest one;
 * a full table (many addresses) loses its oldest one.
 */
static void prune_bindings(struct gb_daemon *daemon, const char *address_key, gint64 now)
{
	GHashTableIter iter;
	gpointer key, value, oldest_key = NULL, own_oldest_key = NULL;
	gint64 oldest = G_MAXINT64, own_oldest = G_MAXINT64;
	unsigned own = 0;

	g_hash_table_iter_init(&iter, daemon->auth->bindings);
	while (g_hash_table_iter_next(&iter, &key, &value)) {
		struct binding *binding = value;

		if (now - binding->created_us >= BINDING_LIFETIME_S * G_USEC_PER_SEC) {
			g_hash_table_iter_remove(&iter);
			continue;
		}
		if (binding->created_us < oldest) {
			oldest = binding->created_us;
			oldest_key = key;
		}
		if (strcmp(binding->address_key, address_key) == 0) {
			own++;
			if (binding->created_us < own_oldest) {
				own_oldest = binding->created_us;
				own_oldest_key = key;
			}
		}
	}
	if (own >= BINDINGS_PER_ADDRESS_MAX && own_oldest_key)
		g_hash_table_remove(daemon->auth->bindings, own_oldest_key);
	else if (g_hash_table_size(daemon->auth->bindings) >= BINDINGS_MAX && oldest_key)
		g_hash_table_remove(daemon->auth->bindings, oldest_key);
}

/* Bind this browser to the redirect: a cookie, and its hash -> (plugin, state). */
static bool bind_browser(struct gb_daemon *daemon, SoupServerMessage *msg, const char *plugin,
                         const char *url, const char *address_key)
{
	char token[GB_RANDOM_TOKEN_SIZE];
	g_autofree char *cookie = NULL;
	struct binding *binding;
	int r;

	r = gb_random_token(token, sizeof(token));
	if (r < 0) {
		errno = -r;
		return false;
	}
	prune_bindings(daemon, address_key, g_get_monotonic_time());
	binding = g_new0(struct binding, 1);
	binding->plugin = g_strdup(plugin);
	binding->address_key = g_strdup(address_key);
	binding->state = url_state(url);
	binding->created_us = g_get_monotonic_time();
	g_hash_table_replace(daemon->auth->bindings,
	                     g_compute_checksum_for_string(G_CHECKSUM_SHA256, token, -1), binding);
	cookie = g_strdup_printf(BINDING_COOKIE "=%s; Path=" CALLBACK_PREFIX "; HttpOnly; "
	                                        "SameSite=Lax%s; Max-Age=%d",
	                         token, gb_http_is_https(daemon) ? "; Secure" : "",
	                         BINDING_LIFETIME_S);
	soup_message_headers_append(soup_server_message_get_response_headers(msg), "Set-Cookie",
	                            cookie);
	return true;
}

/* The binding of the request's glassbox_login cookie, or NULL. */
static struct binding *find_binding(struct gb_daemon *daemon, SoupServerMessage *msg)
{
	const char *cookies = soup_message_headers_get_list(
	        soup_server_message_get_request_headers(msg), "Cookie");
	g_auto(GStrv) items = NULL;

	if (!cookies || strlen(cookies) > 8192)
		return NULL;
	items = g_strsplit_set(cookies, ";,", 128);
	for (size_t i = 0; items[i]; i++) {
		const char *item = g_strstrip(items[i]);
		g_autofree char *key = NULL;
		struct binding *binding;

		if (!g_str_has_prefix(item, BINDING_COOKIE "="))
			continue;
		key = g_compute_checksum_for_string(G_CHECKSUM_SHA256,
		                                    item + strlen(BINDING_COOKIE "="), -1);
		binding = g_hash_table_lookup(daemon->auth->bindings, key);
		if (binding && g_get_monotonic_time() - binding->created_us <
		                       BINDING_LIFETIME_S * G_USEC_PER_SEC)
			return binding;
	}
	return NULL;
}

static void clear_binding_cookie(struct gb_daemon *daemon, SoupServerMessage *msg)
{
	g_autofree char *cookie =
	        g_strdup_printf(BINDING_COOKIE "=; Path=" CALLBACK_PREFIX "; HttpOnly; "
	                                       "SameSite=Lax%s; Max-Age=0",
	                        gb_http_is_https(daemon) ? "; Secure" : "");

	soup_message_headers_append(soup_server_message_get_response_headers(msg), "Set-Cookie",
	                            cookie);
}

/* A refused or failed callback: counted, logged, audited. */
static void callback_failed(struct gb_daemon *daemon, SoupServerMessage *msg,
                            const char *address_key, const char *plugin, int result,
                            const char *why)
{
	const char *peer = gb_http_peer(msg);

	gb_auth_count_failure(daemon, address_key, NULL);
	if (result == -EACCES) {
		gb_warning("redirect login through auth plugin %s from %s refused: %s", plugin,
		           peer, why);
		gb_audit_login(GB_AUDIT_LOGIN_FAILURE, NULL, peer, plugin, why);
		gb_events_emit_login_failed(&daemon->events, GB_LOGIN_FAILURE_REFUSED);
	} else {
		g_autofree char *reason =
		        g_strdup_printf("%s%s%s", strerror(-result), why[0] ? ": " : "", why);

		gb_error("redirect login through auth plugin %s from %s failed: %s", plugin, peer,
		         reason);
		gb_audit_login(GB_AUDIT_LOGIN_FAILURE, NULL, peer, plugin, reason);
		gb_events_emit_login_failed(&daemon->events, GB_LOGIN_FAILURE_ERROR);
	}
}

static bool identity_acceptable(const struct gb_identity *identity)
{
	const char *end = memchr(identity->user, '\0', sizeof(identity->user));

	if (!end || end == identity->user)
		return false;
	for (const char *c = identity->user; c < end; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return false;
	return true;
}

/* --- jobs: back on the main loop ----------------------------------------------------- */

static void methods_done(struct redirect_job *redirect)
{
	gb_http_reply_json(redirect->job.msg, SOUP_STATUS_OK, redirect->methods);
	gb_auth_job_finish(&redirect->job);
}

static void begin_done(struct redirect_job *redirect)
{
	struct gb_auth_job *job = &redirect->job;
	struct gb_daemon *daemon = job->daemon;

	if (redirect->result == -ENOENT) {
		gb_http_reply_error(job->msg, SOUP_STATUS_NOT_FOUND,
		                    "no such redirect login plugin");
	} else if (redirect->result < 0) {
		gb_error("redirect login through auth plugin %s from %s: cannot begin: %s",
		         redirect->plugin, job->peer, strerror(-redirect->result));
		reply_problem(job->msg, SOUP_STATUS_BAD_GATEWAY,
		              "The identity provider cannot be reached now; try again later.");
	} else if (!url_acceptable(redirect->url)) {
		gb_error("redirect login: auth plugin %s gave a URL that is not an absolute "
		         "http(s) URL of one line",
		         redirect->plugin);
		reply_problem(
		        job->msg, SOUP_STATUS_BAD_GATEWAY,
		        "The login plugin gave no usable address for the identity provider.");
	} else if (!bind_browser(daemon, job->msg, redirect->plugin, redirect->url,
	                         job->address_key)) {
		gb_error("cannot get random bytes for a login cookie: %s", strerror(errno));
		gb_http_reply_error(job->msg, SOUP_STATUS_INTERNAL_SERVER_ERROR,
		                    "cannot log in now");
	} else {
		gb_info("redirect login through auth plugin %s from %s: sent to the provider",
		        redirect->plugin, job->peer);
		reply_redirect(job->msg, redirect->url);
	}
	gb_auth_job_finish(job);
}

static void finish_done(struct redirect_job *redirect)
{
	struct gb_auth_job *job = &redirect->job;
	struct gb_daemon *daemon = job->daemon;
	gint64 due = job->started_us + GB_LOGIN_FAILURE_DELAY_MS * 1000;

	/* Charged while it ran; a failure is counted again below, with its reason. */
	gb_auth_refund_attempt(job);
	clear_binding_cookie(daemon, job->msg);
	if (redirect->result == -ENOENT) {
		gb_http_reply_error(job->msg, SOUP_STATUS_NOT_FOUND,
		                    "no such redirect login plugin");
		gb_auth_job_finish(job);
		return;
	}
	if (redirect->result == 0 && !identity_acceptable(&redirect->identity)) {
		redirect->result = -EACCES;
		g_strlcpy(redirect->error, "the plugin returned an empty or unprintable user name",
		          sizeof(redirect->error));
	}
	if (redirect->result == 0) {
		if (gb_auth_add_login(daemon, job->msg, &redirect->identity, redirect->plugin,
		                      job->peer))
			reply_redirect(job->msg, "/");
		else
			reply_problem(job->msg, SOUP_STATUS_INTERNAL_SERVER_ERROR,
			              "The login cannot be completed now; try again.");
		gb_auth_job_finish(job);
		return;
	}
	callback_failed(daemon, job->msg, job->address_key, redirect->plugin, redirect->result,
	                redirect->error[0] ? redirect->error : "(no reason given)");
	if (redirect->result == -EACCES)
		reply_redirect(job->msg, REFUSED_LOCATION);
	else
		reply_problem(job->msg, SOUP_STATUS_BAD_GATEWAY,
		              "The identity provider cannot be reached now; try again later.");
	gb_auth_job_finish_at(job, due);
}

static void redirect_job_done(struct gb_auth_job *job)
{
	struct redirect_job *redirect = (struct redirect_job *)job;

	if (!gb_http_serving(job->daemon)) {
		gb_auth_job_finish(job); /* stopping: nobody to answer */
		return;
	}
	switch (redirect->kind) {
	case JOB_METHODS:
		methods_done(redirect);
		break;
	case JOB_BEGIN:
		begin_done(redirect);
		break;
	case JOB_FINISH:
		finish_done(redirect);
		break;
	}
}

static struct redirect_job *new_job(enum job_kind kind, const char *plugin)
{
	struct redirect_job *redirect = g_new0(struct redirect_job, 1);

	redirect->job.run = run_redirect_job;
	redirect->job.done = redirect_job_done;
	redirect->job.free = redirect_job_free;
	redirect->kind = kind;
	redirect->plugin = g_strdup(plugin);
	return redirect;
}

/* --- handlers ------------------------------------------------------------------------------ */

/* The query parameter @name: NULL when absent; false after 400 when too long. */
static bool query_value(SoupServerMessage *msg, GHashTable *query, const char *name,
                        const char **value)
{
	*value = query ? g_hash_table_lookup(query, name) : NULL;
	if (*value && strlen(*value) > QUERY_VALUE_MAX) {
		g_autofree char *message = g_strdup_printf(
		        "the parameter '%s' is longer than %d bytes", name, QUERY_VALUE_MAX);

		gb_http_reply_error(msg, SOUP_STATUS_BAD_REQUEST, message);
		return false;
	}
	return true;
}

static bool redirect_plugin_loaded(struct gb_daemon *daemon, const char *name)
{
	const struct gb_plugin *plugin =
	        plugin_name_valid(name)
	                ? find_plugin(daemon->auth->plugins, daemon->auth->n_plugins, name)
	                : NULL;

	return plugin && is_redirect_plugin(plugin->descriptor->ops);
}

/*
 * What the redirect and the callback check first: the client's failures,
 * the plugin, the Host header. The callback URL (g_free it) with
 * *@address_key (the client's, g_free it); NULL after answering.
 */
static char *redirect_checks(struct gb_daemon *daemon, SoupServerMessage *msg, const char *plugin,
                             char **address_key)
{
	*address_key = gb_address_key(gb_http_peer(msg));
	if (gb_auth_refuse_if_throttled(daemon, msg, *address_key, NULL))
		return NULL;
	if (!redirect_plugin_loaded(daemon, plugin)) {
		gb_http_reply_error(msg, SOUP_STATUS_NOT_FOUND, "no such redirect login plugin");
		return NULL;
	}
	return redirect_uri(daemon, msg, plugin);
}

static void handle_methods(SoupServer *server, SoupServerMessage *msg, const char *path,
                           GHashTable *query, gpointer data)
{
	struct gb_daemon *daemon = data;

	if (strcmp(path, METHODS_PATH) != 0) {
		gb_http_reply_error(msg, SOUP_STATUS_NOT_FOUND, "no such API");
		return;
	}
	if (!gb_http_accept_get(msg))
		return;
	gb_auth_job_queue(&new_job(JOB_METHODS, NULL)->job, daemon, msg);
}

static void handle_redirect(SoupServer *server, SoupServerMessage *msg, const char *path,
                            GHashTable *query, gpointer data)
{
	struct gb_daemon *daemon = data;
	g_autofree char *address_key = NULL;
	struct redirect_job *redirect;
	const char *plugin = NULL;
	char *uri;

	if (strcmp(path, REDIRECT_PATH) != 0) {
		gb_http_reply_error(msg, SOUP_STATUS_NOT_FOUND, "no such API");
		return;
	}
	if (!gb_http_accept_get(msg) || !query_value(msg, query, "plugin", &plugin))
		return;
	uri = redirect_checks(daemon, msg, plugin, &address_key);
	if (!uri)
		return;
	redirect = new_job(JOB_BEGIN, plugin);
	redirect->redirect_uri = uri;
	redirect->job.address_key = g_steal_pointer(&address_key);
	gb_auth_job_queue(&redirect->job, daemon, msg);
}

static void handle_callback(SoupServer *server, SoupServerMessage *msg, const char *path,
                            GHashTable *query, gpointer data)
{
	struct gb_daemon *daemon = data;
	const char *plugin = path + strlen(CALLBACK_PREFIX);
	g_autofree char *address_key = NULL;
	g_autofree char *provider_error = NULL;
	struct redirect_job *redirect;
	const char *code, *state, *error;
	struct binding *binding;
	char *uri;

	if (!g_str_has_prefix(path, CALLBACK_PREFIX) || !plugin_name_valid(plugin)) {
		gb_http_reply_error(msg, SOUP_STATUS_NOT_FOUND, "no such API");
		return;
	}
	if (!gb_http_accept_get(msg) || !query_value(msg, query, "code", &code) ||
	    !query_value(msg, query, "state", &state) || !query_value(msg, query, "error", &error))
		return;
	uri = redirect_checks(daemon, msg, plugin, &address_key);
	if (!uri)
		return;
	binding = find_binding(daemon, msg);
	if (!binding || strcmp(binding->plugin, plugin) != 0 ||
	    (binding->state[0] && g_strcmp0(binding->state, state) != 0)) {
		g_free(uri);
		callback_failed(daemon, msg, address_key, plugin, -EACCES,
		                binding ? "the state does not match the login this browser began"
		                        : "no login was begun in this browser (no glassbox_login "
		                          "cookie)");
		clear_binding_cookie(daemon, msg);
		reply_redirect(msg, REFUSED_LOCATION);
		return;
	}
	if (error) {
		/* The provider's own refusal (access_denied, ...): the plugin still
		 * decides, and says why, with no code. */
		provider_error = gb_printable_dup(error);
		gb_info("redirect login through auth plugin %s from %s: the provider answered "
		        "error=%s",
		        plugin, gb_http_peer(msg), provider_error);
	}
	redirect = new_job(JOB_FINISH, plugin);
	redirect->redirect_uri = uri;
	redirect->code = g_strdup(code);
	redirect->state = g_strdup(state);
	redirect->job.address_key = g_steal_pointer(&address_key);
	redirect->job.daemon = daemon;
	gb_auth_charge_attempt(&redirect->job, NULL);
	gb_auth_job_queue(&redirect->job, daemon, msg);
}

void gb_auth_redirect_init(struct gb_daemon *daemon)
{
	daemon->auth->bindings =
	        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, binding_free);
}

void gb_auth_redirect_fini(struct gb_daemon *daemon)
{
	if (daemon->auth->bindings)
		g_hash_table_destroy(daemon->auth->bindings);
	daemon->auth->bindings = NULL;
}

void gb_auth_redirect_add_routes(struct gb_daemon *daemon)
{
	gb_http_add_route(daemon, METHODS_PATH, handle_methods, daemon, 0);
	gb_http_add_route(daemon, REDIRECT_PATH, handle_redirect, daemon, 0);
	gb_http_add_route(daemon, CALLBACK_PATH, handle_callback, daemon, 0);
}
