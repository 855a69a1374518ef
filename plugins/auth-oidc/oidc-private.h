/* SPDX-License-Identifier: MIT */
/*
 * auth-oidc internals: the parts that need no network (ID token checks,
 * JWKS parsing, URL rules, the authorization URL, the table of pending
 * logins) as pure functions, so that tests/unit/test-auth-oidc.c can drive
 * them with keys it makes itself; and the small HTTP client the plugin
 * talks to the provider with.
 */
#ifndef GLASSBOX_AUTH_OIDC_PRIVATE_H
#define GLASSBOX_AUTH_OIDC_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gio/gio.h>

#include <glassbox/auth.h>

#include "error.h"
#include "secret.h"

/* Allowed clock difference between us and the provider for exp, iat, nbf. */
#define OIDC_LEEWAY_S 60
/* Pending logins: how many, and for how long, a browser may be away at the provider. */
#define OIDC_PENDING_MAX      1024
#define OIDC_PENDING_EXPIRY_S 600
/* A state, a nonce or a code verifier: gb_random_token(), 32 random bytes in
 * base64url without padding, and its NUL. */
#define OIDC_RANDOM_TEXT_SIZE GB_RANDOM_TOKEN_SIZE
/* What we read from the provider, and what we accept in an ID token. */
#define OIDC_BODY_MAX       (1024 * 1024)
#define OIDC_ID_TOKEN_MAX   (64 * 1024)
#define OIDC_JWKS_KEYS_MAX  64
#define OIDC_GROUPS_MAX     256
#define OIDC_GROUP_NAME_MAX 256
/* Longest URL we build or accept in a setting or a discovery document. */
#define OIDC_URL_MAX 2048

/* ---- URLs ---- */

/*
 * An endpoint we may talk to: https://, or http:// only when the host is a
 * loopback address (127.0.0.0/8, ::1, localhost), with a host, no user
 * information, no fragment, at most OIDC_URL_MAX bytes. NULL when fine, else
 * why not (a constant string).
 */
const char *oidc_url_problem(const char *url);

/* Percent-encode @text for a query component (RFC 3986: all but unreserved). */
void oidc_append_encoded(GString *out, const char *text);

struct oidc_authorization_request {
	const char *endpoint; /* the provider's authorization_endpoint */
	const char *client_id;
	const char *redirect_uri;
	const char *scopes; /* space separated */
	const char *state;
	const char *nonce;
	const char *code_challenge; /* S256 */
};

/*
 * The URL to send the browser to, into @url (NUL-terminated, @size bytes).
 * 0, -EINVAL for a missing member, -ENAMETOOLONG when it does not fit.
 */
int oidc_authorization_url(const struct oidc_authorization_request *request, char *url,
                           size_t size);

/* ---- random values and PKCE ---- */

/* base64url(SHA-256(@verifier)), the S256 code challenge of RFC 7636. */
void oidc_pkce_challenge(const char *verifier, char challenge[OIDC_RANDOM_TEXT_SIZE]);
/* base64url without padding; a g_malloc()ed string. */
char *oidc_base64url_encode(const void *data, size_t size);

/* ---- user names and groups ---- */

/*
 * A user name from the provider: 1..63 of A-Z a-z 0-9 . _ - @, not starting
 * with '.', '-' or '@'. NULL when fine, else why not.
 */
const char *oidc_user_name_problem(const char *name);

struct oidc_group_list {
	char **names; /* NULL-terminated; NULL: empty list */
	size_t count;
};

/*
 * Parse a comma-separated list of groups ("admins, ops"): blanks around
 * items are dropped, empty items refused. 0 or -EINVAL with one line in @error.
 */
int oidc_group_list_parse(const char *text, struct oidc_group_list *list, char *error,
                          size_t error_size);
void oidc_group_list_clear(struct oidc_group_list *list);
bool oidc_group_list_contains(const struct oidc_group_list *list, const char *name);

/* ---- keys ---- */

struct oidc_keyset;

/*
 * Parse a JWK Set ({"keys":[...]}). Only public RSA keys of 2048 bits or
 * more and EC P-256 keys meant for signing are kept; others are skipped
 * (counted in *skipped when not NULL). 0, or -EINVAL with @error when the
 * document is not a JWK Set or holds no usable key.
 */
int oidc_keyset_parse(const char *json, size_t length, struct oidc_keyset **keyset,
                      size_t *skipped, char *error, size_t error_size);
void oidc_keyset_free(struct oidc_keyset *keyset);
size_t oidc_keyset_count(const struct oidc_keyset *keyset);

/* ---- the ID token ---- */

struct oidc_token_rules {
	const char *issuer;
	const char *client_id;
	const char *nonce;
	const char *username_claim;
	const char *groups_claim;
	const char *username_prefix; /* may be NULL */
	const struct oidc_group_list *admin_groups;
	const struct oidc_group_list *user_groups; /* empty: everyone is a user */
	int64_t now;                               /* seconds since the epoch */
};

struct oidc_token_result {
	char user[GB_IDENTITY_NAME_MAX];
	uint32_t roles; /* enum gb_role bits */
	char kid[128];  /* the key that signed it, for the log */
	char alg[16];
};

/*
 * Check an ID token: its JWS signature against @keyset (RS256, ES256 and
 * PS256 only), then iss, aud (and azp), exp, iat, nbf, nonce, sub, the user
 * name claim and the groups. Returns 0 with @result, -ENOKEY when no key of
 * @keyset has the token's kid (the caller may re-fetch the keys once), or
 * -EACCES; both with the reason in @error, which never quotes the token.
 */
int oidc_verify_id_token(const char *id_token, const struct oidc_keyset *keyset,
                         const struct oidc_token_rules *rules, struct oidc_token_result *result,
                         char *error, size_t error_size);

/* ---- pending logins ---- */

struct oidc_pending {
	char state[OIDC_RANDOM_TEXT_SIZE];
	char nonce[OIDC_RANDOM_TEXT_SIZE];
	char verifier[OIDC_RANDOM_TEXT_SIZE];
	char *redirect_uri;
	int64_t created; /* monotonic seconds */
};

struct oidc_pending_table {
	struct oidc_pending *entries; /* OIDC_PENDING_MAX of them */
	size_t count;
	size_t capacity;
	int64_t expiry_s;
};

int oidc_pending_table_init(struct oidc_pending_table *table, size_t capacity, int64_t expiry_s);
void oidc_pending_table_clear(struct oidc_pending_table *table);
/*
 * Remember a login begun at @now: expired entries go first, then, when the
 * table is full, the oldest. Returns the number of entries evicted to make
 * room (0 or 1) or a negative errno.
 */
int oidc_pending_add(struct oidc_pending_table *table, const struct oidc_pending *pending,
                     int64_t now);
/*
 * Take the login of @state out of the table (at once: a state is good for one
 * answer only). 0 with *pending (the caller frees pending->redirect_uri),
 * -ENOENT when unknown, -ETIMEDOUT when it was there but had expired.
 */
int oidc_pending_take(struct oidc_pending_table *table, const char *state, int64_t now,
                      struct oidc_pending *pending);

/* ---- HTTP ---- */

struct oidc_http_options {
	int timeout_s;
	GTlsDatabase *tls_database; /* NULL: the system's CA store */
};

struct oidc_http_response {
	unsigned status;
	GBytes *body; /* at most OIDC_BODY_MAX bytes */
};

/*
 * GET @url, or POST @form (application/x-www-form-urlencoded) with an
 * optional Authorization header, on the calling thread, within about twice
 * the time-out. Redirects are not followed. 0 with @response (any status;
 * free it with oidc_http_response_clear), or -EIO / -ETIMEDOUT / -EFBIG
 * with @error.
 */
int oidc_http_request(const struct oidc_http_options *options, const char *method, const char *url,
                      const char *authorization, const char *form,
                      struct oidc_http_response *response, char *error, size_t error_size);
void oidc_http_response_clear(struct oidc_http_response *response);

#endif /* GLASSBOX_AUTH_OIDC_PRIVATE_H */
