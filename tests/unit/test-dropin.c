/* SPDX-License-Identifier: MIT */
/*
 * Plugin drop-ins: one file's keys and errors (with exact lines), and how the
 * vendor and /etc folders combine. Folders are made at run time in a
 * mkdtemp() directory that each test removes again.
 */
#define _GNU_SOURCE /* mkdtemp, nftw's FTW_DEPTH */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "unit-test.h"

#include "dropin.h"

static char error[GB_DROPIN_ERROR_MAX];
static char tmp[64];         /* the test's scratch directory */
static char vendor_dir[128]; /* tmp/vendor */
static char config_dir[128]; /* tmp/etc */
static char file_path[256];  /* last file written by write_file() */

static void make_dirs(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/test-dropin-XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(tmp));
	snprintf(vendor_dir, sizeof(vendor_dir), "%s/vendor", tmp);
	snprintf(config_dir, sizeof(config_dir), "%s/etc", tmp);
	CU_ASSERT_EQUAL_FATAL(mkdir(vendor_dir, 0755), 0);
	CU_ASSERT_EQUAL_FATAL(mkdir(config_dir, 0755), 0);
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(path);
}

static void remove_dirs(void)
{
	CU_ASSERT_EQUAL(nftw(tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

static const char *write_file(const char *dir, const char *name, const char *text)
{
	FILE *file;

	snprintf(file_path, sizeof(file_path), "%s/%s", dir, name);
	file = fopen(file_path, "we");
	CU_ASSERT_PTR_NOT_NULL_FATAL(file);
	CU_ASSERT_EQUAL(fputs(text, file) >= 0, 1);
	CU_ASSERT_EQUAL(fclose(file), 0);
	return file_path;
}

/*
 * Write @text as one drop-in and check it is refused with EINVAL and exactly
 * @expected after "PATH:" (so "3: key 'plugin.kind': ...", or " key ..." for
 * errors not tied to a line).
 */
static void check_refused(const char *text, const char *expected)
{
	struct gb_dropin dropin;
	char want[GB_DROPIN_ERROR_MAX + 300];
	const char *path;
	int r;

	make_dirs();
	path = write_file(tmp, "bad.ini", text);
	snprintf(want, sizeof(want), "%s:%s", path, expected);

	memset(error, 0, sizeof(error));
	memset(&dropin, 0xaa, sizeof(dropin));
	r = gb_dropin_load_file(&dropin, path, error, sizeof(error));
	CU_ASSERT_EQUAL(r, -EINVAL);
	CU_ASSERT_STRING_EQUAL(error, want);
	if (strcmp(error, want) != 0)
		fprintf(stderr, "\n    got:  %s\n    want: %s\n", error, want);
	/* A refused file leaves nothing behind to free. */
	CU_ASSERT_PTR_NULL(dropin.path);
	CU_ASSERT_PTR_NULL(dropin.name);
	CU_ASSERT_PTR_NULL(dropin.settings);
	CU_ASSERT_EQUAL(dropin.n_settings, 0);
	gb_dropin_clear(&dropin);
	remove_dirs();
}

static const char *plugin_text(const char *kind, const char *name)
{
	static char text[256];

	snprintf(text, sizeof(text), "[plugin]\nkind = %s\nname = %s\n", kind, name);
	return text;
}

static void test_dropin__good_file_parses(void)
{
	struct gb_dropin dropin;
	int r;

	r = gb_dropin_load_file(&dropin, "data/dropin/good.ini", error, sizeof(error));
	CU_ASSERT_EQUAL_FATAL(r, 0);
	CU_ASSERT_STRING_EQUAL(dropin.path, "data/dropin/good.ini");
	CU_ASSERT_STRING_EQUAL(dropin.kind_name, "encoder");
	CU_ASSERT_EQUAL(dropin.kind, GB_PLUGIN_KIND_ENCODER);
	CU_ASSERT_STRING_EQUAL(dropin.name, "x264");
	CU_ASSERT_FALSE(dropin.enabled);
	CU_ASSERT_TRUE(dropin.optional);
	CU_ASSERT_EQUAL_FATAL(dropin.n_settings, 3);
	CU_ASSERT_STRING_EQUAL(dropin.settings[0].key, "bitrate_kbps");
	CU_ASSERT_STRING_EQUAL(dropin.settings[0].value, "8000");
	CU_ASSERT_EQUAL(dropin.settings[0].line, 9);
	CU_ASSERT_STRING_EQUAL(dropin.settings[1].key, "preset");
	CU_ASSERT_STRING_EQUAL(dropin.settings[1].value, "veryfast");
	CU_ASSERT_EQUAL(dropin.settings[1].line, 10);
	CU_ASSERT_STRING_EQUAL(dropin.settings[2].key, "tune");
	CU_ASSERT_STRING_EQUAL(dropin.settings[2].value, "");
	CU_ASSERT_EQUAL(dropin.settings[2].line, 11);
	gb_dropin_clear(&dropin);
	CU_ASSERT_PTR_NULL(dropin.path);
	gb_dropin_clear(&dropin);
	gb_dropin_clear(NULL);
}

static void test_dropin__defaults_and_indented_keys(void)
{
	struct gb_dropin dropin;
	int r;

	make_dirs();
	/* Indented keys are keys, not continuations of the previous value. */
	write_file(tmp, "a.ini",
	           "# comment\n\n[plugin]\n  kind = auth\n\tname = local\n[settings]\n"
	           "  users_file = /etc/glassbox/users\n    rounds = 5\n");
	r = gb_dropin_load_file(&dropin, file_path, error, sizeof(error));
	CU_ASSERT_EQUAL_FATAL(r, 0);
	CU_ASSERT_EQUAL(dropin.kind, GB_PLUGIN_KIND_AUTH);
	CU_ASSERT_STRING_EQUAL(dropin.kind_name, "auth");
	CU_ASSERT_STRING_EQUAL(dropin.name, "local");
	CU_ASSERT_TRUE(dropin.enabled);
	CU_ASSERT_FALSE(dropin.optional);
	CU_ASSERT_EQUAL_FATAL(dropin.n_settings, 2);
	CU_ASSERT_STRING_EQUAL(dropin.settings[0].value, "/etc/glassbox/users");
	CU_ASSERT_EQUAL(dropin.settings[0].line, 7);
	CU_ASSERT_STRING_EQUAL(dropin.settings[1].key, "rounds");
	CU_ASSERT_EQUAL(dropin.settings[1].line, 8);
	gb_dropin_clear(&dropin);
	remove_dirs();
}

static void test_dropin__bool_spellings(void)
{
	static const struct {
		const char *text;
		bool value;
	} cases[] = {
		{ "true", true },   { "True", true }, { "YES", true }, { "1", true },
		{ "false", false }, { "no", false },  { "No", false }, { "0", false },
	};
	struct gb_dropin dropin;
	char text[512];

	make_dirs();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "%senabled = %s\noptional = %s\n",
		         plugin_text("capture", "weston"), cases[i].text, cases[i].text);
		write_file(tmp, "b.ini", text);
		CU_ASSERT_EQUAL_FATAL(
		        gb_dropin_load_file(&dropin, file_path, error, sizeof(error)), 0);
		CU_ASSERT_EQUAL(dropin.enabled, cases[i].value);
		CU_ASSERT_EQUAL(dropin.optional, cases[i].value);
		gb_dropin_clear(&dropin);
	}
	remove_dirs();
}

static void test_dropin__bad_bool_names_line(void)
{
	check_refused("[plugin]\nkind = encoder\nname = x264\n\nenabled = maybe\n",
	              "5: key 'plugin.enabled': value 'maybe' is not a boolean "
	              "(expected true, false, yes, no, 1, 0)");
	check_refused("[plugin]\noptional = on\n",
	              "2: key 'plugin.optional': value 'on' is not a boolean "
	              "(expected true, false, yes, no, 1, 0)");
}

static void test_dropin__unknown_kind_names_line(void)
{
	check_refused("[plugin]\nname = x264\nkind = foo\n",
	              "3: key 'plugin.kind': unknown kind 'foo' "
	              "(expected capture, encoder, auth, storage)");
	check_refused("[plugin]\nkind = Encoder\n", "2: key 'plugin.kind': unknown kind 'Encoder' "
	                                            "(expected capture, encoder, auth, storage)");
}

static void test_dropin__unknown_key_names_line(void)
{
	check_refused("[plugin]\nkind = encoder\nname = x264\npriority = 10\n",
	              "4: key 'plugin.priority': unknown key "
	              "(expected kind, name, enabled, optional, namespace)");
}

static void test_dropin__identity_namespace(void)
{
	struct gb_dropin dropin;
	int r;

	/* Unset: NULL, and the plugin's own name counts (the daemon's default). */
	make_dirs();
	write_file(tmp, "a.ini", "[plugin]\nkind = auth\nname = local\n");
	r = gb_dropin_load_file(&dropin, file_path, error, sizeof(error));
	CU_ASSERT_EQUAL_FATAL(r, 0);
	CU_ASSERT_PTR_NULL(dropin.identity_namespace);
	gb_dropin_clear(&dropin);
	/* Set on an auth plugin, anywhere in [plugin]. */
	write_file(tmp, "b.ini", "[plugin]\nnamespace = staff\nkind = auth\nname = pam\n");
	r = gb_dropin_load_file(&dropin, file_path, error, sizeof(error));
	CU_ASSERT_EQUAL_FATAL(r, 0);
	CU_ASSERT_STRING_EQUAL(dropin.identity_namespace, "staff");
	gb_dropin_clear(&dropin);
	CU_ASSERT_PTR_NULL(dropin.identity_namespace);
	remove_dirs();

	/* The errors name the file, the line and the key. */
	check_refused("[plugin]\nkind = auth\nname = local\nnamespace = Staff\n",
	              "4: key 'plugin.namespace': namespace 'Staff' must not contain 'S' "
	              "(allowed: a-z, 0-9, '.', '_', '-')");
	check_refused("[plugin]\nkind = auth\nname = local\nnamespace = a:b\n",
	              "4: key 'plugin.namespace': namespace 'a:b' must not contain ':' "
	              "(allowed: a-z, 0-9, '.', '_', '-')");
	check_refused("[plugin]\nkind = auth\nname = local\nnamespace =\n",
	              "4: key 'plugin.namespace': namespace '' must not be empty");
	check_refused("[plugin]\nkind = auth\nnamespace = staff\nname = local\n"
	              "namespace = people\n",
	              "5: key 'plugin.namespace': repeated (first set on line 3)");
	check_refused("[plugin]\nnamespace = staff\nkind = encoder\nname = x264\n",
	              "2: key 'plugin.namespace': only auth plugins vouch for identities; "
	              "remove it from this encoder plugin");
}

static void test_dropin__unknown_section_names_line(void)
{
	check_refused("[plugin]\nkind = encoder\nname = x264\n[setting]\nbitrate = 1\n",
	              "4: section 'setting': unknown section (expected plugin, settings)");
	/* Even with no keys under it. */
	check_refused("[plugin]\nkind = encoder\nname = x264\n\n[Plugin]\n",
	              "5: section 'Plugin': unknown section (expected plugin, settings)");
}

static void test_dropin__key_outside_section_names_line(void)
{
	check_refused("; no section yet\nkind = encoder\n[plugin]\n",
	              "2: key 'kind': outside any section (expected [plugin] or [settings])");
}

static void test_dropin__repeated_key_names_both_lines(void)
{
	check_refused("[plugin]\nkind = encoder\nname = x264\nkind = auth\n",
	              "4: key 'plugin.kind': repeated (first set on line 2)");
	check_refused("[plugin]\nkind = encoder\nname = x264\n[settings]\nbitrate = 1\n"
	              "[plugin]\nenabled = true\n[settings]\nbitrate = 2\n",
	              "9: key 'settings.bitrate': repeated (first set on line 5)");
}

static void test_dropin__syntax_error_names_line(void)
{
	check_refused("[plugin]\nkind = encoder\nname x264\n",
	              "3: syntax error (expected '[section]', 'key = value' or a comment)");
	check_refused("[plugin\nkind = encoder\n",
	              "1: syntax error (expected '[section]', 'key = value' or a comment)");
}

static void test_dropin__long_line_names_line(void)
{
	char text[1024];

	snprintf(text, sizeof(text),
	         "[plugin]\nkind = encoder\nname = x264\n[settings]\nx = %0600d\n", 0);
	check_refused(text, "5: line is longer than 197 characters");
}

static void test_dropin__missing_kind_or_name(void)
{
	check_refused("[plugin]\nname = x264\n",
	              " key 'plugin.kind': missing (every drop-in needs [plugin] kind = one of "
	              "capture, encoder, auth, storage)");
	check_refused("[plugin]\nkind = encoder\n[settings]\na = b\n",
	              " key 'plugin.name': missing (every drop-in needs [plugin] name = the "
	              "plugin to load)");
	check_refused("", " key 'plugin.kind': missing (every drop-in needs [plugin] kind = one "
	                  "of capture, encoder, auth, storage)");
}

static void test_dropin__bad_name_is_refused(void)
{
	check_refused("[plugin]\nkind = encoder\nname = a/../b\n",
	              "3: key 'plugin.name': name 'a/../b' must not contain '/' or '..'");
	check_refused("[plugin]\nkind = encoder\n\nname = x264..old\n",
	              "4: key 'plugin.name': name 'x264..old' must not contain '..'");
	check_refused("[plugin]\nkind = encoder\nname = sub/x264\n",
	              "3: key 'plugin.name': name 'sub/x264' must not contain '/'");
	check_refused("[plugin]\nkind = encoder\nname = X264\n",
	              "3: key 'plugin.name': name 'X264' must not contain 'X' "
	              "(allowed: a-z, 0-9, '.', '_', '-')");
	check_refused("[plugin]\nkind = encoder\nname =\n",
	              "3: key 'plugin.name': name '' must not be empty");
}

static void test_dropin__missing_file_is_enoent(void)
{
	struct gb_dropin dropin;

	CU_ASSERT_EQUAL(gb_dropin_load_file(&dropin, "data/dropin/nope.ini", error, sizeof(error)),
	                -ENOENT);
	CU_ASSERT_STRING_EQUAL(error,
	                       "data/dropin/nope.ini: cannot open: No such file or directory");
	CU_ASSERT_PTR_NULL(dropin.path);
}

static void test_dropin__set_sorts_across_both_dirs(void)
{
	struct gb_dropin_set set;
	int r;

	make_dirs();
	write_file(vendor_dir, "50-x264.ini", plugin_text("encoder", "x264"));
	write_file(vendor_dir, "10-weston.ini", plugin_text("capture", "weston"));
	write_file(config_dir, "30-local.ini", plugin_text("auth", "local"));
	write_file(config_dir, "90-rclone.ini", plugin_text("storage", "rclone"));
	write_file(vendor_dir, "20-vp8.ini", plugin_text("encoder", "vp8"));
	/* strcmp order: digits sort before uppercase letters. */
	write_file(config_dir, "A-pam.ini", plugin_text("auth", "pam"));

	r = gb_dropin_set_load(&set, vendor_dir, config_dir, error, sizeof(error));
	CU_ASSERT_EQUAL_FATAL(r, 0);
	CU_ASSERT_EQUAL_FATAL(set.count, 6);
	CU_ASSERT_STRING_EQUAL(set.items[0].name, "weston");
	CU_ASSERT_STRING_EQUAL(set.items[1].name, "vp8");
	CU_ASSERT_STRING_EQUAL(set.items[2].name, "local");
	CU_ASSERT_STRING_EQUAL(set.items[3].name, "x264");
	CU_ASSERT_STRING_EQUAL(set.items[4].name, "rclone");
	CU_ASSERT_STRING_EQUAL(set.items[5].name, "pam");
	CU_ASSERT_PTR_NOT_NULL(strstr(set.items[2].path, "/etc/30-local.ini"));
	CU_ASSERT_PTR_NOT_NULL(strstr(set.items[3].path, "/vendor/50-x264.ini"));
	gb_dropin_set_clear(&set);
	CU_ASSERT_EQUAL(set.count, 0);
	CU_ASSERT_PTR_NULL(set.items);
	remove_dirs();
}

static void test_dropin__etc_replaces_vendor_of_same_name(void)
{
	struct gb_dropin_set set;
	char text[512];
	int r;

	make_dirs();
	write_file(vendor_dir, "50-x264.ini", plugin_text("encoder", "x264"));
	snprintf(text, sizeof(text), "%senabled = false\n", plugin_text("encoder", "x264"));
	write_file(config_dir, "50-x264.ini", text);
	/* A vendor file that does not even parse is never read once replaced. */
	write_file(vendor_dir, "60-nvenc.ini", "this is not a drop-in\n");
	write_file(config_dir, "60-nvenc.ini", plugin_text("encoder", "nvenc"));

	r = gb_dropin_set_load(&set, vendor_dir, config_dir, error, sizeof(error));
	CU_ASSERT_EQUAL_FATAL(r, 0);
	CU_ASSERT_EQUAL_FATAL(set.count, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(set.items[0].path, "/etc/50-x264.ini"));
	CU_ASSERT_FALSE(set.items[0].enabled);
	CU_ASSERT_STRING_EQUAL(set.items[1].name, "nvenc");
	gb_dropin_set_clear(&set);
	remove_dirs();
}

static void make_subdir(const char *dir, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	CU_ASSERT_EQUAL_FATAL(mkdir(path, 0755), 0);
}

static void test_dropin__override_switches_enabled(void)
{
	struct gb_dropin_set set;
	int r;

	make_dirs();
	write_file(vendor_dir, "50-x264.ini", plugin_text("encoder", "x264"));
	write_file(vendor_dir, "60-vp8.ini", plugin_text("encoder", "vp8"));
	/* Vendor and /etc overrides in lexical order; the last one wins. */
	make_subdir(vendor_dir, "50-x264.ini.d");
	make_subdir(config_dir, "50-x264.ini.d");
	write_file(vendor_dir, "50-x264.ini.d/10-off.conf", "[plugin]\nenabled = false\n");
	write_file(config_dir, "50-x264.ini.d/20-on.conf", "[plugin]\nenabled = true\n");
	write_file(vendor_dir, "50-x264.ini.d/30-off.conf", "[plugin]\nenabled = false\n");
	/* Not a .conf: ignored. */
	write_file(config_dir, "50-x264.ini.d/90-on.conf~", "[plugin]\nenabled = true\n");
	/* An /etc override replaces the vendor one of the same name. */
	make_subdir(vendor_dir, "60-vp8.ini.d");
	make_subdir(config_dir, "60-vp8.ini.d");
	write_file(vendor_dir, "60-vp8.ini.d/50-off.conf", "[plugin]\nenabled = false\n");
	write_file(config_dir, "60-vp8.ini.d/50-off.conf", "; emptied by the operator\n");

	r = gb_dropin_set_load(&set, vendor_dir, config_dir, error, sizeof(error));
	CU_ASSERT_EQUAL_FATAL(r, 0);
	CU_ASSERT_EQUAL_FATAL(set.count, 2);
	CU_ASSERT_STRING_EQUAL(set.items[0].name, "x264");
	CU_ASSERT_FALSE(set.items[0].enabled);
	CU_ASSERT_TRUE(set.items[0].enabled_by != NULL &&
	               strstr(set.items[0].enabled_by, "/vendor/50-x264.ini.d/30-off.conf") !=
	                       NULL);
	CU_ASSERT_PTR_NOT_NULL(strstr(set.items[0].path, "/vendor/50-x264.ini"));
	CU_ASSERT_STRING_EQUAL(set.items[1].name, "vp8");
	CU_ASSERT_TRUE(set.items[1].enabled);
	CU_ASSERT_PTR_NULL(set.items[1].enabled_by);
	gb_dropin_set_clear(&set);
	remove_dirs();
}

static void test_dropin__override_may_only_set_enabled(void)
{
	static const struct {
		const char *text;
		const char *expected; /* after "PATH:" */
	} cases[] = {
		{ "[plugin]\nname = vp8\n",
		  "2: key 'plugin.name': an override (a .conf in NAME.ini.d) may only set "
		  "plugin.enabled" },
		{ "[plugin]\nenabled = true\n[settings]\nbitrate = 1\n",
		  "4: key 'settings.bitrate': an override (a .conf in NAME.ini.d) may only set "
		  "plugin.enabled" },
		{ "[plugin]\nenabled = maybe\n",
		  "2: key 'plugin.enabled': value 'maybe' is not a boolean (expected true, false, "
		  "yes, no, 1, 0)" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct gb_dropin_set set;
		char want[GB_DROPIN_ERROR_MAX];
		const char *path;

		make_dirs();
		write_file(vendor_dir, "50-x264.ini", plugin_text("encoder", "x264"));
		make_subdir(config_dir, "50-x264.ini.d");
		path = write_file(config_dir, "50-x264.ini.d/50-bad.conf", cases[i].text);
		snprintf(want, sizeof(want), "%s:%s", path, cases[i].expected);
		CU_ASSERT_EQUAL(
		        gb_dropin_set_load(&set, vendor_dir, config_dir, error, sizeof(error)),
		        -EINVAL);
		CU_ASSERT_STRING_EQUAL(error, want);
		CU_ASSERT_EQUAL(set.count, 0);
		remove_dirs();
	}
}

static void test_dropin__duplicate_plugin_is_refused(void)
{
	struct gb_dropin_set set;
	char want[GB_DROPIN_ERROR_MAX];
	int r;

	make_dirs();
	write_file(vendor_dir, "50-x264.ini", plugin_text("encoder", "x264"));
	write_file(config_dir, "70-weston.ini", plugin_text("capture", "weston"));
	write_file(config_dir, "80-my-x264.ini",
	           "; mine\n[plugin]\nkind = encoder\nname = x264\n");
	/* Same name, other kind: a different plugin. */
	write_file(config_dir, "90-x264-auth.ini", plugin_text("auth", "x264"));

	set.count = 99;
	r = gb_dropin_set_load(&set, vendor_dir, config_dir, error, sizeof(error));
	CU_ASSERT_EQUAL(r, -EINVAL);
	snprintf(want, sizeof(want),
	         "%s/80-my-x264.ini:4: key 'plugin.name': plugin encoder 'x264' is already "
	         "configured in %s/50-x264.ini:3",
	         config_dir, vendor_dir);
	CU_ASSERT_STRING_EQUAL(error, want);
	/* A failed set is empty, not partial. */
	CU_ASSERT_EQUAL(set.count, 0);
	CU_ASSERT_PTR_NULL(set.items);
	gb_dropin_set_clear(&set);
	remove_dirs();
}

static void test_dropin__bad_file_empties_set_and_names_it(void)
{
	struct gb_dropin_set set;
	char want[GB_DROPIN_ERROR_MAX];
	int r;

	make_dirs();
	write_file(vendor_dir, "10-weston.ini", plugin_text("capture", "weston"));
	write_file(config_dir, "20-bad.ini", "[plugin]\nkind = encoder\nname = a/../b\n");
	write_file(vendor_dir, "30-x264.ini", plugin_text("encoder", "x264"));

	r = gb_dropin_set_load(&set, vendor_dir, config_dir, error, sizeof(error));
	CU_ASSERT_EQUAL(r, -EINVAL);
	snprintf(want, sizeof(want),
	         "%s/20-bad.ini:3: key 'plugin.name': name 'a/../b' must not contain '/' or '..'",
	         config_dir);
	CU_ASSERT_STRING_EQUAL(error, want);
	CU_ASSERT_EQUAL(set.count, 0);
	CU_ASSERT_PTR_NULL(set.items);
	remove_dirs();
}

static void test_dropin__non_ini_files_are_ignored(void)
{
	struct gb_dropin_set set;
	char path[256], target[256];
	int r;

	make_dirs();
	write_file(vendor_dir, "10-weston.ini", plugin_text("capture", "weston"));
	write_file(vendor_dir, "README.md", "not a drop-in\n");
	write_file(vendor_dir, "20-x264.ini.dpkg-old", "not a drop-in\n");
	write_file(vendor_dir, "20-x264.ini~", "not a drop-in\n");
	write_file(config_dir, ".30-hidden.ini", "not a drop-in\n");
	write_file(config_dir, ".ini", "not a drop-in\n");
	write_file(config_dir, "40-upper.INI", "not a drop-in\n");
	snprintf(path, sizeof(path), "%s/50-dir.ini", config_dir);
	CU_ASSERT_EQUAL(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/60-dangling.ini", config_dir);
	CU_ASSERT_EQUAL(symlink("/nonexistent/x.ini", path), 0);
	/* A symlink to a regular file is a drop-in. */
	write_file(tmp, "shared-vp8.ini", plugin_text("encoder", "vp8"));
	snprintf(target, sizeof(target), "%s/shared-vp8.ini", tmp);
	snprintf(path, sizeof(path), "%s/70-vp8.ini", config_dir);
	CU_ASSERT_EQUAL(symlink(target, path), 0);

	r = gb_dropin_set_load(&set, vendor_dir, config_dir, error, sizeof(error));
	CU_ASSERT_EQUAL_FATAL(r, 0);
	CU_ASSERT_EQUAL_FATAL(set.count, 2);
	CU_ASSERT_STRING_EQUAL(set.items[0].name, "weston");
	CU_ASSERT_STRING_EQUAL(set.items[1].name, "vp8");
	gb_dropin_set_clear(&set);
	remove_dirs();
}

static void test_dropin__missing_dirs_give_empty_set(void)
{
	struct gb_dropin_set set;
	char missing[256];

	make_dirs();
	snprintf(missing, sizeof(missing), "%s/no-such-dir", tmp);
	CU_ASSERT_EQUAL(gb_dropin_set_load(&set, missing, NULL, error, sizeof(error)), 0);
	CU_ASSERT_EQUAL(set.count, 0);
	CU_ASSERT_PTR_NULL(set.items);
	CU_ASSERT_EQUAL(gb_dropin_set_load(&set, NULL, NULL, error, sizeof(error)), 0);
	CU_ASSERT_EQUAL(set.count, 0);

	/* Only the vendor folder exists. */
	write_file(vendor_dir, "10-weston.ini", plugin_text("capture", "weston"));
	CU_ASSERT_EQUAL(gb_dropin_set_load(&set, vendor_dir, missing, error, sizeof(error)), 0);
	CU_ASSERT_EQUAL(set.count, 1);
	gb_dropin_set_clear(&set);
	remove_dirs();
}

static void test_dropin__unreadable_dir_is_an_error(void)
{
	struct gb_dropin_set set;
	char want[GB_DROPIN_ERROR_MAX];
	const char *not_a_dir;

	make_dirs();
	not_a_dir = write_file(tmp, "plugins.d", "a file, not a folder\n");
	CU_ASSERT_EQUAL(gb_dropin_set_load(&set, vendor_dir, not_a_dir, error, sizeof(error)),
	                -ENOTDIR);
	snprintf(want, sizeof(want), "%s: cannot open: Not a directory", not_a_dir);
	CU_ASSERT_STRING_EQUAL(error, want);
	CU_ASSERT_EQUAL(set.count, 0);
	remove_dirs();
}

static const struct gb_unit_test tests[] = {
	GB_UNIT_TEST(test_dropin__good_file_parses),
	GB_UNIT_TEST(test_dropin__defaults_and_indented_keys),
	GB_UNIT_TEST(test_dropin__bool_spellings),
	GB_UNIT_TEST(test_dropin__bad_bool_names_line),
	GB_UNIT_TEST(test_dropin__unknown_kind_names_line),
	GB_UNIT_TEST(test_dropin__unknown_key_names_line),
	GB_UNIT_TEST(test_dropin__unknown_section_names_line),
	GB_UNIT_TEST(test_dropin__key_outside_section_names_line),
	GB_UNIT_TEST(test_dropin__repeated_key_names_both_lines),
	GB_UNIT_TEST(test_dropin__syntax_error_names_line),
	GB_UNIT_TEST(test_dropin__long_line_names_line),
	GB_UNIT_TEST(test_dropin__missing_kind_or_name),
	GB_UNIT_TEST(test_dropin__bad_name_is_refused),
	GB_UNIT_TEST(test_dropin__missing_file_is_enoent),
	GB_UNIT_TEST(test_dropin__set_sorts_across_both_dirs),
	GB_UNIT_TEST(test_dropin__etc_replaces_vendor_of_same_name),
	GB_UNIT_TEST(test_dropin__override_switches_enabled),
	GB_UNIT_TEST(test_dropin__override_may_only_set_enabled),
	GB_UNIT_TEST(test_dropin__duplicate_plugin_is_refused),
	GB_UNIT_TEST(test_dropin__identity_namespace),
	GB_UNIT_TEST(test_dropin__bad_file_empties_set_and_names_it),
	GB_UNIT_TEST(test_dropin__non_ini_files_are_ignored),
	GB_UNIT_TEST(test_dropin__missing_dirs_give_empty_set),
	GB_UNIT_TEST(test_dropin__unreadable_dir_is_an_error),
};

int main(void)
{
	return GB_UNIT_RUN("dropin", NULL, NULL, tests);
}
