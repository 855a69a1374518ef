/* SPDX-License-Identifier: MIT */
/* gb_session_id_valid(): exactly 16 lowercase hex digits. */
#include <CUnit/Basic.h>

#include "session-id.h"

static void test_session_id__accepts_16_lowercase_hex_digits(void)
{
	CU_ASSERT_TRUE(gb_session_id_valid("0123456789abcdef"));
	CU_ASSERT_TRUE(gb_session_id_valid("ffffffffffffffff"));
}

static void test_session_id__refuses_other_lengths(void)
{
	CU_ASSERT_FALSE(gb_session_id_valid(""));
	CU_ASSERT_FALSE(gb_session_id_valid("0123456789abcde"));
	CU_ASSERT_FALSE(gb_session_id_valid("0123456789abcdef0"));
}

static void test_session_id__refuses_other_characters(void)
{
	CU_ASSERT_FALSE(gb_session_id_valid("0123456789ABCDEF"));
	CU_ASSERT_FALSE(gb_session_id_valid("0123456789abcdeg"));
	CU_ASSERT_FALSE(gb_session_id_valid("../3456789abcdef"));
	CU_ASSERT_FALSE(gb_session_id_valid("0123456789abcde\n"));
}

static void test_session_id__refuses_null(void)
{
	CU_ASSERT_FALSE(gb_session_id_valid(NULL));
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
		TEST(test_session_id__accepts_16_lowercase_hex_digits),
		TEST(test_session_id__refuses_other_lengths),
		TEST(test_session_id__refuses_other_characters),
		TEST(test_session_id__refuses_null),
	};
	CU_pSuite suite;
	unsigned failures;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return CU_get_error();

	suite = CU_add_suite("session-id", NULL, NULL);
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
