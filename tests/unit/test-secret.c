/* SPDX-License-Identifier: MIT */
/* Random bytes and tokens, and the constant-time comparison. */
#include <errno.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "unit-test.h"

#include "secret.h"

static void test_secret__random_bytes_fills_buffer(void)
{
	unsigned char a[64], b[64];

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	CU_ASSERT_EQUAL(gb_random_bytes(a, sizeof(a)), 0);
	CU_ASSERT_EQUAL(gb_random_bytes(b, sizeof(b)), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(a, b, sizeof(a)), 0);
	CU_ASSERT_EQUAL(gb_random_bytes(NULL, 0), 0);
}

static void test_secret__random_token_is_43_base64url_characters(void)
{
	char token[GB_RANDOM_TOKEN_SIZE], other[GB_RANDOM_TOKEN_SIZE];

	CU_ASSERT_EQUAL_FATAL(gb_random_token(token, sizeof(token)), 0);
	CU_ASSERT_EQUAL(strlen(token), 43);
	CU_ASSERT_EQUAL(strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                              "0123456789-_"),
	                43);
	CU_ASSERT_EQUAL_FATAL(gb_random_token(other, sizeof(other)), 0);
	CU_ASSERT_STRING_NOT_EQUAL(token, other);
}

static void test_secret__random_token_refuses_small_buffer(void)
{
	char token[GB_RANDOM_TOKEN_SIZE - 1];

	CU_ASSERT_EQUAL(gb_random_token(token, sizeof(token)), -EINVAL);
	CU_ASSERT_EQUAL(gb_random_token(NULL, GB_RANDOM_TOKEN_SIZE), -EINVAL);
}

static void test_secret__equal_in_constant_time_compares(void)
{
	CU_ASSERT_TRUE(gb_equal_in_constant_time("secret", "secret"));
	CU_ASSERT_TRUE(gb_equal_in_constant_time("", ""));
	CU_ASSERT_FALSE(gb_equal_in_constant_time("secreT", "secret"));
	CU_ASSERT_FALSE(gb_equal_in_constant_time("secret", "secret2"));
	CU_ASSERT_FALSE(gb_equal_in_constant_time("secret2", "secret"));
	/* A prefix repeated over a shorter secret is no match. */
	CU_ASSERT_FALSE(gb_equal_in_constant_time("abab", "ab"));
	CU_ASSERT_FALSE(gb_equal_in_constant_time("", "secret"));
	CU_ASSERT_FALSE(gb_equal_in_constant_time("secret", ""));
}

static void test_secret__equal_in_constant_time_null_equals_nothing(void)
{
	CU_ASSERT_FALSE(gb_equal_in_constant_time(NULL, "a"));
	CU_ASSERT_FALSE(gb_equal_in_constant_time("a", NULL));
	CU_ASSERT_FALSE(gb_equal_in_constant_time(NULL, NULL));
}

static const struct gb_unit_test tests[] = {
	GB_UNIT_TEST(test_secret__random_bytes_fills_buffer),
	GB_UNIT_TEST(test_secret__random_token_is_43_base64url_characters),
	GB_UNIT_TEST(test_secret__random_token_refuses_small_buffer),
	GB_UNIT_TEST(test_secret__equal_in_constant_time_compares),
	GB_UNIT_TEST(test_secret__equal_in_constant_time_null_equals_nothing),
};

int main(void)
{
	return GB_UNIT_RUN("secret", NULL, NULL, tests);
}
