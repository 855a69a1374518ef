/* SPDX-License-Identifier: MIT */
/* gb_error_set(): one line of error text into the caller's buffer. */
#include <string.h>

#include <CUnit/Basic.h>

#include "unit-test.h"

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

static const struct gb_unit_test tests[] = {
	GB_UNIT_TEST(test_error__set_formats),
	GB_UNIT_TEST(test_error__set_truncates),
	GB_UNIT_TEST(test_error__set_keeps_one_line),
	GB_UNIT_TEST(test_error__set_without_buffer_is_a_no_op),
};

int main(void)
{
	return GB_UNIT_RUN("error", NULL, NULL, tests);
}
