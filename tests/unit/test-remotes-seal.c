/* SPDX-License-Identifier: MIT */
/* Sealing a user's remotes (core/daemon/remotes-seal.c): what opens and what must not. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include <glib.h>

#include "remotes-seal.h"
#include "unit-test.h"

#define IDENTITY "local:alice"
#define PLAIN    "{\"version\":1,\"remotes\":[{\"name\":\"box\",\"params\":{\"pass\":\"s3cr3t\"}}]}"

static const uint8_t key[GB_SEAL_KEY_SIZE] = {
	1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
	17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
};

static uint8_t *seal_plain(size_t *size)
{
	uint8_t *sealed = NULL;

	CU_ASSERT_EQUAL_FATAL(gb_seal(key, IDENTITY, PLAIN, strlen(PLAIN), &sealed, size), 0);
	return sealed;
}

/* gb_unseal()'s result; nothing is returned on failure. */
static int unseal(const uint8_t *with_key, const char *identity, const uint8_t *sealed,
                  size_t size)
{
	char *plain = (char *)0x1;
	size_t plain_size = 12345;
	int r = gb_unseal(with_key, identity, sealed, size, &plain, &plain_size);

	if (r == 0) {
		gb_seal_free_plain(plain, plain_size);
	} else {
		CU_ASSERT_PTR_EQUAL(plain, (char *)0x1);
		CU_ASSERT_EQUAL(plain_size, 12345);
	}
	return r;
}

static void test_remotes_seal__round_trip(void)
{
	size_t size = 0, plain_size = 0;
	g_autofree uint8_t *sealed = seal_plain(&size);
	char *plain = NULL;

	CU_ASSERT_EQUAL(size, strlen(PLAIN) + GB_SEAL_OVERHEAD);
	CU_ASSERT_EQUAL(memcmp(sealed, "GBR1", 4), 0);
	/* The ciphertext does not hold the secret in clear. */
	CU_ASSERT_PTR_NULL(memmem(sealed, size, "s3cr3t", 6));
	CU_ASSERT_EQUAL_FATAL(gb_unseal(key, IDENTITY, sealed, size, &plain, &plain_size), 0);
	CU_ASSERT_EQUAL(plain_size, strlen(PLAIN));
	CU_ASSERT_STRING_EQUAL(plain, PLAIN);
	gb_seal_free_plain(plain, plain_size);
}

static void test_remotes_seal__fresh_nonce_each_time(void)
{
	size_t a_size, b_size;
	g_autofree uint8_t *a = seal_plain(&a_size);
	g_autofree uint8_t *b = seal_plain(&b_size);

	CU_ASSERT_EQUAL(a_size, b_size);
	CU_ASSERT_NOT_EQUAL(memcmp(a + 4, b + 4, GB_SEAL_NONCE_SIZE), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(a, b, a_size), 0);
}

static void test_remotes_seal__empty_plain_text(void)
{
	uint8_t *sealed = NULL;
	char *plain = NULL;
	size_t size = 0, plain_size = 99;

	CU_ASSERT_EQUAL_FATAL(gb_seal(key, IDENTITY, "", 0, &sealed, &size), 0);
	CU_ASSERT_EQUAL(size, GB_SEAL_OVERHEAD);
	CU_ASSERT_EQUAL(gb_unseal(key, IDENTITY, sealed, size, &plain, &plain_size), 0);
	CU_ASSERT_EQUAL(plain_size, 0);
	CU_ASSERT_STRING_EQUAL(plain, "");
	gb_seal_free_plain(plain, plain_size);
	g_free(sealed);
}

static void test_remotes_seal__every_tampered_byte_fails(void)
{
	size_t size;
	g_autofree uint8_t *sealed = seal_plain(&size);

	/* The nonce, the ciphertext and the tag: each flipped bit is caught. */
	for (size_t i = 4; i < size; i++) {
		sealed[i] ^= 0x01;
		CU_ASSERT_EQUAL(unseal(key, IDENTITY, sealed, size), -EBADMSG);
		sealed[i] ^= 0x01;
	}
	CU_ASSERT_EQUAL(unseal(key, IDENTITY, sealed, size), 0);
}

static void test_remotes_seal__another_identity_fails(void)
{
	size_t size;
	g_autofree uint8_t *sealed = seal_plain(&size);

	CU_ASSERT_EQUAL(unseal(key, "local:bob", sealed, size), -EBADMSG);
	CU_ASSERT_EQUAL(unseal(key, "pam:alice", sealed, size), -EBADMSG);
	CU_ASSERT_EQUAL(unseal(key, "local:alice ", sealed, size), -EBADMSG);
	CU_ASSERT_EQUAL(unseal(key, "", sealed, size), -EBADMSG);
}

static void test_remotes_seal__another_key_fails(void)
{
	size_t size;
	g_autofree uint8_t *sealed = seal_plain(&size);
	uint8_t other[GB_SEAL_KEY_SIZE];

	memcpy(other, key, sizeof(other));
	other[31] ^= 0x80;
	CU_ASSERT_EQUAL(unseal(other, IDENTITY, sealed, size), -EBADMSG);
}

static void test_remotes_seal__truncated_fails(void)
{
	size_t size;
	g_autofree uint8_t *sealed = seal_plain(&size);

	/* Cut anywhere: in the header (too short), in the ciphertext or the tag. */
	for (size_t cut = 4; cut < GB_SEAL_OVERHEAD; cut++)
		CU_ASSERT_EQUAL(unseal(key, IDENTITY, sealed, cut), -EINVAL);
	for (size_t cut = GB_SEAL_OVERHEAD; cut < size; cut++)
		CU_ASSERT_EQUAL(unseal(key, IDENTITY, sealed, cut), -EBADMSG);
	CU_ASSERT_NOT_EQUAL(unseal(key, IDENTITY, sealed, 0), 0);
	CU_ASSERT_NOT_EQUAL(unseal(key, IDENTITY, sealed, 3), 0);
}

static void test_remotes_seal__other_header_fails(void)
{
	size_t size;
	g_autofree uint8_t *sealed = seal_plain(&size);

	sealed[3] = '2'; /* a later version */
	CU_ASSERT_EQUAL(unseal(key, IDENTITY, sealed, size), -EPROTONOSUPPORT);
	memcpy(sealed, "{\"ve", 4); /* a plain JSON file */
	CU_ASSERT_EQUAL(unseal(key, IDENTITY, sealed, size), -EPROTONOSUPPORT);
}

static void test_remotes_seal__bad_arguments(void)
{
	uint8_t *sealed = NULL;
	size_t size = 0;

	CU_ASSERT_EQUAL(gb_seal(key, NULL, "x", 1, &sealed, &size), -EINVAL);
	CU_ASSERT_EQUAL(gb_seal(key, IDENTITY, "x", GB_SEAL_PLAIN_MAX + 1, &sealed, &size),
	                -E2BIG);
	CU_ASSERT_PTR_NULL(sealed);
}

static const struct gb_unit_test tests[] = {
	GB_UNIT_TEST(test_remotes_seal__round_trip),
	GB_UNIT_TEST(test_remotes_seal__fresh_nonce_each_time),
	GB_UNIT_TEST(test_remotes_seal__empty_plain_text),
	GB_UNIT_TEST(test_remotes_seal__every_tampered_byte_fails),
	GB_UNIT_TEST(test_remotes_seal__another_identity_fails),
	GB_UNIT_TEST(test_remotes_seal__another_key_fails),
	GB_UNIT_TEST(test_remotes_seal__truncated_fails),
	GB_UNIT_TEST(test_remotes_seal__other_header_fails),
	GB_UNIT_TEST(test_remotes_seal__bad_arguments),
};

int main(void)
{
	return GB_UNIT_RUN("remotes-seal", NULL, NULL, tests);
}
