/* SPDX-License-Identifier: MIT */
/* The names of uploaded and downloaded files (core/lib/file-name.h). */
#include <errno.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "unit-test.h"

#include "file-name.h"

static int sanitise(const char *name, char *out)
{
	return gb_file_name_sanitise(name, out, GB_FILE_NAME_MAX + 1);
}

static void test_file_name__plain_and_utf8_names_pass(void)
{
	char out[GB_FILE_NAME_MAX + 1];

	CU_ASSERT_EQUAL(sanitise("report.pdf", out), 0);
	CU_ASSERT_STRING_EQUAL(out, "report.pdf");
	CU_ASSERT_EQUAL(sanitise("r\xc3\xa9sum\xc3\xa9 (final) \"v2\".txt", out), 0);
	CU_ASSERT_STRING_EQUAL(out, "r\xc3\xa9sum\xc3\xa9 (final) \"v2\".txt");
	CU_ASSERT_EQUAL(sanitise("\xf0\x9f\x98\x80 a..b", out), 0); /* an emoji; ".." inside */
	CU_ASSERT_TRUE(gb_file_name_is_valid("a..b"));
	CU_ASSERT_TRUE(gb_file_name_is_valid("name with spaces"));
}

static void test_file_name__slashes_and_dot_dot_are_refused(void)
{
	char out[GB_FILE_NAME_MAX + 1] = "untouched";

	CU_ASSERT_EQUAL(sanitise("../etc/passwd", out), -EINVAL);
	CU_ASSERT_EQUAL(sanitise("a/b", out), -EINVAL);
	CU_ASSERT_EQUAL(sanitise("/etc", out), -EINVAL);
	CU_ASSERT_EQUAL(sanitise("..", out), -EINVAL);
	CU_ASSERT_EQUAL(sanitise(".", out), -EINVAL);
	CU_ASSERT_EQUAL(sanitise("...", out), -EINVAL);
	CU_ASSERT_EQUAL(sanitise("", out), -EINVAL);
	CU_ASSERT_EQUAL(sanitise(NULL, out), -EINVAL);
	CU_ASSERT_STRING_EQUAL(out, "untouched");
	CU_ASSERT_FALSE(gb_file_name_is_valid(".."));
	CU_ASSERT_FALSE(gb_file_name_is_valid("a/b"));
}

static void test_file_name__control_characters_are_refused(void)
{
	char out[GB_FILE_NAME_MAX + 1];

	CU_ASSERT_EQUAL(sanitise("a\nb", out), -EINVAL);
	CU_ASSERT_EQUAL(sanitise("tab\there", out), -EINVAL);
	CU_ASSERT_EQUAL(sanitise("bell\x07", out), -EINVAL);
	CU_ASSERT_EQUAL(sanitise("del\x7f", out), -EINVAL);
	CU_ASSERT_EQUAL(sanitise("esc\x1b[31m", out), -EINVAL);
	CU_ASSERT_EQUAL(sanitise("c1\xc2\x85", out), -EINVAL); /* U+0085 NEL */
	CU_ASSERT_FALSE(gb_file_name_is_valid("a\rb"));
}

static void test_file_name__invalid_utf8_is_refused(void)
{
	char out[GB_FILE_NAME_MAX + 1];

	CU_ASSERT_EQUAL(sanitise("\xff.txt", out), -EINVAL);
	CU_ASSERT_EQUAL(sanitise("\xc3", out), -EINVAL);             /* cut short */
	CU_ASSERT_EQUAL(sanitise("\xc0\xaf", out), -EINVAL);         /* overlong '/' */
	CU_ASSERT_EQUAL(sanitise("\xe0\x80\xaf", out), -EINVAL);     /* overlong '/' */
	CU_ASSERT_EQUAL(sanitise("\xed\xa0\x80", out), -EINVAL);     /* a surrogate */
	CU_ASSERT_EQUAL(sanitise("\xf4\x90\x80\x80", out), -EINVAL); /* past U+10FFFF */
	CU_ASSERT_EQUAL(sanitise("a\xe2\x82", out), -EINVAL);        /* cut short at the end */
}

static void test_file_name__leading_dots_are_sanitised(void)
{
	char out[GB_FILE_NAME_MAX + 1];

	CU_ASSERT_EQUAL(sanitise(".bashrc", out), 0);
	CU_ASSERT_STRING_EQUAL(out, "_bashrc");
	CU_ASSERT_EQUAL(sanitise("..hidden.txt", out), 0);
	CU_ASSERT_STRING_EQUAL(out, "__hidden.txt");
	CU_ASSERT_TRUE(gb_file_name_is_valid(out));
	CU_ASSERT_FALSE(gb_file_name_is_valid(".bashrc"));
}

static void test_file_name__length_is_at_most_255_bytes(void)
{
	char name[300], out[GB_FILE_NAME_MAX + 1], small[16];

	memset(name, 'x', sizeof(name));
	name[255] = '\0';
	CU_ASSERT_EQUAL(sanitise(name, out), 0);
	CU_ASSERT_EQUAL(strlen(out), 255);
	name[255] = 'x';
	name[256] = '\0';
	CU_ASSERT_EQUAL(sanitise(name, out), -ENAMETOOLONG);
	CU_ASSERT_FALSE(gb_file_name_is_valid(name));
	CU_ASSERT_EQUAL(gb_file_name_sanitise("a", small, sizeof(small)), -ENAMETOOLONG);
}

static void test_file_name__numbered_names(void)
{
	char out[GB_FILE_NAME_MAX + 1], name[GB_FILE_NAME_MAX + 1];

	CU_ASSERT_EQUAL(gb_file_name_numbered("report.pdf", 0, out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "report.pdf");
	CU_ASSERT_EQUAL(gb_file_name_numbered("report.pdf", 1, out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "report (1).pdf");
	CU_ASSERT_EQUAL(gb_file_name_numbered("archive.tar.gz", 12, out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "archive.tar (12).gz");
	CU_ASSERT_EQUAL(gb_file_name_numbered("README", 2, out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "README (2)");
	CU_ASSERT_EQUAL(gb_file_name_numbered("_bashrc", 3, out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "_bashrc (3)");

	/* A name of 255 bytes is cut before its extension, never inside a character. */
	memset(name, 'a', 250);
	memcpy(name + 249, "\xc3\xa9.txt", 6); /* ...aaé.txt: 255 bytes */
	name[255] = '\0';
	CU_ASSERT_EQUAL(strlen(name), 255);
	CU_ASSERT_EQUAL(gb_file_name_numbered(name, 7, out, sizeof(out)), 0);
	CU_ASSERT_TRUE(strlen(out) <= GB_FILE_NAME_MAX);
	CU_ASSERT_TRUE(gb_file_name_is_valid(out));
	CU_ASSERT_STRING_EQUAL(out + strlen(out) - 8, " (7).txt");
}

static void test_file_name__folder_paths(void)
{
	CU_ASSERT_TRUE(gb_folder_path_is_valid("Uploads"));
	CU_ASSERT_TRUE(gb_folder_path_is_valid("Files/From the browser"));
	CU_ASSERT_FALSE(gb_folder_path_is_valid(""));
	CU_ASSERT_FALSE(gb_folder_path_is_valid("/tmp"));
	CU_ASSERT_FALSE(gb_folder_path_is_valid("../x"));
	CU_ASSERT_FALSE(gb_folder_path_is_valid("a/../b"));
	CU_ASSERT_FALSE(gb_folder_path_is_valid("a//b"));
	CU_ASSERT_FALSE(gb_folder_path_is_valid("a/"));
	CU_ASSERT_FALSE(gb_folder_path_is_valid(".ssh"));
	CU_ASSERT_FALSE(gb_folder_path_is_valid("a/./b"));
	CU_ASSERT_FALSE(gb_folder_path_is_valid(NULL));
}

static const struct gb_unit_test tests[] = {
	GB_UNIT_TEST(test_file_name__plain_and_utf8_names_pass),
	GB_UNIT_TEST(test_file_name__slashes_and_dot_dot_are_refused),
	GB_UNIT_TEST(test_file_name__control_characters_are_refused),
	GB_UNIT_TEST(test_file_name__invalid_utf8_is_refused),
	GB_UNIT_TEST(test_file_name__leading_dots_are_sanitised),
	GB_UNIT_TEST(test_file_name__length_is_at_most_255_bytes),
	GB_UNIT_TEST(test_file_name__numbered_names),
	GB_UNIT_TEST(test_file_name__folder_paths),
};

int main(void)
{
	return GB_UNIT_RUN("file-name", NULL, NULL, tests);
}
