/* SPDX-License-Identifier: MIT */
/*
 * storage-rclone's text work (plugins/storage-rclone/rclone-config.c) and
 * its reading of the sidecar's remote control (rc-client.c): the operator's
 * remotes file, the mounts setting, %u substitution, the sections written
 * for a user's own remotes (no injection), and vfs/stats; and the parts of
 * conflict copies (conflicts.c) that read rclone's cache metadata and
 * operations/stat, decide, and name the copy.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "conflicts.h"
#include "rc-client.h"
#include "rclone-config.h"
#include "unit-test.h"

static void test_storage_rclone__names(void)
{
	CU_ASSERT_TRUE(gb_rclone_name_valid("work"));
	CU_ASSERT_TRUE(gb_rclone_name_valid("a-b_c9"));
	CU_ASSERT_FALSE(gb_rclone_name_valid(""));
	CU_ASSERT_FALSE(gb_rclone_name_valid("Work"));
	CU_ASSERT_FALSE(gb_rclone_name_valid("../x"));
	CU_ASSERT_FALSE(gb_rclone_name_valid("a b"));
	CU_ASSERT_FALSE(gb_rclone_name_valid("abcdefghijklmnopqrstuvwxyz0123456")); /* 33 */
	CU_ASSERT_TRUE(gb_rclone_name_valid("abcdefghijklmnopqrstuvwxyz012345"));
}

static void test_storage_rclone__remotes_file(void)
{
	struct gb_rclone_remotes remotes;
	char error[256] = "";
	const struct gb_rclone_section *org;

	CU_ASSERT_EQUAL_FATAL(
	        gb_rclone_remotes_parse(&remotes, "r.conf",
	                                "# operator's remotes\n\n[org]\ntype = sftp\n"
	                                "host = 127.0.0.1\n; note\n[dav.x]\n"
	                                "type=webdav\nurl = http://h/\n",
	                                error, sizeof(error)),
	        0);
	CU_ASSERT_EQUAL(remotes.count, 2);
	org = gb_rclone_remotes_find(&remotes, "org");
	CU_ASSERT_PTR_NOT_NULL_FATAL(org);
	CU_ASSERT_STRING_EQUAL(org->type, "sftp");
	CU_ASSERT_STRING_EQUAL(org->text, "[org]\ntype = sftp\nhost = 127.0.0.1\n");
	CU_ASSERT_STRING_EQUAL(gb_rclone_remotes_find(&remotes, "dav.x")->type, "webdav");
	CU_ASSERT_PTR_NULL(gb_rclone_remotes_find(&remotes, "other"));
	gb_rclone_remotes_clear(&remotes);
}

static void check_remotes_refused(const char *text, const char *expected)
{
	struct gb_rclone_remotes remotes;
	char error[256] = "";

	CU_ASSERT_EQUAL(gb_rclone_remotes_parse(&remotes, "r.conf", text, error, sizeof(error)),
	                -EINVAL);
	if (!strstr(error, expected))
		fprintf(stderr, "\n    error '%s' lacks '%s'\n", error, expected);
	CU_ASSERT_PTR_NOT_NULL(strstr(error, expected));
	CU_ASSERT_EQUAL(remotes.count, 0);
}

static void test_storage_rclone__remotes_file_errors_name_the_line(void)
{
	check_remotes_refused("type = sftp\n", "r.conf:1: a line before the first [section]");
	check_remotes_refused("[a]\ntype = x\n[a]\n", "r.conf:3: remote 'a' is defined twice");
	check_remotes_refused("\n[a b]\n", "r.conf:2: a section is '[name]'");
	check_remotes_refused("[a]\njust words\n", "r.conf:2: expected 'key = value'");
}

static void test_storage_rclone__remotes_path(void)
{
	char error[256] = "";
	char *path;

	path = gb_rclone_remotes_path("/etc/glassbox/remotes.conf", NULL, error, sizeof(error));
	CU_ASSERT_STRING_EQUAL(path, "/etc/glassbox/remotes.conf");
	free(path);
	path = gb_rclone_remotes_path("credential:storage-remotes",
	                              "/run/credentials/glassbox.service", error, sizeof(error));
	CU_ASSERT_STRING_EQUAL(path, "/run/credentials/glassbox.service/storage-remotes");
	free(path);

	CU_ASSERT_PTR_NULL(
	        gb_rclone_remotes_path("credential:storage-remotes", NULL, error, sizeof(error)));
	CU_ASSERT_PTR_NOT_NULL(strstr(error, "there is no $CREDENTIALS_DIRECTORY"));
	CU_ASSERT_PTR_NULL(gb_rclone_remotes_path("credential:../etc/shadow", "/run/c", error,
	                                          sizeof(error)));
	CU_ASSERT_PTR_NOT_NULL(strstr(error, "does not name a credential"));
	CU_ASSERT_PTR_NULL(gb_rclone_remotes_path("credential:", "/run/c", error, sizeof(error)));
}

static void test_storage_rclone__mount_specs(void)
{
	struct gb_rclone_mount_specs specs;
	char error[256] = "";

	CU_ASSERT_EQUAL_FATAL(gb_rclone_mount_specs_parse(&specs,
	                                                  " work=org:users/%u , dav = dav:%n/%u,",
	                                                  error, sizeof(error)),
	                      0);
	CU_ASSERT_EQUAL_FATAL(specs.count, 2);
	CU_ASSERT_STRING_EQUAL(specs.items[0].name, "work");
	CU_ASSERT_STRING_EQUAL(specs.items[0].remote, "org");
	CU_ASSERT_STRING_EQUAL(specs.items[0].path, "users/%u");
	CU_ASSERT_STRING_EQUAL(specs.items[1].name, "dav");
	CU_ASSERT_STRING_EQUAL(specs.items[1].path, "%n/%u");
	gb_rclone_mount_specs_clear(&specs);

	CU_ASSERT_EQUAL(gb_rclone_mount_specs_parse(&specs, "", error, sizeof(error)), 0);
	CU_ASSERT_EQUAL(specs.count, 0);

	CU_ASSERT_EQUAL(gb_rclone_mount_specs_parse(&specs, "work", error, sizeof(error)),
	                -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(error, "'work' is not 'name=remote:path'"));
	CU_ASSERT_EQUAL(gb_rclone_mount_specs_parse(&specs, "Work=org:x", error, sizeof(error)),
	                -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(error, "mount name 'Work'"));
	CU_ASSERT_EQUAL(
	        gb_rclone_mount_specs_parse(&specs, "a=org:x, a=org:y", error, sizeof(error)),
	        -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(error, "mount 'a' is named twice"));
	CU_ASSERT_EQUAL(specs.count, 0);
}

static void test_storage_rclone__substitution(void)
{
	char error[256] = "";
	char *path;

	path = gb_rclone_substitute("users/%n/%u/100%%", "local", "alice", error, sizeof(error));
	CU_ASSERT_STRING_EQUAL(path, "users/local/alice/100%");
	free(path);
	path = gb_rclone_substitute("u/%u", "oidc", "bob@example.com", error, sizeof(error));
	CU_ASSERT_STRING_EQUAL(path, "u/bob@example.com");
	free(path);

	/* A user name must not leave its folder. */
	CU_ASSERT_PTR_NULL(gb_rclone_substitute("u/%u", "local", "../root", error, sizeof(error)));
	CU_ASSERT_PTR_NOT_NULL(strstr(error, "cannot be part of a path"));
	CU_ASSERT_PTR_NULL(gb_rclone_substitute("u/%u", "local", "a/b", error, sizeof(error)));
	CU_ASSERT_PTR_NULL(gb_rclone_substitute("u/%u", "local", ".hidden", error, sizeof(error)));
	CU_ASSERT_PTR_NULL(gb_rclone_substitute("u/%u", "local", "a\nb", error, sizeof(error)));
	CU_ASSERT_PTR_NULL(gb_rclone_substitute("u/%u", "local", "", error, sizeof(error)));
	CU_ASSERT_PTR_NULL(gb_rclone_substitute("u/%x", "local", "alice", error, sizeof(error)));
	CU_ASSERT_PTR_NOT_NULL(strstr(error, "only %u (user), %n (namespace) and %% may follow"));
}

static char *fake_obscure(void *data, const char *value, char *error, size_t error_size)
{
	char *out = malloc(strlen(value) + 6);

	(void)data;
	(void)error;
	(void)error_size;
	sprintf(out, "OBS(%s)", value);
	return out;
}

static void test_storage_rclone__user_sections(void)
{
	const char *keys[] = { "url", "user", "pass" };
	const char *values[] = { "https://dav.example.com/", "alice", "s3cret" };
	struct gb_storage_remote remote = {
		.name = "mine",
		.type = "webdav",
		.n_params = 3,
		.keys = keys,
		.values = values,
	};
	char error[256] = "";
	char *text;

	text = gb_rclone_user_section(&remote, "user-mine", fake_obscure, NULL, error,
	                              sizeof(error));
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_STRING_EQUAL(text, "[user-mine]\ntype = webdav\nurl = https://dav.example.com/\n"
	                             "user = alice\npass = OBS(s3cret)\n");
	free(text);

	/* No way out of the section: a line break in a value is refused. */
	values[1] = "alice\n[evil]\ntype = local";
	CU_ASSERT_PTR_NULL(gb_rclone_user_section(&remote, "user-mine", fake_obscure, NULL, error,
	                                          sizeof(error)));
	CU_ASSERT_PTR_NOT_NULL(strstr(error, "setting 'user' holds a control character"));
	values[1] = "alice";

	keys[1] = "type";
	CU_ASSERT_PTR_NULL(gb_rclone_user_section(&remote, "user-mine", fake_obscure, NULL, error,
	                                          sizeof(error)));
	CU_ASSERT_PTR_NOT_NULL(strstr(error, "a webdav remote has no setting 'type'"));
	keys[1] = "user";

	remote.type = "local";
	CU_ASSERT_PTR_NULL(gb_rclone_user_section(&remote, "user-mine", fake_obscure, NULL, error,
	                                          sizeof(error)));
	CU_ASSERT_PTR_NOT_NULL(strstr(error, "type 'local' is not one this plugin mounts"));
}

static void test_storage_rclone__status_from_rc(void)
{
	struct gb_storage_status status;
	char error[256] = "";
	const char *vfs = "{\"diskCache\":{\"bytesUsed\":10,\"erroredFiles\":1,\"files\":4,"
	                  "\"outOfSpace\":false,\"uploadsInProgress\":2,\"uploadsQueued\":3},"
	                  "\"fs\":\"org:users/alice\"}";
	const char *core = "{\"transferring\":[{\"name\":\"a\",\"size\":1000,\"bytes\":400},"
	                   "{\"name\":\"b\",\"size\":50,\"bytes\":50}]}";

	memset(&status, 0, sizeof(status));
	CU_ASSERT_EQUAL(gb_rc_parse_status(vfs, core, &status, error, sizeof(error)), 0);
	CU_ASSERT_EQUAL(status.state, GB_STORAGE_READY);
	CU_ASSERT_EQUAL(status.files_queued, 3);
	CU_ASSERT_EQUAL(status.files_uploading, 2);
	CU_ASSERT_EQUAL(status.upload_errors, 1);
	CU_ASSERT_EQUAL(status.bytes_uploading, 600);

	CU_ASSERT_EQUAL(gb_rc_parse_status("{\"diskCache\":{\"outOfSpace\":true}}", NULL, &status,
	                                   error, sizeof(error)),
	                0);
	CU_ASSERT_EQUAL(status.state, GB_STORAGE_FAILED);
	CU_ASSERT_PTR_NOT_NULL(strstr(status.message, "out of space"));

	CU_ASSERT_EQUAL(gb_rc_parse_status("{\"fs\":\"x\"}", NULL, &status, error, sizeof(error)),
	                -EIO);
	CU_ASSERT_PTR_NOT_NULL(strstr(error, "vfs/stats has no diskCache"));
	CU_ASSERT_EQUAL(gb_rc_parse_status("not json", NULL, &status, error, sizeof(error)), -EIO);
}

static void test_storage_rclone__rc_call_refused_without_server(void)
{
	char error[256] = "";
	char *body = NULL;

	/* Port 1 on loopback: nobody listens there in the test's namespace. */
	CU_ASSERT_EQUAL(gb_rc_call(1, "glassbox", "x", "vfs/stats", &body, error, sizeof(error)),
	                -ECONNREFUSED);
	CU_ASSERT_PTR_NULL(body);
	CU_ASSERT_PTR_NOT_NULL(strstr(error, "rc on 127.0.0.1:1"));
}

/* What rclone 1.60 writes in vfsMeta (item.go, _save) and answers to operations/stat. */
#define META_DIRTY                                                                                \
	"{\n\t\"ModTime\": \"2026-12-07T17:30:05.5+01:00\",\n\t\"ATime\": "                       \
	"\"2026-12-07T16:30:05Z\",\n\t\"Size\": 5,\n\t\"Rs\": [{\"Pos\": 0, \"Size\": 5}],\n"     \
	"\t\"Fingerprint\": \"8,2026-12-07 16:00:00 +0000 UTC\",\n\t\"Dirty\": true\n}\n"
#define STAT(size, time)                                                                          \
	"{\"item\":{\"Path\":\"a.txt\",\"Name\":\"a.txt\",\"Size\":" size ",\"ModTime\":\"" time  \
	"\",\"IsDir\":false}}"

static void test_storage_rclone__conflict_meta_and_stat(void)
{
	struct gb_vfs_meta meta;
	struct gb_remote_object object;

	CU_ASSERT_EQUAL_FATAL(gb_vfs_meta_parse(META_DIRTY, &meta), 0);
	CU_ASSERT_TRUE(meta.dirty);
	CU_ASSERT_EQUAL(meta.size, 5);
	CU_ASSERT_TRUE(meta.has_modtime);
	CU_ASSERT_EQUAL(meta.modtime_us, 1796661005500000LL); /* 16:30:05.5 UTC */
	CU_ASSERT_STRING_EQUAL(meta.fingerprint, "8,2026-12-07 16:00:00 +0000 UTC");
	CU_ASSERT_EQUAL(gb_vfs_meta_parse("{\"Dirty\": tr", &meta), -EINVAL);
	CU_ASSERT_EQUAL(gb_vfs_meta_parse("[]", &meta), -EINVAL);

	CU_ASSERT_EQUAL_FATAL(gb_remote_object_parse(STAT("8", "2026-12-07T16:00:00Z"), &object),
	                      0);
	CU_ASSERT_TRUE(object.exists);
	CU_ASSERT_FALSE(object.is_dir);
	CU_ASSERT_EQUAL(object.size, 8);
	CU_ASSERT_EQUAL(object.modtime_us, 1796659200000000LL);
	CU_ASSERT_EQUAL(gb_remote_object_parse("{\n\t\"item\": null\n}\n", &object), 0);
	CU_ASSERT_FALSE(object.exists);
	CU_ASSERT_EQUAL(gb_remote_object_parse("{}", &object), -EINVAL);
	CU_ASSERT_EQUAL(gb_remote_object_parse(
	                        "{\"item\":{\"Size\":1,\"Hashes\":{\"md5\":\"ab\"}}}", &object),
	                0);
	CU_ASSERT_EQUAL(object.n_hashes, 1);
	CU_ASSERT_STRING_EQUAL(object.hashes[0], "ab");
}

static void test_storage_rclone__conflict_decision(void)
{
	struct gb_vfs_meta meta;
	struct gb_remote_object object;

	CU_ASSERT_EQUAL_FATAL(gb_vfs_meta_parse(META_DIRTY, &meta), 0);
	/* The remote still holds what was cached: the upload loses nothing. */
	gb_remote_object_parse(STAT("8", "2026-12-07T16:00:00Z"), &object);
	CU_ASSERT_FALSE(gb_conflict_remote_changed(&meta, &object));
	/* Changed since: other size, or same size and another time. */
	gb_remote_object_parse(STAT("21", "2026-12-07T16:00:00Z"), &object);
	CU_ASSERT_TRUE(gb_conflict_remote_changed(&meta, &object));
	gb_remote_object_parse(STAT("8", "2026-12-07T16:20:00Z"), &object);
	CU_ASSERT_TRUE(gb_conflict_remote_changed(&meta, &object));
	/* The same time to the remote's precision (it keeps seconds): unchanged. */
	gb_remote_object_parse(STAT("8", "2026-12-07T16:00:00.6Z"), &object);
	CU_ASSERT_FALSE(gb_conflict_remote_changed(&meta, &object));
	/* The local file itself (rclone's upload just ended): no copy. */
	gb_remote_object_parse(STAT("5", "2026-12-07T16:30:05Z"), &object);
	CU_ASSERT_FALSE(gb_conflict_remote_changed(&meta, &object));
	/* Gone from the remote: the upload brings the edit back. */
	gb_remote_object_parse("{\"item\":null}", &object);
	CU_ASSERT_FALSE(gb_conflict_remote_changed(&meta, &object));
	/* Made here (no fingerprint) while someone made it there too. */
	meta.fingerprint[0] = '\0';
	gb_remote_object_parse(STAT("21", "2026-12-07T16:20:00Z"), &object);
	CU_ASSERT_TRUE(gb_conflict_remote_changed(&meta, &object));
	/* A fingerprint with a hash (size, no modtime: WebDAV, or a hash remote). */
	snprintf(meta.fingerprint, sizeof(meta.fingerprint), "8,0123abcd");
	gb_remote_object_parse("{\"item\":{\"Size\":8,\"Hashes\":{\"md5\":\"0123ABCD\"}}}",
	                       &object);
	CU_ASSERT_FALSE(gb_conflict_remote_changed(&meta, &object));
	gb_remote_object_parse("{\"item\":{\"Size\":8,\"Hashes\":{\"md5\":\"ffff\"}}}", &object);
	CU_ASSERT_TRUE(gb_conflict_remote_changed(&meta, &object));
	/* Not rclone's format: cannot tell, no copy. */
	snprintf(meta.fingerprint, sizeof(meta.fingerprint), "x,y");
	CU_ASSERT_FALSE(gb_conflict_remote_changed(&meta, &object));
}

static void test_storage_rclone__conflict_names(void)
{
	GDateTime *when = g_date_time_new_utc(2026, 12, 7, 17, 3, 9);
	const char *cases[][3] = {
		{ "report.txt", "report (conflict 2026-12-07 170309).txt", NULL },
		{ "sub/dir/a.tar.gz", "sub/dir/a.tar (conflict 2026-12-07 170309).gz", NULL },
		{ ".bashrc", ".bashrc (conflict 2026-12-07 170309)", NULL },
		{ "v1.0/README", "v1.0/README (conflict 2026-12-07 170309)", NULL },
	};
	char *name;

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		name = gb_conflict_name(cases[i][0], when, 0);
		CU_ASSERT_STRING_EQUAL(name, cases[i][1]);
		g_free(name);
	}
	name = gb_conflict_name("report.txt", when, 1);
	CU_ASSERT_STRING_EQUAL(name, "report (conflict 2026-12-07 170309 2).txt");
	g_free(name);
	g_date_time_unref(when);
}

/* A file of the test's tree under @root/@folder; a link when @link. */
static void tree_add(const char *root, const char *folder, const char *name, const char *text,
                     bool link)
{
	g_autofree char *path = g_build_filename(root, folder, name, NULL);
	g_autofree char *parent = g_path_get_dirname(path);

	CU_ASSERT_EQUAL_FATAL(g_mkdir_with_parents(parent, 0700), 0);
	if (link) {
		CU_ASSERT_EQUAL_FATAL(symlink(text, path), 0);
	} else {
		CU_ASSERT_TRUE_FATAL(g_file_set_contents(path, text, -1, NULL));
	}
}

static int compare_names(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run(char *command)
{
	CU_ASSERT_EQUAL(system(command), 0);
	g_free(command);
}

/* Root walks a folder its user can write: no link is followed, only that user's files count. */
static void test_storage_rclone__conflict_walk_follows_no_link(void)
{
	g_autofree char *tmp = g_dir_make_tmp("gb-conflict-XXXXXX", NULL);
	g_autofree char *home = g_build_filename(tmp, "home", NULL);
	g_autofree char *home2 = g_build_filename(tmp, "home2", NULL);
	g_autofree char *meta = g_build_filename(home, ".cache/gs/vfsMeta/org/users/demo", NULL);
	g_autofree char *meta2 = g_build_filename(home2, ".cache/gs/vfsMeta/org/users/demo", NULL);
	g_autofree char *dotdot = g_build_filename(home, ".cache/gs/vfsMeta/../../../../x", NULL);
	g_autofree char *big =
	        g_strdup_printf("{\"Dirty\": true, \"Pad\": \"%0*d\"}", GB_CONFLICTS_META_MAX, 0);
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	const char *dirty = "{\"Dirty\": true, \"Fingerprint\": \"1\"}";
	const char *folder = "home/.cache/gs/vfsMeta/org/users/demo";
	uid_t owner = geteuid() == 0 ? 65534 : geteuid(), found_owner = 0;
	struct gb_conflicts_mount mount = { .home = home,
		                            .cache_folder = ".cache/gs",
		                            .uid = owner };
	int fd;

	CU_ASSERT_PTR_NOT_NULL_FATAL(tmp);
	tree_add(tmp, "outside", "x.txt", dirty, false);
	tree_add(tmp, folder, "a.txt", dirty, false);
	tree_add(tmp, folder, "sub/b.txt", dirty, false);
	tree_add(tmp, folder, "clean.txt", "{\"Dirty\": false}", false);
	tree_add(tmp, folder, "big.txt", big, false);
	tree_add(tmp, folder, "half.txt", "{\"Dirty\": tr", false);
	tree_add(tmp, folder, "link.txt", "../../../../../../outside/x.txt", true);
	tree_add(tmp, folder, "linkdir", "../../../../../../outside", true);
	tree_add(tmp, folder, "other.txt", dirty, false);
	/* The user made .cache of another home a link to elsewhere. */
	tree_add(tmp, "elsewhere/gs/vfsMeta/org/users/demo", "a.txt", dirty, false);
	tree_add(tmp, "home2", ".cache", "../elsewhere", true);
	if (geteuid() == 0) {
		run(g_strdup_printf("chown -hR 65534:65534 '%s/home' '%s/home2' '%s/elsewhere' "
		                    "'%s/outside'",
		                    tmp, tmp, tmp, tmp));
		/* Another account's file, which root could otherwise be handed: left out. */
		run(g_strdup_printf("chown 65533 '%s/other.txt'", meta));
	} else {
		/* Not root: no other account's file to make; other.txt stands for the user's own.
		 */
		g_autofree char *other = g_build_filename(meta, "other.txt", NULL);

		CU_ASSERT_EQUAL(unlink(other), 0);
	}

	fd = gb_conflicts_open_meta(&mount, meta, &found_owner);
	CU_ASSERT_TRUE_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(found_owner, owner);
	gb_conflicts_waiting(fd, found_owner, names);
	close(fd);
	g_ptr_array_sort(names, compare_names);
	CU_ASSERT_EQUAL_FATAL(names->len, 2);
	CU_ASSERT_STRING_EQUAL(names->pdata[0], "a.txt");
	CU_ASSERT_STRING_EQUAL(names->pdata[1], "sub/b.txt");

	/* Not the mount's metadata folder, or a way out of it: refused. */
	CU_ASSERT_EQUAL(gb_conflicts_open_meta(&mount, "/etc", &found_owner), -1);
	CU_ASSERT_EQUAL(gb_conflicts_open_meta(&mount, dotdot, &found_owner), -1);
	/* The session's account is not the home's owner: refused. */
	mount.uid = owner + 1;
	CU_ASSERT_EQUAL(gb_conflicts_open_meta(&mount, meta, &found_owner), -1);
	/* The systemd spawner (uid not known): the home's owner counts. */
	mount.uid = (uid_t)-1;
	fd = gb_conflicts_open_meta(&mount, meta, &found_owner);
	CU_ASSERT_TRUE(fd >= 0 && found_owner == owner);
	if (fd >= 0)
		close(fd);
	/* A link on the way down (home2/.cache): not followed. */
	mount.home = home2;
	CU_ASSERT_EQUAL(gb_conflicts_open_meta(&mount, meta2, &found_owner), -1);
	run(g_strdup_printf("rm -rf '%s'", tmp));
}

static const struct gb_unit_test tests[] = {
	GB_UNIT_TEST(test_storage_rclone__names),
	GB_UNIT_TEST(test_storage_rclone__remotes_file),
	GB_UNIT_TEST(test_storage_rclone__remotes_file_errors_name_the_line),
	GB_UNIT_TEST(test_storage_rclone__remotes_path),
	GB_UNIT_TEST(test_storage_rclone__mount_specs),
	GB_UNIT_TEST(test_storage_rclone__substitution),
	GB_UNIT_TEST(test_storage_rclone__user_sections),
	GB_UNIT_TEST(test_storage_rclone__status_from_rc),
	GB_UNIT_TEST(test_storage_rclone__rc_call_refused_without_server),
	GB_UNIT_TEST(test_storage_rclone__conflict_meta_and_stat),
	GB_UNIT_TEST(test_storage_rclone__conflict_decision),
	GB_UNIT_TEST(test_storage_rclone__conflict_names),
	GB_UNIT_TEST(test_storage_rclone__conflict_walk_follows_no_link),
};

int main(void)
{
	return GB_UNIT_RUN("storage-rclone", NULL, NULL, tests);
}
