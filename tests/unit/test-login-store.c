/* SPDX-License-Identifier: MIT */
/*
 * The saved logins' format (core/daemon/login-store.c): a table written out
 * and read back is the same table, on the monotonic clock of the reader;
 * expired, broken and refused entries are left out; other versions and
 * non-JSON are not read at all.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "unit-test.h"
#include <glib.h>

#include "login-store.h"

#define S(seconds) ((gint64)(seconds)*G_USEC_PER_SEC)
#define KEY_A      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define KEY_B      "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static struct gb_login *login_new(const char *key, const char *user, const char *plugin,
                                  const char *identity_namespace, gint64 created, gint64 expires)
{
	struct gb_login *login = g_new0(struct gb_login, 1);

	login->key = g_strdup(key);
	g_strlcpy(login->user, user, sizeof(login->user));
	g_strlcpy(login->plugin, plugin, sizeof(login->plugin));
	g_strlcpy(login->identity_namespace, identity_namespace,
	          sizeof(login->identity_namespace));
	login->roles = GB_ROLE_USER | GB_ROLE_ADMIN;
	login->system_account = true;
	login->created_us = created;
	login->expires_us = expires;
	return login;
}

static GHashTable *table_new(void)
{
	return g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)gb_login_free);
}

static void add(GHashTable *table, struct gb_login *login)
{
	g_hash_table_replace(table, login->key, login);
}

static const struct gb_login *find(GPtrArray *logins, const char *key)
{
	for (guint i = 0; logins && i < logins->len; i++)
		if (strcmp(((struct gb_login *)logins->pdata[i])->key, key) == 0)
			return logins->pdata[i];
	return NULL;
}

static void test_login_store__round_trip_keeps_the_identity(void)
{
	g_autoptr(GHashTable) table = table_new();
	g_autoptr(GPtrArray) logins = NULL;
	g_autofree char *text = NULL;
	const struct gb_login *back;
	unsigned skipped = 99;
	gsize length;

	add(table, login_new(KEY_A, "alice", "local", "staff", S(100), S(3700)));
	/* Written at monotonic 1000 s, wall clock 1 000 000 s. */
	text = gb_login_store_format(table, S(1000), S(1000000), &length);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_PTR_NULL(strstr(text, "token"));
	/* Read by a glassboxd whose monotonic clock is at 50 s, 10 s later. */
	logins = gb_login_store_parse("logins", text, length, S(50), S(1000010), NULL, NULL,
	                              &skipped);
	CU_ASSERT_PTR_NOT_NULL_FATAL(logins);
	CU_ASSERT_EQUAL(skipped, 0);
	CU_ASSERT_EQUAL(logins->len, 1);
	back = find(logins, KEY_A);
	CU_ASSERT_PTR_NOT_NULL_FATAL(back);
	CU_ASSERT_STRING_EQUAL(back->user, "alice");
	CU_ASSERT_STRING_EQUAL(back->plugin, "local");
	CU_ASSERT_STRING_EQUAL(back->identity_namespace, "staff");
	CU_ASSERT_EQUAL(back->roles, GB_ROLE_USER | GB_ROLE_ADMIN);
	CU_ASSERT_TRUE(back->system_account);
	/* 900 s old then, 910 s old now; 2700 s to go then, 2690 s now. */
	CU_ASSERT_EQUAL(back->created_us, S(50) - S(910));
	CU_ASSERT_EQUAL(back->expires_us, S(50) + S(2690));
}

static void test_login_store__expired_logins_are_left_out(void)
{
	g_autoptr(GHashTable) table = table_new();
	g_autoptr(GPtrArray) logins = NULL;
	g_autofree char *text = NULL;
	unsigned skipped = 0;
	gsize length;

	add(table, login_new(KEY_A, "alice", "local", "local", S(100), S(1100)));
	add(table, login_new(KEY_B, "bob", "local", "local", S(100), S(999)));
	text = gb_login_store_format(table, S(1000), S(1000000), &length);
	/* bob's had expired when it was written: not in the file at all. */
	CU_ASSERT_PTR_NULL(strstr(text, "\"bob\""));
	/* alice's expires 100 s after writing: read back 200 s later, it is gone. */
	logins = gb_login_store_parse("logins", text, length, S(1), S(1000200), NULL, NULL,
	                              &skipped);
	CU_ASSERT_PTR_NOT_NULL_FATAL(logins);
	CU_ASSERT_EQUAL(logins->len, 0);
	CU_ASSERT_EQUAL(skipped, 1);
}

static const char *refuse_bob(void *data, const struct gb_login *login)
{
	(*(unsigned *)data)++;
	return strcmp(login->user, "bob") == 0 ? "its auth plugin is not enabled now" : NULL;
}

static void test_login_store__refused_logins_are_skipped(void)
{
	g_autoptr(GHashTable) table = table_new();
	g_autoptr(GPtrArray) logins = NULL;
	g_autofree char *text = NULL;
	unsigned skipped = 0, asked = 0;
	gsize length;

	add(table, login_new(KEY_A, "alice", "local", "local", S(100), S(5000)));
	add(table, login_new(KEY_B, "bob", "gone", "gone", S(100), S(5000)));
	text = gb_login_store_format(table, S(1000), S(1000000), &length);
	logins = gb_login_store_parse("logins", text, length, S(1000), S(1000000), refuse_bob,
	                              &asked, &skipped);
	CU_ASSERT_PTR_NOT_NULL_FATAL(logins);
	CU_ASSERT_EQUAL(asked, 2);
	CU_ASSERT_EQUAL(skipped, 1);
	CU_ASSERT_EQUAL(logins->len, 1);
	CU_ASSERT_PTR_NOT_NULL(find(logins, KEY_A));
	CU_ASSERT_PTR_NULL(find(logins, KEY_B));
}

static void test_login_store__broken_entries_are_skipped(void)
{
	static const char text[] =
	        "{\"version\":2,\"logins\":["
	        /* fine */
	        "{\"key\":\"" KEY_A "\",\"user\":\"alice\",\"plugin\":\"local\","
	        "\"namespace\":\"local\",\"roles\":1,\"created_us\":1,\"expires_us\":9000000000},"
	        /* key not 64 hex digits */
	        "{\"key\":\"abc\",\"user\":\"bob\",\"plugin\":\"local\",\"namespace\":\"local\","
	        "\"roles\":1,\"created_us\":1,\"expires_us\":9000000000},"
	        /* unknown roles */
	        "{\"key\":\"" KEY_B "\",\"user\":\"carol\",\"plugin\":\"local\","
	        "\"namespace\":\"local\",\"roles\":64,\"created_us\":1,\"expires_us\":9000000000},"
	        /* a plugin name that is no plugin name */
	        "{\"key\":\"" KEY_B "\",\"user\":\"dave\",\"plugin\":\"../x\","
	        "\"namespace\":\"local\",\"roles\":1,\"created_us\":1,\"expires_us\":9000000000},"
	        /* no user */
	        "{\"key\":\"" KEY_B "\",\"plugin\":\"local\",\"namespace\":\"local\",\"roles\":1,"
	        "\"created_us\":1,\"expires_us\":9000000000},"
	        "42]}";
	g_autoptr(GPtrArray) logins = NULL;
	unsigned skipped = 0;

	logins = gb_login_store_parse("logins", text, strlen(text), S(10), S(100), NULL, NULL,
	                              &skipped);
	CU_ASSERT_PTR_NOT_NULL_FATAL(logins);
	CU_ASSERT_EQUAL(logins->len, 1);
	CU_ASSERT_EQUAL(skipped, 5);
	CU_ASSERT_PTR_NOT_NULL(find(logins, KEY_A));
}

static void test_login_store__other_files_are_not_read(void)
{
	static const char *const texts[] = {
		"not json",
		"[1,2]",
		"{\"version\":1,\"logins\":[]}",
		"{\"version\":3,\"logins\":[]}",
		"{\"version\":2,\"logins\":{}}",
		"{\"version\":2}",
	};
	unsigned skipped;

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		CU_ASSERT_PTR_NULL(gb_login_store_parse("logins", texts[i], strlen(texts[i]),
		                                        S(10), S(100), NULL, NULL, &skipped));
}

static const struct gb_unit_test tests[] = {
	GB_UNIT_TEST(test_login_store__round_trip_keeps_the_identity),
	GB_UNIT_TEST(test_login_store__expired_logins_are_left_out),
	GB_UNIT_TEST(test_login_store__refused_logins_are_skipped),
	GB_UNIT_TEST(test_login_store__broken_entries_are_skipped),
	GB_UNIT_TEST(test_login_store__other_files_are_not_read),
};

int main(void)
{
	return GB_UNIT_RUN("login-store", NULL, NULL, tests);
}
