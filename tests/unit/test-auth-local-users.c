/* SPDX-License-Identifier: MIT */
/*
 * auth-local's user management (ABI 1.1: list_users, add_user, set_password,
 * remove_user): each change is checked in the file (content, comments kept,
 * mode 0600) and in memory (verify_password, list_users), and a change that
 * cannot be written leaves both as they were.
 *
 * The plugin's source is built into this program (see
 * plugins/auth-local/meson.build); each test works in its own mkdtemp()
 * folder and calls the plugin through its descriptor, as glassboxd does.
 */
#define _GNU_SOURCE
#include <crypt.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "unit-test.h"

#include <glassbox/auth.h>

const struct gb_plugin_descriptor *gb_plugin_entry(void);

#define LOG_LINES_MAX 64
#define LISTED_MAX    16

static char tmp[64];
static char users_path[128];
static char log_lines[LOG_LINES_MAX][1200];
static int n_log_lines;

/* The plugin's log handle (struct gb_host's logv, ABI 1.2): what gb_plugin_log() calls. */
static void capture_log(const struct gb_host *host, enum gb_log_level level, const char *format,
                        va_list args) __attribute__((format(printf, 3, 0)));

static void capture_log(const struct gb_host *host, enum gb_log_level level, const char *format,
                        va_list args)
{
	if (n_log_lines >= LOG_LINES_MAX)
		return;
	vsnprintf(log_lines[n_log_lines++], sizeof(log_lines[0]), format, args);
}

static const struct gb_host host = {
	.struct_size = sizeof(struct gb_host),
	.abi_major = GB_PLUGIN_ABI_MAJOR,
	.abi_minor = GB_PLUGIN_ABI_MINOR,
	.plugin_name = "local",
	.logv = capture_log,
};

static const struct gb_auth_ops *ops(void)
{
	return gb_plugin_entry()->ops;
}

static int log_count(const char *text)
{
	int count = 0;

	for (int i = 0; i < n_log_lines; i++)
		if (strstr(log_lines[i], text))
			count++;
	return count;
}

static void write_users(const char *text)
{
	FILE *file = fopen(users_path, "we");

	CU_ASSERT_PTR_NOT_NULL_FATAL(file);
	CU_ASSERT(fputs(text, file) >= 0);
	CU_ASSERT_EQUAL(fclose(file), 0);
	CU_ASSERT_EQUAL(chmod(users_path, 0600), 0);
}

static char *read_users(void)
{
	static char text[8192];
	FILE *file = fopen(users_path, "re");
	size_t n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(file);
	n = fread(text, 1, sizeof(text) - 1, file);
	text[n] = '\0';
	fclose(file);
	return text;
}

static mode_t users_mode(void)
{
	struct stat st;

	CU_ASSERT_EQUAL_FATAL(stat(users_path, &st), 0);
	return st.st_mode & 07777;
}

/* The names in the folder other than "users": left-over temporary files. */
static int stray_files(void)
{
	DIR *dir = opendir(tmp);
	struct dirent *entry;
	int count = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	while ((entry = readdir(dir)))
		if (strcmp(entry->d_name, ".") && strcmp(entry->d_name, "..") &&
		    strcmp(entry->d_name, "users"))
			count++;
	closedir(dir);
	return count;
}

static const char *make_hash(const char *password)
{
	static char hashes[4][CRYPT_OUTPUT_SIZE];
	static int next;
	struct crypt_data data = { 0 };
	char *setting = crypt_gensalt_ra("$y$", 0, NULL, 0);
	char *hash = hashes[next++ % 4];

	CU_ASSERT_PTR_NOT_NULL_FATAL(setting);
	CU_ASSERT_PTR_NOT_NULL_FATAL(crypt_rn(password, setting, &data, sizeof(data)));
	snprintf(hash, CRYPT_OUTPUT_SIZE, "%s", data.output);
	free(setting);
	return hash;
}

/* A users file with a comment, a plain user and an admin. */
static const char *initial_text(void)
{
	static char text[1024];

	snprintf(text, sizeof(text),
	         "# Glassbox users\n"
	         "alice:%s\n"
	         "\n"
	         "# the operator\n"
	         "root:%s:user,admin\n",
	         make_hash("alice-password"), make_hash("root-password"));
	return text;
}

static void *start(const char *text)
{
	struct gb_setting items[] = {
		{ .key = "users_file", .type = GB_VALUE_STRING, .value.string = users_path },
		{ .key = "create_demo_user", .type = GB_VALUE_BOOL, .value.boolean = false },
		{ .key = "min_password_length", .type = GB_VALUE_INT, .value.integer = 8 },
	};
	struct gb_settings settings = { .count = 3, .items = items };
	void *state = NULL;

	snprintf(tmp, sizeof(tmp), "/tmp/test-auth-local-users-XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(tmp));
	snprintf(users_path, sizeof(users_path), "%s/users", tmp);
	n_log_lines = 0;
	if (text)
		write_users(text);
	CU_ASSERT_EQUAL_FATAL(gb_plugin_entry()->init(&host, &settings, &state), 0);
	return state;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(path);
}

static void stop(void *state)
{
	gb_plugin_entry()->fini(state);
	CU_ASSERT_EQUAL(nftw(tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

static int verify(void *state, const char *user, const char *password, uint32_t *roles)
{
	struct gb_identity identity = { .struct_size = sizeof(identity) };
	int r = ops()->verify_password(state, user, password, &identity);

	if (r == 0) {
		CU_ASSERT_STRING_EQUAL(identity.user, user);
		if (roles)
			*roles = identity.roles;
	}
	return r;
}

struct listed {
	int count;
	char users[LISTED_MAX][GB_IDENTITY_NAME_MAX];
	uint32_t roles[LISTED_MAX];
};

static void collect(void *data, const char *user, uint32_t roles)
{
	struct listed *listed = data;

	if (listed->count >= LISTED_MAX)
		return;
	snprintf(listed->users[listed->count], GB_IDENTITY_NAME_MAX, "%s", user);
	listed->roles[listed->count++] = roles;
}

/* "alice=1,root=3," : the listed users and their role bits, in order. */
static const char *listing(void *state)
{
	static char text[512];
	struct listed listed = { 0 };
	size_t used = 0;

	text[0] = '\0';
	CU_ASSERT_EQUAL(ops()->list_users(state, collect, &listed), 0);
	for (int i = 0; i < listed.count; i++)
		used += (size_t)snprintf(text + used, sizeof(text) - used, "%s=%u,",
		                         listed.users[i], (unsigned)listed.roles[i]);
	return text;
}

static void test_auth_local_users__ops_present(void)
{
	const struct gb_auth_ops *o = ops();

	CU_ASSERT(GB_AUTH_OPS_HAS(o, list_users));
	CU_ASSERT(GB_AUTH_OPS_HAS(o, add_user));
	CU_ASSERT(GB_AUTH_OPS_HAS(o, set_password));
	CU_ASSERT(GB_AUTH_OPS_HAS(o, remove_user));
	/* Still a password plugin. */
	CU_ASSERT_EQUAL(gb_auth_ops_method(o), GB_AUTH_METHOD_PASSWORD);
	CU_ASSERT_PTR_NULL(o->begin_login);
	CU_ASSERT_STRING_EQUAL(gb_plugin_entry()->options[2].key, "min_password_length");
	CU_ASSERT_STRING_EQUAL(gb_plugin_entry()->options[2].default_value, "8");
}

static void test_auth_local_users__list(void)
{
	void *state = start(initial_text());

	CU_ASSERT_STRING_EQUAL(listing(state), "alice=1,root=3,");
	CU_ASSERT_EQUAL(ops()->list_users(state, NULL, NULL), -EINVAL);
	stop(state);
}

static void test_auth_local_users__add(void)
{
	char before[2048], *text;
	uint32_t roles = 0;
	void *state = start(initial_text());

	snprintf(before, sizeof(before), "%s", read_users());
	CU_ASSERT_EQUAL(ops()->add_user(state, "bob", "bob-password", GB_ROLE_USER), 0);
	CU_ASSERT_EQUAL(log_count("added user 'bob' to"), 1);
	/* The old text, comments and all, then the new line. */
	text = read_users();
	CU_ASSERT_EQUAL(strncmp(text, before, strlen(before)), 0);
	CU_ASSERT_EQUAL(strncmp(text + strlen(before), "bob:$y$", 7), 0);
	CU_ASSERT_PTR_NULL(strchr(text + strlen(before) + 7, ':'));
	CU_ASSERT_PTR_NULL(strstr(text, "bob-password"));
	CU_ASSERT_EQUAL(text[strlen(text) - 1], '\n');
	CU_ASSERT_EQUAL(users_mode(), 0600);
	CU_ASSERT_EQUAL(stray_files(), 0);

	/* In memory at once. */
	CU_ASSERT_EQUAL(verify(state, "bob", "bob-password", &roles), 0);
	CU_ASSERT_EQUAL(roles, GB_ROLE_USER);
	CU_ASSERT_EQUAL(verify(state, "bob", "bob-passwort", NULL), -EACCES);
	CU_ASSERT_EQUAL(verify(state, "alice", "alice-password", NULL), 0);
	CU_ASSERT_STRING_EQUAL(listing(state), "alice=1,root=3,bob=1,");

	/* An admin gets the roles field; no roles at all means user. */
	CU_ASSERT_EQUAL(
	        ops()->add_user(state, "carol", "carol-password", GB_ROLE_USER | GB_ROLE_ADMIN),
	        0);
	CU_ASSERT_EQUAL(ops()->add_user(state, "dave.d_e-f", "dave-password", 0), 0);
	text = read_users();
	CU_ASSERT_PTR_NOT_NULL(strstr(text, ":user,admin\ndave.d_e-f:$y$"));
	CU_ASSERT_EQUAL(verify(state, "carol", "carol-password", &roles), 0);
	CU_ASSERT_EQUAL(roles, GB_ROLE_USER | GB_ROLE_ADMIN);
	CU_ASSERT_EQUAL(verify(state, "dave.d_e-f", "dave-password", &roles), 0);
	CU_ASSERT_EQUAL(roles, GB_ROLE_USER);
	CU_ASSERT_STRING_EQUAL(listing(state), "alice=1,root=3,bob=1,carol=3,dave.d_e-f=1,");
	stop(state);
}

static void test_auth_local_users__add_to_missing_file(void)
{
	void *state = start(initial_text());

	/* Someone deleted the file after start: a change writes a new one. */
	CU_ASSERT_EQUAL(unlink(users_path), 0);
	CU_ASSERT_EQUAL(ops()->add_user(state, "bob", "bob-password", GB_ROLE_USER), 0);
	CU_ASSERT_EQUAL(strncmp(read_users(), "bob:$y$", 7), 0);
	CU_ASSERT_EQUAL(users_mode(), 0600);
	/* Memory follows the file: alice and root went with it. */
	CU_ASSERT_STRING_EQUAL(listing(state), "bob=1,");
	CU_ASSERT_EQUAL(verify(state, "alice", "alice-password", NULL), -EACCES);
	stop(state);
}

static void test_auth_local_users__add_duplicate_refused(void)
{
	char before[2048];
	void *state = start(initial_text());

	snprintf(before, sizeof(before), "%s", read_users());
	CU_ASSERT_EQUAL(ops()->add_user(state, "alice", "other-password", GB_ROLE_USER), -EEXIST);
	CU_ASSERT_EQUAL(log_count("user 'alice' already exists in"), 1);
	CU_ASSERT_STRING_EQUAL(read_users(), before);
	CU_ASSERT_EQUAL(verify(state, "alice", "alice-password", NULL), 0);
	CU_ASSERT_EQUAL(verify(state, "alice", "other-password", NULL), -EACCES);
	CU_ASSERT_STRING_EQUAL(listing(state), "alice=1,root=3,");
	stop(state);
}

static void test_auth_local_users__bad_input_refused(void)
{
	char before[2048], long_password[1100], long_name[80];
	void *state = start(initial_text());

	snprintf(before, sizeof(before), "%s", read_users());
	memset(long_password, 'p', 1025);
	long_password[1025] = '\0';
	memset(long_name, 'n', 64);
	long_name[64] = '\0';

	CU_ASSERT_EQUAL(ops()->add_user(state, "", "bob-password", 0), -EINVAL);
	CU_ASSERT_EQUAL(log_count("add user: user name '' refused: it is empty"), 1);
	CU_ASSERT_EQUAL(ops()->add_user(state, "../etc", "bob-password", 0), -EINVAL);
	CU_ASSERT_EQUAL(log_count("user name '../etc' refused: it starts with '.' or '-'"), 1);
	CU_ASSERT_EQUAL(ops()->add_user(state, "bob:x", "bob-password", 0), -EINVAL);
	CU_ASSERT_EQUAL(log_count("user name 'bob:x' refused: it holds a character"), 1);
	CU_ASSERT_EQUAL(ops()->add_user(state, "bo\nb", "bob-password", 0), -EINVAL);
	CU_ASSERT_EQUAL(log_count("user name 'bo?b' refused"), 1);
	CU_ASSERT_EQUAL(ops()->add_user(state, long_name, "bob-password", 0), -EINVAL);
	CU_ASSERT_EQUAL(log_count("is longer than 63 characters"), 1);
	CU_ASSERT_EQUAL(ops()->add_user(state, "bob", "short", 0), -EINVAL);
	CU_ASSERT_EQUAL(log_count("user 'bob': new password refused: shorter than 8 characters"),
	                1);
	CU_ASSERT_EQUAL(ops()->add_user(state, "bob", long_password, 0), -EINVAL);
	CU_ASSERT_EQUAL(log_count("user 'bob': new password refused: longer than 1024 bytes"), 1);
	CU_ASSERT_EQUAL(ops()->add_user(state, "bob", "bob-password", 1u << 7), -EINVAL);
	CU_ASSERT_EQUAL(log_count("user 'bob': unknown roles 0x80 refused"), 1);
	CU_ASSERT_EQUAL(ops()->set_password(state, "alice", "short"), -EINVAL);
	CU_ASSERT_EQUAL(ops()->set_password(state, "al/ice", "long-enough"), -EINVAL);
	CU_ASSERT_EQUAL(ops()->remove_user(state, ".."), -EINVAL);
	CU_ASSERT_EQUAL(ops()->add_user(state, NULL, "bob-password", 0), -EINVAL);
	CU_ASSERT_EQUAL(ops()->set_password(state, "alice", NULL), -EINVAL);

	/* None of it touched the file or the table. */
	CU_ASSERT_STRING_EQUAL(read_users(), before);
	CU_ASSERT_STRING_EQUAL(listing(state), "alice=1,root=3,");
	CU_ASSERT_EQUAL(verify(state, "alice", "alice-password", NULL), 0);
	/* No password ever reaches the log. */
	CU_ASSERT_EQUAL(log_count("bob-password"), 0);
	CU_ASSERT_EQUAL(log_count("long-enough"), 0);
	stop(state);
}

static void test_auth_local_users__set_password(void)
{
	char before[2048], expected_root_prefix[64], *text, *root_line;
	uint32_t roles = 0;
	void *state = start(initial_text());

	snprintf(before, sizeof(before), "%s", read_users());
	CU_ASSERT_EQUAL(ops()->set_password(state, "root", "new-root-password"), 0);
	CU_ASSERT_EQUAL(log_count("changed the password of user 'root' in"), 1);
	text = read_users();
	/* Everything up to root's line is as it was, and root keeps its roles. */
	root_line = strstr(before, "root:");
	CU_ASSERT_PTR_NOT_NULL_FATAL(root_line);
	CU_ASSERT_EQUAL(strncmp(text, before, (size_t)(root_line - before)), 0);
	snprintf(expected_root_prefix, sizeof(expected_root_prefix), "root:$y$");
	CU_ASSERT_EQUAL(strncmp(text + (root_line - before), expected_root_prefix, 8), 0);
	CU_ASSERT_EQUAL(strcmp(text + strlen(text) - strlen(":user,admin\n"), ":user,admin\n"), 0);
	CU_ASSERT_STRING_NOT_EQUAL(text, before);
	CU_ASSERT_PTR_NULL(strstr(text, "new-root-password"));
	CU_ASSERT_EQUAL(users_mode(), 0600);
	CU_ASSERT_EQUAL(stray_files(), 0);

	CU_ASSERT_EQUAL(verify(state, "root", "root-password", NULL), -EACCES);
	CU_ASSERT_EQUAL(verify(state, "root", "new-root-password", &roles), 0);
	CU_ASSERT_EQUAL(roles, GB_ROLE_USER | GB_ROLE_ADMIN);
	CU_ASSERT_EQUAL(verify(state, "alice", "alice-password", NULL), 0);

	/* A user in the middle of the file. */
	CU_ASSERT_EQUAL(ops()->set_password(state, "alice", "new-alice-password"), 0);
	text = read_users();
	CU_ASSERT_EQUAL(strncmp(text, "# Glassbox users\nalice:$y$", 26), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\n\n# the operator\nroot:$y$"));
	CU_ASSERT_EQUAL(verify(state, "alice", "new-alice-password", NULL), 0);
	CU_ASSERT_EQUAL(verify(state, "alice", "alice-password", NULL), -EACCES);

	CU_ASSERT_EQUAL(ops()->set_password(state, "nobody", "some-password"), -ENOENT);
	CU_ASSERT_EQUAL(log_count("set password: no user 'nobody' in"), 1);
	CU_ASSERT_STRING_EQUAL(listing(state), "alice=1,root=3,");
	stop(state);
}

static void test_auth_local_users__remove(void)
{
	char *text;
	void *state = start(initial_text());

	CU_ASSERT_EQUAL(ops()->remove_user(state, "alice"), 0);
	CU_ASSERT_EQUAL(log_count("removed user 'alice' from"), 1);
	text = read_users();
	CU_ASSERT_EQUAL(strncmp(text, "# Glassbox users\n\n# the operator\nroot:$y$", 41), 0);
	CU_ASSERT_PTR_NULL(strstr(text, "alice"));
	CU_ASSERT_EQUAL(users_mode(), 0600);
	CU_ASSERT_EQUAL(stray_files(), 0);
	CU_ASSERT_EQUAL(verify(state, "alice", "alice-password", NULL), -EACCES);
	CU_ASSERT_EQUAL(verify(state, "root", "root-password", NULL), 0);
	CU_ASSERT_STRING_EQUAL(listing(state), "root=3,");

	CU_ASSERT_EQUAL(ops()->remove_user(state, "alice"), -ENOENT);
	CU_ASSERT_EQUAL(log_count("remove user: no user 'alice' in"), 1);

	/* The last one may go too; the file keeps its comments. */
	CU_ASSERT_EQUAL(ops()->remove_user(state, "root"), 0);
	CU_ASSERT_EQUAL(log_count("holds no user now"), 1);
	CU_ASSERT_STRING_EQUAL(read_users(), "# Glassbox users\n\n# the operator\n");
	CU_ASSERT_STRING_EQUAL(listing(state), "");
	CU_ASSERT_EQUAL(verify(state, "root", "root-password", NULL), -EACCES);
	stop(state);
}

static void test_auth_local_users__changes_survive_restart(void)
{
	const struct gb_plugin_descriptor *descriptor = gb_plugin_entry();
	struct gb_setting items[] = {
		{ .key = "users_file", .type = GB_VALUE_STRING, .value.string = users_path },
		{ .key = "create_demo_user", .type = GB_VALUE_BOOL, .value.boolean = true },
	};
	struct gb_settings settings = { .count = 2, .items = items };
	void *state = start(initial_text()), *again = NULL;

	CU_ASSERT_EQUAL(ops()->add_user(state, "bob", "bob-password", GB_ROLE_ADMIN), 0);
	CU_ASSERT_EQUAL(ops()->set_password(state, "alice", "alice-password-2"), 0);
	CU_ASSERT_EQUAL(ops()->remove_user(state, "root"), 0);

	/* The file as written is one the strict parser of a fresh start takes. */
	n_log_lines = 0;
	CU_ASSERT_EQUAL_FATAL(descriptor->init(&host, &settings, &again), 0);
	CU_ASSERT_EQUAL(log_count("2 users from"), 1);
	CU_ASSERT_EQUAL(log_count("created user"), 0);
	CU_ASSERT_STRING_EQUAL(listing(again), "alice=1,bob=3,");
	CU_ASSERT_EQUAL(verify(again, "alice", "alice-password-2", NULL), 0);
	CU_ASSERT_EQUAL(verify(again, "bob", "bob-password", NULL), 0);
	descriptor->fini(again);
	stop(state);
}

static void test_auth_local_users__broken_file_refused(void)
{
	char broken[1200];
	void *state = start(initial_text());

	/* The operator broke the file after start: no change is made on top of it. */
	snprintf(broken, sizeof(broken), "%sbob\n", read_users());
	write_users(broken);
	CU_ASSERT_EQUAL(ops()->add_user(state, "carol", "carol-password", 0), -EIO);
	CU_ASSERT_EQUAL(log_count(":6: expected 'name:hash' or 'name:hash:roles'"), 1);
	CU_ASSERT_EQUAL(log_count("cannot change users until the file is fixed"), 1);
	CU_ASSERT_STRING_EQUAL(read_users(), broken);
	CU_ASSERT_STRING_EQUAL(listing(state), "alice=1,root=3,");
	CU_ASSERT_EQUAL(ops()->remove_user(state, "alice"), -EIO);
	CU_ASSERT_EQUAL(verify(state, "alice", "alice-password", NULL), 0);

	/* A file others may read is refused the same way. */
	write_users(initial_text());
	CU_ASSERT_EQUAL(chmod(users_path, 0644), 0);
	CU_ASSERT_EQUAL(ops()->set_password(state, "alice", "alice-password-2"), -EIO);
	CU_ASSERT_EQUAL(log_count("mode 0644 lets others read or change it"), 1);
	CU_ASSERT_EQUAL(users_mode(), 0644);
	stop(state);
}

/*
 * Make tmp read-only. Root ignores folder permissions, so as root this
 * process moves into a mount namespace of its own (once) and bind-mounts
 * the folder read-only over itself. 0 when done, -1 when not possible here.
 */
static int make_folder_read_only(bool *mounted)
{
	static bool own_namespace;

	*mounted = false;
	if (geteuid() != 0)
		return chmod(tmp, 0500);
	if (!own_namespace) {
		if (unshare(CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			return -1;
		own_namespace = true;
	}
	if (mount(tmp, tmp, NULL, MS_BIND, NULL) < 0)
		return -1;
	*mounted = true;
	if (mount(NULL, tmp, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
		return -1;
	return 0;
}

static void make_folder_writable(bool mounted)
{
	if (mounted)
		CU_ASSERT_EQUAL(umount2(tmp, MNT_DETACH), 0);
	CU_ASSERT_EQUAL(chmod(tmp, 0700), 0);
}

static void test_auth_local_users__failed_write_changes_nothing(void)
{
	char before[2048];
	bool mounted;
	void *state = start(initial_text());

	snprintf(before, sizeof(before), "%s", read_users());
	if (make_folder_read_only(&mounted) < 0) {
		make_folder_writable(mounted);
		stop(state);
		CU_FAIL("cannot make a read-only folder here (need root with CAP_SYS_ADMIN, or "
		        "not root)");
		return;
	}
	n_log_lines = 0;
	CU_ASSERT(ops()->add_user(state, "bob", "bob-password", 0) < 0);
	CU_ASSERT(ops()->set_password(state, "alice", "alice-password-2") < 0);
	CU_ASSERT(ops()->remove_user(state, "root") < 0);
	CU_ASSERT_EQUAL(log_count("cannot create"), 3);
	CU_ASSERT_EQUAL(log_count("added user"), 0);
	make_folder_writable(mounted);

	/* The file, the folder and the table are as they were. */
	CU_ASSERT_STRING_EQUAL(read_users(), before);
	CU_ASSERT_EQUAL(users_mode(), 0600);
	CU_ASSERT_EQUAL(stray_files(), 0);
	CU_ASSERT_STRING_EQUAL(listing(state), "alice=1,root=3,");
	CU_ASSERT_EQUAL(verify(state, "bob", "bob-password", NULL), -EACCES);
	CU_ASSERT_EQUAL(verify(state, "alice", "alice-password", NULL), 0);
	CU_ASSERT_EQUAL(verify(state, "alice", "alice-password-2", NULL), -EACCES);
	CU_ASSERT_EQUAL(verify(state, "root", "root-password", NULL), 0);

	/* And work again once the folder is writable. */
	CU_ASSERT_EQUAL(ops()->add_user(state, "bob", "bob-password", 0), 0);
	CU_ASSERT_EQUAL(verify(state, "bob", "bob-password", NULL), 0);
	stop(state);
}

static const struct gb_unit_test tests[] = {
	GB_UNIT_TEST(test_auth_local_users__ops_present),
	GB_UNIT_TEST(test_auth_local_users__list),
	GB_UNIT_TEST(test_auth_local_users__add),
	GB_UNIT_TEST(test_auth_local_users__add_to_missing_file),
	GB_UNIT_TEST(test_auth_local_users__add_duplicate_refused),
	GB_UNIT_TEST(test_auth_local_users__bad_input_refused),
	GB_UNIT_TEST(test_auth_local_users__set_password),
	GB_UNIT_TEST(test_auth_local_users__remove),
	GB_UNIT_TEST(test_auth_local_users__changes_survive_restart),
	GB_UNIT_TEST(test_auth_local_users__broken_file_refused),
	GB_UNIT_TEST(test_auth_local_users__failed_write_changes_nothing),
};

int main(void)
{
	return GB_UNIT_RUN("auth-local-users", NULL, NULL, tests);
}
