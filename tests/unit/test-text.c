/* SPDX-License-Identifier: MIT */
/* gb_printable(): text for one log line. */
#include <signal.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "unit-test.h"

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

static void test_text__exit_status(void)
{
	char out[GB_EXIT_STATUS_TEXT_MAX];

	gb_exit_status_text(3 << 8, out); /* as wait() says exit(3) */
	CU_ASSERT_STRING_EQUAL(out, "exited with status 3");
	gb_exit_status_text(SIGKILL, out);
	CU_ASSERT_STRING_EQUAL(out, "was killed by signal 9 (Killed)");
	gb_exit_status_text(0x137f, out); /* stopped by SIGSTOP: neither */
	CU_ASSERT_STRING_EQUAL(out, "ended");
}

static const struct gb_unit_test tests[] = {
	GB_UNIT_TEST(test_text__printable_copies_plain_text),
	GB_UNIT_TEST(test_text__printable_replaces_control_and_high_bytes),
	GB_UNIT_TEST(test_text__printable_null_is_empty),
	GB_UNIT_TEST(test_text__printable_cuts_with_dots),
	GB_UNIT_TEST(test_text__printable_exact_fit_is_not_cut),
	GB_UNIT_TEST(test_text__printable_tiny_buffers),
	GB_UNIT_TEST(test_text__exit_status),
};

int main(void)
{
	return GB_UNIT_RUN("text", NULL, NULL, tests);
}
