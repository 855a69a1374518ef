/* SPDX-License-Identifier: MIT */
/* The failed-login tables (login-limits.h). */
#include <string.h>

#include <gio/gio.h>

#include "login-limits.h"

struct failures {
	gint64 window_start_us;
	unsigned count;
	bool logged; /* the throttling was reported in this window */
};

struct gb_login_limits {
	unsigned per_address;    /* failed logins per client address per window */
	unsigned per_user;       /* per user name from one address */
	unsigned per_user_total; /* per user name from all addresses */
	gint64 window_us;
	GHashTable *by_address;      /* address key -> struct failures */
	GHashTable *by_user;         /* user name (lower case) -> struct failures */
	GHashTable *by_user_address; /* "address user" -> struct failures */
};

struct gb_login_limits *gb_login_limits_new(unsigned per_address, unsigned per_user,
                                            unsigned per_user_total, gint64 window_us)
{
	struct gb_login_limits *limits = g_new0(struct gb_login_limits, 1);

	limits->per_address = per_address;
	limits->per_user = per_user;
	limits->per_user_total = per_user_total;
	limits->window_us = window_us;
	limits->by_address = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	limits->by_user = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	limits->by_user_address = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	return limits;
}

void gb_login_limits_free(struct gb_login_limits *limits)
{
	if (!limits)
		return;
	g_hash_table_destroy(limits->by_address);
	g_hash_table_destroy(limits->by_user);
	g_hash_table_destroy(limits->by_user_address);
	g_free(limits);
}

/*
 * Failures are counted per address; IPv6 per /64, which one client holds.
 * An IPv4 client of a dual-stack listener arrives as ::ffff:a.b.c.d: it is
 * counted as a.b.c.d, or every IPv4 client would share one bucket.
 */
char *gb_address_key(const char *peer)
{
	static const guint8 v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	g_autoptr(GInetAddress) address = g_inet_address_new_from_string(peer);
	const guint8 *bytes;

	if (!address || g_inet_address_get_family(address) != G_SOCKET_FAMILY_IPV6)
		return g_strdup(peer);
	bytes = g_inet_address_to_bytes(address);
	if (memcmp(bytes, v4_mapped, sizeof(v4_mapped)) == 0)
		return g_strdup_printf("%u.%u.%u.%u", bytes[12], bytes[13], bytes[14], bytes[15]);
	return g_strdup_printf("%02x%02x:%02x%02x:%02x%02x:%02x%02x::/64", bytes[0], bytes[1],
	                       bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7]);
}

/* User names are counted without case: a plugin may not care about it either. */
static char *user_key(const char *user)
{
	return user ? g_ascii_strdown(user, -1) : NULL;
}

/* (user name, address): the address first, which has no space in it. */
static char *user_address_key(const char *user, const char *address_key)
{
	g_autofree char *key = user_key(user);

	return key && address_key ? g_strconcat(address_key, " ", key, NULL) : NULL;
}

/* The failures of @key in its current window, or NULL (none, or the window is over). */
static struct failures *current(const struct gb_login_limits *limits, GHashTable *table,
                                const char *key, gint64 now)
{
	struct failures *failures = key ? g_hash_table_lookup(table, key) : NULL;

	if (!failures || now - failures->window_start_us >= limits->window_us)
		return NULL;
	return failures;
}

enum gb_login_throttle gb_login_limits_check(struct gb_login_limits *limits,
                                             const char *address_key, const char *user, gint64 now,
                                             struct gb_login_throttled *throttled)
{
	g_autofree char *key = user_key(user);
	g_autofree char *pair_key = user_address_key(user, address_key);
	enum gb_login_throttle verdict;
	struct failures *failures;
	gint64 left;

	failures = current(limits, limits->by_address, address_key, now);
	verdict = GB_LOGIN_THROTTLED_ADDRESS;
	if (!failures || failures->count < limits->per_address) {
		failures = current(limits, limits->by_user_address, pair_key, now);
		verdict = GB_LOGIN_THROTTLED_USER_HERE;
		if (!failures || failures->count < limits->per_user) {
			failures = current(limits, limits->by_user, key, now);
			verdict = GB_LOGIN_THROTTLED_USER;
			if (!failures || failures->count < limits->per_user_total)
				return GB_LOGIN_ALLOWED;
		}
	}
	left = failures->window_start_us + limits->window_us - now;
	throttled->seconds_left =
	        left <= 0 ? 1 : (unsigned)((left + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC);
	throttled->failures = failures->count;
	/* Once per window: a client hammering away must not flood the log. */
	throttled->first = !failures->logged;
	failures->logged = true;
	return verdict;
}

/* Make room in a full table: forget ended windows, else the oldest one. */
static bool make_room(const struct gb_login_limits *limits, GHashTable *table, gint64 now)
{
	GHashTableIter iter;
	gpointer key, value, oldest_key = NULL;
	gint64 oldest = G_MAXINT64;

	if (g_hash_table_size(table) < GB_LOGIN_FAILURE_TABLE_MAX)
		return true;
	g_hash_table_iter_init(&iter, table);
	while (g_hash_table_iter_next(&iter, &key, &value)) {
		struct failures *failures = value;

		if (now - failures->window_start_us >= limits->window_us) {
			g_hash_table_iter_remove(&iter);
		} else if (failures->window_start_us < oldest) {
			oldest = failures->window_start_us;
			oldest_key = key;
		}
	}
	if (g_hash_table_size(table) >= GB_LOGIN_FAILURE_TABLE_MAX && oldest_key)
		g_hash_table_remove(table, oldest_key);
	return g_hash_table_size(table) < GB_LOGIN_FAILURE_TABLE_MAX;
}

static void count_in(const struct gb_login_limits *limits, GHashTable *table, const char *key,
                     gint64 now)
{
	struct failures *failures = g_hash_table_lookup(table, key);

	if (!failures) {
		if (!make_room(limits, table, now))
			return;
		failures = g_new0(struct failures, 1);
		g_hash_table_insert(table, g_strdup(key), failures);
	}
	if (now - failures->window_start_us >= limits->window_us) {
		failures->window_start_us = now;
		failures->count = 0;
		failures->logged = false;
	}
	failures->count++;
}

void gb_login_limits_count(struct gb_login_limits *limits, const char *address_key,
                           const char *user, gint64 now)
{
	g_autofree char *key = user_key(user);
	g_autofree char *pair_key = user_address_key(user, address_key);

	if (address_key)
		count_in(limits, limits->by_address, address_key, now);
	if (key)
		count_in(limits, limits->by_user, key, now);
	if (pair_key)
		count_in(limits, limits->by_user_address, pair_key, now);
}

static void count_out(GHashTable *table, const char *key, gint64 since)
{
	struct failures *failures = key ? g_hash_table_lookup(table, key) : NULL;

	if (failures && failures->count > 0 && failures->window_start_us <= since)
		failures->count--;
}

void gb_login_limits_uncount(struct gb_login_limits *limits, const char *address_key,
                             const char *user, gint64 since)
{
	g_autofree char *key = user_key(user);
	g_autofree char *pair_key = user_address_key(user, address_key);

	count_out(limits->by_address, address_key, since);
	count_out(limits->by_user, key, since);
	count_out(limits->by_user_address, pair_key, since);
}

void gb_login_limits_forget_user(struct gb_login_limits *limits, const char *address_key,
                                 const char *user)
{
	g_autofree char *key = user_key(user);
	g_autofree char *pair_key = user_address_key(user, address_key);

	if (key)
		g_hash_table_remove(limits->by_user, key);
	if (pair_key)
		g_hash_table_remove(limits->by_user_address, pair_key);
}

static void sweep_table(const struct gb_login_limits *limits, GHashTable *table, gint64 now)
{
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, table);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		if (now - ((struct failures *)value)->window_start_us >= limits->window_us)
			g_hash_table_iter_remove(&iter);
}

void gb_login_limits_sweep(struct gb_login_limits *limits, gint64 now)
{
	sweep_table(limits, limits->by_address, now);
	sweep_table(limits, limits->by_user, now);
	sweep_table(limits, limits->by_user_address, now);
}
