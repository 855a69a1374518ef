/* SPDX-License-Identifier: MIT */
/*
 * The keys each type of user remote takes, and the checks on their values.
 * The storage plugin writes each pair as a "key = value" line of an rclone
 * configuration section: a line break, a control character or a key of our
 * own choosing in a value could add lines or sections ("x\n[other]\ntype =
 * local"), so values are refused, never escaped or trimmed, and keys come
 * from this table only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "remotes-check.h"

enum value_kind {
	VALUE_TEXT,     /* anything clean */
	VALUE_URL,      /* http:// or https://, then a host; no white space */
	VALUE_HOST,     /* a host name or an IP address */
	VALUE_PORT,     /* 1..65535 */
	VALUE_CHOICE,   /* one of choices */
	VALUE_PEM,      /* a PEM private key on one line, its breaks written as "\n" */
	VALUE_REGION,   /* [a-z0-9-] */
	VALUE_ENDPOINT, /* a URL or HOST[:PORT], no white space */
};

struct key_spec {
	const char *type;
	const char *key;
	enum value_kind kind;
	size_t max; /* bytes */
	bool required;
	bool secret;
	const char *const *choices; /* VALUE_CHOICE, NULL-terminated */
};

static const char *const webdav_vendors[] = { "other", "nextcloud", "owncloud", "sharepoint",
	                                      NULL };

/* rclone 1.60's S3 providers. */
static const char *const s3_providers[] = {
	"AWS",          "Alibaba",   "ArvanCloud", "Ceph",       "ChinaMobile", "Cloudflare",
	"DigitalOcean", "Dreamhost", "HuaweiOBS",  "IBMCOS",     "IDrive",      "IONOS",
	"LyveCloud",    "Liara",     "Minio",      "Netease",    "RackCorp",    "Scaleway",
	"SeaweedFS",    "StackPath", "Storj",      "TencentCOS", "Wasabi",      "Qiniu",
	"Other",        NULL,
};

static const struct key_spec keys[] = {
	{ "webdav", "url", VALUE_URL, 1024, true, false, NULL },
	{ "webdav", "vendor", VALUE_CHOICE, 16, false, false, webdav_vendors },
	{ "webdav", "user", VALUE_TEXT, 256, false, false, NULL },
	{ "webdav", "pass", VALUE_TEXT, 1024, false, true, NULL },
	{ "sftp", "host", VALUE_HOST, 253, true, false, NULL },
	{ "sftp", "port", VALUE_PORT, 5, false, false, NULL },
	{ "sftp", "user", VALUE_TEXT, 256, true, false, NULL },
	{ "sftp", "pass", VALUE_TEXT, 1024, false, true, NULL },
	{ "sftp", "key_pem", VALUE_PEM, 8192, false, true, NULL },
	{ "s3", "provider", VALUE_CHOICE, 16, true, false, s3_providers },
	{ "s3", "endpoint", VALUE_ENDPOINT, 512, false, false, NULL },
	{ "s3", "region", VALUE_REGION, 64, false, false, NULL },
	{ "s3", "access_key_id", VALUE_TEXT, 256, true, false, NULL },
	{ "s3", "secret_access_key", VALUE_TEXT, 1024, true, true, NULL },
};

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

bool gb_remote_name_is_valid(const char *name)
{
	size_t length = name ? strlen(name) : 0;

	return length >= 1 && length <= GB_REMOTE_NAME_MAX &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") == length;
}

bool gb_remote_type_is_known(const char *type)
{
	return type && (strcmp(type, "webdav") == 0 || strcmp(type, "sftp") == 0 ||
	                strcmp(type, "s3") == 0);
}

static const struct key_spec *find_key(const char *type, const char *key)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (strcmp(keys[i].type, type) == 0 && strcmp(keys[i].key, key) == 0)
			return &keys[i];
	return NULL;
}

bool gb_remote_key_is_secret(const char *type, const char *key)
{
	const struct key_spec *spec = type && key ? find_key(type, key) : NULL;

	/* A key we do not know is treated as one: it is shown nowhere. */
	return !spec || spec->secret;
}

/* Nothing that could end a line or hide: no control characters (C0, DEL, C1),
 * no line or paragraph separators, no white space at either end. */
static bool value_is_clean(const char *value)
{
	gunichar first = 0, last = 0;

	if (!g_utf8_validate(value, -1, NULL))
		return false;
	for (const char *p = value; *p; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);

		if (g_unichar_iscntrl(c) || c == 0x2028 || c == 0x2029 || c == 0xfeff)
			return false;
		if (p == value)
			first = c;
		last = c;
	}
	return !g_unichar_isspace(first) && !g_unichar_isspace(last);
}

static bool has_space(const char *value)
{
	for (const char *p = value; *p; p = g_utf8_next_char(p))
		if (g_unichar_isspace(g_utf8_get_char(p)))
			return true;
	return false;
}

static bool is_url(const char *value)
{
	const char *rest = NULL;

	if (g_str_has_prefix(value, "https://"))
		rest = value + strlen("https://");
	else if (g_str_has_prefix(value, "http://"))
		rest = value + strlen("http://");
	return rest && rest[0] && rest[0] != '/' && !has_space(value);
}

static bool is_host(const char *value)
{
	size_t length = strlen(value);

	/* Names, IPv4 and IPv6 (without brackets); never an option ("-o..."). */
	return length && value[0] != '-' && value[0] != '.' &&
	       strspn(value,
	              "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:") ==
	               length;
}

static bool is_port(const char *value)
{
	size_t length = strlen(value);
	unsigned long port;

	if (!length || length > 5 || strspn(value, "0123456789") != length || value[0] == '0')
		return false;
	port = strtoul(value, NULL, 10);
	return port >= 1 && port <= 65535;
}

static bool is_choice(const char *value, const char *const *choices)
{
	for (size_t i = 0; choices[i]; i++)
		if (strcmp(value, choices[i]) == 0)
			return true;
	return false;
}

static bool value_matches(const struct key_spec *spec, const char *value)
{
	switch (spec->kind) {
	case VALUE_TEXT:
		return true;
	case VALUE_URL:
		return is_url(value);
	case VALUE_HOST:
		return is_host(value);
	case VALUE_PORT:
		return is_port(value);
	case VALUE_CHOICE:
		return is_choice(value, spec->choices);
	case VALUE_PEM:
		return g_str_has_prefix(value, "-----BEGIN ") && strstr(value, "-----END ");
	case VALUE_REGION:
		return strspn(value, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(value);
	case VALUE_ENDPOINT:
		return is_url(value) || is_host(value);
	}
	return false;
}

static const char *kind_hint(const struct key_spec *spec)
{
	switch (spec->kind) {
	case VALUE_URL:
		return "an http:// or https:// address";
	case VALUE_HOST:
		return "a host name or an IP address";
	case VALUE_PORT:
		return "a port, 1..65535";
	case VALUE_CHOICE:
		return "one of the listed choices";
	case VALUE_PEM:
		return "a PEM private key (-----BEGIN ...)";
	case VALUE_REGION:
		return "a region such as us-east-1";
	case VALUE_ENDPOINT:
		return "an http(s):// address or a host name";
	case VALUE_TEXT:
		break;
	}
	return "text";
}

static int check_value(const struct key_spec *spec, const char *value, char *error,
                       size_t error_size)
{
	size_t length = strlen(value);

	if (length == 0) {
		snprintf(error, error_size, "'%s' is empty: leave it out instead", spec->key);
		return -EINVAL;
	}
	if (length > spec->max) {
		snprintf(error, error_size, "'%s' is longer than %zu bytes", spec->key, spec->max);
		return -EINVAL;
	}
	if (!value_is_clean(value)) {
		snprintf(error, error_size,
		         "'%s' holds a line break, a control character, invalid UTF-8 or white "
		         "space at either end",
		         spec->key);
		return -EINVAL;
	}
	if (!value_matches(spec, value)) {
		snprintf(error, error_size, "'%s' must be %s", spec->key, kind_hint(spec));
		return -EINVAL;
	}
	return 0;
}

static bool has_key(const char *const *names, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], key) == 0)
			return true;
	return false;
}

static int check_required(const char *type, const char *const *names, size_t n, char *error,
                          size_t error_size)
{
	for (size_t i = 0; i < N_KEYS; i++) {
		if (strcmp(keys[i].type, type) != 0 || !keys[i].required ||
		    has_key(names, n, keys[i].key))
			continue;
		snprintf(error, error_size, "a %s remote needs '%s'", type, keys[i].key);
		return -EINVAL;
	}
	/* No agent reaches a sidecar: SFTP needs a password or a key. */
	if (strcmp(type, "sftp") == 0 && !has_key(names, n, "pass") &&
	    !has_key(names, n, "key_pem")) {
		snprintf(error, error_size, "an sftp remote needs 'pass' or 'key_pem'");
		return -EINVAL;
	}
	return 0;
}

static void list_keys(const char *type, char *out, size_t size)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < N_KEYS; i++) {
		int n;

		if (strcmp(keys[i].type, type) != 0)
			continue;
		n = snprintf(out + used, size - used, "%s%s", used ? ", " : "", keys[i].key);
		if (n < 0 || (size_t)n >= size - used)
			return;
		used += (size_t)n;
	}
}

int gb_remote_check_params(const char *type, const char *const *names, const char *const *values,
                           size_t n, char *error, size_t error_size)
{
	char known[256];
	int r;

	if (!gb_remote_type_is_known(type)) {
		snprintf(error, error_size, "unknown remote type: expected webdav, sftp or s3");
		return -EINVAL;
	}
	if (n > GB_REMOTE_PARAMS_MAX) {
		snprintf(error, error_size, "more than %d parameters", GB_REMOTE_PARAMS_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		const struct key_spec *spec = find_key(type, names[i]);

		if (!spec) {
			list_keys(type, known, sizeof(known));
			/* The key is the user's: not quoted, it may be anything. */
			snprintf(error, error_size, "a %s remote takes only %s", type, known);
			return -EINVAL;
		}
		if (has_key(names, i, names[i])) {
			snprintf(error, error_size, "'%s' is given twice", spec->key);
			return -EINVAL;
		}
		r = check_value(spec, values[i], error, error_size);
		if (r < 0)
			return r;
	}
	return check_required(type, names, n, error, error_size);
}
