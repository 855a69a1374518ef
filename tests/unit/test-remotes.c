/* SPDX-License-Identifier: MIT */
/*
 * The users' remotes at rest (core/daemon/remotes.c): what gb_remotes_load()
 * gives the storage plugin after a save, the files' modes, and the refusals
 * (a key others may read, a corrupted file), in a temporary state folder.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "daemon.h"
#include "remotes.h"
#include "remove-tree.h"
#include "unit-test.h"

static struct gb_config *config;
static struct gb_daemon daemon_state;
static char *state_dir;
static char error[512];

static int set_up(void)
{
	state_dir = g_dir_make_tmp("gb-remotes-XXXXXX", NULL);
	config = gb_config_new_defaults();
	if (!state_dir || !config)
		return 1;
	free(config->server.state_dir);
	config->server.state_dir = strdup(state_dir);
	free(config->storage.user_remote_types);
	config->storage.user_remote_types = calloc(3, sizeof(char *));
	config->storage.user_remote_types[0] = strdup("webdav");
	config->storage.user_remote_types[1] = strdup("sftp");
	daemon_state.config = config;
	return 0;
}

static int tear_down(void)
{
	gb_remove_tree(state_dir);
	g_free(state_dir);
	gb_config_free(config);
	return 0;
}

static char *path_of(const char *identity)
{
	g_autofree char *hash = g_compute_checksum_for_string(G_CHECKSUM_SHA256, identity, -1);
	g_autofree char *name = g_strconcat(hash, ".sealed", NULL);

	return g_build_filename(state_dir, "remotes", name, NULL);
}

static GPtrArray *two_remotes(void)
{
	GPtrArray *remotes = gb_user_remotes_new();
	struct gb_user_remote *dav = gb_user_remote_new("dav", "webdav");
	struct gb_user_remote *bucket = gb_user_remote_new("bucket", "s3");

	gb_user_remote_add(dav, "url", "https://dav.example/x");
	gb_user_remote_add(dav, "pass", "dav-secret");
	gb_user_remote_add(bucket, "provider", "Minio");
	gb_user_remote_add(bucket, "access_key_id", "AK");
	gb_user_remote_add(bucket, "secret_access_key", "s3-secret");
	g_ptr_array_add(remotes, dav);
	g_ptr_array_add(remotes, bucket);
	return remotes;
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_mode & 07777 : (mode_t)-1;
}

static void test_remotes__none_yet_is_an_empty_list(void)
{
	GPtrArray *remotes = NULL;
	g_autofree char *key = g_build_filename(state_dir, "remotes.key", NULL);

	CU_ASSERT_EQUAL(
	        gb_remotes_load(&daemon_state, "local:nobody", &remotes, error, sizeof(error)), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(remotes);
	CU_ASSERT_EQUAL(remotes->len, 0);
	g_ptr_array_unref(remotes);
	CU_ASSERT_FALSE(g_file_test(key, G_FILE_TEST_EXISTS));
}

static void test_remotes__saved_remotes_load_with_their_secrets(void)
{
	g_autoptr(GPtrArray) saved = two_remotes();
	g_autofree char *path = path_of("local:alice");
	g_autofree char *key = g_build_filename(state_dir, "remotes.key", NULL);
	g_autofree char *folder = g_build_filename(state_dir, "remotes", NULL);
	GPtrArray *remotes = NULL;
	struct gb_user_remote *dav;

	CU_ASSERT_EQUAL_FATAL(
	        gb_remotes_save(&daemon_state, "local:alice", saved, error, sizeof(error)), 0);
	CU_ASSERT_EQUAL(mode_of(folder), 0700);
	CU_ASSERT_EQUAL(mode_of(path), 0600);
	CU_ASSERT_EQUAL(mode_of(key), 0600);

	/* The storage plugin gets the allowed types only (s3 is not), secrets included. */
	CU_ASSERT_EQUAL_FATAL(
	        gb_remotes_load(&daemon_state, "local:alice", &remotes, error, sizeof(error)), 0);
	CU_ASSERT_EQUAL_FATAL(remotes->len, 1);
	dav = remotes->pdata[0];
	CU_ASSERT_STRING_EQUAL(dav->name, "dav");
	CU_ASSERT_STRING_EQUAL(dav->type, "webdav");
	CU_ASSERT_EQUAL_FATAL(dav->keys->len, 2);
	CU_ASSERT_EQUAL_FATAL(dav->values->len, 2);
	CU_ASSERT_STRING_EQUAL(dav->keys->pdata[1], "pass");
	CU_ASSERT_STRING_EQUAL(dav->values->pdata[1], "dav-secret");
	g_ptr_array_unref(remotes);

	/* The API sees every stored one. */
	CU_ASSERT_EQUAL(
	        gb_remotes_read(&daemon_state, "local:alice", &remotes, error, sizeof(error)), 0);
	CU_ASSERT_EQUAL(remotes->len, 2);
	g_ptr_array_unref(remotes);

	/* Another identity has none; with every type allowed, both load. */
	CU_ASSERT_EQUAL(gb_remotes_load_from(state_dir, NULL, "local:alice", &remotes, error,
	                                     sizeof(error)),
	                0);
	CU_ASSERT_EQUAL(remotes->len, 2);
	g_ptr_array_unref(remotes);
}

static void test_remotes__a_corrupted_file_is_an_error_naming_it(void)
{
	g_autoptr(GPtrArray) saved = two_remotes();
	g_autofree char *path = path_of("local:carol");
	g_autofree char *data = NULL;
	GPtrArray *remotes = NULL;
	gsize size;

	CU_ASSERT_EQUAL_FATAL(
	        gb_remotes_save(&daemon_state, "local:carol", saved, error, sizeof(error)), 0);
	CU_ASSERT_TRUE_FATAL(g_file_get_contents(path, &data, &size, NULL));
	data[size - 1] ^= 1;
	CU_ASSERT_TRUE_FATAL(g_file_set_contents(path, data, (gssize)size, NULL));
	error[0] = '\0';
	CU_ASSERT_EQUAL(
	        gb_remotes_load(&daemon_state, "local:carol", &remotes, error, sizeof(error)),
	        -EBADMSG);
	CU_ASSERT_PTR_NULL(remotes);
	CU_ASSERT_PTR_NOT_NULL(strstr(error, path));
	CU_ASSERT_PTR_NOT_NULL(strstr(error, "does not decrypt"));
}

static void test_remotes__a_key_others_may_read_is_refused(void)
{
	g_autoptr(GPtrArray) saved = two_remotes();
	g_autofree char *key = g_build_filename(state_dir, "remotes.key", NULL);
	g_autofree char *moved = g_build_filename(state_dir, "real.key", NULL);
	GPtrArray *remotes = NULL;

	CU_ASSERT_EQUAL_FATAL(
	        gb_remotes_save(&daemon_state, "local:dave", saved, error, sizeof(error)), 0);
	CU_ASSERT_EQUAL_FATAL(chmod(key, 0640), 0);
	CU_ASSERT_EQUAL(
	        gb_remotes_load(&daemon_state, "local:dave", &remotes, error, sizeof(error)),
	        -EPERM);
	CU_ASSERT_PTR_NULL(remotes);
	CU_ASSERT_PTR_NOT_NULL(strstr(error, key));
	CU_ASSERT_PTR_NOT_NULL(strstr(error, "0640"));
	CU_ASSERT_EQUAL(gb_remotes_save(&daemon_state, "local:dave", saved, error, sizeof(error)),
	                -EPERM);

	/* A symbolic link to a good key is refused too. */
	CU_ASSERT_EQUAL_FATAL(chmod(key, 0600), 0);
	CU_ASSERT_EQUAL_FATAL(rename(key, moved), 0);
	CU_ASSERT_EQUAL_FATAL(symlink(moved, key), 0);
	CU_ASSERT_EQUAL(
	        gb_remotes_load(&daemon_state, "local:dave", &remotes, error, sizeof(error)),
	        -ELOOP);
	CU_ASSERT_PTR_NOT_NULL(strstr(error, "symbolic link"));
	CU_ASSERT_EQUAL_FATAL(unlink(key), 0);
	CU_ASSERT_EQUAL_FATAL(rename(moved, key), 0);

	/* A missing key with files left: they are named, not taken as empty. */
	CU_ASSERT_EQUAL_FATAL(rename(key, moved), 0);
	CU_ASSERT_EQUAL(
	        gb_remotes_load(&daemon_state, "local:dave", &remotes, error, sizeof(error)),
	        -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(error, "is missing"));
	CU_ASSERT_EQUAL_FATAL(rename(moved, key), 0);
	CU_ASSERT_EQUAL(
	        gb_remotes_load(&daemon_state, "local:dave", &remotes, error, sizeof(error)), 0);
	g_ptr_array_unref(remotes);
}

static void test_remotes__saving_none_removes_the_file(void)
{
	g_autoptr(GPtrArray) saved = two_remotes();
	g_autoptr(GPtrArray) none = gb_user_remotes_new();
	g_autofree char *path = path_of("local:erin");
	GPtrArray *remotes = NULL;

	CU_ASSERT_EQUAL_FATAL(
	        gb_remotes_save(&daemon_state, "local:erin", saved, error, sizeof(error)), 0);
	CU_ASSERT_TRUE(g_file_test(path, G_FILE_TEST_IS_REGULAR));
	CU_ASSERT_EQUAL(gb_remotes_save(&daemon_state, "local:erin", none, error, sizeof(error)),
	                0);
	CU_ASSERT_FALSE(g_file_test(path, G_FILE_TEST_EXISTS));
	CU_ASSERT_EQUAL(
	        gb_remotes_load(&daemon_state, "local:erin", &remotes, error, sizeof(error)), 0);
	CU_ASSERT_EQUAL(remotes->len, 0);
	g_ptr_array_unref(remotes);
}

static const struct gb_unit_test tests[] = {
	GB_UNIT_TEST(test_remotes__none_yet_is_an_empty_list),
	GB_UNIT_TEST(test_remotes__saved_remotes_load_with_their_secrets),
	GB_UNIT_TEST(test_remotes__a_corrupted_file_is_an_error_naming_it),
	GB_UNIT_TEST(test_remotes__a_key_others_may_read_is_refused),
	GB_UNIT_TEST(test_remotes__saving_none_removes_the_file),
};

int main(void)
{
	return GB_UNIT_RUN("remotes", set_up, tear_down, tests);
}
