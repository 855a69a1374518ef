/* SPDX-License-Identifier: MIT */
/* storage-rclone: rclone configuration text (rclone-config.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "rclone-config.h"

#define USER_NAME_MAX 64
#define VALUE_MAX     8192

bool gb_rclone_name_valid(const char *name)
{
	size_t length = name ? strlen(name) : 0;

	if (length == 0 || length > GB_STORAGE_NAME_MAX)
		return false;
	for (size_t i = 0; i < length; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* rclone's own rule for remote names, roughly: letters, digits, _ - . and space inside. */
static bool section_name_valid(const char *name, size_t length)
{
	if (length == 0 || length > 64)
		return false;
	for (size_t i = 0; i < length; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

#define CREDENTIAL_PREFIX "credential:"

char *gb_rclone_remotes_path(const char *setting, const char *credentials_dir, char *error,
                             size_t error_size)
{
	const char *name;
	char *path = NULL;

	if (strncmp(setting, CREDENTIAL_PREFIX, strlen(CREDENTIAL_PREFIX)) != 0)
		return strdup(setting);
	name = setting + strlen(CREDENTIAL_PREFIX);
	if (!name[0] || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
		gb_error_set(error, error_size,
		             "remotes_file: '%s' does not name a credential (credential:NAME)",
		             setting);
		return NULL;
	}
	if (!credentials_dir || credentials_dir[0] != '/') {
		gb_error_set(error, error_size,
		             "remotes_file: '%s' names a systemd credential, but there is no "
		             "$CREDENTIALS_DIRECTORY (LoadCredentialEncrypted=%s:... in "
		             "glassbox.service)",
		             setting, name);
		return NULL;
	}
	if (asprintf(&path, "%s/%s", credentials_dir, name) < 0)
		return NULL;
	return path;
}

static char *trim(char *text)
{
	char *end;

	while (*text == ' ' || *text == '\t')
		text++;
	end = text + strlen(text);
	while (end > text && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	return text;
}

void gb_rclone_remotes_clear(struct gb_rclone_remotes *remotes)
{
	for (size_t i = 0; i < remotes->count; i++) {
		free(remotes->sections[i].name);
		free(remotes->sections[i].text);
		free(remotes->sections[i].type);
	}
	free(remotes->sections);
	memset(remotes, 0, sizeof(*remotes));
}

const struct gb_rclone_section *gb_rclone_remotes_find(const struct gb_rclone_remotes *remotes,
                                                       const char *name)
{
	for (size_t i = 0; i < remotes->count; i++)
		if (strcmp(remotes->sections[i].name, name) == 0)
			return &remotes->sections[i];
	return NULL;
}

static int append_line(struct gb_rclone_section *section, const char *line)
{
	size_t old = strlen(section->text), add = strlen(line);
	char *text = realloc(section->text, old + add + 2);

	if (!text)
		return -ENOMEM;
	memcpy(text + old, line, add);
	text[old + add] = '\n';
	text[old + add + 1] = '\0';
	section->text = text;
	return 0;
}

static int start_section(struct gb_rclone_remotes *remotes, const char *file, int number,
                         const char *line, char *error, size_t error_size)
{
	size_t length = strlen(line);
	struct gb_rclone_section *grown, *section;
	char *name;

	if (line[length - 1] != ']' || !section_name_valid(line + 1, length - 2)) {
		gb_error_set(error, error_size,
		             "%s:%d: a section is '[name]' with letters, digits, '_', '-' or '.'",
		             file, number);
		return -EINVAL;
	}
	name = strndup(line + 1, length - 2);
	if (!name)
		return -ENOMEM;
	if (gb_rclone_remotes_find(remotes, name)) {
		gb_error_set(error, error_size, "%s:%d: remote '%s' is defined twice", file,
		             number, name);
		free(name);
		return -EINVAL;
	}
	grown = realloc(remotes->sections, (remotes->count + 1) * sizeof(*grown));
	if (!grown) {
		free(name);
		return -ENOMEM;
	}
	remotes->sections = grown;
	section = &remotes->sections[remotes->count++];
	memset(section, 0, sizeof(*section));
	section->name = name;
	section->text = strdup("");
	if (!section->text)
		return -ENOMEM;
	return append_line(section, line);
}

static int section_line(struct gb_rclone_section *section, const char *file, int number,
                        const char *line, char *error, size_t error_size)
{
	const char *equals = strchr(line, '=');
	char key[64];
	size_t key_length;

	if (!equals) {
		gb_error_set(error, error_size, "%s:%d: expected 'key = value'", file, number);
		return -EINVAL;
	}
	key_length = (size_t)(equals - line);
	while (key_length > 0 && (line[key_length - 1] == ' ' || line[key_length - 1] == '\t'))
		key_length--;
	if (key_length == 0 || key_length >= sizeof(key)) {
		gb_error_set(error, error_size, "%s:%d: expected 'key = value'", file, number);
		return -EINVAL;
	}
	memcpy(key, line, key_length);
	key[key_length] = '\0';
	if (strcmp(key, "type") == 0) {
		const char *value = equals + 1;

		while (*value == ' ' || *value == '\t')
			value++;
		free(section->type);
		section->type = strdup(value);
		if (!section->type)
			return -ENOMEM;
	}
	return append_line(section, line);
}

int gb_rclone_remotes_parse(struct gb_rclone_remotes *remotes, const char *file, const char *text,
                            char *error, size_t error_size)
{
	char *copy = strdup(text), *cursor = copy, *raw;
	int number = 0, r = 0;

	memset(remotes, 0, sizeof(*remotes));
	if (!copy)
		return -ENOMEM;
	while (r == 0 && (raw = strsep(&cursor, "\n"))) {
		char *line = trim(raw);

		number++;
		if (!line[0] || line[0] == '#' || line[0] == ';')
			continue;
		if (line[0] == '[')
			r = start_section(remotes, file, number, line, error, error_size);
		else if (remotes->count == 0) {
			gb_error_set(error, error_size, "%s:%d: a line before the first [section]",
			             file, number);
			r = -EINVAL;
		} else
			r = section_line(&remotes->sections[remotes->count - 1], file, number,
			                 line, error, error_size);
	}
	free(copy);
	if (r == -ENOMEM)
		gb_error_set(error, error_size, "%s: out of memory", file);
	if (r < 0)
		gb_rclone_remotes_clear(remotes);
	return r;
}

void gb_rclone_mount_specs_clear(struct gb_rclone_mount_specs *specs)
{
	for (size_t i = 0; i < specs->count; i++) {
		free(specs->items[i].remote);
		free(specs->items[i].path);
	}
	free(specs->items);
	memset(specs, 0, sizeof(*specs));
}

static int spec_parse(struct gb_rclone_mount_spec *spec, char *entry, char *error,
                      size_t error_size)
{
	char *equals = strchr(entry, '='), *colon, *name, *remote;

	if (!equals || !(colon = strchr(equals, ':'))) {
		gb_error_set(error, error_size,
		             "mounts: '%s' is not 'name=remote:path' (for example "
		             "'work=org:users/%%u')",
		             entry);
		return -EINVAL;
	}
	*equals = '\0';
	*colon = '\0';
	name = trim(entry);
	remote = trim(equals + 1);
	if (!gb_rclone_name_valid(name)) {
		gb_error_set(error, error_size,
		             "mounts: mount name '%s' must be 1 to %d of a-z, 0-9, '_' and '-'",
		             name, GB_STORAGE_NAME_MAX);
		return -EINVAL;
	}
	if (!section_name_valid(remote, strlen(remote))) {
		gb_error_set(error, error_size, "mounts: '%s': remote name '%s' is not valid",
		             name, remote);
		return -EINVAL;
	}
	snprintf(spec->name, sizeof(spec->name), "%s", name);
	spec->remote = strdup(remote);
	spec->path = strdup(trim(colon + 1));
	return spec->remote && spec->path ? 0 : -ENOMEM;
}

int gb_rclone_mount_specs_parse(struct gb_rclone_mount_specs *specs, const char *text, char *error,
                                size_t error_size)
{
	char *copy = strdup(text ? text : ""), *cursor = copy, *entry;
	int r = 0;

	memset(specs, 0, sizeof(*specs));
	if (!copy)
		return -ENOMEM;
	while (r == 0 && (entry = strsep(&cursor, ","))) {
		struct gb_rclone_mount_spec *grown;

		if (!trim(entry)[0])
			continue;
		grown = realloc(specs->items, (specs->count + 1) * sizeof(*grown));
		if (!grown) {
			r = -ENOMEM;
			break;
		}
		specs->items = grown;
		memset(&specs->items[specs->count], 0, sizeof(*grown));
		r = spec_parse(&specs->items[specs->count++], trim(entry), error, error_size);
		for (size_t i = 0; r == 0 && i + 1 < specs->count; i++)
			if (strcmp(specs->items[i].name, specs->items[specs->count - 1].name) ==
			    0) {
				gb_error_set(error, error_size,
				             "mounts: mount '%s' is named twice",
				             specs->items[i].name);
				r = -EINVAL;
			}
	}
	free(copy);
	if (r < 0)
		gb_rclone_mount_specs_clear(specs);
	return r;
}

static bool path_part_valid(const char *text)
{
	size_t length = strlen(text);

	if (length == 0 || length > USER_NAME_MAX || text[0] == '.')
		return false;
	for (size_t i = 0; i < length; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c < 0x20 || c == 0x7f || c == '/' || c == '\\' || c == ':' || c == '%')
			return false;
	}
	return true;
}

char *gb_rclone_substitute(const char *path, const char *identity_namespace, const char *user,
                           char *error, size_t error_size)
{
	size_t size = strlen(path) + 1;
	char *out, *o;

	for (const char *p = path; *p; p++)
		if (*p == '%')
			size += USER_NAME_MAX;
	if (!path_part_valid(user) || !path_part_valid(identity_namespace)) {
		gb_error_set(error, error_size,
		             "the user name cannot be part of a path on the remote (it has a '/', "
		             "':', '%%' or control character, starts with '.', or is longer "
		             "than %d bytes)",
		             USER_NAME_MAX);
		return NULL;
	}
	out = o = malloc(size);
	if (!out)
		return NULL;
	for (const char *p = path; *p; p++) {
		const char *insert = NULL;

		if (*p != '%') {
			*o++ = *p;
			continue;
		}
		p++;
		if (*p == 'u')
			insert = user;
		else if (*p == 'n')
			insert = identity_namespace;
		else if (*p == '%')
			insert = "%";
		else {
			gb_error_set(
			        error, error_size,
			        "'%s': only %%u (user), %%n (namespace) and %%%% may follow a %%",
			        path);
			free(out);
			return NULL;
		}
		o = stpcpy(o, insert);
	}
	*o = '\0';
	return out;
}

/* The keys each type of user remote takes, and which of them rclone keeps obscured. */
struct remote_type {
	const char *name;
	const char *const keys[8];
	const char *obscured;
};

static const struct remote_type remote_types[] = {
	{ "webdav", { "url", "vendor", "user", "pass", NULL }, "pass" },
	{ "sftp", { "host", "port", "user", "pass", "key_pem", NULL }, "pass" },
	{ "s3",
	  { "provider", "endpoint", "region", "access_key_id", "secret_access_key", NULL },
	  NULL },
};

static const struct remote_type *remote_type_find(const char *name)
{
	for (size_t i = 0; i < sizeof(remote_types) / sizeof(remote_types[0]); i++)
		if (strcmp(remote_types[i].name, name) == 0)
			return &remote_types[i];
	return NULL;
}

static bool type_takes(const struct remote_type *type, const char *key)
{
	for (size_t i = 0; type->keys[i]; i++)
		if (strcmp(type->keys[i], key) == 0)
			return true;
	return false;
}

/* A value that cannot break out of its line: no control character, bounded. */
static bool value_safe(const char *value)
{
	size_t length = strlen(value);

	if (length > VALUE_MAX)
		return false;
	for (size_t i = 0; i < length; i++) {
		unsigned char c = (unsigned char)value[i];

		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

static int append_text(char **text, size_t *length, const char *format, ...)
        __attribute__((format(printf, 3, 4)));

static int append_text(char **text, size_t *length, const char *format, ...)
{
	va_list args;
	char *add = NULL, *grown;
	int n;

	va_start(args, format);
	n = vasprintf(&add, format, args);
	va_end(args);
	if (n < 0)
		return -ENOMEM;
	grown = realloc(*text, *length + (size_t)n + 1);
	if (!grown) {
		free(add);
		return -ENOMEM;
	}
	memcpy(grown + *length, add, (size_t)n + 1);
	*length += (size_t)n;
	*text = grown;
	free(add);
	return 0;
}

char *gb_rclone_user_section(const struct gb_storage_remote *remote, const char *section,
                             gb_rclone_obscure_func obscure, void *data, char *error,
                             size_t error_size)
{
	const struct remote_type *type = remote_type_find(remote->type);
	size_t length = 0;
	char *text = NULL;

	if (!type) {
		gb_error_set(error, error_size,
		             "remote '%s': type '%s' is not one this plugin mounts", remote->name,
		             remote->type);
		return NULL;
	}
	if (append_text(&text, &length, "[%s]\ntype = %s\n", section, type->name) < 0)
		goto oom;
	for (size_t i = 0; i < remote->n_params; i++) {
		const char *key = remote->keys[i], *value = remote->values[i];
		char *obscured = NULL;
		int r;

		if (!type_takes(type, key)) {
			gb_error_set(error, error_size,
			             "remote '%s': a %s remote has no setting '%s'", remote->name,
			             type->name, key);
			free(text);
			return NULL;
		}
		if (!value_safe(value)) {
			gb_error_set(
			        error, error_size,
			        "remote '%s': setting '%s' holds a control character or is too "
			        "long",
			        remote->name, key);
			free(text);
			return NULL;
		}
		if (type->obscured && strcmp(key, type->obscured) == 0) {
			obscured = obscure(data, value, error, error_size);
			if (!obscured) {
				free(text);
				return NULL;
			}
			value = obscured;
		}
		r = append_text(&text, &length, "%s = %s\n", key, value);
		if (obscured) {
			explicit_bzero(obscured, strlen(obscured));
			free(obscured);
		}
		if (r < 0)
			goto oom;
	}
	return text;
oom:
	gb_error_set(error, error_size, "out of memory");
	free(text);
	return NULL;
}
