/* SPDX-License-Identifier: MIT */
/*
 * auth-oidc without a provider: the settings init() accepts and refuses,
 * the ID token checks against keys made here with cjose (every refusal with
 * the reason the log will show), JWKS parsing, the authorization URL and its
 * encoding, PKCE, and the bounds of the table of pending logins.
 *
 * The plugin's sources are built into this program (see
 * plugins/auth-oidc/meson.build). Nothing here opens a socket: the flow
 * against a real provider is tests/e2e/test-oidc.mjs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "unit-test.h"
#include <cjose/cjose.h>
#include <glib.h>

#include <glassbox/auth.h>

#include "oidc-private.h"

const struct gb_plugin_descriptor *gb_plugin_entry(void);

#define LOG_LINES_MAX 32
#define ISSUER        "https://sso.example.com/realms/staff"
#define CLIENT_ID     "glassbox"
/* A group rule: without one (or allow_any_account) init() refuses. */
#define GROUP_RULE "user_groups", "staff"
#define NONCE      "n-0S6_WzA2Mj"

static char tmp[64];
static char log_lines[LOG_LINES_MAX][1200];
static int n_log_lines;

static cjose_jwk_t *rsa_key, *rsa_other, *ec_key, *rsa_small;
static struct oidc_keyset *keyset;
static struct oidc_group_list admin_groups, user_groups, no_groups;

/* ---- the host ---- */

/* The plugin's log handle (struct gb_host's logv, ABI 1.2): what gb_plugin_log() calls. */
static void capture_log(const struct gb_host *host, enum gb_log_level level, const char *format,
                        va_list args) __attribute__((format(printf, 3, 0)));

static void capture_log(const struct gb_host *host, enum gb_log_level level, const char *format,
                        va_list args)
{
	if (n_log_lines >= LOG_LINES_MAX)
		return;
	vsnprintf(log_lines[n_log_lines++], sizeof(log_lines[0]), format, args);
}

static const struct gb_host host = {
	.struct_size = sizeof(struct gb_host),
	.abi_major = GB_PLUGIN_ABI_MAJOR,
	.abi_minor = GB_PLUGIN_ABI_MINOR,
	.plugin_name = "oidc",
	.logv = capture_log,
};

static int log_count(const char *text)
{
	int count = 0;

	for (int i = 0; i < n_log_lines; i++)
		if (strstr(log_lines[i], text))
			count++;
	return count;
}

/*
 * init() the plugin as the host does: every option with its default unless
 * @pairs ("key", "value", ..., NULL) sets it.
 */
static int start_with(void **state, ...)
{
	const struct gb_plugin_descriptor *descriptor = gb_plugin_entry();
	struct gb_setting items[32];
	struct gb_settings settings = { .count = 0, .items = items };
	const char *values[32];
	va_list args;
	int r;

	for (const struct gb_option *o = descriptor->options; o->key; o++)
		values[settings.count++] = o->default_value;
	va_start(args, state);
	for (const char *key = va_arg(args, const char *); key; key = va_arg(args, const char *)) {
		const char *value = va_arg(args, const char *);
		size_t i = 0;

		for (const struct gb_option *o = descriptor->options; o->key; o++, i++)
			if (strcmp(o->key, key) == 0)
				values[i] = value;
	}
	va_end(args);
	for (size_t i = 0; i < settings.count; i++) {
		const struct gb_option *o = &descriptor->options[i];

		items[i].key = o->key;
		items[i].type = o->type;
		if (o->type == GB_VALUE_INT)
			items[i].value.integer = values[i] ? strtoll(values[i], NULL, 10) : 0;
		else if (o->type == GB_VALUE_BOOL)
			items[i].value.boolean = values[i] && strcmp(values[i], "true") == 0;
		else
			items[i].value.string = values[i];
	}
	n_log_lines = 0;
	*state = NULL;
	r = descriptor->init(&host, &settings, state);
	if (r < 0)
		CU_ASSERT_PTR_NULL(*state);
	return r;
}

static void stop(void *state)
{
	gb_plugin_entry()->fini(state);
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(path);
}

/* ---- keys and tokens ---- */

static cjose_jwk_t *make_rsa(size_t bits, const char *kid)
{
	static const uint8_t e[] = { 0x01, 0x00, 0x01 };
	cjose_jwk_t *jwk = cjose_jwk_create_RSA_random(bits, e, sizeof(e), NULL);

	if (jwk && kid)
		cjose_jwk_set_kid(jwk, kid, strlen(kid), NULL);
	return jwk;
}

/* The public JWK of @jwk, with @extra members ("\"use\":\"sig\"") put in. */
static char *public_jwk(const cjose_jwk_t *jwk, const char *extra)
{
	char *json = cjose_jwk_to_json(jwk, false, NULL);
	char *out;

	if (!json)
		return NULL;
	out = extra ? g_strdup_printf("{%s,%s", extra, json + 1) : g_strdup(json);
	free(json);
	return out;
}

/* A compact JWS of @claims signed by @jwk with header {"alg":@alg,"kid":@kid}. */
static char *sign(const cjose_jwk_t *jwk, const char *alg, const char *kid, const char *claims)
{
	cjose_header_t *header = cjose_header_new(NULL);
	cjose_err error;
	cjose_jws_t *jws;
	const char *compact = NULL;
	char *out = NULL;

	cjose_header_set(header, CJOSE_HDR_ALG, alg, NULL);
	if (kid)
		cjose_header_set(header, CJOSE_HDR_KID, kid, NULL);
	jws = cjose_jws_sign(jwk, header, (const uint8_t *)claims, strlen(claims), &error);
	if (!jws)
		fprintf(stderr, "cjose_jws_sign %s: %s\n", alg, error.message);
	if (jws && cjose_jws_export(jws, &compact, NULL))
		out = g_strdup(compact);
	cjose_jws_release(jws);
	cjose_header_release(header);
	return out;
}

/* A token with any header and no signature check possible: alg none, JWE... */
static char *unsigned_token(const char *header, const char *claims, const char *signature)
{
	char *h = oidc_base64url_encode(header, strlen(header));
	char *c = oidc_base64url_encode(claims, strlen(claims));
	char *out = g_strdup_printf("%s.%s.%s", h, c, signature);

	g_free(h);
	g_free(c);
	return out;
}

struct claims {
	const char *iss;
	const char *aud;    /* raw JSON: "\"glassbox\"" or a list */
	const char *azp;    /* NULL: absent */
	const char *user;   /* raw JSON of preferred_username; NULL: absent */
	const char *groups; /* raw JSON; NULL: absent */
	const char *nonce;
	int64_t exp, iat;
};

static struct claims good_claims(void)
{
	int64_t now = time(NULL);

	return (struct claims){
		.iss = ISSUER,
		.aud = "\"" CLIENT_ID "\"",
		.user = "\"alice\"",
		.groups = "[\"staff\", \"glassbox-admins\"]",
		.nonce = NONCE,
		.exp = now + 300,
		.iat = now - 5,
	};
}

static char *claims_json(const struct claims *c)
{
	GString *out = g_string_new("{");

	g_string_append_printf(out, "\"iss\":\"%s\",\"sub\":\"248289761001\",\"aud\":%s,", c->iss,
	                       c->aud);
	if (c->azp)
		g_string_append_printf(out, "\"azp\":\"%s\",", c->azp);
	if (c->user)
		g_string_append_printf(out, "\"preferred_username\":%s,", c->user);
	if (c->groups)
		g_string_append_printf(out, "\"groups\":%s,", c->groups);
	g_string_append_printf(out, "\"nonce\":\"%s\",\"exp\":%" PRId64 ",\"iat\":%" PRId64 "}",
	                       c->nonce, c->exp, c->iat);
	return g_string_free(out, FALSE);
}

static char *rsa_token(const struct claims *c)
{
	char *json = claims_json(c);
	char *token = sign(rsa_key, "RS256", "rsa-1", json);

	g_free(json);
	return token;
}

static struct oidc_token_rules rules(void)
{
	return (struct oidc_token_rules){
		.issuer = ISSUER,
		.client_id = CLIENT_ID,
		.nonce = NONCE,
		.username_claim = "preferred_username",
		.groups_claim = "groups",
		.admin_groups = &admin_groups,
		.user_groups = &no_groups,
		.now = time(NULL),
	};
}

static char verify_error[512];

/* Verify @token (freed) against the test keys; the result, and why not in `verify_error`. */
static int verify(char *token, const struct oidc_token_rules *r, struct oidc_token_result *result)
{
	int ret;

	CU_ASSERT_PTR_NOT_NULL_FATAL(token);
	verify_error[0] = '\0';
	ret = oidc_verify_id_token(token, keyset, r, result, verify_error, sizeof(verify_error));
	/* The reason goes to a log: it must never carry the token. */
	CU_ASSERT_PTR_NULL(strstr(verify_error, token));
	CU_ASSERT_PTR_NULL(strchr(verify_error, '\n'));
	g_free(token);
	return ret;
}

static int suite_init(void)
{
	char *rsa, *ec, *pinned, *pinned_rsa, *jwks;
	GRegex *kid_rsa;
	char error[256];
	int r;

	rsa_key = make_rsa(2048, "rsa-1");
	rsa_other = make_rsa(2048, "rsa-1"); /* same kid, another key: a forgery */
	rsa_small = make_rsa(1024, "rsa-small");
	ec_key = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, NULL);
	if (!rsa_key || !rsa_other || !rsa_small || !ec_key)
		return 1;
	cjose_jwk_set_kid(ec_key, "ec-1", 4, NULL);
	rsa = public_jwk(rsa_key, "\"use\":\"sig\"");
	ec = public_jwk(ec_key, NULL);
	/* The same RSA key again, pinned to RS256 under another kid. */
	pinned_rsa = public_jwk(rsa_key, "\"alg\":\"RS256\"");
	kid_rsa = g_regex_new("\"kid\":\"rsa-1\"", 0, 0, NULL);
	pinned = g_regex_replace_literal(kid_rsa, pinned_rsa, -1, 0, "\"kid\":\"rsa-pinned\"", 0,
	                                 NULL);
	g_regex_unref(kid_rsa);
	g_free(pinned_rsa);
	jwks = g_strdup_printf("{\"keys\":[%s,%s,%s]}", rsa, ec, pinned);
	r = oidc_keyset_parse(jwks, strlen(jwks), &keyset, NULL, error, sizeof(error));
	if (r < 0)
		fprintf(stderr, "keyset: %s\n", error);
	g_free(rsa);
	g_free(ec);
	g_free(pinned);
	g_free(jwks);
	if (r < 0 ||
	    oidc_group_list_parse("glassbox-admins, ops", &admin_groups, error, sizeof(error)) <
	            0 ||
	    oidc_group_list_parse("glassbox-users", &user_groups, error, sizeof(error)) < 0)
		return 1;
	return 0;
}

static int suite_cleanup(void)
{
	oidc_keyset_free(keyset);
	cjose_jwk_release(rsa_key);
	cjose_jwk_release(rsa_other);
	cjose_jwk_release(rsa_small);
	cjose_jwk_release(ec_key);
	oidc_group_list_clear(&admin_groups);
	oidc_group_list_clear(&user_groups);
	return 0;
}

/* ---- the plugin and its settings ---- */

static void test_auth_oidc__descriptor(void)
{
	const struct gb_plugin_descriptor *descriptor = gb_plugin_entry();
	const struct gb_auth_ops *ops = descriptor->ops;

	CU_ASSERT_EQUAL(descriptor->abi_major, GB_PLUGIN_ABI_MAJOR);
	CU_ASSERT_EQUAL(descriptor->kind, GB_PLUGIN_KIND_AUTH);
	CU_ASSERT_STRING_EQUAL(descriptor->name, "oidc");
	CU_ASSERT_EQUAL(ops->struct_size, sizeof(struct gb_auth_ops));
	CU_ASSERT_PTR_NULL(ops->verify_password);
	CU_ASSERT_EQUAL(gb_auth_ops_method(ops), GB_AUTH_METHOD_REDIRECT);
	CU_ASSERT(GB_AUTH_OPS_HAS(ops, finish_login));
	CU_ASSERT(GB_AUTH_OPS_HAS(ops, label));
}

static void test_auth_oidc__minimal_settings_accepted(void)
{
	const struct gb_auth_ops *ops = gb_plugin_entry()->ops;
	void *state;

	CU_ASSERT_EQUAL_FATAL(start_with(&state, "issuer", "https://sso.example.com/realms/x",
	                                 "client_id", "glassbox", GROUP_RULE, NULL),
	                      0);
	CU_ASSERT_STRING_EQUAL(ops->label(state), "Sign in with sso.example.com");
	CU_ASSERT_EQUAL(log_count("client 'glassbox' (public, PKCE only)"), 1);
	CU_ASSERT_EQUAL(log_count("only members of user_groups may log in"), 1);
	stop(state);

	/* http:// is fine to a loopback address, with a label of the operator's. */
	CU_ASSERT_EQUAL_FATAL(start_with(&state, "issuer", "http://127.0.0.1:8080", "client_id",
	                                 "glassbox", "label", "Sign in with Staff SSO",
	                                 "user_groups", "a, b", "admin_groups", "c",
	                                 "client_secret", "s3cret", NULL),
	                      0);
	CU_ASSERT_STRING_EQUAL(ops->label(state), "Sign in with Staff SSO");
	CU_ASSERT_EQUAL(log_count("(with a secret)"), 1);
	CU_ASSERT_EQUAL(log_count("1 admin group,"), 1);
	CU_ASSERT_EQUAL(log_count("only members of user_groups may log in"), 1);
	stop(state);
	CU_ASSERT_EQUAL_FATAL(start_with(&state, "issuer", "http://[::1]:9/", "client_id", "x",
	                                 GROUP_RULE, NULL),
	                      0);
	stop(state);
}

static void test_auth_oidc__no_group_rule_refused(void)
{
	void *state;

	/* Every account of the issuer would get in: refused, naming the keys. */
	CU_ASSERT_EQUAL(start_with(&state, "issuer", ISSUER, "client_id", CLIENT_ID, NULL),
	                -EINVAL);
	CU_ASSERT_EQUAL(log_count("settings.user_groups is empty, so every account the provider "
	                          "vouches for could log in; set user_groups"),
	                1);
	CU_ASSERT_EQUAL(log_count("or set allow_any_account = true if every account of "
	                          "https://sso.example.com/realms/staff may"),
	                1);
	/* admin_groups alone lets every other account in as a user: refused too. */
	CU_ASSERT_EQUAL(start_with(&state, "issuer", ISSUER, "client_id", CLIENT_ID,
	                           "admin_groups", "glassbox-admins", NULL),
	                -EINVAL);
	CU_ASSERT_EQUAL(log_count("settings.user_groups is empty"), 1);
	CU_ASSERT_EQUAL(start_with(&state, "issuer", ISSUER, "client_id", CLIENT_ID,
	                           "allow_any_account", "false", NULL),
	                -EINVAL);
	/* Asked for in so many words: accepted, and said so. */
	CU_ASSERT_EQUAL_FATAL(start_with(&state, "issuer", ISSUER, "client_id", CLIENT_ID,
	                                 "allow_any_account", "true", NULL),
	                      0);
	CU_ASSERT_EQUAL(log_count("every account may log in (allow_any_account)"), 1);
	stop(state);
	/* With a group rule, allow_any_account changes nothing: the rule holds. */
	CU_ASSERT_EQUAL_FATAL(start_with(&state, "issuer", ISSUER, "client_id", CLIENT_ID,
	                                 GROUP_RULE, "allow_any_account", "true", NULL),
	                      0);
	CU_ASSERT_EQUAL(log_count("only members of user_groups may log in"), 1);
	stop(state);
}

static void test_auth_oidc__bad_settings_refused(void)
{
	static const struct {
		const char *key, *value, *log;
	} cases[] = {
		{ "issuer", "http://sso.example.com", "use https://" },
		{ "issuer", "ftp://sso.example.com", "is neither https:// nor http://" },
		{ "issuer", "https://user:pw@sso.example.com", "holds a user name or password" },
		{ "issuer", "https://sso.example.com/#x", "holds a fragment" },
		{ "issuer", "https://sso.example.com/?tenant=1", "holds a query" },
		{ "issuer", "https://sso example.com", "holds a blank" },
		{ "issuer", "sso.example.com", "is not a URL" },
		{ "client_id", "", "settings.client_id must be" },
		{ "client_id", "glass box", "settings.client_id must be" },
		{ "redirect_uri", "http://box.example.com/api/login/callback/oidc",
		  "use https://" },
		{ "scopes", "profile email", "include openid" },
		{ "scopes", "openid\tprofile", "include openid" },
		{ "username_claim", "", "settings.username_claim is empty" },
		{ "username_claim", "user name", "settings.username_claim holds a character" },
		{ "groups_claim", "grou\"ps", "settings.groups_claim holds a character" },
		{ "username_prefix", "-sso", "settings.username_prefix must be" },
		{ "username_prefix", "sso/", "settings.username_prefix must be" },
		{ "admin_groups", "a,,b", "settings.admin_groups has an empty item" },
		{ "user_groups", "a,", "settings.user_groups has an empty item" },
		{ "label", "Sign\nin", "settings.label must be" },
		{ "ca_file", "relative.pem",
		  "settings.ca_file 'relative.pem' is not an absolute" },
		{ "ca_file", "/nonexistent/ca.pem", "settings.ca_file /nonexistent/ca.pem:" },
		{ "client_secret_file", "secret", "is not an absolute path" },
		{ "client_secret_file", "/nonexistent/secret", "cannot open" },
	};
	void *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = start_with(&state, "issuer", ISSUER, "client_id", CLIENT_ID, GROUP_RULE,
		                   cases[i].key, cases[i].value, NULL);

		CU_ASSERT(r < 0);
		if (r == 0)
			stop(state);
		if (log_count(cases[i].log) != 1)
			fprintf(stderr, "\n%s = %s: expected '%s' in the log, got '%s'\n",
			        cases[i].key, cases[i].value, cases[i].log,
			        n_log_lines ? log_lines[0] : "(nothing)");
		CU_ASSERT_EQUAL(log_count(cases[i].log), 1);
	}
}

static void test_auth_oidc__secret_file_checked(void)
{
	char path[128], both[128];
	void *state;
	FILE *file;

	snprintf(tmp, sizeof(tmp), "/tmp/test-auth-oidc-XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(tmp));
	snprintf(path, sizeof(path), "%s/secret", tmp);
	file = fopen(path, "we");
	CU_ASSERT_PTR_NOT_NULL_FATAL(file);
	fputs("s3cret-from-file\n", file);
	fclose(file);

	CU_ASSERT_EQUAL(chmod(path, 0644), 0);
	CU_ASSERT_EQUAL(start_with(&state, "issuer", ISSUER, "client_id", CLIENT_ID, GROUP_RULE,
	                           "client_secret_file", path, NULL),
	                -EPERM);
	CU_ASSERT_EQUAL(log_count("mode 0644 lets others read or change it; run chmod 600"), 1);

	CU_ASSERT_EQUAL(chmod(path, 0600), 0);
	CU_ASSERT_EQUAL_FATAL(start_with(&state, "issuer", ISSUER, "client_id", CLIENT_ID,
	                                 GROUP_RULE, "client_secret_file", path, NULL),
	                      0);
	CU_ASSERT_EQUAL(log_count("(with a secret)"), 1);
	CU_ASSERT_EQUAL(log_count("s3cret"), 0);
	stop(state);

	snprintf(both, sizeof(both), "%s", path);
	CU_ASSERT_EQUAL(start_with(&state, "issuer", ISSUER, "client_id", CLIENT_ID, GROUP_RULE,
	                           "client_secret_file", both, "client_secret", "inline", NULL),
	                -EINVAL);
	CU_ASSERT_EQUAL(log_count("are both set"), 1);

	/* An empty file is no secret. */
	file = fopen(path, "we");
	CU_ASSERT_PTR_NOT_NULL_FATAL(file);
	fputs("\n", file);
	fclose(file);
	CU_ASSERT_EQUAL(start_with(&state, "issuer", ISSUER, "client_id", CLIENT_ID, GROUP_RULE,
	                           "client_secret_file", path, NULL),
	                -EINVAL);
	CU_ASSERT_EQUAL(log_count("must hold one line"), 1);
	CU_ASSERT_EQUAL(nftw(tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

/* The callback side with no provider: what is refused before any network. */
static void test_auth_oidc__finish_without_begin_refused(void)
{
	const struct gb_auth_ops *ops = gb_plugin_entry()->ops;
	struct gb_identity identity = { .struct_size = sizeof(identity) };
	char reason[256];
	void *state;

	CU_ASSERT_EQUAL_FATAL(
	        start_with(&state, "issuer", ISSUER, "client_id", CLIENT_ID, GROUP_RULE, NULL), 0);
	CU_ASSERT_EQUAL(ops->finish_login(state, "https://box/api/login/callback/oidc", "code",
	                                  NULL, &identity, reason, sizeof(reason)),
	                -EACCES);
	CU_ASSERT_STRING_EQUAL(reason, "the callback has no state");
	CU_ASSERT_EQUAL(ops->finish_login(state, "https://box/api/login/callback/oidc", "code",
	                                  "forged-state", &identity, reason, sizeof(reason)),
	                -EACCES);
	CU_ASSERT_PTR_NOT_NULL(strstr(reason, "unknown state"));
	CU_ASSERT_STRING_EQUAL(identity.user, "");
	stop(state);
}

/* ---- ID tokens ---- */

static void test_auth_oidc__good_tokens_accepted(void)
{
	struct oidc_token_rules r = rules();
	struct oidc_token_result result;
	struct claims c = good_claims();
	char *json;

	CU_ASSERT_EQUAL(verify(rsa_token(&c), &r, &result), 0);
	CU_ASSERT_STRING_EQUAL(result.user, "alice");
	CU_ASSERT_EQUAL(result.roles, GB_ROLE_USER | GB_ROLE_ADMIN);
	CU_ASSERT_STRING_EQUAL(result.kid, "rsa-1");
	CU_ASSERT_STRING_EQUAL(result.alg, "RS256");

	json = claims_json(&c);
	CU_ASSERT_EQUAL(verify(sign(rsa_key, "PS256", "rsa-1", json), &r, &result), 0);
	CU_ASSERT_STRING_EQUAL(result.alg, "PS256");
	CU_ASSERT_EQUAL(verify(sign(ec_key, "ES256", "ec-1", json), &r, &result), 0);
	CU_ASSERT_STRING_EQUAL(result.alg, "ES256");
	CU_ASSERT_STRING_EQUAL(result.user, "alice");
	/* No kid: every key that fits the alg is tried. */
	CU_ASSERT_EQUAL(verify(sign(ec_key, "ES256", NULL, json), &r, &result), 0);
	/* A key pinned to RS256 verifies RS256. */
	CU_ASSERT_EQUAL(verify(sign(rsa_key, "RS256", "rsa-pinned", json), &r, &result), 0);
	g_free(json);

	/* Not in any admin group: a user. */
	c.groups = "[\"staff\"]";
	CU_ASSERT_EQUAL(verify(rsa_token(&c), &r, &result), 0);
	CU_ASSERT_EQUAL(result.roles, GB_ROLE_USER);
	/* One group as a string; and no groups claim at all. */
	c.groups = "\"ops\"";
	CU_ASSERT_EQUAL(verify(rsa_token(&c), &r, &result), 0);
	CU_ASSERT_EQUAL(result.roles, GB_ROLE_USER | GB_ROLE_ADMIN);
	c.groups = NULL;
	CU_ASSERT_EQUAL(verify(rsa_token(&c), &r, &result), 0);
	CU_ASSERT_EQUAL(result.roles, GB_ROLE_USER);

	/* Expired, but within the 60 s leeway; issued a little ahead of our clock. */
	c = good_claims();
	c.exp = r.now - 30;
	c.iat = r.now + 30;
	CU_ASSERT_EQUAL(verify(rsa_token(&c), &r, &result), 0);

	/* Several audiences with azp naming us. */
	c = good_claims();
	c.aud = "[\"other\", \"" CLIENT_ID "\"]";
	c.azp = CLIENT_ID;
	CU_ASSERT_EQUAL(verify(rsa_token(&c), &r, &result), 0);

	/* A prefix for this provider's users; an e-mail style name. */
	r.username_prefix = "sso-";
	c = good_claims();
	c.user = "\"alice@example.com\"";
	CU_ASSERT_EQUAL(verify(rsa_token(&c), &r, &result), 0);
	CU_ASSERT_STRING_EQUAL(result.user, "sso-alice@example.com");
}

/* Each check refused on its own, with the reason the log will show. */
static void test_auth_oidc__claims_refused(void)
{
	static char long_name[80];
	struct oidc_token_rules r = rules();
	struct oidc_token_result result;
	struct claims c;

	c = good_claims();
	c.aud = "\"someone-else\"";
	CU_ASSERT_EQUAL(verify(rsa_token(&c), &r, &result), -EACCES);
	CU_ASSERT_STRING_EQUAL(verify_error,
	                       "the id_token's aud 'someone-else' is not our client_id "
	                       "'glassbox'");
	CU_ASSERT_STRING_EQUAL(result.user, "");

	c.aud = "[\"a\", \"b\"]";
	CU_ASSERT_EQUAL(verify(rsa_token(&c), &r, &result), -EACCES);
	CU_ASSERT_PTR_NOT_NULL(
	        strstr(verify_error, "aud (a list of 2) does not hold our client_id"));

	c.aud = "[\"" CLIENT_ID "\", \"other\"]";
	CU_ASSERT_EQUAL(verify(rsa_token(&c), &r, &result), -EACCES);
	CU_ASSERT_STRING_EQUAL(verify_error, "the id_token has several audiences and no azp");
	c.azp = "other";
	CU_ASSERT_EQUAL(verify(rsa_token(&c), &r, &result), -EACCES);
	CU_ASSERT_PTR_NOT_NULL(strstr(verify_error, "azp 'other' is not our client_id"));

	c = good_claims();
	c.exp = r.now - 120;
	CU_ASSERT_EQUAL(verify(rsa_token(&c), &r, &result), -EACCES);
	CU_ASSERT_PTR_NOT_NULL(strstr(verify_error, "the id_token expired 120 s ago"));

	c = good_claims();
	c.iat = r.now + 3600;
	CU_ASSERT_EQUAL(verify(rsa_token(&c), &r, &result), -EACCES);
	CU_ASSERT_PTR_NOT_NULL(strstr(verify_error, "iat is 3600 s in the future"));

	c = good_claims();
	c.nonce = "another-login";
	CU_ASSERT_EQUAL(verify(rsa_token(&c), &r, &result), -EACCES);
	CU_ASSERT_STRING_EQUAL(verify_error,
	                       "the id_token's nonce is not the one this login sent");

	c = good_claims();
	c.iss = "https://evil.example.com";
	CU_ASSERT_EQUAL(verify(rsa_token(&c), &r, &result), -EACCES);
	CU_ASSERT_PTR_NOT_NULL(
	        strstr(verify_error, "iss 'https://evil.example.com' is not the issuer"));
	/* Issuers compare exactly: a trailing slash is another issuer. */
	c.iss = ISSUER "/";
	CU_ASSERT_EQUAL(verify(rsa_token(&c), &r, &result), -EACCES);

	c = good_claims();
	c.user = NULL;
	CU_ASSERT_EQUAL(verify(rsa_token(&c), &r, &result), -EACCES);
	CU_ASSERT_STRING_EQUAL(verify_error,
	                       "the id_token has no preferred_username claim (or it is not "
	                       "a string)");
	c.user = "42";
	CU_ASSERT_EQUAL(verify(rsa_token(&c), &r, &result), -EACCES);
	CU_ASSERT_PTR_NOT_NULL(strstr(verify_error, "no preferred_username claim"));
	c.user = "\"../etc\"";
	CU_ASSERT_EQUAL(verify(rsa_token(&c), &r, &result), -EACCES);
	CU_ASSERT_STRING_EQUAL(verify_error,
	                       "the id_token's preferred_username '../etc' starts with '.', "
	                       "'-' or '@'");
	c.user = "\"al ice\"";
	CU_ASSERT_EQUAL(verify(rsa_token(&c), &r, &result), -EACCES);
	CU_ASSERT_PTR_NOT_NULL(strstr(verify_error, "holds a character other than"));
	c.user = "\"\"";
	CU_ASSERT_EQUAL(verify(rsa_token(&c), &r, &result), -EACCES);
	CU_ASSERT_PTR_NOT_NULL(strstr(verify_error, "is empty"));
	memset(long_name, 'a', 66);
	long_name[0] = '"';
	long_name[65] = '"';
	c.user = long_name; /* 64 characters */
	CU_ASSERT_EQUAL(verify(rsa_token(&c), &r, &result), -EACCES);
	CU_ASSERT_PTR_NOT_NULL(strstr(verify_error, "is longer than 63 characters"));
	/* 60 characters, but 64 with the prefix. */
	long_name[61] = '"';
	long_name[62] = '\0';
	r.username_prefix = "sso-";
	CU_ASSERT_EQUAL(verify(rsa_token(&c), &r, &result), -EACCES);
	CU_ASSERT_PTR_NOT_NULL(strstr(verify_error, "is longer than 63 characters"));
	r.username_prefix = NULL;
	CU_ASSERT_EQUAL(verify(rsa_token(&c), &r, &result), 0);

	/* user_groups set: a user in neither list is refused. */
	c = good_claims();
	c.groups = "[\"staff\"]";
	r.user_groups = &user_groups;
	CU_ASSERT_EQUAL(verify(rsa_token(&c), &r, &result), -EACCES);
	CU_ASSERT_STRING_EQUAL(verify_error,
	                       "user 'alice' is in none of admin_groups and user_groups (1 "
	                       "groups in the groups claim)");
	c.groups = "[\"staff\", \"glassbox-users\"]";
	CU_ASSERT_EQUAL(verify(rsa_token(&c), &r, &result), 0);
	CU_ASSERT_EQUAL(result.roles, GB_ROLE_USER);
	c.groups = "[\"glassbox-admins\"]";
	CU_ASSERT_EQUAL(verify(rsa_token(&c), &r, &result), 0);
	CU_ASSERT_EQUAL(result.roles, GB_ROLE_USER | GB_ROLE_ADMIN);
	c.groups = "{\"not\": \"a list\"}";
	CU_ASSERT_EQUAL(verify(rsa_token(&c), &r, &result), -EACCES);
	CU_ASSERT_PTR_NOT_NULL(
	        strstr(verify_error, "groups claim is neither a string nor a list"));
}

static void test_auth_oidc__signatures_refused(void)
{
	struct oidc_token_rules r = rules();
	struct oidc_token_result result;
	struct claims c = good_claims();
	char *json = claims_json(&c);
	char *token, *header;
	cjose_jwk_t *secret;

	/* One signature byte changed. */
	token = rsa_token(&c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(token);
	header = token + strlen(token) - 10;
	*header = *header == 'A' ? 'B' : 'A';
	CU_ASSERT_EQUAL(verify(token, &r, &result), -EACCES);
	CU_ASSERT_STRING_EQUAL(verify_error,
	                       "the id_token's signature does not verify (alg RS256, kid "
	                       "'rsa-1')");

	/* The claims changed under a good signature. */
	token = rsa_token(&c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(token);
	{
		struct claims evil = good_claims();
		char *evil_json, *evil_payload, *forged;
		char *dot1 = strchr(token, '.'), *dot2 = strrchr(token, '.');

		evil.user = "\"root\"";
		evil_json = claims_json(&evil);
		evil_payload = oidc_base64url_encode(evil_json, strlen(evil_json));
		*dot1 = '\0';
		forged = g_strdup_printf("%s.%s%s", token, evil_payload, dot2);
		CU_ASSERT_EQUAL(verify(forged, &r, &result), -EACCES);
		CU_ASSERT_PTR_NOT_NULL(strstr(verify_error, "signature does not verify"));
		g_free(evil_json);
		g_free(evil_payload);
		g_free(token);
	}

	/* Another key under a kid the provider publishes. */
	CU_ASSERT_EQUAL(verify(sign(rsa_other, "RS256", "rsa-1", json), &r, &result), -EACCES);
	CU_ASSERT_PTR_NOT_NULL(strstr(verify_error, "signature does not verify"));

	/* A kid the provider does not publish: the caller may fetch the keys again. */
	CU_ASSERT_EQUAL(verify(sign(rsa_other, "RS256", "rotated-2", json), &r, &result), -ENOKEY);
	CU_ASSERT_STRING_EQUAL(verify_error,
	                       "the id_token's kid 'rotated-2' is not among the provider's "
	                       "keys");

	/* alg none, with and without a signature part. */
	CU_ASSERT_EQUAL(verify(unsigned_token("{\"alg\":\"none\",\"kid\":\"rsa-1\"}", json, ""),
	                       &r, &result),
	                -EACCES);
	CU_ASSERT_STRING_EQUAL(verify_error,
	                       "the id_token is signed with alg 'none'; only RS256, ES256 "
	                       "and PS256 are accepted");
	CU_ASSERT_EQUAL(verify(unsigned_token("{\"alg\":\"none\"}", json, "e30"), &r, &result),
	                -EACCES);
	CU_ASSERT_PTR_NOT_NULL(strstr(verify_error, "alg 'none'"));

	/* HS256 with a shared secret, under a real kid: the classic confusion. */
	secret = cjose_jwk_create_oct_random(32, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(secret);
	CU_ASSERT_EQUAL(verify(sign(secret, "HS256", "rsa-1", json), &r, &result), -EACCES);
	CU_ASSERT_STRING_EQUAL(verify_error,
	                       "the id_token is signed with alg 'HS256'; only RS256, ES256 "
	                       "and PS256 are accepted");
	cjose_jwk_release(secret);

	/* RS384 is a fine algorithm, but not one we accept. */
	CU_ASSERT_EQUAL(verify(sign(rsa_key, "RS384", "rsa-1", json), &r, &result), -EACCES);
	CU_ASSERT_PTR_NOT_NULL(strstr(verify_error, "alg 'RS384'"));

	/* An EC kid with an RSA alg; a key pinned to RS256 used for PS256. */
	CU_ASSERT_EQUAL(verify(sign(rsa_key, "RS256", "ec-1", json), &r, &result), -EACCES);
	CU_ASSERT_STRING_EQUAL(verify_error, "no key 'ec-1' of the provider is for alg RS256");
	CU_ASSERT_EQUAL(verify(sign(rsa_key, "PS256", "rsa-pinned", json), &r, &result), -EACCES);
	CU_ASSERT_STRING_EQUAL(verify_error,
	                       "no key 'rsa-pinned' of the provider is for alg PS256");

	/* Not a JWS at all; an encrypted token; a critical extension. */
	CU_ASSERT_EQUAL(verify(g_strdup("not-a-token"), &r, &result), -EACCES);
	CU_ASSERT_PTR_NOT_NULL(strstr(verify_error, "not a compact JWS"));
	CU_ASSERT_EQUAL(verify(g_strdup("a.b.c.d.e"), &r, &result), -EACCES);
	CU_ASSERT_PTR_NOT_NULL(
	        strstr(verify_error, "an encrypted (JWE) id_token is not supported"));
	CU_ASSERT_EQUAL(verify(unsigned_token("{\"alg\":\"RS256\",\"crit\":[\"x\"],\"x\":1}", json,
	                                      "AAAA"),
	                       &r, &result),
	                -EACCES);
	CU_ASSERT_PTR_NOT_NULL(strstr(verify_error, "critical extensions"));
	CU_ASSERT_EQUAL(verify(g_strdup("!!!.e30.AAAA"), &r, &result), -EACCES);
	CU_ASSERT_STRING_EQUAL(verify_error, "the id_token's header is not base64url JSON");
	g_free(json);
}

/* ---- keys ---- */

static void test_auth_oidc__jwks_parsed_strictly(void)
{
	struct oidc_keyset *set = NULL;
	char error[256];
	size_t skipped = 99;
	char *rsa = public_jwk(rsa_key, NULL);
	char *small = public_jwk(rsa_small, NULL);
	char *private = cjose_jwk_to_json(rsa_key, true, NULL);
	char *ec_enc = public_jwk(ec_key, "\"use\":\"enc\"");
	char *text;
	GString *many;

	text = g_strdup_printf("{\"keys\":[%s,%s,%s,%s,"
	                       "{\"kty\":\"oct\",\"k\":\"c2VjcmV0\",\"kid\":\"hmac\"},"
	                       "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AAAA\"},"
	                       "\"not an object\"]}",
	                       rsa, small, private, ec_enc);
	CU_ASSERT_EQUAL(
	        oidc_keyset_parse(text, strlen(text), &set, &skipped, error, sizeof(error)), 0);
	CU_ASSERT_EQUAL(oidc_keyset_count(set), 1);
	CU_ASSERT_EQUAL(skipped, 6);
	oidc_keyset_free(set);
	g_free(text);

	text = g_strdup_printf("{\"keys\":[%s]}", small);
	CU_ASSERT_EQUAL(oidc_keyset_parse(text, strlen(text), &set, NULL, error, sizeof(error)),
	                -EINVAL);
	CU_ASSERT_PTR_NULL(set);
	CU_ASSERT_PTR_NOT_NULL(strstr(error, "no usable signing key"));
	g_free(text);

	CU_ASSERT_EQUAL(oidc_keyset_parse("[]", 2, &set, NULL, error, sizeof(error)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(error, "the JWKS is not a JSON object");
	CU_ASSERT_EQUAL(oidc_keyset_parse("{\"keys\":{}}", 11, &set, NULL, error, sizeof(error)),
	                -EINVAL);
	CU_ASSERT_STRING_EQUAL(error, "the JWKS has no \"keys\" list");
	CU_ASSERT_EQUAL(oidc_keyset_parse("{", 1, &set, NULL, error, sizeof(error)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(error, "the JWKS is not JSON"));

	many = g_string_new("{\"keys\":[");
	for (int i = 0; i < OIDC_JWKS_KEYS_MAX + 1; i++)
		g_string_append_printf(many, "%s%s", i ? "," : "", rsa);
	g_string_append(many, "]}");
	CU_ASSERT_EQUAL(oidc_keyset_parse(many->str, many->len, &set, NULL, error, sizeof(error)),
	                -EINVAL);
	CU_ASSERT_STRING_EQUAL(error, "the JWKS holds 65 keys, more than 64");
	g_string_free(many, TRUE);

	g_free(rsa);
	g_free(small);
	free(private);
	g_free(ec_enc);
}

/* ---- URLs, PKCE, names ---- */

static void test_auth_oidc__authorization_url(void)
{
	struct oidc_authorization_request request = {
		.endpoint = "https://sso.example.com/auth",
		.client_id = "glass box",
		.redirect_uri = "https://box.example.com:8443/api/login/callback/oidc",
		.scopes = "openid profile groups",
		.state = "s-1_~",
		.nonce = "n/+=",
		.code_challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
	};
	char url[1024];

	CU_ASSERT_EQUAL(oidc_authorization_url(&request, url, sizeof(url)), 0);
	CU_ASSERT_STRING_EQUAL(url, "https://sso.example.com/auth?response_type=code"
	                            "&client_id=glass%20box"
	                            "&redirect_uri=https%3A%2F%2Fbox.example.com%3A8443%2Fapi%2F"
	                            "login%2Fcallback%2Foidc"
	                            "&scope=openid%20profile%20groups&state=s-1_~&nonce=n%2F%2B%3D"
	                            "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	                            "&code_challenge_method=S256");

	/* An endpoint with its own query keeps it. */
	request.endpoint = "https://login.example.com/oauth2/authorize?tenant=a%20b";
	CU_ASSERT_EQUAL(oidc_authorization_url(&request, url, sizeof(url)), 0);
	CU_ASSERT_EQUAL(strncmp(url,
	                        "https://login.example.com/oauth2/authorize?tenant=a%20b"
	                        "&response_type=code&",
	                        75),
	                0);
	/* Non-ASCII bytes are percent-encoded too. */
	request.client_id = "caf\xc3\xa9";
	CU_ASSERT_EQUAL(oidc_authorization_url(&request, url, sizeof(url)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(url, "&client_id=caf%C3%A9&"));

	CU_ASSERT_EQUAL(oidc_authorization_url(&request, url, 64), -ENAMETOOLONG);
	request.nonce = NULL;
	CU_ASSERT_EQUAL(oidc_authorization_url(&request, url, sizeof(url)), -EINVAL);
}

static void test_auth_oidc__pkce_and_random(void)
{
	char challenge[OIDC_RANDOM_TEXT_SIZE], a[OIDC_RANDOM_TEXT_SIZE], b[OIDC_RANDOM_TEXT_SIZE];

	/* RFC 7636, appendix B. */
	oidc_pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", challenge);
	CU_ASSERT_STRING_EQUAL(challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");

	CU_ASSERT_EQUAL(gb_random_token(a, sizeof(a)), 0);
	CU_ASSERT_EQUAL(gb_random_token(b, sizeof(b)), 0);
	CU_ASSERT_EQUAL(strlen(a), 43);
	CU_ASSERT_EQUAL(
	        strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 43);
	CU_ASSERT_STRING_NOT_EQUAL(a, b);
}

static void test_auth_oidc__url_rules(void)
{
	CU_ASSERT_PTR_NULL(oidc_url_problem("https://sso.example.com/realms/a"));
	CU_ASSERT_PTR_NULL(oidc_url_problem("HTTPS://sso.example.com"));
	CU_ASSERT_PTR_NULL(oidc_url_problem("http://127.0.0.1:9000/x"));
	CU_ASSERT_PTR_NULL(oidc_url_problem("http://127.3.4.5"));
	CU_ASSERT_PTR_NULL(oidc_url_problem("http://[::1]:9000"));
	CU_ASSERT_PTR_NULL(oidc_url_problem("http://localhost:9000"));
	CU_ASSERT_PTR_NOT_NULL(oidc_url_problem("http://10.0.0.1"));
	CU_ASSERT_PTR_NOT_NULL(oidc_url_problem("http://localhost.evil.example"));
	CU_ASSERT_PTR_NOT_NULL(oidc_url_problem("http://127.0.0.1.evil.example"));
	CU_ASSERT_PTR_NOT_NULL(oidc_url_problem("https://"));
	CU_ASSERT_PTR_NOT_NULL(oidc_url_problem("file:///etc/passwd"));
	CU_ASSERT_PTR_NOT_NULL(oidc_url_problem(""));
	CU_ASSERT_PTR_NOT_NULL(oidc_url_problem("https://a.example/\x7f"));
}

static void test_auth_oidc__user_names_and_groups(void)
{
	struct oidc_group_list list;
	char error[128];

	CU_ASSERT_PTR_NULL(oidc_user_name_problem("alice"));
	CU_ASSERT_PTR_NULL(oidc_user_name_problem("a.b_c-d@example.com"));
	CU_ASSERT_PTR_NOT_NULL(oidc_user_name_problem("@alice"));
	CU_ASSERT_PTR_NOT_NULL(oidc_user_name_problem("a/b"));
	CU_ASSERT_PTR_NOT_NULL(oidc_user_name_problem("caf\xc3\xa9"));

	CU_ASSERT_EQUAL(oidc_group_list_parse(" admins ,ops,  x y ", &list, error, sizeof(error)),
	                0);
	CU_ASSERT_EQUAL(list.count, 3);
	CU_ASSERT(oidc_group_list_contains(&list, "admins"));
	CU_ASSERT(oidc_group_list_contains(&list, "x y"));
	CU_ASSERT(!oidc_group_list_contains(&list, "admin"));
	oidc_group_list_clear(&list);
	CU_ASSERT_EQUAL(oidc_group_list_parse("   ", &list, error, sizeof(error)), 0);
	CU_ASSERT_EQUAL(list.count, 0);
	CU_ASSERT(!oidc_group_list_contains(&list, ""));
	CU_ASSERT_EQUAL(oidc_group_list_parse("a,,b", &list, error, sizeof(error)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(error, "has an empty item (two commas, or one at an end)");
	CU_ASSERT_EQUAL(list.count, 0);
}

/* ---- pending logins ---- */

static struct oidc_pending pending_entry(int i)
{
	struct oidc_pending p = { .redirect_uri = "https://box/api/login/callback/oidc" };

	snprintf(p.state, sizeof(p.state), "state-%d", i);
	snprintf(p.nonce, sizeof(p.nonce), "nonce-%d", i);
	snprintf(p.verifier, sizeof(p.verifier), "verifier-%d", i);
	return p;
}

static void test_auth_oidc__pending_table_bounded(void)
{
	struct oidc_pending_table table;
	struct oidc_pending taken, p;
	int evicted = 0;

	CU_ASSERT_EQUAL_FATAL(
	        oidc_pending_table_init(&table, OIDC_PENDING_MAX, OIDC_PENDING_EXPIRY_S), 0);
	for (int i = 0; i < OIDC_PENDING_MAX + 10; i++) {
		p = pending_entry(i);
		evicted += oidc_pending_add(&table, &p, 1000 + i / 100);
	}
	CU_ASSERT_EQUAL(table.count, OIDC_PENDING_MAX);
	CU_ASSERT_EQUAL(evicted, 10);
	/* The oldest ten went; the eleventh is there, with what it was given. */
	CU_ASSERT_EQUAL(oidc_pending_take(&table, "state-9", 1010, &taken), -ENOENT);
	CU_ASSERT_EQUAL_FATAL(oidc_pending_take(&table, "state-10", 1010, &taken), 0);
	CU_ASSERT_STRING_EQUAL(taken.nonce, "nonce-10");
	CU_ASSERT_STRING_EQUAL(taken.verifier, "verifier-10");
	CU_ASSERT_STRING_EQUAL(taken.redirect_uri, "https://box/api/login/callback/oidc");
	g_free(taken.redirect_uri);
	/* A state is good once. */
	CU_ASSERT_EQUAL(oidc_pending_take(&table, "state-10", 1010, &taken), -ENOENT);
	CU_ASSERT_EQUAL(table.count, OIDC_PENDING_MAX - 1);
	/* Prefixes and NULL match nothing. */
	CU_ASSERT_EQUAL(oidc_pending_take(&table, "state-1", 1010, &taken), -ENOENT);
	CU_ASSERT_EQUAL(oidc_pending_take(&table, NULL, 1010, &taken), -ENOENT);

	/* Ten minutes on, the first ones have expired. */
	CU_ASSERT_EQUAL(
	        oidc_pending_take(&table, "state-11", 1000 + OIDC_PENDING_EXPIRY_S, &taken),
	        -ETIMEDOUT);
	CU_ASSERT_EQUAL(oidc_pending_take(&table, "state-11", 1000, &taken), -ENOENT);
	CU_ASSERT_EQUAL_FATAL(
	        oidc_pending_take(&table, "state-1033", 1000 + OIDC_PENDING_EXPIRY_S, &taken), 0);
	g_free(taken.redirect_uri);
	/* Adding sweeps the expired ones out, without counting them as evicted. */
	p = pending_entry(5000);
	CU_ASSERT_EQUAL(oidc_pending_add(&table, &p, 1000 + OIDC_PENDING_EXPIRY_S + 5), 0);
	CU_ASSERT_EQUAL(table.count, 434);
	oidc_pending_table_clear(&table);
	CU_ASSERT_EQUAL(table.count, 0);
}

static const struct gb_unit_test tests[] = {
	GB_UNIT_TEST(test_auth_oidc__descriptor),
	GB_UNIT_TEST(test_auth_oidc__minimal_settings_accepted),
	GB_UNIT_TEST(test_auth_oidc__no_group_rule_refused),
	GB_UNIT_TEST(test_auth_oidc__bad_settings_refused),
	GB_UNIT_TEST(test_auth_oidc__secret_file_checked),
	GB_UNIT_TEST(test_auth_oidc__finish_without_begin_refused),
	GB_UNIT_TEST(test_auth_oidc__good_tokens_accepted),
	GB_UNIT_TEST(test_auth_oidc__claims_refused),
	GB_UNIT_TEST(test_auth_oidc__signatures_refused),
	GB_UNIT_TEST(test_auth_oidc__jwks_parsed_strictly),
	GB_UNIT_TEST(test_auth_oidc__authorization_url),
	GB_UNIT_TEST(test_auth_oidc__pkce_and_random),
	GB_UNIT_TEST(test_auth_oidc__url_rules),
	GB_UNIT_TEST(test_auth_oidc__user_names_and_groups),
	GB_UNIT_TEST(test_auth_oidc__pending_table_bounded),
};

int main(void)
{
	return GB_UNIT_RUN("auth-oidc", suite_init, suite_cleanup, tests);
}
