/* SPDX-License-Identifier: MIT */
/* gb_session_id_valid(): exactly 16 lowercase hex digits. */
#include <CUnit/Basic.h>

#include "unit-test.h"

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

static const struct gb_unit_test tests[] = {
	GB_UNIT_TEST(test_session_id__accepts_16_lowercase_hex_digits),
	GB_UNIT_TEST(test_session_id__refuses_other_lengths),
	GB_UNIT_TEST(test_session_id__refuses_other_characters),
	GB_UNIT_TEST(test_session_id__refuses_null),
};

int main(void)
{
	return GB_UNIT_RUN("session-id", NULL, NULL, tests);
}
