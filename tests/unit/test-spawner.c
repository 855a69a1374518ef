/* SPDX-License-Identifier: MIT */
/*
 * The systemd spawner's pure parts: unit instance names
 * (core/daemon/spawner-names.c) and the params file glassboxd writes and
 * glassbox-session --params reads (core/lib/session-params.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "unit-test.h"

#include "session-params.h"
#include "spawner-names.h"

static char instance[GB_INSTANCE_NAME_MAX + 1];
static char why[256];
static char error[GB_SESSION_PARAMS_ERROR_MAX];

static void test_spawner__system_account_is_its_own_instance(void)
{
	CU_ASSERT_EQUAL(gb_spawner_instance_name("pam", "alice", true, instance, why, sizeof(why)),
	                0);
	CU_ASSERT_STRING_EQUAL(instance, "alice");
	CU_ASSERT_EQUAL(
	        gb_spawner_instance_name("pam", "_svc-2", true, instance, why, sizeof(why)), 0);
	CU_ASSERT_STRING_EQUAL(instance, "_svc-2");
	/* 32 characters is the longest. */
	CU_ASSERT_EQUAL(gb_spawner_instance_name("pam", "a234567890123456789012345678901b", true,
	                                         instance, why, sizeof(why)),
	                0);
	CU_ASSERT_STRING_EQUAL(instance, "a234567890123456789012345678901b");
}

static void test_spawner__bad_system_account_names_are_refused(void)
{
	static const char *const bad[] = {
		"Alice",
		"1alice",
		"-alice",
		"al ice",
		"al.ice",
		"al@ice",
		"alice$",
		"../etc",
		"al/ice",
		"",
		"al\nice",
		"élise",
		"a234567890123456789012345678901bc", /* 33 */
		"gb-0123456789abcdef",               /* looks like a hashed identity */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		strcpy(instance, "untouched");
		CU_ASSERT_EQUAL(
		        gb_spawner_instance_name("pam", bad[i], true, instance, why, sizeof(why)),
		        -EINVAL);
		CU_ASSERT_NOT_EQUAL(why[0], '\0');
		CU_ASSERT_STRING_EQUAL(instance, "untouched");
	}
	CU_ASSERT_EQUAL(gb_spawner_instance_name("pam", NULL, true, instance, why, sizeof(why)),
	                -EINVAL);
}

static void test_spawner__other_identities_are_hashed(void)
{
	/* printf %s local:alice | sha256sum: 6f5951a45a9d9a04... */
	CU_ASSERT_EQUAL(
	        gb_spawner_instance_name("local", "alice", false, instance, why, sizeof(why)), 0);
	CU_ASSERT_STRING_EQUAL(instance, "gb-6f5951a45a9d9a04");
	/* Anything an OpenID provider may call a user is fine: it is hashed. */
	CU_ASSERT_EQUAL(gb_spawner_instance_name("local", "alice@example.com", false, instance,
	                                         why, sizeof(why)),
	                0);
	CU_ASSERT_STRING_EQUAL(instance, "gb-0b68860c290a68e2");
	CU_ASSERT_EQUAL(gb_spawner_instance_name("oidc", "Élise Dupont/../x", false, instance, why,
	                                         sizeof(why)),
	                0);
	CU_ASSERT_TRUE(gb_spawner_instance_is_valid(instance));
	/* Stable: the same user gets the same unit (and home) every time. */
	{
		char again[GB_INSTANCE_NAME_MAX + 1];

		CU_ASSERT_EQUAL(gb_spawner_instance_name("oidc", "Élise Dupont/../x", false, again,
		                                         why, sizeof(why)),
		                0);
		CU_ASSERT_STRING_EQUAL(again, instance);
	}
	CU_ASSERT_EQUAL(gb_spawner_instance_name("local", "", false, instance, why, sizeof(why)),
	                -EINVAL);
}

static void test_spawner__the_pair_not_the_name_makes_the_instance(void)
{
	char local[GB_INSTANCE_NAME_MAX + 1], oidc[GB_INSTANCE_NAME_MAX + 1];
	char pam[GB_INSTANCE_NAME_MAX + 1];

	/* One name, three plugins: three people, three units, three homes. */
	CU_ASSERT_EQUAL(gb_spawner_instance_name("local", "alice", false, local, why, sizeof(why)),
	                0);
	CU_ASSERT_EQUAL(gb_spawner_instance_name("oidc", "alice", false, oidc, why, sizeof(why)),
	                0);
	CU_ASSERT_EQUAL(gb_spawner_instance_name("pam", "alice", true, pam, why, sizeof(why)), 0);
	CU_ASSERT_STRING_EQUAL(oidc, "gb-edbcc36c119ba282");
	CU_ASSERT_STRING_NOT_EQUAL(local, oidc);
	/* PAM's alice runs as the account alice; nobody else's alice lands there. */
	CU_ASSERT_STRING_EQUAL(pam, "alice");
	CU_ASSERT_STRING_NOT_EQUAL(local, pam);
	CU_ASSERT_STRING_NOT_EQUAL(oidc, pam);
	/* Not the bare name's hash (printf %s alice | sha256sum: 2bd806c97f0e00af...),
	 * which every plugin's alice used to share. */
	CU_ASSERT_STRING_NOT_EQUAL(local, "gb-2bd806c97f0e00af");
	/* A namespace shared on purpose ([plugin] namespace) is one person. */
	CU_ASSERT_EQUAL(gb_spawner_instance_name("staff", "alice", false, local, why, sizeof(why)),
	                0);
	CU_ASSERT_EQUAL(gb_spawner_instance_name("staff", "alice", false, oidc, why, sizeof(why)),
	                0);
	CU_ASSERT_STRING_EQUAL(local, oidc);
	/* "a:b" + "c" and "a" + "b:c" must not meet: a namespace holds no ':'. */
	CU_ASSERT_EQUAL(gb_spawner_instance_name("a:b", "c", false, local, why, sizeof(why)),
	                -EINVAL);
	CU_ASSERT_EQUAL(gb_spawner_instance_name("", "alice", false, local, why, sizeof(why)),
	                -EINVAL);
	CU_ASSERT_EQUAL(gb_spawner_instance_name(NULL, "alice", false, local, why, sizeof(why)),
	                -EINVAL);
}

static void test_spawner__instance_from_unit(void)
{
	CU_ASSERT_EQUAL(gb_spawner_instance_from_unit("glassbox-session@alice.service", instance),
	                0);
	CU_ASSERT_STRING_EQUAL(instance, "alice");
	CU_ASSERT_EQUAL(gb_spawner_instance_from_unit(
	                        "glassbox-session@gb-2bd806c97f0e00af.service", instance),
	                0);
	CU_ASSERT_STRING_EQUAL(instance, "gb-2bd806c97f0e00af");
	CU_ASSERT_EQUAL(gb_spawner_instance_from_unit("glassbox-session@.service", instance),
	                -EINVAL);
	CU_ASSERT_EQUAL(gb_spawner_instance_from_unit("glassbox-session@Alice.service", instance),
	                -EINVAL);
	CU_ASSERT_EQUAL(gb_spawner_instance_from_unit("glassbox-session@alice.socket", instance),
	                -EINVAL);
	CU_ASSERT_EQUAL(gb_spawner_instance_from_unit("glassbox.service", instance), -EINVAL);
	CU_ASSERT_EQUAL(
	        gb_spawner_instance_from_unit(
	                "glassbox-session@a234567890123456789012345678901bc.service", instance),
	        -EINVAL);
	CU_ASSERT_EQUAL(gb_spawner_instance_from_unit(NULL, instance), -EINVAL);
}

#define GOOD                                                                                      \
	"session_id=0123456789abcdef\n"                                                           \
	"config=/etc/glassbox/glassbox.conf\n"                                                    \
	"signal_socket=/run/glassbox-session/alice/signal.sock\n"                                 \
	"control=/run/glassbox-session/alice/control.sock\n"                                      \
	"user=alice\n"

static void check_params_refused(const char *text, const char *expected)
{
	struct gb_session_params params = { 0 };

	memset(error, 0, sizeof(error));
	CU_ASSERT_EQUAL(gb_session_params_parse(&params, text, strlen(text), "x.params", error,
	                                        sizeof(error)),
	                -EINVAL);
	CU_ASSERT_PTR_NULL(params.session_id);
	CU_ASSERT_PTR_NULL(params.config);
	CU_ASSERT_PTR_NOT_NULL(strstr(error, expected));
	CU_ASSERT_PTR_NULL(strchr(error, '\n'));
	if (!strstr(error, expected))
		fprintf(stderr, "\n    got: %s\n    want: ...%s...\n", error, expected);
}

static void test_spawner__params_round_trip(void)
{
	struct gb_session_params params = { 0 }, back = { 0 };
	char *text;

	CU_ASSERT_EQUAL_FATAL(
	        gb_session_params_parse(&params, GOOD, strlen(GOOD), "x", error, sizeof(error)),
	        0);
	CU_ASSERT_STRING_EQUAL(params.session_id, "0123456789abcdef");
	CU_ASSERT_STRING_EQUAL(params.config, "/etc/glassbox/glassbox.conf");
	CU_ASSERT_STRING_EQUAL(params.signal_socket, "/run/glassbox-session/alice/signal.sock");
	CU_ASSERT_STRING_EQUAL(params.control, "/run/glassbox-session/alice/control.sock");
	CU_ASSERT_STRING_EQUAL(params.user, "alice");

	text = gb_session_params_format(&params);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_STRING_EQUAL(text, GOOD);
	CU_ASSERT_EQUAL(
	        gb_session_params_parse(&back, text, strlen(text), "x", error, sizeof(error)), 0);
	CU_ASSERT_STRING_EQUAL(back.user, "alice");
	free(text);
	gb_session_params_clear(&back);

	/* A user name with spaces and '=' is kept as is (it is only for logs). */
	free(params.user);
	params.user = strdup("Élise = admin");
	text = gb_session_params_format(&params);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_EQUAL(
	        gb_session_params_parse(&back, text, strlen(text), "x", error, sizeof(error)), 0);
	CU_ASSERT_STRING_EQUAL(back.user, "Élise = admin");
	free(text);
	gb_session_params_clear(&back);
	gb_session_params_clear(&params);
	CU_ASSERT_PTR_NULL(params.user);
}

static void test_spawner__params_format_refuses_what_would_not_parse(void)
{
	struct gb_session_params params = {
		.session_id = "0123456789abcdef",
		.config = "/etc/glassbox/glassbox.conf",
		.signal_socket = "/run/s",
		.control = "/run/c",
		.user = "alice\nconfig=/tmp/evil.conf",
	};

	errno = 0;
	CU_ASSERT_PTR_NULL(gb_session_params_format(&params));
	CU_ASSERT_EQUAL(errno, EINVAL);
	params.user = "alice";
	params.config = "relative.conf";
	CU_ASSERT_PTR_NULL(gb_session_params_format(&params));
	params.config = "/etc/glassbox/glassbox.conf";
	params.session_id = "../x";
	CU_ASSERT_PTR_NULL(gb_session_params_format(&params));
	params.session_id = "0123456789abcdef";
	params.control = NULL;
	CU_ASSERT_PTR_NULL(gb_session_params_format(&params));
}

static void test_spawner__params_errors_name_file_line_and_key(void)
{
	check_params_refused("session_id=0123456789abcdef\nconfig=/c\nsignal_socket=/s\n"
	                     "control=/k\n",
	                     "x.params: key 'user' is missing");
	check_params_refused(GOOD "user=bob\n",
	                     "x.params:6: key 'user': set twice (first on line 5)");
	check_params_refused("session_id=0123456789abcdef\nconfig=etc/glassbox.conf\n",
	                     "x.params:2: key 'config': the value is not an absolute path");
	check_params_refused("session_id=../../x\n",
	                     "x.params:1: key 'session_id': the value is not a session id");
	check_params_refused("session_id=0123456789abcdef\nuser=\n",
	                     "x.params:2: key 'user': the value is empty");
	check_params_refused("session_id=0123456789abcdef\ncolour=red\n",
	                     "x.params:2: unknown key 'colour'");
	check_params_refused("session_id=0123456789abcdef\n# a comment\n",
	                     "x.params:2: expected key=value");
	check_params_refused("session_id=0123456789abcdef\n\n", "x.params:2: expected key=value");
	check_params_refused("session_id=0123456789abcdef", "no newline");
	check_params_refused("user=a\tb\n", "x.params:1: key 'user': the value holds a control");
	check_params_refused("", "key 'session_id' is missing");
	{
		/* An embedded NUL would hide the rest of a line. */
		static const char with_nul[] = "user=a\0b\n";
		struct gb_session_params params = { 0 };

		CU_ASSERT_EQUAL(gb_session_params_parse(&params, with_nul, sizeof(with_nul) - 1,
		                                        "x", error, sizeof(error)),
		                -EINVAL);
		CU_ASSERT_PTR_NOT_NULL(strstr(error, "NUL"));
	}
}

static void test_spawner__params_load_reads_a_file(void)
{
	char path[] = "/tmp/test-spawner-XXXXXX";
	struct gb_session_params params = { 0 };
	int fd = mkstemp(path);
	char *big;

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, GOOD, strlen(GOOD)), (ssize_t)strlen(GOOD));
	close(fd);
	CU_ASSERT_EQUAL(gb_session_params_load(&params, path, error, sizeof(error)), 0);
	CU_ASSERT_STRING_EQUAL(params.signal_socket, "/run/glassbox-session/alice/signal.sock");
	gb_session_params_clear(&params);

	/* Larger than allowed: refused, not truncated into something that parses. */
	big = malloc(GB_SESSION_PARAMS_SIZE_MAX + 100);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memset(big, 'x', GB_SESSION_PARAMS_SIZE_MAX + 100);
	fd = open(path, O_WRONLY | O_TRUNC);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, GOOD, strlen(GOOD)), (ssize_t)strlen(GOOD));
	CU_ASSERT_EQUAL(write(fd, big, GB_SESSION_PARAMS_SIZE_MAX + 100),
	                GB_SESSION_PARAMS_SIZE_MAX + 100);
	close(fd);
	free(big);
	CU_ASSERT_EQUAL(gb_session_params_load(&params, path, error, sizeof(error)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(error, "larger than"));
	unlink(path);

	CU_ASSERT_EQUAL(gb_session_params_load(&params, path, error, sizeof(error)), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(error, "cannot open"));
	CU_ASSERT_EQUAL(gb_session_params_load(&params, "/tmp", error, sizeof(error)), -EISDIR);
}

static const struct gb_unit_test tests[] = {
	GB_UNIT_TEST(test_spawner__system_account_is_its_own_instance),
	GB_UNIT_TEST(test_spawner__bad_system_account_names_are_refused),
	GB_UNIT_TEST(test_spawner__other_identities_are_hashed),
	GB_UNIT_TEST(test_spawner__the_pair_not_the_name_makes_the_instance),
	GB_UNIT_TEST(test_spawner__instance_from_unit),
	GB_UNIT_TEST(test_spawner__params_round_trip),
	GB_UNIT_TEST(test_spawner__params_format_refuses_what_would_not_parse),
	GB_UNIT_TEST(test_spawner__params_errors_name_file_line_and_key),
	GB_UNIT_TEST(test_spawner__params_load_reads_a_file),
};

int main(void)
{
	return GB_UNIT_RUN("spawner", NULL, NULL, tests);
}
