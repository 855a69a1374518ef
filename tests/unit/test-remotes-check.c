/* SPDX-License-Identifier: MIT */
/* What a user may store as a remote (core/daemon/remotes-check.c). */
#include <errno.h>
#include <string.h>

#include <glib.h>

#include "remotes-check.h"
#include "unit-test.h"

#define N(array) (sizeof(array) / sizeof((array)[0]))

static int check(const char *type, const char *const *keys, const char *const *values, size_t n)
{
	char error[256] = "";
	int r = gb_remote_check_params(type, keys, values, n, error, sizeof(error));

	/* A refusal says why, on one line. */
	CU_ASSERT(r == 0 || (error[0] && !strchr(error, '\n')));
	return r;
}

/* A webdav remote whose url is @url. */
static int check_url(const char *url)
{
	const char *keys[] = { "url", "pass" };
	const char *values[] = { url, "pw" };

	return check("webdav", keys, values, N(keys));
}

static void test_remotes_check__names(void)
{
	CU_ASSERT_TRUE(gb_remote_name_is_valid("a"));
	CU_ASSERT_TRUE(gb_remote_name_is_valid("my-box_2"));
	CU_ASSERT_TRUE(gb_remote_name_is_valid("abcdefghijklmnopqrstuvwxyz012345"));
	CU_ASSERT_FALSE(gb_remote_name_is_valid("abcdefghijklmnopqrstuvwxyz0123456"));
	CU_ASSERT_FALSE(gb_remote_name_is_valid(""));
	CU_ASSERT_FALSE(gb_remote_name_is_valid(NULL));
	CU_ASSERT_FALSE(gb_remote_name_is_valid("Box"));
	CU_ASSERT_FALSE(gb_remote_name_is_valid("a b"));
	CU_ASSERT_FALSE(gb_remote_name_is_valid("../x"));
	CU_ASSERT_FALSE(gb_remote_name_is_valid("a]"));
	CU_ASSERT_FALSE(gb_remote_name_is_valid("a:b"));
}

static void test_remotes_check__types_and_secrets(void)
{
	CU_ASSERT_TRUE(gb_remote_type_is_known("webdav"));
	CU_ASSERT_TRUE(gb_remote_type_is_known("sftp"));
	CU_ASSERT_TRUE(gb_remote_type_is_known("s3"));
	CU_ASSERT_FALSE(gb_remote_type_is_known("local"));
	CU_ASSERT_FALSE(gb_remote_type_is_known("WebDAV"));
	CU_ASSERT_FALSE(gb_remote_type_is_known(NULL));
	CU_ASSERT_TRUE(gb_remote_key_is_secret("webdav", "pass"));
	CU_ASSERT_TRUE(gb_remote_key_is_secret("sftp", "pass"));
	CU_ASSERT_TRUE(gb_remote_key_is_secret("sftp", "key_pem"));
	CU_ASSERT_TRUE(gb_remote_key_is_secret("s3", "secret_access_key"));
	CU_ASSERT_TRUE(gb_remote_key_is_secret("s3", "unknown"));
	CU_ASSERT_FALSE(gb_remote_key_is_secret("webdav", "url"));
	CU_ASSERT_FALSE(gb_remote_key_is_secret("webdav", "user"));
	CU_ASSERT_FALSE(gb_remote_key_is_secret("s3", "access_key_id"));
}

static void test_remotes_check__good_remotes(void)
{
	const char *webdav_keys[] = { "url", "vendor", "user", "pass" };
	const char *webdav_values[] = { "https://dav.example.com/remote.php/dav", "nextcloud",
		                        "alice", "p@ss word" };
	const char *sftp_keys[] = { "host", "port", "user", "key_pem" };
	const char *sftp_values[] = { "127.0.0.1", "2222", "alice",
		                      "-----BEGIN OPENSSH PRIVATE KEY-----\\nAAAA\\n-----END "
		                      "OPENSSH PRIVATE KEY-----" };
	const char *s3_keys[] = { "provider", "endpoint", "region", "access_key_id",
		                  "secret_access_key" };
	const char *s3_values[] = { "Minio", "http://127.0.0.1:9000", "us-east-1", "AKIA",
		                    "wJalrXUtnFEMI/K7MDENG" };

	CU_ASSERT_EQUAL(check("webdav", webdav_keys, webdav_values, N(webdav_keys)), 0);
	CU_ASSERT_EQUAL(check("sftp", sftp_keys, sftp_values, N(sftp_keys)), 0);
	CU_ASSERT_EQUAL(check("s3", s3_keys, s3_values, N(s3_keys)), 0);
	CU_ASSERT_EQUAL(check_url("http://h"), 0);
	CU_ASSERT_EQUAL(check_url("https://h:8443/x?y=z"), 0);
}

static void test_remotes_check__injection_is_refused(void)
{
	static const char *const bad[] = {
		"x\n[other]\ntype = local",
		"x\r\n[other]",
		"x\rtype = local",
		"x\ttab",
		"x\x7f",
		"x\x1b[31m",
		"x\xc2\x85next-line", /* U+0085 NEL */
		"x\xe2\x80\xa8line",  /* U+2028 */
		" leading",
		"trailing ",
		"trailing\xc2\xa0", /* no-break space */
		"\xff\xfe not utf-8",
		"",
	};

	for (size_t i = 0; i < N(bad); i++) {
		const char *keys[] = { "url", "user", "pass" };
		const char *user_values[] = { "https://h/", bad[i], "pw" };
		const char *pass_values[] = { "https://h/", "u", bad[i] };

		CU_ASSERT_EQUAL(check("webdav", keys, user_values, N(keys)), -EINVAL);
		CU_ASSERT_EQUAL(check("webdav", keys, pass_values, N(keys)), -EINVAL);
	}
}

static void test_remotes_check__urls_hosts_ports(void)
{
	const char *keys[] = { "host", "port", "user", "pass" };
	static const char *const bad_hosts[] = { "-oProxyCommand=x", "a b", "a/b", ".x", "" };
	static const char *const bad_ports[] = { "0", "65536", "22a", "-1", "022", "" };

	CU_ASSERT_EQUAL(check_url("file:///etc/passwd"), -EINVAL);
	CU_ASSERT_EQUAL(check_url("ftp://h/"), -EINVAL);
	CU_ASSERT_EQUAL(check_url("https://"), -EINVAL);
	CU_ASSERT_EQUAL(check_url("https:///x"), -EINVAL);
	CU_ASSERT_EQUAL(check_url("https://a b/"), -EINVAL);
	CU_ASSERT_EQUAL(check_url("HTTPS://h"), -EINVAL);
	for (size_t i = 0; i < N(bad_hosts); i++) {
		const char *values[] = { bad_hosts[i], "22", "u", "p" };
		CU_ASSERT_EQUAL(check("sftp", keys, values, N(keys)), -EINVAL);
	}
	for (size_t i = 0; i < N(bad_ports); i++) {
		const char *values[] = { "h", bad_ports[i], "u", "p" };
		CU_ASSERT_EQUAL(check("sftp", keys, values, N(keys)), -EINVAL);
	}
	{
		const char *values[] = { "::1", "65535", "u", "p" };
		CU_ASSERT_EQUAL(check("sftp", keys, values, N(keys)), 0);
	}
}

static void test_remotes_check__keys_are_fixed(void)
{
	const char *unknown[] = { "url", "type" };
	const char *unknown_values[] = { "https://h/", "local" };
	const char *twice[] = { "url", "url" };
	const char *twice_values[] = { "https://h/", "https://i/" };
	const char *other_type[] = { "url", "secret_access_key" };
	const char *missing[] = { "user" };
	const char *missing_values[] = { "u" };
	const char *no_secret[] = { "host", "user" };
	const char *no_secret_values[] = { "h", "u" };
	const char *vendor[] = { "url", "vendor" };
	const char *vendor_values[] = { "https://h/", "dropbox" };

	CU_ASSERT_EQUAL(check("webdav", unknown, unknown_values, N(unknown)), -EINVAL);
	CU_ASSERT_EQUAL(check("webdav", twice, twice_values, N(twice)), -EINVAL);
	CU_ASSERT_EQUAL(check("webdav", other_type, unknown_values, N(other_type)), -EINVAL);
	CU_ASSERT_EQUAL(check("webdav", missing, missing_values, N(missing)), -EINVAL);
	CU_ASSERT_EQUAL(check("sftp", no_secret, no_secret_values, N(no_secret)), -EINVAL);
	CU_ASSERT_EQUAL(check("webdav", vendor, vendor_values, N(vendor)), -EINVAL);
	CU_ASSERT_EQUAL(check("local", missing, missing_values, N(missing)), -EINVAL);
}

static void test_remotes_check__lengths_are_bounded(void)
{
	g_autofree char *long_pass = g_strnfill(1025, 'p');
	g_autofree char *max_pass = g_strnfill(1024, 'p');
	const char *keys[] = { "url", "pass" };
	const char *too_long[] = { "https://h/", long_pass };
	const char *at_max[] = { "https://h/", max_pass };

	CU_ASSERT_EQUAL(check("webdav", keys, too_long, N(keys)), -EINVAL);
	CU_ASSERT_EQUAL(check("webdav", keys, at_max, N(keys)), 0);
}

static void test_remotes_check__errors_never_quote_values(void)
{
	const char *keys[] = { "url", "pass" };
	const char *values[] = { "https://h/", "hunter2\n[x]" };
	char error[256] = "";

	CU_ASSERT_EQUAL(gb_remote_check_params("webdav", keys, values, 2, error, sizeof(error)),
	                -EINVAL);
	CU_ASSERT_PTR_NULL(strstr(error, "hunter2"));
	CU_ASSERT_PTR_NOT_NULL(strstr(error, "'pass'"));
}

static const struct gb_unit_test tests[] = {
	GB_UNIT_TEST(test_remotes_check__names),
	GB_UNIT_TEST(test_remotes_check__types_and_secrets),
	GB_UNIT_TEST(test_remotes_check__good_remotes),
	GB_UNIT_TEST(test_remotes_check__injection_is_refused),
	GB_UNIT_TEST(test_remotes_check__urls_hosts_ports),
	GB_UNIT_TEST(test_remotes_check__keys_are_fixed),
	GB_UNIT_TEST(test_remotes_check__lengths_are_bounded),
	GB_UNIT_TEST(test_remotes_check__errors_never_quote_values),
};

int main(void)
{
	return GB_UNIT_RUN("remotes-check", NULL, NULL, tests);
}
