/* SPDX-License-Identifier: MIT */
/* gb_printable(): text for one log line. */
#include <string.h>

#include <CUnit/Basic.h>

#include "text.h"

static void test_text__printable_copies_plain_text(void)
{
	char out[32];

	gb_printable(out, sizeof(out), "alice bob ~!");
	CU_ASSERT_STRING_EQUAL(out, "alice bob ~!");
}

static void test_text__printable_replaces_control_and_high_bytes(void)
{
	char out[32];

	gb_printable(out, sizeof(out),
	             "a\nb\tc\x7f"
	             "d\xc3\xa9");
	CU_ASSERT_STRING_EQUAL(out, "a?b?c?d??");
}

static void test_text__printable_null_is_empty(void)
{
	char out[8] = "xxxxxxx";

	gb_printable(out, sizeof(out), NULL);
	CU_ASSERT_STRING_EQUAL(out, "");
}

static void test_text__printable_cuts_with_dots(void)
{
	char out[8];

	gb_printable(out, sizeof(out), "abcdefgh");
	CU_ASSERT_STRING_EQUAL(out, "abcd...");
	CU_ASSERT_EQUAL(strlen(out), sizeof(out) - 1);
}

static void test_text__printable_exact_fit_is_not_cut(void)
{
	char out[8];

	gb_printable(out, sizeof(out), "abcdefg");
	CU_ASSERT_STRING_EQUAL(out, "abcdefg");
}

static void test_text__printable_tiny_buffers(void)
{
	char out[4] = "xxx";

	gb_printable(out, 0, "abc");
	CU_ASSERT_STRING_EQUAL(out, "xxx");
	gb_printable(out, 1, "abc");
	CU_ASSERT_STRING_EQUAL(out, "");
	gb_printable(out, 3, "abc");
	CU_ASSERT_STRING_EQUAL(out, "ab");
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
		TEST(test_text__printable_copies_plain_text),
		TEST(test_text__printable_replaces_control_and_high_bytes),
		TEST(test_text__printable_null_is_empty),
		TEST(test_text__printable_cuts_with_dots),
		TEST(test_text__printable_exact_fit_is_not_cut),
		TEST(test_text__printable_tiny_buffers),
	};
	CU_pSuite suite;
	unsigned failures;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return CU_get_error();

	suite = CU_add_suite("text", NULL, NULL);
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
