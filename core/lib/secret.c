/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "secret.h"

int gb_random_bytes(void *buffer, size_t size)
{
	size_t done = 0;

	if (!buffer && size > 0)
		return -EINVAL;
	while (done < size) {
		ssize_t n = getrandom((char *)buffer + done, size - done, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		done += (size_t)n;
	}
	return 0;
}

int gb_random_token(char *out, size_t out_size)
{
	static const char alphabet[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char bytes[GB_RANDOM_TOKEN_BYTES];
	size_t o = 0, i;
	int r;

	if (!out || out_size < GB_RANDOM_TOKEN_SIZE)
		return -EINVAL;
	r = gb_random_bytes(bytes, sizeof(bytes));
	if (r < 0)
		return r;
	for (i = 0; i + 3 <= sizeof(bytes); i += 3) {
		unsigned long group = (unsigned long)bytes[i] << 16 |
		                      (unsigned long)bytes[i + 1] << 8 | bytes[i + 2];

		out[o++] = alphabet[group >> 18 & 0x3f];
		out[o++] = alphabet[group >> 12 & 0x3f];
		out[o++] = alphabet[group >> 6 & 0x3f];
		out[o++] = alphabet[group & 0x3f];
	}
	/* 32 = 3 * 10 + 2: the last two bytes give three characters. */
	{
		unsigned long group = (unsigned long)bytes[i] << 16 | (unsigned long)bytes[i + 1]
		                                                              << 8;

		out[o++] = alphabet[group >> 18 & 0x3f];
		out[o++] = alphabet[group >> 12 & 0x3f];
		out[o++] = alphabet[group >> 6 & 0x3f];
	}
	out[o] = '\0';
	explicit_bzero(bytes, sizeof(bytes));
	return 0;
}

bool gb_equal_in_constant_time(const char *a, const char *b)
{
	size_t a_length, b_length;
	volatile unsigned char difference;

	if (!a || !b)
		return false;
	a_length = strlen(a);
	b_length = strlen(b);
	difference = a_length != b_length;
	/* Every character of @a is compared, with @b repeated when shorter. */
	for (size_t i = 0; i < a_length && b_length > 0; i++)
		difference |= (unsigned char)a[i] ^ (unsigned char)b[i % b_length];
	return difference == 0;
}
