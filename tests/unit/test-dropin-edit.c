/* SPDX-License-Identifier: MIT */
/*
 * Editing drop-ins (core/lib/dropin-edit.c): which drop-in a typed name
 * stands for, switching a plugin through its override file and back, a
 * later override that wins, and putting an override back as it was. Each
 * test works in a folder of its own under g_dir_make_tmp(), removed after.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "unit-test.h"
#include <glib.h>
#include <glib/gstdio.h>

#include "dropin-edit.h"

struct scratch {
	char *root, *vendor, *etc;
};

static void scratch_make(struct scratch *scratch)
{
	scratch->root = g_dir_make_tmp("test-dropin-edit-XXXXXX", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(scratch->root);
	scratch->vendor = g_build_filename(scratch->root, "vendor", NULL);
	scratch->etc = g_build_filename(scratch->root, "etc", NULL);
	CU_ASSERT_EQUAL_FATAL(g_mkdir(scratch->vendor, 0755), 0);
	CU_ASSERT_EQUAL_FATAL(g_mkdir(scratch->etc, 0755), 0);
}

/* rm -r of what the tests make: files, and folders of files. */
static void remove_tree(const char *path)
{
	GDir *dir = g_dir_open(path, 0, NULL);
	const char *name;

	while (dir && (name = g_dir_read_name(dir))) {
		g_autofree char *child = g_build_filename(path, name, NULL);

		if (g_file_test(child, G_FILE_TEST_IS_DIR))
			remove_tree(child);
		else
			g_unlink(child);
	}
	if (dir)
		g_dir_close(dir);
	g_rmdir(path);
}

static void scratch_remove(struct scratch *scratch)
{
	remove_tree(scratch->root);
	g_free(scratch->root);
	g_free(scratch->vendor);
	g_free(scratch->etc);
}

static void put(const char *dir, const char *name, const char *kind, const char *plugin,
                const char *extra)
{
	g_autofree char *path = g_build_filename(dir, name, NULL);
	g_autofree char *text =
	        g_strdup_printf("[plugin]\nkind = %s\nname = %s\n%s", kind, plugin, extra);

	CU_ASSERT_TRUE_FATAL(g_file_set_contents(path, text, -1, NULL));
}

static void load(struct scratch *scratch, struct gb_dropin_set *set)
{
	char error[GB_DROPIN_ERROR_MAX];

	CU_ASSERT_EQUAL_FATAL(
	        gb_dropin_set_load(set, scratch->vendor, scratch->etc, error, sizeof(error)), 0);
}

static void test_dropin_edit__names_find_their_drop_in(void)
{
	struct scratch scratch;
	struct gb_dropin_set set = { 0 };
	const struct gb_dropin *found;

	scratch_make(&scratch);
	put(scratch.vendor, "10-x264.ini", "encoder", "x264", "");
	put(scratch.vendor, "20-local.ini", "auth", "local", "");
	put(scratch.vendor, "30-shared.ini", "encoder", "shared", "");
	put(scratch.vendor, "31-shared.ini", "capture", "shared", "");
	load(&scratch, &set);

	CU_ASSERT_EQUAL(gb_dropin_find_by_name(&set, "x264", &found), 0);
	CU_ASSERT_STRING_EQUAL(found->name, "x264");
	CU_ASSERT_EQUAL(gb_dropin_find_by_name(&set, "auth-local", &found), 0);
	CU_ASSERT_STRING_EQUAL(found->name, "local");
	CU_ASSERT_EQUAL(gb_dropin_find_by_name(&set, "shared", &found), -ENOTUNIQ);
	CU_ASSERT_PTR_NULL(found);
	CU_ASSERT_EQUAL(gb_dropin_find_by_name(&set, "capture-shared", &found), 0);
	CU_ASSERT_EQUAL(found->kind, GB_PLUGIN_KIND_CAPTURE);
	CU_ASSERT_EQUAL(gb_dropin_find_by_name(&set, "nosuch", &found), -ENOENT);
	CU_ASSERT_EQUAL(gb_dropin_find_by_name(&set, "auth-x264", &found), -ENOENT);
	gb_dropin_set_clear(&set);
	scratch_remove(&scratch);
}

static void test_dropin_edit__override_switches_and_goes_again(void)
{
	struct scratch scratch;
	struct gb_dropin_set set = { 0 }, after = { 0 };
	const struct gb_dropin *dropin;
	g_autofree char *target = NULL;
	g_autofree char *previous = NULL;
	g_autofree char *target2 = NULL;
	g_autofree char *previous2 = NULL;
	g_autofree char *own_before = NULL;
	g_autofree char *own_after = NULL;
	g_autofree char *own_path = NULL;
	char error[GB_DROPIN_ERROR_MAX];
	struct stat st;
	mode_t mask;

	scratch_make(&scratch);
	put(scratch.vendor, "10-x264.ini", "encoder", "x264", "");
	own_path = g_build_filename(scratch.vendor, "10-x264.ini", NULL);
	CU_ASSERT_TRUE(g_file_get_contents(own_path, &own_before, NULL, NULL));
	load(&scratch, &set);
	CU_ASSERT_EQUAL_FATAL(gb_dropin_find_by_name(&set, "x264", &dropin), 0);

	/* Off: an override in the /etc folder, 0644 whatever the umask, the
	 * drop-in untouched. */
	mask = umask(077);
	CU_ASSERT_EQUAL(gb_dropin_set_enabled(scratch.vendor, scratch.etc, dropin, false, &target,
	                                      &previous, error, sizeof(error)),
	                0);
	umask(mask);
	CU_ASSERT_PTR_NULL(previous);
	CU_ASSERT_TRUE(g_str_has_prefix(target, scratch.etc));
	CU_ASSERT_TRUE(g_str_has_suffix(target, "/10-x264.ini.d/" GB_DROPIN_OVERRIDE_NAME));
	CU_ASSERT_EQUAL_FATAL(stat(target, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0644);
	CU_ASSERT_TRUE(g_file_get_contents(own_path, &own_after, NULL, NULL));
	CU_ASSERT_STRING_EQUAL(own_before, own_after);
	load(&scratch, &after);
	CU_ASSERT_FALSE(after.items[0].enabled);
	gb_dropin_set_clear(&after);

	/* On again: the drop-in says so itself, so the override goes. */
	CU_ASSERT_EQUAL(gb_dropin_set_enabled(scratch.vendor, scratch.etc, dropin, true, &target2,
	                                      &previous2, error, sizeof(error)),
	                0);
	CU_ASSERT_PTR_NOT_NULL(previous2);
	CU_ASSERT_FALSE(g_file_test(target2, G_FILE_TEST_EXISTS));
	load(&scratch, &after);
	CU_ASSERT_TRUE(after.items[0].enabled);
	gb_dropin_set_clear(&after);

	/* Put back as it was: the override with what it held. */
	CU_ASSERT_EQUAL(gb_dropin_restore_override(target2, previous2, error, sizeof(error)), 0);
	load(&scratch, &after);
	CU_ASSERT_FALSE(after.items[0].enabled);
	gb_dropin_set_clear(&after);
	CU_ASSERT_EQUAL(gb_dropin_restore_override(target2, NULL, error, sizeof(error)), 0);
	CU_ASSERT_FALSE(g_file_test(target2, G_FILE_TEST_EXISTS));
	gb_dropin_set_clear(&set);
	scratch_remove(&scratch);
}

static void test_dropin_edit__a_later_override_wins_and_the_change_is_undone(void)
{
	struct scratch scratch;
	struct gb_dropin_set set = { 0 };
	const struct gb_dropin *dropin;
	g_autofree char *target = NULL;
	g_autofree char *previous = NULL;
	g_autofree char *folder = NULL;
	g_autofree char *later = NULL;
	char error[GB_DROPIN_ERROR_MAX] = "";

	scratch_make(&scratch);
	put(scratch.vendor, "10-x264.ini", "encoder", "x264", "");
	folder = g_build_filename(scratch.etc, "10-x264.ini.d", NULL);
	CU_ASSERT_EQUAL_FATAL(g_mkdir(folder, 0755), 0);
	later = g_build_filename(folder, "99-local.conf", NULL);
	CU_ASSERT_TRUE_FATAL(g_file_set_contents(later, "[plugin]\nenabled = true\n", -1, NULL));
	load(&scratch, &set);
	CU_ASSERT_EQUAL_FATAL(gb_dropin_find_by_name(&set, "encoder-x264", &dropin), 0);

	CU_ASSERT_EQUAL(gb_dropin_set_enabled(scratch.vendor, scratch.etc, dropin, false, &target,
	                                      &previous, error, sizeof(error)),
	                -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(error, "99-local.conf"));
	CU_ASSERT_PTR_NOT_NULL(strstr(error, "enabled = true"));
	CU_ASSERT_FALSE(g_file_test(target, G_FILE_TEST_EXISTS));
	gb_dropin_set_clear(&set);
	scratch_remove(&scratch);
}

static const struct gb_unit_test tests[] = {
	GB_UNIT_TEST(test_dropin_edit__names_find_their_drop_in),
	GB_UNIT_TEST(test_dropin_edit__override_switches_and_goes_again),
	GB_UNIT_TEST(test_dropin_edit__a_later_override_wins_and_the_change_is_undone),
};

int main(void)
{
	return GB_UNIT_RUN("dropin-edit", NULL, NULL, tests);
}
