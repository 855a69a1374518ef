/* SPDX-License-Identifier: MIT */
/*
 * Sealing a user's remotes: AES-256-GCM through GnuTLS. A nonce is never
 * used twice with one key in practice: 96 random bits per write, and a
 * user writes a handful of times. The identity is the associated data and
 * the header is checked before anything is decrypted; GCM's tag covers the
 * rest, so a file that opens is one glassboxd wrote for that identity.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include <glib.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "remotes-seal.h"
#include "secret.h"

static int cipher_open(const uint8_t key[GB_SEAL_KEY_SIZE], gnutls_aead_cipher_hd_t *cipher)
{
	gnutls_datum_t datum = { .data = (unsigned char *)key, .size = GB_SEAL_KEY_SIZE };

	return gnutls_aead_cipher_init(cipher, GNUTLS_CIPHER_AES_256_GCM, &datum) < 0 ? -EIO : 0;
}

int gb_seal(const uint8_t key[GB_SEAL_KEY_SIZE], const char *identity, const void *plain,
            size_t plain_size, uint8_t **sealed, size_t *sealed_size)
{
	gnutls_aead_cipher_hd_t cipher;
	size_t size = GB_SEAL_OVERHEAD + plain_size;
	size_t cipher_size = plain_size + GB_SEAL_TAG_SIZE;
	uint8_t *out;
	int r;

	if (!key || !identity || (!plain && plain_size) || !sealed || !sealed_size)
		return -EINVAL;
	if (plain_size > GB_SEAL_PLAIN_MAX)
		return -E2BIG;
	out = g_malloc(size);
	memcpy(out, GB_SEAL_MAGIC, GB_SEAL_MAGIC_SIZE);
	r = gb_random_bytes(out + GB_SEAL_MAGIC_SIZE, GB_SEAL_NONCE_SIZE);
	if (r < 0)
		goto err_out;
	r = cipher_open(key, &cipher);
	if (r < 0)
		goto err_out;
	if (gnutls_aead_cipher_encrypt(cipher, out + GB_SEAL_MAGIC_SIZE, GB_SEAL_NONCE_SIZE,
	                               identity, strlen(identity), GB_SEAL_TAG_SIZE, plain,
	                               plain_size, out + GB_SEAL_HEADER_SIZE, &cipher_size) < 0 ||
	    cipher_size != plain_size + GB_SEAL_TAG_SIZE)
		r = -EIO;
	gnutls_aead_cipher_deinit(cipher);
	if (r < 0)
		goto err_out;
	*sealed = out;
	*sealed_size = size;
	return 0;

err_out:
	g_free(out);
	return r;
}

int gb_unseal(const uint8_t key[GB_SEAL_KEY_SIZE], const char *identity, const void *sealed,
              size_t sealed_size, char **plain, size_t *plain_size)
{
	const uint8_t *in = sealed;
	gnutls_aead_cipher_hd_t cipher;
	size_t size, out_size;
	char *out;
	int r;

	if (!key || !identity || !sealed || !plain || !plain_size)
		return -EINVAL;
	if (sealed_size >= GB_SEAL_MAGIC_SIZE &&
	    memcmp(in, GB_SEAL_MAGIC, GB_SEAL_MAGIC_SIZE) != 0)
		return -EPROTONOSUPPORT;
	if (sealed_size < GB_SEAL_OVERHEAD)
		return -EINVAL;
	if (sealed_size - GB_SEAL_OVERHEAD > GB_SEAL_PLAIN_MAX)
		return -E2BIG;
	size = sealed_size - GB_SEAL_OVERHEAD;
	out_size = size;
	/* One byte more than GnuTLS writes: the NUL, so JSON parsers may take it as text. */
	out = g_malloc0(size + 1);
	r = cipher_open(key, &cipher);
	if (r < 0)
		goto err_out;
	if (gnutls_aead_cipher_decrypt(cipher, in + GB_SEAL_MAGIC_SIZE, GB_SEAL_NONCE_SIZE,
	                               identity, strlen(identity), GB_SEAL_TAG_SIZE,
	                               in + GB_SEAL_HEADER_SIZE, size + GB_SEAL_TAG_SIZE, out,
	                               &out_size) < 0 ||
	    out_size != size)
		r = -EBADMSG;
	gnutls_aead_cipher_deinit(cipher);
	if (r < 0)
		goto err_out;
	*plain = out;
	*plain_size = size;
	return 0;

err_out:
	gb_seal_free_plain(out, size + 1);
	return r;
}

void gb_seal_free_plain(char *plain, size_t size)
{
	if (!plain)
		return;
	explicit_bzero(plain, size);
	g_free(plain);
}
