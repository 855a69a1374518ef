/* SPDX-License-Identifier: MIT */
/*
 * auth-oidc: what needs no network. The ID token is checked here, against
 * keys handed in by the caller and a clock handed in by the caller, so the
 * unit tests can make tokens and keys of every kind, good and bad.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjose/cjose.h>
#include <json-glib/json-glib.h>

#include "oidc-private.h"
#include "text.h"

#define HEADER_MAX 4096

struct oidc_key {
	cjose_jwk_t *jwk;
	char *kid; /* NULL when the key has none */
	char *alg; /* NULL when the key does not pin one */
	cjose_jwk_kty_t kty;
};

struct oidc_keyset {
	struct oidc_key *keys;
	size_t count;
};

/*
 * Text from the provider (a kid, an issuer) for a log line: at most 80
 * characters, one line, printable ASCII. Each call has its own buffer, so
 * a format may use up to four.
 */
static const char *printable(const char *text)
{
	static __thread char buffers[4][84];
	static __thread unsigned next;
	char *out;

	if (!text)
		return "(none)";
	out = buffers[next++ % 4];
	gb_printable(out, sizeof(buffers[0]), text);
	return out;
}

/* ---- URLs ---- */

static bool host_is_loopback(const char *host)
{
	GInetAddress *address;
	bool loopback;

	if (g_ascii_strcasecmp(host, "localhost") == 0)
		return true;
	address = g_inet_address_new_from_string(host);
	if (!address)
		return false;
	loopback = g_inet_address_get_is_loopback(address);
	g_object_unref(address);
	return loopback;
}

const char *oidc_url_problem(const char *url)
{
	const char *problem = NULL;
	const char *scheme, *host;
	GUri *uri;

	if (!url || !url[0])
		return "is empty";
	if (strlen(url) > OIDC_URL_MAX)
		return "is longer than 2048 characters";
	for (const char *c = url; *c; c++)
		if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
			return "holds a blank, a control or a non-ASCII character";
	uri = g_uri_parse(url, G_URI_FLAGS_ENCODED, NULL);
	if (!uri)
		return "is not a URL";
	scheme = g_uri_get_scheme(uri);
	host = g_uri_get_host(uri);
	if (!host || !host[0])
		problem = "has no host";
	else if (g_uri_get_userinfo(uri))
		problem = "holds a user name or password";
	else if (g_uri_get_fragment(uri))
		problem = "holds a fragment (#...)";
	else if (g_ascii_strcasecmp(scheme, "https") == 0)
		problem = NULL;
	else if (g_ascii_strcasecmp(scheme, "http") != 0)
		problem = "is neither https:// nor http://";
	else if (!host_is_loopback(host))
		problem = "is http:// to a host other than a loopback address; use https://";
	g_uri_unref(uri);
	return problem;
}

void oidc_append_encoded(GString *out, const char *text)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
		if (g_ascii_isalnum(*c) || *c == '-' || *c == '.' || *c == '_' || *c == '~') {
			g_string_append_c(out, (char)*c);
		} else {
			g_string_append_c(out, '%');
			g_string_append_c(out, hex[*c >> 4]);
			g_string_append_c(out, hex[*c & 15]);
		}
	}
}

int oidc_authorization_url(const struct oidc_authorization_request *request, char *url,
                           size_t size)
{
	const struct {
		const char *key;
		const char *value;
	} parameters[] = {
		{ "response_type", "code" },
		{ "client_id", request->client_id },
		{ "redirect_uri", request->redirect_uri },
		{ "scope", request->scopes },
		{ "state", request->state },
		{ "nonce", request->nonce },
		{ "code_challenge", request->code_challenge },
		{ "code_challenge_method", "S256" },
	};
	GString *out;
	int r = 0;

	if (!request->endpoint || !url || size == 0)
		return -EINVAL;
	for (size_t i = 0; i < G_N_ELEMENTS(parameters); i++)
		if (!parameters[i].value || !parameters[i].value[0])
			return -EINVAL;
	out = g_string_new(request->endpoint);
	/* An endpoint may carry its own query (?tenant=...): keep it. */
	g_string_append_c(out, strchr(request->endpoint, '?') ? '&' : '?');
	for (size_t i = 0; i < G_N_ELEMENTS(parameters); i++) {
		if (i)
			g_string_append_c(out, '&');
		g_string_append(out, parameters[i].key);
		g_string_append_c(out, '=');
		oidc_append_encoded(out, parameters[i].value);
	}
	if (out->len >= size)
		r = -ENAMETOOLONG;
	else
		memcpy(url, out->str, out->len + 1);
	g_string_free(out, TRUE);
	return r;
}

/* ---- random values and PKCE ---- */

char *oidc_base64url_encode(const void *data, size_t size)
{
	char *text = g_base64_encode(data, size);
	char *end;

	for (char *c = text; *c; c++) {
		if (*c == '+')
			*c = '-';
		else if (*c == '/')
			*c = '_';
	}
	end = strchr(text, '=');
	if (end)
		*end = '\0';
	return text;
}

void oidc_pkce_challenge(const char *verifier, char challenge[OIDC_RANDOM_TEXT_SIZE])
{
	GChecksum *checksum = g_checksum_new(G_CHECKSUM_SHA256);
	guint8 digest[32];
	gsize length = sizeof(digest);
	char *encoded;

	g_checksum_update(checksum, (const guchar *)verifier, (gssize)strlen(verifier));
	g_checksum_get_digest(checksum, digest, &length);
	g_checksum_free(checksum);
	encoded = oidc_base64url_encode(digest, length);
	g_strlcpy(challenge, encoded, OIDC_RANDOM_TEXT_SIZE);
	g_free(encoded);
}

/* Strict base64url (no padding, no other characters); NULL when malformed. */
static guint8 *base64url_decode(const char *text, size_t length, size_t *size)
{
	static const char alphabet[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	guint8 *out;
	uint32_t bits = 0;
	int n_bits = 0;
	size_t done = 0;

	if (length % 4 == 1)
		return NULL;
	out = g_malloc(length * 3 / 4 + 1);
	for (size_t i = 0; i < length; i++) {
		const char *position = text[i] ? memchr(alphabet, text[i], 64) : NULL;

		if (!position) {
			g_free(out);
			return NULL;
		}
		bits = (bits << 6) | (uint32_t)(position - alphabet);
		n_bits += 6;
		if (n_bits >= 8) {
			n_bits -= 8;
			out[done++] = (guint8)(bits >> n_bits);
		}
	}
	out[done] = 0;
	*size = done;
	return out;
}

/* ---- user names and groups ---- */

const char *oidc_user_name_problem(const char *name)
{
	size_t length = strlen(name);

	if (length == 0)
		return "is empty";
	if (length >= GB_IDENTITY_NAME_MAX)
		return "is longer than 63 characters";
	if (name[0] == '.' || name[0] == '-' || name[0] == '@')
		return "starts with '.', '-' or '@'";
	if (strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@") !=
	    length)
		return "holds a character other than A-Z a-z 0-9 . _ - @";
	return NULL;
}

void oidc_group_list_clear(struct oidc_group_list *list)
{
	g_strfreev(list->names);
	list->names = NULL;
	list->count = 0;
}

int oidc_group_list_parse(const char *text, struct oidc_group_list *list, char *error,
                          size_t error_size)
{
	char **items;
	size_t count;

	list->names = NULL;
	list->count = 0;
	if (!text)
		return 0;
	for (const char *c = text; *c; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			gb_error_set(error, error_size, "holds a control character");
			return -EINVAL;
		}
	}
	if (text[strspn(text, " \t")] == '\0')
		return 0;
	items = g_strsplit(text, ",", OIDC_GROUPS_MAX + 2);
	count = g_strv_length(items);
	if (count > OIDC_GROUPS_MAX) {
		g_strfreev(items);
		gb_error_set(error, error_size, "names more than 256 groups");
		return -EINVAL;
	}
	for (size_t i = 0; i < count; i++) {
		g_strstrip(items[i]);
		if (!items[i][0]) {
			g_strfreev(items);
			gb_error_set(error, error_size,
			             "has an empty item (two commas, or one at an end)");
			return -EINVAL;
		}
		if (strlen(items[i]) > OIDC_GROUP_NAME_MAX) {
			g_strfreev(items);
			gb_error_set(error, error_size,
			             "names a group longer than 256 characters");
			return -EINVAL;
		}
	}
	list->names = items;
	list->count = count;
	return 0;
}

bool oidc_group_list_contains(const struct oidc_group_list *list, const char *name)
{
	for (size_t i = 0; i < list->count; i++)
		if (strcmp(list->names[i], name) == 0)
			return true;
	return false;
}

/* ---- keys ---- */

void oidc_keyset_free(struct oidc_keyset *keyset)
{
	if (!keyset)
		return;
	for (size_t i = 0; i < keyset->count; i++) {
		cjose_jwk_release(keyset->keys[i].jwk);
		g_free(keyset->keys[i].kid);
		g_free(keyset->keys[i].alg);
	}
	g_free(keyset->keys);
	g_free(keyset);
}

size_t oidc_keyset_count(const struct oidc_keyset *keyset)
{
	return keyset ? keyset->count : 0;
}

static const char *object_string(JsonObject *object, const char *name)
{
	JsonNode *node = json_object_get_member(object, name);

	if (!node || !JSON_NODE_HOLDS_VALUE(node) ||
	    json_node_get_value_type(node) != G_TYPE_STRING)
		return NULL;
	return json_node_get_string(node);
}

/* Import one JWK; NULL (not an error) for a key we would never use. */
static bool import_key(JsonNode *node, struct oidc_key *key)
{
	JsonObject *object = json_node_get_object(node);
	const char *use = object_string(object, "use");
	const char *kty = object_string(object, "kty");
	cjose_err jose_error;
	char *text;

	if (!kty || (strcmp(kty, "RSA") != 0 && strcmp(kty, "EC") != 0))
		return false; /* never "oct": a shared secret is no provider's public key */
	if (use && strcmp(use, "sig") != 0)
		return false;
	if (json_object_has_member(object, "d"))
		return false; /* a private key published by mistake: do not touch it */
	text = json_to_string(node, FALSE);
	key->jwk = cjose_jwk_import(text, strlen(text), &jose_error);
	g_free(text);
	if (!key->jwk)
		return false;
	key->kty = cjose_jwk_get_kty(key->jwk, &jose_error);
	if ((key->kty == CJOSE_JWK_KTY_RSA &&
	     cjose_jwk_get_keysize(key->jwk, &jose_error) < 2048) ||
	    (key->kty == CJOSE_JWK_KTY_EC &&
	     cjose_jwk_EC_get_curve(key->jwk, &jose_error) != CJOSE_JWK_EC_P_256) ||
	    (key->kty != CJOSE_JWK_KTY_RSA && key->kty != CJOSE_JWK_KTY_EC)) {
		cjose_jwk_release(key->jwk);
		key->jwk = NULL;
		return false;
	}
	key->kid = g_strdup(object_string(object, "kid"));
	key->alg = g_strdup(object_string(object, "alg"));
	return true;
}

int oidc_keyset_parse(const char *json, size_t length, struct oidc_keyset **keyset,
                      size_t *skipped, char *error, size_t error_size)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) gerror = NULL;
	struct oidc_keyset *set;
	JsonNode *root, *keys;
	JsonArray *array;
	size_t n_skipped = 0;
	guint n;

	*keyset = NULL;
	if (!json_parser_load_from_data(parser, json, (gssize)length, &gerror)) {
		gb_error_set(error, error_size, "the JWKS is not JSON: %s",
		             printable(gerror->message));
		return -EINVAL;
	}
	root = json_parser_get_root(parser);
	if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
		gb_error_set(error, error_size, "the JWKS is not a JSON object");
		return -EINVAL;
	}
	keys = json_object_get_member(json_node_get_object(root), "keys");
	if (!keys || !JSON_NODE_HOLDS_ARRAY(keys)) {
		gb_error_set(error, error_size, "the JWKS has no \"keys\" list");
		return -EINVAL;
	}
	array = json_node_get_array(keys);
	n = json_array_get_length(array);
	if (n > OIDC_JWKS_KEYS_MAX) {
		gb_error_set(error, error_size, "the JWKS holds %u keys, more than %d", n,
		             OIDC_JWKS_KEYS_MAX);
		return -EINVAL;
	}
	set = g_new0(struct oidc_keyset, 1);
	set->keys = g_new0(struct oidc_key, n ? n : 1);
	for (guint i = 0; i < n; i++) {
		JsonNode *node = json_array_get_element(array, i);

		if (JSON_NODE_HOLDS_OBJECT(node) && import_key(node, &set->keys[set->count]))
			set->count++;
		else
			n_skipped++;
	}
	if (skipped)
		*skipped = n_skipped;
	if (set->count == 0) {
		oidc_keyset_free(set);
		gb_error_set(
		        error, error_size,
		        "the JWKS holds no usable signing key (RSA of 2048 bits or more, or EC "
		        "P-256; %zu skipped)",
		        n_skipped);
		return -EINVAL;
	}
	*keyset = set;
	return 0;
}

/* ---- the ID token ---- */

/* Only asymmetric algorithms: "none" and HS* would let anyone who knows the
 * client secret (or nobody at all) mint tokens. */
static bool alg_allowed(const char *alg, cjose_jwk_kty_t *kty)
{
	if (strcmp(alg, "RS256") == 0 || strcmp(alg, "PS256") == 0) {
		*kty = CJOSE_JWK_KTY_RSA;
		return true;
	}
	if (strcmp(alg, "ES256") == 0) {
		*kty = CJOSE_JWK_KTY_EC;
		return true;
	}
	return false;
}

/* A whole number of seconds from a JSON number; false when absent or not a number. */
static bool object_seconds(JsonObject *object, const char *name, int64_t *value)
{
	JsonNode *node = json_object_get_member(object, name);
	double number;

	if (!node || !JSON_NODE_HOLDS_VALUE(node))
		return false;
	if (json_node_get_value_type(node) == G_TYPE_INT64) {
		*value = json_node_get_int(node);
		return true;
	}
	if (json_node_get_value_type(node) != G_TYPE_DOUBLE)
		return false;
	number = json_node_get_double(node);
	if (!isfinite(number) || number < -1e15 || number > 1e15)
		return false;
	*value = (int64_t)floor(number);
	return true;
}

static JsonObject *parse_object(JsonParser *parser, const guint8 *data, size_t size)
{
	JsonNode *root;

	if (!json_parser_load_from_data(parser, (const char *)data, (gssize)size, NULL))
		return NULL;
	root = json_parser_get_root(parser);
	if (!root || !JSON_NODE_HOLDS_OBJECT(root))
		return NULL;
	return json_node_get_object(root);
}

/* The protected header, read before cjose sees the token, so that an alg we
 * refuse is refused by name and never reaches a verifier. */
static int read_header(const char *id_token, size_t header_length, char *alg, size_t alg_size,
                       char *kid, size_t kid_size, bool *has_kid, char *error, size_t error_size)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autofree guint8 *data = NULL;
	JsonObject *header;
	const char *value;
	size_t size;

	if (header_length == 0 || header_length > HEADER_MAX) {
		gb_error_set(error, error_size, "the id_token's header is empty or too long");
		return -EACCES;
	}
	data = base64url_decode(id_token, header_length, &size);
	header = data ? parse_object(parser, data, size) : NULL;
	if (!header) {
		gb_error_set(error, error_size, "the id_token's header is not base64url JSON");
		return -EACCES;
	}
	value = object_string(header, "alg");
	if (!value) {
		gb_error_set(error, error_size, "the id_token's header has no alg");
		return -EACCES;
	}
	g_strlcpy(alg, value, alg_size);
	if (strlen(value) >= alg_size)
		memcpy(alg + alg_size - 4, "...", 4);
	if (json_object_has_member(header, "crit")) {
		gb_error_set(error, error_size,
		             "the id_token's header has critical extensions (crit)");
		return -EACCES;
	}
	value = object_string(header, "kid");
	*has_kid = value != NULL;
	if (json_object_has_member(header, "kid") && !value) {
		gb_error_set(error, error_size, "the id_token's kid is not a string");
		return -EACCES;
	}
	g_strlcpy(kid, value ? value : "", kid_size);
	if (value && strlen(value) >= kid_size) {
		gb_error_set(error, error_size, "the id_token's kid is longer than %zu characters",
		             kid_size - 1);
		return -EACCES;
	}
	return 0;
}

/* Check the signature. 0, -ENOKEY or -EACCES. */
static int verify_signature(const char *id_token, const struct oidc_keyset *keyset,
                            const char *alg, const char *kid, bool has_kid, char *error,
                            size_t error_size)
{
	cjose_jwk_kty_t kty;
	cjose_jws_t *jws;
	cjose_err jose_error;
	size_t n_with_kid = 0, n_tried = 0;
	bool verified = false;

	if (!alg_allowed(alg, &kty)) {
		gb_error_set(
		        error, error_size,
		        "the id_token is signed with alg '%s'; only RS256, ES256 and PS256 are "
		        "accepted",
		        printable(alg));
		return -EACCES;
	}
	jws = cjose_jws_import(id_token, strlen(id_token), &jose_error);
	if (!jws) {
		gb_error_set(error, error_size, "the id_token is not a JWS cjose can read: %s",
		             printable(jose_error.message));
		return -EACCES;
	}
	for (size_t i = 0; keyset && i < keyset->count && !verified; i++) {
		const struct oidc_key *key = &keyset->keys[i];

		if (has_kid && (!key->kid || strcmp(key->kid, kid) != 0))
			continue;
		n_with_kid++;
		if (key->kty != kty || (key->alg && strcmp(key->alg, alg) != 0))
			continue;
		n_tried++;
		verified = cjose_jws_verify(jws, key->jwk, &jose_error);
	}
	cjose_jws_release(jws);
	if (verified)
		return 0;
	if (has_kid && n_with_kid == 0) {
		gb_error_set(error, error_size,
		             "the id_token's kid '%s' is not among the provider's keys",
		             printable(kid));
		return -ENOKEY;
	}
	if (n_tried == 0) {
		gb_error_set(error, error_size, "no key%s%s%s of the provider is for alg %s",
		             has_kid ? " '" : "", has_kid ? printable(kid) : "",
		             has_kid ? "'" : "", alg);
		return has_kid ? -EACCES : -ENOKEY;
	}
	gb_error_set(error, error_size,
	             "the id_token's signature does not verify (alg %s, kid '%s')", alg,
	             has_kid ? printable(kid) : "(none)");
	return -EACCES;
}

static int check_audience(JsonObject *claims, const char *client_id, char *error,
                          size_t error_size)
{
	JsonNode *aud = json_object_get_member(claims, "aud");
	const char *azp = object_string(claims, "azp");
	bool found = false;
	guint n = 1;

	if (aud && JSON_NODE_HOLDS_VALUE(aud) && json_node_get_value_type(aud) == G_TYPE_STRING) {
		found = strcmp(json_node_get_string(aud), client_id) == 0;
	} else if (aud && JSON_NODE_HOLDS_ARRAY(aud)) {
		JsonArray *array = json_node_get_array(aud);

		n = json_array_get_length(array);
		for (guint i = 0; i < n && i < 256; i++) {
			JsonNode *item = json_array_get_element(array, i);

			if (JSON_NODE_HOLDS_VALUE(item) &&
			    json_node_get_value_type(item) == G_TYPE_STRING &&
			    strcmp(json_node_get_string(item), client_id) == 0)
				found = true;
		}
	} else {
		gb_error_set(error, error_size,
		             "the id_token has no aud (or it is not a string or a list)");
		return -EACCES;
	}
	if (!found) {
		if (n == 1 && JSON_NODE_HOLDS_VALUE(aud))
			gb_error_set(error, error_size,
			             "the id_token's aud '%s' is not our client_id '%s'",
			             printable(json_node_get_string(aud)), printable(client_id));
		else
			gb_error_set(
			        error, error_size,
			        "the id_token's aud (a list of %u) does not hold our client_id "
			        "'%s'",
			        n, printable(client_id));
		return -EACCES;
	}
	/* OpenID Connect Core 3.1.3.7, steps 4 and 5. */
	if (n > 1 && !azp) {
		gb_error_set(error, error_size, "the id_token has several audiences and no azp");
		return -EACCES;
	}
	if (json_object_has_member(claims, "azp") && (!azp || strcmp(azp, client_id) != 0)) {
		gb_error_set(error, error_size,
		             "the id_token's azp '%s' is not our client_id '%s'", printable(azp),
		             printable(client_id));
		return -EACCES;
	}
	return 0;
}

static int check_times(JsonObject *claims, int64_t now, char *error, size_t error_size)
{
	int64_t exp, iat, nbf;

	if (!object_seconds(claims, "exp", &exp)) {
		gb_error_set(error, error_size, "the id_token has no exp (or it is not a number)");
		return -EACCES;
	}
	if (now >= exp + OIDC_LEEWAY_S) {
		gb_error_set(error, error_size,
		             "the id_token expired %" PRId64 " s ago (exp %" PRId64
		             ", leeway %d s)",
		             now - exp, exp, OIDC_LEEWAY_S);
		return -EACCES;
	}
	if (!object_seconds(claims, "iat", &iat)) {
		gb_error_set(error, error_size, "the id_token has no iat (or it is not a number)");
		return -EACCES;
	}
	if (iat > now + OIDC_LEEWAY_S) {
		gb_error_set(error, error_size,
		             "the id_token's iat is %" PRId64 " s in the future (leeway %d s); is "
		             "a clock wrong?",
		             iat - now, OIDC_LEEWAY_S);
		return -EACCES;
	}
	if (json_object_has_member(claims, "nbf")) {
		if (!object_seconds(claims, "nbf", &nbf)) {
			gb_error_set(error, error_size, "the id_token's nbf is not a number");
			return -EACCES;
		}
		if (nbf > now + OIDC_LEEWAY_S) {
			gb_error_set(error, error_size,
			             "the id_token is not valid before %" PRId64
			             " s from now (nbf)",
			             nbf - now);
			return -EACCES;
		}
	}
	return 0;
}

/* The groups claim: absent (no group), one string, or a list of strings. */
static int collect_groups(JsonObject *claims, const char *name, GPtrArray *groups, char *error,
                          size_t error_size)
{
	JsonNode *node = json_object_get_member(claims, name);

	if (!node || JSON_NODE_HOLDS_NULL(node))
		return 0;
	if (JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == G_TYPE_STRING) {
		g_ptr_array_add(groups, (gpointer)json_node_get_string(node));
		return 0;
	}
	if (JSON_NODE_HOLDS_ARRAY(node)) {
		JsonArray *array = json_node_get_array(node);
		guint n = json_array_get_length(array);

		if (n > OIDC_GROUPS_MAX) {
			gb_error_set(error, error_size,
			             "the id_token's %s claim lists %u groups, more than %d",
			             printable(name), n, OIDC_GROUPS_MAX);
			return -EACCES;
		}
		for (guint i = 0; i < n; i++) {
			JsonNode *item = json_array_get_element(array, i);

			if (JSON_NODE_HOLDS_VALUE(item) &&
			    json_node_get_value_type(item) == G_TYPE_STRING)
				g_ptr_array_add(groups, (gpointer)json_node_get_string(item));
		}
		return 0;
	}
	gb_error_set(error, error_size, "the id_token's %s claim is neither a string nor a list",
	             printable(name));
	return -EACCES;
}

static int map_identity(JsonObject *claims, const struct oidc_token_rules *rules,
                        struct oidc_token_result *result, char *error, size_t error_size)
{
	g_autoptr(GPtrArray) groups = g_ptr_array_new();
	const char *user = object_string(claims, rules->username_claim);
	const char *prefix = rules->username_prefix ? rules->username_prefix : "";
	const char *problem;
	bool admin = false, member = false;
	int r;

	if (!user) {
		gb_error_set(error, error_size,
		             "the id_token has no %s claim (or it is not a string)",
		             printable(rules->username_claim));
		return -EACCES;
	}
	problem = oidc_user_name_problem(user);
	if (problem) {
		gb_error_set(error, error_size, "the id_token's %s '%s' %s",
		             printable(rules->username_claim), printable(user), problem);
		return -EACCES;
	}
	if (strlen(prefix) + strlen(user) >= sizeof(result->user)) {
		gb_error_set(error, error_size,
		             "the user name '%s%s' is longer than 63 characters",
		             printable(prefix), printable(user));
		return -EACCES;
	}
	g_strlcpy(result->user, prefix, sizeof(result->user));
	g_strlcat(result->user, user, sizeof(result->user));

	r = collect_groups(claims, rules->groups_claim, groups, error, error_size);
	if (r < 0)
		return r;
	for (guint i = 0; i < groups->len; i++) {
		const char *group = g_ptr_array_index(groups, i);

		if (rules->admin_groups && oidc_group_list_contains(rules->admin_groups, group))
			admin = true;
		if (rules->user_groups && oidc_group_list_contains(rules->user_groups, group))
			member = true;
	}
	if (!admin && !member && rules->user_groups && rules->user_groups->count > 0) {
		gb_error_set(
		        error, error_size,
		        "user '%s' is in none of admin_groups and user_groups (%u groups in the "
		        "%s claim)",
		        result->user, groups->len, printable(rules->groups_claim));
		return -EACCES;
	}
	result->roles = GB_ROLE_USER | (admin ? GB_ROLE_ADMIN : 0);
	return 0;
}

int oidc_verify_id_token(const char *id_token, const struct oidc_keyset *keyset,
                         const struct oidc_token_rules *rules, struct oidc_token_result *result,
                         char *error, size_t error_size)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autofree guint8 *payload = NULL;
	const char *first_dot, *second_dot, *value;
	JsonObject *claims;
	bool has_kid = false;
	size_t size, length;
	int r;

	memset(result, 0, sizeof(*result));
	if (!id_token || !rules || !rules->issuer || !rules->client_id || !rules->nonce ||
	    !rules->username_claim || !rules->groups_claim) {
		gb_error_set(error, error_size, "no id_token");
		return -EACCES;
	}
	length = strlen(id_token);
	if (length > OIDC_ID_TOKEN_MAX) {
		gb_error_set(error, error_size, "the id_token is longer than %d bytes",
		             OIDC_ID_TOKEN_MAX);
		return -EACCES;
	}
	first_dot = strchr(id_token, '.');
	second_dot = first_dot ? strchr(first_dot + 1, '.') : NULL;
	if (!second_dot || strchr(second_dot + 1, '.')) {
		gb_error_set(error, error_size,
		             "the id_token is not a compact JWS (three parts)%s",
		             second_dot ? "; an encrypted (JWE) id_token is not supported" : "");
		return -EACCES;
	}
	r = read_header(id_token, (size_t)(first_dot - id_token), result->alg, sizeof(result->alg),
	                result->kid, sizeof(result->kid), &has_kid, error, error_size);
	if (r < 0)
		return r;
	r = verify_signature(id_token, keyset, result->alg, result->kid, has_kid, error,
	                     error_size);
	if (r < 0)
		return r;

	/* Signed by the provider: now what it says. */
	payload = base64url_decode(first_dot + 1, (size_t)(second_dot - first_dot - 1), &size);
	claims = payload ? parse_object(parser, payload, size) : NULL;
	if (!claims) {
		gb_error_set(error, error_size, "the id_token's claims are not a JSON object");
		return -EACCES;
	}
	value = object_string(claims, "iss");
	if (!value || strcmp(value, rules->issuer) != 0) {
		gb_error_set(error, error_size, "the id_token's iss '%s' is not the issuer '%s'",
		             printable(value), printable(rules->issuer));
		return -EACCES;
	}
	r = check_audience(claims, rules->client_id, error, error_size);
	if (r < 0)
		return r;
	r = check_times(claims, rules->now, error, error_size);
	if (r < 0)
		return r;
	value = object_string(claims, "nonce");
	if (!value) {
		gb_error_set(error, error_size, "the id_token has no nonce");
		return -EACCES;
	}
	if (!gb_equal_in_constant_time(value, rules->nonce)) {
		gb_error_set(error, error_size,
		             "the id_token's nonce is not the one this login sent");
		return -EACCES;
	}
	value = object_string(claims, "sub");
	if (!value || !value[0]) {
		gb_error_set(error, error_size, "the id_token has no sub");
		return -EACCES;
	}
	return map_identity(claims, rules, result, error, error_size);
}

/* ---- pending logins ---- */

int oidc_pending_table_init(struct oidc_pending_table *table, size_t capacity, int64_t expiry_s)
{
	memset(table, 0, sizeof(*table));
	if (capacity == 0)
		return -EINVAL;
	table->entries = calloc(capacity, sizeof(*table->entries));
	if (!table->entries)
		return -ENOMEM;
	table->capacity = capacity;
	table->expiry_s = expiry_s;
	return 0;
}

static void pending_wipe(struct oidc_pending *pending)
{
	g_free(pending->redirect_uri);
	explicit_bzero(pending, sizeof(*pending));
}

void oidc_pending_table_clear(struct oidc_pending_table *table)
{
	for (size_t i = 0; i < table->count; i++)
		pending_wipe(&table->entries[i]);
	free(table->entries);
	memset(table, 0, sizeof(*table));
}

static void pending_remove(struct oidc_pending_table *table, size_t index, bool wipe)
{
	if (wipe)
		pending_wipe(&table->entries[index]);
	memmove(&table->entries[index], &table->entries[index + 1],
	        (table->count - index - 1) * sizeof(*table->entries));
	table->count--;
	memset(&table->entries[table->count], 0, sizeof(*table->entries));
}

int oidc_pending_add(struct oidc_pending_table *table, const struct oidc_pending *pending,
                     int64_t now)
{
	int evicted = 0;

	if (!table->entries)
		return -EINVAL;
	/* Entries are in the order they were added: the expired ones are first. */
	while (table->count > 0 && now - table->entries[0].created >= table->expiry_s)
		pending_remove(table, 0, true);
	if (table->count == table->capacity) {
		pending_remove(table, 0, true);
		evicted = 1;
	}
	table->entries[table->count] = *pending;
	table->entries[table->count].redirect_uri = g_strdup(pending->redirect_uri);
	table->entries[table->count].created = now;
	table->count++;
	return evicted;
}

int oidc_pending_take(struct oidc_pending_table *table, const char *state, int64_t now,
                      struct oidc_pending *pending)
{
	for (size_t i = 0; state && i < table->count; i++) {
		bool expired;

		if (!gb_equal_in_constant_time(state, table->entries[i].state))
			continue;
		*pending = table->entries[i];
		expired = now - pending->created >= table->expiry_s;
		pending_remove(table, i, false);
		if (expired) {
			pending_wipe(pending);
			return -ETIMEDOUT;
		}
		return 0;
	}
	return -ENOENT;
}
