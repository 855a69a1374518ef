/* SPDX-License-Identifier: MIT */
/*
 * glassboxd's failed-login tables (core/daemon/login-limits.c): lockouts
 * per (user, address), the per-address and per-user ceilings, the end of a
 * window, refunds, and the address keys they count by. Time is passed in:
 * no test waits.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <CUnit/Basic.h>

#include "unit-test.h"
#include <glib.h>

#include "login-limits.h"

#define S(seconds) ((gint64)(seconds)*G_USEC_PER_SEC)

/* The numbers glassboxd uses: 10 per address, 5 per user from one address, 100 per user. */
static struct gb_login_limits *limits_new(void)
{
	return gb_login_limits_new(10, 5, 100, S(60));
}

static void count(struct gb_login_limits *limits, const char *address, const char *user,
                  unsigned times, gint64 now)
{
	for (unsigned i = 0; i < times; i++)
		gb_login_limits_count(limits, address, user, now);
}

static void test_login_limits__user_from_one_address_is_locked_out(void)
{
	struct gb_login_limits *limits = limits_new();
	struct gb_login_throttled throttled;

	count(limits, "192.0.2.1", "alice", 4, S(1000));
	CU_ASSERT_EQUAL(gb_login_limits_check(limits, "192.0.2.1", "alice", S(1000), &throttled),
	                GB_LOGIN_ALLOWED);
	count(limits, "192.0.2.1", "alice", 1, S(1000));
	CU_ASSERT_EQUAL(gb_login_limits_check(limits, "192.0.2.1", "alice", S(1010), &throttled),
	                GB_LOGIN_THROTTLED_USER_HERE);
	CU_ASSERT_EQUAL(throttled.failures, 5);
	CU_ASSERT_EQUAL(throttled.seconds_left, 50);
	/* Without case: "ALICE" is the same name. */
	CU_ASSERT_EQUAL(gb_login_limits_check(limits, "192.0.2.1", "ALICE", S(1010), &throttled),
	                GB_LOGIN_THROTTLED_USER_HERE);
	/* The same name from another address, another name from this one: allowed. */
	CU_ASSERT_EQUAL(gb_login_limits_check(limits, "192.0.2.2", "alice", S(1010), &throttled),
	                GB_LOGIN_ALLOWED);
	CU_ASSERT_EQUAL(gb_login_limits_check(limits, "192.0.2.1", "bob", S(1010), &throttled),
	                GB_LOGIN_ALLOWED);
	gb_login_limits_free(limits);
}

static void test_login_limits__address_ceiling_covers_every_name(void)
{
	struct gb_login_limits *limits = limits_new();
	struct gb_login_throttled throttled;
	char name[16];

	for (int i = 0; i < 9; i++) {
		snprintf(name, sizeof(name), "user%d", i);
		count(limits, "192.0.2.1", name, 1, S(1000));
	}
	CU_ASSERT_EQUAL(gb_login_limits_check(limits, "192.0.2.1", "zed", S(1000), &throttled),
	                GB_LOGIN_ALLOWED);
	count(limits, "192.0.2.1", NULL, 1, S(1000)); /* a redirect login: the address only */
	CU_ASSERT_EQUAL(gb_login_limits_check(limits, "192.0.2.1", "zed", S(1000), &throttled),
	                GB_LOGIN_THROTTLED_ADDRESS);
	CU_ASSERT_EQUAL(gb_login_limits_check(limits, "192.0.2.1", NULL, S(1000), &throttled),
	                GB_LOGIN_THROTTLED_ADDRESS);
	CU_ASSERT_EQUAL(throttled.failures, 10);
	CU_ASSERT_EQUAL(gb_login_limits_check(limits, "192.0.2.9", "zed", S(1000), &throttled),
	                GB_LOGIN_ALLOWED);
	gb_login_limits_free(limits);
}

static void test_login_limits__user_ceiling_spans_addresses(void)
{
	struct gb_login_limits *limits = limits_new();
	struct gb_login_throttled throttled;
	char address[32];

	/* 99 addresses with one failure each for "carol": under every limit. */
	for (int i = 0; i < 99; i++) {
		snprintf(address, sizeof(address), "198.51.%d.%d", i / 200, i % 200);
		count(limits, address, "carol", 1, S(1000));
	}
	CU_ASSERT_EQUAL(gb_login_limits_check(limits, "203.0.113.1", "carol", S(1000), &throttled),
	                GB_LOGIN_ALLOWED);
	count(limits, "198.51.9.9", "Carol", 1, S(1000));
	CU_ASSERT_EQUAL(gb_login_limits_check(limits, "203.0.113.1", "carol", S(1000), &throttled),
	                GB_LOGIN_THROTTLED_USER);
	CU_ASSERT_EQUAL(throttled.failures, 100);
	gb_login_limits_free(limits);
}

static void test_login_limits__window_expires(void)
{
	struct gb_login_limits *limits = limits_new();
	struct gb_login_throttled throttled;

	count(limits, "192.0.2.1", "alice", 5, S(1000));
	CU_ASSERT_EQUAL(gb_login_limits_check(limits, "192.0.2.1", "alice", S(1059), &throttled),
	                GB_LOGIN_THROTTLED_USER_HERE);
	CU_ASSERT_EQUAL(throttled.seconds_left, 1);
	CU_ASSERT_EQUAL(gb_login_limits_check(limits, "192.0.2.1", "alice", S(1060), &throttled),
	                GB_LOGIN_ALLOWED);
	/* A new window counts from 0 again. */
	count(limits, "192.0.2.1", "alice", 1, S(1061));
	CU_ASSERT_EQUAL(gb_login_limits_check(limits, "192.0.2.1", "alice", S(1061), &throttled),
	                GB_LOGIN_ALLOWED);
	/* A sweep forgets the ended windows but not the current ones. */
	gb_login_limits_sweep(limits, S(1200));
	count(limits, "192.0.2.1", "alice", 4, S(1200));
	CU_ASSERT_EQUAL(gb_login_limits_check(limits, "192.0.2.1", "alice", S(1200), &throttled),
	                GB_LOGIN_ALLOWED);
	gb_login_limits_free(limits);
}

static void test_login_limits__refusal_is_reported_once_per_window(void)
{
	struct gb_login_limits *limits = limits_new();
	struct gb_login_throttled throttled;

	count(limits, "192.0.2.1", NULL, 10, S(1000));
	gb_login_limits_check(limits, "192.0.2.1", NULL, S(1000), &throttled);
	CU_ASSERT_TRUE(throttled.first);
	gb_login_limits_check(limits, "192.0.2.1", NULL, S(1001), &throttled);
	CU_ASSERT_FALSE(throttled.first);
	/* The next window's first refusal is reported again. */
	count(limits, "192.0.2.1", NULL, 10, S(1100));
	gb_login_limits_check(limits, "192.0.2.1", NULL, S(1100), &throttled);
	CU_ASSERT_TRUE(throttled.first);
	gb_login_limits_free(limits);
}

static void test_login_limits__refund_and_success_give_back(void)
{
	struct gb_login_limits *limits = limits_new();
	struct gb_login_throttled throttled;

	count(limits, "192.0.2.1", "alice", 5, S(1000));
	/* One attempt charged in advance succeeded: taken back. */
	gb_login_limits_uncount(limits, "192.0.2.1", "alice", S(1000));
	CU_ASSERT_EQUAL(gb_login_limits_check(limits, "192.0.2.1", "alice", S(1000), &throttled),
	                GB_LOGIN_ALLOWED);
	/* A charge from before the window restarted is not taken from the new one. */
	count(limits, "192.0.2.1", "alice", 1, S(1000));
	count(limits, "192.0.2.1", "alice", 5, S(1100));
	gb_login_limits_uncount(limits, "192.0.2.1", "alice", S(1000));
	CU_ASSERT_EQUAL(gb_login_limits_check(limits, "192.0.2.1", "alice", S(1100), &throttled),
	                GB_LOGIN_THROTTLED_USER_HERE);
	/* The user got in: the name's failures go, the address's stay. */
	count(limits, "192.0.2.1", "bob", 4, S(1100));
	gb_login_limits_forget_user(limits, "192.0.2.1", "alice");
	CU_ASSERT_EQUAL(gb_login_limits_check(limits, "192.0.2.1", "alice", S(1100), &throttled),
	                GB_LOGIN_ALLOWED);
	count(limits, "192.0.2.1", "dave", 1, S(1100));
	CU_ASSERT_EQUAL(gb_login_limits_check(limits, "192.0.2.1", "eve", S(1100), &throttled),
	                GB_LOGIN_THROTTLED_ADDRESS);
	gb_login_limits_free(limits);
}

static void test_login_limits__address_keys(void)
{
	char *key;

	key = gb_address_key("192.0.2.7");
	CU_ASSERT_STRING_EQUAL(key, "192.0.2.7");
	g_free(key);
	key = gb_address_key("::ffff:192.0.2.7");
	CU_ASSERT_STRING_EQUAL(key, "192.0.2.7");
	g_free(key);
	key = gb_address_key("2001:db8:1:2:3:4:5:6");
	CU_ASSERT_STRING_EQUAL(key, "2001:0db8:0001:0002::/64");
	g_free(key);
	key = gb_address_key("(unknown)");
	CU_ASSERT_STRING_EQUAL(key, "(unknown)");
	g_free(key);
}

static const struct gb_unit_test tests[] = {
	GB_UNIT_TEST(test_login_limits__user_from_one_address_is_locked_out),
	GB_UNIT_TEST(test_login_limits__address_ceiling_covers_every_name),
	GB_UNIT_TEST(test_login_limits__user_ceiling_spans_addresses),
	GB_UNIT_TEST(test_login_limits__window_expires),
	GB_UNIT_TEST(test_login_limits__refusal_is_reported_once_per_window),
	GB_UNIT_TEST(test_login_limits__refund_and_success_give_back),
	GB_UNIT_TEST(test_login_limits__address_keys),
};

int main(void)
{
	return GB_UNIT_RUN("login-limits", NULL, NULL, tests);
}
