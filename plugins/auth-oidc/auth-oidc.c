/* SPDX-License-Identifier: MIT */
/*
 * auth-oidc: log users in through an OpenID Connect provider (Keycloak,
 * Authentik, Dex, Entra ID, ...) with the authorization code flow and PKCE.
 *
 * begin_login() fetches (and caches) the provider's discovery document and
 * sends the browser to its authorization endpoint with a fresh state, nonce
 * and S256 code challenge; finish_login() takes the state out of the table of
 * pending logins (so an answer is good once), trades the code for tokens at
 * the token endpoint, checks the ID token's signature against the provider's
 * JWKS (cached; an unknown kid fetches the keys again, at most once a minute)
 * and its claims, and maps the user name claim and the groups claim to an
 * identity. The host calls both on its auth worker thread, never two at
 * once, so slow network calls are fine here and no lock is needed.
 *
 * init() never talks to the provider: glassboxd starts while the provider is
 * down, and logins through it fail with a clear reason until it is back.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "oidc-private.h"

#define PLUGIN_NAME "oidc"

#define DISCOVERY_TTL_S         3600
#define KEYS_TTL_S              3600
#define KEYS_REFETCH_MIN_S      60
#define SECRET_FILE_MAX         4096
#define CLIENT_ID_MAX           255
#define SCOPES_MAX              512
#define CLAIM_NAME_MAX          64
#define LABEL_MAX               128
#define USERNAME_PREFIX_MAX     32
#define EVICTION_LOG_INTERVAL_S 60

enum token_auth {
	TOKEN_AUTH_NONE,  /* a public client: PKCE only, client_id in the form */
	TOKEN_AUTH_BASIC, /* client_secret_basic */
	TOKEN_AUTH_POST,  /* client_secret_post */
};

struct discovery {
	char *authorization_endpoint;
	char *token_endpoint;
	char *jwks_uri;
	enum token_auth token_auth;
	int64_t fetched; /* monotonic seconds; 0: none */
};

struct oidc {
	const struct gb_host *host;

	/* Settings; strings point into the host's settings, valid until fini. */
	const char *issuer;
	const char *client_id;
	const char *redirect_uri; /* NULL: the host's */
	const char *scopes;
	const char *username_claim;
	const char *groups_claim;
	const char *username_prefix;
	char *client_secret; /* NULL: a public client */
	char *label;
	struct oidc_group_list admin_groups;
	struct oidc_group_list user_groups;
	bool allow_any_account; /* user_groups empty on purpose */
	struct oidc_http_options http;
	int64_t keys_refetch_min_s;

	struct discovery discovery;
	struct oidc_keyset *keys;
	char *keys_uri;
	int64_t keys_fetched; /* monotonic seconds; 0: never */
	struct oidc_pending_table pending;
	int64_t last_eviction_log;
};

static const struct gb_option oidc_options[] = {
	{ .key = "issuer",
	  .type = GB_VALUE_STRING,
	  .default_value = NULL,
	  .help = "the provider's issuer URL, exactly as its discovery document says (required; "
	          "https://, or http:// to a loopback address)" },
	{ .key = "client_id",
	  .type = GB_VALUE_STRING,
	  .default_value = NULL,
	  .help = "the client id registered at the provider (required)" },
	{ .key = "client_secret",
	  .type = GB_VALUE_STRING,
	  .default_value = "",
	  .help = "the client secret; prefer client_secret_file. Neither: a public client (PKCE "
	          "only)" },
	{ .key = "client_secret_file",
	  .type = GB_VALUE_STRING,
	  .default_value = "",
	  .help = "a file holding the client secret, mode 0600 (or stricter)" },
	{ .key = "redirect_uri",
	  .type = GB_VALUE_STRING,
	  .default_value = "",
	  .help = "the callback URL registered at the provider; default: "
	          "<scheme>://<host>/api/login/callback/oidc as the browser reached glassboxd" },
	{ .key = "scopes",
	  .type = GB_VALUE_STRING,
	  .default_value = "openid profile email",
	  .help = "scopes asked for, separated by spaces; must include openid" },
	{ .key = "username_claim",
	  .type = GB_VALUE_STRING,
	  .default_value = "preferred_username",
	  .help = "the ID token claim that names the user (1-63 of A-Z a-z 0-9 . _ - @)" },
	{ .key = "username_prefix",
	  .type = GB_VALUE_STRING,
	  .default_value = "",
	  .help = "put before every user name from this provider (\"sso-\"), so that its users "
	          "never share a name with another plugin's" },
	{ .key = "groups_claim",
	  .type = GB_VALUE_STRING,
	  .default_value = "groups",
	  .help = "the ID token claim listing the user's groups" },
	{ .key = "admin_groups",
	  .type = GB_VALUE_STRING,
	  .default_value = "",
	  .help = "comma-separated groups whose members get the admin role" },
	{ .key = "user_groups",
	  .type = GB_VALUE_STRING,
	  .default_value = "",
	  .help = "comma-separated groups whose members may log in (or admin_groups'); "
	          "required unless allow_any_account = true" },
	{ .key = "allow_any_account",
	  .type = GB_VALUE_BOOL,
	  .default_value = "false",
	  .help = "let every account the provider vouches for log in when user_groups is empty "
	          "(a multi-tenant provider vouches for anyone's account)" },
	{ .key = "label",
	  .type = GB_VALUE_STRING,
	  .default_value = "",
	  .help = "the login button's words; default \"Sign in with <issuer's host>\"" },
	{ .key = "ca_file",
	  .type = GB_VALUE_STRING,
	  .default_value = "",
	  .help = "PEM file of the CA(s) to trust for the provider instead of the system's" },
	{ .key = "timeout_s",
	  .type = GB_VALUE_INT,
	  .default_value = "10",
	  .min = 1,
	  .max = 120,
	  .help = "seconds to wait for the provider per request" },
	{ .key = NULL },
};

static int64_t monotonic_s(void)
{
	return g_get_monotonic_time() / G_USEC_PER_SEC;
}

static void discovery_clear(struct discovery *discovery)
{
	g_free(discovery->authorization_endpoint);
	g_free(discovery->token_endpoint);
	g_free(discovery->jwks_uri);
	memset(discovery, 0, sizeof(*discovery));
}

static void oidc_free(struct oidc *oidc)
{
	if (!oidc)
		return;
	if (oidc->client_secret) {
		explicit_bzero(oidc->client_secret, strlen(oidc->client_secret));
		g_free(oidc->client_secret);
	}
	g_free(oidc->label);
	oidc_group_list_clear(&oidc->admin_groups);
	oidc_group_list_clear(&oidc->user_groups);
	if (oidc->http.tls_database)
		g_object_unref(oidc->http.tls_database);
	discovery_clear(&oidc->discovery);
	oidc_keyset_free(oidc->keys);
	g_free(oidc->keys_uri);
	if (oidc->pending.entries)
		oidc_pending_table_clear(&oidc->pending);
	g_free(oidc);
}

/* ---- settings ---- */

static bool all_printable(const char *text, bool allow_space)
{
	for (const char *c = text; *c; c++)
		if ((unsigned char)*c < (allow_space ? 0x20 : 0x21) || (unsigned char)*c >= 0x7f)
			return false;
	return true;
}

static bool has_word(const char *list, const char *word)
{
	size_t length = strlen(word);

	for (const char *c = list; *c;) {
		size_t n;

		c += strspn(c, " ");
		n = strcspn(c, " ");
		if (n == length && strncmp(c, word, n) == 0)
			return true;
		c += n;
	}
	return false;
}

static const char *claim_name_problem(const char *name)
{
	size_t length = strlen(name);

	if (length == 0)
		return "is empty";
	if (length > CLAIM_NAME_MAX)
		return "is longer than 64 characters";
	if (strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:/-") !=
	    length)
		return "holds a character other than A-Z a-z 0-9 _ . : / -";
	return NULL;
}

/* The client secret from @path: a regular file of mode 0600 or stricter. */
static int read_secret_file(struct oidc *oidc, const char *path, char **secret)
{
	char data[SECRET_FILE_MAX + 1];
	size_t done = 0;
	struct stat st;
	int fd, r;

	if (path[0] != '/') {
		gb_plugin_log(oidc->host, GB_LOG_ERROR,
		              "settings.client_secret_file '%s' is not an absolute path", path);
		return -EINVAL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		gb_plugin_log(oidc->host, GB_LOG_ERROR,
		              "settings.client_secret_file %s: cannot open: %s", path,
		              strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		gb_plugin_log(oidc->host, GB_LOG_ERROR,
		              "settings.client_secret_file %s: cannot stat: %s", path,
		              strerror(-r));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		gb_plugin_log(oidc->host, GB_LOG_ERROR,
		              "settings.client_secret_file %s: not a regular file", path);
		goto out;
	}
	if (st.st_mode & 0077) {
		r = -EPERM;
		gb_plugin_log(
		        oidc->host, GB_LOG_ERROR,
		        "settings.client_secret_file %s: mode %04o lets others read or change it; "
		        "run chmod 600 on it",
		        path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	while (done <= SECRET_FILE_MAX) {
		ssize_t n = read(fd, data + done, sizeof(data) - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			gb_plugin_log(oidc->host, GB_LOG_ERROR,
			              "settings.client_secret_file %s: cannot read: %s", path,
			              strerror(-r));
			goto out;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	if (done > SECRET_FILE_MAX) {
		r = -EFBIG;
		gb_plugin_log(oidc->host, GB_LOG_ERROR,
		              "settings.client_secret_file %s: larger than %d bytes; not a secret",
		              path, SECRET_FILE_MAX);
		goto out;
	}
	/* One line, as `echo SECRET > file` writes it. */
	while (done > 0 && (data[done - 1] == '\n' || data[done - 1] == '\r'))
		done--;
	data[done] = '\0';
	if (done == 0 || strlen(data) != done || !all_printable(data, false)) {
		r = -EINVAL;
		gb_plugin_log(oidc->host, GB_LOG_ERROR,
		              "settings.client_secret_file %s: must hold one line of printable "
		              "characters without blanks",
		              path);
		goto out;
	}
	*secret = g_strdup(data);
	r = 0;
out:
	explicit_bzero(data, sizeof(data));
	close(fd);
	return r;
}

static int check_url_setting(struct oidc *oidc, const char *key, const char *url)
{
	const char *problem = oidc_url_problem(url);

	if (problem) {
		gb_plugin_log(oidc->host, GB_LOG_ERROR, "settings.%s '%.200s' %s", key, url,
		              problem);
		return -EINVAL;
	}
	return 0;
}

/* The provider and who we are to it: issuer, client id and secret, redirect URI. */
static int read_client_settings(struct oidc *oidc, const struct gb_settings *settings)
{
	const char *secret = gb_settings_get_string(settings, "client_secret");
	const char *secret_file = gb_settings_get_string(settings, "client_secret_file");
	const char *redirect_uri = gb_settings_get_string(settings, "redirect_uri");
	int r;

	if (!oidc->issuer || check_url_setting(oidc, "issuer", oidc->issuer) < 0)
		return -EINVAL;
	if (strchr(oidc->issuer, '?')) {
		gb_plugin_log(
		        oidc->host, GB_LOG_ERROR,
		        "settings.issuer '%.200s' holds a query; an issuer is a scheme, host and "
		        "path",
		        oidc->issuer);
		return -EINVAL;
	}
	if (!oidc->client_id || !oidc->client_id[0] || strlen(oidc->client_id) > CLIENT_ID_MAX ||
	    !all_printable(oidc->client_id, false)) {
		gb_plugin_log(
		        oidc->host, GB_LOG_ERROR,
		        "settings.client_id must be 1 to %d printable characters without blanks",
		        CLIENT_ID_MAX);
		return -EINVAL;
	}
	if (secret && secret[0] && secret_file && secret_file[0]) {
		gb_plugin_log(
		        oidc->host, GB_LOG_ERROR,
		        "settings.client_secret and settings.client_secret_file are both set; "
		        "keep one (the file)");
		return -EINVAL;
	}
	if (secret_file && secret_file[0]) {
		r = read_secret_file(oidc, secret_file, &oidc->client_secret);
		if (r < 0)
			return r;
	} else if (secret && secret[0]) {
		if (!all_printable(secret, false) || strlen(secret) > SECRET_FILE_MAX) {
			gb_plugin_log(
			        oidc->host, GB_LOG_ERROR,
			        "settings.client_secret must be printable characters without "
			        "blanks");
			return -EINVAL;
		}
		oidc->client_secret = g_strdup(secret);
	}
	if (redirect_uri && redirect_uri[0]) {
		if (check_url_setting(oidc, "redirect_uri", redirect_uri) < 0)
			return -EINVAL;
		oidc->redirect_uri = redirect_uri;
	}
	return 0;
}

/* What we ask the provider for and how its ID token names the user. */
static int read_claim_settings(struct oidc *oidc)
{
	const char *problem;

	if (!oidc->scopes || strlen(oidc->scopes) > SCOPES_MAX ||
	    !all_printable(oidc->scopes, true) || strpbrk(oidc->scopes, "\"\\") ||
	    !has_word(oidc->scopes, "openid")) {
		gb_plugin_log(oidc->host, GB_LOG_ERROR,
		              "settings.scopes must be scopes separated by spaces, at most %d "
		              "characters, and include openid",
		              SCOPES_MAX);
		return -EINVAL;
	}
	if ((problem = claim_name_problem(oidc->username_claim ? oidc->username_claim : ""))) {
		gb_plugin_log(oidc->host, GB_LOG_ERROR, "settings.username_claim %s", problem);
		return -EINVAL;
	}
	if ((problem = claim_name_problem(oidc->groups_claim ? oidc->groups_claim : ""))) {
		gb_plugin_log(oidc->host, GB_LOG_ERROR, "settings.groups_claim %s", problem);
		return -EINVAL;
	}
	if (oidc->username_prefix && oidc->username_prefix[0]) {
		size_t length = strlen(oidc->username_prefix);

		if (length > USERNAME_PREFIX_MAX || oidc->username_prefix[0] == '.' ||
		    oidc->username_prefix[0] == '-' ||
		    strspn(oidc->username_prefix,
		           "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVW"
		           "XYZ0123456789._-") != length) {
			gb_plugin_log(
			        oidc->host, GB_LOG_ERROR,
			        "settings.username_prefix must be at most %d of A-Z a-z 0-9 . _ "
			        "-, "
			        "not starting with '.' or '-'",
			        USERNAME_PREFIX_MAX);
			return -EINVAL;
		}
	}
	return 0;
}

/* Who may log in (user_groups, allow_any_account) and who is an admin. */
static int read_group_settings(struct oidc *oidc, const struct gb_settings *settings)
{
	const char *keys[] = { "admin_groups", "user_groups" };
	struct oidc_group_list *lists[] = { &oidc->admin_groups, &oidc->user_groups };
	char error[128];

	for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
		if (oidc_group_list_parse(gb_settings_get_string(settings, keys[i]), lists[i],
		                          error, sizeof(error)) < 0) {
			gb_plugin_log(oidc->host, GB_LOG_ERROR, "settings.%s %s", keys[i], error);
			return -EINVAL;
		}
	}
	/* Without a group rule every account of the issuer gets in, and an
	 * issuer such as Entra ID's common endpoint or Google vouches for
	 * anybody's: that must be asked for, not fallen into. */
	oidc->allow_any_account = gb_settings_get_bool(settings, "allow_any_account", false);
	if (oidc->user_groups.count == 0 && !oidc->allow_any_account) {
		gb_plugin_log(
		        oidc->host, GB_LOG_ERROR,
		        "settings.user_groups is empty, so every account the provider vouches "
		        "for could log in; set user_groups to the groups that may (their members "
		        "and admin_groups' log in), or set allow_any_account = true if every "
		        "account of %.200s may",
		        oidc->issuer);
		return -EINVAL;
	}
	return 0;
}

/* The login page's words: settings.label, or "Sign in with <issuer's host>". */
static int read_label_setting(struct oidc *oidc, const char *label)
{
	GUri *uri;

	if (label && label[0]) {
		if (strlen(label) > LABEL_MAX || !all_printable(label, true)) {
			gb_plugin_log(oidc->host, GB_LOG_ERROR,
			              "settings.label must be at most %d characters of one line",
			              LABEL_MAX);
			return -EINVAL;
		}
		oidc->label = g_strdup(label);
	} else {
		uri = g_uri_parse(oidc->issuer, G_URI_FLAGS_ENCODED, NULL);
		oidc->label =
		        g_strdup_printf("Sign in with %s", uri ? g_uri_get_host(uri) : "SSO");
		if (uri)
			g_uri_unref(uri);
	}
	return 0;
}

/* The CAs the provider's certificate is checked against; none: the system's. */
static int read_ca_file_setting(struct oidc *oidc, const char *ca_file)
{
	g_autoptr(GError) gerror = NULL;

	if (ca_file && ca_file[0]) {
		if (ca_file[0] != '/') {
			gb_plugin_log(oidc->host, GB_LOG_ERROR,
			              "settings.ca_file '%s' is not an absolute path", ca_file);
			return -EINVAL;
		}
		oidc->http.tls_database = g_tls_file_database_new(ca_file, &gerror);
		if (!oidc->http.tls_database) {
			gb_plugin_log(oidc->host, GB_LOG_ERROR, "settings.ca_file %s: %s", ca_file,
			              gerror->message);
			return -EINVAL;
		}
	}
	return 0;
}

static int read_settings(struct oidc *oidc, const struct gb_settings *settings)
{
	int r;

	oidc->issuer = gb_settings_get_string(settings, "issuer");
	oidc->client_id = gb_settings_get_string(settings, "client_id");
	oidc->scopes = gb_settings_get_string(settings, "scopes");
	oidc->username_claim = gb_settings_get_string(settings, "username_claim");
	oidc->groups_claim = gb_settings_get_string(settings, "groups_claim");
	oidc->username_prefix = gb_settings_get_string(settings, "username_prefix");
	oidc->http.timeout_s = (int)gb_settings_get_int(settings, "timeout_s", 10);

	if ((r = read_client_settings(oidc, settings)) < 0 ||
	    (r = read_claim_settings(oidc)) < 0 || (r = read_group_settings(oidc, settings)) < 0 ||
	    (r = read_label_setting(oidc, gb_settings_get_string(settings, "label"))) < 0)
		return r;
	return read_ca_file_setting(oidc, gb_settings_get_string(settings, "ca_file"));
}

static int oidc_init(const struct gb_host *host, const struct gb_settings *settings, void **state)
{
	struct oidc *oidc;
	const char *refetch;
	int r;

	oidc = g_new0(struct oidc, 1);
	oidc->host = host;
	oidc->keys_refetch_min_s = KEYS_REFETCH_MIN_S;
	/* Tests only: a shorter pause between key fetches for an unknown kid,
	 * so that rotation can be tested without waiting a minute. */
	refetch = getenv("GB_TEST_OIDC_KEYS_REFETCH_S");
	if (refetch && refetch[0]) {
		oidc->keys_refetch_min_s = CLAMP(g_ascii_strtoll(refetch, NULL, 10), 0, 3600);
		gb_plugin_log(oidc->host, GB_LOG_WARNING,
		              "GB_TEST_OIDC_KEYS_REFETCH_S: keys fetched again after %" PRId64
		              " s for an unknown kid; for tests only",
		              oidc->keys_refetch_min_s);
	}
	r = read_settings(oidc, settings);
	if (r < 0)
		goto fail;
	r = oidc_pending_table_init(&oidc->pending, OIDC_PENDING_MAX, OIDC_PENDING_EXPIRY_S);
	if (r < 0)
		goto fail;
	gb_plugin_log(
	        oidc->host, GB_LOG_INFO,
	        "issuer %s, client '%s' (%s), user name from '%s%s', groups from '%s' (%zu admin "
	        "group%s, %s); the provider is first asked at the first login",
	        oidc->issuer, oidc->client_id,
	        oidc->client_secret ? "with a secret" : "public, PKCE only", oidc->username_prefix,
	        oidc->username_claim, oidc->groups_claim, oidc->admin_groups.count,
	        oidc->admin_groups.count == 1 ? "" : "s",
	        oidc->user_groups.count ? "only members of user_groups may log in"
	                                : "every account may log in (allow_any_account)");
	*state = oidc;
	return 0;
fail:
	oidc_free(oidc);
	return r;
}

static void oidc_fini(void *state)
{
	oidc_free(state);
}

/* ---- the provider ---- */

static const char *json_string(JsonObject *object, const char *name)
{
	JsonNode *node = json_object_get_member(object, name);

	if (!node || !JSON_NODE_HOLDS_VALUE(node) ||
	    json_node_get_value_type(node) != G_TYPE_STRING)
		return NULL;
	return json_node_get_string(node);
}

static bool json_list_has(JsonObject *object, const char *name, const char *value, bool *present)
{
	JsonNode *node = json_object_get_member(object, name);
	JsonArray *array;
	guint n;

	*present = node && JSON_NODE_HOLDS_ARRAY(node);
	if (!*present)
		return false;
	array = json_node_get_array(node);
	n = json_array_get_length(array);
	for (guint i = 0; i < n && i < 256; i++) {
		JsonNode *item = json_array_get_element(array, i);

		if (JSON_NODE_HOLDS_VALUE(item) &&
		    json_node_get_value_type(item) == G_TYPE_STRING &&
		    strcmp(json_node_get_string(item), value) == 0)
			return true;
	}
	return false;
}

/* Parse a JSON object out of an HTTP body; NULL with @error. */
static JsonObject *body_object(JsonParser *parser, GBytes *body, const char *what, char *error,
                               size_t error_size)
{
	gsize size = 0;
	const char *data = g_bytes_get_data(body, &size);
	JsonNode *root;

	if (!json_parser_load_from_data(parser, data ? data : "", (gssize)size, NULL) ||
	    !(root = json_parser_get_root(parser)) || !JSON_NODE_HOLDS_OBJECT(root)) {
		gb_error_set(error, error_size, "%s is not a JSON object", what);
		return NULL;
	}
	return json_node_get_object(root);
}

/* The discovery document, from the cache while it is younger than an hour. */
/* Check the discovery document fetched from @url and take its endpoints into @found. */
static int read_discovery(const struct oidc *oidc, JsonObject *document, const char *url,
                          struct discovery *found, char *error, size_t error_size)
{
	const char *names[] = { "authorization_endpoint", "token_endpoint", "jwks_uri" };
	char **slots[] = { &found->authorization_endpoint, &found->token_endpoint,
		           &found->jwks_uri };
	const char *value, *problem;
	bool present;

	value = json_string(document, "issuer");
	if (!value || strcmp(value, oidc->issuer) != 0) {
		gb_error_set(error, error_size,
		             "discovery: the document at %s names issuer '%.200s', not '%s' as "
		             "settings.issuer says (they must be equal, to the last '/')",
		             url, value ? value : "(none)", oidc->issuer);
		return -EIO;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		value = json_string(document, names[i]);
		problem = value ? oidc_url_problem(value) : "is missing";
		if (problem) {
			gb_error_set(error, error_size, "discovery: %s %s", names[i], problem);
			return -EIO;
		}
		*slots[i] = g_strdup(value);
	}
	if (!json_list_has(document, "code_challenge_methods_supported", "S256", &present) &&
	    present) {
		gb_error_set(
		        error, error_size,
		        "discovery: code_challenge_methods_supported does not list S256; PKCE "
		        "is required");
		return -EIO;
	}
	if (!oidc->client_secret) {
		found->token_auth = TOKEN_AUTH_NONE;
	} else if (json_list_has(document, "token_endpoint_auth_methods_supported",
	                         "client_secret_basic", &present) ||
	           !present) {
		/* Absent means client_secret_basic (Discovery 3). */
		found->token_auth = TOKEN_AUTH_BASIC;
	} else if (json_list_has(document, "token_endpoint_auth_methods_supported",
	                         "client_secret_post", &present)) {
		found->token_auth = TOKEN_AUTH_POST;
	} else {
		gb_error_set(error, error_size,
		             "discovery: token_endpoint_auth_methods_supported lists neither "
		             "client_secret_basic nor client_secret_post");
		return -EIO;
	}
	return 0;
}

static int ensure_discovery(struct oidc *oidc, char *error, size_t error_size)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	struct oidc_http_response response = { 0 };
	struct discovery found = { 0 };
	JsonObject *document;
	bool changed;
	size_t length;
	char *url;
	int r;

	if (oidc->discovery.fetched && monotonic_s() - oidc->discovery.fetched < DISCOVERY_TTL_S)
		return 0;
	/* OpenID Connect Discovery 4: drop a terminating '/' before appending. */
	length = strlen(oidc->issuer);
	if (length && oidc->issuer[length - 1] == '/')
		length--;
	url = g_strdup_printf("%.*s/.well-known/openid-configuration", (int)length, oidc->issuer);
	r = oidc_http_request(&oidc->http, "GET", url, NULL, NULL, &response, error, error_size);
	if (r < 0)
		goto out;
	if (response.status != 200) {
		gb_error_set(error, error_size, "discovery: GET %s answered %u", url,
		             response.status);
		r = -EIO;
		goto out;
	}
	document = body_object(parser, response.body, "the discovery document", error, error_size);
	if (!document) {
		r = -EIO;
		goto out;
	}
	r = read_discovery(oidc, document, url, &found, error, error_size);
	if (r < 0)
		goto out;
	changed =
	        !oidc->discovery.token_endpoint ||
	        strcmp(oidc->discovery.token_endpoint, found.token_endpoint) != 0 ||
	        strcmp(oidc->discovery.jwks_uri, found.jwks_uri) != 0 ||
	        strcmp(oidc->discovery.authorization_endpoint, found.authorization_endpoint) != 0;
	discovery_clear(&oidc->discovery);
	oidc->discovery = found;
	memset(&found, 0, sizeof(found));
	oidc->discovery.fetched = monotonic_s();
	gb_plugin_log(oidc->host, changed ? GB_LOG_INFO : GB_LOG_DEBUG,
	              "discovered %s: authorization %s, token %s (%s), keys %s", oidc->issuer,
	              oidc->discovery.authorization_endpoint, oidc->discovery.token_endpoint,
	              oidc->discovery.token_auth == TOKEN_AUTH_BASIC  ? "client_secret_basic"
	              : oidc->discovery.token_auth == TOKEN_AUTH_POST ? "client_secret_post"
	                                                              : "public client",
	              oidc->discovery.jwks_uri);
	r = 0;
out:
	discovery_clear(&found);
	oidc_http_response_clear(&response);
	g_free(url);
	return r;
}

/* The provider's keys, from the cache unless @force or older than an hour. */
static int ensure_keys(struct oidc *oidc, bool force, char *error, size_t error_size)
{
	struct oidc_http_response response = { 0 };
	struct oidc_keyset *keys = NULL;
	const char *uri = oidc->discovery.jwks_uri;
	const char *data;
	size_t skipped = 0;
	gsize size = 0;
	int r;

	if (!force && oidc->keys && oidc->keys_uri && strcmp(oidc->keys_uri, uri) == 0 &&
	    monotonic_s() - oidc->keys_fetched < KEYS_TTL_S)
		return 0;
	r = oidc_http_request(&oidc->http, "GET", uri, NULL, NULL, &response, error, error_size);
	/* Even a failed fetch counts: an unknown kid must not make us hammer the provider. */
	oidc->keys_fetched = monotonic_s();
	if (r < 0)
		goto out;
	if (response.status != 200) {
		gb_error_set(error, error_size, "keys: GET %s answered %u", uri, response.status);
		r = -EIO;
		goto out;
	}
	data = g_bytes_get_data(response.body, &size);
	r = oidc_keyset_parse(data ? data : "", size, &keys, &skipped, error, error_size);
	if (r < 0) {
		r = -EIO;
		goto out;
	}
	oidc_keyset_free(oidc->keys);
	oidc->keys = keys;
	g_free(oidc->keys_uri);
	oidc->keys_uri = g_strdup(uri);
	gb_plugin_log(oidc->host, GB_LOG_INFO, "%zu signing key%s from %s (%zu skipped)",
	              oidc_keyset_count(keys), oidc_keyset_count(keys) == 1 ? "" : "s", uri,
	              skipped);
out:
	oidc_http_response_clear(&response);
	return r;
}

/* The Authorization header of client_secret_basic (RFC 6749 2.3.1). */
static char *basic_authorization(const char *client_id, const char *secret)
{
	GString *credentials = g_string_new(NULL);
	char *encoded, *header;

	oidc_append_encoded(credentials, client_id);
	g_string_append_c(credentials, ':');
	oidc_append_encoded(credentials, secret);
	encoded = g_base64_encode((const guchar *)credentials->str, credentials->len);
	header = g_strdup_printf("Basic %s", encoded);
	explicit_bzero(credentials->str, credentials->len);
	g_string_free(credentials, TRUE);
	explicit_bzero(encoded, strlen(encoded));
	g_free(encoded);
	return header;
}

/* Trade @code for tokens; *id_token is g_malloc()ed. -EACCES for a refused
 * code (invalid_grant), -EIO for anything else. */
static int exchange_code(struct oidc *oidc, const char *code, const struct oidc_pending *pending,
                         char **id_token, char *error, size_t error_size)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	struct oidc_http_response response = { 0 };
	char *authorization = NULL;
	GString *form = g_string_new("grant_type=authorization_code&code=");
	const char *value;
	JsonObject *answer;
	int r;

	oidc_append_encoded(form, code);
	g_string_append(form, "&redirect_uri=");
	oidc_append_encoded(form, pending->redirect_uri);
	g_string_append(form, "&code_verifier=");
	oidc_append_encoded(form, pending->verifier);
	if (oidc->discovery.token_auth == TOKEN_AUTH_BASIC) {
		authorization = basic_authorization(oidc->client_id, oidc->client_secret);
	} else {
		g_string_append(form, "&client_id=");
		oidc_append_encoded(form, oidc->client_id);
		if (oidc->discovery.token_auth == TOKEN_AUTH_POST) {
			g_string_append(form, "&client_secret=");
			oidc_append_encoded(form, oidc->client_secret);
		}
	}
	r = oidc_http_request(&oidc->http, "POST", oidc->discovery.token_endpoint, authorization,
	                      form->str, &response, error, error_size);
	explicit_bzero(form->str, form->len);
	g_string_free(form, TRUE);
	if (authorization) {
		explicit_bzero(authorization, strlen(authorization));
		g_free(authorization);
	}
	if (r < 0)
		return -EIO;
	answer = body_object(parser, response.body, "the token endpoint's answer", error,
	                     error_size);
	if (response.status != 200) {
		const char *error_code = answer ? json_string(answer, "error") : NULL;
		const char *description = answer ? json_string(answer, "error_description") : NULL;

		gb_error_set(error, error_size, "the token endpoint answered %u %.64s%s%.200s",
		             response.status, error_code ? error_code : "(no error code)",
		             description ? ": " : "", description ? description : "");
		r = error_code && strcmp(error_code, "invalid_grant") == 0 ? -EACCES : -EIO;
		goto out;
	}
	if (!answer) {
		r = -EIO;
		goto out;
	}
	value = json_string(answer, "id_token");
	if (!value) {
		gb_error_set(error, error_size,
		             "the token endpoint's answer has no id_token (is openid in "
		             "settings.scopes?)");
		r = -EIO;
		goto out;
	}
	*id_token = g_strdup(value);
	r = 0;
out:
	oidc_http_response_clear(&response);
	return r;
}

/* ---- the login ---- */

static const char *effective_redirect_uri(const struct oidc *oidc, const char *host_uri)
{
	return oidc->redirect_uri ? oidc->redirect_uri : host_uri;
}

static int oidc_begin_login(void *state, const char *redirect_uri, char *url, size_t url_size)
{
	struct oidc *oidc = state;
	struct oidc_pending pending = { 0 };
	char challenge[OIDC_RANDOM_TEXT_SIZE];
	char error[512] = "";
	int64_t now;
	int r;

	if (!oidc || !url || url_size == 0)
		return -EINVAL;
	redirect_uri = effective_redirect_uri(oidc, redirect_uri);
	if (!redirect_uri || !redirect_uri[0] || strlen(redirect_uri) > OIDC_URL_MAX ||
	    !all_printable(redirect_uri, false)) {
		gb_plugin_log(oidc->host, GB_LOG_ERROR, "begin_login: no usable redirect_uri");
		return -EINVAL;
	}
	r = ensure_discovery(oidc, error, sizeof(error));
	if (r < 0) {
		gb_plugin_log(oidc->host, GB_LOG_ERROR, "cannot begin a login: %s", error);
		return r;
	}
	if ((r = gb_random_token(pending.state, sizeof(pending.state))) < 0 ||
	    (r = gb_random_token(pending.nonce, sizeof(pending.nonce))) < 0 ||
	    (r = gb_random_token(pending.verifier, sizeof(pending.verifier))) < 0) {
		gb_plugin_log(oidc->host, GB_LOG_ERROR, "cannot get random bytes: %s",
		              strerror(-r));
		goto out;
	}
	oidc_pkce_challenge(pending.verifier, challenge);
	r = oidc_authorization_url(
	        &(struct oidc_authorization_request){
	                .endpoint = oidc->discovery.authorization_endpoint,
	                .client_id = oidc->client_id,
	                .redirect_uri = redirect_uri,
	                .scopes = oidc->scopes,
	                .state = pending.state,
	                .nonce = pending.nonce,
	                .code_challenge = challenge,
	        },
	        url, url_size);
	if (r < 0) {
		gb_plugin_log(oidc->host, GB_LOG_ERROR, "cannot build the authorization URL: %s",
		              strerror(-r));
		goto out;
	}
	pending.redirect_uri = (char *)redirect_uri;
	now = monotonic_s();
	r = oidc_pending_add(&oidc->pending, &pending, now);
	if (r < 0)
		goto out;
	if (r > 0 && now - oidc->last_eviction_log >= EVICTION_LOG_INTERVAL_S) {
		/* A flood of begun logins: the oldest unfinished one loses. */
		oidc->last_eviction_log = now;
		gb_plugin_log(
		        oidc->host, GB_LOG_WARNING,
		        "%d logins begun in the last %d s and not finished; the oldest is dropped "
		        "for each new one",
		        OIDC_PENDING_MAX, OIDC_PENDING_EXPIRY_S);
	}
	r = 0;
out:
	explicit_bzero(&pending, sizeof(pending));
	return r;
}

/* Check @id_token against the provider's keys and the rules of this plugin and login. */
static int verify_id_token(struct oidc *oidc, const char *id_token, const char *nonce,
                           struct oidc_token_result *result, char *error, size_t error_size)
{
	struct oidc_token_rules rules;
	int64_t age;
	int r;

	rules = (struct oidc_token_rules){
		.issuer = oidc->issuer,
		.client_id = oidc->client_id,
		.nonce = nonce,
		.username_claim = oidc->username_claim,
		.groups_claim = oidc->groups_claim,
		.username_prefix = oidc->username_prefix,
		.admin_groups = &oidc->admin_groups,
		.user_groups = &oidc->user_groups,
		.now = g_get_real_time() / G_USEC_PER_SEC,
	};
	r = oidc_verify_id_token(id_token, oidc->keys, &rules, result, error, error_size);
	if (r == -ENOKEY) {
		/* Perhaps the provider rotated its keys: fetch them again, but not
		 * more than once a minute, whatever tokens come in. */
		age = monotonic_s() - oidc->keys_fetched;
		if (age < oidc->keys_refetch_min_s) {
			size_t length = strlen(error);

			snprintf(error + length, error_size - length,
			         " (keys fetched %" PRId64 " s ago; not again before %" PRId64
			         " s)",
			         age, oidc->keys_refetch_min_s);
			return -EACCES;
		}
		gb_plugin_log(oidc->host, GB_LOG_INFO, "%s: fetching the provider's keys again",
		              error);
		r = ensure_keys(oidc, true, error, error_size);
		if (r < 0)
			return r;
		r = oidc_verify_id_token(id_token, oidc->keys, &rules, result, error, error_size);
		if (r == -ENOKEY)
			r = -EACCES;
	}
	return r;
}

static int oidc_finish_login(void *state, const char *redirect_uri, const char *code,
                             const char *login_state, struct gb_identity *identity, char *error,
                             size_t error_size)
{
	struct oidc *oidc = state;
	struct oidc_pending pending = { 0 };
	struct oidc_token_result result;
	char *id_token = NULL;
	int r;

	if (!oidc || !identity ||
	    identity->struct_size < offsetof(struct gb_identity, roles) + sizeof(identity->roles))
		return -EINVAL;
	if (!login_state || !login_state[0]) {
		gb_error_set(error, error_size, "the callback has no state");
		return -EACCES;
	}
	r = oidc_pending_take(&oidc->pending, login_state, monotonic_s(), &pending);
	if (r == -ETIMEDOUT) {
		gb_error_set(error, error_size, "the login took longer than %d s at the provider",
		             OIDC_PENDING_EXPIRY_S);
		return -EACCES;
	}
	if (r < 0) {
		gb_error_set(error, error_size,
		             "unknown state: not begun here, already used (a replay) or dropped");
		return -EACCES;
	}
	/* From here the state is spent, whatever happens. */
	redirect_uri = effective_redirect_uri(oidc, redirect_uri);
	if (!redirect_uri || strcmp(redirect_uri, pending.redirect_uri) != 0) {
		gb_error_set(error, error_size, "the callback's redirect_uri is not the login's");
		r = -EACCES;
		goto out;
	}
	if (!code || !code[0]) {
		gb_error_set(
		        error, error_size,
		        "the callback has no code (the user cancelled, or the provider refused)");
		r = -EACCES;
		goto out;
	}
	r = ensure_discovery(oidc, error, error_size);
	if (r < 0)
		goto out;
	r = exchange_code(oidc, code, &pending, &id_token, error, error_size);
	if (r < 0) {
		if (r != -EACCES)
			oidc->discovery.fetched = 0; /* the endpoint may have moved */
		goto out;
	}
	r = ensure_keys(oidc, false, error, error_size);
	if (r < 0) {
		oidc->discovery.fetched = 0;
		goto out;
	}
	r = verify_id_token(oidc, id_token, pending.nonce, &result, error, error_size);
	if (r < 0)
		goto out;

	snprintf(identity->user, sizeof(identity->user), "%s", result.user);
	identity->has_system_account = false;
	identity->uid = 0;
	identity->gid = 0;
	identity->roles = result.roles;
	gb_plugin_log(oidc->host, GB_LOG_DEBUG, "user '%s' vouched for by %s (%s, kid '%s')%s",
	              result.user, oidc->issuer, result.alg, result.kid,
	              result.roles & GB_ROLE_ADMIN ? ", admin" : "");
	r = 0;
out:
	if (id_token) {
		explicit_bzero(id_token, strlen(id_token));
		g_free(id_token);
	}
	g_free(pending.redirect_uri);
	explicit_bzero(&pending, sizeof(pending));
	return r;
}

static const char *oidc_label(void *state)
{
	struct oidc *oidc = state;

	return oidc ? oidc->label : NULL;
}

static const struct gb_auth_ops oidc_ops = {
	.struct_size = sizeof(struct gb_auth_ops),
	.verify_password = NULL,
	.begin_login = oidc_begin_login,
	.finish_login = oidc_finish_login,
	.label = oidc_label,
};

static const struct gb_plugin_descriptor oidc_descriptor = {
	GB_PLUGIN_ABI_INIT,
	.kind = GB_PLUGIN_KIND_AUTH,
	.name = PLUGIN_NAME,
	.version = "1.0.0",
	.description = "OpenID Connect logins (authorization code flow with PKCE)",
	.options = oidc_options,
	.init = oidc_init,
	.fini = oidc_fini,
	.ops = &oidc_ops,
};

GB_PLUGIN_DEFINE(oidc_descriptor)
