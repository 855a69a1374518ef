/* SPDX-License-Identifier: MIT */
/* Names of uploaded and downloaded files (file-name.h). libc only, no allocation. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "file-name.h"

#define FOLDER_PATH_MAX 1024

/* The length of the UTF-8 sequence at @s (1..4), or 0 when it is invalid or a control. */
static size_t character_length(const unsigned char *s)
{
	uint32_t code;
	size_t length;

	if (s[0] < 0x20 || s[0] == 0x7f)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		length = 2;
		code = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		length = 3;
		code = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		length = 4;
		code = s[0] & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < length; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		code = (code << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates, past U+10FFFF, C1 controls. */
	if ((length == 3 && code < 0x800) || (length == 4 && code < 0x10000) ||
	    (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff || (code >= 0x80 && code < 0xa0))
		return 0;
	return length;
}

/* True when @name (@length bytes) is UTF-8 without controls and without '/'. */
static bool characters_valid(const char *name, size_t length)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t i = 0;

	while (i < length) {
		size_t n = character_length(s + i);

		if (n == 0 || i + n > length || s[i] == '/')
			return false;
		i += n;
	}
	return true;
}

bool gb_file_name_is_valid(const char *name)
{
	size_t length = name ? strnlen(name, GB_FILE_NAME_MAX + 1) : 0;

	if (length == 0 || length > GB_FILE_NAME_MAX || name[0] == '.')
		return false;
	return characters_valid(name, length);
}

int gb_file_name_sanitise(const char *name, char *out, size_t out_size)
{
	size_t length = name ? strnlen(name, GB_FILE_NAME_MAX + 1) : 0;
	size_t dots = 0;

	if (out_size < GB_FILE_NAME_MAX + 1)
		return -ENAMETOOLONG;
	if (length == 0)
		return -EINVAL;
	if (length > GB_FILE_NAME_MAX)
		return -ENAMETOOLONG;
	if (!characters_valid(name, length))
		return -EINVAL;
	while (name[dots] == '.')
		dots++;
	if (dots == length)
		return -EINVAL; /* ".", "..", "..." */
	memset(out, '_', dots);
	memcpy(out + dots, name + dots, length - dots + 1);
	return 0;
}

/* Where the extension of @name begins (its last '.', not a leading one), or its end. */
static size_t extension_start(const char *name, size_t length)
{
	const char *dot = strrchr(name, '.');

	if (!dot || dot == name)
		return length;
	return (size_t)(dot - name);
}

/* " (@number)" into @out (16 bytes), without snprintf(): this runs after fork(). */
static size_t format_suffix(unsigned number, char out[16])
{
	char digits[12];
	size_t n = 0, length = 0;

	do {
		digits[n++] = (char)('0' + number % 10);
		number /= 10;
	} while (number && n < sizeof(digits));
	out[length++] = ' ';
	out[length++] = '(';
	while (n > 0)
		out[length++] = digits[--n];
	out[length++] = ')';
	out[length] = '\0';
	return length;
}

int gb_file_name_numbered(const char *name, unsigned number, char *out, size_t out_size)
{
	char suffix[16];
	size_t length = strlen(name), base, extension, suffix_length, room;

	if (number == 0) {
		if (length + 1 > out_size)
			return -ENAMETOOLONG;
		memcpy(out, name, length + 1);
		return 0;
	}
	suffix_length = format_suffix(number, suffix);
	base = extension_start(name, length);
	extension = length - base;
	room = (out_size - 1 < GB_FILE_NAME_MAX ? out_size - 1 : GB_FILE_NAME_MAX);
	if (extension + suffix_length + 1 > room)
		return -ENAMETOOLONG;
	if (base + suffix_length + extension > room) {
		base = room - suffix_length - extension;
		/* Cut before a continuation byte's lead, never inside a character. */
		while (base > 0 && ((unsigned char)name[base] & 0xc0) == 0x80)
			base--;
		if (base == 0)
			return -ENAMETOOLONG;
	}
	memcpy(out, name, base);
	memcpy(out + base, suffix, suffix_length);
	memcpy(out + base + suffix_length, name + length - extension, extension);
	out[base + suffix_length + extension] = '\0';
	return 0;
}

bool gb_folder_path_is_valid(const char *path)
{
	char component[GB_FILE_NAME_MAX + 1];
	size_t length = path ? strnlen(path, FOLDER_PATH_MAX + 1) : 0;
	const char *start = path;

	if (length == 0 || length > FOLDER_PATH_MAX || path[0] == '/')
		return false;
	while (*start) {
		size_t part = strcspn(start, "/");

		if (part == 0 || part > GB_FILE_NAME_MAX)
			return false;
		memcpy(component, start, part);
		component[part] = '\0';
		if (!gb_file_name_is_valid(component))
			return false;
		start += part;
		if (*start == '/') {
			start++;
			if (!*start)
				return false;
		}
	}
	return true;
}
