/* SPDX-License-Identifier: MIT */
/* gb_error_set(): one line of error text into the caller's buffer. */
#include <string.h>

#include <CUnit/Basic.h>

#include "error.h"

static void test_error__set_formats(void)
{
	char error[64];

	gb_error_set(error, sizeof(error), "%s:%d: %s", "file.ini", 3, "bad key");
	CU_ASSERT_STRING_EQUAL(error, "file.ini:3: bad key");
}

static void test_error__set_truncates(void)
{
	char error[8];

	gb_error_set(error, sizeof(error), "%s", "a much longer message");
	CU_ASSERT_STRING_EQUAL(error, "a much ");
}

static void test_error__set_keeps_one_line(void)
{
	char error[64];

	gb_error_set(error, sizeof(error), "value '%s'", "a\nb\rc\x1b");
	CU_ASSERT_STRING_EQUAL(error, "value 'a?b?c?'");
}

static void test_error__set_without_buffer_is_a_no_op(void)
{
	char error[4] = "xyz";

	gb_error_set(NULL, 64, "%s", "ignored");
	gb_error_set(error, 0, "%s", "ignored");
	CU_ASSERT_STRING_EQUAL(error, "xyz");
}

#define TEST(name)                                                                                \
	{                                                                                         \
#name, name                                                                       \
	}

int main(void)
{
	static const struct {
		const char *name;
		CU_TestFunc func;
	} tests[] = {
		TEST(test_error__set_formats),
		TEST(test_error__set_truncates),
		TEST(test_error__set_keeps_one_line),
		TEST(test_error__set_without_buffer_is_a_no_op),
	};
	CU_pSuite suite;
	unsigned failures;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return CU_get_error();

	suite = CU_add_suite("error", NULL, NULL);
	if (!suite)
		goto err;
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		if (!CU_add_test(suite, tests[i].name, tests[i].func))
			goto err;

	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failures ? 1 : 0;

err:
	failures = (unsigned)CU_get_error();
	CU_cleanup_registry();
	return failures ? (int)failures : 1;
}
