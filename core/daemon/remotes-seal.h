/* SPDX-License-Identifier: MIT */
/*
 * The sealed form of a user's remotes (remotes-seal.c, no daemon): AES-256-GCM
 * with GnuTLS, the identity ("namespace:user") as the associated data, so
 * that a file copied under another identity's name does not open.
 *
 *   "GBR1" | nonce (12 random bytes) | ciphertext | tag (16 bytes)
 */
#ifndef GB_REMOTES_SEAL_H
#define GB_REMOTES_SEAL_H

#include <stddef.h>
#include <stdint.h>

#define GB_SEAL_MAGIC       "GBR1" /* "GBR" and the format's version */
#define GB_SEAL_MAGIC_SIZE  4
#define GB_SEAL_KEY_SIZE    32
#define GB_SEAL_NONCE_SIZE  12
#define GB_SEAL_TAG_SIZE    16
#define GB_SEAL_HEADER_SIZE (GB_SEAL_MAGIC_SIZE + GB_SEAL_NONCE_SIZE)
#define GB_SEAL_OVERHEAD    (GB_SEAL_HEADER_SIZE + GB_SEAL_TAG_SIZE)
#define GB_SEAL_PLAIN_MAX   (1024 * 1024) /* what one identity's remotes may take */

/**
 * Seal @plain (@plain_size bytes, at most GB_SEAL_PLAIN_MAX) for @identity
 * with @key, under a fresh random nonce: 0 with *@sealed (g_malloc'd,
 * *@sealed_size bytes), or a negative errno (-E2BIG, -EIO: GnuTLS failed).
 */
int gb_seal(const uint8_t key[GB_SEAL_KEY_SIZE], const char *identity, const void *plain,
            size_t plain_size, uint8_t **sealed, size_t *sealed_size);

/**
 * Open what gb_seal() made: 0 with *@plain (g_malloc'd, *@plain_size bytes
 * and a NUL after them; wipe it with gb_seal_free_plain()), or a negative
 * errno: -EINVAL too short to be sealed, -EPROTONOSUPPORT another header or
 * version, -EBADMSG it does not authenticate (tampered, another identity's,
 * another key).
 */
int gb_unseal(const uint8_t key[GB_SEAL_KEY_SIZE], const char *identity, const void *sealed,
              size_t sealed_size, char **plain, size_t *plain_size);

/** Zero @size bytes of @plain, then free it; accepts NULL. */
void gb_seal_free_plain(char *plain, size_t size);

#endif
