/* SPDX-License-Identifier: MIT */
/* What a request's Host and Origin headers may say (http-checks.h). */
#include <string.h>

#include <gio/gio.h>

#include "http-checks.h"

static bool port_valid(const char *text)
{
	size_t length = strlen(text);
	unsigned long value = 0;

	if (length < 1 || length > 5)
		return false;
	for (size_t i = 0; i < length; i++) {
		if (!g_ascii_isdigit(text[i]))
			return false;
		value = value * 10 + (unsigned long)(text[i] - '0');
	}
	return value >= 1 && value <= 65535;
}

/* Labels of letters, digits and '-' (not at either end), 1..63 each, dots between. */
static bool host_name_valid(const char *name, size_t length)
{
	size_t label = 0;

	if (length == 0)
		return false;
	for (size_t i = 0; i < length; i++) {
		char c = name[i];

		if (c == '.') {
			if (label == 0 || name[i - 1] == '-')
				return false;
			label = 0;
		} else if (g_ascii_isalnum(c) || (c == '-' && label > 0)) {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return label > 0 && name[length - 1] != '-';
}

bool gb_http_host_valid(const char *host)
{
	const char *port = NULL;
	size_t length = host ? strlen(host) : 0;

	if (length == 0 || length > 255)
		return false;
	if (host[0] == '[') {
		const char *close = strchr(host, ']');
		g_autofree char *literal = NULL;
		g_autoptr(GInetAddress) address = NULL;

		if (!close || (close[1] && close[1] != ':'))
			return false;
		literal = g_strndup(host + 1, (gsize)(close - host - 1));
		address = g_inet_address_new_from_string(literal);
		if (!address || g_inet_address_get_family(address) != G_SOCKET_FAMILY_IPV6)
			return false;
		return close[1] == '\0' || port_valid(close + 2);
	}
	port = strchr(host, ':');
	if (port && !port_valid(port + 1))
		return false;
	return host_name_valid(host, port ? (size_t)(port - host) : length);
}

/* "http://host:80" and "http://host" are the same origin. */
static char *normalise_origin(const char *origin)
{
	char *lower = g_ascii_strdown(origin, -1);
	size_t length = strlen(lower);

	if (g_str_has_prefix(lower, "http://") && g_str_has_suffix(lower, ":80"))
		lower[length - 3] = '\0';
	else if (g_str_has_prefix(lower, "https://") && g_str_has_suffix(lower, ":443"))
		lower[length - 4] = '\0';
	return lower;
}

bool gb_http_origin_matches(const char *origin, const char *host, bool https, char *const *allowed,
                            bool required)
{
	g_autofree char *given = NULL;

	if (!origin)
		return !required;
	given = normalise_origin(origin);
	if (host && host[0]) {
		g_autofree char *own_text =
		        g_strdup_printf("%s://%s", https ? "https" : "http", host);
		g_autofree char *own = normalise_origin(own_text);

		if (strcmp(given, own) == 0)
			return true;
	}
	for (size_t i = 0; allowed && allowed[i]; i++) {
		g_autofree char *listed = normalise_origin(allowed[i]);

		if (strcmp(given, listed) == 0)
			return true;
	}
	return false;
}
