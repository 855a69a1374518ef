/* SPDX-License-Identifier: MIT */
/*
 * glassboxd's Host and Origin checks (core/daemon/http-checks.c): which
 * Host headers a callback URL may be built from, and which Origins may log
 * in and open the signalling WebSocket.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "unit-test.h"

#include "http-checks.h"

static void test_http_checks__host_names_and_literals_are_valid(void)
{
	CU_ASSERT_TRUE(gb_http_host_valid("glassbox.example"));
	CU_ASSERT_TRUE(gb_http_host_valid("glassbox.example:8443"));
	CU_ASSERT_TRUE(gb_http_host_valid("a-b.c1"));
	CU_ASSERT_TRUE(gb_http_host_valid("192.0.2.1:80"));
	CU_ASSERT_TRUE(gb_http_host_valid("[::1]"));
	CU_ASSERT_TRUE(gb_http_host_valid("[2001:db8::1]:65535"));
}

static void test_http_checks__bad_hosts_are_refused(void)
{
	static const char *const bad[] = {
		"",
		"evil.example/path",
		"evil.example@other",
		"-lead.example",
		"trail-.example",
		"a..b",
		"host:0",
		"host:65536",
		"host:123456",
		"host:",
		"host:8x",
		"[::1",
		"[::1]x",
		"[192.0.2.1]",
		"[::1]:0",
		"white space",
		"line\r\nbreak",
	};
	char long_label[70], long_host[300];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_FALSE(gb_http_host_valid(bad[i]));
	CU_ASSERT_FALSE(gb_http_host_valid(NULL));
	/* A label of 64 characters, a host of 256. */
	memset(long_label, 'a', 64);
	long_label[64] = '\0';
	CU_ASSERT_FALSE(gb_http_host_valid(long_label));
	long_label[63] = '\0';
	CU_ASSERT_TRUE(gb_http_host_valid(long_label));
	for (size_t i = 0; i < 256; i++)
		long_host[i] = i % 2 ? '.' : 'a';
	long_host[255] = 'a';
	long_host[256] = '\0';
	CU_ASSERT_FALSE(gb_http_host_valid(long_host));
	long_host[253] = '\0';
	CU_ASSERT_TRUE(gb_http_host_valid(long_host));
}

static void test_http_checks__own_origin_matches(void)
{
	CU_ASSERT_TRUE(
	        gb_http_origin_matches("https://box.example", "box.example", true, NULL, true));
	CU_ASSERT_TRUE(gb_http_origin_matches("http://127.0.0.1:8080", "127.0.0.1:8080", false,
	                                      NULL, true));
	/* Default ports and case do not make another origin. */
	CU_ASSERT_TRUE(gb_http_origin_matches("https://BOX.example:443", "box.example", true, NULL,
	                                      true));
	CU_ASSERT_TRUE(
	        gb_http_origin_matches("http://box.example", "box.example:80", false, NULL, true));
	/* The scheme must be ours. */
	CU_ASSERT_FALSE(
	        gb_http_origin_matches("http://box.example", "box.example", true, NULL, true));
	CU_ASSERT_FALSE(gb_http_origin_matches("https://box.example:8443", "box.example", true,
	                                       NULL, true));
	CU_ASSERT_FALSE(
	        gb_http_origin_matches("https://evil.example", "box.example", true, NULL, true));
	CU_ASSERT_FALSE(gb_http_origin_matches("https://box.example", NULL, true, NULL, true));
	CU_ASSERT_FALSE(gb_http_origin_matches("null", "box.example", true, NULL, false));
}

static void test_http_checks__allowed_origins_match(void)
{
	char *allowed[] = { "https://portal.example", "http://tools.example:8080", NULL };

	CU_ASSERT_TRUE(gb_http_origin_matches("https://portal.example", "box.example", true,
	                                      allowed, true));
	CU_ASSERT_TRUE(gb_http_origin_matches("https://Portal.Example:443", "box.example", true,
	                                      allowed, true));
	CU_ASSERT_TRUE(gb_http_origin_matches("http://tools.example:8080", "box.example", true,
	                                      allowed, true));
	CU_ASSERT_FALSE(gb_http_origin_matches("http://tools.example", "box.example", true,
	                                       allowed, true));
	CU_ASSERT_FALSE(gb_http_origin_matches("https://portal.example.evil", "box.example", true,
	                                       allowed, true));
}

static void test_http_checks__missing_origin_only_where_not_required(void)
{
	CU_ASSERT_TRUE(gb_http_origin_matches(NULL, "box.example", true, NULL, false));
	CU_ASSERT_FALSE(gb_http_origin_matches(NULL, "box.example", true, NULL, true));
}

static const struct gb_unit_test tests[] = {
	GB_UNIT_TEST(test_http_checks__host_names_and_literals_are_valid),
	GB_UNIT_TEST(test_http_checks__bad_hosts_are_refused),
	GB_UNIT_TEST(test_http_checks__own_origin_matches),
	GB_UNIT_TEST(test_http_checks__allowed_origins_match),
	GB_UNIT_TEST(test_http_checks__missing_origin_only_where_not_required),
};

int main(void)
{
	return GB_UNIT_RUN("http-checks", NULL, NULL, tests);
}
