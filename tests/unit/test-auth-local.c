/* SPDX-License-Identifier: MIT */
/*
 * auth-local: hashes made and checked, the users file parsed strictly (every
 * refusal names the file and line), and the demo user created on an empty
 * box with its password logged once and only its hash stored.
 *
 * The plugin's source is built into this program (see
 * plugins/auth-local/meson.build); each test works in its own mkdtemp()
 * folder and talks to the plugin through its descriptor, as the host does.
 */
#define _GNU_SOURCE
#include <crypt.h>
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "unit-test.h"

#include <glassbox/auth.h>

const struct gb_plugin_descriptor *gb_plugin_entry(void);

#define LOG_LINES_MAX 32

static char tmp[64];
static char users_path[128];
static char log_lines[LOG_LINES_MAX][1200];
static enum gb_log_level log_levels[LOG_LINES_MAX];
static int n_log_lines;

/* The plugin's log handle (struct gb_host's logv, ABI 1.2): what gb_plugin_log() calls. */
static void capture_log(const struct gb_host *host, enum gb_log_level level, const char *format,
                        va_list args) __attribute__((format(printf, 3, 0)));

static void capture_log(const struct gb_host *host, enum gb_log_level level, const char *format,
                        va_list args)
{
	if (n_log_lines >= LOG_LINES_MAX)
		return;
	vsnprintf(log_lines[n_log_lines], sizeof(log_lines[0]), format, args);
	log_levels[n_log_lines++] = level;
}

static const struct gb_host host = {
	.struct_size = sizeof(struct gb_host),
	.abi_major = GB_PLUGIN_ABI_MAJOR,
	.abi_minor = GB_PLUGIN_ABI_MINOR,
	.plugin_name = "local",
	.logv = capture_log,
};

static void setup(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/test-auth-local-XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(tmp));
	snprintf(users_path, sizeof(users_path), "%s/users", tmp);
	n_log_lines = 0;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(path);
}

static void teardown(void)
{
	CU_ASSERT_EQUAL(nftw(tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

static void write_users(const char *text, mode_t mode)
{
	FILE *file = fopen(users_path, "we");

	CU_ASSERT_PTR_NOT_NULL_FATAL(file);
	CU_ASSERT(fputs(text, file) >= 0);
	CU_ASSERT_EQUAL(fclose(file), 0);
	CU_ASSERT_EQUAL(chmod(users_path, mode), 0);
}

static char *read_users(void)
{
	static char text[4096];
	FILE *file = fopen(users_path, "re");
	size_t n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(file);
	n = fread(text, 1, sizeof(text) - 1, file);
	text[n] = '\0';
	fclose(file);
	return text;
}

/* A yescrypt hash of @password, the way an operator makes one. */
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

/* init() the plugin on users_path. */
static int start(void **state, bool create_demo)
{
	const struct gb_plugin_descriptor *descriptor = gb_plugin_entry();
	struct gb_setting items[] = {
		{ .key = "users_file", .type = GB_VALUE_STRING, .value.string = users_path },
		{ .key = "create_demo_user", .type = GB_VALUE_BOOL, .value.boolean = create_demo },
	};
	struct gb_settings settings = { .count = 2, .items = items };

	*state = NULL;
	return descriptor->init(&host, &settings, state);
}

static void stop(void *state)
{
	gb_plugin_entry()->fini(state);
}

static int verify(void *state, const char *user, const char *password,
                  struct gb_identity *identity)
{
	const struct gb_auth_ops *ops = gb_plugin_entry()->ops;

	memset(identity, 0, sizeof(*identity));
	identity->struct_size = sizeof(*identity);
	return ops->verify_password(state, user, password, identity);
}

/* The number of captured log lines containing @text. */
static int log_count(const char *text)
{
	int count = 0;

	for (int i = 0; i < n_log_lines; i++)
		if (strstr(log_lines[i], text))
			count++;
	return count;
}

static void test_auth_local__descriptor(void)
{
	const struct gb_plugin_descriptor *descriptor = gb_plugin_entry();
	const struct gb_auth_ops *ops = descriptor->ops;

	CU_ASSERT_EQUAL(descriptor->abi_major, GB_PLUGIN_ABI_MAJOR);
	CU_ASSERT_EQUAL(descriptor->kind, GB_PLUGIN_KIND_AUTH);
	CU_ASSERT_STRING_EQUAL(descriptor->name, "local");
	CU_ASSERT_STRING_EQUAL(descriptor->options[0].key, "users_file");
	CU_ASSERT_STRING_EQUAL(descriptor->options[0].default_value, "/var/lib/glassbox/users");
	CU_ASSERT_EQUAL(ops->struct_size, sizeof(struct gb_auth_ops));
}

static void test_auth_local__round_trip(void)
{
	struct gb_identity identity;
	char text[1024];
	void *state;

	setup();
	snprintf(text, sizeof(text),
	         "# operators\n"
	         "\n"
	         "alice:%s\n"
	         "  # indented comment\n"
	         "root:%s:user,admin\n",
	         make_hash("correct horse"), make_hash("battery staple"));
	write_users(text, 0600);
	CU_ASSERT_EQUAL_FATAL(start(&state, true), 0);
	CU_ASSERT_EQUAL(log_count("created user"), 0);
	CU_ASSERT_EQUAL(log_count("2 users from"), 1);

	CU_ASSERT_EQUAL(verify(state, "alice", "correct horse", &identity), 0);
	CU_ASSERT_STRING_EQUAL(identity.user, "alice");
	CU_ASSERT_EQUAL(identity.roles, GB_ROLE_USER);
	CU_ASSERT_FALSE(identity.has_system_account);
	CU_ASSERT_EQUAL(verify(state, "root", "battery staple", &identity), 0);
	CU_ASSERT_STRING_EQUAL(identity.user, "root");
	CU_ASSERT_EQUAL(identity.roles, GB_ROLE_USER | GB_ROLE_ADMIN);
	stop(state);
	teardown();
}

static void test_auth_local__wrong_password_refused(void)
{
	struct gb_identity identity;
	char text[512];
	void *state;

	setup();
	snprintf(text, sizeof(text), "alice:%s\n", make_hash("secret"));
	write_users(text, 0600);
	CU_ASSERT_EQUAL_FATAL(start(&state, true), 0);
	CU_ASSERT_EQUAL(verify(state, "alice", "Secret", &identity), -EACCES);
	CU_ASSERT_EQUAL(verify(state, "alice", "", &identity), -EACCES);
	CU_ASSERT_EQUAL(verify(state, "alice", "secret ", &identity), -EACCES);
	/* Same answer for a user that does not exist, whatever the password. */
	CU_ASSERT_EQUAL(verify(state, "bob", "secret", &identity), -EACCES);
	CU_ASSERT_EQUAL(verify(state, "", "", &identity), -EACCES);
	CU_ASSERT_STRING_EQUAL(identity.user, "");
	/* A host with a smaller identity than 1.0 is refused, not overrun. */
	memset(&identity, 0, sizeof(identity));
	identity.struct_size = 8;
	CU_ASSERT_EQUAL(gb_plugin_entry()->ops == NULL, 0);
	CU_ASSERT_EQUAL(((const struct gb_auth_ops *)gb_plugin_entry()->ops)
	                        ->verify_password(state, "alice", "secret", &identity),
	                -EINVAL);
	stop(state);
	teardown();
}

/*
 * Write @text (with "HASH" replaced by a valid hash), start, and check the
 * refusal: init() fails with @error and the log holds "users_path:@expected".
 */
static void check_refused(const char *text, mode_t mode, int error, const char *expected)
{
	char file_text[2048], want[1300];
	const char *hash = make_hash("pw");
	const char *at;
	size_t out = 0;
	void *state;

	for (const char *in = text; *in && out < sizeof(file_text) - CRYPT_OUTPUT_SIZE;) {
		at = strstr(in, "HASH");
		if (at == in) {
			out += (size_t)snprintf(file_text + out, sizeof(file_text) - out, "%s",
			                        hash);
			in += 4;
		} else {
			file_text[out++] = *in++;
		}
	}
	file_text[out] = '\0';

	setup();
	write_users(file_text, mode);
	CU_ASSERT_EQUAL(start(&state, true), error);
	CU_ASSERT_PTR_NULL(state);
	snprintf(want, sizeof(want), "%s:%s", users_path, expected);
	CU_ASSERT_EQUAL(n_log_lines, 1);
	CU_ASSERT_EQUAL(log_count(want), 1);
	if (n_log_lines != 1 || log_count(want) != 1)
		fprintf(stderr, "\n    got:  %s\n    want: %s\n", n_log_lines ? log_lines[0] : "",
		        want);
	CU_ASSERT_EQUAL(log_levels[0], GB_LOG_ERROR);
	/* A refused file is left as it was: no demo user added to it. */
	CU_ASSERT_STRING_EQUAL(read_users(), file_text);
	teardown();
}

static void test_auth_local__malformed_lines_refused(void)
{
	check_refused("alice:HASH\nbob\n", 0600, -EINVAL,
	              "2: expected 'name:hash' or 'name:hash:roles'");
	check_refused("# c\n:HASH\n", 0600, -EINVAL, "2: user '': is empty");
	check_refused("al/ice:HASH\n", 0600, -EINVAL,
	              "1: user 'al/ice': holds a character other than A-Z a-z 0-9 . _ -");
	check_refused("\n\n..:HASH\n", 0600, -EINVAL, "3: user '..': starts with '.' or '-'");
	check_refused("alice:\n", 0600, -EINVAL, "1: user 'alice': the hash is empty");
	check_refused("alice:secret\n", 0600, -EINVAL,
	              "1: user 'alice': the hash is not one libcrypt accepts");
	check_refused("alice:$y$j9T$broken hash\n", 0600, -EINVAL,
	              "1: white space inside a user line");
	check_refused(" alice:HASH\n", 0600, -EINVAL, "1: white space inside a user line");
	check_refused("alice:HASH:root\n", 0600, -EINVAL,
	              "1: user 'alice': roles must be a comma-separated list");
	check_refused("alice:HASH:\n", 0600, -EINVAL,
	              "1: user 'alice': roles must be a comma-separated list");
	check_refused("alice:HASH\n", 0644, -EPERM,
	              " mode 0644 lets others read or change it; run chmod 600 on it");
	check_refused("alice:HASH\n", 0620, -EPERM,
	              " mode 0620 lets others read or change it; run chmod 600 on it");
}

static void test_auth_local__overlong_line_refused(void)
{
	char text[1200];

	memset(text, 'a', sizeof(text) - 2);
	text[sizeof(text) - 2] = '\n';
	text[sizeof(text) - 1] = '\0';
	check_refused(text, 0600, -EINVAL, "1: line is longer than 1024 characters");
}

static void test_auth_local__duplicate_users_refused(void)
{
	check_refused("alice:HASH\n# again\nalice:HASH:admin\n", 0600, -EINVAL,
	              "3: user 'alice' is already defined on line 1");
}

static void test_auth_local__overlong_names_refused(void)
{
	char name[80], text[600];
	struct gb_identity identity;
	void *state;

	/* 63 characters fit struct gb_identity with its NUL... */
	memset(name, 'n', 63);
	name[63] = '\0';
	setup();
	snprintf(text, sizeof(text), "%s:%s\n", name, make_hash("pw"));
	write_users(text, 0600);
	CU_ASSERT_EQUAL_FATAL(start(&state, true), 0);
	CU_ASSERT_EQUAL(verify(state, name, "pw", &identity), 0);
	CU_ASSERT_STRING_EQUAL(identity.user, name);
	stop(state);
	teardown();

	/* ...64 do not. */
	memset(name, 'n', 64);
	name[64] = '\0';
	snprintf(text, sizeof(text), "%s:HASH\n", name);
	check_refused(text, 0600, -EINVAL, "1: user 'nnnn");
	CU_ASSERT_EQUAL(log_count("is longer than 63 characters"), 1);
}

/* The demo password from the one log line; empty when there is none. */
static const char *logged_password(void)
{
	static char password[64];
	const char *prefix = "created user 'demo' with password '";

	password[0] = '\0';
	for (int i = 0; i < n_log_lines; i++) {
		const char *at = strstr(log_lines[i], prefix);

		if (at && sscanf(at + strlen(prefix), "%63[^']", password) != 1)
			password[0] = '\0';
	}
	return password;
}

static void check_demo_created(const char *comments)
{
	struct gb_identity identity;
	struct stat st;
	char password[64];
	const char *text;
	void *state;

	CU_ASSERT_EQUAL_FATAL(start(&state, true), 0);
	CU_ASSERT_EQUAL(log_count("created user 'demo' with password '"), 1);
	snprintf(password, sizeof(password), "%s", logged_password());
	CU_ASSERT(strlen(password) >= 16);
	if (strlen(password) < 16)
		return;

	/* Only the hash is stored, in a 0600 file, after whatever was there. */
	CU_ASSERT_EQUAL(stat(users_path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);
	text = read_users();
	CU_ASSERT_PTR_NULL(strstr(text, password));
	CU_ASSERT_EQUAL(strncmp(text, comments, strlen(comments)), 0);
	CU_ASSERT_EQUAL(strncmp(text + strlen(comments), "demo:$y$", 8), 0);
	CU_ASSERT_EQUAL(strchr(text + strlen(comments), '\n') - text + 1, (long)strlen(text));

	CU_ASSERT_EQUAL(verify(state, "demo", password, &identity), 0);
	CU_ASSERT_STRING_EQUAL(identity.user, "demo");
	CU_ASSERT_EQUAL(identity.roles, GB_ROLE_USER);
	CU_ASSERT_EQUAL(verify(state, "demo", "wrong", &identity), -EACCES);
	stop(state);

	/* The next start finds the user and never shows the password again. */
	n_log_lines = 0;
	CU_ASSERT_EQUAL_FATAL(start(&state, true), 0);
	CU_ASSERT_EQUAL(log_count("created user"), 0);
	CU_ASSERT_EQUAL(log_count(password), 0);
	CU_ASSERT_EQUAL(log_count("1 user from"), 1);
	CU_ASSERT_EQUAL(verify(state, "demo", password, &identity), 0);
	stop(state);
}

static void test_auth_local__demo_user_created_when_missing(void)
{
	setup();
	check_demo_created("");
	teardown();
}

static void test_auth_local__demo_user_created_when_empty(void)
{
	const char *comments = "# Glassbox users\n\n# name:hash\n";

	setup();
	write_users(comments, 0600);
	check_demo_created(comments);
	teardown();
}

static void test_auth_local__demo_user_in_missing_folder(void)
{
	struct stat st;

	/* The users file's folder (state_dir on a fresh box) is made 0700. */
	setup();
	snprintf(users_path, sizeof(users_path), "%s/state/users", tmp);
	check_demo_created("");
	snprintf(users_path, sizeof(users_path), "%s/state", tmp);
	CU_ASSERT_EQUAL(stat(users_path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0700);
	teardown();
}

static void test_auth_local__no_demo_when_disabled(void)
{
	void *state;

	setup();
	CU_ASSERT_EQUAL(start(&state, false), -ENOENT);
	CU_ASSERT_EQUAL(log_count("no user, and create_demo_user is off"), 1);
	CU_ASSERT_EQUAL(access(users_path, F_OK), -1);
	teardown();
}

static void test_auth_local__relative_path_refused(void)
{
	void *state;

	setup();
	snprintf(users_path, sizeof(users_path), "users");
	CU_ASSERT_EQUAL(start(&state, true), -EINVAL);
	CU_ASSERT_EQUAL(log_count("settings.users_file must be an absolute path"), 1);
	snprintf(users_path, sizeof(users_path), "%s/users", tmp);
	teardown();
}

static const struct gb_unit_test tests[] = {
	GB_UNIT_TEST(test_auth_local__descriptor),
	GB_UNIT_TEST(test_auth_local__round_trip),
	GB_UNIT_TEST(test_auth_local__wrong_password_refused),
	GB_UNIT_TEST(test_auth_local__malformed_lines_refused),
	GB_UNIT_TEST(test_auth_local__overlong_line_refused),
	GB_UNIT_TEST(test_auth_local__duplicate_users_refused),
	GB_UNIT_TEST(test_auth_local__overlong_names_refused),
	GB_UNIT_TEST(test_auth_local__demo_user_created_when_missing),
	GB_UNIT_TEST(test_auth_local__demo_user_created_when_empty),
	GB_UNIT_TEST(test_auth_local__demo_user_in_missing_folder),
	GB_UNIT_TEST(test_auth_local__no_demo_when_disabled),
	GB_UNIT_TEST(test_auth_local__relative_path_refused),
};

int main(void)
{
	return GB_UNIT_RUN("auth-local", NULL, NULL, tests);
}
