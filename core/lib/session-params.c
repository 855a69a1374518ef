/* SPDX-License-Identifier: MIT */
/*
 * Strict on purpose: the file is written by glassboxd, so anything unusual
 * in it is a bug or tampering, and the session should refuse to start with
 * a line that says where, rather than guess.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file-error.h"
#include "session-id.h"
#include "session-params.h"

#define LINES_MAX 64

enum value_kind {
	VALUE_SESSION_ID,
	VALUE_PATH,
	VALUE_TEXT,
};

static const struct {
	const char *key;
	size_t offset;
	enum value_kind kind;
} keys[] = {
	{ "session_id", offsetof(struct gb_session_params, session_id), VALUE_SESSION_ID },
	{ "config", offsetof(struct gb_session_params, config), VALUE_PATH },
	{ "signal_socket", offsetof(struct gb_session_params, signal_socket), VALUE_PATH },
	{ "control", offsetof(struct gb_session_params, control), VALUE_PATH },
	{ "user", offsetof(struct gb_session_params, user), VALUE_TEXT },
};

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

static char **slot(struct gb_session_params *params, size_t i)
{
	return (char **)((char *)params + keys[i].offset);
}

static const char *value_of(const struct gb_session_params *params, size_t i)
{
	return *(char *const *)((const char *)params + keys[i].offset);
}

static bool has_control_characters(const char *text)
{
	for (const char *c = text; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return true;
	return false;
}

/* NULL when @value is acceptable for key @i, else why not. */
static const char *check_value(size_t i, const char *value)
{
	if (value[0] == '\0')
		return "is empty";
	if (has_control_characters(value))
		return "holds a control character";
	if (strlen(value) >= 4096)
		return "is longer than 4095 bytes";
	switch (keys[i].kind) {
	case VALUE_SESSION_ID:
		if (!gb_session_id_valid(value))
			return "is not a session id (16 lowercase hex digits)";
		break;
	case VALUE_PATH:
		if (value[0] != '/')
			return "is not an absolute path";
		break;
	case VALUE_TEXT:
		break;
	}
	return NULL;
}

void gb_session_params_clear(struct gb_session_params *params)
{
	if (!params)
		return;
	for (size_t i = 0; i < N_KEYS; i++) {
		free(*slot(params, i));
		*slot(params, i) = NULL;
	}
}

int gb_session_params_parse(struct gb_session_params *params, const char *text, size_t length,
                            const char *name, char *error, size_t error_size)
{
	struct gb_session_params parsed = { 0 };
	int lines[N_KEYS] = { 0 };
	size_t start = 0;
	int line = 0;
	int r = -EINVAL;

#define fail(at, ...)                                                                             \
	do {                                                                                      \
		gb_file_error(error, error_size, name, at, __VA_ARGS__);                          \
		goto err;                                                                         \
	} while (0)

	if (!name)
		name = "<params>";
	if (!params || !text)
		fail(0, "nothing to parse");
	if (length > GB_SESSION_PARAMS_SIZE_MAX)
		fail(0, "larger than %d bytes", GB_SESSION_PARAMS_SIZE_MAX);
	if (memchr(text, '\0', length))
		fail(0, "holds a NUL byte");
	if (length > 0 && text[length - 1] != '\n')
		fail(0, "the last line has no newline (a truncated file?)");

	while (start < length) {
		const char *begin = text + start;
		const char *end = memchr(begin, '\n', length - start);
		const char *equals;
		size_t key_length, i;
		char *value;
		const char *problem;

		line++;
		if (line > LINES_MAX)
			fail(line, "more than %d lines", LINES_MAX);
		start = (size_t)(end - text) + 1;
		equals = memchr(begin, '=', (size_t)(end - begin));
		if (!equals)
			fail(line, "expected key=value");
		key_length = (size_t)(equals - begin);
		for (i = 0; i < N_KEYS; i++)
			if (strlen(keys[i].key) == key_length &&
			    memcmp(keys[i].key, begin, key_length) == 0)
				break;
		if (i == N_KEYS)
			fail(line,
			     "unknown key '%.*s' (expected session_id, config, "
			     "signal_socket, control, user)",
			     (int)(key_length > 64 ? 64 : key_length), begin);
		if (lines[i])
			fail(line, "key '%s': set twice (first on line %d)", keys[i].key,
			     lines[i]);
		value = strndup(equals + 1, (size_t)(end - equals - 1));
		if (!value) {
			r = -ENOMEM;
			fail(line, "out of memory");
		}
		*slot(&parsed, i) = value;
		lines[i] = line;
		problem = check_value(i, value);
		if (problem)
			fail(line, "key '%s': the value %s", keys[i].key, problem);
	}
	for (size_t i = 0; i < N_KEYS; i++)
		if (!lines[i])
			fail(0, "key '%s' is missing", keys[i].key);
#undef fail

	*params = parsed;
	return 0;

err:
	gb_session_params_clear(&parsed);
	return r;
}

int gb_session_params_load(struct gb_session_params *params, const char *path, char *error,
                           size_t error_size)
{
	char *text = NULL;
	size_t length = 0;
	struct stat st;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		gb_file_error(error, error_size, path, 0, "cannot open: %s", strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		gb_file_error(error, error_size, path, 0, "cannot read: %s", strerror(-r));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		gb_file_error(error, error_size, path, 0, "not a regular file");
		goto out;
	}
	text = malloc(GB_SESSION_PARAMS_SIZE_MAX + 1);
	if (!text) {
		r = -ENOMEM;
		goto out;
	}
	/* One byte more than allowed, so that a larger file is noticed. */
	for (int i = 0; i < 1024 && length <= GB_SESSION_PARAMS_SIZE_MAX; i++) {
		ssize_t n = read(fd, text + length, GB_SESSION_PARAMS_SIZE_MAX + 1 - length);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			gb_file_error(error, error_size, path, 0, "cannot read: %s", strerror(-r));
			goto out;
		}
		if (n == 0)
			break;
		length += (size_t)n;
	}
	r = gb_session_params_parse(params, text, length, path, error, error_size);
out:
	free(text);
	close(fd);
	return r;
}

char *gb_session_params_format(const struct gb_session_params *params)
{
	size_t size = 1, used = 0;
	char *text;

	for (size_t i = 0; i < N_KEYS; i++) {
		const char *value = value_of(params, i);

		if (!value || check_value(i, value)) {
			errno = EINVAL;
			return NULL;
		}
		size += strlen(keys[i].key) + strlen(value) + 2;
	}
	if (size > GB_SESSION_PARAMS_SIZE_MAX) {
		errno = EINVAL;
		return NULL;
	}
	text = malloc(size);
	if (!text)
		return NULL;
	for (size_t i = 0; i < N_KEYS; i++)
		used += (size_t)snprintf(text + used, size - used, "%s=%s\n", keys[i].key,
		                         value_of(params, i));
	return text;
}
