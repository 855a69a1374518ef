/* SPDX-License-Identifier: MIT */
/*
 * The failed-login tables of glassboxd: failures counted in fixed windows,
 * per client address (its key: gb_address_key()), per user name tried from
 * one address, and per user name from all addresses together (a much higher
 * ceiling: a flood from one address must not lock the user out
 * everywhere). Each table holds at most GB_LOGIN_FAILURE_TABLE_MAX keys;
 * a full one forgets ended windows, then its oldest. User names are counted
 * without case. Plain data on the main loop: the caller passes the time
 * (g_get_monotonic_time()), so the tables can be tested without waiting.
 */
#ifndef GB_LOGIN_LIMITS_H
#define GB_LOGIN_LIMITS_H

#include <stdbool.h>

#include <glib.h>

/* Keys remembered per table. */
#define GB_LOGIN_FAILURE_TABLE_MAX 10000

/** Which limit refuses a login. */
enum gb_login_throttle {
	GB_LOGIN_ALLOWED,
	GB_LOGIN_THROTTLED_ADDRESS,   /* failures from the address */
	GB_LOGIN_THROTTLED_USER_HERE, /* failures for the user name from this address */
	GB_LOGIN_THROTTLED_USER,      /* failures for the user name from anywhere */
};

/** What gb_login_limits_check() found over a limit. */
struct gb_login_throttled {
	unsigned seconds_left; /* before the window ends, rounded up, at least 1 */
	unsigned failures;     /* counted in the window */
	bool first;            /* the first refusal of this window: log it */
};

struct gb_login_limits;

/**
 * Tables that refuse an address after @per_address failures in @window_us,
 * a user name from one address after @per_user, and a user name from all
 * addresses after @per_user_total.
 */
struct gb_login_limits *gb_login_limits_new(unsigned per_address, unsigned per_user,
                                            unsigned per_user_total, gint64 window_us);
void gb_login_limits_free(struct gb_login_limits *limits);

/**
 * Whether a login of @user (may be NULL: the address only) from
 * @address_key may be checked at @now; when not, *@throttled says for how
 * long. The address's limit is looked at first, then the user name's from
 * this address, then the user name's from everywhere.
 */
enum gb_login_throttle gb_login_limits_check(struct gb_login_limits *limits,
                                             const char *address_key, const char *user, gint64 now,
                                             struct gb_login_throttled *throttled);
/** Count one failure of @address_key (may be NULL) and @user (may be NULL) at @now. */
void gb_login_limits_count(struct gb_login_limits *limits, const char *address_key,
                           const char *user, gint64 now);
/** Take back one failure counted at @since, unless its window has restarted since. */
void gb_login_limits_uncount(struct gb_login_limits *limits, const char *address_key,
                             const char *user, gint64 since);
/**
 * @user got in from @address_key (may be NULL): its failures from anywhere
 * and from there are forgotten; the address's stay.
 */
void gb_login_limits_forget_user(struct gb_login_limits *limits, const char *address_key,
                                 const char *user);
/** Forget the windows that have ended by @now. */
void gb_login_limits_sweep(struct gb_login_limits *limits, gint64 now);

/**
 * The key a client address is limited by (g_free it): itself, the /64 of
 * an IPv6 one, or the IPv4 address of an IPv4-mapped one (::ffff:a.b.c.d).
 */
char *gb_address_key(const char *peer);

#endif
