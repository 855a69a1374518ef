/* SPDX-License-Identifier: MIT */
/*
 * Secrets: random bytes and tokens from the kernel, and a comparison whose
 * time does not tell how much of a secret matched. libc only, shared with
 * the plugins.
 */
#ifndef GB_SECRET_H
#define GB_SECRET_H

#include <stdbool.h>
#include <stddef.h>

/** Bytes of randomness in a token from gb_random_token(). */
#define GB_RANDOM_TOKEN_BYTES 32
/** Size of a token from gb_random_token(): 43 base64url characters and NUL. */
#define GB_RANDOM_TOKEN_SIZE 44

/**
 * Fill @buffer with @size bytes from getrandom(), retrying on EINTR and
 * short reads. Returns 0 or -errno.
 */
int gb_random_bytes(void *buffer, size_t size);

/**
 * Write a new random token into @out: 32 random bytes in base64url without
 * padding, 43 characters and NUL. @out_size must be at least
 * GB_RANDOM_TOKEN_SIZE (-EINVAL otherwise). Returns 0 or -errno.
 */
int gb_random_token(char *out, size_t out_size);

/**
 * Whether @a and @b hold the same text, compared without an early exit: the
 * time taken depends only on the two lengths, never on how many leading
 * characters matched. Pass the text the peer sent as @a (its length is no
 * secret) and the secret as @b. NULL equals nothing.
 */
bool gb_equal_in_constant_time(const char *a, const char *b);

#endif
